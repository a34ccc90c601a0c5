"""SubRip through pysrt: numbered cues, `HH:MM:SS,mmm`, plain text for every common player."""

from __future__ import annotations

import io

import pysrt

from subtitler.layout.cues import Cue
from subtitler.tracks.base import Track, cue_lines


class SrtTrack(Track):
    """Each cue rendered by `SubRipFile.write_into` (a public API; no editing of its output)."""

    suffix = ".srt"

    def _item(self, cue: Cue, number: int) -> pysrt.SubRipItem | None:
        shown = cue.only(self.languages)
        if shown is None:
            return None
        return pysrt.SubRipItem(
            index=number,
            start=pysrt.SubRipTime.from_ordinal(shown.begin_ms),
            end=pysrt.SubRipTime.from_ordinal(shown.end_ms),
            text="\n".join(cue_lines(shown)),
        )

    def _render(self, items: list[pysrt.SubRipItem]) -> str:
        buffer = io.StringIO()
        pysrt.SubRipFile(items, eol="\n").write_into(buffer)
        return buffer.getvalue()
