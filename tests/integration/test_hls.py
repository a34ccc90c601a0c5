"""`--hls DIR` through the real CLI: ffmpeg's own HLS demuxer reads the package (video, audio
and every subtitle rendition), every WebVTT segment carries its timestamp map, a real HLS player
(hls.js in Debian's Chromium) places every cue of the SRT at its time (live, with B-frames and a
late audio start: measured from where the audio sits on the player's timeline), and a live
MPEG-TS stream at 1x grows its playlists, named after the identified language, while it plays."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pysrt
import pytest
from aiohttp import web

from subtitler.emulator.server import BackgroundEmulator
from subtitler.sources.media import bundled_ffmpeg, ffmpeg_executable
from tests import harness
from tests.browser import Browser
from tests.integration.test_run import ROOT, run_cli
from tests.support import FIXTURES, H264_AAC, Transcript, save_speech, speech, transcripts

ASSETS = Path(__file__).resolve().parents[1] / "assets"
TIMESTAMP_MAP = re.compile(r"^X-TIMESTAMP-MAP=MPEGTS:(\d+),LOCAL:00:00:00\.000$", re.MULTILINE)
CUE = re.compile(
    r"^(\d\d):(\d\d):(\d\d)\.(\d{3}) --> (\d\d):(\d\d):(\d\d)\.(\d{3})\n((?:.+\n?)+)", re.MULTILINE
)


def mandarin(name: str) -> Transcript:
    return next(t for t in transcripts() if t.media.name.startswith(name))


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory, emulator: BackgroundEmulator) -> Path:
    folder = tmp_path_factory.mktemp("hls")
    shutil.copy(FIXTURES / "zh_news.mp4", folder / "news.mp4")
    result = run_cli("run", folder / "news.mp4", "-t", "en", "--speed", "max",  # -s auto
                     "--hls", folder / "package", "--endpoint", emulator.url)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return folder


def srt_cues(path: Path) -> list[tuple[int, int, str]]:
    return [(c.start.ordinal, c.end.ordinal, c.text) for c in pysrt.open(str(path))]


def segment_cues(rendition: Path) -> list[tuple[int, int, str]]:
    found = []
    for segment in sorted(rendition.glob("seg*.vtt")):
        text = segment.read_text(encoding="utf-8")
        header = text.split("\n\n", 1)[0]
        assert text.startswith("WEBVTT\n") and TIMESTAMP_MAP.search(header), segment
        for match in CUE.finditer(text):
            h1, m1, s1, ms1, h2, m2, s2, ms2 = (int(g) for g in match.groups()[:8])
            begin = ((h1 * 60 + m1) * 60 + s1) * 1000 + ms1
            end = ((h2 * 60 + m2) * 60 + s2) * 1000 + ms2
            found.append((begin, end, match.group(9).strip()))
    return found


def test_ffmpeg_reads_the_master_with_video_audio_and_subtitle_renditions(package: Path) -> None:
    # The bundled ffmpeg reads: the HLS demuxer of 5.1 (Debian 12's) skips WebVTT renditions.
    listing = subprocess.run(
        [bundled_ffmpeg(), "-hide_banner", "-i", str(package / "package" / "master.m3u8")],
        capture_output=True, text=True,
    ).stderr  # fmt: skip
    streams = [line.strip() for line in listing.splitlines() if "Stream #" in line]
    assert any("Video: h264" in s for s in streams), streams
    assert any("Audio: aac" in s for s in streams), streams
    subtitles = [s for s in streams if "Subtitle: webvtt" in s]
    assert len(subtitles) == 3 and any("(zh)" in s for s in subtitles), subtitles
    master = (package / "package" / "master.m3u8").read_text(encoding="utf-8")
    assert 'TYPE=SUBTITLES,GROUP-ID="subs",NAME="zh + en",LANGUAGE="en",DEFAULT=YES' in master
    assert 'SUBTITLES="subs"' in master


def test_each_rendition_holds_every_cue_once_with_the_timestamp_map(package: Path) -> None:
    bilingual = srt_cues(package / "news.zh-en.srt")
    assert segment_cues(package / "package" / "subs" / "zh-en") == bilingual
    chinese = segment_cues(package / "package" / "subs" / "zh")
    assert [(b, e) for b, e, _ in chinese] == [(b, e) for b, e, _ in bilingual]
    for rendition in ("zh-en", "zh", "en"):
        playlist = (package / "package" / "subs" / rendition / "index.m3u8").read_text()
        assert playlist.startswith("#EXTM3U") and playlist.rstrip().endswith("#EXT-X-ENDLIST")
        listed = sum(float(x) for x in re.findall(r"#EXTINF:([\d.]+),", playlist))
        assert abs(listed - 32.4) < 0.5, listed


PAGE = """<!doctype html><html><body>
<video id="v" muted playsinline width="320"></video>
<script src="/hls.js/hls.min.js"></script>
<script>
window.state = {error: null, ended: false, cues: []};
const video = document.getElementById('v');
const hls = new Hls({subtitleDisplay: true});
hls.on(Hls.Events.ERROR, (e, data) => {
  if (data.fatal) state.error = data.type + ' ' + data.details;
});
hls.on(Hls.Events.SUBTITLE_TRACKS_UPDATED, () => { hls.subtitleTrack = 0; });
hls.on(Hls.Events.MANIFEST_PARSED, () => { video.playbackRate = 8; video.play(); });
video.addEventListener('ended', () => {
  const track = Array.from(video.textTracks).find(t => t.cues && t.cues.length);
  state.cues = track ? Array.from(track.cues).map(c => [c.startTime, c.endTime, c.text]) : [];
  state.mediaStart = video.buffered.length ? video.buffered.start(0) : 0;
  state.ended = true;
});
hls.loadSource('/package/master.m3u8');
hls.attachMedia(video);
</script></body></html>"""


async def play_in_hls_js(folder: Path, page: str = PAGE) -> dict[str, Any]:
    """Serve `folder` as `/package/`, play its master in hls.js in Chromium to the end; the
    page's `state`."""
    app = web.Application()

    async def answer(_request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html")

    app.router.add_get("/", answer)
    app.router.add_static("/hls.js/", ASSETS / "hls.js")
    app.router.add_static("/package/", folder)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with Browser(640, 360) as browser:
            await browser.open(f"http://127.0.0.1:{port}/")
            await browser.wait_for("state.ended || state.error", timeout_s=120)
            state: dict[str, Any] = await browser.evaluate("state")
    finally:
        await runner.cleanup()
    assert state["error"] is None, state["error"]
    return state


def test_hls_js_in_chromium_places_every_cue_at_its_time(package: Path) -> None:
    state = asyncio.run(play_in_hls_js(package / "package"))
    # The player's clock is the segments' (PTS / 90 kHz): media time 0 is where its buffer
    # starts; a cue is right when it is as far from there as the SRT says.
    start_s = float(state["mediaStart"])
    shown = [[float(b) - start_s, float(e) - start_s, text] for b, e, text in state["cues"]]
    expected = srt_cues(package / "news.zh-en.srt")
    assert len(shown) == len(expected), shown
    for (begin_ms, end_ms, text), (start_s, end_s, cue_text) in zip(expected, shown, strict=True):
        assert abs(float(start_s) * 1000 - begin_ms) <= 100, (text, start_s, begin_ms)  # type: ignore[arg-type]
        assert abs(float(end_s) * 1000 - end_ms) <= 100, (text, end_s, end_ms)  # type: ignore[arg-type]
        assert str(cue_text).strip() == text


AUDIO_PAGE = PAGE.replace(
    '<script src="/hls.js/hls.min.js"></script>',
    """<script>
// Every SourceBuffer hls.js makes, by its type: where the audio sits on the player's timeline
// is read from the audio buffer itself, not from hls.js's own figures.
window.buffers = {};
const add = MediaSource.prototype.addSourceBuffer;
MediaSource.prototype.addSourceBuffer = function (type) {
  const made = add.call(this, type);
  buffers[type.split('/')[0]] = made;
  return made;
};
</script>
<script src="/hls.js/hls.min.js"></script>""",
).replace(
    "  state.ended = true;",
    """  const audio = buffers.audio.buffered;
  state.audioEnd = audio.end(audio.length - 1);
  state.audioRanges = audio.length;
  state.ended = true;""",
)


def audio_frames(playlist: Path) -> tuple[int, int]:
    """The AAC frames of a media playlist's audio, and its sample rate (ffmpeg's packets)."""
    listing = subprocess.run(
        [ffmpeg_executable(), "-v", "error", "-i", str(playlist), "-map", "0:a", "-c", "copy",
         "-f", "framecrc", "-"], capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "#codec_id 0: aac" in listing, listing[:500]
    rate = int(re.search(r"^#sample_rate 0: (\d+)$", listing, re.MULTILINE).group(1))  # type: ignore[union-attr]
    return sum(1 for line in listing.splitlines() if line and not line.startswith("#")), rate


def b_frame_stream(path: Path, audio_late_s: float) -> None:
    """A live camera's MPEG-TS: H.264 with B-frames (its first DTS before its first PTS) and
    the audio starting `audio_late_s` after the picture, from two short Mandarin sentences
    (9 s of audio)."""
    ffmpeg = ffmpeg_executable()
    encoders = subprocess.run([ffmpeg, "-hide_banner", "-encoders"], capture_output=True,
                              text=True).stdout  # fmt: skip
    if " libx264 " not in encoders:
        pytest.skip("this ffmpeg has no libx264 to make B-frames with")
    late_ms = round(audio_late_s * 1000)
    spoken = speech([(mandarin("zh_podcast"), 3), (mandarin("Café"), 1)], tail_ms=800 + late_ms)
    duration_s = spoken.duration_ms / 1000  # the picture's: the late audio loses `late_ms`
    camera = str(save_speech(spoken, path.with_name("camera.mp4"), *H264_AAC, video=True))
    subprocess.run([ffmpeg, "-v", "error", "-i", camera, "-itsoffset", f"{audio_late_s}",
                    "-i", camera, "-map", "0:v", "-map", "1:a", "-t", f"{duration_s}",
                    "-c:v", "libx264",
                    "-bf", "2", "-g", "20", "-preset", "veryfast", "-c:a", "copy",
                    "-f", "mpegts", str(path)], check=True)  # fmt: skip
    frames = subprocess.run([ffmpeg, "-v", "error", "-i", str(path), "-map", "0:v", "-c", "copy",
                             "-frames:v", "3", "-f", "framecrc", "-"], capture_output=True,
                            text=True, check=True).stdout  # fmt: skip
    first = next(line for line in frames.splitlines() if line and not line.startswith("#"))
    dts, pts = (int(field) for field in first.split(",")[1:3])
    assert dts < pts, first  # B-frames: decoded before shown


@pytest.mark.parametrize("audio_late_s", [0.0, 1.0])
def test_hls_js_shows_live_cues_where_their_audio_is_with_b_frames(
    tmp_path: Path, emulator: BackgroundEmulator, audio_late_s: float
) -> None:
    """hls.js takes the video's first DTS as its zero and fills the time before the audio with
    silent frames: each cue must start as far after the first real audio sample as the SRT
    says (the live cues count from it)."""
    stream = tmp_path / "camera.ts"
    b_frame_stream(stream, audio_late_s)
    package = tmp_path / "package"
    with open(stream, "rb") as source:
        result = subprocess.run(
            harness.command("run", "-", "-s", "zh", "-t", "en", "--json",
             "--hls", str(package), "--hls-segment", "2", "--out-dir", str(tmp_path),
             "--endpoint", emulator.url),
            stdin=source, capture_output=True, text=True, cwd=ROOT, timeout=120,
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    state = asyncio.run(play_in_hls_js(package, AUDIO_PAGE))
    frames, rate = audio_frames(package / "media" / "index.m3u8")
    assert state["audioRanges"] == 1, state
    audio_start_s = float(state["audioEnd"]) - frames * 1024 / rate  # contiguous AAC frames
    expected = srt_cues(next(tmp_path.glob("stdin-*.zh-en.srt")))
    shown = state["cues"]
    assert len(shown) == len(expected) >= 2, shown
    for (begin_ms, _, text), (start_s, _, cue_text) in zip(expected, shown, strict=True):
        assert str(cue_text).strip() == text
        late_ms = (float(start_s) - audio_start_s) * 1000 - begin_ms
        assert abs(late_ms) <= 40, (text, late_ms, audio_start_s, start_s)


def test_a_live_stream_grows_its_playlists_while_it_plays(
    tmp_path: Path, emulator: BackgroundEmulator
) -> None:
    stream = tmp_path / "live.ts"
    news = FIXTURES / "zh_news.mp4"  # video and audio, as a camera or an encoder would send
    subprocess.run([ffmpeg_executable(), "-v", "error", "-i", str(news), "-t", "20",
                    "-c", "copy", "-f", "mpegts", str(stream)], check=True)  # fmt: skip
    package = tmp_path / "package"
    playlist = package / "subs" / "zh-en" / "index.m3u8"
    with open(stream, "rb") as source:
        process = subprocess.Popen(
            harness.command("run", "-", "-t", "en", "--json",  # -s auto
             "--hls", str(package), "--hls-segment", "2", "--out-dir", str(tmp_path),
             "--endpoint", emulator.url),
            stdin=source, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        )  # fmt: skip
        assert process.stdout is not None
        seen: list[tuple[int, bool]] = []
        for line in process.stdout:
            if json.loads(line)["event"] in ("cue", "progress") and playlist.exists():
                text = playlist.read_text(encoding="utf-8")
                seen.append((text.count("#EXTINF"), "#EXT-X-ENDLIST" in text))
        _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    growing = [count for count, ended in seen if not ended]
    assert len(set(growing)) >= 3, seen  # listed while the stream played, a few at a time
    assert growing == sorted(growing)
    final = playlist.read_text(encoding="utf-8")
    assert final.rstrip().endswith("#EXT-X-ENDLIST")
    listing = subprocess.run(
        [bundled_ffmpeg(), "-hide_banner", "-i", str(package / "master.m3u8")],
        capture_output=True, text=True,
    ).stderr  # fmt: skip
    assert "Video: h264" in listing and "Audio: aac" in listing, listing
    assert listing.count("Subtitle: webvtt") == 3, listing
    assert segment_cues(package / "subs" / "zh-en") == srt_cues(
        next(tmp_path.glob("stdin-*.zh-en.srt"))
    )
    master = (package / "master.m3u8").read_text(encoding="utf-8")  # named as the tracks are
    assert 'NAME="zh + en",LANGUAGE="en",DEFAULT=YES' in master, master
    assert 'NAME="zh",LANGUAGE="zh",' in master and "und" not in master, master


def test_a_sliding_window_keeps_the_last_segments() -> None:
    from subtitler.layout.cues import vtt_timestamp as vtt_time
    from subtitler.outputs.hls import media_playlist, vtt_segment

    text = media_playlist([4.0] * 10 + [1.5], 0, 4.0, window=3, ended=False)
    assert "#EXT-X-MEDIA-SEQUENCE:8\n" in text and "PLAYLIST-TYPE" not in text
    assert text.count("#EXTINF") == 3 and "seg00010.vtt" in text and "seg00007.vtt" not in text
    assert vtt_time(3_723_456) == "01:02:03.456"
    segment = vtt_segment([(810, 4790, ("a < b & c",))], 126000)
    assert segment.startswith("WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:126000,LOCAL:00:00:00.000\n\n")
    assert "a &lt; b &amp; c" in segment
