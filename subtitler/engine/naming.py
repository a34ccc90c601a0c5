"""`-s auto`: the source language in track names and `<lang>` spans, from the transcript.

Gummy detects the spoken language but does not report it. The first finished sentences of an
input (all its targets' tasks offer theirs) are held back until they hold enough text, then
`subtitler.langid` names the language and every writer of the input opens its tracks under
that name and writes what it held: the first write already has the language. `und` only when
the identifier cannot tell (or the input ends first). The name is journaled, so a resumed run
keeps it.
"""

from __future__ import annotations

from collections.abc import Callable

from subtitler.langid import identify

ENOUGH_LETTERS = 60
ENOUGH_SENTENCES = 3


class SourceNamer:
    def __init__(self, known: str | None = None) -> None:
        self.language: str | None = known
        """The code once named ("und": could not tell); None while undecided."""
        self._texts: list[str] = []
        self._listeners: list[Callable[[str], None]] = []

    @property
    def decided(self) -> bool:
        return self.language is not None

    def listen(self, on_named: Callable[[str], None]) -> None:
        self._listeners.append(on_named)

    def offer(self, transcript: str) -> None:
        """One finished sentence's transcript; names the language once there is enough."""
        if self.decided:
            return
        if transcript.strip():
            self._texts.append(transcript)
        letters = sum(character.isalpha() for text in self._texts for character in text)
        if letters >= ENOUGH_LETTERS or len(self._texts) >= ENOUGH_SENTENCES:
            self.decide()

    def decide(self) -> str:
        """Name it now with what there is (the input ended, or there is enough)."""
        if self.language is None:
            found = identify(" ".join(self._texts)) if self._texts else None
            self.language = found.code if found is not None else "und"
            for on_named in self._listeners:
                on_named(self.language)
        return self.language
