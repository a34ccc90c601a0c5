"""One input's decoded PCM, shared by its targets' tasks: each reads it from its own position.

A task sends from its position to the end of what has been decoded, so a resumed or rolled-over
task replays the audio since its last finished sentence and then carries on with new audio, by
the same path. The buffer keeps the PCM from the oldest position any target may still resume
from, and tells every listener when more arrives or the audio ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from subtitler.engine.gate import GateRules, SpeechGate
from subtitler.options import VadSettings
from subtitler.sources.media import BYTES_PER_MS


class Detects(Protocol):
    """A streaming speech detector (`sources.speech.SpeechDetector`): one decision per whole
    window completed by each call, state kept between calls."""

    def push(self, pcm: bytes) -> list[bool]: ...

    def flush(self) -> list[bool]:
        """At the end of the audio: decisions for windows it still holds."""
        ...


@dataclass(frozen=True, kw_only=True)
class Gating:
    """One input's detector and how its decisions become stretches not sent."""

    detector: Detects
    rules: GateRules


def speech_gating(vad: VadSettings, end_silence_ms: int | None, label: str) -> Gating:
    """The local detector (`sources.speech`) for `--vad on` (a UsageError naming the package
    when it cannot load)."""
    from subtitler.sources import speech  # numpy and the model load only for a gated run

    settings = speech.GateSettings(
        threshold=vad.threshold,
        min_gap_ms=vad.min_gap_ms,
        margin_ms=vad.margin_ms,
        probe_every=vad.probe_every,
    )
    detector = speech.SpeechDetector(settings)
    return Gating(detector=detector, rules=gate_rules(vad, speech.WINDOW_MS, end_silence_ms))


def splice_pause_ms(end_silence_ms: int | None) -> int:
    """The silence a task sends where it skips a stretch: the service's end silence and 100 ms,
    so it ends a sentence there even when the audio kept around the stretch is not quiet
    (music against speech): no sentence spans a stretch not sent."""
    return (end_silence_ms or 700) + 100


def gate_rules(vad: VadSettings, window_ms: int, end_silence_ms: int | None) -> GateRules:
    """A stretch is only skipped when that saves more than the silence sent in its place."""
    pause_ms = splice_pause_ms(end_silence_ms)
    return GateRules(
        window_ms=window_ms,
        min_gap_ms=max(vad.min_gap_ms, 2 * vad.margin_ms + pause_ms + window_ms),
        keep_before_ms=vad.margin_ms,
        keep_after_ms=vad.margin_ms,
    )


class AudioBuffer:
    def __init__(self, start_ms: int, gating: Gating | None = None) -> None:
        self.start_ms = start_ms
        """Stream time of the first byte kept."""
        self.first_ms = start_ms
        """Stream time decoding started from (0, or a resume point)."""
        self.ended = False
        self.halted = False
        """Ended by a stop (Ctrl-C, a refused key), not by the end of the media."""
        self.last_arrival_s = time.monotonic()
        self._data = bytearray()
        self._listeners: list[Callable[[], None]] = []
        self._consumed = asyncio.Event()
        self._detector = gating.detector if gating is not None else None
        self.gate = SpeechGate(origin_ms=start_ms, rules=gating.rules) if gating else None
        """`--vad on`: the stretches not sent (None: every byte is sent)."""

    @property
    def end_ms(self) -> int:
        return self.start_ms + len(self._data) // BYTES_PER_MS

    @property
    def decoded_ms(self) -> int:
        return self.end_ms - self.first_ms

    def listen(self, notify: Callable[[], None]) -> None:
        self._listeners.append(notify)

    def append(self, pcm: bytes) -> None:
        """Whole milliseconds only (positions are in ms); frames are whole but perhaps the last,
        which loses less than a millisecond."""
        self._data += pcm[: len(pcm) - len(pcm) % BYTES_PER_MS]
        if self._detector is not None and self.gate is not None:
            self.gate.add(self._detector.push(pcm))
        self.last_arrival_s = time.monotonic()
        self._notify()

    def end(self, halted: bool = False) -> None:
        self.ended = True
        self.halted = halted
        if self.gate is not None:
            if self._detector is not None:
                self.gate.add(self._detector.flush())
            self.gate.close(self.end_ms)
        self._notify()

    def span(self, from_ms: int) -> tuple[int, int]:
        """The audio to send next from stream time `from_ms`: [begin, end), empty when there is
        none yet (begin skips a stretch of non-speech; end stops at the next one)."""
        if self.gate is None:
            return from_ms, max(from_ms, self.end_ms)
        begin, end = self.gate.span(from_ms)
        return begin, max(begin, min(end, self.end_ms))

    def to_send_ms(self, from_ms: int, to_ms: int) -> int:
        """How much of [from_ms, to_ms) is to be sent (not in a stretch skipped)."""
        skipped = self.gate.skipped_between(from_ms, to_ms) if self.gate is not None else 0
        return to_ms - from_ms - skipped

    @property
    def skipping(self) -> bool:
        """Nothing is being sent now: non-speech is going on."""
        return self.gate is not None and self.gate.skipping

    def consumed(self) -> None:
        """A reader moved on (sent audio, or stopped reading): the decoder may go on."""
        self._consumed.set()

    async def wait_consumed(self, timeout_s: float) -> None:
        """Until a reader moves on (or `timeout_s`, a safety net): the decoder's backpressure."""
        self._consumed.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await self._consumed.wait()

    def read(self, from_ms: int, max_bytes: int) -> bytes:
        """Up to `max_bytes` of PCM from stream time `from_ms` (empty when none is there yet)."""
        offset = max(0, from_ms - self.start_ms) * BYTES_PER_MS
        with memoryview(self._data) as view:  # one copy, not a slice and then a copy
            return bytes(view[offset : offset + max_bytes])

    def quiet_point_ms(
        self, from_ms: int, quiet_ms: int = 400, threshold_db: float = -45.0
    ) -> int | None:
        """The middle of the first stretch of `quiet_ms` below `threshold_db` (RMS, 50 ms
        windows) in the audio decoded after `from_ms`: a pause between sentences, where a task
        can end without cutting one. None when there is none yet."""
        import numpy as np  # only runs that roll tasks over need it

        window_ms = 50
        offset = max(0, from_ms - self.start_ms) * BYTES_PER_MS
        usable = (len(self._data) - offset) // (window_ms * BYTES_PER_MS) * window_ms
        if usable < quiet_ms:
            return None
        samples = np.frombuffer(self._data, dtype="<i2", count=usable * BYTES_PER_MS // 2,
                                offset=offset).astype(np.float64)  # fmt: skip
        windows = samples.reshape(-1, window_ms * BYTES_PER_MS // 2)
        rms = np.sqrt(np.mean(windows**2, axis=1)) / 32768.0
        quiet = 20 * np.log10(np.maximum(rms, 1e-9)) < threshold_db
        needed = quiet_ms // window_ms
        run = 0
        for index, is_quiet in enumerate(quiet):
            run = run + 1 if is_quiet else 0
            if run == needed:
                first = index - needed + 1
                return from_ms + (first * window_ms) + quiet_ms // 2
        return None

    def forget_before(self, ms: int) -> None:
        drop = (ms - self.start_ms) * BYTES_PER_MS
        if drop > len(self._data) // 2:  # amortised: compact when half of it is behind
            del self._data[:drop]
            self.start_ms = ms

    def _notify(self) -> None:
        for notify in self._listeners:
            notify()
