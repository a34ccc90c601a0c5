"""The command line: parse options, hand them to the library, turn errors into exit codes.

The only module that prints usage or exits (see `exits` for the codes)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import resource
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from subtitler import __version__
from subtitler.errors import SubtitlerError, UsageError

if TYPE_CHECKING:
    from subtitler.outputs.delivery import Receiver

    OutputFactory = Callable[[Callable[[str], None]], Receiver]
    """A live output, made once the run's view says where its messages go."""
from subtitler.cli.exits import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="subtitler",
        description="Live bilingual subtitles (SRT + VTT) through DashScope Gummy.",
    )
    parser.add_argument("--version", action="version", version=f"subtitler {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    from subtitler.cli import check, demo, review, run, serve, watch
    from subtitler.emulator import command as emulator_command  # argparse only: light

    emulator = commands.add_parser(
        "emulator",
        help="run the Gummy-compatible local server (no key, no network)",
        description="Run the Gummy-compatible local server. Prints its WebSocket URL on one "
        "line when ready; point clients at it with DASHSCOPE_WEBSOCKET_BASE_URL=URL.",
    )
    emulator_command.add_arguments(emulator)
    emulator.set_defaults(handler=emulator_command.run)

    run.add_parser(commands)
    watch.add_parser(commands)
    serve.add_parser(commands)
    check.add_parser(commands)
    review.add_parser(commands)
    from subtitler.cli import vocabulary as vocabulary_command  # argparse only: light

    vocabulary = commands.add_parser(
        "vocabulary",
        help="the account's hot-word vocabularies: list, show, create from a glossary, delete",
        description="Manage DashScope hot-word vocabularies (the customization API) with run's "
        "service options; the key comes from DASHSCOPE_API_KEY. `create` takes a glossary CSV "
        "(text,weight,lang,target_lang,translation) and reuses a vocabulary with the same "
        "content; `show` prints one as such a CSV.",
    )
    vocabulary_command.add_arguments(vocabulary)
    vocabulary.set_defaults(handler=vocabulary_command.run)

    demo.add_parser(commands)
    return parser


def _settle_process() -> None:
    """What the command line (which owns its process, unlike the library) sets for it: the soft
    limit of open files up to the hard one (at most 65536). Each running input keeps its tracks,
    journal, connection and ffmpeg pipes open, and 1024 (a common default) is reached at about
    100 inputs at once."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def main(argv: Sequence[str] | None = None) -> int:
    # The SDK (--client sdk) logs every failure with a traceback; the tool reports errors itself.
    logging.getLogger("dashscope").setLevel(logging.CRITICAL)
    _settle_process()
    parser = build_parser()
    arguments = parser.parse_args(argv)
    try:
        status: int = arguments.handler(arguments)
    except UsageError as error:
        for line in str(error).splitlines():  # a glossary's problems: one line each
            print(f"subtitler: error: {line}", file=sys.stderr)
        return EXIT_USAGE
    except SubtitlerError as error:
        print(f"subtitler: {error}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return status
