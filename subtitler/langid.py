"""Which of Gummy's source languages a transcript is in, offline.

Gummy detects the spoken language while it recognises but does not report it. Among its ten
source languages the script settles six exactly: kana is Japanese, Hangul Korean, Cyrillic
Russian, Han Chinese (Cantonese when enough Cantonese-only characters, 嘅 咗 喺 佢 ..., appear:
no general identifier knows Cantonese). Latin-script text (en, de, fr, it, es) goes to
py3langid, a maintained fork of langid.py (naive Bayes over byte n-grams; its model ships in
the 4.6 MB wheel, numpy only) restricted to those languages. Its model costs 0.65 s of CPU to
load and about 75 MB of memory, once per process, and is loaded only for Latin-script speech.
lingua was weighed and left aside: its models for these languages take hundreds of MB.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import cache
from typing import Any

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


LATIN_LANGUAGES = ("en", "de", "fr", "it", "es")


@cache
def _identifier() -> Any:
    """Loaded on first use, for Latin-script text only."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(LATIN_LANGUAGES))
    if hasattr(identifier, "_full_model"):  # kept only to widen the set again: 28 MB we free
        identifier._full_model = (identifier.nb_ptc, identifier.nb_pc, identifier.nb_classes)
    return identifier


def _script(character: str) -> str:
    code = ord(character)
    if 0x3040 <= code <= 0x30FF or 0x31F0 <= code <= 0x31FF or 0xFF66 <= code <= 0xFF9D:
        return "kana"
    if 0xAC00 <= code <= 0xD7AF or 0x1100 <= code <= 0x11FF or 0x3130 <= code <= 0x318F:
        return "hangul"
    if 0x0400 <= code <= 0x04FF:
        return "cyrillic"
    if 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0x20000 <= code <= 0x2FFFF:
        return "han"
    return "latin" if character.isascii() or 0x00C0 <= code <= 0x024F else "other"


def identify(text: str) -> Identified | None:
    """The language of `text` among Gummy's source languages; None when it cannot tell."""
    letters = [character for character in text if character.isalpha()]
    if len(letters) < MIN_LETTERS:
        return None
    scripts = Counter(_script(character) for character in letters)
    if scripts["kana"] and scripts["kana"] + scripts["han"] >= len(letters) / 2:
        return Identified("ja", LANGUAGE_NAMES["ja"], 1.0)
    for script, code in (("hangul", "ko"), ("cyrillic", "ru")):
        if scripts[script] >= len(letters) / 2:
            return Identified(code, LANGUAGE_NAMES[code], 1.0)
    if scripts["han"] >= len(letters) / 2:
        markers = sum(character in CANTONESE_MARKERS for character in letters)
        code = "yue" if markers >= max(2, len(letters) // 25) else "zh"
        return Identified(code, LANGUAGE_NAMES[code], 1.0)
    if scripts["latin"] < len(letters) / 2:
        return None
    code, confidence = _identifier().classify(text)
    if confidence < MIN_CONFIDENCE:
        return None
    return Identified(code, LANGUAGE_NAMES[code], round(float(confidence), 4))
