"""``scan`` finds the Zoom Media API v1/v2 calls, in every language it reads and in Logic App JSON."""

from __future__ import annotations

import json

import pytest

from compat.staging.operations import REPLACEMENTS as STAGING_REPLACEMENTS
from compat.staging.operations import replacement_for
from compat.staging.scan import REPLACEMENTS, scan_source
from compat.staging.scan.json_requests import requests_in
from compat.staging.scan.model import ZOOM_MEDIA_OPERATIONS

Case = tuple[str, str, list[tuple[int, str, str]]]

CASES: list[Case] = [
    (
        "client.py",
        """
import requests
BASE = "https://api.zoommedia.ai/api/v1"
H = {"X-Zoom-S2T-Key": "t"}
def create():
    return requests.post(BASE + "/speech-to-text/session/", json={"language": "en-us"}, headers=H)
def upload(sid, f):
    return requests.post(f"{BASE}/speech-to-text/session/{sid}", files={"upload": f}, headers=H)
def by_url(sid, url):
    return requests.post(f"{BASE}/speech-to-text/session/{sid}", json={"video_url": url}, headers=H)
def status(sid):
    return requests.get(f"{BASE}/speech-to-text/session/{sid}/", headers=H)
def vtt(sid):
    return requests.get(f"{BASE}/speech-to-text/session/{sid}", headers={**H, "Accept": "text/vtt"})
def gone(sid):
    requests.delete(f"{BASE}/speech-to-text/session/{sid}", headers=H)
def lookups(d):
    return d.get("zoom_id"), H.get("X-Zoom-S2T-Key")
""",
        [
            (6, "zm_create_session", "high"),
            (8, "zm_upload", "high"),
            (10, "zm_video_url", "high"),
            (12, "zm_get_result", "high"),
            (14, "zm_captions", "high"),
        ],
    ),
    (
        "token_header.py",
        """
import requests
def create(base, token):
    # the token header of the Logic App templates names the API even when the host is a parameter
    return requests.post(f"{base}/speech-to-text/session", json={"language": "nl-nl"},
                         headers={"X-Zoom-S2T-Token": token})
""",
        [(5, "zm_create_session", "high")],
    ),
    (
        "shape_only.py",
        """
import requests
def send(base, sid, f):
    requests.post(f"{base}/speech-to-text/session/{sid}", files={"upload": f})
def captions(base, sid):
    return requests.get(f"{base}/speech-to-text/session/{sid}", headers={"Accept": "text/vtt"}).text
def status(base, sid):
    return requests.get(f"{base}/speech-to-text/session/{sid}").json()
""",
        # nothing names Zoom Media: only the shapes that no other generation has (medium); a plain GET of a
        # session is V3's own call
        [(4, "zm_upload", "medium"), (6, "zm_captions", "medium")],
    ),
    (
        "mixed.py",
        """
import requests
ZOOM = "https://api.zoommedia.ai/api/v2/speech-to-text/session"
V3 = "https://api.scriptix.io/api/v3/speech-to-text/session"
def old(sid):
    return requests.get(f"{ZOOM}/{sid}")
def new(base, sid):
    return requests.get(f"{V3}/{sid}"), requests.get(f"{base}/speech-to-text/session/{sid}")
""",
        # a file in the middle of its migration: only the call that names Zoom Media is one
        [(6, "zm_get_result", "high")],
    ),
    (
        "client.js",
        """
const ZOOM = "https://api.zoommedia.ai/api/v2/speech-to-text/session";
const created = await axios.post(`${ZOOM}/`, { language: "en-us" }, { headers: { "X-Zoom-S2T-Key": key } });
const form = new FormData();
form.append("upload", file);
await fetch(`${ZOOM}/${id}`, { method: "POST", body: form });
const status = await fetch(`${ZOOM}/${id}`);
const vtt = await axios.get(`${ZOOM}/${id}`, { headers: { Accept: "text/vtt" } });
await fetch(`${ZOOM}/${id}`, { method: "POST", body: JSON.stringify({ video_url: link }) });
""",
        [
            (3, "zm_create_session", "high"),
            (6, "zm_upload", "high"),
            (7, "zm_get_result", "high"),
            (8, "zm_captions", "high"),
            (9, "zm_video_url", "high"),
        ],
    ),
    (
        "client.ts",
        """
const base: string = process.env.ZOOM_URL ?? "https://api.zoommedia.ai/api/v1";
export const status = (id: string) => this.http.get<Status>(`${base}/speech-to-text/session/${id}`);
""",
        [(3, "zm_get_result", "high")],
    ),
    (
        "zoom.php",
        """<?php
$base = "https://api.zoommedia.ai/api/v1/speech-to-text/session/";
$ch = curl_init($base . $id);
curl_setopt($ch, CURLOPT_POST, 1);
curl_setopt($ch, CURLOPT_POSTFIELDS, ['upload' => new CURLFile($path)]);
curl_exec($ch);
$ch2 = curl_init($base . $id);
curl_setopt($ch2, CURLOPT_HTTPHEADER, ['X-Zoom-S2T-Key: ' . $key, 'Accept: text/vtt']);
$vtt = curl_exec($ch2);
$ch3 = curl_init($base);
curl_setopt($ch3, CURLOPT_POSTFIELDS, json_encode(['language' => 'nl-nl', 'punctation' => false]));
""",
        # curl_init names no method: its guess (a GET) gives way to what later statements set up
        # (a GET of the collection is no call: the create is where its POST is set, as for Batch V1)
        [(3, "zm_upload", "high"), (7, "zm_captions", "high"), (11, "zm_create_session", "high")],
    ),
    (
        "zoom.sh",
        """
API=https://api.zoommedia.ai/api/v1/speech-to-text/session
SID=$(curl -s -X POST "$API/" -H "X-Zoom-S2T-Key: $KEY" -d '{"language": "en-us"}' | jq -r .sessionId)
curl -s -X POST "$API/$SID" -H "X-Zoom-S2T-Key: $KEY" -F "upload=@talk.wav"
curl -s "$API/$SID" -H "X-Zoom-S2T-Key: $KEY"
curl -s "$API/$SID" -H "X-Zoom-S2T-Key: $KEY" -H "Accept: text/vtt" -o talk.vtt
curl -s -X DELETE "$API/$SID" -H "X-Zoom-S2T-Key: $KEY"
""",
        [
            (3, "zm_create_session", "high"),
            (4, "zm_upload", "high"),
            (5, "zm_get_result", "high"),
            (6, "zm_captions", "high"),
        ],
    ),
    (
        "zoom.go",
        """package zoom
const base = "https://api.zoommedia.ai/api/v2"
func Upload(id string, f io.Reader) error {
	w := multipart.NewWriter(body)
	part, _ := w.CreateFormFile("upload", "talk.wav")
	req, _ := http.NewRequest("POST", base+"/speech-to-text/session/"+id, body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	status, err := http.Get(base + "/speech-to-text/session/" + id)
	return err
}
""",
        [(6, "zm_upload", "high"), (9, "zm_get_result", "high")],
    ),
    (
        "Zoom.java",
        """class Zoom {
  static final String ZOOM = "https://api.zoommedia.ai/api/v2/speech-to-text/session";
  String captions(String id) throws Exception {
    HttpRequest req = HttpRequest.newBuilder(URI.create(ZOOM + "/" + id)).header("Accept", "text/vtt").GET().build();
    return client.send(req, BodyHandlers.ofString()).body();
  }
}
""",
        [(4, "zm_captions", "high")],
    ),
    (
        "zoom.rb",
        """
ZOOM = "https://api.zoommedia.ai/api/v1/speech-to-text/session"
RestClient.post("#{ZOOM}/#{id}", { upload: File.new(path, "rb"), multipart: true }, "X-Zoom-S2T-Key" => key)
HTTParty.get("#{ZOOM}/#{id}", headers: { "X-Zoom-S2T-Key" => key, "Accept" => "text/vtt" })
HTTParty.post("#{ZOOM}/", body: { language: "en-us" }.to_json, headers: { "X-Zoom-S2T-Key" => key })
""",
        [(3, "zm_upload", "high"), (4, "zm_captions", "high"), (5, "zm_create_session", "high")],
    ),
]


