"""``scriptix-compat scan``: find the V1-only calls in a codebase, in any language, without running it.

Scriptix V3 dropped three V1 calls; the scan lists every place that still makes one, with the V3
replacement and its section of ``MIGRATION.md``:

=================  ======================================================================  ==========
operation          what is found                                                           confidence
=================  ======================================================================  ==========
``upload``         a ``PUT`` to ``…/speech-to-text/session/{id}`` (``x-filename``,          high
                   ``Content-Type: audio/*``); a ``PUT`` whose URL is unknown but that
                   sends ``x-filename``                                                     medium
``media_source``   a create call (``POST …/speech-to-text/session``) whose JSON holds       high
                   ``media_source``; any other ``media_source`` key in a file that
                   mentions ``speech-to-text/session`` (not when its value is a plain
                   label such as ``"Media source"``), a POST with one to an unknown
                   URL, a ``create_session(…, media_source=…)`` call (LegacyClient)        medium
``align``          a ``POST …/session/{id}/align`` with a multipart body (``files=``,       high
                   ``FormData``, ``-F media_file=@…``, ``'multipart' =>``); without
                   visible multipart, or ``…/align`` sending ``media_file``/
                   ``transcript_file`` to an unknown base                                  medium
``create_session`` ``POST …/speech-to-text/session`` itself. The call is still valid in     low
                   V3; only its media handling changes. It is not reported in a file
                   that already uploads with TUS (``/api/v3/files``, tusclient,
                   tus-js-client, ``Upload-Offset`` …) and has no other V1 finding.
=================  ======================================================================  ==========

``GET …/result`` and ``DELETE …/session/{id}`` are the same in V3 and give no finding.

How each language is read
-------------------------

* **Python** through its AST. An HTTP call is ``X.put/.post(url, …)`` (requests, httpx, aiohttp, a
  ``Session``), ``X.request("PUT", url)`` / ``.request(method=…)`` (requests, httpx, urllib3,
  ``http.client``), ``requests.Request("PUT", url)``, ``urllib.request.Request(url, …, method="PUT")``
  (``POST`` when it has data), or any call with a ``method=`` keyword. The URL may be a literal, an
  f-string, a concatenation, ``%``, ``.format()``, ``urljoin``, ``"/".join``, or a name (or ``self.x``)
  assigned a string **once** in its scope (function, enclosing functions, module; a parameter of the same
  name hides a module constant), or a local one-line helper (``def url(sid): return f"…/{sid}"``,
  ``self._url(sid)``). Headers and bodies are read the same way (``headers=HEADERS``,
  ``payload["media_source"] = …``). Docstrings are text, not calls. When a file does not parse, the
  pattern rules below are used instead.
* **JavaScript/TypeScript, PHP, shell (curl/wget/httpie), Go, Java, C#, Ruby** by pattern. The code is
  split into statements (brackets, continuation lines, method chains, ``\\`` in shell), comments are
  set apart, and each statement is checked for an HTTP call, its method (``method: "PUT"``,
  ``axios.put(``, ``curl -X PUT`` / ``-T``, ``CURLOPT_CUSTOMREQUEST => 'PUT'``, ``->put(``,
  ``http.NewRequest(http.MethodPut``, ``.PUT(``, ``PutAsync(``, ``Net::HTTP::Put.new`` …) and its URL.
  A name assigned a session URL on an earlier line (``const url = `${BASE}/…/session/${id}```,
  ``$ch = curl_init($url)``, ``req, _ := http.NewRequest(…)``) carries the URL, the method and the
  headers to the statements that use it, so a request built over several statements is one finding
  (at the line of its HTTP call; a request object's later ``send``/``Do``/``curl_exec`` adds nothing).

Commented-out calls **are** reported, at ``low`` confidence: comment text that parses as a call
(``# requests.put(url, …)``, ``// await axios.put(`${SESSIONS}/${id}`, file)``) is scanned like code.
A comment that merely mentions an endpoint (``# PUT /api/v3/speech-to-text/session/{id}``) is not.

Skipped: ``.git``, ``node_modules``, ``.venv``, ``venv``, ``__pycache__``, ``dist``, ``build`` (and tool
caches), files over 2 MiB, binary files (a NUL byte in the first 8 KiB), ``*.min.js``, and files of other
languages (Markdown, YAML, JSON payload files, …). Symbolic links to directories are not followed.
A file that contains none of ``speech-to-text/session``, ``x-filename``, ``media_source`` and ``/align``
cannot hold a finding and is counted as scanned without further analysis.

Command line (``main``): ``scan PATH [--format text|json] [--fail-on-findings]``. ``json`` prints
``{"findings": [...], "files_scanned": N}`` (sorted by file and line; ``file`` relative to PATH); ``text``
prints ``PATH/file:line: [operation] (confidence) snippet``, an indented ``-> replacement`` line, and a
summary. Exit status 0; 1 with ``--fail-on-findings`` when anything is found; 2 for a missing PATH or bad
usage.

>>> from compat.staging.scan import scan                           # doctest: +SKIP
>>> for finding in scan("src/"):                                   # doctest: +SKIP
...     print(finding.file, finding.line, finding.operation, finding.replacement)
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import os
import re
import sys
import textwrap
import tokenize
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Literal, TextIO

__all__ = [
    "MAX_FILE_BYTES",
    "REPLACEMENTS",
    "SKIP_DIRS",
    "Confidence",
    "Finding",
    "Operation",
    "ScanReport",
    "add_arguments",
    "language_of",
    "main",
    "run",
    "scan",
    "scan_report",
    "scan_source",
]

Operation = Literal["upload", "media_source", "align", "create_session"]
Confidence = Literal["high", "medium", "low"]

MAX_FILE_BYTES = 2 * 1024 * 1024
SKIP_DIRS = frozenset(
    {
        ".git",
        "node_modules",
        ".venv",
        "venv",
        "__pycache__",
        "dist",
        "build",
        ".hg",
        ".svn",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
    }
)

REPLACEMENTS: dict[str, str] = {
    "upload": (
        "Replace the PUT with a TUS upload to /api/v3/files/ with metadata session_id=<session id> "
        "(plus language, filename, filetype, document_type); in Python: compat.V3Client.upload(file, metadata); "
        "see MIGRATION.md#3-upload-media-put"
    ),
    "media_source": (
        "Drop media_source from the create call and send the media yourself as a TUS upload to /api/v3/files/ "
        "with metadata session_id=<session id>; in Python: download it and compat.V3Client.upload(stream, metadata); "
        "see MIGRATION.md#2-create-a-session-with-media_source"
    ),
    "align": (
        "Replace the multipart /align call with two TUS uploads to /api/v3/files/ bound to the session "
        "(metadata session_id=<session id>): the media, then the transcript as text/plain; "
        "in Python: two compat.V3Client.upload(...) calls; see MIGRATION.md#4-align"
    ),
    "create_session": (
        "This call is still valid in V3 (only its media handling changes: send the media as a TUS upload to "
        "/api/v3/files/ with metadata session_id=<session id> instead of a PUT or media_source); "
        "in Python: compat.V3Client.create_session(**fields); see MIGRATION.md#1-create-a-session"
    ),
}

_RANK: dict[str, int] = {"low": 0, "medium": 1, "high": 2}
_SNIPPET_MAX = 200


@dataclass(frozen=True)
class Finding:
    """One V1-only call: where it is, what it does, what replaces it, and how sure the scan is."""

    file: str
    """Path relative to the scanned directory (``/``-separated); the file's name when a file was scanned."""
    line: int
    """1-based line of the call (its first line when it spans several)."""
    operation: Operation
    replacement: str
    """One sentence naming the V3 replacement, with its ``MIGRATION.md`` section anchor."""
    confidence: Confidence
    language: str
    snippet: str
    """The source line, stripped, at most 200 characters."""

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class ScanReport:
    """What ``scan_report`` found; ``files_skipped`` counts files of a known language that were binary or too large."""

    findings: list[Finding]
    files_scanned: int
    files_skipped: int = 0

    def to_dict(self) -> dict[str, object]:
        return {"findings": [f.to_dict() for f in self.findings], "files_scanned": self.files_scanned}


# --------------------------------------------------------------------------------------------------
# URLs: which V1 endpoint does a piece of text point at?

