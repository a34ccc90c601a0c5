"""The review API end to end: `subtitler run` against the emulator (zh source, en by Gummy, es by
Qwen-MT, all six formats), then edits through the HTTP API; after each save every track on disk
parses (the tracks' readers; ffmpeg for SRT, VTT and ASS) and agrees with the document; a rerun
changes no byte; `-t fr` afterwards translates the edited source."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from aiohttp.test_utils import TestClient, TestServer
from ttconv.imsc import reader as ttml_reader

from subtitler.emulator.server import BackgroundEmulator
from subtitler.errors import OutputError
from subtitler.options import make_options
from subtitler.qwenmt.client import QwenMt
from subtitler.review.routes import review_application
from subtitler.review.session import Files, Session
from subtitler.sources.media import ffmpeg_executable
from subtitler.tracks.durable import DiskWriter, FileOp
from subtitler.tracks.reading import read_subtitles
from tests import harness

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
FORMATS = "srt,vtt,ass,ttml,ebu-tt-d,scc"


def run(folder: Path, emulator: BackgroundEmulator, *args: str) -> None:
    done = harness.run("run", folder / "zh_news.mp4", "-s", "zh", "--speed", "max",
                       "--endpoint", emulator.url, *args)  # fmt: skip
    assert done.returncode == 0, done.stderr


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())
            if p.name.startswith("zh_news.") and p.suffix != ".mp4"}  # fmt: skip


def agrees(folder: Path, document: dict[str, Any]) -> None:
    """Every track parses and holds the document's cues: times, and each language's text."""
    cues = document["cues"]
    tracks = [p for p in folder.iterdir() if p.name.startswith("zh_news.") and p.suffix != ".mp4"]
    assert len(tracks) >= 20
    for track in tracks:
        if track.suffix in (".srt", ".vtt", ".ass"):
            command = [ffmpeg_executable(), "-v", "error", "-i", str(track), "-f", "srt", "-"]
            checked = subprocess.run(command, capture_output=True, text=True, check=False)
            assert checked.returncode == 0 and not checked.stderr.strip(), (track, checked.stderr)
        read = read_subtitles(track).cues
        language = track.name.split(".")[1].split("-")[-1]
        shown = [c for c in cues if language == "zh" or c["translations"][language]["lines"]]
        assert len(read) == len(shown), track
        step = 34 if track.suffix == ".scc" else 10  # SCC: 29.97 frames; ASS: centiseconds
        if track.suffix in (".ttml", ".xml"):  # TTML and EBU-TT-D: ttconv reads them too
            assert ttml_reader.to_model(ElementTree.parse(track)) is not None, track
        for got, cue in zip(read, shown, strict=True):
            assert abs(got.begin_ms - cue["begin_ms"]) <= step, (track, got, cue)
            assert abs(got.end_ms - cue["end_ms"]) <= step, (track, got, cue)
            text = "".join(line for _, line in got.lines).replace(" ", "")
            lines = cue["source"]["lines"] if language == "zh" else []
            lines = lines if language == "zh" else cue["translations"][language]["lines"]
            if track.suffix != ".scc":  # CEA-608 holds no Chinese: its own reader checks it
                assert all(line.replace(" ", "") in text for line in lines), (track, got, cue)
        if track.suffix == ".srt":
            text = track.read_text(encoding="utf-8")
            for cue in shown:
                lines = cue["source"]["lines"] if language == "zh" else []
                if language != "zh":
                    lines = cue["translations"][language]["lines"]
                assert all(line in text for line in lines), (track, lines)


def test_edits_through_the_api_reach_every_track_and_a_rerun_keeps_them(
    tmp_path: Path, emulator: BackgroundEmulator
) -> None:
    shutil.copy(FIXTURES / "zh_news.mp4", tmp_path / "zh_news.mp4")
    run(tmp_path, emulator, "-t", "en,es", "--format", FORMATS, "--layout", "both")
    options = make_options(("en",), endpoint=emulator.url, api_key="unused")
    app = review_application(roots=(tmp_path,), options=options, token=None, relative=True)

    async def scenario() -> dict[str, Any]:
        async with TestClient(TestServer(app)) as client:
            listed = await (await client.get("/api/inputs")).json()
            assert listed["inputs"][0]["path"] == "zh_news.mp4"
            document = await (await client.get("/api/document?path=zh_news.mp4")).json()
            assert [t["language"] for t in document["targets"]] == ["en", "es"]
            frame_ms = document["media"]["frame_ms"]

            async def edit(version: int, **op: Any) -> dict[str, Any]:
                answer = await client.post("/api/edit?path=zh_news.mp4",
                                           json={"base_version": version, **op})  # fmt: skip
                assert answer.status == 200, await answer.text()
                saved: dict[str, Any] = await answer.json()
                agrees(tmp_path, saved)
                return saved

            asked = len(emulator.server.stats.mt_requests)
            first = document["cues"][0]
            document = await edit(0, op="source", cue=first["id"], lines=["欢迎收看今天的新闻。"])
            new = emulator.server.stats.mt_requests[asked:]
            assert len(new) == 2, "en and es asked again"
            cue = document["cues"][0]
            assert all(cue["translations"][t]["state"] == "ok" for t in ("en", "es"))
            assert "欢迎收看今天的新闻" in cue["translations"]["es"]["lines"][0]
            document = await edit(1, op="translation", cue=cue["id"], target="en", lines=["Hi."])
            assert document["cues"][0]["translations"]["en"]["by_hand"]
            second = document["cues"][1]
            middle = (second["begin_ms"] + second["end_ms"]) // 2
            document = await edit(2, op="split", cue=second["id"], at_ms=middle)
            count = len(document["cues"])
            document = await edit(3, op="merge", cue=second["id"])
            assert len(document["cues"]) == count - 1
            begin, end = document["cues"][0]["begin_ms"], document["cues"][0]["end_ms"]
            nudged = round(begin + frame_ms)
            document = await edit(4, op="timing", cue=cue["id"], begin_ms=nudged, end_ms=end)
            assert document["cues"][0]["begin_ms"] == nudged
            document = await edit(5, op="undo")
            assert document["cues"][0]["begin_ms"] == begin and document["can_redo"]
            document = await edit(6, op="redo")
            assert document["cues"][0]["begin_ms"] == nudged

            delete = {"op": "delete", "cue": cue["id"]}
            stale = await client.post("/api/edit?path=zh_news.mp4",
                                      json={"base_version": 3, **delete})  # fmt: skip
            assert stale.status == 409
            refused = await stale.json()
            assert refused["conflict"]["version"] == 7 and refused["document"]["version"] == 7
            before = digests(tmp_path)
            foreign = await client.post("/api/edit?path=zh_news.mp4",
                                        json={"base_version": 7, "op": "delete", "cue": cue["id"]},
                                        headers={"Origin": "https://evil.example"})  # fmt: skip
            assert foreign.status == 403 and digests(tmp_path) == before
            outside = await client.get("/api/document?path=../etc/passwd")
            assert outside.status == 404
            return document

    document = asyncio.run(scenario())
    before = digests(tmp_path)
    run(tmp_path, emulator, "-t", "en,es", "--format", FORMATS, "--layout", "both")
    assert digests(tmp_path) == before, "a rerun changes no byte"
    (tmp_path / "zh_news.zh-en.vtt").unlink()
    run(tmp_path, emulator, "-t", "en,es", "--format", FORMATS, "--layout", "both")
    assert digests(tmp_path) == before, "a missing track renders the edited cues"
    asked = len(emulator.server.stats.mt_requests)
    run(tmp_path, emulator, "-t", "fr")
    texts = [r.body["messages"][0]["content"] for r in emulator.server.stats.mt_requests[asked:]]
    assert "欢迎收看今天的新闻。" in "\n".join(texts), "fr translates the edited source"
    french = [p for p in tmp_path.iterdir() if p.name.startswith("zh_news.") and "fr" in p.name]
    assert french
    for fr in french:  # each fr track holds the translation of the edited source line
        said = [line for _, line in read_subtitles(fr).cues[0].lines]
        assert "[French] 欢迎收看今天的新闻。" in said, (fr, said)
    assert document["cues"][0]["source"]["lines"] == ["欢迎收看今天的新闻。"]


def test_a_run_begun_again_sets_the_review_aside(
    tmp_path: Path, emulator: BackgroundEmulator
) -> None:
    """`run --overwrite` hears the input again: the review of the old hearing is not replayed
    over the new cues (by position) but kept aside, and the run says so."""
    shutil.copy(FIXTURES / "zh_news.mp4", tmp_path / "zh_news.mp4")
    run(tmp_path, emulator, "-t", "en", "--format", "srt")
    options = make_options(("en",), endpoint=emulator.url, api_key="unused")

    async def document(edit: dict[str, Any] | None = None) -> dict[str, Any]:
        app = review_application(roots=(tmp_path,), options=options, token=None, relative=True)
        async with TestClient(TestServer(app)) as client:
            if edit is not None:
                answer = await client.post("/api/edit?path=zh_news.mp4", json=edit)
                assert answer.status == 200, await answer.text()
            got: dict[str, Any] = await (await client.get("/api/document?path=zh_news.mp4")).json()
            return got

    asyncio.run(document({"base_version": 0, "op": "translation", "cue": "c2",
                          "target": "en", "lines": ["An old hearing's edit."]}))  # fmt: skip
    review = tmp_path / ".zh_news.subtitler-review.jsonl"
    kept = review.read_text(encoding="utf-8")
    done = harness.run("run", tmp_path / "zh_news.mp4", "-s", "zh", "--speed", "max",
                       "--endpoint", emulator.url, "-t", "en", "--format", "srt",
                       "--overwrite")  # fmt: skip
    assert done.returncode == 0, done.stderr
    aside = tmp_path / ".zh_news.subtitler-review-stale-1.jsonl"
    assert "kept as .zh_news.subtitler-review-stale-1.jsonl" in done.stderr
    assert aside.read_text(encoding="utf-8") == kept and not review.exists()
    fresh = asyncio.run(document())
    assert fresh["version"] == 0
    assert all(c["translations"]["en"]["lines"] != ["An old hearing's edit."]
               for c in fresh["cues"])  # fmt: skip
    assert "An old hearing's edit." not in (tmp_path / "zh_news.zh-en.srt").read_text("utf-8")


def test_a_rerun_renders_a_save_whose_tracks_were_not_written(
    tmp_path: Path, emulator: BackgroundEmulator
) -> None:
    """A save journaled whose render failed (the disk filled): `subtitler run` renders every
    track from the review rather than keeping the stale ones."""

    class Full(DiskWriter):
        async def render_and_run(self, render: Callable[[], Sequence[FileOp]]) -> None:
            raise OutputError("zh_news.zh-en.srt", "no space left on device")

    shutil.copy(FIXTURES / "zh_news.mp4", tmp_path / "zh_news.mp4")
    run(tmp_path, emulator, "-t", "en", "--format", "srt,vtt")
    options = make_options(("en",), endpoint=emulator.url, api_key="unused")

    async def save() -> None:
        full = Full()
        session = Session(Files.of(tmp_path / "zh_news.mp4"), name="zh_news.mp4",
                          options=options, translator=QwenMt, disk=full)  # type: ignore[arg-type]  # fmt: skip
        await asyncio.to_thread(session._load)  # as a server that stopped before rendering
        with pytest.raises(OutputError):
            await session.edit(0, {"op": "translation", "cue": "c1", "target": "en",
                                   "lines": ["Saved, not rendered."]})  # fmt: skip
        full.close()

    asyncio.run(save())
    for suffix in ("srt", "vtt"):
        assert "Saved, not rendered." not in (tmp_path / f"zh_news.zh-en.{suffix}").read_text()
    run(tmp_path, emulator, "-t", "en", "--format", "srt,vtt")
    for suffix in ("srt", "vtt"):
        assert "Saved, not rendered." in (tmp_path / f"zh_news.zh-en.{suffix}").read_text()
    before = digests(tmp_path)
    run(tmp_path, emulator, "-t", "en", "--format", "srt,vtt")
    assert digests(tmp_path) == before, "marked rendered: the next rerun keeps them"


def test_two_review_processes_on_one_input_save_one_edit_and_refuse_the_other(
    tmp_path: Path, emulator: BackgroundEmulator
) -> None:
    """A run with `-o DIR`, then two `subtitler review --out-dir DIR` processes on it (as
    `review` and serve's /review/ on one library): a save through each on the same version at
    once, each asking Qwen-MT again: one is saved, the other 409; nothing lost."""
    import json

    import aiohttp

    out_dir = tmp_path / "out"
    shutil.copy(FIXTURES / "zh_news.mp4", tmp_path / "zh_news.mp4")
    run(tmp_path, emulator, "-t", "en,es", "--format", "srt", "--layout", "both",
        "-o", str(out_dir))  # fmt: skip
    review = ("review", tmp_path, "--out-dir", out_dir, "--endpoint", emulator.url, "--json")
    servers = [harness.start(*review) for _ in range(2)]
    try:
        urls = []
        for server in servers:
            assert server.stdout is not None
            line = server.stdout.readline()  # the address, once it listens (EOF if it failed)
            assert line, server.stderr.read() if server.stderr else ""
            urls.append(json.loads(line)["url"])

        async def scenario() -> list[dict[str, Any]]:
            async with aiohttp.ClientSession() as client:

                async def save(url: str, version: int, cue: str, text: str) -> tuple[int, Any]:
                    body = {"base_version": version, "op": "source", "cue": cue, "lines": [text]}
                    async with client.post(f"{url}api/edit?path=zh_news.mp4", json=body) as said:
                        return said.status, await said.json()

                edits = (("c1", "第一句改了。"), ("c2", "第二句也改了。"))
                answers = await asyncio.gather(*(
                    save(url, 0, cue, text) for url, (cue, text) in zip(urls, edits, strict=True)
                ))  # fmt: skip
                assert sorted(status for status, _ in answers) == [200, 409], answers
                loser = next(i for i, (status, _) in enumerate(answers) if status == 409)
                assert answers[loser][1]["detail"]  # one line: edited elsewhere, or busy
                cue, text = edits[loser]
                status, _ = await save(urls[loser], 1, cue, text)  # made again on version 1
                assert status == 200
                documents = []
                for url in urls:
                    async with client.get(f"{url}api/document?path=zh_news.mp4") as got:
                        documents.append(await got.json())
                return documents

        documents = asyncio.run(scenario())
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.communicate(timeout=30)
    first, second = documents
    assert first["version"] == second["version"] == 2
    assert first["cues"] == second["cues"]
    sources = [cue["source"]["lines"] for cue in first["cues"]]
    assert sources[:2] == [["第一句改了。"], ["第二句也改了。"]]
    assert all(cue["translations"]["en"]["state"] == "ok" for cue in first["cues"][:2])
    journal = out_dir / ".zh_news.subtitler-review.jsonl"
    versions = [json.loads(line).get("version") for line in journal.read_text().splitlines()]
    assert [v for v in versions if v is not None] == [1, 2]
    srt = (out_dir / "zh_news.zh-en.srt").read_text(encoding="utf-8")
    assert "第一句改了。" in srt and "第二句也改了。" in srt
    assert not (tmp_path / ".zh_news.subtitler-review.jsonl").exists()
