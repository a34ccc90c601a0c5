"""The review's edits journal: what a reviewer changed, over what the service heard.

`.<stem>.subtitler-review.jsonl` sits beside the input's resume journal
(`.<stem>.subtitler-state.jsonl`), which it never changes: the original stays what the service
heard. Its first line is a header naming the source and the resume journal it was begun over
(the hash of that journal's header line: a journal begun again, `--overwrite`, makes the review
stale). Each further line is one version: the op, its arguments, and its outcome as the cues it
removed and the cues it added (translations received, the ids of new cues), so replay needs no
service. `undo` and `redo` are versions too (the journal only grows): they name the version they
undo or redo, and replay computes their change. A line is appended with one `write` before the
tracks are re-rendered; a torn line (a crash mid-append) is an edit that did not happen.

Pure apart from `load`: the document's cues are the first target's journaled cues (times and
source lines), each target's translation taken from its own journaled cues by overlap unless an
edit recorded it; the engine reads the same cues, so a rerun renders what the review holds.
"""

from __future__ import annotations

import bisect
import errno
import hashlib
import itertools
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from subtitler.engine.journal import InputState
from subtitler.engine.pairing import Heard
from subtitler.errors import OutputError
from subtitler.layout.cues import Cue, CueText, TimedWord, join_lines
from subtitler.tracks.durable import Append, Close, Replace

FORMAT = 1
SUFFIX = ".subtitler-review.jsonl"
STATES = ("ok", "pending", "failed", "stale")
"""A translation's state: received; asked for; asked for and refused (the old text kept, with
the error); older than its edited source (not asked for again yet)."""
UNDO, REDO = "undo", "redo"
MADE_PREFIX = "r"
"""Cues the review made (split, insert) are `r1`, `r2`...; heard ones `c1`, `c2`..."""


def review_path(folder: Path, stem: str) -> Path:
    """Hidden, beside the resume journal: `.<stem>.subtitler-review.jsonl`."""
    return folder / f".{stem}{SUFFIX}"


@dataclass(frozen=True, kw_only=True)
class Translation:
    """One target's lines of one cue."""

    lines: tuple[str, ...]
    by_hand: bool = False
    """Written by the reviewer: kept by later source edits."""
    state: str = "ok"
    error: str | None = None
    """Why the last request failed (state `failed`), in one line."""


@dataclass(frozen=True, kw_only=True)
class ReviewCue:
    """One cue of the document: one timing shared by every target."""

    id: str
    begin_ms: int
    end_ms: int
    source: tuple[str, ...]
    translations: Mapping[str, Translation] = field(default_factory=dict)
    """By target; a target missing here takes its journaled cues' text (see `filled`)."""
    words: tuple[TimedWord, ...] = ()
    """As heard, within the cue (none once its source is edited)."""
    source_edited: bool = False
    reviewed: bool = False

    def translation(self, target: str) -> Translation:
        return self.translations.get(target, Translation(lines=()))


@dataclass(frozen=True, kw_only=True)
class Change:
    """What one version did to the cues: those it removed, then those it added."""

    removed: tuple[ReviewCue, ...] = ()
    added: tuple[ReviewCue, ...] = ()

    def inverse(self) -> Change:
        return Change(removed=self.added, added=self.removed)

    @property
    def cue_ids(self) -> tuple[str, ...]:
        seen = [cue.id for cue in (*self.removed, *self.added)]
        return tuple(dict.fromkeys(seen))


@dataclass(frozen=True, kw_only=True)
class Edit:
    """One version of the review."""

    version: int
    op: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    """As asked (the cue, the lines, the times), for the record and a conflict's message."""
    change: Change = Change()
    of: int | None = None
    """undo, redo: the version undone or redone."""

    @property
    def cue(self) -> str | None:
        """The cue it was about (its first), for a conflict's message."""
        named = self.arguments.get("cue")
        if isinstance(named, str):
            return named
        ids = self.change.cue_ids
        return ids[0] if ids else None


