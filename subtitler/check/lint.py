"""`subtitler check`: lint SRT, VTT, ASS, TTML and SCC files (ours or anyone's) against the cue
rules (and TTML against the IMSC 1.1 Text Profile constraints of `subtitler.tracks.imsc`). The
files are read by each format's reader, beside its writer in `subtitler.tracks`.

Each cue's lines are grouped by language: from the WebVTT `<lang xx>` spans when present,
else guessed from the script of each line (CJK vs Latin), so a Chinese/English SRT is checked
line by line against each language's own limits. Two languages of the same script in one SRT
cannot be told apart; VTT with `<lang>` spans (as subtitler writes) is checked exactly.
Chinese and Japanese lines are also checked against the kinsoku rules (`subtitler.layout.kinsoku`).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from subtitler.languages import CJK_LANGUAGES
from subtitler.layout.cues import srt_timestamp
from subtitler.layout.frames import FrameRate
from subtitler.layout.kinsoku import line_violation
from subtitler.layout.rules import CueRules, guess_language, text_width
from subtitler.layout.shots import problems as shot_problems
from subtitler.tracks import imsc
from subtitler.tracks.reading import ParsedCue, Unreadable, read_subtitles

__all__ = ["FileReport", "ParsedCue", "Violation", "check_cues", "check_file", "read_cues"]


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
class FileReport:
    file: str
    cues: int
    violations: tuple[Violation, ...]
    error: str | None = None


def read_cues(path: Path) -> list[ParsedCue]:
    """Cues of an SRT, VTT, ASS/SSA, TTML or SCC file (by extension; anything else is tried as SRT),
    each with its line in the file where the format allows. Unreadable or OSError."""
    return read_subtitles(path).cues


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
        reading = read_subtitles(path)
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
    cues, encoding, own = reading.cues, reading.encoding, reading.frame_rate
    resolution_ms = 10 if path.suffix.lower() in (".ass", ".ssa") else 1
    given = rules.timing.frames
    violations = check_cues(
        str(path), cues, on_own_grid(rules, own), declared_pair(path), resolution_ms
    )
    declared = reading.document is not None  # SCC's rate is its format's, not a declaration
    if declared and own is not None and given is not None and own.rate != given.rate:
        detail = f"the file declares {own} fps, not the {given} fps asked for"
        violations.append(Violation(str(path), 0, 0, "frame-rate", 0, 0, None, detail))
    if encoding is not None and encoding not in ("UTF-8", "UTF-16"):
        detail = f"not UTF-8: read as {encoding}, as players do; deliver it as UTF-8"
        violations.append(Violation(str(path), 0, 0, "encoding", 0, 0, None, detail))
    if reading.document is not None:
        violations += [
            Violation(str(path), 0, 0, "imsc", 0, 0, None, problem)
            for problem in imsc.problems(reading.document)
        ]
    return FileReport(str(path), len(cues), tuple(violations))


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
