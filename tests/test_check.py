"""`subtitler check` catches each rule on deliberately bad files, and passes good ones."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
from pathlib import Path

from subtitler.check.lint import check_file
from subtitler.layout.rules import CueRules
from tests import harness

ROOT = Path(__file__).resolve().parents[1]

BAD_SRT = """1
00:00:01,000 --> 00:00:01,500
Too short to read.

2
00:00:01,550 --> 00:00:03,000
Starts 50 ms after the one before.

3
00:00:02,900 --> 00:00:11,000
Overlaps the one before and lasts eight seconds.

4
00:00:12,000 --> 00:00:14,000
one
two
three

5
00:00:15,000 --> 00:00:17,000
This single line is much longer than forty-two characters.

6
00:00:18,000 --> 00:00:19,000
这一行中文字幕超过了十六个字的限制啊。

7
00:00:20,000 --> 00:00:21,000
Far too many words to read in a second.
"""

BAD_VTT = """WEBVTT

00:00:01.000 --> 00:00:03.000
<lang ja>これは十三文字を超える日本語の字幕の行です</lang>
<lang en>A Japanese line over thirteen wide characters.</lang>

00:00:04.000 --> 00:00:06.000

"""


def run_check(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return harness.run("check", *args)


def test_each_rule_is_caught_on_a_bad_srt(tmp_path: Path) -> None:
    path = tmp_path / "bad.srt"
    path.write_text(BAD_SRT, encoding="utf-8")
    report = check_file(path, CueRules())
    found = {(v.cue, v.rule, v.language) for v in report.violations}
    assert (1, "min-duration", None) in found
    assert (1, "min-gap", None) in found
    assert (2, "overlap", None) in found
    assert (3, "max-duration", None) in found
    assert (4, "max-lines", "en") in found
    assert (5, "line-length", "en") in found
    assert (6, "line-length", "zh") in found
    assert (7, "reading-speed", "en") in found
    measured = {(v.cue, v.rule): (v.measured, v.limit) for v in report.violations}
    assert measured[(5, "line-length")] == (58, 42)
    assert measured[(6, "line-length")] == (19, 16)
    assert measured[(7, "reading-speed")] == (39, 20)


def test_each_language_of_a_vtt_cue_has_its_own_limits(tmp_path: Path) -> None:
    path = tmp_path / "bad.vtt"
    path.write_text(BAD_VTT, encoding="utf-8")
    rules = {(v.cue, v.rule, v.language) for v in check_file(path, CueRules()).violations}
    assert (1, "line-length", "ja") in rules
    assert (1, "line-length", "en") in rules
    assert (1, "reading-speed", "ja") in rules
    assert (2, "empty", None) in rules


def test_cli_lines_count_and_exit_status(tmp_path: Path) -> None:
    bad = tmp_path / "bad.srt"
    bad.write_text(BAD_SRT, encoding="utf-8")
    good = tmp_path / "good.srt"
    good.write_text("1\n00:00:01,000 --> 00:00:03,000\nHello there.\n", encoding="utf-8")
    result = run_check(bad, good)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert any(
        re.fullmatch(
            rf"{re.escape(str(bad))}:\d+: 00:00:15,000: cue \d+: line-length \[en\]: 58 > 42", line
        )
        for line in lines
    ), lines
    assert lines[-1].startswith(f"{len(lines) - 1} violations in 2 files (8 cues checked)")
    clean = run_check(good)
    assert clean.returncode == 0 and clean.stdout.startswith("0 violations")
    looser = run_check(bad, "--max-chars", "en=60,zh=20", "--max-duration", "9000")
    assert "line-length" not in looser.stdout and "max-duration" not in looser.stdout


def test_json_output_is_one_parseable_document(tmp_path: Path) -> None:
    bad = tmp_path / "bad.srt"
    bad.write_text(BAD_SRT, encoding="utf-8")
    broken = tmp_path / "broken.srt"
    broken.write_text("1\nnot a time\nx\n", encoding="utf-8")
    result = run_check(bad, broken, tmp_path / "missing.vtt", "--json")
    assert result.returncode == 1
    document = json.loads(result.stdout)
    assert document["total"] == len(document["violations"]) > 0
    assert {v["rule"] for v in document["violations"]} >= {"overlap", "reading-speed"}
    errors = {Path(f["file"]).name: f["error"] for f in document["files"]}
    assert errors["bad.srt"] is None
    assert errors["missing.vtt"] == "no such file"
    assert errors["broken.srt"].startswith("not a valid subtitle file")


KINSOKU_SRT = """1
00:00:01,000 --> 00:00:04,000
研究者たちは新しい音声翻訳
。モデルを発表しました

