"""Golden files: what a user sees (every command's --help, a run's tracks in every format, its JSON
events, the estimate, the exit codes) is byte-for-byte what it was, on both clients. A change
that means to alter them regenerates them (`SUBTITLER_UPDATE_GOLDEN=1 python -m pytest
tests/integration/test_golden.py`) and the diff is reviewed with the change.

Fields that measure the machine (`at`, latencies, wall times, request ids) are masked."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from subtitler.emulator.server import BackgroundEmulator
from tests import harness
from tests.integration.test_run import ROOT, run_cli
from tests.support import FIXTURES

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "cli"
UPDATE = os.environ.get("SUBTITLER_UPDATE_GOLDEN") == "1"
MEASURED = {"at", "latency_ms", "write_ms", "wall_s", "streaming_s", "request_id",
            "first_package_delay_ms", "last_package_delay_ms"}  # fmt: skip
DECODED = MEASURED | {"audio_ms", "sent_ms"}
"""In a run's events `audio_ms` counts the samples the decoder gave (32388 from ffmpeg 9.0,
32405 from 5.1 for the same file), and `sent_ms` (the speech gate's) follows it; the
estimate's is the listing's duration."""
COMMANDS = ("", "run", "watch", "serve", "check", "demo", "emulator", "vocabulary",
            "vocabulary list", "vocabulary show", "vocabulary create",
            "vocabulary delete")  # fmt: skip


def _compare(name: str, actual: str, folder: Path | None = None) -> None:
    if folder is not None:
        actual = actual.replace(str(folder), "<folder>")
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"{name} differs from its golden file"


def _masked(value: Any, measured: set[str] = MEASURED) -> Any:
    if isinstance(value, dict):
        return {k: ("*" if k in measured else _masked(v, measured)) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(item, measured) for item in value]
    return value


def _events(stdout: str) -> str:
    """The run's JSON lines without partials and progress (their count follows the machine)."""
    kept = []
    for line in stdout.splitlines():
        event = json.loads(line)
        if event["event"] not in ("partial", "progress"):
            kept.append(event)
    # targets run side by side: each target's events in their order, targets one after another
    phase = {"started": 0, "finished": 2, "summary": 3}
    kept.sort(key=lambda e: (phase.get(e["event"], 1), e.get("target") or ""))
    return "\n".join(json.dumps(_masked(e, DECODED), ensure_ascii=False) for e in kept) + "\n"


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.replace(" ", "-") or "top")
def test_help(command: str) -> None:
    result = subprocess.run(
        harness.command(*command.split(), "--help"),
        capture_output=True, text=True, env={**os.environ, "COLUMNS": "80"}, cwd=ROOT,
        timeout=60, check=True,
    )  # fmt: skip
    _compare(f"help-{command.replace(' ', '-') or 'top'}.txt", result.stdout)


def test_a_run_in_every_format(tmp_path: Path, emulator: BackgroundEmulator, client: str) -> None:
    shutil.copy(FIXTURES / "zh_news.mp4", tmp_path / "news.mp4")
    shutil.copy(FIXTURES / "en_late_audio.mp4", tmp_path / "talk.mp4")
    run = run_cli("run", tmp_path / "news.mp4", "-s", "zh", "-t", "en,ja", "--speed", "max",
                  "--format", "srt,vtt,ass,ttml,ebu-tt-d", "--json", "--client", client,
                  "--endpoint", emulator.url)  # fmt: skip
    assert run.returncode == 0, run.stderr
    _compare("run-news-events.jsonl", _events(run.stdout), tmp_path)
    talk = run_cli("run", tmp_path / "talk.mp4", "-s", "en", "-t", "zh", "--speed", "max",
                   "--layout", "separate", "--format", "srt,scc", "--timecode-start",
                   "01:00:00:00", "--json", "--client", client,
                   "--endpoint", emulator.url)  # fmt: skip
    assert talk.returncode == 0, talk.stderr
    _compare("run-talk-events.jsonl", _events(talk.stdout), tmp_path)
    for track in sorted(tmp_path.iterdir()):
        if track.suffix in (".srt", ".vtt", ".ass", ".ttml", ".xml", ".scc"):
            _compare(f"track-{track.name}", track.read_text(encoding="utf-8"), tmp_path)


def test_the_estimate_and_the_exit_codes(tmp_path: Path, emulator: BackgroundEmulator) -> None:
    shutil.copy(FIXTURES / "zh_news.mp4", tmp_path / "news.mp4")
    estimate = run_cli("run", tmp_path, "-s", "zh", "-t", "en,ja", "--estimate", "--json")
    assert estimate.returncode == 0
    lines = [json.loads(line) for line in estimate.stdout.splitlines()]
    for line in lines:
        line["input"] = Path(line["input"]).name if "input" in line else None
    _compare("estimate.jsonl", "\n".join(json.dumps(_masked(x)) for x in lines) + "\n")
    news, gone, nowhere = tmp_path / "news.mp4", tmp_path / "gone.mp4", "ws://127.0.0.1:9/"
    other = tmp_path / "other.mp4"  # no tracks yet: the run must reach the endpoint
    shutil.copy(news, other)
    codes = {
        "done": run_cli("run", news, "-s", "zh", "-t", "en", "--endpoint", emulator.url),
        "failed": run_cli("run", gone, "-t", "en", "--endpoint", emulator.url),
        "usage": run_cli("run", news, "-t", "xx"),
        "no endpoint": run_cli("run", other, "-s", "zh", "-t", "en", "--endpoint", nowhere),
    }
    _compare("exit-codes.json", json.dumps({k: v.returncode for k, v in codes.items()}) + "\n")
