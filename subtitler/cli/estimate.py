"""`run --estimate`: what a run would bill, with no service call."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from subtitler.options import RunOptions

if TYPE_CHECKING:
    from subtitler.outputs.delivery import Receiver
    from subtitler.sources.inputs import InputFile, InputProblem

    OutputFactory = Callable[[Callable[[str], None]], Receiver]
    """A live output, made once the run's view says where its messages go."""
from subtitler.cli.exits import EXIT_OK


def estimate(items: list[InputFile | InputProblem], options: RunOptions, as_json: bool) -> int:
    """`run --estimate`: durations and what they would bill, with no service call."""
    import json
    import time

    from rich.console import Console
    from rich.table import Table

    from subtitler.engine.estimate import estimate_inputs

    found = asyncio.run(estimate_inputs(items, options))
    known = [entry.estimate for entry in found if entry.estimate is not None]
    prices = options.prices
    totals: dict[str, object] = {
        "audio_ms": sum(e.audio_ms for e in known),
        "recognition_s": round(sum(e.recognition_s for e in known), 3),
        "translation_s": round(sum(e.translation_s for e in known), 3),
        "cost": round(sum(e.cost for e in known), 6),
        "currency": prices.currency,
    }
    problems = [entry for entry in found if entry.problem and entry.estimate is None]
    if as_json:
        for entry in found:
            base = {"at": round(time.time(), 3), "input": entry.label}
            if entry.estimate is None:
                print(json.dumps({"event": "skipped", **base, "reason": entry.problem}))
                continue
            e = entry.estimate
            print(json.dumps({"event": "estimate", **base, "audio_ms": e.audio_ms,
                              "recognition_s": round(e.recognition_s, 3),
                              "translation_s": round(e.translation_s, 3),
                              "cost": round(e.cost, 6), "currency": prices.currency},
                             ensure_ascii=False))  # fmt: skip
        print(json.dumps({"event": "summary", "at": round(time.time(), 3), "done": 0,
                          "failed": 0, "skipped": len(problems), **totals,
                          "version": 1}))  # fmt: skip
        return EXIT_OK
    table = Table(title="subtitler estimate (no service call)")
    for column in ("file", "audio", "tasks", "recognition s", "translation s", "cost"):
        table.add_column(column, justify="left" if column == "file" else "right")
    for entry in found:
        one = entry.estimate
        if one is None:
            table.add_row(entry.label, "", "", "", "", entry.problem)
            continue
        table.add_row(entry.label, f"{one.audio_ms / 1000:.1f}s", str(one.tasks),
                      f"{one.recognition_s:.1f}", f"{one.translation_s:.1f}",
                      f"{one.cost:.4f} {prices.currency}")  # fmt: skip
    audio_s = sum(e.audio_ms for e in known) / 1000
    table.add_row("total", f"{audio_s:.1f}s", "", f"{totals['recognition_s']:.1f}",
                  f"{totals['translation_s']:.1f}", f"{totals['cost']:.4f} {prices.currency}",
                  style="bold")  # fmt: skip
    Console(width=160 if not sys.stdout.isatty() else None).print(table)
    return EXIT_OK
