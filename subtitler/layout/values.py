"""The values layout takes and gives: sentences with timed words in, cues (each language's
lines) and the updates that patch a track out."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CueText:
    """The lines of one language in a cue; `language` None when it is not known (auto)."""

    language: str | None
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Cue:
    """One subtitle on the media timeline: [begin_ms, end_ms) and its text, language by language."""

    begin_ms: int
    end_ms: int
    texts: tuple[CueText, ...]

    @property
    def lines(self) -> tuple[str, ...]:
        return tuple(line for text in self.texts for line in text.lines)

    def only(self, indexes: tuple[int, ...]) -> Cue | None:
        """The cue with only the languages at these positions; None when they have no text."""
        kept = tuple(self.texts[i] for i in indexes if i < len(self.texts) and self.texts[i].lines)
        return Cue(self.begin_ms, self.end_ms, kept) if kept else None


@dataclass(frozen=True)
class TimedWord:
    """A word as displayed (trailing punctuation attached) with its time on the media timeline."""

    text: str
    begin_ms: int
    end_ms: int


@dataclass(frozen=True)
class SentenceText:
    """A finished sentence, on the media timeline."""

    begin_ms: int
    end_ms: int
    transcript: str
    translation: str
    words: tuple[TimedWord, ...] = ()


@dataclass(frozen=True)
class LayoutUpdate:
    """What to do to a track: replace its last cue (when not None), then append `added`."""

    replaced: Cue | None
    added: tuple[Cue, ...]
