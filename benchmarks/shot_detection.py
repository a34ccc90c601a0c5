"""What `--shot-changes` costs: ffmpeg's scdet pass over a 1080p video (decoded in full, scored
on a copy scaled to 120 lines), in CPU seconds per hour of video, on this machine.

A 1080p 25 fps H.264 clip (testsrc2 and flat colours, a cut every 4 s) is made once in a
temporary folder; the pass is the command `--shot-changes` runs (`media.scene_command`).

    python -m benchmarks.shot_detection [SECONDS]   (default 120 s of video)
"""

from __future__ import annotations

import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from subtitler.layout.frames import parse_frame_rate
from subtitler.layout.shots import DEFAULT_THRESHOLD, parse_scdet
from subtitler.sources.media import detect_scenes, ffmpeg_executable


def make_clip(folder: Path, seconds: int) -> Path:
    """testsrc2 (moving detail) cut every 4 s to a flat colour and back."""
    clip = folder / "1080p.mp4"
    shots = []
    for index in range(0, seconds, 4):
        source = "testsrc2=" if index % 8 == 0 else "color=c=0x405060:"
        shots.append(f"{source}s=1920x1080:r=25:d=4")
    command = [ffmpeg_executable(), "-hide_banner", "-loglevel", "error", "-y"]
    for shot in shots:
        command += ["-f", "lavfi", "-i", shot]
    chain = "".join(f"[{i}:v]" for i in range(len(shots))) + f"concat=n={len(shots)}:v=1:a=0[v]"
    command += ["-filter_complex", chain, "-map", "[v]", "-c:v", "libx264", "-preset",
                "veryfast", "-crf", "20", "-pix_fmt", "yuv420p", str(clip)]  # fmt: skip
    subprocess.run(command, check=True)
    return clip


def main() -> int:
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 120
    with tempfile.TemporaryDirectory() as folder:
        clip = make_clip(Path(folder), seconds)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        log = asyncio.run(detect_scenes(clip, DEFAULT_THRESHOLD))
        wall_s = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    found = parse_scdet(log, parse_frame_rate("25"))
    figures = {
        "video_s": seconds,
        "cuts_made": seconds // 4 - 1,
        "cuts_found": len(found),
        "cpu_s": round(cpu_s, 2),
        "wall_s": round(wall_s, 2),
        "cpu_s_per_video_hour": round(cpu_s * 3600 / seconds, 1),
        "wall_s_per_video_hour": round(wall_s * 3600 / seconds, 1),
    }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
