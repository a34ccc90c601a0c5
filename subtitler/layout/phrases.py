"""Chinese, Japanese and Thai text as phrases: the units a line or cue may break between.

Gummy times the transcript's words but not the translation's, and Chinese and Japanese put no
spaces between words. BudouX (Google; a ~100 KB model per language, no dictionary, made for line
breaking) cuts such text into phrases; this module makes its output safe to break between:
an ASCII word or number it split (`iP|hone`, `20|24年`) is joined again, a number stays with
what it counts (`三|年` and `十五|分钟` are one phrase each), and phrases are joined wherever a
break between them would break a kinsoku rule (`。` opening a line, `「` ending one).

Thai, Lao, Khmer and Burmese put no spaces between words either, but a space there ends a phrase
or a sentence: `spaced_phrases` keeps each space at the end of the unit before it. Thai has a
BudouX model; Lao, Khmer and Burmese have none, so their units are grapheme clusters (a letter
with its combining vowels and tone marks, a Khmer or Burmese consonant stack), never split:
a line never starts with a combining character.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from typing import Protocol

from subtitler.layout.kinsoku import may_break_between
from subtitler.layout.rules import is_wide

PHRASE_MODELS = ("ja", "zh-hans", "zh-hant", "th")
"""BudouX's models: Japanese, Simplified and Traditional Chinese, Thai."""

_ASCII_ALNUM = re.compile(r"[A-Za-z0-9]")
_NUMERAL_END = re.compile(r"[0-9０-９零〇一二三四五六七八九十百千万萬亿億两兩几幾]$")
_CHARACTER_UNITS = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’.\-]*|\s+|.", re.DOTALL)
_LEADING_VOWELS = frozenset("เแโใไເແໂໃໄ")
"""Thai and Lao vowels written before the consonant they follow in speech: never at a line's
end."""
_FOLLOWING_VOWELS = frozenset("ะาำๅๆฯະາຳໆ")
"""Thai and Lao vowels (and repetition marks) written as letters after their consonant: never
at a line's start."""
_JOINERS = frozenset("\u200c\u200d\u034f")


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
        "th": budoux.load_default_thai_parser,
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


def spaced_phrases(text: str, model: str | None) -> list[str]:
    """The phrases of text whose spaces end phrases (Thai, Lao, Khmer, Burmese): BudouX's with
    a model, else grapheme clusters; each space kept at the end of the unit before it, so the
    units joined give the text back (its runs of spaces as one)."""
    if not text.strip():
        return []
    raw = _parser(model).parse(text) if model else _character_units(text)
    units: list[str] = []
    for piece in _join_split_words(raw):
        if units and (not piece.strip() or piece[0].isspace() or not _breakable(units[-1], piece)):
            units[-1] += piece
        else:
            units.append(piece)
    return [" ".join(unit.split()) + (" " if unit[-1:].isspace() else "") for unit in units
            if unit.strip()]  # fmt: skip


def _breakable(left: str, right: str) -> bool:
    """A line may end after `left` and the next start with `right`: one grapheme cluster
    does not end there (`_same_cluster`) and kinsoku allows it."""
    return not _same_cluster(left, right) and may_break_between(left, right)


def _same_cluster(left: str, right: str) -> bool:
    """`right` continues the cluster `left` ends: it starts with a combining mark, a joiner or
    a following vowel, or `left` ends with a leading vowel, a virama (a Khmer coeng, a
    Burmese stacker) or a joiner."""
    first, last = right[:1], left[-1:]
    if not first or not last:
        return False
    if unicodedata.category(first) in ("Mn", "Mc", "Me") or first in _JOINERS:
        return True
    if first in _FOLLOWING_VOWELS:
        return True
    return last in _LEADING_VOWELS or last in _JOINERS or unicodedata.combining(last) == 9


def _character_units(text: str) -> list[str]:
    """Characters (whole ASCII words), a combining character kept with the one before it, and
    a stack (a virama or a Khmer coeng and the consonant after it) kept whole."""
    units: list[str] = []
    for match in _CHARACTER_UNITS.finditer(text):
        piece = match.group(0)
        if units and not piece.isspace() and _same_cluster(units[-1], piece):
            units[-1] += piece
        else:
            units.append(piece)
    return units


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
