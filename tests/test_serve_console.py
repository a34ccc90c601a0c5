"""serve's console in this process: `/` for browsers and for JSON clients (the JSON unchanged),
the sign-in and its cookie, the origin check; the cost of an input as the services bill it, and
the estimate's figures (pure)."""

from __future__ import annotations

import asyncio
import html
import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from aiohttp.test_utils import TestClient, TestServer
from yarl import URL

from subtitler.engine.estimate import InputEstimate, RunPricing
from subtitler.events import InputResult, Status, TaskMetrics, TranslationUsage
from subtitler.gummy.cost import Estimate, PriceTable
from subtitler.languages import SOURCE_LANGUAGES
from subtitler.options import make_options
from subtitler.serve.app import AsrService, LibrarySettings
from subtitler.serve.console import prefers_html
from subtitler.serve.costs import CostLedger, Usage, usage_of
from subtitler.serve.estimate import estimate_json
from subtitler.serve.feed import JobFeed, Listener
from subtitler.serve.fence import Libraries
from subtitler.serve.jobs import JobQueue

KEY = "sk-fake-serve-0123456789"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"


def test_browsers_prefer_html_and_every_other_client_json() -> None:
    assert prefers_html(BROWSER)
    assert prefers_html("text/html")
    assert prefers_html("application/json;q=0.5, text/html")
    for accept in ("", "*/*", "application/json", "application/json, text/html;q=0.9",
                   "text/html;q=0, */*", "text/html;q=nonsense"):  # fmt: skip
        assert not prefers_html(accept), accept


def serving(
    check: Callable[[TestClient[Any, Any]], Awaitable[None]],
    *,
    token: str | None = None,
    library: Path | None = None,
    **service: Any,
) -> list[str]:
    log: list[str] = []

    async def main() -> None:
        options = make_options(["en"], api_key=KEY, speed=None)
        settings = None
        if library is not None:
            settings = LibrarySettings(libraries=Libraries.of([library]),
                                       queue_file=library.parent / "jobs.jsonl",
                                       job_defaults={"targets": ["en"]})  # fmt: skip
        served = AsrService(options, token=token, log=log.append, library=settings, **service)
        await served.start()
        try:
            async with TestClient(TestServer(served.application())) as client:
                await check(client)
        finally:
            await served.stop()

    asyncio.run(main())
    return log


ABOUT = {
    "service": "subtitler (Gummy), whisper-asr-webservice compatible",
    "endpoints": ["POST /asr", "POST /detect-language", "POST /subtitles"],
    "source_languages": list(SOURCE_LANGUAGES),
}
LIBRARY_ENDPOINTS = ["POST /jobs", "GET /jobs", "GET /jobs/{id}", "DELETE /jobs/{id}",
                     "POST /jellyfin", "POST /emby", "POST /plex", "POST /tautulli"]  # fmt: skip


@pytest.mark.parametrize("with_library", [False, True])
def test_json_clients_get_the_json_they_always_did(tmp_path: Path, with_library: bool) -> None:
    expected = dict(ABOUT)
    if with_library:
        expected["endpoints"] = ABOUT["endpoints"] + LIBRARY_ENDPOINTS
    (tmp_path / "media").mkdir()

    async def check(client: TestClient[Any, Any]) -> None:
        for accept in (None, "*/*", "application/json", "application/json, text/html;q=0.9"):
            headers = {"Accept": accept} if accept else {}
            response = await client.get("/", headers=headers, skip_auto_headers=["Accept"])
            assert response.status == 200
            assert response.content_type == "application/json"
            assert await response.read() == json.dumps(expected).encode()  # byte for byte
        page = await client.get("/", headers={"Accept": BROWSER})
        assert page.content_type == "text/html"
        body = await page.text()
        assert "console.js" in body and "Submit job" in body
        assert "Sign out" not in body  # no token, no sign-in
        assert "default-src 'self'" in page.headers["Content-Security-Policy"]

    serving(check, library=tmp_path / "media" if with_library else None)


