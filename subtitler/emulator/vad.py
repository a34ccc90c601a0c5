"""Energy-based voice activity detection over 16 kHz mono s16le PCM, streaming and pure.

The emulator cannot recognise words, but it can honestly hear *when* someone speaks: this
detector turns the PCM it receives into speech segments whose times come from the audio,
the way the real service's VAD ends a sentence after `max_end_silence` ms of silence.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SAMPLE_RATE_HZ = 16000
FRAME_MS = 10
FRAME_SAMPLES = SAMPLE_RATE_HZ * FRAME_MS // 1000
FRAME_BYTES = FRAME_SAMPLES * 2
SILENCE_FLOOR_DB = -90.0


@dataclass(frozen=True)
class VadOptions:
    """Thresholds of the detector; the defaults suit clean speech and broadcast mixes."""

    threshold_db: float = -42.0  # emulator/command.py VAD_THRESHOLD_DB too
    """A 10 ms frame louder than this (dBFS, RMS) counts as speech."""
    min_speech_ms: int = 80
    """A run of speech shorter than this (a click, a cough) does not open a segment."""
    max_end_silence_ms: int = 700
    """A segment ends after this much silence, as the service's `max_end_silence`."""
    max_segment_ms: int = 60000
    """A segment is closed after this long even without a pause, like the service does."""


@dataclass(frozen=True)
class SegmentOpened:
    """Speech has started at `begin_ms` (stream time)."""

    begin_ms: int


@dataclass(frozen=True)
class SegmentGrew:
    """The open segment now reaches `current_ms`; `envelope_db` is its loudness so far."""

    begin_ms: int
    current_ms: int
    envelope_db: tuple[float, ...]


@dataclass(frozen=True)
class SegmentClosed:
    """A finished segment: first speech frame to last speech frame, with its envelope."""

    begin_ms: int
    end_ms: int
    envelope_db: tuple[float, ...]


VadEvent = SegmentOpened | SegmentGrew | SegmentClosed


def frame_energies_db(pcm: bytes) -> np.ndarray:
    """RMS level in dBFS of each whole 10 ms frame of `pcm` (s16le mono)."""
    usable = len(pcm) - len(pcm) % FRAME_BYTES
    if usable <= 0:
        return np.zeros(0, dtype=np.float64)
    samples = np.frombuffer(pcm[:usable], dtype="<i2").astype(np.float64)
    frames = samples.reshape(-1, FRAME_SAMPLES) / 32768.0
    mean_square = np.mean(frames * frames, axis=1)
    levels: np.ndarray = 10.0 * np.log10(mean_square + 1e-12)
    floored: np.ndarray = np.maximum(levels, SILENCE_FLOOR_DB)
    return floored


@dataclass
class VoiceActivityDetector:
    """Feed PCM bytes in any chunk sizes; get segment events on the stream's own timeline."""

    options: VadOptions = field(default_factory=VadOptions)
    _pending: bytearray = field(default_factory=bytearray)
    _frame_index: int = 0
    _run_start: int | None = None  # first frame of the current loud run while not in a segment
    _segment_start: int | None = None
    _last_speech_frame: int = -1
    _envelope: list[float] = field(default_factory=list)

    @property
    def received_ms(self) -> int:
        """Audio consumed so far, in ms of stream time (whole frames only)."""
        return self._frame_index * FRAME_MS

    @property
    def in_segment(self) -> bool:
        return self._segment_start is not None

    def feed(self, pcm: bytes) -> list[VadEvent]:
        """Consume PCM; return the events it completes, in order."""
        self._pending.extend(pcm)
        usable = len(self._pending) - len(self._pending) % FRAME_BYTES
        if usable == 0:
            return []
        levels = frame_energies_db(bytes(self._pending[:usable]))
        del self._pending[:usable]
        events: list[VadEvent] = []
        for level in levels.tolist():
            self._step(level, events)
            self._frame_index += 1
        if self._segment_start is not None:
            events.append(
                SegmentGrew(
                    begin_ms=self._segment_start * FRAME_MS,
                    current_ms=self._frame_index * FRAME_MS,
                    envelope_db=tuple(self._envelope),
                )
            )
        return events

    def flush(self) -> list[VadEvent]:
        """End of stream: close an open segment at its last speech frame."""
        events: list[VadEvent] = []
        if self._segment_start is not None:
            events.append(self._close())
        self._run_start = None
        return events

    def _step(self, level_db: float, events: list[VadEvent]) -> None:
        options = self.options
        loud = level_db >= options.threshold_db
        index = self._frame_index
        if self._segment_start is None:
            if not loud:
                self._run_start = None
                return
            if self._run_start is None:
                self._run_start = index
                self._envelope = []
            self._envelope.append(level_db)
            if (index - self._run_start + 1) * FRAME_MS >= options.min_speech_ms:
                self._segment_start = self._run_start
                self._last_speech_frame = index
                self._run_start = None
                events.append(SegmentOpened(begin_ms=self._segment_start * FRAME_MS))
            return
        self._envelope.append(level_db)
        if loud:
            self._last_speech_frame = index
        silence_ms = (index - self._last_speech_frame) * FRAME_MS
        length_ms = (index - self._segment_start + 1) * FRAME_MS
        if silence_ms >= options.max_end_silence_ms or length_ms >= options.max_segment_ms:
            events.append(self._close())

    def _close(self) -> SegmentClosed:
        assert self._segment_start is not None
        speech_frames = self._last_speech_frame - self._segment_start + 1
        closed = SegmentClosed(
            begin_ms=self._segment_start * FRAME_MS,
            end_ms=(self._last_speech_frame + 1) * FRAME_MS,
            envelope_db=tuple(self._envelope[:speech_frames]),
        )
        self._segment_start = None
        self._envelope = []
        return closed


def detect_segments(pcm: bytes, options: VadOptions | None = None) -> list[SegmentClosed]:
    """All segments of a whole PCM buffer (used to fingerprint fixtures and in tests)."""
    detector = VoiceActivityDetector(options or VadOptions())
    events = detector.feed(pcm) + detector.flush()
    return [event for event in events if isinstance(event, SegmentClosed)]
