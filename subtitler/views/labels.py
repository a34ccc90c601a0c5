"""What the human views share: short names for inputs, status colours, clock times."""

from __future__ import annotations

from pathlib import PurePath

from subtitler.events import Status

STATUS_STYLE = {
    Status.DONE: "green",
    Status.FAILED: "red",
    Status.SKIPPED: "yellow",
    Status.INTERRUPTED: "magenta",
}


def short_label(label: str) -> str:
    """`/videos/film.mkv` -> `film.mkv`; a URL keeps its last part; `stdin` stays."""
    name = PurePath(label.rstrip("/")).name
    return name or label


def without_subject(reason: str, *subjects: str) -> str:
    """A reason without the input's name in front of it (the row already says it)."""
    for subject in subjects:
        if subject and reason.startswith(subject + ": "):
            return reason[len(subject) + 2 :]
    return reason


def clock(ms: int) -> str:
    """`m:ss`, or `h:mm:ss` from an hour."""
    seconds = ms // 1000
    if seconds >= 3600:
        return f"{seconds // 3600:d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return f"{seconds // 60:d}:{seconds % 60:02d}"
