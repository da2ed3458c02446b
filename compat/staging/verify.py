"""Dual-run verification: does the shim's V3 path give what the V1 path gave?

For one media file, run the legacy V1 flow against a live V1 service or the emulator's ``--v1``
mode, and the very same requests through the shim (a ``requests.Session`` with
:func:`compat.mount`, V3 underneath); normalise both (session ids, URLs, timestamps; floats within
a tolerance) and diff them field by field. The flow is the happy path (create → PUT → poll →
result → delete) and the refusals around it (:data:`CHECKS`: no token, an unknown token,
malformed JSON, an unknown language, an unknown session, a second delete, a result after the
delete), so errors and deletes are compared as well as the result. A recorded V1 result (a JSON
file) can stand in for the V1 side; only the result is compared then.

``api="zoommedia"`` runs the Zoom Media API v1/v2 flow instead (:func:`run_zoom_flow`): create, the
multipart ``upload``, poll ``done``, the status JSON and the ``Accept: text/vtt`` captions, with the
refusals of :data:`ZOOM_CHECKS` around them, against the old behaviour (a live Zoom Media service, or
the emulator's legacy mode) and through the shim. Session ids are written ``<session_id>`` on both
sides, so that ``sessionId`` and ``zoom_id`` are compared too.

The normalising and diffing live in :mod:`compat.shadow` (``LegacyClient``'s shadow comparisons use
them too); they are re-exported here. Only reads are shadowed: shadowing an upload would
transcribe (and bill) twice.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import requests

from compat.shadow import SESSION, Difference, diff, normalise, shadow_compare

__all__ = [
    "CHECKS",
    "ZOOM_CHECKS",
    "Difference",
    "FlowAnswers",
    "VerifyReport",
    "diff",
    "normalise",
    "run_flow",
    "run_v1_flow",
    "run_zoom_flow",
    "shadow_compare",
    "verify",
]

# Where the shim's side sends its V1 calls: a mounted session serves them; ``.invalid`` never resolves,
# so a request the shim does not serve fails here instead of reaching the network.
SHIM_LEGACY_URL = "http://scriptix-compat-verify.invalid"
UNKNOWN_TOKEN = "scriptix-compat-verify-unknown-token"
UNKNOWN_LANGUAGE = "zz"  # not an ISO 639-1 code
UNKNOWN_SESSION = "0" * 26  # the shape of a Scriptix session id, never issued
CHECKS = (
    "create without a token",
    "create with an unknown token",
    "create with malformed JSON",
    "create with an unknown language",
    "result of an unknown session",
    "delete",
    "second delete",
    "result after the delete",
)
"""The answers compared besides the result, in the order the flow makes them."""
ZOOM_SESSION = "/api/v2/speech-to-text/session"
ZOOM_UNKNOWN_LANGUAGE = "zz-zz"
ZOOM_CHECKS = (
    "create without a token",
    "create with an unknown token",
    "create with malformed JSON",
    "create with an unknown language",
    "status of an unknown session",
    "captions before the upload",
    "upload without an upload part",
    "a second upload",
    "an Accept nothing serves",
)
"""The Zoom Media answers compared besides the status and the captions, in the order the flow makes them."""
Api = Literal["batch_v1", "zoommedia"]


@dataclass
class FlowAnswers:
    """What one side answered: the final result, and each of :data:`CHECKS` as status and JSON."""

    result: dict[str, Any]
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class VerifyReport:
    """The verdict of a dual run, with both normalised results and the other answers compared.

    ``checks`` maps each of :data:`CHECKS` to ``{"v1": {"status", "body"}, "shim": {...}}``; a
    difference there has a path that starts with the check's name in brackets.
    """

    differences: list[Difference]
    v1: dict[str, Any]
    shim: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        return "match" if not self.differences else "mismatch"

    def as_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "differences": [{"path": d.path, "v1": d.v1, "shim": d.shim} for d in self.differences],
            "notes": self.notes,
            "v1": self.v1,
            "shim": self.shim,
            "checks": self.checks,
        }


def _caller(http: requests.Session, url: str, token: str, header: str) -> Callable[..., requests.Response]:
    """``call(method, path, key=token, **kwargs)``: a request to ``url + path`` with ``key`` in ``header``
    (none when ``key`` is ``None``) and a 60 s timeout unless ``timeout=`` says otherwise."""

    def call(method: str, path: str = "", key: str | None = token, **kwargs: Any) -> requests.Response:
        headers = {**({header: key} if key is not None else {}), **kwargs.pop("headers", {})}
        return http.request(method, url + path, headers=headers, timeout=kwargs.pop("timeout", 60), **kwargs)

    return call


def _check_create_refusals(
    check: Callable[[str, requests.Response], object], call: Callable[..., requests.Response], path: str, language: str
) -> None:
    """The refusals every generation's create makes alike: no token, an unknown one, malformed JSON."""
    check("create without a token", call("POST", path, key=None, json={"language": language}))
    check("create with an unknown token", call("POST", path, key=UNKNOWN_TOKEN, json={"language": language}))
    check(
        "create with malformed JSON",
        call("POST", path, data=b'{"language": ', headers={"Content-Type": "application/json"}),
    )


