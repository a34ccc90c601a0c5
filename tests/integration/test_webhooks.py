"""subgen's media-server webhooks on `serve`, each replayed as its server sends it, against
small fake media servers (`tests/media_servers.py`): the file is looked up where the payload
has no path, mapped into the library, subtitled, and the server is asked to refresh the item
exactly once, after its tracks are on disk. Failures answer one line and never cost a cue."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pysrt
import pytest
import requests

from subtitler.emulator.server import BackgroundEmulator
from tests.media_servers import FakeMediaServer, Item
from tests.serving import SECRET, Server
from tests.support import transcripts

SPEECH = next(t for t in transcripts() if t.media.name == "en_late_audio.mp4")
TOKENS = {"jellyfin": "jf-token-SECRET-1", "emby": "emby-token-SECRET-2",
          "plex": "plex-token-SECRET-3"}  # fmt: skip
SERVER_ROOT = "/data/media"
"""Where the media servers (in their containers) see the library."""


def jellyfin_item_added(item_id: str) -> dict[str, Any]:
    """The Jellyfin Webhook plugin's generic JSON for ItemAdded (no path in it)."""
    return {"ServerId": "4e1b0b2c", "ServerName": "jellyfin", "ServerVersion": "10.9.11",
            "ServerUrl": "http://jellyfin:8096", "NotificationType": "ItemAdded",
            "Timestamp": "2026-11-30T08:00:00.0000000+00:00", "UtcTimestamp":
            "2026-11-30T08:00:00.0000000Z", "Name": "Pilot", "ItemId": item_id,
            "ItemType": "Episode", "RunTimeTicks": 120000000, "SeriesName": "Show",
            "SeasonNumber": 1, "EpisodeNumber": 1, "Year": 2026}  # fmt: skip


def emby_event(event: str, item_id: str, server_path: str) -> dict[str, Any]:
    return {"Title": "New episode", "Date": "2026-11-30T08:00:00.0000000Z", "Event": event,
            "Severity": "Info", "Server": {"Name": "emby", "Id": "7f", "Version": "4.8.10.0"},
            "Item": {"Name": "Pilot", "Id": item_id, "Path": server_path, "Type": "Episode",
                     "MediaType": "Video", "IsFolder": False}}  # fmt: skip


def plex_event(event: str, rating_key: str) -> dict[str, Any]:
    return {"event": event, "user": True, "owner": True,
            "Account": {"id": 1, "title": "owner"},
            "Server": {"title": "plex", "uuid": "abc"},
            "Metadata": {"librarySectionType": "show", "ratingKey": rating_key,
                         "key": f"/library/metadata/{rating_key}", "type": "episode",
                         "title": "Pilot", "grandparentTitle": "Show"}}  # fmt: skip


def send(server: Server, sender: str, **request: Any) -> requests.Response:
    return requests.post(f"{server.url}/{sender}", timeout=60, **request)


def settled(server: Server, reply: requests.Response, token: str | None = None) -> dict[str, Any]:
    assert reply.status_code in (200, 202), reply.text
    job_id = reply.json()["id"]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    done = requests.get(f"{server.url}/jobs/{job_id}", params={"wait": "120"}, timeout=150,
                        headers=headers)  # fmt: skip
    assert done.status_code == 200, done.text
    job: dict[str, Any] = done.json()
    return job


@pytest.fixture
def fakes() -> Iterator[dict[str, FakeMediaServer]]:
    servers = {kind: FakeMediaServer(kind, token) for kind, token in TOKENS.items()}
    with ExitStack() as stack:
        for fake in servers.values():
            stack.enter_context(fake.serving())
        yield servers


def library_with(folder: Path, names: list[str]) -> dict[str, Item]:
    items = {}
    for number, name in enumerate(names):
        local = folder / "Show" / f"{name}.mp4"
        local.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SPEECH.media, local)
        items[name] = Item(f"{number + 4000}", f"{SERVER_ROOT}/Show/{name}.mp4", local)
    return items


