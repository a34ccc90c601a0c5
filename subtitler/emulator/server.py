"""The emulator's I/O: a `websockets` server that shovels frames to `ConnectionProtocol`, and
on the same port (as on the service's host) plain HTTP requests: the customization API's to
`VocabularyStore`, Qwen-MT's (both its APIs) to `qwenmt`.

Run it in-process (`EmulatorServer` in an asyncio loop, or `BackgroundEmulator` in a thread
for synchronous callers such as tests and `subtitler demo`) or as `subtitler emulator`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable
from http import HTTPStatus
from pathlib import Path
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from subtitler.emulator.admission import Admission, FaultBudget, MtFaults, MtLimits
from subtitler.emulator.config import EmulatorConfig
from subtitler.emulator.messages import (
    Action,
    CloseConnection,
    DropConnection,
    SendEvent,
    TaskState,
)
from subtitler.emulator.protocol import Bill, ConnectionProtocol
from subtitler.emulator.qwenmt import (
    MT_PATHS,
    MtCall,
    MtRefused,
    Refusal,
    answer,
    check_request,
    error_answer,
    refused,
    stream_frames,
    translation_of,
)
from subtitler.emulator.scripts import ScriptLibrary
from subtitler.emulator.vocabulary import CUSTOMIZATION_PATH, VocabularyStore

WEBSOCKET_PATH = "/api-ws/v1/inference"
IDLE_CONNECTION_S = 60.0
"""A connection with no task running is closed this long after its last task ended."""
CLOSE_TIMEOUT_S = 1.0
"""How long a stopping emulator waits for each client's closing handshake."""
MAX_HTTP_REQUEST_BYTES = 1 << 20


def _dechunked(body: bytes) -> bytes | None:
    """A chunked request body, or None while its last (empty) chunk has not arrived."""
    whole, position = bytearray(), 0
    while True:
        line_end = body.find(b"\r\n", position)
        if line_end < 0:
            return None
        try:
            size = int(body[position:line_end].split(b";")[0], 16)
        except ValueError:
            return b""  # not chunked after all: answered as a body that is not JSON
        if size == 0:
            return bytes(whole)
        start = line_end + 2
        if len(body) < start + size + 2:
            return None
        whole += body[start : start + size]
        position = start + size + 2


@dataclasses.dataclass(frozen=True)
class HttpReply:
    """One plain HTTP answer: a JSON body, or server-sent events (`frames`), `delay_s` late."""

    status: int
    body: bytes = b""
    frames: tuple[bytes, ...] = ()
    delay_s: float = 0.0


class _HttpOrWebSocket(ServerConnection):
    """A connection whose first bytes say what it is: a `POST` is one plain HTTP request,
    answered by `answer_http` and closed; anything else goes to websockets (whose parser
    takes only GET handshakes)."""

    def answer_http(self, path: str, headers: dict[str, str], body: bytes) -> HttpReply:
        raise NotImplementedError

    def start_reply(self, reply: Any) -> None:
        """Run a late answer's coroutine (the server keeps it, to cancel it when stopping)."""
        raise NotImplementedError

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._first = b""
        self._plain: bytearray | None = None
        self._decided = False
        self._answered = False
        """One request per connection: what comes after it is not read."""

    def data_received(self, data: bytes) -> None:
        if self._answered:
            return
        if not self._decided:
            self._first += data
            if len(self._first) < 5 and b"POST ".startswith(self._first):
                return
            self._decided = True
            data, self._first = self._first, b""
            if data.startswith(b"POST "):
                self._plain = bytearray()
        if self._plain is None:
            super().data_received(data)
            return
        self._plain += data
        head, found, body = bytes(self._plain).partition(b"\r\n\r\n")
        if not found:
            if len(self._plain) > MAX_HTTP_REQUEST_BYTES:
                self._respond(HttpReply(431, b"{}"))
            return
        request_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if "chunked" in headers.get("transfer-encoding", "").lower():
            whole = _dechunked(body)
            if whole is None:  # not all chunks yet
                if len(self._plain) > MAX_HTTP_REQUEST_BYTES:
                    self._respond(HttpReply(413, _TOO_LARGE))
                return
        else:
            try:
                length = int(headers.get("content-length", "0"))
            except ValueError:
                length = -1
            if not 0 <= length <= MAX_HTTP_REQUEST_BYTES:
                self._respond(HttpReply(413, _BAD_LENGTH))
                return
            if len(body) < length:
                return
            whole = body[:length]
        path = request_line.split(" ")[1] if " " in request_line else "/"
        self._respond(self.answer_http(path, headers, whole))

    def _respond(self, reply: HttpReply) -> None:
        self._plain = bytearray()
        self._answered = True
        if reply.delay_s > 0 or reply.frames:
            self.start_reply(self._respond_later(reply))
            return
        self._write(reply)

    async def _respond_later(self, reply: HttpReply) -> None:
        if reply.delay_s > 0:
            await asyncio.sleep(reply.delay_s)
        self._write(reply)

    def _write(self, reply: HttpReply) -> None:
        if self.transport.is_closing():  # the client gave up waiting
            return
        phrase = HTTPStatus(reply.status).phrase
        head = f"HTTP/1.1 {reply.status} {phrase}\r\n"
        if reply.frames:  # server-sent events, delimited by the close
            head += "Content-Type: text/event-stream;charset=UTF-8\r\nCache-Control: no-cache\r\n"
            payload = b"".join(reply.frames)
        else:
            head += f"Content-Type: application/json\r\nContent-Length: {len(reply.body)}\r\n"
            payload = reply.body
        self.transport.write(f"{head}Connection: close\r\n\r\n".encode() + payload)
        self.transport.close()


