"""Languages on screen: scripts (`subtitler.layout.scripts`), their rules and line breaks, and
right-to-left and Thai cues written by every format, read back and checked."""

from __future__ import annotations

import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path

import pysubs2
import pytest
import webvtt

from subtitler.check.lint import check_file, declared_pair
from subtitler.layout.cues import Cue, CueLayout, CueText, LayoutUpdate, SentenceText, TimedWord
from subtitler.layout.lines import break_lines, tokenize
from subtitler.layout.phrases import spaced_phrases
from subtitler.layout.rules import CueRules, parse_language_limits, text_width
from subtitler.layout.scripts import (
    CEA608_LANGUAGES,
    PDI,
    RLI,
    cea608_refusal,
    normal_tag,
    strip_bidi,
)
from subtitler.tracks.ass import AssTrack
from subtitler.tracks.base import Track
from subtitler.tracks.ebuttd import EbuTtdTrack
from subtitler.tracks.imsc import TTS, problems
from subtitler.tracks.reading import read_subtitles
from subtitler.tracks.scc import SccTrack, carries
from subtitler.tracks.srt import SrtTrack
from subtitler.tracks.ttml import TtmlTrack
from subtitler.tracks.vtt import VttTrack
from tests.support import perform

ENGLISH = (
    "So when we started this project three years ago, nobody on the team believed that a "
    "small group of volunteers could translate every lecture."
).split()
ARABIC = (
    "عندما بدأنا هذا المشروع قبل ثلاث سنوات، لم يصدق أحد في الفريق أن مجموعة صغيرة من "
    "المتطوعين يمكنها ترجمة كل محاضرة (AI 2024)."
)
THAI = "เมื่อเราเริ่มโครงการนี้เมื่อสามปีก่อน ไม่มีใครในทีมเชื่อว่าอาสาสมัครกลุ่มเล็กๆ จะสามารถแปลทุกบทเรียนได้"


def english_sentence(translation: str) -> SentenceText:
    words, cursor = [], 0
    for word in ENGLISH:
        words.append(TimedWord(word, cursor, cursor + 320))
        cursor += 400
    return SentenceText(0, cursor, " ".join(ENGLISH), translation, tuple(words))


def laid_out(target: str, translation: str) -> list[Cue]:
    layout = CueLayout(CueRules(), "en", target)
    cues: list[Cue] = []
    update = layout.add(english_sentence(translation))
    cues.extend(update.added)
    return cues


def test_tags_and_rules_per_language() -> None:
    assert normal_tag("zh_tw") == normal_tag("ZH-tw") == "zh-TW"
    assert normal_tag("zh-hant") == "zh-Hant"
    rules = CueRules()
    assert rules.for_language("zh-TW").phrase_model == "zh-hant"
    assert rules.for_language("zh").phrase_model == "zh-hans"
    assert (rules.for_language("th").max_line_chars, rules.for_language("ar").max_cps) == (35, 20)
    assert (rules.for_language("pl").max_line_chars, rules.for_language("pl").max_cps) == (42, 17)
    # --max-cps N changes every language, those without rules of their own too
    assert parse_language_limits("12", rules, "max_cps").for_language("sw").max_cps == 12
    # an untagged line is measured by its script
    assert rules.for_language(None, "مرحبا") is rules.for_language("ar")
    assert rules.for_language(None, "สวัสดี") is rules.for_language("th")


def test_combining_marks_and_bidi_controls_are_not_characters() -> None:
    rules = CueRules().for_language("th")
    assert text_width("ที่นี่", rules) == 2  # ท ี ่ น ี ่: a vowel and a tone mark on each letter
    assert text_width(f"{RLI}مرحبا.{PDI}", CueRules().for_language("ar")) == 6


