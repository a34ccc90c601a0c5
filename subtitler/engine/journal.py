"""Resume state: a small JSON-lines journal beside an input's tracks while it is unfinished.

The first line names the source and the options that must match for a resume; each further
line is one update of one target language: the cue it replaced and the cues it added, and the
point of the stream after the last finished sentence. A line is appended (one `write`) *before*
the tracks are written, so after a crash at any point, SIGKILL included, the next run rebuilds
every track from the journal and carries on from its last resume point: nothing is lost, nothing
is written twice (a torn last line is an update that did not happen: its sentence is recognised
again). Appending keeps the cost of an update small however long the input.

When a target's task has heard the whole input, a `finished` line says so and the journal stays:
it is the record a later run renders a new format or layout from (no service call), and the
reason adding a target runs one task only. A journal whose source changed since (its size or
modification time) is stale and ignored. It never holds the API key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from subtitler.engine.pairing import Heard
from subtitler.errors import OutputError
from subtitler.layout.cues import Cue, CueText, LayoutUpdate, TimedWord
from subtitler.tracks.durable import Append, Close, Replace

VERSION = 3
READABLE_VERSIONS = (2, 3)
"""Version 2 journals (before 0.2) kept targets and layout in their settings: ignored now."""
MATCHED_SETTINGS = ("source_language", "audio_stream")
"""What must match for a journal to be continued; targets, formats and layout may change."""
SUFFIX = ".subtitler-state.jsonl"


def state_path(folder: Path, stem: str) -> Path:
    """Hidden, beside the tracks: `.<stem>.subtitler-state.jsonl`."""
    return folder / f".{stem}{SUFFIX}"


@dataclass
class TargetProgress:
    resume_ms: int = 0
    """Stream time after the last finished sentence: where a resumed task starts."""
    cues: list[Cue] = field(default_factory=list)
    finished: bool = False
    """Its task heard the whole input: `cues` are all there are."""
    sentences: int = 0
    """Finished sentences written, over every run (one journal line each)."""
    kept: tuple[str, ...] = ()
    """Names of its tracks that existed when its task started and were left alone (a resume
    leaves them alone too)."""


@dataclass(frozen=True)
class SourceIdentity:
    """The source file as the journal was begun for it: a replaced file makes it stale."""

    size_bytes: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> SourceIdentity | None:
        try:
            status = path.stat()
        except OSError:
            return None
        return cls(status.st_size, status.st_mtime_ns)


@dataclass
class InputState:
    source: str
    settings: dict[str, Any]
    """What must match for a resume: targets, layout, languages, audio stream."""
    targets: dict[str, TargetProgress]
    named_source: str | None = None
    """`-s auto`: the language the transcript was identified as (names the tracks)."""
    start_offset_ms: int = 0
    """Where the audio stream starts on the media timeline: a resumed decode seeks, and no
    longer sees the start (journals from before 0.1 lack it: 0)."""
    identity: SourceIdentity | None = None
    picture: dict[str, Any] | None = None
    """The video's size and rate (`width`, `height`, `frame_rate` as "num/den"), its start
    `timecode` and its `shot_changes` (frames, when detected), for the formats a later run
    renders from the journal without decoding, and for a resume that need not scan again."""
    heard: list[Heard] = field(default_factory=list)
    """The input's transcript, sentence by sentence on the media timeline, as recognised (one
    `heard` line each): what a Qwen-MT target translates, in this run or a later one, without
    recognising the speech again."""
    heard_resume_ms: int = 0
    """Stream time after the last sentence heard: where a recognition-only task resumes."""
    heard_finished: bool = False
    """The transcript is whole: the recognising task heard the entire input."""
    nonce: str | None = None
    """Random, written once in the header: a journal begun again (`--overwrite`, a replaced
    source) is another journal even with the same settings and source, so a review begun over
    the old one is seen to be stale (`engine/edits.py`). Older journals lack it."""

    def header(self) -> str:
        header: dict[str, Any] = {
            "version": VERSION,
            "source": self.source,
            "settings": self.settings,
            "start_offset_ms": self.start_offset_ms,
        }
        if self.identity is not None:
            header["source_bytes"] = self.identity.size_bytes
            header["source_mtime_ns"] = self.identity.mtime_ns
        if self.picture is not None:
            header["picture"] = self.picture
        if self.nonce is not None:
            header["nonce"] = self.nonce
        return json.dumps(header, ensure_ascii=False)

    def matches(self, settings: dict[str, Any]) -> bool:
        return all(self.settings.get(key) == settings.get(key) for key in MATCHED_SETTINGS)

    def stale_for(self, identity: SourceIdentity | None) -> bool:
        """The source was replaced since the journal began (unknown identities never are)."""
        return self.identity is not None and identity is not None and self.identity != identity

    @property
    def unfinished(self) -> bool:
        return any(not progress.finished for progress in self.targets.values())


def update_line(target: str, resume_ms: int, replaced: Cue | None, added: tuple[Cue, ...]) -> str:
    return json.dumps(
        {
            "target": target,
            "resume_ms": resume_ms,
            "replaced": _cue_to_json(replaced) if replaced is not None else None,
            "added": [_cue_to_json(cue) for cue in added],
        },
        ensure_ascii=False,
    )


def parse(text: str) -> InputState:
    """Replay a journal; a torn or damaged last line is ignored (that update did not happen)."""
    lines = text.splitlines()
    header = json.loads(lines[0])
    if header.get("version") not in READABLE_VERSIONS:
        raise ValueError(f"unknown state version {header.get('version')!r}")
    identity = None
    if "source_bytes" in header:
        identity = SourceIdentity(int(header["source_bytes"]), int(header["source_mtime_ns"]))
    picture = header.get("picture")
    state = InputState(
        str(header["source"]),
        dict(header["settings"]),
        {},
        start_offset_ms=int(header.get("start_offset_ms", 0)),
        identity=identity,
        picture=dict(picture) if isinstance(picture, dict) else None,
        nonce=str(header["nonce"]) if "nonce" in header else None,
    )
    for number, line in enumerate(lines[1:], start=2):
        try:
            update = json.loads(line)
            if "named_source" in update:
                state.named_source = str(update["named_source"])
                continue
            if "started" in update:
                started = state.targets.setdefault(str(update["started"]), TargetProgress())
                started.kept = tuple(str(name) for name in update.get("kept", []))
                continue
            if "heard" in update:
                state.heard.append(_heard_from_json(update["heard"]))
                state.heard_resume_ms = int(update["resume_ms"])
                continue
            if "heard_finished" in update:
                state.heard_finished = True
                continue
            if "finished" in update:
                state.targets.setdefault(str(update["finished"]), TargetProgress()).finished = True
                continue
            progress = state.targets.setdefault(str(update["target"]), TargetProgress())
            replaced = update["replaced"]
            added = [_cue_from_json(cue) for cue in update["added"]]
            replacement = _cue_from_json(replaced) if replaced is not None else None
        except (ValueError, KeyError, TypeError) as error:
            if number == len(lines):
                break  # torn by a crash mid-append
            raise ValueError(f"line {number}: {error}") from error
        if replacement is not None and progress.cues:
            progress.cues[-1] = replacement
        progress.cues.extend(added)
        progress.resume_ms = int(update["resume_ms"])
        progress.sentences += 1
    return state


def load(path: Path) -> InputState | None:
    """The state, or None when there is none (a damaged one raises OutputError: never guess)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return None  # a folder that is not there (yet) holds no state
    except OSError as error:
        raise OutputError(str(path), f"cannot read resume state ({error.strerror})") from error
    try:
        return parse(text)
    except (ValueError, KeyError, TypeError, IndexError) as error:
        raise OutputError(
            str(path), f"resume state is damaged ({error}); delete it or use --overwrite"
        ) from error


