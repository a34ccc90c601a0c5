"""What the emulator says: known sentences recognised by their sound, placeholders otherwise.

Fixture transcripts carry, per sentence, the loudness envelope (10 ms frames, dBFS) that the
voice-activity detector sees for it. A segment heard on the wire is compared with every known
envelope after removing the level difference (so a louder or quieter copy still matches) and
allowing a few frames of onset jitter (codecs and resamplers shift onsets slightly). The
match uses the audio only, never a file name, so it also works mid-file (after a resume).
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

MAX_LAG_FRAMES = 8
PREFIX_FRAMES = 30
"""A segment is identified for partial results once it has 300 ms of sound."""
MATCH_DISTANCE_DB = 4.0
"""Mean absolute envelope difference below which two sounds are the same sentence."""
DURATION_TOLERANCE = 0.12
DYNAMIC_RANGE_DB = 40.0
"""Frames this far below a sentence's peak compare as equal (noise and codec hiss differ)."""


@dataclass(frozen=True)
class Word:
    text: str
    punctuation: str


@dataclass(frozen=True)
class KnownSentence:
    """One fixture sentence: what is said, its translations and the envelope it sounds like."""

    source: str  # the transcript it came from, for diagnostics only
    index: int
    language: str
    text: str
    words: tuple[Word, ...]
    translations: dict[str, str]
    fingerprint_db: tuple[float, ...]
    terms: dict[str, dict[str, str]] = field(default_factory=dict)
    """Term in `text` -> per language, the words of the translation that render it (where a
    hot-word vocabulary pins another translation, those words are replaced)."""


def _as_array(levels: Iterable[float]) -> np.ndarray:
    return np.asarray(list(levels), dtype=np.float64)


def envelope_distance(heard: np.ndarray, known: np.ndarray, frames: int) -> float:
    """Smallest level-independent mean difference over the first `frames` frames, any small lag.

    For each lag the heard envelope is shifted by the mean level difference over the known
    sentence's loud frames (a gain change), then both are floored DYNAMIC_RANGE_DB below the
    known peak, so hiss and codec noise in the quiet frames do not count. All lags are
    computed at once (this runs for every partial of every session).
    """
    count = min(frames, len(known))
    if count <= 0 or len(heard) == 0:
        return math.inf
    floor_db = float(np.max(known)) - DYNAMIC_RANGE_DB
    known_part = np.maximum(known[:count], floor_db)
    loud = known_part > floor_db + 10.0
    if not np.any(loud):
        return math.inf
    padded = np.full(len(heard) + 2 * MAX_LAG_FRAMES + count, np.nan)
    padded[MAX_LAG_FRAMES : MAX_LAG_FRAMES + len(heard)] = heard
    windows = sliding_window_view(padded, count)[: 2 * MAX_LAG_FRAMES + 1]
    enough = np.sum(~np.isnan(windows), axis=1) >= 0.8 * count
    if not np.any(enough):
        return math.inf
    windows = windows[enough]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows are dropped below
        gain_db = np.nanmean(np.where(loud, windows - known_part, np.nan), axis=1)
        adjusted = np.maximum(windows - gain_db[:, None], floor_db)
        errors = np.nanmean(np.abs(adjusted - known_part), axis=1)
    errors = errors[~np.isnan(errors)]
    return float(np.min(errors)) if len(errors) else math.inf


class ScriptLibrary:
    """Every known sentence, searchable by sound."""

    def __init__(self, sentences: Iterable[KnownSentence]) -> None:
        self.sentences = list(sentences)
        self._prints = [_as_array(sentence.fingerprint_db) for sentence in self.sentences]

    @classmethod
    def from_directories(cls, directories: Iterable[Path]) -> ScriptLibrary:
        sentences: list[KnownSentence] = []
        for directory in directories:
            for path in sorted(directory.glob("*.json")):
                sentences.extend(load_transcript(path))
        return cls(sentences)

    @classmethod
    def bundled(cls, extra_directories: Iterable[Path] = ()) -> ScriptLibrary:
        """The fixtures shipped with the package, plus any directories given."""
        bundled = Path(str(resources.files("subtitler.fixtures"))) / "transcripts"
        directories = [bundled] if bundled.is_dir() else []
        return cls.from_directories([*directories, *extra_directories])

    def identify(self, envelope_db: Iterable[float], complete: bool) -> KnownSentence | None:
        """The known sentence this sounds like, or None.

        While a segment grows (`complete` False) the sound so far is compared with the start of
        each known sentence, so the guess firms up as it grows; a complete segment must also
        last about as long as the known one.
        """
        heard = _as_array(envelope_db)
        if len(heard) < PREFIX_FRAMES:
            return None
        best: tuple[float, KnownSentence] | None = None
        for sentence, known in zip(self.sentences, self._prints, strict=True):
            if complete:
                if abs(len(heard) - len(known)) > max(8, DURATION_TOLERANCE * len(known)):
                    continue
                frames = min(len(heard), len(known))
            else:
                frames = min(len(heard), len(known))
            distance = envelope_distance(heard, known, frames)
            if distance <= MATCH_DISTANCE_DB and (best is None or distance < best[0]):
                best = (distance, sentence)
        return best[1] if best else None


def load_transcript(path: Path) -> list[KnownSentence]:
    document = json.loads(path.read_text(encoding="utf-8"))
    sentences = []
    for record in document["sentences"]:
        sentences.append(
            KnownSentence(
                source=path.name,
                index=int(record["index"]),
                language=str(document["source_language"]),
                text=str(record["text"]),
                words=tuple(Word(str(w["text"]), str(w["punctuation"])) for w in record["words"]),
                translations={str(k): str(v) for k, v in record["translations"].items()},
                fingerprint_db=tuple(float(v) for v in record["fingerprint_db"]),
                terms={
                    str(term): {str(k): str(v) for k, v in rendered.items()}
                    for term, rendered in record.get("terms", {}).items()
                },
            )
        )
    return sentences
