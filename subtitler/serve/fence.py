"""Where `serve` may read: the `--library` folders, and `--path-map` for media servers that see
the same files under another root (a container's `/media` is the host's `/srv/media`).

Pure functions of strings and the file system's own path resolution: a path is inside a library
only after symbolic links are resolved, so `Movies/escape -> /etc` does not get out.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from subtitler.errors import UsageError


@dataclass(frozen=True)
class PathMapping:
    """`--path-map FROM=TO`: a path under FROM (as the media server names it) is TO on this disk."""

    from_prefix: str
    to_prefix: str

    @property
    def windows(self) -> bool:
        """A Windows server's prefix (`D:\\Movies`): compared without case, either slash."""
        prefix = self.from_prefix
        return "\\" in prefix or (len(prefix) >= 2 and prefix[1] == ":")

    def apply(self, path: str) -> str | None:
        """`path` on this disk, or None when it is not under FROM (whole components only:
        `/media` does not take `/media2/x`)."""
        if self.windows:
            parts = PureWindowsPath(path).parts
            prefix = PureWindowsPath(self.from_prefix).parts
            if [p.lower() for p in parts[: len(prefix)]] != [p.lower() for p in prefix]:
                return None
        else:
            parts = PurePosixPath(path).parts
            prefix = PurePosixPath(self.from_prefix).parts
            if parts[: len(prefix)] != prefix:
                return None
        return str(PurePosixPath(self.to_prefix, *parts[len(prefix) :]))


def parse_path_map(spec: str) -> PathMapping:
    """`FROM=TO`, both non-empty (the last `=` splits: Windows paths hold none, POSIX ones may)."""
    source, separator, target = spec.rpartition("=")
    if not separator or not source.strip() or not target.strip():
        raise UsageError("--path-map", f"{spec!r}: expected FROM=TO, e.g. /media=/srv/media")
    return PathMapping(source.strip(), target.strip())


def map_path(path: str, mappings: tuple[PathMapping, ...]) -> str:
    """The longest matching mapping's result; the path itself when none matches."""
    for mapping in sorted(mappings, key=lambda m: len(m.from_prefix), reverse=True):
        mapped = mapping.apply(path)
        if mapped is not None:
            return mapped
    return path


@dataclass(frozen=True)
class Libraries:
    """The `--library` folders, resolved once at start."""

    roots: tuple[Path, ...]

    @classmethod
    def of(cls, folders: list[Path] | tuple[Path, ...]) -> Libraries:
        roots = []
        for folder in folders:
            if not folder.is_dir():
                raise UsageError("--library", f"{folder}: not a folder")
            roots.append(Path(os.path.realpath(folder)))
        return cls(tuple(roots))

    def contains(self, path: str | Path) -> bool:
        """Whether `path`, its symbolic links resolved, is one of the folders or under one."""
        real = Path(os.path.realpath(path))
        return any(real == root or root in real.parents for root in self.roots)


def default_queue_file() -> Path:
    """`$XDG_STATE_HOME/subtitler/jobs.jsonl` (~/.local/state/subtitler/jobs.jsonl)."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "subtitler" / "jobs.jsonl"
