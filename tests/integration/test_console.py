"""serve's console in headless Chromium, driven through accessible names only (as a person with
a screen reader finds the controls), against a `subtitler serve --library --api-token` child
process and the emulator: sign in, browse, estimate, submit, watch, cancel, retry, review link;
the JSON API read beside the page; a wrong token and another site's POST change nothing."""

from __future__ import annotations

import asyncio
import html
import json
import os
import shutil
import urllib.parse
from collections.abc import Awaitable, Callable, Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from aiohttp import web

from subtitler.emulator.config import EmulatorConfig
from subtitler.emulator.server import BackgroundEmulator
from tests.browser import (
    Browser,
    call_on_named,
    click_named,
    fill_named,
    find_named,
    focused_control,
    named_nodes,
    press,
    tab_to,
    unnamed_controls,
    until_page_says,
)
from tests.integration.test_webhooks import SERVER_ROOT, emby_event, jellyfin_item_added
from tests.media_servers import FakeMediaServer, Item
from tests.serving import SECRET, Background, Server
from tests.support import FIXTURES

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "docs" / "images"
GATING = FIXTURES / "gating"
TOKEN = "console-token-4f9a1c"
WAIT_S = 120

STATUS_LOG = """
window.__statuses = {};
window.__loaded = performance.timeOrigin;
new MutationObserver(() => {
  for (const item of document.querySelectorAll("li.job")) {
    const seen = window.__statuses[item.id] = window.__statuses[item.id] || [];
    const status = item.querySelector("h4").textContent.split(": ").pop();
    if (seen[seen.length - 1] !== status) seen.push(status);
  }
}).observe(document.body, {subtree: true, childList: true, attributes: true});
true
"""


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Path]:
    """talks/ (a folder to submit), other/podcast.mp3 (a job to cancel), broken/bad.mp4 (a
    truncated file: a job that fails until the file is replaced)."""
    folder = tmp_path / "library"
    for sub in ("talks", "other", "broken"):
        (folder / sub).mkdir(parents=True)
    shutil.copy(FIXTURES / "zh_news.mp4", folder / "talks" / "zh_news.mp4")
    shutil.copy(FIXTURES / "zh_podcast.mp3", folder / "other" / "podcast.mp3")
    shutil.copy(FIXTURES / "corrupt_truncated.mp4", folder / "broken" / "bad.mp4")
    yield folder


def api(server: Server, method: str, path: str, **kwargs: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}
    headers.update(kwargs.pop("headers", {}))
    return requests.request(method, server.url + path, headers=headers, timeout=60, **kwargs)


def jobs_of(server: Server) -> list[dict[str, Any]]:
    reply = api(server, "GET", "/jobs")
    assert reply.status_code == 200, reply.text
    found: list[dict[str, Any]] = reply.json()["jobs"]
    return found


async def page_text(browser: Browser) -> str:
    return str(await browser.evaluate("document.body.innerText"))


async def until_text(browser: Browser, text: str, timeout_s: float = WAIT_S) -> None:
    await until_page_says(browser, text, timeout_s)


async def job_status(browser: Browser, name: str, status: str) -> None:
    """Until the page lists the job named `name` with that status (its heading's name)."""
    await find_named(browser, "heading", f"{name}: {status}", timeout_s=WAIT_S)


async def by_keyboard(browser: Browser, name: str, key: str = "Enter") -> None:
    """Tab to the button and press it with the keyboard (Enter or Space)."""
    await tab_to(browser, "button", name)
    await press(browser, key)


async def page_text_of_news(browser: Browser) -> str:
    """What the polite live region (role status) last announced about jobs."""
    nodes = await named_nodes(browser, role="status")
    texts = []
    for node in nodes:
        resolved = await browser.call("DOM.resolveNode", backendNodeId=node["backendDOMNodeId"])
        found = await browser.call(
            "Runtime.callFunctionOn",
            objectId=resolved["object"]["objectId"],
            functionDeclaration="function () { return this.textContent; }",
            returnByValue=True,
        )
        texts.append(str(found["result"].get("value", "")))
    return " | ".join(texts)


async def until_at(browser: Browser, url: str) -> None:
    """Until the browser has loaded `url` (a bounded poll that outlives the navigation)."""
    probe = f"location.href === {json.dumps(url)} && document.readyState === 'complete'"
    for _ in range(1200):
        try:
            if await browser.evaluate(probe):
                return
        except RuntimeError:  # navigated meanwhile
            pass
        await asyncio.sleep(0.05)
    raise AssertionError(f"never at {url}")


