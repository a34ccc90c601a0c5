"""Recognition once per input: one target's task recognises the speech, every other target's
task only translates, and their cues take the transcript from the recognising one, by time.

Gummy bills recognition per task, so with two targets recognising twice doubled that half of
the bill. The tasks hear the same audio but may cut sentences differently, so a translation
takes the transcript's sentences whose middle falls before its end and after the previous
translation's end (each transcript sentence goes to one translation of a target; one that falls
in a gap goes to the next translation); a translation with none still gets its cue.

A translation waits until the transcript is settled past its end (the recognising task has
finished a sentence ending later, or has ended). When the recognising task ended without
hearing everything (a stop, a failure), translations past what it heard are not written: the
journal resumes that target from its last cue and the next run pairs them.

Lives on the input's event loop; `Ledger` is fed by the recognising target's writer and closed
by the input when that target's task ends.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from subtitler.layout.cues import Cue, TimedWord, join_lines


@dataclass(frozen=True)
class Heard:
    """A stretch of the transcript on the media timeline: a finished sentence, or (resuming) a
    cue from the recognising target's journal."""

    begin_ms: int
    end_ms: int
    text: str
    words: tuple[TimedWord, ...] = ()

    @property
    def middle_ms(self) -> int:
        return (self.begin_ms + self.end_ms) // 2


class Ledger:
    """The input's one transcript, in time order."""

    def __init__(self) -> None:
        self.heard: list[Heard] = []
        """What no cursor has passed yet (a run of hours keeps a handful, not every sentence)."""
        self._cursors: list[Cursor | Reader] = []
        self.unread = False
        """Every target that read it has stopped: what is heard next is not kept."""
        self.settled_ms = -1
        """Media time up to which no more transcript will come (until the task ends)."""
        self.closed = False
        self.complete = False
        self._changed = asyncio.Event()

    def seed_heard(self, heard: list[Heard], settled_ms: int) -> None:
        """A resumed input: the transcript so far, as the journal recorded it sentence by
        sentence."""
        self.heard.extend(heard)
        self._settle(settled_ms)

    def seed(self, cues: list[Cue], settled_ms: int) -> None:
        """A resumed input: the transcript so far from the recognising target's journaled cues
        (their first language's lines)."""
        for cue in cues:
            if cue.texts and cue.texts[0].lines:
                self.heard.append(Heard(cue.begin_ms, cue.end_ms, join_lines(cue.texts[0].lines)))
        self._settle(settled_ms)

    def add(self, heard: Heard) -> None:
        if not self.unread:
            self.heard.append(heard)
        self._settle(heard.end_ms)
        self._wake()  # a reader waits for the sentence itself, not for a settled time

    def close(self, complete: bool) -> None:
        """The recognising task ended; `complete`: it heard the whole input."""
        self.closed, self.complete = True, complete
        self._wake()

    async def settled_past(self, end_ms: int) -> bool:
        """Wait until the transcript up to `end_ms` is known: True, or False when it never
        will be in this run (the recognising task stopped short of it)."""
        while self.settled_ms < end_ms and not self.closed:
            await self._changed.wait()
        return self.settled_ms >= end_ms or self.complete

    def _forget_taken(self) -> None:
        """Drop the pieces every cursor has passed."""
        passed = min((cursor.next_index for cursor in self._cursors), default=0)
        if passed:
            del self.heard[:passed]
            for cursor in self._cursors:
                cursor.next_index -= passed

    async def _wait(self) -> None:
        await self._changed.wait()

    def _settle(self, ms: int) -> None:
        if ms > self.settled_ms:
            self.settled_ms = ms
            self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()


class Cursor:
    """One translate-only target's place in the ledger: what its translations took so far."""

    def __init__(self, ledger: Ledger, from_ms: int) -> None:
        """`from_ms`: where this target resumes; transcript before it went to earlier cues."""
        self.ledger = ledger
        self._from_ms = from_ms
        self.next_index = 0
        """Where this target's next transcript piece is in `ledger.heard`."""
        ledger._cursors.append(self)

    def take(self, end_ms: int) -> list[Heard]:
        """The transcript for a translation ending at `end_ms` (each piece taken once)."""
        heard = self.ledger.heard
        taken = []
        while self.next_index < len(heard) and heard[self.next_index].middle_ms < end_ms:
            piece = heard[self.next_index]
            self.next_index += 1
            if piece.middle_ms >= self._from_ms:
                taken.append(piece)
        self._from_ms = max(self._from_ms, end_ms)
        self.ledger._forget_taken()
        return taken


class Reader:
    """One Qwen-MT target's place in the ledger: each sentence heard, once, in order."""

    def __init__(self, ledger: Ledger, from_ms: int) -> None:
        """`from_ms`: where this target resumes (media time after its last translated sentence):
        sentences ending by then were translated by an earlier run."""
        self.ledger = ledger
        self._from_ms = from_ms
        self.next_index = 0
        ledger._cursors.append(self)

    async def next(self) -> Heard | None:
        """The next sentence heard, waiting for it; None once the transcript has ended."""
        ledger = self.ledger
        while True:
            while self.next_index < len(ledger.heard):
                piece = ledger.heard[self.next_index]
                self.next_index += 1
                if piece.end_ms > self._from_ms:
                    ledger._forget_taken()
                    return piece
            ledger._forget_taken()
            if ledger.closed:
                return None
            await ledger._wait()

    def ready(self, limit: int, max_chars: int) -> list[Heard]:
        """Up to `limit` more sentences heard already, their texts under `max_chars` together,
        without waiting (blank ones are passed over)."""
        ledger, chars = self.ledger, 0
        taken: list[Heard] = []
        while len(taken) < limit and self.next_index < len(ledger.heard):
            piece = ledger.heard[self.next_index]
            if piece.end_ms > self._from_ms and piece.text.strip():
                if chars + len(piece.text) > max_chars:
                    break
                taken.append(piece)
                chars += len(piece.text)
            self.next_index += 1
        ledger._forget_taken()
        return taken

    def close(self) -> None:
        """This target reads no more (done, failed or stopped): what only it had not read is
        forgotten, so a target that stopped early holds no transcript for the rest of a long
        input."""
        ledger = self.ledger
        if self in ledger._cursors:
            ledger._cursors.remove(self)
            if ledger._cursors:
                ledger._forget_taken()
            else:
                ledger.unread = True
                ledger.heard.clear()


def transcript_of(pieces: list[Heard]) -> tuple[str, tuple[TimedWord, ...]]:
    """The pieces as one transcript and its words."""
    return (join_lines([piece.text for piece in pieces]),
            tuple(word for piece in pieces for word in piece.words))  # fmt: skip
