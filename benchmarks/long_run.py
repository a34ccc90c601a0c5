"""Hours of speech in one run: is the cost of audio hour N the cost of hour 1?

    python -m benchmarks.long_run --hours 10 --kill-at-hour 9 --media-cache ~/.cache/subtitler
    python -m benchmarks.long_run --hours 1

The input is `fixtures/zh_news.mp4`'s audio decoded once and repeated sample-exactly for
`--hours`, encoded as AAC 48 kHz stereo in M4A (so every sentence's place is known:
loop k, sentence j begins at k * loop + begin_j). One `subtitler run` at `--speed max`, four
formats, `--rollover-after 1800` (a new Gummy task every 30 min of audio), against the local
emulator (its own process; its CPU is not counted), under `benchmarks.loop_lag`.

Per audio hour (mapped through the run's `progress` events): CPU of our process and its ffmpeg
(sampled from /proc every 0.25 s), `write_ms` p50/p99 of the sentences of that hour, loop lag
p50/p99/max (a 10 ms timer), and the largest RSS of our process. With `--kill-at-hour H` the run
is SIGKILLed when its audio reaches hour H and run again: the rerun's journal replay time
(`started` event after process start) and the sentence accounting over both runs
(expected, found, lost, duplicated). Finally every track is parsed (pysrt, webvtt-py, pysubs2,
ElementTree + `subtitler.tracks.imsc`). Prints a table and writes JSON (--out).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import wave
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.run import percentile
from subtitler.sources.media import ffmpeg_executable

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "zh_news.mp4"
TRANSCRIPT = FIXTURE.parent / "transcripts" / "zh_news.json"
RATE_HZ = 48000
HOUR_MS = 3_600_000


def make_input(folder: Path, hours: float) -> tuple[Path, int]:
    """The looped M4A and the loop's length in samples (48 kHz)."""
    ffmpeg = ffmpeg_executable()
    pcm = subprocess.run(
        [ffmpeg, "-v", "error", "-i", str(FIXTURE), "-vn", "-ac", "2", "-ar", str(RATE_HZ),
         "-f", "s16le", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    loop = np.frombuffer(pcm, dtype="<i2").reshape(-1, 2)
    loop_samples = len(loop)
    wav = folder / "loop.wav"
    with wave.open(str(wav), "wb") as handle:
        handle.setnchannels(2)
        handle.setsampwidth(2)
        handle.setframerate(RATE_HZ)
        handle.writeframes(loop.tobytes())
    out = folder / f"zh_{hours:g}h.m4a"
    if out.exists():  # made by an earlier run (encoding 10 h takes ~15 min here)
        return out, loop_samples
    partial = folder / f".zh_{hours:g}h.part.m4a"
    subprocess.run(
        [ffmpeg, "-v", "error", "-stream_loop", "-1", "-i", str(wav), "-t", str(hours * 3600),
         "-c:a", "aac", "-b:a", "96k", "-y", str(partial)],
        check=True,
    )  # fmt: skip
    partial.rename(out)
    return out, loop_samples


def expected_sentences(loop_samples: int, total_ms: int) -> list[int]:
    """Begin times (ms) of every sentence wholly inside the input."""
    sentences = json.loads(TRANSCRIPT.read_text(encoding="utf-8"))["sentences"]
    loop_ms = loop_samples * 1000 / RATE_HZ
    begins = []
    k = 0
    while k * loop_ms < total_ms:
        for sentence in sentences:
            if k * loop_ms + sentence["end_ms"] + 700 <= total_ms:
                begins.append(round(k * loop_ms + sentence["begin_ms"]))
        k += 1
    return begins


def tree_pids(root: int) -> list[int]:
    pids, frontier = [root], [root]
    while frontier:
        pid = frontier.pop()
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as handle:
                children = [int(c) for c in handle.read().split()]
        except OSError:
            children = []
        pids += children
        frontier += children
    return pids


def cpu_s(pid: int, reaped: bool) -> float:
    """User + system time of a live process (with `reaped`: of its reaped children too)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(x) for x in fields[11 : 15 if reaped else 13]) / CLOCK_TICKS


def rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/statm") as handle:
            return int(handle.read().split()[1]) * PAGE_BYTES / 2**20
    except OSError:
        return 0.0


class Run:
    """One `subtitler run` under the loop-lag probe, sampled while it goes."""

    def __init__(self, command: list[str], lag_file: Path, kill_at_ms: int | None) -> None:
        self.started_s = time.time()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.loop_lag", str(lag_file), *command],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        self.lag_file = lag_file
        self.kill_at_ms = kill_at_ms
        self.killed = False
        self.events: list[dict[str, Any]] = []
        self.progress: list[tuple[float, int]] = []  # (wall s, audio ms)
        self.samples: list[tuple[float, float, float]] = []  # (wall s, tree CPU s, our RSS MB)
        self._done = threading.Event()
        sampler = threading.Thread(target=self._sample, daemon=True)
        sampler.start()
        assert self.process.stdout is not None
        for line in self.process.stdout:
            event = json.loads(line)
            self.events.append(event)
            if event["event"] == "progress":
                self.progress.append((event["at"], event["sent_ms"]))
                if self.kill_at_ms is not None and event["sent_ms"] >= self.kill_at_ms:
                    os.killpg(self.process.pid, signal.SIGKILL)
                    self.killed = True
                    break
        self.process.wait()
        self._done.set()
        sampler.join()

    def _sample(self) -> None:
        while not self._done.wait(0.25):
            # Ours with its reaped children (a finished ffmpeg), and the children still running.
            children = tree_pids(self.process.pid)[1:]
            total = cpu_s(self.process.pid, reaped=True)
            total += sum(cpu_s(pid, reaped=False) for pid in children)
            self.samples.append((time.time(), total, rss_mb(self.process.pid)))

    def time_to(self, kind: str) -> float:
        """Seconds from the process's start to its first event of this kind."""
        return round(next(e["at"] for e in self.events if e["event"] == kind) - self.started_s, 3)

    def lags(self) -> list[tuple[float, float]]:
        if not self.lag_file.exists():
            return []
        rows = self.lag_file.read_text().split()
        return [(float(rows[i]), float(rows[i + 1])) for i in range(0, len(rows), 2)]


def audio_ms_at(progress: list[tuple[float, int]], wall_s: float) -> int:
    """Where the run's audio was at `wall_s` (the latest progress event before it)."""
    position = 0
    for at, sent_ms in progress:
        if at > wall_s:
            break
        position = sent_ms
    return position


def per_hour(run: Run, hours: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [
        {"hour": h + 1, "cpu_s": 0.0, "writes": [], "lags": [], "rss": 0.0} for h in range(hours)
    ]
    previous_cpu = 0.0
    for at, total, rss in run.samples:
        hour = min(hours - 1, audio_ms_at(run.progress, at) // HOUR_MS)
        rows[hour]["cpu_s"] += total - previous_cpu
        rows[hour]["rss"] = max(rows[hour]["rss"], rss)
        previous_cpu = total
    for event in run.events:
        if event["event"] == "sentence" and event["write_ms"] is not None:
            hour = min(hours - 1, event["begin_ms"] // HOUR_MS)
            rows[hour]["writes"].append(event["write_ms"])
    for at, late in run.lags():
        rows[min(hours - 1, audio_ms_at(run.progress, at) // HOUR_MS)]["lags"].append(late)
    return [
        {
            "hour": row["hour"],
            "cpu_s": round(row["cpu_s"], 2),
            "sentences": len(row["writes"]),
            "write_ms_p50": percentile(row["writes"], 0.5),
            "write_ms_p99": percentile(row["writes"], 0.99),
            "loop_lag_ms_p50": percentile(row["lags"], 0.5),
            "loop_lag_ms_p99": percentile(row["lags"], 0.99),
            "loop_lag_ms_max": max(row["lags"], default=None),
            "rss_mb_max": round(row["rss"], 1),
        }
        for row in rows
    ]


def parse_tracks(folder: Path) -> dict[str, int]:
    """Cue counts of every track, each read by a strict parser (raises when one does not)."""
    import pysrt
    import pysubs2
    import webvtt

    from subtitler.tracks import imsc

    counts = {}
    for path in sorted(folder.iterdir()):
        if path.suffix == ".srt":
            counts[path.name] = len(pysrt.open(str(path), error_handling=pysrt.ERROR_RAISE))
        elif path.suffix == ".vtt":
            counts[path.name] = len(webvtt.from_string(path.read_text("utf-8"), strict=True))
        elif path.suffix == ".ass":
            counts[path.name] = len(pysubs2.load(str(path)).events)
        elif path.suffix == ".ttml":
            root = ET.parse(path).getroot()
            problems = imsc.problems(root)
            if problems:
                raise ValueError(f"{path.name}: {problems[:3]}")
            counts[path.name] = len(list(root.iter(f"{{{imsc.TT}}}p")))
    return counts


def account(expected: list[int], events: list[dict[str, Any]]) -> dict[str, int]:
    """Match written sentences to the expected ones by begin time (±500 ms)."""
    found = sorted(e["begin_ms"] for e in events if e["event"] == "sentence")
    matched: set[int] = set()
    duplicated = 0
    index = 0
    for begin in found:
        while index < len(expected) and expected[index] < begin - 500:
            index += 1
        candidates = [i for i in (index, index + 1) if i < len(expected)]
        hit = next((i for i in candidates if abs(expected[i] - begin) <= 500), None)
        if hit is None:
            continue
        if hit in matched:
            duplicated += 1
        matched.add(hit)
    return {
        "expected": len(expected),
        "found": len(matched),
        "lost": len(expected) - len(matched),
        "duplicated": duplicated,
        "unexpected": len(found) - len(matched) - duplicated,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=int, default=10)
    parser.add_argument("--kill-at-hour", type=float, default=None)
    parser.add_argument("--source", default="zh", help="-s for the run (auto: identify)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--media-cache", type=Path, default=None, help="keep the looped input here for reruns"
    )
    arguments = parser.parse_args(argv)
    out = arguments.out or Path(f"benchmarks/long_run_{arguments.hours}h.json")
    with tempfile.TemporaryDirectory(prefix="subtitler-long-") as temporary:
        work = Path(temporary)
        cache = arguments.media_cache or work
        cache.mkdir(parents=True, exist_ok=True)
        media, loop_samples = make_input(cache, arguments.hours)
        emulator = subprocess.Popen(
            [sys.executable, "-m", "subtitler", "emulator"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert emulator.stdout is not None
        url = emulator.stdout.readline().strip()
        tracks = work / "tracks"
        command = [
            "run", str(media), "-s", arguments.source, "-t", "en",
            "--format", "srt,vtt,ass,ttml", "--speed", "max", "--json", "--no-preview",
            "--rollover-after", "1800", "--out-dir", str(tracks), "--endpoint", url,
        ]  # fmt: skip
        try:
            kill_at = round(arguments.kill_at_hour * HOUR_MS) if arguments.kill_at_hour else None
            first = Run(command, work / "lag1.tsv", kill_at)
            runs = [first]
            resume: dict[str, float] = {}
            if first.killed:
                second = Run(command, work / "lag2.tsv", None)
                runs.append(second)
                resume = {
                    "fresh_start_to_started_s": first.time_to("started"),
                    "resumed_start_to_started_s": second.time_to("started"),
                    "resumed_start_to_first_cue_s": second.time_to("sentence"),
                }
        finally:
            emulator.terminate()
            _, emulator_log = emulator.communicate()
        tasks_started = sum(  # the emulator's closing line counts the tasks it started
            int(found) for found in re.findall(r"(\d+) started", emulator_log)[-1:]
        )
        total_ms = arguments.hours * HOUR_MS  # the input is cut at exactly that (-t)
        hours = per_hour(first, arguments.hours) if not first.killed else []
        if first.killed:  # hours before the kill from the first run, after it from the rerun
            killed_rows = per_hour(first, arguments.hours)
            rerun_rows = per_hour(runs[1], arguments.hours)
            cut = int(arguments.kill_at_hour or 0)
            hours = killed_rows[:cut] + rerun_rows[cut:]
        results: dict[str, Any] = {
            "command": "python -m benchmarks.long_run " + " ".join(argv or sys.argv[1:]),
            "hours": arguments.hours,
            "per_hour": hours,
            "runs": [
                {
                    "wall_s": round(
                        (run.samples[-1][0] if run.samples else run.started_s) - run.started_s, 1
                    ),
                    "cpu_s": round(run.samples[-1][1], 2) if run.samples else None,
                    "killed": run.killed,
                }
                for run in runs
            ],
            "rollovers": tasks_started - len(runs),
            "resume": resume,
            "sentences": account(
                expected_sentences(loop_samples, total_ms),
                [e for run in runs for e in run.events],
            ),
            "tracks": parse_tracks(tracks),
            "exit_status": runs[-1].process.returncode,
        }
    out.write_text(json.dumps(results, indent=1) + "\n")
    print(render(results))
    print(f"\nJSON: {out}")
    return 0


def render(results: dict[str, Any]) -> str:
    lines = [
        "hour  cpu_s  sentences  write_ms p50/p99   loop_lag_ms p50/p99/max   rss_mb",
    ]
    for row in results["per_hour"]:
        lines.append(
            f"{row['hour']:>4}  {row['cpu_s']:>5.2f}  {row['sentences']:>9}  "
            f"{_f(row['write_ms_p50'])}/{_f(row['write_ms_p99'])}          "
            f"{_f(row['loop_lag_ms_p50'])}/{_f(row['loop_lag_ms_p99'])}/"
            f"{_f(row['loop_lag_ms_max'])}        {row['rss_mb_max']}"
        )
    cpu = [row["cpu_s"] for row in results["per_hour"]]
    if len(cpu) > 1 and cpu[0]:
        lines.append(f"last hour / first hour CPU: {cpu[-1] / cpu[0]:.2f}")
        lines.append(f"mean CPU per hour: {statistics.mean(cpu):.2f} s")
    lines.append(f"runs: {results['runs']}")
    lines.append(f"rollovers (tasks started after each run's first): {results['rollovers']}")
    lines.append(f"resume: {results['resume']}")
    lines.append(f"sentences: {results['sentences']}")
    lines.append(f"tracks: {results['tracks']}")
    return "\n".join(lines)


def _f(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


if __name__ == "__main__":
    raise SystemExit(main())
