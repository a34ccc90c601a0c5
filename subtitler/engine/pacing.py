"""Task submissions paced for the whole run: at most `rate` starts in any one-second window.

The service limits task submissions per account (10 per second, Beijing); a burst beyond it is
refused. Every start goes through here: first tasks, retries, resumes and rollovers alike. The
window is a little longer than a second (`margin_s`) so the starts, jittered by the network on
their way, still fall within the service's own second.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable


def next_start_s(starts: deque[float], now_s: float, rate: float, window_s: float) -> float:
    """When the next start may go (now, or when the oldest start in the window leaves it)."""
    while starts and starts[0] <= now_s - window_s:
        starts.popleft()
    if len(starts) < rate:
        return now_s
    return starts[len(starts) - math.ceil(rate)] + window_s


class StartPacer:
    """Shared by every task of a run, on one event loop."""

    def __init__(
        self,
        rate_per_s: float | None = 10.0,
        margin_s: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate_per_s = rate_per_s
        self.window_s = 1.0 + margin_s
        self.waits = 0
        self._clock = clock
        self._starts: deque[float] = deque()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait until a task may be submitted, and count it as submitted."""
        if self.rate_per_s is None:
            return
        async with self._lock:  # first come, first served
            while True:
                now = self._clock()
                due = next_start_s(self._starts, now, self.rate_per_s, self.window_s)
                if due <= now:
                    self._starts.append(now)
                    return
                self.waits += 1
                await asyncio.sleep(due - now)  # pacing: the time itself is what is waited for
