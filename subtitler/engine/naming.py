"""`-s auto`: the source language in track names and `<lang>` spans, from the transcript.

Gummy detects the spoken language but does not report it. The first finished sentences of an
input (all its targets' tasks offer theirs) are held back until `subtitler.engine.langid` is sure of
the language (usually the first sentence), or they hold enough text to decide, or they have
waited `MAX_HOLD_S` (a live source may pause for minutes). The namer only decides: its `named`
future is awaited by the input, which then opens every writer's tracks under that name once
(the first write already has the language). `und` only when the identifier cannot tell (or the
input ends first). The input journals the name, so a resumed run keeps it.
"""

from __future__ import annotations

import asyncio

from subtitler.engine.langid import identify

ENOUGH_LETTERS = 60
ENOUGH_SENTENCES = 3
SURE = 0.95
"""A confidence this high names the language at once."""
MAX_HOLD_S = 8.0
"""The longest a finished sentence waits for its language (live captions must flow)."""


class SourceNamer:
    """Lives on the input's loop: `named` is a future of that loop."""

    def __init__(self) -> None:
        self.named: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        """The code once named (`und`: could not tell)."""
        self._texts: list[str] = []
        self._deadline: asyncio.TimerHandle | None = None

    @property
    def decided(self) -> bool:
        return self.named.done()

    @property
    def heard(self) -> bool:
        """Some speech was offered (an input stopped before any is left unnamed: `und` would
        be journaled for a language nobody heard)."""
        return bool(self._texts)

    def offer(self, transcript: str) -> None:
        """One finished sentence's transcript; names the language once there is enough."""
        if self.decided or not transcript.strip():
            return  # a sentence with no words has no language to wait for
        self._texts.append(transcript)
        if self._deadline is None:  # from the first words: an empty sentence starts no wait
            self._deadline = asyncio.get_running_loop().call_later(MAX_HOLD_S, self.decide)
        letters = sum(character.isalpha() for text in self._texts for character in text)
        found = identify(" ".join(self._texts))
        sure = found is not None and found.confidence >= SURE
        if sure or letters >= ENOUGH_LETTERS or len(self._texts) >= ENOUGH_SENTENCES:
            self.decide()

    def decide(self) -> None:
        """Name it now with what there is (the input ended, there is enough, or the deadline)."""
        if self._deadline is not None:
            self._deadline.cancel()
        if not self.decided:
            found = identify(" ".join(self._texts)) if self._texts else None
            self.named.set_result(found.code if found is not None else "und")