def test_the_sign_in_keeps_the_token_in_an_http_only_cookie(tmp_path: Path) -> None:
    token = "t0ken-for-the-console"
    (tmp_path / "media").mkdir()

    async def check(client: TestClient[Any, Any]) -> None:
        page = await client.get("/", headers={"Accept": BROWSER})
        assert page.status == 401
        form = await page.text()
        assert 'action="sign-in"' in form and "Token" in form and token not in form
        api = await client.get("/jobs")
        assert api.status == 401 and "bearer token" in (await api.json())["detail"]
        wrong = await client.post("/sign-in", data={"token": "nope"}, allow_redirects=False)
        assert wrong.status == 401 and "Wrong token" in await wrong.text()
        assert "Set-Cookie" not in wrong.headers
        right = await client.post("/sign-in", data={"token": token}, allow_redirects=False)
        assert right.status == 303 and right.headers["Location"] == "./"
        cookie = right.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
        listed = await client.get("/jobs")  # the client kept the cookie
        assert listed.status == 200 and (await listed.json()) == {"jobs": []}
        console = await client.get("/", headers={"Accept": BROWSER})
        assert console.status == 200 and "Sign out" in await console.text()
        own = {"Origin": f"http://{client.host}:{client.port}"}  # as a browser's form says
        out = await client.post("/sign-out", allow_redirects=False, headers=own)
        assert out.status == 303 and "Max-Age=0" in out.headers["Set-Cookie"]

    log = serving(check, token=token, library=tmp_path / "media")
    assert not any(token in line for line in log)


def test_a_change_from_another_site_is_refused_before_anything(tmp_path: Path) -> None:
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "a.mp4").write_bytes(b"")

    async def check(client: TestClient[Any, Any]) -> None:
        body = {"paths": [str(tmp_path / "media" / "a.mp4")], "targets": ["en"]}
        for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"},
                        {"Referer": "http://evil.example/form"}):  # fmt: skip
            refused = await client.post("/jobs", json=body, headers=headers)
            assert refused.status == 403, await refused.text()
            refused = await client.post("/sign-in", data={"token": "x"}, headers=headers)
            assert refused.status == 403
        assert (await (await client.get("/jobs")).json()) == {"jobs": []}

    serving(check, library=tmp_path / "media")


@pytest.mark.parametrize(
    ("host", "token", "mounted"),
    [("127.0.0.1", None, True), ("::1", None, True), ("0.0.0.0", None, False),
     ("192.168.1.5", None, False), ("0.0.0.0", "t0ken", True)],
)  # fmt: skip
def test_the_review_editor_is_served_off_loopback_only_behind_a_token(
    tmp_path: Path, host: str, token: str | None, mounted: bool
) -> None:
    (tmp_path / "media").mkdir()
    headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def check(client: TestClient[Any, Any]) -> None:
        inputs = await client.get("/review/api/inputs", headers=headers)
        assert inputs.status == (200 if mounted else 404), await inputs.text()
        page = await client.get("/review/", headers={**headers, "Accept": BROWSER})
        assert page.status == (200 if mounted else 404)

    serving(check, token=token, library=tmp_path / "media", host=host)


def test_another_sites_name_pointed_at_the_server_is_refused(tmp_path: Path) -> None:
    """DNS rebinding: evil.example resolves to 127.0.0.1, so its page is "same origin" with the
    server as far as the browser knows; the Host header is the one thing it cannot hide."""
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "a.mp4").write_bytes(b"")
    body = {"paths": [str(tmp_path / "media" / "a.mp4")], "targets": ["en"]}

    async def check(client: TestClient[Any, Any]) -> None:
        for host in ("evil.example", "evil.example:9000"):
            origin = f"http://{host}"
            refused = await client.post(
                "/jobs", json=body, headers={"Host": host, "Origin": origin}
            )
            assert refused.status == 421, await refused.text()
            assert "--allowed-host" in (await refused.json())["detail"]
            read = await client.get(
                "/jobs", headers={"Host": host, "Sec-Fetch-Site": "same-origin"}
            )
            assert read.status == 421  # a rebound page's read: the browser says same-origin
            # A client that is not a browser (Bazarr, a webhook) calls it by any name it has.
            assert (await client.get("/jobs", headers={"Host": host})).status == 200
        assert (await (await client.get("/jobs")).json()) == {"jobs": []}
        named = await client.get("/jobs", headers={"Host": "nas.lan:9000"})  # --allowed-host
        assert named.status == 200
        address = await client.get("/jobs", headers={"Host": "192.168.1.5:9000"})
        assert address.status == 200

    serving(check, library=tmp_path / "media", allowed_hosts=("nas.lan",))


