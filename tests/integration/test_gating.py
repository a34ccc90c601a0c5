"""The speech gate end to end: real ffmpeg, the real detector, both clients, the emulator with
the gating fixtures' sentences (fixtures/gating/, true speech times in their JSON). Non-speech
is not billed; every sentence the ungated run finds is found at the same time; a live input's
intermission is not sent and does not fail a task by the service's 23 s rule."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from subtitler.emulator.config import EmulatorConfig
from subtitler.emulator.server import BackgroundEmulator
from subtitler.sources.media import ffmpeg_executable
from tests import harness
from tests.support import FIXTURES, TEST_KEY

GATING = FIXTURES / "gating"
COMPOSITE = json.loads((GATING / "composite.json").read_text(encoding="utf-8"))
TOLERANCE_MS = 40
"""A sentence's times with the gate on against the ungated run's (the issue's bound)."""


@dataclass(frozen=True)
class Ran:
    cues: list[dict[str, Any]]
    finished: dict[str, Any]
    billed_s: int


@pytest.fixture(scope="module")
def gating_emulator() -> Iterator[BackgroundEmulator]:
    with BackgroundEmulator(EmulatorConfig(), script_directories=[GATING]) as running:
        yield running


def run_json(emulator: BackgroundEmulator, *args: str | Path, stdin: Path | None = None) -> Ran:
    """One run with --json; what the emulator billed for it."""
    before = emulator.server.stats.recognition_s
    command = harness.command("run", *args, "--endpoint", emulator.url, "--json")
    environment = harness.environment({"DASHSCOPE_API_KEY": TEST_KEY})
    with open(stdin, "rb") if stdin else open("/dev/null", "rb") as source:
        done = subprocess.run(command, stdin=source, capture_output=True, text=True,
                              env=environment, timeout=300, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    cues = [e for e in events if e["event"] == "cue" and not e["revised"]]
    (finished,) = [e for e in events if e["event"] == "finished"]
    return Ran(cues, finished, emulator.server.stats.recognition_s - before)


def speech(cue: dict[str, Any], truth: list[list[int]]) -> bool:
    return any(b < cue["end_ms"] and cue["begin_ms"] < e for b, e in truth)


@pytest.fixture(scope="module")
def composite_runs(
    gating_emulator: BackgroundEmulator, client: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Ran, Ran]:
    folder = tmp_path_factory.mktemp(f"gating-{client}")
    runs = []
    for vad in ("on", "off"):
        (folder / vad).mkdir()
        media = shutil.copy(GATING / "composite.m4a", folder / vad / "composite.m4a")
        runs.append(run_json(gating_emulator, media, "-s", "en", "-t", "zh", "--speed", "max",
                             "--client", client, "--vad", vad))  # fmt: skip
    return runs[0], runs[1]


def test_non_speech_is_not_billed(composite_runs: tuple[Ran, Ran]) -> None:
    gated, ungated = composite_runs
    speech_ms = sum(e - b for b, e in COMPOSITE["speech_ms"])
    assert speech_ms < COMPOSITE["duration_ms"] / 3
    assert gated.billed_s <= COMPOSITE["duration_ms"] / 1000 / 2
    assert ungated.billed_s >= COMPOSITE["duration_ms"] / 1000
    assert gated.finished["sent_ms"] / 1000 <= gated.billed_s  # the bill rounds each task up
    assert "sent_ms" not in ungated.finished  # --vad off says what it always said


def test_every_sentence_is_found_at_its_time(composite_runs: tuple[Ran, Ran]) -> None:
    gated, ungated = composite_runs
    truth = COMPOSITE["speech_ms"]
    spoken = [cue for cue in ungated.cues if speech(cue, truth)]
    assert len(spoken) >= len(COMPOSITE["sentences"]) - 1
    for cue in spoken:
        near = [c for c in gated.cues if abs(c["begin_ms"] - cue["begin_ms"]) <= TOLERANCE_MS]
        assert near, f"no gated cue at {cue['begin_ms']} ms ({cue['texts']})"
        assert abs(near[0]["end_ms"] - cue["end_ms"]) <= TOLERANCE_MS
        if "unknown audio" not in json.dumps(cue["texts"]):  # its number is the emulator's count
            assert near[0]["texts"] == cue["texts"]


def test_fewer_cues_over_non_speech(composite_runs: tuple[Ran, Ran]) -> None:
    gated, ungated = composite_runs
    truth = COMPOSITE["speech_ms"]
    junk = [cue for cue in gated.cues if not speech(cue, truth)]
    assert len(junk) < len([cue for cue in ungated.cues if not speech(cue, truth)])


def test_a_live_intermission_is_not_sent_and_fails_no_task(
    gating_emulator: BackgroundEmulator, client: str, tmp_path: Path
) -> None:
    """Speech, 30 s of silence, the same speech: from stdin at 1x."""
    talk = GATING / "speech_en.m4a"
    media = tmp_path / "intermission.wav"
    subprocess.run(
        [ffmpeg_executable(), "-v", "error", "-i", str(talk), "-f", "lavfi", "-t", "30",
         "-i", "anullsrc=r=16000:cl=mono", "-i", str(talk), "-filter_complex",
         "[0:a]aresample=16000,aformat=channel_layouts=mono[a];[2:a]aresample=16000,"
         "aformat=channel_layouts=mono[c];[a][1:a][c]concat=n=3:v=0:a=1", "-ac", "1",
         "-ar", "16000", str(media)],
        check=True,
    )  # fmt: skip
    common = ("-s", "en", "-t", "zh", "--client", client)
    reference = run_json(gating_emulator, media, *common, "--speed", "max", "--vad", "off",
                         "--out-dir", tmp_path / "file")  # fmt: skip
    failed_before = gating_emulator.server.stats.count("failed")
    started_before = gating_emulator.server.stats.count("started")
    live = run_json(gating_emulator, "-", *common, "--out-dir", tmp_path / "live", stdin=media)
    assert gating_emulator.server.stats.count("failed") == failed_before
    assert gating_emulator.server.stats.count("started") - started_before >= 2  # one per speech
    talk_s = json.loads((GATING / "speech_en.json").read_text())["duration_ms"] / 1000
    assert live.billed_s <= 2 * talk_s + 4  # the intermission was not sent
    assert len(live.cues) == len(reference.cues)
    for cue, expected in zip(live.cues, reference.cues, strict=True):
        assert cue["texts"] == expected["texts"]
        assert abs(cue["begin_ms"] - expected["begin_ms"]) <= TOLERANCE_MS
        assert abs(cue["end_ms"] - expected["end_ms"]) <= TOLERANCE_MS
