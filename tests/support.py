"""Test helpers: fixture transcripts, real ffmpeg decoding, and a bare real-SDK session."""

from __future__ import annotations

import asyncio
import json
import subprocess
import threading
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dashscope.audio.asr import TranslationRecognizerCallback, TranslationRecognizerRealtime
from dashscope.common.error import InvalidParameter, InvalidTask

from subtitler.sources.media import AsyncPcmDecoder, MediaInfo, ffmpeg_executable
from subtitler.tracks.durable import FileOp, OpenFiles

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TRANSCRIPTS = FIXTURES / "transcripts"
TEST_KEY = "sk-test-0123456789abcdef"
TOLERANCE_MS = 150


@dataclass(frozen=True)
class Transcript:
    media: Path
    language: str
    audio_stream: int
    audio_start_ms: int
    sentences: list[dict[str, Any]]

    @property
    def target(self) -> str:
        """A target language every sentence of this fixture has a translation for."""
        return "en" if self.language == "zh" else "zh"


def transcripts() -> list[Transcript]:
    found = []
    for path in sorted(TRANSCRIPTS.glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        found.append(
            Transcript(
                media=FIXTURES / document["media"],
                language=document["source_language"],
                audio_stream=document["audio_stream"],
                audio_start_ms=document["audio_start_ms"],
                sentences=document["sentences"],
            )
        )
    return found


def decode(media: Path, audio_stream: int = 0) -> tuple[bytes, int]:
    """The PCM real ffmpeg produces for a stream, and that stream's start on the timeline."""
    info, frames = decode_all(media, audio_stream)
    return b"".join(frames), info.start_offset_ms


def decode_all(
    media: Path, audio_stream: int = 0, start_ms: int = 0
) -> tuple[MediaInfo, list[bytes]]:
    """What the decoder the engine uses says of a file, and all its frames."""

    async def run() -> tuple[MediaInfo, list[bytes]]:
        decoder = AsyncPcmDecoder(media, audio_stream, start_ms=start_ms)
        info = await decoder.start()
        assert info is not None
        return info, [frame async for frame in decoder.frames()]

    return asyncio.run(run())


@dataclass
class Event:
    sentence_id: int | None
    text: str | None
    sentence_end: bool
    begin_ms: int | None
    end_ms: int | None
    words: list[tuple[int, int, str]]
    translations: dict[str, tuple[int, str, bool]]  # lang -> (sentence_id, text, sentence_end)
    usage: Any


@dataclass
class Session:
    events: list[Event] = field(default_factory=list)
    error: tuple[Any, Any, str] | None = None
    completed: bool = False
    first_package_delay_ms: float = -1
    last_package_delay_ms: float = -1
    request_id: str = ""

    def finals(self) -> list[Event]:
        return [e for e in self.events if e.sentence_end]

    def final_translations(self, language: str) -> dict[int, str]:
        found = {}
        for e in self.events:
            if language in e.translations:
                sentence_id, text, end = e.translations[language]
                if end:
                    found[sentence_id] = text
        return found


class _Collector(TranslationRecognizerCallback):  # type: ignore[misc]
    def __init__(self, session: Session) -> None:
        self.session = session
        self.closed = threading.Event()
        self.stop_asked = False
        self.completed_unasked = False
        """`on_complete` before `stop()`: the SDK's start() race (see `run_sdk_session`)."""

    def on_event(self, request_id: Any, transcription: Any, translation: Any, usage: Any) -> None:
        translations = {}
        if translation is not None:
            for language in translation.get_language_list():
                item = translation.get_translation(language)
                translations[language] = (item.sentence_id, item.text, bool(item.is_sentence_end))
        self.session.events.append(
            Event(
                sentence_id=transcription.sentence_id if transcription else None,
                text=transcription.text if transcription else None,
                sentence_end=bool(transcription and transcription.is_sentence_end),
                begin_ms=transcription.begin_time if transcription else None,
                end_ms=transcription.end_time if transcription else None,
                words=[(w.begin_time, w.end_time, w.text) for w in transcription.words]
                if transcription
                else [],
                translations=translations,
                usage=usage,
            )
        )

    def on_error(self, response: Any) -> None:
        self.session.error = (response.status_code, response.code, str(response.message))

    def on_complete(self) -> None:
        self.session.completed = True
        self.completed_unasked = not self.stop_asked

    def on_close(self) -> None:
        self.closed.set()


def run_sdk_session(
    url: str | None,
    pcm: bytes,
    targets: tuple[str, ...] = ("en",),
    api_key: str = TEST_KEY,
    frame_bytes: int = 3200,
    model: str = "gummy-realtime-v1",
    audio_format: str = "pcm",
    sample_rate: int = 16000,
    pause_after_bytes: int | None = None,
    paused: threading.Event | None = None,
    resume: threading.Event | None = None,
    **parameters: Any,
) -> Session:
    """Stream `pcm` through the unmodified SDK as fast as it takes it; collect everything.

    `url` None leaves the endpoint to DASHSCOPE_WEBSOCKET_BASE_URL. With `pause_after_bytes`,
    the session sends that much, sets `paused`, and waits for `resume` before sending the
    rest. (While it waits the SDK reads nothing: its sender blocks its loop when idle.)

    The SDK's `start()` marks it running only after its worker thread runs; on a loaded machine
    the worker can reach the audio first, find none and complete the task with nothing heard
    (`on_complete` before `stop()`). That session is started again, up to twice, as
    `subtitler.gummy.sdk` resumes such a task.
    """
    options: dict[str, Any] = {"api_key": api_key, **parameters}
    if url is not None:
        options["base_address"] = url
    for _attempt in range(3):
        session = Session()
        collector = _Collector(session)
        recognizer = TranslationRecognizerRealtime(
            model=model,
            callback=collector,
            format=audio_format,
            sample_rate=sample_rate,
            transcription_enabled=True,
            translation_enabled=bool(targets),
            translation_target_languages=list(targets),
            **options,
        )
        try:
            recognizer.start()
            for offset in range(0, len(pcm), frame_bytes):
                if offset == pause_after_bytes:
                    if paused is not None:
                        paused.set()
                    if resume is not None:
                        resume.wait(timeout=60)
                recognizer.send_audio_frame(pcm[offset : offset + frame_bytes])
            collector.stop_asked = True
            recognizer.stop()
        except (InvalidParameter, InvalidTask):
            # The task already ended with an error (on_error has the reason), before start()
            # returned (InvalidTask: its worker was no longer alive) or while sending.
            pass
        collector.closed.wait(timeout=60)
        if not collector.completed_unasked:
            break
        time.sleep(1.0)  # under the emulator's task-start rate, which other tests share
    session.first_package_delay_ms = recognizer.get_first_package_delay()
    session.last_package_delay_ms = recognizer.get_last_package_delay()
    session.request_id = recognizer.get_last_request_id()
    return session


def perform(operations: list[FileOp]) -> None:
    """File operations done at once, as the run's writer thread does them."""
    files = OpenFiles()
    try:
        files.perform(operations)
    finally:
        files.close()


def ffmpeg_to_srt(source: Path, target: Path) -> Any:
    """`source` read by ffmpeg's own demuxer and decoder, written as SRT and parsed (pysrt):
    an independent reader of every format ffmpeg knows."""
    import pysrt

    subprocess.run(
        [ffmpeg_executable(), "-hide_banner", "-loglevel", "error", "-y", "-i", str(source),
         str(target)],
        check=True,
    )  # fmt: skip
    return pysrt.open(str(target))


MP3_22K = ("-c:a", "libmp3lame", "-b:a", "48k", "-ar", "22050")
"""zh_podcast.mp3's encoding (fixtures/make_fixtures.py): MP3 22.05 kHz mono."""
H264_AAC = ("-c:v", "libx264", "-preset", "veryfast", "-crf", "38", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "96k", "-ar", "48000", "-ac", "2")  # fmt: skip
"""The video fixtures' encoding (zh_news.mp4, en_late_audio.mp4): H.264 + AAC 48 kHz stereo,
with `video=True`."""
WAV_44K = ("-c:a", "pcm_s16le", "-ar", "44100", "-ac", "2")
"""en_lecture_44k.wav's: PCM WAV 44.1 kHz stereo."""


@dataclass(frozen=True)
class Speech:
    """Fixture sentences laid one after another on a 16 kHz mono track: the same sounds (the
    emulator knows them by their envelope, not by where they sit), with shorter silences and
    only the sentences a test needs, so a test that plays audio at 1x waits less."""

    pcm: bytes
    sentences: list[dict[str, Any]]
    """The chosen transcript records, `begin_ms`/`end_ms` moved to where they sit here."""

    @property
    def duration_ms(self) -> int:
        return len(self.pcm) // 32


_DECODED: dict[tuple[Path, int], tuple[bytes, int]] = {}


def speech(
    picks: list[tuple[Transcript, int]],
    *,
    lead_ms: int = 300,
    gap_ms: int = 1000,
    tail_ms: int = 800,
) -> Speech:
    """`picks` (a transcript and a sentence index each) in that order: `lead_ms` of silence,
    each sentence separated by `gap_ms` (the emulator's VAD ends a sentence after 700 ms),
    then `tail_ms`. Each sentence is cut from the fixture's decoded audio with 100 ms of its
    own quiet either side (the fixtures' pauses are at least 1 s), so no onset is clipped."""
    margin_ms = 100
    pieces = [bytes(lead_ms * 32)]
    cursor_ms = lead_ms
    chosen = []
    for number, (transcript, index) in enumerate(picks):
        key = (transcript.media, transcript.audio_stream)
        if key not in _DECODED:
            _DECODED[key] = decode(transcript.media, transcript.audio_stream)
        pcm, start_ms = _DECODED[key]
        record = transcript.sentences[index]
        begin_ms, end_ms = int(record["begin_ms"]), int(record["end_ms"])
        first_ms, last_ms = begin_ms - start_ms - margin_ms, end_ms - start_ms + margin_ms
        assert first_ms >= 0 and last_ms * 32 <= len(pcm), (transcript.media, index)
        pieces.append(pcm[first_ms * 32 : last_ms * 32])
        moved = cursor_ms + margin_ms
        chosen.append({**record, "begin_ms": moved, "end_ms": moved + end_ms - begin_ms})
        cursor_ms += last_ms - first_ms
        silence_ms = gap_ms if number < len(picks) - 1 else tail_ms
        pieces.append(bytes(silence_ms * 32))
        cursor_ms += silence_ms
    return Speech(pcm=b"".join(pieces), sentences=chosen)


def save_speech(spoken: Speech, path: Path, *encoding: str, video: bool = False) -> Path:
    """`spoken` encoded by real ffmpeg into `path` (its container from the name, or `-f` in
    `encoding`), with a test-pattern picture when `video`, as make_fixtures.py makes them."""
    source = path.with_name(path.name + ".source.wav")
    with wave.open(str(source), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(16000)
        writer.writeframes(spoken.pcm)
    picture = (
        ["-f", "lavfi", "-i", f"testsrc2=size=160x90:rate=10:duration={spoken.duration_ms / 1000}"]
        if video
        else []
    )
    audio = "1:a" if video else "0:a"
    mapping = ["-map", "0:v", "-map", audio] if video else ["-map", audio]
    subprocess.run(
        [ffmpeg_executable(), "-hide_banner", "-loglevel", "error", "-y", *picture,
         "-i", str(source), *mapping, *encoding, str(path)],
        check=True,
    )  # fmt: skip
    source.unlink()
    return path
