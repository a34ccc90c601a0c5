"""Subtitle limits per language family, with the Netflix Timed Text Style Guide's defaults.

Sources (Netflix Partner Help Center): "Timed Text Style Guide: General Requirements" (2 lines,
5/6 s to 7 s per event, 2 frames between events), "English (USA) Timed Text Style Guide" (42
characters per line, 20 characters per second for adult programs), the Simplified and Traditional
Chinese guides (16 characters per line, 9 characters per second), the Japanese guide (13
full-width characters per line, 4 characters per second), the Korean guide (16 characters per
line, Latin characters, spaces and punctuation count 0.5; 12 characters per second) and the
French, German, Italian, Spanish and Russian guides (42 characters per line, 17 characters per
second). The languages Qwen-MT added (any of its 92 may be a target) take the guide's own
figures where it has them, else the general default (42 characters per line, 17 characters per
second: General Requirements and the English Template guide's adult reading speed); the table,
with each figure's page, is in docs/formats.md ("Line length and reading speed"). Every figure
can be changed (see `parse_language_limits`).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field, replace
from functools import cache

from subtitler.errors import UsageError
from subtitler.layout.frames import FrameRate
from subtitler.layout.scripts import UNSPACED_LANGUAGES, primary_subtag, script_language, zero_width
from subtitler.layout.shots import ShotRules


@dataclass(frozen=True)
class LanguageRules:
    """Line and reading-speed limits of one language."""

    max_line_chars: float
    max_cps: float
    max_lines: int = 2
    half_width_counts_half: bool = False
    """CJK guides count a full-width character as 1 and a half-width one (Latin, digits,
    spaces, ASCII punctuation) as 0.5."""
    spaced: bool = True
    """Words are separated by spaces (not in Chinese or Japanese)."""
    phrase_model: str | None = None
    """For unspaced text: the BudouX model that finds its phrases (`subtitler.layout.phrases`)."""
    spaces_between_phrases: bool = False
    """Unspaced text whose spaces still end a phrase or a sentence (Thai, Lao, Khmer,
    Burmese): they are kept, and a line breaks there first."""

    @property
    def kinsoku(self) -> bool:
        """Chinese and Japanese line-start and line-end rules apply (`subtitler.layout.kinsoku`)."""
        return not self.spaced


CAPTION_COLUMNS = 32
CAPTION_ROWS = 4
"""Of a CEA-608 pop-on caption (SCC)."""

LATIN = LanguageRules(max_line_chars=42, max_cps=17)
DEFAULT_RULES = LATIN
"""A language the guide has no figures for: its General Requirements' 42 characters per line
(the figure nearly every language guide repeats) and the English Template's adult reading speed,
17 characters per second."""
UNSPACED = LanguageRules(max_line_chars=35, max_cps=17, spaced=False, spaces_between_phrases=True)
"""Lao, Khmer and Burmese (no Netflix guide found): Thai's figures, broken between grapheme
clusters, at spaces first (`subtitler.layout.phrases`)."""
DEFAULT_LANGUAGE_RULES: dict[str, LanguageRules] = {
    "en": LanguageRules(max_line_chars=42, max_cps=20),
    "de": LATIN,
    "fr": LATIN,
    "it": LATIN,
    "es": LATIN,
    "ru": LATIN,
    "zh": LanguageRules(16, 9, half_width_counts_half=True, spaced=False, phrase_model="zh-hans"),
    "zh-tw": LanguageRules(
        16, 9, half_width_counts_half=True, spaced=False, phrase_model="zh-hant"
    ),
    "yue": LanguageRules(16, 9, half_width_counts_half=True, spaced=False, phrase_model="zh-hant"),
    "ja": LanguageRules(13, 4, half_width_counts_half=True, spaced=False, phrase_model="ja"),
    "ko": LanguageRules(16, 12, half_width_counts_half=True, spaced=True),
    "ar": LanguageRules(max_line_chars=42, max_cps=20),
    "hi": LanguageRules(max_line_chars=42, max_cps=22),
    "he": LATIN,
    "th": LanguageRules(
        max_line_chars=35, max_cps=17, spaced=False, phrase_model="th", spaces_between_phrases=True
    ),
    **{language: UNSPACED for language in sorted(UNSPACED_LANGUAGES - {"th"})},
}
"""Per language (lower-case tags; a region or script only where it changes the rules). Any
other language has `DEFAULT_RULES`."""


@dataclass(frozen=True)
class TimingRules:
    """Event timing (General Requirements), in ms. 24 fps frames unless changed."""

    min_duration_ms: int = 834  # 5/6 s, rounded up to whole ms
    max_duration_ms: int = 7000
    min_gap_ms: int = 84  # 2 frames at 24 fps, rounded up
    merge_gap_ms: int = 500
    """Two short sentences this close may share one cue (0: never merge)."""
    merge_below_ms: int = 2000
    """Only sentences shorter than this are merged."""
    frames: FrameRate | None = None
    """Cue times on this video's frame boundaries (`--frame-rate`); None: milliseconds."""
    min_gap_frames: int = 2
    """With `frames`: the gap between cues, in frames (Netflix: two)."""
    shots: ShotRules | None = None
    """With `frames`: the input's shot changes, cues timed to them (`--shot-changes`)."""
    media_end_ms: int | None = None
    """Where the media ends: no cue is extended past it, for the minimum duration or the
    reading speed (a player shows nothing after it). None: not known (a live stream)."""


