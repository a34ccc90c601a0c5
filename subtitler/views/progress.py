"""The terminal view of several inputs: a bar per running input with its latest finished line
in both languages, counters that add up, and messages printed above the live area."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console, Group, RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from subtitler.events import (
    AudioProgress,
    CueWritten,
    Event,
    InputEnded,
    InputQueued,
    InputStarted,
    Status,
)
from subtitler.views.labels import STATUS_STYLE, clock, short_label, without_subject
from subtitler.views.live import LiveView


@dataclass
class _Running:
    label: str
    duration_ms: int | None
    resumed_at_ms: int | None = None
    started_s: float = field(default_factory=time.monotonic)
    sent_ms: int = 0
    sentences: Counter[str] = field(default_factory=Counter)
    """Per target: each sentence is written once per target, and counted once."""
    latest: tuple[str, str] = ("", "")


class ProgressView(LiveView):
    """Renders from state at most 4 times a second; events only update the state. Messages
    (`message`) are printed through the live display's console, above it."""

    def __init__(self, console: Console, total_inputs: int) -> None:
        self.console = console
        self.total_inputs = total_inputs
        self.running: dict[Path, _Running] = {}
        self.ended: Counter[Status] = Counter()
        # last: Live asks for a first rendering of the state set above
        super().__init__(console, refresh_per_second=4, transient=True)

    def message(self, text: str, style: str = "") -> None:
        self.console.print(Text(text, style=style))

    def __call__(self, event: Event) -> None:
        if isinstance(event, InputQueued):  # `watch`: the total grows as files arrive
            self.total_inputs += 1
        elif isinstance(event, InputStarted):
            self.running[event.path] = _Running(
                short_label(event.label), event.duration_ms, event.resumed_at_ms
            )
        elif isinstance(event, AudioProgress) and event.path in self.running:
            self.running[event.path].sent_ms = event.sent_ms
        elif isinstance(event, CueWritten) and event.path in self.running:
            state = self.running[event.path]
            state.sentences[event.target] += 1
            state.latest = (event.transcript, event.translation)
        elif isinstance(event, InputEnded):
            result = event.result
            self.running.pop(result.path, None)
            self.ended[result.status] += 1
            if result.status is not Status.DONE or result.reason:
                label = short_label(result.label or str(result.path))
                reason = without_subject(result.reason, result.label, str(result.path), label)
                self.message(
                    f"{result.status.value} {label}: {reason}", STATUS_STYLE[result.status]
                )

    def render(self) -> RenderableType:
        width = self.console.width
        rows: list[RenderableType] = []
        for state in self.running.values():
            rows.append(_bar_row(state, width))
            transcript, translation = state.latest
            if transcript or translation:
                rows.append(_latest_row(transcript, translation, width))
        counted = sum(self.ended.values())
        queued = max(self.total_inputs - counted - len(self.running), 0)
        parts = [f"running {len(self.running)}", f"queued {queued}"]
        parts += [f"{status.value} {self.ended[status]}" for status in STATUS_STYLE]
        rows.append(Text("  ".join(parts), style="bold", no_wrap=True, overflow="ellipsis"))
        return Group(*rows)


def _bar_row(state: _Running, width: int) -> Table:
    total = state.duration_ms or max(state.sent_ms, 1)
    elapsed = time.monotonic() - state.started_s
    sentences = max(state.sentences.values(), default=0)
    figures = f"{clock(state.sent_ms)}/{clock(total)}  {sentences} sentences"
    if width >= 100:
        figures += f"  eta {_eta(state, total, elapsed)}"
    if state.resumed_at_ms is not None:
        figures += f"  resumed at {clock(state.resumed_at_ms)}"
    bar_width = 20 if width >= 100 else 12
    row = Table.grid(padding=(0, 1), expand=True)
    row.add_column(ratio=1, no_wrap=True, overflow="ellipsis", min_width=8)
    row.add_column(width=bar_width)
    row.add_column(no_wrap=True, overflow="ellipsis", style="cyan")
    row.add_row(
        Text(state.label, overflow="ellipsis", no_wrap=True),
        ProgressBar(total=total, completed=min(state.sent_ms, total), width=bar_width),
        figures,
    )
    return row


def _latest_row(transcript: str, translation: str, width: int) -> Table:
    """The latest finished sentence in both languages: the transcript at most half the width,
    the translation the rest."""
    row = Table.grid(padding=(0, 1), expand=True)
    row.add_column(width=1)
    row.add_column(no_wrap=True, overflow="ellipsis", max_width=max(8, (width - 6) // 2))
    row.add_column(width=1)
    row.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
    row.add_row("", Text(transcript, style="dim"), Text("→", style="dim"), Text(translation))
    return row


def _eta(state: _Running, total_ms: int, elapsed_s: float) -> str:
    """Time left at the pace so far; unknown for live inputs and before any audio went out."""
    if state.duration_ms is None or state.sent_ms <= 0 or elapsed_s <= 0:
        return "--:--"
    rate = (state.sent_ms - (state.resumed_at_ms or 0)) / elapsed_s  # audio ms per wall s
    if rate <= 0:
        return "--:--"
    return clock(int(max(0, total_ms - state.sent_ms) / rate * 1000))
