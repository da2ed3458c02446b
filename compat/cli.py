"""``scriptix-compat``: the command line.

Exit codes (:mod:`compat.exitcodes`): 0 success; 1 an API or input error (message on stderr);
2 bad usage; 3 the job is not done yet and keeps running (``--wait`` gave up; the session id is
printed); 130 interrupted. Sub-commands import their code when they run, so ``--help`` is instant.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from compat._version import __version__
from compat.exitcodes import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, EXIT_WAIT_TIMEOUT
from compat.formats import FORMATS
from compat.staging.commands import HANDLERS as staging_commands
from compat.staging.commands import add_commands

__all__ = ["EXIT_ERROR", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "EXIT_WAIT_TIMEOUT", "main"]


def _listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    return (host.strip("[]") or "127.0.0.1"), int(port)


def _positive_int(value: str) -> int:
    if not value.strip().isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {value!r}")
    return int(value)


def _count(value: str) -> int:
    if not value.strip().isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}")
    return int(value)


def _non_negative(what: str) -> Callable[[str], float]:
    """An argument type: a finite number >= 0; the error says it expected ``what``."""

    def parse(value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            number = -1.0
        if not 0 <= number < float("inf"):
            raise argparse.ArgumentTypeError(f"expected {what}, got {value!r}")
        return number

    return parse


_rate = _non_negative("a number of bytes per second")
_seconds = _non_negative("a number of seconds")


def _add_connection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--api-key", default=None, help="the batch token (default: $SCRIPTIX_API_KEY)")
    parser.add_argument("--base-url", default=None, help="the Scriptix host (default: $SCRIPTIX_BASE_URL)")


def _add_delivery(parser: argparse.ArgumentParser, *, what: str) -> None:
    parser.add_argument("--wait", action="store_true", help=f"wait until {what} is done or failed")
    parser.add_argument("--timeout", type=_seconds, default=3600.0, help="seconds --wait waits (default 3600)")
    parser.add_argument("--poll-interval", type=_seconds, default=5.0, help="seconds between polls (default 5)")
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="json",
        help="json (the V1 result), or txt/srt/vtt of a finished transcript (default json)",
    )
    parser.add_argument("--output", type=Path, default=None, help="write here (replaced atomically), not stdout")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars or progress lines")


class _Parser(argparse.ArgumentParser):
    """A parser that can add some arguments when it is first used (to parse, or to print its help).

    The gateway's option flags are made from :class:`compat.Options`, whose import (pydantic, the
    transport's settings) ``scriptix-compat --help`` and the other sub-commands should not pay for.
    """

    def __init__(self, *args: Any, later: Callable[[argparse.ArgumentParser], None] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._later = later

    def _add_later(self) -> None:
        later, self._later = self._later, None
        if later is not None:
            later(self)

    def parse_known_args(self, *args: Any, **kwargs: Any) -> Any:
        self._add_later()
        return super().parse_known_args(*args, **kwargs)

    def format_usage(self) -> str:
        self._add_later()
        return super().format_usage()

    def format_help(self) -> str:
        self._add_later()
        return super().format_help()


def _add_gateway_options(parser: argparse.ArgumentParser) -> None:
    """Every option of compat.Options, from its field; the upstream is base_url, the gateway holds no token."""
    from compat.options import add_option_arguments

    add_option_arguments(parser, skip=("api_key", "base_url"), required=("store",))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="scriptix-compat",
        description="Keep Scriptix Batch API V1 integrations working on V3 (TUS), and migrate step by step.",
        epilog="Exit codes: 0 done; 1 API or input error; 2 bad usage; 3 not done yet (the job keeps running); "
        "130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"scriptix-compat {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=_Parser)

    demo = commands.add_parser("demo", help="run the V1 flow through the shim against the embedded V3 emulator")
    demo.add_argument("--processing-delay", type=float, default=0.5, help="seconds the emulator 'transcribes'")

    emulator = commands.add_parser(
        "emulator",
        help="serve the local V3 emulator",
        description="Serve a local Scriptix V3 for tests and demos: sessions, results, TUS uploads at "
        "/api/v3/files/, webhooks and injected faults; each token is an account (any token, or --token; "
        "with --v1 only test-token and other-token); no network. "
        "Admin: GET /_emulator/health, GET /_emulator/state, GET|POST /_emulator/faults. Ctrl-C stops it.",
    )
    emulator.add_argument(
        "--listen",
        type=_listen,
        default="127.0.0.1:8480",
        metavar="HOST:PORT",
        help="where to listen (default 127.0.0.1:8480; port 0: any free port)",
    )
    emulator.add_argument(
        "--v1",
        action="store_true",
        help="legacy mode: also serve the removed V1 calls (PUT, /align, media_source) and the Zoom Media API "
        "v1/v2 (/api/v1|v2/speech-to-text/session); without it they answer 410 Gone",
    )
    emulator.add_argument(
        "--time-unit",
        choices=("s", "ms"),
        default=None,
        help="with --v1: the unit of word times in legacy answers (default: ms on the Zoom Media routes, "
        "s in the Batch V1 result)",
    )
    emulator.add_argument(
        "--processing-delay",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="seconds from a complete upload to done (default 1.0)",
    )
    emulator.add_argument(
        "--webhook-speed",
        type=float,
        default=1.0,
        metavar="FACTOR",
        help="compress the webhook retry schedule (default 1.0: real time; 600: a minute is 0.1 s)",
    )
    emulator.add_argument(
        "--storage-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="keep uploaded bytes here (default: a temporary directory, removed on exit)",
    )
    emulator.add_argument(
        "--faults",
        default=None,
        metavar="JSON",
        help="fault settings, e.g. '{\"rate_503\": 0.1}' (default: none); names: latency, rate_429, rate_503, "
        "retry_after, drop_patch, stall, stall_requests, seed",
    )
    emulator.add_argument(
        "--allow-insecure-webhooks",
        action="store_true",
        help="with --v1: accept webhook/callback URLs V1 refused (plain http, localhost, IP addresses), for a "
        "receiver on this machine; without it they get 422, as through the shim",
    )
    tokens = emulator.add_mutually_exclusive_group()
    tokens.add_argument(
        "--token",
        action="append",
        default=None,
        metavar="TOKEN",
        help="a valid token (repeatable); others get 401 (default: any token; with --v1: test-token, other-token)",
    )
    tokens.add_argument("--any-token", action="store_true", help="accept every non-empty token (also with --v1)")
    emulator.add_argument(
        "--languages",
        default=None,
        metavar="LIST",
        help="supported languages, comma-separated, or 'any'; others get 400 "
        "(default: any; with --v1: the 33 Scriptix documents)",
    )

    gateway = commands.add_parser(
        "gateway",
        help="serve V1 over HTTP for legacy code in any language (V1 translated, the rest proxied)",
        later=_add_gateway_options,
    )
    gateway.add_argument("--listen", type=_listen, required=True, metavar="HOST:PORT", help="where to listen")
    gateway.add_argument(
        "--upstream", required=True, metavar="URL", help="the Scriptix host, e.g. https://api.scriptix.io"
    )
    gateway.add_argument(
        "--workers",
        type=_positive_int,
        default=None,
        metavar="N",
        help="worker processes (default: one per CPU; 1 with --store :memory:)",
    )
    gateway.add_argument(
        "--drain-timeout", type=_seconds, default=300.0, metavar="S", help="on SIGTERM, wait this long for work (300)"
    )
    gateway.add_argument(
        "--max-body-size", default="10GB", metavar="SIZE", help="largest request body, e.g. 10GB, 500MiB (10GB)"
    )
    gateway.add_argument(
        "--header-timeout",
        "--channel-timeout",
        dest="header_timeout",
        type=_seconds,
        default=10.0,
        metavar="S",
        help="close a connection that has not sent a whole request head this long after it opened or was"
        " last answered: idle and trickling clients (10; --channel-timeout is the old name)",
    )
    gateway.add_argument(
        "--max-header-size", default="64KiB", metavar="SIZE", help="request line and headers together (64KiB)"
    )
    gateway.add_argument(
        "--body-idle-timeout", type=_seconds, default=60.0, metavar="S", help="408 after no body bytes this long (60)"
    )
    gateway.add_argument(
        "--min-body-rate",
        type=_rate,
        default=1024.0,
        metavar="BYTES",
        help="408 for a body slower than this many bytes/s once 10 s were spent waiting for it (1024; 0: off)",
    )
    gateway.add_argument(
        "--per-client",
        type=_count,
        default=32,
        metavar="N",
        help="requests in flight per client address in each worker, 429 beyond (32; 0: off)",
    )
    gateway.add_argument(
        "--max-inflight",
        type=_positive_int,
        default=64,
        metavar="N",
        help="requests in flight in each worker, one thread each; 503 beyond (64)",
    )
    gateway.add_argument(
        "--backlog", type=_positive_int, default=1024, metavar="N", help="connections waiting to be accepted (1024)"
    )

    transcribe = commands.add_parser(
        "transcribe",
        help="upload a file (or a URL) and fetch its transcript",
        description="Upload a media file (or have a URL fetched) and fetch its transcript. The session id is "
        "printed on stderr as soon as the session exists. Running the same command again (same file, "
        "language and token) continues the same session: an interrupted upload resumes where the server "
        "stopped. --session ID continues, or fetches, a given session.",
    )
    transcribe.add_argument(
        "source",
        nargs="?",
        help="a media file, or an http(s) URL for Scriptix to fetch (V1 media_source); optional with --session",
    )
    transcribe.add_argument("--language", default=None, help="the session language, e.g. en (required for a new one)")
    transcribe.add_argument(
        "--session", default=None, metavar="SESSION_ID", help="continue this session (upload FILE to it, or fetch it)"
    )
    transcribe.add_argument(
        "--content-type", default=None, metavar="TYPE", help="the file's media type (default: guessed from its name)"
    )
    _add_delivery(transcribe, what="the transcript")
    _add_connection(transcribe)
    transcribe.add_argument("--allow-private-media", action="store_true", help="let a URL source be private")

    result = commands.add_parser(
        "result",
        help="fetch (or wait for) a session's result, as JSON, text or captions",
        description="Fetch a session's V1 result. --format txt/srt/vtt needs a finished transcript: "
        "without --wait, a session not done yet exits 3 (json shows where it is and exits 0).",
    )
    result.add_argument("session_id", metavar="SESSION_ID", help="the session, as transcribe printed it")
    _add_delivery(result, what="the session")
    _add_connection(result)

    store = commands.add_parser("store", help="manage the state store (copy it into PostgreSQL for a fleet)")
    store_commands = store.add_subparsers(dest="store_command", metavar="STORE_COMMAND", required=True)
    migrate = store_commands.add_parser(
        "migrate",
        help="copy a store (e.g. the SQLite file of one host) into an empty one (e.g. PostgreSQL)",
        description="Copy every row of a state store into a new, empty one in one transaction: sessions with "
        "their sealed options and claims, resume URLs, transcribe jobs, and the store's key (so tokens keep "
        "their sessions). The source is migrated to this version's schema first. A target that holds rows, "
        "or that other scriptix-compat processes are connected to, is refused (exit 2); nothing is changed "
        "then, nor on any failure.",
    )
    migrate.add_argument(
        "--from", dest="source", required=True, metavar="PATH", help="the store to copy (a SQLite file)"
    )
    migrate.add_argument(
        "--to", dest="target", required=True, metavar="URL", help="the empty store to fill (a postgresql:// URL)"
    )

    add_commands(commands)
    return parser


def _check_combinations(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Usage errors argparse cannot see; refused (exit 2) before anything goes upstream."""
    if args.command == "emulator" and args.time_unit is not None and not args.v1:
        parser.error("emulator: --time-unit is the unit of the legacy answers; give --v1 with it")
    if args.command != "transcribe":
        return
    if args.source is None and args.session is None:
        parser.error("transcribe: give a FILE or URL (or --session SESSION_ID to continue a session)")
    if args.session is None and not args.language:
        parser.error("transcribe: --language is required for a new session")
    if args.session is not None and args.source is not None and args.source.startswith(("http://", "https://")):
        parser.error("transcribe: --session continues a file upload; a URL source always makes a new session")
    if args.format != "json" and not args.wait:
        parser.error(
            f"transcribe: --format {args.format} needs --wait (text and captions exist once the job is done); "
            f"or fetch them later with: scriptix-compat result SESSION_ID --wait --format {args.format}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``scriptix-compat`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _check_combinations(parser, args)
    # The CLI's own V1 calls are the tool's business, not legacy call sites of the user's code.
    os.environ.setdefault("SCRIPTIX_COMPAT_WARN", "off")
    from compat.errors import ConfigurationError, ScriptixError

    handlers: dict[str, Callable[[argparse.Namespace], int]] = {
        "demo": _demo,
        "emulator": _emulator,
        "gateway": _gateway,
        "transcribe": _transcribe,
        "result": _result,
        "store": _store,
        **staging_commands,
    }
    try:
        return handlers[args.command](args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except ConfigurationError as exc:
        print(f"scriptix-compat: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ScriptixError as exc:
        code = f" ({exc.status_code})" if exc.status_code else ""
        print(f"scriptix-compat: error{code}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except (OSError, ValueError) as exc:
        print(f"scriptix-compat: {exc}", file=sys.stderr)
        return EXIT_ERROR


# transcribe and result ----------------------------------------------------------------------


def _delivery(args: argparse.Namespace) -> Any:
    from compat.transcribe import Delivery

    return Delivery(
        wait=args.wait,
        timeout=args.timeout,
        poll_interval=args.poll_interval,
        fmt=args.format,
        output=args.output,
        progress=not args.no_progress,
    )


def _transcribe(args: argparse.Namespace) -> int:
    from compat.transcribe import Connection, transcribe

    return transcribe(
        args.source,
        language=args.language,
        session_id=args.session,
        content_type=args.content_type,
        connection=Connection(args.api_key, args.base_url, args.allow_private_media),
        delivery=_delivery(args),
    )


def _result(args: argparse.Namespace) -> int:
    from compat.transcribe import Connection, fetch_result

    return fetch_result(args.session_id, connection=Connection(args.api_key, args.base_url), delivery=_delivery(args))


# listening ----------------------------------------------------------------------------------


class _Listening:
    """Tells a failure to bind the listening socket (a clear one-line error) from later failures."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.ready = False

    def probe(self) -> None:
        """Bind and release the address once, so that a busy port raises ``OSError`` here.

        For servers (Werkzeug's) that print their own multi-line complaint and exit instead.
        """
        import socket

        if self.port == 0:
            return
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server itself will
            sock.bind((self.host, self.port))

    def explain(self, exc: OSError) -> str | None:
        """A one-line message for a bind failure, or ``None`` when ``exc`` is something else."""
        if self.ready:
            return None
        where = f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"
        other = f"[{self.host}]" if ":" in self.host else self.host
        if exc.errno == errno.EADDRINUSE:
            return (
                f"cannot listen on {where}: the address is already in use (is another server running there?); "
                f"choose another port, e.g. --listen {other}:{self.port + 1 if self.port < 65535 else 8481}, "
                f"or --listen {other}:0 for any free port"
            )
        if exc.errno == errno.EACCES:
            return f"cannot listen on {where}: permission denied (ports below 1024 need privileges); choose another"
        if exc.errno == errno.EADDRNOTAVAIL:
            return f"cannot listen on {where}: {self.host} is not an address of this machine"
        return None

    def serve(self, command: str, run: Callable[[], object]) -> int:
        """``run()`` the server; a failure to bind its address is one line on stderr and ``EXIT_ERROR``."""
        try:
            run()
        except OSError as exc:
            message = self.explain(exc)
            if message is None:
                raise
            print(f"scriptix-compat {command}: {message}", file=sys.stderr)
            return EXIT_ERROR
        return EXIT_OK


# emulator -----------------------------------------------------------------------------------


# emulator -----------------------------------------------------------------------------------


def _emulator(args: argparse.Namespace) -> int:
    from compat.emulator import Emulator, serve
    from compat.emulator.server import describe_access

    faults = json.loads(args.faults) if args.faults else None
    host, port = args.listen
    languages: list[str] | str | None = None
    if args.languages is not None:
        listed = [code.strip() for code in args.languages.split(",") if code.strip()]
        languages = "any" if [code.lower() for code in listed] == ["any"] else listed
    listening = _Listening(host, port)

    def ready(emulator: Emulator) -> None:
        listening.ready = True
        print(f"Scriptix V3 emulator listening on {emulator.url} (Ctrl-C to stop)", flush=True)
        print(describe_access(emulator.options), flush=True)

    def run() -> None:
        listening.probe()
        serve(
            host,
            port,
            on_ready=ready,
            v1=args.v1,
            tokens="any" if args.any_token else args.token,
            languages=languages,
            processing_delay=args.processing_delay,
            webhook_speed=args.webhook_speed,
            faults=faults,
            storage_dir=args.storage_dir,
            time_unit=args.time_unit,
            allow_insecure_webhooks=args.allow_insecure_webhooks,
        )

    return listening.serve("emulator", run)


# gateway ------------------------------------------------------------------------------------


def _gateway(args: argparse.Namespace) -> int:
    import logging

    from compat.config import MEMORY_STORE, parse_size
    from compat.gateway import serve
    from compat.options import Options, option_arguments

    # the process id tells the worker processes apart
    log_format = "%(asctime)s %(name)s[%(process)d] %(levelname)s %(message)s"
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format=log_format)
    host, port = args.listen
    max_body = parse_size(args.max_body_size, option="max_body_size", source="--max-body-size")
    max_header = parse_size(args.max_header_size, option="max_header_size", source="--max-header-size")
    options = Options.resolve(base_url=args.upstream, **option_arguments(args))
    if options.access_log == "json":
        from compat.gateway.access_log import json_lines_to

        json_lines_to(sys.stderr)
    workers = args.workers
    if workers is None:
        workers = 1 if options.store == MEMORY_STORE else max(1, os.cpu_count() or 1)
    listening = _Listening(host, port)

    def ready(url: str) -> None:
        listening.ready = True
        print(f"scriptix-compat gateway: listening on {url} (upstream {args.upstream})", file=sys.stderr, flush=True)

    return listening.serve(
        "gateway",
        lambda: serve(
            args.upstream,
            options=options,
            host=host,
            port=port,
            workers=workers,
            drain_timeout=args.drain_timeout,
            max_body_size=max_body,
            max_header_size=max_header,
            header_timeout=args.header_timeout,
            body_idle_timeout=args.body_idle_timeout,
            min_body_rate=args.min_body_rate,
            per_client=args.per_client,
            max_inflight=args.max_inflight,
            backlog=args.backlog,
            on_ready=ready,
        ),
    )


# store --------------------------------------------------------------------------------------


def _store(args: argparse.Namespace) -> int:
    from compat.store.copy import migrate_command

    migrate_command(args.source, args.target, sys.stdout)  # the only STORE_COMMAND so far
    return EXIT_OK


# demo ---------------------------------------------------------------------------------------


def _demo(args: argparse.Namespace, out: TextIO | None = None) -> int:
    import tempfile

    from compat.emulator import Emulator
    from compat.legacy import LegacyClient
    from compat.v3.transport import RequestRecord

    out = out or sys.stdout
    token = "demo-token"

    def say(text: str = "") -> None:
        print(text, file=out, flush=True)

    def v3_call(record: RequestRecord) -> None:
        path = record.url.split("://", 1)[-1].split("/", 1)[-1]
        status = record.status if record.status is not None else "no answer"
        say(f"      V3  {record.method:<6} /{path}  -> {status}")

    with (
        tempfile.TemporaryDirectory(prefix="scriptix-compat-demo-") as tmp,
        Emulator(processing_delay=args.processing_delay) as emulator,
    ):
        media = Path(tmp) / "hello.wav"
        _write_tone(media, seconds=2.0)
        say(f"scriptix-compat {__version__} demo: V1 calls in, V3 (TUS) underneath")
        say(f"emulated Scriptix V3 at {emulator.url} (no account, no network)")
        say()
        client = LegacyClient(api_key=token, base_url=emulator.url, store=":memory:", chunk_size=32 * 1024)
        client.v3.transport.observers.append(v3_call)
        with client:
            say('V1  POST /api/v3/speech-to-text/session  {"language": "en", "punctuation": true}')
            created = client.create_session("en", punctuation=True)
            session_id = created["result"]["session_id"]
            say(f"    <- {json.dumps(created)}")
            say()
            say(f"V1  PUT  /api/v3/speech-to-text/session/{session_id}  x-filename: hello.wav, audio/wav")
            uploaded = client.upload(session_id, media, content_type="audio/wav")
            say(f"    <- {json.dumps(uploaded)}")
            say()
            say(f"V1  GET  /api/v3/speech-to-text/session/{session_id}/result  (polling until done)")
            result = client.wait(session_id, timeout=60, poll_interval=0.2)
            say()
            say("final V1 result:")
            say(_compact_json(result))
            say()
            say(f"V1  DELETE /api/v3/speech-to-text/session/{session_id}")
            client.delete(session_id)
    status = result["result"]["status"]
    say(f"status {status!r}: the V1 flow ran unchanged; the media went up as a resumable TUS upload.")
    return EXIT_OK if status == "done" else EXIT_ERROR


def _compact_json(value: Any, indent: str = "") -> str:
    """Indented JSON, but a list of plain values (a word tuple) stays on one line."""
    inner = indent + "  "
    if isinstance(value, dict) and value:
        items = [f"{inner}{json.dumps(k)}: {_compact_json(v, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{indent}}}"
    if isinstance(value, list) and value and any(isinstance(v, dict | list) for v in value):
        items = [f"{inner}{_compact_json(v, inner)}" for v in value]
        return "[\n" + ",\n".join(items) + f"\n{indent}]"
    return json.dumps(value)


def _write_tone(path: Path, *, seconds: float, rate: int = 16000) -> None:
    import math
    import struct
    import wave

    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        frames = (
            struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate))) for i in range(int(seconds * rate))
        )
        out.writeframes(b"".join(frames))


if __name__ == "__main__":
    raise SystemExit(main())
