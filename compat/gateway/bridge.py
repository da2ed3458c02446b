"""ASGI to WSGI with a streaming request body: how an asyncio server runs the gateway's WSGI app.

:class:`StreamingWSGIBridge` is an ASGI 3 application (the ASGI spec is all it knows of the server)
that calls a WSGI application (PEP 3333) in a thread of its own for each request, and:

* hands it a ``wsgi.input`` (:class:`StreamingInput`) that reads the body **as it arrives**: a
  ``read`` with nothing buffered asks the event loop for the next messages, about the bytes asked
  for (at least ``MIN_GATHER``, at most ``MAX_GATHER``) a hop, and hands the server's blocks on
  without copying them. Nothing calls ``receive()`` while the application is busy elsewhere, so
  the server's small per-request queue fills, it stops reading the socket, and TCP pushes back on
  the client: memory per upload is one gather plus the server's queue, whatever the body's size,
  and nothing is spooled to disk.
  ``wsgi.input_terminated`` is set: a body without ``Content-Length`` (chunked) reads to its end.
  Other bridges were checked and collect the body first (hypercorn's own WSGI wrapper, asgiref's
  ``WsgiToAsgi``, uvicorn's ``WSGIMiddleware``) or wait for it without a timeout (a2wsgi);
* times the body: no byte for ``body_idle_timeout`` seconds, or fewer than ``min_body_rate`` bytes a
  second of waiting (judged after ``min_rate_grace`` seconds of waiting; time the application spends
  elsewhere does not count), raises :class:`~compat.gateway.http.BodyTimeout` from ``read``; a
  chunked body past ``max_body_size`` raises :class:`~compat.gateway.http.BodyTooLarge`; a client
  that hangs up raises :class:`~compat.gateway.http.ClientGone`. The application answers those
  itself (a V1 JSON error); one that lets them escape gets that status here, never a 500;
* refuses a request head over ``max_header_size`` (431; a request target alone over it, 414);
* admits a request only when its client address has fewer than ``per_client`` requests in flight
  (else 429) and the worker fewer than ``max_inflight`` (else 503), and refuses a ``Content-Length``
  over ``max_body_size`` (413), each at once, with a JSON error and ``Connection: close``, without
  reading the body or starting a thread. A request counts until its client holds the whole answer;
* answers ``inline_paths`` (the health endpoint) on the event loop itself, outside every limit, so
  it answers while every thread is busy. The application must answer those without blocking;
* when the answer starts before the body has been read to its end, adds ``Connection: close`` and,
  once the answer is out, reads and discards the rest (under the same timeouts and size limit) so
  that a client which sends its whole body before reading sees the answer, then the server closes;
* bounds each block of the answer by ``send_timeout`` (a client that does not read), and stops the
  answer when the client has gone.

Request threads are daemon threads: one still blocked when a drain timeout ends cannot keep the
process alive.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import io
import json
import logging
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any, TypeVar

from compat.gateway.http import BodyTimeout, BodyTooLarge, ClientGone, RequestBodyError
from compat.gateway.server_options import ServerOptions
from compat.redact import install_log_filter

__all__ = ["MAX_GATHER", "StreamingInput", "StreamingWSGIBridge"]

MAX_GATHER = 1024 * 1024  # the most body bytes one hop to the event loop collects
MIN_GATHER = 64 * 1024
_T = TypeVar("_T")
_MARGIN = 5.0  # how much longer a request thread waits for the loop than the loop's own timeout
_SINK_TIMEOUT = 600.0  # a bound on waiting for the server's hang-up message (it comes when the answer ends)

Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

log = logging.getLogger("compat.gateway")
install_log_filter(log)


class StreamingInput(io.RawIOBase):
    """``wsgi.input``: the request body read from the server as the application asks for it.

    ``read`` returns at least one byte unless the body has ended, never more than asked, and raises a
    :class:`~compat.gateway.http.RequestBodyError` subclass when the client fails the limits.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        receive: Receive,
        options: ServerOptions,
        *,
        length: int | None = None,
        known_empty: bool = False,
    ) -> None:
        super().__init__()
        self._loop = loop
        self._receive = receive
        self.options = options
        self._length = length
        self._parts: collections.deque[bytes] = collections.deque()
        self._offset = 0  # into the first of the parts
        self.received = 0
        self.waited = 0.0  # seconds spent waiting for the client's bytes
        self.ended = known_empty or length == 0
        """The whole body has been received (the connection may carry another request)."""
        self.failed: RequestBodyError | None = None
        """Why the body could not be read to its end (it must not be read any further)."""

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return self.readall()
        if not self._parts:
            if self.ended or size == 0:
                return b""
            # about what was asked for: a small first read (the empty-body probe) must not wait for a whole gather
            self._parts.extend(self._pull(min(MAX_GATHER, max(size, MIN_GATHER))))
            if not self._parts:
                return b""  # the body ended with no more bytes
        first = self._parts[0]
        if self._offset == 0 and len(first) <= size:
            self._parts.popleft()  # the server's block as it came: no copy
            if len(first) == size or not self._parts or len(self._parts[0]) > size - len(first):
                return first
            taken = [first]  # a few whole blocks fit: one larger read means fewer writes downstream
            room = size - len(first)
            while self._parts and len(self._parts[0]) <= room:
                room -= len(self._parts[0])
                taken.append(self._parts.popleft())
            return b"".join(taken)
        end = min(self._offset + size, len(first))
        block = first[self._offset : end]
        if end == len(first):
            self._parts.popleft()
            self._offset = 0
        else:
            self._offset = end
        return block

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def readall(self) -> bytes:
        parts = []
        while block := self.read(MAX_GATHER):
            parts.append(block)
        return b"".join(parts)

    def readline(self, size: int | None = -1) -> bytes:
        line = bytearray()
        while size is None or size < 0 or len(line) < size:
            if not self._parts:
                if self.ended:
                    break
                self._parts.extend(self._pull(MIN_GATHER))
                continue
            first = self._parts[0]
            end = first.find(b"\n", self._offset) + 1 or len(first)
            if size is not None and size >= 0:
                end = min(end, self._offset + size - len(line))
            line += first[self._offset : end]
            if end == len(first):
                self._parts.popleft()
                self._offset = 0
            else:
                self._offset = end
            if line.endswith(b"\n"):
                break
        return bytes(line)

    def __iter__(self) -> Any:
        return iter(self.readline, b"")

    def _pull(self, want: int) -> list[bytes]:
        """In the request thread: the next blocks of the body (at least one byte, about ``want`` in all)."""
        if self.failed is not None:
            raise self.failed
        budget = self.options.body_idle_timeout + _MARGIN
        try:
            return _on_loop(self.gather(want), self._loop).result(budget)
        except RequestBodyError:
            raise
        except (RuntimeError, concurrent.futures.CancelledError, concurrent.futures.TimeoutError):
            # the loop is closed or stopping (a drain timeout cut this request): nothing more will come
            self.failed = ClientGone("the server stopped before the end of the body")
            raise self.failed from None

    async def gather(self, want: int) -> list[bytes]:
        """On the loop: receive body messages until ``want`` bytes or the end; at least one byte."""
        parts: list[bytes] = []
        have = 0
        while not self.ended and (have < want or not have):
            chunk = await self._next()
            if chunk:
                parts.append(chunk)
                have += len(chunk)
        return parts

    async def discard(self) -> bool:
        """On the loop: read and drop the rest of the body, under the same limits. True if it ended."""
        try:
            while not self.ended:
                await self._next()
        except RequestBodyError:
            return False
        return True

    async def _next(self) -> bytes:
        options = self.options
        budget = options.body_idle_timeout
        slow = False
        if options.min_body_rate > 0:
            # the longest wait after which the rate, counted over the time spent waiting, falls short
            rate_budget = max(options.min_rate_grace, self.received / options.min_body_rate) - self.waited
            if rate_budget < budget:
                budget, slow = max(rate_budget, 0.0), True
        started = time.monotonic()
        try:
            if sys.version_info >= (3, 11):
                # a timeout scope, not wait_for's task per message: a third of the loop's CPU per body byte
                async with asyncio.timeout(budget):
                    message = await self._receive()
            else:
                message = await asyncio.wait_for(self._receive(), budget)
        except asyncio.TimeoutError:
            self.waited += time.monotonic() - started
            if slow:
                why = f"the body came slower than {options.min_body_rate:g} bytes/s"
            else:
                why = f"no body bytes for {options.body_idle_timeout:g} s"
            raise self._fail(BodyTimeout(f"Request Timeout: {why}")) from None
        self.waited += time.monotonic() - started
        if message.get("type") != "http.request":
            raise self._fail(ClientGone("the client went away before the end of its body"))
        chunk: bytes = message.get("body") or b""
        self.received += len(chunk)
        if not message.get("more_body", False) or (self._length is not None and self.received >= self._length):
            self.ended = True  # with a Content-Length, the last byte is the end (the end message may follow)
        if self.received > options.max_body_size:
            raise self._fail(BodyTooLarge(f"Request Entity Too Large: the body is over {options.max_body_size} bytes"))
        return chunk

    def _fail(self, error: RequestBodyError) -> RequestBodyError:
        self.failed = error
        return error


