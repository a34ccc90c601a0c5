"""serve's console: `/` for browsers (jobs live, the submit form, costs, webhooks), and the
sign-in that keeps `--api-token` in an HttpOnly cookie (`subtitler.views.access`).

The page is plain HTML, CSS and a small script shipped in the package (`console.html`,
`console.js`, `console.css`): it reads the same JSON API as any client (`/jobs/events`,
`/jobs/options`, `/library`, `/jobs/estimate`, `/costs`, `/webhooks`), so the two cannot
disagree. Clients that ask for JSON (no `Accept: text/html` preferred) get `/`'s JSON as before.
"""

from __future__ import annotations

import hmac
import html
from importlib import resources

from aiohttp import web

from subtitler.views.access import sign_in_cookie, sign_out_cookie

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
"""Nothing from elsewhere runs in the page, and no other site frames it."""
ASSETS = {"/console.js": "application/javascript", "/console.css": "text/css"}
PUBLIC = frozenset({("POST", "/sign-in"), ("GET", "/console.css")})
"""What a browser without the token may ask for: the sign-in and its style."""


def prefers_html(accept: str) -> bool:
    """Whether an `Accept` header ranks text/html above JSON (a browser's navigation does;
    curl's `*/*`, a JSON client's `application/json` and no header at all do not)."""
    best_html = best_json = 0.0
    for part in accept.split(","):
        media, *parameters = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        media = media.lower()
        if media in ("text/html", "application/xhtml+xml"):
            best_html = max(best_html, quality)
        elif media in ("application/json", "*/*", "application/*"):
            best_json = max(best_json, quality)
        elif media == "text/*":
            best_html = max(best_html, quality)
    return best_html > best_json


def _asset(name: str) -> bytes:
    return resources.files("subtitler.serve").joinpath(name).read_bytes()


class Console:
    """The page, its assets and the sign-in; `token` None: no sign-in (and no sign-out)."""

    def __init__(self, token: str | None) -> None:
        self.token = token
        signed = b"" if token is None else b'<form method="post" action="sign-out" ' \
            b'class="sign-out"><button type="submit">Sign out</button></form>'  # fmt: skip
        self._page = _asset("console.html").replace(b"<!--sign-out-->", signed)
        self._assets = {path: _asset(path.lstrip("/")) for path in ASSETS}

    def add_routes(self, router: web.UrlDispatcher) -> None:
        for path in ASSETS:
            router.add_get(path, self._serve_asset)
        router.add_post("/sign-in", self._sign_in)
        router.add_post("/sign-out", self._sign_out)

    def page(self) -> web.Response:
        return web.Response(body=self._page, content_type="text/html", charset="utf-8",
                            headers=SECURITY_HEADERS)  # fmt: skip

    def sign_in_page(self, message: str = "", status: int = 401) -> web.Response:
        """The form a browser without the token gets instead of any page."""
        said = f'<p class="problem" role="alert">{html.escape(message)}</p>' if message else ""
        body = SIGN_IN.replace("<!--message-->", said)
        return web.Response(text=body, status=status, content_type="text/html",
                            headers=SECURITY_HEADERS)  # fmt: skip

    async def _serve_asset(self, request: web.Request) -> web.Response:
        path = request.path
        return web.Response(body=self._assets[path], content_type=ASSETS[path], charset="utf-8",
                            headers=SECURITY_HEADERS)  # fmt: skip

    async def _sign_in(self, request: web.Request) -> web.StreamResponse:
        """A right token: the cookie, and back to the console. A wrong one changes nothing
        (no cookie set or cleared) and says so."""
        form = await request.post()
        given = form.get("token")
        presented = given.strip() if isinstance(given, str) else ""
        if self.token is None:
            return _back_to_console()
        if not presented or not hmac.compare_digest(presented.encode(), self.token.encode()):
            return self.sign_in_page("Wrong token: you are not signed in.", status=401)
        response = _back_to_console()
        sign_in_cookie(response, presented, secure=request.secure)
        return response

    async def _sign_out(self, request: web.Request) -> web.StreamResponse:
        response = _back_to_console()
        sign_out_cookie(response)
        return response


def _back_to_console() -> web.Response:
    """303: the browser GETs the console (a reload does not post the form again)."""
    return web.Response(status=303, headers={"Location": "./", "Cache-Control": "no-store"})


SIGN_IN = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in: subtitler</title>
<link rel="stylesheet" href="console.css">
</head>
<body class="sign-in">
<main>
<h1>subtitler</h1>
<p>This server needs its API token (<code>--api-token</code>).</p>
<form method="post" action="sign-in">
<label for="token">Token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
<!--message-->
</main>
</body>
</html>
"""