def test_thai_breaks_between_phrases_and_keeps_its_spaces() -> None:
    rules = CueRules().for_language("th")
    tokens = tokenize(THAI, rules)
    assert "".join(tokens).rstrip() == " ".join(THAI.split())
    lines = break_lines(tokens, rules)
    assert all(text_width(line, rules) <= 35 for line in lines[:2])
    cues = laid_out("th", THAI)
    shown = [line for cue in cues for line in cue.texts[1].lines]
    assert "".join(shown).replace(" ", "") == THAI.replace(" ", "")
    for line in shown:
        assert text_width(line, rules) <= rules.max_line_chars
        assert line == line.strip()


@pytest.mark.parametrize(
    "text",
    [
        "ខ្ញុំស្រលាញ់អ្នកណាស់ ហើយខ្ញុំចង់ទៅលេងផ្ទះរបស់អ្នកនៅថ្ងៃស្អែកជាមួយមិត្តភក្តិ",  # Khmer
        "ສະບາຍດີ ຂ້ອຍຊື່ສົມພອນ ຂ້ອຍມາຈາກວຽງຈັນ ແລະຂ້ອຍມັກອ່ານປຶ້ມຫຼາຍທີ່ສຸດ",  # Lao
        "မင်္ဂလာပါ ကျွန်တော်နာမည်က မောင်မောင်ပါ ရန်ကုန်မှာနေပါတယ်",  # Burmese
    ],
)
def test_without_a_model_lines_break_between_clusters_never_before_a_mark(text: str) -> None:
    units = spaced_phrases(text, None)
    assert "".join(units).rstrip() == text
    for unit in units:
        assert not unit[0].isspace()
        assert unit[0] not in "ະາຳ"
        assert unicodedata.category(unit[0]) not in ("Mn", "Mc"), unit
        assert not unit.rstrip().endswith(("\u17d2", "\u1039", "ເ", "ແ", "ໂ"))


def test_scc_carries_only_what_608_can_show() -> None:
    assert {"en", "es", "fr", "pt", "de", "it", "nl", "da", "sv", "nb"} <= CEA608_LANGUAGES
    assert not {"pl", "cs", "tr", "vi", "ro", "hu", "is"} & CEA608_LANGUAGES
    assert carries(("en", "es")) and carries(("pt-BR",))
    assert not carries(("en", "pl")) and not carries(("zh-TW",)) and not carries(("ar",))
    assert "ł" in (cea608_refusal("pl") or "")
    assert cea608_refusal("fr") is None


def test_every_letter_of_a_carried_language_is_written_as_608_shows_it() -> None:
    from ttconv.scc.codes.characters import TO_SCC_BYTES
    from ttconv.scc.codes.extended_characters import SccExtendedCharacter
    from ttconv.scc.codes.special_characters import SccSpecialCharacter

    from subtitler.layout.scripts import CEA608_SUBSTITUTES, LETTERS

    table = {
        *TO_SCC_BYTES,
        *(code.get_unicode_value() for code in SccExtendedCharacter),
        *(code.get_unicode_value() for code in SccSpecialCharacter),
    }
    for language in CEA608_LANGUAGES:
        for letter in LETTERS[language] + LETTERS[language].upper():
            shown = CEA608_SUBSTITUTES.get(letter, letter)
            assert all(character in table for character in shown), (language, letter)


def test_a_hyphenated_tag_is_read_from_a_file_name() -> None:
    assert declared_pair(Path("film.en-zh-TW.srt")) == ("en", "zh-TW")
    assert declared_pair(Path("film.zh-TW-en.vtt")) == ("zh-TW", "en")
    assert declared_pair(Path("film.zh-en.srt")) == ("zh", "en")
    assert declared_pair(Path("film.en-ar.ebuttd.xml")) == ("en", "ar")
    assert declared_pair(Path("film.srt")) is None


def tracks(stem: Path, target: str) -> list[Track]:
    names = ("en", target)
    both = (0, 1)
    made: list[Track] = [
        SrtTrack(stem, both),
        VttTrack(stem, both, ("Source: talk.wav",)),
        AssTrack(stem, both, names, "talk.wav"),
        TtmlTrack(stem, both, names, "talk.wav"),
        EbuTtdTrack(stem, both, names, "talk.wav"),
    ]
    return made


