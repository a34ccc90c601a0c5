"""An input is worked on by one run at a time: an OS file lock beside its tracks.

`flock` on a hidden `.<stem>.subtitler.lock`, held while the input is worked on; the OS drops it
when the process dies (SIGKILL included), so a killed run never blocks the next. The file is
removed by its holder when done; a run that opened it just before that notices (the path no
longer names the file it locked) and tries again, so two runs never both hold a claim. Holds on
local file systems, and on NFS where Linux clients map `flock` to `fcntl` byte-range locks (NFSv4,
or v3 with lockd); not on file systems without locks (some FUSE and SMB mounts).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from subtitler.errors import OutputError

SUFFIX = ".subtitler.lock"


def claim_path(folder: Path, stem: str) -> Path:
    return folder / f".{stem}{SUFFIX}"


class Claim:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._descriptor: int | None = None

    def acquire(self) -> bool:
        """True when this process now holds the input; False when another run does."""
        while True:
            try:
                descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except OSError as error:
                raise OutputError(str(self.path), (error.strerror or str(error)).lower()) from error
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(descriptor)
                return False
            except OSError as error:
                os.close(descriptor)
                raise OutputError(str(self.path), f"cannot lock ({error.strerror})") from error
            try:
                same = os.fstat(descriptor).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self._descriptor = descriptor
                return True
            os.close(descriptor)  # removed by its last holder meanwhile: claim the new one

    def release(self) -> None:
        descriptor = self._descriptor
        if descriptor is None:
            return
        self._descriptor = None
        with contextlib.suppress(OSError):
            os.unlink(self.path)  # while still locked: nobody else holds this file
        os.close(descriptor)
