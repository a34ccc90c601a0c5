"""A fake Gummy transport and a fake decoder, for in-process tests of the engine, the writer and
`serve` that answer in milliseconds. Pure units only: the real transports, the real SDK and real
ffmpeg are exercised against the emulator in tests/integration/ and tests/reliability/.

The boundaries replaced are the engine's own: `GummyTask` (gummy/client.py: start, send,
finish, close; events to a sink) and the decoder `engine/input.py` starts (start -> MediaInfo,
frames(), aclose). The media are 16 kHz mono WAV files (their length is what counts); the
fake decoder stamps each millisecond of audio with its time on the media timeline (its first
two samples), so the fake service knows where any audio it is sent sits: a resumed task, sent
audio from the middle, names its sentences exactly as the first task would have.
"""

from __future__ import annotations

import asyncio
import bisect
import wave
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from subtitler.errors import MediaError
from subtitler.gummy.protocol import (
    DISCONNECTED,
    ClientEvent,
    Sentence,
    TaskFailed,
    TaskFinished,
    TaskStarted,
)
from subtitler.sources.media import (
    BYTES_PER_MS,
    FRAME_MS,
    SAMPLE_RATE_HZ,
    AudioStream,
    MediaInfo,
)

SAMPLES_PER_MS = BYTES_PER_MS // 2
SENTENCE_EVERY_MS = 3000
SENTENCE_BEGIN_MS = 300
SENTENCE_MS = 2200
"""The fake service hears one sentence in every 3 s of audio, [300, 2500) ms of each (long
enough that the layout never merges two into one cue)."""


class StampDetector:
    """A stand-in for `sources.speech.SpeechDetector` (same `push`): it reads each window's
    media time from the fake decoder's stamps and asks the service whether speech is there."""

    window_ms = 32

    def __init__(self, service: FakeService) -> None:
        self.service = service
        self._pending = bytearray()

    def push(self, pcm: bytes) -> list[bool]:
        self._pending += pcm
        window_bytes = self.window_ms * BYTES_PER_MS
        decisions = []
        while len(self._pending) >= window_bytes:
            first, second = np.frombuffer(bytes(self._pending[:4]), dtype="<i2")
            decisions.append(self.service.speech_at((int(first) << 15) | int(second)))
            del self._pending[:window_bytes]
        return decisions

    def flush(self) -> list[bool]:
        return []


def stand_in_gating(service: FakeService) -> Callable[..., Any]:
    """`Transports.gating` with the stand-in detector."""
    from subtitler.engine.audio import Gating, gate_rules

    def gating(vad: Any, end_silence_ms: int | None, _label: str) -> Gating:
        rules = gate_rules(vad, StampDetector.window_ms, end_silence_ms)
        return Gating(detector=StampDetector(service), rules=rules)

    return gating