_SESSION = re.compile(r"speech-to-text/session(?![\w-])", re.I)
_PLACEHOLDER = re.compile(r"\$\{[^}]*\}|#\{[^}]*\}|\{[^}]*\}")
_CONCAT = re.compile(r"""\s*(?:\+|<<|\s\.\s|(?<=["'`])\.|\.(?=["'`$]))\s*""")
_QUOTES = re.compile(r"""["'`]""")
_CUT = re.compile(r"""[\s,;()\[\]{}<>\\]""")
_SESSION_KINDS = frozenset({"collection", "item", "align", "other"})
# What the rest of a URL looks like after ``speech-to-text/session`` for a name holding that kind.
_SYNTH: dict[str, str] = {"collection": "", "item": "/ID", "align": "/ID/align", "other": "/ID/other"}


def _classify_rest(rest: str) -> str:
    """The endpoint kind of ``…speech-to-text/session`` followed by ``rest`` (source text, maybe concatenated)."""
    text = _PLACEHOLDER.sub("ID", rest[:240])
    text = _CONCAT.sub("", text)
    text = _QUOTES.sub("", text)
    text = _CUT.split(text, maxsplit=1)[0]
    path = re.split(r"[?#]", text, maxsplit=1)[0]
    segments = [s for s in path.split("/") if s]
    if not segments:
        return "collection"
    if len(segments) == 1:
        return "item"
    if len(segments) == 2 and segments[1].lower() == "align":
        return "align"
    return "other"


def _kinds_in(text: str) -> set[str]:
    return {_classify_rest(text[m.end() :]) for m in _SESSION.finditer(text)}


_X_FILENAME = re.compile(r"x-filename", re.I)
_AV_TYPE = re.compile(r"""content-?type\W{0,8}(?:audio|video)/|["'`](?:audio|video)/[\w.+*-]*["'`]""", re.I)
_MEDIA_FILE = re.compile(r"\b(?:media_file|transcript_file)\b")
_ALIGN_PATH = re.compile(r"""/align/?(?=["'`?\s)]|$)""", re.M)
# A file without any of these cannot hold a finding (every rule needs one), so it is not analysed.
_RELEVANT = re.compile(r"speech-to-text/session|x-filename|media_source|/align", re.I)
_V3_EVIDENCE = re.compile(
    r"/api/v3/files|tusclient|tuspy|tus-js-client|\btus\.Upload\b|@uppy/tus|upload-offset|tus-resumable|"
    r"upload-metadata|\bV3Client\b|tus-java-client|go-tus|TusClient",
    re.I,
)


# --------------------------------------------------------------------------------------------------
# Languages


@dataclass(frozen=True)
class _Lang:
    name: str
    line_comments: tuple[str, ...]
    block_comment: tuple[str, str] | None
    quotes: str
    multiline_quotes: str
    raw_quotes: str
    put: re.Pattern[str]
    post: re.Pattern[str]
    call: re.Pattern[str]
    multipart: re.Pattern[str]
    media_source: re.Pattern[str]
    assign: re.Pattern[str]
    ref_prefix: str = r"(?<![\w$.])"
    ref_suffix: str = r"(?![\w$])"
    hash_at_word_start: bool = False
    triple_quotes: bool = False
    shell: bool = False
    adjacent_brace_literal: bool = False
    arrow_brace_literal: bool = False

    def methods(self, text: str) -> set[str]:
        if self.shell:
            return _shell_methods(text)
        found = set()
        if self.put.search(text):
            found.add("PUT")
        if self.post.search(text):
            found.add("POST")
        return found

    def ref(self, name: str) -> re.Pattern[str]:
        return _ref_pattern(self.name, self.ref_prefix, self.ref_suffix, name)


_REF_CACHE: dict[tuple[str, str], re.Pattern[str]] = {}


def _ref_pattern(lang: str, prefix: str, suffix: str, name: str) -> re.Pattern[str]:
    key = (lang, name)
    pattern = _REF_CACHE.get(key)
    if pattern is None:
        if lang == "shell":
            pattern = re.compile(r"\$\{?" + re.escape(name) + r"(?!\w)")
        else:
            pattern = re.compile(prefix + re.escape(name) + suffix)
        if len(_REF_CACHE) < 4096:
            _REF_CACHE[key] = pattern
    return pattern


def _c(pattern: str, flags: int = 0) -> re.Pattern[str]:
    return re.compile(pattern, flags)


_I = re.I
_CALL_ASSIGN_TYPES = r"(?:[\w.]+(?:<[^=]*?>)?(?:\[\])*\??\s+)?"

_JS = _Lang(
    name="javascript",
    line_comments=("//",),
    block_comment=("/*", "*/"),
    quotes="\"'`",
    multiline_quotes="`",
    raw_quotes="",
    put=_c(r"""\b(?:method|type)\s*:\s*['"`]put['"`]|\.put\s*(?:<[^()]*?>\s*)?\(|\(\s*['"`]put['"`]\s*,""", _I),
    post=_c(r"""\b(?:method|type)\s*:\s*['"`]post['"`]|\.post\s*(?:<[^()]*?>\s*)?\(|\(\s*['"`]post['"`]\s*,""", _I),
    call=_c(
        r"""\bfetch\s*\(|\baxios\b|\.ajax\s*\(|\bgot\s*[.(]|\bky\s*[.(]|\bsuperagent\b|\bneedle\s*\(|"""
        r"""\bhttps?\.request\s*\(|\bnew\s+Request\s*\(|\.open\s*\(|\.(?:put|post|request)\s*(?:<[^()]*?>\s*)?\(|"""
        r"""\$http\b"""
    ),
    multipart=_c(r"""\bFormData\b|multipart|\bform-data\b|\bmedia_file\b|\btranscript_file\b""", _I),
    media_source=_c(r"""\\?["'`]media_source\\?["'`]\s*(?::|,|\))|(?<![\w$'"`])media_source\s*(?::|=(?![=>]))"""),
    assign=_c(
        r"""^\s*(?:export\s+)?(?:(?:const|let|var)\s+)?((?:this\.)?[A-Za-z_$][\w$]*)\s*(?::\s*[^=;]+?)?\s*=(?![=>])"""
    ),
)
_TS = replace(_JS, name="typescript")

_PHP = _Lang(
    name="php",
    line_comments=("//", "#"),
    block_comment=("/*", "*/"),
    quotes="\"'",
    multiline_quotes="\"'",
    raw_quotes="",
    put=_c(
        r"""CURLOPT_CUSTOMREQUEST\s*(?:,|=>)\s*['"]PUT['"]|CURLOPT_PUT\s*(?:,|=>)\s*(?:true|1)\b|"""
        r"""(?:->|::)put\s*\(|\(\s*['"]PUT['"]\s*,|['"]method['"]\s*=>\s*['"]PUT['"]""",
        _I,
    ),
    post=_c(
        r"""CURLOPT_POST\s*(?:,|=>)\s*(?:true|1)\b|CURLOPT_POSTFIELDS\b|"""
        r"""CURLOPT_CUSTOMREQUEST\s*(?:,|=>)\s*['"]POST['"]|(?:->|::)post\s*\(|\(\s*['"]POST['"]\s*,|"""
        r"""['"]method['"]\s*=>\s*['"]POST['"]""",
        _I,
    ),
    call=_c(
        r"""\bcurl_init\s*\(|\bcurl_setopt(?:_array)?\s*\(|\bcurl_exec\s*\(|"""
        r"""(?:->|::)(?:put|post|request|requestAsync|send|sendAsync)\s*\(|\bfile_get_contents\s*\(|"""
        r"""\bstream_context_create\s*\(|\bnew\s+\\?(?:GuzzleHttp\\Psr7\\)?Request\s*\("""
    ),
    multipart=_c(
        r"""\bCURLFile\b|\bcurl_file_create\b|['"]multipart['"]|multipart/form-data|\bmedia_file\b|"""
        r"""\btranscript_file\b|->attach\s*\("""
    ),
    media_source=_c(r"""\\?["']media_source\\?["']\s*(?:=>|:)"""),
    assign=_c(
        r"""^\s*(?:(?:public|private|protected|static|final|readonly|const)\s+)*(\$?[A-Za-z_]\w*(?:->\w+)?)\s*=(?![=>])"""
    ),
    ref_prefix=r"(?<![\w$>])",
    ref_suffix=r"(?!\w)",
)

