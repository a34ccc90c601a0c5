"""What a run costs, before it runs and after (pure). Three services bill:

- Gummy recognition and translation per second of audio. Each Gummy target is a task that
  translates, and one task per input recognises (the others take its transcript:
  `engine/pairing.py`); an input none of whose targets is Gummy's, in the Beijing region, is
  recognised by a recognition-only task (the recognition price only).
- Fun-ASR realtime recognition per second of audio, per region.
- Qwen-MT per million tokens in and out, per model and region. Before a run the tokens are
  estimated from the audio's length (`estimate_mt_tokens`); after it the client's usage is
  priced as counted (`cost_of_usage`).

The defaults are the list prices the research read (`docs/libraries.md` has the table and its
sources); `--prices` and a prices file override any of them (an account's own discount, a price
the research could not confirm). Each price has its currency, and amounts in different
currencies are never converted or summed: a `Bill` keeps one total per currency.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import KW_ONLY, dataclass, field
from enum import Enum
from pathlib import Path

from subtitler.errors import UsageError
from subtitler.gummy.glossary import GlossaryEntry
from subtitler.languages import SOURCE_LANGUAGES

GUMMY, FUN_ASR, QWEN_MT = "gummy", "fun-asr", "qwen-mt"
REGIONS = ("cn", "intl")
DEFAULT_MT_MODEL = "qwen-mt-flash"


@dataclass(frozen=True)
class Rate:
    """One price: `amount` of `currency` per unit (a second of audio, or a million tokens)."""

    amount: float
    currency: str


def _both(amount: float, currency: str = "USD") -> dict[str, Rate]:
    return {region: Rate(amount, currency) for region in REGIONS}


DEFAULT_RATES: Mapping[str, Mapping[str, Rate]] = {
    # Research B1: Fun-ASR realtime, USD per second (Singapore = intl, Beijing = cn).
    "fun-asr": {"cn": Rate(0.000047, "USD"), "intl": Rate(0.00009, "USD")},
    # Research A9, USD per million tokens (the qwen-mt-turbo model page).
    "qwen-mt-turbo.input": {"cn": Rate(0.101, "USD"), "intl": Rate(0.16, "USD")},
    "qwen-mt-turbo.output": {"cn": Rate(0.28, "USD"), "intl": Rate(0.49, "USD")},
    # ⚠ Not found: flash replaces turbo ("后续不再更新, use flash"), so turbo's prices stand in.
    "qwen-mt-flash.input": {"cn": Rate(0.101, "USD"), "intl": Rate(0.16, "USD")},
    "qwen-mt-flash.output": {"cn": Rate(0.28, "USD"), "intl": Rate(0.49, "USD")},
    # ⚠ Singapore from portkey.ai only; Beijing not found: the same figure stands in.
    "qwen-mt-lite.input": _both(0.12),
    "qwen-mt-lite.output": _both(0.36),
    # ⚠ Beijing from an older Chinese page (CNY), Singapore from a 2025 page.
    "qwen-mt-plus.input": {"cn": Rate(1.8, "CNY"), "intl": Rate(2.46, "USD")},
    "qwen-mt-plus.output": {"cn": Rate(5.4, "CNY"), "intl": Rate(7.37, "USD")},
}
"""Price key -> region -> rate; the Gummy prices are `PriceTable`'s first three fields."""

_MODEL_KEY = re.compile(r"[a-z0-9][a-z0-9_-]*\.(input|output)")
_HELP = (
    "give recognition=X,translation=Y (Gummy, per second), fun-asr=X (per second), "
    "MODEL.input=X,MODEL.output=Y (per million tokens, e.g. qwen-mt-flash.input), currency=C"
)


def _kind(value: str | Enum) -> str:
    """The recognizer's or translator's name, from the languages module's enums or a string."""
    return str(value.value) if isinstance(value, Enum) else str(value)


class MixedCurrencies(UsageError):
    """Amounts in two currencies asked for as one number."""


