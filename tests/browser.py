"""A real headless browser for tests: Debian's Chromium driven over the DevTools protocol.

No browser download and no extra package: Chromium comes from Debian (`.ci/run` installs it),
the protocol is JSON over the WebSocket library the project already uses. Enough of it for the
tests of the pages the package serves (the caption page, hls.js playing the HLS output, serve's
console and the review link it opens): open a page, run JavaScript, take a screenshot; find
controls as assistive technology does, by role and accessible name (`find_named`,
`click_named`, `fill_named`), and use them by keyboard (`tab_to`, `press`, `focused_control`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import shutil
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

import websockets

CALL_TIMEOUT_S = 20.0
"""At most this for one DevTools command's answer."""


class PageCrashed(Exception):
    """Chromium's renderer for the page died (`Inspector.targetCrashed`): it will answer no
    command again, so no poll may take this as "not yet" (neither RuntimeError nor
    TimeoutError, which the polls take so)."""


FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--remote-debugging-port=0",
)


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        raise RuntimeError(
            "the browser tests need Chromium: `apt-get install chromium` (.ci/run does)"
        )
    return found


class Browser:
    """One headless Chromium with one page; use as `async with Browser() as browser`."""

    def __init__(self, width: int = 1280, height: int = 720) -> None:
        self.size = (width, height)
        self._folder = tempfile.TemporaryDirectory(prefix="subtitler-chromium-")
        self._process: asyncio.subprocess.Process | None = None
        self._socket: Any = None
        self._ids = itertools.count(1)
        self._crashed = False

    async def __aenter__(self) -> Browser:
        profile = Path(self._folder.name)
        self._process = await asyncio.create_subprocess_exec(
            chromium_path(),
            *FLAGS,
            f"--user-data-dir={profile}",
            f"--window-size={self.size[0]},{self.size[1]}",
            "about:blank",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        assert self._process.stderr is not None
        port = None
        async for raw in self._process.stderr:  # Chromium says where DevTools listens
            line = raw.decode("utf-8", "replace")
            if "DevTools listening on ws://" in line:
                port = int(line.split("ws://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
                break
        if port is None:
            raise RuntimeError("Chromium did not start its DevTools endpoint")
        self._drain = asyncio.create_task(self._discard(self._process.stderr))
        listing = await asyncio.to_thread(self._targets, port)
        page = next(target for target in listing if target["type"] == "page")
        self._socket = await websockets.connect(page["webSocketDebuggerUrl"], max_size=2**26)
        await self.call("Page.enable")
        await self.call("Runtime.enable")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._socket is not None:
            await self._socket.close()
        if self._process is not None and self._process.returncode is None:
            self._process.kill()
            await self._process.wait()
        self._folder.cleanup()

    @staticmethod
    def _targets(port: int) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as reply:
            listing: list[dict[str, Any]] = json.load(reply)
        return listing

    @staticmethod
    async def _discard(stream: asyncio.StreamReader) -> None:
        async for _ in stream:
            pass

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one DevTools command and return its result (events on the way are ignored, but
        for the renderer's crash: PageCrashed, then and for every later command). Bounded: a
        command sent while the page navigates may never be answered (TimeoutError, which a
        bounded poll takes as "not yet")."""
        if self._crashed:
            raise PageCrashed(f"{method}: the page's renderer crashed before it")
        identifier = next(self._ids)
        await self._socket.send(json.dumps({"id": identifier, "method": method, "params": params}))

        async def answer() -> dict[str, Any]:
            while True:
                message = json.loads(await self._socket.recv())
                if message.get("method") == "Inspector.targetCrashed":
                    self._crashed = True
                    raise PageCrashed(f"{method}: the page's renderer crashed (targetCrashed)")
                if message.get("id") == identifier:
                    if "error" in message:
                        raise RuntimeError(f"{method}: {message['error']}")
                    result: dict[str, Any] = message.get("result", {})
                    return result

        return await asyncio.wait_for(answer(), CALL_TIMEOUT_S)

    async def open(self, url: str) -> None:
        """Navigate and wait until the page's scripts have run (DOMContentLoaded)."""
        await self.call("Page.navigate", url=url)
        await self.wait_for("document.readyState !== 'loading'")

    async def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression (awaited when it is a promise)."""
        result = await self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for(self, condition: str, timeout_s: float = 60) -> None:
        """Until a JavaScript condition holds, checked by the page on each animation frame."""
        await asyncio.wait_for(
            self.evaluate(
                "new Promise(done => { const check = () => (" + condition + ") ? done(true)"
                " : requestAnimationFrame(check); check(); })"
            ),
            timeout_s,
        )

    async def screenshot(self, path: Path) -> None:
        shot = await self.call("Page.captureScreenshot", format="png")
        path.write_bytes(base64.b64decode(shot["data"]))

    # ---- Controls found as a person using assistive technology finds them: by role and name ----

    async def accessibility_tree(self) -> list[dict[str, Any]]:
        """Every node of the page's accessibility tree (Chromium's, as screen readers get it)."""
        tree = await self.call("Accessibility.getFullAXTree")
        nodes: list[dict[str, Any]] = tree["nodes"]
        return nodes

    async def named(self, role: str, name: str) -> list[int]:
        """The DOM nodes (backend ids) whose accessible role and name are exactly these."""
        return [
            int(node["backendDOMNodeId"])
            for node in await named_nodes(self, role=role, name=name)
            if "backendDOMNodeId" in node
        ]

    async def by_name(self, role: str, name: str, timeout_s: float = 30) -> int:
        """The one control with this role and name, waited for (a bounded poll) until it exists."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            try:
                nodes = await self.named(role, name)
            except (RuntimeError, TimeoutError):  # the page was navigating: not there yet
                nodes = []
            if len(nodes) == 1:
                return nodes[0]
            if len(nodes) > 1:
                raise AssertionError(f"{len(nodes)} {role}s named {name!r}")
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no {role} named {name!r}")
            await self.next_frame()

    async def next_frame(self) -> None:
        """Until the page has drawn its next frame; at most a second (a page that navigates
        away never answers)."""
        with contextlib.suppress(TimeoutError, RuntimeError):
            frame = "new Promise(done => requestAnimationFrame(() => done(true)))"
            await asyncio.wait_for(self.evaluate(frame), 1.0)

    async def on_node(self, backend_node_id: int, function: str) -> Any:
        """Call `function` (JavaScript, `this` the element) on a node and return its value."""
        resolved = await self.call("DOM.resolveNode", backendNodeId=backend_node_id)
        result = await self.call(
            "Runtime.callFunctionOn",
            objectId=resolved["object"]["objectId"],
            functionDeclaration=function,
            returnByValue=True,
            awaitPromise=True,
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{function}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def click_by_name(self, role: str, name: str) -> None:
        """Click the control as a mouse does: scrolled into view, pressed at its centre."""
        node = await self.by_name(role, name)
        if await self.on_node(node, "function() { return this.disabled === true; }"):
            raise AssertionError(f"the {role} {name!r} is disabled")
        await self.call("DOM.scrollIntoViewIfNeeded", backendNodeId=node)
        quad = (await self.call("DOM.getContentQuads", backendNodeId=node))["quads"][0]
        x, y = sum(quad[0::2]) / 4, sum(quad[1::2]) / 4
        for kind in ("mousePressed", "mouseReleased"):
            await self.call(
                "Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1
            )

    async def focus_by_name(self, role: str, name: str) -> None:
        await self.call("DOM.focus", backendNodeId=await self.by_name(role, name))

    async def fill_by_name(self, name: str, text: str) -> None:
        """Replace a text field's text as typing does: focused, all selected, the text inserted
        (the page gets its `input` events)."""
        node = await self.by_name("textbox", name)
        await self.call("DOM.focus", backendNodeId=node)
        await self.on_node(node, "function() { this.select(); }")
        await self.call("Input.insertText", text=text)

    async def value_by_name(self, name: str) -> str:
        """What a text field holds."""
        node = await self.by_name("textbox", name)
        return str(await self.on_node(node, "function() { return this.value; }"))

    async def press(
        self, code: str, *, alt: bool = False, ctrl: bool = False, shift: bool = False
    ) -> None:
        """One key pressed and released with modifiers, as a keyboard sends it (`code`: the
        physical key, e.g. "KeyS", "BracketLeft", "ArrowDown", "Space", "Enter")."""
        keys = {"Space": (" ", 32), "Enter": ("Enter", 13), "ArrowUp": ("ArrowUp", 38),
                "ArrowDown": ("ArrowDown", 40), "BracketLeft": ("[", 219),
                "BracketRight": ("]", 221), "Escape": ("Escape", 27)}  # fmt: skip
        if code.startswith("Key"):
            key, virtual = code[3:].lower(), ord(code[3])
        else:
            key, virtual = keys[code]
        modifiers = (1 if alt else 0) | (2 if ctrl else 0) | (8 if shift else 0)
        for kind in ("rawKeyDown", "keyUp"):
            await self.call(
                "Input.dispatchKeyEvent", type=kind, modifiers=modifiers, code=code, key=key,
                windowsVirtualKeyCode=virtual, nativeVirtualKeyCode=virtual,
            )  # fmt: skip

    async def unnamed_controls(self) -> list[str]:
        """Buttons, text fields, links and other controls that a screen reader would announce
        without a name (each as `role (DOM node id)`)."""
        controls = {"button", "textbox", "link", "checkbox", "radio", "combobox", "slider",
                    "menuitem", "tab", "switch", "searchbox", "spinbutton", "listbox"}  # fmt: skip
        unnamed = []
        for node in await self.accessibility_tree():
            role = node.get("role", {}).get("value")
            if node.get("ignored") or role not in controls:
                continue
            if not str(node.get("name", {}).get("value", "")).strip():
                unnamed.append(f"{role} ({node.get('backendDOMNodeId')})")
        return unnamed

    async def text_in_role(self, role: str) -> str:
        """The text inside the nodes of one role (e.g. "status": what the page last announced),
        from the accessibility tree."""
        nodes = await self.accessibility_tree()
        by_id = {node["nodeId"]: node for node in nodes}
        texts: list[str] = []

        def gather(node: dict[str, Any]) -> None:
            if node.get("role", {}).get("value") in ("StaticText", "text"):
                texts.append(str(node.get("name", {}).get("value", "")))
                return
            for child in node.get("childIds", []):
                if child in by_id:
                    gather(by_id[child])

        for node in nodes:
            if node.get("role", {}).get("value") == role:
                gather(node)
        return " ".join(" ".join(texts).split())

    async def focused_name(self) -> str:
        """The accessible name of what holds the keyboard focus."""
        for node in await self.accessibility_tree():
            properties = {p["name"]: p["value"].get("value") for p in node.get("properties", [])}
            page = node.get("role", {}).get("value") in ("RootWebArea", "WebArea")
            if properties.get("focused") and not node.get("ignored") and not page:
                return str(node.get("name", {}).get("value", ""))
        return ""


# -- controls found as assistive technology finds them: by role and accessible name (the
# console's tests; no CSS selector, no id)

CONTROL_ROLES = frozenset({
    "button", "checkbox", "combobox", "link", "listbox", "menuitem", "radio", "searchbox",
    "slider", "spinbutton", "switch", "tab", "textbox",
})  # fmt: skip
"""Roles a person operates: each must have a name."""


async def named_nodes(
    browser: Browser, *, role: str | None = None, name: str | None = None
) -> list[dict[str, Any]]:
    """The page's accessibility nodes with that role and (exact) name, ignored ones left out.

    Picked out of the whole tree (`Accessibility.getFullAXTree`, answered at once from the
    document there is), never asked with `Accessibility.queryAXTree`: Chromium answers that one
    only at the document's next accessibility update, which a document being navigated away
    from never gets; when that document is then thrown away (seen with a 401 page, and with a
    redirect back to the same address: both the review page's sign-in), the renderer crashes
    (Inspector.targetCrashed) as the next page loads. A poll for the next page's control right
    after a form's submit did just that whenever the query landed after the navigation began,
    which load made likely."""
    return [
        node
        for node in await browser.accessibility_tree()
        if not node.get("ignored")
        and (role is None or node.get("role", {}).get("value") == role)
        and (name is None or str(node.get("name", {}).get("value", "")) == name)
    ]


async def find_named(browser: Browser, role: str, name: str, timeout_s: float = 60) -> int:
    """The DOM node (backend id) of the one control with that role and name, once it is there
    (a bounded poll: the page renders what the server sends)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        try:
            nodes = await named_nodes(browser, role=role, name=name)
        except RuntimeError:  # the page is being replaced (a form's answer): ask the next one
            nodes = []
        if len(nodes) == 1:
            return int(nodes[0]["backendDOMNodeId"])
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{len(nodes)} {role} named {name!r} (expected one)")
        await asyncio.sleep(0.05)


async def until_page_says(browser: Browser, text: str, timeout_s: float = 60) -> None:
    """Until the page's visible text holds `text` (a bounded poll that outlives navigations)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    probe = f"document.body !== null && document.body.innerText.includes({json.dumps(text)})"
    while True:
        try:
            if await browser.evaluate(probe):
                return
        except RuntimeError:  # navigated meanwhile
            pass
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"the page never said {text!r}")
        await asyncio.sleep(0.05)


async def call_on_named(browser: Browser, role: str, name: str, function: str) -> Any:
    """Run `function` (JavaScript, `this` the control) on the control with that role and name."""
    backend = await find_named(browser, role, name)
    resolved = await browser.call("DOM.resolveNode", backendNodeId=backend)
    result = await browser.call(
        "Runtime.callFunctionOn",
        objectId=resolved["object"]["objectId"],
        functionDeclaration=function,
        returnByValue=True,
        awaitPromise=True,
    )
    if "exceptionDetails" in result:
        raise RuntimeError(f"{role} {name!r}: {result['exceptionDetails']}")
    return result["result"].get("value")


async def click_named(browser: Browser, role: str, name: str) -> None:
    await call_on_named(
        browser, role, name, "function () { this.scrollIntoView({block: 'center'}); this.click(); }"
    )


async def fill_named(browser: Browser, name: str, text: str, role: str = "textbox") -> None:
    """Focus the field, select what it holds and type `text` over it (as keys would)."""
    await call_on_named(browser, role, name, "function () { this.focus(); this.select(); }")
    await browser.call("Input.insertText", text=text)


async def unnamed_controls(browser: Browser) -> list[str]:
    """The controls a screen reader would announce without a name (role and DOM node)."""
    tree = await browser.call("Accessibility.getFullAXTree")
    missing = []
    for node in tree["nodes"]:
        role = node.get("role", {}).get("value")
        if node.get("ignored") or role not in CONTROL_ROLES:
            continue
        if not str(node.get("name", {}).get("value", "")).strip():
            missing.append(f"{role} (node {node.get('backendDOMNodeId')})")
    return missing


KEYS = {
    "Tab": {"key": "Tab", "code": "Tab", "windowsVirtualKeyCode": 9},
    "Enter": {"key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13, "text": "\r"},
    "Space": {"key": " ", "code": "Space", "windowsVirtualKeyCode": 32, "text": " "},
}


async def press(browser: Browser, key: str) -> None:
    """One key pressed and released, as the keyboard sends it (Tab, Enter or Space)."""
    fields = KEYS[key]
    await browser.call("Input.dispatchKeyEvent", type="keyDown", **fields)
    up = {name: value for name, value in fields.items() if name != "text"}
    await browser.call("Input.dispatchKeyEvent", type="keyUp", **up)


async def focused_control(browser: Browser) -> tuple[str, str]:
    """The role and accessible name of what has the keyboard focus."""
    found = await browser.call(
        "Runtime.evaluate", expression="document.activeElement", returnByValue=False
    )
    object_id = found["result"].get("objectId")
    if object_id is None:
        return "", ""
    tree = await browser.call("Accessibility.getPartialAXTree", objectId=object_id,
                              fetchRelatives=False)  # fmt: skip
    node = tree["nodes"][0] if tree["nodes"] else {}
    return node.get("role", {}).get("value", ""), str(node.get("name", {}).get("value", ""))


async def tab_to(browser: Browser, role: str, name: str, most: int = 400) -> None:
    """Press Tab until the control with that role and name has the focus (as a keyboard user
    reaches it: in the page's focus order, no script focusing it)."""
    for _ in range(most):
        if await focused_control(browser) == (role, name):
            return
        await press(browser, "Tab")
    raise AssertionError(f"Tab never reached the {role} named {name!r}")
