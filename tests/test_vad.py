"""The voice-activity detector on synthetic PCM whose speech times are known exactly."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from subtitler.emulator.vad import (
    SegmentClosed,
    SegmentGrew,
    SegmentOpened,
    VadOptions,
    VoiceActivityDetector,
    detect_segments,
)

RATE = 16000


def tone(ms: int, amplitude: float = 8000.0) -> np.ndarray:
    t = np.arange(ms * RATE // 1000) / RATE
    return amplitude * np.sin(2 * np.pi * 300 * t)


def silence(ms: int) -> np.ndarray:
    return np.zeros(ms * RATE // 1000)


def pcm(*parts: np.ndarray) -> bytes:
    return np.concatenate(parts).astype("<i2").tobytes()


def test_segments_are_timed_from_the_audio() -> None:
    audio = pcm(silence(500), tone(1200), silence(1000), tone(800), silence(900))
    segments = detect_segments(audio)
    assert [(s.begin_ms, s.end_ms) for s in segments] == [(500, 1700), (2700, 3500)]


def test_a_pause_shorter_than_max_end_silence_keeps_one_segment() -> None:
    audio = pcm(silence(300), tone(600), silence(500), tone(600), silence(800))
    assert [(s.begin_ms, s.end_ms) for s in detect_segments(audio)] == [(300, 2000)]
    shorter = VadOptions(max_end_silence_ms=400)
    assert len(detect_segments(audio, shorter)) == 2


def test_clicks_shorter_than_min_speech_open_nothing() -> None:
    audio = pcm(silence(300), tone(40), silence(800), tone(30), silence(800))
    assert detect_segments(audio) == []


def test_quiet_noise_is_not_speech() -> None:
    rng = np.random.default_rng(1)
    noise = rng.normal(0, 32768 * 10 ** (-60 / 20), size=RATE * 2)
    assert detect_segments(pcm(noise)) == []


def test_flush_closes_an_open_segment_at_its_last_speech() -> None:
    detector = VoiceActivityDetector()
    events = detector.feed(pcm(silence(200), tone(700)))
    assert isinstance(events[0], SegmentOpened) and events[0].begin_ms == 200
    assert isinstance(events[-1], SegmentGrew)
    closed = detector.flush()
    assert len(closed) == 1 and isinstance(closed[0], SegmentClosed)
    assert (closed[0].begin_ms, closed[0].end_ms) == (200, 900)


def test_long_speech_is_cut_at_max_segment() -> None:
    segments = detect_segments(pcm(tone(2500), silence(800)), VadOptions(max_segment_ms=1000))
    assert [s.end_ms - s.begin_ms for s in segments[:2]] == [1000, 1000]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=3200), min_size=1, max_size=40))
def test_chunking_never_changes_the_result(cuts: list[int]) -> None:
    audio = pcm(silence(250), tone(900), silence(800), tone(500), silence(750))
    expected = detect_segments(audio)
    detector = VoiceActivityDetector()
    events = []
    position = 0
    for cut in cuts:
        events += detector.feed(audio[position : position + cut])
        position += cut
    events += detector.feed(audio[position:]) + detector.flush()
    assert [e for e in events if isinstance(e, SegmentClosed)] == expected
