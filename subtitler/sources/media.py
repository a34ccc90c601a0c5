"""ffmpeg (through ffmpeg-python): one process per input lists it and decodes one audio stream.

Knows nothing of Gummy. Paths are always passed as `file:` URLs inside an argument list,
so a user's file name is never read as an option, a protocol or a shell word.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import subprocess
from collections.abc import AsyncGenerator, Iterator
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any

import ffmpeg

from subtitler.errors import MediaError

SAMPLE_RATE_HZ = 16000
BYTES_PER_MS = SAMPLE_RATE_HZ * 2 // 1000
FRAME_MS = 100
FRAME_BYTES = FRAME_MS * BYTES_PER_MS
STDERR_KEEP_BYTES = 64 * 1024


SECRET_VARIABLES = ("DASHSCOPE_API_KEY",)


def child_environment() -> dict[str, str]:
    """ffmpeg's environment: ours without the API key (a child never needs it)."""
    return {name: value for name, value in os.environ.items() if name not in SECRET_VARIABLES}


OLDEST_FFMPEG = (4, 4)
"""The oldest ffmpeg subtitler runs on: `scdet` (shot changes) came in 4.4 (Ubuntu 22.04's); the
decode, the listing it parses, `framecrc` and the HLS muxer's options are older."""

_FFMPEG_VERSION = re.compile(r"^ffmpeg version n?(\d+)\.(\d+)")


def parse_ffmpeg_version(version_output: str) -> tuple[int, int] | None:
    """(major, minor) from `ffmpeg -version`'s first line (`5.1.6-0+deb12u1`, `n7.1`,
    `4.4.2-0ubuntu0.22.04.1`); None for a snapshot (`N-113472-g...`), which names no release."""
    match = _FFMPEG_VERSION.match(version_output)
    return (int(match.group(1)), int(match.group(2))) if match else None


def bundled_ffmpeg() -> str:
    """The static ffmpeg in the imageio-ffmpeg wheel (a dependency, so always there)."""
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def ffmpeg_unusable(executable: str) -> str | None:
    """Why `executable` cannot serve (it does not run, or it is older than OLDEST_FFMPEG), or
    None; a snapshot build, whose version says nothing, is taken."""
    try:
        answer = subprocess.run(
            [executable, "-version"], stdin=subprocess.DEVNULL, capture_output=True,
            text=True, errors="replace", timeout=60, env=child_environment(), check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError) as error:
        return f"ffmpeg cannot be run ({error})"
    version = parse_ffmpeg_version(answer.stdout)
    if version is None and answer.returncode != 0:
        return f"ffmpeg -version failed (exit status {answer.returncode})"
    if version is not None and version < OLDEST_FFMPEG:
        oldest = ".".join(map(str, OLDEST_FFMPEG))
        return f"ffmpeg {version[0]}.{version[1]} is older than {oldest}, the oldest supported"
    return None


@cache
def ffmpeg_executable() -> str:
    """`SUBTITLER_FFMPEG` (one-line MediaError when unusable), else the system's ffmpeg on PATH
    when it is OLDEST_FFMPEG or newer, else the imageio-ffmpeg one. Checked once per process."""
    chosen = os.environ.get("SUBTITLER_FFMPEG")
    if chosen:
        unusable = ffmpeg_unusable(chosen)
        if unusable is not None:
            raise MediaError(chosen, f"{unusable}; unset SUBTITLER_FFMPEG to use the bundled one")
        return chosen
    system = shutil.which("ffmpeg")
    if system and ffmpeg_unusable(system) is None:
        return system
    return bundled_ffmpeg()


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
    timecode: str | None = None
    """The master's start timecode (`timecode` metadata: a MOV/MXF tag or track), if any."""


@dataclass(frozen=True)
class SubtitleStream:
    """An embedded subtitle stream: `index` is its place among all streams (`Stream #0:2`)."""

    index: int
    language: str | None
    forced: bool


@dataclass(frozen=True)
class MediaInfo:
    """What decoding needs to know up front."""

    path: Path
    duration_ms: int | None
    audio_streams: tuple[AudioStream, ...]
    start_offset_ms: int
    """Where the chosen stream's first sample sits on the media timeline (late audio > 0)."""
    video: VideoStream | None = None
    subtitle_streams: tuple[SubtitleStream, ...] = ()


