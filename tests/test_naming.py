"""`-s auto` naming, pure: when the language is decided, and what it is."""

from __future__ import annotations

import asyncio

import pytest

from subtitler.engine import naming
from subtitler.engine.naming import SourceNamer
from subtitler.langid import identify


def test_a_clear_first_sentence_names_the_language_at_once() -> None:
    async def main() -> None:
        namer = SourceNamer()
        namer.offer("欢迎收看今天的科技新闻。")
        assert namer.decided and namer.named.result() == "zh"
        namer.offer("The rest does not change it.")
        assert namer.named.result() == "zh"

    asyncio.run(main())


def test_short_sentences_wait_for_more_then_silence_is_und() -> None:
    async def main() -> None:
        namer = SourceNamer()
        namer.offer("Hola")  # too short to tell
        assert not namer.decided
        silent = SourceNamer()
        silent.decide()  # the input ended with no speech
        assert silent.named.result() == "und"
        namer.offer("")  # silence is not a sentence
        namer.offer("Oui")
        assert not namer.decided
        namer.offer("Ja")
        assert namer.decided  # three sentences: decided with what there is
        assert namer.named.result() == "und"  # "Hola Oui Ja" is too little to tell

    asyncio.run(main())


def test_a_held_sentence_waits_at_most_max_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    """A live source that pauses after a short sentence does not hold its cue for long."""
    monkeypatch.setattr(naming, "MAX_HOLD_S", 0.05)

    async def main() -> str:
        namer = SourceNamer()
        namer.offer("Hola")
        return await asyncio.wait_for(namer.named, 5)

    assert asyncio.run(main()) == "und"


def test_cantonese_is_told_from_mandarin() -> None:
    found = identify("佢哋今日喺度食咗飯未呀，我哋一齊去啦。")
    assert found is not None and found.code == "yue" and found.name == "cantonese"
    mandarin = identify("他们今天在这里吃饭了吗？我们一起去吧。")
    assert mandarin is not None and mandarin.code == "zh"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("欢迎收看今天的科技新闻，我们明天再见。", "zh"),
        ("佢哋今日喺度食咗飯未呀，我哋一齊去啦。", "yue"),
        ("研究者たちは新しい音声翻訳モデルを発表しました。", "ja"),
        ("안녕하세요, 오늘 뉴스를 전해 드리겠습니다.", "ko"),
        ("Здравствуйте, сегодня мы поговорим о новостях.", "ru"),
        ("Welcome to today's technology news, see you tomorrow.", "en"),
        ("Willkommen zu den heutigen Technik-Nachrichten, bis morgen.", "de"),
        ("Bienvenue aux nouvelles technologiques du jour, à demain.", "fr"),
        ("Benvenuti alle notizie di tecnologia di oggi, a domani.", "it"),
        ("Bienvenidos a las noticias de tecnología de hoy, hasta mañana.", "es"),
    ],
)
def test_every_gummy_source_language_is_identified(text: str, code: str) -> None:
    found = identify(text)
    assert found is not None and found.code == code
