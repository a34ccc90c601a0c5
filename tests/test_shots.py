"""Shot-change rules on values, and the shot lists they read."""

from __future__ import annotations

from pathlib import Path

import pytest

from subtitler.layout.frames import parse_frame_rate
from subtitler.layout.shots import ShotRules, parse_scdet, problems, read_list

PAL = parse_frame_rate("25")  # half a second: 12 frames (12.5 rounded)


def rules(*changes: int) -> ShotRules:
    return ShotRules(PAL, tuple(changes))


def test_in_times_move_to_a_change_within_half_a_second_either_side() -> None:
    shots = rules(100)
    assert shots.window_frames == 12
    assert shots.in_time(94, floor=0) == 100  # just before a cut: start on it
    assert shots.in_time(106, floor=0) == 100  # just after: start on it, a little early
    assert shots.in_time(113, floor=0) == 113  # further: where the speech is
    assert shots.in_time(94, floor=101) == 94  # the previous cue's gap comes first


def test_out_times_end_two_frames_before_a_change_or_cross_it_by_half_a_second() -> None:
    shots = rules(100)
    assert shots.out_time(50, 92, shortest=21) == 98  # extended to 2 frames before the cut
    assert shots.out_time(50, 103, shortest=21) == 98  # crossing by 3 frames: pulled back
    assert shots.out_time(50, 130, shortest=21) == 130  # crossing well past: left alone
    assert shots.out_time(90, 103, shortest=21) == 112  # too short before it: crosses by 12
    assert shots.out_time(100, 105, shortest=21) == 105  # a cue that starts on the cut


def test_problems_name_the_rule_and_the_change() -> None:
    shots = rules(100)
    assert problems(PAL.ms(94), PAL.ms(140), shots) == [
        ("shot-in", "in-time 6 frames before the shot change at 00:00:04:00: start on it")
    ]
    assert problems(PAL.ms(60), PAL.ms(103), shots) == [
        ("shot-out", "crosses the shot change at 00:00:04:00 by 3 frames")
    ]
    assert problems(PAL.ms(60), PAL.ms(95), shots)[0][0] == "shot-out"
    assert problems(PAL.ms(100), PAL.ms(140), shots) == []
    assert problems(PAL.ms(60), PAL.ms(98), shots) == []


def test_lists_read_seconds_clocks_and_timecodes(tmp_path: Path) -> None:
    listing = tmp_path / "cuts.txt"
    listing.write_text("# cuts\n4\n00:00:08.040\n00:00:12:12  # a comment\n\n", encoding="utf-8")
    assert read_list(listing, PAL) == (100, 201, 312)
    listing.write_text("4\nsoon\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"cuts.txt:2: 'soon' is not a time"):
        read_list(listing, PAL)


def test_scdet_lines_become_frames() -> None:
    log = (
        "[Parsed_scdet_1 @ 0x1] lavfi.scd.score: 69.9, lavfi.scd.time: 1.04\n"
        "frame=  810 fps=0.0\n"
        "[Parsed_scdet_1 @ 0x1] lavfi.scd.score: 12, lavfi.scd.time: 16\n"
    )
    assert parse_scdet(log, PAL) == (26, 400)