def test_bodies_read_before_the_token_or_for_an_edit_are_small(tmp_path: Path) -> None:
    """Without the token anyone can post the sign-in form; serve's upload-sized limit (GiBs) must
    not apply to it, nor to the review's edits."""
    (tmp_path / "media").mkdir()
    token = "t0ken-for-caps"
    bearer = {"Authorization": f"Bearer {token}"}

    async def check(client: TestClient[Any, Any]) -> None:
        flood = {"token": "x" * 50_000}
        refused = await client.post("/sign-in", data=flood)
        assert refused.status == 413, await refused.text()
        assert "KiB" in (await refused.json())["detail"]

        async def chunks() -> Any:  # no Content-Length: the cap is met while reading
            for _ in range(50):
                yield b"token=" + b"x" * 1000

        form = {"Content-Type": "application/x-www-form-urlencoded"}
        streamed = await client.post("/sign-in", data=chunks(), headers=form)
        assert streamed.status == 413, await streamed.text()
        edit = {"base_version": 0, "op": "source", "cue": "c1", "lines": ["x" * 100_000]}
        too_big = await client.post("/review/api/edit", params={"path": "/nowhere.mp4"},
                                    json=edit, headers=bearer)  # fmt: skip
        assert too_big.status == 413, await too_big.text()
        fits = await client.post("/sign-in", data={"token": token}, allow_redirects=False)
        assert fits.status == 303
        small = await client.post("/review/api/edit", params={"path": "/nowhere.mp4"},
                                  json={"op": "undo"}, headers=bearer)  # fmt: skip
        assert small.status == 404  # read, then the input is not there

    serving(check, token=token, library=tmp_path / "media")


def test_a_deep_link_signs_in_through_serve_and_comes_back(tmp_path: Path) -> None:
    """A review link opened without the cookie: the form (and its style) must reach serve's own
    sign-in from /review/, and the browser must land on the link it asked for, never elsewhere."""
    (tmp_path / "media").mkdir()
    token = "t0ken-deep-link"
    link = "/review/?path=%2Fsrv%2Fmedia%2Fa%20b.mp4"

    async def check(client: TestClient[Any, Any]) -> None:
        page = await client.get(link, headers={"Accept": BROWSER})
        assert page.status == 401
        form = await page.text()
        here = URL(link)
        action = re.search(r'<form method="post" action="([^"]*)"', form)
        style = re.search(r'<link rel="stylesheet" href="([^"]*)"', form)
        back = re.search(r'name="next" value="([^"]*)"', form)
        assert action and style and back
        assert here.join(URL(action.group(1))).path == "/sign-in"
        assert here.join(URL(style.group(1))).path == "/console.css"
        assert (await client.get(here.join(URL(style.group(1))).path)).status == 200
        assert URL(html.unescape(back.group(1))) == URL(link)
        signed = await client.post("/sign-in", data={"token": token, "next": link},
                                   allow_redirects=False)  # fmt: skip
        assert signed.status == 303
        landing = URL("/sign-in").join(URL(signed.headers["Location"]))
        assert landing.path == "/review/" and landing.query["path"] == "/srv/media/a b.mp4"
        own = {"Origin": f"http://{client.host}:{client.port}"}  # signed in: the cookie is sent
        wrong = await client.post("/sign-in", data={"token": "no", "next": link}, headers=own)
        assert wrong.status == 401 and html.escape(link) in await wrong.text()  # still going there
        cookie_only = await client.post("/sign-out", allow_redirects=False)  # no page vouches
        assert cookie_only.status == 403
        for hostile in ("//evil.example/x", "https://evil.example/", "/\\evil.example",
                        "javascript:alert(1)", "/ok\r\nSet-Cookie: x=1", "review/"):  # fmt: skip
            sent = await client.post("/sign-in", data={"token": token, "next": hostile},
                                     allow_redirects=False, headers=own)  # fmt: skip
            assert sent.headers["Location"] == "./", hostile

    serving(check, token=token, library=tmp_path / "media")


