"""How many hard cuts `--shot-changes` finds, and how many it invents, per measure.

Three synthetic 25 fps clips, made in a temporary folder with ffmpeg's lavfi sources:

- colour cuts: flat shots cut every second between two colours of about the same brightness
  (BT.601 luma within 6 of 255) but a different hue (a channel apart by 64 or more): the cut
  a luma-only measure scores low (yellow to white);
- brightness cuts: flat shots, dark and light in turn (the easy case);
- no cut: moving detail (testsrc2), a slow hue rotation and a zoom (mandelbrot), where every
  change found is a false one.

Each measure is a filter chain ahead of ffmpeg's `scdet` (threshold 10) on the copy scaled to
120 lines: `luma` (scdet on YUV scores the Y plane only), `colour planes` (the copy converted to
planar RGB first: scdet then scores every plane). A cut counts as found within one frame.

    python -m benchmarks.shot_recall [CUTS]   (default 60 cuts per cut clip)
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

from subtitler.layout.frames import parse_frame_rate
from subtitler.layout.shots import DEFAULT_THRESHOLD, parse_scdet
from subtitler.sources.media import ffmpeg_executable, scene_command

RATE = 25
MEASURES = {
    "luma": f"scale=-2:120,scdet=threshold={DEFAULT_THRESHOLD:g}",
    "colour planes": f"scale=-2:120,format=gbrp,scdet=threshold={DEFAULT_THRESHOLD:g}",
}


def luma(rgb: tuple[int, int, int]) -> float:
    red, green, blue = rgb
    return 0.299 * red + 0.587 * green + 0.114 * blue


def colour_pairs(count: int, seed: int = 31) -> list[tuple[int, int, int]]:
    """`count + 1` colours, each about as bright as the one before and of another hue."""
    chosen = random.Random(seed)
    colours = [(240, 240, 80)]
    while len(colours) <= count:
        candidate = (chosen.randrange(256), chosen.randrange(256), chosen.randrange(256))
        previous = colours[-1]
        apart = max(abs(a - b) for a, b in zip(candidate, previous, strict=True))
        if abs(luma(candidate) - luma(previous)) <= 6 and apart >= 64:
            colours.append(candidate)
    return colours


def flat_shots(folder: Path, name: str, colours: list[tuple[int, int, int]]) -> Path:
    """One second per colour, concatenated: a cut at every whole second."""
    clip = folder / f"{name}.mp4"
    command = [ffmpeg_executable(), "-hide_banner", "-loglevel", "error", "-y"]
    for red, green, blue in colours:
        colour = f"0x{red:02X}{green:02X}{blue:02X}"
        command += ["-f", "lavfi", "-i", f"color=c={colour}:s=160x90:r={RATE}:d=1"]
    chain = "".join(f"[{i}:v]" for i in range(len(colours)))
    command += ["-filter_complex", f"{chain}concat=n={len(colours)}:v=1:a=0[v]", "-map", "[v]",
                "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
                str(clip)]  # fmt: skip
    subprocess.run(command, check=True)
    return clip


def uncut(folder: Path, seconds: int) -> Path:
    """Moving detail, a hue rotation and a zoom, with no cut (joined with a 1 s cross-fade)."""
    clip = folder / "uncut.mp4"
    sources = [f"testsrc2=s=160x90:r={RATE}:d={seconds}",
               f"smptebars=s=160x90:r={RATE}:d={seconds},hue=H=2*PI*t/{seconds}",
               f"mandelbrot=s=160x90:r={RATE},trim=duration={seconds}"]  # fmt: skip
    command = [ffmpeg_executable(), "-hide_banner", "-loglevel", "error", "-y"]
    for source in sources:
        command += ["-f", "lavfi", "-i", source]
    chain = (f"[0:v][1:v]xfade=transition=fade:duration=1:offset={seconds - 1}[a];"
             f"[a][2:v]xfade=transition=fade:duration=1:offset={2 * seconds - 2}[v]")  # fmt: skip
    command += ["-filter_complex", chain, "-map", "[v]", "-c:v", "libx264", "-preset",
                "veryfast", "-pix_fmt", "yuv420p", str(clip)]  # fmt: skip
    subprocess.run(command, check=True)
    return clip


def changes(clip: Path, chain: str) -> tuple[int, ...]:
    command = scene_command(clip, DEFAULT_THRESHOLD)
    command[command.index("-vf") + 1] = chain
    log = subprocess.run(command, capture_output=True, text=True, check=True).stderr
    return parse_scdet(log, parse_frame_rate(str(RATE)))


def recall(found: tuple[int, ...], cuts: list[int]) -> int:
    return sum(1 for cut in cuts if any(abs(frame - cut) <= 1 for frame in found))


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        cuts = [RATE * second for second in range(1, count + 1)]
        dark_light = [(32, 32, 32) if i % 2 else (224, 224, 224) for i in range(count + 1)]
        clips = {
            "colour cuts": flat_shots(folder, "colour", colour_pairs(count)),
            "brightness cuts": flat_shots(folder, "brightness", dark_light),
        }
        plain = uncut(folder, 20)
        for name, chain in MEASURES.items():
            figures: dict[str, object] = {"measure": name}
            for kind, clip in clips.items():
                figures[kind] = f"{recall(changes(clip, chain), cuts)}/{count}"
            figures["false changes in 58 s uncut"] = len(changes(plain, chain))
            print(json.dumps(figures, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
