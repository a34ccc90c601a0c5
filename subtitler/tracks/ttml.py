"""TTML in the IMSC 1.1 Text Profile, what Netflix and many broadcasters take.

One `<p>` per cue, inside one `<div>`, in a bottom region; each language's lines in a `<span>`
with its `xml:lang` and its own style (the translation in warm yellow), lines split by `<br/>`;
a right-to-left language's span also refers to the `rtl` style (`tts:direction="rtl"`,
`tts:unicodeBidi="embed"`: TTML's own way, which IMSC 1.1's Text Profile and EBU-TT-D permit
on a span), so it is laid out right to left below a left-to-right line too.
`ttp:timeBase="media"`; times are clock times with milliseconds on the media timeline;
`ttp:frameRate` (and `ttp:frameRateMultiplier` for 29.97 and the like) give the video's frame
rate when it is known. Written with ElementTree, so text is always escaped. `subtitler check`
verifies these files against the constraints in `subtitler.tracks.imsc`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from fractions import Fraction

from subtitler.layout.cues import Cue, clean_line, vtt_timestamp
from subtitler.layout.frames import FrameRate
from subtitler.layout.scripts import is_rtl, normal_tag
from subtitler.tracks import imsc
from subtitler.tracks.base import SOURCE, NamedTrack
from subtitler.tracks.reading import ParsedCue, Reading, Unreadable

TT = "http://www.w3.org/ns/ttml"
TTP = "http://www.w3.org/ns/ttml#parameter"
TTS = "http://www.w3.org/ns/ttml#styling"
TTM = "http://www.w3.org/ns/ttml#metadata"
XML = "http://www.w3.org/XML/1998/namespace"
IMSC11_TEXT = "http://www.w3.org/ns/ttml/profile/imsc1.1/text"
RTL_STYLE = "rtl"
RTL = {f"{{{TTS}}}direction": "rtl", f"{{{TTS}}}unicodeBidi": "embed"}
"""A right-to-left language's span: an embedding at the right-to-left level (TTML 1
§8.2.10 and §8.2.23)."""
_MARK = "\x00"
"""Where the paragraphs go (a character no text in the document can hold)."""
_BETWEEN = "\n   "
_LAST = "\n  "
for _prefix, _uri in (("", TT), ("ttp", TTP), ("tts", TTS), ("ttm", TTM)):
    ET.register_namespace(_prefix, _uri)


def frame_rate_attributes(rate: Fraction) -> dict[str, str]:
    """`ttp:frameRate` (an integer) and, for NTSC-style rates, `ttp:frameRateMultiplier`."""
    whole = round(rate)
    if whole > 0 and rate != whole and abs(rate - Fraction(whole * 1000, 1001)) < Fraction(1, 100):
        return {f"{{{TTP}}}frameRate": str(whole), f"{{{TTP}}}frameRateMultiplier": "1000 1001"}
    return {f"{{{TTP}}}frameRate": str(max(1, whole))}


class TtmlTrack(NamedTrack):
    suffix = ".ttml"

    def _root_attributes(self) -> dict[str, str]:
        attributes = {
            f"{{{XML}}}lang": self.names[self.languages[0]],
            f"{{{TTP}}}timeBase": "media",
            f"{{{TTP}}}contentProfiles": IMSC11_TEXT,
        }
        if self.picture is not None and self.picture.frame_rate:
            attributes.update(frame_rate_attributes(self.picture.frame_rate))
        return attributes

    def _metadata(self, metadata: ET.Element) -> None:
        ET.SubElement(metadata, f"{{{TTM}}}title").text = clean_line(self.title)

    def _style(self, position: int) -> dict[str, str]:
        source = position == SOURCE
        return {
            f"{{{TTS}}}color": "#FFFFFF" if source else "#FFE26E",
            f"{{{TTS}}}backgroundColor": "#000000A0",
            f"{{{TTS}}}fontFamily": "proportionalSansSerif",
            f"{{{TTS}}}fontSize": "100%" if source else "90%",
        }

    def _region(self) -> dict[str, str]:
        return {
            f"{{{TTS}}}origin": "10% 10%",
            f"{{{TTS}}}extent": "80% 80%",
            f"{{{TTS}}}displayAlign": "after",
            f"{{{TTS}}}textAlign": "center",
        }

    def _document(self, paragraphs: list[ET.Element]) -> str:
        """The whole document with these paragraphs (ElementTree's serialisation), `_MARK`
        where the paragraphs start and end."""
        root = ET.Element(f"{{{TT}}}tt", self._root_attributes())
        head = ET.SubElement(root, f"{{{TT}}}head")
        self._metadata(ET.SubElement(head, f"{{{TT}}}metadata"))
        styling = ET.SubElement(head, f"{{{TT}}}styling")
        for position in self.languages:
            attributes = {f"{{{XML}}}id": _style_id(position), **self._style(position)}
            ET.SubElement(styling, f"{{{TT}}}style", attributes)
        if any(is_rtl(self.names[position]) for position in self.languages):
            ET.SubElement(styling, f"{{{TT}}}style", {f"{{{XML}}}id": RTL_STYLE, **RTL})
        layout = ET.SubElement(head, f"{{{TT}}}layout")
        ET.SubElement(layout, f"{{{TT}}}region", {f"{{{XML}}}id": "bottom", **self._region()})
        body = ET.SubElement(root, f"{{{TT}}}body", {"region": "bottom"})
        division = ET.SubElement(body, f"{{{TT}}}div")
        ET.indent(root, space=" ")  # before the cues: whitespace inside a <p> would be text
        division.text = _MARK
        if paragraphs:
            division.text = _MARK + _BETWEEN
            for paragraph in paragraphs:
                paragraph.tail = _BETWEEN
                division.append(paragraph)
            paragraphs[-1].tail = _MARK + _LAST
        text: str = ET.tostring(root, encoding="unicode", xml_declaration=False)
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + text + "\n"

    def _frame(self) -> tuple[str, str]:
        """Head up to `<div>`, foot from the whitespace before `</div>`: each paragraph is a
        line of its own between them."""
        head, _, foot = self._document([]).partition(_MARK)
        return head, _LAST + foot

    def _item(self, cue: Cue, number: int) -> ET.Element | None:
        paragraph = self._paragraph(cue)
        if paragraph is not None:
            paragraph.set(f"{{{XML}}}id", f"c{number}")
        return paragraph

    def _render(self, items: list[ET.Element]) -> str:
        _, body, _ = self._document(items).split(_MARK)
        return body

    def _paragraph(self, cue: Cue) -> ET.Element | None:
        paragraph = ET.Element(
            f"{{{TT}}}p",
            {
                "begin": vtt_timestamp(cue.begin_ms + self.offset_ms),
                "end": vtt_timestamp(cue.end_ms + self.offset_ms),
            },
        )
        spans = 0
        for position in self.languages:
            if position >= len(cue.texts):
                continue
            lines = [line for line in (clean_line(x) for x in cue.texts[position].lines) if line]
            if not lines:
                continue
            if spans:
                ET.SubElement(paragraph, f"{{{TT}}}br")
            style = _style_id(position)
            if is_rtl(self.names[position]):
                style += " " + RTL_STYLE
            span = ET.SubElement(
                paragraph,
                f"{{{TT}}}span",
                {"style": style, f"{{{XML}}}lang": self.names[position]},
            )
            span.text = lines[0]
            for line in lines[1:]:
                ET.SubElement(span, f"{{{TT}}}br").tail = line
            spans += 1
        return paragraph if spans else None


def _style_id(position: int) -> str:
    return "source" if position == SOURCE else "translation"


def read_ttml(data: bytes) -> Reading:
    """A TTML or EBU-TT-D document's cues, the frame rate it declares (`ttp:frameRate` x
    `ttp:frameRateMultiplier`) and the document itself. Unreadable when it is not XML."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as error:
        raise Unreadable(f"not a TTML file: not XML ({error})") from error
    rate = imsc.document_frame_rate(root)
    return Reading(_ttml_cues(root), None, FrameRate.of(rate) if rate else None, root)