2
00:00:05,000 --> 00:00:08,000
他说（
“走吧”，我们就出发了。

3
00:00:09,000 --> 00:00:12,000
Starts with a comma, then
, fine in English.
"""


def test_chinese_and_japanese_lines_against_kinsoku(tmp_path: Path) -> None:
    path = tmp_path / "kinsoku.srt"
    path.write_text(KINSOKU_SRT, encoding="utf-8")
    report = check_file(path, CueRules())
    found = {(v.cue, v.rule, v.language, v.detail) for v in report.violations}
    assert (1, "line-start", "ja", "line 2 starts with “。”") in found
    assert (2, "line-end", "zh", "line 1 ends with “（”") in found
    assert not {v for v in report.violations if v.cue == 3}  # Latin lines: no kinsoku
    result = run_check(path)
    line = f"{path}:2: 00:00:01,000: cue 1: line-start [ja]: line 2 starts with “。”"
    assert line in result.stdout  # the cue's timing line is line 2 of the file
    assert result.returncode == 1


def ttml_at(rate: str | None, gaps_ms: tuple[int, ...]) -> str:
    """A TTML document on a 25 fps grid (cues 2 s long, `gaps_ms` apart), declaring `rate`."""
    declared = f' ttp:frameRate="{rate}"' if rate else ""
    paragraphs, begin_ms = [], 1000
    for gap_ms in (*gaps_ms, 0):
        end_ms = begin_ms + 2000
        paragraphs.append(f'<p begin="{begin_ms / 1000:.3f}s" end="{end_ms / 1000:.3f}s">'
                          "A line of text.</p>")  # fmt: skip
        begin_ms = end_ms + gap_ms
    return (
        '<tt xmlns="http://www.w3.org/ns/ttml" xmlns:ttp="http://www.w3.org/ns/ttml#parameter"'
        ' ttp:contentProfiles="http://www.w3.org/ns/ttml/profile/imsc1.1/text"'
        f' xml:lang="en"{declared}><body><div>{"".join(paragraphs)}</div></body></tt>'
    )


def test_a_ttml_file_is_judged_on_the_frame_rate_it_declares(tmp_path: Path) -> None:
    """Issue 31: our own 25 fps TTML failed `min-gap: 80 < 84` (84 ms is two frames at 24 fps;
    two frames at 25 are 80): its `ttp:frameRate` was not read."""
    from subtitler.layout.frames import parse_frame_rate

    declared = tmp_path / "film.en.ttml"
    declared.write_text(ttml_at("25", (80, 120)), encoding="utf-8")
    assert check_file(declared, CueRules()).violations == ()
    silent = tmp_path / "other.en.ttml"
    silent.write_text(ttml_at(None, (80, 120)), encoding="utf-8")
    assert [v.rule for v in check_file(silent, CueRules()).violations] == ["min-gap"]
    tight = tmp_path / "tight.en.ttml"
    tight.write_text(ttml_at("25", (40,)), encoding="utf-8")
    assert [v.rule for v in check_file(tight, CueRules()).violations] == ["min-gap-frames"]
    ntsc = dataclasses.replace(
        CueRules(), timing=dataclasses.replace(CueRules().timing, frames=parse_frame_rate("29.97"))
    )
    (wrong,) = check_file(declared, ntsc).violations
    assert wrong.rule == "frame-rate" and "25 fps" in wrong.line() and "29.97" in wrong.line()
    ntsc_file = tmp_path / "ntsc.en.ttml"  # 29.97 as SCC's rate is, yet a declaration
    ntsc_file.write_text(
        ttml_at("30", (80,)).replace("<tt ", '<tt ttp:frameRateMultiplier="1000 1001" '),
        encoding="utf-8",
    )
    pal = dataclasses.replace(
        CueRules(), timing=dataclasses.replace(CueRules().timing, frames=parse_frame_rate("25"))
    )
    assert "frame-rate" in {v.rule for v in check_file(ntsc_file, pal).violations}


def test_an_scc_file_is_judged_at_29_97_whatever_rate_is_given(tmp_path: Path) -> None:
    """Issue 31: `check --frame-rate 25` on a delivery folder failed every SCC (29.97 fps by
    definition), and without it an SCC's two-frame gap (67 ms) failed `min-gap`."""
    from subtitler.layout.cues import Cue, CueText, LayoutUpdate
    from subtitler.layout.frames import parse_frame_rate
    from subtitler.tracks.scc import SccTrack
    from tests.support import perform

    track = SccTrack(tmp_path / "talk.en", (0,))
    track.describe(None, 0)
    cues = [Cue(begin_ms, begin_ms + 2000, (CueText("en", ("Hello there.",)),))
            for begin_ms in (1000, 3067, 5134)]  # fmt: skip
    perform([track.open(), track.apply(LayoutUpdate(None, tuple(cues))), track.finish()])
    pal = dataclasses.replace(
        CueRules(), timing=dataclasses.replace(CueRules().timing, frames=parse_frame_rate("25"))
    )
    assert check_file(track.path, CueRules()).violations == ()
    assert check_file(track.path, pal).violations == ()


