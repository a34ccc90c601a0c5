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
    computed at once. The definition: `ScriptLibrary.distances` computes it for every known
    sentence in one array computation, and the tests hold the two equal.
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
    """Every known sentence, searchable by sound.

    `identify` compares a segment with every known envelope in one array computation (the
    same arithmetic as `envelope_distance`, one sentence per row): it runs for every partial
    of every session, and one call per sentence cost the emulator most of its CPU at scale.
    """

    def __init__(self, sentences: Iterable[KnownSentence]) -> None:
        self.sentences = list(sentences)
        prints = [_as_array(sentence.fingerprint_db) for sentence in self.sentences]
        self._lengths = np.array([len(known) for known in prints], dtype=np.int64)
        width = int(self._lengths.max()) if len(prints) else 0
        self._floor_db = np.array(
            [float(np.max(known)) - DYNAMIC_RANGE_DB if len(known) else 0.0 for known in prints]
        )
        self._known = np.zeros((len(prints), width))  # floored at each sentence's floor
        self._loud = np.zeros((len(prints), width), dtype=bool)
        for row, known in enumerate(prints):
            floored = np.maximum(known, self._floor_db[row])
            self._known[row, : len(known)] = floored
            self._loud[row, : len(known)] = floored > self._floor_db[row] + 10.0

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
        bundled = Path(str(resources.files("subtitler"))) / "samples" / "transcripts"
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
        distances = self.distances(heard, complete)
        best = int(np.argmin(distances)) if len(distances) else 0
        if len(distances) == 0 or not distances[best] <= MATCH_DISTANCE_DB:
            return None
        return self.sentences[best]

    def distances(self, heard: np.ndarray, complete: bool) -> np.ndarray:
        """`envelope_distance` of `heard` from every known sentence (inf where not compared)."""
        lengths = self._lengths
        result = np.full(len(lengths), math.inf)
        if len(heard) == 0 or len(lengths) == 0:
            return result
        rows = np.arange(len(lengths))
        if complete:
            tolerance = np.maximum(8, DURATION_TOLERANCE * lengths)
            rows = rows[np.abs(len(heard) - lengths) <= tolerance]
        counts = np.minimum(len(heard), lengths[rows])
        rows, counts = rows[counts > 0], counts[counts > 0]
        if len(rows) == 0:
            return result
        width = int(counts.max())
        columns = np.arange(width)[None, :] < counts[:, None]  # (rows, width)
        loud = self._loud[rows, :width] & columns
        compared = np.any(loud, axis=1)  # a sentence with no loud frame matches nothing
        rows, counts, columns, loud = (
            rows[compared],
            counts[compared],
            columns[compared],
            loud[compared],
        )
        known = self._known[rows, :width]
        floor_db = self._floor_db[rows]
        lags = 2 * MAX_LAG_FRAMES + 1
        padded = np.full(len(heard) + 2 * MAX_LAG_FRAMES + width, np.nan)
        padded[MAX_LAG_FRAMES : MAX_LAG_FRAMES + len(heard)] = heard
        windows = sliding_window_view(padded, width)[:lags]  # (lags, width)
        present = (~np.isnan(windows)).astype(np.float64)  # (lags, width)
        filled = np.where(present > 0, windows, 0.0)
        used_columns = columns.astype(np.float64)  # (rows, width)
        loud_columns = loud.astype(np.float64)
        # Per (row, lag): the frames compared, the gain over the loud ones (sums as products)
        used = used_columns @ present.T
        gain_count = loud_columns @ present.T
        with np.errstate(invalid="ignore", divide="ignore"):
            gain_db = (loud_columns @ filled.T - (loud_columns * known) @ present.T) / gain_count
        # (rows, lags, width), in place: |max(heard - gain, floor) - known| where compared
        adjusted = filled[None, :, :] - gain_db[:, :, None]
        np.maximum(adjusted, floor_db[:, None, None], out=adjusted)
        adjusted -= known[:, None, :]
        np.abs(adjusted, out=adjusted)
        adjusted *= present[None, :, :]
        adjusted *= used_columns[:, None, :]
        with np.errstate(invalid="ignore", divide="ignore"):
            errors = adjusted.sum(axis=2) / used
        comparable = (used >= 0.8 * counts[:, None]) & (gain_count > 0) & ~np.isnan(errors)
        errors = np.where(comparable, errors, np.inf)
        result[rows] = errors.min(axis=1)
        return result


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
