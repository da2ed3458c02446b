"""``scriptix-compat``: the command line.

Exit codes: 0 success; 1 an API or input error (message on stderr); 2 bad usage; 3 ``--wait`` gave
up while the job keeps running (the session id is printed); 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from compat._version import __version__
from compat.errors import ConfigurationError, ScriptixError
from compat.formats import FORMATS, render
from compat.staging.commands import HANDLERS as staging_commands
from compat.staging.commands import add_commands

__all__ = ["main"]

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_WAIT_TIMEOUT, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def _listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    return (host.strip("[]") or "127.0.0.1"), int(port)


def _positive_int(value: str) -> int:
    if not value.strip().isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {value!r}")
    return int(value)


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {value!r}")
    return seconds


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scriptix-compat",
        description="Keep Scriptix Batch API V1 integrations working on V3 (TUS), and migrate step by step.",
    )
    parser.add_argument("--version", action="version", version=f"scriptix-compat {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = commands.add_parser("demo", help="run the V1 flow through the shim against the embedded V3 emulator")
    demo.add_argument("--processing-delay", type=float, default=0.5, help="seconds the emulator 'transcribes'")

    emulator = commands.add_parser("emulator", help="serve the local V3 emulator")
    emulator.add_argument("--listen", type=_listen, default=("127.0.0.1", 8480), metavar="HOST:PORT")
    emulator.add_argument(
        "--v1", action="store_true", help="also serve the removed V1 calls (PUT, /align, media_source)"
    )
    emulator.add_argument("--processing-delay", type=float, default=1.0, help="seconds until a session is done")
    emulator.add_argument("--webhook-speed", type=float, default=1.0, help="compress the webhook retry schedule")
    emulator.add_argument(
        "--storage-dir", type=Path, default=None, help="keep uploaded bytes here (default: a temporary directory)"
    )
    emulator.add_argument("--faults", default=None, help="fault settings as JSON, e.g. '{\"rate_503\": 0.1}'")

    gateway = commands.add_parser(
        "gateway", help="serve V1 over HTTP for legacy code in any language (V1 translated, the rest proxied)"
    )
    gateway.add_argument("--listen", type=_listen, required=True, metavar="HOST:PORT", help="where to listen")
    gateway.add_argument(
        "--upstream", required=True, metavar="URL", help="the Scriptix host, e.g. https://api.scriptix.io"
    )
    gateway.add_argument(
        "--store", required=True, metavar="PATH", help="state file (sessions, media_source jobs, resume)"
    )
    gateway.add_argument("--allow-private-media", action="store_true", help="let media_source URLs be private (tests)")
    gateway.add_argument(
        "--allow-insecure-webhooks",
        action="store_true",
        help="accept webhook_url values V1 refused: http, localhost, IP addresses (tests)",
    )
    gateway.add_argument("--workers", type=_positive_int, default=16, metavar="N", help="requests served at once (16)")
    gateway.add_argument(
        "--media-source-mode",
        choices=("sync", "background"),
        default="sync",
        help="sync: a create with media_source answers once uploaded; background: at once, status uploading",
    )
    gateway.add_argument(
        "--drain-timeout", type=_seconds, default=300.0, metavar="S", help="on SIGTERM, wait this long for work (300)"
    )
    gateway.add_argument(
        "--max-body-size", default="10GB", metavar="SIZE", help="largest request body, e.g. 10GB, 500MiB (10GB)"
    )
    gateway.add_argument(
        "--channel-timeout", type=_seconds, default=120.0, metavar="S", help="close connections idle this long (120)"
    )

    transcribe = commands.add_parser("transcribe", help="upload a file (or a URL) and fetch its transcript")
    transcribe.add_argument("source", help="a media file, or an http(s) URL for Scriptix to fetch (V1 media_source)")
    transcribe.add_argument("--language", required=True, help="the session language, e.g. en")
    transcribe.add_argument("--wait", action="store_true", help="wait for the transcript")
    transcribe.add_argument("--timeout", type=float, default=3600.0, help="seconds --wait waits (default 3600)")
    transcribe.add_argument("--poll-interval", type=float, default=5.0, help="seconds between polls (default 5)")
    transcribe.add_argument("--format", choices=FORMATS, default="json", help="output format with --wait")
    transcribe.add_argument("--output", type=Path, default=None, help="write the output here instead of stdout")
    transcribe.add_argument("--api-key", default=None, help="the batch token (default: $SCRIPTIX_API_KEY)")
    transcribe.add_argument("--base-url", default=None, help="the Scriptix host (default: $SCRIPTIX_BASE_URL)")
    transcribe.add_argument("--allow-private-media", action="store_true", help="let a URL source be private")
    transcribe.add_argument("--no-progress", action="store_true", help="no progress bars")

    add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``scriptix-compat`` command."""
    args = build_parser().parse_args(argv)
    # The CLI's own V1 calls are the tool's business, not legacy call sites of the user's code.
    os.environ.setdefault("SCRIPTIX_COMPAT_WARN", "off")
    handlers: dict[str, Callable[[argparse.Namespace], int]] = {
        "demo": _demo,
        "emulator": _emulator,
        "gateway": _gateway,
        "transcribe": _transcribe,
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


# transcribe ---------------------------------------------------------------------------------


def _transcribe(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from compat.legacy import LegacyClient, WaitTimeoutError

    show = not args.no_progress
    client = LegacyClient(api_key=args.api_key, base_url=args.base_url, allow_private_media=args.allow_private_media)
    with client:
        is_url = args.source.startswith(("http://", "https://"))
        if is_url:
            print(f"asking Scriptix's shim to fetch {args.source} ...", file=sys.stderr)
            session = client.create_session(args.language, media_source=args.source)
            session_id = session["result"]["session_id"]
        else:
            path = Path(args.source)
            if not path.is_file():
                raise ValueError(f"not a file: {args.source}")
            session_id = client.create_session(args.language)["result"]["session_id"]
            with tqdm(
                total=path.stat().st_size, unit="B", unit_scale=True, unit_divisor=1024, desc="upload", disable=not show
            ) as bar:

                def advance(done: int, total: int) -> None:
                    bar.update(done - bar.n)

                client.upload(session_id, path, on_progress=advance)
        print(f"session {session_id}", file=sys.stderr)
        if not args.wait:
            _write(args.output, json.dumps(client.get_result(session_id), indent=2) + "\n")
            return EXIT_OK
        try:
            result = _wait_with_bar(client, session_id, args.timeout, args.poll_interval, show)
        except WaitTimeoutError as exc:
            print(f"scriptix-compat: {exc}", file=sys.stderr)
            print(exc.session_id)
            return EXIT_WAIT_TIMEOUT
    if result["result"].get("status") != "done":
        print(f"scriptix-compat: session {session_id} failed: {result['result'].get('error')}", file=sys.stderr)
        _write(args.output, render(result, "json"))
        return EXIT_ERROR
    _write(args.output, render(result, args.format))
    return EXIT_OK


def _wait_with_bar(client: Any, session_id: str, timeout: float, poll_interval: float, show: bool) -> dict[str, Any]:
    from tqdm import tqdm

    from compat.legacy import WaitTimeoutError

    started = time.monotonic()
    layout = "{desc}: {elapsed} {postfix}"
    with tqdm(total=None, desc="transcribing", unit="poll", disable=not show, bar_format=layout) as bar:
        while True:
            result: dict[str, Any] = client.get_result(session_id)
            status = result.get("result", {}).get("status")
            bar.set_postfix_str(str(status))
            bar.update(1)
            if status in ("done", "failed"):
                return result
            elapsed = time.monotonic() - started
            if elapsed + poll_interval > timeout:
                raise WaitTimeoutError(session_id, elapsed, status)
            time.sleep(poll_interval)


def _write(output: Path | None, text: str) -> None:
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        print(f"written to {output}", file=sys.stderr)


# emulator -----------------------------------------------------------------------------------


def _emulator(args: argparse.Namespace) -> int:
    from compat.emulator import serve

    faults = json.loads(args.faults) if args.faults else None
    host, port = args.listen
    serve(
        host,
        port,
        v1=args.v1,
        processing_delay=args.processing_delay,
        webhook_speed=args.webhook_speed,
        faults=faults,
        storage_dir=args.storage_dir,
    )
    return EXIT_OK


# gateway ------------------------------------------------------------------------------------


def _gateway(args: argparse.Namespace) -> int:
    import logging

    from compat.config import _size
    from compat.gateway import serve

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    host, port = args.listen
    max_body = _size("max_body_size", args.max_body_size, "--max-body-size")

    def ready(url: str) -> None:
        print(f"scriptix-compat gateway: listening on {url} (upstream {args.upstream})", file=sys.stderr, flush=True)

    serve(
        args.upstream,
        store=args.store,
        host=host,
        port=port,
        workers=args.workers,
        drain_timeout=args.drain_timeout,
        max_request_body_size=max_body,
        channel_timeout=args.channel_timeout,
        allow_private_media=args.allow_private_media,
        allow_insecure_webhooks=args.allow_insecure_webhooks,
        media_source_mode=args.media_source_mode,
        on_ready=ready,
    )
    return EXIT_OK


# demo ---------------------------------------------------------------------------------------


def _demo(args: argparse.Namespace, out: TextIO | None = None) -> int:
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
