"""Shot-change-aware timing end to end, on a video with hard cuts at known frames
(`fixtures/shots/shots_zh_news.mp4`, made by `fixtures/shots/make_shot_fixture.py`, the cuts
listed in `fixtures/shots/shots_zh_news.cuts`): ffmpeg finds exactly those cuts, the cues near
them follow the rules, `check` finds nothing in the output and finds what is planted in a broken
copy."""

from __future__ import annotations

import asyncio
import itertools
import json
import shutil
import subprocess
from pathlib import Path

import pysrt

from subtitler.emulator.server import BackgroundEmulator
from subtitler.layout.frames import parse_frame_rate
from subtitler.layout.shots import ShotRules, parse_scdet, read_list
from subtitler.sources.media import detect_scenes, ffmpeg_executable
from tests.integration.test_run import run_cli
from tests.support import FIXTURES

MEDIA = FIXTURES / "shots" / "shots_zh_news.mp4"
CUTS = FIXTURES / "shots" / "shots_zh_news.cuts"
PAL = parse_frame_rate("25")


def test_ffmpeg_finds_exactly_the_cuts() -> None:
    log = asyncio.run(detect_scenes(MEDIA, 10.0))
    assert parse_scdet(log, PAL) == read_list(CUTS, PAL)


def test_cues_are_timed_to_the_cuts_and_check_agrees(
    emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    outputs = {}
    for name, given in (("detected", []), ("listed", [str(CUTS)])):
        folder = tmp_path / name
        folder.mkdir()
        shutil.copy(MEDIA, folder / MEDIA.name)
        result = run_cli("run", folder / MEDIA.name, "-s", "zh", "-t", "en", "--speed", "max",
                         "--shot-changes", *given, "--endpoint", emulator.url)  # fmt: skip
        assert result.returncode == 0, result.stderr
        outputs[name] = folder / "shots_zh_news.zh-en.srt"
    assert outputs["detected"].read_bytes() == outputs["listed"].read_bytes()
    cuts = read_list(CUTS, PAL)
    shots = ShotRules(PAL, cuts)
    cues = pysrt.open(str(outputs["detected"]), error_handling=pysrt.ERROR_RAISE)
    edges = []
    for cue in cues:
        begin, end = cue.start.ordinal, cue.end.ordinal
        assert PAL.on_boundary(begin) and PAL.on_boundary(end)
        edges += [("in", PAL.frame_at(begin)), ("out", PAL.frame_at(end))]
    on_cuts = [frame for edge, frame in edges if edge == "in" and frame in cuts]
    before_cuts = [frame for edge, frame in edges if edge == "out" and frame + 2 in cuts]
    assert len(on_cuts) >= 3 and len(before_cuts) >= 2, edges  # the rules were at work
    for edge, frame in edges:  # no edge left a few frames off a cut
        near = shots.near(frame)
        if near is not None:
            assert frame == (near if edge == "in" else near - 2) or abs(frame - near) >= 12
    clean = run_cli("check", "--frame-rate", "25", "--shot-changes", CUTS, outputs["detected"])
    assert clean.returncode == 0, clean.stdout
    broken = tmp_path / "broken.srt"
    items = pysrt.open(str(outputs["detected"]))
    items[0].start.ordinal = items[0].start.ordinal - 6 * 40  # 6 frames before its cut
    items[2].end.ordinal = PAL.ms(cuts[4] + 2)  # crosses a cut by 2 frames
    items.save(str(broken), encoding="utf-8")
    found = run_cli("check", "--frame-rate", "25", "--shot-changes", CUTS, broken)
    assert found.returncode == 1
    rules = [line.split(": ")[3] for line in found.stdout.splitlines() if ": cue " in line]
    assert rules == ["shot-in", "shot-out"], found.stdout


def test_a_later_run_uses_the_journaled_shot_changes(
    emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    """The scan is journaled: a target added later is timed to the same cuts without a second
    scan (shown by editing the journaled list: the added track follows the edit)."""
    media = tmp_path / MEDIA.name
    shutil.copy(MEDIA, media)
    common = ("-s", "zh", "--speed", "max", "--shot-changes", "--endpoint", emulator.url)
    assert run_cli("run", media, "-t", "en", *common).returncode == 0
    journal = tmp_path / ".shots_zh_news.subtitler-state.jsonl"
    header, _, rest = journal.read_text(encoding="utf-8").partition("\n")
    described = json.loads(header)
    assert described["picture"]["shot_changes"] == list(read_list(CUTS, PAL))
    described["picture"]["shot_changes"] = described["picture"]["shot_changes"][1:]
    journal.write_text(json.dumps(described) + "\n" + rest, encoding="utf-8")
    assert run_cli("run", media, "-t", "en,ja", *common).returncode == 0
    english = pysrt.open(str(tmp_path / "shots_zh_news.zh-en.srt"))
    japanese = pysrt.open(str(tmp_path / "shots_zh_news.zh-ja.srt"))
    assert english[0].start.ordinal == PAL.ms(26)  # on the first cut, as scanned
    assert japanese[0].start.ordinal == 800  # that cut is gone from the journal: at the speech


SAME_BRIGHTNESS = ("0xFFFF00", "0xE2E2E2", "0xFFC8FF", "0xD2F08C", "0xFFD2C8", "0xBEE6FF",
                   "0xF0E696", "0xE6DCFF")  # fmt: skip
"""Light shots of other hues, each within 8 of the one before in BT.601 luma (yellow, then a
white of its brightness, ...): a cut a luma-only score sees as under 10."""


def colour_cut_clip(folder: Path) -> Path:
    """zh_news.mp4's speech under flat shots of the same brightness, cut at the fixture's
    frames (25 fps)."""
    clip = folder / "colour_cuts.mp4"
    cuts = read_list(CUTS, PAL)
    edges = (0, *cuts, 810)
    command = [ffmpeg_executable(), "-hide_banner", "-loglevel", "error", "-y"]
    for colour, (start, end) in zip(SAME_BRIGHTNESS, itertools.pairwise(edges), strict=True):
        command += ["-f", "lavfi", "-i", f"color=c={colour}:s=160x90:r=25:d={(end - start) / 25}"]
    command += ["-i", str(FIXTURES / "zh_news.mp4")]
    shots = len(edges) - 1
    chain = "".join(f"[{i}:v]" for i in range(shots)) + f"concat=n={shots}:v=1:a=0[v]"
    command += ["-filter_complex", chain, "-map", "[v]", "-map", f"{shots}:a", "-c:a", "copy",
                "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-r", "25",
                str(clip)]  # fmt: skip
    subprocess.run(command, check=True)
    return clip


def test_cuts_that_change_colour_more_than_brightness_are_found(
    emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    """Issue 31: a cut between two flat shots of one brightness (yellow to white) was missed,
    the run wrote a cue crossing it, and `check` on the cut list flagged that cue."""
    clip = colour_cut_clip(tmp_path)
    assert parse_scdet(asyncio.run(detect_scenes(clip, 10.0)), PAL) == read_list(CUTS, PAL)
    result = run_cli("run", clip, "-s", "zh", "-t", "en", "--speed", "max", "--shot-changes",
                     "--endpoint", emulator.url)  # fmt: skip
    assert result.returncode == 0, result.stderr
    checked = run_cli("check", "--frame-rate", "25", "--shot-changes", CUTS,
                      tmp_path / "colour_cuts.zh-en.srt")  # fmt: skip
    assert checked.returncode == 0, checked.stdout
