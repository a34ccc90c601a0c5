"""The command line: parse options, hand them to the library, turn errors into exit codes.

The only module that prints usage or exits. Exit status: 0 all good, 1 some input failed,
2 usage error (bad options or environment, reported before any work starts).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from subtitler import __version__
from subtitler.errors import SubtitlerError, UsageError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="subtitler",
        description="Live bilingual subtitles (SRT + VTT) through DashScope Gummy.",
    )
    parser.add_argument("--version", action="version", version=f"subtitler {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    from subtitler.emulator import command as emulator_command

    emulator = commands.add_parser(
        "emulator",
        help="run the Gummy-compatible local server (no key, no network)",
        description="Run the Gummy-compatible local server. Prints its WebSocket URL on one "
        "line when ready; point clients at it with DASHSCOPE_WEBSOCKET_BASE_URL=URL.",
    )
    emulator_command.add_arguments(emulator)
    emulator.set_defaults(handler=emulator_command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    arguments = parser.parse_args(argv)
    try:
        status: int = arguments.handler(arguments)
    except UsageError as error:
        print(f"subtitler: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except SubtitlerError as error:
        print(f"subtitler: {error}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130
    return status
