"""Qwen-MT requests kept under the account's limits: requests and tokens per minute, per model.

The limits are also enforced per second (research A8: RPS = RPM/60), so requests are spread
evenly, one every 60/RPM seconds, never sent in a burst that a minute's budget would allow. Each
request reserves its estimated input tokens before it goes and is corrected by the usage its
answer reports; tokens are spread the same way, at TPM/60 a second. A throttled answer defers
every later request (`Pacer.defer`), so a queue backs off together instead of each request
meeting the limit in turn. The schedule is a value changed by pure functions (a generic cell
rate algorithm: a due time per budget); `Pacer` waits for it on the event loop, with its clock
and its sleep injected so that tests run on a fake clock.
"""

from __future__ import annotations

import asyncio
import email.utils
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

DEFAULT_RPM = 60
"""qwen-mt-turbo and qwen-mt-lite-us: 60 in both regions (research A9); the only figure the
reference gives, used for every model until the account's console says otherwise."""
DEFAULT_TPM = 35_000
"""qwen-mt-turbo in Beijing, the lowest documented (Singapore: 100,000)."""
MARGIN = 0.1
"""Requests go a little further apart than the limit allows, so that jitter on their way cannot
put two of them into one of the service's seconds."""

BACKOFF_BASE_S = 0.5
BACKOFF_MAX_S = 8.0
"""A public Qwen-MT client retries between 600 ms and 8 s (research E)."""
RETRY_AFTER_MAX_S = 60.0
"""A `Retry-After` beyond this is capped: one sentence never waits longer than a minute."""


@dataclass(frozen=True)
class Limits:
    """Per minute; 0 means not paced."""

    rpm: int
    tpm: int


def limits_for(rpm: int | None, tpm: int | None) -> Limits:
    """The limits given, or the reference's defaults where none is given."""
    return Limits(
        rpm=DEFAULT_RPM if rpm is None else rpm,
        tpm=DEFAULT_TPM if tpm is None else tpm,
    )


@dataclass(frozen=True)
class Schedule:
    """When the next request may go as far as each budget is concerned (monotonic seconds)."""

    requests_due_s: float = -math.inf
    tokens_due_s: float = -math.inf


def start_s(schedule: Schedule, now_s: float) -> float:
    """When the next request may start: now, or when both budgets allow it."""
    return max(now_s, schedule.requests_due_s, schedule.tokens_due_s)


def admitted(
    schedule: Schedule, limits: Limits, start: float, tokens: int, margin: float = MARGIN
) -> Schedule:
    """The schedule once a request reserving `tokens` has started at `start`."""
    requests_due = schedule.requests_due_s
    if limits.rpm:
        requests_due = start + (1.0 + margin) * 60.0 / limits.rpm
    tokens_due = schedule.tokens_due_s
    if limits.tpm:
        tokens_due = max(tokens_due, start) + tokens * (1.0 + margin) * 60.0 / limits.tpm
    return Schedule(requests_due_s=requests_due, tokens_due_s=tokens_due)


def corrected(
    schedule: Schedule, limits: Limits, reserved: int, used: int, margin: float = MARGIN
) -> Schedule:
    """The schedule once an answer says a request used `used` tokens, not the `reserved`."""
    if not limits.tpm or schedule.tokens_due_s == -math.inf:
        return schedule
    shift_s = (used - reserved) * (1.0 + margin) * 60.0 / limits.tpm
    return replace(schedule, tokens_due_s=schedule.tokens_due_s + shift_s)


def deferred(schedule: Schedule, until_s: float) -> Schedule:
    """No request before `until_s` (the service asked for a pause)."""
    return replace(schedule, requests_due_s=max(schedule.requests_due_s, until_s))


def retry_delay_s(
    attempt: int,
    *,
    retry_after_s: float | None,
    jitter: float,
    base_s: float = BACKOFF_BASE_S,
    max_s: float = BACKOFF_MAX_S,
) -> float:
    """How long to wait before retry number `attempt` + 1: what the service asked for, or an
    exponential backoff with jitter (`jitter` in [0, 1): between half and all of the step)."""
    if retry_after_s is not None:
        return min(max(retry_after_s, 0.0), RETRY_AFTER_MAX_S)
    return min(max_s, base_s * 2.0**attempt) * (0.5 + jitter / 2.0)


def parse_retry_after(value: str | None, now_epoch_s: float) -> float | None:
    """`Retry-After`: delay-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(float(text), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(when.timestamp() - now_epoch_s, 0.0)


class Pacer:
    """Shared by every request to one model in a run, on one event loop; first come, first
    served. A waiter that is cancelled gives its turn to the next."""

    def __init__(
        self,
        limits: Limits,
        *,
        margin: float = MARGIN,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.limits = limits
        self.margin = margin
        self._clock = clock
        self._sleep = sleep
        self._schedule = Schedule()
        self._turns = asyncio.Lock()

    @property
    def schedule(self) -> Schedule:
        return self._schedule

    async def acquire(self, tokens: int) -> None:
        """Wait until a request reserving `tokens` may go, and reserve them."""
        async with self._turns:
            while True:
                now = self._clock()
                start = start_s(self._schedule, now)
                if start <= now:
                    break
                await self._sleep(start - now)  # pacing: the time itself is what is waited for
            self._schedule = admitted(self._schedule, self.limits, now, tokens, self.margin)

    def correct(self, reserved: int, used: int) -> None:
        self._schedule = corrected(self._schedule, self.limits, reserved, used, self.margin)

    def defer(self, delay_s: float) -> None:
        self._schedule = deferred(self._schedule, self._clock() + delay_s)
