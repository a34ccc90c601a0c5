"""Finding inputs: folders recursively, hidden skipped, each file once, loops survived."""

from __future__ import annotations

import os
from pathlib import Path

from subtitler.sources.inputs import InputFile, InputProblem, discover


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_folders_are_searched_by_extension_and_hidden_entries_skipped(tmp_path: Path) -> None:
    touch(tmp_path / "b.MKV")
    touch(tmp_path / "a.mp4")
    touch(tmp_path / "sub" / "c.wav")
    touch(tmp_path / "notes.txt")
    touch(tmp_path / ".hidden.mp4")
    touch(tmp_path / ".cache" / "d.mp4")
    found = discover([tmp_path])
    assert all(isinstance(f, InputFile) for f in found)
    names = [(f.path.name, f.relative_dir.as_posix()) for f in found if isinstance(f, InputFile)]
    assert names == [("a.mp4", "."), ("b.MKV", "."), ("c.wav", "sub")]


def test_a_file_given_directly_is_taken_whatever_its_extension(tmp_path: Path) -> None:
    path = touch(tmp_path / "recording.bin")
    assert discover([path]) == [InputFile(path, Path())]


def test_the_same_file_is_never_taken_twice(tmp_path: Path) -> None:
    path = touch(tmp_path / "a.mp4")
    os.symlink(path, tmp_path / "link.mp4")
    found = discover([tmp_path, path, tmp_path / "." / "a.mp4"])
    assert len(found) == 1


def test_missing_paths_and_symlink_loops_are_problems_not_crashes(tmp_path: Path) -> None:
    touch(tmp_path / "tree" / "a.mp4")
    os.symlink(tmp_path / "tree", tmp_path / "tree" / "loop")
    os.symlink(tmp_path / "nowhere", tmp_path / "dangling.mp4")
    found = discover([tmp_path / "tree", tmp_path / "missing.mkv", tmp_path / "dangling.mp4"])
    files = [f for f in found if isinstance(f, InputFile)]
    problems = {f.path.name: f.reason for f in found if isinstance(f, InputProblem)}
    assert [f.path.name for f in files] == ["a.mp4"]
    assert problems == {
        "loop": "symbolic link loop, not followed",
        "missing.mkv": "no such file or folder",
        "dangling.mp4": "broken symbolic link",
    }
