"""WebVTT through webvtt-py: a NOTE naming the source and languages, each language's lines in a
`<lang xx>` span (when the language is known), so a player or a style sheet can tell them apart;
written by `VttTrack`, read back by `read_vtt` (each line's language from its span).

WebVTT carries direction only in the text: a line of a right-to-left language is isolated (RLI
before its span, PDI after it: `scripts.isolated`), so it reads right to left, its closing
punctuation at its left end, even below a left-to-right line in a bilingual cue; the span holds
exactly the line. The reader drops the marks."""

from __future__ import annotations

import re
from pathlib import Path

import webvtt

from subtitler.layout.cues import Cue, clean_line, escape_vtt, vtt_timestamp
from subtitler.layout.scripts import isolated, normal_tag
from subtitler.tracks.base import Track, after
from subtitler.tracks.reading import ParsedCue, Unreadable, numbered, plain_text, timing_lines

_EMPTY: str = webvtt.WebVTT(captions=[]).content
_LANG_SPAN = re.compile(r"<lang ([A-Za-z][\w-]*)>(.*?)</lang>", re.DOTALL)


class VttTrack(Track):
    """Rendered by `WebVTT.content` (a public API; no editing of its output): the head is the
    document without captions, a cue's fragment what one caption adds to it."""

    suffix = ".vtt"

    def __init__(self, stem: Path, languages: tuple[int, ...], notes: tuple[str, ...]) -> None:
        super().__init__(stem, languages)
        self._notes = [clean_line(note) for note in notes if note]

    def _frame(self) -> tuple[str, str]:
        head: str = webvtt.WebVTT(captions=[], header_comments=self._notes).content
        return head, ""

    def _item(self, cue: Cue, number: int) -> webvtt.Caption | None:
        shown = cue.only(self.languages)
        if shown is None:
            return None
        lines = []
        for text in shown.texts:
            for line in (clean_line(line) for line in text.lines):
                if not line:
                    continue
                escaped = escape_vtt(line)
                spanned = f"<lang {text.language}>{escaped}</lang>" if text.language else escaped
                lines.append(isolated(spanned, text.language))
        if not lines:
            return None
        return webvtt.Caption(
            start=vtt_timestamp(cue.begin_ms), end=vtt_timestamp(cue.end_ms), text="\n".join(lines)
        )

    def _render(self, items: list[webvtt.Caption]) -> str:
        return after(webvtt.WebVTT(captions=items).content, _EMPTY)


def read_vtt(text: str) -> list[ParsedCue]:
    """The cues of a WebVTT file's text, each with its timing line and each line's language
    from its `<lang>` span. Unreadable without the WEBVTT header."""
    try:
        captions = webvtt.from_string(text)
    except webvtt.errors.MalformedFileError as error:
        raise Unreadable("not a WebVTT file: it does not start with WEBVTT") from error
    cues = [
        ParsedCue(
            c.start_time.in_milliseconds(), c.end_time.in_milliseconds(), _vtt_lines(c.raw_text)
        )
        for c in captions.captions
    ]
    return numbered(cues, timing_lines(text))


def _vtt_lines(raw: str) -> tuple[tuple[str | None, str], ...]:
    lines: list[tuple[str | None, str]] = []
    for raw_line in raw.splitlines():
        span = _LANG_SPAN.search(raw_line)
        language = normal_tag(span.group(1)) if span else None
        text = plain_text(raw_line)
        if text:
            lines.append((language, text))
    return tuple(lines)
