"""Sentence -> bilingual cue: text cleaning, offsets, and timestamps."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from subtitler.cues import CueText, bilingual_cue, clean_line, srt_timestamp, vtt_timestamp


def test_transcript_over_translation_shifted_onto_the_media_timeline() -> None:
    cue = bilingual_cue(100, 900, "你好。", "Hello.", "zh", "en", offset_ms=2500)
    assert cue is not None
    assert (cue.begin_ms, cue.end_ms) == (2600, 3400)
    assert cue.texts == (CueText("zh", ("你好。",)), CueText("en", ("Hello.",)))


def test_nothing_to_show_gives_no_cue_and_a_repeat_is_shown_once() -> None:
    assert bilingual_cue(0, 10, "  ", "", None, "en") is None
    same = bilingual_cue(0, 10, "Hello.", "Hello.", None, "en")
    assert same is not None and same.lines == ("Hello.",)


def test_zero_length_sentences_still_last_a_millisecond() -> None:
    cue = bilingual_cue(500, 500, "a", "b", None, "en")
    assert cue is not None and cue.end_ms == 501


@given(st.text())
def test_clean_lines_never_break_a_cue(text: str) -> None:
    line = clean_line(text)
    assert "\n" not in line and "\r" not in line and "-->" not in line
    assert line == line.strip()


def test_timestamps() -> None:
    assert srt_timestamp(3_723_045) == "01:02:03,045"
    assert vtt_timestamp(3_723_045) == "01:02:03.045"
    assert srt_timestamp(-5) == "00:00:00,000"
