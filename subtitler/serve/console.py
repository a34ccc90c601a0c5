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
from yarl import URL

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

    def sign_in_page(
        self, request: web.Request, message: str = "", status: int = 401, *, back_to: str = ""
    ) -> web.Response:
        """The form a browser without the token gets instead of any page (at any depth: a
        review deep link too). It posts to serve's own sign-in and comes back to `back_to`
        (default: the page asked for)."""
        said = f'<p class="problem" role="alert">{html.escape(message)}</p>' if message else ""
        root = html.escape(root_of(request))
        back = html.escape(safe_return(back_to or request.rel_url.raw_path_qs))
        body = (SIGN_IN.replace("<!--message-->", said).replace("{root}", root)
                .replace("{back}", back))  # fmt: skip
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
        given, back = form.get("token"), form.get("next")
        presented = given.strip() if isinstance(given, str) else ""
        back_to = safe_return(back if isinstance(back, str) else "/")
        if self.token is None:
            return _back_to(back_to)
        if not presented or not hmac.compare_digest(presented.encode(), self.token.encode()):
            message = "Wrong token: you are not signed in."
            return self.sign_in_page(request, message, status=401, back_to=back_to)
        response = _back_to(back_to)
        sign_in_cookie(response, presented, secure=request.secure)
        return response

    async def _sign_out(self, request: web.Request) -> web.StreamResponse:
        response = _back_to("/")
        sign_out_cookie(response)
        return response


def root_of(request: web.Request) -> str:
    """The relative way from the page asked for up to serve's root ("", "../", ...): its links
    then work at any depth, and behind a proxy that serves it under a path prefix."""
    return "../" * max(0, request.rel_url.raw_path.count("/") - 1)


def safe_return(path: str) -> str:
    """A path on this server to come back to after signing in; anything else (another site,
    `//host`, a scheme, a backslash, a control character) is the console's `/`."""
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    if any(ord(character) < 0x20 or ord(character) == 0x7F for character in path):
        return "/"
    try:
        url = URL(path)
    except ValueError:
        return "/"
    return "/" if url.scheme or url.host else path


def _back_to(path: str) -> web.Response:
    """303 to a path of this server (from `/sign-in`, relative: "./review/?path=..." also behind
    a path prefix); the browser GETs it (a reload does not post the form again)."""
    return web.Response(status=303, headers={"Location": "." + path, "Cache-Control": "no-store"})


SIGN_IN = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in: subtitler</title>
<link rel="stylesheet" href="{root}console.css">
</head>
<body class="sign-in">
<main>
<h1>subtitler</h1>
<p>This server needs its API token (<code>--api-token</code>).</p>
<form method="post" action="{root}sign-in">
<input type="hidden" name="next" value="{back}">
<label for="token">Token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
<!--message-->
</main>
</body>
</html>
"""
