"""The streaming bridge's ``wsgi.input`` and environ, and the gateway server's options, on their own.

``StreamingInput`` is read from a thread while an event loop (in another thread) plays the server's
side: a scripted ``receive()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sys
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from compat.errors import ConfigurationError
from compat.gateway.bridge import StreamingInput, _environ, _Exchange
from compat.gateway.http import BodyTimeout, BodyTooLarge, ClientGone
from compat.gateway.server import hypercorn_config, raise_fd_limit
from compat.gateway.server_options import ServerOptions, split_server_options


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


class Script:
    """``receive()`` answering the given messages in order; ``None`` means never answer."""

    def __init__(self, *messages: dict[str, Any] | None) -> None:
        self.messages = list(messages)
        self.calls = 0

    async def __call__(self) -> dict[str, Any]:
        self.calls += 1
        message = self.messages.pop(0) if self.messages else None
        if message is None:
            await asyncio.sleep(3600)
        assert message is not None
        return message


def body(data: bytes, more: bool = True) -> dict[str, Any]:
    return {"type": "http.request", "body": data, "more_body": more}


def stream(
    loop: asyncio.AbstractEventLoop, script: Script, length: int | None = None, **options: Any
) -> StreamingInput:
    return StreamingInput(loop, script, ServerOptions(**options), length=length)


def test_reads_hand_on_the_servers_blocks_never_more_than_asked_and_end_with_empty(
    loop: asyncio.AbstractEventLoop,
) -> None:
    source = stream(loop, Script(body(b"abc"), body(b"defgh"), body(b"ij"), body(b"k", more=False)))
    assert source.read(4) == b"abc"  # a whole block that fits, as it came
    assert source.read(3) == b"def"  # part of one
    assert source.read(100) == b"gh"  # the rest of that one
    assert source.read(100) == b"ijk"  # whole blocks that fit, together
    assert source.read(10) == b""
    assert source.ended and source.received == 11


def test_a_body_that_ends_without_bytes_reads_empty(loop: asyncio.AbstractEventLoop) -> None:
    source = stream(loop, Script(body(b"", more=False)))
    assert source.read(10) == b""
    assert source.ended and source.readline() == b""


def test_readline_and_iteration_cross_blocks(loop: asyncio.AbstractEventLoop) -> None:
    source = stream(loop, Script(body(b"one\ntw"), body(b"o\nthr"), body(b"ee", more=False)))
    assert source.readline() == b"one\n"
    assert list(source) == [b"two\n", b"three"]


def test_a_body_of_known_length_ends_with_its_last_byte(loop: asyncio.AbstractEventLoop) -> None:
    script = Script(body(b"12345"), None)  # the end-of-body message is not needed
    source = stream(loop, script, length=5)
    assert source.read(10) == b"12345"
    assert source.ended
    assert source.read(10) == b"" and script.calls == 1


def test_a_chunked_body_past_the_size_limit_raises_413(loop: asyncio.AbstractEventLoop) -> None:
    source = stream(loop, Script(body(b"x" * 6), body(b"x" * 6)), max_body_size=10)
    with pytest.raises(BodyTooLarge) as failed:
        source.read(100)
    assert failed.value.status == 413
    with pytest.raises(BodyTooLarge):  # and it stays failed
        source.read(1)


def test_a_client_that_hangs_up_raises_client_gone(loop: asyncio.AbstractEventLoop) -> None:
    source = stream(loop, Script(body(b"abc"), {"type": "http.disconnect"}))
    with pytest.raises(ClientGone):
        source.read(10)


def test_no_body_bytes_for_the_idle_timeout_raises_408(loop: asyncio.AbstractEventLoop) -> None:
    source = stream(loop, Script(body(b"abc"), None), body_idle_timeout=0.2, min_body_rate=0)
    with pytest.raises(BodyTimeout) as failed:
        source.read(10)
    assert failed.value.status == 408 and "no body bytes for 0.2 s" in failed.value.message


def test_a_trickle_is_judged_against_the_minimum_rate_once_the_grace_has_passed(
    loop: asyncio.AbstractEventLoop,
) -> None:
    async def trickle() -> dict[str, Any]:
        await asyncio.sleep(0.05)
        return body(b"x")

    source = StreamingInput(
        loop, trickle, ServerOptions(min_body_rate=1000.0, min_rate_grace=0.5, body_idle_timeout=60)
    )
    with pytest.raises(BodyTimeout) as failed:
        while source.read(1):
            pass
    assert "slower than 1000 bytes/s" in failed.value.message
    assert 0.4 <= source.waited <= 2.0  # cut once the grace was spent waiting, not after the idle timeout


def test_the_environ_drops_header_names_with_an_underscore_and_joins_repeated_ones() -> None:
    scope = {
        "type": "http",
        "method": "PUT",
        "path": "/a b",
        "raw_path": b"/a%20b",
        "query_string": b"x=1",
        "headers": [(b"x-zoom-s2t-key", b"t1"), (b"x_zoom_s2t_key", b"t2"), (b"accept", b"a"), (b"accept", b"b")],
        "client": ("127.0.0.2", 5000),
        "server": ("127.0.0.1", 80),
        "http_version": "1.1",
    }
    environ = _environ(scope, None)  # type: ignore[arg-type]
    assert environ["HTTP_X_ZOOM_S2T_KEY"] == "t1"
    assert environ["HTTP_ACCEPT"] == "a,b"
    assert environ["RAW_URI"] == "/a%20b?x=1" and environ["PATH_INFO"] == "/a b"
    assert environ["REMOTE_ADDR"] == "127.0.0.2" and environ["wsgi.input_terminated"] is True


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("workers", 0),
        ("header_timeout", 0),
        ("body_idle_timeout", -1.0),
        ("max_inflight", 0),
        ("per_client", -1),
        ("min_body_rate", float("nan")),
        ("backlog", True),
        ("max_body_size", 1.5),
    ],
)
def test_bad_server_options_are_refused_naming_the_option(name: str, value: Any) -> None:
    with pytest.raises(ConfigurationError) as refused:
        ServerOptions(**{name: value})
    assert refused.value.option == name


def test_the_waitress_keywords_still_mean_what_they_meant() -> None:
    server, app = split_server_options({"max_request_body_size": 5, "channel_timeout": 7.0, "timeout": 3})
    assert app == {"timeout": 3}
    options = ServerOptions().with_overrides(**server)
    assert options.max_body_size == 5 and options.header_timeout == 7.0


def test_hypercorn_is_configured_from_the_options() -> None:
    options = ServerOptions(header_timeout=3.0, max_header_size=4096, drain_timeout=9.0, backlog=77)
    config = hypercorn_config(options, 5)
    assert config.bind == ["fd://5"]
    assert (config.keep_alive_timeout, config.h11_max_incomplete_size, config.graceful_timeout) == (3.0, 4096, 9.0)
    assert config.backlog == 77 and config.read_timeout is None


def test_the_open_file_limit_is_raised_to_the_hard_limit() -> None:
    resource = pytest.importorskip("resource")
    assert raise_fd_limit() == resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY:
        assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == hard


# a closed loop: no coroutine left never awaited ---------------------------------------------------


@contextlib.contextmanager
def unraisable() -> Iterator[list[Any]]:
    """Warnings as errors; what a finaliser raised (a "coroutine ... was never awaited" among them)."""
    caught: list[Any] = []
    hook = sys.unraisablehook
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sys.unraisablehook = caught.append
        try:
            yield caught
            gc.collect()
        finally:
            sys.unraisablehook = hook


@pytest.fixture
def closed_loop() -> asyncio.AbstractEventLoop:
    loop = asyncio.new_event_loop()
    loop.close()
    return loop


@pytest.mark.filterwarnings("error")
def test_an_answer_written_after_the_loop_closed_leaves_no_coroutine_unawaited(
    closed_loop: asyncio.AbstractEventLoop,
) -> None:
    scope = {"type": "http", "http_version": "1.1", "headers": []}
    with unraisable() as caught:
        exchange = _Exchange(
            closed_loop, Script(), Script(), stream(closed_loop, Script()), scope, on_complete=lambda: None
        )
        write = exchange.start_response("200 OK", [("Content-Type", "text/plain")])
        with pytest.raises(ClientGone, match="the server stopped while answering"):
            write(b"an answer")
        del exchange, write
    assert [str(hook.exc_value) for hook in caught] == []


@pytest.mark.filterwarnings("error")
def test_a_body_read_after_the_loop_closed_leaves_no_coroutine_unawaited(
    closed_loop: asyncio.AbstractEventLoop,
) -> None:
    with unraisable() as caught:
        source = stream(closed_loop, Script(body(b"never read")))
        with pytest.raises(ClientGone, match="the server stopped before the end of the body"):
            source.read(10)
        del source  # it keeps its failure, whose context held the coroutine
    assert [str(hook.exc_value) for hook in caught] == []
