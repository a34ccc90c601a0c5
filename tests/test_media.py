"""Probing and decoding real fixture media with real ffmpeg (system or bundled)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path

import imageio_ffmpeg
import pytest

from subtitler.errors import MediaError
from subtitler.sources import media
from subtitler.sources.media import (
    BYTES_PER_MS,
    FRAME_BYTES,
    AsyncPcmDecoder,
    MediaInfo,
    parse_streams,
)
from tests.support import FIXTURES, decode_all

FFMPEGS = {"bundled": imageio_ffmpeg.get_ffmpeg_exe()}
SYSTEM_FFMPEG = shutil.which("ffmpeg")
if SYSTEM_FFMPEG and media.ffmpeg_unusable(SYSTEM_FFMPEG) is None:
    FFMPEGS["system"] = SYSTEM_FFMPEG


@pytest.fixture(params=sorted(FFMPEGS), autouse=True)
def ffmpeg_binary(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Every test here runs with each ffmpeg available: the wheel's and the system's."""
    monkeypatch.setenv("SUBTITLER_FFMPEG", FFMPEGS[request.param])
    media.ffmpeg_executable.cache_clear()
    yield request.param
    media.ffmpeg_executable.cache_clear()


def probe(path: Path, audio_stream: int = 0) -> MediaInfo:
    """What the decoder tells before its first frame (then it is stopped)."""

    async def run() -> MediaInfo:
        decoder = AsyncPcmDecoder(path, audio_stream)
        try:
            info = await decoder.start()
        finally:
            await decoder.aclose()
        assert info is not None
        return info

    return asyncio.run(run())


def frames_of(path: Path, start_ms: int = 0) -> list[bytes]:
    return decode_all(path, start_ms=start_ms)[1]


def test_probe_lists_audio_streams_and_duration() -> None:
    info = probe(FIXTURES / "en_station_two_tracks.mkv", 1)
    assert [s.title for s in info.audio_streams] == ["Music and effects", "English dialogue"]
    assert info.audio_streams[1].language == "eng"
    assert info.duration_ms is not None and 15000 <= info.duration_ms <= 15200


def test_late_audio_stream_start_is_found() -> None:
    info = probe(FIXTURES / "en_late_audio.mp4")
    assert 2400 <= info.start_offset_ms <= 2550
    assert probe(FIXTURES / "zh_news.mp4").start_offset_ms == 0


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("empty.mp4", "empty file (0 bytes)"),
        ("corrupt_truncated.mp4", "not readable media"),
        ("no_audio.mp4", "no audio stream"),
        ("missing.mp4", "no such file"),
    ],
)
def test_bad_media_fails_with_one_line_naming_the_file(name: str, fragment: str) -> None:
    with pytest.raises(MediaError) as caught:
        probe(FIXTURES / name)
    message = str(caught.value)
    assert message.startswith(str(FIXTURES / name) + ": ")
    assert fragment in message and "\n" not in message


def test_a_missing_audio_stream_index_says_which_exist() -> None:
    with pytest.raises(MediaError, match=r"audio stream 2 does not exist .*0\.\.1"):
        probe(FIXTURES / "en_station_two_tracks.mkv", 2)


def test_decode_gives_100ms_frames_of_the_whole_stream() -> None:
    path = FIXTURES / "Café 'déjà vu' 北京 #1.m4a"
    info, frames = decode_all(path)
    assert all(len(f) == FRAME_BYTES for f in frames[:-1])
    total_ms = sum(len(f) for f in frames) // BYTES_PER_MS
    assert info.duration_ms is not None and abs(total_ms - info.duration_ms) < 100