class _Exchange:
    """One request's answer: ``start_response`` and ``write`` from the request thread, sends on the loop."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        receive: Receive,
        send: Send,
        body: StreamingInput,
        scope: Message,
        *,
        on_complete: Callable[[], None],
    ) -> None:
        self.loop = loop
        self.on_complete = on_complete
        """Called on the loop once the client holds the whole answer (its ``Content-Length`` is sent)."""
        self.to_send: int | None = None
        self.receive = receive
        self.send = send
        self.body = body
        self.send_timeout = body.options.send_timeout
        self.http2 = not _is_http1(scope)
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.started = False
        self.gone = False
        self._sink: asyncio.Task[None] | None = None

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], None]:
        if exc_info is not None and self.started:
            raise exc_info[1].with_traceback(exc_info[2])
        self.status = int(status.split(" ", 1)[0])
        self.headers = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]
        return self.write

    def write(self, block: bytes) -> None:
        """In the request thread: send one block of the answer (the head first), waiting for the client."""
        if not self.status:
            raise RuntimeError("write() before start_response()")
        try:
            _on_loop(self._send_block(bytes(block)), self.loop).result(self.send_timeout + _MARGIN)
        except RequestBodyError:
            raise
        except (RuntimeError, concurrent.futures.CancelledError, concurrent.futures.TimeoutError):
            raise ClientGone("the server stopped while answering") from None

    async def _send_block(self, block: bytes) -> None:
        if self.gone:
            raise ClientGone("the client went away while being answered")
        if not self.started:
            self.started = True
            if not self.body.ended and not self.http2 and (b"connection", b"close") not in self.headers:
                # answered before the end of the body: this connection cannot carry another request
                self.headers.append((b"connection", b"close"))
            self.to_send = _declared_length(self.headers)
            await self._timed({"type": "http.response.start", "status": self.status, "headers": self.headers})
            if self.body.ended:
                self.sink()
        if block:
            await self._timed({"type": "http.response.body", "body": block, "more_body": True})
            if self.to_send is not None:
                self.to_send -= len(block)
        if self.to_send is not None and self.to_send <= 0 and self.body.ended:
            self.on_complete()

    async def _timed(self, message: Message) -> None:
        try:
            await asyncio.wait_for(self.send(message), self.send_timeout)
        except asyncio.TimeoutError:
            self.gone = True
            raise ClientGone(f"the client read nothing of the answer for {self.send_timeout:g} s") from None

    def sink(self) -> None:
        """On the loop, once nothing more of the body will be read: take every further message.

        Until the server says the client hung up (then the answer stops), and whatever is left of a
        body that will not be read: the server hands the hang-up through the same small queue as
        the body, so a full queue nobody empties would hold the connection open for ever.
        """
        if self._sink is None:
            self._sink = _spawn(_sink(self.receive, self))

    async def finish(self) -> None:
        """On the loop, once the application is done: the end of the answer."""
        self.sink()
        if not self.gone:
            await self._timed({"type": "http.response.body", "body": b"", "more_body": False})


_background: set[asyncio.Task[None]] = set()


def _on_loop(work: Coroutine[Any, Any, _T], loop: asyncio.AbstractEventLoop) -> concurrent.futures.Future[_T]:
    """From a request thread: run ``work`` on ``loop``. When it cannot be scheduled (the loop is closed:
    a ``RuntimeError``), ``work`` is closed before the error goes on, so it is not left never awaited."""
    try:
        return asyncio.run_coroutine_threadsafe(work, loop)
    except BaseException:
        work.close()
        raise


def _spawn(work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
    """Run ``work`` on the loop, holding a reference until it ends (the loop holds only weak ones)."""
    task = asyncio.ensure_future(work)
    _background.add(task)
    task.add_done_callback(_background.discard)
    return task


async def _sink(receive: Receive, exchange: _Exchange | None = None) -> None:
    """Receive until the client's hang-up (which the server also reports once the answer has ended)."""
    with contextlib.suppress(asyncio.TimeoutError):
        while True:
            message = await asyncio.wait_for(receive(), _SINK_TIMEOUT)
            if message.get("type") != "http.request":
                if exchange is not None:
                    exchange.gone = True
                return