def test_a_slow_listener_holds_the_latest_state_per_job_bounded_in_bytes() -> None:
    """A folder job's JSON can be MBs and change every 0.2 s: a console that stops reading must
    not pile up its states (it holds the latest per job), nor more than its byte limit."""

    async def main() -> None:
        queue = cast(JobQueue, SimpleNamespace(costs=CostLedger(), watchers=[]))
        feed = JobFeed(queue, dict)
        listener = feed.listen()
        inputs = ["/srv/media/folder/episode.mkv" * 100] * 100  # ~300 KB of JSON
        for n in range(200):
            feed.publish("job", {"id": "a", "n": n, "inputs": inputs}, key="job a")
            feed.publish("job", {"id": "b", "n": n}, key="job b")
        feed.publish("webhook", {"sender": "jellyfin"})
        feed.publish("webhook", {"sender": "plex"})
        assert listener.pending_bytes < 400_000  # one state of a, one of b, two webhooks
        sent = [await listener.next(1.0) for _ in range(4)]
        assert [json.loads(m.split(b"data: ")[1])["n"] for m in sent[:2] if m] == [199, 199]
        assert b"jellyfin" in (sent[2] or b"") and b"plex" in (sent[3] or b"")
        assert await listener.next(0.01) == b": keep-alive\n\n"

        small = Listener(limit_bytes=1000)
        assert small.offer("webhook 1", b"x" * 600)
        assert not small.offer("webhook 2", b"x" * 600)  # over its bytes: dropped
        assert await small.next(1.0) is None  # its stream ends; the browser reconnects

    asyncio.run(main())


@pytest.mark.parametrize("trusted", [True, False])
def test_behind_a_trusted_tls_proxy_the_console_works_and_its_cookie_is_secure(
    tmp_path: Path, trusted: bool
) -> None:
    """A TLS reverse proxy (here: the test client on 127.0.0.1) talks http to serve and says
    what the browser used in X-Forwarded-Proto/Host; believed only from --trusted-proxy."""
    (tmp_path / "media").mkdir()
    token = "t0ken-behind-a-proxy"
    proxy = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "subs.example.org",
             "Origin": "https://subs.example.org"}  # fmt: skip

    async def check(client: TestClient[Any, Any]) -> None:
        signed = await client.post("/sign-in", data={"token": token}, headers=proxy,
                                   allow_redirects=False)  # fmt: skip
        if not trusted:  # the headers are anyone's: the page's origin is not this server's
            assert signed.status in (403, 421)
            return
        assert signed.status == 303, await signed.text()
        assert "Secure" in signed.headers["Set-Cookie"]
        bearer = {**proxy, "Authorization": f"Bearer {token}"}  # the Secure cookie is for https
        posted = await client.post("/jobs", json={"paths": [], "targets": ["en"]}, headers=bearer)
        assert posted.status == 422  # past the origin check, to the body's own problem
        origin = {"Origin": f"http://{client.host}:{client.port}"}
        plain = await client.post("/sign-in", data={"token": token}, allow_redirects=False,
                                  headers=origin)  # fmt: skip
        assert plain.status == 303 and "Secure" not in plain.headers["Set-Cookie"]

    serving(check, token=token, library=tmp_path / "media", allowed_hosts=("subs.example.org",),
            trusted_proxies=("127.0.0.1",) if trusted else ())  # fmt: skip


def test_nothing_served_can_be_framed_by_another_site(tmp_path: Path) -> None:
    (tmp_path / "media").mkdir()
    token = "t0ken-frames"
    bearer = {"Authorization": f"Bearer {token}"}

    async def check(client: TestClient[Any, Any]) -> None:
        page = {**bearer, "Accept": BROWSER}
        for path, headers in (("/review/", page), ("/", page), ("/review/api/inputs", bearer),
                              ("/jobs", bearer), ("/", {"Accept": BROWSER})):  # fmt: skip
            response = await client.get(path, headers=headers)
            assert response.status in (200, 401), (path, response.status)
            assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"], path
            assert response.headers["X-Frame-Options"] == "DENY"
            if path.startswith("/review/"):  # the editor's own whole policy, not serve's alone
                assert "default-src 'self'" in response.headers["Content-Security-Policy"]

    serving(check, token=token, library=tmp_path / "media")


