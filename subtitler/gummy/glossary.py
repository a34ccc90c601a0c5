"""Glossaries: a CSV of terms, checked against the service's hot-word limits before any call.

The columns are the fields of a Gummy hot-word vocabulary entry (DashScope's custom hot-words
page): `text` (the term as spoken), `weight` (1-5, 4 advised; empty: 4), `lang` (the term's
language), and, to pin how it is translated, `target_lang` and `translation`. One row per term
and target; a term pinned for two targets takes two rows. Rows are counted as a spreadsheet
counts them (the header is row 1). Pure: reading the file is the only I/O.

The service's limits, checked here so a run never starts with a glossary it would refuse:
at most 500 entries; a weight an integer 1-5; a term with any non-ASCII character at most 15
characters, an ASCII one at most 7 space-separated words; `prefix` lowercase letters and digits,
fewer than 10. Each account holds 10 vocabularies for all models, so a glossary is matched to
an existing vocabulary by its content (`fingerprint`), never created twice.

A vocabulary serves one model (`target_model`; a mismatch is silently ignored by the service),
so a glossary makes one vocabulary per recognition model, each with the entries that model
takes: Gummy's pins translations into its own target languages; Fun-ASR's entries are `text`,
`weight` and `lang` (zh, en or ja) only. A term pinned for a target Qwen-MT translates is sent
to Qwen-MT as a term (`terms_for`) and still biases recognition.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from subtitler.errors import UsageError
from subtitler.languages import (
    FUN_ASR_SOURCES,
    GUMMY_ALL_TARGETS,
    GUMMY_SOURCES,
    QWEN_MT_LANGUAGES,
    normalise_target,
)

MAX_ENTRIES = 500
MIN_WEIGHT, MAX_WEIGHT, DEFAULT_WEIGHT = 1, 5, 4
MAX_NON_ASCII_CHARACTERS = 15
MAX_ASCII_WORDS = 7
MAX_VOCABULARIES = 10
"""Per account, shared by every model."""
TARGET_MODEL = "gummy-realtime-v1"
"""Gummy's model, the default `target_model` (the only one before Fun-ASR)."""
PREFIX = re.compile(r"[a-z0-9]{1,9}")
COLUMNS = ("text", "weight", "lang", "target_lang", "translation")


@dataclass(frozen=True)
class GlossaryEntry:
    """One vocabulary entry, as the service takes it."""

    text: str
    weight: int = DEFAULT_WEIGHT
    lang: str | None = None
    target_lang: str | None = None
    translation: str | None = None

    def as_service(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"text": self.text, "weight": self.weight}
        for name in ("lang", "target_lang", "translation"):
            value = getattr(self, name)
            if value:
                entry[name] = value
        return entry

    @classmethod
    def from_service(cls, entry: dict[str, Any]) -> GlossaryEntry:
        return cls(
            text=str(entry.get("text", "")),
            weight=int(entry.get("weight", DEFAULT_WEIGHT)),
            lang=entry.get("lang") or None,
            target_lang=entry.get("target_lang") or None,
            translation=entry.get("translation") or None,
        )


@dataclass(frozen=True)
class Glossary:
    path: Path
    entries: tuple[GlossaryEntry, ...]

    def vocabulary(self, target_model: str = TARGET_MODEL) -> list[dict[str, Any]]:
        return [entry.as_service() for entry in self.entries_for(target_model)]

    def entries_for(self, target_model: str = TARGET_MODEL) -> tuple[GlossaryEntry, ...]:
        """The entries a vocabulary for `target_model` holds. Gummy's: the rows as they are,
        but a row pinning a target only Qwen-MT translates becomes a plain term (unless the
        term is there already). Fun-ASR's: each term once, without pins, its `lang` only when
        Fun-ASR knows it."""
        gummy = not target_model.startswith("fun-asr")
        shaped: list[GlossaryEntry] = []
        if gummy:
            shaped = [e for e in self.entries if e.target_lang in (None, *GUMMY_ALL_TARGETS)]
        present = {entry.text for entry in shaped}
        for entry in self.entries:
            if entry.text in present:
                continue
            present.add(entry.text)
            lang = entry.lang if gummy or entry.lang in FUN_ASR_SOURCES else None
            shaped.append(GlossaryEntry(entry.text, entry.weight, lang))
        return tuple(shaped)

    @property
    def fingerprint(self) -> str:
        return self.fingerprint_for(TARGET_MODEL)

    def fingerprint_for(self, target_model: str) -> str:
        return fingerprint(self.entries_for(target_model), target_model)

    @property
    def prefix(self) -> str:
        return self.prefix_for(TARGET_MODEL)

    def prefix_for(self, target_model: str) -> str:
        """The vocabulary's prefix: `sg` and the content's first 7 hex digits (9 characters,
        within the service's rule), so an existing vocabulary for it is found by listing; the
        model is part of the content, so each model's vocabulary has its own."""
        return "sg" + self.fingerprint_for(target_model)[:7]

    def pinned(self, target: str) -> dict[str, str]:
        """Term → its pinned translation into `target`."""
        return {
            entry.text: entry.translation
            for entry in self.entries
            if entry.target_lang == target and entry.translation
        }