def write_media(path: Path, duration_ms: int) -> Path:
    """A WAV file of `duration_ms` of silence: media for the fake decoder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as media:
        media.setnchannels(1)
        media.setsampwidth(2)
        media.setframerate(SAMPLE_RATE_HZ)
        media.writeframes(b"\0" * duration_ms * BYTES_PER_MS)
    return path


def line_at(media_ms: int) -> tuple[str, str]:
    """What the fake service says for the sentence that begins at `media_ms`."""
    return f"第{media_ms}句", f"Line {media_ms}."


class FakeDecoder:
    """Stands where `AsyncPcmDecoder` stands (same constructor): a WAV file's length, decoded
    from `start_ms` to 100 ms frames in which each millisecond carries its own time."""

    started: ClassVar[list[FakeDecoder]] = []
    """Every decoder started since the `fake_service` fixture began (a test reads `start_ms`)."""
    hold_from_ms: ClassVar[int | None] = None
    """A test's pause: frames from this media time wait until `release()`, so what the test
    does meanwhile (a stop) comes while audio remains, however fast the rest ran."""
    _released: ClassVar[asyncio.Event | None] = None

    @classmethod
    def reset(cls) -> None:
        cls.started.clear()
        cls.hold_from_ms = None
        cls._released = None

    @classmethod
    def release(cls) -> None:
        """Let held frames go on (on the run's loop, from an observer)."""
        if cls._released is None:
            cls._released = asyncio.Event()
        cls._released.set()

    def __init__(self, path: Path, audio_stream: int = 0, start_ms: int = 0, **_: Any) -> None:
        self.path = path
        self.audio_stream = audio_stream
        self.start_ms = start_ms
        self.label = str(_.get("label") or path)
        self.duration_ms = 0
        self.closed = False

    async def start(self) -> MediaInfo:
        try:
            with wave.open(str(self.path), "rb") as media:
                self.duration_ms = media.getnframes() * 1000 // media.getframerate()
        except (OSError, EOFError, wave.Error) as error:
            raise MediaError(self.label, f"not readable media ({error})") from error
        FakeDecoder.started.append(self)
        stream = AudioStream(0, "pcm_s16le", SAMPLE_RATE_HZ, "mono", None, None)
        return MediaInfo(self.path, self.duration_ms, (stream,), 0)

    async def frames(self) -> AsyncIterator[bytes]:
        for begin_ms in range(self.start_ms, self.duration_ms, FRAME_MS):
            hold = FakeDecoder.hold_from_ms
            if hold is not None and begin_ms >= hold:
                if FakeDecoder._released is None:
                    FakeDecoder._released = asyncio.Event()
                await FakeDecoder._released.wait()
            times = np.arange(begin_ms, min(begin_ms + FRAME_MS, self.duration_ms))
            samples = np.zeros((len(times), SAMPLES_PER_MS), dtype="<i2")
            samples[:, 0], samples[:, 1] = times >> 15, times & 0x7FFF
            yield samples.tobytes()

    async def aclose(self) -> None:
        self.closed = True


@dataclass
class Fault:
    """The service fails a task with `code` after its `after_sentences`-th sentence, for the
    first `times` tasks that get that far."""

    code: str = DISCONNECTED
    message: str = "connection lost"
    after_sentences: int = 1
    times: int = 1
    status: int | None = None


@dataclass
class FakeService:
    """What every fake task of a test talks to: a sentence in each 3 s of audio it is sent, the
    text named after where on the media timeline it begins; faults on request."""

    faults: list[Fault] = field(default_factory=list)
    tasks: list[FakeTask] = field(default_factory=list)
    quiet: list[tuple[int, int]] = field(default_factory=list)
    """Media ranges [begin, end) with no speech (music, applause, silence): no sentence begins
    in them. With none, the stand-in detector calls everything speech; with some, speech is
    each sentence's [300, 2500) ms outside them."""
    translator: FakeTranslator = field(default_factory=lambda: FakeTranslator())

    def new_task(self, _kind: object, settings: Any, target: str, sink: Any) -> FakeTask:
        task = FakeTask(self, target, sink, len(self.tasks), settings)
        self.tasks.append(task)
        return task

    def new_translator(self, settings: Any) -> FakeTranslator:
        self.translator.settings = settings
        return self.translator

    def says(self, begin_ms: int) -> bool:
        """A sentence begins at `begin_ms` (nothing is said in the quiet ranges)."""
        return not any(begin <= begin_ms < end for begin, end in self.quiet)

    def speech_at(self, media_ms: int) -> bool:
        """What the stand-in detector hears at `media_ms`."""
        if not self.quiet:
            return True
        in_sentence = (
            SENTENCE_BEGIN_MS <= media_ms % SENTENCE_EVERY_MS < (SENTENCE_BEGIN_MS + SENTENCE_MS)
        )
        sentence_ms = media_ms - (media_ms - SENTENCE_BEGIN_MS) % SENTENCE_EVERY_MS
        return in_sentence and self.says(sentence_ms)

    def fault_for(self, sentences: int) -> Fault | None:
        for fault in self.faults:
            if fault.times > 0 and sentences >= fault.after_sentences:
                fault.times -= 1
                return fault
        return None


@dataclass
class FakeTranslator:
    """Stands where `qwenmt.client.QwenMt` stands: `[<target>] <text>` for every sentence, each
    request recorded; `failures` are raised, in order, by the first requests."""

    requests: list[Any] = field(default_factory=list)
    failures: list[Exception] = field(default_factory=list)
    settings: Any = None
    closed: bool = False

    async def translate(self, request: Any) -> Any:
        from subtitler.qwenmt.protocol import Translated

        self.requests.append(request)
        if self.failures:
            raise self.failures.pop(0)
        text = "\n".join(f"[{request.target}] {line}" for line in request.text.split("\n"))
        return Translated(text=text, input_tokens=40 + len(request.text), output_tokens=len(text))

    async def aclose(self) -> None:
        self.closed = True


class FakeTask:
    """One task of the fake service, behind the `GummyTask` interface."""

    def __init__(
        self,
        service: FakeService,
        target: str,
        sink: Callable[[ClientEvent], None],
        index: int,
        settings: Any = None,
    ) -> None:
        self.settings = settings
        """The task's `GummySettings` (model, whether it recognises, translates)."""
        self.service = service
        self.target = target
        self.sink = sink
        self.index = index
        self.received = bytearray()
        self.sentences = 0
        self.over = False
        self._runs: list[tuple[int, int]] = []
        """The media sent in runs without a gap: (first media ms, the task's ms it was at)."""
        self._indexed = 0
        self._last_ms = -1
        self._next_sentence: int | None = None

    @property
    def task_id(self) -> str:
        return f"fake-task-{self.index}"

    async def start(self, turn: Callable[[], Awaitable[None]]) -> None:
        await turn()
        self._emit(TaskStarted(self.task_id))

    async def send(self, pcm: bytes) -> bool:
        if self.over:
            return False
        self.received += pcm
        self._hear()
        return not self.over

    async def finish(self) -> None:
        if not self.over:
            self._emit(TaskFinished(self.task_id))

    async def close(self) -> None:
        self.over = True

    def _media_ms(self, task_ms: int) -> int:
        """Where the audio this task got at `task_ms` sits on the media timeline."""
        offset = task_ms * BYTES_PER_MS
        stamp = np.frombuffer(self.received, dtype="<i2", count=2, offset=offset)
        return (int(stamp[0]) << 15) | int(stamp[1])

    def _hear(self) -> None:
        """Every sentence whose whole audio this task has now been sent, in the time the task
        counts (the audio it got, whatever was skipped between), as the service reports them."""
        heard = len(self.received) // BYTES_PER_MS
        if heard == 0:
            return
        samples = np.frombuffer(self.received, dtype="<i2", offset=self._indexed * BYTES_PER_MS,
                                count=(heard - self._indexed) * SAMPLES_PER_MS)  # fmt: skip
        stamps = samples.reshape(-1, SAMPLES_PER_MS)
        media = (stamps[:, 0].astype(np.int64) << 15) | stamps[:, 1]
        silent = (media == 0) & ((self._last_ms >= 0) | (np.arange(len(media)) > 0))
        breaks = np.flatnonzero((np.diff(media) != 1) | silent[1:] | silent[:-1]) + 1
        for piece in np.split(np.arange(len(media)), breaks):
            if silent[piece[0]]:
                continue  # silence the client sent where it skipped audio: no media time
            first_ms, index = int(media[piece[0]]), self._indexed + int(piece[0])
            assert first_ms > self._last_ms, "audio sent out of order"
            if self._runs and first_ms == self._last_ms + 1:  # continues the last run
                pass
            else:
                self._runs.append((first_ms, index))
            self._last_ms = first_ms + len(piece) - 1
        self._indexed = heard
        if self._next_sentence is None:
            first_ms = self._media_ms(0)
            self._next_sentence = -(-(first_ms - SENTENCE_BEGIN_MS) // SENTENCE_EVERY_MS)
        while not self.over:
            begin_ms = self._next_sentence * SENTENCE_EVERY_MS + SENTENCE_BEGIN_MS
            end_ms = begin_ms + SENTENCE_MS
            if end_ms > self._last_ms + 1:
                break
            self._next_sentence += 1
            begin_at, end_at = self._sent_at(begin_ms), self._sent_at(end_ms - 1)
            if not self.service.says(begin_ms) or begin_at is None or end_at is None:
                continue  # nothing said there, or not all of it was sent
            transcript, translation = line_at(begin_ms)
            if not getattr(self.settings, "translation_enabled", True):
                translation = ""  # a recognition-only task
            self._emit(
                Sentence(
                    self.sentences,
                    begin_at,
                    end_at + 1,
                    transcript,
                    translation,
                    (),
                )
            )
            self.sentences += 1
            fault = self.service.fault_for(self.sentences)
            if fault is not None:
                self._emit(TaskFailed(fault.code, fault.message, fault.status))

    def _sent_at(self, media_ms: int) -> int | None:
        """The task's ms at which the media's `media_ms` was sent (None: it was not)."""
        index = bisect.bisect_right(self._runs, (media_ms, 1 << 62)) - 1
        if index < 0 or media_ms > self._last_ms:
            return None
        first_ms, at = self._runs[index]
        next_index = self._runs[index + 1][1] if index + 1 < len(self._runs) else self._indexed
        return at + media_ms - first_ms if at + media_ms - first_ms < next_index else None

    def _emit(self, event: ClientEvent) -> None:
        if isinstance(event, TaskFailed | TaskFinished):
            self.over = True
        self.sink(event)


class FakeClock:
    """Time that passes only when someone sleeps (a pacer's, backoff and Retry-After
    included): `slept` says for how long each time."""

    def __init__(self, now_s: float = 0.0) -> None:
        self.now_s = now_s
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now_s

    async def sleep(self, delay_s: float) -> None:
        self.slept.append(delay_s)
        await asyncio.sleep(0)
        self.now_s += delay_s
