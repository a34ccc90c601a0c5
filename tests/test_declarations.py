"""The one declaration of every run option: the parser, the job API's allow-list and
`make_options` agree with it."""

from __future__ import annotations

import argparse
import inspect

import pytest

from subtitler.cli import build_parser
from subtitler.declarations import (
    DECLARED,
    JOB_KEYWORDS,
    Kind,
    as_make_options,
    declared_for,
    job_keywords,
)
from subtitler.errors import UsageError
from subtitler.options import make_options

SERVE_OWN = {"api_key", "endpoint", "client", "jobs", "max_task_rate", "rules", "out_dir"}
"""What stays serve's: where the key is sent, how the account is paced, where files go."""


def _subparser(name: str) -> argparse.ArgumentParser:
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found: argparse.ArgumentParser = action.choices[name]
            return found
    raise AssertionError(name)


def test_every_make_options_keyword_is_declared_or_built_from_declared_ones() -> None:
    keywords = set(inspect.signature(make_options).parameters) - {"targets"}
    declared = {o.keyword for o in DECLARED if o.to_options}
    assert declared <= keywords | {"targets"}, declared - keywords
    assert keywords - declared == {"api_key", "rules"}  # the environment's; the rule options'


@pytest.mark.parametrize("command", ["run", "watch", "serve"])
def test_the_parser_has_exactly_the_declared_options(command: str) -> None:
    parser = _subparser(command)
    dests = {a.dest for a in parser._actions} - {"help"}
    own = {
        "run": set(),
        "watch": {"folders", "settle", "poll", "ignore"},
        "serve": {"host", "port", "api_token", "max_upload_mb", "library", "path_map",
                  "jellyfin", "emby", "plex", "webhook_events", "queue_file", "keep_jobs",
                  "max_job_kb", "max_job_paths", "allowed_host", "trusted_proxy"},
    }[command]  # fmt: skip
    assert dests - own == {o.keyword for o in declared_for(command)}


def test_the_job_allow_list_is_what_is_declared_job_settable() -> None:
    assert {o.keyword for o in DECLARED if o.job} == JOB_KEYWORDS
    assert not JOB_KEYWORDS & SERVE_OWN
    assert "targets" in JOB_KEYWORDS


@pytest.mark.parametrize("option", [o for o in DECLARED if not o.job], ids=lambda o: o.keyword)
def test_a_job_cannot_set_an_option_not_declared_job_settable(option: object) -> None:
    keyword = option.keyword  # type: ignore[attr-defined]
    with pytest.raises(UsageError) as raised:
        job_keywords({keyword: "x"})
    assert str(raised.value).startswith(f"{keyword}: ")


@pytest.mark.parametrize(
    ("payload", "said"),
    [
        ({"speed": "fast"}, "speed: 'fast' is not a positive number or max"),
        ({"targets": "ko"}, 'targets: must be a list of strings, e.g. ["en", "ja"]'),
        ({"targets": ["ko", 3]}, "targets: must be a list of strings"),
        ({"overwrite": "yes"}, "overwrite: must be true or false"),
        ({"audio_stream": 1.5}, "audio_stream: must be a whole number"),
        ({"audio_stream": True}, "audio_stream: must be a whole number"),
        ({"budget": "cheap"}, "budget: must be a number"),
        ({"layout": "stacked"}, "layout: must be one of bilingual, separate, both"),
        ({"shot_changes": "/etc/passwd"}, 'shot_changes: a job may ask for "detect"'),
        ({"colour": "red"}, "colour: not a job option"),
        ({"api_key": "sk-1"}, "api_key: set by serve's own options, not per job"),
        ({"targets": [""]}, "targets: must be a list of strings"),
        ({"endpoint": "ws://x"}, "endpoint: set by serve's own options, not per job"),
    ],
)
def test_job_values_are_checked_against_their_declaration(payload: dict, said: str) -> None:
    with pytest.raises(UsageError) as raised:
        job_keywords(payload)
    assert str(raised.value).startswith(said)


def test_job_values_of_the_right_kind_pass_as_make_options_takes_them() -> None:
    keywords = job_keywords(
        {"targets": ["ja"], "speed": "max", "budget": 2, "overwrite": True, "formats": ["srt"],
         "shot_changes": "detect", "paths": ["/a.mp4"]},
        extra=frozenset({"paths"}),
    )  # fmt: skip
    assert keywords["speed"] == "max"  # as given: the journal and GET /jobs show it so
    made = as_make_options(keywords)
    options = make_options(made.pop("targets"), api_key="k", **made)
    assert options.targets == ("ja",) and options.budget == 2 and options.speed is None


def test_every_kind_is_used() -> None:
    assert {o.kind for o in DECLARED} == set(Kind)
