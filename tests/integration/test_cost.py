"""`--estimate` and `--budget` through the real CLI: what a run would bill, with no service
call, and a run that stops starting inputs at its budget."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pytest

from subtitler.emulator.server import BackgroundEmulator
from tests.integration.test_run import run_cli
from tests.support import FIXTURES

PRICE = 0.00015


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    media = tmp_path / "media"
    media.mkdir()
    shutil.copy(FIXTURES / "zh_news.mp4", media / "a news.mp4")
    shutil.copy(FIXTURES / "zh_podcast.mp3", media / "b podcast.mp3")
    return media


def test_estimate_prints_durations_and_costs_without_connecting(folder: Path) -> None:
    nowhere = f"ws://127.0.0.1:{closed_port()}/api-ws/v1/inference"
    result = run_cli(
        "run",
        folder,
        "-t",
        "en,ja",
        "--estimate",
        "--json",
        "--endpoint",
        nowhere,
        env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip  (no key either)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    estimates = {Path(e["input"]).name: e for e in events if e["event"] == "estimate"}
    assert set(estimates) == {"a news.mp4", "b podcast.mp3"}
    news = estimates["a news.mp4"]
    assert abs(news["audio_ms"] - 32400) <= 50
    # One task recognises for the input, each target's task translates.
    assert news["recognition_s"] == pytest.approx(news["audio_ms"] / 1000)
    assert news["translation_s"] == pytest.approx(2 * news["audio_ms"] / 1000)
    assert news["cost"] == pytest.approx(3 * news["audio_ms"] / 1000 * PRICE, rel=1e-3)
    (summary,) = [e for e in events if e["event"] == "summary"]
    assert summary["cost"] == pytest.approx(sum(e["cost"] for e in estimates.values()), rel=1e-3)
    assert summary["currency"] == "CNY"
    assert not list(folder.glob("*.srt")) and not list(folder.glob(".*"))


def test_what_exists_costs_nothing_and_a_budget_stops_starting_inputs(
    folder: Path, emulator: BackgroundEmulator, client: str
) -> None:
    common = ("-s", "zh", "--speed", "max", "--jobs", "1", "--endpoint", emulator.url,
              "--client", client)  # fmt: skip
    news_cost = 2 * 32.4 * PRICE  # one target: recognition and translation
    budget = f"{news_cost * 1.2:.6f}"  # room for the news clip, not for the podcast after it
    ran = run_cli("run", folder, "-t", "en", "--budget", budget, *common)
    assert ran.returncode == 0, ran.stderr
    assert "[a news.mp4] Translation completed" in ran.stdout
    assert "[b podcast.mp3] Skipped: over budget: its estimate is 0.0070 CNY" in ran.stdout
    assert not list(folder.glob("b podcast.*.srt"))
    again = run_cli("run", folder, "-t", "en", "--estimate", "--json", *common)
    estimates = {Path(e["input"]).name: e for e in map(json.loads, again.stdout.splitlines())
                 if e["event"] == "estimate"}  # fmt: skip
    assert estimates["a news.mp4"]["cost"] == 0, "its tracks exist: nothing to bill"
    assert estimates["b podcast.mp3"]["cost"] > 0
    added = run_cli("run", folder, "-t", "en,ja", "--estimate", "--json", *common)
    news = next(e for e in map(json.loads, added.stdout.splitlines())
                if e["event"] == "estimate" and Path(e["input"]).name == "a news.mp4")  # fmt: skip
    # Its transcript is journaled: adding ja costs translation only.
    assert news["recognition_s"] == 0 and news["translation_s"] == pytest.approx(32.4, abs=0.1)
