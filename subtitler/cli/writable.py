"""Output paths checked before any work starts: a folder that cannot be made or written, or a
file whose folder is missing, is one usage line (exit 2) instead of a traceback mid-run."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from subtitler.errors import UsageError


def check_folder(option: str, folder: Path) -> None:
    """`folder` exists (or is made now, as the run would) and a file can be written in it:
    tried for real, since permissions alone do not say (root, read-only mounts)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError as error:
        raise UsageError(option, f"{folder}: not a folder") from error
    except OSError as error:
        raise UsageError(option, f"{folder}: cannot create it ({_why(error)})") from error
    if not folder.is_dir():
        raise UsageError(option, f"{folder}: not a folder")
    _try_writing(option, folder, folder)


def check_file(option: str, path: Path) -> None:
    """`path` can be replaced atomically: its folder exists and takes a new file; the path
    itself is not a folder."""
    folder = path.parent
    if path.is_dir():
        raise UsageError(option, f"{path}: is a folder, not a file")
    if not folder.is_dir():
        raise UsageError(option, f"{path}: its folder {folder} does not exist")
    _try_writing(option, folder, path)


def _try_writing(option: str, folder: Path, named: Path) -> None:
    try:
        handle, probe = tempfile.mkstemp(prefix=".subtitler-probe-", dir=folder)
    except OSError as error:
        raise UsageError(option, f"{named}: cannot write there ({_why(error)})") from error
    os.close(handle)
    os.unlink(probe)


def _why(error: OSError) -> str:
    return (error.strerror or str(error)).lower()
