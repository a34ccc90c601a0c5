"""What the layout and the tracks need to know of a language's script: its direction, whether
it separates words with spaces, whether it is written in the Latin alphabet and which of its
letters CEA-608 captions (SCC) can carry; and language tags as tracks write them (`zh-TW`).

The languages are Qwen-MT's 92 (shared/research/any-pair.md, A10), named by their tags; which
are right to left and which Latin-script is `subtitler.languages`' (one list each).
"""

from __future__ import annotations

import re
import unicodedata

from subtitler.languages import LATIN_SCRIPT as LANGUAGES_IN_LATIN
from subtitler.languages import RTL_LANGUAGES as RTL_LANGUAGES

UNSPACED_LANGUAGES = frozenset({"th", "lo", "km", "my"})
"""Thai, Lao, Khmer and Burmese put no spaces between words (a space ends a phrase or a
sentence): lines break between phrases (Thai: BudouX's model) or, without a model, between
grapheme clusters (`subtitler.layout.phrases`)."""

LATIN_SCRIPT = LANGUAGES_IN_LATIN | {"no"}
"""Qwen-MT's Latin-script languages, and `no` (Norwegian as media tag it)."""

LETTERS: dict[str, str] = {
    "en": "",
    "es": "áéíóúüñ",
    "fr": "àâæçéèêëîïôœùûüÿ",
    "pt": "áâãàçéêíóôõú",
    "de": "äöüß",
    "it": "àèéìíîòóùú",
    "nl": "áéëïóöü",
    "da": "æøå",
    "nb": "æøå",
    "nn": "æøå",
    "no": "æøå",
    "sv": "åäöé",
    "fi": "åäö",
    "et": "õäöü",
    "af": "áäéèêëíîïóôöúûü",
    "ca": "àçéèíïóòúü·",
    "gl": "áéíóúñü",
    "eu": "ñ",
    "oc": "àáçèéíïòóúü·",
    "scn": "àèìòùâêîôû",
    "lb": "äëé",
    "sq": "çë",
    "sw": "",
    "tl": "ñ",
    "ceb": "ñ",
    "war": "ñ",
    "pag": "ñ",
    "id": "",
    "ms": "",
    "jv": "éè",
    "ast": "áéíóúñüḥḷ",
    "vec": "àéèíóòúł",
    "is": "áðéíóúýþæö",
    "cy": "âêîôûŵŷáéíóúàèìòùäëïöüÿ",
    "mt": "ċġħż",
    "pl": "ąćęłńóśźż",
    "cs": "áčďéěíňóřšťúůýž",
    "sk": "áäčďéíĺľňóôŕšťúýž",
    "sl": "čšž",
    "hr": "čćđšž",
    "bs": "čćđšž",
    "ro": "ăâîșț",
    "hu": "áéíóöőúüű",
    "tr": "çğıöşü",
    "az": "çəğıöşü",
    "uz": "ʻ",
    "lv": "āčēģīķļņšūž",
    "lt": "ąčęėįšųūž",
    "vi": "àáâãèéêìíòóôõùúýăđĩũơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ",
}
"""The letters of each Latin-script language's alphabet beyond a-z (lower case), as its
orthography writes them: what decides whether SCC can carry it. Letters used only in loanwords
(Finnish and Estonian š, ž) are left out."""

CEA608_LETTERS = frozenset("ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜßàáâãäåçèéêëìíîïñòóôõöøùúûü")
"""The accented letters of CEA-608's standard, special and extended character sets (the
Spanish/French and Portuguese/German/Danish tables; ttconv's `ttconv.scc.codes`)."""

CEA608_SUBSTITUTES = {"æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ÿ": "y", "Ÿ": "Y", "·": "."}
"""Letters 608 lacks that have a written equivalent: the ligatures æ and œ as two letters (as
Danish and French captions write them), the French ÿ (a few place names) as y, the Catalan and
Occitan middle dot (`l·l`) as a full stop."""


_TAG_SEPARATOR = re.compile(r"[-_]")


def primary_subtag(tag: str) -> str:
    """`zh-TW`, `zh_tw` -> `zh`: the language without its script or region."""
    return _TAG_SEPARATOR.split(tag.strip().lower(), maxsplit=1)[0]


def normal_tag(tag: str) -> str:
    """A BCP 47 tag in its conventional case, hyphenated: `zh_tw` -> `zh-TW`, `ZH-hant` ->
    `zh-Hant`, `EN` -> `en` (tags are case-insensitive; files name them this way)."""
    parts = _TAG_SEPARATOR.split(tag.strip())
    out = [parts[0].lower()]
    for part in parts[1:]:
        if len(part) == 4 and part.isalpha():
            out.append(part.title())
        elif (len(part) == 2 and part.isalpha()) or (len(part) == 3 and part.isdigit()):
            out.append(part.upper())
        else:
            out.append(part.lower())
    return "-".join(out)


def cea608_missing(language: str) -> str:
    """The letters of a Latin-script language that CEA-608 cannot carry ('' when it carries
    them all)."""
    return "".join(
        letter
        for letter in LETTERS.get(primary_subtag(language), "")
        if letter not in CEA608_LETTERS and letter not in CEA608_SUBSTITUTES
    )


