"""The migration toolkit's commands: ``scan``, ``report``, ``doctor``, ``verify``.

Exit codes follow the CLI's: 0 fine; 1 findings (``--fail-on-findings``), a mismatch (``verify``) or
a problem (``doctor``); 2 bad usage or a missing file.
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from compat.staging.scan.cli import add_arguments as add_scan_arguments  # the arguments only: not the scanner

__all__ = ["HANDLERS", "add_commands"]


def add_commands(commands: argparse._SubParsersAction[Any]) -> None:
    """Add the toolkit's subcommands to the ``scriptix-compat`` parser."""
    add_scan_arguments(
        commands.add_parser(
            "scan", help="find the legacy calls (Batch V1, Zoom Media v1/v2) in a codebase (any language)"
        )
    )

    report = commands.add_parser("report", help="show a legacy-usage report (SCRIPTIX_COMPAT_REPORT) as a table")
    report.add_argument("path", type=Path, help="the report file")

    doctor = commands.add_parser(
        "doctor",
        help="settings and their sources, upstream, store, recent legacy calls",
        description="List every setting with its source, marking each bad one with the reason (exit 1 if any), "
        "check the upstream and its TUS extensions, the state store, and the most recent legacy calls.",
    )
    doctor.add_argument("--format", choices=("text", "json"), default="text")
    doctor.add_argument("--no-upstream", action="store_true", help="do not contact the upstream")
    doctor.add_argument("--api-key", default=None)
    doctor.add_argument("--base-url", default=None)
    doctor.add_argument("--store", default=None)

    verify = commands.add_parser("verify", help="dual-run one media file: the V1 path versus the shim's V3 path")
    verify.add_argument("media", type=Path, help="the media file")
    verify.add_argument("--language", required=True)
    source = verify.add_mutually_exclusive_group(required=True)
    source.add_argument("--emulator", action="store_true", help="run both paths on the embedded emulator (--v1 mode)")
    source.add_argument("--v1-url", default=None, help="a live V1 service to run the V1 path against")
    source.add_argument("--recorded", type=Path, default=None, help="a recorded V1 result (JSON) to compare with")
    verify.add_argument("--base-url", default=None, help="the V3 upstream for the shim's path (default: Scriptix)")
    verify.add_argument("--api-key", default=None)
    verify.add_argument("--content-type", default=None, help="the media's type (default: guessed from its name)")
    verify.add_argument("--tolerance", type=float, default=1e-3, help="numbers equal within this (default 0.001)")
    verify.add_argument("--format", choices=("text", "json"), default="text")
    verify.add_argument(
        "--api",
        choices=("batch_v1", "zoommedia"),
        default="batch_v1",
        help="the legacy flow to compare: batch_v1 (default) or zoommedia (the Zoom Media API v1/v2: create, "
        "multipart upload, poll done, status and text/vtt captions)",
    )


def _scan(args: argparse.Namespace) -> int:
    from compat.staging import scan

    return scan.run(args)


def _report(args: argparse.Namespace) -> int:
    from compat.staging.report_view import load_report, render_table

    sys.stdout.write(render_table(load_report(args.path)))
    return 0


def _doctor(args: argparse.Namespace) -> int:
    from compat.staging.doctor import diagnose, render_text

    result = diagnose(
        check_upstream=not args.no_upstream, api_key=args.api_key, base_url=args.base_url, store=args.store
    )
    sys.stdout.write(json.dumps(result, indent=2) + "\n" if args.format == "json" else render_text(result))
    upstream_ok = result["upstream"].get("skipped") or "error" not in result["upstream"]
    return 0 if upstream_ok and result["store"].get("healthy") and not result["problems"] else 1


def _verify(args: argparse.Namespace) -> int:
    from compat.config import Settings
    from compat.staging.verify import verify

    if not args.media.is_file():
        raise ValueError(f"not a file: {args.media}")
    content_type = args.content_type or mimetypes.guess_type(args.media.name)[0] or "application/octet-stream"
    settings = Settings.resolve(api_key=args.api_key, base_url=args.base_url)
    token = settings.token() or ("verify-token" if args.emulator else None)
    if not token:
        raise ValueError("no token: pass --api-key or set SCRIPTIX_API_KEY")
    common = {
        "language": args.language,
        "token": token,
        "content_type": content_type,
        "tolerance": args.tolerance,
        "api": args.api,
    }
    if args.emulator:
        from compat.emulator import DEFAULT_LANGUAGES, Emulator

        # V1 mode with its language list (plus the one asked for) and this run's token only, so the
        # refusals the flow provokes are answered as V1 answers them.
        languages = (*DEFAULT_LANGUAGES, args.language)
        with Emulator(v1=True, processing_delay=0.2, tokens=[token], languages=languages) as emulator:
            report = verify(
                args.media,
                shim_base_url=emulator.url,
                v1_base_url=emulator.url,
                poll_interval=0.1,
                store=":memory:",
                **common,
            )
    else:
        report = verify(
            args.media,
            shim_base_url=settings.base_url,
            v1_base_url=args.v1_url,
            recorded=args.recorded,
            **common,
        )
    if args.format == "json":
        sys.stdout.write(json.dumps(report.as_json(), indent=2) + "\n")
    else:
        for note in report.notes:
            print(note)
        for difference in report.differences:
            print(f"  {difference}")
        print(
            f"verdict: {report.verdict}" + (f" ({len(report.differences)} differences)" if report.differences else "")
        )
    return 0 if report.verdict == "match" else 1


HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "scan": _scan,
    "report": _report,
    "doctor": _doctor,
    "verify": _verify,
}