def test_a_file_is_written_in_blocks_and_a_live_source_packet_by_packet() -> None:
    """ffmpeg writes a file's PCM in its 32 KB blocks (48 times fewer writes on the pipe than
    one per AAC packet); a live source's audio is written as it is decoded."""
    path = FIXTURES / "zh_news.mp4"
    file_command = AsyncPcmDecoder(path).command()
    live_command = AsyncPcmDecoder(path, live_source=media.media_source(path)).command()
    pcm_options = file_command[: file_command.index("pipe:1")]
    assert pcm_options[pcm_options.index("-flush_packets") + 1] == "0"
    assert "-flush_packets" not in live_command[: live_command.index("pipe:1")]


def test_a_file_decodes_to_the_same_pcm_written_in_blocks_or_packet_by_packet() -> None:
    """Block writes change when the bytes arrive, never which: the same file read as a file and
    as a live source (one write per packet) gives the same PCM, byte for byte."""
    path = FIXTURES / "zh_podcast.mp3"

    async def live() -> bytes:
        decoder = AsyncPcmDecoder(path, live_source=media.media_source(path))
        await decoder.start()
        return b"".join([frame async for frame in decoder.frames()])

    as_file = b"".join(frames_of(path))
    assert len(as_file) > 10 * FRAME_BYTES
    assert as_file == asyncio.run(live())


def test_decode_from_a_start_time_skips_that_much(tmp_path: Path) -> None:
    path = FIXTURES / "zh_news.mp4"
    whole = sum(len(f) for f in frames_of(path)) // BYTES_PER_MS
    rest = sum(len(f) for f in frames_of(path, start_ms=10000)) // BYTES_PER_MS
    assert abs((whole - rest) - 10000) <= 30


def test_a_name_that_looks_like_an_option_or_protocol_is_just_a_file(tmp_path: Path) -> None:
    tricky = tmp_path / "-i http:evil.mp3"
    shutil.copy(FIXTURES / "zh_podcast.mp3", tricky)
    assert probe(tricky).audio_streams[0].codec == "mp3"
    assert sum(len(f) for f in frames_of(tricky)) > 0


def test_stopping_early_kills_ffmpeg_without_error() -> None:
    async def run() -> int | None:
        decoder = AsyncPcmDecoder(FIXTURES / "zh_news.mp4")
        frames = decoder.frames()
        await anext(frames)
        await frames.aclose()
        await decoder.aclose()
        assert decoder._process is not None
        return decoder._process.returncode

    assert asyncio.run(run()) is not None  # ended and reaped, and no MediaError raised


def test_parse_streams_reads_an_ffmpeg_listing() -> None:
    listing = (
        "Input #0, matroska,webm, from 'x.mkv':\n"
        "  Duration: 01:02:03.50, start: 0.000000, bitrate: 107 kb/s\n"
        "  Stream #0:0: Video: h264 (High), yuv420p, 160x90\n"
        "  Stream #0:1(jpn): Audio: aac (LC), 44100 Hz, 5.1, fltp (default)\n"
        "    Metadata:\n"
        "      title           : Commentary\n"
        "Output #0, framecrc, to 'pipe:':\n"
        "  Stream #0:0: Audio: pcm_s16le, 44100 Hz, 5.1, s16\n"
    )
    duration_ms, streams = parse_streams(listing)
    assert duration_ms == 3723500
    assert len(streams) == 1
    assert (streams[0].codec, streams[0].sample_rate_hz, streams[0].channels) == (
        "aac",
        44100,
        "5.1",
    )
    assert (streams[0].language, streams[0].title) == ("jpn", "Commentary")