def cea608_refusal(language: str) -> str | None:
    """Why a track in this language cannot be SCC, in words; None when it can."""
    primary = primary_subtag(language)
    if primary not in LATIN_SCRIPT:
        return f"{language} is not written in the Latin alphabet"
    if primary not in LETTERS:
        return f"{language}: its letters are not known"
    missing = cea608_missing(primary)
    if missing:
        return f"{language} has letters CEA-608 lacks ({', '.join(missing)})"
    return None


CEA608_LANGUAGES = frozenset(language for language in LETTERS if not cea608_missing(language))
"""The languages an SCC track can be written in: every letter of their alphabet is in 608's
character sets (or has a written equivalent)."""

RLI, PDI = "\u2067", "\u2069"
"""RIGHT-TO-LEFT ISOLATE and POP DIRECTIONAL ISOLATE (Unicode 6.3): the line between them is
laid out right to left whatever surrounds it, and nothing around it is disturbed."""
BIDI_CONTROLS = "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
"""Marks, embeddings, overrides and isolates: invisible, never counted as characters."""
_BIDI = re.compile(f"[{BIDI_CONTROLS}]")


def is_rtl(tag: str | None) -> bool:
    """The language is written right to left."""
    return tag is not None and primary_subtag(tag) in RTL_LANGUAGES


def isolated(line: str, tag: str | None) -> str:
    """A line of a right-to-left language between RLI and PDI, so it is laid out right to left
    (its closing punctuation at its left end) even in a cue whose first line is left to right,
    and in players (libass) whose paragraphs are always left to right; others unchanged."""
    return f"{RLI}{line}{PDI}" if is_rtl(tag) and line else line


def strip_bidi(text: str) -> str:
    """Text without its bidirectional controls (what a reader measures and compares)."""
    return _BIDI.sub("", text)


def zero_width(character: str) -> bool:
    """Takes no place of its own on a line: a combining mark (Thai and Khmer vowels and tone
    marks, Arabic harakat, accents of decomposed text) or a format control (bidi marks,
    zero-width joiners and spaces)."""
    return unicodedata.category(character) in ("Mn", "Me", "Cf")


SCRIPT_RANGES: tuple[tuple[int, int, str], ...] = (
    (0x0370, 0x03FF, "el"),
    (0x0400, 0x052F, "ru"),
    (0x0530, 0x058F, "hy"),
    (0x0590, 0x05FF, "he"),
    (0x0600, 0x06FF, "ar"),
    (0x0750, 0x077F, "ar"),
    (0x08A0, 0x08FF, "ar"),
    (0x0900, 0x097F, "hi"),
    (0x0980, 0x09FF, "bn"),
    (0x0A80, 0x0AFF, "gu"),
    (0x0B00, 0x0B7F, "or"),
    (0x0B80, 0x0BFF, "ta"),
    (0x0C00, 0x0C7F, "te"),
    (0x0C80, 0x0CFF, "kn"),
    (0x0D80, 0x0DFF, "si"),
    (0x0E00, 0x0E7F, "th"),
    (0x0E80, 0x0EFF, "lo"),
    (0x1000, 0x109F, "my"),
    (0x10A0, 0x10FF, "ka"),
    (0x1780, 0x17FF, "km"),
    (0xFB1D, 0xFB4F, "he"),
    (0xFB50, 0xFDFF, "ar"),
    (0xFE70, 0xFEFF, "ar"),
)
"""Unicode blocks -> the language a line in that script is measured as when no tag says."""


def script_language(text: str) -> str | None:
    """The language most letters of the text point to by their script (Arabic script: `ar`,
    Thai: `th`...), None when no letter is in one of `SCRIPT_RANGES` (Latin, CJK)."""
    counts: dict[str, int] = {}
    for character in text:
        code = ord(character)
        for low, high, language in SCRIPT_RANGES:
            if low <= code <= high:
                counts[language] = counts.get(language, 0) + 1
                break
    return max(counts, key=lambda language: counts[language]) if counts else None


SHARED_SCRIPTS: dict[str, frozenset[str]] = {
    "ar": frozenset({"ar", "fa", "ur", "ps", "sd", "arz", "acm", "ary", "ars", "apc", "ajp"})
    | frozenset({"acq", "aeb"}),
    "he": frozenset({"he", "yi"}),
    "ru": frozenset({"ru", "uk", "bg", "sr", "be", "kk", "mk"}),
    "hi": frozenset({"hi", "mr", "ne", "mai"}),
    "bn": frozenset({"bn", "as"}),
    "zh": frozenset({"zh", "yue"}),
}
"""Languages written in the script `script_language` names by another language's tag."""


def script_key(language: str) -> str:
    """What `script_language` (or `rules.guess_language`) answers for a line of this language:
    `fa` -> `ar`, `uk` -> `ru`, `zh-TW` -> `zh`, any Latin-script language -> `en`."""
    primary = primary_subtag(language)
    for key, members in SHARED_SCRIPTS.items():
        if primary in members:
            return key
    return "en" if primary in LATIN_SCRIPT else primary
