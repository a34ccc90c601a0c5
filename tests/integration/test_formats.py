"""ASS, TTML and EBU-TT-D tracks end to end: written by a real run, read back by independent
parsers (pysubs2, ffmpeg, ttconv), rendered by libass, and checked against the IMSC and EBU-TT-D
constraints."""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pysrt
import pysubs2
import pytest
from ttconv import model
from ttconv.imsc.reader import to_model

from subtitler.check.lint import check_file, read_cues
from subtitler.emulator.server import BackgroundEmulator
from subtitler.layout.rules import CueRules
from subtitler.sources.media import ffmpeg_executable
from subtitler.tracks import imsc
from subtitler.tracks.scc import SCC_RATE
from tests.integration.test_run import run_cli
from tests.support import FIXTURES, ffmpeg_to_srt
from tests.test_scc import ttconv_captions

FORMATS = "srt,vtt,ass,ttml,ebu-tt-d,scc"
SUFFIXES = {"srt": "srt", "vtt": "vtt", "ass": "ass", "ttml": "ttml", "ebu-tt-d": "ebuttd.xml"}


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory, emulator: BackgroundEmulator) -> Path:
    """English speech with late audio (160x90 at 10 fps), Chinese translation, every format,
    both layouts."""
    folder = tmp_path_factory.mktemp("formats")
    media = folder / "en_late_audio.mp4"
    shutil.copy(FIXTURES / "en_late_audio.mp4", media)
    result = run_cli(
        "run", media, "-s", "en", "-t", "zh", "--speed", "max", "--format", FORMATS,
        "--layout", "both", "--endpoint", emulator.url,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return folder


def frame(ass: Path, at_s: float, size: str = "320x180") -> bytes:
    """One RGB frame of a black picture with the track burnt in by libass (ffmpeg's filter)."""
    escaped = str(ass).replace("\\", "\\\\").replace(":", "\\:").replace("'", "\\'")
    result = subprocess.run(
        [
            ffmpeg_executable(), "-hide_banner", "-loglevel", "error", "-f", "lavfi",
            "-i", f"color=c=black:s={size}:d={at_s + 1}", "-vf", f"subtitles='{escaped}'",
            "-ss", str(at_s), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:",
        ],
        capture_output=True,
        check=True,
    )  # fmt: skip
    return result.stdout


def pixels(rgb: bytes) -> list[tuple[int, int, int]]:
    return [(rgb[i], rgb[i + 1], rgb[i + 2]) for i in range(0, len(rgb) - 2, 3)]


def test_ass_is_read_by_pysubs2_and_ffmpeg_with_a_style_per_language(written: Path) -> None:
    srt = pysrt.open(str(written / "en_late_audio.en-zh.srt"))
    ass_path = written / "en_late_audio.en-zh.ass"
    document = pysubs2.load(str(ass_path))
    assert len(document.events) == len(srt) > 0
    assert document.info["PlayResX"] == "160" and document.info["PlayResY"] == "90"
    assert set(document.styles) == {"en", "zh"}
    assert document.styles["en"].primarycolor != document.styles["zh"].primarycolor
    for event, item in zip(document.events, srt, strict=True):
        assert event.style == "en" and "{\\rzh}" in event.text
        assert abs(event.start - item.start.ordinal) <= 5 and abs(event.end - item.end.ordinal) <= 5
    # ffmpeg's own ASS demuxer and decoder read it: converted to SRT, the same cue count.
    assert len(ffmpeg_to_srt(ass_path, written / "converted.srt")) == len(srt)
    # Monolingual tracks carry one style each.
    assert set(pysubs2.load(str(written / "en_late_audio.zh.ass")).styles) == {"zh"}


def test_libass_renders_the_ass_track(written: Path) -> None:
    ass_path = written / "en_late_audio.en.ass"  # Latin text: fonts on any machine draw it
    first = pysubs2.load(str(ass_path)).events[0]
    during = pixels(frame(ass_path, (first.start + first.end) / 2000))
    before = pixels(frame(ass_path, max(0.0, first.start / 1000 - 0.5)))
    assert sum(1 for p in during if min(p) > 180) > 20, "no white text drawn"
    assert all(max(p) < 20 for p in before), "text drawn where no cue is"


def test_libass_draws_each_language_in_its_own_style(tmp_path: Path) -> None:
    """Both lines of a bilingual cue: white source, warm yellow translation (Latin pair, so
    no CJK font is needed)."""
    from subtitler.layout.cues import Cue, CueText, LayoutUpdate
    from subtitler.tracks import Picture
    from subtitler.tracks.ass import AssTrack
    from tests.support import perform

    track = AssTrack(tmp_path / "clip.en-fr", (0, 1), ("en", "fr"), "clip.mp4")
    track.describe(Picture(640, 360))
    perform([track.open()])
    cue = Cue(0, 2000, (CueText("en", ("Hello there {x} \\N",)), CueText("fr", ("Bonjour",))))
    update = track.apply(LayoutUpdate(None, (cue,)))
    assert update is not None
    perform([update])
    event = pysubs2.load(str(track.path)).events[0]
    assert event.plaintext.split("\n")[0] == "Hello there ｛x｝ ＼N"  # shown, not parsed
    drawn = pixels(frame(track.path, 1.0, "640x360"))
    white = sum(1 for r, g, b in drawn if r > 200 and g > 200 and b > 200)
    yellow = sum(1 for r, g, b in drawn if r > 200 and 170 < g < 245 and b < 150)
    assert white > 20 and yellow > 20


def assert_read_by_ttconv_as(path: Path, srt: pysrt.SubRipFile) -> None:
    """ttconv reads a `<p>` per SRT cue, at its times, each language in its own span."""
    document = to_model(ET.parse(path))
    paragraphs = [p for div in document.get_body() for p in div]
    assert len(paragraphs) == len(srt)
    for paragraph, item in zip(paragraphs, srt, strict=True):
        assert isinstance(paragraph, model.P)
        begin, end = paragraph.get_begin(), paragraph.get_end()
        assert begin is not None and end is not None
        assert round(begin * 1000) == item.start.ordinal and round(end * 1000) == item.end.ordinal
        languages = [span.get_lang() for span in paragraph if isinstance(span, model.Span)]
        assert languages == ["en", "zh"]


def test_ttml_meets_imsc_and_is_read_by_ttconv(written: Path) -> None:
    srt = pysrt.open(str(written / "en_late_audio.en-zh.srt"))
    path = written / "en_late_audio.en-zh.ttml"
    root = ET.parse(path).getroot()
    assert imsc.problems(root) == []
    assert root.get(f"{{{imsc.TTP}}}frameRate") == "10"
    assert root.get(f"{{{imsc.TTP}}}timeBase") == "media"
    assert_read_by_ttconv_as(path, srt)


def test_ebu_tt_d_meets_tech_3380_and_is_read_by_ttconv(written: Path) -> None:
    srt = pysrt.open(str(written / "en_late_audio.en-zh.srt"))
    path = written / "en_late_audio.en-zh.ebuttd.xml"
    root = ET.parse(path).getroot()
    assert imsc.is_ebu_tt_d(root) and imsc.problems(root) == []
    ids = [p.get(f"{{{imsc.XML}}}id") for p in root.iter(f"{{{imsc.TT}}}p")]
    assert all(ids) and len(set(ids)) == len(ids)
    assert root.get(f"{{{imsc.TTP}}}timeBase") == "media"
    assert_read_by_ttconv_as(path, srt)
    broken = ET.fromstring(path.read_bytes())
    first = next(broken.iter(f"{{{imsc.TT}}}p"))
    del first.attrib[f"{{{imsc.XML}}}id"]
    first.set("begin", "00:00:01:05")
    assert [p for p in imsc.problems(broken) if p.startswith("EBU-TT-D")] == [
        "EBU-TT-D: p 1 has no xml:id",
        'EBU-TT-D: p 1 begin="00:00:01:05" is not hh:mm:ss.sss',
    ]


def test_timecode_start_shifts_ttml_and_ebu_tt_d_by_one_hour_and_nothing_else(
    written: Path, tmp_path: Path
) -> None:
    """Rendered from the journal (no service call), as a post-production re-delivery is."""
    folder = tmp_path / "master"
    shutil.copytree(written, folder)
    for path in [*folder.glob("*.ttml"), *folder.glob("*.ebuttd.xml"), *folder.glob("*.scc")]:
        path.unlink()
    result = run_cli(
        "run",
        folder / "en_late_audio.mp4",
        "-s",
        "en",
        "-t",
        "zh",
        "--format",
        FORMATS,
        "--layout",
        "both",
        "--timecode-start",
        "01:00:00:00",
        "--endpoint",
        "ws://127.0.0.1:9/x",
    )  # fmt: skip  (nothing listens there: nothing may be asked of the service)
    assert result.returncode == 0, result.stderr

    def times(path: Path) -> list[tuple[int, int]]:
        document = to_model(ET.parse(path))
        return [(round(p.get_begin() * 1000), round(p.get_end() * 1000))  # type: ignore[operator]
                for div in document.get_body() for p in div]  # fmt: skip

    for suffix in ("ttml", "ebuttd.xml"):
        for name in ("en_late_audio.en-zh", "en_late_audio.en", "en_late_audio.zh"):
            before, after = written / f"{name}.{suffix}", folder / f"{name}.{suffix}"
            shifted = [(b + 3_600_000, e + 3_600_000) for b, e in times(before)]
            assert times(after) == shifted, (name, suffix)
            assert imsc.problems(ET.parse(after).getroot()) == []
    (scc,) = written.glob("*.scc")
    for before, after in zip(
        scc.read_text().splitlines(), (folder / scc.name).read_text().splitlines(), strict=True
    ):
        assert after == ("01" + before[2:] if "\t" in before else before)
    for suffix in ("srt", "vtt", "ass"):
        for path in written.glob(f"*.{suffix}"):
            assert (folder / path.name).read_bytes() == path.read_bytes()


@pytest.mark.parametrize("start", ["00:59:59:05", "01:00:00:09"])
def test_a_timecode_start_with_frames_counts_them_at_the_videos_own_rate(
    written: Path, tmp_path: Path, emulator: BackgroundEmulator, start: str
) -> None:
    """A fresh run (no journal yet), no --frame-rate: the frames count at the video's 10 fps
    (issue 31: it failed, saying the input had no frame rate)."""
    media = tmp_path / "en_late_audio.mp4"
    shutil.copy(FIXTURES / "en_late_audio.mp4", media)
    result = run_cli(
        "run", media, "-s", "en", "-t", "zh", "--speed", "max", "--format", "ttml",
        "--timecode-start", start, "--endpoint", emulator.url,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr + result.stdout
    hours, minutes, seconds, frames = (int(part) for part in start.split(":"))
    offset_ms = (hours * 3600 + minutes * 60 + seconds) * 1000 + frames * 100

    def times(path: Path) -> list[tuple[int, int]]:
        document = to_model(ET.parse(path))
        return [(round(p.get_begin() * 1000), round(p.get_end() * 1000))  # type: ignore[operator]
                for div in document.get_body() for p in div]  # fmt: skip

    name = "en_late_audio.en-zh.ttml"
    expected = [(b + offset_ms, e + offset_ms) for b, e in times(written / name)]
    assert expected and times(tmp_path / name) == expected


def test_no_cue_is_shown_after_the_media_ends(tmp_path: Path, emulator: BackgroundEmulator) -> None:
    """Issue 31: Japanese reads at 4 characters a second, and the last cue's reading time took
    it past the end of the file (15.1 s). Its duration as ffmpeg reads it bounds every cue."""
    media = tmp_path / "en_station_two_tracks.mkv"
    shutil.copy(FIXTURES / "en_station_two_tracks.mkv", media)
    result = run_cli(
        "run", media, "-s", "en", "-t", "ja", "--speed", "max", "--format", "srt,ttml",
        "--audio-stream", "1", "--endpoint", emulator.url,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr + result.stdout
    probe = subprocess.run(
        [ffmpeg_executable(), "-hide_banner", "-i", str(media)], capture_output=True, text=True
    )
    found = re.search(r"Duration: (\d+):(\d\d):(\d\d\.\d+)", probe.stderr)
    assert found is not None, probe.stderr
    hours, minutes, seconds = found.groups()
    duration_ms = round((int(hours) * 3600 + int(minutes) * 60 + float(seconds)) * 1000)
    cues = pysrt.open(str(tmp_path / "en_station_two_tracks.en-ja.srt"))
    assert cues and max(cue.end.ordinal for cue in cues) <= duration_ms
    document = to_model(ET.parse(tmp_path / "en_station_two_tracks.en-ja.ttml"))
    ends = [p.get_end() for div in document.get_body() for p in div]
    assert max(round(end * 1000) for end in ends) <= duration_ms  # type: ignore[operator]


def test_scc_is_read_by_ttconv_and_ffmpeg_as_the_srt(written: Path) -> None:
    """Only the English track can be SCC (608 has no Chinese); the same captions as its SRT,
    times within one 29.97 fps frame, except a caption line 21 had no free frame to load in
    time for (it appears once loaded: checked from the packets themselves)."""
    assert sorted(path.name for path in written.glob("*.scc")) == ["en_late_audio.en.scc"]
    srt = pysrt.open(str(written / "en_late_audio.en.srt"))
    scc = written / "en_late_audio.en.scc"
    captions = ttconv_captions(scc)
    assert [text for _, _, text in captions] == [" ".join(item.text.split()) for item in srt]
    frame_ms = 1001 / 30
    late = late_captions(scc)
    for number, ((begin_s, end_s, _), item) in enumerate(zip(captions, srt, strict=True)):
        assert abs(end_s * 1000 - item.end.ordinal) <= frame_ms
        if number not in late:
            assert abs(begin_s * 1000 - item.start.ordinal) <= frame_ms
    assert len(late) <= 1, late
    checked = read_cues(scc)  # `subtitler check` reads SCC as a decoder shows it
    assert [[text for _, text in cue.lines] for cue in checked] == [
        item.text.split("\n") for item in srt
    ]
    by_ffmpeg = ffmpeg_to_srt(scc, written / "scc-by-ffmpeg.srt")
    assert len(by_ffmpeg) == len(srt)
    for number, (item, expected) in enumerate(zip(by_ffmpeg, srt, strict=True)):
        assert abs(item.end.ordinal - expected.end.ordinal) <= frame_ms
        if number not in late:
            assert abs(item.start.ordinal - expected.start.ordinal) <= frame_ms


def late_captions(path: Path) -> set[int]:
    """Captions for which line 21 was busy on every frame from the previous EOC to their own:
    the only ones allowed to appear later than their in-time."""
    frames = SCC_RATE
    late, busy, free = set(), 0, 0
    number = 0
    for line in path.read_text().splitlines():
        if "\t" not in line:
            continue
        timecode, words = line.split("\t")
        frame = frames.frame_of_timecode(timecode)
        count = len(words.split())
        if words == "942f 942f":
            if busy >= frame - free:
                late.add(number)
            number += 1
            busy, free = 0, frame + 2
        else:  # loading, or the previous caption's erase
            busy += count
    return late


def test_scc_of_a_chinese_english_track_alone_is_a_usage_error(tmp_path: Path) -> None:
    media = tmp_path / "news.mp4"
    shutil.copy(FIXTURES / "zh_news.mp4", media)
    result = run_cli(
        "run", media, "-s", "zh", "-t", "en", "--format", "srt,scc", "--endpoint",
        "ws://127.0.0.1:9/x",
    )  # fmt: skip
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "zh-en" in line and "zh lines" in line and "--layout separate" in line
    assert list(tmp_path.iterdir()) == [media]


def test_check_reads_every_format_alike(written: Path) -> None:
    """The same cues from each format (times to ASS's centiseconds), and no violation that the
    SRT does not have too."""
    by_format = {
        suffix: read_cues(written / f"en_late_audio.en-zh.{suffix}") for suffix in SUFFIXES.values()
    }
    reference = by_format["srt"]
    for suffix, cues in by_format.items():
        assert len(cues) == len(reference), suffix
        for cue, expected in zip(cues, reference, strict=True):
            assert abs(cue.begin_ms - expected.begin_ms) <= 5, suffix
            assert [text for _, text in cue.lines] == [text for _, text in expected.lines], suffix
        if suffix != "srt":  # SRT is plain text; the others name each line's language
            assert {language for language, _ in cues[0].lines} == {"en", "zh"}, suffix
    rules = {
        suffix: sorted(
            v.rule
            for v in check_file(written / f"en_late_audio.en-zh.{suffix}", CueRules()).violations
        )
        for suffix in SUFFIXES.values()
    }
    assert all(found == rules["srt"] for found in rules.values()), rules


def test_imsc_check_catches_broken_documents() -> None:
    broken = ET.fromstring(
        '<tt xmlns="http://www.w3.org/ns/ttml" xmlns:ttp="http://www.w3.org/ns/ttml#parameter" '
        'ttp:timeBase="smpte"><body region="nowhere"><div><p begin="00:00:02.000" '
        'end="00:00:01.000">a</p><p begin="00:00:01:05" end="00:00:02.000">b</p>'
        "<image/></div></body></tt>"
    )
    found = imsc.problems(broken)
    assert "tt has no xml:lang" in found
    assert 'ttp:timeBase is "smpte", not "media"' in found
    assert "ttp:contentProfiles does not name the IMSC 1.1 Text Profile" in found
    assert 'region "nowhere" is not defined' in found
    assert "p 1: begin 00:00:02.000 is not before end 00:00:01.000" in found
    assert any(line.startswith("p 2:") for line in found)  # frames without ttp:frameRate
    assert "<image> is not allowed in the IMSC Text Profile" in found
