"""``scriptix-compat gateway``: arguments are checked before anything listens."""

from __future__ import annotations

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