def serve(emulator: BackgroundEmulator, library: Path, fakes: dict[str, FakeMediaServer],
          *extra: str) -> Server:  # fmt: skip
    environment = {f"{kind.upper()}_TOKEN": token for kind, token in TOKENS.items()}
    urls = [argument for kind, fake in fakes.items() for argument in (f"--{kind}", fake.url)]
    return Server(
        emulator, "--library", str(library), "--path-map", f"{SERVER_ROOT}={library}",
        "--queue-file", str(library.parent / "jobs.jsonl"), "-t", SPEECH.target,
        "--retry-delay", "0.05", *urls, *extra, environment=environment,
    )  # fmt: skip


def test_each_servers_webhook_queues_its_file_and_refreshes_it_once(
    emulator: BackgroundEmulator, tmp_path: Path, fakes: dict[str, FakeMediaServer], client: str
) -> None:
    library = tmp_path / "library"
    items = library_with(library, ["jellyfin", "emby_form", "emby_json", "plex", "tautulli"])
    fakes["jellyfin"].add(items["jellyfin"])
    fakes["emby"].add(items["emby_form"])
    fakes["emby"].add(items["emby_json"])
    fakes["plex"].add(items["plex"])
    fakes["plex"].add(items["tautulli"])
    server = serve(emulator, library, fakes, "--client", client)
    try:
        jellyfin = send(server, "jellyfin", json=jellyfin_item_added(items["jellyfin"].item_id),
                        headers={"User-Agent": "Jellyfin-Server/10.9.11"})  # fmt: skip
        again = send(server, "jellyfin", json=jellyfin_item_added(items["jellyfin"].item_id))
        emby_item = items["emby_form"]
        emby_form = send(server, "emby", files={"data": (None, json.dumps(
            emby_event("library.new", emby_item.item_id, emby_item.server_path)))})  # fmt: skip
        emby_item = items["emby_json"]
        emby_json = send(server, "emby", json=emby_event(
            "library.new", emby_item.item_id, emby_item.server_path))  # fmt: skip
        payload = json.dumps(plex_event("library.new", items["plex"].item_id))
        thumb = ("thumb.jpg", b"\xff\xd8\xff\xe0fakejpeg", "image/jpeg")
        plex = send(server, "plex", headers={"User-Agent": "PlexMediaServer/1.41.2.9200"},
                    files={"payload": (None, payload), "thumb": thumb})  # fmt: skip
        tautulli = send(server, "tautulli", headers={"source": "Tautulli"}, json={
            "event": "added", "file": items["tautulli"].server_path,
            "rating_key": items["tautulli"].item_id})  # fmt: skip
        played = send(server, "plex", files={"payload": (None, json.dumps(
            plex_event("media.play", items["plex"].item_id)))})  # fmt: skip
        assert played.status_code == 200 and "ignored" in played.json()
        assert again.status_code in (200, 202)
        jobs = {name: settled(server, reply) for name, reply in [
            ("jellyfin", jellyfin), ("emby_form", emby_form), ("emby_json", emby_json),
            ("plex", plex), ("tautulli", tautulli)]}  # fmt: skip
    finally:
        log = server.stop()
    for secret in (SECRET, *TOKENS.values()):
        assert secret not in log
    for name, job in jobs.items():
        item = items[name]
        assert job["status"] == "done", job
        assert job["paths"] == [str(item.local_path)] and job["source"] == name.split("_")[0]
        assert job["refresh"]["state"] == "done"
        track = item.local_path.with_name(f"{name}.en-{SPEECH.target}.srt")
        assert str(track) in job["tracks"]
        cues = pysrt.open(str(track), error_handling=pysrt.ERROR_RAISE)
        assert len(cues) == len(SPEECH.sentences)
    by_server = {"jellyfin": ["jellyfin"], "emby": ["emby_form", "emby_json"],
                 "plex": ["plex", "tautulli"]}  # fmt: skip
    for kind, names in by_server.items():
        refreshes = fakes[kind].refreshes
        # Exactly one refresh per item (the repeated Jellyfin webhook was the same job, or a
        # job that found the tracks there: skipped, nothing to refresh), once the tracks were
        # on disk.
        assert sorted(r.item_id for r in refreshes) == sorted(items[n].item_id for n in names)
        for refresh in refreshes:
            name = next(n for n in names if items[n].item_id == refresh.item_id)
            assert f"{name}.en-{SPEECH.target}.srt" in refresh.subtitles_beside
            assert refresh.method == ("PUT" if kind == "plex" else "POST")


