"""One target's figures: when its audio went out and its results came back, as the first- and
last-package delays of its tasks (`TaskMetrics`) and each sentence's latency. Clock readings
are `time.perf_counter()` values; nothing here decides anything."""

from __future__ import annotations

import bisect
import time
from collections import deque
from dataclasses import dataclass

from subtitler.events import TaskMetrics

SENT_KEPT = 6000
"""Send times kept for the latency of a sentence (the sends of the last minutes)."""


@dataclass
class TaskTiming:
    """One task's clock readings, and where it is to end for a rollover."""

    first_sent_s: float | None = None
    first_result_s: float | None = None
    finish_sent_s: float | None = None
    pause_ms: int | None = None


class TargetFigures:
    """Figures across a target's tasks: the first task's first-package delay, the last task's
    last-package delay, the first audio's time, and the latency of each sentence."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.metrics: TaskMetrics | None = None
        self.first_sent_s: float | None = None
        """When this target's first audio went out."""
        self._first_package_delay_ms: float | None = None
        self._sent_at: deque[tuple[int, float]] = deque(maxlen=SENT_KEPT)

    def new_task(self) -> TaskTiming:
        self._sent_at.clear()  # positions of this task's audio only: they ascend
        return TaskTiming()

    def sent(self, timing: TaskTiming, position_ms: int, now_s: float) -> None:
        """Audio up to `position_ms` (stream time) went out at `now_s`."""
        if timing.first_sent_s is None:
            timing.first_sent_s = now_s
            if self.first_sent_s is None:
                self.first_sent_s = now_s
        self._sent_at.append((position_ms, now_s))

    def latency_ms(self, stream_ms: int) -> float | None:
        """How long ago the audio up to `stream_ms` was sent (end of speech -> cue on disk)."""
        index = bisect.bisect_left(self._sent_at, stream_ms, key=lambda sent: sent[0])
        if index == len(self._sent_at):
            return None
        return round((time.perf_counter() - self._sent_at[index][1]) * 1000, 1)

    def record(
        self, task_id: str, timing: TaskTiming, finished_s: float | None, last_task: bool
    ) -> None:
        """A task ended (finished at `finished_s`, or failed after reaching the service)."""
        first = None
        if timing.first_sent_s is not None and timing.first_result_s is not None:
            first = round((timing.first_result_s - timing.first_sent_s) * 1000, 1)
        last = None
        if finished_s is not None and timing.finish_sent_s is not None:
            last = round((finished_s - timing.finish_sent_s) * 1000, 1)
        if self._first_package_delay_ms is None:
            self._first_package_delay_ms = first  # the first task's figure
        self.metrics = TaskMetrics(
            target=self.target,
            request_id=task_id,
            first_package_delay_ms=self._first_package_delay_ms,
            last_package_delay_ms=last if last_task else None,  # the last task's figure
        )
