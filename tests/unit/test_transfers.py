"""The transfers in flight: one registry, owned by the translator (compat/transfers.py).

What runs for a session in this process (a PUT, a ``media_source`` job, an ``/align``) is booked in
``Translator.transfers`` and nowhere else: ``delete`` cancels it there, once; ``wait_for_transfers``
waits for it; closing a surface closes the translator without stopping it.
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fake_v3 import FakeV3
from fleet_processes import serve_held_media
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from compat import LegacyClient, UploadCancelledError, V3Client
from compat.transfers import Transfer, Transfers

TOKEN = "transfers-token-3b7e"
METADATA = {"language": "en", "document_type": "caption"}


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakeV3:
    return FakeV3(httpserver, token=TOKEN)


@pytest.fixture
def wav(tmp_path: Path) -> Path:
    path = tmp_path / "talk.wav"
    path.write_bytes(b"RIFF" + os.urandom(300 * 1024))
    return path


def legacy(fake: FakeV3, **options: Any) -> LegacyClient:
    settings: dict[str, Any] = {"chunk_size": 64 * 1024, "backoff_base": 0.001, "store": ":memory:"}
    settings.update(options)
    return LegacyClient(api_key=TOKEN, base_url=fake.base_url, **settings)


class InBackground:
    """A call run in a thread of its own; :meth:`outcome` is what it returned or raised."""

    def __init__(self, call: Callable[[], Any]) -> None:
        self._result: list[Any] = []
        self._thread = threading.Thread(target=self._run, args=(call,), daemon=True)
        self._thread.start()

    def _run(self, call: Callable[[], Any]) -> None:
        try:
            self._result.append(call())
        except BaseException as exc:
            self._result.append(exc)

    def outcome(self, timeout: float = 10) -> Any:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the call did not end"
        return self._result[0]


class Gate:
    """An ``on_progress`` that holds the upload at its first report until :meth:`open`.

    That first report (0 bytes) comes once the TUS upload is created, before the first PATCH: no
    request is open while it waits (the fake V3 serves one request at a time).
    """

    def __init__(self) -> None:
        self.reached = threading.Event()
        self._open = threading.Event()

    def __call__(self, done: int, total: int) -> None:
        if not self._open.is_set():
            self.reached.set()
            self._open.wait(10)

    def open(self) -> None:
        self._open.set()


# the registry itself -------------------------------------------------------------------------


def test_a_tracked_transfer_is_running_while_its_block_runs_and_ends_once() -> None:
    transfers = Transfers()
    with transfers.track("s1", "upload") as transfer:
        assert transfers.running("s1") and not transfers.running("s2")
        assert not transfer.ended
    assert transfer.ended and not transfers.running("s1")
    with pytest.raises(RuntimeError), transfers.track("s1", "upload"):
        raise RuntimeError("the upload failed")
    assert not transfers.running("s1") and transfers.wait(0)


def test_cancel_sets_every_transfer_of_the_session_and_only_those() -> None:
    transfers = Transfers()
    with (
        transfers.track("s1", "upload") as put,
        transfers.track("s1", "align") as align,
        transfers.track("s2", "upload") as other,
    ):
        assert transfers.cancel("s1") == 2
        assert put.cancel.is_set() and align.cancel.is_set() and not other.cancel.is_set()
        with pytest.raises(UploadCancelledError):
            put.raise_if_cancelled()
        other.raise_if_cancelled()
    assert transfers.cancel("s1") == 0


def test_a_background_job_is_the_sessions_only_transfer_and_is_waited_for() -> None:
    transfers = Transfers()
    release = threading.Event()
    seen: list[Transfer] = []

    def job(transfer: Transfer) -> None:
        seen.append(transfer)
        release.wait(10)

    assert transfers.start("s1", "media_source", job)
    assert not transfers.start("s1", "media_source", job)  # one runs already: nothing started
    assert transfers.running("s1")
    assert transfers.wait(0.05) is False
    release.set()
    assert transfers.wait(10) is True
    assert len(seen) == 1 and seen[0].ended and not transfers.running("s1")


def test_a_failing_background_job_still_ends_its_transfer_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    transfers = Transfers()

    def job(transfer: Transfer) -> None:
        raise RuntimeError("boom")

    assert transfers.start("s1", "media_source", job)
    assert transfers.wait(10) and not transfers.running("s1")
    assert "the media_source transfer for session s1 failed" in caplog.text


# the translator's transfers ------------------------------------------------------------------


def test_delete_cancels_a_put_in_flight_once_through_the_translators_registry(fake: FakeV3, wav: Path) -> None:
    client = legacy(fake)
    session_id = client.create_session("en")["result"]["session_id"]
    gate = Gate()
    put = InBackground(lambda: client.upload(session_id, wav, on_progress=gate))
    assert gate.reached.wait(10)
    # Booked once, by the translator; the V3 client has nothing of its own to cancel.
    assert client.translator.transfers.running(session_id)
    assert not client.v3.is_uploading(session_id)
    assert client.delete(session_id)["result"]["status"] == "deleted"
    gate.open()
    assert isinstance(put.outcome(), UploadCancelledError)
    assert fake.count("DELETE", "tus-delete") == 1  # terminated on the server
    assert fake.uploads == {}
    assert not client.translator.transfers.running(session_id)


def test_delete_cancels_an_align_in_flight(fake: FakeV3, wav: Path) -> None:
    client = legacy(fake)
    session_id = client.create_session("en")["result"]["session_id"]
    gate = Gate()
    transcript = io.BytesIO(b"hello world\n")
    original = client.v3.with_token

    def with_token(token: str) -> V3Client:  # hold the align's media upload after its first chunk
        view = original(token)
        upload = view.upload

        def held(file: Any, metadata: Any, on_progress: Any = None, **kwargs: Any) -> Any:
            return upload(file, metadata, gate, **kwargs)

        view.upload = held  # type: ignore[method-assign]
        return view

    client.v3.with_token = with_token  # type: ignore[method-assign]
    align = InBackground(lambda: client.align(session_id, wav, transcript))
    assert gate.reached.wait(10)
    assert client.translator.transfers.running(session_id)
    client.delete(session_id)
    gate.open()
    assert isinstance(align.outcome(), UploadCancelledError)
    assert fake.uploads == {}  # the media upload terminated, the transcript never started
    assert fake.count("POST", "tus-create") == 1


def test_delete_stops_a_background_media_source_job_still_fetching(fake: FakeV3, media_server: HTTPServer) -> None:
    fetching = threading.Event()
    release = threading.Event()

    def slow(request: Request) -> Response:
        fetching.set()
        release.wait(10)
        return Response(os.urandom(50_000), content_type="audio/mpeg")

    media_server.expect_request("/slow.mp3").respond_with_handler(slow)
    client = legacy(fake, allow_private_media=True, media_source_mode="background")
    answer = client.create_session("en", media_source=media_server.url_for("/slow.mp3"))
    session_id = answer["result"]["session_id"]
    assert fetching.wait(10)
    client.delete(session_id)
    release.set()
    assert client.translator.wait_for_transfers(10)
    assert fake.count("POST", "tus-create") == 0  # nothing went up for the deleted session
    assert fake.uploads == {}


def test_wait_for_transfers_waits_for_a_put_in_flight_too(fake: FakeV3, wav: Path) -> None:
    client = legacy(fake)
    session_id = client.create_session("en")["result"]["session_id"]
    gate = Gate()
    put = InBackground(lambda: client.upload(session_id, wav, on_progress=gate))
    assert gate.reached.wait(10)
    assert client.translator.wait_for_transfers(0.05) is False
    gate.open()
    assert client.translator.wait_for_transfers(10) is True
    assert put.outcome()["result"]["status"] == "uploaded"


def test_closing_the_client_closes_the_translator_and_leaves_a_transfer_to_finish(
    fake: FakeV3, media_server: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    release, data = serve_held_media(media_server, "/slow.mp3", hold=10)
    client = legacy(fake, allow_private_media=True, media_source_mode="background")
    closed: list[str] = []
    close = client.translator.close
    monkeypatch.setattr(client.translator, "close", lambda: (closed.append("translator"), close()))
    session_id = client.create_session("en", media_source=media_server.url_for("/slow.mp3"))["result"]["session_id"]
    client.close()
    assert closed == ["translator"]
    assert client.translator.transfers.running(session_id)  # not killed by close
    release.set()
    assert client.translator.wait_for_transfers(10)
    assert bytes(fake.only_upload().data) == data


def test_the_gateway_and_install_close_their_translator(
    fake: FakeV3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from compat import install
    from compat.gateway.app import GatewayApp
    from compat.translate import Translator

    closed: list[Translator] = []
    close = Translator.close

    def spy(self: Translator) -> None:
        closed.append(self)
        close(self)

    monkeypatch.setattr(Translator, "close", spy)
    app = GatewayApp(fake.base_url, store=tmp_path / "gw.sqlite3")
    app.close()
    assert closed == [app.translator]
    handle = install(base_url=fake.base_url, store=":memory:")
    translator = handle.translator
    handle.uninstall()
    assert closed == [app.translator, translator]


# V3Client: its own uploads only ------------------------------------------------------------------


def test_v3client_books_only_the_uploads_it_made_the_cancel_event_for(fake: FakeV3) -> None:
    payload = os.urandom(300 * 1024)
    with V3Client(api_key=TOKEN, base_url=fake.base_url, chunk_size=64 * 1024, store=":memory:") as client:
        session_id = client.create_session(language="en").session_id
        metadata = {**METADATA, "session_id": session_id}
        for own_event in (True, False):
            gate = Gate()
            cancel = threading.Event() if own_event else None
            upload = InBackground(
                lambda gate=gate, cancel=cancel: client.upload(io.BytesIO(payload), metadata, gate, cancel=cancel)
            )
            assert gate.reached.wait(10)
            if own_event:  # the caller holds the event: it owns the cancellation, the client books nothing
                assert not client.is_uploading(session_id)
                assert client.cancel_upload(session_id) is False
                assert cancel is not None
                cancel.set()
            else:  # booked under its session id, as before
                assert client.is_uploading(session_id)
                assert client.cancel_upload(session_id) is True
            gate.open()
            assert isinstance(upload.outcome(), UploadCancelledError)
            assert not client.is_uploading(session_id)  # nothing left booked either way
