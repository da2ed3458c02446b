"""``scan``: the static search for legacy calls, on a sample repository in eight languages and Logic App JSON.

Batch V1 and the older Zoom Media API v1/v2 (``zm_*``; its own cases: ``test_scan_zoommedia.py``).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from compat.staging.scan import REPLACEMENTS, Finding, language_of, main, scan, scan_report, scan_source
from compat.staging.scan.model import ZOOM_MEDIA_OPERATIONS

HERE = Path(__file__).parent
SAMPLE = HERE / "sample_repo"
MIGRATION = HERE.parents[1] / "MIGRATION.md"

# (file, line, operation, confidence, a piece of the snippet)
EXPECTED: list[tuple[str, int, str, str, str]] = [
    ("csharp/V1Client.cs", 20, "upload", "high", "_http.PutAsync("),
    ("go/upload.go", 20, "upload", "high", "http.NewRequest(http.MethodPut, url, f)"),
    ("java/V1Client.java", 15, "upload", "high", "HttpRequest request = HttpRequest.newBuilder()"),
    ("js/v1_client.js", 9, "media_source", "high", "axios.post(SESSIONS, {"),
    ("js/v1_client.js", 18, "upload", "high", "await fetch(url, {"),
    ("js/v1_client.js", 30, "align", "high", "/align`"),
    ("js/v1_client.js", 44, "upload", "low", "// await axios.put("),
    ("php/v1_curl.php", 8, "upload", "high", "CURLOPT_CUSTOMREQUEST, 'PUT'"),
    ("php/v1_guzzle.php", 16, "media_source", "high", "$this->http->post('/api/v3/speech-to-text/session'"),
    ("php/v1_guzzle.php", 25, "align", "high", "/align"),
    ("python/other_clients.py", 14, "media_source", "medium", "DEFAULT_JOB = {"),
    ("python/other_clients.py", 24, "upload", "high", "return self.http.put("),
    ("python/other_clients.py", 33, "upload", "high", "urllib.request.Request("),
    ("python/other_clients.py", 44, "create_session", "low", "urllib.request.Request(BASE"),
    ("python/other_clients.py", 49, "upload", "medium", 'requests.put(url, data=data, headers={"x-filename"'),
    ("python/v1_client.py", 12, "create_session", "low", "requests.post(SESSIONS, json={"),
    ("python/v1_client.py", 17, "media_source", "high", "requests.post("),
    ("python/v1_client.py", 29, "upload", "high", "requests.put("),
    ("python/v1_client.py", 39, "align", "high", "requests.post("),
    ("python/v1_client.py", 57, "upload", "low", "# requests.put("),
    ("ruby/v1_client.rb", 9, "upload", "high", "Net::HTTP::Put.new(uri)"),
    ("shell/v1_flow.sh", 8, "create_session", "low", 'SESSION_ID=$(curl -s -X POST "$API"'),
    ("shell/v1_flow.sh", 13, "upload", "high", 'curl -s -X PUT "$API/$SESSION_ID"'),
    ("shell/v1_flow.sh", 20, "upload", "high", "curl -s -T b.mp3"),
    ("shell/v1_flow.sh", 23, "align", "high", '"$API/$SESSION_ID/align"'),
    ("shell/v1_flow.sh", 27, "media_source", "high", 'curl -s -X POST "$API"'),
]
# The Zoom Media API v1/v2 clients: the vendor's SDK style (its base URL a parameter: medium), a converter,
# the Node sample of its docs, a C# Azure Function, a Logic App template
ZOOM_EXPECTED: list[tuple[str, int, str, str, str]] = [
    ("csharp/ZoomFunction.cs", 19, "zm_create_session", "high", "await Http.PostAsync(ZoomBase, create)"),
    ("csharp/ZoomFunction.cs", 23, "zm_video_url", "high", "await Http.PostAsync(ZoomBase + sessionId, media)"),
    ("csharp/ZoomFunction.cs", 29, "zm_get_result", "high", "Http.GetStringAsync(ZoomBase + sessionId)"),
    ("csharp/ZoomFunction.cs", 35, "zm_captions", "high", "new HttpRequestMessage(HttpMethod.Get"),
    ("js/zoom_node_sample.js", 8, "zm_create_session", "high", "request.post("),
    ("js/zoom_node_sample.js", 14, "zm_upload", "high", "request.post({ url: API + sessionId"),
    ("js/zoom_node_sample.js", 22, "zm_get_result", "high", "request.get({ url: `${API}${sessionId}`"),
    ("logicapp/zoom-video-indexer.json", 30, "zm_create_session", "high", '"uri": "https://api.zoommedia.ai/api/v1/'),
    ("logicapp/zoom-video-indexer.json", 49, "zm_video_url", "high", "/session/@{body('Create_session')['sessionId']}"),
    ("logicapp/zoom-video-indexer.json", 61, "zm_upload", "high", "/session/@{body('Create_session')['sessionId']}"),
    ("logicapp/zoom-video-indexer.json", 113, "zm_get_result", "high", "api/v2/speech-to-text/session/@{triggerBody()"),
    ("logicapp/zoom-video-indexer.json", 123, "zm_captions", "high", "api/v2/speech-to-text/session/@{triggerBody()"),
    ("python/zoom_client.py", 38, "zm_create_session", "medium", "response = requests.post("),
    ("python/zoom_client.py", 50, "zm_upload", "medium", "requests.post(self._url(), files=files"),
    ("python/zoom_client.py", 57, "zm_get_result", "medium", "return requests.get(self._url()"),
    ("python/zoom_client.py", 61, "zm_captions", "medium", "return requests.get(self._url()"),
    ("python/zoom_to_vtt.py", 13, "zm_get_result", "high", 'requests.get(f"{SESSIONS}/{session_id}"'),
]
EXPECTED = sorted(EXPECTED + ZOOM_EXPECTED)

V3_FILES = ["python/v3_tus.py", "js/v3_tus.ts", "js/v3_uppy.js", "shell/v3_tus.sh", "js/v3_after_zoom.js"]
NOT_READ = ["js/package.json"]  # JSON without the Azure template marker

LANGUAGES = {
    "csharp": "csharp",
    "go": "go",
    "java": "java",
    "php": "php",
    "python": "python",
    "ruby": "ruby",
    "shell": "shell",
    "logicapp": "json",
}


@pytest.fixture(scope="module")
def findings() -> list[Finding]:
    return scan(SAMPLE)


def _key(finding: Finding) -> tuple[str, int, str, str]:
    return finding.file, finding.line, finding.operation, finding.confidence


# -- the sample repository -------------------------------------------------------------------------


def test_sample_repo_gives_exactly_the_expected_findings(findings: list[Finding]) -> None:
    assert [_key(f) for f in findings] == [e[:4] for e in EXPECTED]


@pytest.mark.parametrize("expected", EXPECTED, ids=lambda e: f"{e[0]}:{e[1]}")
def test_each_expected_finding(findings: list[Finding], expected: tuple[str, int, str, str, str]) -> None:
    file, line, operation, confidence, fragment = expected
    (finding,) = [f for f in findings if (f.file, f.line) == (file, line)]
    assert (finding.operation, finding.confidence) == (operation, confidence)
    assert fragment in finding.snippet
    assert finding.replacement == REPLACEMENTS[operation]
    source_line = (SAMPLE / file).read_text().splitlines()[line - 1]
    assert finding.snippet == source_line.strip()


def test_every_finding_names_a_replacement_with_a_migration_anchor(findings: list[Finding]) -> None:
    headings = [line.lstrip("#").strip() for line in MIGRATION.read_text().splitlines() if line.startswith("## ")]
    anchors = {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}
    for finding in findings:
        assert finding.replacement.strip()
        match = re.search(r"MIGRATION\.md#([\w-]+)", finding.replacement)
        assert match, finding.replacement
        assert match.group(1) in anchors, (match.group(1), sorted(anchors))
    assert "MIGRATION.md#3-upload-media-put" in REPLACEMENTS["upload"]
    assert "/api/v3/files/" in REPLACEMENTS["upload"] and "session_id=" in REPLACEMENTS["upload"]
    assert "compat.V3Client.upload(" in REPLACEMENTS["upload"]


def test_unmarked_json_is_not_read(findings: list[Finding]) -> None:
    for name in NOT_READ:
        assert "speech-to-text/session" in (SAMPLE / name).read_text()
        assert scan(SAMPLE / name) == []
        assert scan_report(SAMPLE / name).files_scanned == 0
    assert not any(f.file in NOT_READ for f in findings)


def test_create_session_is_low_and_says_the_call_is_still_valid(findings: list[Finding]) -> None:
    creates = [f for f in findings if f.operation == "create_session"]
    assert creates and all(f.confidence == "low" for f in creates)
    assert "still valid in V3" in REPLACEMENTS["create_session"]
    assert "media handling" in REPLACEMENTS["create_session"]


def test_languages(findings: list[Finding]) -> None:
    for finding in findings:
        top = finding.file.split("/")[0]
        expected = LANGUAGES.get(top) or ("typescript" if finding.file.endswith(".ts") else "javascript")
        assert finding.language == expected


def test_results_and_deletes_give_no_findings(findings: list[Finding]) -> None:
    for finding in findings:
        assert "/result" not in finding.snippet
        assert "delete" not in finding.snippet.lower()


@pytest.mark.parametrize("name", V3_FILES)
def test_v3_code_gives_no_findings(name: str) -> None:
    if name != "js/v3_uppy.js":  # these create, read and delete sessions: still no finding
        assert "speech-to-text/session" in (SAMPLE / name).read_text()
    assert scan(SAMPLE / name) == []


def test_a_mere_mention_in_a_comment_is_not_reported(findings: list[Finding]) -> None:
    mentions = {("python/v1_client.py", 56), ("js/v1_client.js", 43), ("shell/v1_flow.sh", 12)}
    for file, line in mentions:
        assert "speech-to-text/session" in (SAMPLE / file).read_text().splitlines()[line - 1]
    assert not {(f.file, f.line) for f in findings} & mentions


def test_scanning_one_file_names_it_by_its_file_name() -> None:
    report = scan_report(SAMPLE / "ruby" / "v1_client.rb")
    assert report.files_scanned == 1
    assert [(f.file, f.line) for f in report.findings] == [("v1_client.rb", 9)]


# -- command line ------------------------------------------------------------------------------------


def test_json_format(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(SAMPLE), "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert set(document) == {"findings", "files_scanned"}
    read = [p for p in SAMPLE.rglob("*") if p.is_file() and p.relative_to(SAMPLE).as_posix() not in NOT_READ]
    assert document["files_scanned"] == len(read)
    rows = document["findings"]
    assert [(r["file"], r["line"]) for r in rows] == sorted((r["file"], r["line"]) for r in rows)
    assert [(r["file"], r["line"], r["operation"], r["confidence"]) for r in rows] == [e[:4] for e in EXPECTED]
    for row in rows:
        assert set(row) == {"file", "line", "operation", "replacement", "confidence", "language", "snippet"}
        assert isinstance(row["line"], int) and row["line"] >= 1
        assert row["operation"] in ("upload", "media_source", "align", "create_session", *ZOOM_MEDIA_OPERATIONS)
        assert row["confidence"] in ("high", "medium", "low")
        assert len(row["snippet"]) <= 200


def test_text_format(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(SAMPLE)]) == 0
    lines = capsys.readouterr().out.splitlines()
    first, arrow = lines[0], lines[1]
    assert first == (
        f"{SAMPLE.as_posix()}/csharp/V1Client.cs:20: [upload] (high) "
        'var response = await _http.PutAsync($"{BaseUrl}/api/v3/speech-to-text/session/{sessionId}", content);'
    )
    assert arrow == f"    -> {REPLACEMENTS['upload']}"
    assert len(lines) == 2 * len(EXPECTED) + 1
    summary = lines[-1]
    high = sum(1 for e in EXPECTED if e[3] == "high")
    medium = sum(1 for e in EXPECTED if e[3] == "medium")
    low = sum(1 for e in EXPECTED if e[3] == "low")
    files = len({e[0] for e in EXPECTED})
    assert summary.startswith(
        f"{len(EXPECTED)} legacy calls in {files} files (high {high}, medium {medium}, low {low};"
    )


def test_text_format_without_findings(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(SAMPLE / "python" / "v3_tus.py")]) == 0
    assert capsys.readouterr().out == "No legacy calls found (1 file scanned).\n"


def test_fail_on_findings_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(SAMPLE), "--fail-on-findings"]) == 1
    assert main([str(SAMPLE), "--format", "json", "--fail-on-findings"]) == 1
    assert main([str(SAMPLE)]) == 0
    clean = tmp_path / "v3only"
    for name in V3_FILES:
        (clean / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SAMPLE / name, clean / name)
    assert main([str(clean), "--fail-on-findings"]) == 0
    assert main([str(clean), "--format", "json", "--fail-on-findings"]) == 0
    capsys.readouterr()


def test_missing_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope"
    assert main([str(missing)]) == 2
    assert main([str(missing), "--format", "json", "--fail-on-findings"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "no such file or directory" in captured.err and str(missing) in captured.err
    with pytest.raises(FileNotFoundError):
        scan(missing)


def test_bad_usage_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert main([str(SAMPLE), "--format", "xml"]) == 2
    assert "usage: scriptix-compat scan" in capsys.readouterr().err


# -- what is skipped ---------------------------------------------------------------------------------

V1_PUT_JS = 'fetch(`${B}/api/v3/speech-to-text/session/${id}`, { method: "PUT", body: f });\n'


def test_binary_node_modules_and_other_skipped_files(tmp_path: Path) -> None:
    (tmp_path / "app.js").write_text(V1_PUT_JS)
    for skipped_dir in ("node_modules/sdk", ".git/hooks", ".venv/lib", "venv", "__pycache__", "dist", "build"):
        (tmp_path / skipped_dir).mkdir(parents=True)
        (tmp_path / skipped_dir / "index.js").write_text(V1_PUT_JS)
    (tmp_path / "blob.js").write_bytes(b"\x00\x01" + V1_PUT_JS.encode())  # binary
    (tmp_path / "huge.js").write_text(V1_PUT_JS + "//" + "x" * (2 * 1024 * 1024) + "\n")  # over 2 MiB
    (tmp_path / "vendor.min.js").write_text(V1_PUT_JS)
    (tmp_path / "notes.md").write_text("curl -X PUT https://api.scriptix.io/api/v3/speech-to-text/session/1\n")
    report = scan_report(tmp_path)
    assert [(f.file, f.line, f.operation) for f in report.findings] == [("app.js", 1, "upload")]
    assert report.files_scanned == 1
    assert report.files_skipped == 2  # the binary and the huge one


def test_a_script_without_extension_is_read_by_its_shebang(tmp_path: Path) -> None:
    script = tmp_path / "deploy"
    script.write_text('#!/usr/bin/env bash\ncurl -X PUT "$API/api/v3/speech-to-text/session/$ID" --data-binary @a\n')
    assert [(f.file, f.line, f.language) for f in scan(tmp_path)] == [("deploy", 2, "shell")]
    assert language_of("x.tsx") == "typescript" and language_of("x.md") is None and language_of("a.min.js") is None


# -- rules, one language at a time ---------------------------------------------------------------------

Case = tuple[str, str, list[tuple[int, str, str]]]

CASES: list[Case] = [
    (
        "consts.py",
        """
