"""Task submissions paced for the whole run: one `run-task` every (1 + margin)/`rate` seconds
at most (1.25/`rate` for the native client, 1.5/`rate` for the SDK: `ClientTraits`).

The service limits task submissions per account (10 per second, Beijing) over any one-second
window; a burst beyond it is refused. Every submission goes through here: first tasks, retries,
resumes and rollovers alike. Submissions are spread evenly rather than sent in bursts, and a
little further apart than the limit (`margin`), so that network jitter on their way can never
put more than `rate` of them into one of the service's seconds. The spacing is taken between
the moments `run-task` actually goes out (the native client takes its turn once connected), so
the time a connection takes stays out of it; a task starts connecting only when few enough are
ahead of it (`CONNECT_LEAD_S` of turns), so no connection idles long before its task.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable

CONNECT_LEAD_S = 1.0
"""A task starts connecting when the turns ahead of it take less than this."""


def next_start_s(last_start_s: float | None, now_s: float, interval_s: float) -> float:
    """When the next submission may go: now, or one interval after the last one."""
    if last_start_s is None:
        return now_s
    return max(now_s, last_start_s + interval_s)


class StartPacer:
    """Shared by every task of a run, on one event loop; first come, first served."""

    def __init__(
        self,
        rate_per_s: float | None = 10.0,
        margin: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate_per_s = rate_per_s
        self.interval_s = (1.0 + margin) / rate_per_s if rate_per_s else 0.0
        self._clock = clock
        self._last_start_s: float | None = None
        self._turns = asyncio.Lock()
        self._queued = 0
        self._queue_changed = asyncio.Condition()

    @contextlib.asynccontextmanager
    async def submission(self) -> AsyncIterator[Callable[[], Awaitable[None]]]:
        """For one task: wait until its turn is near (`CONNECT_LEAD_S`), then yield `turn`,
        to be awaited once connected, right before `run-task` goes out."""
        if self.rate_per_s is None:
            yield _now
            return
        async with self._queue_changed:
            await self._queue_changed.wait_for(
                lambda: self._queued * self.interval_s < CONNECT_LEAD_S
            )
            self._queued += 1
        try:
            yield self._turn
        finally:
            async with self._queue_changed:
                self._queued -= 1
                self._queue_changed.notify_all()

    async def _turn(self) -> None:
        async with self._turns:
            now = self._clock()
            due = next_start_s(self._last_start_s, now, self.interval_s)
            if due > now:
                await asyncio.sleep(due - now)  # pacing: the time itself is what is waited for
            self._last_start_s = self._clock()


async def _now() -> None:
    return None
