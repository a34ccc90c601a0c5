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
