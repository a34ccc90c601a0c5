"""Which languages each service recognises and translates, and who translates which pair:
checked before any work starts, so a run never begins with a pair nobody serves.

Gummy (Beijing only) recognises ten languages and translates 22 documented pairs; Fun-ASR
realtime (Beijing and Singapore) recognises zh, en and ja and translates nothing; Qwen-MT
(both regions) translates text into 92 languages. Targets are the ISO 639-1 codes tracks are
named with (ISO 639-3 where a language has no 639-1 code), and `zh-TW` (BCP 47) for
Traditional Chinese.
"""

from __future__ import annotations

import difflib
from enum import Enum

from subtitler.errors import UsageError

GUMMY_SOURCES = ("zh", "en", "ja", "yue", "ko", "de", "fr", "ru", "it", "es")
"""Gummy's documented recognition languages; `auto` (None here) lets the service detect it."""

GUMMY_TARGETS: dict[str, tuple[str, ...]] = {
    "zh": ("en", "ja", "ko"),
    "en": ("zh", "ja", "ko"),
    **{source: ("zh", "en") for source in ("ja", "ko", "yue", "de", "fr", "ru", "it", "es")},
}
"""Gummy's documented translation pairs (the Gummy realtime reference)."""

GUMMY_ALL_TARGETS = tuple(sorted({t for targets in GUMMY_TARGETS.values() for t in targets}))
"""What Gummy translates into from some source: with `-s auto` these stay Gummy's."""

FUN_ASR_SOURCES = ("zh", "en", "ja")
"""Fun-ASR realtime's recognition languages (`language_hints`; Chinese with its dialects)."""

SOURCE_LANGUAGES = GUMMY_SOURCES
TRANSLATION_TARGETS = GUMMY_TARGETS
ALL_TARGETS = GUMMY_ALL_TARGETS

TRADITIONAL_CHINESE = "zh-TW"

QWEN_MT_LANGUAGES: dict[str, str] = {
    "en": "English",
    "zh": "Chinese",
    TRADITIONAL_CHINESE: "Traditional Chinese",
    "ru": "Russian",
    "ja": "Japanese",
    "ko": "Korean",
    "es": "Spanish",
    "fr": "French",
    "pt": "Portuguese",
    "de": "German",
    "it": "Italian",
    "th": "Thai",
    "vi": "Vietnamese",
    "id": "Indonesian",
    "ms": "Malay",
    "ar": "Arabic",
    "hi": "Hindi",
    "he": "Hebrew",
    "my": "Burmese",
    "ta": "Tamil",
    "ur": "Urdu",
    "bn": "Bengali",
    "pl": "Polish",
    "nl": "Dutch",
    "ro": "Romanian",
    "tr": "Turkish",
    "km": "Khmer",
    "lo": "Lao",
    "yue": "Cantonese",
    "cs": "Czech",
    "el": "Greek",
    "sv": "Swedish",
    "hu": "Hungarian",
    "da": "Danish",
    "fi": "Finnish",
    "uk": "Ukrainian",
    "bg": "Bulgarian",
    "sr": "Serbian",
    "te": "Telugu",
    "af": "Afrikaans",
    "hy": "Armenian",
    "as": "Assamese",
    "ast": "Asturian",
    "eu": "Basque",
    "be": "Belarusian",
    "bs": "Bosnian",
    "ca": "Catalan",
    "ceb": "Cebuano",
    "hr": "Croatian",
    "arz": "Egyptian Arabic",
    "et": "Estonian",
    "gl": "Galician",
    "ka": "Georgian",
    "gu": "Gujarati",
    "is": "Icelandic",
    "jv": "Javanese",
    "kn": "Kannada",
    "kk": "Kazakh",
    "lv": "Latvian",
    "lt": "Lithuanian",
    "lb": "Luxembourgish",
    "mk": "Macedonian",
    "mai": "Maithili",
    "mt": "Maltese",
    "mr": "Marathi",
    "acm": "Mesopotamian Arabic",
    "ary": "Moroccan Arabic",
    "ars": "Najdi Arabic",
    "ne": "Nepali",
    "az": "North Azerbaijani",
    "apc": "North Levantine Arabic",
    "uz": "Northern Uzbek",
    "nb": "Norwegian Bokmål",
    "nn": "Norwegian Nynorsk",
    "oc": "Occitan",
    "or": "Odia",
    "pag": "Pangasinan",
    "scn": "Sicilian",
    "sd": "Sindhi",
    "si": "Sinhala",
    "sk": "Slovak",
    "sl": "Slovenian",
    "ajp": "South Levantine Arabic",
    "sw": "Swahili",
    "tl": "Tagalog",
    "acq": "Ta\u2019izzi-Adeni Arabic",
    "sq": "Tosk Albanian",
    "aeb": "Tunisian Arabic",
    "vec": "Venetian",
    "war": "Waray",
    "cy": "Welsh",
    "fa": "Western Persian",
}
"""Our tag -> the English name Qwen-MT's `translation_options` takes (its language table, for
qwen-mt-plus, -flash and -turbo; the names are what every official example sends)."""

