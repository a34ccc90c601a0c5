"""A run's set-up and tear-down, shared by run and watch: the view that suits stdout, the caption
page, the live receivers, the signals, the summary and the exit status."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, TextIO
from urllib.parse import urlparse

from subtitler.gummy.client import ClientKind
from subtitler.gummy.environment import LOCAL_HOSTS
from subtitler.options import RunOptions

if TYPE_CHECKING:
    from rich.console import Console

    from subtitler.engine.control import RunControl
    from subtitler.events import Event, InputResult
    from subtitler.outputs.delivery import Receiver
    from subtitler.sources.inputs import InputFile, InputProblem
    from subtitler.sources.shard import Shard

    OutputFactory = Callable[[Callable[[str], None]], Receiver]
    """A live output, made once the run's view says where its messages go."""
from subtitler.cli.arguments import options_from_arguments
from subtitler.cli.exits import EXIT_INTERRUPTED, exit_status
from subtitler.cli.writable import check_folder


def run_and_watch_settings(
    arguments: argparse.Namespace,
) -> tuple[RunOptions, Shard | None, tuple[str, int] | None]:
    """What run and watch read alike: the options, the shard, the caption page's address."""
    from subtitler.sources.shard import parse_shard

    options = options_from_arguments(arguments)
    shard = parse_shard(arguments.shard) if arguments.shard is not None else None
    serve = None
    if arguments.serve is not None:
        from subtitler.views.web import parse_address  # aiohttp: only with --serve

        serve = parse_address(arguments.serve)
    if options.out_dir is not None and not getattr(arguments, "estimate", False):
        check_folder("--out-dir", options.out_dir)
    if options.client is ClientKind.SDK:
        keep_local_off_proxies(options.gummy.endpoint)  # the SDK's aiohttp honours proxies
    if arguments.glossary is not None:
        from subtitler.cli.vocabulary import with_glossary

        options = with_glossary(options, arguments.glossary, getattr(arguments, "estimate", False))
    return options, shard, serve


def execute(
    items: list[InputFile | InputProblem],
    options: RunOptions,
    as_json: bool = False,
    preview: bool | None = None,
    serve: tuple[str, int] | None = None,
    outputs: Sequence[OutputFactory] = (),
    delivery_grace_s: float = 5.0,
) -> int:
    """Run a batch with the view that suits stdout; print the summary; the exit status.
    `serve`: (host, port) of the caption page and its event stream, for the run's length.

    The first Ctrl-C stops sending audio, lets every running task finish its current sentence
    and flushes the tracks (a few seconds); a second one exits at once. Either way every track
    is a valid file and the run resumes where it stopped when started again.
    """
    return asyncio.run(
        run_session(
            items,
            options,
            as_json,
            preview,
            serve,
            outputs=outputs,
            delivery_grace_s=delivery_grace_s,
        )
    )


