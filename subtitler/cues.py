"""Cues: pure values and rules (no I/O, no clock). Sentences in, subtitle cues out."""

from __future__ import annotations

import re
from dataclasses import dataclass

_SPACES = re.compile(r"\s+")


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


def clean_line(text: str) -> str:
    """One display line: no line breaks or runs of spaces, and no `-->` (it would end a cue
    header in SRT and VTT). Strict parsers must read back exactly what was written."""
    return _SPACES.sub(" ", text.replace("-->", "→")).strip()


def bilingual_cue(
    begin_ms: int,
    end_ms: int,
    transcript: str,
    translation: str,
    source_language: str | None,
    target_language: str,
    offset_ms: int = 0,
) -> Cue | None:
    """The cue of one sentence: transcript above translation, shifted onto the media timeline.

    None when there is nothing to show. A zero-length sentence gets one millisecond, so the
    cue is never empty in time.
    """
    texts = []
    transcript_line = clean_line(transcript)
    translation_line = clean_line(translation)
    if transcript_line:
        texts.append(CueText(source_language, (transcript_line,)))
    if translation_line and translation_line != transcript_line:
        texts.append(CueText(target_language, (translation_line,)))
    if not texts:
        return None
    begin = max(0, begin_ms + offset_ms)
    end = max(begin + 1, end_ms + offset_ms)
    return Cue(begin_ms=begin, end_ms=end, texts=tuple(texts))


def srt_timestamp(ms: int) -> str:
    hours, rest = divmod(max(0, ms), 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d},{millis:03d}"


def vtt_timestamp(ms: int) -> str:
    return srt_timestamp(ms).replace(",", ".")