def fixed(value: float, places: int) -> str:
    """As JavaScript's `toFixed` rounds (a tie away from zero, on the double's exact value;
    Python's format rounds a tie to even: 1.25 s is "1.3 s" on the page)."""
    step = Decimal(1).scaleb(-places)
    return str(Decimal(value).quantize(step, rounding=ROUND_HALF_UP))


def money(cost: dict[str, float]) -> str:
    """As the page shows an amount per currency."""
    parts = [f"{fixed(amount, 4)} {currency}" for currency, amount in cost.items()]
    return " + ".join(parts) if parts else "0"


def seconds(value_s: float) -> str:
    """As the page shows a duration."""
    if value_s >= 3600:
        return f"{fixed(value_s / 3600, 2)} h"
    if value_s >= 60:
        return f"{fixed(value_s / 60, 1)} min"
    return f"{fixed(value_s, 1)} s"


def usage_text(usage: dict[str, Any]) -> str:
    """A job's or an input's usage (`GET /costs`'s shape) as the page says it."""
    tokens = usage["tokens"]
    return (
        f"Sent {seconds(usage['sent_s'])}, saved {seconds(usage['saved_s'])}, "
        f"{tokens['input'] + tokens['output']} tokens ({tokens['input']} in, "
        f"{tokens['output']} out), cost {money(usage['cost'])}"
    )


def input_usage(outcome: dict[str, Any]) -> dict[str, Any]:
    """One input's outcome (`GET /jobs/{id}`'s `inputs`) in `GET /costs`'s shape."""
    return {
        "sent_s": outcome["sent_ms"] / 1000,
        "saved_s": outcome["saved_ms"] / 1000,
        "tokens": {"input": outcome["input_tokens"], "output": outcome["output_tokens"]},
        "cost": outcome["cost"],
    }


async def cookies(browser: Browser, url: str) -> dict[str, str]:
    found = await browser.call("Network.getCookies", urls=[url])
    return {cookie["name"]: cookie["value"] for cookie in found["cookies"]}


def test_the_console_in_a_browser(
    emulator: BackgroundEmulator, library: Path, tmp_path: Path
) -> None:
    server = Server(
        emulator, "--library", str(library), "--queue-file", str(tmp_path / "jobs.jsonl"),
        "--api-token", TOKEN, "--jobs", "1", "--speed", "2", "-t", "en",
    )  # fmt: skip
    try:
        shots = IMAGES if os.environ.get("SUBTITLER_UPDATE_SCREENSHOT") == "1" else tmp_path
        asyncio.run(drive(server, library, shots))
    finally:
        log = server.stop()
    assert TOKEN not in log and SECRET not in log


