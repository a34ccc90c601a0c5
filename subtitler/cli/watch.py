"""`subtitler watch`: folders kept subtitled as files arrive."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from subtitler.errors import UsageError

if TYPE_CHECKING:
    from subtitler.engine.control import RunControl
    from subtitler.events import Event, InputResult
    from subtitler.outputs.delivery import Receiver

    OutputFactory = Callable[[Callable[[str], None]], Receiver]
    """A live output, made once the run's view says where its messages go."""
from subtitler.cli.arguments import add_run_options
from subtitler.cli.session import run_and_watch_settings, run_session


def _watch_command(arguments: argparse.Namespace) -> int:
    from subtitler.engine.watch import FolderWatcher, WatchOptions, roots_problem

    problem = roots_problem(arguments.folders)
    if problem is not None:
        raise UsageError("DIR", problem)
    if not arguments.settle >= 0 or (arguments.poll is not None and not arguments.poll > 0):
        raise UsageError("--settle/--poll", "must be 0 or more / more than 0 seconds")
    options, shard, serve = run_and_watch_settings(arguments)
    watch_options = WatchOptions(arguments.settle, arguments.poll, tuple(arguments.ignore))

    how = f"polling every {arguments.poll:g} s" if arguments.poll else "change notifications"
    folders = ", ".join(str(folder) for folder in arguments.folders)

    def work(
        observe: Callable[[Event], None], control: RunControl, say: Callable[[str], None]
    ) -> Awaitable[list[InputResult]]:
        def ready() -> None:
            say(f"subtitler: watching {folders} ({how}); Ctrl-C or SIGTERM stops")

        watcher = FolderWatcher(
            arguments.folders, options, watch_options, observe, control, shard, ready
        )
        return watcher.run()

    return asyncio.run(
        run_session([], options, arguments.json, False, serve, work=work, watching=True)
    )


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """watch's arguments, and its handler."""
    watch = commands.add_parser(
        "watch",
        usage="%(prog)s -t LANG[,LANG] [options] DIR [DIR ...]",  # the options: below
        help="keep folders subtitled: what is there, then each new or replaced media file",
        description="Subtitle the folders as run would (same skip and resume rules), then "
        "each new or replaced media file once it has stopped changing for --settle seconds, "
        "until SIGINT or SIGTERM (cues in progress finish; exit 0). Hidden files, tracks and "
        "partial downloads (.part, .!qB, .crdownload, .tmp, .partial) are left alone.",
    )
    watch.add_argument("folders", nargs="+", type=Path, metavar="DIR", help="folders to watch")
    watching = watch.add_argument_group("watching")
    watching.add_argument(
        "--settle",
        type=float,
        default=10.0,
        metavar="S",
        help="a file is taken once it has not changed for S seconds (default 10)",
    )
    watching.add_argument(
        "--poll",
        type=float,
        metavar="S",
        help="look for changes every S seconds instead of waiting for the system's "
        "notifications (network shares: NFS, SMB, FUSE)",
    )
    watching.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="GLOB",
        help="leave files whose name matches GLOB alone (repeatable)",
    )
    add_run_options(watch, "watch")
    watch.set_defaults(handler=_watch_command, device=[], paths=[])
