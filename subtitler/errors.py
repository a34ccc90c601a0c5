"""One exception hierarchy; each error names the file (or endpoint) and the cause in one line."""

from __future__ import annotations


class SubtitlerError(Exception):
    """Base of every error the tool reports to a user; `str()` is the one-line message."""

    def __init__(self, subject: str, cause: str) -> None:
        super().__init__(f"{subject}: {cause}" if subject else cause)
        self.subject = subject
        self.cause = cause


class UsageError(SubtitlerError):
    """Bad options or environment, found before any work starts (exit status 2)."""


class InputError(SubtitlerError):
    """A path that cannot be used as an input (missing, unreadable, not media)."""


class MediaError(SubtitlerError):
    """ffmpeg cannot read the media or it has no usable audio."""


class ServiceError(SubtitlerError):
    """The Gummy service (or the local emulator) refused or failed a task."""

    def __init__(self, subject: str, cause: str, code: str = "", retryable: bool = False) -> None:
        super().__init__(subject, cause)
        self.code = code
        self.retryable = retryable


class OutputError(SubtitlerError):
    """A track cannot be written (folder not writable, disk full)."""
