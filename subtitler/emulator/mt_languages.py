"""The languages Qwen-MT knows, as its reference lists them (English name = code).

The service takes `source_lang` / `target_lang` as these English names (every official example
does); whether it also takes the codes is not confirmed, so the emulator accepts codes only
when `EmulatorConfig.mt_accept_codes` says so. The emulator keeps its own table, apart from the
client's (`subtitler.languages`), so a mistake on one side shows up as a refusal.
"""

from __future__ import annotations

LANGUAGES: dict[str, str] = {
    "English": "en", "Chinese": "zh", "Traditional Chinese": "zh_tw", "Russian": "ru",
    "Japanese": "ja", "Korean": "ko", "Spanish": "es", "French": "fr", "Portuguese": "pt",
    "German": "de", "Italian": "it", "Thai": "th", "Vietnamese": "vi", "Indonesian": "id",
    "Malay": "ms", "Arabic": "ar", "Hindi": "hi", "Hebrew": "he", "Burmese": "my", "Tamil": "ta",
    "Urdu": "ur", "Bengali": "bn", "Polish": "pl", "Dutch": "nl", "Romanian": "ro",
    "Turkish": "tr", "Khmer": "km", "Lao": "lo", "Cantonese": "yue", "Czech": "cs",
    "Greek": "el", "Swedish": "sv", "Hungarian": "hu", "Danish": "da", "Finnish": "fi",
    "Ukrainian": "uk", "Bulgarian": "bg", "Serbian": "sr", "Telugu": "te", "Afrikaans": "af",
    "Armenian": "hy", "Assamese": "as", "Asturian": "ast", "Basque": "eu", "Belarusian": "be",
    "Bosnian": "bs", "Catalan": "ca", "Cebuano": "ceb", "Croatian": "hr",
    "Egyptian Arabic": "arz", "Estonian": "et", "Galician": "gl", "Georgian": "ka",
    "Gujarati": "gu", "Icelandic": "is", "Javanese": "jv", "Kannada": "kn", "Kazakh": "kk",
    "Latvian": "lv", "Lithuanian": "lt", "Luxembourgish": "lb", "Macedonian": "mk",
    "Maithili": "mai", "Maltese": "mt", "Marathi": "mr", "Mesopotamian Arabic": "acm",
    "Moroccan Arabic": "ary", "Najdi Arabic": "ars", "Nepali": "ne",
    "North Azerbaijani": "az", "North Levantine Arabic": "apc", "Northern Uzbek": "uz",
    "Norwegian Bokmål": "nb", "Norwegian Nynorsk": "nn", "Occitan": "oc", "Odia": "or",
    "Pangasinan": "pag", "Sicilian": "scn", "Sindhi": "sd", "Sinhala": "si", "Slovak": "sk",
    "Slovenian": "sl", "South Levantine Arabic": "ajp", "Swahili": "sw", "Tagalog": "tl",
    "Ta\u2019izzi-Adeni Arabic": "acq", "Tosk Albanian": "sq", "Tunisian Arabic": "aeb",
    "Venetian": "vec", "Waray": "war", "Welsh": "cy", "Western Persian": "fa",
}  # fmt: skip
"""The 92 languages of qwen-mt-plus, -flash and -turbo: English name -> code."""

LITE_CODES = frozenset(
    "en zh zh_tw ru ja ko es fr pt de it th vi id ms ar hi he ur bn pl nl tr km cs sv hu da fi tl "
    "fa".split()
)
"""The 31 of qwen-mt-lite, where `fa` is named "Persian" rather than "Western Persian"."""

LITE_LANGUAGES: dict[str, str] = {
    ("Persian" if code == "fa" else name): code
    for name, code in LANGUAGES.items()
    if code in LITE_CODES
}

LITE_MODELS = frozenset({"qwen-mt-lite"})


def languages_of(model: str) -> dict[str, str]:
    """English name -> code, for the languages `model` translates."""
    return LITE_LANGUAGES if model in LITE_MODELS else LANGUAGES


def language_code(value: str, model: str, *, accept_codes: bool) -> str | None:
    """The code a `source_lang` / `target_lang` value names for `model`, or None if unknown."""
    known = languages_of(model)
    if value in known:
        return known[value]
    if accept_codes and value in known.values():
        return value
    return None
