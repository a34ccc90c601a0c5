"""SCC (Scenarist Closed Captions: CEA-608 line-21 data), the caption file of US broadcast and
many streaming platforms: pop-on captions, 32 columns, at most 4 rows, 29.97 fps drop-frame
timecode, Latin-script text only. Characters, preamble address codes and control codes come
from ttconv's CEA-608 tables (`ttconv.scc.codes`), the ones its SCC writer and reader use.

Each caption is sent as a caption encoder sends it: its loading (RCL, ENM, a PAC per row and the
text, into the non-displayed memory), EOC at its in-time (the memories swap: it appears) and
EDM at its out-time (the screen is erased), every control code twice. Line 21 carries one
two-byte word per frame, so the loading takes frames: it is placed to end before the in-time,
after the previous caption's EOC and around its EDM. A caption whose loading cannot fit appears
when loaded, a few frames late, and is never dropped (ttconv's writer drops it). EOC and EDM
are packets of their own, so readers that time a whole packet at once (ffmpeg's) time the
caption to the frame too.

Written like the other tracks: a caption's fragment holds the previous caption's EDM and its
own loading and EOC, and the foot is its own EDM; the schedule after each cue is kept for the
last two, so a revision re-renders the last fragment only.
"""

from __future__ import annotations

import textwrap
import unicodedata
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from ttconv.scc.codes import SccChannel
from ttconv.scc.codes.characters import TO_SCC_BYTES
from ttconv.scc.codes.control_codes import SccControlCode
from ttconv.scc.codes.extended_characters import SccExtendedCharacter
from ttconv.scc.codes.preambles_address_codes import SccPreambleAddressCode
from ttconv.scc.codes.special_characters import SccSpecialCharacter

from subtitler.layout.cues import Cue
from subtitler.layout.frames import FrameRate
from subtitler.layout.rules import CAPTION_COLUMNS, CAPTION_ROWS
from subtitler.layout.scripts import CEA608_LANGUAGES, CEA608_SUBSTITUTES, primary_subtag
from subtitler.tracks.base import Track, cue_lines
from subtitler.tracks.reading import ParsedCue, Unreadable

BOTTOM_ROW = 14
"""The last row a caption uses, as ttconv's writer places pop-on captions."""
SCC_RATE = FrameRate(Fraction(30000, 1001), drop_frame=True)
HEADER = "Scenarist_SCC V1.0\n\n"

_SPECIAL = {code.get_unicode_value(): code.get_ch1_value() for code in SccSpecialCharacter}
_EXTENDED = {code.get_unicode_value(): code.get_ch1_value() for code in SccExtendedCharacter}
_PLAIN = {
    "\u2019": "'",
    "\u2026": "...",
    "\u2013": "-",
    "\u2014": "-",
    "\u00a0": " ",
    **CEA608_SUBSTITUTES,
}
"""Typography and letters 608 lacks, written the way caption editors do (æ as ae...)."""

Atom = tuple[int, ...]
"""Words (one per frame) sent together: a control code and its repeat, or an extended
character with the standard one it replaces, are never split."""


def carries(languages: tuple[str, ...]) -> bool:
    """Whether a track in these languages can be SCC: 608 has Latin letters only, and of
    those only some (`scripts.CEA608_LANGUAGES`; `scripts.cea608_refusal` says why not)."""
    return all(primary_subtag(language) in CEA608_LANGUAGES for language in languages)


def scc_frame(ms: int) -> int:
    """The nearest 29.97 fps frame."""
    return SCC_RATE.frame_at(ms)


@dataclass(frozen=True)
class Schedule:
    """What line 21 is committed to after a caption: the first free frame (after its EOC),
    and the frame of its EDM, not yet sent (None: nothing shown)."""

    free_frame: int
    erase_frame: int | None = None


@dataclass(frozen=True)
class Packet:
    frame: int
    words: tuple[int, ...]