def test_video_size_and_frame_rate_come_from_ffmpegs_listing() -> None:
    from fractions import Fraction

    from subtitler.sources.media import parse_video

    log = "\n".join(
        [
            "Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'file:/x.mp4':",
            "  Duration: 00:00:13.50, start: 0.000000, bitrate: 93 kb/s",
            "  Stream #0:0[0x1](und): Video: mjpeg (Baseline), yuvj420p(pc), 300x300 "
            "[SAR 1:1 DAR 1:1], 90k tbr, 90k tbn (attached pic)",
            "  Stream #0:1[0x2](eng): Video: h264 (High) (avc1 / 0x31637661), yuv420p(tv, "
            "bt709, progressive), 1920x1080 [SAR 1:1 DAR 16:9], 29.97 fps, 29.97 tbr, 30k tbn",
            "  Stream #0:2[0x3](und): Audio: aac (LC) (mp4a / 0x6134706D), 48000 Hz, stereo",
            "Output #0, framecrc, to 'pipe:':",
            "  Stream #0:0: Video: rawvideo, 640x480, 25 fps",
        ]
    )
    video = parse_video(log)
    assert video is not None
    assert (video.width, video.height, video.frame_rate) == (1920, 1080, Fraction(30000, 1001))
    assert parse_video(log.replace("29.97 fps", "25 fps")).frame_rate == Fraction(25)  # type: ignore[union-attr]
    assert parse_video(
        log.replace("23.98", "x").replace("29.97 fps", "23.98 fps")
    ).frame_rate == Fraction(24000, 1001)  # type: ignore[union-attr]
    audio_only = "\n".join(line for line in log.splitlines() if "Video" not in line)
    assert parse_video(audio_only) is None


def test_ffmpeg_versions_are_read_from_the_first_line_of_its_answer() -> None:
    assert media.parse_ffmpeg_version("ffmpeg version 5.1.6-0+deb12u1 Copyright (c)") == (5, 1)
    assert media.parse_ffmpeg_version("ffmpeg version 4.4.2-0ubuntu0.22.04.1 Copyright") == (4, 4)
    assert media.parse_ffmpeg_version("ffmpeg version n9.0.2-17-g2a571b6068-20260930") == (9, 0)
    assert media.parse_ffmpeg_version("ffmpeg version 4.2.2-static https://") == (4, 2)
    assert media.parse_ffmpeg_version("ffmpeg version N-113472-g1b2c3d4 Copyright") is None


def fake_ffmpeg(folder: Path, version_line: str) -> Path:
    """An executable named ffmpeg that answers `-version` as an old or new release would (an
    empty line: as a broken one, failing)."""
    folder.mkdir(parents=True, exist_ok=True)
    fake = folder / "ffmpeg"
    fake.write_text(
        f"#!/bin/sh\necho '{version_line}'\n" if version_line else "#!/bin/sh\nexit 1\n"
    )
    fake.chmod(0o755)
    return fake


@pytest.mark.parametrize(
    ("version_line", "chosen"),
    [
        ("ffmpeg version 4.2.2-static https://johnvansickle.com/ffmpeg/", "bundled"),
        ("ffmpeg version 4.4.2-0ubuntu0.22.04.1 Copyright (c) 2000-2021", "system"),
        ("ffmpeg version 5.1.6-0+deb12u1 Copyright (c) 2000-2024", "system"),
        ("ffmpeg version N-113472-g1b2c3d4 Copyright (c) 2000-2024", "system"),
        ("", "bundled"),
    ],
)
def test_a_system_ffmpeg_older_than_4_4_is_passed_over_for_the_bundled_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version_line: str, chosen: str
) -> None:
    system = fake_ffmpeg(tmp_path / "bin", version_line)
    monkeypatch.delenv("SUBTITLER_FFMPEG")
    monkeypatch.setenv("PATH", str(system.parent))
    media.ffmpeg_executable.cache_clear()
    expected = {"bundled": media.bundled_ffmpeg(), "system": str(system)}[chosen]
    assert media.ffmpeg_executable() == expected


def test_an_old_ffmpeg_named_by_subtitler_ffmpeg_is_refused_in_one_line(tmp_path: Path) -> None:
    old = fake_ffmpeg(tmp_path / "old", "ffmpeg version 4.2.2-static https://")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SUBTITLER_FFMPEG", str(old))
        media.ffmpeg_executable.cache_clear()
        with pytest.raises(MediaError) as caught:
            probe(FIXTURES / "zh_news.mp4")
    message = str(caught.value)
    assert str(old) in message and "4.2 is older than 4.4" in message and "\n" not in message
