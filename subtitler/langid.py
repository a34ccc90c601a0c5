"""Which of Gummy's source languages a transcript is in, offline.

Gummy detects the spoken language while it recognises but does not report it. Among its ten
source languages the script settles six exactly: kana is Japanese, Hangul Korean, Cyrillic
Russian, Han Chinese (Cantonese when enough Cantonese-only characters, 嘅 咗 喺 佢 ..., appear:
no general identifier knows Cantonese). Latin-script text (en, de, fr, it, es) is scored by
py3langid's model (a maintained fork of langid.py: naive Bayes over byte n-grams) cut down to
those five languages (`scripts/make_langid_model.py`): 400 KB in the package, loaded in a few
ms, where the whole model cost 0.65 s of CPU and about 75 MB. lingua was weighed and left
aside: its models for these languages take hundreds of MB.
"""

from __future__ import annotations

import math
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

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


class _LatinModel:
    """py3langid's naive Bayes over byte n-grams for the five Latin-script languages only
    (`scripts/make_langid_model.py` made it from py3langid's own model, and says how it
    answers as py3langid does). 400 KB, loaded in milliseconds."""

    def __init__(self) -> None:
        with resources.files("subtitler").joinpath("langid_latin.npz").open("rb") as handle:
            data = np.load(handle)
            self.keys = data["keys"]
            self.feature = data["feature"]
            self.ptc = data["ptc"].astype(np.float32)
            self.pc = data["pc"]
            self.classes = [str(code) for code in data["classes"]]
            self.max_bytes = int(data["max_bytes"])

    def classify(self, text: str) -> tuple[str, float]:
        """The language and its probability among the five (py3langid's `norm_probs`)."""
        if text.isupper():
            text = text.lower()
        encoded = unicodedata.normalize("NFC", text).encode("utf-8", errors="surrogatepass")
        data = np.frombuffer(encoded, dtype=np.uint8).astype(np.uint64)
        # After each byte: the feature of the longest suffix that is a node of the trie.
        counted = np.full(len(data), -1, dtype=np.int64)
        for length in range(1, min(self.max_bytes, len(data)) + 1):
            window = sliding_window_view(data, length)
            shifts = np.arange(length - 1, -1, -1, dtype=np.uint64) * np.uint64(8)
            keys = (window << shifts).sum(axis=1, dtype=np.uint64) | np.uint64(length << 56)
            found = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
            hit = self.keys[found] == keys
            counted[length - 1 :][hit] = self.feature[found[hit]]
        features, counts = np.unique(counted[counted >= 0], return_counts=True)
        if not len(features):
            return self.classes[0], 1 / len(self.classes)
        scores = np.log1p(counts.astype(np.float32)) @ self.ptc[features] + self.pc
        scores *= 1.0 / math.sqrt(len(encoded) or 1)
        scores = np.exp(scores - scores.max())
        scores /= scores.sum()
        best = int(scores.argmax())
        return self.classes[best], float(scores[best])


@cache
def _latin_model() -> _LatinModel:
    """Loaded on first use, for Latin-script text only."""
    return _LatinModel()


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
    code, confidence = _latin_model().classify(text)
    if confidence < MIN_CONFIDENCE:
        return None
    return Identified(code, LANGUAGE_NAMES[code], round(float(confidence), 4))
