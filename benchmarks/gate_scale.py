"""Live scale with the speech gate on: N inputs of real speech, music and applause at 1x.

    python -m benchmarks.gate_scale                      # 128 inputs of 30 s
    python -m benchmarks.gate_scale --counts 8,32 --seconds 20

The media are the first `--seconds` of `fixtures/gating/composite.m4a` (English speech between
music, applause and room tone, with true times), which the emulator knows when started with
`--scripts fixtures/gating`. Each count runs `subtitler run --speed 1 --jobs N --vad on` as
`benchmarks.run`'s scale rows do (its `scale_figures`): the lag from an input's start to its last
cue minus its audio, split into starting and streaming, and the CPU of the whole run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.run import scale_figures
from subtitler.sources.media import ffmpeg_executable

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "gating"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="128")
    parser.add_argument("--seconds", type=float, default=30)
    arguments = parser.parse_args()
    env = {**os.environ, "DASHSCOPE_API_KEY": "local-emulator"}
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        clip = work / "clip.m4a"
        composite = str(FIXTURES / "composite.m4a")
        subprocess.run([ffmpeg_executable(), "-v", "error", "-i", composite, "-t",
                        str(arguments.seconds), "-c", "copy", str(clip)], check=True)  # fmt: skip
        emulator = subprocess.Popen(
            [sys.executable, "-m", "subtitler", "emulator", "--max-task-rate", "0",
             "--scripts", str(FIXTURES)],
            stdout=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        try:
            assert emulator.stdout is not None
            url = emulator.stdout.readline().strip()
            counts = [int(count) for count in arguments.counts.split(",")]
            rows = [
                scale_figures(
                    work, count, arguments.seconds, url, env, emulator.pid, [clip], gate=True
                )
                for count in counts
            ]
        finally:
            emulator.terminate()
            emulator.wait()
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