def _poll(
    answer: Callable[[], requests.Response], finished: Callable[[Any], bool], timeout: float, poll_interval: float
) -> requests.Response:
    """``answer()`` every ``poll_interval`` s until its JSON is ``finished`` or ``timeout`` s have passed."""
    deadline = time.monotonic() + timeout
    while True:
        response = answer()
        response.raise_for_status()
        if finished(response.json()) or time.monotonic() > deadline:
            return response
        time.sleep(poll_interval)


def run_flow(
    http: requests.Session,
    base_url: str,
    token: str,
    media: Path,
    *,
    language: str,
    content_type: str,
    timeout: float = 600.0,
    poll_interval: float = 1.0,
) -> FlowAnswers:
    """The legacy flow and the refusals around it, exactly as a V1 integration makes them.

    Sent with ``http`` (plain for a V1 service, mounted for the shim) to ``base_url``; the happy
    path must succeed (``requests.HTTPError`` otherwise), the checks are recorded whatever they answer.
    """
    answers = FlowAnswers(result={})
    call = _caller(http, f"{base_url}{SESSION}", token, "x-zoom-s2t-key")

    def check(name: str, response: requests.Response) -> requests.Response:
        answers.checks[name] = {"status": response.status_code, "body": _body(response)}
        return response

    _check_create_refusals(check, call, "", language)
    _delete_if_created(
        call, check("create with an unknown language", call("POST", json={"language": UNKNOWN_LANGUAGE}))
    )
    check("result of an unknown session", call("GET", f"/{UNKNOWN_SESSION}/result"))
    created = call("POST", json={"language": language})
    created.raise_for_status()
    session_id = created.json()["result"]["session_id"]
    with open(media, "rb") as body:
        put = call(
            "PUT",
            f"/{session_id}",
            data=body,
            headers={"x-filename": media.name, "Content-Type": content_type},
            timeout=600,
        )
    put.raise_for_status()
    answers.result = _poll(
        lambda: call("GET", f"/{session_id}/result"),
        lambda body: body.get("result", {}).get("status") in ("done", "failed"),
        timeout,
        poll_interval,
    ).json()
    check("delete", call("DELETE", f"/{session_id}"))
    check("second delete", call("DELETE", f"/{session_id}"))
    check("result after the delete", call("GET", f"/{session_id}/result"))
    return answers


def _body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:500]


def _delete_if_created(call: Callable[..., requests.Response], response: requests.Response) -> None:
    """A service that accepted the unknown language made a session: remove it."""
    if response.status_code == 200:
        try:
            session_id = response.json()["result"]["session_id"]
        except (ValueError, KeyError, TypeError):
            return
        call("DELETE", f"/{session_id}")


def run_zoom_flow(
    http: requests.Session,
    base_url: str,
    token: str,
    media: Path,
    *,
    language: str,
    content_type: str,
    timeout: float = 600.0,
    poll_interval: float = 1.0,
) -> FlowAnswers:
    """The Zoom Media API v1/v2 flow and the refusals around it, as its clients (``pyzoomapi``) make them.

    The result is ``{"status": <the done status JSON>, "captions": <the WebVTT text>}``; every session
    id in it (and in the checks) is written ``<session_id>``.
    """
    answers = FlowAnswers(result={})
    call = _caller(http, f"{base_url}{ZOOM_SESSION}", token, "X-Zoom-S2T-Key")
    created_ids: list[str] = []

    def check(name: str, response: requests.Response) -> requests.Response:
        answers.checks[name] = {"status": response.status_code, "body": _zoom_body(response, created_ids)}
        return response

    def upload(session_id: str) -> requests.Response:
        with open(media, "rb") as body:
            files = {"upload": (media.name, body, content_type)}
            return call("POST", f"/{session_id}", files=files, timeout=600)

    _check_create_refusals(check, call, "/", language)
    check("create with an unknown language", call("POST", "/", json={"language": ZOOM_UNKNOWN_LANGUAGE}))
    check("status of an unknown session", call("GET", f"/{UNKNOWN_SESSION}"))
    created = call("POST", "/", json={"language": language, "punctuation": False})
    created.raise_for_status()
    session_id = str(created.json()["zoom_id"])
    created_ids.append(session_id)
    check("captions before the upload", call("GET", f"/{session_id}", headers={"Accept": "text/vtt"}))
    check(
        "upload without an upload part",
        call("POST", f"/{session_id}", files={"media": (media.name, b"RIFF", content_type)}),
    )
    upload(session_id).raise_for_status()
    status = _poll(
        lambda: call("GET", f"/{session_id}", headers={"Accept": "application/json"}),
        lambda body: body.get("done") is True,
        timeout,
        poll_interval,
    )
    captions = call("GET", f"/{session_id}/", headers={"Accept": "text/vtt"})
    answers.result = {
        "status": _zoom_body(status, created_ids),
        "captions": {"status": captions.status_code, "text": captions.text},
    }
    check("a second upload", upload(session_id))
    check("an Accept nothing serves", call("GET", f"/{session_id}", headers={"Accept": "image/png"}))
    return answers


