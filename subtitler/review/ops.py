"""The review's edit ops, pure: the document's cues and an op's arguments in, the change out
(`EditRefused` with a one-line reason when the edit cannot be made; nothing changes then).

A translation to be asked for again is left `pending` in the change, with its old lines as a
placeholder; the session asks Qwen-MT for each pending one before the change is journaled
(`pending_requests`, `answered`). Times are snapped to the frame grid, and a boundary near a
shot change to it, as `check`'s shot rules want (`layout.shots`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from subtitler.engine.edits import (
    REDO,
    UNDO,
    Change,
    EditRefused,
    Review,
    ReviewCue,
    Translation,
)
from subtitler.layout.cues import clean_line, join_lines
from subtitler.layout.frames import FrameRate
from subtitler.layout.shots import ShotRules

OPS = ("source", "translation", "timing", "split", "merge", "insert", "delete", "reviewed",
       UNDO, REDO)  # fmt: skip
MAX_LINES = 8
MAX_LINE_CHARS = 500


@dataclass(frozen=True, kw_only=True)
class Grid:
    """Where cue times may fall: the frame grid, the shot changes, the shortest cue."""

    frames: FrameRate
    shots: ShotRules | None = None
    min_duration_ms: int = 0


def make_change(
    review: Review, cues: Sequence[ReviewCue], request: Mapping[str, Any],
    targets: Sequence[str], grid: Grid,
) -> tuple[Change, dict[str, Any]]:  # fmt: skip
    """The change an op makes to `cues` (the document's, every translation filled), and the
    arguments to journal with it."""
    op = request.get("op")
    if op not in OPS:
        raise EditRefused(f"unknown op {op!r} (one of {', '.join(OPS)})")
    if op in (UNDO, REDO):
        _, change = review.resolve(str(op))
        return change, {}
    if op == "insert":
        begin_ms, end_ms = _times(request, grid, None, cues)
        lines = _lines(request, "lines")
        if not lines:
            raise EditRefused("an inserted cue needs a line of text")
        cue = ReviewCue(id=review.new_id(), begin_ms=begin_ms, end_ms=end_ms, source=lines,
                        translations={t: Translation(lines=(), state="pending") for t in targets},
                        source_edited=True)  # fmt: skip
        _fits(cues, cue, None)
        return Change(added=(cue,)), {"begin_ms": begin_ms, "end_ms": end_ms, "lines": list(lines)}
    cue_id = request.get("cue")
    if not isinstance(cue_id, str):
        raise EditRefused('name the cue: "cue": ID')
    index = _index(cues, cue_id)
    cue = cues[index]
    arguments: dict[str, Any] = {"cue": cue_id}
    if op == "source":
        lines = _lines(request, "lines")
        if not lines:
            raise EditRefused("a source with no text: delete the cue instead")
        translations = {t: tr if tr.by_hand else replace(tr, state="pending", error=None)
                        for t, tr in _every(cue, targets).items()}  # fmt: skip
        edited = replace(cue, source=lines, source_edited=True, words=(), translations=translations)
        return Change(removed=(cue,), added=(edited,)), {**arguments, "lines": list(lines)}
    if op == "translation":
        target = request.get("target")
        if target not in targets:
            raise EditRefused(f"no target {target!r} (one of {', '.join(targets)})")
        lines = _lines(request, "lines")
        by_hand = Translation(lines=lines, by_hand=True)
        edited = replace(cue, translations={**_every(cue, targets), str(target): by_hand})
        arguments.update(target=target, lines=list(lines))
        return Change(removed=(cue,), added=(edited,)), arguments
    if op == "timing":
        begin_ms, end_ms = _times(request, grid, cue, cues)
        edited = replace(cue, begin_ms=begin_ms, end_ms=end_ms)
        _fits(cues, edited, index)
        return Change(removed=(cue,), added=(edited,)), {**arguments, "begin_ms": begin_ms,
                                                         "end_ms": end_ms}  # fmt: skip
    if op == "split":
        at_ms = _integer(request, "at_ms")
        at_ms = grid.frames.ms(grid.frames.frame_at(at_ms))
        if not cue.begin_ms < at_ms < cue.end_ms:
            raise EditRefused(
                f"split at {at_ms} ms: not inside the cue ({cue.begin_ms}-{cue.end_ms} ms)"
            )
        first, second = split_cue(cue, at_ms, review.new_id(), targets)
        return Change(removed=(cue,), added=(first, second)), {**arguments, "at_ms": at_ms}
    if op == "merge":
        if index + 1 >= len(cues):
            raise EditRefused(f"cue {cue_id} is the last: nothing follows to merge with")
        following = cues[index + 1]
        merged = merge_cues(cue, following, targets)
        arguments["with"] = following.id
        return Change(removed=(cue, following), added=(merged,)), arguments
    if op == "delete":
        return Change(removed=(cue,)), arguments
    value = request.get("value")
    if not isinstance(value, bool):
        raise EditRefused('reviewed takes "value": true or false')
    arguments["value"] = value
    return Change(removed=(cue,), added=(replace(cue, reviewed=value),)), arguments


def _every(cue: ReviewCue, targets: Sequence[str]) -> dict[str, Translation]:
    return {target: cue.translation(target) for target in targets}


def _index(cues: Sequence[ReviewCue], cue_id: str) -> int:
    for index, cue in enumerate(cues):
        if cue.id == cue_id:
            return index
    raise EditRefused(f"no cue {cue_id!r} (deleted, or never there)")


def _lines(request: Mapping[str, Any], key: str) -> tuple[str, ...]:
    lines = request.get(key)
    if not isinstance(lines, list) or not all(isinstance(line, str) for line in lines):
        raise EditRefused(f'"{key}" must be a list of strings')
    if len(lines) > MAX_LINES or any(len(line) > MAX_LINE_CHARS for line in lines):
        raise EditRefused(f"at most {MAX_LINES} lines of {MAX_LINE_CHARS} characters")
    return tuple(cleaned for cleaned in (clean_line(line) for line in lines) if cleaned)


def _integer(request: Mapping[str, Any], key: str) -> int:
    value = request.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise EditRefused(f'"{key}" must be a number of milliseconds')
    return round(value)


def _times(
    request: Mapping[str, Any], grid: Grid, cue: ReviewCue | None, cues: Sequence[ReviewCue]
) -> tuple[int, int]:
    """The asked times on the frame grid; a boundary that moved and is near a shot change
    moved to it (in-time on it, out-time two frames before it)."""
    frames = grid.frames
    begin_ms, end_ms = _integer(request, "begin_ms"), _integer(request, "end_ms")
    if begin_ms < 0:
        raise EditRefused("a cue cannot begin before the media")
    begin, end = frames.frame_at(begin_ms), frames.frame_at(end_ms)
    shots = grid.shots
    if shots is not None:
        if cue is None or begin != frames.frame_at(cue.begin_ms):
            begin = shots.in_time(begin, 0)
        if cue is None or end != frames.frame_at(cue.end_ms):
            shortest = frames.frame_at(grid.min_duration_ms)
            end = shots.out_time(begin, end, shortest)
    if end <= begin:
        raise EditRefused(f"the cue must end after it begins (on the {frames} fps frame grid)")
    return frames.ms(begin), frames.ms(end)


def _fits(cues: Sequence[ReviewCue], edited: ReviewCue, index: int | None) -> None:
    """Refused when the cue would overlap another."""
    for other_index, other in enumerate(cues):
        if other_index == index:
            continue
        if other.begin_ms < edited.end_ms and edited.begin_ms < other.end_ms:
            raise EditRefused(f"{edited.begin_ms}-{edited.end_ms} ms overlaps cue {other.id} "
                              f"({other.begin_ms}-{other.end_ms} ms)")  # fmt: skip


def split_cue(
    cue: ReviewCue, at_ms: int, new_id: str, targets: Sequence[str]
) -> tuple[ReviewCue, ReviewCue]:
    """Two cues at `at_ms`: the source split by the words' times (else by characters in
    proportion), translations asked for again per half (by-hand ones split in proportion)."""
    share = (at_ms - cue.begin_ms) / (cue.end_ms - cue.begin_ms)
    text = join_lines(cue.source)
    before_words = tuple(w for w in cue.words if (w.begin_ms + w.end_ms) // 2 < at_ms)
    after_words = tuple(w for w in cue.words if (w.begin_ms + w.end_ms) // 2 >= at_ms)
    if cue.words and not cue.source_edited:
        heard = sum(len("".join(w.text.split())) for w in before_words)
        left, right = cut_after_characters(text, heard)
    else:
        left, right = cut_in_proportion(text, share)
    first: dict[str, Translation] = {}
    second: dict[str, Translation] = {}
    for target in targets:
        old = cue.translation(target)
        head, tail = cut_in_proportion(join_lines(old.lines), share)
        state = "ok" if old.by_hand else "pending"
        first[target] = Translation(lines=_one(head), by_hand=old.by_hand, state=state)
        second[target] = Translation(lines=_one(tail), by_hand=old.by_hand, state=state)
    return (
        replace(cue, end_ms=at_ms, source=_one(left), translations=first, words=before_words),
        replace(
            cue,
            id=new_id,
            begin_ms=at_ms,
            source=_one(right),
            translations=second,
            words=after_words,
        ),
    )


def merge_cues(cue: ReviewCue, following: ReviewCue, targets: Sequence[str]) -> ReviewCue:
    """One cue from two: texts joined, translations asked for again unless both are by hand."""
    translations = {}
    for target in targets:
        a, b = cue.translation(target), following.translation(target)
        by_hand = a.by_hand and b.by_hand
        translations[target] = Translation(lines=(*a.lines, *b.lines), by_hand=by_hand,
                                           state="ok" if by_hand else "pending")  # fmt: skip
    return replace(
        cue,
        end_ms=following.end_ms,
        source=(*cue.source, *following.source),
        translations=translations,
        words=(*cue.words, *following.words),
        source_edited=cue.source_edited or following.source_edited,
        reviewed=cue.reviewed and following.reviewed,
    )


def _one(text: str) -> tuple[str, ...]:
    return (text,) if text else ()


def cut_after_characters(text: str, count: int) -> tuple[str, str]:
    """`text` cut after its `count`th character that is not a space."""
    seen = 0
    for position, character in enumerate(text):
        if seen >= count:
            return text[:position].strip(), text[position:].strip()
        if not character.isspace():
            seen += 1
    return text.strip(), ""


def cut_in_proportion(text: str, share: float) -> tuple[str, str]:
    """`text` cut at `share` of its length, at the nearest space when it has spaces."""
    if not text:
        return "", ""
    position = round(len(text) * share)
    spaces = [i for i, character in enumerate(text) if character == " "]
    if spaces:
        position = min(spaces, key=lambda i: (abs(i - position), i))
    return text[:position].strip(), text[position:].strip()


@dataclass(frozen=True, kw_only=True)
class Pending:
    """One translation to ask for: a cue's source in one target, with its neighbours' pairs."""

    cue: str
    target: str
    text: str
    memory: tuple[tuple[str, str], ...]


def pending_requests(
    change: Change, cues: Sequence[ReviewCue], context_pairs: int
) -> list[Pending]:
    """The translations the change leaves pending, each with the source and translation of
    the cues before it (Qwen-MT's `tm_list`), nearest last."""
    removed = {r.id for r in change.removed}
    after = sorted(
        [*[c for c in cues if c.id not in removed], *change.added],
        key=lambda c: (c.begin_ms, c.end_ms),
    )
    position = {cue.id: index for index, cue in enumerate(after)}
    asked = []
    for cue in change.added:
        for target, translation in cue.translations.items():
            if translation.state != "pending":
                continue
            before = after[max(0, position[cue.id] - context_pairs) : position[cue.id]]
            memory = tuple(
                (join_lines(c.source), join_lines(c.translation(target).lines))
                for c in before
                if c.translation(target).lines and c.translation(target).state == "ok"
            )
            asked.append(Pending(cue=cue.id, target=target, text=join_lines(cue.source),
                                 memory=memory))  # fmt: skip
    return asked


def answered(change: Change, answers: Mapping[tuple[str, str], Translation]) -> Change:
    """The change with each pending translation replaced by its answer (cue id, target)."""
    added = []
    for cue in change.added:
        translations = {
            target: answers.get((cue.id, target), translation)
            for target, translation in cue.translations.items()
        }
        added.append(replace(cue, translations=translations))
    return Change(removed=change.removed, added=tuple(added))
