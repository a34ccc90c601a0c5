"""Which of Gummy's source languages a transcript is in, offline.

Gummy detects the spoken language while it recognises but does not report it. py3langid (a
maintained fork of langid.py: naive Bayes over byte n-grams, its model ships in the wheel,
~4.6 MB, numpy only) is restricted to Gummy's source languages; lingua was weighed and left
aside (its models for these languages take hundreds of MB). langid has no Cantonese: Chinese
text with enough Cantonese-only characters (嘅, 咗, 喺, 佢 ...) is `yue`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from subtitler.languages import SOURCE_LANGUAGES

LANGUAGE_NAMES = {
    "zh": "chinese",
    "en": "english",
    "ja": "japanese",
    "ko": "korean",
    "yue": "cantonese",
    "de": "german",
    "fr": "french",
    "ru": "russian",
    "it": "italian",
    "es": "spanish",
}
"""Whisper's names for them (whisper-asr-webservice answers with these)."""

CANTONESE_MARKERS = frozenset("嘅咗喺佢冇嘢啲乜咁哋嗰噉囉嚟啱揾睇唔係咩")
MIN_LETTERS = 6
"""Fewer letters than this say too little to tell."""
MIN_CONFIDENCE = 0.5


@dataclass(frozen=True)
class Identified:
    code: str
    name: str
    confidence: float


@cache
def _identifier() -> Any:
    """Loaded on first use (0.6 s here): only `-s auto` runs and `detect-language` need it."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages([code for code in SOURCE_LANGUAGES if code != "yue"])
    return identifier


def identify(text: str) -> Identified | None:
    """The language of `text` among Gummy's source languages; None when it cannot tell."""
    letters = [character for character in text if character.isalpha()]
    if len(letters) < MIN_LETTERS:
        return None
    code, confidence = _identifier().classify(text)
    if confidence < MIN_CONFIDENCE:
        return None
    if code == "zh":
        markers = sum(character in CANTONESE_MARKERS for character in letters)
        if markers >= max(2, len(letters) // 25):
            code = "yue"
    return Identified(code, LANGUAGE_NAMES[code], round(float(confidence), 4))
