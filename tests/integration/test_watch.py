"""`subtitler watch` end to end: real ffmpeg, the local emulator, real files and signals."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
from pathlib import Path
from typing import Any

import pysrt

from subtitler.emulator.server import BackgroundEmulator
from tests import harness
from tests.support import FIXTURES

ROOT = Path(__file__).resolve().parents[2]
CLIP = FIXTURES / "en_late_audio.mp4"  # 3 sentences
NEWS = FIXTURES / "zh_news.mp4"


class Watcher:
    """A `subtitler watch --json` child whose events the test reads as they come."""

    def __init__(self, folder: Path, emulator: BackgroundEmulator, *extra: str) -> None:
        self.arguments = harness.command(
            "watch", str(folder), "-t", "en", "--json", "--endpoint", emulator.url, *extra,
        )  # fmt: skip
        self.events: list[dict[str, Any]] = []
        self.process: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> Watcher:
        self.process = await asyncio.create_subprocess_exec(
            *self.arguments, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=harness.environment(), cwd=ROOT,
        )  # fmt: skip
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()

    async def watching(self) -> None:
        """Until the watcher says it has queued the folders' files and is watching."""
        assert self.process is not None and self.process.stderr is not None
        while True:
            line = await asyncio.wait_for(self.process.stderr.readline(), 60)
            assert line, "the watcher ended before watching"
            if line.startswith(b"subtitler: watching "):
                return

    async def until(self, kind: str, name: str, count: int = 1, timeout_s: float = 120) -> None:
        """Read events until `count` events of `kind` for the file named `name`."""

        async def read() -> None:
            assert self.process is not None and self.process.stdout is not None
            while self.count(kind, name) < count:
                line = await self.process.stdout.readline()
                assert line, f"the watcher ended: {await self.process.stderr.read()!r}"  # type: ignore[union-attr]
                self.events.append(json.loads(line))

        await asyncio.wait_for(read(), timeout_s)

    def count(self, kind: str, name: str) -> int:
        return sum(1 for e in self.events if e["event"] == kind and Path(e["input"]).name == name)

    async def stop(self, signal_number: int = signal.SIGINT) -> int:
        assert self.process is not None and self.process.stdout is not None
        self.process.send_signal(signal_number)
        rest, _ = await asyncio.wait_for(self.process.communicate(), 120)
        self.events += [json.loads(line) for line in rest.decode().splitlines()]
        assert self.process.returncode is not None
        return self.process.returncode


def cues(track: Path) -> int:
    return len(pysrt.open(str(track), error_handling=pysrt.ERROR_RAISE))


def test_watch_takes_present_downloaded_and_slowly_copied_files_once(
    emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    folder = tmp_path / "library"
    (folder / "incoming").mkdir(parents=True)
    shutil.copy(CLIP, folder / "present.mp4")

    async def main() -> None:
        async with Watcher(folder, emulator, "-s", "en", "-t", "zh", "--settle", "1",
                           "--speed", "max") as watcher:  # fmt: skip
            await watcher.until("finished", "present.mp4")
            # A browser's download: written as .part, renamed when complete.
            partial = folder / "incoming" / "download.mp4.part"
            shutil.copy(CLIP, partial)
            partial.rename(folder / "incoming" / "download.mp4")
            await watcher.until("finished", "download.mp4")
            # A slow copy in place: the file grows for ~2.5 s, in pieces 0.25 s apart (less
            # than the settle time), so it is taken only once complete.
            data = CLIP.read_bytes()
            with open(folder / "slow.mp4", "wb") as handle:
                for start in range(0, len(data), len(data) // 10 + 1):
                    handle.write(data[start : start + len(data) // 10 + 1])
                    handle.flush()
                    await asyncio.sleep(0.25)  # a slow writer's pace, not synchronisation
            await watcher.until("finished", "slow.mp4")
            code = await watcher.stop(signal.SIGINT)
        assert code == 0
        for name in ("present.mp4", "download.mp4", "slow.mp4"):
            assert watcher.count("queued", name) == 1, name
            assert watcher.count("finished", name) == 1, name
        assert not [e for e in watcher.events if e["event"] in ("failed", "skipped")]
        assert not [e for e in watcher.events if e.get("input", "").endswith(".part")]
        expected = cues(folder / "present.en-zh.srt")
        assert cues(folder / "incoming" / "download.en-zh.srt") == expected
        assert cues(folder / "slow.en-zh.srt") == expected  # decoded whole, not a prefix
        assert watcher.events[-1]["event"] == "summary"

    asyncio.run(main())


def test_a_watch_killed_mid_file_is_resumed_by_the_next_one(
    emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    folder = tmp_path / "library"
    folder.mkdir()
    shutil.copy(NEWS, folder / "news.mp4")
    reference = tmp_path / "reference"
    reference.mkdir()
    shutil.copy(NEWS, reference / "news.mp4")

    async def main() -> None:
        async with Watcher(reference, emulator, "-s", "zh", "--speed", "max") as clean:
            await clean.until("finished", "news.mp4")
            assert await clean.stop(signal.SIGTERM) == 0  # SIGTERM ends a watch like SIGINT
        async with Watcher(folder, emulator, "-s", "zh", "--speed", "4") as first:
            await first.until("cue", "news.mp4", count=2)
            first.process.kill()  # type: ignore[union-attr]
            await first.process.wait()  # type: ignore[union-attr]
        assert first.count("finished", "news.mp4") == 0
        async with Watcher(
            folder, emulator, "-s", "zh", "--speed", "max", "--client", "sdk"
        ) as second:
            await second.until("finished", "news.mp4")
            assert await second.stop() == 0
        finished = next(e for e in second.events if e["event"] == "finished")
        assert finished["resumed_at_ms"] > 0, "resumed, not started over"
        assert finished["sentences"] == next(
            e["sentences"] for e in clean.events if e["event"] == "finished"
        ), "both runs' sentences"
        assert cues(folder / "news.zh-en.srt") == cues(reference / "news.zh-en.srt")

    asyncio.run(main())


def test_poll_finds_files_without_change_notifications(
    emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    folder = tmp_path / "share"
    folder.mkdir()

    async def main() -> None:
        async with Watcher(folder, emulator, "-s", "en", "-t", "zh", "--settle", "0.5",
                           "--poll", "0.2", "--speed", "max") as watcher:  # fmt: skip
            await watcher.watching()
            shutil.copy(CLIP, folder / "new.mp4")
            await watcher.until("finished", "new.mp4")
            assert await watcher.stop() == 0
        queued = [e for e in watcher.events if e["event"] == "queued"]
        assert [(Path(e["input"]).name, e["reason"]) for e in queued] == [("new.mp4", "settled")]

    asyncio.run(main())
