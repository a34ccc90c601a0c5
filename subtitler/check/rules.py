"""The rules `subtitler check` judges, pure: cues (as any format's reader gives them) in,
violations out. Each rule is a small generator of `Problem`s for one cue; `check_cues` runs them
all on every cue and places what they find (file, cue number, time, line in the file).

A cue's lines are grouped by language: from the WebVTT `<lang xx>` spans when present, else
guessed from the script of each line (CJK, Arabic, Thai... vs Latin; a script the file name's
pair has is that language: `film.en-fa.srt`'s Arabic-script lines are Persian), so a
Chinese/English SRT is checked line by line against each language's own limits. Two languages
of the same script in one SRT cannot be told apart; VTT with `<lang>` spans (as subtitler
writes) is checked exactly. Chinese and Japanese lines are also checked against the kinsoku
rules (`subtitler.layout.kinsoku`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import asdict, dataclass

from subtitler.layout.cues import srt_timestamp
from subtitler.layout.frames import FrameRate
from subtitler.layout.kinsoku import line_violation
from subtitler.layout.rules import CueRules, TimingRules, guess_language, text_width
from subtitler.layout.scripts import script_key
from subtitler.layout.shots import problems as shot_problems
from subtitler.tracks import imsc
from subtitler.tracks.reading import ParsedCue, Reading


@dataclass(frozen=True)
class Violation:
    """One broken rule, with what was measured and the limit it broke."""

    file: str
    cue: int  # 1-based position in the file; 0: the whole file
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
class Problem:
    """What one rule finds in one cue, before it is placed in its file."""

    rule: str
    measured: float = 0
    limit: float = 0
    language: str | None = None
    detail: str | None = None

    def placed(self, file: str, cue: int, begin_ms: int, file_line: int = 0) -> Violation:
        """The violation of `cue` (its 1-based number; 0: the whole file) in `file`."""
        return Violation(
            file=file,
            cue=cue,
            begin_ms=begin_ms,
            rule=self.rule,
            measured=self.measured,
            limit=self.limit,
            language=self.language,
            detail=self.detail,
            file_line=file_line,
        )


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
    for index, cue in enumerate(cues):
        following = cues[index + 1] if index + 1 < len(cues) else None
        problems = [
            *_content(cue),
            *_shots(cue, timing),
            *_frames(cue, timing.frames, slack_ms),
            *_duration(cue, timing, slack_ms),
            *_gap(cue, following, timing, slack_ms),
            *_languages(cue, rules, pair, slack_ms),
        ]
        found += [p.placed(file, index + 1, cue.begin_ms, cue.file_line) for p in problems]
    return found


def _content(cue: ParsedCue) -> Iterator[Problem]:
    if not cue.lines:
        yield Problem("empty", 0, 1, detail="no text")


def _shots(cue: ParsedCue, timing: TimingRules) -> Iterator[Problem]:
    if timing.shots is not None:
        for rule, detail in shot_problems(cue.begin_ms, cue.end_ms, timing.shots):
            yield Problem(rule, detail=detail)


def _frames(cue: ParsedCue, frames: FrameRate | None, slack_ms: int) -> Iterator[Problem]:
    if frames is None:
        return
    for edge, ms in (("in", cue.begin_ms), ("out", cue.end_ms)):
        nearest = frames.ms(frames.frame_at(ms))
        if abs(nearest - ms) > slack_ms:
            detail = (f"{edge}-time {srt_timestamp(ms)} is not on a frame at {frames} fps "
                      f"(nearest {srt_timestamp(nearest)})")  # fmt: skip
            yield Problem("frame", abs(nearest - ms), 0, detail=detail)


def _duration(cue: ParsedCue, timing: TimingRules, slack_ms: int) -> Iterator[Problem]:
    duration_ms = cue.end_ms - cue.begin_ms
    if duration_ms < 0:
        detail = f"ends at {srt_timestamp(cue.end_ms)}, {-duration_ms} ms before it starts"
        yield Problem("end-before-start", duration_ms, 0, detail=detail)
    elif duration_ms + slack_ms < timing.min_duration_ms:
        yield Problem("min-duration", duration_ms, timing.min_duration_ms)
    if duration_ms - slack_ms > timing.max_duration_ms:
        yield Problem("max-duration", duration_ms, timing.max_duration_ms)


def _gap(
    cue: ParsedCue, following: ParsedCue | None, timing: TimingRules, slack_ms: int
) -> Iterator[Problem]:
    if following is None:
        return
    gap_ms = following.begin_ms - cue.end_ms
    frames = timing.frames
    if gap_ms < 0:
        yield Problem("overlap", -gap_ms, 0)
    elif frames is not None:
        gap_frames = frames.frame_at(following.begin_ms) - frames.frame_at(cue.end_ms)
        if gap_frames < timing.min_gap_frames:
            yield Problem("min-gap-frames", gap_frames, timing.min_gap_frames)
    elif gap_ms + slack_ms < timing.min_gap_ms:
        yield Problem("min-gap", gap_ms, timing.min_gap_ms)


def _languages(
    cue: ParsedCue, rules: CueRules, pair: tuple[str, str] | None, slack_ms: int
) -> Iterator[Problem]:
    """Lines, line length, kinsoku and reading speed, each language against its own limits."""
    duration_ms = cue.end_ms - cue.begin_ms
    for language, lines in _by_language(cue.lines, pair).items():
        limits = rules.for_language(language, "".join(lines))
        if len(lines) > limits.max_lines:
            yield Problem("max-lines", len(lines), limits.max_lines, language)
        for number, line in enumerate(lines, start=1):
            width = text_width(line, limits)
            if width > limits.max_line_chars:
                yield Problem("line-length", width, limits.max_line_chars, language)
            wrong = line_violation(line) if limits.kinsoku else None
            if wrong is not None:
                rule = "line-start" if wrong.startswith("starts") else "line-end"
                yield Problem(rule, number, 0, language, f"line {number} {wrong}")
        if duration_ms > 0:
            characters = sum(text_width(line, limits) for line in lines)
            speed = characters / ((duration_ms + slack_ms) / 1000)
            if speed > limits.max_cps + 1e-9:
                yield Problem("reading-speed", round(speed, 2), limits.max_cps, language)


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
    named = {script_key(code): code for code in pair or () if code != "und"}
    if len(named) < 2:
        named = {}  # one script for both: told apart below, by halves
    for text in untagged:
        script = guess_language(text)
        by_script.setdefault(named.get(script, script), []).append(text)
    if not groups and pair is not None and len(by_script) == 1 and len(untagged) >= 2:
        (script,) = by_script
        first, second = pair
        families = {script_key(script if code == "und" else code) for code in pair}
        if first == second or families != {script_key(script)}:
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


def on_own_grid(rules: CueRules, own: FrameRate | None) -> CueRules:
    """The rules for a file on its own frame grid: its times and gaps are counted in its
    frames. Shot changes stay on the video's grid (they are the video's): a cue is judged
    against them in the video's frames."""
    timing = rules.timing
    if own is None or (timing.frames is not None and timing.frames.rate == own.rate):
        return rules
    return dataclasses.replace(rules, timing=dataclasses.replace(timing, frames=own))


def file_problems(reading: Reading, given: FrameRate | None) -> Iterator[Problem]:
    """The rules on a whole file: its encoding, the frame rate it declares against the one
    asked for (SCC's is its format's, not a declaration), and TTML's IMSC constraints."""
    own = reading.frame_rate
    declared = reading.document is not None
    if declared and own is not None and given is not None and own.rate != given.rate:
        yield Problem("frame-rate", detail=f"the file declares {own} fps, not the {given} fps "
                                           "asked for")  # fmt: skip
    if reading.encoding is not None and reading.encoding not in ("UTF-8", "UTF-16"):
        detail = f"not UTF-8: read as {reading.encoding}, as players do; deliver it as UTF-8"
        yield Problem("encoding", detail=detail)
    if reading.document is not None:
        for problem in imsc.problems(reading.document):
            yield Problem("imsc", detail=problem)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