async def drive(server: Server, library: Path, shots: Path) -> None:
    """`shots`: where the screenshots go (docs/images only when asked to update them)."""
    async with Browser(1280, 800) as browser:
        await browser.call("Accessibility.enable")
        await browser.call("Network.enable")
        # -- sign in: a wrong token changes nothing and says so
        await browser.open(server.url + "/")
        await fill_named(browser, "Token", "not-the-token")
        await click_named(browser, "button", "Sign in")
        await until_text(browser, "Wrong token")
        assert "subtitler_token" not in await cookies(browser, server.url)
        assert await named_nodes(browser, role="button", name="Submit job") == []
        await fill_named(browser, "Token", TOKEN)
        await click_named(browser, "button", "Sign in")
        await find_named(browser, "button", "Submit job")
        assert (await cookies(browser, server.url))["subtitler_token"] == TOKEN
        assert TOKEN not in str(await browser.evaluate("document.documentElement.outerHTML"))
        assert await browser.evaluate("document.cookie") == ""  # HttpOnly: no script reads it
        await until_text(browser, "Live")
        await browser.evaluate(STATUS_LOG)

        # -- a folder with two targets, its estimate read first
        await click_named(browser, "button", f"Open {library.name}")
        await click_named(browser, "checkbox", "talks/")
        await fill_named(browser, "Targets", "en, fr")  # fr: through Qwen-MT (tokens)
        await click_named(browser, "button", "Estimate")
        await until_text(browser, "To be sent")
        shown = await page_text(browser)
        asked = {"paths": [str(library / "talks")], "targets": ["en", "fr"]}
        figures = api(server, "POST", "/jobs/estimate", json=asked).json()
        assert f"{figures['audio_hours']:.4f} hours" in shown
        cost = money(figures["cost"])
        assert cost and cost in shown, (cost, shown)
        await by_keyboard(browser, "Submit job")
        await job_status(browser, "talks", "queued")
        await job_status(browser, "talks", "running")

        # -- a second job, queued behind the first (--jobs 1), cancelled
        await click_named(browser, "checkbox", "talks/")  # unselected
        await click_named(browser, "button", "Open other")
        await click_named(browser, "checkbox", "podcast.mp3")
        await click_named(browser, "button", "Submit job")
        await job_status(browser, "podcast.mp3", "queued")
        await by_keyboard(browser, "Cancel podcast.mp3", "Space")
        await job_status(browser, "podcast.mp3", "cancelled")
        role, _name = await focused_control(browser)  # the Cancel button went: focus stays near
        assert role == "heading", role
        assert "podcast.mp3 is cancelled" in await page_text_of_news(browser)

        await job_status(browser, "talks", "done")
        statuses = await browser.evaluate("window.__statuses")
        talks_id = next(job["id"] for job in jobs_of(server) if job["paths"][0].endswith("talks"))
        seen = statuses[f"job-{talks_id}"]
        assert seen == ["queued", "running", "done"], seen
        assert await browser.evaluate("performance.timeOrigin") == await browser.evaluate(
            "window.__loaded"
        )  # never reloaded

        # -- a failed job, its one-line reason, retried once the file is good
        await click_named(browser, "checkbox", "podcast.mp3")
        await click_named(browser, "button", "Up one folder")
        await click_named(browser, "button", "Open broken")
        await click_named(browser, "checkbox", "bad.mp4")
        await click_named(browser, "button", "Submit job")
        await job_status(browser, "bad.mp4", "failed")
        failed = next(job for job in jobs_of(server) if job["status"] == "failed")
        assert failed["reason"] and failed["reason"] in await page_text(browser)
        shutil.copy(FIXTURES / "zh_news.mp4", library / "broken" / "bad.mp4")
        await by_keyboard(browser, "Retry bad.mp4")
        await job_status(browser, "bad.mp4", "done")

        # -- the finished input's tracks and its review link
        talk = library / "talks" / "zh_news.mp4"
        review = await call_href(browser, "Review zh_news.mp4")
        assert review == f"{server.url}/review/?path={urllib.parse.quote(str(talk), safe='')}"
        track = await call_href(browser, "zh_news.zh-fr.srt")
        reply = requests.get(track, cookies={"subtitler_token": TOKEN}, timeout=30)
        assert reply.status_code == 200 and "-->" in reply.text
        await click_named(browser, "link", "Review zh_news.mp4")
        await until_at(browser, review)
        assert "Sign in" not in await page_text(browser)  # the cookie carried the way in
        document = api(server, "GET", "/review/api/document", params={"path": str(talk)})
        assert document.status_code == 200, document.text
        assert document.json()["cues"] and document.json()["path"] == str(talk)
        # The editor itself, in this browser: its first cue's source line, found by its name.
        await find_named(browser, "textbox", "Source, cue 1")
        first = document.json()["cues"][0]["source"]["lines"]
        assert (await browser.value_by_name("Source, cue 1")).split("\n") == first
        await browser.open(server.url + "/")
        await find_named(browser, "button", "Submit job")

        # -- the page and the JSON API agree
        await agree(browser, server)

        # -- a cross-origin POST, and a wrong token, change nothing
        before = jobs_of(server)
        body = {"paths": [str(library / "talks")], "targets": ["fr"]}
        evil = api(server, "POST", "/jobs", json=body, headers={"Origin": "https://evil.example"})
        assert evil.status_code == 403, evil.text
        wrong = requests.post(server.url + "/jobs", json=body, timeout=30,
                              headers={"Authorization": "Bearer nope"})  # fmt: skip
        assert wrong.status_code == 401
        forged = requests.post(server.url + "/jobs", json=body, timeout=30,
                               cookies={"subtitler_token": TOKEN},
                               headers={"Sec-Fetch-Site": "cross-site"})  # fmt: skip
        assert forged.status_code == 403
        assert jobs_of(server) == before

        # -- every control named; the screenshots
        assert await unnamed_controls(browser) == []
        shots.mkdir(exist_ok=True)
        await browser.call("Emulation.setDeviceMetricsOverride", width=1280, height=800,
                           deviceScaleFactor=1, mobile=False)  # fmt: skip
        await browser.wait_for("document.documentElement.clientWidth === 1280")
        await browser.evaluate("window.scrollTo(0, 0)")
        await browser.screenshot(shots / "console-1280.png")
        await browser.call("Emulation.setDeviceMetricsOverride", width=390, height=844,
                           deviceScaleFactor=1, mobile=True)  # fmt: skip
        await browser.wait_for("document.documentElement.clientWidth === 390")
        assert await browser.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        ), "the console scrolls sideways at 390 px"
        assert await unnamed_controls(browser) == []
        await browser.screenshot(shots / "console-390.png")


