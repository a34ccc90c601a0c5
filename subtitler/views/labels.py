"""Short names for inputs in human views."""

from __future__ import annotations

from pathlib import PurePath


def short_label(label: str) -> str:
    """`/videos/film.mkv` -> `film.mkv`; a URL keeps its last part; `stdin` stays."""
    name = PurePath(label.rstrip("/")).name
    return name or label
