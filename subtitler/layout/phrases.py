"""Chinese and Japanese text as phrases: the units a line or cue may break between.

Gummy times the transcript's words but not the translation's, and Chinese and Japanese put no
spaces between words. BudouX (Google; a ~100 KB model per language, no dictionary, made for line
breaking) cuts such text into phrases; this module makes its output safe to break between:
an ASCII word or number it split (`iP|hone`, `20|24年`) is joined again, a number stays with
what it counts (`三|年` and `十五|分钟` are one phrase each), and phrases are joined wherever a
break between them would break a kinsoku rule (`。` opening a line, `「` ending one).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Protocol

from subtitler.layout.kinsoku import may_break_between
from subtitler.layout.rules import is_wide

PHRASE_MODELS = ("ja", "zh-hans", "zh-hant")
"""BudouX's models: Japanese, Simplified and Traditional Chinese."""

_ASCII_ALNUM = re.compile(r"[A-Za-z0-9]")
_NUMERAL_END = re.compile(r"[0-9０-９零〇一二三四五六七八九十百千万萬亿億两兩几幾]$")
_CHARACTER_UNITS = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’.\-]*|\s+|.", re.DOTALL)


class _Parser(Protocol):
    def parse(self, sentence: str) -> list[str]: ...


@cache
def _parser(model: str) -> _Parser:
    """Loaded on first use: BudouX costs ~8 ms to import, which `--help` need not pay."""
    import budoux

    loaders = {
        "ja": budoux.load_default_japanese_parser,
        "zh-hans": budoux.load_default_simplified_chinese_parser,
        "zh-hant": budoux.load_default_traditional_chinese_parser,
    }
    if model not in loaders:
        raise ValueError(f"no phrase model {model!r}; known: {', '.join(PHRASE_MODELS)}")
    parser: _Parser = loaders[model]()
    return parser


def phrases(text: str, model: str | None) -> list[str]:
    """The text's phrases in order, whitespace only between them (never lost inside one),
    each safe to end a line after. With no model, characters (and whole ASCII words)."""
    if not text.strip():
        return []
    raw = _parser(model).parse(text) if model else _character_units(text)
    return _legal_units(_join_numbers(_join_split_words(raw)))


def characters(text: str) -> list[str]:
    """The finest legal units: characters and whole ASCII words, kinsoku applied. Used only
    when no break between phrases fits a line."""
    return _legal_units(_join_split_words(_character_units(text)))


def _character_units(text: str) -> list[str]:
    return [match.group(0) for match in _CHARACTER_UNITS.finditer(text)]


def _join_split_words(pieces: list[str]) -> list[str]:
    """Join pieces cut inside an ASCII word or number (no whitespace at the cut)."""
    joined: list[str] = []
    for piece in pieces:
        if (
            joined
            and piece
            and _ASCII_ALNUM.match(joined[-1][-1:])
            and _ASCII_ALNUM.match(piece[0])
        ):
            joined[-1] += piece
        else:
            joined.append(piece)
    return joined


def _join_numbers(pieces: list[str]) -> list[str]:
    """A phrase ending in a numeral joins the CJK phrase after it (its counter or unit)."""
    joined: list[str] = []
    for piece in pieces:
        if joined and _NUMERAL_END.search(joined[-1]) and piece[:1] and is_wide(piece[0]):
            joined[-1] += piece
        else:
            joined.append(piece)
    return joined


def _legal_units(pieces: list[str]) -> list[str]:
    """Strip whitespace at the edges, drop empty pieces, and join neighbours that may not be
    broken apart (kinsoku)."""
    units: list[str] = []
    for piece in pieces:
        text = piece.strip()
        if not text:
            continue
        if units and not may_break_between(units[-1], text):
            units[-1] = _glue(units[-1], text)
        else:
            units.append(text)
    return units


def _glue(left: str, right: str) -> str:
    """Two units as one: a space only between two ASCII words, as in the source."""
    if _ASCII_ALNUM.match(left[-1]) and _ASCII_ALNUM.match(right[0]):
        return f"{left} {right}"
    return left + right
