"""Recognising fixture sentences by their sound, and not recognising anything else."""

from __future__ import annotations

import numpy as np

from subtitler.emulator.scripts import ScriptLibrary


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
