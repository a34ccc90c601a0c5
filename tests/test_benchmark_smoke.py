"""The benchmark in miniature (seconds), so it cannot rot: every figure is produced.

No timing is asserted here: speed is measured by `python -m benchmarks.run`, not tested.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_benchmark_smoke_run_produces_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.run",
            "--files",
            "2",
            "--seconds",
            "5",
            "--scale",
            "1,2",
            "--scale-seconds",
            "3",
            "--rounds",
            "1",
            "--naming-repeats",
            "1",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(out.read_text())
    for way in ("floor", "sample", "subtitler"):
        assert figures[way]["cpu_s"] > 0 and figures[way]["peak_rss_mb"] > 0
        assert figures[way]["cpu_s_per_audio_hour"] > 0
    assert figures["subtitler"]["files_done"] == 2
    assert figures["subtitler"]["finals"] == figures["sample"]["finals"] > 0
    assert figures["subtitler"]["cue_write_ms_p99"] is not None
    assert set(figures["ratios"]) >= {
        "cpu_vs_floor",
        "cpu_sample_vs_subtitler",
        "memory_sample_vs_subtitler",
    }
    assert [row["files"] for row in figures["scale"]] == [1, 2]
    assert all(row["files_done"] == row["files"] for row in figures["scale"])
    assert "| subtitler |" in result.stdout


def test_decode_floor_smoke_run_produces_every_figure() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.decode_floor", "--files", "1", "--seconds", "3",
         "--rounds", "1", "--start-count", "2"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout)
    assert figures["free_cpu_s"][0] > 0 and figures["paced_cpu_s"][0] > 0
    assert figures["start_cpu_ms"] > 0 and figures["started_at_once_wall_s"] > 0


def test_only_the_floor_and_subtitler_run_side_by_side_with_subtitler_split(
    tmp_path: Path,
) -> None:
    """`--only floor,subtitler`: the CPU comparison alone, subtitler's CPU split between its own
    process and its ffmpeg (their sum is within the whole tree's), results.json untouched."""
    out = tmp_path / "cpu.json"
    kept = (ROOT / "benchmarks" / "results.json").read_bytes()
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--files", "1", "--seconds", "3",
         "--rounds", "1", "--only", "floor,subtitler", "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(out.read_text())
    assert set(figures) >= {"floor", "subtitler", "ratios"}
    assert not set(figures) & {"sample", "subtitler_sdk", "naming", "startup", "scale"}
    ours = figures["subtitler"]
    assert ours["files_done"] == 1
    assert ours["own_cpu_s"] > 0 and ours["ffmpeg_cpu_s"] > 0
    assert ours["own_cpu_s"] + ours["ffmpeg_cpu_s"] <= ours["cpu_s"] + 0.01
    assert figures["ratios"]["own_process_vs_floor"] > 0
    assert "its ffmpeg" in result.stdout
    assert (ROOT / "benchmarks" / "results.json").read_bytes() == kept


def test_transport_floor_smoke_run_produces_every_figure() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.transport_floor", "--files", "2", "--seconds", "3",
         "--rounds", "1"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=180,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout)
    assert figures["bare_files_done"] == figures["files"] == 2  # the bare client did the work
    for name in ("bare", "bare_sansio", "subtitler"):
        assert figures[name]["own_cpu_s"] > 0 and figures[name]["ffmpeg_cpu_s"] > 0
        tree = figures[name]["own_cpu_s"] + figures[name]["ffmpeg_cpu_s"]
        # one round: the medians are that round's figures
        assert figures[name]["tree_vs_floor"] == pytest.approx(tree / figures["floor"]["cpu_s"])
    assert figures["floor"]["cpu_s"] > 0 and figures["floor_concurrent"]["cpu_s"] > 0
