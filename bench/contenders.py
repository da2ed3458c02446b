"""One upload by one contender, in a fresh process: ``python -m bench.worker upload NAME --file F --url U ...``.

Prints one JSON line: ``seconds`` and ``cpu_seconds`` of the timed region, ``interpreter_rss_kib``
(``VmRSS`` before the contender's library is imported), ``baseline_rss_kib`` (``VmRSS`` right after
that import), ``vmhwm_kib`` (``VmHWM``, the process's peak resident set, read from ``/proc/self/status``
after the upload) and what the parent needs to find the upload on the server.

The contenders:

``plain-put``
    ``requests.put(sink_url, data=open(path, "rb"))`` to the server's ``PUT /sink/<name>``: the floor.
``plain-patch``
    a reference added to the issue's list: one TUS creation ``POST`` and one streaming ``PATCH`` of the
    whole file with ``requests``: the floor of the TUS path of the same server (its ``PATCH`` handling
    costs the server more than the sink's plain write; this contender shows how much).
``tuspy-default``
    plain ``tusclient`` with its defaults; its default chunk size is ``sys.maxsize``, so the whole
    file is read into memory as one chunk (that is what is measured).
``tuspy-50MiB``
    plain ``tusclient`` with ``chunk_size=50 MiB``, Scriptix's advice.
``compat-v3``
    ``compat.V3Client(...).upload(path, metadata)`` with default settings and a fresh resume store.
``compat-legacy``
    ``compat.LegacyClient(...)``: ``create_session("en")`` (before the timer), then ``upload(id, path)``
    (timed), default settings, fresh store.
``gateway``
    the client side of a V1 PUT through ``scriptix-compat gateway`` (started by the parent): create a
    session through the gateway (before the timer), then ``requests.put`` of the open file to
    ``…/session/<id>``; timed from the PUT's start to its 200. The parent reads the gateway's own peak.

The timed region covers building the client, opening the file and the whole upload.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import MIB, SESSIONS_PATH, TOKEN, FirstRead, Stopwatch, emit, proc_status_kib

CHUNK_50MIB = 50 * MIB
TUS_METADATA = {"filename": "bench.wav", "language": "en", "document_type": "caption"}
CONTENDERS = ("plain-put", "plain-patch", "tuspy-default", "tuspy-50MiB", "compat-v3", "compat-legacy", "gateway")
NOTES = {
    "plain-put": "one streaming `requests.put(data=open(...))` to `PUT /sink/<name>`",
    "plain-patch": "reference, not in the issue: one TUS creation `POST`, then the whole file in one streaming "
    "`requests.patch(data=open(...))`: the least any TUS client can do on this server",
    "tuspy-default": "`tusclient` defaults: one chunk of `sys.maxsize`, i.e. the whole file read into memory",
    "tuspy-50MiB": "`tusclient` with `chunk_size=50 MiB` (Scriptix's advice)",
    "compat-v3": "`V3Client.upload`, default settings (50 MiB chunks), fresh store",
    "compat-legacy": "`LegacyClient.upload` of a session made by `create_session` (untimed), default settings",
    "gateway": "V1 `PUT` through `scriptix-compat gateway` (subprocess, defaults: one worker process per "
    "CPU); peak = the sum of every gateway process's VmHWM",
}

Result = dict[str, Any]


def _plain_put(args: argparse.Namespace) -> tuple[Stopwatch, Result]:
    import requests

    baseline = proc_status_kib("VmRSS")
    with Stopwatch() as watch, open(args.file, "rb") as stream:
        response = requests.put(args.url, data=stream, timeout=(10, 600))
    if response.status_code != 204:
        raise RuntimeError(f"PUT {args.url} answered {response.status_code}: {response.text[:200]!r}")
    return watch, {"baseline_rss_kib": baseline, "sink": args.url.rsplit("/", 1)[-1]}


def _plain_patch(args: argparse.Namespace) -> tuple[Stopwatch, Result]:
    import base64
    from urllib.parse import urljoin

    import requests

    baseline = proc_status_kib("VmRSS")
    metadata = dict(TUS_METADATA, session_id=args.session_id)
    encoded = ",".join(f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in metadata.items())
    size = Path(args.file).stat().st_size
    tus = {"Tus-Resumable": "1.0.0"}
    with Stopwatch() as watch, requests.Session() as http:
        created = http.post(
            args.url, headers={**tus, "Upload-Length": str(size), "Upload-Metadata": encoded}, timeout=30
        )
        if created.status_code != 201:
            raise RuntimeError(f"POST {args.url} answered {created.status_code}")
        location = urljoin(args.url, created.headers["Location"])
        patch_headers = {**tus, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
        with open(args.file, "rb") as stream:
            response = http.patch(location, data=stream, headers=patch_headers, timeout=(10, 600))
    if response.status_code != 204:
        raise RuntimeError(f"PATCH {location} answered {response.status_code}: {response.text[:200]!r}")
    return watch, {"baseline_rss_kib": baseline, "upload_url": location}


def _tuspy(chunk_size: int | None) -> Callable[[argparse.Namespace], tuple[Stopwatch, Result]]:
    def upload(args: argparse.Namespace) -> tuple[Stopwatch, Result]:
        from tusclient import client

        baseline = proc_status_kib("VmRSS")
        options: dict[str, Any] = {} if chunk_size is None else {"chunk_size": chunk_size}
        with Stopwatch() as watch:
            uploader = client.TusClient(args.url).uploader(
                file_path=args.file, metadata=dict(TUS_METADATA, session_id=args.session_id), **options
            )
            uploader.upload()
        return watch, {"baseline_rss_kib": baseline, "upload_url": uploader.url, "chunk_size": uploader.chunk_size}

    return upload


def _compat_v3(args: argparse.Namespace) -> tuple[Stopwatch, Result]:
    from compat import V3Client

    baseline = proc_status_kib("VmRSS")
    store = Path(args.state_dir) / "state.sqlite3"
    metadata = dict(TUS_METADATA, session_id=args.session_id)
    with Stopwatch() as watch:
        client = V3Client(api_key=TOKEN, base_url=args.url, store=str(store))
        result = client.upload(args.file, metadata)
        client.close()
    if result.resumed_from:
        raise RuntimeError(f"the upload was resumed from byte {result.resumed_from}, not sent whole")
    return watch, {
        "baseline_rss_kib": baseline,
        "upload_url": result.upload_url,
        "session_id": result.session_id,
        "chunk_size": client.settings.chunk_size,
    }


def _compat_legacy(args: argparse.Namespace) -> tuple[Stopwatch, Result]:
    from compat import LegacyClient

    baseline = proc_status_kib("VmRSS")
    store = Path(args.state_dir) / "state.sqlite3"
    client = LegacyClient(api_key=TOKEN, base_url=args.url, store=str(store))
    session_id = client.create_session("en")["result"]["session_id"]
    with Stopwatch() as watch:
        answer = client.upload(session_id, args.file)
    client.close()
    if answer["result"]["status"] != "uploaded":
        raise RuntimeError(f"upload answered {answer!r}")
    return watch, {"baseline_rss_kib": baseline, "session_id": session_id}


def _gateway(args: argparse.Namespace) -> tuple[Stopwatch, Result]:
    import requests

    baseline = proc_status_kib("VmRSS")
    headers = {"x-zoom-s2t-key": TOKEN}
    with requests.Session() as http:
        created = http.post(f"{args.url}{SESSIONS_PATH}", json={"language": "en"}, headers=headers, timeout=30)
        created.raise_for_status()
        session_id = created.json()["result"]["session_id"]
        put_headers = {**headers, "x-filename": Path(args.file).name, "Content-Type": "audio/wav"}
        target = f"{args.url}{SESSIONS_PATH}/{session_id}"
        with Stopwatch() as watch, FirstRead(args.file) as stream:
            response = http.put(target, data=stream, headers=put_headers, timeout=600)
    if response.status_code != 200 or response.json()["result"]["status"] != "uploaded":
        raise RuntimeError(f"PUT through the gateway answered {response.status_code}: {response.text[:300]!r}")
    return watch, {"baseline_rss_kib": baseline, "session_id": session_id, "first_body_at": stream.first_read_at}


WORKERS: dict[str, Callable[[argparse.Namespace], tuple[Stopwatch, Result]]] = {
    "plain-put": _plain_put,
    "plain-patch": _plain_patch,
    "tuspy-default": _tuspy(None),
    "tuspy-50MiB": _tuspy(CHUNK_50MIB),
    "compat-v3": _compat_v3,
    "compat-legacy": _compat_legacy,
    "gateway": _gateway,
}


def main(argv: list[str]) -> int:
    """Run one upload and print its JSON line."""
    interpreter = proc_status_kib("VmRSS")
    parser = argparse.ArgumentParser(description="one benchmark upload (run by bench/run.py)")
    parser.add_argument("contender", choices=CONTENDERS)
    parser.add_argument("--file", required=True)
    parser.add_argument("--url", required=True, help="sink URL, TUS endpoint, base URL or gateway URL")
    parser.add_argument("--state-dir", default=".")
    parser.add_argument("--session-id", default="bench")
    args = parser.parse_args(argv)
    watch, record = WORKERS[args.contender](args)
    size = Path(args.file).stat().st_size
    record.update(
        contender=args.contender,
        bytes=size,
        seconds=watch.seconds,
        cpu_seconds=watch.cpu_seconds,
        started_at=watch.started_at,
        interpreter_rss_kib=interpreter,
        vmhwm_kib=proc_status_kib("VmHWM"),
    )
    emit(record)
    return 0