_SHELL = _Lang(
    name="shell",
    line_comments=("#",),
    block_comment=None,
    quotes="\"'`",
    multiline_quotes="\"'`",
    raw_quotes="'",
    put=_c(r"(?!)"),
    post=_c(r"(?!)"),
    call=_c(r"(?:^|[\s;|&(`])(?:curl|wget|http|https|xh)(?=\s)", re.M),
    multipart=_c(
        r"""(?<!\S)(?:-[A-Za-z]*F|--form(?:-string)?)(?=[\s=])|multipart|\bmedia_file\b|\btranscript_file\b"""
    ),
    media_source=_c(r"""\\?["']media_source\\?["']\s*:|(?<![\w$-])media_source="""),
    assign=_c(r"^\s*(?:export\s+|local\s+|readonly\s+|declare(?:\s+-\w+)*\s+)?([A-Za-z_]\w*)="),
    hash_at_word_start=True,
    shell=True,
)

_GO = _Lang(
    name="go",
    line_comments=("//",),
    block_comment=("/*", "*/"),
    quotes="\"'`",
    multiline_quotes="`",
    raw_quotes="`",
    put=_c(r"""\bhttp\.MethodPut\b|"PUT"|\.Put\s*\("""),
    post=_c(r"""\bhttp\.MethodPost\b|"POST"|\bhttp\.Post(?:Form)?\s*\(|\.Post(?:Form)?\s*\("""),
    call=_c(
        r"""\bhttp\.(?:NewRequest(?:WithContext)?|Post|PostForm|Get|Head)\s*\(|\.Do\s*\(|\.R\(\)|"""
        r"""\.(?:Put|Post|Execute|Send)\s*\("""
    ),
    multipart=_c(
        r"""\bmultipart\.|CreateFormFile|CreateFormField|multipart/form-data|\bmedia_file\b|\btranscript_file\b|"""
        r"""\bSetFile\s*\(|SetMultipartField"""
    ),
    media_source=_c(r"""\\?"media_source\\?"\s*:|json:"media_source"""),
    assign=_c(r"""^\s*(?:var\s+|const\s+)?([A-Za-z_]\w*)(?:\s*,\s*[A-Za-z_]\w*)*(?:\s+[\w.*\[\]]+)?\s*:?=(?!=)"""),
    adjacent_brace_literal=True,
)

_JAVA = _Lang(
    name="java",
    line_comments=("//",),
    block_comment=("/*", "*/"),
    quotes="\"'",
    multiline_quotes="",
    raw_quotes="",
    put=_c(
        r"""\.PUT\s*\(|setRequestMethod\s*\(\s*"PUT"\s*\)|\bnew\s+HttpPut\s*[<(]|\.method\s*\(\s*"PUT"|"""
        r"""\bHttpMethod\.PUT\b|\.put\s*\(\s*(?:RequestBody\b|\w*[bB]ody\s*[,)])|"""
        r"""(?:[tT]emplate|[cC]lient|Unirest)\.put\s*\("""
    ),
    post=_c(
        r"""\.POST\s*\(|setRequestMethod\s*\(\s*"POST"\s*\)|\bnew\s+HttpPost\s*[<(]|\.method\s*\(\s*"POST"|"""
        r"""\bHttpMethod\.POST\b|\.post\s*\(\s*(?:RequestBody\b|\w*[bB]ody\s*[,)])|"""
        r"""(?:[tT]emplate|[cC]lient|Unirest)\.post(?:ForObject|ForEntity)?\s*\("""
    ),
    call=_c(
        r"""\bHttpRequest\.newBuilder\b|\.openConnection\s*\(|\bnew\s+Http(?:Put|Post|Get|Delete)\b|"""
        r"""\bnew\s+Request\.Builder\b|\bUnirest\.|\.send(?:Async)?\s*\(|\.execute\s*\(|\.newCall\s*\(|"""
        r"""[tT]emplate\.\w+\s*\(|\b[wW]ebClient\b|\.exchange\s*\(|\.setRequestMethod\s*\("""
    ),
    multipart=_c(
        r"""ofMimeMultipartData|MultipartBody|MultipartEntityBuilder|multipart|\bmedia_file\b|\btranscript_file\b|"""
        r"""\bFileBody\b|addFormDataPart"""
    ),
    media_source=_c(r"""\\?"media_source\\?"\s*[:,)]"""),
    assign=_c(
        r"""^\s*(?:(?:public|private|protected|static|final|var|val)\s+)*"""
        + _CALL_ASSIGN_TYPES
        + r"""([A-Za-z_]\w*)\s*=(?![=>])"""
    ),
)

_CSHARP = _Lang(
    name="csharp",
    line_comments=("//",),
    block_comment=("/*", "*/"),
    quotes="\"'",
    multiline_quotes="",
    raw_quotes="",
    put=_c(
        r"""\bPut(?:AsJson)?Async\s*\(|\bHttpMethod\.Put\b|\bMethod\.(?:Put|PUT)\b|\bMethod\s*=\s*"PUT"|"""
        r"""\bnew\s+HttpMethod\s*\(\s*"PUT"\s*\)"""
    ),
    post=_c(
        r"""\bPost(?:AsJson)?Async\s*\(|\bHttpMethod\.Post\b|\bMethod\.(?:Post|POST)\b|\bMethod\s*=\s*"POST"|"""
        r"""\bnew\s+HttpMethod\s*\(\s*"POST"\s*\)"""
    ),
    call=_c(
        r"""\b\w+Async\s*\(|\bnew\s+HttpRequestMessage\b|\bnew\s+RestRequest\b|\.Execute\w*\s*\(|"""
        r"""\bWebRequest\.Create\s*\(|\.Send\w*\s*\("""
    ),
    multipart=_c(
        r"""MultipartFormDataContent|multipart|\bmedia_file\b|\btranscript_file\b|\bAddFile\s*\(|"""
        r"""AlwaysMultipartFormData"""
    ),
    media_source=_c(r"""\\?"media_source\\?"\s*[:,)\]]|(?<![\w."])media_source\s*=(?![=>])"""),
    assign=_c(
        r"""^\s*(?:(?:public|private|protected|internal|static|readonly|const|var|using|await)\s+)*"""
        + _CALL_ASSIGN_TYPES
        + r"""([A-Za-z_]\w*)\s*=(?![=>])"""
    ),
)

_RUBY = _Lang(
    name="ruby",
    line_comments=("#",),
    block_comment=None,
    quotes="\"'`",
    multiline_quotes="\"'",
    raw_quotes="",
    put=_c(r"""\bNet::HTTP::Put\b|\.put\b(?![?!=])|\bmethod:\s*:put\b|:method\s*=>\s*:put\b|\brequest\s*\(\s*:put\b"""),
    post=_c(
        r"""\bNet::HTTP::Post\b|\.post\b(?![?!=])|\bmethod:\s*:post\b|:method\s*=>\s*:post\b|"""
        r"""\brequest\s*\(\s*:post\b|\bNet::HTTP\.post(?:_form)?\b"""
    ),
    call=_c(
        r"""\bNet::HTTP\b|\bRestClient\b|\bHTTParty\b|\bFaraday\b|\bTyphoeus\b|\bHTTP\.|\.request\s*\(|"""
        r"""\bhttp\.\w+|\bconn(?:ection)?\.\w+|\.(?:put|post)\b"""
    ),
    multipart=_c(r"""[Mm]ultipart|\bset_form\b|\bUploadIO\b|\bFilePart\b|\bmedia_file\b|\btranscript_file\b"""),
    media_source=_c(r"""\bmedia_source:(?!:)|:media_source\s*=>|["']media_source["']\s*(?:=>|:)"""),
    assign=_c(r"""^\s*(@{0,2}[A-Za-z_]\w*)\s*=(?![=~>])"""),
    ref_prefix=r"(?<![\w@$:.])",
    ref_suffix=r"(?![\w?!])",
    arrow_brace_literal=True,
)

_PYTHON_FALLBACK = _Lang(
    name="python",
    line_comments=("#",),
    block_comment=None,
    quotes="\"'",
    multiline_quotes="",
    raw_quotes="",
    put=_c(r"""\.put\s*\(|\bmethod\s*=\s*['"]PUT['"]|\(\s*['"]PUT['"]\s*,""", _I),
    post=_c(r"""\.post\s*\(|\bmethod\s*=\s*['"]POST['"]|\(\s*['"]POST['"]\s*,""", _I),
    call=_c(
        r"""\brequests\.|\bhttpx\.|\burllib|\bsession\.|\bclient\.|\.request\s*\(|\.(?:put|post)\s*\(|"""
        r"""\bRequest\s*\(|\burlopen\s*\("""
    ),
    multipart=_c(r"""\bfiles\s*=|MultipartEncoder|FormData|multipart/form-data|\bmedia_file\b|\btranscript_file\b"""),
    media_source=_c(r"""['"]media_source['"]\s*:|(?<![\w.'"])media_source\s*=(?!=)"""),
    assign=_c(r"""^\s*([A-Za-z_][\w.]*)\s*(?::[^=]+)?=(?!=)"""),
    triple_quotes=True,
)

