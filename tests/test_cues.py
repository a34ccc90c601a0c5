"""The cue layout, pure: golden files for real cases, hypothesis for the invariants."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from subtitler.layout.cues import (
    Cue,
    CueLayout,
    LayoutUpdate,
    SentenceText,
    TimedWord,
    break_lines,
    clean_line,
    join_tokens,
    spread_translation,
    srt_timestamp,
    tokenize,
    vtt_timestamp,
)
from subtitler.layout.kinsoku import line_violation
from subtitler.layout.rules import DEFAULT_LANGUAGE_RULES, CueRules, text_width

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("SUBTITLER_UPDATE_GOLDEN") == "1"


def spoken(tokens: list[str], begin_ms: int, ms_per_char: int, gap_ms: int = 60) -> list[TimedWord]:
    """Words said one after another at a steady pace."""
    words, cursor = [], begin_ms
    for token in tokens:
        end = cursor + ms_per_char * max(1, len(token))
        words.append(TimedWord(token, cursor, end))
        cursor = end + gap_ms
    return words


def sentence(
    tokens: list[str], translation: str, begin_ms: int, ms_per_char: int, spaced: bool = True
) -> SentenceText:
    words = spoken(tokens, begin_ms, ms_per_char)
    return SentenceText(
        words[0].begin_ms, words[-1].end_ms, join_tokens(tokens, spaced), translation, tuple(words)
    )


def render(cues: list[Cue]) -> str:
    blocks = []
    for cue in cues:
        blocks.append(
            f"{srt_timestamp(cue.begin_ms)} --> {srt_timestamp(cue.end_ms)}\n"
            + "\n".join(cue.lines)
        )
    return "\n\n".join(blocks) + "\n"


def apply(cues: list[Cue], update: LayoutUpdate) -> None:
    if update.replaced is not None:
        cues[-1] = update.replaced
    cues.extend(update.added)


def lay_out(
    sentences: list[SentenceText], source: str | None, target: str, rules: CueRules | None = None
) -> list[Cue]:
    layout = CueLayout(rules or CueRules(), source, target)
    cues: list[Cue] = []
    for item in sentences:
        apply(cues, layout.add(item))
    return cues


EN_LONG = (
    "So when we started this project three years ago, nobody on the team believed that a "
    "small group of volunteers could translate every lecture of the course into twelve "
    "languages, but we did it anyway and learned a lot."
).split()
EN_LONG_ZH = (
    "所以三年前我们开始这个项目的时候，团队里没有人相信一小群志愿者能把课程的每一讲翻译成十二种语言，"
    "但我们还是做到了，而且学到了很多。"
)
ZH_LONG = (
    "今天|我们|要|讨论|的|是|城市|交通|问题，|特别是|在|早晚|高峰|时段|地铁|和|公交|的|拥挤|程度|"
    "已经|远远|超过|了|设计|容量，|所以|市政府|决定|增加|班次。"
).split("|")
ZH_LONG_EN = (
    "Today we will discuss urban transport, especially how crowded the metro and buses are at "
    "rush hour, which is far beyond their design capacity, so the city decided to add services."
)
MIXED = "我们|在|2024|年|发布|了|iPhone|15|的|评测，|一共|用了|十五|分钟|讲完|所有|细节。".split(
    "|"
)
MIXED_EN = (
    "In 2024 we published our iPhone 15 review, and it took fifteen minutes to cover every detail."
)

UNIT_SENTENCE = "The whole meeting lasted exactly 15 minutes and then everyone went"

# Mandarin speech translated into Japanese: the case issue 14 reported (翻|訳, 多|く, ありが|とう).
ZH_SPEECH_JA = [
    ("研究人员|发布|了|新的|语音|翻译|模型。", "研究者たちは新しい音声翻訳モデルを発表しました。"),
    (
        "这项|技术|让|更多|的|人|能够|看懂|外语|视频，|也|让|学习|变得|更加|容易。",
        "この技術はより多くの人が外国語の動画を理解できるようにし、学習もずっと簡単になります。",
    ),
    ("感谢|收看。", "ご覧いただきありがとうございました。"),
]
JA_NO_WORDS = SentenceText(
    2000,
    9800,
    "「明日の会議は午後三時からです」と部長が言いましたが、資料はまだ届いていません。",
    "The manager said tomorrow's meeting starts at three, but the documents have not arrived.",
)
EN_SPEECH_JA = (
    "Thank you all for coming tonight, and please remember that the last train leaves the "
    "station at eleven fifteen."
).split()
EN_SPEECH_JA_TEXT = (
    "今夜はお集まりいただきありがとうございます。"
    "最終電車は十一時十五分に駅を出ますので、お忘れなく。"
)


def zh_speech_ja() -> list[SentenceText]:
    items, cursor = [], 0
    for tokens, japanese in ZH_SPEECH_JA:
        item = sentence(tokens.split("|"), japanese, cursor, 230, spaced=False)
        items.append(item)
        cursor = item.end_ms + 700
    return items


CASES = {
    "en_long_sentence": lambda: lay_out([sentence(EN_LONG, EN_LONG_ZH, 1000, 65)], "en", "zh"),
    "zh_long_sentence": lambda: lay_out(
        [sentence(ZH_LONG, ZH_LONG_EN, 500, 210, spaced=False)], "zh", "en"
    ),
    "mixed_zh_en_numbers": lambda: lay_out(
        [sentence(MIXED, MIXED_EN, 0, 200, spaced=False)], "zh", "en"
    ),
    "zh_speech_ja_translation": lambda: lay_out(zh_speech_ja(), "zh", "ja"),
    "ja_speech_without_words": lambda: lay_out([JA_NO_WORDS], "ja", "en"),
    "en_speech_ja_translation": lambda: lay_out(
        [sentence(EN_SPEECH_JA, EN_SPEECH_JA_TEXT, 500, 70)], "en", "ja"
    ),
    "short_sentences_merge": lambda: lay_out(
        [
            sentence(["Yes."], "是的。", 1000, 80),
            sentence(["Of", "course."], "当然。", 1700, 70),
            sentence(["Next", "one", "please."], "下一个。", 5000, 70),
        ],
        "en",
        "zh",
    ),
    "close_sentences_keep_their_gap": lambda: lay_out(
        [
            sentence(
                "This first sentence is long enough to stand alone.".split(),
                "第一句话足够长，可以单独成为一条字幕。",
                0,
                60,
            ),
            sentence(
                "And the second one starts right after it ends.".split(),
                "第二句话在它结束后立即开始。",
                3300,
                60,
            ),
        ],
        "en",
        "zh",
    ),
    "number_and_unit_stay_together": lambda: [
        Cue(
            0,
            1,
            (
                CueTextFor(
                    "en",
                    break_lines(
                        UNIT_SENTENCE.split(),
                        DEFAULT_LANGUAGE_RULES["en"],
                    ),
                ),
            ),
        )
    ],
}


def CueTextFor(language: str, lines: tuple[str, ...]):  # type: ignore[no-untyped-def]
    from subtitler.layout.cues import CueText

    return CueText(language, lines)


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_layouts(name: str) -> None:
    got = render(CASES[name]())
    path = GOLDEN / f"{name}.txt"
    if UPDATE:
        path.write_text(got, encoding="utf-8")
    assert path.exists(), f"{path} is missing: write it on purpose with SUBTITLER_UPDATE_GOLDEN=1"
    assert got == path.read_text(encoding="utf-8")


CJK_WITHOUT_WORDS = {
    # golden case: (position of the Chinese or Japanese text in each cue, its language)
    "zh_speech_ja_translation": (1, "ja"),
    "en_speech_ja_translation": (1, "ja"),
    "en_long_sentence": (1, "zh"),
    "ja_speech_without_words": (0, "ja"),
}


@pytest.mark.parametrize("name", sorted(CJK_WITHOUT_WORDS))
def test_golden_chinese_and_japanese_break_only_between_phrases(name: str) -> None:
    """Text with no word list (translations; a transcript without words): every cue cut and
    line break of the golden layouts falls between two phrases, and no line breaks kinsoku."""
    position, language = CJK_WITHOUT_WORDS[name]
    rules = CueRules().for_language(language)
    lines = [line for cue in CASES[name]() for line in cue.texts[position].lines]
    units = tokenize("".join(lines), rules)
    boundaries, offset = set(), 0
    for unit in units:
        offset += len(unit.replace(" ", ""))
        boundaries.add(offset)
    offset = 0
    for line in lines:
        assert line_violation(line) is None, line
        offset += len(line.replace(" ", ""))
        assert offset in boundaries, f"{line!r} ends inside a phrase"


def test_a_long_sentence_is_split_and_every_word_kept_in_order() -> None:
    cues = lay_out([sentence(EN_LONG, EN_LONG_ZH, 1000, 65)], "en", "zh")
    assert len(cues) >= 3
    english = " ".join(line for cue in cues for line in cue.texts[0].lines)
    assert english == " ".join(EN_LONG)
    chinese = "".join(line for cue in cues for line in cue.texts[1].lines)
    assert chinese == EN_LONG_ZH


def test_merging_can_be_turned_off() -> None:
    rules = CueRules()
    from dataclasses import replace

    no_merge = replace(rules, timing=replace(rules.timing, merge_gap_ms=0))
    items = [
        sentence(["Yes."], "是的。", 1000, 80),
        sentence(["Of", "course."], "当然。", 1700, 70),
    ]
    assert len(lay_out(items, "en", "zh")) == 1
    assert len(lay_out(items, "en", "zh", no_merge)) == 2


def test_a_cue_never_starts_before_its_speech() -> None:
    cues = lay_out([sentence(ZH_LONG, ZH_LONG_EN, 500, 210, spaced=False)], "zh", "en")
    assert cues[0].begin_ms == 500
    starts = {w.begin_ms for w in spoken(ZH_LONG, 500, 210)}
    assert all(cue.begin_ms in starts or cue.begin_ms > 500 for cue in cues)


def test_tokenize_keeps_latin_runs_and_attaches_punctuation() -> None:
    chinese = DEFAULT_LANGUAGE_RULES["zh"]
    assert tokenize("我买了iPhone 15，很好。", chinese) == [
        "我",
        "买",
        "了",
        "iPhone",
        "15，",
        "很",
        "好。",
    ]
    assert tokenize("The end. Really", DEFAULT_LANGUAGE_RULES["en"]) == ["The", "end.", "Really"]
    assert join_tokens(["我", "买", "了", "iPhone", "15，"], spaced=False) == "我买了iPhone 15，"


def test_spread_translation_cuts_at_punctuation_near_the_share() -> None:
    tokens = "Hello there, my friend. How are you today?".split()
    runs = spread_translation(tokens, [1000, 1000], DEFAULT_LANGUAGE_RULES["en"])
    assert runs == [["Hello", "there,", "my", "friend."], ["How", "are", "you", "today?"]]


def test_timestamps_and_clean_lines() -> None:
    assert srt_timestamp(3_723_045) == "01:02:03,045"
    assert vtt_timestamp(3_723_045) == "01:02:03.045"
    assert clean_line(" a -->\n\n b ") == "a → b"


# --- invariants (hypothesis) ------------------------------------------------------------------

LATIN_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=12)
HAN = st.text(
    alphabet="的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经",
    min_size=1,
    max_size=4,
)
PUNCTUATION = st.sampled_from(["", "", "", ",", ".", "?"])
CJK_PUNCTUATION = st.sampled_from(["", "", "", "，", "。"])


@st.composite
def sentences(draw: st.DrawFn) -> tuple[SentenceText, str, str]:
    """A sentence spoken at a pace a reader can follow, with a translation of any length."""
    chinese = draw(st.booleans())
    count = draw(st.integers(min_value=1, max_value=60))
    if chinese:
        tokens = [draw(HAN) + draw(CJK_PUNCTUATION) for _ in range(count)]
        ms_per_char = draw(st.integers(min_value=160, max_value=400))  # 2.5..6 chars a second
        translation = " ".join(draw(LATIN_WORD) for _ in range(draw(st.integers(0, count + 3))))
        source, target = "zh", "en"
    else:
        tokens = [draw(LATIN_WORD) + draw(PUNCTUATION) for _ in range(count)]
        ms_per_char = draw(st.integers(min_value=60, max_value=120))  # 8..16 chars a second
        translation = "".join(draw(HAN) for _ in range(draw(st.integers(0, count // 2 + 1))))
        source, target = "en", draw(st.sampled_from(["zh", "ja"]))
    begin = draw(st.integers(min_value=0, max_value=100_000))
    # The pause after a word at least as long as a character: spaces count in reading speed.
    words = spoken(tokens, begin, ms_per_char, gap_ms=ms_per_char + draw(st.integers(0, 400)))
    text = join_tokens(tokens, spaced=not chinese)
    return (
        SentenceText(words[0].begin_ms, words[-1].end_ms, text, translation, tuple(words)),
        source,
        target,
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(sentences(), min_size=1, max_size=4))
def test_any_sentences_give_cues_within_every_limit(
    drawn: list[tuple[SentenceText, str, str]],
) -> None:
    rules = CueRules()
    timing = rules.timing
    source, target = drawn[0][1], drawn[0][2]
    # Later sentences start after the previous one (as a task's sentences do), same languages.
    items: list[SentenceText] = []
    cursor = 0
    for item, _, _ in drawn:
        if item.words and (item.words[0].text[:1].isascii() != (source == "en")):
            continue
        shift = max(0, cursor - item.begin_ms)
        moved = tuple(TimedWord(w.text, w.begin_ms + shift, w.end_ms + shift) for w in item.words)
        items.append(
            SentenceText(
                item.begin_ms + shift, item.end_ms + shift, item.transcript, item.translation, moved
            )
        )
        cursor = item.end_ms + shift + 700
    if not items:
        return
    cues = lay_out(items, source, target)
    source_rules = rules.for_language(source)
    target_rules = rules.for_language(target)
    # Every word once and in order, in both languages.
    said = [w.text for item in items for w in item.words]
    shown = [
        t
        for cue in cues
        for line in cue.texts[0].lines
        for t in (line.split(" ") if source_rules.spaced else [line])
    ]
    if source_rules.spaced:
        assert shown == said
    else:
        assert "".join(shown) == "".join(said)
    translated = re.sub(r"\s+", "", "".join(i.translation for i in items))
    shown_translation = "".join(line for c in cues for line in c.texts[1].lines)
    assert re.sub(r"\s+", "", shown_translation) == translated
    for index, cue in enumerate(cues):
        assert cue.begin_ms < cue.end_ms
        assert cue.end_ms - cue.begin_ms <= timing.max_duration_ms
        for text, language_rules in ((cue.texts[0], source_rules), (cue.texts[1], target_rules)):
            assert len(text.lines) <= language_rules.max_lines
            for line in text.lines:
                assert text_width(line, language_rules) <= language_rules.max_line_chars, line
        if index + 1 < len(cues):
            assert cues[index + 1].begin_ms - cue.end_ms >= timing.min_gap_ms, "gap or overlap"
        duration_s = (cue.end_ms - cue.begin_ms) / 1000
        source_width = sum(text_width(line, source_rules) for line in cue.texts[0].lines)
        assert duration_s >= timing.min_duration_ms / 1000, cue
        assert source_width / duration_s <= source_rules.max_cps, cue
    first_speech = items[0].words[0].begin_ms
    assert cues[0].begin_ms >= first_speech


@pytest.mark.parametrize("frames", [None, "25"])
def test_the_reading_extension_stops_at_the_medias_end(frames: str | None) -> None:
    """Issue 31: the last cue said from 12.1 s of a 15.1 s file was extended for reading
    to 17.4 s. It ends with the media (on its last frame boundary), never before its speech."""
    from dataclasses import replace

    from subtitler.layout.frames import parse_frame_rate

    rules = CueRules()
    timing = replace(
        rules.timing,
        media_end_ms=15_100,
        frames=parse_frame_rate(frames) if frames else None,
    )
    long_japanese = "二番線の列車はまもなく発車いたします。"
    items = [sentence(["The", "train", "leaves."], long_japanese, 12_120, 40)]
    (cue,) = lay_out(items, "en", "ja", replace(rules, timing=timing))
    assert cue.begin_ms == 12_120 and items[0].end_ms < cue.end_ms <= 15_100
    unbounded = lay_out(items, "en", "ja")
    assert unbounded[0].end_ms > 15_100  # the reading speed alone would have taken it past
