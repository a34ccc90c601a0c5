"""Plain line output for pipes and logs, in the public sample's shape so it can be grepped.

    [zh_news.mp4] Transcript ==> 欢迎收看今天的科技新闻。
    [zh_news.mp4] Translate ==> Welcome to today's technology news.
    [zh_news.mp4] Translation completed
    [Metric] requestId: 4ae9..., first package delay ms: 26.1, last package delay ms: 48.4

With several targets the tag names the target too: `[zh_news.mp4 en]`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from subtitler.events import (
    CueWritten,
    Event,
    InputEnded,
    InputQueued,
    InputStarted,
    Status,
    label_of,
)
from subtitler.views.labels import short_label, without_subject
from subtitler.views.output import LineOutput


class LinesView:
    """One line per finished sentence and per input outcome; partials are not printed."""

    def __init__(
        self,
        stream: TextIO,
        targets: tuple[str, ...],
        on_closed: Callable[[], None] | None = None,
    ) -> None:
        self.output = LineOutput(stream, on_closed)
        self.several_targets = len(targets) > 1

    def __call__(self, event: Event) -> None:
        label = short_label(label_of(event))
        if isinstance(event, InputQueued):
            self._print(f"[{label}] Queued: {event.reason}")
        elif isinstance(event, InputStarted):
            self._print(f"[{label}] Started")
        elif isinstance(event, CueWritten):
            tag = f"[{label} {event.target}]" if self.several_targets else f"[{label}]"
            self._print(f"{tag} Transcript ==> {event.transcript}")
            self._print(f"{tag} Translate ==> {event.translation}")
        elif isinstance(event, InputEnded):
            self._ended(event, label)

    def _ended(self, event: InputEnded, label: str) -> None:
        result = event.result
        reason = without_subject(result.reason, result.label, str(result.path))
        if result.status is Status.DONE:
            self._print(f"[{label}] Translation completed")
            if reason:  # a note (e.g. which audio stream was used)
                self._print(f"[{label}] Note: {reason}")
        if result.status is Status.SKIPPED:
            self._print(f"[{label}] Skipped: {reason}")
        elif result.status is Status.INTERRUPTED:
            self._print(f"[{label}] Interrupted: run again to resume")
        elif result.status is Status.FAILED:
            self._print(f"[{label}] Failed: {reason}")
        for task in result.tasks:
            first = _ms(task.first_package_delay_ms)
            last = _ms(task.last_package_delay_ms)
            self._print(
                f"[Metric] requestId: {task.request_id}, first package delay ms: {first}, "
                f"last package delay ms: {last}"
            )

    def _print(self, line: str) -> None:
        self.output.line(line)


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"