QWEN_MT_LITE_LANGUAGES = frozenset(
    {
        *("en", "zh", TRADITIONAL_CHINESE, "ru", "ja", "ko", "es", "fr", "pt", "de", "it"),
        *("th", "vi", "id", "ms", "ar", "hi", "he", "ur", "bn", "pl", "nl", "tr", "km"),
        *("cs", "sv", "hu", "da", "fi", "tl", "fa"),
    }
)
"""The 31 languages of qwen-mt-lite, where `fa` is named "Persian"."""

LITE_NAMES = {"fa": "Persian"}

CJK_LANGUAGES = frozenset({"zh", "ja", "ko", "yue", TRADITIONAL_CHINESE})

RTL_LANGUAGES = frozenset(
    {"ar", "he", "fa", "ur", "yi", "ps", "sd", "arz", "acm", "ary", "ars", "apc", "ajp", "acq"}
    | {"aeb"}
)
"""Languages written right to left."""

LATIN_SCRIPT = frozenset(
    {
        *("en", "es", "fr", "pt", "de", "it", "vi", "id", "ms", "pl", "nl", "ro", "tr", "cs"),
        *("sv", "hu", "da", "fi", "af", "ast", "eu", "bs", "ca", "ceb", "hr", "et", "gl"),
        *("is", "jv", "lv", "lt", "lb", "mt", "az", "uz", "nb", "nn", "oc", "pag", "scn"),
        *("sk", "sl", "sw", "tl", "sq", "vec", "war", "cy"),
    }
)
"""Qwen-MT's languages written in the Latin script (Serbian, usually Cyrillic, is not). Which of
their letters CEA-608 can carry is the SCC writer's concern."""

TARGET_ALIASES = {
    "zh-tw": TRADITIONAL_CHINESE,
    "zh-hant": TRADITIONAL_CHINESE,
    "zh-hant-tw": TRADITIONAL_CHINESE,
}
"""Other spellings of a target, accepted on input and normalised."""


class Translator(Enum):
    GUMMY = "gummy"
    QWEN_MT = "qwen-mt"


class Recognizer(Enum):
    GUMMY = "gummy"
    FUN_ASR = "fun-asr"


def normalise_target(text: str) -> str:
    """`ES` -> `es`, `zh_tw` / `zh-hant` -> `zh-TW`: the tag tracks are named with."""
    tag = text.strip().lower().replace("_", "-")
    return TARGET_ALIASES.get(tag, tag)


def parse_targets(text: str) -> tuple[str, ...]:
    """`en,ja` -> ("en", "ja"), normalised, without repeats, in the order given."""
    targets: list[str] = []
    for part in text.split(","):
        language = normalise_target(part)
        if language and language not in targets:
            targets.append(language)
    if not targets:
        raise UsageError("--target", "give at least one target language, e.g. -t en")
    return tuple(targets)


def is_lite(model: str) -> bool:
    """qwen-mt-lite and its regional variants (qwen-mt-lite-us) know 31 languages."""
    return model.startswith("qwen-mt-lite")


def mt_languages(model: str) -> frozenset[str]:
    return QWEN_MT_LITE_LANGUAGES if is_lite(model) else frozenset(QWEN_MT_LANGUAGES)


def mt_language_name(tag: str, model: str) -> str:
    """The English name `translation_options` takes for `tag` with `model`; a UsageError for
    a language the model does not know."""
    if tag not in mt_languages(model):
        raise UsageError("--target", _unknown_to_mt(tag, model))
    if is_lite(model):
        return LITE_NAMES.get(tag, QWEN_MT_LANGUAGES[tag])
    return QWEN_MT_LANGUAGES[tag]


def mt_source_name(source_language: str | None, model: str) -> str:
    """`source_lang`: the recognised language's name, or `auto` when it was detected (None)
    or the model does not list it (it then detects it itself)."""
    if source_language is None or source_language not in mt_languages(model):
        return "auto"
    return mt_language_name(source_language, model)


def check_mt_targets(targets: tuple[str, ...], model: str) -> None:
    """Refuse a target the chosen Qwen-MT model does not translate into (lite knows 31)."""
    for target in targets:
        mt_language_name(target, model)