@dataclass(frozen=True)
class Bill:
    """Amounts per currency, in the order they were first billed; never converted into one
    another, so a run billed in CNY and USD reports both."""

    amounts: tuple[tuple[str, float], ...] = ()

    def plus(self, amount: float, currency: str) -> Bill:
        if amount == 0:
            return self
        totals = dict(self.amounts)
        totals[currency] = totals.get(currency, 0.0) + amount
        return Bill(tuple(totals.items()))

    def __add__(self, other: Bill) -> Bill:
        total = self
        for currency, amount in other.amounts:
            total = total.plus(amount, currency)
        return total

    @property
    def currencies(self) -> tuple[str, ...]:
        return tuple(currency for currency, _ in self.amounts)

    def total(self) -> float:
        """The one amount (0.0 when nothing is billed); `MixedCurrencies` when there are two."""
        if len(self.amounts) > 1:
            raise MixedCurrencies("--prices", f"{self.format()} cannot be summed: no conversion")
        return self.amounts[0][1] if self.amounts else 0.0

    def format(self, digits: int = 4, empty_currency: str = "") -> str:
        """`0.0146 CNY + 0.0003 USD`; nothing billed: `0.0000` and `empty_currency`."""
        if not self.amounts:
            return f"{0:.{digits}f} {empty_currency}".rstrip()
        return " + ".join(f"{amount:.{digits}f} {currency}" for currency, amount in self.amounts)


@dataclass(frozen=True)
class PriceTable:
    """Every price a run may pay. The first three fields are Gummy's (Beijing list prices, CNY)
    and keep today's `--prices recognition=X,translation=Y,currency=C`; `rates` are the
    overrides given for the other keys (a key given applies in every region: an account lives
    in one)."""

    recognition_per_s: float = 0.00015
    translation_per_s: float = 0.00015
    currency: str = "CNY"
    """The Gummy prices' currency (and of every price `currency=` came with)."""
    rates: tuple[tuple[str, Rate], ...] = ()

    def rate(self, key: str, region: str) -> Rate:
        """The price of `key` (`fun-asr`, `qwen-mt-flash.input` ...) in `region`; one nobody
        knows is a usage error asking for it."""
        given = dict(self.rates)
        if key in given:
            return given[key]
        known = DEFAULT_RATES.get(key, {})
        if region in known:
            return known[region]
        raise UsageError("--prices", f"no price for {key} in region {region}: give {key}=X")

    def gummy_recognition(self) -> Rate:
        return Rate(self.recognition_per_s, self.currency)

    def gummy_translation(self) -> Rate:
        return Rate(self.translation_per_s, self.currency)

    def recognition(self, recognizer: str | Enum, region: str) -> Rate:
        """Per second of audio."""
        if _kind(recognizer) == FUN_ASR:
            return self.rate("fun-asr", region)
        return self.gummy_recognition()

    def mt(self, model: str, region: str) -> tuple[Rate, Rate]:
        """Input and output, per million tokens."""
        return self.rate(f"{model}.input", region), self.rate(f"{model}.output", region)

    def currencies(
        self,
        *,
        region: str,
        recognizer: str | Enum,
        translators: Iterable[str | Enum],
        mt_model: str = DEFAULT_MT_MODEL,
    ) -> frozenset[str]:
        """The currencies a run with these services bills in: more than one and `--budget`
        cannot count it (a caller may refuse it before any input starts)."""
        kinds = {_kind(t) for t in translators}
        rates = [self.recognition(recognizer, region)]
        if GUMMY in kinds:
            rates.append(self.gummy_translation())
        if QWEN_MT in kinds:
            rates.extend(self.mt(mt_model, region))
        return frozenset(rate.currency for rate in rates)

    @classmethod
    def parse(
        cls, text: str | None, *, base: PriceTable | None = None, subject: str = "--prices"
    ) -> PriceTable:
        """`recognition=0.00015,translation=0.00015,currency=CNY,fun-asr=0.00009,
        qwen-mt-flash.input=0.16,qwen-mt-flash.output=0.49` (any of them, over `base`).
        `currency=C` is the currency of the Gummy prices and of every price given with it."""
        table = base if base is not None else cls()
        if not text or not text.strip():
            return table
        gummy = {"recognition": table.recognition_per_s, "translation": table.translation_per_s}
        currency: str | None = None
        amounts: dict[str, float] = {}
        lines = (line.split("#", 1)[0] for line in text.splitlines())
        for part in (part for line in lines for part in re.split(r"[,;]", line)):
            entry = part.strip()
            if not entry:
                continue
            name, _, value = entry.partition("=")
            name, value = name.strip().lower(), value.strip()
            name = name.removeprefix("gummy.")
            if name == "currency":
                if not re.fullmatch(r"[A-Za-z]{1,10}", value):
                    raise UsageError(subject, f"{entry!r}: {_HELP}")
                currency = value.upper()
                continue
            if name not in gummy and name != "fun-asr" and not _MODEL_KEY.fullmatch(name):
                raise UsageError(subject, f"{entry!r}: {_HELP}")
            try:
                amount = float(value)
            except ValueError:
                amount = math.nan
            if not math.isfinite(amount) or amount < 0:
                raise UsageError(subject, f"{entry!r}: {_HELP}")
            if name in gummy:
                gummy[name] = amount
            else:
                amounts[name] = amount
        given = dict(table.rates)
        for name, amount in amounts.items():
            known = DEFAULT_RATES.get(name, {})
            # Without currency=, a price keeps the currency its key is listed in.
            was = given[name].currency if name in given else None
            default = next(iter(known.values())).currency if known else "USD"
            given[name] = Rate(amount, currency or was or default)
        return cls(
            gummy["recognition"],
            gummy["translation"],
            currency or table.currency,
            tuple(sorted(given.items())),
        )