_DURATION = re.compile(r"^\s*Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)", re.MULTILINE)
_STREAM = re.compile(
    r"^\s*Stream #0:(?P<index>\d+)(?:\[[^\]]*\])?(?:\((?P<lang>[^)]*)\))?: "
    r"(?P<kind>\w+): (?P<rest>.*)$"
)
_TITLE = re.compile(r"^\s+title\s*: (.*)$")
_SIZE = re.compile(r"[ ,](\d{2,5})x(\d{2,5})[ ,\[]")
_FPS = re.compile(r"(\d+(?:\.\d+)?)(k?) fps")
_RATE = re.compile(r"(\d+) Hz")
_TIMECODE = re.compile(r"^\s+timecode\s*: (\d{2}:\d{2}:\d{2}[:;.,]\d{2})\s*$", re.MULTILINE)
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


def _input_streams(ffmpeg_log: str) -> Iterator[tuple[re.Match[str], str]]:
    """Input #0's `Stream #0:N` lines as ffmpeg lists them (outputs' listings left out)."""
    in_input = False
    for line in ffmpeg_log.splitlines():
        if line.startswith("Input #"):
            in_input = line.startswith("Input #0")
            continue
        if line.startswith("Output #"):
            in_input = False
        stream = _STREAM.match(line) if in_input else None
        if stream is not None:
            yield stream, line


def parse_subtitles(ffmpeg_log: str) -> tuple[SubtitleStream, ...]:
    """Input #0's subtitle streams, with their language tags and forced flags."""
    return tuple(
        SubtitleStream(
            int(stream.group("index")),
            None if stream.group("lang") in (None, "und") else stream.group("lang"),
            "(forced)" in stream.group("rest"),
        )
        for stream, _ in _input_streams(ffmpeg_log)
        if stream.group("kind") == "Subtitle"
    )


def parse_video(ffmpeg_log: str) -> VideoStream | None:
    """Size and frame rate of input #0's first video stream that is not an attached picture."""
    for stream, line in _input_streams(ffmpeg_log):
        if stream.group("kind") != "Video" or "attached pic" in line:
            continue
        size = _SIZE.search(stream.group("rest") + " ")
        if not size:
            continue
        fps = _FPS.search(line)
        timecode = _TIMECODE.search(ffmpeg_log.split("Output #", 1)[0])
        return VideoStream(
            width=int(size.group(1)),
            height=int(size.group(2)),
            timecode=timecode.group(1) if timecode else None,
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


def wav_command(source: Path, wav: Path, limit_s: float | None = None) -> list[str]:
    """ffmpeg decoding any media to a 16 kHz mono WAV, padded from the media's time 0 so cues
    keep the video's timeline (late audio); at most `limit_s` seconds."""
    command = [ffmpeg_executable(), "-hide_banner", "-nostdin", "-loglevel", "error",
               "-i", media_source(source), "-vn", "-ac", "1", "-ar", str(SAMPLE_RATE_HZ),
               "-af", "aresample=async=1:first_pts=0", "-c:a", "pcm_s16le"]  # fmt: skip
    if limit_s is not None:
        command += ["-t", str(limit_s)]
    return [*command, "-f", "wav", "-y", media_source(wav)]


def scene_command(source: Path, threshold: float) -> list[str]:
    """ffmpeg scoring each picture of the first video stream against the one before (`scdet`)
    on a copy scaled to 120 lines: the decode is the cost; the comparison is nearly free. The
    copy is planar RGB: on YUV, scdet scores the luma plane alone and misses a cut that changes
    hue more than brightness (yellow to white); on RGB it scores every plane."""
    return [ffmpeg_executable(), "-hide_banner", "-nostdin", "-loglevel", "info",
            "-i", media_source(source), "-map", "0:v:0", "-an", "-sn", "-dn",
            "-vf", f"scale=-2:120,format=gbrp,scdet=threshold={threshold:g}",
            "-f", "null", "-"]  # fmt: skip


async def run_to_end(command: list[str]) -> tuple[int, str]:
    """An ffmpeg command with nothing on stdin or stdout (it writes files, or nothing): its exit
    status and its log, the key kept out of its environment."""
    process = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env=child_environment(),
    )
    _, stderr = await process.communicate()
    return int(process.returncode or 0), stderr.decode("utf-8", "replace")


