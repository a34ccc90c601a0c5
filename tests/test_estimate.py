"""`run --estimate`'s pricing of one input (`subtitler/engine/estimate.py`), on values alone."""

from __future__ import annotations

import dataclasses
from enum import Enum
from typing import cast

import pytest

from subtitler.engine.estimate import RunPricing, estimate_input, pricing_of
from subtitler.gummy.cost import PriceTable
from subtitler.options import RunOptions, make_options


class Kind(Enum):  # as the languages module's Translator and Recognizer enums are
    GUMMY = "gummy"
    QWEN_MT = "qwen-mt"
    FUN_ASR = "fun-asr"


def test_todays_options_price_a_gummy_run() -> None:
    options = make_options(("en", "ja"), api_key="k", prices="recognition=0.0002")
    pricing = pricing_of(options)
    assert pricing == RunPricing(prices=options.prices)
    estimate = estimate_input(
        audio_ms=10_000,
        running=["en", "ja"],
        recognising=True,
        pricing=pricing,
        source_language="zh",
    )
    assert (estimate.tasks, estimate.mt_targets) == (2, ())
    assert estimate.cost == 10 * 0.0002 + 20 * 0.00015


def test_the_options_of_issue_32_are_read_when_they_exist() -> None:
    @dataclasses.dataclass(frozen=True)
    class Region:
        name: str

    options = make_options(("en", "ja"), api_key="k")  # es: not yet a target on this branch

    @dataclasses.dataclass(frozen=True)
    class Extended(RunOptions):  # the options the lead adds for issue 32
        region: object = None
        recognizer: object = None
        translators: object = None
        mt_model: str | None = None

    fields = {f.name: getattr(options, f.name) for f in dataclasses.fields(options)}
    translators = {"en": Kind.GUMMY, "es": Kind.QWEN_MT}
    newer = Extended(
        **fields,
        region=Region("intl"),
        recognizer=Kind.FUN_ASR,
        translators=translators,
        mt_model="qwen-mt-plus",
    )
    pricing = pricing_of(cast(RunOptions, newer))
    assert (pricing.region, pricing.recognizer, pricing.mt_model) == (
        "intl",
        Kind.FUN_ASR,
        "qwen-mt-plus",
    )
    estimate = estimate_input(
        audio_ms=60_000,
        running=["es"],
        recognising=True,
        pricing=pricing,
        source_language="en",
    )
    tokens = estimate.mt_tokens
    plus_intl = tokens.input_tokens * 2.46e-6 + tokens.output_tokens * 7.37e-6
    assert (estimate.tasks, estimate.mt_targets) == (0, ("es",))
    assert estimate.cost == pytest.approx(60 * 0.00009 + plus_intl)


def test_a_target_not_named_is_gummys_and_a_journaled_transcript_is_not_recognised_again() -> None:
    pricing = RunPricing(prices=PriceTable(), translators={"es": "qwen-mt"})
    estimate = estimate_input(
        audio_ms=60_000,
        running=("en", "es"),
        recognising=False,
        pricing=pricing,
        source_language="zh",
    )
    assert (estimate.tasks, estimate.mt_targets, estimate.recognition_s) == (1, ("es",), 0.0)
    assert estimate.mt_tokens.requests == 15