Prices = PriceTable
"""Today's name, kept for the options that import it."""


def load_prices(path: Path, *, base: PriceTable | None = None) -> PriceTable:
    """A prices file: the `--prices` entries, one a line or comma-separated, `#` comments."""
    subject = f"--prices-file {path}"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        cause = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise UsageError(subject, f"cannot be read: {cause}") from error
    return PriceTable.parse(text, base=base, subject=subject)


# What a translation costs in tokens, estimated without calling the service. The figures are
# assumptions (docs/libraries.md), so `--estimate` says it estimates.

TEMPLATE_OVERHEAD_TOKENS = 42
"""Prompt tokens Qwen-MT's hidden template adds to each request: research A7's example bills 53
prompt tokens for 我看到这个视频后没有笑 (11 characters, 11 tokens at 1 character a token)."""
SENTENCE_S = 4.0
"""Seconds of audio per recognised sentence (one translation request each): every second of
audio is taken as speech, an upper bound."""
CONTEXT_PAIRS = 3
"""`tm_list` pairs sent with each request (the previous sentences of the same track)."""

_DENSE = {"zh": 4.0, "zh-TW": 4.0, "yue": 4.0, "ja": 5.0, "ko": 5.0}
"""Characters per second of speech where one character is about one token (CJK)."""
_ALPHABETIC_CHARS_PER_S = 15.0
"""2.5 words a second of 6 characters with their space (English; other scripts alike)."""
_LATIN_LIKE_CHARS_PER_TOKEN = 4.0
_OTHER_CHARS_PER_TOKEN = 2.0
_OTHER_SCRIPTS = frozenset(
    "ar arz acm ary ars apc ajp acq aeb fa ur sd ps he yi hi mr ne mai bn as gu ta te kn or si "
    "th lo km my ka hy ru uk bg sr mk be kk el".split()
)
"""Scripts a byte-level tokenizer splits finer than Latin (Arabic, Indic, Thai, Cyrillic ...)."""


ESTIMATE_NOTE = (
    f"Qwen-MT tokens are estimated: a sentence (one request) per {SENTENCE_S:g} s of audio, all "
    "of it speech; 2.5 words (15 characters) a second, 4 characters a second in Chinese, 5 in "
    "Japanese and Korean; 4 characters a token in Latin script, 1 in CJK, 2 in others; "
    f"{TEMPLATE_OVERHEAD_TOKENS} tokens of template per request, {CONTEXT_PAIRS} earlier pairs "
    "as context"
)
"""One line saying what the token figures assume, for `--estimate` to print beside them."""


def tokens_per_s(language: str | None) -> float:
    """Tokens of text per second of speech in `language`; unknown (`-s auto`): the most of any
    language the recognizers hear."""
    if language is None:
        return max(tokens_per_s(tag) for tag in SOURCE_LANGUAGES)
    if language in _DENSE or language.lower().replace("_", "-") in {"zh-tw", "zh-hant"}:
        return _DENSE.get(language, 4.0)
    if language in _OTHER_SCRIPTS:
        return _ALPHABETIC_CHARS_PER_S / _OTHER_CHARS_PER_TOKEN
    return _ALPHABETIC_CHARS_PER_S / _LATIN_LIKE_CHARS_PER_TOKEN


def text_tokens(text: str) -> int:
    """Tokens of a text by script: CJK 1 character a token, Latin 4, other scripts 2."""
    dense = sum(1 for char in text if _is_dense(char))
    latin = sum(1 for char in text if ord(char) < 0x250 and not _is_dense(char))
    other = len(text) - dense - latin
    tokens = dense + latin / _LATIN_LIKE_CHARS_PER_TOKEN + other / _OTHER_CHARS_PER_TOKEN
    return math.ceil(tokens)


