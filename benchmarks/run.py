"""Measure subtitler against the ffmpeg floor and the public sample's way, in one run.

    python -m benchmarks.run                       # the full run (a few minutes here)
    python -m benchmarks.run --files 2 --seconds 4 --scale 1,2 --scale-seconds 3   # smoke
    python -m benchmarks.run --only floor,subtitler --out /tmp/cpu.json   # the CPU side by side

Against the local Gummy emulator (zero latency, run as its own process, its CPU reported apart),
on generated speech-like media (syllable-like noise bursts with pauses, AAC in M4A):

1. floor:     ffmpeg alone decoding each file to 16 kHz mono PCM into /dev/null
2. sample:    the public sample's way (`benchmarks/sample_way.py`): a process per file from a
              pool, 3200-byte frames every 10 ms through the SDK
3. subtitler: `subtitler run --speed max` with the same concurrency
4. scale:     subtitler at 1x with 1, 8, 32, 128 files at once: lag and cost per file

CPU is user+system time of every process involved (children and grandchildren, from rusage);
subtitler's is also split between its own process and its ffmpeg (`benchmarks/own_cpu.py`);
peak memory is the largest sum of PSS (proportional set size: shared libraries counted once)
over the process tree, sampled every 50 ms.
Prints a table and writes it as JSON (--out).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from subtitler.sources.media import ffmpeg_executable

PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --- media ---


def speech_like(seconds: float, seed: int, rate_hz: int = 48000) -> np.ndarray:
    """Sentences of syllable-like bursts (voiced buzz plus noise under a smooth envelope)
    separated by pauses longer than Gummy's end-of-sentence silence."""
    rng = np.random.default_rng(seed)
    total = int(seconds * rate_hz)
    signal = np.zeros(total)
    cursor = int(rate_hz * rng.uniform(0.3, 0.8))
    while cursor < total - rate_hz:
        sentence_end = min(total - rate_hz // 2, cursor + int(rate_hz * rng.uniform(1.5, 4.0)))
        while cursor < sentence_end:
            length = int(rate_hz * rng.uniform(0.08, 0.25))
            t = np.arange(length) / rate_hz
            pitch = rng.uniform(100, 220)
            voiced = sum(np.sin(2 * np.pi * pitch * k * t) / k for k in range(1, 6))
            burst = (0.6 * voiced + 0.4 * rng.normal(0, 1, length)) * np.hanning(length)
            end = min(total, cursor + length)
            signal[cursor:end] += 6000 * burst[: end - cursor]
            cursor = end + int(rate_hz * rng.uniform(0.02, 0.12))
        cursor += int(rate_hz * rng.uniform(0.9, 1.6))
    return signal


def make_media(folder: Path, count: int, seconds: float, first_seed: int = 1) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        wav = folder / f"speech_{index:03d}.wav"
        samples = np.clip(speech_like(seconds, first_seed + index), -32768, 32767).astype("<i2")
        with wave.open(str(wav), "wb") as handle:
            handle.setnchannels(2)
            handle.setsampwidth(2)
            handle.setframerate(48000)
            handle.writeframes(np.repeat(samples, 2).tobytes())
        media = wav.with_suffix(".m4a")
        subprocess.run(
            [
                ffmpeg_executable(),
                "-v",
                "error",
                "-y",
                "-i",
                str(wav),
                "-c:a",
                "aac",
                "-b:a",
                "96k",
                str(media),
            ],
            check=True,
        )
        wav.unlink()
        paths.append(media)
    return paths


# --- measuring processes ---


class TreeMemory:
    """Samples the summed PSS of a process and all its descendants, every 50 ms or, when a
    sample itself takes long (hundreds of processes: their smaps are read by the kernel), nine
    times its own duration apart: the sampler takes at most a tenth of a core from what it
    measures (sampling 257 processes every 50 ms cost 14.7 CPU s in a 43 s run)."""

    def __init__(self, root_pid: int) -> None:
        self.root_pid = root_pid
        self.peak_bytes = 0
        self.peak_root_bytes = 0
        """The root process alone (subtitler's Python process, without its ffmpeg children)."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while True:  # the first sample at once: a short process may be gone in 50 ms
            started = time.thread_time()
            self.peak_bytes = max(self.peak_bytes, tree_rss(self.root_pid))
            self.peak_root_bytes = max(self.peak_root_bytes, proportional_bytes(self.root_pid))
            if self._stop.wait(max(0.05, 9 * (time.thread_time() - started))):
                return


def tree_rss(root_pid: int) -> int:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read().decode("ascii", "replace")
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        parents[int(entry)] = int(fields[1])
    members = {root_pid}
    changed = True
    while changed:
        changed = False
        for pid, parent in parents.items():
            if parent in members and pid not in members:
                members.add(pid)
                changed = True
    total = 0
    for pid in members:
        total += proportional_bytes(pid)
    return total


def proportional_bytes(pid: int) -> int:
    """PSS: the process's private memory plus its share of memory it shares (libraries mapped
    by many ffmpeg or Python processes are counted once in all, not once per process)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        with open(f"/proc/{pid}/statm") as handle:
            return int(handle.read().split()[1]) * PAGE_BYTES
    except OSError:
        return 0


