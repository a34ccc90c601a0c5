"""Chinese and Japanese phrases and kinsoku: units, and the properties issue 14 asks for."""

from __future__ import annotations

import itertools
import re

from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from subtitler.layout.cues import (
    CueLayout,
    SentenceText,
    TimedWord,
    break_lines,
    join_tokens,
    tokenize,
)
from subtitler.layout.kinsoku import (
    NOT_AT_LINE_END,
    NOT_AT_LINE_START,
    line_violation,
    may_break_between,
)
from subtitler.layout.phrases import characters, phrases
from subtitler.layout.rules import DEFAULT_LANGUAGE_RULES, CueRules, LanguageRules, text_width

JA = DEFAULT_LANGUAGE_RULES["ja"]
ZH = DEFAULT_LANGUAGE_RULES["zh"]


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_the_reported_japanese_breaks_are_gone() -> None:
    for text, word in [
        ("新しい音声翻訳モデルを発表しました。", "翻訳"),
        ("この技術はより多くの人が外国語の動画を楽しめます。", "多く"),
        ("ご覧いただきありがとうございました。", "ありがとう"),
    ]:
        lines = break_lines(tokenize(text, JA), JA)
        assert len(lines) == 2 and "".join(lines) == text
        assert all(word not in (line[-1:] + other[:1]) for line, other in itertools.pairwise(lines))
        assert any(word in line for line in lines), (word, lines)


def test_phrases_keep_ascii_words_numbers_and_counters_whole() -> None:
    units = phrases("我们在2024年发布了iPhone 15的评测，一共用了十五分钟。", "zh-hans")
    assert "2024年" in units and "iPhone" in units
    assert any(unit.startswith("十五分钟") for unit in units)
    assert all(unit != "iP" for unit in units)
    assert squeeze("".join(units)) == squeeze(
        "我们在2024年发布了iPhone15的评测，一共用了十五分钟。"
    )


def test_kinsoku_joins_units_that_may_not_be_broken_apart() -> None:
    assert may_break_between("言った。", "彼は") and not may_break_between("彼は", "。")
    assert not may_break_between("「", "待って") and not may_break_between("待", "っ")
    assert not may_break_between("……", "…") and not may_break_between("ス", "ー")
    units = characters("「ちょっと待って」と言った。")
    assert units[:4] == ["「ちょっ", "と", "待っ", "て」"]
    assert all(may_break_between(a, b) for a, b in itertools.pairwise(units))
    assert line_violation("。それで") == "starts with “。”"
    assert line_violation("それで（") == "ends with “（”"
    assert line_violation("それで。") is None


def test_a_phrase_is_broken_only_when_no_break_between_phrases_fits() -> None:
    narrow = LanguageRules(6, 4, half_width_counts_half=True, spaced=False, phrase_model="ja")
    lines = break_lines(["音声翻訳モデルを"], narrow)  # 8 characters, one phrase: must break
    assert "".join(lines) == "音声翻訳モデルを" and all(text_width(x, narrow) <= 6 for x in lines)


# --- properties -------------------------------------------------------------------------------

JA_WORDS = (
    "研究者たちは 新しい 音声翻訳モデルを 発表しました 技術は より 多くの 人が 外国語の 動画を "
    "楽しめる ようにします ご覧いただき ありがとう ございました ちょっと 待って 東京で "
    "ジャッキーが ショッピングセンターに 行きました 三人の 子供が 十五分で 終わった "
    "iPhone 15を コーヒーを 飲みます 今日は いい 天気ですね"
).split()
ZH_WORDS = (
    "研究人员 发布了 新的 语音 翻译 模型 这项 技术 让 更多的 人 能够 看懂 外语 视频 也 学习 "
    "变得 更加 容易 感谢 收看 我们 在 2024年 iPhone 15 十五分钟 三年前 团队里 没有人 相信 "
    "一小群 志愿者 课程的 每一讲 十二种 语言 但是 还是 做到了"
).split()
OPENERS = ["「", "『", "（", "“"]
CLOSERS = {"「": "」", "『": "』", "（": "）", "“": "”"}
JA_MARKS = ["", "", "", "、", "。", "！", "？", "……", "ー"]
ZH_MARKS = ["", "", "", "，", "。", "！", "？", "：", "；", "……", "——"]


@st.composite
def cjk_texts(draw: st.DrawFn) -> tuple[str, LanguageRules]:
    """A Chinese or Japanese sentence of real phrases, with punctuation, quotes, numbers."""
    japanese = draw(st.booleans())
    words, marks = (JA_WORDS, JA_MARKS) if japanese else (ZH_WORDS, ZH_MARKS)
    parts: list[str] = []
    for _ in range(draw(st.integers(1, 14))):
        word = draw(st.sampled_from(words))
        if draw(st.integers(0, 6)) == 0:
            opener = draw(st.sampled_from(OPENERS))
            word = opener + word + CLOSERS[opener]
        parts.append(word + draw(st.sampled_from(marks)))
    width = draw(st.sampled_from([8, 10, 13, 16, 20]))
    base = JA if japanese else ZH
    rules = LanguageRules(width, base.max_cps, 2, True, False, base.phrase_model)
    return "".join(parts), rules


