"""The full-terminal caption preview for one input: the sentence being spoken (dim, as Gummy
revises it) under the last finished cues in both languages, with timing figures.

Renders from state at most 10 times a second (rich Live on the alternate screen); events only
update the state, so a burst of partial results never causes flicker or lag.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from subtitler.events import (
    AudioProgress,
    CueWritten,
    Event,
    InputEnded,
    InputStarted,
    PartialText,
    Status,
)
from subtitler.layout.cues import srt_timestamp
from subtitler.views.labels import short_label, without_subject
from subtitler.views.live import LiveView

PARTIAL_MARK = "⋯ "
SHOWN_CUES = 6


class PreviewView(LiveView):
    def __init__(self, console: Console, targets: tuple[str, ...]) -> None:
        self.console = console
        self.targets = targets
        self.label = ""
        self.duration_ms: int | None = None
        self.started_s = time.monotonic()
        self.sent_ms = 0
        self.sending = True
        """False while the speech gate skips non-speech."""
        self.first_result_ms: float | None = None
        self.latency_ms: float | None = None
        self.partial: tuple[str, str] = ("", "")
        self.finished: deque[tuple[int, int, str, str]] = deque(maxlen=SHOWN_CUES)
        self.outcome = ""
        self.messages: list[str] = []
        """Shown on the screen (the latest), and printed once the screen is left."""
        # last: Live asks for a first rendering of the state set above
        super().__init__(console, refresh_per_second=10, screen=True, redirect_stderr=False)

    def message(self, text: str) -> None:
        self.messages.append(text)

    def __exit__(self, *exc: Any) -> None:
        super().__exit__(*exc)
        for text in self.messages:  # on the normal screen: they stay in the scrollback
            self.console.print(Text(text))

    def __call__(self, event: Event) -> None:
        if isinstance(event, InputStarted):
            self.label = short_label(event.label)
            self.duration_ms = event.duration_ms
            self.started_s = time.monotonic()
        elif isinstance(event, AudioProgress):
            self.sent_ms = event.sent_ms
            self.sending = event.sending
        elif isinstance(event, PartialText):
            self._first_result()
            self.partial = (event.transcript, event.translation)
        elif isinstance(event, CueWritten):
            self._first_result()
            self.partial = ("", "")
            self.finished.append(
                (event.begin_ms, event.end_ms, event.transcript, event.translation)
            )
            self.latency_ms = event.latency_ms
        elif isinstance(event, InputEnded):
            result = event.result
            reason = without_subject(result.reason, result.label, str(result.path), self.label)
            self.outcome = f"{result.status.value}: {reason}".rstrip(": ")
            if result.status is not Status.DONE:
                self.message(f"{result.status.value} {self.label}: {reason}")

    def _first_result(self) -> None:
        if self.first_result_ms is None:
            self.first_result_ms = (time.monotonic() - self.started_s) * 1000

    def render(self) -> RenderableType:
        elapsed_ms = int((time.monotonic() - self.started_s) * 1000)
        media = (
            f"{_clock(self.sent_ms)} / {_clock(self.duration_ms)}"
            if self.duration_ms
            else (f"live {_clock(elapsed_ms)}")
        )
        # Two lines that never wrap, whatever the width: the input, then the figures.
        title = Text(f"{self.label} → {', '.join(self.targets)}", style="bold")
        title.no_wrap, title.overflow = True, "ellipsis"
        figures = Text(
            f"media {media}   "
            + (f"sent {_clock(self.sent_ms)}" if self.sending else "no speech: nothing sent")
            + "   first result "
            f"{_ms(self.first_result_ms)}   latency {_ms(self.latency_ms)}",
            no_wrap=True,
            overflow="ellipsis",
        )
        cues = Table.grid(padding=(0, 2))
        cues.add_column(style="cyan", no_wrap=True)
        cues.add_column()
        for begin_ms, end_ms, transcript, translation in self.finished:
            times = f"{srt_timestamp(begin_ms)[:-4]}–{srt_timestamp(end_ms)[3:-4]}"
            cues.add_row(times, Text(transcript, style="bold"))
            if translation:
                cues.add_row("", Text(translation))
        transcript, translation = self.partial
        speaking = Text(PARTIAL_MARK + transcript, style="dim") if transcript else Text("")
        speaking_translation = (
            Text(PARTIAL_MARK + translation, style="dim") if translation else (Text(""))
        )
        parts: list[RenderableType] = [
            title,
            figures,
            Panel(cues, title="captions"),
            speaking,
            speaking_translation,
        ]
        if self.outcome:
            parts.append(Text(self.outcome, style="bold green"))
        for text in self.messages[-2:]:
            parts.append(Text(text, style="yellow", no_wrap=True, overflow="ellipsis"))
        return Group(*parts)


def _clock(ms: int | None) -> str:
    if ms is None:
        return "--:--"
    seconds = ms // 1000
    return f"{seconds // 60:d}:{seconds % 60:02d}"


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f} ms"