import requests
SESSIONS = "https://api.scriptix.io/api/v3/speech-to-text/session"
def shadowed(SESSIONS, data):
    requests.put(SESSIONS + "/1", data=data)
URL = SESSIONS + "/x"
URL = "https://elsewhere.example/upload"
def reassigned(data):
    requests.put(URL, data=data)
def good(sid, data):
    url = "{}/{}".format(SESSIONS, sid)
    return requests.request("PUT", url, data=data)
def joined(sid, data):
    requests.put("/".join([SESSIONS, sid]), data=data)
""",
        [(12, "upload", "high"), (14, "upload", "high")],
    ),
    (
        "payload.py",
        """
import requests, httpx
from urllib.parse import urljoin
BASE = "https://api.scriptix.io/"
def create(src):
    payload = {"language": "en"}
    payload["media_source"] = src
    return requests.post(urljoin(BASE, "api/v3/speech-to-text/session"), json=payload)
def align(sid, media):
    return httpx.post(f"{BASE}api/v3/speech-to-text/session/{sid}/align", data={"x": 1})
LABELS = {"media_source": "Media source", "upload": "Upload"}
""",
        [(8, "media_source", "high"), (10, "align", "medium")],
    ),
    (
        "helpers.py",
        """
import requests
BASE = "https://api.scriptix.io"
def session_url(sid):
    \"\"\"The V1 session URL.\"\"\"
    return f"{BASE}/api/v3/speech-to-text/session/{sid}"
