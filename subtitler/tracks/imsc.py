"""The IMSC 1.1 Text Profile constraints subtitler enforces on TTML (its own and anyone's).

Pure: an ElementTree root in, one line per broken constraint out. Checked (W3C "TTML Profiles
for Internet Media Subtitles and Captions 1.1", text profile):
 1. the root is `tt` in the TTML namespace, with `xml:lang`;
 2. `ttp:timeBase`, when present, is `media`;
 3. `ttp:contentProfiles` (or `ttp:profile`) names the IMSC 1.1 (or 1.0) Text Profile;
 4. `ttp:frameRate` is a positive integer, `ttp:frameRateMultiplier` two positive integers,
    and frame-based times appear only with a frame rate;
 5. only TTML's text vocabulary in the TTML namespace (no `image`), `p` inside `div`, `span`
    and `br` inside `p` or `span`;
 6. every `p` has a valid `begin` and `end`, `begin < end`;
 7. `tts:extent` on `tt`, when present, is in `px`; a region's percent origin + extent stays
    within the root container;
 8. every referenced region and style exists; `xml:id`s are unique;
 9. colours are `#RRGGBB`, `#RRGGBBAA`, `rgb()`, `rgba()` or a named colour.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from fractions import Fraction

TT = "http://www.w3.org/ns/ttml"
TTP = "http://www.w3.org/ns/ttml#parameter"
TTS = "http://www.w3.org/ns/ttml#styling"
XML = "http://www.w3.org/XML/1998/namespace"
TEXT_PROFILES = (
    "http://www.w3.org/ns/ttml/profile/imsc1.1/text",
    "http://www.w3.org/ns/ttml/profile/imsc1/text",
)
TEXT_ELEMENTS = frozenset(
    "tt head body div p span br styling style layout region metadata set initial".split()
)
NAMED_COLOURS = frozenset(
    "transparent black silver gray white maroon red purple fuchsia magenta green lime olive "
    "yellow navy blue teal aqua cyan".split()
)
_CLOCK = re.compile(r"^(\d{2,}):(\d{2}):(\d{2})(?:(\.\d+)|:(\d{2,})(?:\.(\d+))?)?$")
_OFFSET = re.compile(r"^(\d+(?:\.\d+)?)(h|m|s|ms|f|t)$")
_COLOUR = re.compile(
    r"^(#[0-9a-fA-F]{6}([0-9a-fA-F]{2})?|rgba?\(\s*\d{1,3}(\s*,\s*\d{1,3}){2,3}\s*\))$"
)
_PERCENT_PAIR = re.compile(r"^(-?\d+(?:\.\d+)?)%\s+(-?\d+(?:\.\d+)?)%$")


def time_ms(expression: str, frame_rate: Fraction | None, tick_rate: int = 1) -> int | None:
    """A TTML time expression in ms (None: invalid, or frames/ticks without their rate)."""
    text = expression.strip()
    clock = _CLOCK.match(text)
    if clock:
        hours, minutes, seconds, fraction, frames, _subframes = clock.groups()
        if int(minutes) > 59 or int(seconds) > 60:
            return None
        total = Fraction(int(hours) * 3600 + int(minutes) * 60 + int(seconds))
        if fraction:
            total += Fraction(fraction)
        if frames is not None:
            if frame_rate is None or int(frames) >= frame_rate + 1:
                return None
            total += int(frames) / frame_rate
        return round(total * 1000)
    offset = _OFFSET.match(text)
    if offset:
        value, unit = Fraction(offset.group(1)), offset.group(2)
        if unit == "f":
            return None if frame_rate is None else round(value / frame_rate * 1000)
        if unit == "t":
            return round(value / tick_rate * 1000)
        scale = {"h": 3_600_000, "m": 60_000, "s": 1000, "ms": 1}[unit]
        return round(value * scale)
    return None


def document_frame_rate(root: ET.Element) -> Fraction | None:
    """`ttp:frameRate` × `ttp:frameRateMultiplier`, when given and valid."""
    rate = root.get(f"{{{TTP}}}frameRate")
    if rate is None or not rate.isdigit() or int(rate) == 0:
        return None
    multiplier = root.get(f"{{{TTP}}}frameRateMultiplier", "1 1").split()
    if len(multiplier) != 2 or not all(m.isdigit() and int(m) > 0 for m in multiplier):
        return None
    return Fraction(int(rate)) * Fraction(int(multiplier[0]), int(multiplier[1]))


def problems(root: ET.Element) -> list[str]:
    """Every broken constraint of the list above, one line each, in document order."""
    found: list[str] = []
    if root.tag != f"{{{TT}}}tt":
        return [f"the root element is {root.tag}, not tt in the TTML namespace"]
    if root.get(f"{{{XML}}}lang") is None:
        found.append("tt has no xml:lang")
    time_base = root.get(f"{{{TTP}}}timeBase")
    if time_base not in (None, "media"):
        found.append(f'ttp:timeBase is "{time_base}", not "media"')
    profiles = (
        root.get(f"{{{TTP}}}contentProfiles", "") + " " + root.get(f"{{{TTP}}}profile", "")
    ).split()
    if is_ebu_tt_d(root):
        found += ebu_tt_d_problems(root)
    elif not any(profile in TEXT_PROFILES for profile in profiles):
        found.append("ttp:contentProfiles does not name the IMSC 1.1 Text Profile")
    rate = root.get(f"{{{TTP}}}frameRate")
    if rate is not None and (not rate.isdigit() or int(rate) == 0):
        found.append(f'ttp:frameRate "{rate}" is not a positive integer')
    multiplier = root.get(f"{{{TTP}}}frameRateMultiplier")
    if multiplier is not None and not re.fullmatch(r"[1-9]\d* [1-9]\d*", multiplier):
        found.append(f'ttp:frameRateMultiplier "{multiplier}" is not two positive integers')
    extent = root.get(f"{{{TTS}}}extent")
    if extent is not None and not re.fullmatch(r"\d+(\.\d+)?px \d+(\.\d+)?px", extent.strip()):
        found.append(f'tts:extent on tt is "{extent}", not in px')
    frame_rate = document_frame_rate(root)
    tick_rate = int(root.get(f"{{{TTP}}}tickRate", "1") or 1)
    ids: set[str] = set()
    regions: set[str] = set()
    styles: set[str] = set()
    for element in root.iter():
        identifier = element.get(f"{{{XML}}}id")
        if identifier is not None:
            if identifier in ids:
                found.append(f'xml:id "{identifier}" is used twice')
            ids.add(identifier)
            if element.tag == f"{{{TT}}}region":
                regions.add(identifier)
            if element.tag == f"{{{TT}}}style":
                styles.add(identifier)
    parents = {child: parent for parent in root.iter() for child in parent}
    inside_metadata: set[ET.Element] = set()
    for element in root.iter(f"{{{TT}}}metadata"):
        inside_metadata.update(element.iter())
    cue = 0
    for element in root.iter():
        tag = element.tag
        if not isinstance(tag, str) or element in inside_metadata:
            continue
        namespace, _, name = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
        if namespace == TT and name not in TEXT_ELEMENTS:
            found.append(f"<{name}> is not allowed in the IMSC Text Profile")
        parent = parents.get(element)
        parent_name = parent.tag.rpartition("}")[2] if parent is not None else ""
        if namespace == TT and name == "p" and parent_name != "div":
            found.append(f"<p> inside <{parent_name}>, not <div>")
        if namespace == TT and name in ("span", "br") and parent_name not in ("p", "span"):
            found.append(f"<{name}> inside <{parent_name}>, not <p> or <span>")
        if namespace == TT and name == "p":
            cue += 1
            begin, end = element.get("begin"), element.get("end")
            if begin is None or end is None:
                found.append(f"p {cue} has no begin or no end")
            else:
                begin_ms = time_ms(begin, frame_rate, tick_rate)
                end_ms = time_ms(end, frame_rate, tick_rate)
                if begin_ms is None or end_ms is None:
                    found.append(f'p {cue}: "{begin}" or "{end}" is not a valid time here')
                elif begin_ms >= end_ms:
                    found.append(f"p {cue}: begin {begin} is not before end {end}")
        region = element.get("region")
        if region is not None and region not in regions:
            found.append(f'region "{region}" is not defined')
        for style in element.get("style", "").split():
            if style not in styles:
                found.append(f'style "{style}" is not defined')
        for attribute in (f"{{{TTS}}}color", f"{{{TTS}}}backgroundColor"):
            colour = element.get(attribute)
            if colour is not None and not (
                _COLOUR.match(colour.strip()) or colour.strip().lower() in NAMED_COLOURS
            ):
                found.append(f'"{colour}" is not a TTML colour')
        if namespace == TT and name == "region":
            found.extend(_region_problems(element))
    return found


def _region_problems(region: ET.Element) -> list[str]:
    origin = _PERCENT_PAIR.match(region.get(f"{{{TTS}}}origin", "0% 0%").strip())
    extent = _PERCENT_PAIR.match(region.get(f"{{{TTS}}}extent", "100% 100%").strip())
    if not origin or not extent:
        return []  # px regions are measured against a tt extent; not checked here
    x, y = float(origin.group(1)), float(origin.group(2))
    width, height = float(extent.group(1)), float(extent.group(2))
    if x < 0 or y < 0 or x + width > 100 + 1e-9 or y + height > 100 + 1e-9:
        name = region.get(f"{{{XML}}}id", "?")
        return [f'region "{name}" reaches outside the root container']
    return []


EBUTTM = "urn:ebu:tt:metadata"
_EBU_TIME = re.compile(r"\d{2,}:[0-5]\d:[0-5]\d(\.\d+)?")


def is_ebu_tt_d(root: ET.Element) -> bool:
    """The document says it conforms to EBU-TT-D (Tech 3380), a subset of IMSC 1 Text."""
    return any(
        (element.text or "").strip().startswith("urn:ebu:tt:distribution:")
        for element in root.iter(f"{{{EBUTTM}}}conformsToStandard")
    )


def ebu_tt_d_problems(root: ET.Element) -> list[str]:
    """What Tech 3380 asks beyond TTML: the media time base said, every `<p>` an `xml:id`,
    times as `hh:mm:ss.sss`, and text only inside `<span>`s."""
    found = []
    if root.get(f"{{{TTP}}}timeBase") != "media":
        found.append('EBU-TT-D: ttp:timeBase="media" is required')
    for number, paragraph in enumerate(root.iter(f"{{{TT}}}p"), start=1):
        if paragraph.get(f"{{{XML}}}id") is None:
            found.append(f"EBU-TT-D: p {number} has no xml:id")
        for attribute in ("begin", "end"):
            value = paragraph.get(attribute)
            if value is not None and not _EBU_TIME.fullmatch(value.strip()):
                found.append(f'EBU-TT-D: p {number} {attribute}="{value}" is not hh:mm:ss.sss')
        if (paragraph.text or "").strip() or any((child.tail or "").strip() for child in paragraph):
            found.append(f"EBU-TT-D: p {number} has text outside a span")
    return found