async def run_session(
    items: list[InputFile | InputProblem],
    options: RunOptions,
    as_json: bool,
    preview: bool | None,
    serve: tuple[str, int] | None = None,
    work: Callable[
        [Callable[[Event], None], RunControl, Callable[[str], None]], Awaitable[list[InputResult]]
    ]
    | None = None,
    watching: bool = False,
    outputs: Sequence[OutputFactory] = (),
    delivery_grace_s: float = 5.0,
) -> int:
    """`work` replaces the batch of `items` (`watch`); `watching` also stops on SIGTERM and
    makes a stop a normal end (exit 0)."""
    from rich.console import Console

    from subtitler.engine.batch import run_batch
    from subtitler.engine.control import RunControl
    from subtitler.engine.policy import INVALID_KEY
    from subtitler.events import InputEnded, Status
    from subtitler.sources.inputs import InputFile
    from subtitler.views.jsonlines import JsonLinesView
    from subtitler.views.output import reader_left, to_null
    from subtitler.views.summary import print_summary

    control = RunControl()
    interactive = sys.stdout.isatty() and not as_json
    if as_json:
        console = Console(stderr=True, width=160)  # stdout holds JSON lines only
    elif interactive:
        console = Console(stderr=False)
    else:
        console = Console(width=160, no_color=True)
    errors = Console(stderr=True, highlight=False, soft_wrap=True)
    # Messages: on stderr, or through a terminal view's own console (above its live area), so
    # that nothing is written into the middle of a redraw.
    say: list[Callable[[str], None]] = [lambda text: errors.print(text, markup=False)]

    def on_interrupt() -> None:
        if control.stop_requested:
            os._exit(EXIT_INTERRUPTED)
        control.request_stop()
        say[0]("subtitler: stopping: finishing the current sentences (Ctrl-C again to quit now)")

    def on_output_closed() -> None:
        """The reader of stdout left (`| head`): stop as on Ctrl-C (journals kept, locks
        released), saying so on stderr."""
        if not control.stop_requested:
            control.request_stop()
            errors.print(
                "subtitler: standard output was closed: stopping (finishing the current "
                "sentences; run again to resume)",
                markup=False,
            )

    def report_failure(event: Event) -> None:
        if control.fatal_error is not None:
            return  # one message for the whole run, below
        if isinstance(event, InputEnded) and event.result.status is Status.FAILED:
            errors.print(f"subtitler: {event.result.reason}", markup=False)

    loop = asyncio.get_running_loop()
    watch_children_without_threads(loop)
    async with contextlib.AsyncExitStack() as stack:
        observers: list[Callable[[Event], None]] = []
        server = None
        if serve is not None:
            from subtitler.views.web import CaptionServer

            server = CaptionServer(*serve)
            await server.start()
            stack.push_async_callback(server.stop)
            observers.append(server)
            errors.print(f"subtitler: caption page: {server.url}", markup=False)
        for stop_signal in (signal.SIGINT, signal.SIGTERM) if watching else (signal.SIGINT,):
            loop.add_signal_handler(stop_signal, on_interrupt)
            stack.callback(loop.remove_signal_handler, stop_signal)
        single = preview if preview is not None else len(items) == 1
        with _main_view(
            console, options, as_json, interactive, single, len(items), on_output_closed
        ) as view:
            message = getattr(view, "message", None)
            if message is not None:  # a terminal view: it reports the failures itself
                say[0] = message
            elif as_json or not _same_file(sys.stdout, sys.stderr):
                # plain lines say a failure on stdout: not again when stderr is the same file
                observers.insert(0, report_failure)
            receivers = []
            for make in outputs:
                receiver = make(lambda text: say[0](text))
                await receiver.start()  # a wrong OBS password: a usage error, before any work
                stack.push_async_callback(receiver.close, 0.0)  # if the run itself fails
                receivers.append(receiver)
            observe = _fan_out(view, *observers, *receivers)
            if work is not None:
                results = await work(observe, control, say[0])
            else:
                results = await run_batch(items, options, observe, control)
            # what is queued goes out, for one bounded time shared by every receiver
            closed = await asyncio.gather(*(r.close(delivery_grace_s) for r in receivers))
            for undelivered in closed:
                if undelivered is not None:
                    say[0](f"subtitler: {undelivered}")
        try:
            print_summary(console, results, reader_left=reader_left(view))
        except BrokenPipeError:  # stdout's reader left before the summary
            to_null(sys.stdout)
        counts = {
            "done": sum(r.status is Status.DONE for r in results),
            "failed": sum(r.status is Status.FAILED for r in results),
            "skipped": sum(r.status is Status.SKIPPED for r in results),
            "interrupted": sum(r.status is Status.INTERRUPTED for r in results),
        }
        if isinstance(view, JsonLinesView):
            view.summary(**counts)
        if server is not None:
            server.summary(**counts)
    fatal = control.fatal_error
    if fatal is not None and fatal.code == INVALID_KEY:
        errors.print(
            "subtitler: error: the service refused the API key (invalid key): check "
            "DASHSCOPE_API_KEY. Nothing more was sent; run again to resume.",
            markup=False,
        )
    elif fatal is not None:
        errors.print(f"subtitler: error: {fatal}", markup=False)
    return exit_status(
        failed=counts["failed"] > 0,
        key_refused=fatal is not None,
        stopped=control.stop_requested,
        resumable=any(isinstance(item, InputFile) and not item.live for item in items),
        watching=watching,
    )


def _main_view(
    console: Console,
    options: RunOptions,
    as_json: bool,
    interactive: bool,
    single: bool,
    inputs: int,
    on_output_closed: Callable[[], None],
) -> contextlib.AbstractContextManager[Callable[[Event], None]]:
    """What shows the run: JSON lines, the preview (one input on a terminal), the dashboard
    (several), or plain lines (a pipe)."""
    if as_json:
        from subtitler.views.jsonlines import JsonLinesView

        return contextlib.nullcontext(JsonLinesView(sys.stdout, on_output_closed))
    if interactive and single:
        from subtitler.views.preview import PreviewView

        return PreviewView(console, options.targets)
    if interactive:
        from subtitler.views.progress import ProgressView

        return ProgressView(console, inputs)
    from subtitler.views.lines import LinesView

    return contextlib.nullcontext(LinesView(sys.stdout, options.targets, on_output_closed))


def watch_children_without_threads(loop: asyncio.AbstractEventLoop) -> None:
    """Python 3.11 waits for each asyncio subprocess (every ffmpeg) on a thread of its own;
    a pidfd watcher waits on the loop instead (3.12 does this by itself). Process-wide, so
    set here and nowhere in the library."""
    if sys.version_info < (3, 12) and hasattr(os, "pidfd_open"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            watcher = asyncio.PidfdChildWatcher()
            watcher.attach_loop(loop)
            asyncio.set_child_watcher(watcher)


def _fan_out(*observers: Callable[[Event], None]) -> Callable[[Event], None]:
    """One observer that hands each event to every one given, in order."""

    def observe(event: Event) -> None:
        for observer in observers:
            observer(event)

    return observe


def keep_local_off_proxies(endpoint: str | None) -> None:
    """The SDK honours proxy variables; a loopback endpoint must never go through a proxy (the
    command line owns its process's environment; the library never changes it)."""
    if endpoint is None or urlparse(endpoint).hostname not in LOCAL_HOSTS:
        return
    for name in ("NO_PROXY", "no_proxy"):
        current = os.environ.get(name, "")
        if "127.0.0.1" not in current.split(","):
            os.environ[name] = ",".join(filter(None, [current, "127.0.0.1", "localhost", "::1"]))


def _same_file(first: TextIO, second: TextIO) -> bool:
    """Both streams end in one file or terminal (a run in a terminal, `2>&1`)."""
    try:
        return os.path.samestat(os.fstat(first.fileno()), os.fstat(second.fileno()))
    except (OSError, ValueError, io.UnsupportedOperation):
        return False
