"""Faults and admission: which tasks the emulator lets in (its concurrency and rate limits, as
the service's), and which it breaks on purpose (the fault budget)."""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Callable


class FaultBudget:
    """Shared count of injected faults so `faults_max` holds across all connections, and the
    seeded source of per-task fault points."""

    def __init__(self, limit: int | None, seed: int | None = None) -> None:
        self.limit = limit
        self.injected = 0
        self._random = random.Random(seed) if seed is not None else None

    def point_ms(self, bound_ms: int | None) -> int | None:
        """Where a new task faults: the bound itself, or a seeded point up to it."""
        if bound_ms is None or self._random is None:
            return bound_ms
        return self._random.randint(min(500, bound_ms), bound_ms)

    def take(self) -> bool:
        if self.limit is not None and self.injected >= self.limit:
            return False
        self.injected += 1
        return True


class Admission:
    """Counts running tasks against `max_concurrent_tasks`, and task submissions in the last
    second against `max_task_rate`."""

    def __init__(
        self,
        limit: int | None,
        rate_per_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.rate_per_s = rate_per_s
        self.running = 0
        self.throttled = 0
        self.rate_refusals = 0
        self._clock = clock
        self._submissions: deque[float] = deque()

    def acquire(self) -> bool:
        now = self._clock()
        while self._submissions and self._submissions[0] <= now - 1.0:
            self._submissions.popleft()
        if self.rate_per_s is not None and len(self._submissions) >= self.rate_per_s:
            self.throttled += 1
            self.rate_refusals += 1
            return False
        self._submissions.append(now)  # a refused submission still counts as a request
        if self.limit is not None and self.running >= self.limit:
            self.throttled += 1
            return False
        self.running += 1
        return True

    def release(self) -> None:
        self.running = max(0, self.running - 1)


class MtLimits:
    """Qwen-MT's limits per model and per key over a sliding minute: requests (RPM, refused
    with `Throttling.RateQuota`) and tokens (TPM, refused with `Throttling.AllocationQuota`).
    Only admitted requests count."""

    WINDOW_S = 60.0

    def __init__(
        self,
        rpm: int | None,
        tpm: int | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rpm = rpm
        self.tpm = tpm
        self._clock = clock
        self._admitted: dict[tuple[str, str], deque[tuple[float, int]]] = {}

    def check(self, key: str, model: str, tokens: int) -> str | None:
        """None when admitted (and counted), else "rpm" or "tpm": the limit it would break."""
        now = self._clock()
        admitted = self._admitted.setdefault((key, model), deque())
        while admitted and admitted[0][0] <= now - self.WINDOW_S:
            admitted.popleft()
        if self.rpm is not None and len(admitted) >= self.rpm:
            return "rpm"
        if self.tpm is not None and sum(used for _, used in admitted) + tokens > self.tpm:
            return "tpm"
        admitted.append((now, tokens))
        return None


class MtFaults:
    """Qwen-MT's injected faults, each a count of the next requests it hits, in this order: a
    burst of 429s, then 500s, then slow answers."""

    def __init__(self, throttled: int = 0, internal_errors: int = 0, slow: int = 0) -> None:
        self.throttled = throttled
        self.internal_errors = internal_errors
        self.slow = slow

    def take(self) -> str | None:
        """ "throttled", "internal" or "slow" for the fault this request gets, or None."""
        if self.throttled > 0:
            self.throttled -= 1
            return "throttled"
        if self.internal_errors > 0:
            self.internal_errors -= 1
            return "internal"
        if self.slow > 0:
            self.slow -= 1
            return "slow"
        return None
