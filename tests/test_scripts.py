"""Recognising fixture sentences by their sound, and not recognising anything else."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from subtitler.emulator.scripts import DURATION_TOLERANCE, ScriptLibrary, envelope_distance


def test_every_fixture_sentence_is_recognised_by_its_own_fingerprint() -> None:
    library = ScriptLibrary.bundled()
    assert len(library.sentences) >= 20
    for sentence in library.sentences:
        assert library.identify(sentence.fingerprint_db, complete=True) == sentence


def test_a_louder_copy_is_still_recognised() -> None:
    library = ScriptLibrary.bundled()
    for sentence in library.sentences:
        louder = [level + 6.0 for level in sentence.fingerprint_db]
        assert library.identify(louder, complete=True) == sentence


def test_other_sounds_are_not_recognised() -> None:
    library = ScriptLibrary.bundled()
    steady = [-20.0] * 250
    assert library.identify(steady, complete=True) is None
    rng = np.random.default_rng(7)
    for _ in range(20):
        noise = list(rng.uniform(-60, -10, size=int(rng.integers(100, 400))))
        assert library.identify(noise, complete=True) is None


def test_a_truncated_sentence_is_not_taken_for_the_whole() -> None:
    library = ScriptLibrary.bundled()
    sentence = library.sentences[0]
    half = sentence.fingerprint_db[: len(sentence.fingerprint_db) // 2]
    assert library.identify(half, complete=True) is None
    assert library.identify(half, complete=False) == sentence


@settings(max_examples=150, deadline=None)
@given(
    pick=st.integers(min_value=0, max_value=10_000),
    kind=st.sampled_from(["noise", "copy", "prefix", "shifted", "silence"]),
    gain_db=st.floats(min_value=-12, max_value=12),
    cut=st.floats(min_value=0.0, max_value=1.0),
    shift=st.integers(min_value=0, max_value=12),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    complete=st.booleans(),
)
def test_all_sentences_at_once_measure_what_one_pair_measures(
    pick: int, kind: str, gain_db: float, cut: float, shift: int, seed: int, complete: bool
) -> None:
    """`distances` (every sentence in one array computation) equals `envelope_distance` per
    sentence, the definition, for sounds near and far from the known ones."""
    library = ScriptLibrary.bundled()
    rng = np.random.default_rng(seed)
    known = np.asarray(library.sentences[pick % len(library.sentences)].fingerprint_db)
    length = max(1, int(len(known) * cut))
    heard = {
        "noise": rng.uniform(-70, -5, size=length + 30),
        "copy": known + gain_db + rng.normal(0, 1.5, size=len(known)),
        "prefix": (known + gain_db)[:length],
        "shifted": np.concatenate([np.full(shift, -90.0), known + gain_db]),
        "silence": np.full(length + 30, -90.0),
    }[kind]
    expected = []
    for sentence in library.sentences:
        other = np.asarray(sentence.fingerprint_db)
        if complete and abs(len(heard) - len(other)) > max(8, DURATION_TOLERANCE * len(other)):
            expected.append(math.inf)
        else:
            expected.append(envelope_distance(heard, other, min(len(heard), len(other))))
    assert np.allclose(library.distances(heard, complete), expected, rtol=1e-9, atol=1e-9)
