"""Sentences in, professional cues out: pure layout (no I/O, no clock).

A Gummy sentence can run for 15 s and 200 characters; a cue may hold 2 lines per language, 42
(Latin) or 16 (Chinese) characters a line, for 5/6 s to 7 s. `CueLayout` turns each finished
sentence into cues under `CueRules`:

1. Split: a sentence that does not fit one cue is cut at word boundaries, using Gummy's word
   timestamps: at sentence punctuation first, then at other punctuation, then before
   conjunctions and prepositions (clause-like boundaries) and at pauses, preferring balanced
   halves that each last the minimum duration; never inside a word (a CJK word the word list
   keeps together stays together); never between a number and its unit.
2. Spread the translation: it is cut at its own punctuation where possible (else between words,
   or phrases for Chinese and Japanese: `subtitler.layout.phrases`) so each cue gets the share of it
   that matches its share of the speech time, in order, moving to a nearby cut that keeps a cue
   within the reading speed. This is approximate: the translation's word order is not the
   transcript's, so a clause may land one cue early or late.
3. Break lines: one line when it fits, else two balanced lines, breaking after punctuation or
   before a conjunction, avoiding one-word orphan lines and number/unit splits; Chinese and
   Japanese lines between phrases and under kinsoku (`subtitler.layout.kinsoku`).
4. Time: a cue starts at its first word (never before the speech), ends at its last word,
   extended for the minimum duration and the reading speed of every language it holds, never
   past 7 s nor the media's end, and ends `min_gap_ms` before the next cue. Consecutive short
   sentences that sit close together are merged into one cue when every limit still holds.

Because cues are written live, the next sentence is not known when a cue is written. The layout
therefore returns updates: new cues, and sometimes a revision of the last cue written (shortened
so the next cue keeps its gap, or merged with the next sentence).
"""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache

from subtitler.layout.kinsoku import may_break_between
from subtitler.layout.phrases import characters, phrases
from subtitler.layout.rules import CueRules, LanguageRules, text_width

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


# --- values ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CueText:
    """The lines of one language in a cue; `language` None when it is not known (auto)."""

    language: str | None
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Cue:
    """One subtitle on the media timeline: [begin_ms, end_ms) and its text, language by language."""

    begin_ms: int
    end_ms: int
    texts: tuple[CueText, ...]

    @property
    def lines(self) -> tuple[str, ...]:
        return tuple(line for text in self.texts for line in text.lines)

    def only(self, indexes: tuple[int, ...]) -> Cue | None:
        """The cue with only the languages at these positions; None when they have no text."""
        kept = tuple(self.texts[i] for i in indexes if i < len(self.texts) and self.texts[i].lines)
        return Cue(self.begin_ms, self.end_ms, kept) if kept else None


@dataclass(frozen=True)
class TimedWord:
    """A word as displayed (trailing punctuation attached) with its time on the media timeline."""

    text: str
    begin_ms: int
    end_ms: int


@dataclass(frozen=True)
class SentenceText:
    """A finished sentence, on the media timeline."""

    begin_ms: int
    end_ms: int
    transcript: str
    translation: str
    words: tuple[TimedWord, ...] = ()


@dataclass(frozen=True)
class LayoutUpdate:
    """What to do to a track: replace its last cue (when not None), then append `added`."""

    replaced: Cue | None
    added: tuple[Cue, ...]


# --- text helpers -----------------------------------------------------------------------------


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
    return out


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
    tokens: list[str] = []
    for phrase in phrases(text, rules.phrase_model):
        if text_width(phrase, rules) > rules.max_line_chars:
            tokens.extend(characters(phrase))  # it will be broken anyway: let cues share it
        else:
            tokens.append(phrase)
    return tokens


def _ending(token: str) -> str:
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


# --- line breaking ------------------------------------------------------------------------------


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
    if k is None and split_tokens and rules.kinsoku:
        tokens = characters(whole)
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

    def width(self, start: int, stop: int) -> float:
        """Width of tokens[start:stop] joined (`join_tokens`)."""
        if stop <= start:
            return 0.0
        return self._prefix[stop] - self._prefix[start] - self._separators[start]

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


# --- splitting a sentence -----------------------------------------------------------------------


@dataclass
class _Piece:
    words: list[TimedWord]
    translation: list[str] = field(default_factory=list)

    @property
    def begin_ms(self) -> int:
        return self.words[0].begin_ms

    @property
    def end_ms(self) -> int:
        return self.words[-1].end_ms

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.begin_ms