def gummy_translates(source_language: str | None, target: str) -> bool:
    """Gummy documents the pair; with `auto` (None), Gummy translates into it from some source."""
    if source_language is None:
        return target in GUMMY_ALL_TARGETS
    return target in GUMMY_TARGETS.get(source_language, ())


def recognizer_sources(recognizer: Recognizer) -> tuple[str, ...]:
    return GUMMY_SOURCES if recognizer is Recognizer.GUMMY else FUN_ASR_SOURCES


def check_recognizer(source_language: str | None, recognizer: Recognizer) -> None:
    """Refuse a spoken language the recognizer cannot recognise, naming those it can."""
    if source_language is None:
        return
    known = recognizer_sources(recognizer)
    if source_language in known:
        return
    if recognizer is Recognizer.GUMMY:
        cause = f"{source_language!r} is not a Gummy source language (auto, {', '.join(known)})"
    else:
        more = [s for s in GUMMY_SOURCES if s not in known]
        cause = (
            f"{source_language!r} is not a language Fun-ASR recognises (auto, {', '.join(known)}; "
            f"Gummy, in the cn region only, also recognises {', '.join(more)})"
        )
    raise UsageError("--source-language", cause)


def choose_recognizer(*, has_gummy: bool, forced: Recognizer | None) -> Recognizer:
    """Gummy where the region has it, Fun-ASR elsewhere; a forced Gummy where it is not
    offered is a usage error."""
    if forced is Recognizer.GUMMY and not has_gummy:
        raise UsageError(
            "--recognizer", "Gummy is offered in the cn (Beijing) region only; use fun-asr"
        )
    if forced is not None:
        return forced
    return Recognizer.GUMMY if has_gummy else Recognizer.FUN_ASR


def choose_translators(
    *,
    source_language: str | None,
    targets: tuple[str, ...],
    recognizer: Recognizer,
    forced: Translator | None,
) -> dict[str, Translator]:
    """Per target, who translates it: Gummy when it recognises and documents the pair (as
    before), Qwen-MT otherwise; `forced` (`--translator`) overrides where it can."""
    check_recognizer(source_language, recognizer)
    chosen: dict[str, Translator] = {}
    for target in targets:
        if target == source_language:
            raise UsageError(
                "--target", f"{target!r} is the source language: there is nothing to translate"
            )
        gummy = recognizer is Recognizer.GUMMY and gummy_translates(source_language, target)
        if forced is Translator.GUMMY:
            if recognizer is not Recognizer.GUMMY:
                raise UsageError(
                    "--translator",
                    "gummy translates only in a Gummy task; with the fun-asr recognizer every "
                    "target goes through qwen-mt",
                )
            if not gummy:
                raise UsageError("--target", _not_gummy_pair(source_language, target))
            chosen[target] = Translator.GUMMY
        elif gummy and forced is None:
            chosen[target] = Translator.GUMMY
        elif target in QWEN_MT_LANGUAGES:
            chosen[target] = Translator.QWEN_MT
        else:
            raise UsageError("--target", _unknown_to_mt(target, None))
    return chosen


def check_pairs(source_language: str | None, targets: tuple[str, ...]) -> None:
    """Refuse a pair Gummy does not document (Gummy alone, as before Qwen-MT: kept for its
    callers until they choose translators with `choose_translators`)."""
    for target in targets:
        if target not in GUMMY_ALL_TARGETS:
            raise UsageError(
                "--target",
                f"{target!r} is not a Gummy translation language ({', '.join(GUMMY_ALL_TARGETS)})",
            )
    check_recognizer(source_language, Recognizer.GUMMY)
    if source_language is None:
        return
    allowed = GUMMY_TARGETS[source_language]
    for target in targets:
        if target not in allowed:
            raise UsageError(
                "--target",
                f"Gummy does not translate {source_language} to {target} "
                f"({source_language} -> {', '.join(allowed)})",
            )


def _not_gummy_pair(source_language: str | None, target: str) -> str:
    if source_language is None:
        return (
            f"{target!r} is not a Gummy translation language ({', '.join(GUMMY_ALL_TARGETS)}); "
            "--translator qwen-mt or auto translates it"
        )
    allowed = GUMMY_TARGETS.get(source_language, ())
    return (
        f"Gummy does not translate {source_language} to {target} "
        f"({source_language} -> {', '.join(allowed) or 'none'}); --translator qwen-mt or auto "
        "translates it"
    )


def _unknown_to_mt(tag: str, model: str | None) -> str:
    known = mt_languages(model) if model else frozenset(QWEN_MT_LANGUAGES)
    who = f"{model}" if model and is_lite(model) else "Qwen-MT"
    guess = _guess(tag, known)
    if guess:
        return f"{tag!r} is not a language {who} translates into: did you mean {guess}?"
    ordered = [t for t in QWEN_MT_LANGUAGES if t in known]
    return f"{tag!r} is not a language {who} translates into ({', '.join(ordered)})"


