"""ffmpeg (through ffmpeg-python): probe a media file and decode one audio stream to PCM frames.

Knows nothing of Gummy. Paths are always passed as `file:` URLs inside an argument list,
so a user's file name is never read as an option, a protocol or a shell word.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import threading
from collections.abc import AsyncGenerator, Iterator
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from pathlib import Path

import ffmpeg

from subtitler.errors import MediaError

SAMPLE_RATE_HZ = 16000
BYTES_PER_MS = SAMPLE_RATE_HZ * 2 // 1000
FRAME_MS = 100
FRAME_BYTES = FRAME_MS * BYTES_PER_MS
STDERR_KEEP_BYTES = 64 * 1024
PROBE_TIMEOUT_S = 120


SECRET_VARIABLES = ("DASHSCOPE_API_KEY",)


def child_environment() -> dict[str, str]:
    """ffmpeg's environment: ours without the API key (a child never needs it)."""
    return {name: value for name, value in os.environ.items() if name not in SECRET_VARIABLES}


@cache
def ffmpeg_executable() -> str:
    """`SUBTITLER_FFMPEG`, else the system's ffmpeg on PATH, else the imageio-ffmpeg binary."""
    chosen = os.environ.get("SUBTITLER_FFMPEG") or shutil.which("ffmpeg")
    if chosen:
        return chosen
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


@dataclass(frozen=True)
class AudioStream:
    """One audio stream as ffmpeg lists it; `audio_index` counts audio streams only."""

    audio_index: int
    codec: str
    sample_rate_hz: int | None
    channels: str
    language: str | None
    title: str | None


@dataclass(frozen=True)
class VideoStream:
    """The first real video stream (not cover art): what ASS and TTML tracks describe."""

    width: int
    height: int
    frame_rate: Fraction | None
    """From ffmpeg's `fps` figure: 29.97 is read as 30000/1001, 23.98 as 24000/1001."""


@dataclass(frozen=True)
class MediaInfo:
    """What decoding needs to know up front."""

    path: Path
    duration_ms: int | None
    audio_streams: tuple[AudioStream, ...]
    start_offset_ms: int
    """Where the chosen stream's first sample sits on the media timeline (late audio > 0)."""
    video: VideoStream | None = None


_DURATION = re.compile(r"^\s*Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)", re.MULTILINE)
_STREAM = re.compile(
    r"^\s*Stream #0:\d+(?:\[[^\]]*\])?(?:\((?P<lang>[^)]*)\))?: (?P<kind>\w+): (?P<rest>.*)$"
)
_TITLE = re.compile(r"^\s+title\s*: (.*)$")
_SIZE = re.compile(r"[ ,](\d{2,5})x(\d{2,5})[ ,\[]")
_FPS = re.compile(r"(\d+(?:\.\d+)?)(k?) fps")
_RATE = re.compile(r"(\d+) Hz")
_MP4_ON_PIPE = re.compile(r"mov,mp4.*(partial file|moov atom not found)", re.IGNORECASE)
_FRAMECRC_TB = re.compile(r"^#tb 0: (\d+)/(\d+)$", re.MULTILINE)
_FRAMECRC_FIRST = re.compile(r"^0,\s*(-?\d+),\s*(-?\d+),", re.MULTILINE)


def media_source(path: Path) -> str:
    """The input ffmpeg is given for a local file: a `file:` URL of the absolute path."""
    return "file:" + str(path.absolute())


