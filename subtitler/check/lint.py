"""`subtitler check`: lint SRT, VTT, ASS and TTML files (ours or anyone's) against the cue rules
(and TTML against the IMSC 1.1 Text Profile constraints of `subtitler.tracks.imsc`).

Each cue's lines are grouped by language: from the WebVTT `<lang xx>` spans when present,
else guessed from the script of each line (CJK vs Latin), so a Chinese/English SRT is checked
line by line against each language's own limits. Two languages of the same script in one SRT
cannot be told apart; VTT with `<lang>` spans (as subtitler writes) is checked exactly.
Chinese and Japanese lines are also checked against the kinsoku rules (`subtitler.layout.kinsoku`).
"""

from __future__ import annotations

import codecs
import dataclasses
import re
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from pathlib import Path

import pysrt
import pysubs2
import webvtt

from subtitler.languages import CJK_LANGUAGES
from subtitler.layout.cues import srt_timestamp
from subtitler.layout.frames import FrameRate
from subtitler.layout.kinsoku import line_violation
from subtitler.layout.rules import CueRules, guess_language, text_width
from subtitler.layout.shots import problems as shot_problems
from subtitler.tracks import imsc
from subtitler.tracks.scc import SCC_RATE

TTML_SUFFIXES = (".ttml", ".dfxp", ".xml")
_ASS_PARTS = re.compile(r"(\{[^}]*\}|)([^{]*)")
_ASS_RESET = re.compile(r"\\r([^\\}]*)")
_LANGUAGE_CODE = re.compile(r"[a-z]{2,3}(-[a-z0-9]{2,8})*")
_LANG_SPAN = re.compile(r"<lang ([A-Za-z][\w-]*)>(.*?)</lang>", re.DOTALL)
_TAG = re.compile(r"</?[^>]+>")
_ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&nbsp;": " ", "&lrm;": "", "&rlm;": ""}


@dataclass(frozen=True)
class Violation:
    """One broken rule, with what was measured and the limit it broke."""

    file: str
    cue: int  # 1-based position in the file
    begin_ms: int
    rule: str
    measured: float
    limit: float
    language: str | None = None
    detail: str | None = None
    """For rules without a measure (kinsoku): what is wrong, e.g. `line 2 starts with “。”`."""
    file_line: int = 0
    """The cue's line in the file (its timing line; ASS: its Dialogue line), as editors and
    `grep -n` count; 0 when the format's parser cannot tell (TTML)."""

    def line(self) -> str:
        """`file:LINE: time: cue N: rule ...` (`file: cue N: ...` with no line number;
        `file: rule: ...` for the whole file)."""
        language = f" [{self.language}]" if self.language else ""
        where = f"{self.file}:{self.file_line}:" if self.file_line else f"{self.file}:"
        if self.cue == 0:
            return f"{where} {self.rule}{language}: {self.detail}"
        head = f"{where} {srt_timestamp(self.begin_ms)}: cue {self.cue}: {self.rule}{language}: "
        if self.detail is not None:
            return head + self.detail
        comparison = "<" if self.rule in ("min-duration", "min-gap", "min-gap-frames") else ">"
        return head + f"{_number(self.measured)} {comparison} {_number(self.limit)}"

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class ParsedCue:
    begin_ms: int
    end_ms: int
    lines: tuple[tuple[str | None, str], ...]  # (language or None, line text)
    file_line: int = 0
    """Where the cue is in the file (1-based), when the format's reader can tell."""


@dataclass(frozen=True)
class FileReport:
    file: str
    cues: int
    violations: tuple[Violation, ...]
    error: str | None = None


class Unreadable(ValueError):
    """A file `check` cannot read as subtitles, the cause in a subtitler's words."""


def read_cues(path: Path) -> list[ParsedCue]:
    """Cues of an SRT, VTT, ASS/SSA, TTML or SCC file (by extension; anything else is tried as SRT),
    each with its line in the file where the format allows. Unreadable or OSError."""
    return read_subtitles(path)[0]


