"""Glossary CSVs against the service's limits (pure), and the emulator's customization API
refusing what the service refuses, independently of the client's checks."""

from __future__ import annotations

import hashlib
import json
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest

from subtitler.emulator.vocabulary import VocabularyStore
from subtitler.gummy.glossary import (
    GlossaryProblems,
    fingerprint,
    prefix_problem,
    read_glossary,
    term_problem,
)


def written(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "g.csv"
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(GlossaryProblems) as raised:
        read_glossary(written(tmp_path, text))
    return [line.split(": ", 1)[1] for line in raised.value.lines]


def test_the_term_length_rules_at_their_edges() -> None:
    assert term_problem("术" * 15) is None
    assert "16 characters" in str(term_problem("术" * 16))
    assert term_problem("EGFR抑制剂") is None
    assert term_problem(" ".join(["word"] * 7)) is None
    assert "8 words" in str(term_problem(" ".join(["word"] * 8)))
    assert term_problem("  ") == "the term (text) is empty"


def test_prefix_rule() -> None:
    assert prefix_problem("abc123") is None
    assert prefix_problem("abcdefghi") is None
    assert prefix_problem("abcdefghij") is not None
    assert prefix_problem("ABC") is not None and prefix_problem("a-b") is not None


def test_a_glossary_reads_with_defaults_and_its_fingerprint_ignores_order(tmp_path: Path) -> None:
    glossary = read_glossary(
        written(tmp_path, "\ufefftext,translation,target_lang\nA B,x,en\nC,,\n")
    )
    assert [entry.as_service() for entry in glossary.entries] == [
        {"text": "A B", "weight": 4, "target_lang": "en", "translation": "x"},
        {"text": "C", "weight": 4},
    ]
    assert glossary.pinned("en") == {"A B": "x"} and glossary.pinned("ja") == {}
    assert fingerprint(list(reversed(glossary.entries))) == glossary.fingerprint
    assert len(glossary.prefix) == 9 and prefix_problem(glossary.prefix) is None


def test_every_problem_names_its_spreadsheet_row(tmp_path: Path) -> None:
    assert problems(tmp_path, "") == ["row 1: no header (expected text,weight,lang,target_lang,"
                                      "translation)"]  # fmt: skip
    assert problems(tmp_path, "term,weight\nx,1\n")[0].startswith("row 1: unknown column 'term'")
    assert problems(tmp_path, "text\n") == ["no terms (one per row after the header)"]
    found = problems(tmp_path, "text,weight,lang\nA,4,en\nA,0,en\nB,4,xx\n\nA,4,en\nC,4.5,\n")
    assert found == [
        "row 3: weight '0' is not an integer 1-5 (4 advised)",
        "row 4: lang 'xx' is not a Gummy language (zh, en, ja, yue, ko, de, fr, ru, it, es)",
        "row 6: 'A' repeats row 2",
        "row 7: weight '4.5' is not an integer 1-5 (4 advised)",
    ]


def test_more_than_500_entries_is_one_problem_at_the_501st(tmp_path: Path) -> None:
    rows = "".join(f"term{n}\n" for n in range(501))
    assert problems(tmp_path, "text\n\n" + rows) == ["row 503: entry 501 of 501; a vocabulary "
                                                     "holds at most 500"]  # fmt: skip


def create(store: VocabularyStore, **changes: Any) -> tuple[HTTPStatus, dict[str, Any]]:
    given = {
        "action": "create_vocabulary",
        "target_model": "gummy-realtime-v1",
        "prefix": "test",
        "vocabulary": [{"text": "术语", "weight": 4, "target_lang": "en", "translation": "Term"}],
        **changes,
    }
    return store.answer({"model": "speech-biasing", "input": given})


def test_the_emulated_service_refuses_what_the_service_refuses() -> None:
    store = VocabularyStore()
    for changes in [
        {"prefix": "Caps"},
        {"prefix": "tenletters"},
        {"target_model": "whisper"},
        {"vocabulary": [{"text": "x", "weight": 6}]},
        {"vocabulary": [{"text": "术" * 16, "weight": 4}]},
        {"vocabulary": [{"text": "a b c d e f g h", "weight": 4}]},
        {"vocabulary": [{"text": "x", "weight": 4, "target_lang": "en"}]},
        {"vocabulary": [{"text": f"t{n}", "weight": 4} for n in range(501)]},
    ]:
        status, answer = create(store, **changes)
        assert status == HTTPStatus.BAD_REQUEST and answer["code"] == "InvalidParameter", changes
    assert store.vocabularies == {}
    ids = [create(store)[1]["output"]["vocabulary_id"] for _ in range(10)]
    assert all(vocabulary_id.startswith("vocab-test-") for vocabulary_id in ids)
    status, answer = create(store)
    assert status == HTTPStatus.FORBIDDEN and answer["code"] == "VocabularyQuotaExceeded"
    assert store.pinned(ids[0], "en") == {"术语": "Term"} and store.pinned(ids[0], "ja") == {}
    assert store.pinned("vocab-test-nothere", "en") is None
    query = {"action": "query_vocabulary", "vocabulary_id": "nope"}
    gone = store.answer({"model": "speech-biasing", "input": query})
    assert gone[0] == HTTPStatus.NOT_FOUND
    wrong_model = store.answer({"model": "paraformer", "input": {"action": "list_vocabulary"}})
    assert wrong_model[0] == HTTPStatus.BAD_REQUEST


# --- a vocabulary per recognition model, and Qwen-MT's terms (issue 32) ---------------------

from subtitler.gummy.glossary import TARGET_MODEL, GlossaryEntry, terms_for  # noqa: E402

MIXED = (
    "text,weight,lang,target_lang,translation\n"
    "语音翻译模型,4,zh,en,SpeechBridge\n"
    "语音翻译模型,4,zh,es,PuenteDeVoz\n"
    "科技新闻,5,zh,zh_tw,科技新聞\n"
    "字幕,,zh,,\n"
    "Bonjour,3,fr,,\n"
)


def test_targets_qwen_mt_knows_are_accepted_and_normalised(tmp_path: Path) -> None:
    glossary = read_glossary(written(tmp_path, MIXED))
    assert [entry.target_lang for entry in glossary.entries] == ["en", "es", "zh-TW", None, None]
    assert problems(tmp_path, "text,target_lang,translation\nA,xx,B\n") == [
        "row 2: target_lang 'xx' is not a language Gummy or Qwen-MT translates into "
        "(a code such as en, es, zh-TW)"
    ]


def test_terms_for_a_target_are_its_pinned_translations(tmp_path: Path) -> None:
    glossary = read_glossary(written(tmp_path, MIXED))
    assert terms_for(glossary, "es") == (("语音翻译模型", "PuenteDeVoz"),)
    assert terms_for(glossary, "zh-TW") == (("科技新闻", "科技新聞"),)
    assert terms_for(glossary, "th") == ()
    assert terms_for(None, "es") == ()


def test_a_gummy_vocabulary_pins_only_gummy_targets(tmp_path: Path) -> None:
    glossary = read_glossary(written(tmp_path, MIXED))
    assert glossary.vocabulary(TARGET_MODEL) == [
        {"text": "语音翻译模型", "weight": 4, "lang": "zh", "target_lang": "en",
         "translation": "SpeechBridge"},
        {"text": "字幕", "weight": 4, "lang": "zh"},
        {"text": "Bonjour", "weight": 3, "lang": "fr"},
        {"text": "科技新闻", "weight": 5, "lang": "zh"},  # pinned for zh-TW: Qwen-MT's, a term here
    ]  # fmt: skip


def test_a_fun_asr_vocabulary_has_each_term_once_without_pins(tmp_path: Path) -> None:
    glossary = read_glossary(written(tmp_path, MIXED))
    assert glossary.vocabulary("fun-asr-realtime") == [
        {"text": "语音翻译模型", "weight": 4, "lang": "zh"},
        {"text": "科技新闻", "weight": 5, "lang": "zh"},
        {"text": "字幕", "weight": 4, "lang": "zh"},
        {"text": "Bonjour", "weight": 3},  # fr is not a Fun-ASR language
    ]


def test_each_model_has_its_own_vocabulary_and_gummy_keeps_its_old_one(tmp_path: Path) -> None:
    text = (
        "text,weight,lang,target_lang,translation\n语音翻译模型,4,zh,en,SpeechBridge\n字幕,,zh,,\n"
    )
    glossary = read_glossary(written(tmp_path, text))
    assert glossary.fingerprint_for("fun-asr-realtime") != glossary.fingerprint
    assert glossary.prefix_for("fun-asr-realtime") != glossary.prefix
    # A glossary of Gummy's targets only hashes as before: existing vocabularies are reused.
    entries = sorted(
        json.dumps(entry, sort_keys=True)
        for entry in [
            {"text": "语音翻译模型", "weight": 4, "lang": "zh", "target_lang": "en",
             "translation": "SpeechBridge"},
            {"text": "字幕", "weight": 4, "lang": "zh"},
        ]
    )  # fmt: skip
    before = hashlib.sha256(json.dumps([TARGET_MODEL, entries]).encode()).hexdigest()
    assert glossary.fingerprint == before == fingerprint(glossary.entries)
    fun_entries = (GlossaryEntry("语音翻译模型", 4, "zh"), GlossaryEntry("字幕", 4, "zh"))
    assert glossary.fingerprint_for("fun-asr-realtime") == fingerprint(
        fun_entries, "fun-asr-realtime"
    )