_LANGS: dict[str, _Lang] = {lang.name: lang for lang in (_JS, _TS, _PHP, _SHELL, _GO, _JAVA, _CSHARP, _RUBY)}

_EXTENSIONS: dict[str, str] = {
    ".py": "python",
    ".pyw": "python",
    ".pyi": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".vue": "javascript",
    ".svelte": "javascript",
    ".ts": "typescript",
    ".tsx": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".php": "php",
    ".phtml": "php",
    ".sh": "shell",
    ".bash": "shell",
    ".zsh": "shell",
    ".ksh": "shell",
    ".go": "go",
    ".java": "java",
    ".cs": "csharp",
    ".rb": "ruby",
    ".rake": "ruby",
}
_SHEBANG_LANGS = {
    "sh": "shell",
    "bash": "shell",
    "zsh": "shell",
    "ksh": "shell",
    "dash": "shell",
    "python": "python",
    "python3": "python",
    "node": "javascript",
    "ruby": "ruby",
    "php": "php",
}


def language_of(path: str | os.PathLike[str], head: str = "") -> str | None:
    """The language the scan reads ``path`` as (by extension, else by ``#!`` line in ``head``), or ``None``."""
    name = os.fspath(path)
    lower = name.lower()
    if lower.endswith(".min.js"):
        return None
    lang = _EXTENSIONS.get(os.path.splitext(lower)[1])
    if lang is not None:
        return lang
    if os.path.splitext(lower)[1] == "" and head.startswith("#!"):
        words = head.splitlines()[0][2:].split()
        if words and os.path.basename(words[0]) == "env":
            words = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
        if words:
            interpreter = os.path.basename(words[0])
            return _SHEBANG_LANGS.get(interpreter) or _SHEBANG_LANGS.get(re.sub(r"[\d.]+$", "", interpreter))
    return None


# --------------------------------------------------------------------------------------------------
# Shell methods


_SH_EXPLICIT = re.compile(r"""(?:(?<!\S)-[A-Za-z]*X\s*|--request[\s=]+)['"]?([A-Za-z]+)""")
_SH_WGET_METHOD = re.compile(r"""(?<!\S)--method[=\s]+['"]?([A-Za-z]+)""")
_SH_UPLOAD = re.compile(r"(?<!\S)(?:-[A-Za-z]*T|--upload-file)(?=[\s=])")
_SH_DATA = re.compile(
    r"""(?<!\S)(?:-[A-Za-z]*[dF]|--data(?:-raw|-binary|-urlencode|-ascii)?|--json|--form(?:-string)?|"""
    r"""--post-data|--post-file)(?=[\s=@'"]|$)""",
    re.M,
)
_SH_HTTPIE = re.compile(r"(?:^|[\s;|&(])(?:http|https|xh)\s+(?:-\S+\s+)*(PUT|POST)\b", re.M)


def _shell_methods(text: str) -> set[str]:
    for pattern in (_SH_EXPLICIT, _SH_WGET_METHOD, _SH_HTTPIE):
        match = pattern.search(text)
        if match:
            return {match.group(1).upper()}
    if _SH_UPLOAD.search(text):
        return {"PUT"}
    if _SH_DATA.search(text):
        return {"POST"}
    return {"GET"}


# --------------------------------------------------------------------------------------------------
# Pattern engine: code / comments, statements, names that carry a URL, rules


@dataclass
class _Hit:
    line: int  # 1-based
    operation: Operation
    confidence: Confidence


def _raise(hit: _Hit, confidence: Confidence) -> None:
    if _RANK[confidence] > _RANK[hit.confidence]:
        hit.confidence = confidence


@dataclass
class _Split:
    code: list[str]  # comments removed, strings kept
    masked: list[str]  # comments removed, string contents blanked (for bracket counting)
    comments: list[str]  # comment text only
    open_string: list[bool]  # a string is still open at the end of the line


_SPECIALS: dict[str, re.Pattern[str]] = {}
_STRING_ENDS: dict[tuple[str, bool], re.Pattern[str]] = {}


def _specials(lang: _Lang) -> re.Pattern[str]:
    """What can start a comment or a string in ``lang``."""
    pattern = _SPECIALS.get(lang.name)
    if pattern is None:
        parts = [re.escape(lang.block_comment[0])] if lang.block_comment else []
        parts += [re.escape(t) for t in lang.line_comments]
        parts.append("[" + re.escape(lang.quotes) + "]")
        pattern = _SPECIALS[lang.name] = re.compile("|".join(parts))
    return pattern


def _string_end(delim: str, escapes: bool) -> re.Pattern[str]:
    pattern = _STRING_ENDS.get((delim, escapes))
    if pattern is None:
        body = (r"\\(?:.|$)|" if escapes else "") + re.escape(delim)
        pattern = _STRING_ENDS[(delim, escapes)] = re.compile(body)
    return pattern


def _split(lines: Sequence[str], lang: _Lang) -> _Split:
    """Set comments apart from code; blank string contents in a masked copy (for counting brackets)."""
    code: list[str] = []
    masked: list[str] = []
    comments: list[str] = []
    open_string: list[bool] = []
    specials = _specials(lang)
    mode = "code"
    delim = ""
    block_open, block_close = lang.block_comment or ("", "")
    for raw in lines:
        if mode == "string" and len(delim) == 1 and delim not in lang.multiline_quotes:
            mode = "code"
        out_code: list[str] = []
        out_mask: list[str] = []
        out_comment: list[str] = []
        i, n = 0, len(raw)
        while i < n:
            if mode == "block":
                end = raw.find(block_close, i)
                if end < 0:
                    out_comment.append(raw[i:])
                    break
                out_comment.append(raw[i:end] + " ")
                i = end + len(block_close)
                mode = "code"
                continue
            if mode == "string":
                ends = _string_end(delim, delim not in lang.raw_quotes)
                while True:
                    match = ends.search(raw, i)
                    if match is None:
                        out_code.append(raw[i:])
                        out_mask.append(" " * (n - i))
                        i = n
                        break
                    if match.group() != delim:  # an escape
                        out_code.append(raw[i : match.end()])
                        out_mask.append(" " * (match.end() - i))
                        i = match.end()
                        continue
                    out_code.append(raw[i : match.end()])
                    out_mask.append(" " * (match.start() - i) + delim)
                    i = match.end()
                    mode = "code"
                    break
                continue
            match = specials.search(raw, i)
            if match is None:
                out_code.append(raw[i:])
                out_mask.append(raw[i:])
                break
            j, token = match.start(), match.group()
            out_code.append(raw[i:j])
            out_mask.append(raw[i:j])
            i = j
            if token == block_open:
                mode = "block"
                i += len(token)
                continue
            if token in lang.line_comments:
                is_comment = not (
                    token == "#"
                    and (
                        (lang.hash_at_word_start and j > 0 and raw[j - 1] not in " \t;|&(")
                        or (lang.name == "php" and raw.startswith("#[", j))
                    )
                )
                if is_comment:
                    out_comment.append(raw[j + len(token) :])
                    break
                out_code.append(token)
                out_mask.append(token)
                i += len(token)
                continue
            delim = token * 3 if lang.triple_quotes and raw.startswith(token * 3, j) else token
            mode = "string"
            out_code.append(delim)
            out_mask.append(delim)
            i += len(delim)
        code.append("".join(out_code))
        masked.append("".join(out_mask))
        comments.append("".join(out_comment))
        open_string.append(mode == "string" and (len(delim) == 3 or delim in lang.multiline_quotes))
    return _Split(code, masked, comments, open_string)


_CONTINUES = ("\\", ",", "+", "=", "(", "[", "&&", "||", "?", "->", "=>")
_CHAIN_STARTS = (".", "->", "?.", "+", "&&", "||")
_MAX_STATEMENT_LINES = 40


_BRACKETS = re.compile(r"[()\[\]{}]")


