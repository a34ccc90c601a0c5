"""The review API's contract (docs/review.md), served in memory from a run's journal: a stand-in
for `subtitler review` written from the contract, so the page's own behaviour (keys, names,
drafts, conflicts) is tested apart from the back end. Its edits are simple on purpose: a source
edit "translates" by tagging the text with the language, the only rule is line length."""

from __future__ import annotations

import asyncio
import copy
import json
import math
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp import web

PAGE = Path(__file__).resolve().parents[1] / "subtitler" / "review"
NAMES = {"en": "English", "es": "Spanish", "fr": "French", "zh": "Chinese"}
MAX_LINE = 42


def document_from_journal(media: Path, frame_ms: float) -> dict[str, Any]:
    """The document of a finished run, from `.STEM.subtitler-state.jsonl` beside `media`."""
    journal = media.with_name(f".{media.stem}.subtitler-state.jsonl")
    lines = [json.loads(line) for line in journal.read_text("utf-8").splitlines() if line]
    heard = [line["heard"] for line in lines if "heard" in line]
    targets = [line["started"] for line in lines if "started" in line]
    added: dict[str, list[dict[str, Any]]] = {target: [] for target in targets}
    for line in lines:
        if "added" in line:
            added[line["target"]].extend(line["added"])
    source_language = lines[0]["settings"]["source_language"]
    cues = []
    first = added[targets[0]]
    for number, cue in enumerate(first, 1):
        texts = {text["language"]: text["lines"] for text in cue["texts"]}
        words = [
            {"text": word[2], "begin_ms": word[0], "end_ms": word[1]}
            for sentence in heard
            for word in sentence["words"]
            if cue["begin_ms"] <= word[0] < cue["end_ms"]
        ]
        translations = {}
        for target in targets:
            match = next(c for c in added[target] if c["begin_ms"] == cue["begin_ms"])
            lines_of = {t["language"]: t["lines"] for t in match["texts"]}
            translations[target] = {"lines": lines_of[target], "by_hand": False,
                                    "state": "ok", "error": None}  # fmt: skip
        cues.append({"id": f"c{number}", "begin_ms": cue["begin_ms"], "end_ms": cue["end_ms"],
                     "source": {"lines": texts[source_language], "edited": False},
                     "translations": translations, "words": words, "reviewed": False,
                     "problems": []})  # fmt: skip
    path = media.name
    return {
        "path": path, "name": media.name, "version": 1,
        "media": {"url": f"media?path={path}", "kind": "video", "duration_ms": 32400,
                  "frame_rate": "25/1", "frame_ms": frame_ms, "shot_changes_ms": []},
        "source_language": source_language,
        "targets": [{"language": t, "name": NAMES.get(t, t), "translator": "qwen-mt",
                     "track_url": f"track?path={path}&target={t}"} for t in targets],
        "cues": cues, "problems": 0, "can_undo": False, "can_redo": False,
    }  # fmt: skip