def place(schedule: Schedule, begin_frame: int, end_frame: int, loading: list[Atom]) -> tuple[
    list[Packet], Schedule]:  # fmt: skip
    """One caption's packets (the previous EDM, its loading, its EOC) and the schedule after
    it. Pure: tested apart from any file."""
    erase = schedule.erase_frame
    if erase is not None and begin_frame < erase + 2:
        erase = None  # it appears before the erase would end: EOC replaces the previous one
    blocked = (erase, erase + 2) if erase is not None else None
    placed: list[tuple[int, Atom]] = []
    limit = begin_frame
    for atom in reversed(loading):  # as late as possible, ending where it appears
        start = limit - len(atom)
        if blocked and start < blocked[1] and limit > blocked[0]:
            start = blocked[0] - len(atom)
        placed.append((start, atom))
        limit = start
    placed.reverse()
    if placed and placed[0][0] < schedule.free_frame:  # no room: sent from the first free frame
        placed = []
        frame = schedule.free_frame
        for atom in loading:
            if blocked and frame < blocked[1] and frame + len(atom) > blocked[0]:
                frame = blocked[1]
            placed.append((frame, atom))
            frame += len(atom)
        begin_frame = max(begin_frame, frame)
    packets: list[Packet] = []
    for start, atom in placed:  # contiguous atoms make one packet
        last = packets[-1] if packets else None
        if last is not None and last.frame + len(last.words) == start:
            packets[-1] = Packet(last.frame, last.words + atom)
        else:
            packets.append(Packet(start, atom))
    if erase is not None:
        packets.append(Packet(erase, _twice(SccControlCode.EDM)))
    packets.append(Packet(begin_frame, _twice(SccControlCode.EOC)))
    packets.sort(key=lambda packet: packet.frame)
    after = Schedule(begin_frame + 2, max(end_frame, begin_frame + 2))
    return packets, after


def rows_of(lines: list[str]) -> list[str]:
    """At most 4 rows of at most 32 columns (the cue rules keep cues within them when SCC is
    chosen; this keeps a file valid whatever the rules). Typography 608 lacks is replaced
    first, so what is counted is what is sent."""
    lines = ["".join(_PLAIN.get(c, c) for c in line) for line in lines]
    rows = [row for line in lines for row in textwrap.wrap(line, CAPTION_COLUMNS) or [""]]
    if len(rows) <= CAPTION_ROWS:
        return rows
    rows = textwrap.wrap(" ".join(lines), CAPTION_COLUMNS)
    if len(rows) > CAPTION_ROWS:
        rows = rows[:CAPTION_ROWS]
        rows[-1] = rows[-1][: CAPTION_COLUMNS - 3].rstrip() + "..."
    return rows