def _statements(split: _Split, lang: _Lang) -> list[tuple[int, int]]:
    """Statements as (first, last) line indexes, found from brackets, continuation lines and chains."""
    masked = split.masked
    n = len(masked)
    out: list[tuple[int, int]] = []
    stack: list[bool] = []  # True: an expression bracket; False: a block brace
    carried_sig = ""  # the last non-space character of the lines before
    carried_word = ""
    start: int | None = None
    for j in range(n):
        line = masked[j]
        if start is None:
            if not line.strip() and not split.open_string[j]:
                continue
            start = j
        if not lang.shell:
            for match in _BRACKETS.finditer(line):
                ch, pos = match.group(), match.start()
                if ch in "([":
                    stack.append(True)
                elif ch == "{":
                    stack.append(_brace_is_literal(line, pos, stack, carried_sig, carried_word, lang))
                elif stack:
                    stack.pop()
            stripped = line.rstrip()
            if stripped:
                carried_sig = stripped[-1]
                word = re.search(r"\w{1,8}$", stripped[-8:])
                carried_word = word.group() if word else ""
        stripped = line.rstrip()
        if lang.shell:
            cont = split.open_string[j] or stripped.endswith(("\\", "|", "&&", "||"))
        else:
            cont = (
                _open_expression(stack)
                or split.open_string[j]
                or stripped.endswith(_CONTINUES)
                or (lang.name == "php" and stripped.endswith("."))
                or _next_starts_chain(masked, j)
            )
        if not cont or j - start + 1 >= _MAX_STATEMENT_LINES or j == n - 1:
            out.append((start, j))
            start = None
            if cont and not split.open_string[j]:
                stack[:] = [b for b in stack if not b]
    return out


def _brace_is_literal(line: str, pos: int, stack: list[bool], carried_sig: str, carried_word: str, lang: _Lang) -> bool:
    """Whether the ``{`` at ``pos`` opens an object/array literal (part of an expression) or a block."""
    prev = line[pos - 1] if pos > 0 else "\n"
    k = pos - 1
    while k >= 0 and line[k].isspace():
        k -= 1
    if k >= 0:
        last_sig = line[k]
        word = re.search(r"\w{1,8}$", line[max(0, k - 7) : k + 1])
        last_word = word.group() if word else ""
    else:
        last_sig, last_word = carried_sig, carried_word
    if last_sig == ")" or (last_sig == ">" and not lang.arrow_brace_literal):
        return False  # a function or control-flow body
    return (
        (bool(stack) and stack[-1])
        or last_sig in "=(,:[?"
        or last_word in ("return", "new", "yield")
        or (lang.arrow_brace_literal and last_sig == ">")
        or prev in "$#"
        or (lang.adjacent_brace_literal and (prev.isalnum() or prev in "_]"))
    )


def _open_expression(stack: list[bool]) -> bool:
    """An expression bracket is open inside the innermost block (a function body ends nothing outside it)."""
    return bool(stack) and stack[-1]


def _next_starts_chain(masked: list[str], j: int) -> bool:
    for nxt in masked[j + 1 : j + 4]:
        text = nxt.lstrip()
        if text:
            return text.startswith(_CHAIN_STARTS) and not text.startswith("...")
    return False


@dataclass
class _Info:
    """What a name assigned in one statement carries to the statements that use it."""

    line: int
    kinds: frozenset[str]
    methods: frozenset[str]
    flags: frozenset[str]
    ms_lines: frozenset[int]
    is_handle: bool  # the assignment was itself an HTTP call (a request object, a curl handle)
    produced: dict[str, int] = field(default_factory=dict)


def _nearest(entries: list[_Info], line: int) -> _Info | None:
    before = [e for e in entries if e.line < line]
    if before:
        return before[-1]
    return entries[0] if len(entries) == 1 else None


def _flags(text: str, lang: _Lang) -> set[str]:
    flags = set()
    if _X_FILENAME.search(text):
        flags.add("x_filename")
    if _AV_TYPE.search(text):
        flags.add("av_type")
    if lang.media_source.search(text):
        flags.add("media_source")
    if lang.multipart.search(text):
        flags.add("multipart")
    if _MEDIA_FILE.search(text):
        flags.add("media_file")
    return flags


class _Emitter:
    """Adds a hit for one statement, or folds it into the hit of the request object it uses."""

    def __init__(self, hits: list[_Hit], produced: dict[str, int], handles: list[_Info], line: int) -> None:
        self.hits = hits
        self.produced = produced
        self.handles = handles
        self.line = line

    def __call__(self, operation: Operation, confidence: Confidence) -> None:
        hits, produced, handles = self.hits, self.produced, self.handles
        for ref in handles:
            if operation in ref.produced:
                _raise(hits[ref.produced[operation]], confidence)
                produced[operation] = ref.produced[operation]
                return
        if operation == "media_source":
            for ref in handles:
                if "create_session" in ref.produced:
                    index = ref.produced.pop("create_session")
                    hits[index].operation = "media_source"
                    _raise(hits[index], confidence)
                    ref.produced["media_source"] = produced["media_source"] = index
                    return
        if operation == "create_session" and any("media_source" in ref.produced for ref in handles):
            return
        hits.append(_Hit(self.line, operation, confidence))
        index = len(hits) - 1
        produced[operation] = index
        for ref in handles:
            ref.produced[operation] = index


def _analyse(split: _Split, lang: _Lang, tracked: dict[str, list[_Info]], mentions: bool) -> list[_Hit]:
    code = split.code
    hits: list[_Hit] = []
    consumed: set[int] = set()
    for start, end in _statements(split, lang):
        text = "\n".join(code[start : end + 1])
        if not text.strip():
            continue
        assign = lang.assign.match(code[start])
        target = assign.group(1) if assign else None
        body = text[assign.end() :] if assign else text
        kinds = _kinds_in(body)
        methods = lang.methods(body)
        flags = _flags(body, lang)
        ms_lines = {start + k for k, ln in enumerate(code[start : end + 1]) if lang.media_source.search(ln)}
        refs: list[_Info] = []
        for name, entries in tracked.items():
            if name.lstrip("$@") not in body:
                continue
            info = _nearest(entries, start)
            if info is None:
                continue
            used = False
            for match in lang.ref(name).finditer(body):
                rest = body[match.end() :]
                rest = rest[1:] if rest.startswith("}") else rest
                kinds.update(_classify_rest(_SYNTH[k] + rest) for k in info.kinds)
                used = True
            if used:
                methods |= info.methods
                flags |= info.flags
                ms_lines |= info.ms_lines
                refs.append(info)
        is_call = bool(lang.call.search(body))
        produced: dict[str, int] = {}
        handles = [r for r in refs if r.is_handle]
        call_at = lang.call.search(text)
        emit = _Emitter(hits, produced, handles, start + 1 + (text.count("\n", 0, call_at.start()) if call_at else 0))
        if is_call:
            put = "PUT" in methods
            post = "POST" in methods and not put
            session_kinds = kinds & _SESSION_KINDS
            if put:
                if "item" in kinds:
                    emit("upload", "high")
                elif not session_kinds and "x_filename" in flags:
                    emit("upload", "medium")
            elif "align" in kinds and (post or "multipart" in flags):
                emit("align", "high" if "multipart" in flags else "medium")
            elif (
                not session_kinds
                and (post or "multipart" in flags)
                and "media_file" in flags
                and _ALIGN_PATH.search(body)
            ):
                emit("align", "medium")
            elif post and "collection" in kinds:
                if "media_source" in flags:
                    emit("media_source", "high")
                    consumed |= ms_lines
                else:
                    emit("create_session", "low")
            elif post and not session_kinds and "media_source" in flags:
                emit("media_source", "medium")
                consumed |= ms_lines
        if target is not None:
            command_output = lang.shell and body.lstrip().startswith(("$(", "`"))
            info = _Info(
                line=start,
                kinds=frozenset() if command_output else frozenset(kinds),
                methods=frozenset() if command_output else frozenset(methods),
                flags=frozenset() if command_output else frozenset(flags),
                ms_lines=frozenset(ms_lines),
                is_handle=is_call and not command_output,
                produced=produced if is_call and not command_output else {},
            )
            carries = info.kinds or info.methods or info.flags or info.ms_lines or info.produced
            if carries or target in tracked:  # a plain reassignment still hides what the name held before
                tracked.setdefault(target, []).append(info)
    if mentions:
        for index, line in enumerate(code):
            if index in consumed:
                continue
            key = lang.media_source.search(line)
            if key and not _LABEL_VALUE.match(line, key.end()):
                hits.append(_Hit(index + 1, "media_source", "medium"))
    return hits


# ``media_source: "Media source"``: a label, not a URL (a URL has ``://``, a template has ``$``/``{``).
_LABEL_VALUE = re.compile(r"""\s*(?::|=>|=|,)?\s*(["'])(?:(?!://)[^"'${\\])*\1""")
_JAVADOC = re.compile(r"^\s*\*+(?!/)\s?")


