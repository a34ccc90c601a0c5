"""Shot changes and the Netflix guide's rules for timing cues to them (Subtitle Timing
Guidelines, section 2, written for 24 fps where half a second is 12 frames; other rates keep
half a second): a cue sits within its shots.

- An in-time within half a second of a shot change, before or after it, moves to the change.
- An out-time within half a second before a shot change is extended to two frames before it; one
  that would cross a change by less than half a second ends two frames before it instead, unless
  that makes the cue shorter than the minimum, when it crosses by half a second.

Pure: shot changes are frame numbers on the input's frame grid; `detect` is the ffmpeg side (the
`scdet` filter on a small scaled copy of the picture).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from subtitler.layout.frames import TIMECODE, FrameRate

_SCDET = re.compile(r"lavfi\.scd\.time:\s*(-?\d+(?:\.\d+)?)")
_SECONDS = re.compile(r"\d+(\.\d+)?")
_CLOCK = re.compile(r"(\d+):([0-5]\d):([0-5]\d(?:[.,]\d+)?)")
DEFAULT_THRESHOLD = 10.0
"""scdet's score (0-100) above which a frame starts a new shot (ffmpeg's default)."""


@dataclass(frozen=True)
class ShotRules:
    frames: FrameRate
    changes: tuple[int, ...]
    """Frames where a new shot starts, ascending."""
    gap_frames: int = 2

    @property
    def window_frames(self) -> int:
        """Half a second (12 frames at 24 fps)."""
        return max(1, round(self.frames.rate / 2))

    def near(self, frame: int) -> int | None:
        """The shot change nearest to `frame` within half a second, if any."""
        index = bisect.bisect_left(self.changes, frame)
        found = [self.changes[i] for i in (index - 1, index) if 0 <= i < len(self.changes)]
        close = [c for c in found if abs(c - frame) <= self.window_frames]
        return min(close, key=lambda c: (abs(c - frame), c)) if close else None

    def in_time(self, begin: int, floor: int) -> int:
        """The in-time moved to a change within half a second, when that keeps it at or
        after `floor` (the previous cue's end plus the gap)."""
        change = self.near(begin)
        return change if change is not None and change >= floor else begin

    def out_time(self, begin: int, end: int, shortest: int) -> int:
        """The out-time two frames before a change it is near, or half a second past one it
        would otherwise cross by a few frames."""
        change = self.near(end)
        if change is None or change <= begin:
            return end
        before = change - self.gap_frames
        if before - begin >= shortest:
            return before
        return max(end, change + self.window_frames)


def problems(begin_ms: int, end_ms: int, rules: ShotRules) -> list[tuple[str, str]]:
    """How a cue breaks the rules: (rule, what), rule `shot-in` or `shot-out`."""
    frames = rules.frames
    begin, end = frames.frame_at(begin_ms), frames.frame_at(end_ms)
    found = []
    change = rules.near(begin)
    if change is not None and change != begin:
        side = "after" if begin > change else "before"
        found.append(("shot-in", f"in-time {abs(begin - change)} frames {side} the shot change "
                                 f"at {frames.timecode(change)}: start on it"))  # fmt: skip
    change = rules.near(end)
    if change is not None and change > begin and end != change - rules.gap_frames:
        if end > change:
            what = f"crosses the shot change at {frames.timecode(change)} by {end - change} frames"
        else:
            what = (f"out-time {change - end} frames before the shot change at "
                    f"{frames.timecode(change)}: end 2 frames before it")  # fmt: skip
        found.append(("shot-out", what))
    return found


def parse_scdet(log: str, frames: FrameRate) -> tuple[int, ...]:
    """Shot changes from ffmpeg's `scdet` log lines (`lavfi.scd.time: 12.5`)."""
    found = {frames.frame_at(float(match.group(1)) * 1000) for match in _SCDET.finditer(log)}
    return tuple(sorted(change for change in found if change > 0))


def read_list(path: Path, frames: FrameRate) -> tuple[int, ...]:
    """A shot-change list: one time per line, seconds (`12.5`), a clock (`00:00:12.500`) or a
    timecode (`00:00:12:12`, `;` drop-frame); `#` starts a comment. ValueError naming the
    line of the first entry it cannot read."""
    changes = set()
    for number, raw in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        text = raw.split("#", 1)[0].strip()
        if not text:
            continue
        if _SECONDS.fullmatch(text):
            changes.add(frames.frame_at(float(text) * 1000))
        elif TIMECODE.fullmatch(text):
            changes.add(frames.frame_of_timecode(text))
        elif clock := _CLOCK.fullmatch(text):
            hours, minutes, seconds = clock.groups()
            total_s = int(hours) * 3600 + int(minutes) * 60 + float(seconds.replace(",", "."))
            changes.add(frames.frame_at(total_s * 1000))
        else:
            raise ValueError(f"{path}:{number}: {text!r} is not a time (12.5, 00:00:12.500 "
                             "or 00:00:12:12)")  # fmt: skip
    return tuple(sorted(changes))


def as_frames(times_ms: Sequence[int], frames: FrameRate) -> tuple[int, ...]:
    return tuple(sorted({frames.frame_at(ms) for ms in times_ms}))