async def call_href(browser: Browser, name: str) -> str:
    return str(await call_on_named(browser, "link", name, "function () { return this.href; }"))


ITS_ITEM_TEXT = "function () { return this.closest('li').innerText; }"
"""What a job's heading heads: its list item's text (read, not searched for)."""
ITS_ROW_TEXT = "function () { return this.parentElement.innerText; }"


async def agree(browser: Browser, server: Server) -> None:
    """The page and the JSON API say the same, read from both: each job's status, each ended
    input's status and usage (seconds sent and saved, tokens, cost) as `GET /jobs/{id}` gives
    them, each job's usage as `GET /costs` gives it, and the cost table's total and days."""
    listed = jobs_of(server)
    costs = api(server, "GET", "/costs").json()
    for summary in listed:
        reply = api(server, "GET", f"/jobs/{summary['id']}")
        assert reply.status_code == 200, reply.text
        job = reply.json()
        assert job["status"] == summary["status"]
        paths = job["paths"]
        name = Path(paths[0]).name + (f" and {len(paths) - 1} more" if len(paths) > 1 else "")
        await job_status(browser, name, job["status"])
        heading = f"{name}: {job['status']}"
        shown = str(await call_on_named(browser, "heading", heading, ITS_ITEM_TEXT))
        for outcome in job.get("inputs", []):
            line = f"{Path(outcome['path']).name}: {outcome['status']}"
            if outcome["status"] == "done":
                line += f" · {usage_text(input_usage(outcome))}"
            assert line in shown, (line, shown)
        if "usage" in job:
            assert job["usage"] == costs["jobs"][job["id"]], (job["usage"], costs["jobs"])
            assert usage_text(job["usage"]) in shown, (usage_text(job["usage"]), shown)
            inputs = [input_usage(outcome) for outcome in job["inputs"]]
            assert job["usage"]["sent_s"] == pytest.approx(sum(u["sent_s"] for u in inputs))
        else:
            assert job["id"] not in costs["jobs"]
    shown_jobs = await browser.evaluate("document.querySelectorAll('li.job').length")
    assert shown_jobs == len(listed)  # each found above, none more
    for period, usage in [("Total", costs["total"]), *costs["days"].items()]:
        row = str(await call_on_named(browser, "rowheader", period, ITS_ROW_TEXT))
        tokens = usage["tokens"]
        cells = (seconds(usage["sent_s"]), seconds(usage["saved_s"]),
                 f"{tokens['input']} in, {tokens['output']} out", money(usage["cost"]))  # fmt: skip
        for cell in cells:
            assert cell in row, (period, cell, row)
    assert len(costs["days"]) >= 1 and costs["total"]["sent_s"] > 0


# -- another site's page, in the same signed-in browser

ATTACK_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A prize</title></head>
<body><h1>You have won</h1>
<form id="attack" method="post" action="{console}/jobs" enctype="text/plain">
<input type="hidden" name="{form_name}" value='"}}'>
</form>
<script>
(async () => {{
  const tried = {{}};
  async function attempt(what, url, init) {{
    try {{
      const reply = await fetch(url, {{credentials: "include", ...init}});
      tried[what] = `answered (${{reply.type}} ${{reply.status}})`;
    }} catch (error) {{
      tried[what] = `refused by the browser (${{error.name}})`;
    }}
  }}
  await attempt("submit", "{console}/jobs", {{method: "POST", mode: "no-cors",
    headers: {{"Content-Type": "text/plain"}}, body: {body}}});
  await attempt("cancel", "{console}/jobs/{job}", {{method: "DELETE"}});
  await fetch("tried", {{method: "POST", body: JSON.stringify(tried)}});
  document.getElementById("attack").submit();
}})();
</script></body></html>
"""
"""A page of another origin (same host, another port: the same site, so the browser sends the
SameSite=Strict cookie with it; only the origin check can stop it): it tries a job by a
cross-origin fetch with credentials and a cancel, says what the browser let it see, then posts
a form whose text/plain body is the job's JSON (a form needs no preflight)."""


