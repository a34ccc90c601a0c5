"""The speech gate's pure side: the detector's per-window decisions -> the stretches of
non-speech not sent, and per task the map from the time the service hears back to stream time.

The service bills every second it receives and answers music with text, so long non-speech is
not sent. Around speech some real audio is kept (`keep_after_ms` after it, long enough for the
service to hear the pause it ends a sentence on; `keep_before_ms` before it), and a stretch is
only decided once the detector has seen `keep_before_ms` past it: audio is sent only up to
`decided_ms`. A task's stream skips the stretches; its `TimeMap` puts every time the service
reports back on the stream's timeline.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Stretch:
    """Stream time not sent: [begin_ms, end_ms)."""

    begin_ms: int
    end_ms: int

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.begin_ms


@dataclass(frozen=True, kw_only=True)
class GateRules:
    """How decisions become stretches."""

    window_ms: int
    """The detector's decision step."""
    min_gap_ms: int
    """Non-speech shorter than this is sent anyway."""
    keep_before_ms: int
    """Real audio kept before speech (the lookahead sending waits for)."""
    keep_after_ms: int
    """Real audio kept after speech: the service ends a sentence on the pause it hears."""


class SpeechGate:
    """One input's stretches not sent, from the detector's decisions in order from `origin_ms`
    (where decoding started). Non-speech at the very start keeps nothing before it is skipped
    (no speech to end), and at the end nothing after it (no speech to come)."""

    def __init__(self, *, origin_ms: int, rules: GateRules) -> None:
        self.rules = rules
        self._origin_ms = origin_ms
        self._frontier_ms = origin_ms
        """Every window before this has a decision."""
        self._run_begin_ms: int | None = origin_ms
        """Where the current non-speech began (None while in speech); optimistically the start,
        so that nothing is sent before the first decision."""
        self._leading = True
        self._speech_seen = False
        self._stretches: list[Stretch] = []
        self._begins: list[int] = []
        self._ended = False

    @property
    def stretches(self) -> tuple[Stretch, ...]:
        """The stretches decided whole (not the one still growing)."""
        return tuple(self._stretches)

    @property
    def ended(self) -> bool:
        return self._ended

    def add(self, decisions: list[bool]) -> None:
        """The next windows' decisions (True: speech)."""
        window_ms = self.rules.window_ms
        for speech in decisions:
            if speech:
                if self._run_begin_ms is not None:
                    self._close_run(self._frontier_ms, speech_follows=True)
                self._speech_seen = True
            elif self._run_begin_ms is None:
                self._run_begin_ms = self._frontier_ms
            self._frontier_ms += window_ms

    def close(self, end_ms: int) -> None:
        """The audio ends at `end_ms`: what is left of the last window goes with it."""
        if self._ended:
            return
        end_ms = max(end_ms, self._origin_ms)
        if self._run_begin_ms is not None:
            self._close_run(end_ms, speech_follows=False)
        self._frontier_ms = max(self._frontier_ms, end_ms)
        self._ended = True

    @property
    def decided_ms(self) -> int:
        """Stream time up to which every millisecond is known to be sent or skipped."""
        if self._ended or self._run_begin_ms is None:
            return self._frontier_ms
        decided = min(self._frontier_ms, self._skip_begin_ms(self._run_begin_ms))
        growing = self._growing()
        if growing is not None:
            decided = max(decided, growing.end_ms)
        return decided

    @property
    def skipping(self) -> bool:
        """Non-speech long enough to skip is going on: nothing is being sent."""
        return not self._ended and self._growing() is not None

    def span(self, from_ms: int) -> tuple[int, int]:
        """The next audio to send at or after `from_ms`: [begin, end), empty (begin == end)
        when none is decided yet."""
        position = from_ms
        index = bisect.bisect_right(self._begins, position) - 1
        if index >= 0 and position < self._stretches[index].end_ms:
            position = self._stretches[index].end_ms
        growing = self._growing()
        if growing is not None and growing.begin_ms <= position < growing.end_ms:
            position = growing.end_ms
        end = self.decided_ms
        following = bisect.bisect_right(self._begins, position)
        if following < len(self._begins):
            end = min(end, self._begins[following])
        if growing is not None and growing.begin_ms > position:
            end = min(end, growing.begin_ms)
        return position, max(position, end)

    def skipped_between(self, begin_ms: int, end_ms: int) -> int:
        """How much of [begin_ms, end_ms) is in a decided stretch."""
        total = 0
        growing = self._growing()
        for stretch in [*self._stretches, *([growing] if growing else [])]:
            total += max(0, min(end_ms, stretch.end_ms) - max(begin_ms, stretch.begin_ms))
        return total

    def _skip_begin_ms(self, run_begin_ms: int) -> int:
        at_start = self._leading and not self._speech_seen
        return run_begin_ms if at_start else run_begin_ms + self.rules.keep_after_ms

    def _growing(self) -> Stretch | None:
        """The stretch of the non-speech still going on, as far as it is decided."""
        begin = self._run_begin_ms
        if begin is None or self._frontier_ms - begin < self.rules.min_gap_ms:
            return None
        skip_begin = self._skip_begin_ms(begin)
        skip_end = self._frontier_ms - self.rules.keep_before_ms
        return Stretch(begin_ms=skip_begin, end_ms=skip_end) if skip_end > skip_begin else None

    def _close_run(self, end_ms: int, *, speech_follows: bool) -> None:
        begin = self._run_begin_ms
        assert begin is not None
        self._run_begin_ms = None
        if end_ms - begin >= self.rules.min_gap_ms:
            skip_begin = self._skip_begin_ms(begin)
            skip_end = end_ms - (self.rules.keep_before_ms if speech_follows else 0)
            if skip_end > skip_begin:
                self._stretches.append(Stretch(begin_ms=skip_begin, end_ms=skip_end))
                self._begins.append(skip_begin)
        self._leading = False