class EditRefused(ValueError):
    """An edit that cannot be made (nothing changed): its one-line reason."""


@dataclass
class Review:
    """The replayed review: the cues as they are now, the version, and what undo and redo
    would take back or bring back. Owned by one reader (the review session or the engine)."""

    cues: list[ReviewCue]
    version: int = 0
    edits: dict[int, Edit] = field(default_factory=dict)
    undoable: list[int] = field(default_factory=list)
    """Versions whose change is in effect and may be undone, the last on top."""
    redoable: list[int] = field(default_factory=list)
    next_id: int = 1
    rendered: int = 0
    """The last version every track was rendered at (a `rendered` line after the render): a
    save whose render failed (disk full) leaves the tracks behind, rendered again on load."""

    @property
    def behind(self) -> bool:
        return self.rendered < self.version

    @property
    def latest(self) -> Edit | None:
        return self.edits.get(self.version)

    def new_id(self) -> str:
        """`r1`, `r2`...: never a heard cue's `cN`, which a resumed run may add later."""
        made = f"{MADE_PREFIX}{self.next_id}"
        self.next_id += 1
        return made

    def index_of(self, cue_id: str) -> int:
        for index, cue in enumerate(self.cues):
            if cue.id == cue_id:
                return index
        raise EditRefused(f"no cue {cue_id!r} (deleted, or never there)")

    def resolve(self, op: str) -> tuple[int, Change]:
        """undo or redo: the version it takes back or brings back and the change that does it."""
        if op == UNDO:
            if not self.undoable:
                raise EditRefused("nothing to undo")
            of = self.undoable[-1]
            return of, self.edits[of].change.inverse()
        if not self.redoable:
            raise EditRefused("nothing to redo")
        of = self.redoable[-1]
        return of, self.edits[of].change

    def apply(self, edit: Edit) -> None:
        """Take one version in (its number must follow this one's)."""
        if edit.version != self.version + 1:
            raise ValueError(f"version {edit.version} after version {self.version}")
        change = edit.change
        if edit.op in (UNDO, REDO):
            of, change = self.resolve(edit.op)
            if edit.of is not None and edit.of != of:
                raise ValueError(f"version {edit.version} {edit.op}es {edit.of}, not {of}")
            edit = replace(edit, of=of, change=change)
        self.cues = applied(self.cues, change)
        if edit.op == UNDO:
            self.redoable.append(self.undoable.pop())
        elif edit.op == REDO:
            self.undoable.append(self.redoable.pop())
        else:
            self.undoable.append(edit.version)
            self.redoable.clear()
        self.edits[edit.version] = edit
        self.version = edit.version
        for cue in change.added:
            number = cue.id.removeprefix(MADE_PREFIX)
            if cue.id.startswith(MADE_PREFIX) and number.isdigit():
                self.next_id = max(self.next_id, int(number) + 1)


def applied(cues: Sequence[ReviewCue], change: Change) -> list[ReviewCue]:
    """The cues with `change` made: its removed cues must be there as they are."""
    present = {cue.id: cue for cue in cues}
    for cue in change.removed:
        if present.get(cue.id) is None:
            raise ValueError(f"cue {cue.id} is not there to remove")
    gone = {cue.id for cue in change.removed}
    kept = [cue for cue in cues if cue.id not in gone]
    if any(cue.id in present and cue.id not in gone for cue in change.added):
        raise ValueError("a cue added twice")
    return sorted([*kept, *change.added], key=lambda cue: (cue.begin_ms, cue.end_ms))


# The document from the resume journal


def source_language(state: InputState) -> str | None:
    named = state.named_source or state.settings.get("source_language")
    return str(named) if named else None