PRICES = PriceTable()


def pricing(**translators: str) -> RunPricing:
    return RunPricing(prices=PRICES, translators=translators, region="cn")


def result(**fields: Any) -> InputResult:
    return InputResult(path=Path("/m/a.mkv"), status=Status.DONE, **fields)


def task(target: str) -> TaskMetrics:
    return TaskMetrics(target=target, request_id="r", first_package_delay_ms=None,
                       last_package_delay_ms=None)  # fmt: skip


def test_an_input_is_priced_as_its_tasks_were_billed() -> None:
    two_gummy = result(audio_ms=60_000, sent_ms=2 * 40_000, skipped_ms=20_000,
                       tasks=(task("en"), task("ja")))  # fmt: skip
    usage = usage_of(two_gummy, pricing(en="gummy", ja="gummy"))
    assert (usage.sent_ms, usage.saved_ms) == (40_000, 20_000)  # the audio sent, once
    recognised = 40 * PRICES.recognition_per_s
    assert usage.cost.amounts == (
        (PRICES.currency, pytest.approx(recognised + 2 * 40 * PRICES.translation_per_s)),
    )
    machine = result(audio_ms=60_000, sent_ms=None, tasks=(task("zh"),),
                     translation=TranslationUsage(requests=3, input_tokens=900,
                                                  output_tokens=300))  # fmt: skip
    translated = usage_of(machine, pricing(fr="qwen-mt"))  # zh: the recognition-only task
    assert (translated.sent_ms, translated.input_tokens, translated.output_tokens) == (
        60_000, 900, 300)  # fmt: skip
    assert dict(translated.cost.amounts)["USD"] > 0  # Qwen-MT bills in USD by default
    nothing = usage_of(result(audio_ms=60_000), pricing(en="gummy"))  # kept: no task ran
    assert nothing == Usage()


def test_the_ledger_keeps_totals_per_job_day_and_in_all() -> None:
    ledger = CostLedger()
    one = Usage(sent_ms=1000, saved_ms=500, input_tokens=1, output_tokens=2,
                cost=Usage().cost.plus(0.5, "CNY"))  # fmt: skip
    ledger.add("a", "2026-12-06", one)
    ledger.add("a", "2026-12-07", one)
    ledger.add("b", "2026-12-07", Usage(cost=Usage().cost.plus(1.0, "USD")))
    shown = ledger.as_json()
    assert shown["total"]["cost"] == {"CNY": 1.0, "USD": 1.0}
    assert shown["total"]["sent_s"] == 2.0 and shown["total"]["saved_s"] == 1.0
    assert shown["days"]["2026-12-07"]["cost"] == {"CNY": 0.5, "USD": 1.0}
    assert shown["jobs"]["a"]["tokens"] == {"input": 2, "output": 4}


def test_the_estimate_says_up_to_when_the_gate_did_not_scan() -> None:
    full = Estimate(3_600_000, 1, PRICES)
    gated = Estimate(1_800_000, 1, PRICES)
    listed = [InputEstimate("a", full, scanned=gated), InputEstimate("b", None, "b: unreadable")]
    scanned = estimate_json(listed, gated=True, scanned=True)
    assert scanned["audio_hours"] == 1.0 and scanned["sent_s"] == 1800.0
    assert not scanned["upper_bound"] and scanned["problems"] == ["b: unreadable"]
    assert scanned["cost"] == {PRICES.currency: round(gated.cost, 6)}
    unscanned = estimate_json(listed, gated=True, scanned=False)
    assert unscanned["upper_bound"] and unscanned["sent_s"] == 3600.0
    assert unscanned["cost"] == {PRICES.currency: round(full.cost, 6)}
    off = estimate_json(listed, gated=False, scanned=False)
    assert not off["upper_bound"] and off["gate"] == "off"
