"""An upload's audio on disk: the multipart `audio_file` streamed to a folder of its own, made
16 kHz mono WAV (a header on raw PCM, or ffmpeg's decode), the folder removed after."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import struct
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from subtitler.serve.problems import RequestProblem
from subtitler.sources.media import run_to_end, wav_command

SAMPLE_RATE_HZ = 16000


@dataclass(frozen=True)
class Upload:
    path: Path
    filename: str
    size: int


def wav_header(data_bytes: int) -> bytes:
    """A 44-byte RIFF header for 16 kHz mono 16-bit PCM of this many bytes."""
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF", 36 + data_bytes, b"WAVE", b"fmt ", 16, 1, 1, SAMPLE_RATE_HZ,
        SAMPLE_RATE_HZ * 2, 2, 16, b"data", data_bytes,
    )  # fmt: skip


@contextlib.asynccontextmanager
async def uploaded(
    request: web.Request, encode: bool, limit_s: float | None, max_upload_bytes: int
) -> AsyncIterator[tuple[Upload, Path]]:
    """The request's upload on disk and as 16 kHz mono WAV, in a folder of its own that is
    removed after (every file operation off the loop: a film's audio is gigabytes)."""
    folder = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="subtitler-serve-"))
    try:
        upload = await _receive(request, folder, max_upload_bytes)
        yield upload, await _to_wav(upload, encode, folder, limit_s)
    finally:
        await asyncio.to_thread(shutil.rmtree, folder, True)


async def _receive(request: web.Request, folder: Path, max_upload_bytes: int) -> Upload:
    """The `audio_file` part, streamed to disk (a film's audio does not fit in memory)."""
    if not request.content_type.startswith("multipart/"):
        raise RequestProblem(400, "expected multipart/form-data with an audio_file field")
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if getattr(part, "name", None) != "audio_file":
                continue
            filename = getattr(part, "filename", None) or "audio_file"
            path = folder / "upload"
            size = 0
            handle = await asyncio.to_thread(open, path, "wb")
            try:
                while chunk := await part.read_chunk(1 << 20):  # type: ignore[union-attr]
                    size += len(chunk)
                    if size > max_upload_bytes:
                        raise RequestProblem(413, "the upload is larger than --max-upload-mb")
                    await asyncio.to_thread(handle.write, chunk)
            finally:
                await asyncio.to_thread(handle.close)
            if size == 0:
                raise RequestProblem(400, "audio_file is empty")
            return Upload(path, Path(filename).name, size)
    except (ValueError, AssertionError) as error:
        raise RequestProblem(400, f"not a readable multipart upload ({error})") from error
    raise RequestProblem(422, "audio_file: the multipart field is missing")


async def _to_wav(upload: Upload, encode: bool, folder: Path, limit_s: float | None) -> Path:
    """16 kHz mono WAV: a header on raw PCM (encode=false), else ffmpeg's decode, padded
    from the media's time 0 so cues keep the video's timeline (late audio)."""
    wav = folder / "audio.wav"
    if not encode:
        if upload.size % 2:
            raise RequestProblem(400, "raw PCM (encode=false) must be whole 16-bit samples")
        size = upload.size
        if limit_s is not None:
            size = min(size, int(limit_s * SAMPLE_RATE_HZ) * 2)
        await asyncio.to_thread(_raw_to_wav, upload.path, wav, size)
        return wav
    status, log = await run_to_end(wav_command(upload.path, wav, limit_s))
    if status != 0:
        lines = log.strip().splitlines()
        cause = (lines[-1] if lines else "ffmpeg failed").replace(str(upload.path), "upload")
        raise RequestProblem(400, f"{upload.filename}: not readable media ({cause})")
    return wav


def _raw_to_wav(raw: Path, wav: Path, size: int) -> None:
    """Raw 16 kHz mono s16le (its first `size` bytes) as a WAV file."""
    with open(raw, "rb") as source, open(wav, "wb") as target:
        target.write(wav_header(size))
        shutil.copyfileobj(_limited(source, size), target)


def _limited(handle: Any, size: int) -> Any:
    """A file object that reads at most `size` bytes of `handle`."""

    class Limited:
        remaining = size

        def read(self, count: int = -1) -> bytes:
            if self.remaining <= 0:
                return b""
            wanted = self.remaining if count < 0 else min(count, self.remaining)
            data: bytes = handle.read(wanted)
            self.remaining -= len(data)
            return data

    return Limited()