@dataclass(frozen=True)
class CueRules:
    """All limits a cue is laid out under and checked against."""

    timing: TimingRules = field(default_factory=TimingRules)
    languages: dict[str, LanguageRules] = field(
        default_factory=lambda: dict(DEFAULT_LANGUAGE_RULES)
    )
    default: LanguageRules = DEFAULT_RULES
    """For a language `languages` does not name."""

    def for_language(self, language: str | None, sample_text: str = "") -> LanguageRules:
        """The rules of a language (its whole tag first, `zh-tw`, then its primary subtag,
        `zh`); for an undetermined one, guessed from the script of the text; for one without
        rules of its own, the default."""
        if language is None or language.startswith("und"):
            language = guess_language(sample_text)
        tag = language.lower().replace("_", "-").rstrip("?").split("#")[0]
        if tag in self.languages:
            return self.languages[tag]
        return self.languages.get(primary_subtag(tag), self.default)


def is_wide(character: str) -> bool:
    return unicodedata.east_asian_width(character) in ("W", "F")


def guess_language(text: str) -> str:
    """Script-level guess for text whose language was not given: zh, ja or ko for CJK text,
    the language a script stands for (ar, he, th, hi, ru... `scripts.script_language`), else
    en."""
    kana = hangul = han = 0
    for character in text:
        code = ord(character)
        if 0x3040 <= code <= 0x30FF:
            kana += 1
        elif 0xAC00 <= code <= 0xD7AF or 0x1100 <= code <= 0x11FF:
            hangul += 1
        elif is_wide(character):
            han += 1
    if kana:
        return "ja"
    if hangul:
        return "ko"
    if han:
        return "zh"
    return script_language(text) or "en"


def text_width(text: str, rules: LanguageRules) -> float:
    """Characters as the guide counts them: spaces and punctuation included; combining marks
    (Thai vowels and tone marks, Arabic harakat) and invisible controls (bidi marks) are part
    of the character they sit on, not characters of their own.

    Measured for every token of every candidate line, so each character's width is looked up
    once per process, and ASCII (no marks, nothing wide) is counted without a lookup."""
    halves = rules.half_width_counts_half
    if text.isascii():
        return len(text) * 0.5 if halves else float(len(text))
    return sum(_character_width(character, halves) for character in text)


@cache
def _character_width(character: str, halves: bool) -> float:
    if zero_width(character):
        return 0.0
    if not halves:
        return 1.0
    return 1.0 if is_wide(character) else 0.5


def parse_language_limits(
    spec: str, rules: CueRules, limit: str, option: str = "--max-chars/--max-cps"
) -> CueRules:
    """Apply a `--max-chars` / `--max-cps` spec: `N` (every language) or `xx=N,yy=M`.

    `limit` is "max_line_chars" or "max_cps"; `option` names it in an error.
    """

    def changed(base: LanguageRules, number: float) -> LanguageRules:
        if limit == "max_line_chars":
            return replace(base, max_line_chars=number)
        return replace(base, max_cps=number)

    languages = dict(rules.languages)
    default = rules.default
    for part in filter(None, (p.strip() for p in spec.split(","))):
        language, _, value = part.rpartition("=")
        try:
            number = float(value)
        except ValueError:
            number = -1.0
        if not number > 0:
            raise UsageError(option, f"{part}: {value!r} is not a positive number")
        if language:
            base = replace(rules, languages=languages, default=default).for_language(language)
            languages[language.lower().replace("_", "-")] = changed(base, number)
        else:
            languages = {key: changed(value_, number) for key, value_ in languages.items()}
            default = changed(default, number)
    return replace(rules, languages=languages, default=default)


def with_max_lines(rules: CueRules, max_lines: int) -> CueRules:
    """Every language's line count (`--max-lines`), the default's too."""
    languages = {key: replace(value, max_lines=max_lines) for key, value in rules.languages.items()}
    return replace(rules, languages=languages, default=replace(rules.default, max_lines=max_lines))
