"""What the single-text live outputs carry: a caption per new cue, in the chosen language.

Pure: a `CueWritten` event and the caption language in, `Caption`s out. `--caption-language`
is a target (its translation), the source language (the transcript) or `both` (the source line,
then the translation). A cue that only revises the previous one (a short sentence merged into
it) carries the sentence's own text, so every sentence is captioned once and nothing twice.
"""

from __future__ import annotations

import textwrap
import time
from dataclasses import dataclass

from subtitler.events import CueWritten
from subtitler.layout.cues import Cue, join_lines
from subtitler.layout.scripts import LATIN_SCRIPT, cea608_refusal, primary_subtag

BOTH = "both"
SOURCE = "source"
"""The transcript, whichever language is spoken (the only way to name it with -s auto)."""
CEA608_COLUMNS = 32
CEA608_ROWS = 2
"""Lines per caption sent to OBS: roll-up captions of two rows read best at 608's 32 columns."""


@dataclass(frozen=True, kw_only=True)
class Caption:
    """One caption for a live output: its lines and where its speech is on the input's media
    timeline, and that timeline on the clock (for the outputs that post times: YouTube)."""

    lines: tuple[str, ...]
    source: str
    """The input it comes from (its path): each input has a timeline of its own."""
    begin_ms: int
    """Its speech on the input's media timeline."""
    media_origin_s: float
    """Unix time of the input's media time 0 as its sentence shows it: when the end of the
    sentence's audio was sent, less that end's media time. At 1x this is when the input's audio
    started to be sent; faster, it comes out earlier than that; a live input that stalled, later."""

    @property
    def heard_at_s(self) -> float:
        """Unix time the caption's speech is heard on its timeline (at 1x: when it was sent)."""
        return self.media_origin_s + self.begin_ms / 1000


@dataclass(frozen=True)
class CaptionChoice:
    """Which text of each cue the live outputs carry."""

    language: str
    """A target language, the source language, or `both`."""
    first_target: str
    targets: tuple[str, ...]

    @classmethod
    def of(cls, language: str | None, targets: tuple[str, ...]) -> CaptionChoice:
        chosen = (language or targets[0]).strip().lower()
        return cls(chosen, targets[0], targets)

    def feeds_on(self, event: CueWritten) -> bool:
        """The one target whose events the captions come from."""
        wanted = self.language if self.language in self.targets else self.first_target
        return event.target == wanted

    def captions(self, event: CueWritten, now_s: float | None = None) -> list[Caption]:
        """The captions of one written sentence (none when it is another target's)."""
        if not self.feeds_on(event):
            return []
        now_s = time.time() if now_s is None else now_s
        # When the sentence's end was sent: its latency is from then to the cue on disk. Media
        # time, not the time between sends, is what lies between it and the cue's begin (at 10x
        # a 10 s sentence is sent in 1 s).
        ended_s = now_s - (event.latency_ms or 0.0) / 1000
        origin_s = ended_s - event.end_ms / 1000
        source = str(event.path)
        captions = []
        for cue in event.cues:
            lines = self._lines(cue)
            if lines:
                captions.append(
                    Caption(
                        lines=lines, source=source, begin_ms=cue.begin_ms, media_origin_s=origin_s
                    )
                )
        if not event.cues and event.revised is not None:  # merged into the previous cue
            lines = self._sentence_lines(event)
            if lines:
                captions.append(
                    Caption(
                        lines=lines,
                        source=source,
                        begin_ms=event.begin_ms,
                        media_origin_s=origin_s,
                    )
                )
        return captions

    def _lines(self, cue: Cue) -> tuple[str, ...]:
        texts = cue.texts
        if self.language == BOTH:
            return tuple(line for text in texts for line in text.lines)
        chosen = texts[-1] if self.language in self.targets else texts[0]
        return chosen.lines

    def _sentence_lines(self, event: CueWritten) -> tuple[str, ...]:
        transcript, translation = event.transcript.strip(), event.translation.strip()
        if self.language == BOTH:
            return tuple(text for text in (transcript, translation) if text)
        text = translation if self.language in self.targets else transcript
        return (text,) if text else ()


def for_cea608(lines: tuple[str, ...]) -> list[str]:
    """A caption as CEA-608 shows it: at most 32 columns, two rows per caption; a longer one is
    several captions in turn."""
    words = join_lines(lines)
    wrapped = textwrap.wrap(words, CEA608_COLUMNS, break_long_words=True) or []
    return [
        "\n".join(wrapped[start : start + CEA608_ROWS])
        for start in range(0, len(wrapped), CEA608_ROWS)
    ]


def cea608_problem(
    language: str, source_language: str | None, first_target: str | None = None
) -> str | None:
    """Why captions in this language cannot go through CEA-608 (Latin script only), or None.
    `both` carries the source line and the first target's."""
    shown = [language] if language != BOTH else [source_language or "auto", first_target or ""]
    for code in shown:
        if code in ("auto", SOURCE):
            return (
                f"--caption-language {language} with -s auto: CEA-608 carries Latin script "
                "only; give the source language (-s) or one caption language"
            )
        if code and primary_subtag(code) not in LATIN_SCRIPT:
            return f"{code}: CEA-608 (OBS stream captions) carries Latin script only"
        refusal = cea608_refusal(code) if code else None
        if refusal is not None:
            return f"{code}: CEA-608 (OBS stream captions) cannot carry it: {refusal}"
    return None
