"""WebVTT through webvtt-py: a NOTE naming the source and languages, each language's lines in a
`<lang xx>` span (when the language is known), so a player or a style sheet can tell them apart."""

from __future__ import annotations

from pathlib import Path

import webvtt

from subtitler.cues import Cue, clean_line, vtt_timestamp
from subtitler.tracks.base import Track


class VttTrack(Track):
    """Rendered by `WebVTT.content` (a public API; no editing of its output)."""

    suffix = ".vtt"

    def __init__(self, stem: Path, languages: tuple[int, ...], notes: tuple[str, ...]) -> None:
        super().__init__(stem, languages)
        self._notes = [clean_line(note) for note in notes if note]

    def render(self) -> str:
        content: str = webvtt.WebVTT(captions=self._shown(), header_comments=self._notes).content
        return content

    def _make(self, cue: Cue) -> webvtt.Caption:
        lines = []
        for text in cue.texts:
            for line in (clean_line(line) for line in text.lines):
                if not line:
                    continue
                escaped = line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                lines.append(
                    f"<lang {text.language}>{escaped}</lang>" if text.language else escaped
                )
        return webvtt.Caption(
            start=vtt_timestamp(cue.begin_ms), end=vtt_timestamp(cue.end_ms), text="\n".join(lines)
        )
