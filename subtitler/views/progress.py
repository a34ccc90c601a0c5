"""The terminal view: a progress bar per running file with its latest finished bilingual line."""

from __future__ import annotations

import time
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
from subtitler.views.labels import short_label
from subtitler.views.live import LiveView


@dataclass
class _Running:
    label: str
    duration_ms: int | None
    started_s: float = field(default_factory=time.monotonic)
    sent_ms: int = 0
    sentences: int = 0
    latest: tuple[str, str] = ("", "")


class ProgressView(LiveView):
    """Renders from state at most 4 times a second; events only update the state."""

    def __init__(self, console: Console, total_inputs: int) -> None:
        self.console = console
        self.total_inputs = total_inputs
        self.running: dict[Path, _Running] = {}
        self.finished = 0
        self.failed = 0
        self.skipped = 0
        # last: Live asks for a first rendering of the state set above
        super().__init__(console, refresh_per_second=4, transient=True)

    def __call__(self, event: Event) -> None:
        if isinstance(event, InputQueued):  # `watch`: the total grows as files arrive
            self.total_inputs += 1
        elif isinstance(event, InputStarted):
            self.running[event.path] = _Running(short_label(event.label), event.duration_ms)
        elif isinstance(event, AudioProgress) and event.path in self.running:
            self.running[event.path].sent_ms = event.sent_ms
        elif isinstance(event, CueWritten) and event.path in self.running:
            state = self.running[event.path]
            state.sentences += 1
            state.latest = (event.transcript, event.translation)
        elif isinstance(event, InputEnded):
            self.running.pop(event.result.path, None)
            self.finished += 1
            if event.result.status is Status.FAILED:
                self.failed += 1
                self.console.print(f"[red]failed[/red] {event.result.reason}", highlight=False)
            elif event.result.status is Status.SKIPPED:
                self.skipped += 1

    def render(self) -> RenderableType:
        grid = Table.grid(padding=(0, 1), expand=False)
        grid.add_column(no_wrap=True, max_width=32)
        grid.add_column(width=30)
        grid.add_column(no_wrap=True)
        for state in self.running.values():
            total = state.duration_ms or max(state.sent_ms, 1)
            elapsed = time.monotonic() - state.started_s
            grid.add_row(
                Text(state.label, overflow="ellipsis"),
                ProgressBar(total=total, completed=min(state.sent_ms, total), width=30),
                Text(
                    f"{_clock(state.sent_ms)}/{_clock(total)}  {state.sentences} sentences  "
                    f"elapsed {_clock(int(elapsed * 1000))}  eta {_eta(state, total, elapsed)}",
                    style="cyan",
                ),
            )
            transcript, translation = state.latest
            if transcript or translation:
                grid.add_row(
                    "",
                    Text(
                        f"{transcript}  |  {translation}",
                        style="dim",
                        overflow="ellipsis",
                        no_wrap=True,
                    ),
                    "",
                )
        queued = self.total_inputs - self.finished - len(self.running)
        footer = Text(
            f"running {len(self.running)}  queued {max(queued, 0)}  done {self.finished}  "
            f"failed {self.failed}  skipped {self.skipped}",
            style="bold",
        )
        return Group(grid, footer)


def _eta(state: _Running, total_ms: int, elapsed_s: float) -> str:
    """Time left at the pace so far; unknown for live inputs and before any audio went out."""
    if state.duration_ms is None or state.sent_ms <= 0 or elapsed_s <= 0:
        return "--:--"
    rate = state.sent_ms / elapsed_s  # audio ms per second of wall time
    return _clock(int(max(0, total_ms - state.sent_ms) / rate * 1000))


def _clock(ms: int) -> str:
    seconds = ms // 1000
    return f"{seconds // 60:d}:{seconds % 60:02d}"
