"""Subtitle files read back, whoever wrote them: what every format's reader shares, and the
one entry that picks the reader by the file's extension.

Each format's reader sits beside its writer (`srt.read_srt`, `vtt.read_vtt`, `ass.read_ass`,
`ttml.read_ttml` for TTML and EBU-TT-D, `scc.read_scc`), as pysubs2's `formats/` and ttconv's
`srt/reader.py` + `writer.py` are laid out; a format's module (and its library) is imported
when a file of it is read. Text is decoded once, here, as players decode it.
"""

from __future__ import annotations

import codecs
import dataclasses
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from subtitler.layout.frames import FrameRate
from subtitler.layout.scripts import normal_tag, strip_bidi

TTML_SUFFIXES = (".ttml", ".dfxp", ".xml")
_LANGUAGE_CODE = re.compile(r"[a-z]{2,3}(-[a-z0-9]{2,8})*")
_TAG = re.compile(r"</?[^>]+>")
_ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&nbsp;": " ", "&lrm;": "", "&rlm;": ""}


@dataclass(frozen=True)
class ParsedCue:
    begin_ms: int
    end_ms: int
    lines: tuple[tuple[str | None, str], ...]  # (language or None, line text)
    file_line: int = 0
    """Where the cue is in the file (1-based), when the format's reader can tell."""


@dataclass(frozen=True)
class Reading:
    """What a subtitle file holds, as read."""

    cues: list[ParsedCue]
    encoding: str | None
    """The text encoding it was read in; None for XML (a document declares its own)."""
    frame_rate: FrameRate | None = None
    """The rate the file declares (TTML `ttp:frameRate`; SCC: 29.97 by definition)."""
    document: ET.Element | None = None
    """TTML and EBU-TT-D: the parsed document, for the rules on the whole of it."""


class Unreadable(ValueError):
    """A file that cannot be read as subtitles, the cause in a subtitler's words."""


def read_subtitles(path: Path) -> Reading:
    """An SRT, VTT, ASS/SSA, TTML/EBU-TT-D or SCC file (by extension; anything else is tried
    as SRT). Unreadable (saying why in words) or OSError."""
    suffix = path.suffix.lower()
    data = path.read_bytes()
    if suffix in TTML_SUFFIXES:
        from subtitler.tracks.ttml import read_ttml

        return read_ttml(data)
    text, encoding = decode_text(data)
    if suffix == ".vtt":
        from subtitler.tracks.vtt import read_vtt

        return Reading(read_vtt(text), encoding)
    if suffix in (".ass", ".ssa"):
        from subtitler.tracks.ass import read_ass

        return Reading(read_ass(text), encoding)
    if suffix == ".scc":
        from subtitler.tracks.scc import SCC_RATE, read_scc

        return Reading(read_scc(text), encoding, SCC_RATE)
    from subtitler.tracks.srt import read_srt

    return Reading(read_srt(text), encoding)


def decode_text(data: bytes) -> tuple[str, str]:
    """A subtitle file's text and the encoding it was read in, as players read one: UTF-8 (a
    byte-order mark or not), UTF-16 with its mark, else Windows-1252 (the Western encoding older
    tools write; Latin-1 where it has no character). Unreadable for binary data."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError as error:
            raise Unreadable("not a subtitle file: broken UTF-16 text") from error
    head = data[:8192]
    controls = sum(1 for byte in head if byte < 32 and byte not in b"\t\n\r\f")
    if b"\0" in head or controls > len(head) // 100:
        raise Unreadable("not a subtitle file: binary data, not text")
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "Latin-1"


def timing_lines(text: str) -> list[int]:
    """The line numbers of the `-->` timing lines (SRT, VTT), in file order."""
    return [number for number, line in enumerate(text.splitlines(), start=1) if "-->" in line]


def numbered(cues: list[ParsedCue], lines: list[int]) -> list[ParsedCue]:
    """Each cue with its timing line, when the count matches (the parsers keep file order)."""
    if len(lines) != len(cues):
        return cues
    return [dataclasses.replace(cue, file_line=line) for cue, line in zip(cues, lines, strict=True)]


def plain_text(text: str) -> str:
    """A line without its markup (tags, the common entities) and without the bidirectional
    controls that set a right-to-left line's direction (they are not text)."""
    text = _TAG.sub("", text)
    for entity, character in _ENTITIES.items():
        text = text.replace(entity, character)
    return strip_bidi(text).strip()


def language_code(name: str) -> str | None:
    """A style's or span's name when it is a language tag (as subtitler names them: `zh`,
    `zh-TW`), in its conventional case."""
    name = name.strip()
    return normal_tag(name) if _LANGUAGE_CODE.fullmatch(name.lower()) else None