class AttackSite:
    """The other site: its page, and what the page reports it tried."""

    def __init__(self, console: str, job_id: str, paths: list[str]) -> None:
        body = json.dumps({"paths": paths, "targets": ["fr"]})
        # text/plain encodes `name=value`: a name ending `"x": "` and the value `"}` give JSON.
        form_name = json.dumps({"paths": paths, "targets": ["fr"], "x": ""})[:-2]
        self.page = ATTACK_PAGE.format(console=console, job=job_id, body=json.dumps(body),
                                       form_name=html.escape(form_name))  # fmt: skip
        self.tried: list[dict[str, str]] = []
        self.url = ""

    def serving(self) -> Background:
        async def page(_request: web.Request) -> web.Response:
            return web.Response(text=self.page, content_type="text/html")

        async def tried(request: web.Request) -> web.Response:
            self.tried.append(json.loads(await request.text()))
            return web.Response(status=204)

        async def start() -> Callable[[], Awaitable[None]]:
            app = web.Application()
            app.router.add_get("/", page)
            app.router.add_post("/tried", tried)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            self.url = f"http://127.0.0.1:{runner.addresses[0][1]}/"
            return runner.cleanup

        return Background(start)


def test_another_sites_page_changes_nothing(
    emulator: BackgroundEmulator, library: Path, tmp_path: Path
) -> None:
    """A signed-in browser opens another site's page, which posts a job and cancels one (fetch
    with credentials, then a form): nothing reaches the queue, as the JSON API shows after."""
    server = Server(
        emulator, "--library", str(library), "--queue-file", str(tmp_path / "jobs.jsonl"),
        "--api-token", TOKEN, "--jobs", "1", "--speed", "1", "-t", "en",
    )  # fmt: skip
    try:
        for folder in ("talks", "other"):  # one running, one queued behind it: both cancellable
            reply = api(server, "POST", "/jobs", json={"paths": [str(library / folder)]})
            assert reply.status_code == 202, reply.text
        before = jobs_of(server)
        queued = next(job for job in before if job["paths"] == [str(library / "other")])
        site = AttackSite(server.url, queued["id"], [str(library / "talks")])
        with site.serving():
            asyncio.run(visit(server, site))
        after = jobs_of(server)
        assert [job["id"] for job in after] == [job["id"] for job in before]
        assert all(job["status"] in ("queued", "running", "done") for job in after), after
        assert not any("fr" in job["options"].get("targets", []) for job in after)
        for job in after:  # the test's own cancel: the server stops at once
            api(server, "DELETE", f"/jobs/{job['id']}")
    finally:
        log = server.stop()
    assert site.tried == [{"submit": "answered (opaque 0)", "cancel": "refused by the browser "
                           "(TypeError)"}], site.tried  # fmt: skip
    refused = [line for line in log.splitlines() if line.startswith("POST /jobs 403")]
    assert len(refused) == 2, log  # the fetch and the form: both reached serve, both refused
    assert f"DELETE /jobs/{queued['id']} 200" in log  # the test's own cancel, the only one
    assert log.count("DELETE /jobs/") == 2
    assert TOKEN not in log


async def visit(server: Server, site: AttackSite) -> None:
    async with Browser(1280, 800) as browser:
        await browser.call("Accessibility.enable")
        await browser.open(server.url + "/")
        await fill_named(browser, "Token", TOKEN)
        await click_named(browser, "button", "Sign in")
        await find_named(browser, "button", "Submit job")
        await find_named(browser, "heading", "other: queued")
        await browser.open(site.url)
        await until_at(browser, server.url + "/jobs")  # where the form took the browser
        await until_text(browser, "refused: sent by another site's page")
        assert "subtitler_token" in await cookies(browser, server.url)  # still signed in


# -- webhooks and their refresh, as the console lists them

MEDIA_TOKENS = {"jellyfin": "jf-token-SECRET-1", "emby": "emby-token-SECRET-2"}


