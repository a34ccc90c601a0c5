"""WebVTT through webvtt-py: a NOTE naming the source and languages, each language's lines in a
`<lang xx>` span (when the language is known), so a player or a style sheet can tell them apart."""

from __future__ import annotations

from pathlib import Path

import webvtt

from subtitler.layout.cues import Cue, clean_line, escape_vtt, vtt_timestamp
from subtitler.tracks.base import Track, after

_EMPTY: str = webvtt.WebVTT(captions=[]).content


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
                lines.append(
                    f"<lang {text.language}>{escaped}</lang>" if text.language else escaped
                )
        if not lines:
            return None
        return webvtt.Caption(
            start=vtt_timestamp(cue.begin_ms), end=vtt_timestamp(cue.end_ms), text="\n".join(lines)
        )

    def _render(self, items: list[webvtt.Caption]) -> str:
        return after(webvtt.WebVTT(captions=items).content, _EMPTY)
