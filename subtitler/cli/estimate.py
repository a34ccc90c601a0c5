"""`run --estimate`: what a run would bill, with no service call."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from subtitler.options import RunOptions

if TYPE_CHECKING:
    from subtitler.gummy.cost import Bill

if TYPE_CHECKING:
    from subtitler.outputs.delivery import Receiver
    from subtitler.sources.inputs import InputFile, InputProblem

    OutputFactory = Callable[[Callable[[str], None]], Receiver]
    """A live output, made once the run's view says where its messages go."""
from subtitler.cli.exits import EXIT_OK


def estimate(
    items: list[InputFile | InputProblem], options: RunOptions, as_json: bool, scan: bool = False
) -> int:
    """`run --estimate`: durations and what they would bill, with no service call; `--scan`:
    and what the speech gate would send of them, detected locally."""
    import json
    import time

    from rich.console import Console
    from rich.table import Table

    from subtitler.engine.estimate import estimate_inputs
    from subtitler.gummy.cost import ESTIMATE_NOTE, Bill

    found = asyncio.run(estimate_inputs(items, options, scan))
    known = [entry.estimate for entry in found if entry.estimate is not None]
    prices = options.prices
    total = Bill()
    for one in known:
        total = total + one.costs
    tokens = [one.mt_tokens for one in known if one.mt_targets]
    totals: dict[str, object] = {
        "audio_ms": sum(e.audio_ms for e in known),
        "recognition_s": round(sum(e.recognition_s for e in known), 3),
        "translation_s": round(sum(e.translation_s for e in known), 3),
        **_cost_fields(total, prices.currency),
    }
    if tokens:
        totals["mt_input_tokens"] = sum(t.input_tokens for t in tokens)
        totals["mt_output_tokens"] = sum(t.output_tokens for t in tokens)
    problems = [entry for entry in found if entry.problem and entry.estimate is None]
    if as_json:
        for entry in found:
            base = {"at": round(time.time(), 3), "input": entry.label}
            if entry.estimate is None:
                print(json.dumps({"event": "skipped", **base, "reason": entry.problem}))
                continue
            e = entry.estimate
            fields: dict[str, object] = {
                "audio_ms": e.audio_ms,
                "recognition_s": round(e.recognition_s, 3),
                "translation_s": round(e.translation_s, 3),
                **_cost_fields(e.costs, prices.currency),
            }
            if e.mt_targets:
                fields["mt_input_tokens"] = e.mt_tokens.input_tokens
                fields["mt_output_tokens"] = e.mt_tokens.output_tokens
            if entry.scanned is not None:
                g = entry.scanned
                fields["scan"] = {"sent_ms": g.audio_ms, "recognition_s": round(g.recognition_s, 3),
                                  "translation_s": round(g.translation_s, 3),
                                  **_cost_fields(g.costs, prices.currency)}  # fmt: skip
            print(json.dumps({"event": "estimate", **base, **fields}, ensure_ascii=False))
        print(json.dumps({"event": "summary", "at": round(time.time(), 3), "done": 0,
                          "failed": 0, "skipped": len(problems), **totals,
                          "version": 1}))  # fmt: skip
        return EXIT_OK
    table = Table(title="subtitler estimate (no service call)")
    machine = bool(tokens)
    columns = ["file", "audio", "tasks", "recognition s", "translation s"]
    columns += ["Qwen-MT tokens"] if machine else []
    scanned = [entry.scanned for entry in found if entry.scanned is not None]
    gated = ["speech sent", "cost, speech only"] if scan else []
    for column in (*columns, "cost", *gated):
        table.add_column(column, justify="left" if column == "file" else "right")
    for entry in found:
        shown = entry.estimate
        if shown is None:
            table.add_row(entry.label, *[""] * (len(columns) - 1), entry.problem)
            continue
        one = shown
        cells = [entry.label, f"{one.audio_ms / 1000:.1f}s", str(one.tasks),
                 f"{one.recognition_s:.1f}", f"{one.translation_s:.1f}"]  # fmt: skip
        if machine:
            mt = one.mt_tokens
            cells.append(f"{mt.input_tokens}+{mt.output_tokens}" if one.mt_targets else "")
        cells.append(one.costs.format(4, prices.currency))
        if scan:
            speech = entry.scanned
            cells += (
                [f"{speech.audio_ms / 1000:.1f}s", speech.costs.format(4, prices.currency)]
                if speech
                else ["", ""]
            )
        table.add_row(*cells)
    audio_s = sum(e.audio_ms for e in known) / 1000
    cells = ["total", f"{audio_s:.1f}s", "", f"{totals['recognition_s']:.1f}",
             f"{totals['translation_s']:.1f}"]  # fmt: skip
    if machine:
        cells.append(f"{totals['mt_input_tokens']}+{totals['mt_output_tokens']}")
    cells.append(total.format(4, prices.currency))
    if scan:
        gated_total = Bill()
        for one in scanned:
            gated_total = gated_total + one.costs
        sent_s = sum(g.audio_ms for g in scanned) / 1000
        cells += [f"{sent_s:.1f}s", gated_total.format(4, prices.currency)]
    table.add_row(*cells, style="bold")
    Console(width=160 if not sys.stdout.isatty() else None).print(table)
    if machine:
        print(f"subtitler: {ESTIMATE_NOTE}", file=sys.stderr)
    return EXIT_OK


def _cost_fields(bill: Bill, currency: str) -> dict[str, object]:
    """`cost` and `currency` as before when the bill is in one currency (or none); in several,
    `costs` per currency (never summed: no conversion) and `cost` null."""
    if len(bill.amounts) <= 1:
        amount = bill.amounts[0][1] if bill.amounts else 0.0
        shown = bill.amounts[0][0] if bill.amounts else currency
        return {"cost": round(amount, 6), "currency": shown}
    return {"cost": None, "currency": None,
            "costs": {name: round(amount, 6) for name, amount in bill.amounts}}  # fmt: skip
