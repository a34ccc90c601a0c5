"""`--shard I/N`: a stable, disjoint split; and three shards at once over one folder."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from subtitler.emulator.server import BackgroundEmulator
from subtitler.errors import UsageError
from subtitler.sources.inputs import InputFile, discover
from subtitler.sources.shard import Shard, in_shard, parse_shard, shard_key, shard_of
from tests import harness
from tests.support import FIXTURES

ROOT = Path(__file__).resolve().parents[1]


def test_specs() -> None:
    assert parse_shard("0/1") == Shard(0, 1)
    assert parse_shard(" 3/8 ") == Shard(3, 8)
    for bad in ("1/1", "8/8", "-1/4", "a/4", "2", "1/0", "1/4/2"):
        with pytest.raises(UsageError):
            parse_shard(bad)


def test_the_split_is_disjoint_complete_stable_and_ignores_where_the_folder_is() -> None:
    names = [f"season {s}/episode {e}.mkv" for s in range(1, 4) for e in range(1, 40)]
    here = [InputFile(Path("/a") / name, Path(name).parent) for name in names]
    there = [InputFile(Path("/mnt/b") / name, Path(name).parent) for name in reversed(names)]
    for count in (1, 2, 3, 7):
        shards = [{i.path for i in here if in_shard(i, Shard(k, count))} for k in range(count)]
        assert sum(len(s) for s in shards) == len(names)  # disjoint ...
        assert set().union(*shards) == {i.path for i in here}  # ... and complete
        if count > 1:
            assert all(shards), "39 x 3 names leave no shard empty"
        assert [shard_of(i, count) for i in here] == [shard_of(i, count) for i in reversed(there)]
    assert shard_key(here[0]) == "season 1/episode 1.mkv"
    # The documented rule, so jobs of different versions agree: SHA-256 of the relative path.
    digest = hashlib.sha256(b"season 2/episode 7.mkv").digest()
    item = InputFile(Path("/z/season 2/episode 7.mkv"), Path("season 2"))
    assert shard_of(item, 5) == int.from_bytes(digest[:8], "big") % 5


def test_three_shards_at_once_subtitle_every_file_exactly_once(
    emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    folder = tmp_path / "library"
    for index in range(7):
        target = folder / f"part {index % 2}" / f"clip {index}.mp4"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(FIXTURES / "en_late_audio.mp4", target)
    environment = harness.environment()

    def start(shard: str, client: str = "native") -> subprocess.Popen[str]:
        return subprocess.Popen(
            harness.command("run", str(folder), "-s", "en", "-t", "zh",
             "--speed", "max", "--json", "--shard", shard, "--endpoint", emulator.url,
             "--client", client),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment, cwd=ROOT,
        )  # fmt: skip

    # Both Gummy clients: shard 1 runs on the dashscope SDK.
    processes = [start(f"{index}/3", "sdk" if index == 1 else "native") for index in range(3)]
    outputs = [process.communicate(timeout=300) for process in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], [err for _, err in outputs]
    events = [json.loads(line) for out, _ in outputs for line in out.splitlines()]
    finished = Counter(e["input"] for e in events if e["event"] == "finished")
    assert len(finished) == 7 and set(finished.values()) == {1}
    assert not [e for e in events if e["event"] in ("failed", "skipped")]
    expected = {str(path) for path in folder.rglob("*.mp4")}
    assert set(finished) == expected
    per_shard = [{e["input"] for e in (json.loads(x) for x in out.splitlines())
                  if e["event"] == "finished"} for out, _ in outputs]  # fmt: skip
    items = [i for i in discover([folder]) if isinstance(i, InputFile)]
    assert per_shard == [{str(i.path) for i in items if in_shard(i, Shard(k, 3))} for k in range(3)]
    # A repeated shard is harmless: its files are done, so they are skipped.
    again = start("1/3")
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    repeated = [json.loads(line) for line in out.splitlines()]
    assert not [e for e in repeated if e["event"] == "finished"]