class Client:
    def _url(self, sid):
        return session_url(sid)
    def upload(self, sid, f):
        return requests.put(self._url(sid), data=f)
    def align(self, sid, m):
        return requests.post(self._url(sid) + "/align", files={"media_file": m})
""",
        [(11, "upload", "high"), (13, "align", "high")],
    ),
    (
        "generic.ts",
        """
await this.http.put<Resp>(`${base}/api/v3/speech-to-text/session/${id}`, file);
await this.http.post<Resp>(`${base}/api/v3/speech-to-text/session`, { language: "en" });
""",
        [(2, "upload", "high"), (3, "create_session", "low")],
    ),
    (
        "broken.py",
        """
import requests
print "python 2"
requests.put("https://api.scriptix.io/api/v3/speech-to-text/session/" + sid, data=f)
""",
        [(4, "upload", "high")],
    ),
    (
        "browser.js",
        """
const base = "https://api.scriptix.io/api/v3/speech-to-text/session";
axios.put(base + "/" + id, file, { headers: { "x-filename": "a.wav" } });
const xhr = new XMLHttpRequest();
xhr.open("PUT", `${base}/${id}`);
xhr.send(file);
$.ajax({ url: base + "/" + id, type: "PUT", data: file });
const opts = { method: "PUT", headers: { "x-filename": "a" } };
fetch(`${base}/${id}`, opts);
await axios.put(presigned, file, { headers: { "Content-Type": "audio/mpeg" } });
await axios.put(uploadUrl, file, { headers: { "x-filename": name } });
await axios.delete(`${base}/${id}`);
const r = await fetch(`${base}/${id}/result`);
console.log("PUT " + `${base}/${id}`);
""",
        [
            (3, "upload", "high"),
            (5, "upload", "high"),
            (7, "upload", "high"),
            (9, "upload", "high"),
            (11, "upload", "medium"),
        ],
    ),
    (
        "client.js",
        """
