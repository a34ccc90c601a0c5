"""SubRip through pysrt: numbered cues, `HH:MM:SS,mmm`, plain text for every common player;
written by `SrtTrack`, read back by `read_srt`."""

from __future__ import annotations

import io

import pysrt

from subtitler.layout.cues import Cue
from subtitler.tracks.base import Track, cue_lines
from subtitler.tracks.reading import ParsedCue, Unreadable, numbered, plain_text, timing_lines


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


def read_srt(text: str) -> list[ParsedCue]:
    """The cues of an SRT file's text, each with its timing line. Unreadable naming the line
    that is not a cue."""
    try:
        items = pysrt.from_string(text, error_handling=pysrt.ERROR_RAISE)
    except pysrt.Error as error:  # its message is a tuple: say where instead
        place = _error_place(text, error)
        raise Unreadable(f"not a valid subtitle file ({place} is not an SRT cue)") from error
    cues = [
        ParsedCue(
            item.start.ordinal,
            item.end.ordinal,
            tuple((None, plain_text(line)) for line in item.text.splitlines() if line.strip()),
        )
        for item in items
    ]
    return numbered(cues, timing_lines(text))


def _error_place(text: str, error: pysrt.Error) -> str:
    found = next((arg for arg in error.args if isinstance(arg, str) and arg.strip()), "")
    offset = text.find(found.strip()[:80]) if found else -1
    return f"line {text.count(chr(10), 0, offset) + 1}" if offset >= 0 else "the text"
