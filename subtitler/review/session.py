"""One input under review: its document in memory (the resume journal and the edits replayed
once), its version, its edits made one at a time, journaled, then every track re-rendered.

An edit names the version it was made on; another version by then is a `Conflict` (the other
change is shown, nothing is saved). Retranslation is awaited before the edit is journaled
(bounded by the Qwen-MT timeout); a failed one keeps the old text, marked `failed` with its
one-line error: the edit itself is saved. The journal's file is checked before each edit, so a
second server on the same input (`review` and `serve`) is seen too.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from subtitler.engine import edits as review_journal
from subtitler.engine import journal as resume_state
from subtitler.engine.claim import Claim, claim_path
from subtitler.engine.edits import (
    REDO,
    UNDO,
    Edit,
    EditRefused,
    Review,
    ReviewCue,
    Translation,
    filled,
    source_language,
)
from subtitler.engine.machine import Translates
from subtitler.engine.prepare import journaled_picture
from subtitler.errors import OutputError
from subtitler.gummy.glossary import Glossary, terms_for
from subtitler.languages import QWEN_MT_LANGUAGES, Translator, gummy_translates
from subtitler.layout.cues import clean_line
from subtitler.layout.frames import FrameRate, frame_grid, parse_frame_rate
from subtitler.layout.lines import break_lines, tokenize
from subtitler.layout.rules import CueRules
from subtitler.layout.shots import ShotRules
from subtitler.options import RunOptions
from subtitler.qwenmt.protocol import TranslationRequest
from subtitler.review import ops
from subtitler.review.problems import Problems, problems_of
from subtitler.review.render import every_track, render_ops
from subtitler.sources.media import ffmpeg_executable, parse_streams, run_to_end
from subtitler.tracks.durable import DiskWriter, FileOp

AUDIO_FRAME_RATE = FrameRate.of(Fraction(25))
"""The grid an audio-only input's times snap to (40 ms) unless --frame-rate says otherwise."""


class Conflict(Exception):
    """The edit was made on another version than the current one."""

    def __init__(self, base_version: int, latest: Edit | None) -> None:
        what = ""
        if latest is not None:
            cue = f" of cue {latest.cue}" if latest.cue else ""
            what = f": {latest.op}{cue}"
        super().__init__(f"edited elsewhere (version {latest.version if latest else 0}{what})")
        self.base_version = base_version
        self.latest = latest


@dataclass(frozen=True, kw_only=True)
class Shown:
    """The document as last saved, replaced whole: a reader (the document made on a worker
    thread, a page's request meanwhile) never sees a version with another version's cues."""

    version: int
    cues: list[ReviewCue]
    can_undo: bool
    can_redo: bool

    @classmethod
    def of(cls, review: Review, cues: list[ReviewCue]) -> Shown:
        return cls(version=review.version, cues=cues, can_undo=bool(review.undoable),
                   can_redo=bool(review.redoable))  # fmt: skip


class Busy(Exception):
    """The input cannot be edited now (a run works on it, or another save holds it): nothing
    was saved; its one-line reason."""


@dataclass(frozen=True)
class Files:
    """An input, the two journals beside its tracks, and the claim a run holds on it."""

    media: Path
    state: Path
    review: Path
    claim: Path

    @classmethod
    def of(cls, media: Path, folder: Path | None = None) -> Files:
        """`folder`: where its tracks are (a run's `-o`), beside the media by default."""
        where = media.parent if folder is None else folder
        return cls(
            media,
            resume_state.state_path(where, media.stem),
            review_journal.review_path(where, media.stem),
            claim_path(where, media.stem),
        )

    def signatures(self) -> tuple[tuple[int, int] | None, ...]:
        """Both journals' sizes and times: another process's change shows here."""
        return (_signature(self.state), _signature(self.review))


def _signature(path: Path) -> tuple[int, int] | None:
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_size, status.st_mtime_ns


