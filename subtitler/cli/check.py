"""`subtitler check`: subtitle files judged against the cue rules."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from subtitler.errors import UsageError
from subtitler.layout.rules import TimingRules

if TYPE_CHECKING:
    from subtitler.outputs.delivery import Receiver

    OutputFactory = Callable[[Callable[[str], None]], Receiver]
    """A live output, made once the run's view says where its messages go."""
from subtitler.cli.arguments import add_rule_options, rules_from_arguments
from subtitler.cli.exits import EXIT_FAILED, EXIT_OK


def _check_command(arguments: argparse.Namespace) -> int:
    import json

    from subtitler.check.lint import check_file

    rules = rules_from_arguments(arguments)
    if arguments.frame_rate:
        from subtitler.layout.frames import parse_frame_rate

        frames = parse_frame_rate(arguments.frame_rate)
        shots = None
        if arguments.shot_changes is not None:
            from subtitler.layout.shots import ShotRules, read_list

            try:
                shots = ShotRules(frames, read_list(arguments.shot_changes, frames))
            except (OSError, ValueError) as error:
                raise UsageError("--shot-changes", str(error)) from error
        timing = dataclasses.replace(rules.timing, frames=frames, shots=shots)
        rules = dataclasses.replace(rules, timing=timing)
    elif arguments.shot_changes is not None:
        raise UsageError("--shot-changes", "give --frame-rate too: shot changes are frames")
    reports = [check_file(path, rules) for path in arguments.files]
    violations = [v for report in reports for v in report.violations]
    errors = [report for report in reports if report.error]
    if arguments.json:
        document = {
            "files": [
                {"file": r.file, "cues": r.cues, "violations": len(r.violations), "error": r.error}
                for r in reports
            ],
            "violations": [v.as_dict() for v in violations],
            "total": len(violations),
        }
        print(json.dumps(document, ensure_ascii=False, indent=1))
    else:
        for report in reports:
            if report.error:
                print(f"{report.file}: {report.error}", file=sys.stderr)
            for violation in report.violations:
                print(violation.line())
        cues = sum(r.cues for r in reports)
        unreadable = f"; {len(errors)} not readable" if errors else ""
        print(
            f"{len(violations)} violations in {len(reports)} files ({cues} cues checked)"
            f"{unreadable}"
        )
    return EXIT_FAILED if violations or errors else EXIT_OK


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """check's arguments, and its handler."""
    check = commands.add_parser(
        "check",
        help="lint SRT, VTT, ASS, TTML and SCC files against the subtitle rules",
        description="Check SRT, VTT, ASS/SSA, TTML and SCC files (subtitler's or anyone's) against "
        "the cue rules (and TTML against IMSC 1.1 Text Profile): one line per violation "
        "(FILE:LINE: time: cue N: rule, measured value, limit), one line per file that cannot "
        "be read, and a count. Exit 1 when any rule is broken or any file unreadable.",
    )
    check.add_argument(
        "files", nargs="+", type=Path, metavar="FILE", help="subtitle files (by extension)"
    )
    check.add_argument("--json", action="store_true", help="one JSON document on stdout")
    check.add_argument(
        "--frame-rate",
        metavar="RATE",
        help="judge frames too: every time on a frame boundary at RATE (25, 23.976, 29.97), "
        "cues at least two frames apart (instead of --min-gap)",
    )
    check.add_argument(
        "--shot-changes",
        type=Path,
        metavar="FILE",
        help="judge cues against these shot changes (one time per line; needs --frame-rate): "
        "shot-in, shot-out",
    )
    add_rule_options(check, merging=False)
    check.set_defaults(handler=_check_command, merge_gap=TimingRules().merge_gap_ms)