class Journal:
    """The file operations that keep an input's state file (performed by the run's
    `DiskWriter`, in order with the tracks' writes)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def begin(self, state: InputState) -> Replace:
        """A fresh journal: the header only, written atomically."""
        return Replace(self.path, (state.header() + "\n").encode("utf-8"))

    def name_source(self, language: str) -> Append:
        """Record the identified source language (`-s auto`), before any cue."""
        return Append(self.path, (json.dumps({"named_source": language}) + "\n").encode("utf-8"))

    def started(self, target: str, kept: tuple[str, ...]) -> Append:
        """The target's task runs and its tracks open now (`kept`: those left as they were):
        a crash before its first cue still leaves a record that the tracks are this run's."""
        line = json.dumps({"started": target, "kept": list(kept)}, ensure_ascii=False)
        return Append(self.path, (line + "\n").encode("utf-8"))

    def append(self, target: str, progress: TargetProgress, update: LayoutUpdate) -> Append:
        line = update_line(target, progress.resume_ms, update.replaced, update.added) + "\n"
        return Append(self.path, line.encode("utf-8"))

    def heard(self, heard: Heard, resume_ms: int) -> Append:
        """One recognised sentence of the transcript (`resume_ms`: stream time after it)."""
        line = json.dumps({"heard": _heard_to_json(heard), "resume_ms": resume_ms},
                          ensure_ascii=False)  # fmt: skip
        return Append(self.path, (line + "\n").encode("utf-8"))

    def heard_finished(self) -> Append:
        """The recognising task heard the whole input: the transcript is complete."""
        return Append(self.path, (json.dumps({"heard_finished": True}) + "\n").encode("utf-8"))

    def finished(self, target: str) -> Append:
        """The target's task heard the whole input: its cues are complete."""
        return Append(self.path, (json.dumps({"finished": target}) + "\n").encode("utf-8"))

    def close(self) -> Close:
        """Kept for a resume; its descriptor is closed."""
        return Close(self.path)


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


def _heard_to_json(heard: Heard) -> dict[str, Any]:
    return {
        "begin_ms": heard.begin_ms,
        "end_ms": heard.end_ms,
        "text": heard.text,
        "words": [[word.begin_ms, word.end_ms, word.text] for word in heard.words],
    }


def _heard_from_json(data: dict[str, Any]) -> Heard:
    words = tuple(TimedWord(str(text), int(begin), int(end)) for begin, end, text in data["words"])
    return Heard(int(data["begin_ms"]), int(data["end_ms"]), str(data["text"]), words)