class Session:
    """One input's document, owned by the review application's event loop."""

    def __init__(
        self,
        files: Files,
        *,
        name: str,
        options: RunOptions,
        translator: Callable[[], Translates],
        disk: DiskWriter,
        glossary: Glossary | None = None,
    ) -> None:
        self.files = files
        self.name = name
        self.options = options
        self._translator = translator
        self._disk = disk
        self._glossary = glossary
        self._lock = asyncio.Lock()
        self.listeners: set[asyncio.Queue[int | None]] = set()
        """The open event streams: a version after each save; None ends one (shutdown)."""
        self.duration_ms: int | None = None
        self.state: resume_state.InputState
        self._state_text = ""
        self.review: Review
        self._shown = Shown(version=0, cues=[], can_undo=False, can_redo=False)
        self._signatures: tuple[tuple[int, int] | None, ...] = ()
        self._torn = False
        self._problems = Problems()
        self._problems_lock = threading.Lock()

    # Loading

    async def load(self) -> None:
        """Read (or read again) both journals and replay the edits; tracks a save journaled
        but did not render (disk full, a crash) are rendered now, when nothing else holds the
        input."""
        await asyncio.to_thread(self._load)
        if self.review.behind and not self.state.unfinished:
            claim = Claim(self.files.claim)
            if await asyncio.to_thread(claim.acquire):
                try:
                    await self._render_and_mark()
                finally:
                    await asyncio.to_thread(claim.release)

    async def ensure_duration(self) -> None:
        """The media's duration, asked of ffmpeg once (the listing of many inputs does not)."""
        if self.duration_ms is None:
            self.duration_ms = await probe_duration_ms(self.files.media)

    def _load(self) -> None:
        signatures = self.files.signatures()
        try:
            text = self.files.state.read_text(encoding="utf-8")
        except FileNotFoundError as error:
            raise OutputError(str(self.files.media), "no journal: run subtitler first") from error
        except OSError as error:
            raise OutputError(str(self.files.state), f"cannot read ({error.strerror})") from error
        try:
            state = resume_state.parse(text)
        except (ValueError, KeyError, TypeError, IndexError) as error:
            raise OutputError(str(self.files.state), f"the journal is damaged ({error})") from error
        review = review_journal.load(self.files.review, state, text)
        self._torn = False
        if review is None:
            review = review_journal.replay(review_journal.base_cues(state), ())
        else:
            self._torn = not self.files.review.read_bytes().endswith(b"\n")
        self.state, self._state_text, self.review = state, text, review
        self._shown = Shown.of(review, filled(review.cues, state))
        self._signatures = signatures

    async def refresh(self) -> None:
        """Read again when another process changed a journal (a run, another server); never
        during an edit of this session (it would replay the line the edit is writing)."""
        async with self._lock:
            await self._refresh()

    async def _refresh(self) -> None:
        now = self.files.signatures()
        if now != self._signatures:
            await self.load()

    @property
    def idle(self) -> bool:
        """No page listens and nothing is being saved or read: it may be dropped (and read
        again from the files when asked for)."""
        return not self.listeners and not self._lock.locked()

    # What it holds

    @property
    def version(self) -> int:
        return self.review.version

    @property
    def cues(self) -> list[ReviewCue]:
        """The document's cues (every target's translation filled in), as last saved."""
        return self._shown.cues

    @property
    def targets(self) -> list[str]:
        return self._targets_of(self.cues)

    def _targets_of(self, cues: Sequence[ReviewCue]) -> list[str]:
        return [t for t, progress in self.state.targets.items() if progress.cues or t in
                {k for cue in cues for k in cue.translations}]  # fmt: skip

    @property
    def run_options(self) -> RunOptions:
        """The options the tracks were rendered with, as the run journaled them (its frame
        rate and start timecode: TTML and EBU-TT-D keep them), else the review's own."""
        settings = self.state.settings
        journaled: dict[str, Any] = {}
        if isinstance(settings.get("frame_rate"), str):
            text = settings["frame_rate"]
            journaled["frame_rate"] = text if text in ("auto", "off") else parse_frame_rate(text)
        if "timecode_start" in settings:
            start = settings["timecode_start"]
            journaled["timecode_start"] = str(start) if start is not None else None
        return replace(self.options, **journaled) if journaled else self.options

    @property
    def frames(self) -> FrameRate:
        picture = journaled_picture(self.state)
        grid = frame_grid(self.run_options.frame_rate, picture.frame_rate if picture else None)
        return grid or AUDIO_FRAME_RATE

    @property
    def rules(self) -> CueRules:
        """The cue rules on the input's frame grid and shot changes, as the run had them."""
        rules = self.options.rules
        frames = self.frames
        changes = (self.state.picture or {}).get("shot_changes")
        shots = None
        if changes:
            shots = ShotRules(frames, tuple(int(f) for f in changes),
                              rules.timing.min_gap_frames)  # fmt: skip
        timing = replace(rules.timing, frames=frames, shots=shots,
                         media_end_ms=self.duration_ms)  # fmt: skip
        return replace(rules, timing=timing)

    def grid(self) -> ops.Grid:
        rules = self.rules
        return ops.Grid(frames=self.frames, shots=rules.timing.shots,
                        min_duration_ms=rules.timing.min_duration_ms)  # fmt: skip

    def summary(self) -> dict[str, Any]:
        return {
            "reviewed": sum(cue.reviewed for cue in self.cues),
            "cues": len(self.cues),
            "targets": self.targets,
        }

    async def document_json(self, quoted_path: str, **around: Any) -> bytes:
        """The document as JSON, made off the event loop (a long document's thousands of cues
        take a while to lay out); `around`: keys beside it (a 409's), the document under
        "document"."""

        def made() -> bytes:
            document = self.document(quoted_path)
            data = {**around, "document": document} if around else document
            return "".join(json_pieces(data)).encode("utf-8")

        return await asyncio.to_thread(made)

    def document(self, quoted_path: str) -> dict[str, Any]:
        """The document as the API gives it (`quoted_path`: the input's path, URL-encoded).
        Safe on a worker thread: it reads each attribute once (an edit replaces them, never
        changes them in place), and the problems' cache is taken by one thread at a time."""
        shown, state = self._shown, self.state
        cues = shown.cues
        targets = self._targets_of(cues)
        source = source_language(state)
        with self._problems_lock:
            found = self._problems.of(cues, self.rules, source, targets)
        frames = self.frames
        changes = (state.picture or {}).get("shot_changes") or []
        picture = journaled_picture(state)
        rate = frames.rate
        listed = []
        for cue, problems in zip(cues, found, strict=True):
            listed.append({
                "id": cue.id,
                "begin_ms": cue.begin_ms,
                "end_ms": cue.end_ms,
                "source": {"lines": list(cue.source), "edited": cue.source_edited},
                "translations": {
                    target: {"lines": list(t.lines), "by_hand": t.by_hand, "state": t.state,
                             "error": t.error}
                    for target in targets for t in (cue.translation(target),)
                },
                "words": [{"text": w.text, "begin_ms": w.begin_ms, "end_ms": w.end_ms}
                          for w in cue.words],
                "reviewed": cue.reviewed,
                "problems": [p.as_dict() for p in problems],
            })  # fmt: skip
        return {
            "path": self.name,
            "name": self.files.media.name,
            "version": shown.version,
            "media": {
                "url": f"media?path={quoted_path}",
                "kind": "video" if picture is not None else "audio",
                "duration_ms": self.duration_ms,
                "frame_rate": f"{rate.numerator}/{rate.denominator}",
                "frame_ms": round(1000 / float(rate), 3),
                "shot_changes_ms": [frames.ms(int(frame)) for frame in changes],
            },
            "source_language": source,
            "targets": [
                {
                    "language": target,
                    "name": _name(target),
                    "translator": _translator(source, target),
                    "track_url": f"track?path={quoted_path}&target={target}",
                }
                for target in targets
            ],
            "cues": listed,
            "problems": sum(len(p) for p in found),
            "can_undo": shown.can_undo,
            "can_redo": shown.can_redo,
        }

    def check(self, unsaved: Mapping[str, Any]) -> list[dict[str, str | None]]:
        """The rules on a cue's unsaved text and times (nothing saved)."""
        cue_id = unsaved.get("cue")
        index = next((i for i, cue in enumerate(self.cues) if cue.id == cue_id), None)
        current = self.cues[index] if index is not None else None
        begin_ms = _number(unsaved.get("begin_ms"), current.begin_ms if current else None)
        end_ms = _number(unsaved.get("end_ms"), current.end_ms if current else None)
        if begin_ms is None or end_ms is None:
            raise EditRefused("give the cue's id, or begin_ms and end_ms")
        source = _text(unsaved.get("source"), current.source if current else ())
        given = unsaved.get("translations")
        given = given if isinstance(given, dict) else {}
        translations = {
            target: Translation(lines=_text(given.get(target),
                                            current.translation(target).lines if current else ()))
            for target in self.targets
        }  # fmt: skip
        cue = ReviewCue(id=str(cue_id or "unsaved"), begin_ms=begin_ms, end_ms=end_ms,
                        source=source, translations=translations)  # fmt: skip
        if index is None:
            following = next((c for c in self.cues if c.begin_ms >= begin_ms), None)
        else:
            following = self.cues[index + 1] if index + 1 < len(self.cues) else None
        checked = [cue] if following is None else [cue, following]
        found = problems_of(checked, self.rules, source_language(self.state), self.targets)
        return [p.as_dict() for p in found[0]]

    # Editing

    async def edit(self, base_version: int, request: Mapping[str, Any]) -> None:
        """Make one edit (Conflict, EditRefused, OutputError), journal it, render the tracks."""
        async with self._lock:
            claim = Claim(self.files.claim)
            if not await asyncio.to_thread(claim.acquire):
                raise Busy("a run (or another review's save) is working on this input: "
                           "nothing saved; try again when it ends")  # fmt: skip
            try:
                await self._edit(base_version, request)
            finally:
                await asyncio.to_thread(claim.release)
        for listener in list(self.listeners):
            listener.put_nowait(self.version)

    async def _edit(self, base_version: int, request: Mapping[str, Any]) -> None:
        """The edit, under the input's claim: no run and no other server writes meanwhile."""
        await self._refresh()
        if base_version != self.version:
            raise Conflict(base_version, self.review.latest)
        unfinished = [t for t, p in self.state.targets.items() if not p.finished]
        if unfinished:
            raise Busy(f"the run of {', '.join(unfinished)} is unfinished: run subtitler "
                       "again to finish it, then edit")  # fmt: skip
        targets = self.targets
        op = str(request.get("op"))
        change, arguments = ops.make_change(self.review, self.cues, request, targets,
                                            self.grid())  # fmt: skip
        if op in (UNDO, REDO):
            of, _ = self.review.resolve(op)
            edit = Edit(version=self.version + 1, op=op, of=of, change=change)
        else:
            change = await self._translated(change)
            edit = Edit(version=self.version + 1, op=op, arguments=arguments, change=change)
        await self._journal(edit)
        self._shown = await asyncio.to_thread(self._take, edit)
        self._signatures = self.files.signatures()
        await self._render_and_mark()

    def _take(self, edit: Edit) -> Shown:
        """The journaled edit in the document (on a worker thread: a long document's cues are
        filled again); readers keep the last `Shown` until it is replaced whole."""
        self.review.apply(edit)
        return Shown.of(self.review, filled(self.review.cues, self.state))

    async def _translated(self, change: review_journal.Change) -> review_journal.Change:
        asked = ops.pending_requests(change, self.cues, self._mt_context())
        if not asked:
            return change
        answers = await asyncio.gather(*(self._ask(pending) for pending in asked))
        by_key = {(p.cue, p.target): answer for p, answer in zip(asked, answers, strict=True)}
        return ops.answered(change, by_key)

    def _mt_context(self) -> int:
        return self.options.mt.context_pairs if self.options.mt is not None else 3

    async def _ask(self, pending: ops.Pending) -> Translation:
        """One translation from Qwen-MT; on failure the old lines, marked failed."""
        old = next((c for c in self.cues if c.id == pending.cue), None)
        old_lines = old.translation(pending.target).lines if old is not None else ()
        if not pending.text:
            return Translation(lines=())
        terms = terms_for(self._glossary, pending.target) if self._glossary else ()
        request = TranslationRequest(
            source=source_language(self.state),
            target=pending.target,
            text=pending.text,
            memory=pending.memory,
            terms=terms or self.options.terms_of(pending.target),
        )
        timeout_s = self.options.mt.timeout_s if self.options.mt is not None else 10.0
        try:
            answer = await asyncio.wait_for(self._translator().translate(request), timeout_s)
        except TimeoutError:
            return Translation(lines=old_lines, state="failed",
                               error=f"Qwen-MT: no answer within {timeout_s:g} s")  # fmt: skip
        except Exception as error:  # the service's refusal, a dropped connection: said, kept
            message = str(error).splitlines()[0] if str(error) else type(error).__name__
            return Translation(lines=old_lines, state="failed", error=message)
        return Translation(lines=self._lines(answer.text, pending.target))

    def _lines(self, text: str, target: str) -> tuple[str, ...]:
        limits = self.options.rules.for_language(target, text)
        return break_lines(tokenize(clean_line(text), limits), limits)

    async def _journal(self, edit: Edit) -> None:
        operations: list[FileOp] = []
        if self.version == 0 and not self._has_header():
            # Another hearing's review (or none): kept aside, never replaced.
            await asyncio.to_thread(review_journal.set_aside, self.files.review)
            identity = review_journal.journal_identity(self._state_text)
            operations.append(review_journal.begin(self.files.review, self.state.source, identity))
            self._torn = False
        operations += review_journal.append(self.files.review, edit, after_torn=self._torn)
        await self._disk.run(operations)
        self._torn = False

    async def _render_and_mark(self) -> None:
        """Every track from the document, then the version they hold journaled."""
        await self.render()
        marked = review_journal.rendered(self.files.review, self.version, after_torn=self._torn)
        await self._disk.run(list(marked))
        self._torn = False
        self.review.rendered = self.version
        self._signatures = self.files.signatures()

    def _has_header(self) -> bool:
        """The review file there is this journal's (a stale one is begun again)."""
        try:
            text = self.files.review.read_text(encoding="utf-8")
            parsed = review_journal.parse(text)
        except (OSError, ValueError):
            return False
        return parsed.identity == review_journal.journal_identity(self._state_text)

    async def render(self) -> None:
        """Every existing track of every target and format, from the document, atomically."""
        media, state, targets, options = (
            self.files.media,
            self.state,
            self.targets,
            self.run_options,
        )
        cues, folder = self.cues, self.files.state.parent

        def render() -> list[FileOp]:  # on the writer thread: formats' modules load here too
            plans = every_track(media, state, targets, options, folder)
            return render_ops(plans, cues, state)

        await self._disk.render_and_run(render)

    async def vtt(self, target: str) -> bytes:
        """One target's current cues as WebVTT (for the page's `<track>`), rendered off the
        event loop (every cue of a long document)."""
        from subtitler.tracks.vtt import VttTrack

        track = VttTrack(self.files.media.with_suffix(""), (1,), ())
        cues, state = self.cues, self.state

        def rendered() -> bytes:
            return track.restore(review_journal.target_cues(cues, state, target)).data

        return await asyncio.to_thread(rendered)


