"""The HLS subtitle writer on events alone: the timestamp map's zero, when a segment is listed,
what a sliding window leaves on disk, and the renditions' names under `-s auto` (real files in
a temporary folder; the media segment is a hand-made MPEG-TS)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from pathlib import Path

from subtitler.events import (
    AudioProgress,
    CueWritten,
    Event,
    InputEnded,
    InputResult,
    InputStarted,
    PartialText,
    Status,
)
from subtitler.layout.cues import Cue, CueText
from subtitler.outputs.hls import HlsSubtitles, cue_zero_pts

VIDEO, AUDIO = 0xE0, 0xC0
INPUT = Path("camera.ts")


def pes_packet(pid: int, stream_id: int, pts: int) -> bytes:
    """One 188-byte MPEG-TS packet starting a PES with this PTS."""
    stamp = bytes([0x21 | (pts >> 29) & 0x0E, (pts >> 22) & 0xFF, 0x01 | (pts >> 14) & 0xFE,
                   (pts >> 7) & 0xFF, 0x01 | (pts << 1) & 0xFE])  # fmt: skip
    pes = b"\x00\x00\x01" + bytes([stream_id, 0, 0, 0x80, 0x80, 5]) + stamp
    packet = bytes([0x47, 0x40 | pid >> 8, pid & 0xFF, 0x10]) + pes
    return packet + b"\xff" * (188 - len(packet))


def segment(*streams: tuple[int, int, int]) -> bytes:
    return b"".join(pes_packet(pid, stream_id, pts) for pid, stream_id, pts in streams)


def test_live_cues_count_from_the_first_audio_sample_files_from_media_time_zero() -> None:
    b_frames = segment((0x100, VIDEO, 18_000), (0x101, AUDIO, 16_080), (0x100, VIDEO, 9_000))
    assert cue_zero_pts(b_frames, live=True) == 16_080
    late_audio = segment((0x100, VIDEO, 18_000), (0x101, AUDIO, 241_020))
    assert cue_zero_pts(late_audio, live=True) == 241_020  # not the picture's first PTS
    assert cue_zero_pts(late_audio, live=False) == 18_000  # a file's media time 0
    assert cue_zero_pts(segment((0x100, VIDEO, 18_000)), live=True) is None  # audio comes later


def cue(
    target: str, sentence_id: int, begin_ms: int, end_ms: int, source: str | None
) -> CueWritten:
    texts = (CueText(source, (f"speech {sentence_id}",)), CueText(target, (f"line {sentence_id}",)))
    made = Cue(begin_ms, end_ms, texts)
    return CueWritten(path=INPUT, target=target, sentence_id=sentence_id, transcript="",
                      translation="", cues=(made,), begin_ms=begin_ms, end_ms=end_ms)  # fmt: skip


def ended(audio_ms: int) -> InputEnded:
    return InputEnded(InputResult(path=INPUT, status=Status.DONE, audio_ms=audio_ms))


def write_package(
    folder: Path, events: Iterable[Event], source: str | None = "zh", window: int | None = None
) -> None:
    """Run the writer over `events` as a live input with 4 s segments, the media's first
    segment (video and audio at PTS 90000) already there."""

    async def main() -> None:
        (folder / "media").mkdir(parents=True)
        first = segment((0x100, VIDEO, 90_000), (0x101, AUDIO, 90_000))
        (folder / "media" / "seg00000.ts").write_bytes(first)
        writer = HlsSubtitles(folder, source, ("en",), 4.0, window, live=True)
        await writer.start()
        writer(InputStarted(path=INPUT, label="-", duration_ms=None, tracks=()))
        for event in events:
            writer(event)
        assert await writer.close(5) is None

    asyncio.run(main())


def segment_holding(rendition: Path, text: str) -> list[str]:
    return sorted(p.name for p in rendition.glob("seg*.vtt") if text in p.read_text("utf-8"))


def test_an_open_sentence_holds_its_segment_until_its_cue_comes(tmp_path: Path) -> None:
    """A sentence spoken from 19.51 s to 26 s: its partial results came, its final comes at
    28 s of audio sent, after the 16-20 s segment would have been listed by the audio alone."""
    events: list[Event] = [
        AudioProgress(path=INPUT, sent_ms=ms) for ms in range(1000, 19_000, 1000)
    ]
    events += [
        cue("en", 0, 2_000, 5_000, "zh"),
        PartialText(
            path=INPUT, target="en", sentence_id=1, transcript="speech", translation="line"
        ),
    ]
    events += [AudioProgress(path=INPUT, sent_ms=ms) for ms in range(19_000, 29_000, 1000)]
    events += [cue("en", 1, 19_510, 26_000, "zh")]
    events += [AudioProgress(path=INPUT, sent_ms=ms) for ms in range(29_000, 40_000, 1000)]
    events += [ended(40_000)]
    write_package(tmp_path, events)
    rendition = tmp_path / "subs" / "zh-en"
    assert segment_holding(rendition, "line 1") == ["seg00004.vtt"]  # 16-20 s
    text = (rendition / "seg00004.vtt").read_text("utf-8")
    assert "00:00:19.510 --> 00:00:26.000" in text
    assert re.search(r"X-TIMESTAMP-MAP=MPEGTS:90000,", text)


def test_a_sliding_window_deletes_the_subtitle_segments_it_no_longer_lists(
    tmp_path: Path,
) -> None:
    events: list[Event] = [
        AudioProgress(path=INPUT, sent_ms=ms) for ms in range(1000, 120_000, 1000)
    ]
    events += [ended(120_000)]
    write_package(tmp_path, events, window=3)
    for rendition in ("zh-en", "zh", "en"):
        folder = tmp_path / "subs" / rendition
        kept = sorted(p.name for p in folder.glob("seg*.vtt"))
        # 30 segments; the last 3 listed, and 4 more kept for players still reading them
        assert kept == [f"seg{n:05d}.vtt" for n in range(23, 30)], kept
        listed = re.findall(r"seg\d+\.vtt", (folder / "index.m3u8").read_text("utf-8"))
        assert listed == kept[-3:]


def test_auto_names_the_renditions_after_the_language_the_cues_carry(tmp_path: Path) -> None:
    events: list[Event] = [
        AudioProgress(path=INPUT, sent_ms=3000),
        cue("en", 0, 1_000, 2_500, "zh"),
    ]
    write_package(tmp_path, [*events, ended(5_000)], source=None)
    master = (tmp_path / "master.m3u8").read_text("utf-8")
    assert 'NAME="zh + en",LANGUAGE="en",DEFAULT=YES' in master
    assert 'NAME="zh",LANGUAGE="zh",' in master and 'URI="subs/zh-en/index.m3u8"' in master
    assert "und" not in master and not (tmp_path / "subs" / "und-en").exists()
    assert segment_holding(tmp_path / "subs" / "zh-en", "line 0") == ["seg00000.vtt"]


def test_auto_with_nothing_said_is_undetermined(tmp_path: Path) -> None:
    write_package(tmp_path, [AudioProgress(path=INPUT, sent_ms=3000), ended(5_000)], source=None)
    master = (tmp_path / "master.m3u8").read_text("utf-8")
    assert 'URI="subs/und-en/index.m3u8"' in master
    assert (tmp_path / "subs" / "und-en" / "index.m3u8").read_text().endswith("#EXT-X-ENDLIST\n")
