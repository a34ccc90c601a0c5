"""The command line: one module per command (its parser and its handler), `arguments` for the
options run, watch and serve share, `session` for a run's set-up and tear-down, `exits` for the
exit status."""

from subtitler.cli.app import build_parser, main

__all__ = ["build_parser", "main"]