class StreamingWSGIBridge:
    """An ASGI application running ``app`` (WSGI) with a streaming body; see the module docstring.

    Attributes:
        inflight: requests in flight in this worker (those answered inline are not counted).
        cut: requests the server cancelled before their end (a drain timeout).
    """

    def __init__(self, app: WSGIApp, options: ServerOptions, *, inline_paths: Iterable[str] = ()) -> None:
        self.app = app
        self.options = options
        self.inline_paths = frozenset(inline_paths)
        self.inflight = 0
        self.cut = 0
        self._by_client: dict[str, int] = {}

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await _lifespan(receive, send)
            return
        if kind != "http":
            await send({"type": "websocket.close", "code": 1003})
            return
        options = self.options
        refusal = _head_too_large(scope, options.max_header_size)
        if refusal is not None:
            await _refuse(receive, send, *refusal)
            return
        if scope["path"] in self.inline_paths:
            await self._inline(scope, receive, send)
            return
        client = str((scope.get("client") or ("-",))[0])
        length = _content_length(scope)
        if length is not None and length > options.max_body_size:
            message = f"Request Entity Too Large: the body is over {options.max_body_size} bytes"
            await _refuse(receive, send, 413, message)
            return
        if options.per_client and self._by_client.get(client, 0) >= options.per_client:
            message = f"Too Many Requests: {options.per_client} requests in flight from this address"
            await _refuse(receive, send, 429, message)
            return
        if self.inflight >= options.max_inflight:
            await _refuse(receive, send, 503, "Service Unavailable: the gateway is at its limit of requests in flight")
            return
        self.inflight += 1
        self._by_client[client] = self._by_client.get(client, 0) + 1
        released = False

        def release() -> None:
            # once the client holds the whole answer (it may send its next request at once)
            nonlocal released
            if not released:
                released = True
                self.inflight -= 1
                left = self._by_client[client] - 1
                if left:
                    self._by_client[client] = left
                else:
                    del self._by_client[client]

        try:
            await self._serve(scope, receive, send, length, release)
        finally:
            release()

    async def _serve(
        self, scope: Message, receive: Receive, send: Send, length: int | None, release: Callable[[], None]
    ) -> None:
        loop = asyncio.get_running_loop()
        empty = length is None and _is_http1(scope) and _header(scope, b"transfer-encoding") is None
        body = StreamingInput(loop, receive, self.options, length=length, known_empty=empty)
        exchange = _Exchange(loop, receive, send, body, scope, on_complete=release)
        environ = _environ(scope, body)
        done: asyncio.Future[BaseException | None] = loop.create_future()
        worker = threading.Thread(target=self._run, args=(environ, exchange, done), name="gateway-request", daemon=True)
        worker.start()
        try:
            failure = await done
        except asyncio.CancelledError:
            self.cut += 1
            body.failed = body.failed or ClientGone("the server stopped before the end of the request")
            raise
        if failure is None and not body.ended and body.failed is None:
            await body.discard()  # answered early: let a client that sends its whole body first read the answer
        exchange.sink()
        release()
        if failure is None:
            with contextlib.suppress(ClientGone):  # the client went away: nothing is left to tell it
                await exchange.finish()
        elif not exchange.started:
            await self._answer_failure(send, failure, environ)
        # else the answer broke off half-way: it ends without its last block, so the server cuts the connection

    def _run(self, environ: dict[str, Any], exchange: _Exchange, done: asyncio.Future[BaseException | None]) -> None:
        """In the request thread: call the application and send its answer block by block."""
        failure: BaseException | None = None
        try:
            result = self.app(environ, exchange.start_response)
            try:
                for block in result:
                    if block:
                        exchange.write(block)
                if not exchange.started:
                    exchange.write(b"")  # an empty answer: its head still goes out
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except BaseException as exc:  # handed to the loop, which answers or cuts the connection
            failure = exc
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits for this request any more
            exchange.loop.call_soon_threadsafe(_settle, done, failure)

    async def _answer_failure(self, send: Send, failure: BaseException, environ: dict[str, Any]) -> None:
        if isinstance(failure, RequestBodyError):
            await _answer(send, failure.status, failure.message)
            return
        method, path = environ.get("REQUEST_METHOD"), environ.get("PATH_INFO")
        log.error("the application failed on %s %s: %s", method, path, type(failure).__name__)
        await _answer(send, 500, "Internal error")

    async def _inline(self, scope: Message, receive: Receive, send: Send) -> None:
        """Call the application on the loop, for a path it answers without blocking (its body is not read)."""
        answer: dict[str, Any] = {}

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], None]:
            answer["status"] = int(status.split(" ", 1)[0])
            answer["headers"] = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
            return lambda block: None

        result = self.app(_environ(scope, io.BytesIO(b"")), start_response)
        try:
            content = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        headers = answer["headers"]
        if _content_length(scope) or _header(scope, b"transfer-encoding") is not None:
            headers.append((b"connection", b"close"))
        _spawn(_sink(receive))
        await send({"type": "http.response.start", "status": answer["status"], "headers": headers})
        await send({"type": "http.response.body", "body": content, "more_body": False})


