"""The emulator's TUS 1.0.0 server, checked with tuspy (a client nobody here wrote) and raw requests."""

from __future__ import annotations

import base64
import socket
import time
from pathlib import Path

import pytest
import requests
from emu_helpers import MIB, OTHER_TOKEN, TOKEN, auth, make_wav, metadata_header, sha256_of, tus, write_random
from tusclient import client as tus_client
from tusclient.exceptions import TusCommunicationError

from compat.emulator import Emulator
from compat.emulator.app import UNAUTHORIZED

TUS_METADATA = {"language": "en", "document_type": "caption", "filename": "talk.wav", "filetype": "audio/wav"}


def files_url(emu: Emulator) -> str:
    return emu.url + "/api/v3/files/"


def create(emu: Emulator, length: int, token: str = TOKEN, **headers: str) -> requests.Response:
    return requests.post(
        files_url(emu), headers=tus(token, Upload_Length=str(length), Upload_Metadata=metadata_header(), **headers)
    )


def test_options_advertises_tus_without_auth(emu: Emulator) -> None:
    answer = requests.options(files_url(emu))
    assert answer.status_code == 204
    assert answer.headers["Tus-Version"] == "1.0.0"
    assert answer.headers["Tus-Resumable"] == "1.0.0"
    extensions = answer.headers["Tus-Extension"].split(",")
    assert {"creation", "creation-with-upload", "creation-defer-length", "termination", "expiration"} <= set(extensions)
    assert int(answer.headers["Tus-Max-Size"]) == emu.options.max_size
    assert requests.options(emu.url + "/api/v3/files").status_code == 204  # without the trailing slash too


def test_tuspy_uploads_in_several_patches(emu: Emulator, tmp_path: Path) -> None:
    media = make_wav(tmp_path / "talk.wav", seconds=2.0)  # 32 kB of samples
    uploader_client = tus_client.TusClient(files_url(emu), headers=auth())
    with open(media, "rb") as stream:
        uploader = uploader_client.uploader(file_stream=stream, chunk_size=8 * 1024, metadata=TUS_METADATA)
        uploader.upload()
    stored = emu.upload(uploader.url)
    assert stored.complete and stored.offset == media.stat().st_size
    assert sha256_of(stored.path) == sha256_of(media)
    assert sum(1 for r in emu.requests if r.method == "PATCH" and r.status == 204) >= 4
    assert uploader.url.startswith(emu.url + "/api/v3/files/")  # Location is absolute

    head = requests.head(uploader.url, headers=tus())
    assert head.status_code == 200
    assert head.headers["Upload-Offset"] == head.headers["Upload-Length"] == str(media.stat().st_size)
    assert head.headers["Cache-Control"] == "no-store"
    echoed = dict(pair.split(" ") for pair in head.headers["Upload-Metadata"].split(","))
    assert base64.b64decode(echoed["filename"]) == b"talk.wav"

    info = requests.get(uploader.url, headers=auth()).json()
    assert info["count"] == info["total_results"] == 1
    assert info["result"]["session_id"] == stored.session_id
    assert info["result"]["metadata"] == {**TUS_METADATA, "folder_id": None}
    assert emu.wait_for_status(stored.session_id, "done").duration == pytest.approx(2.0)


def test_tuspy_resumes_after_dropped_patches(emu: Emulator, tmp_path: Path) -> None:
    media = write_random(tmp_path / "noise.bin", 200 * 1024 + 3)
    emu.faults.drop_patch = 2
    uploader_client = tus_client.TusClient(files_url(emu), headers=auth())
    with open(media, "rb") as stream:
        uploader = uploader_client.uploader(
            file_stream=stream, chunk_size=64 * 1024, metadata=TUS_METADATA, retries=3, retry_delay=0
        )
        uploader.upload()
    assert emu.faults.injected["drop_patch"] == 2
    assert sha256_of(emu.upload(uploader.url).path) == sha256_of(media)
    methods = [(r.method, r.status) for r in emu.requests]
    assert methods.count(("PATCH", None)) == 2  # cut unanswered
    assert methods.count(("HEAD", 200)) >= 2  # tuspy asked for the offset after each cut


