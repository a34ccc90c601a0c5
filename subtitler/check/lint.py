"""`subtitler check`: lint SRT, VTT, ASS, TTML and SCC files (ours or anyone's) against the cue
rules (`subtitler.check.rules`; TTML also against the IMSC 1.1 Text Profile constraints of
`subtitler.tracks.imsc`). A file is read by its format's reader, beside its writer in
`subtitler.tracks`, then judged: reading and rules meet only in `check_file`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from subtitler.check.rules import Violation, check_cues, file_problems, on_own_grid
from subtitler.layout.rules import CueRules
from subtitler.layout.scripts import normal_tag
from subtitler.tracks.reading import ParsedCue, Reading, Unreadable, read_subtitles

__all__ = ["FileReport", "ParsedCue", "Violation", "check_cues", "check_file", "read_cues"]


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


_SUBTAG = re.compile(r"[A-Z]{2}|[0-9]{3}|[A-Z][a-z]{3}")
"""A region (`TW`, `419`) or a script (`Hant`) as tags write them, after a language."""


def declared_pair(path: Path) -> tuple[str, str] | None:
    """`film.zh-en.srt` -> ("zh", "en"), `film.en-zh-TW.srt` -> ("en", "zh-TW"): the languages
    subtitler's bilingual names declare. The source takes the subtags written as a region or
    a script (`zh-TW-en`); a lower-case name's subtags go to the target (`en-zh-tw`)."""
    stem = path.stem[: -len(".ebuttd")] if path.stem.lower().endswith(".ebuttd") else path.stem
    name = stem.rpartition(".")[2]
    parts = name.split("-")
    if len(parts) < 2 or not all(re.fullmatch(r"[A-Za-z]{2,3}|[A-Za-z0-9]{2,8}", p) for p in parts):
        return None
    if not re.fullmatch(r"[A-Za-z]{2,3}", parts[0]):
        return None
    split = 1
    while split < len(parts) - 1 and _SUBTAG.fullmatch(parts[split]):
        split += 1
    source, target = "-".join(parts[:split]), "-".join(parts[split:])
    if not re.fullmatch(r"[A-Za-z]{2,3}", parts[split]):
        return None
    return normal_tag(source), normal_tag(target)


def check_file(path: Path, rules: CueRules) -> FileReport:
    """One file read, then judged; a file that cannot be read is one error in words."""
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
    except Exception as error:  # a library's own parse error not foreseen by the readers
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        return FileReport(str(path), 0, (), error=f"not a valid subtitle file ({message})")
    return FileReport(str(path), len(reading.cues), judge(path, reading, rules))


def judge(path: Path, reading: Reading, rules: CueRules) -> tuple[Violation, ...]:
    """Every rule on what was read: each cue on the file's own frame grid (the one it
    declares, else the one given), then the whole file."""
    resolution_ms = 10 if path.suffix.lower() in (".ass", ".ssa") else 1
    on_grid = on_own_grid(rules, reading.frame_rate)
    violations = check_cues(str(path), reading.cues, on_grid, declared_pair(path), resolution_ms)
    violations += [p.placed(str(path), 0, 0) for p in file_problems(reading, rules.timing.frames)]
    return tuple(violations)