class TimeMap:
    """One task's time as the service counts it (from its first byte, only while audio is sent)
    -> stream time. Piecewise: a new piece at each stretch skipped; a piece of silence the task
    sent itself at a splice (`pause`) has no stream time of its own."""

    def __init__(self, stream_start_ms: int) -> None:
        self._start_ms = stream_start_ms
        self._sent: list[int] = [0]
        self._stream: list[int] = [stream_start_ms]
        self._silent: list[bool] = [False]

    @property
    def spliced(self) -> bool:
        """Anything skipped (else sent time is stream time from the start)."""
        return len(self._sent) > 1 or self._stream[0] != self._start_ms

    def jump(self, sent_ms: int, stream_ms: int) -> None:
        """From `sent_ms` on, the audio sent is the stream's from `stream_ms`."""
        if self._sent[-1] == sent_ms and not self._silent[-1]:  # nothing sent since the last
            self._stream[-1] = stream_ms
        else:
            self._sent.append(sent_ms)
            self._stream.append(stream_ms)
            self._silent.append(False)

    def pause(self, sent_ms: int, length_ms: int, stream_ms: int) -> None:
        """`length_ms` of silence sent at `sent_ms`, then the stream's audio from `stream_ms`."""
        before_ms = self._stream[-1] + sent_ms - self._sent[-1]
        self._sent.append(sent_ms)
        self._stream.append(before_ms)
        self._silent.append(True)
        self.jump(sent_ms + length_ms, stream_ms)

    def to_stream(self, sent_ms: int, *, ending: bool = False) -> int:
        """Where `sent_ms` sits in the stream. At a splice, an end is the end of the audio
        before it, a beginning that of the audio after it: neither lands in the stretch."""
        index = bisect.bisect_right(self._sent, sent_ms) - 1
        if ending and index > 0 and self._sent[index] == sent_ms:
            index -= 1
        index = max(index, 0)
        if self._silent[index]:
            if ending or index + 1 == len(self._sent):
                return self._stream[index]
            return self._stream[index + 1]
        return self._stream[index] + sent_ms - self._sent[index]