def parse_streams(ffmpeg_log: str) -> tuple[int | None, tuple[AudioStream, ...]]:
    """Duration and audio streams of input #0 from ffmpeg's own listing (no ffprobe needed)."""
    duration_ms = None
    match = _DURATION.search(ffmpeg_log)
    if match:
        hours, minutes, seconds = match.groups()
        duration_ms = round((int(hours) * 3600 + int(minutes) * 60 + float(seconds)) * 1000)
    streams: list[AudioStream] = []
    lines = ffmpeg_log.splitlines()
    in_input = False
    for number, line in enumerate(lines):
        if line.startswith("Input #"):
            in_input = line.startswith("Input #0")
            continue
        if line.startswith("Output #"):
            in_input = False
        if not in_input:
            continue
        stream = _STREAM.match(line)
        if not stream or stream.group("kind") != "Audio":
            continue
        rest = stream.group("rest")
        fields = [field.strip() for field in rest.split(",")]
        rate = _RATE.search(rest)
        title = None
        for follower in lines[number + 1 : number + 6]:
            if follower.strip() == "Metadata:":
                continue
            if _STREAM.match(follower) or not follower.startswith("      "):
                break
            found = _TITLE.match(follower)
            if found:
                title = found.group(1).strip()
        language = stream.group("lang")
        streams.append(
            AudioStream(
                audio_index=len(streams),
                codec=fields[0].split(" ")[0] if fields else "",
                sample_rate_hz=int(rate.group(1)) if rate else None,
                channels=fields[2] if len(fields) > 2 else "",
                language=None if language in (None, "und") else language,
                title=title,
            )
        )
    return duration_ms, tuple(streams)


def parse_video(ffmpeg_log: str) -> VideoStream | None:
    """Size and frame rate of input #0's first video stream that is not an attached picture."""
    in_input = False
    for line in ffmpeg_log.splitlines():
        if line.startswith("Input #"):
            in_input = line.startswith("Input #0")
            continue
        if line.startswith("Output #"):
            in_input = False
        stream = _STREAM.match(line) if in_input else None
        if not stream or stream.group("kind") != "Video" or "attached pic" in line:
            continue
        size = _SIZE.search(stream.group("rest") + " ")
        if not size:
            continue
        fps = _FPS.search(line)
        return VideoStream(
            width=int(size.group(1)),
            height=int(size.group(2)),
            frame_rate=_frame_rate(float(fps.group(1)) * (1000 if fps.group(2) else 1))
            if fps
            else None,
        )
    return None


def _frame_rate(fps: float) -> Fraction | None:
    """ffmpeg prints 29.97 for 30000/1001: NTSC-style rates are recognised, others kept."""
    if not 0 < fps < 1000:
        return None
    whole = round(fps)
    if whole and abs(fps - whole * 1000 / 1001) < 0.006 and abs(fps - whole) > 0.006:
        return Fraction(whole * 1000, 1001)
    return Fraction(fps).limit_denominator(1001)


def _first_error_line(log: str, source: str) -> str:
    """The most telling line of an ffmpeg log: its first error (the root cause), without the
    `[tag @ 0x..]` prefix or the input's name (the caller names the file already)."""
    lines = []
    for raw in log.splitlines():
        line = re.sub(r"^\[[^\]]*\]\s*", "", raw).replace(source + ": ", "").strip()
        if line:
            lines.append(line)
    for line in lines:
        lowered = line.lower()
        if "error" in lowered or "invalid" in lowered or "not found" in lowered:
            return line.rstrip(".")
    return lines[-1].rstrip(".") if lines else "ffmpeg failed"


def _check_file(path: Path) -> None:
    if not path.exists():
        raise MediaError(str(path), "no such file")
    if path.is_file() and path.stat().st_size == 0:
        raise MediaError(str(path), "empty file (0 bytes)")
    if not os.access(path, os.R_OK):
        raise MediaError(str(path), "not readable (permission denied)")


def _probe_command(path: Path, audio_stream: int) -> list[str]:
    command: list[str] = (
        ffmpeg.input(media_source(path))
        .output("pipe:", format="framecrc", map=f"0:a:{audio_stream}?", **{"frames:a": 1})
        .global_args("-hide_banner", "-nostdin", "-nostats")
        .compile(cmd=ffmpeg_executable())
    )
    return command


