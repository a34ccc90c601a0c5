"""The language pairs Gummy documents, checked before any work starts."""

from __future__ import annotations

from subtitler.errors import UsageError

SOURCE_LANGUAGES = ("zh", "en", "ja", "yue", "ko", "de", "fr", "ru", "it", "es")
"""Documented recognition languages; `auto` (None here) lets the service detect it."""

TRANSLATION_TARGETS: dict[str, tuple[str, ...]] = {
    "zh": ("en", "ja", "ko"),
    "en": ("zh", "ja", "ko"),
    **{source: ("zh", "en") for source in ("ja", "ko", "yue", "de", "fr", "ru", "it", "es")},
}
"""Documented translation pairs (the Gummy realtime reference)."""

ALL_TARGETS = tuple(sorted({t for targets in TRANSLATION_TARGETS.values() for t in targets}))

CJK_LANGUAGES = frozenset({"zh", "ja", "ko", "yue"})
LATIN_SCRIPT = frozenset({"en", "de", "fr", "it", "es"})
"""Gummy's languages written in the Latin script (the only ones CEA-608 captions carry)."""


def parse_targets(text: str) -> tuple[str, ...]:
    """`en,ja` -> ("en", "ja"), lower-cased, without repeats, in the order given."""
    targets: list[str] = []
    for part in text.split(","):
        language = part.strip().lower()
        if language and language not in targets:
            targets.append(language)
    if not targets:
        raise UsageError("--target", "give at least one target language, e.g. -t en")
    return tuple(targets)


def check_pairs(source_language: str | None, targets: tuple[str, ...]) -> None:
    """Refuse what the service does not document: a usage error, before any work starts."""
    for target in targets:
        if target not in ALL_TARGETS:
            raise UsageError(
                "--target",
                f"{target!r} is not a Gummy translation language ({', '.join(ALL_TARGETS)})",
            )
    if source_language is None:
        return
    if source_language not in SOURCE_LANGUAGES:
        raise UsageError(
            "--source-language",
            f"{source_language!r} is not a Gummy source language "
            f"(auto, {', '.join(SOURCE_LANGUAGES)})",
        )
    allowed = TRANSLATION_TARGETS[source_language]
    for target in targets:
        if target not in allowed:
            raise UsageError(
                "--target",
                f"Gummy does not translate {source_language} to {target} "
                f"({source_language} -> {', '.join(allowed)})",
            )


LANGUAGE_TAGS: dict[str, tuple[str, ...]] = {
    "en": ("eng", "english"),
    "zh": ("chi", "zho", "chinese", "chs", "cht", "zh-hans", "zh-hant", "zh-cn", "zh-tw", "cmn"),
    "ja": ("jpn", "japanese", "jp"),
    "ko": ("kor", "korean"),
    "yue": ("cantonese", "zh-hk"),
    "fr": ("fre", "fra", "french"),
    "de": ("ger", "deu", "german"),
    "es": ("spa", "spanish"),
    "it": ("ita", "italian"),
    "ru": ("rus", "russian"),
    "pt": ("por", "portuguese", "pt-br"),
    "nl": ("dut", "nld", "dutch"),
    "ar": ("ara", "arabic"),
    "hi": ("hin", "hindi"),
    "th": ("tha", "thai"),
    "vi": ("vie", "vietnamese"),
    "id": ("ind", "indonesian"),
    "tr": ("tur", "turkish"),
    "pl": ("pol", "polish"),
    "sv": ("swe", "swedish"),
}
"""ISO 639-1 codes with the other names media carry for them: ISO 639-2 (bibliographic and
terminology), English names (sidecars such as `Movie.English.srt`) and common regional tags."""

_BY_TAG = {name: code for code, names in LANGUAGE_TAGS.items() for name in (code, *names)}


def language_of_tag(tag: str | None) -> str | None:
    """`eng`, `English`, `en`, `en-US` → `en`; None for what names no known language."""
    if not tag:
        return None
    lowered = tag.strip().lower().replace("_", "-")
    return _BY_TAG.get(lowered) or _BY_TAG.get(lowered.split("-")[0])