def _is_dense(char: str) -> bool:
    code = ord(char)
    return (
        0x3040 <= code <= 0x30FF  # kana
        or 0x3400 <= code <= 0x9FFF  # CJK ideographs
        or 0xAC00 <= code <= 0xD7AF  # Hangul
        or 0xF900 <= code <= 0xFAFF
        or 0xFF00 <= code <= 0xFFEF  # full-width forms
        or 0x3000 <= code <= 0x303F  # CJK punctuation
    )


@dataclass(frozen=True, kw_only=True)
class MtTokens:
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0

    def __add__(self, other: MtTokens) -> MtTokens:
        return MtTokens(
            requests=self.requests + other.requests,
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
        )


def estimate_mt_tokens(
    *,
    audio_ms: int,
    source_language: str | None,
    target: str,
    context_pairs: int = CONTEXT_PAIRS,
    terms: Iterable[tuple[str, str]] = (),
) -> MtTokens:
    """One target's Qwen-MT tokens for `audio_ms` of speech, one request per sentence: the
    template, the sentence, `tm_list` (up to `context_pairs` earlier pairs: none for the first
    sentence) and the glossary's terms in; the translation, as long in speech as its source, out."""
    sentences = math.ceil(audio_ms / 1000 / SENTENCE_S) if audio_ms > 0 else 0
    source_tokens = math.ceil(tokens_per_s(source_language) * SENTENCE_S)
    target_tokens = math.ceil(tokens_per_s(target) * SENTENCE_S)
    terms_tokens = sum(text_tokens(source) + text_tokens(target) for source, target in terms)
    pairs = sum(min(index, max(0, context_pairs)) for index in range(sentences))
    return MtTokens(
        requests=sentences,
        input_tokens=sentences * (TEMPLATE_OVERHEAD_TOKENS + source_tokens + terms_tokens)
        + pairs * (source_tokens + target_tokens),
        output_tokens=sentences * target_tokens,
    )


def glossary_terms(
    entries: Iterable[GlossaryEntry],
) -> dict[str, tuple[tuple[str, str], ...]]:
    """Per target, the (term, translation) pairs a glossary pins: Qwen-MT's `terms` for it."""
    found: dict[str, list[tuple[str, str]]] = {}
    for entry in entries:
        if entry.target_lang and entry.translation:
            found.setdefault(entry.target_lang, []).append((entry.text, entry.translation))
    return {target: tuple(pairs) for target, pairs in found.items()}


def _mt_bill(prices: PriceTable, model: str, region: str, used: MtTokens) -> Bill:
    if not used.input_tokens and not used.output_tokens:
        return Bill()
    per_input, per_output = prices.mt(model, region)
    return (
        Bill()
        .plus(used.input_tokens / 1e6 * per_input.amount, per_input.currency)
        .plus(used.output_tokens / 1e6 * per_output.amount, per_output.currency)
    )


@dataclass(frozen=True)
class Estimate:
    """What subtitling one input would bill (what remains of it: a resume costs its rest).

    `tasks` counts the Gummy targets (each a task that translates); `mt_targets` the Qwen-MT
    ones, which translate the transcript. Built positionally, it is today's Gummy-only run."""

    audio_ms: int
    tasks: int
    prices: PriceTable
    recognising: bool = True
    """False when the input's transcript is already journaled (another target finished it)."""
    _: KW_ONLY
    recognizer: str = GUMMY
    region: str = "cn"
    mt_model: str = DEFAULT_MT_MODEL
    mt_targets: tuple[str, ...] = ()
    source_language: str | None = None
    context_pairs: int = CONTEXT_PAIRS
    terms: Mapping[str, tuple[tuple[str, str], ...]] = field(default_factory=dict, hash=False)
    """Per Qwen-MT target, the glossary terms sent with each of its requests."""

    @property
    def recognition_s(self) -> float:
        running = self.tasks or self.mt_targets
        return self.audio_ms / 1000 if running and self.recognising else 0.0

    @property
    def translation_s(self) -> float:
        """Gummy's translation seconds."""
        return self.audio_ms / 1000 * self.tasks

    @property
    def mt_tokens(self) -> MtTokens:
        """Estimated, all Qwen-MT targets together."""
        total = MtTokens()
        for target in self.mt_targets:
            total += estimate_mt_tokens(
                audio_ms=self.audio_ms,
                source_language=self.source_language,
                target=target,
                context_pairs=self.context_pairs,
                terms=self.terms.get(target, ()),
            )
        return total

    @property
    def costs(self) -> Bill:
        """Per currency."""
        if not self.mt_targets and _kind(self.recognizer) == GUMMY:
            # Today's arithmetic, so today's figures stay the same to the last digit.
            amount = (
                self.recognition_s * self.prices.recognition_per_s
                + self.translation_s * self.prices.translation_per_s
            )
            return Bill().plus(amount, self.prices.currency)
        recognition = self.prices.recognition(self.recognizer, self.region)
        bill = Bill().plus(self.recognition_s * recognition.amount, recognition.currency)
        bill = bill.plus(self.translation_s * self.prices.translation_per_s, self.prices.currency)
        return bill + _mt_bill(self.prices, self.mt_model, self.region, self.mt_tokens)

    @property
    def cost(self) -> float:
        """The one amount; `MixedCurrencies` when it bills in two (read `costs` then)."""
        return self.costs.total()