def probe(path: Path, audio_stream: int = 0) -> MediaInfo:
    """List the file's audio streams and find where the chosen one starts, in one ffmpeg run."""
    _check_file(path)
    try:
        result = subprocess.run(
            _probe_command(path, audio_stream),
            capture_output=True,
            timeout=PROBE_TIMEOUT_S,
            check=False,
            env=child_environment(),
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise MediaError(str(path), f"ffmpeg could not be run: {error}") from error
    return _probe_result(path, audio_stream, result.returncode, result.stdout, result.stderr)


async def probe_async(path: Path, audio_stream: int = 0) -> MediaInfo:
    """`probe` as an asyncio subprocess: the event loop goes on while ffmpeg reads the file."""
    _check_file(path)
    try:
        process = await asyncio.create_subprocess_exec(
            *_probe_command(path, audio_stream),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=child_environment(),
        )
    except OSError as error:
        raise MediaError(str(path), f"ffmpeg could not be run: {error}") from error
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), PROBE_TIMEOUT_S)
    except TimeoutError as error:
        process.kill()
        await process.wait()
        raise MediaError(str(path), "ffmpeg took too long to read the file") from error
    assert process.returncode is not None
    return _probe_result(path, audio_stream, process.returncode, stdout, stderr)


def _probe_result(
    path: Path, audio_stream: int, returncode: int, stdout: bytes, stderr: bytes
) -> MediaInfo:
    log = stderr.decode("utf-8", "replace")
    if returncode != 0:
        raise MediaError(
            str(path), f"not readable media ({_first_error_line(log, media_source(path))})"
        )
    duration_ms, streams = parse_streams(log)
    if not streams:
        raise MediaError(str(path), "no audio stream")
    if audio_stream >= len(streams) or audio_stream < 0:
        raise MediaError(
            str(path),
            f"audio stream {audio_stream} does not exist (the file has {len(streams)}: "
            f"0..{len(streams) - 1})",
        )
    return MediaInfo(
        path=path,
        duration_ms=duration_ms,
        audio_streams=streams,
        start_offset_ms=_first_frame_ms(stdout.decode("ascii", "replace")),
        video=parse_video(log),
    )


def _first_frame_ms(framecrc: str) -> int:
    timebase = _FRAMECRC_TB.search(framecrc)
    first = _FRAMECRC_FIRST.search(framecrc)
    if not timebase or not first:
        return 0
    numerator, denominator = (int(value) for value in timebase.groups())
    return max(0, round(int(first.group(2)) * numerator * 1000 / denominator))


