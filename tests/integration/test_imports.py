"""What a run loads: a run whose targets Gummy translates never imports Qwen-MT's HTTP client
library (aiohttp), whose import alone costs more CPU than the rest of such a run's start."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from subtitler.emulator.server import BackgroundEmulator
from tests import harness
from tests.support import FIXTURES


def imported(stderr: str) -> set[str]:
    """Module names from `-X importtime`'s lines (`import time: self | cumulative | name`)."""
    return {
        match.group(1)
        for match in re.finditer(r"^import time:\s+\d+ \|\s+\d+ \|\s+(\S+)$", stderr, re.MULTILINE)
    }


def test_a_run_of_gummy_targets_never_imports_aiohttp(
    tmp_path: Path, emulator: BackgroundEmulator
) -> None:
    media = tmp_path / "zh_podcast.mp3"
    shutil.copy(FIXTURES / "zh_podcast.mp3", media)
    result = harness.run(
        "run", media, "-s", "zh", "-t", "en", "--speed", "max", "--json",
        "--endpoint", emulator.url,
        env=harness.environment(PYTHONPROFILEIMPORTTIME="1"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert '"event": "finished"' in result.stdout
    modules = imported(result.stderr)
    assert "subtitler.engine.batch" in modules  # the run's engine was loaded, and read here
    assert not {name for name in modules if name.split(".")[0] == "aiohttp"}
