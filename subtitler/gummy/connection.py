"""The native client: `ClientProtocol` over one `websockets` connection per task (Gummy or Fun-ASR).

Runs on the caller's event loop: no thread, no poll. Every event (`TaskStarted`, `Partial`,
`Sentence`, `TaskFinished`, `TaskFailed`) goes to the `sink` the owner of the task gave, in the
order the service sent it; a connection that ends before `task-finished` gives `TaskFailed`.
"""

from __future__ import annotations

import asyncio
import contextlib
import platform
import uuid
from collections.abc import Awaitable, Callable
from urllib.parse import urlparse

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from subtitler import __version__
from subtitler.gummy.environment import LOCAL_HOSTS
from subtitler.gummy.protocol import (
    DEFAULT_ENDPOINT,
    ClientEvent,
    ClientProtocol,
    GummySettings,
    State,
    handshake_headers,
)

USER_AGENT = (
    f"subtitler/{__version__}; python/{platform.python_version()}; "
    f"platform/{platform.system()}-{platform.machine()}"
)
SESSION_ID = uuid.uuid4().hex
"""One per process, like the SDK's session id."""
OPEN_TIMEOUT_S = 15.0
HEARTBEAT_S = 30.0
"""The SDK's aiohttp heartbeat: a ping every 30 s keeps idle proxies from closing the socket."""
MAX_MESSAGE_BYTES = 2**24


class NativeTask:
    """One task (Gummy or Fun-ASR, as the settings say) on its own WebSocket connection."""

    def __init__(
        self, settings: GummySettings, target: str, sink: Callable[[ClientEvent], None]
    ) -> None:
        self.protocol = ClientProtocol(settings, target)
        self.endpoint = settings.endpoint or DEFAULT_ENDPOINT
        self._settings = settings
        self._sink = sink
        self._socket: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None

    @property
    def task_id(self) -> str:
        return self.protocol.task_id

    async def start(self, turn: Callable[[], Awaitable[None]]) -> None:
        """Connect, wait for `turn()`, send `run-task`; `TaskStarted` or `TaskFailed` follows
        on the sink. Taking the turn once connected keeps the connect time out of the pacing."""
        headers = {
            "Authorization": f"Bearer {self._settings.api_key}",
            **handshake_headers(SESSION_ID),
        }
        local = urlparse(self.endpoint).hostname in LOCAL_HOSTS
        try:
            self._socket = await connect(
                self.endpoint,
                additional_headers=headers,
                user_agent_header=USER_AGENT,
                compression=None,
                proxy=None if local else True,  # loopback never goes through a proxy
                open_timeout=OPEN_TIMEOUT_S,
                ping_interval=HEARTBEAT_S,
                ping_timeout=HEARTBEAT_S,
                close_timeout=5,
                max_size=MAX_MESSAGE_BYTES,
            )
        except InvalidStatus as error:
            response = error.response
            body = response.body.decode("utf-8", "replace") if response.body else ""
            self._emit(self.protocol.handshake_refused(response.status_code, body))
            return
        except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as error:
            self._emit(self.protocol.unreachable(f"cannot connect ({_describe(error)})"))
            return
        await turn()
        self._reader = asyncio.create_task(self._read(self._socket))
        await self._send(self.protocol.run_task())

    async def send(self, pcm: bytes) -> bool:
        """Send audio (waits while the socket's buffer is full); False once the task is over."""
        if self.protocol.state is not State.STREAMING:
            return False
        return await self._send(self.protocol.audio(pcm))

    async def finish(self) -> None:
        """No more audio: the remaining results and `task-finished` follow on the sink."""
        if self.protocol.state is State.STREAMING:
            await self._send(self.protocol.finish_task())

    async def close(self) -> None:
        """Release the connection; a task not over by now fails (its results may be missing)."""
        if self._socket is not None:
            with contextlib.suppress(Exception):
                await self._socket.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        self._emit(self.protocol.connection_lost("closed by the client before task-finished"))

    async def _send(self, frame: str | bytes) -> bool:
        socket = self._socket
        if socket is None:
            return False
        try:
            await socket.send(frame)
        except ConnectionClosed:
            return False  # the reader reports why
        return True

    async def _read(self, socket: ClientConnection) -> None:
        reason = ""
        try:
            async for message in socket:
                if isinstance(message, str):
                    self._emit(self.protocol.receive(message))
                if self.protocol.state in (State.FINISHED, State.FAILED):
                    break
        except ConnectionClosed as error:
            reason = _closed_reason(error)
        if self.protocol.state in (State.FINISHED, State.FAILED):
            await socket.close()
        self._emit(self.protocol.connection_lost(reason))

    def _emit(self, events: list[ClientEvent]) -> None:
        for event in events:
            self._sink(event)


def _closed_reason(error: ConnectionClosed) -> str:
    if error.rcvd is None:
        return "connection to the service was lost"
    return f"the service closed the connection ({error.rcvd.code} {error.rcvd.reason})".strip()


def _describe(error: BaseException) -> str:
    return str(error) or type(error).__name__