const S = "https://api.scriptix.io/api/v3/speech-to-text/session";
const client = {
  upload: async (id, file) => {
    await audit("start");
    return fetch(`${S}/${id}`, { method: "PUT", body: file });
  },
  align: async (id, form) => fetch(`${S}/${id}/align`, { method: "POST", body: form }),
  remove: async (id) => fetch(`${S}/${id}`, { method: "DELETE" }),
};
const fd = new FormData(); fd.append("media_file", m);
await fetch(apiBase + "/align", { method: "POST", body: fd });
await axios.post(createUrl, { language: "en", media_source: src });
const LABELS = { media_source: "Media source" };
""",
        [(6, "upload", "high"), (8, "align", "medium"), (12, "align", "medium"), (13, "media_source", "medium")],
    ),
    (
        "laravel.php",
        """<?php
$url = "https://api.scriptix.io/api/v3/speech-to-text/session/" . $id;
$r = Http::withHeaders(['x-zoom-s2t-key' => $t])->withBody($data, 'audio/wav')->put($url);
$ch = curl_init();
curl_setopt_array($ch, [
    CURLOPT_URL => $url,
    CURLOPT_PUT => true,
]);
$ch2 = curl_init($url . '/align');
curl_setopt($ch2, CURLOPT_POST, true);
curl_setopt($ch2, CURLOPT_POSTFIELDS, ['media_file' => new CURLFile($m), 'transcript_file' => new CURLFile($t)]);
$ch3 = curl_init("https://api.scriptix.io/api/v3/speech-to-text/session");
curl_setopt($ch3, CURLOPT_POST, 1);
curl_setopt($ch3, CURLOPT_POSTFIELDS, json_encode(['language' => 'en', 'media_source' => $src]));
""",
        [(3, "upload", "high"), (5, "upload", "high"), (10, "align", "high"), (13, "media_source", "high")],
    ),
    (
        "tools.sh",
        """