def read_subtitles(path: Path) -> tuple[list[ParsedCue], str | None]:
    """The cues, and the text encoding they were read in (None for TTML: XML declares its
    own). Unreadable (saying why in words) or OSError."""
    suffix = path.suffix.lower()
    data = path.read_bytes()
    if suffix in TTML_SUFFIXES:
        try:
            root = ET.fromstring(data)
        except ET.ParseError as error:
            raise Unreadable(f"not a TTML file: not XML ({error})") from error
        return _ttml_cues(root), None
    text, encoding = decode_text(data)
    if suffix == ".vtt":
        try:
            captions = webvtt.from_string(text)
        except webvtt.errors.MalformedFileError as error:
            raise Unreadable("not a WebVTT file: it does not start with WEBVTT") from error
        cues = [
            ParsedCue(
                c.start_time.in_milliseconds(), c.end_time.in_milliseconds(), _vtt_lines(c.raw_text)
            )
            for c in captions.captions
        ]
        return _numbered(cues, _timing_lines(text)), encoding
    if suffix in (".ass", ".ssa"):
        return _ass_cues(text), encoding
    if suffix == ".scc":
        return _scc_cues(text), encoding
    try:
        items = pysrt.from_string(text, error_handling=pysrt.ERROR_RAISE)
    except pysrt.Error as error:  # its message is a tuple: say where instead
        place = _srt_error_place(text, error)
        raise Unreadable(f"not a valid subtitle file ({place} is not an SRT cue)") from error
    cues = [
        ParsedCue(
            item.start.ordinal,
            item.end.ordinal,
            tuple((None, _plain(line)) for line in item.text.splitlines() if line.strip()),
        )
        for item in items
    ]
    return _numbered(cues, _timing_lines(text)), encoding


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


def _timing_lines(text: str) -> list[int]:
    """The line numbers of the `-->` timing lines (SRT, VTT), in file order."""
    return [number for number, line in enumerate(text.splitlines(), start=1) if "-->" in line]


def _numbered(cues: list[ParsedCue], lines: list[int]) -> list[ParsedCue]:
    """Each cue with its timing line, when the count matches (the parsers keep file order)."""
    if len(lines) != len(cues):
        return cues
    return [dataclasses.replace(cue, file_line=line) for cue, line in zip(cues, lines, strict=True)]


def _srt_error_place(text: str, error: pysrt.Error) -> str:
    found = next((arg for arg in error.args if isinstance(arg, str) and arg.strip()), "")
    offset = text.find(found.strip()[:80]) if found else -1
    return f"line {text.count(chr(10), 0, offset) + 1}" if offset >= 0 else "the text"


def _ass_cues(text: str) -> list[ParsedCue]:
    """Dialogue events in time order; a line's language is its style's name when that is a
    language code (as subtitler names them), `{\\rStyle}` switching it mid-event."""
    if not re.search(r"^\s*\[events\]", text, re.IGNORECASE | re.MULTILINE):
        raise Unreadable("not an ASS/SSA file: it has no [Events] section")
    try:
        document = pysubs2.SSAFile.from_string(text, format_="ass")
    except (ValueError, pysubs2.Pysubs2Error) as error:
        raise Unreadable(f"not a valid ASS/SSA file: {error}") from error
    event_lines = [
        number
        for number, line in enumerate(text.splitlines(), start=1)
        if line.startswith(("Dialogue:", "Comment:"))
    ]
    if len(event_lines) != len(document.events):
        event_lines = [0] * len(document.events)
    cues = []
    events = sorted(
        zip(document.events, event_lines, strict=True), key=lambda e: (e[0].start, e[0].end)
    )
    for event, file_line in events:
        if event.is_comment:
            continue
        lines: list[tuple[str | None, str]] = []
        style = event.style
        for raw_line in re.split(r"\\[Nn]", event.text):
            line_style = style
            text = ""
            for tag_block, plain in _ASS_PARTS.findall(raw_line):
                reset = _ASS_RESET.findall(tag_block)
                if reset:
                    style = reset[-1] or event.style
                    if not text.strip():
                        line_style = style
                text += plain
            text = text.replace("\\h", " ").strip()
            if text:
                lines.append((_language_code(line_style), text))
        cues.append(ParsedCue(event.start, event.end, tuple(lines), file_line))
    return cues


def _scc_cues(text: str) -> list[ParsedCue]:
    """What a CEA-608 decoder shows, screen by screen (ttconv's SCC reader): each screen with
    text is a cue until the next change, a row a line."""
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


def _language_code(name: str) -> str | None:
    name = name.strip().lower()
    return name if _LANGUAGE_CODE.fullmatch(name) else None


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
            lines.append((first.lower() if first else None, text))
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


def _plain(text: str) -> str:
    text = _TAG.sub("", text)
    for entity, character in _ENTITIES.items():
        text = text.replace(entity, character)
    return text.strip()


