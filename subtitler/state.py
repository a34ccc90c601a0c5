"""Resume state: a small JSON file beside an input's tracks while the input is unfinished.

It holds, per target language, the cues written so far and the point of the stream after the
last finished sentence. It is written (atomically) *before* the tracks on every update, so after
a crash at any point, SIGKILL included, the next run rebuilds every track from it and carries on
from that point: nothing is lost, nothing is written twice. It is removed when the input is
complete. It never holds the API key.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from subtitler.cues import Cue, CueText
from subtitler.errors import OutputError

VERSION = 1
SUFFIX = ".subtitler-state.json"


def state_path(folder: Path, stem: str) -> Path:
    """Hidden, beside the tracks: `.<stem>.subtitler-state.json`."""
    return folder / f".{stem}{SUFFIX}"


@dataclass
class TargetProgress:
    resume_ms: int = 0
    """Stream time after the last finished sentence: where a resumed task starts."""
    cues: list[Cue] = field(default_factory=list)


@dataclass
class InputState:
    source: str
    settings: dict[str, Any]
    """What must match for a resume: targets, layout, languages, audio stream."""
    targets: dict[str, TargetProgress]

    def to_json(self) -> str:
        document = {
            "version": VERSION,
            "source": self.source,
            "settings": self.settings,
            "targets": {
                target: {
                    "resume_ms": progress.resume_ms,
                    "cues": [_cue_to_json(cue) for cue in progress.cues],
                }
                for target, progress in self.targets.items()
            },
        }
        return json.dumps(document, ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> InputState:
        document = json.loads(text)
        if document.get("version") != VERSION:
            raise ValueError(f"unknown state version {document.get('version')!r}")
        return cls(
            source=str(document["source"]),
            settings=dict(document["settings"]),
            targets={
                str(target): TargetProgress(
                    int(progress["resume_ms"]), [_cue_from_json(c) for c in progress["cues"]]
                )
                for target, progress in document["targets"].items()
            },
        )


def load(path: Path) -> InputState | None:
    """The state, or None when there is none (a corrupt one raises OutputError: never guess)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return None  # a folder that is not there (yet) holds no state
    except OSError as error:
        raise OutputError(str(path), f"cannot read resume state ({error.strerror})") from error
    try:
        return InputState.from_json(text)
    except (ValueError, KeyError, TypeError) as error:
        raise OutputError(
            str(path), f"resume state is damaged ({error}); delete it or use --overwrite"
        ) from error


def save(path: Path, state: InputState) -> None:
    temporary = path.with_name(path.name + ".part")
    try:
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(state.to_json())
        os.replace(temporary, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        reason = error.strerror.lower() if error.strerror else str(error)
        raise OutputError(str(path), reason) from error


def remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _cue_to_json(cue: Cue) -> dict[str, Any]:
    return {
        "begin_ms": cue.begin_ms,
        "end_ms": cue.end_ms,
        "texts": [{"language": t.language, "lines": list(t.lines)} for t in cue.texts],
    }


def _cue_from_json(data: dict[str, Any]) -> Cue:
    return Cue(
        int(data["begin_ms"]),
        int(data["end_ms"]),
        tuple(
            CueText(t["language"], tuple(str(line) for line in t["lines"])) for t in data["texts"]
        ),
    )