B=https://api.scriptix.io/api/v3/speech-to-text/session
wget --method=PUT --body-file=a.wav --header="x-filename: a.wav" "$B/$ID"
http PUT "$B/$ID" x-filename:a.wav < a.wav
curl --request PUT "$B/${ID}" --data-binary @a.wav
curl -sSX PUT "$B/$ID" --data-binary @a.wav
# curl -X PUT "$B/$ID" --data-binary @old.wav
# PUT $B/$ID was the upload; don't use it
curl "$B/$ID/result"
curl -X PATCH "$LOCATION" -H "Upload-Offset: 0" --data-binary @a.wav
""",
        [
            (3, "upload", "high"),
            (4, "upload", "high"),
            (5, "upload", "high"),
            (6, "upload", "high"),
            (7, "upload", "low"),
        ],
    ),
    (
        "resty.go",
        """package x
func f() {
	resp, err := client.R().SetHeader("x-filename", "a.wav").SetBody(f).Put(B + "/api/v3/speech-to-text/session/" + id)
	body := `{"language": "en", "media_source": "https://x/a.mp3"}`
	r, err := http.Post(B+"/api/v3/speech-to-text/session", "application/json", strings.NewReader(body))
	type Create struct {
		MediaSource string `json:"media_source"`
	}
}
""",
        [(3, "upload", "high"), (5, "media_source", "high"), (7, "media_source", "medium")],
    ),
    (
        "Ok.java",
        """class Ok {
  void f() throws Exception {
    String url = BASE + "/api/v3/speech-to-text/session/" + id;
    Request req = new Request.Builder().url(url).put(RequestBody.create(bytes, AUDIO)).build();
    Response resp = client.newCall(req).execute();
    HttpURLConnection conn = (HttpURLConnection) new URL(url).openConnection();
    conn.setRequestMethod("PUT");
    HttpPut put = new HttpPut(url);
    Map<String, String> m = new HashMap<>();
    m.put("media_source", src);
    m.put("x", url);
  }
}
""",
        [(4, "upload", "high"), (7, "upload", "high"), (8, "upload", "high"), (10, "media_source", "medium")],
    ),
    (
        "Rest.cs",
        """class Rest {
  async Task G() {
    var request = new HttpRequestMessage(HttpMethod.Put, $"{Base}/api/v3/speech-to-text/session/{id}");
    var resp = await client.SendAsync(request);
    var rr = new RestRequest($"api/v3/speech-to-text/session/{id}", Method.Put);
    await client.ExecuteAsync(rr);
    var created = await client.PostAsJsonAsync($"{B}/api/v3/speech-to-text/session", new { language = "en",
        media_source = src });
    var gone = await client.DeleteAsync($"{Base}/api/v3/speech-to-text/session/{id}");
  }
}
""",
        [(3, "upload", "high"), (5, "upload", "high"), (7, "media_source", "high")],
    ),
    (
        "gems.rb",
        """