def _settle(done: asyncio.Future[BaseException | None], failure: BaseException | None) -> None:
    if not done.done():
        done.set_result(failure)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _refuse(receive: Receive, send: Send, status: int, message: str) -> None:
    """Refuse a request before reading its body: a JSON error, and the connection closed after it."""
    _spawn(_sink(receive))  # keeps the server's queue moving until it closes the connection
    await _answer(send, status, message)


async def _answer(send: Send, status: int, message: str) -> None:
    """A JSON error with ``Connection: close``."""
    content = json.dumps({"error": message}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(content)).encode()),
        (b"connection", b"close"),
    ]
    if status in (429, 503):
        headers.append((b"retry-after", b"1"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content, "more_body": False})


def _head_too_large(scope: Message, limit: int) -> tuple[int, str] | None:
    """431 (or 414) when the request line and headers are over ``limit`` bytes.

    The server's own cap (hypercorn's ``h11_max_incomplete_size``) bounds only a head still
    arriving: one that comes in a single read is parsed whatever its size, so it is measured here.
    """
    target = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"") + 1
    if target > limit:
        return 414, f"URI Too Long: the request target is over {limit} bytes"
    size = len(str(scope.get("method", ""))) + target + 11  # "GET /x HTTP/1.1\r\n"
    for name, value in scope.get("headers", ()):
        size += len(name) + len(value) + 4  # "name: value\r\n"
    if size > limit:
        return 431, f"Request Header Fields Too Large: the request head is over {limit} bytes"
    return None


