"""5xx storms on every step of a V1 flow (create, TUS creation, PATCH, HEAD, result, delete).

A storm is a burst of 500/502/503/504 answers on one step of the scripted fake. The expected
outcome follows the retry rules of :mod:`compat.v3.transport` and of the uploader, computed here by
:func:`expected_failure`: a POST is repeated only after 503 (the server says it did not act); GET,
HEAD and DELETE are repeated after any 5xx; PATCH and HEAD inside an upload count against
``max_retries`` until the offset moves. Either the flow succeeds with one session, one upload and
identical bytes, or it stops with the typed error of the failing status; a stopped upload resumes
on a rerun (same store, new client) without a second upload.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import pytest
from fake_v3 import FakeV3
from full_matrix import is_full
from rel_helpers import METHODS, RETRIES, bounded, legacy, run_flow

from compat import APIStatusError, ServerError, ServiceUnavailableError, UploadError

POSTS = {"session-create", "tus-create"}
STATUSES = (500, 502, 503, 504)


@dataclass(frozen=True)
class Storm:
    route: str
    statuses: tuple[int, ...]

    @property
    def id(self) -> str:
        return f"{METHODS[self.route]}-{self.route}-{'.'.join(map(str, self.statuses))}"


def storms(full: bool) -> list[Storm]:
    if full:
        return [
            Storm(route, (status,) * count)
            for route in METHODS
            for status in STATUSES
            for count in (1, RETRIES, RETRIES + 1)
        ]
    mixed = tuple(itertools.islice(itertools.cycle(STATUSES), RETRIES))
    return [
        *(Storm(route, (503,) * RETRIES if route in POSTS else mixed) for route in METHODS if route != "tus-head"),
        Storm("tus-head", mixed[: RETRIES - 1]),  # the cut PATCH before it is one failure too
        Storm("session-create", (502,)),
        Storm("tus-create", (504,)),
        Storm("tus-upload", (*mixed, 500)),  # longer than max_retries
        Storm("tus-head", (503,) * RETRIES),
    ]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "storm" in metafunc.fixturenames:
        chosen = storms(is_full(metafunc.config))
        metafunc.parametrize("storm", chosen, ids=[s.id for s in chosen])


def expected_failure(storm: Storm) -> int | None:
    """The status the flow stops with, or None when the storm is ridden out."""
    if storm.route in ("tus-upload", "tus-head"):
        failures = len(storm.statuses) + (1 if storm.route == "tus-head" else 0)
        return storm.statuses[RETRIES - failures] if failures > RETRIES else None
    idempotent = storm.route not in POSTS
    for attempt, status in enumerate(storm.statuses, start=1):
        if not (status == 503 or idempotent) or attempt > RETRIES:
            return status
    return None


def answers_used(storm: Storm) -> int:
    """How many of the storm's answers the flow receives before it rides the storm out or stops."""
    for used in range(1, len(storm.statuses) + 1):
        if expected_failure(Storm(storm.route, storm.statuses[:used])) is not None:
            return used
    return len(storm.statuses)


def test_a_storm_on_one_step_is_ridden_out_or_ends_in_its_typed_error(
    fake: FakeV3, tmp_path: Path, source: tuple[Path, bytes], storm: Storm
) -> None:
    path, data = source
    store = tmp_path / "state.sqlite3"
    method = METHODS[storm.route]
    if storm.route == "tus-head":
        fake.fail("PATCH", "tus-upload", "pass", "drop")  # a HEAD is asked after a failed PATCH
    fake.fail(method, storm.route, *storm.statuses)
    answers, error, _ = bounded(30, lambda: run_flow(fake, store, path))
    failing = expected_failure(storm)
    assert len(storm.statuses) - len(fake.faults[(method, storm.route)]) == answers_used(storm)
    fake.faults.clear()  # what is left of the storm is over
    if failing is None:
        assert error is None, repr(error)
        assert answers is not None and answers["upload"]["result"]["status"] == "uploaded"
        assert answers["delete"]["result"]["status"] == "deleted"
        assert len(fake.sessions) == 1
        assert bytes(fake.only_upload().data) == data  # one upload, identical bytes
        return
    assert isinstance(error, APIStatusError | UploadError), repr(error)
    assert error.status_code == failing
    assert isinstance(error.body, dict) and isinstance(error.body["error"], str)
    if storm.route in ("tus-upload", "tus-head"):
        assert isinstance(error, UploadError)
        assert "run the same upload again to resume" in str(error) and error.upload_url
        assert_rerun_resumes(fake, store, path, data)
    else:
        assert isinstance(error, ServiceUnavailableError if failing == 503 else ServerError)
        assert_nothing_was_acted_on_twice(fake, storm, store, path, data)


def assert_rerun_resumes(fake: FakeV3, store: Path, path: Path, data: bytes) -> None:
    """A new client on the same store finishes the same upload: no second upload, no byte twice."""
    session_id = next(iter(fake.sessions))
    kept = len(fake.only_upload().data)
    sent_before = sum(size for method, _, size in fake.requests if method == "PATCH")
    client = legacy(fake.base_url, store, max_retries=RETRIES)
    answer, error, _ = bounded(30, lambda: client.upload(session_id, path))
    assert error is None, repr(error)
    assert answer is not None and answer["result"]["status"] == "uploaded"
    assert fake.count("POST", "tus-create") == 1
    assert bytes(fake.only_upload().data) == data
    assert sum(size for method, _, size in fake.requests if method == "PATCH") - sent_before == len(data) - kept
    assert client.v3.store.pending_uploads() == []


def assert_nothing_was_acted_on_twice(fake: FakeV3, storm: Storm, store: Path, path: Path, data: bytes) -> None:
    """The step that gave up did nothing upstream; doing it again does it once."""
    if storm.route == "session-create":
        assert fake.sessions == {}
        _, error, _ = bounded(30, lambda: run_flow(fake, store, path))
        assert error is None, repr(error)
        assert len(fake.sessions) == 1
        return
    [session_id] = fake.sessions
    client = legacy(fake.base_url, store, max_retries=RETRIES)
    if storm.route == "tus-create":
        assert fake.uploads == {}
        assert client.upload(session_id, path)["result"]["status"] == "uploaded"
        assert fake.count("POST", "tus-create") == answers_used(storm) + 1
    elif storm.route == "result":
        assert client.get_result(session_id)["result"]["session_id"] == session_id
    else:
        assert not fake.sessions[session_id].deleted
        assert client.delete(session_id)["result"]["status"] == "deleted"
    assert bytes(fake.only_upload().data) == data
    assert len(fake.sessions) == 1
