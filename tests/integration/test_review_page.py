"""The review page (subtitler/review/page.*) in Debian's headless Chromium, driven only through
accessible names (roles and names, as a screen reader user finds the controls): against
`subtitler review` on a real run, and against the API's contract served in memory
(tests/review_contract.py) for what the page alone decides (keys, drafts, conflicts)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from subtitler.emulator.server import BackgroundEmulator
from tests import harness
from tests.browser import Browser
from tests.review_contract import Contract, serving
from tests.support import FIXTURES, TEST_KEY

FORMATS = "srt,vtt,ass,ttml,ebu-tt-d"


@pytest.fixture(scope="module")
def news(emulator: BackgroundEmulator, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Mandarin news clip subtitled in English and Spanish, every format, by the emulator."""
    folder = tmp_path_factory.mktemp("news")
    media = folder / "zh_news.mp4"
    shutil.copyfile(FIXTURES / "zh_news.mp4", media)
    done = harness.run(
        "run", media, "-s", "zh", "-t", "en,es", "--format", FORMATS,
        "--endpoint", emulator.url, env=harness.environment(DASHSCOPE_API_KEY=TEST_KEY),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return media


def copied(news: Path, tmp_path: Path) -> Path:
    """The run's folder copied, so a test's edits change nothing another test reads."""
    folder = tmp_path / "input"
    shutil.copytree(news.parent, folder)
    return folder / news.name


@contextlib.asynccontextmanager
async def contract_page(
    contract: Contract, *sizes: tuple[int, int]
) -> AsyncIterator[tuple[str, list[Browser]]]:
    """The contract served, and one browser per size (a tab each) on its input's page."""
    async with (
        contextlib.asynccontextmanager(serving)(contract) as url,
        contextlib.AsyncExitStack() as stack,
    ):
        browsers = [await stack.enter_async_context(Browser(*size)) for size in sizes]
        for browser in browsers:
            await browser.open(f"{url}?path={contract.media.name}")
            await browser.by_name("textbox", "Source, cue 1")
        yield url, browsers


async def until(
    browser: Browser, check: Callable[[], Awaitable[bool]], timeout_s: float = 30
) -> None:
    """Poll an async predicate, one animation frame apart, for at most `timeout_s`."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not so after {timeout_s} s: {check}")
        await browser.evaluate("new Promise(done => requestAnimationFrame(() => done(true)))")


def test_every_control_is_named_and_the_keys_act_on_the_current_cue(
    news: Path, tmp_path: Path
) -> None:
    asyncio.run(keys_and_names(Contract(copied(news, tmp_path))))


async def keys_and_names(contract: Contract) -> None:
    async with contract_page(contract, (1280, 800)) as (_, [page]):
        assert await page.unnamed_controls() == []
        for name in ("Play/Pause", "Previous cue", "Next cue", "Play this cue",
                     "Split at playhead", "Merge with next cue", "Begin one frame earlier",
                     "Begin one frame later", "End one frame earlier", "End one frame later",
                     "Insert cue", "Delete cue", "Mark reviewed", "Undo", "Redo", "Keys",
                     "Save, cue 1", "English translation, cue 1",
                     "Spanish translation, cue 1"):  # fmt: skip
            await page.by_name("button" if "," not in name or "Save" in name else "textbox", name)
        # Alt+Down moves to the next cue's source; Alt+] starts it a frame (40 ms) later.
        await page.focus_by_name("textbox", "Source, cue 1")
        await page.press("ArrowDown", alt=True)
        assert await page.focused_name() == "Source, cue 2"
        await page.press("BracketRight", alt=True)
        await until(page, lambda: _version_is(contract, 2))
        assert contract.requests[-1] == {
            "base_version": 1, "op": "timing", "cue": "c2", "begin_ms": 6040, "end_ms": 12000
        }  # fmt: skip
        await until(page, lambda: _said(page, "cue 2: 00:00:06.040 to 00:00:12.000"))
        # Alt+Shift+[ ends it a frame earlier; Ctrl+Z outside a text field undoes, Ctrl+Y redoes.
        await page.press("BracketLeft", alt=True, shift=True)
        await until(page, lambda: _said(page, "cue 2: 00:00:06.040 to 00:00:11.960"))
        assert contract.requests[-1]["end_ms"] == 11960
        await page.focus_by_name("button", "Next cue")
        await page.press("KeyZ", ctrl=True)
        await until(page, lambda: _said(page, "Undone (version 4)"))
        assert contract.requests[-1]["op"] == "undo"
        await page.press("KeyY", ctrl=True)
        await until(page, lambda: _said(page, "Redone (version 5)"))
        assert contract.requests[-1]["op"] == "redo"
        # Ctrl+Z inside a text field is the field's own undo: no edit is sent.
        await page.focus_by_name("textbox", "Source, cue 2")
        await page.press("KeyZ", ctrl=True)
        assert contract.version == 5
        # The Keys dialog lists them; Escape closes it.
        await page.click_by_name("button", "Keys")
        await page.by_name("cell", "Split at playhead")
        await page.press("Escape")
        await until(page, lambda: _closed(page))


async def _version_is(contract: Contract, version: int) -> bool:
    return contract.version == version


async def _said(page: Browser, text: str) -> bool:
    return text in await page.text_in_role("status")


async def _closed(page: Browser) -> bool:
    return not await page.named("cell", "Split at playhead")


def test_a_problem_shows_as_you_type_and_its_link_focuses_the_cue(
    news: Path, tmp_path: Path
) -> None:
    asyncio.run(problems_as_you_type(Contract(copied(news, tmp_path))))


async def problems_as_you_type(contract: Contract) -> None:
    long_line = "Researchers have released a brand new speech translation model"
    async with contract_page(contract, (390, 844)) as (_, [page]):
        await page.fill_by_name("English translation, cue 2", long_line)
        link = f"Cue 2: line-length (English): {len(long_line)} characters over 42"
        await page.by_name("link", link)
        assert contract.version == 1  # checked, not saved
        await page.focus_by_name("textbox", "Source, cue 1")
        await page.click_by_name("link", link)
        assert await page.focused_name() == "English translation, cue 2"
        # Saved with the button: a translation by hand.
        await page.click_by_name("button", "Save, cue 2")
        await until(page, lambda: _version_is(contract, 2))
        assert contract.requests[-1] == {
            "base_version": 1, "op": "translation", "cue": "c2", "target": "en",
            "lines": [long_line],
        }  # fmt: skip


def test_a_stale_save_from_a_second_tab_is_refused_and_nothing_typed_is_lost(
    news: Path, tmp_path: Path
) -> None:
    asyncio.run(two_tabs(Contract(copied(news, tmp_path))))


async def two_tabs(contract: Contract) -> None:
    async with contract_page(contract, (1280, 800), (1280, 800)) as (_, [first, second]):
        await second.fill_by_name("Source, cue 1", "第二个标签的文字。")
        await first.fill_by_name("Source, cue 1", "第一个标签的文字。")
        await first.press("Enter", ctrl=True)
        await until(first, lambda: _version_is(contract, 2))
        await second.click_by_name("button", "Save, cue 1")
        await until(second, lambda: _said(second, "edited elsewhere (version 2: source of cue c1)"))
        assert contract.version == 2
        assert contract.document["cues"][0]["source"]["lines"] == ["第一个标签的文字。"]
        # The second tab shows the first edit, and offers its own text back.
        assert await second.value_by_name("Source, cue 1") == "第一个标签的文字。"
        await second.click_by_name("button", "Restore my text, Source, cue 1")
        assert await second.value_by_name("Source, cue 1") == "第二个标签的文字。"