def legal_phrase_break_exists(units: list[str], rules: LanguageRules) -> bool:
    for k in range(1, len(units)):
        top, bottom = join_tokens(units[:k], False), join_tokens(units[k:], False)
        if (
            may_break_between(units[k - 1], units[k])
            and text_width(top, rules) <= rules.max_line_chars
            and text_width(bottom, rules) <= rules.max_line_chars
        ):
            return True
    return False


def units_between(units: list[str], start: int, end: int) -> list[str]:
    """The phrases of the whole text that lie in [start, end) (offsets without spaces): a
    cue's phrases as the whole sentence was cut (alone, a cue's text may be cut otherwise)."""
    inside, position = [], 0
    for unit in units:
        if start <= position < end:
            inside.append(unit)
        position += len(squeeze(unit))
    return inside


def phrase_boundaries(units: list[str]) -> set[int]:
    """Offsets (in the text without spaces) where one phrase ends and the next begins."""
    offsets, position = set(), 0
    for unit in units:
        position += len(squeeze(unit))
        offsets.add(position)
    return offsets


def break_offsets(lines: list[str]) -> set[int]:
    offsets, position = set(), 0
    for line in lines[:-1]:
        position += len(squeeze(line))
        offsets.add(position)
    return offsets


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cjk_texts())
def test_lines_break_between_phrases_under_kinsoku_with_every_character_once(
    drawn: tuple[str, LanguageRules],
) -> None:
    text, rules = drawn
    units = tokenize(text, rules)
    lines = list(break_lines(units, rules))
    assert squeeze("".join(lines)) == squeeze(text)  # every character once, in order
    for line in lines:
        assert line_violation(line) is None, (line, lines)
    if text_width(join_tokens(units, False), rules) <= rules.max_line_chars:
        event("one line")
        assert len(lines) == 1
    elif legal_phrase_break_exists(units, rules):
        event("two lines between phrases")
        assert len(lines) == 2
        assert break_offsets(lines) <= phrase_boundaries(units), (units, lines)
        assert all(text_width(line, rules) <= rules.max_line_chars for line in lines)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cjk_texts(), st.integers(4, 40), st.integers(40, 110))
@example(  # found in CI: a phrase longer than a line, cut apart by the test's own re-tokenizing
    (
        "「研究者たちは」新しいショッピングセンターにーありがとうーショッピングセンターに研究者たちは研究者たちは",
        LanguageRules(8, 4, half_width_counts_half=True, spaced=False, phrase_model="ja"),
    ),
    4,
    40,
)
def test_cues_cut_translations_between_phrases_under_kinsoku(
    drawn: tuple[str, LanguageRules], word_count: int, ms_per_char: int
) -> None:
    """English speech, Chinese or Japanese translation: cue cuts and line breaks between
    phrases (inside one only when no break between phrases fits), kinsoku on every line,
    every character once, and the line limits wherever a break between phrases allows."""
    translation, drawn_rules = drawn
    language = "ja" if drawn_rules.phrase_model == "ja" else "zh"
    rules = CueRules()
    target = rules.for_language(language)
    words, cursor = [], 1000
    for index in range(word_count):
        text = "word" + "s" * (index % 5) + ("." if index % 9 == 8 else "")
        end = cursor + ms_per_char * len(text)
        words.append(TimedWord(text, cursor, end))
        cursor = end + ms_per_char
    item = SentenceText(
        words[0].begin_ms,
        words[-1].end_ms,
        " ".join(w.text for w in words),
        translation,
        tuple(words),
    )
    cues = CueLayout(rules, "en", language).add(item).added
    event(f"{min(len(cues), 4)} cues")
    shown = [cue.texts[1].lines for cue in cues]
    assert squeeze("".join(line for lines in shown for line in lines)) == squeeze(translation)
    units = tokenize(translation, target)
    boundaries = phrase_boundaries(units)
    position = 0
    for lines in shown:
        for line in lines:
            assert line_violation(line) is None, (line, shown)
        if position:
            assert position in boundaries, ("a cue starts inside a phrase", shown)
        cue_units = units_between(units, position, position + len(squeeze("".join(lines))))
        if legal_phrase_break_exists(cue_units, target) or len(lines) == 1:
            inner = {position + offset for offset in break_offsets(list(lines))}
            assert inner <= boundaries, ("a line breaks inside a phrase", shown)
            if len(lines) <= target.max_lines and legal_phrase_break_exists(cue_units, target):
                assert all(text_width(line, target) <= target.max_line_chars for line in lines)
        position += len(squeeze("".join(lines)))


def test_every_kinsoku_class_is_one_character() -> None:
    assert all(len(character) == 1 for character in NOT_AT_LINE_START | NOT_AT_LINE_END)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(["iPhone", "15", "的", "评测，", "word", "「待って」", "ー", "A1"]),
        max_size=12,
    ),
    st.sampled_from(["en", "zh", "ja", "ko"]),
)
def test_measured_widths_equal_the_joined_text(tokens: list[str], language: str) -> None:
    """The layout measures runs from prefix sums; they must equal measuring the joined text."""
    from subtitler.layout.cues import _Measured

    rules = DEFAULT_LANGUAGE_RULES[language]
    measured = _Measured(tokens, rules)
    for start in range(len(tokens) + 1):
        for stop in range(start, len(tokens) + 1):
            joined = join_tokens(tokens[start:stop], rules.spaced)
            assert abs(measured.width(start, stop) - text_width(joined, rules)) < 1e-9
