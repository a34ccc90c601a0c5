"""The documentation: the site builds strictly (broken links and anchors fail), its reference is
generated from the code, the README stays short and its links resolve, and the terminal
pictures are made by the code."""

from __future__ import annotations

import argparse
import html
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from subtitler.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]


def hooks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs/hooks/reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return out


def page_text(site: Path, page: str) -> str:
    raw = (site / page / "index.html").read_text(encoding="utf-8")
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", raw)))


def test_every_option_of_every_subcommand_has_help() -> None:
    reference = hooks()
    missing = [
        f"{name} {action.option_strings or action.dest}"
        for name, command in reference.subcommands(build_parser())
        for _, action in reference.options_of(command)
        if not (action.help and action.help.strip()) or action.help == argparse.SUPPRESS
    ]
    assert not missing, missing


def test_the_reference_shows_every_option_with_its_help_and_default(site: Path) -> None:
    text = page_text(site, "cli")
    reference = hooks()
    for name, command in reference.subcommands(build_parser()):
        assert f"subtitler {name}" in text
        for _, action in reference.options_of(command):
            for option in action.option_strings:
                assert option in text, (name, option)
            words = " ".join((action.help or "").split())[:40]
            assert words in text, (name, action.dest, words)
            default = action.default
            if action.option_strings and action.nargs != 0 and default not in (None, [], ""):
                assert f"{default}" in text, (name, action.dest, default)


def test_the_api_page_has_the_functions_and_events_with_their_docstrings(site: Path) -> None:
    import subtitler.events as events
    from subtitler import api, options

    text = page_text(site, "api")
    documented = [api.subtitle, api.run, api.run_async, options.make_options]
    documented += [events.InputStarted, events.AudioProgress, events.PartialText]
    documented += [events.CueWritten, events.InputEnded, events.InputResult]
    for item in documented:
        assert item.__doc__ and not item.__doc__.startswith(item.__qualname__ + "("), item
        assert item.__qualname__ in text, item
        first = " ".join(item.__doc__.split())[:30].replace("`", "")
        assert first in text, (item, first)


def test_the_events_page_lists_every_event_of_the_schema(site: Path) -> None:
    import json

    schema = json.loads((ROOT / "subtitler/events.schema.json").read_text(encoding="utf-8"))
    text = page_text(site, "events")
    for variant in schema["oneOf"]:
        for field in variant["properties"]:
            assert field in text, field


def test_the_performance_page_reads_the_benchmark_results(site: Path) -> None:
    import json

    results = json.loads((ROOT / "benchmarks/results.json").read_text(encoding="utf-8"))
    text = page_text(site, "performance")
    assert f"{results['ratios']['cpu_vs_floor']:.2f}x" in text
    assert f"{results['subtitler']['cpu_s']:.2f}" in text
    long_run = json.loads((ROOT / "benchmarks/long_run_10h.json").read_text(encoding="utf-8"))
    assert long_run["command"] in text


def test_the_readme_is_short_starts_with_its_two_commands_and_links_resolve() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.encode("utf-8")) <= 12 * 1024
    blocks = re.findall(r"```sh\n(.*?)```", readme, re.S)
    assert "pip install -e . && subtitler demo" in blocks[0]
    assert "pip install -e '.[test]' && python -m pytest" in blocks[0]
    links = re.findall(r"\]\(([^)#]+)(#[^)]*)?\)", readme)
    into_docs = [target for target, _ in links if target.startswith("docs/")]
    assert len(into_docs) >= 8
    for target, _ in links:
        if not target.startswith(("http://", "https://")):
            assert (ROOT / target).exists(), target


def test_the_terminal_pictures_are_made_by_the_code(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts/make_terminal_pictures.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    texts = {}
    for name in ("dashboard", "preview", "summary"):
        svg = (tmp_path / f"{name}.svg").read_text(encoding="utf-8")
        found = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
        texts[name] = html.unescape(" ".join(found)).replace("\xa0", " ")
    assert "running " in texts["dashboard"] and "→" in texts["dashboard"]
    assert "Welcome to today's technology news." in texts["preview"]
    assert "3 done, 0 failed" in texts["summary"]