def _scan_patterns(lines: list[str], lang: _Lang, mentions: bool) -> list[_Hit]:
    split = _split(lines, lang)
    tracked: dict[str, list[_Info]] = {}
    hits = _analyse(split, lang, tracked, mentions)
    if any(c.strip() for c in split.comments):
        comment_lines = [_JAVADOC.sub("", c) if lang.block_comment else c for c in split.comments]
        comment_split = _split(comment_lines, lang)
        code_tracked = {name: [replace(e, produced={}) for e in v] for name, v in tracked.items()}
        for hit in _analyse(comment_split, lang, code_tracked, mentions):
            hit.confidence = "low"
            hits.append(hit)
    return hits


# --------------------------------------------------------------------------------------------------
# Python: the AST


_FORMAT_FIELD = re.compile(r"\{([^{}]*)\}")
_PERCENT_FIELD = re.compile(r"%%|%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[sdrifx]")
_HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
_AMBIGUOUS = ast.Constant(value=None)


class _ClassInfo:
    def __init__(self) -> None:
        self.attrs: dict[str, list[tuple[ast.expr, _Scope]]] = {}
        self.returns: dict[str, tuple[ast.expr, _Scope]] = {}  # methods that only return an expression


class _Scope:
    def __init__(self, parent: _Scope | None, cls: _ClassInfo | None) -> None:
        self.parent = parent
        self.cls = cls
        self.names: dict[str, list[ast.expr]] = {}
        self.params: set[str] = set()
        self.ms_subscripts: dict[str, list[ast.AST]] = {}
        self.returns: dict[str, tuple[ast.expr, _Scope]] = {}  # functions that only return an expression

    def bind(self, name: str, value: ast.expr) -> None:
        self.names.setdefault(name, []).append(value)


@dataclass
class _PyEvidence:
    x_filename: bool = False
    multipart: bool = False
    media_file: bool = False
    media_source: list[ast.AST] = field(default_factory=list)