_TOO_LARGE = b'{"code": "InvalidParameter", "message": "Too large."}'
_BAD_LENGTH = b'{"code": "InvalidParameter", "message": "Bad length."}'


@dataclasses.dataclass(frozen=True)
class MtRequest:
    """One Qwen-MT request as the emulator saw it (its headers without the key), and how it
    was answered."""

    path: str
    headers: dict[str, str]
    body: Any
    """The JSON body, or its text when it is not JSON."""
    status: int
    code: str
    """The error code of a refusal; "" when answered."""
    method: str = "POST"


@dataclasses.dataclass
class EmulatorStats:
    """What the server saw, for tests and for the operator."""

    connections: int = 0
    task_outcomes: Counter[str] = dataclasses.field(default_factory=Counter)
    run_task_messages: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    finish_task_messages: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    handshake_headers: list[dict[str, str]] = dataclasses.field(default_factory=list)
    bills: list[Bill] = dataclasses.field(default_factory=list)
    """Each ended task's bill, in the order they ended."""
    customization_actions: list[str] = dataclasses.field(default_factory=list)
    """The customization API's requests (their action, or the refusal before one)."""
    mt_requests: list[MtRequest] = dataclasses.field(default_factory=list)
    """Every Qwen-MT request, in the order they came."""
    changed: threading.Condition = dataclasses.field(default_factory=threading.Condition)

    @property
    def recognition_s(self) -> int:
        with self.changed:
            return sum(bill.recognition_s for bill in self.bills)

    @property
    def translation_s(self) -> int:
        with self.changed:
            return sum(bill.translation_s for bill in self.bills)

    def count(self, outcome: str) -> int:
        with self.changed:
            return self.task_outcomes[outcome]

    def wait_for_mt_requests(self, count: int, timeout_s: float = 30.0) -> bool:
        """Block until `count` Qwen-MT requests were answered (or refused)."""
        with self.changed:
            return self.changed.wait_for(lambda: len(self.mt_requests) >= count, timeout_s)

    def wait_for_outcome(self, outcome: str, count: int, timeout_s: float = 30.0) -> bool:
        """Block until `count` tasks had `outcome` (started, finished, failed, dropped, ...)."""
        with self.changed:
            return self.changed.wait_for(lambda: self.task_outcomes[outcome] >= count, timeout_s)


