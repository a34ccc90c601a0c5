"""The documented Gummy language pairs."""

from __future__ import annotations

import pytest

from subtitler.errors import UsageError
from subtitler.languages import check_pairs, parse_targets


def test_targets_are_parsed_in_order_without_repeats() -> None:
    assert parse_targets(" EN, ja,en ,") == ("en", "ja")
    with pytest.raises(UsageError):
        parse_targets(" , ")


@pytest.mark.parametrize(
    ("source", "targets"),
    [("zh", ("en", "ja", "ko")), ("en", ("zh",)), ("fr", ("zh", "en")), (None, ("en", "ko"))],
)
def test_documented_pairs_pass(source: str | None, targets: tuple[str, ...]) -> None:
    check_pairs(source, targets)


@pytest.mark.parametrize(
    ("source", "targets"),
    [("ja", ("ko",)), ("zh", ("zh",)), ("de", ("fr",)), (None, ("xx",)), ("tlh", ("en",))],
)
def test_undocumented_pairs_are_usage_errors(source: str | None, targets: tuple[str, ...]) -> None:
    with pytest.raises(UsageError):
        check_pairs(source, targets)


# --- Qwen-MT's languages, who translates which pair, who recognises what (issue 32) -------

from subtitler.languages import (  # noqa: E402
    FUN_ASR_SOURCES,
    LATIN_SCRIPT,
    QWEN_MT_LANGUAGES,
    QWEN_MT_LITE_LANGUAGES,
    RTL_LANGUAGES,
    Recognizer,
    Translator,
    check_mt_targets,
    check_recognizer,
    choose_recognizer,
    choose_translators,
    language_of_tag,
    mt_language_name,
    mt_source_name,
)

GUMMY, QWEN_MT = Translator.GUMMY, Translator.QWEN_MT


def choose(
    source: str | None,
    targets: tuple[str, ...],
    recognizer: Recognizer = Recognizer.GUMMY,
    forced: Translator | None = None,
) -> dict[str, Translator]:
    return choose_translators(
        source_language=source, targets=targets, recognizer=recognizer, forced=forced
    )


def test_qwen_mt_names_are_the_references_own() -> None:
    assert len(QWEN_MT_LANGUAGES) == 92 and len(set(QWEN_MT_LANGUAGES.values())) == 92
    assert len(QWEN_MT_LITE_LANGUAGES) == 31 and set(QWEN_MT_LANGUAGES) >= QWEN_MT_LITE_LANGUAGES
    assert QWEN_MT_LANGUAGES["acq"] == "Ta\u2019izzi-Adeni Arabic"  # the Unicode apostrophe
    assert QWEN_MT_LANGUAGES["nb"] == "Norwegian Bokm\u00e5l"
    assert QWEN_MT_LANGUAGES["zh-TW"] == "Traditional Chinese"
    assert "no" not in QWEN_MT_LANGUAGES and "mn" not in QWEN_MT_LANGUAGES
    assert mt_language_name("fa", "qwen-mt-flash") == "Western Persian"
    assert mt_language_name("fa", "qwen-mt-lite") == "Persian"
    assert mt_language_name("es", "qwen-mt-plus") == "Spanish"
    assert mt_source_name(None, "qwen-mt-flash") == "auto"
    assert mt_source_name("yue", "qwen-mt-flash") == "Cantonese"
    assert mt_source_name("yue", "qwen-mt-lite") == "auto"  # lite does not list it


def test_lite_knows_31_languages_and_says_so() -> None:
    check_mt_targets(("es", "th", "zh-TW", "fa"), "qwen-mt-lite")
    with pytest.raises(UsageError, match=r"'sr' is not a language qwen-mt-lite translates"):
        check_mt_targets(("es", "sr"), "qwen-mt-lite")
    check_mt_targets(("sr",), "qwen-mt-flash")


def test_traditional_chinese_is_zh_tw_however_it_is_spelled() -> None:
    assert parse_targets("zh_tw,ZH-TW,zh-Hant,es,ES") == ("zh-TW", "es")
    assert parse_targets("zh,zh-tw") == ("zh", "zh-TW")


def test_gummy_pairs_stay_gummy() -> None:
    assert choose("zh", ("en", "ja", "ko")) == {"en": GUMMY, "ja": GUMMY, "ko": GUMMY}
    assert choose("fr", ("zh", "en")) == {"zh": GUMMY, "en": GUMMY}
    assert choose(None, ("en", "ko")) == {"en": GUMMY, "ko": GUMMY}  # auto, as before