BASE = "https://api.scriptix.io/api/v3/speech-to-text/session"
RestClient.put("#{BASE}/#{id}", File.read(path), { "x-filename" => "a.wav", content_type: "audio/wav" })
conn = Faraday.new(url: "https://api.scriptix.io")
conn.put("/api/v3/speech-to-text/session/#{id}", data, "x-filename" => "a.wav")
HTTParty.post(BASE, body: { language: "en", media_source: url }.to_json, headers: h)
HTTParty.post(BASE, body: { language: "en" }.to_json, headers: h)
HTTParty.get("#{BASE}/#{id}/result")
""",
        [(3, "upload", "high"), (5, "upload", "high"), (6, "media_source", "high"), (7, "create_session", "low")],
    ),
]


@pytest.mark.parametrize(("filename", "source", "expected"), CASES, ids=[c[0] for c in CASES])
def test_rules(filename: str, source: str, expected: list[tuple[int, str, str]]) -> None:
    got = [(f.line, f.operation, f.confidence) for f in scan_source(source, filename)]
    assert got == expected


def test_python_docstrings_and_log_lines_are_not_calls() -> None:
    source = '''
import logging, requests
SESSIONS = "https://api.scriptix.io/api/v3/speech-to-text/session"
def upload(sid):
    """V1 did ``requests.put(f"{SESSIONS}/{sid}", data=f, headers={"x-filename": "a.wav"})``."""
    logging.info("PUT %s/%s", SESSIONS, sid)
    requests.get(f"{SESSIONS}/{sid}/result")
    requests.delete(f"{SESSIONS}/{sid}")
'''
    assert scan_source(source, "doc.py") == []


def test_commented_out_python_block_is_low() -> None:
    source = """