def base_cues(state: InputState) -> list[ReviewCue]:
    """What the service heard, as the document's cues: the first target's journaled cues
    (times and source lines; ids c1, c2...), each with the heard words inside it."""
    first = next((p.cues for p in state.targets.values() if p.cues), [])
    words = sorted((w for heard in state.heard for w in heard.words), key=lambda w: w.begin_ms)
    cues = []
    for number, cue in enumerate(first, start=1):
        source = cue.texts[0].lines if cue.texts else ()
        inside = tuple(
            w for w in words if cue.begin_ms <= (w.begin_ms + w.end_ms) // 2 < cue.end_ms
        )
        cues.append(
            ReviewCue(
                id=f"c{number}",
                begin_ms=cue.begin_ms,
                end_ms=cue.end_ms,
                source=tuple(source),
                words=inside,
            )
        )
    return cues


def filled(cues: Sequence[ReviewCue], state: InputState) -> list[ReviewCue]:
    """Every target's translation in every cue: where no edit recorded one, the lines of that
    target's journaled cues that overlap the cue most (a target added later joins this way)."""
    targets = [t for t, progress in state.targets.items() if progress.cues]
    if not cues or not targets:
        return list(cues)
    gathered: dict[str, dict[int, list[str]]] = {}
    starts = [cue.begin_ms for cue in cues]  # once: a long document is filled in n log n
    for target in targets:
        if all(target in cue.translations for cue in cues):
            continue
        by_cue: dict[int, list[str]] = {}
        for journaled in state.targets[target].cues:
            index = _most_overlapped(cues, starts, journaled.begin_ms, journaled.end_ms)
            if index is not None and len(journaled.texts) > 1:
                by_cue.setdefault(index, []).extend(journaled.texts[1].lines)
        gathered[target] = by_cue
    result = []
    for index, cue in enumerate(cues):
        missing = {
            target: Translation(lines=tuple(by_cue.get(index, ())))
            for target, by_cue in gathered.items()
            if target not in cue.translations
        }
        result.append(
            replace(cue, translations={**cue.translations, **missing}) if missing else cue
        )
    return result


def _most_overlapped(
    cues: Sequence[ReviewCue], starts: Sequence[int], begin_ms: int, end_ms: int
) -> int | None:
    """The cue sharing the most time with [begin_ms, end_ms) (the nearest when none does);
    `starts`: the cues' begin times, in order."""
    at = bisect.bisect_right(starts, begin_ms)
    best, best_overlap = None, -1
    for index in range(max(0, at - 2), min(len(cues), at + 2)):
        cue = cues[index]
        overlap = min(end_ms, cue.end_ms) - max(begin_ms, cue.begin_ms)
        if overlap > best_overlap:
            best, best_overlap = index, overlap
    index = at
    while index < len(cues) and cues[index].begin_ms < end_ms:
        cue = cues[index]
        overlap = min(end_ms, cue.end_ms) - max(begin_ms, cue.begin_ms)
        if overlap > best_overlap:
            best, best_overlap = index, overlap
        index += 1
    return best


def target_cues(cues: Sequence[ReviewCue], state: InputState, target: str) -> list[Cue]:
    """One target's cues as the tracks take them (source, then translation)."""
    source = source_language(state)
    return [
        Cue(cue.begin_ms, cue.end_ms,
            (CueText(source, cue.source), CueText(target, cue.translation(target).lines)))
        for cue in cues
    ]  # fmt: skip


def transcript(cues: Sequence[ReviewCue]) -> list[Heard]:
    """The edited cues as the input's transcript: what a target added later translates."""
    return [
        Heard(cue.begin_ms, cue.end_ms, join_lines(cue.source), cue.words)
        for cue in cues
        if join_lines(cue.source)
    ]


# The file


def journal_identity(state_text: str) -> str:
    """The resume journal a review was begun over: its header line's hash."""
    header = state_text.split("\n", 1)[0]
    return hashlib.sha256(header.encode("utf-8")).hexdigest()[:32]


def header_line(source: str, identity: str) -> str:
    header = {"review": FORMAT, "source": source, "journal": identity}
    return json.dumps(header, ensure_ascii=False) + "\n"


def edit_line(edit: Edit) -> str:
    line: dict[str, Any] = {"version": edit.version, "op": edit.op}
    if edit.op in (UNDO, REDO):
        line["of"] = edit.of
    else:
        line["arguments"] = dict(edit.arguments)
        line["removed"] = [cue_to_json(cue) for cue in edit.change.removed]
        line["added"] = [cue_to_json(cue) for cue in edit.change.added]
    return json.dumps(line, ensure_ascii=False) + "\n"


