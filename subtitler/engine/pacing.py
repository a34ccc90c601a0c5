"""Task submissions paced for the whole run: one `run-task` every 1.1/`rate` seconds at most.

The service limits task submissions per account (10 per second, Beijing) over any one-second
window; a burst beyond it is refused. Every submission goes through here: first tasks, retries,
resumes and rollovers alike. Submissions are spread evenly rather than sent in bursts, and a
little further apart than the limit (`margin`), so that network jitter on their way can never
put more than `rate` of them into one of the service's seconds. The native client takes its
turn once connected, right before it sends `run-task`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


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
        self.waits = 0
        self._clock = clock
        self._last_start_s: float | None = None
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait for this submission's turn, and count it as submitted."""
        if self.rate_per_s is None:
            return
        async with self._lock:
            now = self._clock()
            due = next_start_s(self._last_start_s, now, self.interval_s)
            if due > now:
                self.waits += 1
                await asyncio.sleep(due - now)  # pacing: the time itself is what is waited for
            self._last_start_s = max(due, self._clock())