class _Python:
    """One parsed module (or one commented-out snippet): scopes, string values, calls, hits."""

    def __init__(self, tree: ast.Module, *, outer: _Scope | None = None, line_offset: int = 0) -> None:
        self.tree = tree
        self.line_offset = line_offset
        self.module = _Scope(outer, None)
        self.scopes: dict[int, _Scope] = {}
        self.hits: list[_Hit] = []
        self.consumed: set[int] = set()
        self.ms_nodes: list[ast.AST] = []
        self.ms_subscript_ids: set[int] = set()
        self._bind_body(tree.body, self.module, None)

    # -- binding ------------------------------------------------------------------------------------

    def _bind_body(self, body: Sequence[ast.AST], scope: _Scope, cls: _ClassInfo | None) -> None:
        for node in body:
            self._bind(node, scope, cls)

    def _bind(self, node: ast.AST, scope: _Scope, cls: _ClassInfo | None) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if cls is None:
                scope.bind(node.name, _AMBIGUOUS)
            inner = _Scope(scope, cls if cls is not None else scope.cls)
            args = node.args
            for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
                if arg is not None:
                    inner.params.add(arg.arg)
            self.scopes[id(node)] = inner
            self._bind_body(node.body, inner, None)
            body = node.body[1:] if node.body and _is_docstring(node.body[0]) else node.body
            if len(body) == 1 and isinstance(body[0], ast.Return) and body[0].value is not None:
                (cls.returns if cls is not None else scope.returns)[node.name] = (body[0].value, inner)
            return
        if isinstance(node, ast.ClassDef):
            if cls is None:
                scope.bind(node.name, _AMBIGUOUS)
            self._bind_body(node.body, scope, _ClassInfo())
            return
        if isinstance(node, ast.Assign):
            for target in node.targets:
                self._bind_target(target, node.value, scope, cls)
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            self._bind_target(node.target, node.value, scope, cls)
        elif isinstance(node, (ast.AugAssign, ast.For, ast.AsyncFor)):
            self._bind_target(node.target, _AMBIGUOUS, scope, cls)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                if item.optional_vars is not None:
                    self._bind_target(item.optional_vars, _AMBIGUOUS, scope, cls)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                scope.bind((alias.asname or alias.name).split(".")[0], _AMBIGUOUS)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            scope.bind(node.name, _AMBIGUOUS)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.stmt, ast.excepthandler, ast.match_case)):
                self._bind(child, scope, cls)

    def _bind_target(self, target: ast.AST, value: ast.expr, scope: _Scope, cls: _ClassInfo | None) -> None:
        if isinstance(target, ast.Name):
            if cls is not None:
                cls.attrs.setdefault(target.id, []).append((value, scope))
            else:
                scope.bind(target.id, value)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._bind_target(element, _AMBIGUOUS, scope, cls)
        elif isinstance(target, ast.Starred):
            self._bind_target(target.value, _AMBIGUOUS, scope, cls)
        elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
            owner = self._class_of(scope)
            if target.value.id in ("self", "cls") and owner is not None:
                owner.attrs.setdefault(target.attr, []).append((value, scope))
        elif (
            isinstance(target, ast.Subscript)
            and isinstance(target.value, ast.Name)
            and isinstance(target.slice, ast.Constant)
            and target.slice.value == "media_source"
        ):
            scope.ms_subscripts.setdefault(target.value.id, []).append(target)
            self.ms_subscript_ids.add(id(target))

    @staticmethod
    def _class_of(scope: _Scope | None) -> _ClassInfo | None:
        while scope is not None:
            if scope.cls is not None:
                return scope.cls
            scope = scope.parent
        return None

    # -- values -------------------------------------------------------------------------------------

    def _resolve(self, node: ast.AST, scope: _Scope) -> tuple[ast.expr, _Scope] | None:
        if isinstance(node, ast.Name):
            current: _Scope | None = scope
            while current is not None:
                if node.id in current.names:
                    values = current.names[node.id]
                    if len(values) == 1 and values[0] is not _AMBIGUOUS:
                        return values[0], current
                    return None
                if node.id in current.params:
                    return None
                current = current.parent
            return None
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
            owner = self._class_of(scope)
            if owner is not None:
                attrs = owner.attrs.get(node.attr, [])
                if len(attrs) == 1 and attrs[0][0] is not _AMBIGUOUS:
                    return attrs[0]
        return None

    def _text(self, node: ast.AST | None, scope: _Scope, depth: int = 0) -> str | None:
        """The string ``node`` evaluates to, with ``{}`` for the parts that are not known; ``None`` if nothing is."""
        if node is None or depth > 12:
            return None
        if isinstance(node, ast.Constant):
            return node.value if isinstance(node.value, str) else None
        if isinstance(node, ast.JoinedStr):
            parts: list[str] = []
            for value in node.values:
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    parts.append(value.value)
                elif isinstance(value, ast.FormattedValue):
                    parts.append(self._text(value.value, scope, depth + 1) or "{}")
            return "".join(parts)
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.Add):
                left = self._text(node.left, scope, depth + 1)
                right = self._text(node.right, scope, depth + 1)
                if left is None and right is None:
                    return None
                return (left or "{}") + (right or "{}")
            if isinstance(node.op, ast.Mod):
                template = self._text(node.left, scope, depth + 1)
                if template is None:
                    return None
                values = node.right.elts if isinstance(node.right, ast.Tuple) else [node.right]
                texts = iter([self._text(v, scope, depth + 1) or "{}" for v in values])
                return _PERCENT_FIELD.sub(lambda m: "%" if m.group() == "%%" else next(texts, "{}"), template)
            return None
        if isinstance(node, ast.Call):
            return self._call_text(node, scope, depth)
        if isinstance(node, ast.IfExp):
            return self._text(node.body, scope, depth + 1) or self._text(node.orelse, scope, depth + 1)
        resolved = self._resolve(node, scope)
        if resolved is not None:
            return self._text(resolved[0], resolved[1], depth + 1)
        return None

    def _call_text(self, node: ast.Call, scope: _Scope, depth: int) -> str | None:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        args = node.args
        if isinstance(func, ast.Attribute) and name == "format":
            template = self._text(func.value, scope, depth + 1)
            if template is None:
                return None
            positional = [self._text(a, scope, depth + 1) or "{}" for a in args]
            named = {k.arg: self._text(k.value, scope, depth + 1) or "{}" for k in node.keywords if k.arg}
            counter = iter(range(len(positional)))

            def field(match: re.Match[str]) -> str:
                key = match.group(1).split(".")[0].split("[")[0].split("!")[0].split(":")[0]
                if key == "":
                    index = next(counter, -1)
                    return positional[index] if 0 <= index < len(positional) else "{}"
                if key.isdigit():
                    return positional[int(key)] if int(key) < len(positional) else "{}"
                return named.get(key, "{}")

            return _FORMAT_FIELD.sub(field, template)
        if isinstance(func, ast.Attribute) and name in ("strip", "rstrip", "lstrip", "lower"):
            return self._text(func.value, scope, depth + 1)
        if (
            isinstance(func, ast.Attribute)
            and name == "join"
            and isinstance(func.value, ast.Constant)
            and isinstance(func.value.value, str)
            and args
            and isinstance(args[0], (ast.List, ast.Tuple))
        ):
            parts = [self._text(e, scope, depth + 1) for e in args[0].elts]
            if all(p is None for p in parts):
                return None
            return func.value.value.join(p or "{}" for p in parts)
        if name in ("urljoin", "join") and len(args) >= 2:
            parts = [self._text(a, scope, depth + 1) for a in args]
            if all(p is None for p in parts):
                return None
            return "/".join((p or "{}").strip("/") for p in parts)
        returned = self._returned(func, scope)
        if returned is not None:
            return self._text(returned[0], returned[1], depth + 1)
        if name in ("str", "quote") and args:
            return self._text(args[0], scope, depth + 1)
        if name in ("getenv", "get") and len(args) >= 2:
            return self._text(args[1], scope, depth + 1)
        return None

    def _returned(self, func: ast.expr, scope: _Scope) -> tuple[ast.expr, _Scope] | None:
        """What a local one-line helper (``def url(sid): return f"…/{sid}"``, or ``self.url(…)``) returns."""
        if isinstance(func, ast.Name):
            current: _Scope | None = scope
            while current is not None:
                if func.id in current.returns:
                    return current.returns[func.id]
                current = current.parent
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in ("self", "cls"):
            owner = self._class_of(scope)
            if owner is not None:
                return owner.returns.get(func.attr)
        return None

    # -- calls --------------------------------------------------------------------------------------

    def _request(self, call: ast.Call, scope: _Scope) -> tuple[str, ast.expr | None] | None:
        """(method, URL expression) when ``call`` sends an HTTP request."""
        func = call.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
        if name is None:
            return None
        args = call.args
        keywords = {k.arg: k.value for k in call.keywords if k.arg}
        if isinstance(func, ast.Attribute) and name.upper() in _HTTP_METHODS and name.islower():
            return name.upper(), args[0] if args else keywords.get("url")
        if name in ("request", "build_request", "stream"):
            method = self._text(args[0] if args else keywords.get("method"), scope)
            if method and method.upper() in _HTTP_METHODS:
                return method.upper(), args[1] if len(args) > 1 else keywords.get("url")
            return None
        if name == "Request":
            first = self._text(args[0], scope) if args else None
            if first and first.upper() in _HTTP_METHODS:
                return first.upper(), args[1] if len(args) > 1 else keywords.get("url")
            method = self._text(keywords.get("method"), scope)
            has_data = len(args) > 1 or "data" in keywords
            verb = method.upper() if method else ("POST" if has_data else "GET")
            return verb, args[0] if args else keywords.get("url")
        if "method" in keywords:
            method = self._text(keywords["method"], scope)
            if method and method.upper() in _HTTP_METHODS:
                return method.upper(), args[0] if args else keywords.get("url")
        return None

    def _related(self, call: ast.Call, scope: _Scope) -> list[tuple[ast.AST, _Scope]]:
        """The call and what the names it uses were assigned (three levels deep)."""
        out: list[tuple[ast.AST, _Scope]] = [(call, scope)]
        seen: set[int] = set()
        todo: list[tuple[ast.AST, _Scope, int]] = [(call, scope, 0)]
        while todo:
            node, node_scope, depth = todo.pop()
            for sub in ast.walk(node):
                if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load):
                    current: _Scope | None = node_scope
                    while current is not None:
                        if sub.id in current.ms_subscripts:
                            for target in current.ms_subscripts[sub.id]:
                                if id(target) not in seen:
                                    seen.add(id(target))
                                    out.append((target, current))
                            break
                        if sub.id in current.names or sub.id in current.params:
                            break
                        current = current.parent
                if not isinstance(sub, (ast.Name, ast.Attribute)) or depth >= 3:
                    continue
                resolved = self._resolve(sub, node_scope)
                if resolved is not None and id(resolved[0]) not in seen:
                    seen.add(id(resolved[0]))
                    out.append(resolved)
                    todo.append((resolved[0], resolved[1], depth + 1))
        return out

    def _evidence(self, call: ast.Call, scope: _Scope) -> _PyEvidence:
        evidence = _PyEvidence()
        if any(k.arg == "files" for k in call.keywords):
            evidence.multipart = True
        for node, _scope in self._related(call, scope):
            if id(node) in self.ms_subscript_ids:
                evidence.media_source.append(node)
                continue
            for sub in ast.walk(node):
                if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                    value = sub.value.lower()
                    evidence.x_filename |= "x-filename" in value
                    evidence.multipart |= "multipart/form-data" in value
                    evidence.media_file |= value in ("media_file", "transcript_file")
                elif isinstance(sub, (ast.Name, ast.Attribute)):
                    ident = sub.id if isinstance(sub, ast.Name) else sub.attr
                    evidence.multipart |= ident in ("MultipartEncoder", "FormData", "MultipartWriter")
                if _is_media_source_node(sub):
                    evidence.media_source.append(sub)
        evidence.multipart |= evidence.media_file
        return evidence

    def _hit(self, node: ast.AST, operation: Operation, confidence: Confidence) -> None:
        self.hits.append(_Hit(getattr(node, "lineno", 1) + self.line_offset, operation, confidence))

    def _visit_call(self, call: ast.Call, scope: _Scope) -> None:
        request = self._request(call, scope)
        if request is None:
            func = call.func
            if (
                isinstance(func, ast.Attribute)
                and func.attr == "create_session"
                and any(k.arg == "media_source" for k in call.keywords)
            ):
                self._hit(call, "media_source", "medium")
                self.consumed.add(id(call))
            return
        method, url_node = request
        url = self._text(url_node, scope)
        kinds = _kinds_in(url) if url is not None else set()
        session_kinds = kinds & _SESSION_KINDS
        unknown_url = url is None or not _PLACEHOLDER.sub("", url).strip()
        if method == "PUT":
            if "item" in kinds:
                self._hit(call, "upload", "high")
            elif not session_kinds and unknown_url and self._evidence(call, scope).x_filename:
                self._hit(call, "upload", "medium")
            return
        if method != "POST":
            return
        if "align" in kinds:
            self._hit(call, "align", "high" if self._evidence(call, scope).multipart else "medium")
            return
        if (
            not session_kinds
            and url is not None
            and re.search(r"/align/?$", url.split("?")[0])
            and self._evidence(call, scope).media_file
        ):
            self._hit(call, "align", "medium")
            return
        if "collection" in kinds:
            evidence = self._evidence(call, scope)
            if evidence.media_source:
                self._hit(call, "media_source", "high")
                self.consumed.update(id(n) for n in evidence.media_source)
            else:
                self._hit(call, "create_session", "low")
            return
        if not session_kinds and unknown_url:
            evidence = self._evidence(call, scope)
            if evidence.media_source:
                self._hit(call, "media_source", "medium")
                self.consumed.update(id(n) for n in evidence.media_source)

    def run(self, mentions: bool) -> list[_Hit]:
        self._walk(self.tree, self.module)
        if mentions:
            for node in self.ms_nodes:
                if id(node) not in self.consumed and _could_be_url(_media_source_value(node)):
                    self._hit(node, "media_source", "medium")
        return self.hits

    def _walk(self, node: ast.AST, scope: _Scope) -> None:
        for child in ast.iter_child_nodes(node):
            child_scope = self.scopes.get(id(child), scope)
            if isinstance(child, ast.Call):
                self._visit_call(child, scope)
                if isinstance(child.func, ast.Name) and child.func.id == "dict" and _is_media_source_node(child):
                    self.ms_nodes.append(child)
            elif isinstance(child, ast.Dict) and _is_media_source_node(child):
                self.ms_nodes.append(child)
            self._walk(child, child_scope)


def _is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def _is_media_source_node(node: ast.AST) -> bool:
    if isinstance(node, ast.Dict):
        return any(isinstance(k, ast.Constant) and k.value == "media_source" for k in node.keys)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict":
        return any(k.arg == "media_source" for k in node.keywords)
    return False