@pytest.mark.parametrize(("filename", "source", "expected"), CASES, ids=[c[0] for c in CASES])
def test_zoom_media_calls(filename: str, source: str, expected: list[tuple[int, str, str]]) -> None:
    got = [(f.line, f.operation, f.confidence) for f in scan_source(source, filename)]
    assert got == expected


def test_code_that_uses_tus_gives_nothing_even_where_it_mentions_the_old_api() -> None:
    migrated = """
import requests
from tusclient import client
# was: requests.post("https://api.zoommedia.ai/api/v1/speech-to-text/session/", json=...)
BASE = "https://api.scriptix.io/api/v3"
def run(path, token):
    created = requests.post(f"{BASE}/speech-to-text/session", json={"language": "nl-nl"})
    client.TusClient(f"{BASE}/files/").uploader(path, metadata={"session_id": created.json()["result"]["session_id"]})
    return requests.get(f"{BASE}/speech-to-text/session/{created.json()['result']['session_id']}/result").json()
"""
    assert scan_source(migrated, "migrated.py") == []


# Logic App / ARM template JSON -----------------------------------------------------------------

WORKFLOW = {
    "definition": {
        "$schema": "https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#",
        "actions": {
            "Create_session": {
                "type": "HttpWebhook",
                "inputs": {
                    "subscribe": {
                        "method": "POST",
                        "uri": "https://api.zoommedia.ai/api/v2/speech-to-text/session",
                        "body": {"language": "en-us", "callback_url": "@{listCallbackUrl()}"},
                    },
                    "unsubscribe": {},
                },
            },
            "For_each_video": {
                "type": "Foreach",
                "foreach": "@body('List')",
                "actions": {
                    "Scope": {
                        "type": "Scope",
                        "actions": {
                            "Status": {
                                "type": "Http",
                                "inputs": {
                                    "method": "get",
                                    "uri": "@{parameters('zoom')}/speech-to-text/session/@{item()}",
                                },
                            }
                        },
                    }
                },
            },
            "Notify": {"type": "Http", "inputs": {"method": "POST", "uri": "https://hooks.example.com/done"}},
        },
    },
    "parameters": {"zoom": {"defaultValue": "https://api.zoommedia.ai/api/v1"}},
}


