"""Text into tokens and lines: tokens (words; Chinese and Japanese phrases), where a clause
or a CJK phrase may break, and one or two balanced lines within a language's limits, breaking
after punctuation or before a conjunction, avoiding orphans and number/unit splits, under kinsoku
for Chinese and Japanese (`subtitler.layout.kinsoku`, phrases from `subtitler.layout.phrases`).
Thai, Lao, Khmer and Burmese break between phrases too, at their spaces first (each space stays
at the end of the token before it, and is dropped where a line ends).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

from subtitler.layout.kinsoku import may_break_between
from subtitler.layout.phrases import characters, phrases, spaced_phrases
from subtitler.layout.rules import LanguageRules, text_width

STRONG_PUNCTUATION = frozenset(".!?。！？…")
WEAK_PUNCTUATION = frozenset(",;:，；：、—–")
CLOSERS = "\"'”’)]}」』）》"
CONJUNCTIONS = frozenset(
    "and but or so because which that when while if although though since until unless "
    "whereas where who whom whose after before then yet nor".split()
)
PREPOSITIONS = frozenset(
    "to in on at for with from about into over under through between during without "
    "within across against among toward towards upon by".split()
)
CJK_CONJUNCTIONS = tuple(
    "但是 可是 因为 所以 而且 如果 虽然 然后 并且 或者 因此 不过 而是 于是 否则 只要 只有 除非 "
    "即使 但 而".split()
)
CJK_BREAK_BEFORE = tuple(
    "我们 他们 你们 她们 这 那 在 把 被 对 从 给 让 也 都 就 还 能 要 会 可以 已经 正在".split()
)
"""Without a word list (a translation), good places to break Chinese text: before these..."""
CJK_BREAK_AFTER = tuple("的了着过地得吗呢吧啊")
"""...and after these particles."""
UNITS = frozenset(
    "% percent ms s sec secs seconds minute minutes min mins hour hours h km m cm mm kg g mg lb "
    "lbs mph kph °c °f c f dollars euros yuan yen people years year days day times".split()
)
CJK_UNIT_PREFIXES = tuple("分秒点小时天年月日个人次岁元块米公斤里度")
_DIGIT_TAIL = re.compile(r"[0-9零一二三四五六七八九十百千万亿两]$")
_SPACES = re.compile(r"\s+")
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ASCII_WORD = re.compile(r"[A-Za-z0-9]")


def clean_line(text: str) -> str:
    """One display line: no line breaks or runs of spaces, and no `-->` (it would end a cue
    header in SRT and VTT), no control characters (XML forbids them). Strict parsers must read
    back exactly what was written."""
    return _SPACES.sub(" ", _CONTROLS.sub("", text).replace("-->", "→")).strip()


def join_tokens(tokens: Sequence[str], spaced: bool) -> str:
    """Tokens as one line: spaces between words, none between CJK words (but between two
    Latin words inside Chinese text, e.g. `iPhone 15`)."""
    if spaced:
        return " ".join(tokens)
    out = ""
    for token in tokens:
        if out and _ASCII_WORD.match(out[-1]) and _ASCII_WORD.match(token[:1]):
            out += " "
        out += token
    return out.rstrip(" ")  # a Thai phrase's space, where the line ends


def join_lines(lines: Sequence[str]) -> str:
    """A cue's lines as one line of running text: a line break between two wide characters
    (Chinese, Japanese, Korean, full-width punctuation) joins without a space, any other with
    one (`研究人员发布了一种` + `新的模型。` -> `研究人员发布了一种新的模型。`)."""
    out = ""
    for line in (line.strip() for line in lines):
        if not line:
            continue
        if out and not (_wide(out[-1]) and _wide(line[0])):
            out += " "
        out += line
    return out


def _wide(character: str) -> bool:
    return unicodedata.east_asian_width(character) in ("W", "F")


def tokenize(text: str, rules: LanguageRules) -> list[str]:
    """Display tokens of a text with no word list: words, or for Chinese and Japanese the
    phrases of `subtitler.layout.phrases` (never split by a line or cue break unless nothing else
    fits); punctuation stays with the token before it."""
    text = clean_line(text)
    if rules.spaced:
        return text.split(" ") if text else []
    if rules.spaces_between_phrases:
        units = spaced_phrases(text, rules.phrase_model)
        return [
            piece
            for unit in units
            for piece in (
                [unit] if text_width(unit, rules) <= rules.max_line_chars else _clusters(unit)
            )
        ]
    tokens: list[str] = []
    for phrase in phrases(text, rules.phrase_model):
        if text_width(phrase, rules) > rules.max_line_chars:
            tokens.extend(characters(phrase))  # it will be broken anyway: let cues share it
        else:
            tokens.append(phrase)
    return tokens


def _clusters(unit: str) -> list[str]:
    """A phrase too long for a line as grapheme clusters, its trailing space kept."""
    pieces = spaced_phrases(unit, None)
    if unit.endswith(" ") and pieces and not pieces[-1].endswith(" "):
        pieces[-1] += " "
    return pieces


def _ending(token: str) -> str:
    token = token.rstrip(" ")
    return token.rstrip(CLOSERS)[-1:] if token.rstrip(CLOSERS) else ""


def punctuation_strength(token: str) -> int:
    """2 after sentence punctuation, 1 after clause punctuation, else 0."""
    end = _ending(token)
    if end in STRONG_PUNCTUATION:
        return 2
    if end in WEAK_PUNCTUATION:
        return 1
    return 0


def starts_clause(token: str) -> float:
    """How good a boundary it is *before* this token: conjunctions, then prepositions."""
    word = token.lower().strip("\"'“‘(")
    word = word.rstrip(".,;:!?")
    if word in CONJUNCTIONS or token.startswith(CJK_CONJUNCTIONS):
        return 1.0
    if word in PREPOSITIONS:
        return 0.6
    return 0.0


def cjk_boundary(left: Sequence[str], right: Sequence[str]) -> float:
    """1 where Chinese text without a word list likely has a word boundary, else 0."""
    tail = "".join(left[-2:])
    head = "".join(right[:2])
    if tail.endswith(CJK_BREAK_AFTER) or head.startswith(CJK_BREAK_BEFORE):
        return 1.0
    return 0.0


def number_before_unit(left: str, right: str) -> bool:
    """Never break between a number and its unit (`15 minutes`, `3 km`, `十五 分钟`)."""
    if not _DIGIT_TAIL.search(left):
        return False
    unit = right.lower().rstrip(".,;:!?。，；：！？")
    return unit in UNITS or right.startswith(CJK_UNIT_PREFIXES)


def break_lines(
    tokens: Sequence[str], rules: LanguageRules, split_tokens: bool = True
) -> tuple[str, ...]:
    """One line if it fits, else the best two-line break between tokens. Chinese and Japanese
    lines never break against kinsoku; when no break between phrases fits, and `split_tokens`,
    the phrases are broken at characters (still under kinsoku) rather than overflow."""
    if not tokens:
        return ()
    whole = join_tokens(tokens, rules.spaced)
    measured = _Measured(tokens, rules)
    if measured.width(0, len(tokens)) <= rules.max_line_chars:
        return (whole,)
    k = measured.two_line_break(0, len(tokens)) if rules.max_lines >= 2 else None
    by_phrases = rules.spaces_between_phrases and rules.phrase_model is not None
    if k is None and split_tokens and rules.kinsoku and not by_phrases:
        tokens = _clusters(whole) if rules.spaces_between_phrases else characters(whole)
        measured = _Measured(tokens, rules)
        k = measured.two_line_break(0, len(tokens)) if rules.max_lines >= 2 else None
        if k is None:
            return _greedy_lines(tokens, rules)
    if k is not None:
        return join_tokens(tokens[:k], rules.spaced), join_tokens(tokens[k:], rules.spaced)
    if len(tokens) == 1:
        return (whole,)
    return _greedy_lines(tokens, rules)


@lru_cache(maxsize=65536)
def _token_width(token: str, rules: LanguageRules) -> float:
    return text_width(token, rules)


class _Measured:
    """Tokens measured once, so any run of them, and any break of a run into two lines, is
    measured without joining strings: layout runs on the event loop, and a long sentence
    tries hundreds of runs."""

    def __init__(self, tokens: Sequence[str], rules: LanguageRules) -> None:
        self.tokens = tokens
        self.rules = rules
        space = _token_width(" ", rules)
        self._separators = [
            space
            if index
            and (
                rules.spaced
                or (_ASCII_WORD.match(tokens[index - 1][-1:]) and _ASCII_WORD.match(token[:1]))
            )
            else 0.0
            for index, token in enumerate(tokens)
        ]
        self._prefix = [0.0]
        for token, separator in zip(tokens, self._separators, strict=True):
            self._prefix.append(self._prefix[-1] + separator + _token_width(token, rules))
        self._trailing = [
            _token_width(token[len(token.rstrip(" ")) :], rules) if token else 0.0
            for token in tokens
        ]
        """The space a Thai phrase ends with: not counted where a line ends after it."""

    def width(self, start: int, stop: int) -> float:
        """Width of tokens[start:stop] joined (`join_tokens`)."""
        if stop <= start:
            return 0.0
        return (
            self._prefix[stop]
            - self._prefix[start]
            - self._separators[start]
            - self._trailing[stop - 1]
        )

    def fits(self, start: int, stop: int) -> bool:
        """tokens[start:stop] fit the line limits without breaking inside a token."""
        rules = self.rules
        if self.width(start, stop) <= rules.max_line_chars:
            return True
        if rules.max_lines == 2:
            return self.two_line_break(start, stop) is not None
        if rules.max_lines < 2:
            return False
        lines = break_lines(self.tokens[start:stop], rules, split_tokens=False)
        return len(lines) <= rules.max_lines and all(
            text_width(line, rules) <= rules.max_line_chars for line in lines
        )

    def two_line_break(self, start: int, stop: int) -> int | None:
        """Where the best legal break of tokens[start:stop] into two lines within the line
        length falls (the second line's first token); None when there is none."""
        rules, tokens = self.rules, self.tokens
        best: tuple[float, int] | None = None
        if self.width(start, stop) > 2 * rules.max_line_chars + _token_width(" ", rules):
            return None
        count = stop - start
        for k in range(start + 1, stop):
            top_width, bottom_width = self.width(start, k), self.width(k, stop)
            if max(top_width, bottom_width) > rules.max_line_chars:
                continue
            if rules.kinsoku and not may_break_between(tokens[k - 1], tokens[k]):
                continue
            score = -abs(top_width - bottom_width) / rules.max_line_chars
            score += 0.5 * punctuation_strength(tokens[k - 1]) + 0.25 * starts_clause(tokens[k])
            if not rules.spaced:
                score += 0.15 * cjk_boundary(tokens[max(start, k - 2) : k], tokens[k : k + 2])
            if rules.spaces_between_phrases and tokens[k - 1].endswith(" "):
                score += 0.3  # a space ends a phrase or a sentence
            if number_before_unit(tokens[k - 1], tokens[k]):
                score -= 2.0
            if (k == start + 1 or k == stop - 1) and count >= 4:
                score -= 0.6  # a one-word orphan line
            if best is None or score > best[0]:
                best = (score, k)
        return None if best is None else best[1]


def _greedy_lines(tokens: Sequence[str], rules: LanguageRules) -> tuple[str, ...]:
    """Too long for the line limit: fill lines greedily (the checker will report it)."""
    lines: list[list[str]] = [[]]
    for token in tokens:
        candidate = join_tokens([*lines[-1], token], rules.spaced)
        legal = not rules.kinsoku or not lines[-1] or may_break_between(lines[-1][-1], token)
        if lines[-1] and legal and text_width(candidate, rules) > rules.max_line_chars:
            lines.append([token])
        else:
            lines[-1].append(token)
    return tuple(join_tokens(line, rules.spaced) for line in lines)


def fits(tokens: Sequence[str], rules: LanguageRules) -> bool:
    """The tokens fit the line limits without breaking inside one (a phrase)."""
    return _Measured(tokens, rules).fits(0, len(tokens))


def squeezed(text: str) -> str:
    """Text without any whitespace, to compare spellings that differ only in spacing."""
    return _SPACES.sub("", clean_line(text))
