"""The console's folder browser: what a `--library` folder holds that a job can take (its
folders and media files; hidden ones skipped, as `run` skips them), listed only inside the
fence the job API keeps (`JobRoutes.library_path`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from subtitler.sources.inputs import is_media

MAX_ENTRIES = 2000
"""A folder listed at most this far (the rest is said to be left out)."""


def listing(folder: str, roots: tuple[Path, ...]) -> dict[str, Any]:
    """`folder` (inside a library: the caller checked) as folders then media files, by name;
    `parent` is None at a library's root (the browser goes back to the list of libraries)."""
    entries: list[dict[str, Any]] = []
    with os.scandir(folder) as found:
        for entry in found:
            if entry.name.startswith("."):
                continue
            try:
                is_folder = entry.is_dir()
            except OSError:
                continue
            if is_folder or is_media(Path(entry.name)):
                kind = "folder" if is_folder else "media"
                entries.append({"name": entry.name, "path": entry.path, "kind": kind})
    entries.sort(key=lambda entry: (entry["kind"] != "folder", entry["name"].lower()))
    real = Path(os.path.realpath(folder))
    parent = None if real in roots else str(Path(folder).parent)
    return {"path": folder, "parent": parent, "entries": entries[:MAX_ENTRIES],
            "left_out": max(0, len(entries) - MAX_ENTRIES)}  # fmt: skip


def roots_listing(roots: tuple[Path, ...]) -> dict[str, Any]:
    entries = [{"name": root.name or str(root), "path": str(root), "kind": "folder"}
               for root in roots]  # fmt: skip
    return {"path": None, "parent": None, "entries": entries, "left_out": 0}
