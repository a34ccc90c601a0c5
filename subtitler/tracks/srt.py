"""SubRip through pysrt: numbered cues, `HH:MM:SS,mmm`, plain text for every common player."""

from __future__ import annotations

import io

import pysrt

from subtitler.cues import Cue
from subtitler.tracks.base import Track, cue_lines


class SrtTrack(Track):
    """Rendered by `SubRipFile.write_into` (a public API; no editing of its output)."""

    suffix = ".srt"

    def render(self) -> str:
        track = pysrt.SubRipFile(self._shown(), eol="\n")
        track.clean_indexes()
        buffer = io.StringIO()
        track.write_into(buffer)
        return buffer.getvalue()

    def _make(self, cue: Cue) -> pysrt.SubRipItem:
        return pysrt.SubRipItem(
            index=0,
            start=pysrt.SubRipTime.from_ordinal(cue.begin_ms),
            end=pysrt.SubRipTime.from_ordinal(cue.end_ms),
            text="\n".join(cue_lines(cue)),
        )
