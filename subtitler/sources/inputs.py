"""Turn the PATHs a user gives into inputs: media files, folders searched recursively.

Hidden files and folders are skipped, every file is taken once (by its real path, so two
spellings or a symlink do not process it twice), and symlink loops end the walk of that
branch instead of running forever. A PATH that cannot be used becomes a problem for that
PATH alone; the rest of the batch goes on.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

MEDIA_EXTENSIONS = frozenset(
    {
        # video
        ".mp4",
        ".m4v",
        ".mkv",
        ".webm",
        ".mov",
        ".avi",
        ".wmv",
        ".flv",
        ".ts",
        ".m2ts",
        ".mts",
        ".mpg",
        ".mpeg",
        ".vob",
        ".3gp",
        ".ogv",
        ".asf",
        ".rm",
        ".rmvb",
        ".mxf",
        # audio
        ".wav",
        ".mp3",
        ".m4a",
        ".aac",
        ".flac",
        ".ogg",
        ".oga",
        ".opus",
        ".wma",
        ".aiff",
        ".aif",
        ".amr",
        ".ac3",
        ".eac3",
        ".dts",
        ".mka",
        ".caf",
        ".au",
        ".spx",
    }
)


LIVE_SCHEMES = frozenset({"http", "https", "rtmp", "rtmps", "rtsp", "srt", "udp", "rtp", "tcp"})
STDIN = "-"


@dataclass(frozen=True)
class InputFile:
    """One input to subtitle: a media file (`relative_dir` mirrors its folder under
    `--out-dir`), or a live stream (`live_source` is what ffmpeg opens: a URL, `pipe:0`, or a
    capture device with its `input_format`); a live input's `path` only names its tracks."""

    path: Path
    relative_dir: Path
    live_source: str | None = None
    input_format: str | None = None
    label_text: str | None = None

    @property
    def live(self) -> bool:
        return self.live_source is not None

    @property
    def name(self) -> str:
        return self.label_text if self.label_text is not None else self.path.name

    @property
    def label(self) -> str:
        """How messages name this input: its path, URL, `stdin` or device."""
        return self.label_text if self.label_text is not None else str(self.path)


def is_live_url(text: str) -> bool:
    return "://" in text and urlparse(text).scheme.lower() in LIVE_SCHEMES


def live_input(spec: str, input_format: str | None = None) -> InputFile:
    """A live input: a URL, `-` (stdin) or a device (`input_format` set). Its tracks are named
    after it plus the start time, in the current folder or under `--out-dir`."""
    if input_format is not None:
        label, source = f"{input_format}:{spec}", spec
        base = f"{input_format}-{spec}"
    elif spec == STDIN:
        label, source, base = "stdin", "pipe:0", "stdin"
    else:
        parsed = urlparse(spec)
        label, source = spec, spec
        base = Path(parsed.path).stem or parsed.hostname or "stream"
    safe = re.sub(r"[^\w.-]+", "_", base).strip("._") or "stream"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return InputFile(Path(f"{safe}-{stamp}.live"), Path(), source, input_format, label)


def parse_device(spec: str) -> InputFile:
    """`pulse:default`, `alsa:hw:0`, `avfoundation::0`, `dshow:audio=Mic`: ffmpeg's input
    format, a colon, then the device as that format names it."""
    input_format, separator, device = spec.partition(":")
    if not separator or not input_format or not device:
        raise ValueError(f"{spec!r} is not FORMAT:DEVICE (e.g. pulse:default, alsa:hw:0)")
    return live_input(device, input_format)


@dataclass(frozen=True)
class InputProblem:
    """A PATH (or a file found under it) that cannot be used, and why, in one line."""

    path: Path
    reason: str


def is_media(path: Path) -> bool:
    return path.suffix.lower() in MEDIA_EXTENSIONS


def _hidden(name: str) -> bool:
    return name.startswith(".")


NO_MEDIA = "no media files in this folder"


def discover(
    paths: list[Path | str], empty_is_problem: bool = True
) -> list[InputFile | InputProblem]:
    """Files given directly are taken whatever their extension; folders by extension; URLs
    and `-` (stdin) become live inputs. A folder with no media file is a problem (a mistyped
    path, an unmounted share) unless `empty_is_problem` is off (`watch`: files will come)."""
    found: list[InputFile | InputProblem] = []
    seen: set[str] = set()

    def add(path: Path, relative_dir: Path) -> None:
        key = os.path.realpath(path)
        if key in seen:
            return
        seen.add(key)
        found.append(InputFile(path=path, relative_dir=relative_dir))

    for spec in paths:
        if isinstance(spec, str) and (spec == STDIN or is_live_url(spec)):
            found.append(live_input(spec))
            continue
        given = Path(spec)
        if not given.exists():
            reason = "broken symbolic link" if given.is_symlink() else "no such file or folder"
            found.append(InputProblem(given, reason))
        elif given.is_dir():
            if not os.access(given, os.R_OK | os.X_OK):
                found.append(InputProblem(given, "folder not readable (permission denied)"))
                continue
            walked = _walk(given, found)
            for path, relative_dir in walked:
                add(path, relative_dir)
            if not walked and empty_is_problem:
                found.append(InputProblem(given, NO_MEDIA))
        elif not given.is_file():
            found.append(InputProblem(given, "not a regular file"))
        else:
            add(given, Path())
    return found


def _walk(root: Path, problems: list[InputFile | InputProblem]) -> list[tuple[Path, Path]]:
    """Media files under `root`, sorted, following symlinks but never round a loop."""
    files: list[tuple[Path, Path]] = []
    visited_dirs: set[str] = set()

    def on_error(error: OSError) -> None:
        problems.append(InputProblem(Path(error.filename or root), error.strerror or str(error)))

    for directory, dir_names, file_names in os.walk(root, followlinks=True, onerror=on_error):
        real = os.path.realpath(directory)
        if real in visited_dirs:
            if _loops_back(Path(directory), root, real):
                problems.append(InputProblem(Path(directory), "symbolic link loop, not followed"))
            dir_names[:] = []  # a folder reached twice is searched once
            continue
        visited_dirs.add(real)
        dir_names[:] = sorted(name for name in dir_names if not _hidden(name))
        relative_dir = Path(directory).relative_to(root)
        for name in sorted(file_names):
            path = Path(directory) / name
            if _hidden(name) or not is_media(path):
                continue
            files.append((path, relative_dir))
    return files


def _loops_back(directory: Path, root: Path, real: str) -> bool:
    """Whether `directory` is a link back to one of its own ancestors (a loop)."""
    for parent in directory.parents:
        if os.path.realpath(parent) == real:
            return True
        if parent == root:
            break
    return False
