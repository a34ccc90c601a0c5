"""One input's review session (`review/session.py`) on a journal written here, with a stand-in
translator (a pure unit: no service): the document, versions, a stale edit refused."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from subtitler.engine import journal as resume_state
from subtitler.engine.claim import Claim
from subtitler.engine.journal import InputState, TargetProgress
from subtitler.errors import OutputError
from subtitler.layout.cues import Cue, CueText
from subtitler.options import make_options
from subtitler.qwenmt.protocol import Translated, TranslationRequest
from subtitler.review import routes
from subtitler.review.render import every_track
from subtitler.review.routes import review_application
from subtitler.review.session import Busy, Conflict, Files, Session
from subtitler.tracks.durable import DiskWriter, FileOp
from subtitler.views.access import HostNames


class StandIn:
    def __init__(self) -> None:
        self.asked: list[TranslationRequest] = []

    async def translate(self, request: TranslationRequest) -> Translated:
        self.asked.append(request)
        return Translated(text=f"<{request.target}> {request.text}", input_tokens=1,
                          output_tokens=1)  # fmt: skip


def written(folder: Path, out_dir: Path | None = None) -> Files:
    """A finished run's journal of `folder/talk.mp4`, beside it or in `out_dir` (its `-o`)."""
    media = folder / "talk.mp4"
    media.write_bytes(b"not media: the session never decodes it")
    state = InputState("talk.mp4", {"source_language": "zh"}, {})
    for target, words in (("en", ("One", "Two")), ("es", ("Uno", "Dos"))):
        pairs = enumerate(zip(("一", "二"), words, strict=True), start=1)
        cues = [
            Cue(1000 * i, 1000 * i + 800, (CueText("zh", (zh,)), CueText(target, (w,))))
            for i, (zh, w) in pairs
        ]
        state.targets[target] = TargetProgress(cues=cues, finished=True)
    files = Files.of(media, out_dir)
    files.state.parent.mkdir(parents=True, exist_ok=True)
    lines = [state.header()]
    for target, progress in state.targets.items():
        lines += [resume_state.update_line(target, 0, None, (cue,)) for cue in progress.cues]
        lines.append(f'{{"finished": "{target}"}}')
    files.state.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return files


def test_a_stale_base_version_is_refused_and_the_first_edit_survives(tmp_path: Path) -> None:
    async def scenario() -> None:
        files = written(tmp_path)
        translator = StandIn()
        disk = DiskWriter()
        made = dict(
            options=make_options(("en",), api_key="unused"),
            translator=lambda: translator,
            disk=disk,
        )
        first = Session(files, name="talk.mp4", **made)  # type: ignore[arg-type]
        second = Session(files, name="talk.mp4", **made)  # type: ignore[arg-type]
        await first.load()
        await second.load()
        await first.edit(0, {"op": "source", "cue": "c1", "lines": ["一一"]})
        assert [r.target for r in translator.asked] == ["en", "es"]
        with pytest.raises(Conflict, match=r"version 1: source of cue c1"):
            await second.edit(0, {"op": "delete", "cue": "c1"})
        assert second.version == 1  # it read the other's edit
        third = Session(files, name="talk.mp4", **made)  # type: ignore[arg-type]
        await third.load()
        (cue, _) = third.cues
        assert cue.source == ("一一",) and cue.translation("es").lines == ("<es> 一一",)
        document = third.document("talk.mp4")
        assert document["version"] == 1 and document["can_undo"] and not document["can_redo"]
        disk.close()

    asyncio.run(scenario())


class Held(StandIn):
    """A translator that answers only when told: an edit held mid-save."""

    def __init__(self) -> None:
        super().__init__()
        self.asked_event = asyncio.Event()
        self.answer = asyncio.Event()

    async def translate(self, request: TranslationRequest) -> Translated:
        self.asked_event.set()
        await self.answer.wait()
        return await super().translate(request)


def sessions(files: Files, disk: DiskWriter, *translators: StandIn) -> list[Session]:
    options = make_options(("en",), api_key="unused")
    return [
        Session(files, name="talk.mp4", options=options, translator=lambda t=t: t, disk=disk)
        for t in translators
    ]