def sentence_words(sentence: SentenceText, source: LanguageRules) -> list[TimedWord]:
    """The transcript as timed tokens. The text is the sentence's `text`; Gummy's words give
    timing only. When they spell the text (spacing aside) they are the tokens (a CJK word stays
    one unit); otherwise the text's own tokens take the times of the words they align with
    (words may carry punctuation or not, leading spaces, or miss), and tokens no word covers
    share the time between their neighbours. With no words, times are spread by length."""
    words = [TimedWord(clean_line(w.text), w.begin_ms, w.end_ms) for w in sentence.words]
    words = [w for w in words if w.text]
    if words and _squeeze("".join(w.text for w in words)) == _squeeze(sentence.transcript):
        return _monotonic(words, sentence)
    tokens = tokenize(sentence.transcript, source)
    if not tokens:
        return []
    if words:
        aligned = _align(tokens, words)
        if aligned is not None:
            return _monotonic(aligned, sentence)
    weights = [len(token) + 1 for token in tokens]
    total = sum(weights)
    span = max(0, sentence.end_ms - sentence.begin_ms)
    timed, cursor = [], 0
    for token, weight in zip(tokens, weights, strict=True):
        begin = sentence.begin_ms + span * cursor // total
        cursor += weight
        timed.append(TimedWord(token, begin, sentence.begin_ms + span * cursor // total))
    return timed


def _core(text: str) -> str:
    """Letters and digits only, case-folded: what a token and a word must share to align."""
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def _align(tokens: list[str], words: list[TimedWord]) -> list[TimedWord] | None:
    """Each token timed by the words whose letters it shares (None: too little in common)."""
    word_chars = "".join(_core(w.text) for w in words)
    owner = [index for index, w in enumerate(words) for _ in _core(w.text)]
    token_chars = "".join(_core(t) for t in tokens)
    if not word_chars or not token_chars:
        return None
    matcher = difflib.SequenceMatcher(None, token_chars, word_chars, autojunk=False)
    char_word: dict[int, int] = {}
    for block in matcher.get_matching_blocks():
        for offset in range(block.size):
            char_word[block.a + offset] = owner[block.b + offset]
    if len(char_word) < len(token_chars) / 2:
        return None
    spans: list[tuple[int, int] | None] = []
    position = 0
    for token in tokens:
        length = len(_core(token))
        covered = [char_word[i] for i in range(position, position + length) if i in char_word]
        position += length
        if covered:
            spans.append((words[min(covered)].begin_ms, words[max(covered)].end_ms))
        else:
            spans.append(None)
    timed: list[TimedWord] = []
    for index, token in enumerate(tokens):
        span = spans[index]
        if span is None:
            before = next((s[1] for s in reversed(spans[:index]) if s), words[0].begin_ms)
            after = next((s[0] for s in spans[index + 1 :] if s), words[-1].end_ms)
            span = (before, max(before, after))
        timed.append(TimedWord(token, *span))
    return timed


def _monotonic(words: list[TimedWord], sentence: SentenceText) -> list[TimedWord]:
    """Word times clamped into the sentence and made non-decreasing."""
    fixed: list[TimedWord] = []
    floor = sentence.begin_ms
    for word in words:
        begin = min(max(word.begin_ms, floor), max(sentence.end_ms, floor))
        end = max(begin, min(word.end_ms, max(sentence.end_ms, begin)))
        fixed.append(TimedWord(word.text, begin, end))
        floor = begin
    return fixed


def _piece_fits(
    piece: _Piece, source: LanguageRules, target: LanguageRules | None, rules: CueRules
) -> bool:
    if piece.duration_ms > rules.timing.max_duration_ms:
        return False
    if not fits([w.text for w in piece.words], source):
        return False
    return target is None or not piece.translation or fits(piece.translation, target)


def _split_score(words: list[TimedWord], k: int, rules: CueRules, spaced: bool) -> float:
    left, right = words[:k], words[k:]
    score = 1.5 * punctuation_strength(left[-1].text) + starts_clause(right[0].text)
    if not spaced and right[0].text.startswith(CJK_BREAK_AFTER):
        score -= 1.5  # a particle belongs to the word before it
    if not spaced and not may_break_between(left[-1].text, right[0].text):
        score -= 5.0  # kinsoku: `。` would open the next cue, or `「` end this one
    if number_before_unit(left[-1].text, right[0].text):
        score -= 3.0
    pause_ms = right[0].begin_ms - left[-1].end_ms
    score += min(pause_ms, 600) / 600
    total = max(1, words[-1].end_ms - words[0].begin_ms)
    left_ms = left[-1].end_ms - left[0].begin_ms
    right_ms = right[-1].end_ms - right[0].begin_ms
    score -= 1.5 * abs(left_ms - right_ms) / total
    minimum = rules.timing.min_duration_ms
    if left_ms < minimum or right_ms < minimum:
        score -= 2.0
    return score


def _split(
    piece: _Piece, source: LanguageRules, target: LanguageRules | None, rules: CueRules
) -> list[_Piece]:
    """Recursive best-boundary split until every piece fits (or is one word)."""
    if len(piece.words) < 2 or _piece_fits(piece, source, target, rules):
        return [piece]
    words = piece.words
    best_k = max(range(1, len(words)), key=lambda k: _split_score(words, k, rules, source.spaced))
    left = _Piece(words[:best_k])
    right = _Piece(words[best_k:])
    if piece.translation:
        left.translation, right.translation = spread_translation(
            piece.translation, [left.duration_ms, right.duration_ms], target
        )
    return _split(left, source, target, rules) + _split(right, source, target, rules)


def spread_translation(
    tokens: Sequence[str], durations_ms: Sequence[int], rules: LanguageRules | None
) -> list[list[str]]:
    """Cut the translation into len(durations_ms) runs, in order, each about its cue's share
    of the speech time. Cuts fall between tokens (words; phrases in Chinese and Japanese),
    at the translation's own punctuation when that is close, and move away from a cut that
    would leave a run too long for its lines or too fast to read when a nearby one does not."""
    count = len(durations_ms)
    if count == 1:
        return [list(tokens)]
    spaced = rules is None or rules.spaced
    widths = [len(token) + (1 if spaced else 0) for token in tokens]
    total_width = sum(widths) or 1
    before = [0]
    for width in widths:
        before.append(before[-1] + width)
    weights = [max(1, duration) for duration in durations_ms]
    total_weight = sum(weights)
    measured = _Measured(tokens, rules) if rules is not None else None
    cuts: list[int] = []
    previous = 0
    cumulative = 0.0
    for index in range(count - 1):
        cumulative += weights[index]
        target_position = cumulative / total_weight * total_width
        last_allowed = len(tokens) - (count - 1 - index)
        candidates = range(previous + 1, last_allowed + 1)
        if not candidates:
            cuts.append(previous)
            continue
        rest_ms = sum(weights[index + 1 :])

        def score(
            k: int,
            target_position: float = target_position,
            start: int = previous,
            run_ms: int = weights[index],
            rest_ms: int = rest_ms,
        ) -> float:
            closeness = -abs(before[k] - target_position) / total_width
            bonus = 0.2 * punctuation_strength(tokens[k - 1])
            if rules is None:
                return closeness + bonus
            # A run that fits its lines is likely a cue of its own: keep it within the
            # reading speed where a nearby cut can. One that does not fit is cut again anyway
            # (its piece of speech is split until the translation fits).
            assert measured is not None
            excess = 0.0
            for run_start, run_stop, duration_ms in ((start, k, run_ms), (k, len(tokens), rest_ms)):
                if measured.fits(run_start, run_stop):
                    allowed = rules.max_cps * duration_ms / 1000
                    excess += max(0.0, measured.width(run_start, run_stop) - allowed)
            return closeness + bonus - excess / total_width

        best = max(candidates, key=score)
        cuts.append(best)
        previous = best
    runs: list[list[str]] = []
    start = 0
    for cut in [*cuts, len(tokens)]:
        runs.append(list(tokens[start:cut]))
        start = max(start, cut)
    return runs


# --- timing -------------------------------------------------------------------------------------


def _reading_ms(lines_by_language: Sequence[tuple[tuple[str, ...], LanguageRules]]) -> int:
    """The display time every language's text needs at its own reading speed."""
    need = 0.0
    for lines, rules in lines_by_language:
        width = sum(text_width(line, rules) for line in lines)
        need = max(need, width / rules.max_cps * 1000)
    return math.ceil(need)


@dataclass
class _Placed:
    """The last cue written, with what a revision needs to know of it."""

    cue: Cue
    speech_begin_ms: int
    speech_end_ms: int
    words: list[str]
    translation: list[str]
    mergeable: bool


class CueLayout:
    """Lays out one stream of sentences (one Gummy task) into cues, live."""

    def __init__(
        self, rules: CueRules, source_language: str | None, target_language: str | None
    ) -> None:
        self.rules = rules
        self.source_language = source_language
        self.target_language = target_language
        self._last: _Placed | None = None

    def resume_after(self, last: Cue | None) -> None:
        """Continue after cues written earlier: the next cue keeps its gap after `last`."""
        if last is None:
            self._last = None
            return
        self._last = _Placed(last, last.begin_ms, last.end_ms, [], [], mergeable=False)

    def add(self, sentence: SentenceText) -> LayoutUpdate:
        source = self.rules.for_language(self.source_language, sentence.transcript)
        target = (
            self.rules.for_language(self.target_language, sentence.translation)
            if sentence.translation.strip()
            else None
        )
        words = sentence_words(sentence, source)
        translation = tokenize(sentence.translation, target) if target else []
        if not words:
            if not translation:
                return LayoutUpdate(None, ())
            begin = max(0, sentence.begin_ms)
            words = [TimedWord("", begin, max(begin, sentence.end_ms))]
        if _same_text(words, translation) or self.source_language == self.target_language:
            translation, target = [], None  # the speech is already in the target language
        before = self._last.cue if self._last is not None else None
        merged = self._try_merge(words, translation, source, target)
        if merged is not None:
            return self._on_frames(merged, before)
        pieces = _split(_Piece(words, translation), source, target, self.rules)
        return self._on_frames(self._place(pieces, source, target), before)

    def _on_frames(self, update: LayoutUpdate, before: Cue | None) -> LayoutUpdate:
        """With a frame rate: every time on a frame boundary (the nearest), cues at least
        `min_gap_frames` apart (a cue starts later rather than overlap the gap) and at least
        the minimum duration long, in whole frames. `before`: the last cue before this update
        (already on frames)."""
        timing = self.rules.timing
        frames = timing.frames
        if frames is None:
            return update
        shortest = max(1, math.ceil(frames.frames(timing.min_duration_ms) - Fraction(1, 50)))
        longest = max(shortest, math.floor(frames.frames(timing.max_duration_ms)))

        shots = timing.shots
        last_frame = None  # the last boundary at or before the media's end
        if timing.media_end_ms is not None:
            last_frame = math.floor(frames.frames(timing.media_end_ms))

        def out_time(begin: int, end_ms: int) -> int:
            end = min(max(frames.frame_at(end_ms), begin + shortest), begin + longest)
            if shots is not None:
                end = min(shots.out_time(begin, end, shortest), begin + longest)
            if last_frame is not None:
                end = max(min(end, last_frame), begin + 1)
            return end

        def snapped(cue: Cue, previous_end_ms: int | None) -> Cue:
            floor = 0
            if previous_end_ms is not None:
                floor = frames.frame_at(previous_end_ms) + timing.min_gap_frames
            begin = max(frames.frame_at(cue.begin_ms), floor)
            if shots is not None:
                begin = shots.in_time(begin, floor)
            end = out_time(begin, cue.end_ms)
            return Cue(frames.ms(max(begin, 0)), frames.ms(max(end, 1)), cue.texts)

        replaced = update.replaced
        previous_end = before.end_ms if before is not None else None
        if replaced is not None:  # the last cue, its begin already on a frame
            end = out_time(frames.frame_at(replaced.begin_ms), replaced.end_ms)
            replaced = Cue(replaced.begin_ms, frames.ms(end), replaced.texts)
            previous_end = replaced.end_ms
        added = []
        for cue in update.added:
            placed = snapped(cue, previous_end)
            added.append(placed)
            previous_end = placed.end_ms
        if self._last is not None:
            self._last.cue = added[-1] if added else (replaced or self._last.cue)
        return LayoutUpdate(replaced, tuple(added))

    # -- placing

    def _place(
        self, pieces: list[_Piece], source: LanguageRules, target: LanguageRules | None
    ) -> LayoutUpdate:
        timing = self.rules.timing
        replaced: Cue | None = None
        floor_ms = -1
        if self._last is not None:
            last = self._last
            wanted_end = pieces[0].begin_ms - timing.min_gap_ms
            if wanted_end < last.cue.end_ms:
                # Shorten the last cue to keep the gap, but never under the minimum duration:
                # then the new cue starts a little after its speech instead.
                shortest = min(last.cue.end_ms, last.cue.begin_ms + timing.min_duration_ms)
                new_end = max(wanted_end, shortest, last.cue.begin_ms + 1)
                if new_end != last.cue.end_ms:
                    replaced = Cue(last.cue.begin_ms, new_end, last.cue.texts)
                    last.cue = replaced
            floor_ms = last.cue.end_ms + timing.min_gap_ms
        cues: list[Cue] = []
        for index, piece in enumerate(pieces):
            texts = self._texts(piece.words, piece.translation, source, target)
            need_ms = self._reading_need_ms(texts, source, target)
            begin = max(piece.begin_ms, floor_ms, 0)
            shortest = begin + min(timing.min_duration_ms, timing.max_duration_ms)
            end = max(piece.end_ms, shortest, begin + need_ms)
            end = min(end, begin + timing.max_duration_ms)
            if index + 1 < len(pieces):
                # Reading time may not push the next piece; the minimum duration may.
                end = max(min(end, pieces[index + 1].begin_ms - timing.min_gap_ms), shortest)
            end = max(_within_media(end, timing.media_end_ms), begin + 1)
            cues.append(Cue(begin, end, texts))
            floor_ms = end + timing.min_gap_ms
        last_piece = pieces[-1]
        self._last = _Placed(
            cue=cues[-1],
            speech_begin_ms=last_piece.begin_ms,
            speech_end_ms=last_piece.end_ms,
            words=[w.text for w in last_piece.words],
            translation=list(last_piece.translation),
            mergeable=len(pieces) == 1
            and last_piece.duration_ms < self.rules.timing.merge_below_ms,
        )
        return LayoutUpdate(replaced, tuple(cues))

    def _texts(
        self,
        words: Sequence[TimedWord] | Sequence[str],
        translation: Sequence[str],
        source: LanguageRules,
        target: LanguageRules | None,
    ) -> tuple[CueText, CueText]:
        """Always (source, target), either possibly without lines, so tracks can pick one."""
        tokens = [w.text if isinstance(w, TimedWord) else w for w in words]
        tokens = [t for t in tokens if t]
        source_lines = break_lines(tokens, source) if tokens else ()
        target_lines = break_lines(translation, target) if translation and target else ()
        return (
            CueText(self.source_language, source_lines),
            CueText(self.target_language, target_lines),
        )

    def _reading_need_ms(
        self, texts: tuple[CueText, CueText], source: LanguageRules, target: LanguageRules | None
    ) -> int:
        return _reading_ms([(texts[0].lines, source), (texts[1].lines, target or source)])

    # -- merging

    def _try_merge(
        self,
        words: list[TimedWord],
        translation: list[str],
        source: LanguageRules,
        target: LanguageRules | None,
    ) -> LayoutUpdate | None:
        last = self._last
        timing = self.rules.timing
        if last is None or not last.mergeable or timing.merge_gap_ms <= 0:
            return None
        begin, end = words[0].begin_ms, words[-1].end_ms
        if end - begin >= timing.merge_below_ms:
            return None
        if begin - last.speech_end_ms > timing.merge_gap_ms or begin < last.speech_end_ms:
            return None
        if end - last.speech_begin_ms > timing.max_duration_ms:
            return None
        merged_words = [*last.words, *(w.text for w in words)]
        merged_translation = [*last.translation, *translation]
        if bool(last.translation) != bool(translation):
            return None
        if not fits([w for w in merged_words if w], source):
            return None
        if target is not None and merged_translation and not fits(merged_translation, target):
            return None
        texts = self._texts(merged_words, merged_translation, source, target)
        need_ms = self._reading_need_ms(texts, source, target)
        cue_begin = last.cue.begin_ms
        cue_end = max(end, cue_begin + timing.min_duration_ms, cue_begin + need_ms)
        if cue_end - cue_begin > timing.max_duration_ms:
            return None
        cue_end = max(_within_media(cue_end, timing.media_end_ms), cue_begin + 1)
        merged = Cue(cue_begin, cue_end, texts)
        self._last = _Placed(
            merged, last.speech_begin_ms, end, merged_words, merged_translation, mergeable=True
        )
        return LayoutUpdate(merged, ())


def _within_media(end_ms: int, media_end_ms: int | None) -> int:
    """An end extended for reading stops where the media does: the rules give way to it."""
    return end_ms if media_end_ms is None else min(end_ms, media_end_ms)


def _same_text(words: Sequence[TimedWord], translation: Sequence[str]) -> bool:
    """A 'translation' identical to the transcript (same language) is shown once."""
    spoken = _squeeze("".join(w.text for w in words))
    return bool(translation) and spoken == _squeeze("".join(translation))


def _squeeze(text: str) -> str:
    """Text without any whitespace, to compare spellings that differ only in spacing."""
    return _SPACES.sub("", clean_line(text))


def srt_timestamp(ms: int) -> str:
    hours, rest = divmod(max(0, ms), 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d},{millis:03d}"


def vtt_timestamp(ms: int) -> str:
    return srt_timestamp(ms).replace(",", ".")


def escape_vtt(line: str) -> str:
    """A line of WebVTT cue text: `&`, `<` and `>` as the character references it requires."""
    return line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
