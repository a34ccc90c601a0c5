"""Many inputs on one event loop, each isolated: one bad file fails alone, the others finish.

At most `jobs` inputs run at once; all share one task pacer (the service's start limit is per
account) and one `RunControl`. Events reach `observe` on the loop's thread, in order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from subtitler.engine.context import RunContext
from subtitler.engine.control import RunControl
from subtitler.engine.runner import run_input
from subtitler.events import Event, InputEnded, InputResult, Status
from subtitler.options import RunOptions
from subtitler.sources.inputs import InputFile, InputProblem


async def run_batch(
    items: list[InputFile | InputProblem],
    options: RunOptions,
    observe: Callable[[Event], None],
    control: RunControl | None = None,
) -> list[InputResult]:
    """Every input's result, in input order. `control.request_stop()` (Ctrl-C) lets running
    inputs flush and starts no new one (see `runner`); a refused key stops the run the same
    way."""
    context = RunContext.create(options, observe, control)
    control = context.control
    results: list[InputResult | None] = [None] * len(items)

    async def work(index: int, item: InputFile) -> None:
        result = await run_input(item, context)
        results[index] = result
        observe(InputEnded(result))

    for index, item in enumerate(items):
        if isinstance(item, InputProblem):
            failed = InputResult(
                path=item.path,
                status=Status.FAILED,
                reason=f"{item.path}: {item.reason}",
                label=str(item.path),
            )
            results[index] = failed
            observe(InputEnded(failed))
    try:
        await asyncio.gather(
            *(work(index, item) for index, item in enumerate(items) if isinstance(item, InputFile))
        )
    finally:
        await context.aclose()
    return [result for result in results if result is not None]