def _ttml_cues(root: ET.Element) -> list[ParsedCue]:
    """`<p>` elements as cues: times with their ancestors' begin added (TTML's parallel time
    containers), lines split at `<br/>`, each line's language its nearest `xml:lang`."""
    frame_rate = imsc.document_frame_rate(root)
    tick_rate = int(root.get(f"{{{imsc.TTP}}}tickRate", "1") or 1)
    cues = []

    def walk(element: ET.Element, offset_ms: int, language: str | None) -> None:
        language = element.get(f"{{{imsc.XML}}}lang", language) or None
        begin = element.get("begin")
        begin_ms = imsc.time_ms(begin, frame_rate, tick_rate) if begin else 0
        if element.tag == f"{{{imsc.TT}}}p":
            end = element.get("end")
            end_ms = imsc.time_ms(end, frame_rate, tick_rate) if end else None
            if begin_ms is None or end_ms is None:
                raise Unreadable(f"not a valid TTML file: a <p> has no valid begin and end "
                                 f"(begin={begin!r}, end={end!r})")  # fmt: skip
            lines = _ttml_lines(element, language)
            cues.append(ParsedCue(offset_ms + begin_ms, offset_ms + end_ms, lines))
            return
        for child in element:
            walk(child, offset_ms + (begin_ms or 0), language)

    walk(root, 0, None)
    return sorted(cues, key=lambda cue: (cue.begin_ms, cue.end_ms))


def _ttml_lines(paragraph: ET.Element, language: str | None) -> tuple[tuple[str | None, str], ...]:
    lines: list[tuple[str | None, str]] = []
    current: list[tuple[str | None, str]] = []

    def close() -> None:
        text = " ".join("".join(part for _, part in current).split())
        if text:
            first = next((lang for lang, part in current if part.strip()), None)
            lines.append((normal_tag(first) if first else None, text))
        current.clear()

    def visit(element: ET.Element, inherited: str | None) -> None:
        own = element.get(f"{{{imsc.XML}}}lang", inherited) or None
        if element.tag == f"{{{imsc.TT}}}br":
            close()
        elif element.text:
            current.append((own, element.text))
        for child in element:
            visit(child, own)
            if child.tail:
                current.append((own, child.tail))

    visit(paragraph, language)
    close()
    return tuple(lines)