def _vtt_lines(raw: str) -> tuple[tuple[str | None, str], ...]:
    lines: list[tuple[str | None, str]] = []
    for raw_line in raw.splitlines():
        span = _LANG_SPAN.search(raw_line)
        language = span.group(1).lower() if span else None
        text = _plain(raw_line)
        if text:
            lines.append((language, text))
    return tuple(lines)


def check_cues(
    file: str,
    cues: list[ParsedCue],
    rules: CueRules,
    pair: tuple[str, str] | None = None,
    resolution_ms: int = 1,
) -> list[Violation]:
    """Every rule on every cue. `pair`: the two languages a bilingual file's name declares.
    `resolution_ms`: the format's time step (ASS: 10 ms); a time limit is met when it is met
    to that step (84 ms can only be written as 80 or 90 in ASS)."""
    slack_ms = max(0, resolution_ms - 1)
    timing = rules.timing
    found: list[Violation] = []

    def report(
        index: int,
        cue: ParsedCue,
        rule: str,
        measured: float,
        limit: float,
        language: str | None = None,
        detail: str | None = None,
    ) -> None:
        found.append(
            Violation(
                file,
                index + 1,
                cue.begin_ms,
                rule,
                measured,
                limit,
                language,
                detail,
                cue.file_line,
            )
        )

    frames = timing.frames
    for index, cue in enumerate(cues):
        duration_ms = cue.end_ms - cue.begin_ms
        if not cue.lines:
            report(index, cue, "empty", 0, 1, detail="no text")
        if duration_ms < 0:
            detail = (f"ends at {srt_timestamp(cue.end_ms)}, {-duration_ms} ms before it "
                      "starts")  # fmt: skip
            report(index, cue, "end-before-start", duration_ms, 0, detail=detail)
        if timing.shots is not None:
            for rule, detail in shot_problems(cue.begin_ms, cue.end_ms, timing.shots):
                report(index, cue, rule, 0, 0, detail=detail)
        if frames is not None:
            for edge, ms in (("in", cue.begin_ms), ("out", cue.end_ms)):
                nearest = frames.ms(frames.frame_at(ms))
                if abs(nearest - ms) > slack_ms:
                    detail = (f"{edge}-time {srt_timestamp(ms)} is not on a frame at "
                              f"{frames} fps (nearest {srt_timestamp(nearest)})")  # fmt: skip
                    report(index, cue, "frame", abs(nearest - ms), 0, detail=detail)
        if duration_ms >= 0 and duration_ms + slack_ms < timing.min_duration_ms:
            report(index, cue, "min-duration", duration_ms, timing.min_duration_ms)
        if duration_ms - slack_ms > timing.max_duration_ms:
            report(index, cue, "max-duration", duration_ms, timing.max_duration_ms)
        if index + 1 < len(cues):
            gap_ms = cues[index + 1].begin_ms - cue.end_ms
            if gap_ms < 0:
                report(index, cue, "overlap", -gap_ms, 0)
            elif frames is not None:
                gap_frames = frames.frame_at(cues[index + 1].begin_ms) - frames.frame_at(cue.end_ms)
                if gap_frames < timing.min_gap_frames:
                    report(index, cue, "min-gap-frames", gap_frames, timing.min_gap_frames)
            elif gap_ms + slack_ms < timing.min_gap_ms:
                report(index, cue, "min-gap", gap_ms, timing.min_gap_ms)
        for language, lines in _by_language(cue.lines, pair).items():
            language_rules = rules.for_language(language, "".join(lines))
            if len(lines) > language_rules.max_lines:
                report(index, cue, "max-lines", len(lines), language_rules.max_lines, language)
            for number, line in enumerate(lines, start=1):
                width = text_width(line, language_rules)
                if width > language_rules.max_line_chars:
                    report(
                        index, cue, "line-length", width, language_rules.max_line_chars, language
                    )
                wrong = line_violation(line) if language_rules.kinsoku else None
                if wrong is not None:
                    rule = "line-start" if wrong.startswith("starts") else "line-end"
                    report(index, cue, rule, number, 0, language, f"line {number} {wrong}")
            if duration_ms > 0:
                characters = sum(text_width(line, language_rules) for line in lines)
                speed = characters / ((duration_ms + slack_ms) / 1000)
                if speed > language_rules.max_cps + 1e-9:
                    report(
                        index,
                        cue,
                        "reading-speed",
                        round(speed, 2),
                        language_rules.max_cps,
                        language,
                    )
    return found


