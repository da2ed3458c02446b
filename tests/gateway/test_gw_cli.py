"""``scriptix-compat gateway``: arguments are checked before anything listens."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from compat.cli import EXIT_USAGE, main


def gateway_args(tmp_path: Path, *extra: str, upstream: str = "http://127.0.0.1:9") -> list[str]:
    return ["gateway", "--listen", "127.0.0.1:0", "--upstream", upstream, "--store", str(tmp_path / "s.db"), *extra]


def test_a_bad_upstream_or_size_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(gateway_args(tmp_path, upstream="ftp://example.com")) == EXIT_USAGE
    assert main(gateway_args(tmp_path, "--max-body-size", "lots")) == EXIT_USAGE
    errors = capsys.readouterr().err
    assert "base_url" in errors and "max_body_size" in errors


@pytest.mark.parametrize(
    "extra",
    [
        ("--workers", "0"),
        ("--drain-timeout", "-1"),
        ("--channel-timeout", "soon"),
        ("--media-source-mode", "later"),
        ("--listen", "nowhere"),
    ],
)
def test_bad_options_are_refused_by_the_parser(tmp_path: Path, extra: tuple[str, str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(gateway_args(tmp_path, *extra))
    assert exited.value.code == EXIT_USAGE


def test_the_upstream_store_and_address_are_required(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["gateway", "--listen", "127.0.0.1:0"])
    assert exited.value.code == EXIT_USAGE


def captured_serve(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """Replace ``compat.gateway.serve``: what the CLI would run it with."""
    import compat.gateway

    seen: dict[str, object] = {}

    def serve(upstream: str, **options: object) -> bool:
        seen.update(options, upstream=upstream)
        return True

    monkeypatch.setattr(compat.gateway, "serve", serve)
    return seen


def test_the_server_flags_reach_serve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = captured_serve(monkeypatch)
    extra = [
        "--workers", "3", "--header-timeout", "4", "--body-idle-timeout", "5", "--min-body-rate", "10",
        "--per-client", "0", "--max-inflight", "9", "--backlog", "50", "--max-header-size", "8KiB",
        "--max-body-size", "1MiB", "--drain-timeout", "2",
    ]  # fmt: skip
    assert main(gateway_args(tmp_path, *extra)) == 0
    assert {k: seen[k] for k in ("workers", "header_timeout", "body_idle_timeout", "min_body_rate")} == {
        "workers": 3,
        "header_timeout": 4.0,
        "body_idle_timeout": 5.0,
        "min_body_rate": 10.0,
    }
    assert (seen["per_client"], seen["max_inflight"], seen["backlog"]) == (0, 9, 50)
    assert (seen["max_header_size"], seen["max_body_size"], seen["drain_timeout"]) == (8192, 1024 * 1024, 2.0)


def test_channel_timeout_is_the_old_name_of_header_timeout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = captured_serve(monkeypatch)
    assert main(gateway_args(tmp_path, "--channel-timeout", "7")) == 0
    assert seen["header_timeout"] == 7.0


@pytest.mark.parametrize(("store", "expected"), [("file", os.cpu_count() or 1), (":memory:", 1)])
def test_workers_default_to_one_per_cpu_or_one_with_a_memory_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: str, expected: int
) -> None:
    seen = captured_serve(monkeypatch)
    args = gateway_args(tmp_path)
    if store == ":memory:":
        args[args.index("--store") + 1] = ":memory:"
    assert main(args) == 0
    assert seen["workers"] == expected
