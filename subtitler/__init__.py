"""subtitler: live bilingual subtitles from video and audio through DashScope Gummy.

The public API (see the documentation): `subtitle()` yields one input's events as it works, `run()`
subtitles a batch; the events and results are typed dataclasses. Imported lazily, so
`import subtitler` stays cheap for the command line.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "subtitle": "subtitler.api",
    "run": "subtitler.api",
    "run_async": "subtitler.api",
    "make_options": "subtitler.options",
    "RunOptions": "subtitler.options",
    "ClientKind": "subtitler.gummy.client",
    "CueRules": "subtitler.layout.rules",
    "TimingRules": "subtitler.layout.rules",
    "LanguageRules": "subtitler.layout.rules",
    "Layout": "subtitler.options",
    "Cue": "subtitler.layout.cues",
    "CueText": "subtitler.layout.cues",
    "InputStarted": "subtitler.events",
    "AudioProgress": "subtitler.events",
    "PartialText": "subtitler.events",
    "CueWritten": "subtitler.events",
    "InputEnded": "subtitler.events",
    "InputResult": "subtitler.events",
    "Status": "subtitler.events",
    "Event": "subtitler.events",
    "check_file": "subtitler.check.lint",
    "SubtitlerError": "subtitler.errors",
    "UsageError": "subtitler.errors",
}

__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'subtitler' has no attribute {name!r}")