def json_pieces(value: Any, depth: int = 0) -> Iterator[str]:
    """`json.dumps(value, ensure_ascii=False)` in pieces, a list item or a key's value each:
    the C encoder holds the GIL for a whole call, so one call over a long document would stall
    the event loop's thread as surely as running it there."""
    if isinstance(value, dict) and depth < 2:
        yield "{"
        for index, (key, item) in enumerate(value.items()):
            yield (", " if index else "") + json.dumps(str(key), ensure_ascii=False) + ": "
            yield from json_pieces(item, depth + 1)
        yield "}"
    elif isinstance(value, list) and depth < 3:
        yield "["
        for index, item in enumerate(value):
            yield (", " if index else "") + json.dumps(item, ensure_ascii=False)
        yield "]"
    else:
        yield json.dumps(value, ensure_ascii=False)


def _name(target: str) -> str:
    return QWEN_MT_LANGUAGES.get(target, target)


def _translator(source: str | None, target: str) -> str:
    """Who translated the run's cues (an edit's translations are Qwen-MT's)."""
    chosen = Translator.GUMMY if gummy_translates(source, target) else Translator.QWEN_MT
    return str(chosen.value)


def _number(value: object, default: int | None) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return round(value)


def _text(value: object, default: Sequence[str]) -> tuple[str, ...]:
    if isinstance(value, list) and all(isinstance(line, str) for line in value):
        return tuple(cleaned for cleaned in (clean_line(line) for line in value) if cleaned)
    return tuple(default)


async def probe_duration_ms(media: Path) -> int | None:
    """The media's duration from ffmpeg's listing (None when it cannot tell)."""
    try:
        _, log = await run_to_end([ffmpeg_executable(), "-hide_banner", "-nostdin", "-i",
                                   os.fspath(media)])  # fmt: skip
    except (OSError, Exception):
        return None
    duration_ms, _ = parse_streams(log)
    return duration_ms
