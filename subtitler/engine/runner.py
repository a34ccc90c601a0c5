"""One way to run an input, whoever asks: run's batch, watch, serve's jobs and webhooks, and its
upload endpoints all call `run_input`.

It waits for a slot under the run's `--jobs`, then subtitles the input isolated (a bug in it is
that input's failure, never the batch's). The one rule for a stop (Ctrl-C, SIGTERM, a cancelled
job, serve shutting down): an input that has not started when the stop comes is not started,
and its result says so (skipped, `NOT_STARTED`); an input that has started finishes its current
sentences, flushes its tracks and ends interrupted (the next run resumes it from its journal).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from subtitler.engine.context import RunContext
from subtitler.engine.input import subtitle_isolated
from subtitler.events import InputResult, Status
from subtitler.sources.inputs import InputFile

NOT_STARTED = "not started"
"""The reason of an input a stop came before: nothing of it was done."""


async def run_input(
    item: InputFile,
    context: RunContext,
    starting: Callable[[], Awaitable[None]] | None = None,
) -> InputResult:
    """The input's result. `starting` runs once it has its slot and before any work (a job
    marks itself running); a stop by then is `not_started`."""
    async with context.slots:
        if context.control.stopping:
            return not_started(item)
        if starting is not None:
            await starting()
        return await subtitle_isolated(item, context)


def not_started(item: InputFile) -> InputResult:
    return InputResult(path=item.path, status=Status.SKIPPED, reason=NOT_STARTED, label=item.label)


def was_not_started(result: InputResult) -> bool:
    return result.status is Status.SKIPPED and result.reason == NOT_STARTED
