"""The Python API: the CLI is a thin layer over these two functions.

`subtitle()` runs one input and yields its typed events while it works (the same events as
`--json`); `run()` runs a batch and returns one result per input.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from subtitler.batch import new_control, run_batch
from subtitler.environment import keep_local_off_proxies, resolve_endpoint, resolve_key
from subtitler.events import Event, InputEnded, InputResult
from subtitler.gummy import GummySettings
from subtitler.inputs import discover
from subtitler.languages import check_pairs
from subtitler.pipeline import DEFAULT_SPEED, RunOptions
from subtitler.rules import CueRules
from subtitler.tracks import Layout


def make_options(
    targets: Sequence[str] = ("en",),
    *,
    source_language: str | None = None,
    api_key: str | None = None,
    endpoint: str | None = None,
    speed: float | None = DEFAULT_SPEED,
    jobs: int = 4,
    out_dir: Path | str | None = None,
    layout: Layout | str = Layout.BILINGUAL,
    overwrite: bool = False,
    audio_stream: int = 0,
    rules: CueRules | None = None,
    vocabulary_id: str | None = None,
) -> RunOptions:
    """RunOptions from keyword arguments; the key and endpoint default to the environment
    (DASHSCOPE_API_KEY, DASHSCOPE_WEBSOCKET_BASE_URL). Raises UsageError like the CLI."""
    chosen = tuple(t.lower() for t in targets)
    check_pairs(source_language, chosen)
    url = resolve_endpoint(endpoint)
    keep_local_off_proxies(url)
    return RunOptions(
        targets=chosen,
        gummy=GummySettings(
            api_key=api_key or resolve_key(url),
            endpoint=url,
            source_language=source_language,
            vocabulary_id=vocabulary_id,
        ),
        speed=speed,
        jobs=jobs,
        out_dir=Path(out_dir) if out_dir is not None else None,
        layout=Layout(layout),
        overwrite=overwrite,
        audio_stream=audio_stream,
        rules=rules or CueRules(),
    )


def subtitle(
    source: str | Path, targets: Sequence[str] = ("en",), **options: object
) -> Iterator[Event]:
    """Subtitle one file, URL or `-` (stdin), yielding events as they happen; the last one is
    `InputEnded` with the result. Tracks are written as with `subtitler run`."""
    settings = make_options(targets, **options)  # type: ignore[arg-type]
    items = discover([source])  # a URL or "-" becomes a live input, anything else a path
    events: queue.SimpleQueue[Event] = queue.SimpleQueue()
    control = new_control(settings)
    worker = threading.Thread(
        target=run_batch, args=(items, settings, events.put, control), daemon=True
    )
    worker.start()
    try:
        while True:
            event = events.get()
            yield event
            if isinstance(event, InputEnded):
                break
    finally:
        control.stop.set()  # the caller stopped early: let the task flush and end
        worker.join()


def run(
    paths: Sequence[str | Path],
    targets: Sequence[str] = ("en",),
    on_event: Callable[[Event], None] | None = None,
    **options: object,
) -> list[InputResult]:
    """Subtitle files, folders and URLs like `subtitler run`; one result per input."""
    settings = make_options(targets, **options)  # type: ignore[arg-type]
    items = discover(list(paths))
    return run_batch(items, settings, on_event or (lambda _event: None))