def test_webhooks_and_their_refresh_on_the_console(tmp_path: Path) -> None:
    """A Jellyfin ItemAdded (refreshed) and an Emby library.new (whose refresh the server
    refuses) posted as the media servers send them: the page lists each under "Webhooks
    received" with its job and its refresh's outcome, the failure with its one-line reason,
    as `GET /webhooks` and `GET /jobs/{id}` say. The Jellyfin item is mostly music, applause
    and silence: the speech gate saves seconds, and the page says so as the API does."""
    library = tmp_path / "library"
    (library / "Show").mkdir(parents=True)
    items = {}
    sources = [("pilot", GATING / "composite.m4a"), ("second", FIXTURES / "en_late_audio.mp4")]
    for number, (name, media) in enumerate(sources):
        local = library / "Show" / f"{name}{media.suffix}"
        shutil.copy(media, local)
        items[name] = Item(f"{number + 4000}", f"{SERVER_ROOT}/Show/{local.name}", local)
    jellyfin = FakeMediaServer("jellyfin", MEDIA_TOKENS["jellyfin"])
    jellyfin.add(items["pilot"])
    emby = FakeMediaServer("emby", MEDIA_TOKENS["emby"], refresh_status=500)
    emby.add(items["second"])
    gating = BackgroundEmulator(EmulatorConfig(), script_directories=[GATING])
    with gating, jellyfin.serving(), emby.serving():
        server = Server(
            gating, "--library", str(library), "--path-map", f"{SERVER_ROOT}={library}",
            "--queue-file", str(tmp_path / "jobs.jsonl"), "--api-token", TOKEN, "-t", "zh",
            "--retry-delay", "0.05", "--jellyfin", jellyfin.url, "--emby", emby.url,
            environment={f"{kind.upper()}_TOKEN": token for kind, token in MEDIA_TOKENS.items()},
        )  # fmt: skip
        try:
            asyncio.run(watch_webhooks(server, items))
        finally:
            log = server.stop()
    assert len(jellyfin.refreshes) == 1 and len(emby.refreshes) == 3  # retried, then given up
    for secret in (TOKEN, SECRET, *MEDIA_TOKENS.values()):
        assert secret not in log


async def watch_webhooks(server: Server, items: dict[str, Item]) -> None:
    async with Browser(1280, 800) as browser:
        await browser.call("Accessibility.enable")
        await browser.open(server.url + "/")
        await fill_named(browser, "Token", TOKEN)
        await click_named(browser, "button", "Sign in")
        await until_text(browser, "Live")
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        pilot, second = items["pilot"], items["second"]
        sent = [
            await asyncio.to_thread(requests.post, f"{server.url}/jellyfin", timeout=60,
                                    json=jellyfin_item_added(pilot.item_id),
                                    headers={**bearer, "User-Agent": "Jellyfin-Server/10.9.11"}),
            await asyncio.to_thread(requests.post, f"{server.url}/emby", timeout=60,
                                    headers=bearer, files={"data": (None, json.dumps(emby_event(
                                        "library.new", second.item_id, second.server_path)))}),
        ]  # fmt: skip
        for reply in sent:
            assert reply.status_code == 202, reply.text
            job = await asyncio.to_thread(api, server, "GET", f"/jobs/{reply.json()['id']}",
                                          params={"wait": "120"})  # fmt: skip
            assert job.json()["status"] == "done", job.text
        hooks = (await asyncio.to_thread(api, server, "GET", "/webhooks")).json()["webhooks"]
        assert [hook["sender"] for hook in hooks] == ["emby", "jellyfin"]  # newest first
        expected = []
        for hook in hooks:
            job = (await asyncio.to_thread(api, server, "GET", f"/jobs/{hook['job']}")).json()
            assert hook["refresh"] == job["refresh"]
            expected.append(f"{hook['sender']} {hook['event']} item {hook['item']}: queued; "
                            f"job done; refresh {job['refresh']['state']}")  # fmt: skip
        assert expected[0].endswith("refresh failed: emby: refresh: HTTP 500"), expected
        assert expected[1].endswith("refresh done"), expected
        deadline = asyncio.get_running_loop().time() + WAIT_S
        while True:  # the page catches up through its event stream (no reload)
            shown = await call_on_named(browser, "list", "Webhooks received", LIST_TEXTS)
            if len(shown) == 2 and all(w in s for w, s in zip(expected, shown, strict=True)):
                break
            assert asyncio.get_running_loop().time() < deadline, (expected, shown)
            await asyncio.sleep(0.05)
        assert all("\n" not in line for line in shown)
        assert await unnamed_controls(browser) == []
        await agree(browser, server)
        saved = (await asyncio.to_thread(api, server, "GET", "/costs")).json()["total"]["saved_s"]
        assert saved > 30, saved  # the composite's music, applause and silence, not sent


LIST_TEXTS = "function () { return [...this.children].map(item => item.innerText); }"
