"""Many inputs at once, each isolated: one bad file fails alone, the others finish.

Inputs run on `jobs` worker threads; every event goes through one queue to the caller's
thread, so views never need locks and never slow the data path.
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from subtitler.events import Event, InputEnded, InputResult, Status
from subtitler.inputs import InputFile, InputProblem
from subtitler.pipeline import BatchControl, RunOptions, subtitle_input
from subtitler.slots import TaskSlots


def new_control(options: RunOptions) -> BatchControl:
    """Slots for `jobs` inputs' worth of tasks (one per target each)."""
    return BatchControl(TaskSlots(max(1, options.jobs) * len(options.targets)))


def run_batch(
    items: list[InputFile | InputProblem],
    options: RunOptions,
    observe: Callable[[Event], None],
    control: BatchControl | None = None,
) -> list[InputResult]:
    """Run every input; `observe` sees every event on this thread. Results in input order.

    `control.stop` (Ctrl-C) lets running inputs flush and starts no new one; an invalid API
    key sets `control.fatal`, which stops the whole run the same way.
    """
    control = control or new_control(options)
    events: queue.SimpleQueue[Event | None] = queue.SimpleQueue()
    results: dict[int, InputResult] = {}

    for index, item in enumerate(items):
        if isinstance(item, InputProblem):
            results[index] = InputResult(
                item.path, Status.FAILED, reason=f"{item.path}: {item.reason}"
            )
            observe(InputEnded(results[index]))

    def work(index: int, item: InputFile) -> None:
        try:
            if control.halted:
                result = InputResult(item.path, Status.SKIPPED, reason="not started")
            else:
                result = subtitle_input(item, options, events.put, control)
        except Exception as error:  # a bug must not take the batch down
            result = InputResult(
                item.path, Status.FAILED, reason=f"{item.path}: internal error: {error!r}"
            )
        results[index] = result
        events.put(InputEnded(result))

    files = [(index, item) for index, item in enumerate(items) if isinstance(item, InputFile)]
    with ThreadPoolExecutor(max_workers=max(1, options.jobs), thread_name_prefix="input") as pool:
        futures: list[Future[None]] = [pool.submit(work, index, item) for index, item in files]
        remaining = len(futures)
        while remaining:
            event = events.get()
            if event is None:
                continue
            observe(event)
            if isinstance(event, InputEnded):
                remaining -= 1
        for future in futures:
            future.result()
    return [results[index] for index in range(len(items))]