class PcmDecoder:
    """ffmpeg decoding one audio stream to 16 kHz mono s16le, read as 100 ms frames.

    `start_ms` seeks on the media timeline (ffmpeg's `-ss` before the input: decoded, exact).

    Iterate to get frames (the last may be shorter). `close()` stops ffmpeg early. After
    iteration ends, a failed decode raises MediaError with ffmpeg's own reason.
    """

    def __init__(
        self,
        path: Path,
        audio_stream: int = 0,
        start_ms: int = 0,
        frame_bytes: int = FRAME_BYTES,
        live_source: str | None = None,
        input_format: str | None = None,
        label: str | None = None,
    ) -> None:
        self.path = path
        self.label = label or str(path)
        self.frame_bytes = frame_bytes
        self.reads_stdin = live_source == "pipe:0"
        self.reads_pipe = (live_source or "").startswith("pipe:")
        input_options: dict[str, str] = {"ss": f"{start_ms / 1000:.3f}"} if start_ms > 0 else {}
        if input_format is not None:
            input_options["format"] = input_format
        source = live_source if live_source is not None else media_source(path)
        self.source = source
        self.command = (
            ffmpeg.input(source, **input_options)
            .output(
                "pipe:",
                format="s16le",
                acodec="pcm_s16le",
                ac=1,
                ar=SAMPLE_RATE_HZ,
                map=f"0:a:{audio_stream}",
            )
            .global_args("-hide_banner", "-nostdin", "-nostats", "-loglevel", "error")
            .compile(cmd=ffmpeg_executable())
        )
        self._process: subprocess.Popen[bytes] | None = None
        self._stderr = bytearray()
        self._stderr_thread: threading.Thread | None = None
        self.bytes_read = 0

    def __iter__(self) -> Iterator[bytes]:
        try:
            process = subprocess.Popen(
                self.command,
                stdin=None if self.reads_stdin else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=child_environment(),
            )
        except OSError as error:
            raise MediaError(self.label, f"ffmpeg could not be run: {error}") from error
        self._process = process
        self._stderr_thread = threading.Thread(target=self._drain_stderr, daemon=True)
        self._stderr_thread.start()
        assert process.stdout is not None
        try:
            while True:
                frame = process.stdout.read(self.frame_bytes)
                if not frame:
                    break
                self.bytes_read += len(frame)
                yield frame
            process.wait()  # end of output: let ffmpeg exit by itself and report its status
        finally:
            self.close()
        failed = self.failure(process.returncode, bytes(self._stderr))
        if failed is not None:
            raise failed

    def failure(self, returncode: int, stderr: bytes) -> MediaError | None:
        """Why the decode failed, in one line, or None. ffmpeg may exit 0 having decoded
        nothing (a non-seekable MP4 on a pipe): its own error lines are the reason then."""
        if self._stopped_early:
            return None
        log = stderr.decode("utf-8", "replace")
        if self.reads_pipe and _MP4_ON_PIPE.search(log):
            return MediaError(
                self.label,
                "an MP4 whose index (moov) sits at its end cannot be read from a pipe: send "
                "MPEG-TS instead (ffmpeg -i IN -c copy -f mpegts -), remux it with "
                "-movflags +faststart, or give its path",
            )
        if returncode == 0 and (self.bytes_read > 0 or not log.strip()):
            return None
        reason = _first_error_line(log, self.source)
        return MediaError(self.label, f"decoding failed ({reason})")

    _stopped_early = False

    def close(self) -> None:
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            self._stopped_early = True
            process.kill()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()
        if self._stderr_thread is not None:
            self._stderr_thread.join()

    def _drain_stderr(self) -> None:
        process = self._process
        assert process is not None and process.stderr is not None
        for chunk in iter(lambda: process.stderr.read(4096), b""):  # type: ignore[union-attr]
            if len(self._stderr) < STDERR_KEEP_BYTES:
                self._stderr.extend(chunk)
        process.stderr.close()


class AsyncPcmDecoder(PcmDecoder):
    """The same decode as an asyncio subprocess: frames are awaited, stderr is drained by a
    task on the loop, so any number of inputs decode on one thread."""

    async def frames(self) -> AsyncGenerator[bytes, None]:
        try:
            process = await asyncio.create_subprocess_exec(
                *self.command,
                stdin=None if self.reads_stdin else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=child_environment(),
            )
        except OSError as error:
            raise MediaError(self.label, f"ffmpeg could not be run: {error}") from error
        self._async_process = process
        assert process.stdout is not None and process.stderr is not None
        drain = asyncio.create_task(self._drain(process.stderr))
        try:
            while True:
                try:
                    frame = await process.stdout.readexactly(self.frame_bytes)
                except asyncio.IncompleteReadError as short:
                    frame = short.partial
                if not frame:
                    break
                frame = frame[: len(frame) - len(frame) % 2]  # whole samples only
                self.bytes_read += len(frame)
                yield frame
                if len(frame) < self.frame_bytes:
                    break
            await process.wait()
        finally:
            await self.aclose()
            await drain
        assert process.returncode is not None
        failed = self.failure(process.returncode, bytes(self._stderr))
        if failed is not None:
            raise failed

    async def aclose(self) -> None:
        process = getattr(self, "_async_process", None)
        if process is None:
            return
        if process.returncode is None:
            self._stopped_early = True
            process.kill()
        if process.stdout is not None:
            # Read to the end: asyncio counts the process as exited only once its pipes are
            # closed, and a full, unread stdout pipe would never report its end.
            while await process.stdout.read(1 << 16):
                pass
        await process.wait()

    async def _drain(self, stream: asyncio.StreamReader) -> None:
        while chunk := await stream.read(4096):
            if len(self._stderr) < STDERR_KEEP_BYTES:
                self._stderr.extend(chunk)