def _declared_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name == b"content-length" and value.strip().isdigit():
            return int(value)
    return None


def _header(scope: Message, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value)
    return None


def _content_length(scope: Message) -> int | None:
    value = _header(scope, b"content-length")
    if value is None:
        return None
    text = value.strip()
    return int(text) if text.isdigit() else None  # the server has refused one that is not a number


def _is_http1(scope: Message) -> bool:
    return str(scope.get("http_version", "1.1")).startswith("1")


def _environ(scope: Message, body: io.IOBase) -> dict[str, Any]:
    """The PEP 3333 environ of an ASGI HTTP scope."""
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client") or ("", 0)
    query = bytes(scope.get("query_string") or b"").decode("latin-1")
    raw_path = bytes(scope.get("raw_path") or scope["path"].encode("utf-8")).decode("latin-1")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": scope.get("root_path", "").encode("utf-8").decode("latin-1"),
        "PATH_INFO": scope["path"].encode("utf-8").decode("latin-1"),
        "QUERY_STRING": query,
        "RAW_URI": raw_path + (f"?{query}" if query else ""),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1] or 80),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "REMOTE_ADDR": str(client[0]),
        "REMOTE_PORT": str(client[1]),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": body,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.input_terminated": True,
    }
    for raw_name, raw_value in scope.get("headers", ()):
        name = bytes(raw_name).decode("latin-1").upper()
        if "_" in name:
            continue  # X_Api_Key would read as X-Api-Key in the environ: dropped, as waitress and gunicorn do
        name = name.replace("-", "_")
        value = bytes(raw_value).decode("latin-1")
        key = name if name in ("CONTENT_LENGTH", "CONTENT_TYPE") else f"HTTP_{name}"
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ
