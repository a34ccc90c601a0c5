"""Frame-accurate timing: frame arithmetic and timecode (drop-frame included), the layout on a
frame grid for any sentences, and `check` judging frames."""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from subtitler.check.lint import check_file
from subtitler.errors import UsageError
from subtitler.layout.cues import SentenceText
from subtitler.layout.frames import FrameRate, frame_grid, parse_frame_rate
from subtitler.layout.rules import CueRules
from tests.test_cues import lay_out, sentences

NTSC = parse_frame_rate("29.97")
SRT = "1\n{} --> 00:00:03,003\nHello there.\n\n2\n{} --> 00:00:05,005\nGeneral Kenobi.\n"


def test_rates_parse_and_ntsc_ones_count_drop_frame() -> None:
    assert FrameRate(Fraction(30000, 1001), drop_frame=True) == NTSC
    assert parse_frame_rate("30000/1001") == NTSC
    assert parse_frame_rate("23.976") == FrameRate(Fraction(24000, 1001), drop_frame=False)
    assert parse_frame_rate("25") == FrameRate(Fraction(25), drop_frame=False)
    for bad in ("fast", "0", "1/0", "1000"):
        with pytest.raises(UsageError, match="--frame-rate"):
            parse_frame_rate(bad)


def test_boundaries_in_milliseconds() -> None:
    assert [NTSC.ms(n) for n in range(4)] == [0, 33, 67, 100]
    assert NTSC.frame_at(33) == 1 and NTSC.frame_at(50) == 1 and NTSC.frame_at(51) == 2
    assert NTSC.on_boundary(67) and not NTSC.on_boundary(66)
    assert NTSC.frame_after(34) == 2 and NTSC.frame_after(33) == 1
    assert NTSC.ms(107892) == 3_599_996  # 01:00:00;00 drop-frame: 3.6 ms short of an hour
    assert parse_frame_rate("25").ms(25) == 1000


@pytest.mark.parametrize(
    ("frame", "timecode"),
    [(0, "00:00:00;00"), (1799, "00:00:59;29"), (1800, "00:01:00;02"), (17982, "00:10:00;00"),
     (107892, "01:00:00;00"), (3597, "00:01:59;29"), (3598, "00:02:00;02")],
)  # fmt: skip
def test_drop_frame_timecode_skips_two_numbers_a_minute_but_every_tenth(
    frame: int, timecode: str
) -> None:
    assert NTSC.timecode(frame) == timecode
    assert NTSC.frame_of_timecode(timecode) == frame


def test_non_drop_timecode_and_its_errors() -> None:
    pal = parse_frame_rate("25")
    assert pal.timecode(90_000) == "01:00:00:00"
    assert pal.frame_of_timecode("01:00:00:00") == 90_000
    for bad in ("1:00:00", "01:00:00:25", "01:61:00:00"):
        with pytest.raises(ValueError):
            pal.frame_of_timecode(bad)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(sentences(), min_size=1, max_size=4),
    st.sampled_from(["23.976", "24", "25", "29.97", "50", "59.94", "10"]),
)
def test_any_sentences_on_a_frame_grid_keep_every_boundary_and_gap(
    drawn: list[tuple[SentenceText, str, str]], rate: str
) -> None:
    frames = parse_frame_rate(rate)
    rules = CueRules()
    rules = dataclasses.replace(rules, timing=dataclasses.replace(rules.timing, frames=frames))
    source, target = drawn[0][1], drawn[0][2]
    items, cursor = [], 0
    for item, item_source, _ in drawn:
        if item_source != source:
            continue
        shift = max(0, cursor - item.begin_ms)
        words = tuple(dataclasses.replace(w, begin_ms=w.begin_ms + shift, end_ms=w.end_ms + shift)
                      for w in item.words)  # fmt: skip
        items.append(dataclasses.replace(item, begin_ms=item.begin_ms + shift,
                                         end_ms=item.end_ms + shift, words=words))  # fmt: skip
        cursor = item.end_ms + shift + 700
    cues = lay_out(items, source, target, rules)
    shortest = frames.frames(rules.timing.min_duration_ms)
    for index, cue in enumerate(cues):
        assert frames.on_boundary(cue.begin_ms) and frames.on_boundary(cue.end_ms), cue
        length = frames.frame_at(cue.end_ms) - frames.frame_at(cue.begin_ms)
        assert length >= min(shortest - Fraction(1, 50), 1) or length >= 1
        assert cue.end_ms - cue.begin_ms <= rules.timing.max_duration_ms
        if index + 1 < len(cues):
            gap = frames.frame_at(cues[index + 1].begin_ms) - frames.frame_at(cue.end_ms)
            assert gap >= 2, (cue, cues[index + 1])


def test_check_judges_frames_when_told_the_rate(tmp_path: Path) -> None:
    good = tmp_path / "good.srt"
    good.write_text(SRT.format("00:00:01,001", "00:00:03,070"), encoding="utf-8")
    rules = CueRules()
    on_frames = dataclasses.replace(rules, timing=dataclasses.replace(rules.timing, frames=NTSC))
    assert check_file(good, on_frames).violations == ()
    broken = tmp_path / "broken.srt"
    broken.write_text(SRT.format("00:00:01,010", "00:00:03,036"), encoding="utf-8")
    found = [(v.cue, v.rule) for v in check_file(broken, on_frames).violations]
    assert found == [(1, "frame"), (1, "min-gap-frames")]
    in_ms = [(v.cue, v.rule) for v in check_file(broken, rules).violations]
    assert in_ms == [(1, "min-gap")]  # without a rate: milliseconds, no frame rule


def test_the_timecode_start_on_each_grid() -> None:
    from subtitler.layout.frames import timecode_offset_ms

    pal = parse_frame_rate("25")
    assert timecode_offset_ms(None, pal, "10:00:00:00") == 0
    assert timecode_offset_ms("01:00:00:00", pal, None) == 3_600_000
    assert timecode_offset_ms("01:00:00:12", pal, None) == 3_600_480
    assert timecode_offset_ms("auto", pal, "10:00:00:00") == 36_000_000
    assert timecode_offset_ms("auto", pal, None) == 0
    assert timecode_offset_ms("01:00:00;00", NTSC, None) == 3_599_996  # drop-frame counting
    assert timecode_offset_ms("01:00:00:00", parse_frame_rate("23.976"), None) == 3_603_600
    assert timecode_offset_ms("01:00:00:00", None, None) == 3_600_000  # audio: whole seconds
    with pytest.raises(ValueError, match="give --frame-rate"):
        timecode_offset_ms("01:00:00:05", None, None)


def test_the_frame_grid_is_the_rate_given_or_the_videos_own() -> None:
    given = FrameRate.of(Fraction(25))
    assert frame_grid(given, Fraction(24000, 1001)) is given
    assert frame_grid("auto", Fraction(24000, 1001)) == FrameRate.of(Fraction(24000, 1001))
    assert frame_grid("auto", None) is None  # audio alone: no grid
