"""`subtitler check` catches each rule on deliberately bad files, and passes good ones."""

from __future__ import annotations

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
