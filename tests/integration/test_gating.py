"""The speech gate end to end: real ffmpeg, the real detector, both clients, the emulator with
the gating fixtures' sentences (fixtures/gating/, true speech times in their JSON). Non-speech
is not billed; every sentence the ungated run finds is found at the same time; a live input's
intermission is not sent and does not fail a task by the service's 23 s rule."""

from __future__ import annotations

import contextlib
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
CLIENTS = ("native", "sdk")
TOLERANCE_MS = 40
"""A sentence's times with the gate on against the ungated run's (the issue's bound)."""


ON_TIME_S = 5.0
"""A live sentence's cue after its audio was played: the service's end silence and a loaded
machine's slack (the caption tests bound the latency itself)."""


@dataclass(frozen=True)
class Ran:
    cues: list[dict[str, Any]]
    finished: dict[str, Any]
    billed_s: int
    started_at: float = 0.0
    """The wall time of the run's first event."""


@dataclass
class Running:
    process: subprocess.Popen[str]
    billed_before_s: int


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


def start_json(emulator: BackgroundEmulator, *args: str | Path, stdin: Path) -> Running:
    """A run with --json started, reading `stdin`; `finish_json` waits for it."""
    command = harness.command("run", *args, "--endpoint", emulator.url, "--json")
    environment = harness.environment({"DASHSCOPE_API_KEY": TEST_KEY})
    with open(stdin, "rb") as source:
        process = subprocess.Popen(command, stdin=source, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, env=environment)  # fmt: skip
    return Running(process, emulator.server.stats.recognition_s)


def finish_json(running: Running, emulator: BackgroundEmulator) -> Ran:
    stdout, stderr = running.process.communicate(timeout=300)
    assert running.process.returncode == 0, stderr
    events = [json.loads(line) for line in stdout.splitlines()]
    cues = [e for e in events if e["event"] == "cue" and not e["revised"]]
    (finished,) = [e for e in events if e["event"] == "finished"]
    billed_s = emulator.server.stats.recognition_s - running.billed_before_s
    return Ran(cues, finished, billed_s, started_at=events[0]["at"])


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


INTERMISSION_S = 60
"""The issue's live case: a minute with nothing to hear, well past the service's 23 s rule."""


def test_a_live_intermission_is_not_sent_and_fails_no_task(tmp_path: Path) -> None:
    """Speech, 60 s of silence, the same speech, from stdin at 1x, on both clients at once (each
    against its own emulator, so each bill is its own): nothing sent during the silence, no
    task failed by the no-audio rule, every sentence after it at its time and on time."""
    talk = GATING / "speech_en.m4a"
    media = tmp_path / "intermission.wav"
    subprocess.run(
        [ffmpeg_executable(), "-v", "error", "-i", str(talk), "-f", "lavfi",
         "-t", str(INTERMISSION_S), "-i", "anullsrc=r=16000:cl=mono", "-i", str(talk),
         "-filter_complex",
         "[0:a]aresample=16000,aformat=channel_layouts=mono[a];[2:a]aresample=16000,"
         "aformat=channel_layouts=mono[c];[a][1:a][c]concat=n=3:v=0:a=1", "-ac", "1",
         "-ar", "16000", str(media)],
        check=True,
    )  # fmt: skip
    talk_ms = json.loads((GATING / "speech_en.json").read_text())["duration_ms"]
    with contextlib.ExitStack() as stack:
        emulators = {
            (client, kind): stack.enter_context(
                BackgroundEmulator(EmulatorConfig(), script_directories=[GATING])
            )
            for client in CLIENTS
            for kind in ("live", "file")
        }
        runs = {
            client: start_json(emulators[client, "live"], "-", "-s", "en", "-t", "zh",
                               "--client", client, "--out-dir", tmp_path / client, stdin=media)
            for client in CLIENTS
        }  # fmt: skip
        references = {  # the same audio as a file, ungated, meanwhile: what the live run must find
            client: run_json(emulators[client, "file"], media, "-s", "en", "-t", "zh",
                             "--client", client, "--speed", "max", "--vad", "off",
                             "--out-dir", tmp_path / f"{client}-file")
            for client in CLIENTS
        }  # fmt: skip
        for client in CLIENTS:
            emulator, reference = emulators[client, "live"], references[client]
            live = finish_json(runs[client], emulator)
            assert emulator.server.stats.count("failed") == 0, client
            assert emulator.server.stats.count("started") >= 2, client  # one per speech
            assert live.billed_s <= 2 * talk_ms / 1000 + 4, client  # the minute was not sent
            assert len(live.cues) == len(reference.cues) > 0, client
            for cue, expected in zip(live.cues, reference.cues, strict=True):
                assert cue["texts"] == expected["texts"], client
                assert abs(cue["begin_ms"] - expected["begin_ms"]) <= TOLERANCE_MS, client
                assert abs(cue["end_ms"] - expected["end_ms"]) <= TOLERANCE_MS, client
            after = [cue for cue in live.cues if cue["begin_ms"] >= talk_ms + INTERMISSION_S * 1000]
            assert after, client
            # On time: the first sentence after the minute is out within a few seconds of its
            # end being played (the run's first event is the start of its audio, give or take).
            late_s = after[0]["at"] - live.started_at - after[0]["end_ms"] / 1000
            assert late_s <= ON_TIME_S, (client, late_s)
