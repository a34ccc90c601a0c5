"""`run --estimate`'s pricing of one input (`subtitler/engine/estimate.py`), on values alone."""

from __future__ import annotations

import pytest

from subtitler.engine.estimate import RunPricing, estimate_input, pricing_of
from subtitler.gummy.cost import PriceTable
from subtitler.options import make_options


def test_todays_options_price_a_gummy_run() -> None:
    options = make_options(("en", "ja"), api_key="k", prices="recognition=0.0002")
    pricing = pricing_of(options)
    assert pricing == RunPricing(prices=options.prices, translators={"en": "gummy", "ja": "gummy"})
    estimate = estimate_input(
        audio_ms=10_000,
        running=["en", "ja"],
        recognising=True,
        pricing=pricing,
        source_language="zh",
    )
    assert (estimate.tasks, estimate.mt_targets) == (2, ())
    assert estimate.cost == 10 * 0.0002 + 20 * 0.00015


def test_a_qwen_mt_run_in_singapore_is_priced_by_fun_asr_and_tokens() -> None:
    options = make_options(
        ("es",), api_key="k", source_language="en", region="intl", mt_model="qwen-mt-plus"
    )
    pricing = pricing_of(options)
    assert (pricing.region, pricing.recognizer, pricing.mt_model) == (
        "intl",
        "fun-asr",
        "qwen-mt-plus",
    )
    assert pricing.translators == {"es": "qwen-mt"}
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