def test_a_failing_media_server_costs_no_cue_and_answers_one_line(
    emulator: BackgroundEmulator, tmp_path: Path, fakes: dict[str, FakeMediaServer]
) -> None:
    library = tmp_path / "library"
    items = library_with(library, ["refused", "unknown", "outside"])
    fakes["emby"].add(items["refused"])
    fakes["emby"].refresh_status = 500
    fakes["plex"].add(Item("9000", "/elsewhere/outside.mp4", items["outside"].local_path))
    fakes["jellyfin"].token = "rotated"  # the token serve has is no longer valid
    server = serve(emulator, library, fakes, "--api-token", "hook-token")
    try:
        item = items["refused"]
        event = emby_event("library.new", item.item_id, item.server_path)
        body = {"data": (None, json.dumps(event))}
        unauthorised = send(server, "emby", files=body)
        assert unauthorised.status_code == 401
        by_query = send(server, "emby", files=body, params={"token": "hook-token"})
        refused_refresh = settled(server, by_query, "hook-token")
        lookup = send(server, "jellyfin", json=jellyfin_item_added(items["unknown"].item_id),
                      headers={"Authorization": "Bearer hook-token"})  # fmt: skip
        missing = send(server, "plex", params={"token": "hook-token"}, files={"payload": (
            None, json.dumps(plex_event("library.new", "12345")))})  # fmt: skip
        outside = send(server, "plex", params={"token": "hook-token"}, files={"payload": (
            None, json.dumps(plex_event("library.new", "9000")))})  # fmt: skip
        garbage = send(server, "tautulli", params={"token": "hook-token"}, data=b"{not json")
        listing = requests.get(f"{server.url}/jobs", params={"token": "hook-token"}, timeout=30)
        assert listing.status_code == 401  # ?token= is for webhooks only
    finally:
        log = server.stop()
    for secret in (SECRET, "hook-token", *TOKENS.values()):
        assert secret not in log
    assert refused_refresh["status"] == "done"
    assert refused_refresh["refresh"]["state"] == "failed: emby: refresh: HTTP 500"
    assert len(fakes["emby"].refreshes) == 3  # retried, then given up
    track = items["refused"].local_path.with_name(f"refused.en-{SPEECH.target}.srt")
    assert len(pysrt.open(str(track), error_handling=pysrt.ERROR_RAISE)) == len(SPEECH.sentences)
    for reply, status, words in [(lookup, 502, "jellyfin: user list: HTTP 401"),
                                 (missing, 502, "plex: item lookup: HTTP 404"),
                                 (outside, 403, "outside the --library folders"),
                                 (garbage, 400, "tautulli: not JSON")]:  # fmt: skip
        assert reply.status_code == status, reply.text
        detail = reply.json()["detail"]
        assert words in detail and "\n" not in detail
        assert not any(token in reply.text for token in TOKENS.values())


def test_a_server_briefly_down_is_asked_again_and_a_missing_item_is_not(
    emulator: BackgroundEmulator, tmp_path: Path, fakes: dict[str, FakeMediaServer]
) -> None:
    library = tmp_path / "library"
    items = library_with(library, ["restarting", "deleted"])
    fakes["jellyfin"].add(items["restarting"])
    fakes["jellyfin"].outages = 2  # the first two calls find it restarting
    fakes["emby"].add(items["deleted"])
    fakes["emby"].refresh_status = 404  # the item is gone by the time of the refresh
    server = serve(emulator, library, fakes)
    try:
        looked_up = settled(server, send(server, "jellyfin", json=jellyfin_item_added(
            items["restarting"].item_id)))  # fmt: skip
        item = items["deleted"]
        event = emby_event("library.new", item.item_id, item.server_path)
        gone = settled(server, send(server, "emby", files={"data": (None, json.dumps(event))}))
    finally:
        server.stop()
    assert looked_up["status"] == "done" and looked_up["refresh"]["state"] == "done"
    assert fakes["jellyfin"].calls[:3] == [("GET", "/Users")] * 3  # 503, 503, then the answer
    assert len(fakes["jellyfin"].refreshes) == 1
    assert gone["status"] == "done"
    assert gone["refresh"]["state"] == "failed: emby: refresh: HTTP 404"
    assert len(fakes["emby"].refreshes) == 1  # not asked again: the item is not there