def test_what_gummy_does_not_translate_goes_to_qwen_mt() -> None:
    assert choose("en", ("es",)) == {"es": QWEN_MT}
    assert choose("zh", ("en", "es", "th", "zh-TW")) == {
        "en": GUMMY,
        "es": QWEN_MT,
        "th": QWEN_MT,
        "zh-TW": QWEN_MT,
    }
    assert choose("ja", ("ko",)) == {"ko": QWEN_MT}  # Gummy has zh/en only from ja
    assert choose(None, ("ar",)) == {"ar": QWEN_MT}


def test_fun_asr_leaves_every_target_to_qwen_mt() -> None:
    assert choose("en", ("zh", "es"), Recognizer.FUN_ASR) == {"zh": QWEN_MT, "es": QWEN_MT}
    assert choose(None, ("en",), Recognizer.FUN_ASR) == {"en": QWEN_MT}


def test_forced_translators() -> None:
    assert choose("zh", ("en",), forced=QWEN_MT) == {"en": QWEN_MT}
    assert choose("zh", ("en",), forced=GUMMY) == {"en": GUMMY}
    with pytest.raises(UsageError, match=r"^--target: Gummy does not translate en to es"):
        choose("en", ("es",), forced=GUMMY)
    with pytest.raises(UsageError, match=r"^--translator: "):
        choose("zh", ("en",), Recognizer.FUN_ASR, forced=GUMMY)


def test_refusals_name_what_is_known() -> None:
    with pytest.raises(UsageError) as unknown:
        choose("en", ("xx",))
    assert str(unknown.value).startswith("--target: 'xx' is not a language Qwen-MT translates")
    assert ", th, " in str(unknown.value) and ", zh-TW, " in str(unknown.value)
    with pytest.raises(UsageError, match=r"did you mean es \(Spanish\)"):
        choose("en", ("spa",))
    with pytest.raises(UsageError, match=r"did you mean pt \(Portuguese\)"):
        choose("en", ("portugese",))
    with pytest.raises(UsageError, match=r"^--target: 'en' is the source language"):
        choose("en", ("en",))


def test_a_source_the_recognizer_cannot_hear_is_refused() -> None:
    check_recognizer("ja", Recognizer.FUN_ASR)
    check_recognizer(None, Recognizer.FUN_ASR)
    with pytest.raises(UsageError) as refused:
        check_recognizer("ko", Recognizer.FUN_ASR)  # --region intl -s ko
    message = str(refused.value)
    assert message.startswith("--source-language: 'ko' is not a language Fun-ASR recognises")
    assert "(auto, zh, en, ja;" in message
    with pytest.raises(UsageError, match=r"'ko' is not a language Fun-ASR"):
        choose("ko", ("en",), Recognizer.FUN_ASR)
    check_recognizer("ko", Recognizer.GUMMY)
    with pytest.raises(UsageError, match=r"^--source-language: 'tlh' is not a Gummy source"):
        check_recognizer("tlh", Recognizer.GUMMY)
    assert FUN_ASR_SOURCES == ("zh", "en", "ja")


def test_the_recognizer_follows_the_region() -> None:
    assert choose_recognizer(has_gummy=True, forced=None) is Recognizer.GUMMY
    assert choose_recognizer(has_gummy=False, forced=None) is Recognizer.FUN_ASR
    assert choose_recognizer(has_gummy=True, forced=Recognizer.FUN_ASR) is Recognizer.FUN_ASR
    with pytest.raises(UsageError, match=r"^--recognizer: Gummy is offered in the cn"):
        choose_recognizer(has_gummy=False, forced=Recognizer.GUMMY)


def test_scripts_and_media_tags_of_the_new_languages() -> None:
    assert {"ar", "he", "fa", "ur", "arz", "aeb"} <= RTL_LANGUAGES
    assert not RTL_LANGUAGES & LATIN_SCRIPT
    assert {"en", "es", "pt", "vi", "nb", "cy", "tl"} <= LATIN_SCRIPT
    assert not {"sr", "ru", "th", "zh", "el"} & LATIN_SCRIPT
    assert set(QWEN_MT_LANGUAGES) >= LATIN_SCRIPT
    assert language_of_tag("heb") == "he" and language_of_tag("per") == "fa"
    assert language_of_tag("may") == "ms" and language_of_tag("wel") == "cy"
    assert language_of_tag("acq") == "acq" and language_of_tag("nor") == "nb"
    assert language_of_tag("chi") == "zh" and language_of_tag("zh-TW") == "zh"  # kept
