"""What ffmpeg costs before subtitler does anything: the floor's decode free-running and paced,
and starting many decoders at once.

    python -m benchmarks.decode_floor            # 8 files x 120 s, 3 rounds (about 2 min here)

1. free:    each file decoded to 16 kHz mono PCM into /dev/null, one after another (the floor
            `benchmarks/run.py` compares subtitler with)
2. paced:   the same eight decodes at once, each read from its pipe 100 ms of audio at a time at
            10x (a reader that does nothing else), as any streaming client must read them;
            `--read-ms 1000` reads them in 1 s bursts instead, `--block-writes` has ffmpeg
            write in 32 KB blocks as subtitler's decoder of a file does (`-flush_packets 0`)
3. start:   one ffmpeg started to read a file's header and 0.1 s of it (CPU, averaged), and
            `--start-count` of them started at once from asyncio (wall time until all are done)

Prints one JSON object. CPU is user+system of the ffmpeg processes (rusage of children).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from benchmarks.run import floor_command, make_media
from subtitler.sources.media import ffmpeg_executable

BYTES_PER_MS = 32  # 16 kHz mono s16le


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def free_cpu_s(ffmpeg: str, files: list[Path]) -> float:
    before = children_cpu_s()
    for path in files:
        subprocess.run(floor_command(ffmpeg, path), check=True, stdin=subprocess.DEVNULL)
    return children_cpu_s() - before


def paced_cpu_s(
    ffmpeg: str, files: list[Path], speed: float, read_ms: int = 100, block_writes: bool = False
) -> float:
    """All files at once, each pipe read `read_ms` of audio per `read_ms` / speed."""
    before = children_cpu_s()
    read_bytes = read_ms * BYTES_PER_MS
    blocks = ["-flush_packets", "0"] if block_writes else []
    decoders = [
        subprocess.Popen(
            [ffmpeg, "-v", "error", "-nostdin", "-i", str(path), "-ac", "1", "-ar", "16000",
             "-f", "s16le", *blocks, "pipe:1"],
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
        )
        for path in files
    ]  # fmt: skip
    started, step, reading = time.monotonic(), 0, list(decoders)
    while reading:
        step += 1
        for decoder in list(reading):
            assert decoder.stdout is not None
            if len(decoder.stdout.read(read_bytes)) < read_bytes:
                reading.remove(decoder)
        time.sleep(max(0.0, started + step * read_ms / 1000 / speed - time.monotonic()))
    for decoder in decoders:
        decoder.wait()
    return children_cpu_s() - before


def start_cpu_s(ffmpeg: str, path: Path, repeats: int = 30) -> float:
    before = children_cpu_s()
    for _ in range(repeats):
        subprocess.run(
            [ffmpeg, "-v", "error", "-nostdin", "-i", str(path), "-t", "0.1", "-ac", "1",
             "-ar", "16000", "-f", "s16le", "-y", "/dev/null"],
            check=True,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
    return (children_cpu_s() - before) / repeats


async def start_many_wall_s(ffmpeg: str, path: Path, count: int) -> float:
    async def one() -> None:
        process = await asyncio.create_subprocess_exec(
            ffmpeg, "-v", "error", "-nostdin", "-i", str(path), "-t", "0.1", "-ac", "1",
            "-ar", "16000", "-f", "s16le", "-y", "/dev/null", stdin=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        await process.wait()

    started = time.monotonic()
    await asyncio.gather(*(one() for _ in range(count)))
    return time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--speed", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--start-count", type=int, default=128)
    parser.add_argument("--read-ms", type=int, default=100, help="audio per paced read (100)")
    parser.add_argument("--block-writes", action="store_true", help="ffmpeg writes 32 KB blocks")
    arguments = parser.parse_args(argv)
    ffmpeg = ffmpeg_executable()
    with tempfile.TemporaryDirectory(prefix="subtitler-floor-") as temporary:
        files = make_media(Path(temporary), arguments.files, arguments.seconds)
        free, paced = [], []
        for _ in range(arguments.rounds):  # alternating: the machine's state drifts
            free.append(free_cpu_s(ffmpeg, files))
            paced.append(
                paced_cpu_s(
                    ffmpeg, files, arguments.speed, arguments.read_ms, arguments.block_writes
                )
            )
        one_start = start_cpu_s(ffmpeg, files[0])
        many_wall = asyncio.run(start_many_wall_s(ffmpeg, files[0], arguments.start_count))
    print(
        json.dumps(
            {
                "files": arguments.files,
                "seconds_per_file": arguments.seconds,
                "speed": arguments.speed,
                "read_ms": arguments.read_ms,
                "block_writes": arguments.block_writes,
                "load_average": os.getloadavg()[0],
                "free_cpu_s": [round(value, 2) for value in free],
                "paced_cpu_s": [round(value, 2) for value in paced],
                "paced_vs_free": round(statistics.median(paced) / statistics.median(free), 2),
                "start_cpu_ms": round(one_start * 1000, 1),
                "started_at_once": arguments.start_count,
                "started_at_once_wall_s": round(many_wall, 2),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
