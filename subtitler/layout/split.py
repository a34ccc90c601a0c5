"""A sentence that does not fit one cue, cut into pieces at word boundaries (Gummy's word
timestamps: sentence punctuation first, then other punctuation, clause-like boundaries and
pauses, balanced halves that each last the minimum duration), and its translation spread over
the pieces by their share of the speech time, at its own punctuation where possible.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field

from subtitler.layout.kinsoku import may_break_between
from subtitler.layout.lines import (
    CJK_BREAK_AFTER,
    _Measured,
    clean_line,
    fits,
    number_before_unit,
    punctuation_strength,
    squeezed,
    starts_clause,
    tokenize,
)
from subtitler.layout.rules import CueRules, LanguageRules
from subtitler.layout.values import SentenceText, TimedWord


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
    if words and squeezed("".join(w.text for w in words)) == squeezed(sentence.transcript):
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