def estimate_run(
    *,
    audio_ms: int,
    translators: Mapping[str, str | Enum],
    prices: PriceTable,
    recognising: bool = True,
    recognizer: str | Enum = GUMMY,
    region: str = "cn",
    mt_model: str = DEFAULT_MT_MODEL,
    source_language: str | None = None,
    context_pairs: int = CONTEXT_PAIRS,
    terms: Mapping[str, tuple[tuple[str, str], ...]] | None = None,
) -> Estimate:
    """An input's estimate from the translator of each target that runs (`gummy` / `qwen-mt`)."""
    kinds = {target: _kind(kind) for target, kind in translators.items()}
    unknown = sorted({kind for kind in kinds.values()} - {GUMMY, QWEN_MT})
    if unknown:
        raise ValueError(f"unknown translators {unknown}")
    return Estimate(
        audio_ms,
        sum(1 for kind in kinds.values() if kind == GUMMY),
        prices,
        recognising,
        recognizer=_kind(recognizer),
        region=region,
        mt_model=mt_model,
        mt_targets=tuple(target for target, kind in kinds.items() if kind == QWEN_MT),
        source_language=source_language,
        context_pairs=context_pairs,
        terms=dict(terms or {}),
    )


def cost_of_usage(
    *,
    recognition_s: float,
    recognizer: str | Enum,
    region: str,
    gummy_translation_s: float,
    mt_tokens: Mapping[str, tuple[int, int]],
    prices: PriceTable,
) -> Bill:
    """What a finished run used, priced: the services' billed seconds and, per Qwen-MT model,
    (input, output) tokens as the answers counted them."""
    recognition = prices.recognition(recognizer, region)
    bill = Bill().plus(recognition_s * recognition.amount, recognition.currency)
    bill = bill.plus(gummy_translation_s * prices.translation_per_s, prices.currency)
    for model, (input_tokens, output_tokens) in mt_tokens.items():
        used = MtTokens(input_tokens=input_tokens, output_tokens=output_tokens)
        bill = bill + _mt_bill(prices, model, region, used)
    return bill


class Budget:
    """`--budget`: estimates are reserved as inputs start; one that would take the run past
    the amount is not started. The amount is in the currency the estimates bill in: one that
    bills in two, or in another than those reserved before, cannot be counted and is not
    started either. Lives on the run's loop."""

    def __init__(self, amount: float, currency: str | None = None) -> None:
        self.amount = amount
        self.currency = currency
        self.reserved = 0.0

    def reserve(self, estimate: Estimate) -> str | None:
        """None when it fits (and is reserved), else the skip reason."""
        costs = estimate.costs
        currencies = set(costs.currencies)
        if (self.currency is not None and currencies - {self.currency}) or len(currencies) > 1:
            counted = self.currency or "one currency"
            return (
                f"its estimate is {costs.format()}: --budget counts {counted} "
                "(give every price in one currency with --prices)"
            )
        cost = costs.total()
        currency = self.currency or (costs.currencies or (estimate.prices.currency,))[0]
        if self.reserved + cost > self.amount + 1e-12:
            left = max(0.0, self.amount - self.reserved)
            return (
                f"over budget: its estimate is {cost:.4f} {currency}, "
                f"{left:.4f} {currency} of {self.amount:g} left"
            )
        self.reserved += cost
        if cost:
            self.currency = currency
        return None