def test_logic_app_requests_nested_anywhere() -> None:
    source = json.dumps(WORKFLOW, indent=2)
    lines = source.splitlines()
    found = [(f.line, f.operation, f.confidence, f.language) for f in scan_source(source, "workflow.json")]
    subscribe = next(i for i, line in enumerate(lines, 1) if "api/v2/speech-to-text/session" in line)
    status = next(i for i, line in enumerate(lines, 1) if "@{parameters('zoom')}" in line)
    # the other host gives nothing; the status read's host is a parameter whose default names Zoom Media
    assert found == [
        (subscribe, "zm_create_session", "high", "json"),
        (status, "zm_get_result", "medium", "json"),
    ]


def test_a_template_that_also_calls_v3_decides_each_request_by_its_own_uri() -> None:
    workflow = json.loads(json.dumps(WORKFLOW))
    workflow["definition"]["actions"]["Result_from_V3"] = {
        "type": "Http",
        "inputs": {"method": "GET", "uri": "https://api.scriptix.io/api/v3/speech-to-text/session/@{x}/result"},
    }
    found = [(f.operation, f.confidence) for f in scan_source(json.dumps(workflow, indent=1), "w.json")]
    assert found == [("zm_create_session", "high")]  # the parameter's session read may be either: no finding


def test_json_without_the_template_marker_or_malformed_is_not_read() -> None:
    plain = {"requests": [{"method": "POST", "uri": "https://api.zoommedia.ai/api/v1/speech-to-text/session/"}]}
    assert scan_source(json.dumps(plain), "payload.json") == []
    marked = {"$schema": "https://schema.management.azure.com/x#", **plain}
    assert [f.operation for f in scan_source(json.dumps(marked), "t.json")] == ["zm_create_session"]
    assert scan_source(json.dumps(marked)[:-5], "t.json") == []  # cut short: not JSON, no findings


def test_request_lines_follow_the_uri_keys_and_fall_back_to_line_1() -> None:
    source = '{\n "a": {"method": "GET",\n   "uri": "x"},\n "b": [{"uri": "y", "method": "PUT"}]\n}\n'
    assert [(line, obj["uri"]) for line, obj in requests_in(source)] == [(3, "x"), (4, "y")]
    escaped = '{"a": {"method": "GET", "\\u0075ri": "x"}}'  # the key spelled with an escape
    assert [(line, obj["uri"]) for line, obj in requests_in(escaped)] == [(1, "x")]
    assert requests_in("[1, 2") == [] and requests_in('{"uri": "x"}') == []  # broken; no method


# replacements ------------------------------------------------------------------------------------


def test_every_zoom_media_operation_has_its_replacement() -> None:
    expected = {
        "zm_create_session": "compat.V3Client.create_session(",
        "zm_upload": "compat.V3Client.upload(file, metadata)",
        "zm_video_url": "download it and compat.V3Client.upload(stream, metadata)",
        "zm_get_result": "compat.V3Client.get_result(session_id)",
        "zm_captions": 'compat.formats.render(compat.V3Client(...).get_result(session_id), "vtt")',
    }
    assert set(expected) == set(ZOOM_MEDIA_OPERATIONS)
    for operation, text in expected.items():
        assert text in REPLACEMENTS[operation]
        assert REPLACEMENTS[operation].endswith("see MIGRATION.md#the-zoom-media-api-v1v2-generation")
        assert operation in STAGING_REPLACEMENTS
        assert replacement_for(operation).endswith("see MIGRATION.md#the-zoom-media-api-v1v2-generation")
    assert "V3Client.upload" in replacement_for("zm_upload")
    assert "TUS" in REPLACEMENTS["zm_upload"] and "/api/v3/files/" in REPLACEMENTS["zm_upload"]
