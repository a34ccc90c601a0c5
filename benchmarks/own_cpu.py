"""`python -m benchmarks.own_cpu OUT ARGS...`: `python -m subtitler ARGS...` in this process,
and at its exit its CPU split in two, written to OUT as JSON: its own process (`own_cpu_s`) and
its reaped children, its ffmpeg (`children_cpu_s`).

`benchmarks/run.py` measures the whole tree from outside; this says which side of the pipe the
time went to, which the tree's total cannot.
"""

from __future__ import annotations

import atexit
import json
import resource
import runpy
import sys
from pathlib import Path


def _cpu_s(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    out = Path(sys.argv[1])

    def write() -> None:
        figures = {
            "own_cpu_s": _cpu_s(resource.RUSAGE_SELF),
            "children_cpu_s": _cpu_s(resource.RUSAGE_CHILDREN),
        }
        out.write_text(json.dumps(figures))

    atexit.register(write)
    sys.argv = ["subtitler", *sys.argv[2:]]
    runpy.run_module("subtitler", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