def loading(rows: list[str]) -> list[Atom]:
    """RCL, ENM, then per row its PAC (centred: an indent in fours, then spaces) and text."""
    atoms: list[Atom] = [_twice(SccControlCode.RCL), _twice(SccControlCode.ENM)]
    for row, text in enumerate(rows, BOTTOM_ROW + 1 - len(rows)):
        indent = (CAPTION_COLUMNS - len(text)) // 2
        pac = SccPreambleAddressCode(SccChannel.CHANNEL_1, row, indent=4 * (indent // 4))
        atoms.append((pac.get_ch1_packet(),) * 2)
        atoms += _characters(" " * (indent % 4) + text)
    return atoms


def _characters(text: str) -> list[Atom]:
    """Standard characters two to a word; special and extended ones as their codes, twice."""
    atoms: list[Atom] = []
    waiting: int | None = None  # a standard character's byte waiting for its pair

    def flush() -> None:
        nonlocal waiting
        if waiting is not None:
            atoms.append((waiting << 8,))
            waiting = None

    def standard(byte: int) -> None:
        nonlocal waiting
        if waiting is None:
            waiting = byte
        else:
            atoms.append(((waiting << 8) | byte,))
            waiting = None

    for character in text:
        if character in TO_SCC_BYTES:
            standard(TO_SCC_BYTES[character])
        elif character in _SPECIAL:
            flush()
            atoms.append((_SPECIAL[character],) * 2)
        elif character in _EXTENDED:
            # a decoder without the extended set shows the standard one; others replace it
            standard(TO_SCC_BYTES.get(_base_letter(character), TO_SCC_BYTES[" "]))
            flush()
            shown = atoms.pop()
            atoms.append(shown + (_EXTENDED[character],) * 2)
        else:
            standard(TO_SCC_BYTES.get(_base_letter(character), TO_SCC_BYTES["?"]))
    flush()
    return atoms


def _base_letter(character: str) -> str:
    """`Å` -> `A`: the letter without its marks, for characters 608 cannot show."""
    return unicodedata.normalize("NFKD", character)[:1]


def _twice(code: SccControlCode) -> Atom:
    value: int = code.get_ch1_value()
    return (value, value)


def _odd_parity(byte: int) -> int:
    return byte | 0x80 if bin(byte).count("1") % 2 == 0 else byte


def packet_line(packet: Packet) -> str:
    words = " ".join(
        f"{_odd_parity(word >> 8):02x}{_odd_parity(word & 0xFF):02x}" for word in packet.words
    )
    return f"{SCC_RATE.timecode(packet.frame)}\t{words}\n"


class SccTrack(Track):
    suffix = ".scc"

    def __init__(self, stem: Path, languages: tuple[int, ...]) -> None:
        super().__init__(stem, languages)
        self._after: dict[int, Schedule] = {}
        """The schedule after each of the last two cues of the stream (by position)."""

    def _frame(self) -> tuple[str, str]:
        self._after = {}
        return HEADER, ""

    def _item(self, cue: Cue, number: int) -> str | None:
        position = self._stream_cues
        offset = scc_frame(self.offset_ms)  # whole frames: a timecode start shifts every time alike
        before = self._after.get(position - 1, Schedule(offset))
        shown = cue.only(self.languages)
        fragment = None
        after = before
        if shown is not None:
            rows = rows_of(cue_lines(shown))
            packets, after = place(
                before,
                scc_frame(shown.begin_ms) + offset,
                scc_frame(shown.end_ms) + offset,
                loading(rows),
            )
            fragment = "\n".join(packet_line(packet) for packet in packets) + "\n"
        self._after[position] = after
        self._after.pop(position - 2, None)
        erase = after.erase_frame
        self._foot = b"" if erase is None else packet_line(
            Packet(erase, _twice(SccControlCode.EDM))).encode("utf-8")  # fmt: skip
        return fragment

    def _render(self, items: list[str]) -> str:
        return "".join(items)


def read_scc(text: str) -> list[ParsedCue]:
    """An SCC file's captions as a CEA-608 decoder shows them, screen by screen (ttconv's SCC
    reader): each screen with text is a cue until the next change, a row a line."""
    from ttconv import model
    from ttconv.isd import ISD
    from ttconv.scc.reader import to_model

    def rows(element: model.ContentElement, into: list[str]) -> None:
        if isinstance(element, model.Br) or (isinstance(element, model.P) and into[-1]):
            into.append("")
        if isinstance(element, model.Text):
            into[-1] += element.get_text()
        for child in element:
            rows(child, into)

    if not text.lstrip().startswith("Scenarist_SCC V1.0"):
        raise Unreadable("not an SCC file: its first line is not Scenarist_SCC V1.0")
    try:
        document = to_model(text)
    except ValueError as error:  # ttconv's message is a tuple: the text it could not read last
        bad = str(error.args[-1]) if error.args else ""
        number = next((n for n, line in enumerate(text.splitlines(), start=1)
                       if bad and bad in line.split()), 0)  # fmt: skip
        where = f"line {number}: " if number else ""
        raise Unreadable(f"not a valid SCC file: {where}{bad!r} is not a caption code (four "
                         "hexadecimal digits)") from error  # fmt: skip
    cues: list[ParsedCue] = []
    open_cue: tuple[int, tuple[tuple[str | None, str], ...]] | None = None
    for begin, isd in ISD.generate_isd_sequence(document):
        begin_ms = round(begin * 1000)
        if open_cue is not None:
            cues.append(ParsedCue(open_cue[0], begin_ms, open_cue[1]))
            open_cue = None
        shown = [""]
        for region in isd.iter_regions():
            rows(region, shown)
        lines = tuple((None, " ".join(row.split())) for row in shown if row.strip())
        if lines:
            open_cue = (begin_ms, lines)
    return cues
