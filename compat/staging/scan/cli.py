"""``scriptix-compat scan PATH [--format text|json] [--fail-on-findings]``: the command line."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TextIO

__all__ = ["add_arguments", "main", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``scan`` arguments, for a parent CLI's sub-parser (``run(args)`` then does the work)."""
    parser.add_argument("path", help="a file or a directory to scan")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default text)")
    parser.add_argument(
        "--fail-on-findings", action="store_true", help="exit with status 1 when any legacy call is found"
    )


def run(args: argparse.Namespace, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run ``scan`` with parsed arguments. Exit status: 0, 1 (findings with ``--fail-on-findings``), 2 (no path)."""
    # The scanner loads here, not with the arguments: ``scriptix-compat --help`` only needs those.
    from compat.staging.scan.report import write_json, write_text
    from compat.staging.scan.scanner import scan_report

    out = stdout or sys.stdout
    err = stderr or sys.stderr
    try:
        report = scan_report(args.path)
    except FileNotFoundError as exc:
        print(f"scriptix-compat scan: {exc}", file=err)
        return 2
    status = 1 if args.fail_on_findings and report.findings else 0
    try:
        if args.format == "json":
            write_json(report, out)
        else:
            write_text(report, args.path, out)
        out.flush()
    except BrokenPipeError:  # `scan … | head`: stop quietly
        if out is sys.stdout:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return status


def main(argv: Sequence[str] | None = None) -> int:
    """``scriptix-compat scan PATH [--format text|json] [--fail-on-findings]``; ``argv`` excludes ``scan``."""
    parser = argparse.ArgumentParser(
        prog="scriptix-compat scan",
        description="Find the legacy Scriptix calls in a codebase: Batch V1 (PUT upload, media_source, /align) "
        "and the Zoom Media API v1/v2 (api.zoommedia.ai).",
    )
    add_arguments(parser)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or bad usage
        return exc.code if isinstance(exc.code, int) else 2
    return run(args)