class EmulatorServer:
    """A Gummy-compatible WebSocket server bound to host:port (port 0 picks a free one)."""

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        library: ScriptLibrary | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        script_directories: Iterable[Path] = (),
    ) -> None:
        self.config = config or EmulatorConfig()
        self.library = library or ScriptLibrary.bundled(script_directories)
        self.host = host
        self.port = port
        self.stats = EmulatorStats()
        self._admission = Admission(self.config.max_concurrent_tasks, self.config.max_task_rate)
        self._refusals = 0
        self._faults = FaultBudget(self.config.faults_max, self.config.fault_seed)
        self._server: Server | None = None
        self.vocabularies = VocabularyStore()
        """The account's hot-word vocabularies (the customization API on the same port)."""
        self._mt_limits = MtLimits(self.config.mt_rpm, self.config.mt_tpm)
        self._mt_faults = self._new_mt_faults()
        self._known_texts = {known.text.strip(): known for known in self.library.sentences}
        self._replies: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}{WEBSOCKET_PATH}"

    @property
    def http_url(self) -> str:
        """The HTTP API's base (the customization API is under it)."""
        return f"http://{self.host}:{self.port}/api/v1"

    @property
    def compatible_url(self) -> str:
        """The OpenAI-compatible API's base (Qwen-MT's chat/completions is under it)."""
        return f"http://{self.host}:{self.port}/compatible-mode/v1"

    @property
    def faults_injected(self) -> int:
        return self._faults.injected

    @property
    def throttled(self) -> int:
        return self._admission.throttled

    @property
    def rate_refusals(self) -> int:
        """Task submissions refused for going over `max_task_rate`."""
        return self._admission.rate_refusals

    def configure(self, **changes: Any) -> None:
        """Change modes for connections opened from now on (counters start again)."""
        self.config = dataclasses.replace(self.config, **changes)
        self._admission.limit = self.config.max_concurrent_tasks
        self._admission.rate_per_s = self.config.max_task_rate
        self._refusals = 0
        self._faults = FaultBudget(self.config.faults_max, self.config.fault_seed)
        self._mt_limits = MtLimits(self.config.mt_rpm, self.config.mt_tpm)
        self._mt_faults = self._new_mt_faults()

    def _new_mt_faults(self) -> MtFaults:
        config = self.config
        return MtFaults(config.mt_throttle_burst, config.mt_internal_errors, config.mt_slow_answers)

    async def start(self) -> str:
        emulator = self

        class Connection(_HttpOrWebSocket):
            def answer_http(self, path: str, headers: dict[str, str], body: bytes) -> HttpReply:
                return emulator._answer_http(path, headers, body)

            def start_reply(self, reply: Any) -> None:
                task = asyncio.get_running_loop().create_task(reply)
                emulator._replies.add(task)
                task.add_done_callback(emulator._replies.discard)

        self._server = await serve(
            self._handle,
            self.host,
            self.port,
            process_request=self._check_handshake,
            compression=None,
            max_size=2**22,
            create_connection=Connection,
            # Stopping closes every connection; a client that reads nothing while idle (the
            # SDK's) never answers the close frame: wait for it briefly, not websockets' 10 s.
            close_timeout=CLOSE_TIMEOUT_S,
        )
        sockets = list(self._server.sockets)
        self.port = sockets[0].getsockname()[1]
        return self.url

    async def stop(self) -> None:
        if self._server is not None:
            for reply in list(self._replies):
                reply.cancel()
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def _check_handshake(self, connection: ServerConnection, request: Request) -> Response | None:
        path = request.path.split("?", 1)[0]
        if path != WEBSOCKET_PATH:
            return connection.respond(HTTPStatus.NOT_FOUND, "Not found.\n")
        authorization = request.headers.get("Authorization", "")
        scheme, _, key = authorization.partition(" ")
        self.stats.handshake_headers.append(
            {
                name.lower(): value
                for name, value in request.headers.raw_items()
                if name.lower() != "authorization"  # never keep a key, even a test one
            }
        )
        if scheme.lower() != "bearer" or not key.strip():
            return connection.respond(HTTPStatus.UNAUTHORIZED, "Invalid API-key provided.\n")
        if self.config.api_key is not None and key.strip() != self.config.api_key:
            return connection.respond(HTTPStatus.UNAUTHORIZED, "Invalid API-key provided.\n")
        status = self.config.handshake_status
        limit = self.config.handshake_refusals
        if status is not None and (limit is None or self._refusals < limit):
            self._refusals += 1
            return connection.respond(HTTPStatus(status), f"{HTTPStatus(status).phrase}.\n")
        return None

    def _answer_http(self, path: str, headers: dict[str, str], body: bytes) -> HttpReply:
        route = path.split("?", 1)[0]
        if route in MT_PATHS:
            return self._answer_mt(MT_PATHS[route], route, headers, body)
        return HttpReply(*self._answer_customization(route, headers, body))

    def _answer_customization(
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes]:
        """The customization API: the same key rule as the handshake, JSON in and out."""
        if path != CUSTOMIZATION_PATH:
            self.stats.customization_actions.append("not found")
            return 404, b'{"code": "NotFound", "message": "Not found."}'
        scheme, _, key = headers.get("authorization", "").partition(" ")
        wrong_key = self.config.api_key is not None and key.strip() != self.config.api_key
        if scheme.lower() != "bearer" or not key.strip() or wrong_key:
            self.stats.customization_actions.append("unauthorised")
            return 401, b'{"code": "InvalidApiKey", "message": "Invalid API-key provided."}'
        try:
            request = json.loads(body)
        except ValueError:
            self.stats.customization_actions.append("not JSON")
            return 400, b'{"code": "InvalidParameter", "message": "Body is not JSON."}'
        given = request.get("input") if isinstance(request, dict) else None
        action = given.get("action") if isinstance(given, dict) else None
        self.stats.customization_actions.append(str(action))
        status, answer = self.vocabularies.answer(request)
        return int(status), json.dumps(answer, ensure_ascii=False).encode("utf-8")

    def _answer_mt(self, api: str, path: str, headers: dict[str, str], body: bytes) -> HttpReply:
        """Qwen-MT: the key as the gateway checks it, then the request as the service checks
        it, the limits and the injected faults, then the translation."""
        request_id = str(uuid.uuid4())
        config = self.config
        delay_s = config.mt_delay_s
        try:
            key = self._mt_key(api, headers)
            call = check_request(api, headers, body, accept_codes=config.mt_accept_codes)
            text = self._translation(call)
            fault = self._mt_faults.take()
            if fault == "throttled":
                raise refused(Refusal.RATE, api)
            if fault == "internal":
                raise refused(Refusal.INTERNAL, api)
            if fault == "slow":
                delay_s += config.mt_slow_s
            tokens = call.prompt_tokens + len(text)
            over = self._mt_limits.check(key, call.model, tokens)
            if over is not None:
                raise refused(Refusal.RATE if over == "rpm" else Refusal.ALLOCATION, api)
        except MtRefused as error:
            status, payload = error_answer(api, error, request_id)
            self._record_mt(path, headers, body, status, payload)
            return HttpReply(status, payload, delay_s=delay_s)
        created_s = int(time.time())
        self._record_mt(path, headers, body, 200, b"")
        if call.stream:
            return HttpReply(
                200, frames=tuple(stream_frames(call, text, request_id, created_s)), delay_s=delay_s
            )
        return HttpReply(200, answer(call, text, request_id, created_s), delay_s=delay_s)

    def _translation(self, call: MtCall) -> str:
        """What the model answers: a text of several lines is translated line by line (as a
        translation model keeps a text's lines), each known sentence as its fixture says."""
        lines = call.text.strip().split("\n")
        if len(lines) == 1:
            return translation_of(call, self._known_texts.get(call.text.strip()))
        return "\n".join(
            translation_of(
                dataclasses.replace(call, text=line), self._known_texts.get(line.strip())
            )
            for line in lines
        )

    def _mt_key(self, api: str, headers: dict[str, str]) -> str:
        """The request's key, hashed (never kept), or MtRefused as the gateway refuses it. The
        native API also takes the bare key the reference's curl examples send."""
        authorization = headers.get("authorization", "").strip()
        scheme, _, key = authorization.partition(" ")
        if scheme.lower() != "bearer":
            key = authorization if api == "native" and " " not in authorization else ""
        key = key.strip()
        if not key or (self.config.api_key is not None and key != self.config.api_key):
            raise refused(Refusal.API_KEY, api)
        return hashlib.sha256(key.encode()).hexdigest()

    def _record_mt(
        self, path: str, headers: dict[str, str], body: bytes, status: int, payload: bytes
    ) -> None:
        try:
            request: Any = json.loads(body)
        except ValueError:
            request = body.decode("utf-8", "replace")
        code = ""
        if status != 200:
            refusal = json.loads(payload)
            code = str(refusal.get("code") or refusal.get("error", {}).get("code", ""))
        seen = {name: value for name, value in headers.items() if name != "authorization"}
        with self.stats.changed:
            self.stats.mt_requests.append(MtRequest(path, seen, request, status, code))
            self.stats.changed.notify_all()

    async def _handle(self, connection: ServerConnection) -> None:
        self.stats.connections += 1
        config = self.config
        protocol = ConnectionProtocol(
            config, self.library, self._admission, self._faults, self._record_outcome,
            self._record_bill, self.vocabularies,
        )  # fmt: skip
        outbox: asyncio.Queue[tuple[float, Action]] = asyncio.Queue()
        sender = asyncio.create_task(self._send_loop(connection, outbox, config))
        loop = asyncio.get_running_loop()
        latency_s = config.latency_ms / 1000

        def enqueue(actions: list[Action]) -> None:
            now = loop.time()
            for action in actions:
                delayed = isinstance(action, SendEvent) and action.delayed
                outbox.put_nowait((now + latency_s if delayed else now, action))

        try:
            while True:
                idle_s = config.idle_timeout_s or None  # 0: no idle rule
                timeout_s = idle_s if protocol.task else IDLE_CONNECTION_S
                try:
                    message = await asyncio.wait_for(connection.recv(), timeout=timeout_s)
                except TimeoutError:
                    if protocol.task is None:
                        break
                    enqueue(protocol.idle_timeout())
                    break
                if isinstance(message, str):
                    if '"run-task"' in message or '"finish-task"' in message:
                        self._record_action(message)
                    enqueue(protocol.receive_text(message))
                else:
                    enqueue(protocol.receive_binary(message))
                if protocol.state is TaskState.FAILED:
                    break
        except ConnectionClosed:
            pass
        finally:
            protocol.connection_lost()
            if protocol.state is TaskState.FAILED:
                await sender  # deliver the task-failed, then close or drop
            else:
                sender.cancel()
                await asyncio.gather(sender, return_exceptions=True)

    async def _send_loop(
        self,
        connection: ServerConnection,
        outbox: asyncio.Queue[tuple[float, Action]],
        config: EmulatorConfig,
    ) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                due, action = await outbox.get()
                wait_s = due - loop.time()
                if wait_s > 0:
                    await asyncio.sleep(wait_s)
                if isinstance(action, SendEvent):
                    await connection.send(json.dumps(action.message, ensure_ascii=False))
                elif isinstance(action, DropConnection):
                    connection.transport.abort()
                    return
                elif isinstance(action, CloseConnection):
                    await connection.close()
                    return
        except ConnectionClosed:
            return

    def _record_action(self, text: str) -> None:
        try:
            message = json.loads(text)
            action = message["header"]["action"]
        except (ValueError, KeyError, TypeError):
            return
        if action == "run-task":
            self.stats.run_task_messages.append(message)
        elif action == "finish-task":
            self.stats.finish_task_messages.append(message)

    def _record_bill(self, bill: Bill) -> None:
        with self.stats.changed:
            self.stats.bills.append(bill)
            self.stats.changed.notify_all()

    def _record_outcome(self, outcome: str, _task_id: str) -> None:
        with self.stats.changed:
            self.stats.task_outcomes[outcome] += 1
            self.stats.changed.notify_all()


class BackgroundEmulator:
    """An `EmulatorServer` on its own thread and event loop, for synchronous callers."""

    def __init__(self, config: EmulatorConfig | None = None, **server_options: Any) -> None:
        self.server = EmulatorServer(config, **server_options)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="gummy-emulator", daemon=True)
        self._ready = threading.Event()
        self._stopped: asyncio.Event | None = None
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return self.server.url

    def configure(self, **changes: Any) -> None:
        self._loop.call_soon_threadsafe(lambda: self.server.configure(**changes))
        # A barrier: once this round trip returns the change is in effect.
        asyncio.run_coroutine_threadsafe(asyncio.sleep(0), self._loop).result()

    def start(self) -> BackgroundEmulator:
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        if self._stopped is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stopped.set)
            self._thread.join()

    def __enter__(self) -> BackgroundEmulator:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._main())
        self._loop.close()

    async def _main(self) -> None:
        self._stopped = asyncio.Event()
        try:
            await self.server.start()
        except BaseException as error:  # reported to start()'s caller
            self._error = error
            self._ready.set()
            return
        self._ready.set()
        await self._stopped.wait()
        await self.server.stop()