def test_every_problem_is_said_in_a_subtitlers_words(tmp_path: Path) -> None:
    """Issue 31: library messages (`'utf-8' codec can't decode byte 0x9d`, `No suitable formats`,
    a tuple from the SCC reader), `min-duration: -1000 < 834`, `empty: 0 > 1` and whole-file
    TTML problems as `cue 0` reached the user; a Latin-1 SRT could not be read at all."""
    files = {
        "video.srt": (ROOT / "fixtures" / "zh_news.mp4").read_bytes()[:4096],
        "vendor.srt": "1\n00:00:01,000 --> 00:00:03,000\nCafé, déjà vu.\n".encode("latin-1"),
        "backwards.srt": b"1\n00:00:05,000 --> 00:00:04,000\nBackwards.\n",
        "blank.vtt": b"WEBVTT\n\n00:00:01.000 --> 00:00:03.000\n&nbsp;\n",
        "broken.scc": b"Scenarist_SCC V1.0\n\n00:00:01;00\t9420 zzzz 942f\n",
        "notes.ass": b"Some notes, not subtitles.\n",
        "nobody.ttml": b'<tt xmlns="http://www.w3.org/ns/ttml"><body><div><p begin="1s" '
        b'end="2s">Hi.</p></div></body></tt>',
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    result = run_check(*(tmp_path / name for name in files))
    said = result.stdout + result.stderr
    assert result.returncode == 1
    for expected in (
        "video.srt: not a subtitle file: binary data, not text",
        "vendor.srt: encoding: not UTF-8: read as Windows-1252",
        "backwards.srt:2: 00:00:05,000: cue 1: end-before-start: ends at 00:00:04,000, 1000 ms "
        "before it starts",
        "blank.vtt:3: 00:00:01,000: cue 1: empty: no text",
        "broken.scc: not a valid SCC file: line 3: 'zzzz' is not a caption code",
        "notes.ass: not an ASS/SSA file: it has no [Events] section",
        "nobody.ttml: imsc: ttp:contentProfiles does not name the IMSC 1.1 Text Profile",
    ):
        assert expected in said, said
    for wrong in ("codec", "No suitable formats", "Expected a 2-bytes", "cue 0", "-1000", "0 > 1"):
        assert wrong not in said, said
    vendor = check_file(tmp_path / "vendor.srt", CueRules())
    assert vendor.cues == 1 and vendor.error is None
