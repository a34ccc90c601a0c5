"""The rules per cue, as the review shows them: `check`'s rules (`subtitler.check.rules`) run on
the document's cues, every language's lines tagged, each problem said in one line."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from subtitler.check.rules import Violation, check_cues
from subtitler.engine.edits import ReviewCue
from subtitler.layout.rules import CueRules
from subtitler.tracks.reading import ParsedCue


@dataclass(frozen=True, kw_only=True)
class CueProblem:
    rule: str
    target: str | None
    """The target whose lines break it; None for the source's lines and the cue's timing."""
    message: str

    def as_dict(self) -> dict[str, str | None]:
        return {"rule": self.rule, "target": self.target, "message": self.message}


def parsed(cue: ReviewCue, source: str | None, targets: Sequence[str]) -> ParsedCue:
    """A cue as `check` reads one: every line tagged with its language."""
    lines: list[tuple[str | None, str]] = [(source, line) for line in cue.source]
    for target in targets:
        lines += [(target, line) for line in cue.translation(target).lines]
    return ParsedCue(cue.begin_ms, cue.end_ms, tuple(lines))


def problems_of(
    cues: Sequence[ReviewCue], rules: CueRules, source: str | None, targets: Sequence[str]
) -> list[list[CueProblem]]:
    """Per cue (in order), what the rules find in it (its gap to the next cue included)."""
    found: list[list[CueProblem]] = [[] for _ in cues]
    checked = [parsed(cue, source, targets) for cue in cues]
    for violation in check_cues("review", checked, rules):
        target = violation.language if violation.language in targets else None
        found[violation.cue - 1].append(
            CueProblem(rule=violation.rule, target=target, message=message(violation))
        )
    return found


@dataclass(frozen=True)
class _Checked:
    cue: ReviewCue
    following: tuple[int, int] | None
    """The next cue's times (the gap rules read them)."""
    problems: tuple[CueProblem, ...]


class Problems:
    """Each cue's problems, kept until the cue, the next cue's times or the rules change: after
    an edit only the cues it touched (and the cue before them) are checked again, not the whole
    document. Used by one thread at a time (the session's document)."""

    def __init__(self) -> None:
        self._checked: dict[str, _Checked] = {}
        self._on: tuple[CueRules, str | None, tuple[str, ...]] | None = None

    def of(
        self,
        cues: Sequence[ReviewCue],
        rules: CueRules,
        source: str | None,
        targets: Sequence[str],
    ) -> list[tuple[CueProblem, ...]]:
        """Per cue (in order), as `problems_of` finds them."""
        on = (rules, source, tuple(targets))
        if on != self._on:
            self._checked.clear()
            self._on = on
        kept: dict[str, _Checked] = {}
        found: list[tuple[CueProblem, ...]] = []
        for index, cue in enumerate(cues):
            following = cues[index + 1] if index + 1 < len(cues) else None
            times = (following.begin_ms, following.end_ms) if following is not None else None
            known = self._checked.get(cue.id)
            if (
                known is None
                or known.following != times
                or not (known.cue is cue or known.cue == cue)
            ):
                pair = [cue] if following is None else [cue, following]
                problems = tuple(problems_of(pair, rules, source, targets)[0])
                known = _Checked(cue, times, problems)
            kept[cue.id] = known
            found.append(known.problems)
        self._checked = kept  # the cues no longer there are forgotten
        return found


UNITS = {
    "reading-speed": ("characters/s", "over"),
    "line-length": ("characters", "over"),
    "max-lines": ("lines", "over"),
    "max-duration": ("ms", "over"),
    "min-duration": ("ms", "under"),
    "min-gap": ("ms to the next cue", "under"),
    "min-gap-frames": ("frames to the next cue", "under"),
}


def message(violation: Violation) -> str:
    """`23 characters/s over 17`; the rule's own words when it has no measure."""
    if violation.detail is not None:
        return violation.detail
    if violation.rule == "overlap":
        return f"overlaps the next cue by {_number(violation.measured)} ms"
    unit, relation = UNITS.get(violation.rule, ("", "against"))
    return f"{_number(violation.measured)} {unit} {relation} {_number(violation.limit)}".replace(
        "  ", " "
    )


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