def test_two_servers_on_one_input_never_lose_an_edit(tmp_path: Path) -> None:
    """Two sessions (as `review` and serve's /review/ hold) over the same files: while one
    saves (Qwen-MT awaited), the other's save is refused, and the journal stays whole."""

    async def scenario() -> None:
        files = written(tmp_path)
        disk = DiskWriter()
        held = Held()
        first, second = sessions(files, disk, held, StandIn())
        await first.load()
        await second.load()
        saving = asyncio.create_task(first.edit(0, {"op": "source", "cue": "c1", "lines": ["甲"]}))
        await held.asked_event.wait()
        with pytest.raises(Busy, match="working on this input"):
            await second.edit(0, {"op": "source", "cue": "c2", "lines": ["乙"]})
        held.answer.set()
        await saving
        with pytest.raises(Conflict):
            await second.edit(0, {"op": "source", "cue": "c2", "lines": ["乙"]})
        await second.edit(1, {"op": "source", "cue": "c2", "lines": ["乙"]})
        (third,) = sessions(files, disk, StandIn())
        await third.load()
        assert third.version == 2
        assert [cue.source for cue in third.cues] == [("甲",), ("乙",)]
        disk.close()

    asyncio.run(scenario())


def test_an_input_whose_run_is_unfinished_or_running_is_not_edited(tmp_path: Path) -> None:
    async def scenario() -> None:
        files = written(tmp_path)
        disk = DiskWriter()
        (session,) = sessions(files, disk, StandIn())
        run = Claim(files.claim)
        assert run.acquire()
        await session.load()
        with pytest.raises(Busy):
            await session.edit(0, {"op": "reviewed", "cue": "c1", "value": True})
        run.release()
        text = files.state.read_text(encoding="utf-8").replace('{"finished": "es"}\n', "")
        files.state.write_text(text, encoding="utf-8")
        with pytest.raises(Busy, match="unfinished"):
            await session.edit(0, {"op": "reviewed", "cue": "c1", "value": True})
        assert not files.review.exists()
        disk.close()

    asyncio.run(scenario())


def test_a_refresh_during_a_save_waits_for_it(tmp_path: Path) -> None:
    """A GET (which reads the journals again when they changed) while an edit is being
    journaled must not replay the edit's own line under it."""

    class Pausing(DiskWriter):
        def __init__(self) -> None:
            super().__init__()
            self.written = asyncio.Event()
            self.go_on = asyncio.Event()

        async def run(self, operations: list[FileOp]) -> None:
            await super().run(operations)
            if any(getattr(op, "path", None) == files.review for op in operations):
                self.written.set()
                await self.go_on.wait()

    async def scenario() -> None:
        disk = Pausing()
        (session,) = sessions(files, disk, StandIn())
        await session.load()
        saving = asyncio.create_task(session.edit(0, {"op": "reviewed", "cue": "c1",
                                                     "value": True}))  # fmt: skip
        await disk.written.wait()
        reading = asyncio.create_task(session.refresh())
        await asyncio.wait({reading}, timeout=2.0)  # bounded: it finishes, or waits on the save
        disk.go_on.set()
        await saving
        await reading
        assert session.version == 1 and session.cues[0].reviewed
        disk.close()

    files = written(tmp_path)
    asyncio.run(scenario())


def test_a_save_whose_render_failed_is_rendered_on_the_next_load(tmp_path: Path) -> None:
    """The edit is journaled, then the tracks cannot be written (disk full): the client is told,
    and the next load renders every track from the journal (they never stay behind)."""

    class Full(DiskWriter):
        async def render_and_run(self, render: Callable[[], Sequence[FileOp]]) -> None:
            raise OutputError("talk.zh-en.srt", "no space left on device")

    async def scenario() -> None:
        files = written(tmp_path)
        disk, full = DiskWriter(), Full()
        (session,) = sessions(files, full, StandIn())
        await session.load()
        options = make_options(("en", "es"), api_key="unused")
        plans = every_track(files.media, session.state, ["en", "es"], options)
        track = next(t.path for t in plans[0].tracks if t.path.suffix == ".srt")
        track.write_text("", encoding="utf-8")
        with pytest.raises(OutputError, match="no space"):
            await session.edit(0, {"op": "translation", "cue": "c1", "target": "en",
                                   "lines": ["By hand."]})  # fmt: skip
        assert track.read_text(encoding="utf-8") == ""
        (again,) = sessions(files, disk, StandIn())
        await again.load()
        assert "By hand." in track.read_text(encoding="utf-8")
        assert again.version == 1 and not again.review.behind
        disk.close()
        full.close()

    asyncio.run(scenario())