def test_terminated_upload_is_gone(emu: Emulator, tmp_path: Path) -> None:
    media = write_random(tmp_path / "noise.bin", 100 * 1024)
    uploader_client = tus_client.TusClient(files_url(emu), headers=auth())
    with open(media, "rb") as stream:
        uploader = uploader_client.uploader(file_stream=stream, chunk_size=32 * 1024, metadata=TUS_METADATA)
        uploader.upload(stop_at=32 * 1024)
        assert emu.upload(uploader.url).offset == 32 * 1024
        path = emu.upload(uploader.url).path
        assert requests.delete(uploader.url, headers=tus(OTHER_TOKEN)).status_code == 404
        answer = requests.delete(uploader.url, headers=tus())
        assert answer.status_code == 204
        assert answer.headers["Tus-Resumable"] == "1.0.0"
        assert requests.head(uploader.url, headers=tus()).status_code == 404
        assert requests.delete(uploader.url, headers=tus()).status_code == 404
        assert not path.exists()
        with pytest.raises(TusCommunicationError) as raised:
            uploader_client.uploader(file_stream=stream, url=uploader.url, metadata=TUS_METADATA)
    assert raised.value.status_code == 404


@pytest.mark.parametrize("version", [None, "0.2.2", "2.0.0"])
def test_wrong_tus_resumable_is_412(emu: Emulator, version: str | None) -> None:
    upload_url = create(emu, 10).headers["Location"]
    headers = {**auth(), "Upload-Length": "10", "Upload-Metadata": metadata_header()}
    if version is not None:
        headers["Tus-Resumable"] = version
    patch_headers = {**headers, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
    for answer in (
        requests.post(files_url(emu), headers=headers),
        requests.head(upload_url, headers=headers),
        requests.patch(upload_url, headers=patch_headers, data=b"0123456789"),
        requests.delete(upload_url, headers=headers),
    ):
        assert answer.status_code == 412
        assert answer.headers["Tus-Version"] == "1.0.0"
        assert answer.headers["Tus-Resumable"] == "1.0.0"
    assert emu.upload(upload_url).offset == 0


def test_uploads_belong_to_their_token(emu: Emulator) -> None:
    upload_url = create(emu, 4).headers["Location"]
    patch = {"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
    assert requests.head(upload_url, headers=tus(OTHER_TOKEN)).status_code == 404
    assert requests.patch(upload_url, headers=tus(OTHER_TOKEN, **patch), data=b"abcd").status_code == 404
    assert requests.get(upload_url, headers=auth(OTHER_TOKEN)).status_code == 404
    anonymous = requests.head(upload_url, headers={"Tus-Resumable": "1.0.0"})
    assert anonymous.status_code == 401
    assert requests.get(upload_url).json() == {"error": UNAUTHORIZED}
    bearer = requests.patch(
        upload_url, headers={"Tus-Resumable": "1.0.0", "Authorization": f"Bearer {TOKEN}", **patch}, data=b"abcd"
    )
    assert bearer.status_code == 204 and bearer.headers["Upload-Offset"] == "4"


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Upload-Metadata": ""}, 400),
        ({"Upload-Metadata": metadata_header(language="")}, 400),
        ({"Upload-Metadata": "document_type Y2FwdGlvbg=="}, 400),  # no language
        ({"Upload-Metadata": metadata_header(document_type="transcript")}, 400),
        ({"Upload-Metadata": metadata_header() + ",language ZW4="}, 400),  # duplicate key
        ({"Upload-Metadata": "language !!notbase64!!,document_type Y2FwdGlvbg=="}, 400),
        ({"Upload-Metadata": metadata_header(punctuation="maybe")}, 400),
        ({"Upload-Metadata": metadata_header(document="{not json")}, 400),
        ({"Upload-Metadata": metadata_header(document='{"webhook_method": "GET", "webhook_url": "http://x"}')}, 400),
        ({"Upload-Metadata": metadata_header(session_id="00000000000000000000000000")}, 404),
        ({"Upload-Length": None}, 400),
        ({"Upload-Length": "-1"}, 400),
        ({"Upload-Length": str(2 * MIB)}, 413),
    ],
)
def test_creation_rules(tmp_path: Path, headers: dict[str, str | None], status: int) -> None:
    base = {"Upload-Length": "10", "Upload-Metadata": metadata_header()}
    base.update(headers)  # type: ignore[arg-type]
    sent = tus(**{k.replace("-", "_"): v for k, v in base.items() if v is not None})
    with Emulator(max_size=MIB) as emu:
        answer = requests.post(files_url(emu), headers=sent)
        assert answer.status_code == status, answer.text
        assert "error" in answer.json()
        assert emu.uploads == {}


