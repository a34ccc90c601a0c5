"""How many Gummy tasks may run at once across a batch; fewer for a while after throttling.

The service refuses tasks beyond an account's concurrency with a throttling error. Instead of
failing files, the batch then lowers its own limit to what is running now, lets the throttled
task wait for a free slot, and raises the limit again one step per quiet cool-down period.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TaskSlots:
    def __init__(
        self,
        limit: int,
        cooldown_s: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ceiling = max(1, limit)
        self.limit = self.ceiling
        self.running = 0
        self.throttle_events = 0
        self._cooldown_s = cooldown_s
        self._clock = clock
        self._last_change = clock()
        self._condition = threading.Condition()

    def try_acquire(self) -> bool:
        with self._condition:
            self._recover()
            if self.running < self.limit:
                self.running += 1
                return True
            return False

    def acquire(self, stop: threading.Event | None = None) -> bool:
        """Block for a slot; False if `stop` is set first."""
        with self._condition:
            while True:
                self._recover()
                if self.running < self.limit:
                    self.running += 1
                    return True
                if stop is not None and stop.is_set():
                    return False
                self._condition.wait(timeout=0.5)

    def release(self) -> None:
        with self._condition:
            self.running = max(0, self.running - 1)
            self._condition.notify_all()

    def throttled(self) -> None:
        """The service refused a task (its slot is already released): run fewer for a while."""
        with self._condition:
            self.throttle_events += 1
            self.limit = max(1, min(self.limit, self.running))
            self._last_change = self._clock()

    def wait(self, timeout_s: float) -> None:
        """Wait until a slot may have come free (or the timeout passes)."""
        with self._condition:
            self._condition.wait(timeout=max(0.0, timeout_s))

    def _recover(self) -> None:
        now = self._clock()
        if self.limit < self.ceiling and now - self._last_change >= self._cooldown_s:
            self.limit += 1
            self._last_change = now