def served(folder: Path, token: str | None = None, hosts: HostNames | None = None) -> TestClient:
    written(folder)
    options = make_options(("en",), api_key="unused")
    app = review_application(roots=(folder,), options=options, token=token, relative=True,
                             translator_factory=lambda _settings: StandIn(),
                             hosts=hosts)  # fmt: skip
    return TestClient(TestServer(app))


def test_another_sites_name_pointed_at_the_review_is_refused(tmp_path: Path) -> None:
    """DNS rebinding: a page of evil.example whose name now resolves to 127.0.0.1 is, to the
    browser, same-origin with the review; only the Host header tells. `subtitler review` answers
    its own names only (421 otherwise, nothing read or changed)."""

    async def scenario() -> None:
        async with served(tmp_path, hosts=HostNames.of("127.0.0.1", ["review.lan"])) as client:
            evil = {"Host": "evil.example:8080", "Origin": "http://evil.example:8080"}
            assert (await client.get("/api/inputs", headers=evil)).status == 421
            edit = {"base_version": 0, "op": "reviewed", "cue": "c1", "value": True}
            refused = await client.post("/api/edit?path=talk.mp4", json=edit, headers=evil)
            assert refused.status == 421
            for name in ("127.0.0.1:9", "localhost:9", "review.lan"):
                assert (await client.get("/api/inputs", headers={"Host": name})).status == 200
            document = await client.get("/api/document?path=talk.mp4")
            assert (await document.json())["version"] == 0

    asyncio.run(scenario())