def test_session_id_binds_only_own_sessions(emu: Emulator) -> None:
    session = requests.post(emu.url + "/api/v3/speech-to-text/session", json={"language": "nl"}, headers=auth())
    session_id = session.json()["result"]["session_id"]
    meta = metadata_header(session_id=session_id)
    foreign = requests.post(files_url(emu), headers=tus(OTHER_TOKEN, Upload_Length="3", Upload_Metadata=meta))
    assert foreign.status_code == 404
    own = requests.post(files_url(emu), headers=tus(Upload_Length="3", Upload_Metadata=meta))
    assert own.status_code == 201
    assert requests.get(own.headers["Location"], headers=auth()).json()["result"]["session_id"] == session_id
    assert len(emu.sessions) == 1


def test_patch_errors(emu: Emulator) -> None:
    upload_url = create(emu, 10).headers["Location"]
    octets = {"Content-Type": "application/offset+octet-stream"}
    wrong_type = requests.patch(
        upload_url, headers=tus(Upload_Offset="0", Content_Type="application/octet-stream"), data=b"01234"
    )
    assert wrong_type.status_code == 415
    assert requests.patch(upload_url, headers=tus(**octets), data=b"01234").status_code == 400  # no Upload-Offset
    assert requests.patch(upload_url, headers=tus(Upload_Offset="3", **octets), data=b"01234").status_code == 409
    first = requests.patch(upload_url, headers=tus(Upload_Offset="0", **octets), data=b"01234")
    assert first.status_code == 204 and first.headers["Upload-Offset"] == "5"
    assert "Upload-Expires" in first.headers
    assert requests.patch(upload_url, headers=tus(Upload_Offset="0", **octets), data=b"01234").status_code == 409
    too_long = requests.patch(upload_url, headers=tus(Upload_Offset="5", **octets), data=b"0123456789")
    assert too_long.status_code == 413
    assert emu.upload(upload_url).offset == 5
    last = requests.patch(upload_url, headers=tus(Upload_Offset="5", **octets), data=b"56789")
    assert last.status_code == 204 and last.headers["Upload-Offset"] == "10"
    assert emu.upload(upload_url).path.read_bytes() == b"0123456789"


