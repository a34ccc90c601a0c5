"""Which of Gummy's source languages a transcript is in, offline.

Gummy detects the spoken language while it recognises but does not report it. Among its ten
source languages the script settles six exactly: kana is Japanese, Hangul Korean, Cyrillic
Russian, Han Chinese (Cantonese when enough Cantonese-only characters, 嘅 咗 喺 佢 ..., appear:
no general identifier knows Cantonese). Latin-script text (en, de, fr, it, es) is scored by
py3langid's model (a maintained fork of langid.py: naive Bayes over byte n-grams) cut down to
those five languages (`scripts/make_langid_model.py`): small in the package and quick to load,
where the whole model is slow and large (`docs/performance.md`). lingua was weighed and left
aside: its models for these languages are far larger. It is scored in plain Python (the `.npz`
read with the standard library): a run that is told its language never loads numpy, and one
that is not pays the model alone, not numpy's import.
"""

from __future__ import annotations

import ast
import math
import struct
import sys
import unicodedata
import zipfile
from array import array
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass
from functools import cache
from importlib import resources
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


def _npy(archive: zipfile.ZipFile, name: str) -> tuple[bool, tuple[int, ...], bytes]:
    """One array of an `.npz` (NumPy's documented `.npy` format, version 1 or 2): whether it
    is in Fortran (column-major) order, its shape and its raw little-endian bytes."""
    raw = archive.read(f"{name}.npy")
    if raw[:6] != b"\x93NUMPY":
        raise ValueError(f"{name}.npy: not an .npy array")
    size_bytes = 2 if raw[6] == 1 else 4
    header_bytes = int.from_bytes(raw[8 : 8 + size_bytes], "little")
    start = 8 + size_bytes
    header: dict[str, Any] = ast.literal_eval(raw[start : start + header_bytes].decode("latin-1"))
    return bool(header["fortran_order"]), tuple(header["shape"]), raw[start + header_bytes :]


class _LatinModel:
    """py3langid's naive Bayes over byte n-grams for the five Latin-script languages only
    (`scripts/make_langid_model.py` made it from py3langid's own model, and says how it
    answers as py3langid does)."""

    def __init__(self) -> None:
        model = resources.files("subtitler.engine").joinpath("langid_latin.npz")
        with model.open("rb") as handle, zipfile.ZipFile(handle) as archive:
            arrays = {
                name: _npy(archive, name)
                for name in ("keys", "feature", "ptc", "pc", "classes", "max_bytes")
            }
        self.keys = array("Q", arrays["keys"][2])  # sorted n-gram keys (length << 56 | bytes)
        self.feature = array("i", arrays["feature"][2])  # each key's feature row
        by_column, (features, languages), ptc = arrays["ptc"]  # float16 (features, languages)
        self.ptc = ptc
        """Kept as stored: a text uses tens of its rows, decoded when used."""
        self.languages = languages
        # ptc[row, column] sits at byte 2 * (row * row_step + column * column_step)
        self.row_step, self.column_step = (1, features) if by_column else (languages, 1)
        self.pc = array("f", arrays["pc"][2])
        if sys.byteorder == "big":  # the arrays are stored little-endian
            for stored in (self.keys, self.feature, self.pc):
                stored.byteswap()
        _, (count,), data = arrays["classes"]  # "<U2": UTF-32 code units
        width = len(data) // count
        self.classes = [
            data[index * width : (index + 1) * width].decode("utf-32-le").rstrip("\0")
            for index in range(count)
        ]
        self.max_bytes = int.from_bytes(arrays["max_bytes"][2], "little", signed=True)

    def classify(self, text: str) -> tuple[str, float]:
        """The language and its probability among the five (py3langid's `norm_probs`)."""
        if text.isupper():
            text = text.lower()
        encoded = unicodedata.normalize("NFC", text).encode("utf-8", errors="surrogatepass")
        keys, feature = self.keys, self.feature
        # After each byte: the feature of the longest suffix that is a node of the trie.
        counted: Counter[int] = Counter()
        for end in range(1, len(encoded) + 1):
            found = -1
            for length in range(1, min(self.max_bytes, end) + 1):
                key = int.from_bytes(encoded[end - length : end], "big") | (length << 56)
                at = bisect_left(keys, key)
                if at < len(keys) and keys[at] == key:
                    found = feature[at]
            if found >= 0:
                counted[found] += 1
        languages = self.languages
        if not counted:
            return self.classes[0], 1 / languages
        scores = list(self.pc)
        ptc, row_step, column_step = self.ptc, self.row_step, self.column_step
        for row, count in counted.items():
            weight = math.log1p(count)
            for column in range(languages):
                at = 2 * (row * row_step + column * column_step)
                scores[column] += weight * struct.unpack_from("<e", ptc, at)[0]
        scale = 1.0 / math.sqrt(len(encoded) or 1)
        top = max(scores)
        exponentials = [math.exp((score - top) * scale) for score in scores]
        total = sum(exponentials)
        best = max(range(languages), key=exponentials.__getitem__)
        return self.classes[best], exponentials[best] / total


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