def rendered(path: Path, version: int, *, after_torn: bool = False) -> list[Append | Close]:
    """Every track now holds `version` (one line, after the tracks are rendered)."""
    line = ("\n" if after_torn else "") + json.dumps({"rendered": version}) + "\n"
    return [Append(path, line.encode("utf-8")), Close(path)]


def begin(path: Path, source: str, identity: str) -> Replace:
    """A new edits journal: the header alone, written atomically."""
    return Replace(path, header_line(source, identity).encode("utf-8"), sync=True)


def append(path: Path, edit: Edit, *, after_torn: bool = False) -> list[Append | Close]:
    """One version, one `write` (after a torn line: on a line of its own)."""
    data = ("\n" if after_torn else "") + edit_line(edit)
    return [Append(path, data.encode("utf-8")), Close(path)]


def set_aside(review_file: Path) -> Path | None:
    """A review begun over another hearing (a journal begun again), kept under a name nothing
    reads (`.<stem>.subtitler-review-stale-N.jsonl`) rather than replayed over cues it was not
    made on, or destroyed. None when there is none. Called by the input's claim holder."""
    stem = review_file.name.removesuffix(SUFFIX)
    for number in itertools.count(1):
        aside = review_file.with_name(f"{stem}.subtitler-review-stale-{number}.jsonl")
        try:
            os.link(review_file, aside)  # never over an earlier one set aside
        except FileExistsError:
            continue
        except FileNotFoundError:
            return None
        except OSError as error:
            if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
                raise OutputError(str(review_file), f"cannot set the stale review aside "
                                  f"({error.strerror})") from error  # fmt: skip
            # No hard links here (exFAT, FAT, some FUSE mounts): a rename to a free name,
            # safe since the caller holds the input's claim.
            if aside.exists():
                continue
            try:
                os.rename(review_file, aside)
            except FileNotFoundError:
                return None
            except OSError as renamed:
                raise OutputError(str(review_file), f"cannot set the stale review aside "
                                  f"({renamed.strerror})") from renamed  # fmt: skip
            return aside
        os.unlink(review_file)
        return aside
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Parsed:
    """An edits journal as read: its header and its versions in order."""

    source: str
    identity: str
    edits: tuple[Edit, ...]
    torn: bool
    """It ends without a line feed: the next line must start on a line of its own."""
    rendered: int = 0
    """The last `rendered` line's version (0: none; its tracks are rendered again once)."""


def parse(text: str) -> Parsed:
    """The journal's header and edits. A line that is not JSON is a torn write (an edit that did
    not happen) and skipped; anything else malformed raises ValueError."""
    lines = text.split("\n")
    header = json.loads(lines[0])
    if not isinstance(header, dict) or header.get("review") != FORMAT:
        raise ValueError("not a review journal of a known format")
    edits = []
    rendered_version = 0
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError:
            continue  # torn by a crash mid-append
        try:
            if isinstance(data, dict) and "rendered" in data:
                rendered_version = int(data["rendered"])
                continue
            edits.append(_edit_from_json(data))
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"line {number}: {error}") from error
    return Parsed(
        str(header["source"]),
        str(header["journal"]),
        tuple(edits),
        not text.endswith("\n"),
        rendered_version,
    )


def replay(base: Sequence[ReviewCue], edits: Iterable[Edit]) -> Review:
    """The review after its edits, in one pass (linear in the number of edits)."""
    review = Review(cues=list(base))
    for edit in edits:
        review.apply(edit)
    return review


