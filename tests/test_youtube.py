"""YouTube's caption times, on values: the stream's timeline and the times of a post."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

from subtitler.events import CueWritten
from subtitler.layout.cues import Cue, CueText
from subtitler.outputs.captions import Caption, CaptionChoice
from subtitler.outputs.youtube import CaptionTimeline, post_times

T0_S = 1_800_000_000.0


def sentence(begin_ms: int, end_ms: int, path: str = "a.mp4") -> CueWritten:
    texts = (CueText("zh", ("你好。",)), CueText("en", ("Hello.",)))
    cues = (Cue(begin_ms, begin_ms + 500, texts), Cue(begin_ms + 500, end_ms, texts))
    return CueWritten(
        path=Path(path), target="en", sentence_id=1, transcript="你好。", translation="Hello.",
        cues=cues, begin_ms=begin_ms, end_ms=end_ms, latency_ms=300.0,
    )  # fmt: skip


def sent_at(speed: float, begin_ms: int, end_ms: int, path: str = "a.mp4") -> list[Caption]:
    """The captions of a sentence whose audio was sent from T0_S at `speed`."""
    ended_s = T0_S + end_ms / 1000 / speed
    choice = CaptionChoice.of("en", ("en",))
    return choice.captions(sentence(begin_ms, end_ms, path), now_s=ended_s + 0.3)


def times(timeline: CaptionTimeline, captions: list[Caption]) -> list[float]:
    return [round(timeline.place(caption).heard_at_s, 3) for caption in captions]


def test_a_caption_knows_its_media_time_and_where_the_media_began_being_sent() -> None:
    first, second = sent_at(1.0, 4000, 7000)
    assert (first.begin_ms, second.begin_ms) == (4000, 4500)
    assert first.media_origin_s == second.media_origin_s == T0_S  # the end sent at T0 + 7 s
    assert first.heard_at_s == T0_S + 4.0
    faster = sent_at(10.0, 4000, 7000)[0]  # the end sent at T0 + 0.7 s
    assert faster.media_origin_s == T0_S + 0.7 - 7.0


def test_at_10x_the_times_are_the_media_timeline_from_the_start_never_backwards() -> None:
    timeline = CaptionTimeline()
    timeline.started("a.mp4", now_s=T0_S, duration_ms=60_000, resumed_at_ms=None)
    placed: list[float] = []
    for begin_ms, end_ms in ((1000, 9000), (9500, 11000), (20_000, 40_000), (41_000, 42_000)):
        placed += times(timeline, sent_at(10.0, begin_ms, end_ms))
    media_s = [1.0, 1.5, 9.5, 10.0, 20.0, 20.5, 41.0, 41.5]
    assert placed == [T0_S + s for s in media_s]


def test_at_1x_the_times_are_when_the_speech_was_sent() -> None:
    timeline = CaptionTimeline()
    timeline.started("-", now_s=T0_S - 0.2, duration_ms=None, resumed_at_ms=None)
    assert times(timeline, sent_at(1.0, 2000, 5000, "-")) == [T0_S + 2.0, T0_S + 2.5]


def test_a_stalled_live_input_goes_on_from_when_it_is_heard_again() -> None:
    timeline = CaptionTimeline()
    timeline.started("-", now_s=T0_S, duration_ms=None, resumed_at_ms=None)
    assert times(timeline, sent_at(1.0, 2000, 5000, "-")) == [T0_S + 2.0, T0_S + 2.5]
    # the stream stopped for 30 s between the two sentences
    later = sent_at(1.0, 6000, 8000, "-")
    stalled = [replace(c, media_origin_s=c.media_origin_s + 30) for c in later]
    assert times(timeline, stalled) == [T0_S + 36.0, T0_S + 36.5]


def test_inputs_follow_one_another_on_the_timeline() -> None:
    timeline = CaptionTimeline()
    timeline.started("a.mp4", now_s=T0_S, duration_ms=30_000, resumed_at_ms=None)
    first = times(timeline, sent_at(10.0, 25_000, 29_000, "a.mp4"))
    timeline.ended("a.mp4")
    # b.mp4 starts 3.2 s later, its media time 0 placed where a.mp4's ends; resumed at 10 s
    timeline.started("b.mp4", now_s=T0_S + 3.2, duration_ms=20_000, resumed_at_ms=10_000)
    b_sent = sent_at(10.0, 12_000, 14_000, "b.mp4")
    b_captions = [replace(c, media_origin_s=T0_S + 3.2) for c in b_sent]
    second = times(timeline, b_captions)
    assert first == [T0_S + 25.0, T0_S + 25.5]
    assert second == [T0_S + 30.0 + 2.0, T0_S + 30.0 + 2.5]


def test_post_times_add_the_offset_and_never_go_back() -> None:
    captions = sent_at(1.0, 2000, 5000)
    assert post_times(captions, 30.0, -math.inf) == [T0_S + 32.0, T0_S + 32.5]
    # the clock's correction moved back by 1 s after the previous post, which ended at T0 + 33
    assert post_times(captions, 29.0, T0_S + 33.0) == [T0_S + 33.0, T0_S + 33.0]


def test_inputs_sent_at_once_share_the_clock() -> None:
    timeline = CaptionTimeline()
    timeline.started("a.mp4", now_s=T0_S, duration_ms=30_000, resumed_at_ms=None)
    timeline.started("b.mp4", now_s=T0_S + 0.1, duration_ms=20_000, resumed_at_ms=None)
    a = times(timeline, sent_at(10.0, 5000, 6000, "a.mp4"))
    b = [round(timeline.place(replace(c, media_origin_s=T0_S)).heard_at_s, 3)
         for c in sent_at(10.0, 5000, 6000, "b.mp4")]  # fmt: skip
    assert a == [T0_S + 5.0, T0_S + 5.5]
    assert b == [T0_S + 5.1, T0_S + 5.6]
