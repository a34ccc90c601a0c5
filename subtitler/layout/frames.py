"""Video frames as post-production counts them: cue times on frame boundaries, gaps and
durations in frames, and SMPTE timecode (drop-frame at 29.97 and 59.94).

Pure arithmetic on exact fractions: frame n starts at n / rate seconds. Times elsewhere in the
program are whole milliseconds, so a boundary is its time rounded to the millisecond, and a
time is on a boundary when it is within half a millisecond of one (what a reader of an SRT or
VTT file can check).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction

from subtitler.errors import UsageError

NAMED_RATES = {
    "23.976": Fraction(24000, 1001),
    "23.98": Fraction(24000, 1001),
    "29.97": Fraction(30000, 1001),
    "47.952": Fraction(48000, 1001),
    "59.94": Fraction(60000, 1001),
    "119.88": Fraction(120000, 1001),
}


@dataclass(frozen=True)
class FrameRate:
    rate: Fraction
    """Frames per second."""
    drop_frame: bool = False
    """Timecode counts drop-frame (29.97 and 59.94 only): a display convention, not timing."""

    @classmethod
    def of(cls, rate: Fraction) -> FrameRate:
        """A rate with the usual timecode: drop-frame for 29.97 and 59.94."""
        return cls(rate, rate in (Fraction(30000, 1001), Fraction(60000, 1001)))

    @property
    def nominal(self) -> int:
        """Frames counted per timecode second (30 for 29.97)."""
        return round(self.rate)

    def frame_at(self, ms: float) -> int:
        """The frame boundary nearest to `ms`."""
        return math.floor(Fraction(ms) * self.rate / 1000 + Fraction(1, 2))

    def frame_after(self, ms: int) -> int:
        """The first boundary at or after `ms`."""
        frame = self.frame_at(ms)
        return frame + 1 if self.ms(frame) < ms else frame

    def ms(self, frame: int) -> int:
        """Where frame `frame` starts, in whole milliseconds."""
        return math.floor(Fraction(frame) * 1000 / self.rate + Fraction(1, 2))

    def frames(self, duration_ms: float) -> Fraction:
        return Fraction(duration_ms) * self.rate / 1000

    def on_boundary(self, ms: int) -> bool:
        return self.ms(self.frame_at(ms)) == ms

    def timecode(self, frame: int) -> str:
        """SMPTE timecode of a frame count: `HH:MM:SS:FF`, or `HH:MM:SS;FF` drop-frame (frame
        numbers 0 and 1, or 0 to 3 at 59.94, skipped at each minute but every tenth)."""
        nominal = self.nominal
        if self.drop_frame:
            dropped = 2 * round(nominal / 30)
            per_ten_minutes = nominal * 600 - dropped * 9
            per_minute = nominal * 60 - dropped
            tens, rest = divmod(frame, per_ten_minutes)
            frame += dropped * 9 * tens
            if rest > dropped:
                frame += dropped * ((rest - dropped) // per_minute)
        frames = frame % nominal
        seconds = frame // nominal
        text = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
        return f"{text}{';' if self.drop_frame else ':'}{frames:02d}"

    def frame_of_timecode(self, timecode: str) -> int:
        """The frame count of `HH:MM:SS:FF` (`;` or `.` before FF: drop-frame counting)."""
        found = re.fullmatch(r"(\d{1,2}):(\d\d):(\d\d)([:;.,])(\d\d)", timecode.strip())
        if not found:
            raise ValueError(f"{timecode!r}: expected HH:MM:SS:FF")
        hours, minutes, seconds, mark, frames = found.groups()
        nominal = self.nominal
        if int(minutes) > 59 or int(seconds) > 59 or int(frames) >= nominal:
            raise ValueError(f"{timecode!r}: not a timecode at {float(self.rate):g} fps")
        total_minutes = int(hours) * 60 + int(minutes)
        count = (total_minutes * 60 + int(seconds)) * nominal + int(frames)
        if self.drop_frame or mark in ";.,":
            dropped = 2 * round(nominal / 30)
            count -= dropped * (total_minutes - total_minutes // 10)
        return count

    def __str__(self) -> str:
        value = self.rate
        shown = str(value.numerator) if value.denominator == 1 else f"{float(value):.3f}"
        return shown.rstrip("0").rstrip(".") if "." in shown else shown


def parse_frame_rate(text: str) -> FrameRate:
    """`24`, `25`, `23.976`, `29.97`, `59.94`, `30000/1001` (29.97 and 59.94 count drop-frame
    timecode)."""
    spec = text.strip().lower()
    try:
        if spec in NAMED_RATES:
            rate = NAMED_RATES[spec]
        elif "/" in spec:
            numerator, _, denominator = spec.partition("/")
            rate = Fraction(int(numerator), int(denominator))
        else:
            rate = Fraction(spec)
    except (ValueError, ZeroDivisionError) as error:
        raise UsageError(
            "--frame-rate", f"{text!r}: give auto, off or a rate (25, 29.97)"
        ) from error
    if not 1 <= rate <= 240:
        raise UsageError("--frame-rate", f"{text!r}: a rate from 1 to 240 frames per second")
    return FrameRate.of(rate)


def frame_grid(given: FrameRate | str, video_rate: Fraction | None) -> FrameRate | None:
    """The frame grid an input's cues fall on: `--frame-rate` as given, or (`auto`) the video's
    own rate; none for audio alone."""
    if isinstance(given, FrameRate):
        return given
    if given == "auto" and video_rate:
        return FrameRate.of(video_rate)
    return None


TIMECODE = re.compile(r"\d{1,2}:[0-5]\d:[0-5]\d[:;.,]\d\d")


def timecode_offset_ms(spec: str | None, frames: FrameRate | None, tag: str | None) -> int:
    """Where cue time 0 sits on the master's timecode (`--timecode-start`): None: 0; `auto`:
    the video's own timecode tag (0 without one); `HH:MM:SS:FF` (`;` drop-frame) on the input's
    frame grid. ValueError when frames are given and there is no grid to count them on."""
    chosen = tag if spec == "auto" else spec
    if not chosen:
        return 0
    if frames is not None:
        counted = FrameRate(frames.rate, frames.drop_frame or ";" in chosen)
        return counted.ms(counted.frame_of_timecode(chosen))
    hours, minutes, rest = chosen.split(":", 2)
    seconds, frame = rest[:2], rest[3:]
    if int(frame):
        raise ValueError(
            f"{chosen} counts frames, and this input has no frame rate to count them at "
            "(audio alone, or --frame-rate off): give --frame-rate"
        )
    return (int(hours) * 3600 + int(minutes) * 60 + int(seconds)) * 1000