def load(review_file: Path, state: InputState, state_text: str) -> Review | None:
    """The review of an input, replayed over its resume journal; None when there is none, or
    when it was begun over another journal (stale). A damaged one raises OutputError."""
    try:
        text = review_file.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as error:
        raise OutputError(str(review_file), f"cannot read the review ({error.strerror})") from error
    try:
        parsed = parse(text)
        if parsed.identity != journal_identity(state_text):
            return None
        review = replay(base_cues(state), parsed.edits)
        review.rendered = parsed.rendered
        return review
    except (ValueError, KeyError, TypeError, IndexError) as error:
        raise OutputError(str(review_file), f"the review is damaged ({error})") from error


# JSON


def cue_to_json(cue: ReviewCue) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": cue.id,
        "begin_ms": cue.begin_ms,
        "end_ms": cue.end_ms,
        "source": list(cue.source),
        "translations": {target: _translation_to_json(t) for target, t in cue.translations.items()},
    }
    if cue.words:
        data["words"] = [[w.begin_ms, w.end_ms, w.text] for w in cue.words]
    if cue.source_edited:
        data["source_edited"] = True
    if cue.reviewed:
        data["reviewed"] = True
    return data


def cue_from_json(data: Mapping[str, Any]) -> ReviewCue:
    begin_ms, end_ms = int(data["begin_ms"]), int(data["end_ms"])
    if end_ms <= begin_ms:
        raise ValueError(f"cue {data['id']} ends before it begins")
    return ReviewCue(
        id=str(data["id"]),
        begin_ms=begin_ms,
        end_ms=end_ms,
        source=tuple(str(line) for line in data["source"]),
        translations={
            str(target): _translation_from_json(t) for target, t in data["translations"].items()
        },
        words=tuple(TimedWord(str(t), int(b), int(e)) for b, e, t in data.get("words", ())),
        source_edited=bool(data.get("source_edited", False)),
        reviewed=bool(data.get("reviewed", False)),
    )


def _translation_to_json(translation: Translation) -> dict[str, Any]:
    data: dict[str, Any] = {"lines": list(translation.lines)}
    if translation.by_hand:
        data["by_hand"] = True
    if translation.state != "ok":
        data["state"] = translation.state
    if translation.error is not None:
        data["error"] = translation.error
    return data


def _translation_from_json(data: Mapping[str, Any]) -> Translation:
    state = str(data.get("state", "ok"))
    if state not in STATES:
        raise ValueError(f"unknown translation state {state!r}")
    error = data.get("error")
    return Translation(
        lines=tuple(str(line) for line in data["lines"]),
        by_hand=bool(data.get("by_hand", False)),
        state=state,
        error=str(error) if error is not None else None,
    )


def _edit_from_json(data: Mapping[str, Any]) -> Edit:
    op = str(data["op"])
    version = int(data["version"])
    if op in (UNDO, REDO):
        of = data.get("of")
        return Edit(version=version, op=op, of=int(of) if of is not None else None)
    change = Change(
        removed=tuple(cue_from_json(cue) for cue in data["removed"]),
        added=tuple(cue_from_json(cue) for cue in data["added"]),
    )
    return Edit(version=version, op=op, arguments=dict(data.get("arguments", {})), change=change)


@dataclass(frozen=True, kw_only=True)
class Reviewed:
    """What a run reads of an input's review."""

    cues: list[ReviewCue]
    """The document's cues: what a rerun renders and what a target added later translates."""
    version: int
    behind: bool
    """Its last save was journaled but its tracks not rendered (disk full): render them all."""
    path: Path


def reviewed_cues(state_file: Path, state: InputState) -> Reviewed | None:
    """The review over this journal, when the input has one (else None). OutputError when
    damaged."""
    review_file = review_path(state_file.parent, state_file.name.removeprefix(".").removesuffix(
        ".subtitler-state.jsonl"))  # fmt: skip
    if not review_file.exists():
        return None
    try:
        state_text = state_file.read_text(encoding="utf-8")
    except OSError as error:
        raise OutputError(
            str(state_file), f"cannot read resume state ({error.strerror})"
        ) from error
    review = load(review_file, state, state_text)
    if review is None:
        return None
    return Reviewed(cues=filled(review.cues, state), version=review.version,
                    behind=review.behind, path=review_file)  # fmt: skip