async def detect_scenes(source: Path, threshold: float) -> str:
    """`scene_command`'s log (where scdet prints each change), in a process of its own; a
    MediaError with ffmpeg's first error when it fails."""
    status, log = await run_to_end(scene_command(source, threshold))
    if status != 0:
        cause = _first_error_line(log, media_source(source)) or "ffmpeg failed"
        raise MediaError(str(source), f"shot detection: {cause}")
    return log


def _media_info(
    path: Path, audio_stream: int, log: str, start_offset_ms: int, label: str
) -> MediaInfo:
    """What ffmpeg's listing of input #0 says, checked against the audio stream asked for."""
    duration_ms, streams = parse_streams(log)
    if not streams:
        raise MediaError(label, "no audio stream")
    if audio_stream >= len(streams) or audio_stream < 0:
        raise MediaError(
            label,
            f"audio stream {audio_stream} does not exist (the file has {len(streams)}: "
            f"0..{len(streams) - 1})",
        )
    return MediaInfo(
        path=path,
        duration_ms=duration_ms,
        audio_streams=streams,
        start_offset_ms=start_offset_ms,
        video=parse_video(log),
        subtitle_streams=parse_subtitles(log),
    )


def _first_frame_ms(framecrc: str) -> int | None:
    timebase = _FRAMECRC_TB.search(framecrc)
    first = _FRAMECRC_FIRST.search(framecrc)
    if not timebase or not first:
        return None
    numerator, denominator = (int(value) for value in timebase.groups())
    return max(0, round(int(first.group(2)) * numerator * 1000 / denominator))


_LISTING_END = ("Stream mapping:", "Output #0")


@dataclass(frozen=True)
class HlsMedia:
    """A second output of the decoding ffmpeg: the input's first video stream (if any) and the
    chosen audio stream remuxed, not re-encoded, into HLS MPEG-TS segments; one process, so the
    segments and the PCM share the input's timestamps. `window`: a sliding playlist of that many
    segments (else an EVENT playlist that keeps them all)."""

    playlist: Path
    segment_s: float = 4.0
    window: int | None = None


