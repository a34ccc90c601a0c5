"""`-s auto`: the source language in track names and `<lang>` spans, from the transcript.

Gummy detects the spoken language but does not report it. The first finished sentences of an
input (all its targets' tasks offer theirs) are held back until `subtitler.langid` is sure of
the language (usually the first sentence), or they hold enough text to decide, or they have
waited `MAX_HOLD_S` (a live source may pause for minutes); then every writer of the input opens
its tracks under that name and writes what it held: the first write already has the language.
`und` only when the identifier cannot tell (or the input ends first). The name is journaled, so
a resumed run keeps it. The identifier's model loads at the first sentence of a process, on the
loop (0.6 s here, once): a thread for it would be a thread for every run.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from subtitler.langid import identify

ENOUGH_LETTERS = 60
ENOUGH_SENTENCES = 3
SURE = 0.95
"""A confidence this high names the language at once."""
MAX_HOLD_S = 8.0
"""The longest a finished sentence waits for its language (live captions must flow)."""


class SourceNamer:
    def __init__(self, known: str | None = None) -> None:
        self.language: str | None = known
        """The code once named ("und": could not tell); None while undecided."""
        self._texts: list[str] = []
        self._listeners: list[Callable[[str], None]] = []
        self._deadline: asyncio.TimerHandle | None = None

    @property
    def decided(self) -> bool:
        return self.language is not None

    @property
    def heard(self) -> bool:
        """Some speech was offered (an input stopped before any is left unnamed: `und` would
        be journaled for a language nobody heard)."""
        return bool(self._texts)

    def listen(self, on_named: Callable[[str], None]) -> None:
        self._listeners.append(on_named)

    def offer(self, transcript: str) -> None:
        """One finished sentence's transcript; names the language once there is enough."""
        if self.decided:
            return
        if transcript.strip():
            self._texts.append(transcript)
        if self._deadline is None:
            with contextlib.suppress(RuntimeError):  # no loop: a unit test; no deadline
                self._deadline = asyncio.get_running_loop().call_later(MAX_HOLD_S, self.decide)
        letters = sum(character.isalpha() for text in self._texts for character in text)
        found = identify(" ".join(self._texts)) if self._texts else None
        sure = found is not None and found.confidence >= SURE
        if sure or letters >= ENOUGH_LETTERS or len(self._texts) >= ENOUGH_SENTENCES:
            self.decide()

    def decide(self) -> str:
        """Name it now with what there is (the input ended, or there is enough)."""
        if self._deadline is not None:
            self._deadline.cancel()
        if self.language is None:
            found = identify(" ".join(self._texts)) if self._texts else None
            self.language = found.code if found is not None else "und"
            for on_named in self._listeners:
                on_named(self.language)
        return self.language