def test_event_streams_end_when_the_server_shuts_down(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served(tmp_path) as client:
            events = await client.get("/api/events?path=talk.mp4")
            assert (await events.content.readuntil(b"\n\n")).startswith(b"event: version")
            await client.app.shutdown()  # what Ctrl-C's cleanup does first
            rest = await asyncio.wait_for(events.content.read(), 10.0)  # bounded
            assert rest == b"" and events.content.at_eof()

    asyncio.run(scenario())


def test_sign_in_from_a_deep_link_comes_back_to_it_and_pages_are_never_framed(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with served(tmp_path, token="s3cret") as client:
            page = await client.get("/?path=a%2Ftalk.mp4", headers={"Accept": "text/html"})
            assert page.status == 401
            form = await page.text()
            assert re.search(r'name="query" value="path=a(/|%2F)talk.mp4"', form)
            assert "s3cret" not in form
            policy = page.headers["Content-Security-Policy"]
            assert "frame-ancestors 'none'" in policy and "default-src 'self'" in policy
            wrong = await client.post("/sign-in", data={"token": "nope", "query": "path=x"})
            assert wrong.status == 401 and "Set-Cookie" not in wrong.headers
            back = {"token": "s3cret", "query": "path=a%2Ftalk.mp4"}
            signed = await client.post("/sign-in", allow_redirects=False, data=back)
            assert signed.status == 303
            assert signed.headers["Location"] in ("./?path=a%2Ftalk.mp4", "./?path=a/talk.mp4")
            assert "HttpOnly" in signed.headers["Set-Cookie"]
            away = {"token": "s3cret", "query": "//evil.example/x"}
            # Signed in now: a browser's POST says where it comes from (the cookie alone would
            # not do for a change that gives no origin).
            origin = str(client.make_url("/")).rstrip("/")
            sly = await client.post(
                "/sign-in", allow_redirects=False, data=away, headers={"Origin": origin}
            )
            assert sly.headers["Location"].startswith("./?")
            inputs = await client.get("/api/inputs", headers={"Authorization": "Bearer s3cret"})
            assert inputs.status == 200
            assert "frame-ancestors 'none'" in inputs.headers["Content-Security-Policy"]

    asyncio.run(scenario())


def test_tracks_are_rendered_again_with_the_runs_timecode_not_the_reviews(tmp_path: Path) -> None:
    """The run's --timecode-start is journaled: a save keeps the TTML's timeline on it even
    though `review` was not given it."""

    async def scenario() -> None:
        files = written(tmp_path)
        text = files.state.read_text(encoding="utf-8")
        text = text.replace('"settings": {"source_language": "zh"}',
                            '"settings": {"source_language": "zh", "frame_rate": "25", '
                            '"timecode_start": "10:00:00:00"}', 1)  # fmt: skip
        files.state.write_text(text, encoding="utf-8")
        disk = DiskWriter()
        (session,) = sessions(files, disk, StandIn())
        await session.load()
        options = make_options(("en",), api_key="unused")
        plans = every_track(files.media, session.state, ["en"], options)
        ttml = next(t.path for t in plans[0].tracks if t.path.suffix == ".ttml")
        ttml.write_text("", encoding="utf-8")
        await session.edit(0, {"op": "reviewed", "cue": "c1", "value": True})
        assert 'begin="10:00:01' in ttml.read_text(encoding="utf-8")
        disk.close()

    asyncio.run(scenario())


def test_a_body_over_64_kib_is_refused_before_it_is_read_whole(tmp_path: Path) -> None:
    """413 and one line, whether the body says its length or comes in chunks; nothing changed."""

    async def scenario() -> None:
        async with served(tmp_path) as client:
            files = Files.of(tmp_path / "talk.mp4")
            lines = ["x" * 1000] * 80  # an edit of about 80 KiB
            edit = {"base_version": 0, "op": "source", "cue": "c1", "lines": lines}
            said = await client.post("/api/edit?path=talk.mp4", json=edit)
            assert said.status == 413
            assert "over 64 KiB" in (await said.json())["detail"]

            async def chunks() -> Any:
                for _ in range(1000):  # 1 MB, no Content-Length
                    yield b" " * 1024

            chunked = await client.post("/api/edit?path=talk.mp4", data=chunks(),
                                        headers={"Content-Type": "application/json"})  # fmt: skip
            assert chunked.status == 413
            checked = await client.post("/api/check?path=talk.mp4", json={"cue": "c1",
                                        "source": lines})  # fmt: skip
            assert checked.status == 413
            signing = await client.post("/sign-in", data={"token": "t" * 10_000})
            assert signing.status == 413
            assert not files.review.exists()  # nothing journaled
            document = await (await client.get("/api/document?path=talk.mp4")).json()
            assert document["version"] == 0
            assert document["cues"][0]["source"]["lines"] == ["一"]
            small = await client.post("/api/edit?path=talk.mp4", json={**edit, "lines": ["甲"]})
            assert small.status == 200

    asyncio.run(scenario())


def test_an_input_run_with_out_dir_is_reviewed_where_its_tracks_are(tmp_path: Path) -> None:
    """`run -o DIR library/` wrote `DIR/a/.talk...` for `library/a/talk.mp4`: the review finds
    the journal and the tracks there, and writes nothing beside the media."""

    async def scenario() -> None:
        library, out_dir = tmp_path / "library", tmp_path / "out"
        (library / "a").mkdir(parents=True)
        files = written(library / "a", out_dir / "a")
        (session,) = sessions(files, DiskWriter(), StandIn())
        await session.load()
        options = make_options(("en",), api_key="unused")
        plans = every_track(files.media, session.state, ["en"], options, out_dir / "a")
        srt = next(t.path for t in plans[0].tracks if t.path.suffix == ".srt")
        assert srt.parent == out_dir / "a"
        srt.write_text("", encoding="utf-8")
        app = review_application(roots=(library,), options=options, token=None, relative=True,
                                 out_dir=out_dir,
                                 translator_factory=lambda _settings: StandIn())  # fmt: skip
        async with TestClient(TestServer(app)) as client:
            listed = (await (await client.get("/api/inputs")).json())["inputs"]
            assert [(i["path"], i["has_journal"], i["cues"]) for i in listed] == [
                ("a/talk.mp4", True, 2)
            ]
            document = await client.get("/api/document?path=a%2Ftalk.mp4")
            assert document.status == 200
            edit = {"base_version": 0, "op": "translation", "cue": "c1", "target": "en",
                    "lines": ["First"]}  # fmt: skip
            saved = await client.post("/api/edit?path=a%2Ftalk.mp4", json=edit)
            assert saved.status == 200
        assert "First" in srt.read_text(encoding="utf-8")
        assert files.review.parent == out_dir / "a" and files.review.exists()
        assert sorted(p.name for p in (library / "a").iterdir()) == ["talk.mp4"]

    asyncio.run(scenario())


def long_document(folder: Path, count: int) -> Files:
    """A finished run of `count` cues in two targets, with some of their tracks."""
    media = folder / "talk.mp4"
    media.write_bytes(b"not media: the session never decodes it")
    state = InputState("talk.mp4", {"source_language": "zh"}, {})
    lines = [state.header()]
    for target in ("en", "es"):
        cues = [
            Cue(1000 * i, 1000 * i + 800,
                (CueText("zh", ("一二三四五六七八九十",)), CueText(target, (f"Line number {i}",))))
            for i in range(1, count + 1)
        ]  # fmt: skip
        lines += [resume_state.update_line(target, 0, None, (cue,)) for cue in cues]
        lines.append(f'{{"finished": "{target}"}}')
    files = Files.of(media)
    files.state.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for name in ("talk.en.srt", "talk.zh-es.vtt", "talk.en.ttml"):
        (folder / name).write_text("", encoding="utf-8")
    return files


class Stalls:
    """The longest wait of a 1 ms timer on the event loop: how long the loop did nothing else,
    in wall time and in the loop thread's CPU (which a busy machine's scheduler does not
    inflate: a loop descheduled for 600 ms under CI's load did no work in them)."""

    def __init__(self) -> None:
        self.longest_s = 0.0
        self.longest_cpu_s = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        last, last_cpu = time.perf_counter(), time.thread_time()
        while True:
            await asyncio.sleep(0.001)
            now, now_cpu = time.perf_counter(), time.thread_time()
            self.longest_s = max(self.longest_s, now - last)
            self.longest_cpu_s = max(self.longest_cpu_s, now_cpu - last_cpu)
            last, last_cpu = now, now_cpu

    def __enter__(self) -> Stalls:
        self._task = asyncio.get_running_loop().create_task(self._tick())
        return self

    def __exit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()


CUES = 6000
"""A long document: about 100 minutes of speech."""


def test_a_long_document_keeps_the_loop_responsive_while_it_is_saved(tmp_path: Path) -> None:
    """6000 cues: the document, its problems, the cues filled again, the tracks and a target's
    WebVTT are made off the loop (or only for the cues an edit touched): the loop's longest
    stall (the CPU its thread spent between two ticks) stays far below the CPU the save took."""

    async def scenario() -> None:
        files = long_document(tmp_path, CUES)
        options = make_options(("en",), api_key="unused")
        app = review_application(roots=(tmp_path,), options=options, token=None, relative=True,
                                 translator_factory=lambda _settings: StandIn())  # fmt: skip
        async with TestClient(TestServer(app)) as client:
            opened = await client.get("/api/document?path=talk.mp4")
            assert opened.status == 200 and len((await opened.json())["cues"]) == CUES
            edits = ({"op": "reviewed", "cue": "c7", "value": True},
                     {"op": "source", "cue": "c8", "lines": ["甲"]})  # fmt: skip
            for version, op in enumerate(edits):
                with Stalls() as stalls:
                    started, started_cpu = time.perf_counter(), time.process_time()
                    saved = await client.post("/api/edit?path=talk.mp4",
                                              json={"base_version": version, **op})  # fmt: skip
                    body = await saved.read()  # parsed after: the client's own work
                    save_s = time.perf_counter() - started
                    save_cpu_s = time.process_time() - started_cpu
                    track = await client.get("/track?path=talk.mp4&target=en")
                    vtt = await track.read()
                assert track.status == 200 and vtt.count(b" --> ") == CUES
                assert saved.status == 200 and json.loads(body)["version"] == version + 1
                print(f"{op['op']}: save {save_s * 1000:.0f} ms ({save_cpu_s * 1000:.0f} ms CPU), "
                      f"longest loop stall {stalls.longest_s * 1000:.0f} ms "
                      f"({stalls.longest_cpu_s * 1000:.0f} ms CPU)")  # fmt: skip
                assert stalls.longest_cpu_s < save_cpu_s / 4, (stalls.longest_cpu_s, save_cpu_s)
        assert "甲" in (tmp_path / "talk.en.srt").read_text(encoding="utf-8")
        assert files.review.exists()

    asyncio.run(scenario())


def test_the_open_inputs_are_bounded_and_a_dropped_one_is_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At most SESSIONS_KEPT inputs stay in memory: the least lately used idle one is dropped
    (one a page listens to is kept) and read again from its journals, edits and all."""
    monkeypatch.setattr(routes, "SESSIONS_KEPT", 2)

    async def scenario() -> None:
        for name in ("a", "b", "c", "d"):
            (tmp_path / name).mkdir()
            written(tmp_path / name)
        options = make_options(("en",), api_key="unused")
        app = review_application(roots=(tmp_path,), options=options, token=None, relative=True,
                                 translator_factory=lambda _settings: StandIn())  # fmt: skip
        review = app[routes.REVIEW]
        async with TestClient(TestServer(app)) as client:
            edit = {"base_version": 0, "op": "translation", "cue": "c1", "target": "en",
                    "lines": ["Kept"]}  # fmt: skip
            assert (await client.post("/api/edit?path=a%2Ftalk.mp4", json=edit)).status == 200
            events = await client.get("/api/events?path=b%2Ftalk.mp4")  # a page on b
            await events.content.readuntil(b"\n\n")
            for name in ("c", "d"):
                assert (await client.get(f"/api/document?path={name}%2Ftalk.mp4")).status == 200
            kept = {media.parent.name for media in review.sessions}
            assert kept == {"b", "d"}  # a dropped (idle, least lately used); b listened to
            listed = (await (await client.get("/api/inputs")).json())["inputs"]
            assert [i["cues"] for i in listed] == [2, 2, 2, 2]
            assert len(review.sessions) <= 2
            again = await (await client.get("/api/document?path=a%2Ftalk.mp4")).json()
            assert again["version"] == 1
            assert again["cues"][0]["translations"]["en"]["lines"] == ["Kept"]
            assert len(review.sessions) == 2
            events.close()

    asyncio.run(scenario())


def test_two_saves_at_once_over_http_one_saved_one_refused(tmp_path: Path) -> None:
    """Two POSTs on the same base version at once: exactly one 200 and one 409, the journal
    holds one version, and the tracks hold the document."""
    from subtitler.tracks.reading import read_subtitles

    async def scenario() -> None:
        async with served(tmp_path) as client:
            srt = tmp_path / "talk.zh-en.srt"
            srt.write_text("", encoding="utf-8")  # a track the run made: rendered again
            saves = [
                client.post("/api/edit?path=talk.mp4",
                            json={"base_version": 0, "op": "source", "cue": cue, "lines": [text]})
                for cue, text in (("c1", "甲"), ("c2", "乙"))
            ]  # fmt: skip
            answers = await asyncio.gather(*saves)
            assert sorted(answer.status for answer in answers) == [200, 409]
            refused = next(answer for answer in answers if answer.status == 409)
            assert "edited elsewhere (version 1: source of cue" in (await refused.json())["detail"]
            document = await (await client.get("/api/document?path=talk.mp4")).json()
        assert document["version"] == 1
        (session,) = sessions(Files.of(tmp_path / "talk.mp4"), DiskWriter(), StandIn())
        await session.load()  # the journal, read again: one version, the saved edit
        assert session.version == 1
        assert [list(cue.source) for cue in session.cues] == [
            cue["source"]["lines"] for cue in document["cues"]
        ]
        assert sum(cue.source_edited for cue in session.cues) == 1
        read = read_subtitles(srt).cues
        assert [(c.begin_ms, c.end_ms) for c in read] == [
            (c["begin_ms"], c["end_ms"]) for c in document["cues"]
        ]
        blocks = srt.read_text(encoding="utf-8").strip().split("\n\n")  # the text as written
        assert [block.split("\n")[2:] for block in blocks] == [
            [*c["source"]["lines"], *c["translations"]["en"]["lines"]] for c in document["cues"]
        ]

    asyncio.run(scenario())