def test_creation_with_upload_and_deferred_length(emu: Emulator) -> None:
    with_body = requests.post(
        files_url(emu),
        headers=tus(
            Upload_Length="8",
            Upload_Metadata=metadata_header(),
            Content_Type="application/offset+octet-stream",
        ),
        data=b"RIFF",
    )
    assert with_body.status_code == 201
    assert with_body.headers["Upload-Offset"] == "4"
    assert "Upload-Expires" in with_body.headers
    deferred = requests.post(files_url(emu), headers=tus(Upload_Defer_Length="1", Upload_Metadata=metadata_header()))
    assert deferred.status_code == 201
    url = deferred.headers["Location"]
    head = requests.head(url, headers=tus())
    assert head.headers["Upload-Defer-Length"] == "1" and "Upload-Length" not in head.headers
    octets = {"Content-Type": "application/offset+octet-stream"}
    assert requests.patch(url, headers=tus(Upload_Offset="0", **octets), data=b"abc").status_code == 204
    final = requests.patch(url, headers=tus(Upload_Offset="3", Upload_Length="6", **octets), data=b"def")
    assert final.status_code == 204
    assert requests.head(url, headers=tus()).headers["Upload-Length"] == "6"
    assert emu.upload(url).complete


def test_abandoned_upload_expires(tmp_path: Path) -> None:
    with Emulator(upload_expiry=0.3) as emu:
        created = create(emu, 10)
        url = created.headers["Location"]
        assert created.headers["Upload-Expires"].endswith("GMT")
        octets = {"Content-Type": "application/offset+octet-stream"}
        assert requests.patch(url, headers=tus(Upload_Offset="0", **octets), data=b"01234").status_code == 204
        path = emu.upload(url).path
        time.sleep(0.5)
        assert requests.head(url, headers=tus()).status_code == 410
        assert requests.patch(url, headers=tus(Upload_Offset="5", **octets), data=b"56789").status_code == 410
        assert not path.exists()
        assert emu.upload(url).expired


def test_method_override(emu: Emulator) -> None:
    url = create(emu, 3).headers["Location"]
    overridden = requests.post(
        url,
        headers=tus(X_HTTP_Method_Override="PATCH", Upload_Offset="0", Content_Type="application/offset+octet-stream"),
        data=b"abc",
    )
    assert overridden.status_code == 204 and overridden.headers["Upload-Offset"] == "3"


def test_a_client_that_stops_sending_frees_the_upload(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """A PATCH whose client goes silent keeps the bytes that arrived; meanwhile others get 423."""
    from compat.emulator import server

    monkeypatch.setattr(server._QuietHandler, "timeout", 0.5)
    url = create(emu, 100).headers["Location"]
    path = url.split("://", 1)[1].split("/", 1)[1]
    host, port = emu.url.rsplit("//", 1)[1].split(":")
    octets = {"Content-Type": "application/offset+octet-stream"}
    with socket.create_connection((host, int(port))) as silent:
        head = f"PATCH /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 100\r\nUpload-Offset: 0\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in tus(**octets).items())
        silent.sendall(head.encode() + b"\r\n" + b"x" * 30)
        time.sleep(0.2)
        locked = requests.patch(url, headers=tus(Upload_Offset="0", **octets), data=b"y" * 100)
        assert locked.status_code == 423
        time.sleep(0.6)
    assert requests.head(url, headers=tus()).headers["Upload-Offset"] == "30"
    rest = requests.patch(url, headers=tus(Upload_Offset="30", **octets), data=b"z" * 70)
    assert rest.status_code == 204 and rest.headers["Upload-Offset"] == "100"
    assert emu.upload(url).path.read_bytes() == b"x" * 30 + b"z" * 70


def test_a_dropped_patch_keeps_the_bytes_received(emu: Emulator) -> None:
    url = create(emu, 20_000).headers["Location"]
    emu.faults.drop_patch = 1
    octets = {"Content-Type": "application/offset+octet-stream"}
    with pytest.raises(requests.ConnectionError):
        requests.patch(url, headers=tus(Upload_Offset="0", **octets), data=b"a" * 20_000)
    assert requests.head(url, headers=tus()).headers["Upload-Offset"] == "10000"  # half the body, kept
    assert emu.faults.drop_patch == 0 and emu.faults.injected["drop_patch"] == 1
    rest = requests.patch(url, headers=tus(Upload_Offset="10000", **octets), data=b"b" * 10_000)
    assert rest.headers["Upload-Offset"] == "20000"