def _zoom_body(response: requests.Response, session_ids: list[str]) -> Any:
    """The answer's JSON with each session id written ``<session_id>`` (ids differ between runs)."""
    text = response.text
    for session_id in session_ids:
        text = text.replace(session_id, "<session_id>")
    try:
        return json.loads(text)
    except ValueError:
        return text[:500]


def run_v1_flow(
    base_url: str,
    token: str,
    media: Path,
    *,
    language: str,
    content_type: str,
    timeout: float = 600.0,
    poll_interval: float = 1.0,
) -> dict[str, Any]:
    """The legacy flow against a V1 service with plain ``requests``; its final result."""
    with requests.Session() as http:
        http.trust_env = False
        answers = run_flow(
            http,
            base_url,
            token,
            media,
            language=language,
            content_type=content_type,
            timeout=timeout,
            poll_interval=poll_interval,
        )
    return answers.result


def _run_on_v1(base_url: str, token: str, media: Path, *, api: Api = "batch_v1", **flow: Any) -> FlowAnswers:
    with requests.Session() as http:
        http.trust_env = False
        return _FLOWS[api](http, base_url, token, media, **flow)


def _run_on_shim(
    base_url: str, token: str, media: Path, *, options: dict[str, Any], api: Api = "batch_v1", **flow: Any
) -> FlowAnswers:
    """The same requests through the shim: a session mounted with :func:`compat.mount`, V3 at ``base_url``."""
    from compat.intercept import mount

    with requests.Session() as http:
        http.trust_env = False
        with mount(http, legacy_base_url=SHIM_LEGACY_URL, base_url=base_url, **options):
            return _FLOWS[api](http, SHIM_LEGACY_URL, token, media, **flow)


_FLOWS = {"batch_v1": run_flow, "zoommedia": run_zoom_flow}


def verify(
    media: Path,
    *,
    language: str,
    token: str,
    shim_base_url: str,
    content_type: str,
    v1_base_url: str | None = None,
    recorded: Path | None = None,
    tolerance: float = 1e-3,
    poll_interval: float = 1.0,
    api: Api = "batch_v1",
    **options: Any,
) -> VerifyReport:
    """Run (or load) the V1 side and the shim's side for ``media`` and compare the answers.

    With ``v1_base_url`` the result and every one of :data:`CHECKS` are compared; with
    ``recorded`` (a V1 result as JSON) only the result. ``options`` go to the shim (``mount``).
    ``api="zoommedia"``: the Zoom Media API v1/v2 flow and :data:`ZOOM_CHECKS` (``v1_base_url`` is then
    the old Zoom Media service, and ``recorded`` a ``{"status", "captions"}`` result of that flow).
    """
    notes: list[str] = []
    checks_made = ZOOM_CHECKS if api == "zoommedia" else CHECKS
    flow: dict[str, Any] = {
        "language": language,
        "content_type": content_type,
        "poll_interval": poll_interval,
        "api": api,
    }
    old = "Zoom Media" if api == "zoommedia" else "V1"
    v1_answers: FlowAnswers | None = None
    if recorded is not None:
        v1_result = json.loads(recorded.read_text(encoding="utf-8"))
        notes.append(f"{old} result recorded in {recorded} (errors and deletes not compared: not recorded)")
    elif v1_base_url is not None:
        v1_answers = _run_on_v1(v1_base_url, token, media, **flow)
        v1_result = v1_answers.result
        notes.append(f"{old} flow run against {v1_base_url}")
    else:
        raise ValueError("give a V1 service (v1_base_url) or a recorded V1 result (recorded)")
    shim_answers = _run_on_shim(shim_base_url, token, media, options=options, **flow)
    notes.append(f"shim flow run against {shim_base_url} (V3)")
    v1_clean, shim_clean = normalise(v1_result), normalise(shim_answers.result)
    differences = diff(v1_clean, shim_clean, tolerance=tolerance)
    checks: dict[str, dict[str, Any]] = {}
    if v1_answers is not None:
        for name in checks_made:
            v1_check = normalise(v1_answers.checks.get(name, {}))
            shim_check = normalise(shim_answers.checks.get(name, {}))
            checks[name] = {"v1": v1_check, "shim": shim_check}
            differences += diff(v1_check, shim_check, tolerance=tolerance, path=f"[{name}] $")
        what = "error answers" if api == "zoommedia" else "error and delete answers"
        notes.append(f"also compared {len(checks_made)} {what}: " + "; ".join(checks_made))
    return VerifyReport(differences, v1_clean, shim_clean, notes, checks)
