"""Worker processes (issue 12, item 5): ``--workers N`` forks N processes on one listening socket.

Both serve; the store's claim keeps one upload per session whichever worker each PUT lands on; a
worker that dies is replaced; killing the supervisor takes its workers with it; SIGTERM lets work in
flight finish (and cuts it at the drain timeout); ``:memory:`` cannot be shared, so it is refused.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from fake_v3 import FakeV3
from gateway_helpers import SESSIONS, TOKEN, GatewayProcess, wait_until

from compat import SQLiteStore
from compat.cli import EXIT_USAGE, main
from compat.errors import ConfigurationError
from compat.gateway import GatewayServer, serve

AUTH = {"x-zoom-s2t-key": TOKEN}
MEDIA = {**AUTH, "Content-Type": "audio/wav", "x-filename": "talk.wav"}


def workers_of(gateway: GatewayProcess) -> list[int]:
    return [int(pid) for pid in re.findall(r"worker \d+ started \(pid (\d+)\)", gateway.log())]


def pids_serving(gateway: GatewayProcess, what: str) -> set[int]:
    """The processes whose access log has a line containing ``what``."""
    pattern = re.compile(r"compat\.gateway\.access\[(\d+)\] INFO (.*)")
    return {int(found.group(1)) for line in gateway.lines if (found := pattern.search(line)) and what in found.group(2)}


@pytest.mark.parametrize("store", [":memory:", "object"])
def test_more_than_one_worker_needs_a_store_every_process_opens_itself(store: str, tmp_path: Path) -> None:
    shared: Any = SQLiteStore(tmp_path / "s.sqlite3") if store == "object" else store
    try:
        with pytest.raises(ConfigurationError) as refused:
            serve("http://127.0.0.1:9", store=shared, workers=2, port=0)
    finally:
        if store == "object":
            shared.close()
    assert refused.value.option == "workers"


def test_the_cli_refuses_workers_with_a_memory_store(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["gateway", "--listen", "127.0.0.1:0", "--upstream", "http://127.0.0.1:9", "--store", ":memory:"]
    assert main([*args, "--workers", "2"]) == EXIT_USAGE
    assert "workers" in capsys.readouterr().err


def test_two_workers_both_serve_from_one_socket(fake: FakeV3, tmp_path: Path) -> None:
    gateway = GatewayProcess(fake.base_url, tmp_path / "s.sqlite3", "--workers", "2")
    try:
        wait_until(lambda: len(workers_of(gateway)) == 2, timeout=20)

        def health(_: int) -> int:
            return requests.get(f"{gateway.url}/_gateway/health", timeout=10).status_code

        for _ in range(5):  # each connection goes to whichever worker accepts it first
            with ThreadPoolExecutor(8) as pool:
                assert set(pool.map(health, range(40))) == {200}
            if len(pids_serving(gateway, "/_gateway/health")) == 2:
                break
        assert pids_serving(gateway, "/_gateway/health") == set(workers_of(gateway)), gateway.log()
    finally:
        gateway.terminate()
        assert gateway.wait() == 0


def test_one_upload_per_session_whichever_worker_each_put_reaches(fake: FakeV3, tmp_path: Path) -> None:
    gateway = GatewayProcess(fake.base_url, tmp_path / "s.sqlite3", "--workers", "2")
    data = b"RIFF" + os.urandom(1024 * 1024)
    try:
        wait_until(lambda: len(workers_of(gateway)) == 2, timeout=20)
        for _ in range(4):
            session_id = requests.post(gateway.url + SESSIONS, json={"language": "en"}, headers=AUTH).json()["result"][
                "session_id"
            ]

            def put(_: int, session_id: str = session_id) -> requests.Response:
                return requests.put(f"{gateway.url}{SESSIONS}/{session_id}", data=data, headers=MEDIA, timeout=60)

            with ThreadPoolExecutor(6) as pool:
                answers = list(pool.map(put, range(6)))
            statuses = sorted(answer.status_code for answer in answers)
            assert statuses.count(200) == 1 and all(400 <= s < 500 for s in statuses if s != 200), statuses
            wait_until(lambda session_id=session_id: len(pids_serving(gateway, f"PUT {SESSIONS}/{session_id}")) >= 1)
            if len(pids_serving(gateway, f"PUT {SESSIONS}/{session_id}")) == 2:
                break  # the PUTs of this session were served by both workers
        assert len(pids_serving(gateway, f'"PUT {SESSIONS}/')) == 2, gateway.log()
    finally:
        gateway.terminate()
        assert gateway.wait() == 0
    for upload in fake.uploads.values():
        assert bytes(upload.data) == data
    assert len({upload.session_id for upload in fake.uploads.values()}) == len(fake.uploads)


def test_a_worker_that_dies_is_replaced(fake: FakeV3, tmp_path: Path) -> None:
    gateway = GatewayProcess(fake.base_url, tmp_path / "s.sqlite3", "--workers", "2")
    try:
        wait_until(lambda: len(workers_of(gateway)) == 2, timeout=20)
        os.kill(workers_of(gateway)[0], signal.SIGKILL)
        wait_until(lambda: len(workers_of(gateway)) == 3, timeout=20)
        assert "exited on its own" in gateway.log()
        for _ in range(10):
            assert requests.get(f"{gateway.url}/_gateway/health", timeout=10).status_code == 200
    finally:
        gateway.terminate()
        assert gateway.wait() == 0


def test_killing_the_supervisor_takes_its_workers_with_it(fake: FakeV3, tmp_path: Path) -> None:
    gateway = GatewayProcess(fake.base_url, tmp_path / "s.sqlite3", "--workers", "2")
    wait_until(lambda: len(workers_of(gateway)) == 2, timeout=20)
    children = workers_of(gateway)
    gateway.kill()  # SIGKILL: the supervisor cannot tell anyone
    assert gateway.refuses_connections(within=10)

    def gone(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return Path(f"/proc/{pid}/status").read_text().find("State:\tZ") >= 0  # a zombie awaiting init

    wait_until(lambda: all(gone(pid) for pid in children), timeout=10)


class _HalfThenWait:
    """A request body that stops at half way until ``go_on`` is set."""

    def __init__(self, data: bytes, halfway: threading.Event, go_on: threading.Event) -> None:
        self._data, self._position, self._halfway, self._go_on = data, 0, halfway, go_on

    def __len__(self) -> int:
        return len(self._data)

    def read(self, size: int = -1) -> bytes:
        if self._position >= len(self._data) // 2 and not self._go_on.is_set():
            self._halfway.set()
            self._go_on.wait(30)
        block = self._data[self._position : self._position + (size if size > 0 else len(self._data))]
        self._position += len(block)
        return block


def start_put(gateway: GatewayProcess, data: bytes, go_on: threading.Event) -> tuple[threading.Thread, dict[str, Any]]:
    session_id = requests.post(gateway.url + SESSIONS, json={"language": "en"}, headers=AUTH).json()["result"][
        "session_id"
    ]
    halfway, answer = threading.Event(), {}

    def put() -> None:
        try:
            answer["response"] = requests.put(
                f"{gateway.url}{SESSIONS}/{session_id}",
                data=_HalfThenWait(data, halfway, go_on),
                headers=MEDIA,
                timeout=60,
            )
        except requests.RequestException as exc:
            answer["error"] = exc

    client = threading.Thread(target=put)
    client.start()
    assert halfway.wait(15)
    time.sleep(0.3)  # the first half is in the gateway
    return client, answer


def test_sigterm_to_two_workers_lets_a_put_in_flight_finish_then_exits_0(fake: FakeV3, tmp_path: Path) -> None:
    gateway = GatewayProcess(fake.base_url, tmp_path / "s.sqlite3", "--workers", "2", "--drain-timeout", "30")
    data = os.urandom(4 * 1024 * 1024)
    go_on = threading.Event()
    try:
        wait_until(lambda: len(workers_of(gateway)) == 2, timeout=20)
        client, answer = start_put(gateway, data, go_on)
        gateway.terminate()
        assert gateway.refuses_connections()
        assert gateway.process.poll() is None
        go_on.set()
        client.join(60)
        assert answer["response"].status_code == 200, answer
        assert gateway.wait(30) == 0
    finally:
        go_on.set()
        gateway.kill()
    assert bytes(fake.only_upload().data) == data
    assert "SIGTERM: stopping gracefully" in gateway.log()


def test_the_drain_timeout_cuts_what_is_still_in_flight(fake: FakeV3, tmp_path: Path) -> None:
    gateway = GatewayProcess(fake.base_url, tmp_path / "s.sqlite3", "--workers", "2", "--drain-timeout", "1")
    go_on = threading.Event()
    try:
        wait_until(lambda: len(workers_of(gateway)) == 2, timeout=20)
        client, answer = start_put(gateway, os.urandom(1024 * 1024), go_on)
        stopped = time.monotonic()
        gateway.terminate()
        assert gateway.wait(15) == 0  # the supervisor itself ends normally
        assert time.monotonic() - stopped < 8
        go_on.set()
        client.join(30)
    finally:
        go_on.set()
        gateway.kill()
    assert "cut off by the drain timeout" in gateway.log()
    assert "error" in answer or answer["response"].status_code >= 400


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_second_signal_stops_at_once(fake: FakeV3, tmp_path: Path, workers: str) -> None:
    gateway = GatewayProcess(fake.base_url, tmp_path / "s.sqlite3", "--workers", workers, "--drain-timeout", "60")
    go_on = threading.Event()
    try:
        if workers == "2":
            wait_until(lambda: len(workers_of(gateway)) == 2, timeout=20)
        client, _ = start_put(gateway, os.urandom(1024 * 1024), go_on)
        gateway.terminate()
        assert gateway.refuses_connections()
        time.sleep(0.3)
        assert client.is_alive()
        assert gateway.process.poll() is None  # draining: the PUT is still in flight
        stopped = time.monotonic()
        gateway.terminate()
        gateway.wait(15)
        assert time.monotonic() - stopped < 10  # not the 60 s drain
    finally:
        go_on.set()
        gateway.kill()
    assert "second signal" in gateway.log()


def test_gateway_server_stop_is_bounded_by_the_drain_timeout(fake: FakeV3, tmp_path: Path) -> None:
    """In this process too (on Python 3.12+ hypercorn first waits for every connection without a bound)."""
    gateway = GatewayServer(fake.base_url, store=tmp_path / "s.sqlite3", drain_timeout=1.0).start()
    session_id = requests.post(gateway.url + SESSIONS, json={"language": "en"}, headers=AUTH).json()["result"][
        "session_id"
    ]
    host, port = gateway.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as stalled:
        stalled.sendall(
            f"PUT {SESSIONS}/{session_id} HTTP/1.1\r\nHost: gw\r\nx-zoom-s2t-key: {TOKEN}\r\n"
            "Content-Type: audio/wav\r\nx-filename: a.wav\r\nContent-Length: 1000000\r\n\r\n".encode()
            + b"x" * 500_000
        )
        wait_until(lambda: gateway.bridge.inflight == 1)
        started = time.monotonic()
        gateway.stop()
        assert time.monotonic() - started < 5
    assert gateway.clean is False
