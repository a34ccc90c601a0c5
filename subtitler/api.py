"""The Python API: the CLI is a thin layer over these functions.

`subtitle()` runs one input and yields its typed events while it works (the same events as
`--json`); `run()` runs a batch and returns one result per input; `run_async()` is `run()` for
callers that have an event loop already. Options are those of `options.make_options`.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from subtitler.engine.batch import run_batch
from subtitler.engine.control import RunControl
from subtitler.events import Event, InputEnded, InputResult
from subtitler.options import make_options
from subtitler.sources.inputs import discover


def subtitle(
    source: str | Path, targets: Sequence[str] = ("en",), **options: Any
) -> Iterator[Event]:
    """Subtitle one file, URL or `-` (stdin), yielding events as they happen; the last one is
    `InputEnded` with the result. Tracks are written as with `subtitler run`.

    The run has its own event loop on a worker thread (the reason for the thread: this is a
    plain iterator); leaving the loop early stops the run the way Ctrl-C does."""
    settings = make_options(list(targets), **options)
    items = discover([source])  # a URL or "-" becomes a live input, anything else a path
    events: queue.SimpleQueue[Event] = queue.SimpleQueue()
    ready = threading.Event()
    holder: dict[str, Any] = {}

    async def main() -> None:
        control = RunControl()
        holder["control"], holder["loop"] = control, asyncio.get_running_loop()
        ready.set()
        await run_batch(items, settings, events.put, control)

    worker = threading.Thread(target=asyncio.run, args=(main(),), name="subtitler-run")
    worker.start()
    ready.wait()
    try:
        while True:
            event = events.get()
            yield event
            if isinstance(event, InputEnded):
                break
    finally:
        holder["loop"].call_soon_threadsafe(holder["control"].request_stop)
        worker.join()


async def run_async(
    paths: Sequence[str | Path],
    targets: Sequence[str] = ("en",),
    on_event: Callable[[Event], None] | None = None,
    **options: Any,
) -> list[InputResult]:
    """`run` on the caller's own event loop: the inputs run as tasks of that loop (file writes
    on the run's one writer thread); `on_event` gets every event on the loop's thread, in
    order. `options` are `make_options`'s keywords."""
    settings = make_options(list(targets), **options)
    return await run_batch(discover(list(paths)), settings, on_event or (lambda _event: None))


def run(
    paths: Sequence[str | Path],
    targets: Sequence[str] = ("en",),
    on_event: Callable[[Event], None] | None = None,
    **options: Any,
) -> list[InputResult]:
    """Subtitle files, folders and URLs like `subtitler run`; one result per input."""
    return asyncio.run(run_async(paths, targets, on_event, **options))