class AsyncPcmDecoder:
    """One ffmpeg per input that both tells and decodes: `start()` reads its listing of the
    input (streams, duration, video size; no separate probe process) and, from the start of a
    file, where the chosen audio stream's first sample sits on the media timeline (a second
    output of one `framecrc` frame on its own pipe); `frames()` then yields 16 kHz mono s16le.

    `start_ms` seeks on the media timeline (ffmpeg's `-ss` before the input: decoded, exact).
    The frames are awaited and stderr drained on the loop, so any number of inputs decode on
    one thread. After the frames end, a failed decode raises MediaError with ffmpeg's reason.
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
        hls: HlsMedia | None = None,
    ) -> None:
        self.path = path
        self.hls = hls
        self.audio_stream = audio_stream
        self.start_ms = start_ms
        self.label = label or str(path)
        self.frame_bytes = frame_bytes
        self.reads_stdin = live_source == "pipe:0"
        self.reads_pipe = (live_source or "").startswith("pipe:")
        self.live = live_source is not None
        self._input_options: dict[str, str] = (
            {"ss": f"{start_ms / 1000:.3f}"} if start_ms > 0 else {}
        )
        if input_format is not None:
            self._input_options["format"] = input_format
        self.source = live_source if live_source is not None else media_source(path)
        self._process: asyncio.subprocess.Process | None = None
        self._stderr = bytearray()
        self._listing = ""
        self._drain: asyncio.Task[None] | None = None
        self._stopped_early = False
        self.bytes_read = 0

    def command(self, first_frame_fd: int | None = None) -> list[str]:
        """ffmpeg's arguments; with `first_frame_fd`, a second output: the chosen stream's first
        frame as `framecrc` on that descriptor (its time is the stream's start).

        A file's PCM is written in ffmpeg's 32 KB blocks (`flush_packets 0`), not one write per
        decoded packet (about 680 bytes for AAC): 48 times fewer writes and wake-ups on both
        ends of the pipe, and no delay, since a file decodes faster than it is sent. A live
        source keeps one write per packet: its audio is sent as it comes."""
        source = ffmpeg.input(self.source, **self._input_options)
        pcm: dict[str, Any] = {"flush_packets": 0} if not self.live else {}
        outputs = [
            source.output(
                "pipe:1",
                format="s16le",
                acodec="pcm_s16le",
                ac=1,
                ar=SAMPLE_RATE_HZ,
                map=f"0:a:{self.audio_stream}",
                **pcm,
            )
        ]
        if self.hls is not None:
            outputs.append(self._hls_output(source, self.hls))
        if first_frame_fd is not None:
            outputs.append(
                source.output(
                    f"pipe:{first_frame_fd}",
                    format="framecrc",
                    map=f"0:a:{self.audio_stream}",
                    flush_packets=1,  # written at once, whatever the muxer would buffer
                    # One sample of the first frame, then the branch ends: without the trim
                    # every later frame was still converted for this output and thrown away,
                    # 15% of ffmpeg's instructions for a file (docs/performance.md).
                    af="atrim=end_sample=1",
                    **{"frames:a": 1},
                )
            )
        command: list[str] = (
            ffmpeg.merge_outputs(*outputs)
            .global_args("-hide_banner", "-nostdin", "-nostats", "-loglevel", "info")
            .compile(cmd=ffmpeg_executable())
        )
        return command

    def _hls_output(self, source: Any, hls: HlsMedia) -> Any:
        options: dict[str, Any] = {
            "format": "hls",
            "c": "copy",
            "hls_time": f"{hls.segment_s:g}",
            "hls_segment_filename": str(hls.playlist.with_name("seg%05d.ts")),
            "muxdelay": 0,  # no 1.4 s mux delay: the subtitles' timestamp map stays simple
            "muxpreload": 0,
        }
        if hls.window is None:
            options.update(hls_playlist_type="event", hls_flags="temp_file")
        else:
            options.update(hls_list_size=hls.window, hls_flags="temp_file+delete_segments")
        return ffmpeg.output(
            source["v:0?"], source[f"a:{self.audio_stream}"], str(hls.playlist), **options
        )

    async def start(self) -> MediaInfo | None:
        """Start ffmpeg; for a file, what it says of the input (raises MediaError: unreadable,
        no audio, no such stream). A live source is not waited for: None."""
        if not self.live:
            _check_file(self.path)
        ffmpeg_executable()  # an unusable SUBTITLER_FFMPEG raises here, before a pipe is opened
        reader: asyncio.StreamReader | None = None
        first_frame_fd = None
        if not self.live and self.start_ms == 0:
            read_fd, first_frame_fd = os.pipe()
        try:
            self._process = await asyncio.create_subprocess_exec(
                *self.command(first_frame_fd),
                stdin=None if self.reads_stdin else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=child_environment(),
                pass_fds=() if first_frame_fd is None else (first_frame_fd,),
            )
        except OSError as error:
            if first_frame_fd is not None:
                os.close(read_fd)
            raise MediaError(self.label, f"ffmpeg could not be run: {error}") from error
        finally:
            if first_frame_fd is not None:
                os.close(first_frame_fd)
        assert self._process.stderr is not None
        try:
            if first_frame_fd is not None:
                reader = asyncio.StreamReader()
                loop = asyncio.get_running_loop()
                await loop.connect_read_pipe(
                    lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(read_fd, "rb", 0)
                )
            if self.live:
                self._drain = asyncio.create_task(self._drain_stderr())
                return None
            await self._read_listing(self._process.stderr)
            self._drain = asyncio.create_task(self._drain_stderr())
            offset_ms = 0
            if reader is not None:
                offset_ms = await self._first_frame(reader)
        except asyncio.CancelledError:
            # A run stopped (a refused key) while this input was starting: its ffmpeg is
            # killed and reaped here, not left to the loop's close (where asyncio's transport
            # reaped it behind its child watcher's back: a stray warning on stderr).
            await self.aclose()
            raise
        try:
            return _media_info(self.path, self.audio_stream, self._listing, offset_ms, self.label)
        except MediaError:
            await self.aclose()
            raise

    async def _read_listing(self, stderr: asyncio.StreamReader) -> None:
        """ffmpeg's lines up to the end of its input listing (or its exit)."""
        lines: list[str] = []
        while line := await stderr.readline():
            text = line.decode("utf-8", "replace")
            lines.append(text)
            if text.startswith(_LISTING_END):
                break
        self._listing = "".join(lines)
        if not lines or not any(text.startswith("Input #0") for text in lines):
            await self._fail_unreadable()

    async def _fail_unreadable(self) -> None:
        await self.aclose()
        if self._drain is not None:
            await self._drain
        log = self._listing + bytes(self._stderr).decode("utf-8", "replace")
        reason = _first_error_line(log, self.source)
        raise MediaError(self.label, f"not readable media ({reason})")

    async def _first_frame(self, reader: asyncio.StreamReader) -> int:
        """The first data line of the framecrc output: the stream's first timestamp."""
        text = ""
        while line := await reader.readline():
            text += line.decode("ascii", "replace")
            found = _first_frame_ms(text)
            if found is not None:
                return found
        return 0

    async def frames(self) -> AsyncGenerator[bytes, None]:
        if self._process is None:
            await self.start()
        process = self._process
        assert process is not None and process.stdout is not None
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
            if self._drain is not None:
                await self._drain
        assert process.returncode is not None
        failed = self.failure(process.returncode, bytes(self._stderr))
        if failed is not None:
            raise failed

    def failure(self, returncode: int, stderr: bytes) -> MediaError | None:
        """Why the decode failed, in one line, or None. ffmpeg may exit 0 having decoded
        nothing (a non-seekable MP4 on a pipe): its own error lines are the reason then."""
        if self._stopped_early:
            return None
        log = self._listing + stderr.decode("utf-8", "replace")
        if self.reads_pipe and _MP4_ON_PIPE.search(log):
            return MediaError(
                self.label,
                "an MP4 whose index (moov) sits at its end cannot be read from a pipe: send "
                "MPEG-TS instead (ffmpeg -i IN -c copy -f mpegts -), remux it with "
                "-movflags +faststart, or give its path",
            )
        errors = _error_lines(stderr.decode("utf-8", "replace"))
        if returncode == 0 and (self.bytes_read > 0 or not errors):
            return None
        reason = _first_error_line(errors or log, self.source)
        return MediaError(self.label, f"decoding failed ({reason})")

    async def aclose(self) -> None:
        process = self._process
        if process is None:
            return
        if process.returncode is None:
            self._stopped_early = True
            # Not `process.kill()`: Popen polls first, and when ffmpeg has just exited that
            # reaps it behind asyncio's child watcher (which then warns on stderr). Its exit is
            # not yet heard here, so the pid is still this child's (alive or a zombie).
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGKILL)
        if process.stdout is not None:
            # Read to the end: asyncio counts the process as exited only once its pipes are
            # closed, and a full, unread stdout pipe would never report its end.
            while await process.stdout.read(1 << 16):
                pass
        try:
            await process.wait()
        except asyncio.CancelledError:
            await process.wait()  # killed above: its exit is moments away; reaped here
            raise

    async def _drain_stderr(self) -> None:
        assert self._process is not None and self._process.stderr is not None
        while chunk := await self._process.stderr.read(4096):
            if len(self._stderr) < STDERR_KEEP_BYTES:
                self._stderr.extend(chunk)


def _error_lines(log: str) -> str:
    """What ffmpeg said after its listing that is not information: its warnings and errors
    (the listing's own lines are indented or name inputs, outputs and the stream mapping)."""
    kept = []
    for line in log.splitlines():
        if not line.strip() or line.startswith((" ", "Input #", "Output #", "Stream mapping")):
            continue
        if line.startswith("[out#") or line.startswith("size=") or "muxing overhead" in line:
            continue  # the closing statistics
        kept.append(line)
    return "\n".join(kept)
