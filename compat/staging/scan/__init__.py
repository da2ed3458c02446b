"""``scriptix-compat scan``: find the legacy calls in a codebase, in any language, without running it.

Scriptix V3 dropped three Batch V1 calls, and the whole older generation, the Zoom Media API v1/v2; the
scan lists every place that still makes one, with the V3 replacement and its section of ``MIGRATION.md``:

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

The Zoom Media API v1/v2 (``api.zoommedia.ai``, ``/api/v1|v2/speech-to-text/session…``; MIGRATION.md, "The
Zoom Media API v1/v2 generation"). A call is ``high`` when it names the API itself (its host, an
``/api/v1|v2`` path, or the ``X-Zoom-S2T-Token`` header, in the call or the names it uses), ``medium`` when
only its file does (a file that names the API and no ``/api/v3`` path: a base URL passed as a parameter),
or when only its shape says so:

=======================  ===============================================================  ==============
operation                what is found                                                    confidence
=======================  ===============================================================  ==============
``zm_create_session``    a ``POST`` to ``…/speech-to-text/session``                       high / medium
``zm_upload``            a ``POST`` to ``…/session/{id}`` (the multipart ``upload``); a   high / medium
                         multipart ``POST`` to a session of any API (Batch V1 never
                         POSTs there)                                                     medium
``zm_video_url``         such a ``POST`` sending ``video_url``                            high / medium
``zm_get_result``        a ``GET`` of ``…/session/{id}`` (``done`` and ``results``)       high / medium
``zm_captions``          such a ``GET`` asking for ``text/vtt``/``text/srt`` (``Accept``),
                         also of a session of any API                                     high / medium
=======================  ===============================================================  ==============

A call that names no HTTP method is a ``GET``; a request object built over several statements
(``curl_init``, ``new HttpRequestMessage``) is one call that takes what its later statements set up.

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
* **Azure Logic App workflows and ARM templates** (``.json`` files whose start names
  ``schema.management.azure.com`` or ``Microsoft.Logic``; other JSON is not read) as data: the JSON is parsed
  and walked, and every object with a ``method`` and a ``uri`` (an ``Http`` action's ``inputs``, an
  ``HttpWebhook``'s ``subscribe``, wherever nested) is a request, at the line of its ``"uri"``.
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
languages (Markdown, YAML, JSON that is not an Azure template, …). Symbolic links to directories are not
followed. A file that contains none of ``speech-to-text/session``, ``x-filename``, ``media_source``,
``/align`` and ``zoommedia.ai`` cannot hold a finding and is counted as scanned without further analysis.

Command line (``main``): ``scan PATH [--format text|json] [--fail-on-findings]``. ``json`` prints
``{"findings": [...], "files_scanned": N}`` (sorted by file and line; ``file`` relative to PATH); ``text``
prints ``PATH/file:line: [operation] (confidence) snippet``, an indented ``-> replacement`` line, and a
summary. Exit status 0; 1 with ``--fail-on-findings`` when anything is found; 2 for a missing PATH or bad
usage.

>>> from compat.staging.scan import scan                           # doctest: +SKIP
>>> for finding in scan("src/"):                                   # doctest: +SKIP
...     print(finding.file, finding.line, finding.operation, finding.replacement)

Modules: ``scanner`` (``scan``, ``scan_report``, ``scan_source``), ``model`` (``Finding``, operations,
confidences, ``REPLACEMENTS``), ``files`` (walking, skipping, ``language_of``), ``endpoints`` (which session
endpoint a URL names), ``python_ast``, ``python_scopes``, ``python_values``, ``python_comments`` (Python),
``statements`` and ``patterns`` (the one engine for every other language), ``json_requests`` (Logic App
JSON), ``languages`` (its table: one row of patterns per language, of the type in ``language_rules``),
``call_rules`` (what a legacy call sends and the rules that name it, per generation, the same in every
language), ``report`` (text and JSON), ``cli`` (``main``, ``add_arguments``, ``run``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from compat import lazy

if TYPE_CHECKING:
    from compat.staging.scan.cli import add_arguments, main, run
    from compat.staging.scan.files import MAX_FILE_BYTES, SKIP_DIRS, language_of
    from compat.staging.scan.model import REPLACEMENTS, Confidence, Finding, Operation, ScanReport
    from compat.staging.scan.scanner import scan, scan_report, scan_source

# The public names and their modules, loaded on first use: ``scriptix-compat --help`` builds the
# scan's arguments (``cli.add_arguments``) without loading the scanner.
_LAZY: dict[str, str] = {
    "add_arguments": ".cli",
    "main": ".cli",
    "run": ".cli",
    "MAX_FILE_BYTES": ".files",
    "SKIP_DIRS": ".files",
    "language_of": ".files",
    "REPLACEMENTS": ".model",
    "Confidence": ".model",
    "Finding": ".model",
    "Operation": ".model",
    "ScanReport": ".model",
    "scan": ".scanner",
    "scan_report": ".scanner",
    "scan_source": ".scanner",
}

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


__getattr__, __dir__ = lazy.module_attributes(globals(), _LAZY, __name__)
