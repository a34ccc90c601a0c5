"""Subtitle limits per language family, with the Netflix Timed Text Style Guide's defaults.

Sources (Netflix Partner Help Center): "Timed Text Style Guide: General Requirements" (2 lines,
5/6 s to 7 s per event, 2 frames between events), "English (USA) Timed Text Style Guide" (42
characters per line, 20 characters per second for adult programs), the Simplified and Traditional
Chinese guides (16 characters per line, 9 characters per second), the Japanese guide (13
full-width characters per line, 4 characters per second), the Korean guide (16 characters per
line, Latin characters, spaces and punctuation count 0.5; 12 characters per second) and the
French, German, Italian, Spanish and Russian guides (42 characters per line, 17 characters per
second). Every figure can be changed (see `parse_language_limits`).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field, replace

from subtitler.errors import UsageError
from subtitler.layout.frames import FrameRate
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

    @property
    def kinsoku(self) -> bool:
        """Chinese and Japanese line-start and line-end rules apply (`subtitler.layout.kinsoku`)."""
        return not self.spaced


CAPTION_COLUMNS = 32
CAPTION_ROWS = 4
"""Of a CEA-608 pop-on caption (SCC)."""

LATIN = LanguageRules(max_line_chars=42, max_cps=17)
DEFAULT_LANGUAGE_RULES: dict[str, LanguageRules] = {
    "en": LanguageRules(max_line_chars=42, max_cps=20),
    "de": LATIN,
    "fr": LATIN,
    "it": LATIN,
    "es": LATIN,
    "ru": LATIN,
    "zh": LanguageRules(16, 9, half_width_counts_half=True, spaced=False, phrase_model="zh-hans"),
    "yue": LanguageRules(16, 9, half_width_counts_half=True, spaced=False, phrase_model="zh-hant"),
    "ja": LanguageRules(13, 4, half_width_counts_half=True, spaced=False, phrase_model="ja"),
    "ko": LanguageRules(16, 12, half_width_counts_half=True, spaced=True),
}


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

    def for_language(self, language: str | None, sample_text: str = "") -> LanguageRules:
        """The rules of a language; for an unknown one, guessed from the script of the text."""
        if language is None or language.startswith("und"):
            language = guess_language(sample_text)
        key = language.lower().split("-")[0].rstrip("?").split("#")[0]
        return self.languages.get(key, self.languages.get("en", LATIN))


def is_wide(character: str) -> bool:
    return unicodedata.east_asian_width(character) in ("W", "F")


def guess_language(text: str) -> str:
    """Script-level guess (zh, ja, ko or en) for text whose language was not given."""
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
    return "en"


def text_width(text: str, rules: LanguageRules) -> float:
    """Characters as the guide counts them: spaces and punctuation included."""
    if not rules.half_width_counts_half:
        return float(len(text))
    return sum(1.0 if is_wide(character) else 0.5 for character in text)


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
    for part in filter(None, (p.strip() for p in spec.split(","))):
        language, _, value = part.rpartition("=")
        try:
            number = float(value)
        except ValueError:
            number = -1.0
        if not number > 0:
            raise UsageError(option, f"{part}: {value!r} is not a positive number")
        if language:
            base = languages.get(language.lower(), languages.get("en", LATIN))
            languages[language.lower()] = changed(base, number)
        else:
            languages = {key: changed(value_, number) for key, value_ in languages.items()}
    return replace(rules, languages=languages)