def fingerprint(
    entries: tuple[GlossaryEntry, ...] | list[GlossaryEntry], target_model: str = TARGET_MODEL
) -> str:
    """The same for the same entries in any order (the service keeps them as a set) and the
    same model; never the same for two models."""
    canonical = sorted(json.dumps(entry.as_service(), sort_keys=True) for entry in entries)
    return hashlib.sha256(json.dumps([target_model, canonical]).encode()).hexdigest()


def terms_for(glossary: Glossary | None, target: str) -> tuple[tuple[str, str], ...]:
    """(term, its translation into `target`) for Qwen-MT's `terms`, in the glossary's order."""
    if glossary is None:
        return ()
    return tuple(
        (entry.text, entry.translation)
        for entry in glossary.entries
        if entry.target_lang == target and entry.translation
    )


class GlossaryProblems(UsageError):
    """Every problem of a glossary, one line each (exit status 2)."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("", "\n".join(lines))
        self.lines = lines


def term_problem(text: str) -> str | None:
    """The service's length rule for a term, or None when it holds."""
    if not text.strip():
        return "the term (text) is empty"
    if not text.isascii():
        if len(text) > MAX_NON_ASCII_CHARACTERS:
            return (
                f"{text!r} has {len(text)} characters; a term with non-ASCII characters may "
                f"have at most {MAX_NON_ASCII_CHARACTERS}"
            )
    elif len(text.split()) > MAX_ASCII_WORDS:
        return (
            f"{text!r} has {len(text.split())} words; an ASCII term may have at most "
            f"{MAX_ASCII_WORDS}"
        )
    return None


def prefix_problem(prefix: str) -> str | None:
    if PREFIX.fullmatch(prefix):
        return None
    return f"prefix {prefix!r}: lowercase letters and digits, fewer than 10"


def read_glossary(path: Path) -> Glossary:
    """The glossary in `path`, or GlossaryProblems naming the file, the row and the rule of
    each problem (all of them, not the first)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise GlossaryProblems([f"{path}: {reason or error}"]) from error
    rows = list(csv.reader(text.splitlines()))
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise GlossaryProblems([f"{path}: row 1: no header (expected {','.join(COLUMNS)})"])
    header = [cell.strip().lower() for cell in rows[0]]
    problems = []
    unknown = [name for name in header if name not in COLUMNS]
    if unknown:
        problems.append(
            f"{path}: row 1: unknown column {', '.join(map(repr, unknown))} "
            f"(the service's fields: {', '.join(COLUMNS)})"
        )
    if "text" not in header:
        problems.append(f"{path}: row 1: no text column (the term)")
    if problems:
        raise GlossaryProblems(problems)
    entries: list[GlossaryEntry] = []
    entry_rows: list[int] = []
    seen: dict[tuple[str, str | None], int] = {}
    for row_number, cells in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        fields = {name: (cells[i].strip() if i < len(cells) else "") for i, name in
                  enumerate(header)}  # fmt: skip
        entry, found = _entry(fields)
        problems += [f"{path}: row {row_number}: {problem}" for problem in found]
        if entry is None:
            continue
        key = (entry.text, entry.target_lang)
        if key in seen:
            problems.append(
                f"{path}: row {row_number}: {entry.text!r} repeats row {seen[key]}"
                + (f" for {entry.target_lang}" if entry.target_lang else "")
            )
        seen.setdefault(key, row_number)
        entries.append(entry)
        entry_rows.append(row_number)
    if len(entries) > MAX_ENTRIES:
        problems.append(
            f"{path}: row {entry_rows[MAX_ENTRIES]}: entry {MAX_ENTRIES + 1} of {len(entries)}; "
            f"a vocabulary holds at most {MAX_ENTRIES}"
        )
    if not entries and not problems:
        problems.append(f"{path}: no terms (one per row after the header)")
    if problems:
        raise GlossaryProblems(problems)
    return Glossary(path, tuple(entries))


def _entry(fields: dict[str, str]) -> tuple[GlossaryEntry | None, list[str]]:
    problems = []
    text = fields.get("text", "")
    problem = term_problem(text)
    if problem:
        problems.append(problem)
    weight_text = fields.get("weight", "")
    weight = DEFAULT_WEIGHT
    if weight_text:
        try:
            weight = int(weight_text)
        except ValueError:
            weight = -1
        if not MIN_WEIGHT <= weight <= MAX_WEIGHT:
            problems.append(
                f"weight {weight_text!r} is not an integer {MIN_WEIGHT}-{MAX_WEIGHT} "
                f"({DEFAULT_WEIGHT} advised)"
            )
    lang = fields.get("lang", "").lower() or None
    if lang is not None and lang not in GUMMY_SOURCES:
        problems.append(f"lang {lang!r} is not a Gummy language ({', '.join(GUMMY_SOURCES)})")
    target = normalise_target(fields.get("target_lang", "")) or None
    translation = fields.get("translation", "") or None
    if target is not None and target not in QWEN_MT_LANGUAGES:
        problems.append(
            f"target_lang {target!r} is not a language Gummy or Qwen-MT translates into "
            "(a code such as en, es, zh-TW)"
        )
    if (target is None) != (translation is None):
        problems.append("target_lang and translation go together (both or neither)")
    if problems:
        return None, problems
    return GlossaryEntry(text, weight, lang, target, translation), []