def _by_language(
    lines: tuple[tuple[str | None, str], ...], pair: tuple[str, str] | None
) -> dict[str, list[str]]:
    """Group a cue's lines by language: tagged lines by their tag; untagged ones by script,
    apart from tagged ones. When a bilingual file's two languages share a script (fr-en), its
    untagged lines form one script group: the first half is taken as the first language."""
    groups: dict[str, list[str]] = {}
    untagged = [text for language, text in lines if language is None]
    for language, text in lines:
        if language is not None:
            groups.setdefault(language, []).append(text)
    by_script: dict[str, list[str]] = {}
    for text in untagged:
        by_script.setdefault(guess_language(text), []).append(text)
    if not groups and pair is not None and len(by_script) == 1 and len(untagged) >= 2:
        (script,) = by_script
        first, second = pair
        families = {_family(script if code == "und" else code) for code in pair}
        if first == second or families != {_family(script)}:
            pair = None
    if not groups and pair is not None and len(by_script) == 1 and len(untagged) >= 2:
        first, second = pair
        half = (len(untagged) + 1) // 2
        groups.setdefault(first, []).extend(untagged[:half])
        groups.setdefault(second, []).extend(untagged[half:])
        return groups
    for script, texts in by_script.items():
        key = script if script not in groups else f"{script}?"
        groups.setdefault(key, []).extend(texts)
    return groups


def _family(language: str) -> str:
    return "cjk" if language in CJK_LANGUAGES else "latin"


def declared_pair(path: Path) -> tuple[str, str] | None:
    """`film.zh-en.srt` -> ("zh", "en"): the languages subtitler's bilingual names declare."""
    match = re.search(r"\.([a-z]{2,3})-([a-z]{2,3})$", path.stem.lower())
    return (match.group(1), match.group(2)) if match else None


def declared_frame_rate(path: Path) -> FrameRate | None:
    """The frame rate a file is on by its own declaration: SCC by definition (29.97
    drop-frame), TTML by `ttp:frameRate` (x `ttp:frameRateMultiplier`); None for the others."""
    suffix = path.suffix.lower()
    if suffix == ".scc":
        return SCC_RATE
    if suffix in TTML_SUFFIXES:
        rate = imsc.document_frame_rate(ET.parse(path).getroot())
        return FrameRate.of(rate) if rate else None
    return None


def on_own_grid(rules: CueRules, own: FrameRate | None) -> CueRules:
    """The rules for a file on its own frame grid: its times and gaps are counted in its
    frames. Shot changes stay on the video's grid (they are the video's): a cue is judged
    against them in the video's frames."""
    timing = rules.timing
    if own is None or (timing.frames is not None and timing.frames.rate == own.rate):
        return rules
    return dataclasses.replace(rules, timing=dataclasses.replace(timing, frames=own))


def check_file(path: Path, rules: CueRules) -> FileReport:
    try:
        cues, encoding = read_subtitles(path)
        own = declared_frame_rate(path)
    except FileNotFoundError:
        return FileReport(str(path), 0, (), error="no such file")
    except IsADirectoryError:
        return FileReport(str(path), 0, (), error="a folder, not a file")
    except OSError as error:
        return FileReport(str(path), 0, (), error=f"cannot read ({error.strerror or error})")
    except Unreadable as error:
        return FileReport(str(path), 0, (), error=str(error))
    except Exception as error:  # a library's own parse error not foreseen above
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        return FileReport(str(path), 0, (), error=f"not a valid subtitle file ({message})")
    resolution_ms = 10 if path.suffix.lower() in (".ass", ".ssa") else 1
    given = rules.timing.frames
    violations = check_cues(
        str(path), cues, on_own_grid(rules, own), declared_pair(path), resolution_ms
    )
    if own is not None and given is not None and own.rate != given.rate and own != SCC_RATE:
        detail = f"the file declares {own} fps, not the {given} fps asked for"
        violations.append(Violation(str(path), 0, 0, "frame-rate", 0, 0, None, detail))
    if encoding is not None and encoding not in ("UTF-8", "UTF-16"):
        detail = f"not UTF-8: read as {encoding}, as players do; deliver it as UTF-8"
        violations.append(Violation(str(path), 0, 0, "encoding", 0, 0, None, detail))
    if path.suffix.lower() in TTML_SUFFIXES:
        root = ET.parse(path).getroot()
        violations += [
            Violation(str(path), 0, 0, "imsc", 0, 0, None, problem)
            for problem in imsc.problems(root)
        ]
    return FileReport(str(path), len(cues), tuple(violations))


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