def problems_of(cue: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    texts = [(None, cue["source"]["lines"])] + [
        (language, t["lines"]) for language, t in cue["translations"].items()
    ]
    for target, lines in texts:
        for line in lines:
            if len(line) > MAX_LINE:
                found.append({"rule": "line-length", "target": target,
                              "message": f"{len(line)} characters over {MAX_LINE}"})  # fmt: skip
    return found


class Contract:
    """One input's document, its versions (for undo and redo) and its listeners."""

    def __init__(self, media: Path, frame_ms: float = 40.0) -> None:
        self.media = media
        self.frame_ms = frame_ms
        self.version = 1
        self.history = [document_from_journal(media, frame_ms)]
        self.undone: list[dict[str, Any]] = []
        self.last_change = {"version": 1, "op": "open", "cue": None}
        self.listeners: list[asyncio.Queue[int]] = []
        self.requests: list[dict[str, Any]] = []

    @property
    def document(self) -> dict[str, Any]:
        doc = copy.deepcopy(self.history[-1])
        doc["version"] = self.version
        for cue in doc["cues"]:
            cue["problems"] = problems_of(cue)
        doc["problems"] = sum(len(cue["problems"]) for cue in doc["cues"])
        doc["can_undo"] = len(self.history) > 1
        doc["can_redo"] = bool(self.undone)
        return doc

    def snap(self, ms: float) -> int:
        return round(round(ms / self.frame_ms) * self.frame_ms)

    def apply(self, body: dict[str, Any]) -> None:
        """One edit applied; ValueError for a bad one (nothing changed)."""
        op = body["op"]
        if op == "undo":
            if len(self.history) < 2:
                raise ValueError("nothing to undo")
            self.undone.append(self.history.pop())
            return
        if op == "redo":
            if not self.undone:
                raise ValueError("nothing to redo")
            self.history.append(self.undone.pop())
            return
        doc = copy.deepcopy(self.history[-1])
        cues: list[dict[str, Any]] = doc["cues"]
        found = next((i for i, c in enumerate(cues) if c["id"] == body.get("cue")), None)
        if op != "insert" and found is None:
            raise ValueError(f"no cue {body.get('cue')}")
        index = found or 0
        cue = cues[index] if found is not None else {}
        if op == "source":
            cue["source"] = {"lines": body["lines"], "edited": True}
            for language, translation in cue["translations"].items():
                if not translation["by_hand"]:
                    translation["lines"] = [f"[{language}] {line}" for line in body["lines"]]
        elif op == "translation":
            cue["translations"][body["target"]].update(lines=body["lines"], by_hand=True)
        elif op == "timing":
            begin, end = self.snap(body["begin_ms"]), self.snap(body["end_ms"])
            before = cues[index - 1]["end_ms"] if index else 0
            after = cues[index + 1]["begin_ms"] if index + 1 < len(cues) else math.inf
            if end <= begin or begin < before or end > after:
                raise ValueError("overlaps a neighbour, or ends before it begins")
            cue.update(begin_ms=begin, end_ms=end)
        elif op == "split":
            at = self.snap(body["at_ms"])
            if not cue["begin_ms"] < at < cue["end_ms"]:
                raise ValueError("not inside the cue")
            text = "".join(cue["source"]["lines"])
            cut = round(len(text) * (at - cue["begin_ms"]) / (cue["end_ms"] - cue["begin_ms"]))
            second = copy.deepcopy(cue)
            second["id"] = f"c{max(int(c['id'][1:]) for c in cues) + 1}"
            cue.update(end_ms=at, source={"lines": [text[:cut]], "edited": True})
            second.update(begin_ms=at, source={"lines": [text[cut:]], "edited": True})
            for half in (cue, second):
                half["words"] = [w for w in half["words"]
                                 if half["begin_ms"] <= w["begin_ms"] < half["end_ms"]]  # fmt: skip
                for language, t in half["translations"].items():
                    t["lines"] = [f"[{language}] {line}" for line in half["source"]["lines"]]
            cues.insert(index + 1, second)
        elif op == "merge":
            if index + 1 >= len(cues):
                raise ValueError("no next cue")
            following = cues.pop(index + 1)
            cue["end_ms"] = following["end_ms"]
            cue["source"]["lines"] += following["source"]["lines"]
            cue["words"] += following["words"]
            for language, t in cue["translations"].items():
                t["lines"] += following["translations"][language]["lines"]
        elif op == "insert":
            new_id = f"c{max((int(c['id'][1:]) for c in cues), default=0) + 1}"
            cues.append({"id": new_id, "begin_ms": self.snap(body["begin_ms"]),
                         "end_ms": self.snap(body["end_ms"]),
                         "source": {"lines": body["lines"], "edited": True},
                         "translations": {t["language"]: {"lines": [], "by_hand": False,
                                                          "state": "ok", "error": None}
                                          for t in doc["targets"]},
                         "words": [], "reviewed": False, "problems": []})  # fmt: skip
            cues.sort(key=lambda c: c["begin_ms"])
        elif op == "delete":
            cues.pop(index)
        elif op == "reviewed":
            cue["reviewed"] = bool(body["value"])
        else:
            raise ValueError(f"unknown op {op!r}")
        self.undone.clear()
        self.history.append(doc)

    async def edit(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(body)
        current = self.document
        if body.get("base_version") != current["version"]:
            change = self.last_change
            detail = (
                f"edited elsewhere (version {change['version']}: {change['op']} of cue "
                f"{change['cue']})"
            )
            return web.json_response(
                {"detail": detail, "document": current, "conflict": change}, status=409
            )
        try:
            self.apply(body)
        except (ValueError, KeyError) as error:
            return web.json_response({"detail": str(error)}, status=422)
        self.version += 1
        self.last_change = {"version": self.version, "op": body["op"], "cue": body.get("cue")}
        for queue in self.listeners:
            queue.put_nowait(self.version)
        return web.json_response(self.document)

    async def check(self, request: web.Request) -> web.Response:
        body = await request.json()
        translations = {k: {"lines": v} for k, v in body["translations"].items()}
        cue = {"source": {"lines": body["source"]}, "translations": translations}
        return web.json_response({"problems": problems_of(cue)})

    async def events(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        queue: asyncio.Queue[int] = asyncio.Queue()
        self.listeners.append(queue)
        try:
            while (version := await queue.get()) > 0:
                data = json.dumps({"version": version})
                await response.write(f"event: version\ndata: {data}\n\n".encode())
        finally:
            self.listeners.remove(queue)
        return response

    async def track(self, request: web.Request) -> web.Response:
        target = request.query["target"]
        blocks = ["WEBVTT", ""]
        for cue in self.document["cues"]:
            begin, end = (f"{ms // 3600000:02}:{ms // 60000 % 60:02}:{ms // 1000 % 60:02}."
                          f"{ms % 1000:03}" for ms in (cue["begin_ms"], cue["end_ms"]))  # fmt: skip
            lines = cue["source"]["lines"] + cue["translations"][target]["lines"]
            blocks += [f"{begin} --> {end}", *lines, ""]
        return web.Response(text="\n".join(blocks), content_type="text/vtt")

    def application(self) -> web.Application:
        async def page(request: web.Request) -> web.FileResponse:
            return web.FileResponse(PAGE / "page.html")

        async def asset(request: web.Request) -> web.FileResponse:
            return web.FileResponse(PAGE / request.match_info["name"])

        async def document(request: web.Request) -> web.Response:
            return web.json_response(self.document)

        async def inputs(request: web.Request) -> web.Response:
            doc = self.document
            listed = {"path": doc["path"], "name": doc["name"], "cues": len(doc["cues"]),
                      "reviewed": sum(c["reviewed"] for c in doc["cues"]), "has_journal": True,
                      "targets": [t["language"] for t in doc["targets"]]}  # fmt: skip
            return web.json_response({"inputs": [listed]})

        async def media(request: web.Request) -> web.FileResponse:
            return web.FileResponse(self.media)

        async def closing(app: web.Application) -> None:
            for queue in self.listeners:  # ends each event stream: the server stops at once
                queue.put_nowait(0)

        app = web.Application()
        app.on_shutdown.append(closing)
        app.router.add_get("/", page)
        app.router.add_get("/{name:page\\.(js|css)}", asset)
        app.router.add_get("/api/inputs", inputs)
        app.router.add_get("/api/document", document)
        app.router.add_post("/api/edit", self.edit)
        app.router.add_post("/api/check", self.check)
        app.router.add_get("/api/events", self.events)
        app.router.add_get("/media", media)
        app.router.add_get("/track", self.track)
        return app


async def serving(contract: Contract) -> AsyncIterator[str]:
    """The contract served on a free loopback port: its address while the caller runs."""
    runner = web.AppRunner(contract.application())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        await runner.cleanup()
