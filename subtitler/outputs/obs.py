"""OBS stream captions over obs-websocket protocol v5: OBS embeds each as CEA-608 in its stream.

Hello (op 0) → Identify (op 1, with the authentication string the protocol defines when OBS
asks for one) → Identified (op 2), then one `SendStreamCaption` request (op 6) per caption row
pair and its response (op 7). 501 (OBS is not streaming) is said once and retried quietly; a
closed connection is reopened with backoff and the caption in flight sent again; a wrong password
(close code 4009) when the run starts is a usage error. The password comes from
`OBS_WEBSOCKET_PASSWORD` and is never printed.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import uuid
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from subtitler.errors import UsageError
from subtitler.outputs.captions import CaptionChoice, for_cea608
from subtitler.outputs.delivery import LiveOutput, backoff

SUBPROTOCOL = "obswebsocket.json"
RPC_VERSION = 1
AUTHENTICATION_FAILED = 4009
SUCCESS, OUTPUT_NOT_RUNNING = 100, 501
DEFAULT_PORT = 4455
STARTUP_WAIT_S = 1.0
"""How long the run waits for OBS before it starts (a wrong password is then a usage error);
an OBS slower than that is connected to in the background."""


def authentication(password: str, salt: str, challenge: str) -> str:
    """obs-websocket v5: base64(sha256(base64(sha256(password + salt)) + challenge))."""
    secret = base64.b64encode(hashlib.sha256((password + salt).encode("utf-8")).digest())
    answer = hashlib.sha256(secret + challenge.encode("utf-8")).digest()
    return base64.b64encode(answer).decode("ascii")


class WrongPassword(Exception):
    pass


class ObsCaptions(LiveOutput):
    name = "OBS"

    def __init__(
        self,
        url: str,
        password: str | None,
        choice: CaptionChoice,
        say: Callable[[str], None],
        timeout_s: float = 5.0,
    ) -> None:
        super().__init__(choice, say)
        self.url = url
        self._password = password
        self.timeout_s = timeout_s
        self._socket: ClientConnection | None = None
        self._rows: list[str] = []
        """The CEA-608 captions of `pending[0]` not sent yet."""
        self._connected_once = False

    async def start(self) -> None:
        """Connect before the run starts: a wrong password stops it (exit 2); OBS not there, or
        not answering within a second, is said once and connected to in the background."""
        first = asyncio.ensure_future(self._connect())
        done, _ = await asyncio.wait([first], timeout=STARTUP_WAIT_S)
        if not done:
            first.cancel()
            self.failed("connect", f"no answer from {self.url} yet")
        else:
            try:
                self._socket = first.result()
            except WrongPassword as error:
                raise UsageError("--obs-websocket", str(error)) from error
            except (OSError, TimeoutError, InvalidHandshake, InvalidURI, ConnectionClosed) as error:
                self._connection_failed(error)
            else:
                self._connected_once = True
        await super().start()

    def _connection_failed(self, error: BaseException) -> None:
        """One kind of failure until OBS is reached once (it cannot be lost before), and one
        for a connection lost (and the attempts to reopen it)."""
        if self._connected_once:
            self.failed("connection", f"connection to OBS lost ({_why(error)})")
        else:
            self.failed("connect", f"cannot connect to {self.url} ({_why(error)})")

    async def finish(self) -> None:
        if self._socket is not None:
            await self._socket.close()

    async def _connect(self) -> ClientConnection:
        socket = await connect(
            self.url, subprotocols=[SUBPROTOCOL], open_timeout=self.timeout_s,  # type: ignore[list-item]
            proxy=None, max_size=2**22,
        )  # fmt: skip
        try:
            async with asyncio.timeout(self.timeout_s):
                hello = json.loads(await socket.recv())
                if hello.get("op") != 0:
                    raise ConnectionError("OBS did not say Hello")
                identify: dict[str, Any] = {"rpcVersion": RPC_VERSION, "eventSubscriptions": 0}
                challenge = hello.get("d", {}).get("authentication")
                if challenge is not None:
                    if not self._password:
                        raise WrongPassword("OBS asks for a password: set OBS_WEBSOCKET_PASSWORD")
                    identify["authentication"] = authentication(
                        self._password, challenge["salt"], challenge["challenge"]
                    )
                await socket.send(json.dumps({"op": 1, "d": identify}))
                identified = json.loads(await socket.recv())
                if identified.get("op") != 2:
                    raise ConnectionError("OBS did not identify the client")
        except ConnectionClosed as error:
            if error.rcvd is not None and error.rcvd.code == AUTHENTICATION_FAILED:
                raise WrongPassword(
                    "OBS refused the password (close code 4009): check OBS_WEBSOCKET_PASSWORD"
                ) from error
            raise
        except BaseException:
            await socket.close()
            raise
        return socket

    async def _deliver_forever(self) -> None:
        attempt = 0
        while True:
            caption = await self.next_caption()
            if not self._rows:
                self._rows = for_cea608(caption.lines) or [""]
            try:
                if self._socket is None:
                    self._socket = await self._connect()
                    self._connected_once = True
                code = await self._request(self._socket, self._rows[0])
            except WrongPassword as error:
                self.failed("password", str(error))
                code = None
            except (OSError, TimeoutError, InvalidHandshake, InvalidURI, ConnectionClosed) as error:
                self._connection_failed(error)
                if self._socket is not None:
                    await self._socket.close()
                self._socket = None
                code = None
            if code == SUCCESS:
                attempt = 0
                self._rows.pop(0)
                if not self._rows:
                    self.delivered_one()
                continue
            if code == OUTPUT_NOT_RUNNING:
                self.failed("not streaming", "OBS is not streaming (501)")
            elif code is not None:
                self.failed(f"status {code}", f"OBS answered status {code}")
            await asyncio.sleep(backoff(attempt, first_s=0.2))
            attempt += 1

    async def _request(self, socket: ClientConnection, text: str) -> int:
        request_id = uuid.uuid4().hex
        request = {
            "op": 6,
            "d": {
                "requestType": "SendStreamCaption",
                "requestId": request_id,
                "requestData": {"captionText": text},
            },
        }
        await socket.send(json.dumps(request, ensure_ascii=False))
        async with asyncio.timeout(self.timeout_s):
            while True:
                message = json.loads(await socket.recv())
                data = message.get("d", {})
                if message.get("op") == 7 and data.get("requestId") == request_id:
                    return int(data.get("requestStatus", {}).get("code", 0))


def _why(error: BaseException) -> str:
    if isinstance(error, ConnectionClosed):
        return "closed" if error.rcvd is None else f"closed with code {error.rcvd.code}"
    if isinstance(error, TimeoutError):
        return "no answer"
    return str(error) or type(error).__name__
