"""Run the subtitler CLI with a loop-lag probe: how late a 10 ms timer fires on its event loop.

    python -m benchmarks.loop_lag OUT.tsv run ARGS...     # as `subtitler run ARGS...`

Benchmark-only: an event loop policy adds a repeating 10 ms timer to every loop the CLI makes;
each firing's lateness (ms) is recorded with its wall-clock time and appended to OUT.tsv every
1000 firings and when the process ends (`time_s<TAB>late_ms` lines), so a SIGKILLed run keeps
all but its last 10 s. Nothing in `subtitler` knows of it.
"""

from __future__ import annotations

import asyncio
import atexit
import sys
import time
from pathlib import Path

INTERVAL_S = 0.010


class _Probe:
    def __init__(self, out: Path) -> None:
        self.out = out
        self.samples: list[tuple[float, float]] = []
        atexit.register(self.save)

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        def tick(expected: float) -> None:
            now = loop.time()
            self.samples.append((time.time(), (now - expected) * 1000))
            if len(self.samples) >= 1000:
                self.save()
            loop.call_at(now + INTERVAL_S, tick, now + INTERVAL_S)

        loop.call_soon(lambda: tick(loop.time()))

    def save(self) -> None:
        with open(self.out, "a") as handle:
            handle.write("".join(f"{at:.3f}\t{late:.3f}\n" for at, late in self.samples))
        self.samples.clear()


class _Policy(asyncio.DefaultEventLoopPolicy):
    def __init__(self, probe: _Probe) -> None:
        super().__init__()
        self.probe = probe

    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        loop = super().new_event_loop()
        self.probe.attach(loop)
        return loop


def main() -> int:
    out = Path(sys.argv[1])
    asyncio.set_event_loop_policy(_Policy(_Probe(out)))
    from subtitler.cli import main as cli_main

    return cli_main(sys.argv[2:])


if __name__ == "__main__":
    raise SystemExit(main())
