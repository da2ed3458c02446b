"""429 with ``Retry-After`` on every step of a V1 flow, as delta-seconds and as an HTTP date.

A hint up to ``max_retry_after`` is slept (the recorded sleep is the hint) and the step is repeated
once; a longer hint stops the call at once with :class:`compat.RateLimitError` carrying
``.retry_after`` (MIGRATION.md, "Rate limits"), whichever step it came on, and an upload stopped
that way resumes on a rerun.
"""

from __future__ import annotations

import email.utils
import time
from pathlib import Path

import pytest
from fake_v3 import FakeV3
from full_matrix import is_full
from rel_helpers import METHODS, bounded, legacy, run_flow

from compat import RateLimitError

MAX_RETRY_AFTER = 30.0
STEPS = tuple(METHODS)


def retry_after(form: str, seconds: int) -> str:
    if form == "seconds":
        return str(seconds)
    return email.utils.formatdate(time.time() + seconds, usegmt=True)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "long_form" in metafunc.fixturenames:
        forms = ("seconds", "date") if is_full(metafunc.config) else ("seconds",)
        metafunc.parametrize("long_form", forms)


def prepare(fake: FakeV3, route: str, value: str) -> None:
    if route == "tus-head":
        fake.fail("PATCH", "tus-upload", "pass", "drop")  # a HEAD is asked after a failed PATCH
    fake.fail(METHODS[route], route, (429, {"Retry-After": value}))


@pytest.mark.parametrize("form", ["seconds", "date"])
@pytest.mark.parametrize("route", STEPS)
def test_a_429_hint_is_slept_and_the_step_repeated_once(
    fake: FakeV3, tmp_path: Path, source: tuple[Path, bytes], route: str, form: str
) -> None:
    path, data = source
    prepare(fake, route, retry_after(form, 7))
    sleeps: list[float] = []
    answers, error, _ = bounded(30, lambda: run_flow(fake, tmp_path / "s.sqlite3", path, sleep=sleeps.append))
    assert error is None, repr(error)
    assert answers is not None
    hinted = [s for s in sleeps if s >= 1.0]
    assert len(hinted) == 1, sleeps
    assert (hinted[0] == 7.0) if form == "seconds" else (5.0 <= hinted[0] <= 7.0)
    chunks = -(-len(data) // (64 * 1024))
    assert fake.count(METHODS[route], route) == (chunks + 1 if route == "tus-upload" else 2)  # repeated once
    assert len(fake.sessions) == 1
    assert bytes(fake.only_upload().data) == data


@pytest.mark.parametrize("route", STEPS)
def test_a_429_hint_over_max_retry_after_raises_rate_limit_error_on_every_step(
    fake: FakeV3, tmp_path: Path, source: tuple[Path, bytes], route: str, long_form: str
) -> None:
    path, data = source
    store = tmp_path / "s.sqlite3"
    prepare(fake, route, retry_after(long_form, 600))
    sleeps: list[float] = []
    client = legacy(fake.base_url, store, max_retry_after=MAX_RETRY_AFTER)
    client.v3.transport._sleep = sleeps.append

    def flow() -> None:
        session_id = client.create_session("en")["result"]["session_id"]
        client.upload(session_id, path)
        client.get_result(session_id)
        client.delete(session_id)

    _, error, elapsed = bounded(30, flow)
    assert isinstance(error, RateLimitError), f"{type(error).__name__}: {error}"
    assert error.status_code == 429
    assert error.retry_after is not None and 590 <= error.retry_after <= 600
    assert "Retry-After" in str(error)
    assert isinstance(error.body, dict) and error.body["error"]
    assert all(s < MAX_RETRY_AFTER for s in sleeps) and elapsed < 10
    assert fake.count(METHODS[route], route) == 1  # not repeated
    if route in ("tus-upload", "tus-head"):
        [session_id] = fake.sessions
        rerun = legacy(fake.base_url, store)
        assert rerun.upload(session_id, path)["result"]["status"] == "uploaded"
        assert fake.count("POST", "tus-create") == 1
        assert bytes(fake.only_upload().data) == data