def _media_source_value(node: ast.AST) -> ast.expr | None:
    if isinstance(node, ast.Dict):
        for key, value in zip(node.keys, node.values, strict=True):
            if isinstance(key, ast.Constant) and key.value == "media_source":
                return value
    if isinstance(node, ast.Call):
        for keyword in node.keywords:
            if keyword.arg == "media_source":
                return keyword.value
    return None


def _could_be_url(value: ast.expr | None) -> bool:
    """Whether a ``media_source`` value may be a URL (a label, a number or a tuple is not)."""
    if isinstance(value, ast.Constant):
        return isinstance(value.value, str) and "://" in value.value
    return not isinstance(value, (ast.Tuple, ast.List, ast.Dict, ast.Set, ast.Lambda))


def _scan_python(source: str, mentions: bool) -> list[_Hit]:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return _scan_patterns(source.splitlines(), _PYTHON_FALLBACK, mentions)
    analysis = _Python(tree)
    hits = analysis.run(mentions)
    for first_line, snippet in _python_comment_code(source):
        try:
            snippet_tree = ast.parse(snippet)
        except (SyntaxError, ValueError, RecursionError):
            continue
        for hit in _Python(snippet_tree, outer=analysis.module, line_offset=first_line - 1).run(mentions):
            hit.confidence = "low"
            hits.append(hit)
    return hits


def _python_comment_code(source: str) -> Iterator[tuple[int, str]]:
    """(first line, dedented text) of commented-out code: whole blocks of ``#`` lines, else single lines."""
    comments: dict[int, str] = {}
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT and not token.line[: token.start[1]].strip():
                comments[token.start[0]] = token.string[1:]
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return
    groups: list[list[int]] = []
    for line in sorted(comments):
        if groups and groups[-1][-1] == line - 1:
            groups[-1].append(line)
        else:
            groups.append([line])
    budget = _COMMENT_PARSE_BUDGET
    for group in groups:
        i = 0
        while i < len(group) and budget > 0:
            end = i
            if _LOOKS_LIKE_CODE.search(comments[group[i]]):
                for j in range(min(len(group), i + _COMMENT_BLOCK_MAX), i, -1):
                    budget -= 1
                    block = textwrap.dedent("\n".join(comments[n] for n in group[i:j]))
                    if _parses(block):
                        yield group[i], block
                        end = j - 1
                        break
            i = end + 1


_LOOKS_LIKE_CODE = re.compile(r"^\s*[\w.]+\s*(?:\(|=[^=]|\[)|^\s*(?:return|await|with)\b")
_COMMENT_BLOCK_MAX = 30
_COMMENT_PARSE_BUDGET = 5000


def _parses(text: str) -> bool:
    if not re.search(r"\w\s*\(", text):
        return False
    try:
        ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return False
    return True


# --------------------------------------------------------------------------------------------------
# Files


def _finish(hits: list[_Hit], lines: list[str], rel: str, language: str, v3_code: bool) -> list[Finding]:
    best: dict[tuple[int, str], _Hit] = {}
    for hit in hits:
        key = (hit.line, hit.operation)
        if key not in best or _RANK[hit.confidence] > _RANK[best[key].confidence]:
            best[key] = hit
    chosen = list(best.values())
    if v3_code and not any(h.operation != "create_session" for h in chosen):
        chosen = []
    findings = []
    for hit in sorted(chosen, key=lambda h: (h.line, h.operation)):
        snippet = lines[hit.line - 1].strip() if 0 < hit.line <= len(lines) else ""
        if len(snippet) > _SNIPPET_MAX:
            snippet = snippet[: _SNIPPET_MAX - 1] + "…"
        findings.append(
            Finding(
                file=rel,
                line=hit.line,
                operation=hit.operation,
                replacement=REPLACEMENTS[hit.operation],
                confidence=hit.confidence,
                language=language,
                snippet=snippet,
            )
        )
    return findings


def scan_source(source: str, filename: str = "<source>", language: str | None = None) -> list[Finding]:
    """Scan one file's text. ``language`` defaults to what ``filename`` says (``None``: no findings)."""
    language = language or language_of(filename, source[:256])
    if language is None or not _RELEVANT.search(source):
        return []
    mentions = bool(_SESSION.search(source))
    if language == "python":
        hits = _scan_python(source, mentions)
    else:
        hits = _scan_patterns(source.splitlines(), _LANGS[language], mentions)
    v3_code = bool(_V3_EVIDENCE.search(source))
    return _finish(hits, source.splitlines(), filename, language, v3_code)


def _walk(root: Path) -> Iterator[Path]:
    if root.is_file():
        yield root
        return
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            yield Path(directory) / name


def _read_text(path: Path) -> str | None:
    """The file's text, or ``None`` when it is too large, binary or unreadable."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    if b"\x00" in data[:8192]:
        return None
    return data.decode("utf-8", errors="replace")


def scan_report(path: str | os.PathLike[str]) -> ScanReport:
    """Scan a file or a directory tree. Raises ``FileNotFoundError`` when ``path`` does not exist."""
    root = Path(path)
    if not root.exists():
        raise FileNotFoundError(f"no such file or directory: {os.fspath(path)}")
    findings: list[Finding] = []
    scanned = skipped = 0
    for file in _walk(root):
        if not file.is_file():
            continue
        rel = file.name if root.is_file() else file.relative_to(root).as_posix()
        language = language_of(file.name)
        if language is None and not file.suffix:
            try:
                with file.open("rb") as handle:
                    head = handle.read(256).decode("utf-8", errors="replace")
            except OSError:
                head = ""
            language = language_of(file.name, head)
        if language is None:
            continue
        text = _read_text(file)
        if text is None:
            skipped += 1
            continue
        scanned += 1
        findings.extend(scan_source(text, rel, language))
    findings.sort(key=lambda f: (f.file, f.line, f.operation))
    return ScanReport(findings=findings, files_scanned=scanned, files_skipped=skipped)


def scan(path: str | os.PathLike[str]) -> list[Finding]:
    """The V1-only calls under ``path`` (a file or a directory), sorted by file and line."""
    return scan_report(path).findings


# --------------------------------------------------------------------------------------------------
# Command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``scan`` arguments, for a parent CLI's sub-parser (``run(args)`` then does the work)."""
    parser.add_argument("path", help="a file or a directory to scan")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default text)")
    parser.add_argument(
        "--fail-on-findings", action="store_true", help="exit with status 1 when any V1-only call is found"
    )


def _display(root: str, finding: Finding) -> str:
    base = Path(root)
    return root if base.is_file() else (base / finding.file).as_posix()


def run(args: argparse.Namespace, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run ``scan`` with parsed arguments. Exit status: 0, 1 (findings with ``--fail-on-findings``), 2 (no path)."""
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
            json.dump(report.to_dict(), out, indent=2, ensure_ascii=False)
            out.write("\n")
        else:
            _print_text(report, args.path, out)
        out.flush()
    except BrokenPipeError:  # `scan … | head`: stop quietly
        if out is sys.stdout:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return status


def _print_text(report: ScanReport, root: str, out: TextIO) -> None:
    for finding in report.findings:
        where = f"{_display(root, finding)}:{finding.line}"
        out.write(f"{where}: [{finding.operation}] ({finding.confidence}) {finding.snippet}\n")
        out.write(f"    -> {finding.replacement}\n")
    count = len(report.findings)
    files = report.files_scanned
    scanned = f"{files} file{'s' if files != 1 else ''} scanned"
    if not count:
        out.write(f"No V1-only calls found ({scanned}).\n")
        return
    by = {c: sum(1 for f in report.findings if f.confidence == c) for c in ("high", "medium", "low")}
    in_files = len({f.file for f in report.findings})
    out.write(
        f"{count} V1-only call{'s' if count != 1 else ''} in {in_files} file{'s' if in_files != 1 else ''} "
        f"(high {by['high']}, medium {by['medium']}, low {by['low']}; {scanned}). See MIGRATION.md.\n"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``scriptix-compat scan PATH [--format text|json] [--fail-on-findings]``; ``argv`` excludes ``scan``."""
    parser = argparse.ArgumentParser(
        prog="scriptix-compat scan",
        description="Find the Scriptix V1-only calls (PUT upload, media_source, /align) in a codebase.",
    )
    add_arguments(parser)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or bad usage
        return exc.code if isinstance(exc.code, int) else 2
    return run(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