import requests
SESSIONS = "https://api.scriptix.io/api/v3/speech-to-text/session"
def upload(sid, f):
    # Old V1 code, kept for reference:
    # requests.put(
    #     f"{SESSIONS}/{sid}",
    #     data=f,
    # )
    pass
"""
    assert [(f.line, f.operation, f.confidence) for f in scan_source(source, "old.py")] == [(6, "upload", "low")]


def test_create_call_in_a_tus_file_is_part_of_v3_but_kept_next_to_a_v1_call() -> None:
    v3 = """
import requests
from tusclient import client
BASE = "https://api.scriptix.io"
created = requests.post(f"{BASE}/api/v3/speech-to-text/session", json={"language": "en"})
client.TusClient(f"{BASE}/api/v3/files/")
"""
    assert scan_source(v3, "v3.py") == []
    mixed = v3 + 'requests.put(f"{BASE}/api/v3/speech-to-text/session/1", data=b"x")\n'
    assert [(f.line, f.operation) for f in scan_source(mixed, "mixed.py")] == [(5, "create_session"), (7, "upload")]


def test_snippet_is_at_most_200_characters() -> None:
    long_line = 'requests.put("https://api.scriptix.io/api/v3/speech-to-text/session/1", data=b"' + "x" * 400 + '")'
    (finding,) = scan_source("import requests\n" + long_line + "\n", "long.py")
    assert len(finding.snippet) == 200
    assert long_line.startswith(finding.snippet[:-1])
