"""The one way tests run the `subtitler` command: as users run it, in a child process of this
interpreter (so the worktree's code, whichever venv is active), from the repository's root.

`command()` and `environment()` are the two facts every spawn shares; `run()` (to the end),
`start()` (a `Popen` to talk to or signal) and `spawn()` (on a pseudo-terminal, via pexpect)
are the three ways a test needs it. The environment never carries an outer
`DASHSCOPE_WEBSOCKET_BASE_URL`, so no test can reach a real endpoint by accident.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pexpect

ROOT = Path(__file__).resolve().parents[1]
RUN_TIMEOUT_S = 600


def command(*args: str | Path) -> list[str]:
    """The argv of `subtitler ARGS...` in a child process."""
    return [sys.executable, "-m", "subtitler", *map(str, args)]


def environment(env: dict[str, str] | None = None, **changes: str | None) -> dict[str, str]:
    """This process's environment without an outer endpoint, with `env` added and each of
    `changes` set (None: removed). Without COLUMNS and LINES: pytest-xdist's workers set them
    (80x24), and they would override the size of a test's pseudo-terminal."""
    dropped = ("DASHSCOPE_WEBSOCKET_BASE_URL", "COLUMNS", "LINES")
    result = {k: v for k, v in os.environ.items() if k not in dropped}
    result.update(env or {})
    for name, value in changes.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = value
    return result


def run(
    *args: str | Path,
    env: dict[str, str] | None = None,
    timeout: float = RUN_TIMEOUT_S,
    **options: Any,
) -> subprocess.CompletedProcess[str]:
    """`subtitler ARGS...` to its end, stdout and stderr captured as text (not a terminal)."""
    return subprocess.run(
        command(*args),
        capture_output=True,
        text=True,
        env=env if env is not None else environment(),
        cwd=ROOT,
        timeout=timeout,
        check=False,
        **options,
    )


def start(
    *args: str | Path, env: dict[str, str] | None = None, **options: Any
) -> subprocess.Popen[str]:
    """`subtitler ARGS...` started: a `subprocess.Popen[str]`, stdout and stderr piped unless
    `options` say otherwise."""
    settings: dict[str, Any] = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    settings.update(options)
    return subprocess.Popen(
        command(*args),
        text=True,
        env=env if env is not None else environment(),
        cwd=ROOT,
        **settings,
    )


def spawn(
    *args: str | Path,
    env: dict[str, str] | None = None,
    rows: int = 40,
    columns: int = 140,
    timeout: float = 120,
    encoding: str | None = "utf-8",
) -> pexpect.spawn:
    """`subtitler ARGS...` on a pseudo-terminal of `rows` x `columns`: stdout is a terminal."""
    argv = command(*args)
    return pexpect.spawn(
        argv[0],
        argv[1:],
        cwd=str(ROOT),
        env=env if env is not None else environment(),
        encoding=encoding,
        dimensions=(rows, columns),
        timeout=timeout,
    )