def _guess(tag: str, known: frozenset[str]) -> str | None:
    """A likely meant tag: a media tag or English name (`spa`, `Spanish`), or a near name."""
    code = language_of_tag(tag)
    if code in known:
        return f"{code} ({QWEN_MT_LANGUAGES[code]})"
    names = {QWEN_MT_LANGUAGES[t].lower(): t for t in known}
    close = difflib.get_close_matches(tag.lower(), list(names), n=1, cutoff=0.8)
    if close:
        found = names[close[0]]
        return f"{found} ({QWEN_MT_LANGUAGES[found]})"
    return None


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
    "ms": ("may", "msa", "malay"),
    "he": ("heb", "hebrew", "iw"),
    "my": ("bur", "mya", "burmese"),
    "ta": ("tam", "tamil"),
    "ur": ("urd", "urdu"),
    "bn": ("ben", "bengali", "bangla"),
    "ro": ("rum", "ron", "romanian"),
    "km": ("khm", "khmer"),
    "lo": ("lao",),
    "cs": ("cze", "ces", "czech"),
    "el": ("gre", "ell", "greek"),
    "hu": ("hun", "hungarian"),
    "da": ("dan", "danish"),
    "fi": ("fin", "finnish"),
    "uk": ("ukr", "ukrainian"),
    "bg": ("bul", "bulgarian"),
    "sr": ("srp", "serbian"),
    "te": ("tel", "telugu"),
    "af": ("afr", "afrikaans"),
    "hy": ("arm", "hye", "armenian"),
    "as": ("asm", "assamese"),
    "ast": ("asturian",),
    "eu": ("baq", "eus", "basque"),
    "be": ("bel", "belarusian"),
    "bs": ("bos", "bosnian"),
    "ca": ("cat", "catalan"),
    "ceb": ("cebuano",),
    "hr": ("hrv", "croatian"),
    "et": ("est", "estonian"),
    "gl": ("glg", "galician"),
    "ka": ("geo", "kat", "georgian"),
    "gu": ("guj", "gujarati"),
    "is": ("ice", "isl", "icelandic"),
    "jv": ("jav", "javanese"),
    "kn": ("kan", "kannada"),
    "kk": ("kaz", "kazakh"),
    "lv": ("lav", "latvian"),
    "lt": ("lit", "lithuanian"),
    "lb": ("ltz", "luxembourgish"),
    "mk": ("mac", "mkd", "macedonian"),
    "mai": ("maithili",),
    "mt": ("mlt", "maltese"),
    "mr": ("mar", "marathi"),
    "ne": ("nep", "nepali"),
    "az": ("aze", "azerbaijani"),
    "uz": ("uzb", "uzbek"),
    "nb": ("nob", "bokmal", "bokmål", "no", "nor", "norwegian"),
    "nn": ("nno", "nynorsk"),
    "oc": ("oci", "occitan"),
    "or": ("ori", "odia", "oriya"),
    "pag": ("pangasinan",),
    "scn": ("sicilian",),
    "sd": ("snd", "sindhi"),
    "si": ("sin", "sinhala", "sinhalese"),
    "sk": ("slo", "slk", "slovak"),
    "sl": ("slv", "slovenian", "slovene"),
    "sw": ("swa", "swahili"),
    "tl": ("tgl", "tagalog", "fil", "filipino"),
    "sq": ("alb", "sqi", "albanian"),
    "war": ("waray",),
    "cy": ("wel", "cym", "welsh"),
    "fa": ("per", "fas", "persian", "farsi"),
    "arz": ("egyptian arabic",),
    "vec": ("venetian",),
}
"""ISO 639-1 codes with the other names media carry for them: ISO 639-2 (bibliographic and
terminology), English names (sidecars such as `Movie.English.srt`) and common regional tags.
The ISO 639-3 codes of Qwen-MT's Arabic varieties and other languages without a 639-1 code are
their own tags. `zh-tw` stays Chinese here: on an audio stream it names Mandarin."""

_BY_TAG = {name: code for code, names in LANGUAGE_TAGS.items() for name in (code, *names)}
_BY_TAG.update({code.lower(): code for code in QWEN_MT_LANGUAGES if code.lower() not in _BY_TAG})


def language_of_tag(tag: str | None) -> str | None:
    """`eng`, `English`, `en`, `en-US` → `en`; None for what names no known language."""
    if not tag:
        return None
    lowered = tag.strip().lower().replace("_", "-")
    return _BY_TAG.get(lowered) or _BY_TAG.get(lowered.split("-")[0])
