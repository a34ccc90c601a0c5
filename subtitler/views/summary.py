"""The end-of-run summary table (rich): one row per input."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from subtitler.events import InputResult, Status

STATUS_STYLE = {Status.DONE: "green", Status.FAILED: "red", Status.SKIPPED: "yellow"}


def summary_table(results: list[InputResult]) -> Table:
    table = Table(title="subtitler summary", show_lines=False)
    table.add_column("file", overflow="fold")
    table.add_column("status")
    table.add_column("sentences", justify="right")
    table.add_column("audio", justify="right")
    table.add_column("wall", justify="right")
    table.add_column("resumed", justify="right")
    table.add_column("first pkg ms", justify="right")
    table.add_column("last pkg ms", justify="right")
    table.add_column("request id", overflow="fold")
    for result in results:
        tasks = result.tasks
        table.add_row(
            result.path.name,
            f"[{STATUS_STYLE[result.status]}]{result.status.value}[/]",
            str(result.sentences) if result.status is not Status.SKIPPED else "",
            _duration(result.audio_ms) if result.audio_ms else "",
            f"{result.wall_s:.1f}s" if result.wall_s else "",
            str(result.resumes) if result.resumes else "",
            "\n".join(_ms(t.first_package_delay_ms) for t in tasks),
            "\n".join(_ms(t.last_package_delay_ms) for t in tasks),
            "\n".join(
                f"{t.target}: {t.request_id}" if len(tasks) > 1 else t.request_id for t in tasks
            ),
        )
    done = sum(r.status is Status.DONE for r in results)
    failed = sum(r.status is Status.FAILED for r in results)
    skipped = sum(r.status is Status.SKIPPED for r in results)
    table.caption = f"{done} done, {failed} failed, {skipped} skipped"
    return table


def print_summary(console: Console, results: list[InputResult]) -> None:
    console.print(summary_table(results))


def _duration(ms: int) -> str:
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    return f"{int(seconds // 60)}m{seconds % 60:04.1f}s"


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}"
