"""The end-of-run summary table (rich): one row per input, fitted to the terminal's width.

Every row says how the input ended and why (the reason of a failed, skipped or interrupted
input; where a resumed one was taken up). What does not fit goes first: request ids are
shortened below 150 columns and dropped below 110 with the package delays (the line output
and `--json` always carry them in full).
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from subtitler.events import InputResult
from subtitler.views.labels import STATUS_STYLE, clock, short_label, without_subject

FULL_IDS_WIDTH = 150
SHORT_IDS_WIDTH = 110
SHORT_ID_CHARS = 8


def summary_table(results: list[InputResult], width: int = 160) -> Table:
    ids = "full" if width >= FULL_IDS_WIDTH else "short" if width >= SHORT_IDS_WIDTH else ""
    table = Table(title="subtitler summary", show_lines=False, expand=False, padding=(0, 1))
    table.add_column("file", no_wrap=True, overflow="ellipsis", min_width=8, ratio=2)
    table.add_column("status", no_wrap=True)
    table.add_column("sent.", justify="right", no_wrap=True)
    table.add_column("audio", justify="right", no_wrap=True)
    table.add_column("wall", justify="right", no_wrap=True)
    if ids:
        table.add_column("retries", justify="right", no_wrap=True)
        table.add_column("first/last pkg ms", justify="right", no_wrap=True)
        table.add_column("request id", no_wrap=True)
    table.add_column("note", overflow="fold", ratio=3, min_width=12)
    for result in results:
        label = short_label(result.label or str(result.path))
        cells: list[str | Text] = [
            Text(label, overflow="ellipsis", no_wrap=True),
            Text(result.status.value, style=STATUS_STYLE[result.status]),
            str(result.sentences) if result.sentences else "",
            _duration(result.audio_ms) if result.audio_ms else "",
            f"{result.wall_s:.1f}s" if result.wall_s else "",
        ]
        if ids:
            tasks = result.tasks
            several = len(tasks) > 1
            cells += [
                str(result.resumes) if result.resumes else "",
                "\n".join(
                    f"{_ms(t.first_package_delay_ms)}/{_ms(t.last_package_delay_ms)}" for t in tasks
                ),
                "\n".join(
                    (f"{t.target}: " if several else "")
                    + (t.request_id if ids == "full" else t.request_id[:SHORT_ID_CHARS] + "…")
                    for t in tasks
                ),
            ]
        cells.append(_note(result, label))
        table.add_row(*cells)
    counts = [f"{sum(r.status is s for r in results)} {s.value}" for s in STATUS_STYLE]
    table.caption = ", ".join(counts)
    return table


def print_summary(
    console: Console, results: list[InputResult], *, reader_left: bool = False
) -> None:
    """The table, unless the reader of stdout has gone (`--json | head -1`, `reader_left` of
    the view): that run says one line on stderr and stops (docs/reliability.md), not a table."""
    if reader_left:
        return
    console.print(summary_table(results, console.width))


def _note(result: InputResult, label: str) -> str:
    notes = []
    usage = result.translation
    if usage is not None and usage.requests:
        notes.append(f"Qwen-MT {usage.requests} requests, "
                     f"{usage.input_tokens}+{usage.output_tokens} tokens")  # fmt: skip
    if result.skipped_ms:
        notes.append(f"{result.skipped_ms / 1000:.0f} s without speech not sent")
    if result.resumed_at_ms is not None:
        notes.append(f"resumed at {clock(result.resumed_at_ms)}")
    if result.reason:
        notes.append(without_subject(result.reason, result.label, str(result.path), label))
    return "; ".join(notes)


def _duration(ms: int) -> str:
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m{seconds % 60:04.1f}s"
    return f"{int(seconds // 3600)}h{int(seconds // 60 % 60):02d}m"


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}"
