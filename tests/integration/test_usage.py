"""What the command line refuses before any work, and what it says once: found on main by trying it
as a new user would (issue 31: items 5, 6, 10, 16)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from subtitler.emulator.server import BackgroundEmulator
from tests import harness
from tests.integration.test_run import ROOT, run_cli
from tests.support import FIXTURES


def _news(folder: Path, name: str = "News.mp4") -> Path:
    media = folder / name
    shutil.copy(FIXTURES / "zh_news.mp4", media)
    return media


def test_a_caption_language_the_run_does_not_produce_is_a_usage_error(tmp_path: Path) -> None:
    media = _news(tmp_path)
    text = tmp_path / "captions.txt"
    for source in ("auto", "zh"):
        run = run_cli("run", media, "-s", source, "-t", "en", "--text-file", text,
                      "--caption-language", "fr", "--endpoint", "ws://127.0.0.1:9/")  # fmt: skip
        assert run.returncode == 2, run.stderr
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("subtitler: error: --caption-language: fr")
        assert "this run does not produce it" in lines[0]
    assert not text.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["News.mp4"]


def test_source_names_the_transcript_with_auto_and_obs_refuses_it(tmp_path: Path) -> None:
    media = _news(tmp_path)
    run = run_cli("run", media, "-t", "en", "--obs-websocket", "ws://127.0.0.1:9",
                  "--caption-language", "source", "--endpoint", "ws://127.0.0.1:9/")  # fmt: skip
    assert run.returncode == 2
    assert "--caption-language source with -s auto: CEA-608 carries Latin script" in run.stderr
    both_zh = run_cli("run", media, "-s", "en", "-t", "zh", "--obs-websocket", "ws://127.0.0.1:9",
                      "--caption-language", "both", "--endpoint", "ws://127.0.0.1:9/")  # fmt: skip
    assert both_zh.returncode == 2
    assert "zh: CEA-608 (OBS stream captions) carries Latin script only" in both_zh.stderr


def test_a_caption_language_without_a_live_output_says_it_has_no_effect(tmp_path: Path) -> None:
    run = run_cli("run", tmp_path / "missing.mp4", "-t", "en", "--caption-language", "zh",
                  "--endpoint", "ws://127.0.0.1:9/")  # fmt: skip
    assert "subtitler: note: --caption-language has no effect without a live output" in run.stderr


def test_the_estimate_does_not_price_what_skip_subtitled_skips(tmp_path: Path) -> None:
    media = _news(tmp_path)
    _news(tmp_path, "Other.mp4")
    (tmp_path / "News.en.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nHi\n", "utf-8")
    run = run_cli("run", tmp_path, "-s", "zh", "-t", "en", "--skip-subtitled", "--estimate",
                  "--json")  # fmt: skip
    assert run.returncode == 0, run.stderr
    events = [json.loads(line) for line in run.stdout.splitlines()]
    skipped = [e for e in events if e["event"] == "skipped"]
    priced = [e for e in events if e["event"] == "estimate"]
    assert [Path(e["input"]).name for e in skipped] == [media.name]
    assert skipped[0]["reason"].endswith("has en subtitles: News.en.srt")
    assert [Path(e["input"]).name for e in priced] == ["Other.mp4"]
    summary = events[-1]
    assert summary["event"] == "summary" and summary["audio_ms"] == priced[0]["audio_ms"]
    without = run_cli("run", tmp_path, "-s", "zh", "-t", "en", "--estimate", "--json")
    assert sum(json.loads(line)["event"] == "estimate" for line in without.stdout.splitlines()) == 2


def test_output_paths_are_checked_before_any_work(tmp_path: Path) -> None:
    media = _news(tmp_path)
    a_file = tmp_path / "a-file"
    a_file.write_text("", "utf-8")
    cases = [
        (["--text-file", tmp_path / "no" / "dir" / "c.txt"], "--text-file", "does not exist"),
        (["--text-file", tmp_path], "--text-file", "is a folder"),
        (["--hls", a_file / "hls"], "--hls", "cannot create it"),
        (["--hls", a_file], "--hls", "not a folder"),
        (["-o", a_file / "tracks"], "--out-dir", "cannot create it"),
        (["--hls", "/proc/subtitler-hls"], "--hls", "cannot create it"),
    ]
    for extra, option, why in cases:
        run = run_cli("run", media, "-s", "zh", "-t", "en", *extra,
                      "--endpoint", "ws://127.0.0.1:9/")  # fmt: skip
        lines = run.stderr.strip().splitlines()
        assert run.returncode == 2, (extra, run.stderr)
        assert len(lines) == 1 and lines[0].startswith(f"subtitler: error: {option}: "), lines
        assert why in lines[0] and "Traceback" not in run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["News.mp4", "a-file"]


def test_a_rule_option_error_names_its_option() -> None:
    for option in ("--max-cps", "--max-chars"):
        run = run_cli("run", "x.mp4", "-t", "en", option, "en=abc")
        assert run.returncode == 2
        assert run.stderr.strip() == f"subtitler: error: {option}: en=abc: 'abc' is not a " \
            "positive number"  # fmt: skip


def test_a_missing_input_is_said_once_where_both_streams_meet(
    tmp_path: Path, emulator: BackgroundEmulator
) -> None:
    result = subprocess.run(
        harness.command("run", str(tmp_path / "gone.mp4"), "-t", "en",
         "--endpoint", emulator.url),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stdout.count("no such file or folder") == 2  # the line, and the summary's note
    assert (
        result.stdout.count("gone.mp4: no such file")
        + result.stdout.count("gone.mp4] Failed: no such file")
        == 1
    )
    apart = run_cli("run", tmp_path / "gone.mp4", "-t", "en", "--endpoint", emulator.url)
    assert apart.stderr.count("gone.mp4: no such file or folder") == 1  # a script's stderr


def test_help_fits_80_columns() -> None:
    environment = {**os.environ, "COLUMNS": "80"}
    for command in ("run", "watch", "serve", "check", "demo", "emulator", "vocabulary"):
        result = subprocess.run(
            harness.command(command, "--help"),
            capture_output=True, text=True, env=environment, cwd=ROOT, timeout=60, check=True,
        )  # fmt: skip
        wide = [line for line in result.stdout.splitlines() if len(line) > 80]
        assert not wide, (command, wide)
    run_help = subprocess.run(
        harness.command("run", "--help"),
        capture_output=True, text=True, env=environment, cwd=ROOT, timeout=60, check=True,
    ).stdout  # fmt: skip
    assert len(run_help.splitlines()) < 180


def test_the_emulator_refuses_a_negative_task_rate_in_one_line() -> None:
    run = run_cli("emulator", "--max-task-rate", "-1")
    assert run.returncode == 2, run.stderr
    assert run.stderr.strip() == "subtitler: error: --max-task-rate: must be 0 (no limit) or more"
