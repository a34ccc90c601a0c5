"""Advanced SubStation Alpha through pysubs2: one event per cue, a style per language.

The source language's lines use its style (white, larger); the translation's follow `\\N` after
an `{\\r<style>}` reset to its own style (warm yellow, a little smaller), so each language can be
restyled in Aegisub by editing one style. Styles are named by language code (`zh`, `en`; `und`
for a detected source). `PlayResX/PlayResY` are the video's size when known (else 1920x1080),
and sizes and margins scale with it. Rendered by libass (mpv, VLC, Aegisub, ffmpeg's burn-in).

Text is escaped for ASS: `{`, `}` and `\\` would start override tags or escapes, so they are
written as their full-width forms `｛`, `｝` and `＼`. ASS has no direction of its own (libass,
like VSFilter, lays every line out left to right): each line of a right-to-left language is
isolated (RLI ... PDI, `scripts.isolated`), so it reads right to left with its punctuation at
its left end. Styles are named by the language tag as given (`zh-TW`); the reader drops the
marks.
"""

from __future__ import annotations

import re

import pysubs2

from subtitler.layout.cues import Cue, clean_line
from subtitler.layout.scripts import isolated, primary_subtag, strip_bidi
from subtitler.tracks.base import SOURCE, NamedTrack, Picture, after
from subtitler.tracks.reading import ParsedCue, Unreadable, language_code

DEFAULT_PICTURE = Picture(1920, 1080)
_ASS_PARTS = re.compile(r"(\{[^}]*\}|)([^{]*)")
_ASS_RESET = re.compile(r"\\r([^\\}]*)")
_ESCAPES = str.maketrans({"{": "｛", "}": "｝", "\\": "＼"})
_CJK_FONTS = {
    "zh": "Noto Sans CJK SC",
    "zh-TW": "Noto Sans CJK TC",
    "yue": "Noto Sans CJK TC",
    "ja": "Noto Sans CJK JP",
    "ko": "Noto Sans CJK KR",
}


def ass_text(line: str) -> str:
    """One line as ASS event text that shows exactly the line (no tags, no escapes)."""
    return clean_line(line).translate(_ESCAPES)


class AssTrack(NamedTrack):
    suffix = ".ass"

    def _style(self, position: int, picture: Picture) -> pysubs2.SSAStyle:
        height = picture.height
        source = position == SOURCE
        language = self.names[position]
        return pysubs2.SSAStyle(
            fontname=_CJK_FONTS.get(language, _CJK_FONTS.get(primary_subtag(language), "Arial")),
            fontsize=round(height * (0.055 if source else 0.048)),
            primarycolor=pysubs2.Color(255, 255, 255) if source else pysubs2.Color(255, 226, 110),
            outlinecolor=pysubs2.Color(0, 0, 0),
            backcolor=pysubs2.Color(0, 0, 0, 128),
            bold=False,
            outline=max(1, round(height * 0.0028)),
            shadow=max(1, round(height * 0.0015)),
            alignment=pysubs2.Alignment.BOTTOM_CENTER,
            marginl=round(picture.width * 0.05),
            marginr=round(picture.width * 0.05),
            marginv=round(height * 0.045),
        )

    def _document(self) -> pysubs2.SSAFile:
        picture = self.picture or DEFAULT_PICTURE
        document = pysubs2.SSAFile()
        document.info.update(
            {
                "Title": clean_line(self.title),
                "PlayResX": str(picture.width),
                "PlayResY": str(picture.height),
                "ScaledBorderAndShadow": "yes",
                "WrapStyle": "0",
            }
        )
        document.styles.clear()
        for position in self.languages:
            document.styles[self.names[position]] = self._style(position, picture)
        return document

    def _frame(self) -> tuple[str, str]:
        self._template = self._document()
        self._empty: str = self._template.to_string("ass")
        return self._empty, ""

    def _render(self, items: list[pysubs2.SSAEvent]) -> str:
        """What the events add to the document (`SSAFile.to_string`, a public API)."""
        self._template.events = items
        return after(self._template.to_string("ass"), self._empty)

    def _item(self, cue: Cue, number: int) -> pysubs2.SSAEvent | None:
        parts: list[tuple[str, list[str]]] = []
        for position in self.languages:
            if position >= len(cue.texts):
                continue
            language = self.names[position]
            lines = [isolated(ass_text(line), language) for line in cue.texts[position].lines]
            lines = [line for line in lines if line]
            if lines:
                parts.append((self.names[position], lines))
        if not parts:
            return None
        text = "\\N".join(parts[0][1])
        for style, lines in parts[1:]:
            text += "\\N{\\r" + style + "}" + "\\N".join(lines)
        return pysubs2.SSAEvent(start=cue.begin_ms, end=cue.end_ms, style=parts[0][0], text=text)


def read_ass(text: str) -> list[ParsedCue]:
    """An ASS/SSA file's Dialogue events in time order, each with its line; a line's language
    is its style's name when that is a language code (as subtitler names them), `{\\rStyle}`
    switching it mid-event."""
    if not re.search(r"^\s*\[events\]", text, re.IGNORECASE | re.MULTILINE):
        raise Unreadable("not an ASS/SSA file: it has no [Events] section")
    try:
        document = pysubs2.SSAFile.from_string(text, format_="ass")
    except (ValueError, pysubs2.Pysubs2Error) as error:
        raise Unreadable(f"not a valid ASS/SSA file: {error}") from error
    event_lines = [
        number
        for number, line in enumerate(text.splitlines(), start=1)
        if line.startswith(("Dialogue:", "Comment:"))
    ]
    if len(event_lines) != len(document.events):
        event_lines = [0] * len(document.events)
    cues = []
    events = sorted(
        zip(document.events, event_lines, strict=True), key=lambda e: (e[0].start, e[0].end)
    )
    for event, file_line in events:
        if event.is_comment:
            continue
        lines: list[tuple[str | None, str]] = []
        style = event.style
        for raw_line in re.split(r"\\[Nn]", event.text):
            line_style = style
            shown = ""
            for tag_block, plain in _ASS_PARTS.findall(raw_line):
                reset = _ASS_RESET.findall(tag_block)
                if reset:
                    style = reset[-1] or event.style
                    if not shown.strip():
                        line_style = style
                shown += plain
            shown = strip_bidi(shown.replace("\\h", " ")).strip()
            if shown:
                lines.append((language_code(line_style), shown))
        cues.append(ParsedCue(event.start, event.end, tuple(lines), file_line))
    return cues
