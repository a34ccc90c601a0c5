"""Prices, estimates and bills (`subtitler/gummy/cost.py`), on values alone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from subtitler.errors import UsageError
from subtitler.gummy.cost import (
    TEMPLATE_OVERHEAD_TOKENS,
    Bill,
    Budget,
    Estimate,
    MixedCurrencies,
    Prices,
    PriceTable,
    Rate,
    cost_of_usage,
    estimate_mt_tokens,
    estimate_run,
    glossary_terms,
    load_prices,
    text_tokens,
    tokens_per_s,
)
from subtitler.gummy.glossary import GlossaryEntry

HOUR_MS = 3_600_000


def test_a_gummy_run_costs_what_it_cost_before_to_the_last_digit() -> None:
    prices = PriceTable()
    old = 32.4 * 0.00015 + 64.8 * 0.00015  # the formula before Qwen-MT and Fun-ASR
    assert Estimate(32400, 2, prices).cost == old
    chosen = estimate_run(audio_ms=32400, translators={"en": "gummy", "ja": "gummy"}, prices=prices)
    assert chosen.cost == old and chosen.tasks == 2 and chosen.costs.currencies == ("CNY",)
    assert Estimate(32400, 1, prices, recognising=False).cost == 32.4 * 0.00015
    assert Prices is PriceTable


def test_todays_prices_syntax_still_parses() -> None:
    table = PriceTable.parse("recognition=0.0002, translation=0.0003,currency=usd")
    assert (table.recognition_per_s, table.translation_per_s, table.currency) == (
        0.0002,
        0.0003,
        "USD",
    )
    assert PriceTable.parse(None) == PriceTable() == PriceTable.parse("")
    for bad in ("recognition=-1", "recognition=x", "speed=1", "currency=", "translation=nan"):
        with pytest.raises(UsageError, match="--prices"):
            PriceTable.parse(bad)


def test_fun_asr_bills_recognition_per_second_by_region() -> None:
    prices = PriceTable()
    for region, per_s in (("intl", 0.00009), ("cn", 0.000047)):
        estimate = estimate_run(
            audio_ms=HOUR_MS,
            translators={},
            prices=prices,
            recognizer="fun-asr",
            region=region,
        )
        assert estimate.costs == Bill()  # no target runs: nothing recognised
        usage = cost_of_usage(
            recognition_s=3600,
            recognizer="fun-asr",
            region=region,
            gummy_translation_s=0,
            mt_tokens={},
            prices=prices,
        )
        assert usage.amounts == (("USD", pytest.approx(3600 * per_s)),)


def test_a_recognition_only_task_bills_recognition_and_qwen_mt_its_tokens() -> None:
    estimate = estimate_run(
        audio_ms=HOUR_MS, translators={"es": "qwen-mt"}, prices=PriceTable(), source_language="en"
    )
    assert estimate.tasks == 0 and estimate.translation_s == 0
    assert estimate.recognition_s == 3600
    tokens = estimate.mt_tokens
    assert tokens.requests == 900  # a sentence every 4 s
    assert estimate.costs.currencies == ("CNY", "USD")
    (cny, usd) = (amount for _, amount in estimate.costs.amounts)
    assert cny == pytest.approx(3600 * 0.00015)
    flash_cn = tokens.input_tokens / 1e6 * 0.101 + tokens.output_tokens / 1e6 * 0.28
    assert usd == pytest.approx(flash_cn)
    with pytest.raises(MixedCurrencies):
        _ = estimate.cost
    assert estimate.costs.format() == f"{cny:.4f} CNY + {usd:.4f} USD"


def test_intl_prices_fun_asr_and_qwen_mt_in_one_currency() -> None:
    estimate = estimate_run(
        audio_ms=60_000,
        translators={"es": "qwen-mt", "th": "qwen-mt"},
        prices=PriceTable(),
        recognizer="fun-asr",
        region="intl",
        mt_model="qwen-mt-turbo",
        source_language="en",
    )
    tokens = estimate.mt_tokens
    expected = 60 * 0.00009 + tokens.input_tokens * 0.16e-6 + tokens.output_tokens * 0.49e-6
    assert estimate.cost == pytest.approx(expected)


def test_the_template_overhead_is_measured_from_the_documented_example() -> None:
    # Research A7: 53 prompt tokens for this sentence.
    assert text_tokens("我看到这个视频后没有笑") == 11
    assert TEMPLATE_OVERHEAD_TOKENS == 53 - 11
    assert text_tokens("Good morning, and welcome!") == 7  # 26 characters, 4 a token


def test_tokens_count_template_text_context_pairs_and_terms() -> None:
    one = estimate_mt_tokens(audio_ms=4000, source_language="en", target="es")
    per_sentence = 15  # 4 s x 15 characters a second / 4 characters a token
    assert (one.requests, one.input_tokens, one.output_tokens) == (
        1,
        TEMPLATE_OVERHEAD_TOKENS + per_sentence,
        per_sentence,
    )
    ten = estimate_mt_tokens(audio_ms=40_000, source_language="en", target="es")
    pairs = 0 + 1 + 2 + 3 * 7  # tm_list holds up to 3 earlier pairs
    assert ten.input_tokens == 10 * (TEMPLATE_OVERHEAD_TOKENS + 15) + pairs * 30
    alone = estimate_mt_tokens(audio_ms=40_000, source_language="en", target="es", context_pairs=0)
    assert alone.input_tokens == 10 * (TEMPLATE_OVERHEAD_TOKENS + 15)
    terms = (("biosensor", "biosensor"),)
    with_terms = estimate_mt_tokens(
        audio_ms=40_000, source_language="en", target="es", context_pairs=0, terms=terms
    )
    assert with_terms.input_tokens == alone.input_tokens + 10 * (3 + 3)
    chinese = estimate_mt_tokens(audio_ms=4000, source_language="zh", target="en")
    assert chinese.input_tokens == TEMPLATE_OVERHEAD_TOKENS + 16  # 4 characters a second
    assert tokens_per_s(None) >= max(tokens_per_s("zh"), tokens_per_s("en"), tokens_per_s("ar"))
    assert tokens_per_s("th") > tokens_per_s("es")
    assert estimate_mt_tokens(audio_ms=0, source_language="en", target="es").input_tokens == 0


def test_prices_of_the_new_services_can_be_overridden() -> None:
    table = PriceTable.parse(
        "qwen-mt-flash.input=0.7,qwen-mt-flash.output=1.95,fun-asr=0.00033,currency=CNY"
    )
    assert table.mt("qwen-mt-flash", "intl") == (Rate(0.7, "CNY"), Rate(1.95, "CNY"))
    assert table.recognition("fun-asr", "cn") == Rate(0.00033, "CNY")
    assert table.gummy_recognition() == Rate(0.00015, "CNY")
    # Without currency=, a price keeps the currency its key is listed in.
    usd = PriceTable.parse("fun-asr=0.0001")
    assert usd.recognition("fun-asr", "intl") == Rate(0.0001, "USD")
    assert usd.currency == "CNY"
    # A model the table does not list is priced once given.
    newer = PriceTable.parse("qwen-mt-lite-us.input=0.12,qwen-mt-lite-us.output=0.36")
    assert newer.mt("qwen-mt-lite-us", "intl") == (Rate(0.12, "USD"), Rate(0.36, "USD"))
    with pytest.raises(UsageError, match=r"no price for qwen-mt-next\.input in region cn"):
        PriceTable().mt("qwen-mt-next", "cn")
    with pytest.raises(UsageError, match=r"'qwen-mt-flash\.inputs=1'"):
        PriceTable.parse("qwen-mt-flash.inputs=1")
    over = PriceTable.parse("recognition=0.0002", base=table)
    assert over.recognition_per_s == 0.0002 and over.mt("qwen-mt-flash", "cn")[0].amount == 0.7


def test_a_prices_file_takes_the_same_entries(tmp_path: Path) -> None:
    path = tmp_path / "prices.txt"
    path.write_text(
        "# our account, Singapore\nfun-asr = 0.00008\nqwen-mt-flash.input=0.15  # discount\n"
        "currency=USD\n",
        encoding="utf-8",
    )
    table = load_prices(path)
    assert table.recognition("fun-asr", "intl") == Rate(0.00008, "USD")
    assert table.mt("qwen-mt-flash", "intl")[0] == Rate(0.15, "USD")
    path.write_text("fun-asr=cheap\n", encoding="utf-8")
    with pytest.raises(UsageError, match=re.escape(f"--prices-file {path}: 'fun-asr=cheap'")):
        load_prices(path)
    with pytest.raises(
        UsageError, match=re.escape(f"--prices-file {tmp_path / 'none'}: cannot be read")
    ):
        load_prices(tmp_path / "none")


def test_usage_is_priced_per_model_and_currency() -> None:
    table = PriceTable.parse("qwen-mt-plus.input=2,qwen-mt-plus.output=6,currency=EUR")
    bill = cost_of_usage(
        recognition_s=100,
        recognizer="gummy",
        region="cn",
        gummy_translation_s=100,
        mt_tokens={"qwen-mt-flash": (1_000_000, 500_000), "qwen-mt-plus": (1000, 1000)},
        prices=table,
    )
    amounts = dict(bill.amounts)
    assert amounts["EUR"] == pytest.approx(200 * 0.00015 + 0.002 + 0.006)
    assert amounts["USD"] == pytest.approx(0.101 + 0.14)
    assert table.currencies(
        region="cn", recognizer="gummy", translators=["gummy", "qwen-mt"]
    ) == frozenset({"EUR", "USD"})


def test_a_budget_counts_one_currency() -> None:
    prices = PriceTable()
    budget = Budget(0.02)
    assert budget.reserve(Estimate(32400, 2, prices)) is None
    assert budget.reserve(Estimate(32400, 1, prices)) == (
        "over budget: its estimate is 0.0097 CNY, 0.0054 CNY of 0.02 left"
    )
    mixed = estimate_run(
        audio_ms=32400, translators={"en": "gummy", "es": "qwen-mt"}, prices=prices
    )
    reason = Budget(10).reserve(mixed)
    assert reason is not None and "CNY + " in reason and "--budget counts one currency" in reason
    intl = Budget(1)
    fun = estimate_run(
        audio_ms=32400,
        translators={"es": "qwen-mt"},
        prices=prices,
        recognizer="fun-asr",
        region="intl",
    )
    assert intl.reserve(fun) is None and intl.currency == "USD"
    refused = intl.reserve(Estimate(32400, 1, prices))
    assert refused is not None and "--budget counts USD" in refused
    assert intl.reserve(Estimate(0, 0, prices)) is None  # nothing to bill fits any budget


def test_a_glossary_gives_each_target_its_terms() -> None:
    entries = (
        GlossaryEntry("科技新闻", target_lang="en", translation="technology news"),
        GlossaryEntry("科技新闻", target_lang="es", translation="noticias de tecnología"),
        GlossaryEntry("北京"),  # a hot word only: nothing to pin
    )
    terms = glossary_terms(entries)
    assert terms == {
        "en": (("科技新闻", "technology news"),),
        "es": (("科技新闻", "noticias de tecnología"),),
    }
    plain = estimate_run(
        audio_ms=8000, translators={"es": "qwen-mt"}, prices=PriceTable(), source_language="zh"
    )
    pinned = estimate_run(
        audio_ms=8000,
        translators={"es": "qwen-mt"},
        prices=PriceTable(),
        source_language="zh",
        terms=terms,
    )
    per_request = text_tokens("科技新闻") + text_tokens("noticias de tecnología")
    assert pinned.mt_tokens.input_tokens == plain.mt_tokens.input_tokens + 2 * per_request
