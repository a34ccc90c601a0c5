"""The options run, watch and serve share, as argparse arguments made from their one declaration
(`subtitler.declarations`), and the run options built from the parsed arguments (through
`make_options`, the constructor the Python API uses)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from subtitler.declarations import RULES, Declared, Kind, declared_for
from subtitler.errors import UsageError
from subtitler.layout.rules import CueRules, TimingRules, parse_language_limits, with_max_lines
from subtitler.options import RunOptions, make_options

_TYPES: dict[Kind, Any] = {Kind.INTEGER: int, Kind.NUMBER: float, Kind.PATH: Path}


def add_run_options(parser: argparse.ArgumentParser, command: str) -> None:
    """The declared options `command` (run, watch or serve) has, in their groups, in the
    declaration's order; serve's are the defaults of its jobs and webhooks."""
    groups: dict[str, argparse._ArgumentGroup] = {}
    for option in declared_for(command):
        if option.group not in groups:
            groups[option.group] = parser.add_argument_group(option.group)
        add_argument(groups[option.group], option, command)


def add_rule_options(parser: argparse.ArgumentParser, merging: bool = True) -> None:
    """The cue rules alone (check); `merging` (how cues are made, not checked) for the
    commands that make them."""
    group = parser.add_argument_group(RULES)
    for option in declared_for("run"):
        if option.group == RULES and (merging or option.keyword != "merge_gap"):
            add_argument(group, option, "check")


def add_argument(group: argparse._ActionsContainer, option: Declared, command: str) -> None:
    """One declared option as argparse takes it."""
    settings: dict[str, Any] = {"help": option.help}
    if command == "serve":
        settings["help"] += option.serve_help
    if option.metavar is not None:
        settings["metavar"] = option.metavar
    if option.flags[0].startswith("-"):
        settings["dest"] = option.keyword
    if option.kind is Kind.FLAG:
        settings["action"] = "store_true"
    elif option.kind is Kind.SWITCH:
        settings.update(action=argparse.BooleanOptionalAction, default=None)
    elif option.kind is Kind.REPEATED:
        settings.update(action="append", default=[])
    elif option.kind is Kind.LIST and not option.flags[0].startswith("-"):
        settings["nargs"] = "*"
    elif option.kind is Kind.OPTIONAL_VALUE:
        settings.update(nargs="?", const=option.const)
    elif option.kind in _TYPES and not option.text_on_command_line:
        settings["type"] = _TYPES[option.kind]
    if option.choices:
        settings["choices"] = list(option.choices)
    if command in option.required_in:
        settings["required"] = True
    if option.default is not None and "default" not in settings and option.kind is not Kind.FLAG:
        settings["default"] = option.default
    group.add_argument(*option.flags, **settings)


def rules_from_arguments(arguments: argparse.Namespace) -> CueRules:
    for name in ("min_duration", "max_duration", "min_gap", "merge_gap"):
        if getattr(arguments, name) < 0:
            raise UsageError(f"--{name.replace('_', '-')}", "must be 0 or more")
    if arguments.max_duration <= arguments.min_duration:
        raise UsageError("--max-duration", "must be longer than --min-duration")
    rules = CueRules(
        timing=TimingRules(
            min_duration_ms=arguments.min_duration,
            max_duration_ms=arguments.max_duration,
            min_gap_ms=arguments.min_gap,
            merge_gap_ms=arguments.merge_gap,
        )
    )
    if arguments.max_chars:
        rules = parse_language_limits(arguments.max_chars, rules, "max_line_chars", "--max-chars")
    if arguments.max_cps:
        rules = parse_language_limits(arguments.max_cps, rules, "max_cps", "--max-cps")
    if arguments.max_lines is not None:
        if arguments.max_lines < 1:
            raise UsageError("--max-lines", "must be at least 1")
        rules = with_max_lines(rules, arguments.max_lines)  # every language's, the default's too
    return rules


def options_from_arguments(arguments: argparse.Namespace) -> RunOptions:
    """The run options through the constructor the Python API uses."""
    from subtitler.languages import parse_targets

    return make_options(parse_targets(arguments.targets), **option_keywords(arguments))


def option_keywords(arguments: argparse.Namespace) -> dict[str, Any]:
    """`make_options` keywords from run's, watch's or serve's arguments (serve's are the
    defaults its jobs' own keywords go over); what a command lacks keeps its default."""
    keywords: dict[str, Any] = {}
    for option in declared_for(arguments.command):
        if not option.to_options or option.keyword == "targets":
            continue
        value = getattr(arguments, option.keyword)
        if option.parse is not None and value is not None:
            value = option.parse(value)
        keywords[option.keyword] = value
    estimating = getattr(arguments, "estimate", False)
    keywords["api_key"] = "unused: --estimate makes no service call" if estimating else None
    keywords["rules"] = rules_from_arguments(arguments)
    return keywords
