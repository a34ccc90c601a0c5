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

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from subtitler.layout.lines import (
    _Measured,
    break_lines,
    clean_line,
    fits,
    join_lines,
    join_tokens,
    squeezed,
    tokenize,
)
from subtitler.layout.rules import CueRules, LanguageRules, text_width
from subtitler.layout.split import _Piece, _split, sentence_words, spread_translation
from subtitler.layout.timestamps import escape_vtt, srt_timestamp, vtt_timestamp
from subtitler.layout.values import Cue, CueText, LayoutUpdate, SentenceText, TimedWord

__all__ = [  # the layout's one entry point, and (re-exported) the names it has always offered
    "Cue",
    "CueLayout",
    "CueText",
    "LayoutUpdate",
    "SentenceText",
    "TimedWord",
    "_Measured",
    "break_lines",
    "clean_line",
    "escape_vtt",
    "join_lines",
    "join_tokens",
    "spread_translation",
    "srt_timestamp",
    "tokenize",
    "vtt_timestamp",
]


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
    spoken = squeezed("".join(w.text for w in words))
    return bool(translation) and spoken == squeezed("".join(translation))