@pytest.mark.parametrize(("target", "translation"), [("ar", ARABIC), ("th", THAI), ("zh-TW", "")])
def test_cues_written_by_every_format_read_back_equal_and_pass_check(
    tmp_path: Path, target: str, translation: str
) -> None:
    translation = (
        translation or "當我們三年前開始這個項目時，團隊裡沒有人相信一小群志願者能翻譯每一堂課。"
    )
    cues = laid_out(target, translation)
    assert len(cues) >= 2
    written = [tuple((text.language, line) for text in cue.texts for line in text.lines)
               for cue in cues]  # fmt: skip
    for track in tracks(tmp_path / f"talk.en-{target}", target):
        perform([track.open()])
        perform([op for op in [track.apply(LayoutUpdate(None, tuple(cues)))] if op])
        perform([track.finish()])
        reading = read_subtitles(track.path)
        texts = [tuple(line for _, line in cue.lines) for cue in reading.cues]
        assert texts == [tuple(line for _, line in cue) for cue in written], track.path.name
        if track.suffix != ".srt":  # SRT names no language
            languages = [tuple(language for language, _ in cue.lines) for cue in reading.cues]
            assert languages == [tuple(language for language, _ in cue) for cue in written]
        report = check_file(track.path, CueRules())
        assert report.error is None and report.violations == (), report.violations


def test_right_to_left_lines_are_isolated_in_vtt_and_ass_and_styled_in_ttml(
    tmp_path: Path,
) -> None:
    cue = Cue(1000, 3000, (CueText("en", ("Hello, world.",)), CueText("ar", ("مرحبا بالعالم.",))))
    made = tracks(tmp_path / "talk.en-ar", "ar")
    for track in made:
        perform([track.open()])
        perform([op for op in [track.apply(LayoutUpdate(None, (cue,)))] if op])
        perform([track.finish()])
    srt, vtt, ass, ttml, ebu = made
    # WebVTT: the span holds exactly the line; RLI before it, PDI after it (webvtt-py, strict)
    (caption,) = webvtt.read(str(vtt.path)).captions
    assert caption.raw_text.splitlines() == [
        "<lang en>Hello, world.</lang>",
        f"{RLI}<lang ar>مرحبا بالعالم.</lang>{PDI}",
    ]
    # ASS: the Arabic line isolated after its style's reset (pysubs2 reads it back)
    (event,) = pysubs2.load(str(ass.path)).events
    assert event.text == f"Hello, world.\\N{{\\rar}}{RLI}مرحبا بالعالم.{PDI}"
    # SRT: unchanged (plain text for every player)
    assert RLI not in srt.path.read_text(encoding="utf-8")
    for document in (ttml, ebu):
        root = ET.parse(document.path).getroot()
        assert problems(root) == []
        styles = {s.get("{http://www.w3.org/XML/1998/namespace}id"): s for s in root.iter()
                  if s.tag.endswith("}style")}  # fmt: skip
        assert styles["rtl"].get(f"{{{TTS}}}direction") == "rtl"
        assert styles["rtl"].get(f"{{{TTS}}}unicodeBidi") == "embed"
        spans = [s for s in root.iter() if s.tag.endswith("}span")]
        assert [s.get("style") for s in spans] == ["source", "translation rtl"]
        assert strip_bidi("".join(spans[1].itertext())) == "".join(spans[1].itertext())


def test_an_scc_track_of_a_carried_language_round_trips(tmp_path: Path) -> None:
    cue = Cue(1001, 3003, (CueText("da", ("Æbler og blåbær på øen.",)),))
    track = SccTrack(tmp_path / "talk.da", (0,))
    perform([track.open()])
    perform([op for op in [track.apply(LayoutUpdate(None, (cue,)))] if op])
    perform([track.finish()])
    (read,) = read_subtitles(track.path).cues
    assert [line for _, line in read.lines] == ["AEbler og blåbaer på øen."]
