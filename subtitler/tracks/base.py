"""A track that is a valid file at every moment, at a cost per cue that does not grow.

Each cue is rendered once into its format's text (a fragment, through the format's library) and
never again: the file is the format's head, the fragments in order, and its foot. An update
(`LayoutUpdate`: the last cue replaced, cues added) patches the file from the last cue's offset
(`subtitler.tracks.durable.Patch`), so its cost is what changed, however long the track. `open` and
`restore` write the whole file atomically, `finish` seals it (fsync). The methods return the file
operations; the engine performs them off the event loop, in order (`durable.DiskWriter`).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from subtitler.layout.cues import Cue, LayoutUpdate, clean_line
from subtitler.tracks.durable import Patch, Replace, Seal

UNDETERMINED = "und"
SOURCE, TARGET = 0, 1  # positions of the two languages in every cue


@dataclass(frozen=True)
class Picture:
    """What a format that places text on the picture needs to know of the video."""

    width: int
    height: int
    frame_rate: Fraction | None = None
    timecode: str | None = None
    """The video's own start timecode (`--timecode-start auto`)."""


class Track:
    """Shared machinery: head, fragments and foot; offsets kept, texts not."""

    suffix = ""

    def __init__(self, stem: Path, languages: tuple[int, ...]) -> None:
        self.path = stem.with_name(stem.name + self.suffix)
        self.languages = languages
        self.picture: Picture | None = None
        self.offset_ms = 0
        self.cue_count = 0
        """Cues shown in this track (a cue with no text in its languages is not)."""
        self._stream_cues = 0
        self._last_bytes = 0
        """Size of the fragment of the stream's last cue (0: it is not shown here)."""
        self._head = b""
        self._foot = b""
        self._body_end = 0
        """Where the foot starts."""
        self._file_bytes = 0
        """The file's size: the foot's end, and padding after it (see `durable`)."""

    def describe(self, picture: Picture | None, offset_ms: int = 0) -> None:
        """The video's size and frame rate, when known, before the first write; `offset_ms`:
        the master's start timecode, for the formats that carry it (TTML, EBU-TT-D)."""
        self.picture = picture
        self.offset_ms = offset_ms

    def open(self) -> Replace:
        """An empty (valid) track."""
        return self.restore([])

    def restore(self, cues: list[Cue]) -> Replace:
        """The whole track, from cues written by an earlier run (its resume state)."""
        head, foot = self._frame()
        self._head, self._foot = head.encode("utf-8"), foot.encode("utf-8")
        self.cue_count = self._stream_cues = self._last_bytes = 0
        items, last_shown = self._numbered(cues)
        body = self._render(items).encode("utf-8") if items else b""
        # the last cue's own size: a revision replaces it
        self._last_bytes = len(self._render(items[-1:]).encode("utf-8")) if last_shown else 0
        self._body_end = len(self._head) + len(body)
        self._file_bytes = self._body_end + len(self._foot)
        return Replace(self.path, self._head + body + self._foot)

    def apply(self, update: LayoutUpdate) -> Patch | None:
        """The patch that replaces the last cue (if asked) and appends the added ones."""
        start = self._body_end
        cues = list(update.added)
        if update.replaced is not None and self._stream_cues:
            start -= self._last_bytes
            self.cue_count -= 1 if self._last_bytes else 0
            self._stream_cues -= 1
            cues.insert(0, update.replaced)
        if not cues:
            return None
        body = self._render_after(cues)
        data = body + self._foot
        self._body_end = start + len(body)
        end = start + len(data)
        if end < self._file_bytes:
            data += b"\n" * (self._file_bytes - end)  # never a torn end: see `durable`
        self._file_bytes = max(self._file_bytes, end)
        return Patch(self.path, start, data)

    def finish(self) -> Seal:
        """Padding dropped, file and folder synced."""
        return Seal(self.path, self._body_end + len(self._foot))

    def _render_after(self, cues: list[Cue]) -> bytes:
        """Fragments of `cues`, numbered after the shown cues so far; updates the counters."""
        items, last_shown = self._numbered(cues)
        pieces = [self._render([item]).encode("utf-8") for item in items]
        self._last_bytes = len(pieces[-1]) if last_shown else 0
        return b"".join(pieces)

    def _numbered(self, cues: list[Cue]) -> tuple[list[Any], bool]:
        """The format's objects for the shown cues, numbered after those so far, and whether
        the last cue is one of them (a cue with no text here is not)."""
        items = []
        item = None
        for cue in cues:
            self._stream_cues += 1
            item = self._item(cue, self.cue_count + 1)
            if item is not None:
                items.append(item)
                self.cue_count += 1
        return items, item is not None

    def _frame(self) -> tuple[str, str]:
        """The format's text before the first cue and after the last. A format whose end
        depends on its last cue (SCC's erase code) sets `_foot` again as `_item` renders one:
        `restore` and `apply` read it after rendering."""
        return "", ""

    def _item(self, cue: Cue, number: int) -> Any:
        """One cue of the stream as the format's object, the `number`th of this track (None: no
        text in this track's languages)."""
        raise NotImplementedError

    def _render(self, items: list[Any]) -> str:
        """What these objects add between head and foot, in one call of the format's library:
        rendering them one by one and joining gives the same text (tested)."""
        raise NotImplementedError


class NamedTrack(Track):
    """A format that names each language and the source (ASS styles, TTML `xml:lang`)."""

    def __init__(
        self, stem: Path, languages: tuple[int, ...], names: tuple[str, str], title: str
    ) -> None:
        super().__init__(stem, languages)
        self.names = names
        """Language codes of the source and the target (`und`: not identified)."""
        self.title = title
        """The source file's name."""


def cue_lines(cue: Cue) -> list[str]:
    """Cleaned again here, so no caller can break the file's structure."""
    return [line for line in (clean_line(text) for text in cue.lines) if line]


def after(document: str, head: str) -> str:
    """What a one-cue document adds to the empty one (the cue's fragment)."""
    if not document.startswith(head):
        raise ValueError("a one-cue document does not start with the empty one")
    return document[len(head) :]
