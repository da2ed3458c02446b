"""compat.telemetry (the core's events for metrics) and the readiness probe's caching, in isolation."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from compat import telemetry
from compat.gateway.readiness import NotReady, Probe
from compat.transfers import Transfers


class Recorder(telemetry.Sink):
    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    def transfer_started(self, kind: telemetry.TransferKind) -> None:
        self.events.append(("started", kind))

    def transfer_ended(self, kind: telemetry.TransferKind) -> None:
        self.events.append(("ended", kind))


class Broken(telemetry.Sink):
    def transfer_started(self, kind: telemetry.TransferKind) -> None:
        raise RuntimeError("a sink that fails")


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    sink, broken = Recorder(), Broken()
    telemetry.add_sink(broken)
    telemetry.add_sink(sink)
    telemetry.add_sink(sink)  # once, however often it is added
    try:
        yield sink
    finally:
        telemetry.remove_sink(sink)
        telemetry.remove_sink(broken)


def test_transfers_report_each_start_and_end_once_and_a_failing_sink_breaks_nothing(recorder: Recorder) -> None:
    transfers = Transfers()
    with transfers.track("s1", "upload"):
        assert recorder.events == [("started", "upload")]
    done = threading.Event()
    assert transfers.start("s2", "media_source", lambda transfer: done.set())
    assert transfers.wait(5) and done.is_set()
    assert recorder.events == [
        ("started", "upload"),
        ("ended", "upload"),
        ("started", "media_source"),
        ("ended", "media_source"),
    ]
    assert telemetry.sinks().count(recorder) == 1


def test_a_probe_runs_once_per_ttl_and_reports_what_failed_without_hanging() -> None:
    now = [0.0]
    runs: list[int] = []
    release = threading.Event()

    def check() -> str:
        runs.append(1)
        if len(runs) == 2:
            release.wait(5)
            raise NotReady("the thing is away")
        return "fine"

    probe = Probe("thing", check, ttl=1.0, timeout=0.2, clock=lambda: now[0])
    assert probe.result().ok and probe.result().detail == "fine"
    assert len(runs) == 1  # fresh: not run again
    now[0] = 1.5
    slow = probe.result()  # runs again, does not answer in time
    assert (slow.ok, slow.detail) == (False, "no answer within 0.2 s")
    assert probe.result().detail == "no answer within 0.2 s"
    assert len(runs) == 2  # the run under way is waited for, not started twice
    release.set()
    for _ in range(50):
        found = probe.result()
        if found.detail != "no answer within 0.2 s":
            break
    assert (found.ok, found.detail) == (False, "the thing is away")