def process_cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as handle:
        stat = handle.read()
    fields = stat[stat.rfind(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


@dataclass
class Measured:
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    stdout: str = field(repr=False)
    returncode: int = 0
    peak_root_mb: float = 0.0


def measure(command: list[str], env: dict[str, str] | None = None) -> Measured:
    """Run a command to its end: wall time, CPU of it and every descendant, peak tree memory."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    )
    with TreeMemory(process.pid) as memory:
        stdout, _ = process.communicate()
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    peak_mb = memory.peak_bytes / 2**20
    if peak_mb == 0:  # gone before the first sample: the kernel's high-water mark (RSS)
        peak_mb = after.ru_maxrss / 1024
    return Measured(wall, cpu, peak_mb, stdout, process.returncode, memory.peak_root_bytes / 2**20)


def startup_cpu_s(command: list[str], repeats: int = 7) -> float:
    """Median CPU (user + system) of a short command, over `repeats` runs."""
    samples = []
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        samples.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return statistics.median(samples)


def subtitler_figures(
    arguments: list[str], env: dict[str, str], audio_hours: float, jobs: int, emulator_pid: int
) -> dict[str, Any]:
    """Run `subtitler run ... --json` (`arguments` after `run`) and read its figures from its
    own events, and its own process's CPU apart from its ffmpeg's."""
    emulator_before = process_cpu_s(emulator_pid)
    with tempfile.NamedTemporaryFile(suffix=".json") as split_file:
        ours = measure(
            [sys.executable, "-m", "benchmarks.own_cpu", split_file.name, "run", *arguments], env
        )
        split = json.loads(Path(split_file.name).read_text() or "{}")
    events = [json.loads(line) for line in ours.stdout.splitlines() if line]
    sentences = [e for e in events if e["event"] == "sentence"]
    finished = [e for e in events if e["event"] == "finished"]
    writes = [e["write_ms"] for e in sentences if e["write_ms"] is not None]
    firsts = [
        t["first_package_delay_ms"]
        for e in finished
        for t in e["tasks"]
        if t["first_package_delay_ms"] is not None
    ]
    return {
        "wall_s": ours.wall_s,
        "cpu_s": ours.cpu_s,
        "own_cpu_s": split.get("own_cpu_s"),
        "ffmpeg_cpu_s": split.get("children_cpu_s"),
        "cpu_s_per_audio_hour": ours.cpu_s / audio_hours,
        "peak_rss_mb": ours.peak_rss_mb,
        "peak_rss_mb_per_file": ours.peak_rss_mb / jobs,
        "peak_python_mb": ours.peak_root_mb,
        "finals": len(sentences),
        "files_done": len(finished),
        "cue_write_ms_p50": percentile(writes, 0.5),
        "cue_write_ms_p99": percentile(writes, 0.99),
        "first_package_delay_ms_median": statistics.median(firsts) if firsts else None,
        "emulator_cpu_s": process_cpu_s(emulator_pid) - emulator_before,
    }


def floor_pass(ffmpeg: str, files: list[Path]) -> tuple[float, float]:
    """Each file decoded by ffmpeg alone, one after another: (CPU s in all, peak MB of one)."""
    cpu_s, peak_mb = 0.0, 0.0
    for path in files:
        run = measure(floor_command(ffmpeg, path))
        cpu_s += run.cpu_s
        peak_mb = max(peak_mb, run.peak_rss_mb)
    return cpu_s, peak_mb


def floor_command(ffmpeg: str, path: Path) -> list[str]:
    """ffmpeg alone decoding to 16 kHz mono PCM, thrown away."""
    return [ffmpeg, "-v", "error", "-nostdin", "-i", str(path), "-ac", "1", "-ar", "16000",
            "-f", "s16le", "-y", "/dev/null"]  # fmt: skip


def floor_all_at_once(ffmpeg: str, files: list[Path]) -> list[str]:
    """The floor's decodes all started together (as a streaming client runs them), in one shell
    that waits for them all."""
    return ["sh", "-c", " ".join(f"{shlex.join(floor_command(ffmpeg, p))} &" for p in files)
            + " wait"]  # fmt: skip


NAMING_SPEECH = Path(__file__).resolve().parent.parent / "fixtures" / "en_lecture_44k.wav"


def naming_cost(url: str, env: dict[str, str], work: Path, repeats: int = 5) -> dict[str, Any]:
    """CPU of the whole run and peak PSS of subtitler's own process, `-s auto` against `-s en`
    on English speech (a fixture the emulator knows), medians of `repeats` runs each."""
    figures: dict[str, Any] = {}
    for name, source in (("auto", []), ("en", ["-s", "en"])):
        cpu, memory = [], []
        for attempt in range(repeats):
            run = measure(
                [sys.executable, "-m", "subtitler", "run", str(NAMING_SPEECH), *source,
                 "-t", "zh", "--speed", "max", "--json", "--overwrite", "--vad", "off",
                 "--out-dir", str(work / f"naming-{name}-{attempt}"), "--endpoint", url],
                env,
            )  # fmt: skip
            cpu.append(run.cpu_s)
            memory.append(run.peak_root_mb)
        figures[name] = {
            "cpu_s": statistics.median(cpu),
            "peak_python_mb": statistics.median(memory),
        }
    figures["auto_extra_cpu_s"] = figures["auto"]["cpu_s"] - figures["en"]["cpu_s"]
    figures["auto_extra_mb"] = figures["auto"]["peak_python_mb"] - figures["en"]["peak_python_mb"]
    return figures


def compile_bytecode() -> None:
    """subtitler's modules compiled once, as pip does for a wheel it installs: an editable
    install under PYTHONDONTWRITEBYTECODE would compile about a hundred modules at every start
    (0.2 CPU s here), a cost of that environment, not of subtitler."""
    import subtitler

    compileall.compile_dir(Path(subtitler.__file__).parent, quiet=1)


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


# --- the run ---


WAYS = ("floor", "sample", "subtitler", "gated", "sdk", "naming", "startup", "scale")
"""The parts of a run, in order (`--only` picks some: `floor,subtitler` is the CPU side by side)."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=8, help="files for the side-by-side (8)")
    parser.add_argument("--seconds", type=float, default=120, help="length of each file (120)")
    parser.add_argument("--jobs", type=int, default=0, help="concurrency (default: --files)")
    parser.add_argument("--scale", default="1,8,32,128,512", help="concurrent files at 1x")
    parser.add_argument("--scale-seconds", type=float, default=30, help="their length (30)")
    parser.add_argument("--rounds", type=int, default=3, help="floor and subtitler rounds (3)")
    parser.add_argument("--naming-repeats", type=int, default=5, help="runs per naming way (5)")
    parser.add_argument(
        "--only",
        default=",".join(WAYS),
        help=f"parts to run, of {','.join(WAYS)} (all); a partial run writes JSON only to --out",
    )
    parser.add_argument("--out", type=Path, default=None, help="(benchmarks/results.json)")
    arguments = parser.parse_args(argv)
    ways = {way.strip() for way in arguments.only.split(",") if way.strip()}
    if not ways <= set(WAYS):
        parser.error(f"--only: unknown {', '.join(sorted(ways - set(WAYS)))}")
    if arguments.out is None and ways == set(WAYS):
        arguments.out = Path("benchmarks/results.json")
    jobs = arguments.jobs or arguments.files
    scale = [int(n) for n in arguments.scale.split(",") if n.strip()]
    compile_bytecode()
    ffmpeg = ffmpeg_executable()
    env = {k: v for k, v in os.environ.items() if k != "DASHSCOPE_WEBSOCKET_BASE_URL"}
    env.setdefault("NO_PROXY", "127.0.0.1,localhost")

    with tempfile.TemporaryDirectory(prefix="subtitler-bench-") as temporary:
        work = Path(temporary)
        files = make_media(work / "media", arguments.files, arguments.seconds)
        audio_hours = arguments.files * arguments.seconds / 3600
        # The service's start limit (10 tasks/s) is off here: it would stagger 128 starts over
        # 14 s and hide whether the streams themselves keep real time (it is tested apart).
        emulator = subprocess.Popen(
            [sys.executable, "-m", "subtitler", "emulator", "--max-task-rate", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert emulator.stdout is not None
        url = emulator.stdout.readline().strip()
        results: dict[str, Any] = {
            "machine": {
                "cores": os.cpu_count(),
                "python": sys.version.split()[0],
                "ffmpeg": ffmpeg,
                "load_average": os.getloadavg()[0],
            },
            "files": arguments.files,
            "seconds_per_file": arguments.seconds,
            "jobs": jobs,
        }
        try:
            # 1. the floor (measured again before each further round of subtitler's, below)
            floor_rounds: list[float] = []
            if "floor" in ways:
                started = time.monotonic()
                floor_cpu, peak = floor_pass(ffmpeg, files)
                floor_rounds.append(floor_cpu)
                # ... and the same decoders all at once (as subtitler runs them): their peak PSS
                together = measure(floor_all_at_once(ffmpeg, files))
                results["floor"] = {
                    "wall_s": time.monotonic() - started,
                    "cpu_s": floor_cpu,
                    "cpu_s_per_audio_hour": floor_cpu / audio_hours,
                    "peak_rss_mb": peak,
                    "concurrent_peak_rss_mb": together.peak_rss_mb,
                }

            # 2. the public sample's way
            if "sample" in ways:
                results["sample"] = sample_figures(
                    url, env, jobs, ffmpeg, files, audio_hours, emulator.pid
                )

            # 3. subtitler, same files and concurrency, at the sample's pace (10x; its 3200-byte
            # frames every 10 ms), the source language given: both clients. The native client
            # runs --rounds times, each after a floor pass: this machine's CPU time for the same
            # work moves by a fifth from minute to minute, so the ratio is of the medians.
            def ours(client: str, vad: str = "off") -> dict[str, Any]:
                return subtitler_figures(
                    [
                        str(work / "media"), "-s", "en", "-t", "zh", "--speed", "10",
                        "--jobs", str(jobs), "--json", "--overwrite",
                        "--out-dir", str(work / f"out-{client}"), "--endpoint", url,
                        "--client", client,
                        "--vad", vad,  # off: as measured before the gate (the "gated" row: on)
                    ],
                    env,
                    audio_hours,
                    jobs,
                    emulator.pid,
                )  # fmt: skip

            if "subtitler" in ways:
                rounds = [ours("native")]
                for _ in range(arguments.rounds - 1):
                    if "floor" in ways:
                        floor_rounds.append(floor_pass(ffmpeg, files)[0])
                    rounds.append(ours("native"))
                rounds.sort(key=lambda row: row["cpu_s"])
                results["subtitler"] = {
                    **rounds[len(rounds) // 2],
                    "cpu_s_rounds": [row["cpu_s"] for row in rounds],
                    "own_cpu_s_rounds": [row["own_cpu_s"] for row in rounds],
                    "ffmpeg_cpu_s_rounds": [row["ffmpeg_cpu_s"] for row in rounds],
                }
            if "floor" in ways:
                floor_cpu = statistics.median(floor_rounds)
                results["floor"].update(
                    cpu_s=floor_cpu,
                    cpu_s_per_audio_hour=floor_cpu / audio_hours,
                    cpu_s_rounds=floor_rounds,
                )
            if "gated" in ways:  # the defaults: the speech gate on the same files
                results["subtitler_gated"] = ours("native", vad="on")
            if "sdk" in ways:
                results["subtitler_sdk"] = ours("sdk")
            results["ratios"] = ratios(results)

            # 4a. naming the source language: -s auto against -s en on English speech
            if "naming" in ways:
                results["naming"] = naming_cost(url, env, work, arguments.naming_repeats)

            # 4. start-up: `subtitler --help` against a bare interpreter importing asyncio, json
            if "startup" in ways:
                bare = startup_cpu_s([sys.executable, "-c", "import asyncio, json"])
                helped = startup_cpu_s([sys.executable, "-m", "subtitler", "--help"])
                results["startup"] = {
                    "bare_cpu_s": bare,
                    "help_cpu_s": helped,
                    "help_vs_bare": helped / bare,
                }

            # 5. scale at 1x
            if "scale" in ways:
                results["scale"] = [
                    scale_figures(work, count, arguments.scale_seconds, url, env, emulator.pid)
                    for count in scale
                ]
        finally:
            emulator.terminate()
            emulator.wait()

    if arguments.out is not None:
        arguments.out.parent.mkdir(parents=True, exist_ok=True)
        arguments.out.write_text(json.dumps(results, indent=1) + "\n")
    print(render_table(results))
    if arguments.out is not None:
        print(f"\nJSON: {arguments.out}")
    return 0


def sample_figures(
    url: str,
    env: dict[str, str],
    jobs: int,
    ffmpeg: str,
    files: list[Path],
    audio_hours: float,
    emulator_pid: int,
) -> dict[str, Any]:
    """The public sample's way (`benchmarks/sample_way.py`) on the same files."""
    emulator_before = process_cpu_s(emulator_pid)
    sample = measure(
        [sys.executable, "-m", "benchmarks.sample_way", "--endpoint", url, "--jobs", str(jobs),
         "--ffmpeg", ffmpeg, *map(str, files)],
        env,
    )  # fmt: skip
    sample_rows = [json.loads(line) for line in sample.stdout.splitlines() if line]
    return {
        "wall_s": sample.wall_s,
        "cpu_s": sample.cpu_s,
        "cpu_s_per_audio_hour": sample.cpu_s / audio_hours,
        "peak_rss_mb": sample.peak_rss_mb,
        "peak_rss_mb_per_file": sample.peak_rss_mb / jobs,
        "finals": sum(r["finals"] for r in sample_rows),
        "first_package_delay_ms_median": statistics.median(
            r["first_package_delay_ms"] for r in sample_rows
        ),
        "emulator_cpu_s": process_cpu_s(emulator_pid) - emulator_before,
    }


def ratios(results: dict[str, Any]) -> dict[str, Any]:
    """The side-by-side's ratios, of the ways that ran."""
    ours, floor = results.get("subtitler"), results.get("floor")
    sample, sdk = results.get("sample"), results.get("subtitler_sdk")
    figures: dict[str, Any] = {}
    if ours is not None and floor is not None:
        figures["cpu_vs_floor"] = ours["cpu_s"] / floor["cpu_s"]
        if ours.get("own_cpu_s") is not None:
            figures["own_process_vs_floor"] = ours["own_cpu_s"] / floor["cpu_s"]
            figures["its_ffmpeg_vs_floor"] = ours["ffmpeg_cpu_s"] / floor["cpu_s"]
        figures["memory_above_floor_decoders_mb"] = (
            ours["peak_rss_mb"] - floor["concurrent_peak_rss_mb"]
        )
    if ours is not None and sample is not None:
        figures["cpu_sample_vs_subtitler"] = sample["cpu_s"] / ours["cpu_s"]
        figures["memory_sample_vs_subtitler"] = sample["peak_rss_mb"] / ours["peak_rss_mb"]
        figures["first_package_delay_overhead_ms"] = (
            ours["first_package_delay_ms_median"] - sample["first_package_delay_ms_median"]
            if ours["first_package_delay_ms_median"] is not None
            else None
        )
    if ours is not None and sdk is not None:
        figures["cpu_sdk_client_vs_native"] = sdk["cpu_s"] / ours["cpu_s"]
    gated = results.get("subtitler_gated")
    if gated is not None and sample is not None:
        figures["cpu_sample_vs_subtitler_gated"] = sample["cpu_s"] / gated["cpu_s"]
    if gated is not None and floor is not None:
        figures["cpu_gated_vs_floor"] = gated["cpu_s"] / floor["cpu_s"]
    return figures


def scale_figures(
    work: Path,
    count: int,
    seconds: float,
    url: str,
    env: dict[str, str],
    emulator_pid: int,
    originals: list[Path] | None = None,
    gate: bool = False,
) -> dict[str, Any]:
    """`count` files of `seconds` at 1x at once: lag, split into starting and streaming.
    `originals`: the media copied (default: speech-like noise made here, with `--vad off`,
    since the gate would send none of it); `gate`: the speech gate on (`--vad on`)."""
    if originals is None:
        base = work / "scale-base"
        if not base.exists():
            make_media(base, 4, seconds, first_seed=100)
        originals = sorted(base.glob("*.m4a"))
    folder = work / f"scale-{count}"
    folder.mkdir()
    for index in range(count):
        original = originals[index % len(originals)]
        shutil.copy(original, folder / f"s{index:03d}{original.suffix}")
    emulator_before = process_cpu_s(emulator_pid)
    run = measure(
        [sys.executable, "-m", "subtitler", "run", str(folder), "-t", "en", "--speed", "1",
         "--jobs", str(count), "--json", "--max-task-rate", "0",
         "--out-dir", str(work / f"scale-out-{count}"), "--endpoint", url,
         "--vad", "on" if gate else "off"],
        env,
    )  # fmt: skip
    events = [json.loads(line) for line in run.stdout.splitlines() if line]
    finished = [e for e in events if e["event"] == "finished"]
    # From the input's start (probe included) to its last cue, minus its audio.
    lags = [e["wall_s"] - e["audio_ms"] / 1000 for e in finished]
    # ... split at its `started` event (its ffmpeg has told what the input holds,
    # its audio begins): before, starting; after, streaming (its last cue's lag).
    began = {e["input"]: e["at"] for e in events if e["event"] == "started"}
    streaming = [e["at"] - began[e["input"]] - e["audio_ms"] / 1000 for e in finished]
    starting = [e["wall_s"] - (e["at"] - began[e["input"]]) for e in finished]
    latencies = [
        e["latency_ms"] for e in events if e["event"] == "sentence" and e["latency_ms"] is not None
    ]
    return {
        "files": count,
        "audio_s_each": seconds,
        "files_done": len(finished),
        "wall_s": run.wall_s,
        "lag_s_max": max(lags) if lags else None,
        "lag_s_mean": statistics.mean(lags) if lags else None,
        "start_s_max": max(starting) if starting else None,
        "streaming_lag_s_max": max(streaming) if streaming else None,
        "speech_end_to_cue_ms_p99": percentile(latencies, 0.99),
        "cpu_s": run.cpu_s,
        "cpu_s_per_file": run.cpu_s / count,
        "cpu_share_of_realtime": run.cpu_s / seconds,
        "peak_rss_mb": run.peak_rss_mb,
        "peak_rss_mb_per_file": run.peak_rss_mb / count,
        "peak_python_mb": run.peak_root_mb,
        "emulator_cpu_s": process_cpu_s(emulator_pid) - emulator_before,
    }


def _f(value: Any, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _rounds(row: dict[str, Any]) -> str:
    return ", ".join(f"{value:.2f}" for value in row.get("cpu_s_rounds", [row["cpu_s"]]))


def render_table(results: dict[str, Any]) -> str:
    """The table and lines of what ran (a partial run, `--only`, has fewer)."""
    lines = [
        f"{results['files']} files x {results['seconds_per_file']:.0f} s, concurrency "
        f"{results['jobs']}, {results['machine']['cores']} cores, load average "
        f"{_f(results['machine'].get('load_average'), 2)} at the start",
        "",
        "| way | wall s | CPU s | CPU s / audio h | peak MB | MB / file | emulator CPU s |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in ("floor", "sample", "subtitler", "subtitler_sdk"):
        row = results.get(name)
        if row is None:
            continue
        lines.append(
            f"| {name} | {_f(row['wall_s'])} | {_f(row['cpu_s'], 2)} | "
            f"{_f(row['cpu_s_per_audio_hour'])} | {_f(row['peak_rss_mb'])} | "
            f"{_f(row.get('peak_rss_mb_per_file'))} | {_f(row.get('emulator_cpu_s'), 2)} |"
        )
    ratios = results.get("ratios", {})
    ours, floor, sample = results.get("subtitler"), results.get("floor"), results.get("sample")
    lines.append("")
    if ours is not None and floor is not None:
        lines += [
            f"CPU s per round, floor: {_rounds(floor)}; subtitler: {_rounds(ours)} (medians in "
            "the table)",
            f"subtitler CPU vs floor: {ratios['cpu_vs_floor']:.2f}x",
            f"peak PSS above the floor's {results['jobs']} decoders running at once "
            f"({_f(floor['concurrent_peak_rss_mb'])} MB): "
            f"{_f(ratios['memory_above_floor_decoders_mb'])} MB",
        ]
        if "own_process_vs_floor" in ratios:
            lines.append(
                f"of it: subtitler's own process {_f(ours['own_cpu_s'], 2)} CPU s "
                f"({ratios['own_process_vs_floor']:.2f}x the floor), its ffmpeg "
                f"{_f(ours['ffmpeg_cpu_s'], 2)} CPU s ({ratios['its_ffmpeg_vs_floor']:.2f}x)"
            )
    if ours is not None and sample is not None:
        lines.append(
            f"sample CPU vs subtitler: {ratios['cpu_sample_vs_subtitler']:.2f}x; sample memory "
            f"vs subtitler: {ratios['memory_sample_vs_subtitler']:.2f}x"
        )
    if "naming" in results:
        lines.append(
            f"naming (-s auto against -s en, English speech): "
            f"+{results['naming']['auto_extra_cpu_s']:.3f} CPU s, "
            f"+{_f(results['naming']['auto_extra_mb'])} MB (subtitler's process PSS)"
        )
    if ours is not None:
        lines.append(
            f"cue durable after the final result: p50 {_f(ours['cue_write_ms_p50'], 2)} ms, "
            f"p99 {_f(ours['cue_write_ms_p99'], 2)} ms; first package delay (median): "
            f"subtitler {_f(ours['first_package_delay_ms_median'])} ms"
        )
    if sample is not None and "subtitler_sdk" in results:
        lines.append(
            f"first package delay (median): sample "
            f"{_f(sample['first_package_delay_ms_median'])} ms, subtitler with the SDK client "
            f"{_f(results['subtitler_sdk']['first_package_delay_ms_median'])} ms"
        )
    if "startup" in results:
        startup = results["startup"]
        lines.append(
            f"start-up: subtitler --help {startup['help_cpu_s'] * 1000:.0f} ms CPU, bare "
            f"interpreter (import asyncio, json) {startup['bare_cpu_s'] * 1000:.0f} ms: "
            f"{startup['help_vs_bare']:.2f}x"
        )
    if "scale" in results:
        lines += scale_table(results["scale"])
    return "\n".join(lines)


def scale_table(scale: list[dict[str, Any]]) -> list[str]:
    per_stream = None
    if len(scale) > 1 and scale[0]["files"] == 1:
        big = next((row for row in scale if row["files"] == 128), scale[-1])
        extra = big["files"] - 1
        per_stream = (big["peak_python_mb"] - scale[0]["peak_python_mb"]) / extra
    lines = [
        f"subtitler's own process per extra stream at 1x (PSS, ffmpeg apart): "
        f"{_f(per_stream, 2)} MB",
        "",
        "| files at 1x | done | wall s | max lag s | of it: start s | streaming lag s "
        "| speech end -> cue p99 ms | CPU s / file | CPU share of 1 core | peak MB | MB / file "
        "| subtitler process MB | emulator CPU s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in scale:
        lines.append(
            f"| {row['files']} | {row['files_done']} | {_f(row['wall_s'])} | "
            f"{_f(row['lag_s_max'], 2)} | {_f(row.get('start_s_max'), 2)} | "
            f"{_f(row.get('streaming_lag_s_max'), 2)} | {_f(row['speech_end_to_cue_ms_p99'])} | "
            f"{_f(row['cpu_s_per_file'], 3)} | {_f(row['cpu_share_of_realtime'], 2)} | "
            f"{_f(row['peak_rss_mb'])} | {_f(row['peak_rss_mb_per_file'], 1)} | "
            f"{_f(row.get('peak_python_mb'), 1)} | {_f(row['emulator_cpu_s'], 2)} |"
        )
    return lines


if __name__ == "__main__":
    sys.exit(main())
