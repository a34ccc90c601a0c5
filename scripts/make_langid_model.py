#!/usr/bin/env python3
"""Make `subtitler/engine/langid_latin.npz`: py3langid's model cut down to Gummy's five Latin-script
source languages (en, de, fr, it, es), so naming a language costs milliseconds, not a second.

py3langid scores byte n-gram features found by a DFA (Aho-Corasick): after each byte of the
text its state is the longest suffix of the text so far that is a node of the features' trie,
and that node's feature (if it is one) is counted. This script recovers every node's bytes (a
breadth-first walk of the DFA: a node is first reached by its own bytes), keeps the nodes made
only of bytes Latin-script UTF-8 text contains (ASCII, U+0080-U+024F), and stores them as
sorted integer keys with their features' log-probabilities for the five languages (float16, as
in py3langid) and the class priors. `subtitler.engine.langid` finds the same longest suffixes with
numpy and scores them as py3langid does, so on Latin-script text it answers as
py3langid restricted to the five languages (tests/test_languages.py compares them).

    pip install py3langid && python scripts/make_langid_model.py
"""

from __future__ import annotations

from collections import deque
from pathlib import Path

import numpy as np
from py3langid.langid import MODEL_DIR, MODEL_FILE
from py3langid.modelio import load_model

LANGUAGES = ("en", "de", "fr", "it", "es")
OUT = Path(__file__).resolve().parent.parent / "subtitler" / "engine" / "langid_latin.npz"


def latin_byte(value: int) -> bool:
    return value < 0x80 or 0x80 <= value <= 0xBF or 0xC2 <= value <= 0xC9


def node_key(data: bytes) -> int:
    """Length in the top byte, the bytes below: unique for up to 7 bytes."""
    return (len(data) << 56) | int.from_bytes(data, "big")


def main() -> None:
    ptc, pc, classes, nextmove, rows, outputs = load_model(MODEL_DIR / MODEL_FILE)
    moves = np.asarray(nextmove)
    row_of = np.asarray(rows)
    paths: dict[int, bytes] = {0: b""}
    queue = deque([0])
    while queue:
        state = queue.popleft()
        targets = moves[(int(row_of[state]) << 8) : (int(row_of[state]) << 8) + 256]
        for value, target in enumerate(targets.tolist()):
            if target not in paths:
                paths[target] = paths[state] + bytes([value])
                queue.append(target)
    columns = [list(classes).index(code) for code in LANGUAGES]
    kept = sorted(
        (node_key(data), int(outputs[state]))
        for state, data in paths.items()
        if data and all(latin_byte(value) for value in data)
    )
    features = sorted({feature for _, feature in kept if feature >= 0})
    index = {feature: position for position, feature in enumerate(features)}
    np.savez_compressed(
        OUT,
        keys=np.array([key for key, _ in kept], dtype=np.uint64),
        feature=np.array([index.get(feature, -1) for _, feature in kept], dtype=np.int32),
        ptc=np.asarray(ptc)[features][:, columns].astype(np.float16),
        pc=np.asarray(pc)[columns].astype(np.float32),
        classes=np.array(LANGUAGES),
        max_bytes=np.array(max(len(data) for data in paths.values())),
    )
    print(f"{OUT}: {len(kept)} nodes, {len(features)} features, {OUT.stat().st_size} bytes")


if __name__ == "__main__":
    main()
