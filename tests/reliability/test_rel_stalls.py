"""A server that accepts a request and never answers it: during creation, PATCH and HEAD.

The emulator's ``stall`` fault holds a chosen request (much longer than the shim's read timeout),
then closes it unanswered; :class:`rel_helpers.StallPlan` picks which requests. The shim must give
up on each stalled request after its timeout, never repeat a creation that may have happened,
ride out a stall where the protocol lets it resume, and otherwise stop in bounded time with a typed
error from which a rerun resumes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_v3 import FakeV3
from rel_helpers import StallPlan, assert_one_complete_upload, bounded, legacy

from compat import APITimeoutError, LegacyClient, UploadError
from compat.emulator import Emulator

TIMEOUT = 0.3
RETRIES = 2
STALL = 5.0  # far beyond the shim's patience; the emulator closes the request afterwards
SESSIONS = "/api/v3/speech-to-text/session"
FILES = "/api/v3/files"


@pytest.fixture
def plan(emu: Emulator) -> Iterator[StallPlan]:
    stalls = StallPlan(emu, seconds=STALL)
    yield stalls
    stalls.stop()


def patient(emu: Emulator, store: Path) -> LegacyClient:
    return legacy(emu.url, store, timeout=TIMEOUT, max_retries=RETRIES)


def test_a_stalled_session_creation_is_a_timeout_and_is_not_repeated(
    emu: Emulator, plan: StallPlan, tmp_path: Path
) -> None:
    plan.add("POST", prefix=SESSIONS)
    client = patient(emu, tmp_path / "s.sqlite3")
    _, error, elapsed = bounded(10, lambda: client.create_session("en"))
    assert isinstance(error, APITimeoutError) and error.status_code is None, repr(error)
    assert elapsed < 2 * TIMEOUT + 0.5  # one attempt: a POST that may have been acted on is not repeated
    assert plan.seen("POST", SESSIONS) == 1
    assert emu.sessions == {}
    plan.stop()
    assert client.create_session("en")["result"]["status"] == "new"  # the caller's retry makes one session
    assert len(emu.sessions) == 1


def test_a_stalled_tus_creation_is_a_timeout_then_a_rerun_makes_one_upload(
    emu: Emulator, plan: StallPlan, tmp_path: Path, source: tuple[Path, bytes]
) -> None:
    path, data = source
    client = patient(emu, tmp_path / "s.sqlite3")
    session_id = client.create_session("en")["result"]["session_id"]
    plan.add("POST", prefix=FILES)
    _, error, elapsed = bounded(10, lambda: client.upload(session_id, path))
    assert isinstance(error, APITimeoutError), repr(error)
    assert elapsed < 2 * TIMEOUT + 0.5
    assert plan.seen("POST", FILES) == 1 and emu.uploads == {}
    assert client.get_result(session_id)["result"]["status"] == "new"  # nothing half-started is reported
    plan.stop()
    assert client.upload(session_id, path)["result"]["status"] == "uploaded"
    assert_one_complete_upload(emu, session_id, data)


@pytest.mark.parametrize(
    "stalls",
    [[("PATCH", 2)], [("PATCH", 2), ("HEAD", 1)], [("PATCH", 1), ("PATCH", 4), ("HEAD", 2)]],
    ids=["one-patch", "patch-then-its-head", "several"],
)
def test_stalled_patches_and_heads_are_ridden_out(
    emu: Emulator, plan: StallPlan, tmp_path: Path, source: tuple[Path, bytes], stalls: list[tuple[str, int]]
) -> None:
    path, data = source
    client = patient(emu, tmp_path / "s.sqlite3")
    session_id = client.create_session("en")["result"]["session_id"]
    for method, nth in stalls:
        plan.add(method, prefix=FILES, nth=nth)
    answer, error, elapsed = bounded(20, lambda: client.upload(session_id, path))
    assert error is None, repr(error)
    assert answer is not None and answer["result"]["status"] == "uploaded"
    assert len(plan.stalled) == len(stalls)
    assert len(stalls) * TIMEOUT <= elapsed < len(stalls) * TIMEOUT + 3
    assert_one_complete_upload(emu, session_id, data)
    assert len(emu.sessions) == 1


@pytest.mark.parametrize("stalled", ["PATCH", "HEAD"])
def test_a_server_that_stalls_every_patch_or_head_ends_in_a_typed_error_and_a_rerun_resumes(
    emu: Emulator, plan: StallPlan, tmp_path: Path, source: tuple[Path, bytes], stalled: str
) -> None:
    path, data = source
    store = tmp_path / "s.sqlite3"
    client = patient(emu, store)
    session_id = client.create_session("en")["result"]["session_id"]
    plan.add("PATCH", prefix=FILES, nth=2)  # one chunk arrives, then the trouble starts
    plan.add(stalled, prefix=FILES, every=True)
    _, error, elapsed = bounded(20, lambda: client.upload(session_id, path))
    assert isinstance(error, UploadError), repr(error)
    assert isinstance(error.__cause__, APITimeoutError)
    assert "run the same upload again to resume" in str(error) and error.upload_url
    # Every failed attempt waited one timeout; RETRIES + 1 of them, then it stopped.
    assert (RETRIES + 1) * TIMEOUT <= elapsed < (RETRIES + 2) * 2 * TIMEOUT + 2
    plan.stop()
    answer, error, _ = bounded(20, lambda: patient(emu, store).upload(session_id, path))
    assert error is None, repr(error)
    assert answer is not None and answer["result"]["status"] == "uploaded"
    assert_one_complete_upload(emu, session_id, data)
    assert sum(1 for r in emu.requests if r.method == "POST" and r.path.startswith(FILES)) == 1


def test_a_delete_whose_answer_was_lost_is_still_answered_as_deleted(fake: FakeV3, tmp_path: Path) -> None:
    """The upstream deletes the session but its answer comes after the shim's timeout: the shim's
    retry then hears "already marked as removed". The V1 caller made one DELETE, and it worked."""
    client = legacy(fake.base_url, tmp_path / "s.sqlite3", timeout=TIMEOUT, max_retries=RETRIES)
    session_id = client.create_session("en")["result"]["session_id"]
    fake.fail("DELETE", "session", ("stall", 2 * TIMEOUT))  # acted on, answered too late
    answer, error, _ = bounded(10, lambda: client.delete(session_id))
    assert fake.sessions[session_id].deleted
    assert error is None, f"{type(error).__name__}: {error}"
    assert answer is not None and answer["result"]["status"] == "deleted"
