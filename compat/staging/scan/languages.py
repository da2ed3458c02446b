"""The languages the scan reads: one row of patterns each, read by one engine (:mod:`.patterns`).

A row names the language's files (extensions, ``#!`` interpreters), how its code is split (comments,
quotes) and what its HTTP calls look like (the call, its methods, a multipart body, a key, an
assignment); :class:`~compat.staging.scan.language_rules.LanguageRules` documents each field. What a
legacy call sends and how it is named is the same in every language (:mod:`.call_rules`). Python is read
through its AST (:mod:`.python_ast`); its row gives its files and the patterns for a file that does not parse.
A ``GET`` row is only needed where a statement may name several methods: a call that names none is a GET.
Azure Logic App and ARM templates (JSON) are a row too, read as data (:mod:`.json_requests`).
"""

from __future__ import annotations

import dataclasses

from compat.staging.scan.language_rules import DECLARED_TYPE, NEVER, LanguageRules

__all__ = ["BY_NAME", "LANGUAGES", "PYTHON_FALLBACK"]

# fetch, axios, jQuery, got, ky, superagent, XMLHttpRequest, Angular …
JAVASCRIPT = LanguageRules(
    name="javascript",
    extensions=(".js", ".mjs", ".cjs", ".jsx", ".vue", ".svelte"),
    interpreters=("node",),
    line_comments=("//",),
    block_comment=("/*", "*/"),
    quotes="\"'`",
    multiline_quotes="`",
    methods=(
        ("PUT", r"""(?i)\b(?:method|type)\s*:\s*['"`]put['"`]|\.put\s*(?:<[^()]*?>\s*)?\(|\(\s*['"`]put['"`]\s*,"""),
        (
            "POST",
            r"""(?i)\b(?:method|type)\s*:\s*['"`]post['"`]|\.post\s*(?:<[^()]*?>\s*)?\(|\(\s*['"`]post['"`]\s*,""",
        ),
        ("GET", r"""(?i)\b(?:method|type)\s*:\s*['"`]get['"`]|\(\s*['"`]get['"`]\s*,"""),
    ),
    # … and the ``request`` package of the Node samples of the Zoom Media era (``request(options, cb)``,
    # ``request.post({url, json})``, ``rp(options)`` from request-promise)
    call=(
        r"""\bfetch\s*\(|\baxios\b|\.ajax\s*\(|\bgot\s*[.(]|\bky\s*[.(]|\bsuperagent\b|\bneedle\s*\(|"""
        r"""\bhttps?\.request\s*\(|\bnew\s+Request\s*\(|\.open\s*\(|\.(?:put|post|request)\s*(?:<[^()]*?>\s*)?\(|"""
        r"""\$http\b|\b(?:request|rp)(?:\.(?:get|post|put))?\s*\(|\.get\s*<[^()]*?>\s*\(|\bhttp\.get\s*\("""
    ),
    multipart=r"""(?i)\bFormData\b|multipart|\bform-data\b""",  # (?i): also request's ``formData`` option
    key=r"""\\?["'`]{key}\\?["'`]\s*(?::|,|\))|(?<![\w$'"`]){key}\s*(?::|=(?![=>]))""",
    assign=r"""^\s*(?:export\s+)?(?:(?:const|let|var)\s+)?((?:this\.)?[A-Za-z_$][\w$]*)\s*(?::\s*[^=;]+?)?\s*=(?![=>])""",
)

TYPESCRIPT = dataclasses.replace(
    JAVASCRIPT, name="typescript", extensions=(".ts", ".tsx", ".mts", ".cts"), interpreters=()
)

# curl_*, Guzzle, Laravel's Http, PSR-7 requests, file_get_contents with a stream context
PHP = LanguageRules(
    name="php",
    extensions=(".php", ".phtml"),
    interpreters=("php",),
    line_comments=("//", "#"),
    block_comment=("/*", "*/"),
    hash_bracket_is_code=True,
    dot_continues=True,
    quotes="\"'",
    multiline_quotes="\"'",
    methods=(
        (
            "PUT",
            r"""(?i)CURLOPT_CUSTOMREQUEST\s*(?:,|=>)\s*['"]PUT['"]|CURLOPT_PUT\s*(?:,|=>)\s*(?:true|1)\b|"""
            r"""(?:->|::)put\s*\(|\(\s*['"]PUT['"]\s*,|['"]method['"]\s*=>\s*['"]PUT['"]""",
        ),
        (
            "POST",
            r"""(?i)CURLOPT_POST\s*(?:,|=>)\s*(?:true|1)\b|CURLOPT_POSTFIELDS\b|"""
            r"""CURLOPT_CUSTOMREQUEST\s*(?:,|=>)\s*['"]POST['"]|(?:->|::)post\s*\(|\(\s*['"]POST['"]\s*,|"""
            r"""['"]method['"]\s*=>\s*['"]POST['"]""",
        ),
        ("GET", r"""(?i)CURLOPT_HTTPGET\b|(?:->|::)get\s*\(|\(\s*['"]GET['"]\s*,|['"]method['"]\s*=>\s*['"]GET['"]"""),
    ),
    call=(
        r"""\bcurl_init\s*\(|\bcurl_setopt(?:_array)?\s*\(|\bcurl_exec\s*\(|"""
        r"""(?:->|::)(?:put|post|request|requestAsync|send|sendAsync)\s*\(|\bfile_get_contents\s*\(|"""
        r"""\bstream_context_create\s*\(|\bnew\s+\\?(?:GuzzleHttp\\Psr7\\)?Request\s*\("""
    ),
    multipart=r"""\bCURLFile\b|\bcurl_file_create\b|['"]multipart['"]|multipart/form-data|->attach\s*\(""",
    key=r"""\\?["']{key}\\?["']\s*(?:=>|:)""",
    assign=(
        r"""^\s*(?:(?:public|private|protected|static|final|readonly|const)\s+)*"""
        r"""(\$?[A-Za-z_]\w*(?:->\w+)?)\s*=(?![=>])"""
    ),
    ref_prefix=r"(?<![\w$>])",
    ref_suffix=r"(?!\w)",
)

# curl, wget and HTTPie (http/https/xh), whose HTTP method is an option: the first of -X/--request, wget's
# --method or HTTPie's method word, else -T (PUT), else data or a form (POST), else none (the engine takes a
# call that names no method as a GET)
SHELL = LanguageRules(
    name="shell",
    extensions=(".sh", ".bash", ".zsh", ".ksh"),
    interpreters=("sh", "bash", "zsh", "ksh", "dash"),
    line_comments=("#",),
    block_comment=None,
    hash_at_word_start=True,
    shell=True,
    quotes="\"'`",
    multiline_quotes="\"'`",
    raw_quotes="'",
    first_method_only=True,
    methods=(
        ("", r"""(?:(?<!\S)-[A-Za-z]*X\s*|--request[\s=]+)['"]?([A-Za-z]+)"""),
        ("", r"""(?<!\S)--method[=\s]+['"]?([A-Za-z]+)"""),
        ("", r"""(?m)(?:^|[\s;|&(])(?:http|https|xh)\s+(?:-\S+\s+)*(PUT|POST)\b"""),
        ("PUT", r"""(?<!\S)(?:-[A-Za-z]*T|--upload-file)(?=[\s=])"""),
        (
            "POST",
            r"""(?m)(?<!\S)(?:-[A-Za-z]*[dF]|--data(?:-raw|-binary|-urlencode|-ascii)?|--json|--form(?:-string)?|"""
            r"""--post-data|--post-file)(?=[\s=@'"]|$)""",
        ),
    ),
    call=r"""(?m)(?:^|[\s;|&(`])(?:curl|wget|http|https|xh)(?=\s)""",
    multipart=r"""(?<!\S)(?:-[A-Za-z]*F|--form(?:-string)?)(?=[\s=])|multipart""",
    key=r"""\\?["']{key}\\?["']\s*:|(?<![\w$-]){key}=""",
    assign=r"""^\s*(?:export\s+|local\s+|readonly\s+|declare(?:\s+-\w+)*\s+)?([A-Za-z_]\w*)=""",
    ref_prefix=r"\$\{?",
    ref_suffix=r"(?!\w)",
)

# net/http, resty
GO = LanguageRules(
    name="go",
    extensions=(".go",),
    line_comments=("//",),
    block_comment=("/*", "*/"),
    adjacent_brace_literal=True,
    quotes="\"'`",
    multiline_quotes="`",
    raw_quotes="`",
    methods=(
        ("PUT", r"""\bhttp\.MethodPut\b|"PUT"|\.Put\s*\("""),
        ("POST", r"""\bhttp\.MethodPost\b|"POST"|\bhttp\.Post(?:Form)?\s*\(|\.Post(?:Form)?\s*\("""),
        ("GET", r"""\bhttp\.MethodGet\b|"GET"|\bhttp\.Get\s*\(|\.Get\s*\("""),
    ),
    call=(
        r"""\bhttp\.(?:NewRequest(?:WithContext)?|Post|PostForm|Get|Head)\s*\(|\.Do\s*\(|\.R\(\)|"""
        r"""\.(?:Put|Post|Execute|Send)\s*\("""
    ),
    multipart=r"""\bmultipart\.|CreateFormFile|CreateFormField|multipart/form-data|\bSetFile\s*\(|SetMultipartField""",
    key=r"""\\?"{key}\\?"\s*:|json:"{key}""",
    assign=r"""^\s*(?:var\s+|const\s+)?([A-Za-z_]\w*)(?:\s*,\s*[A-Za-z_]\w*)*(?:\s+[\w.*\[\]]+)?\s*:?=(?!=)""",
)

# java.net.http, HttpURLConnection, Apache HttpClient, OkHttp, Unirest, Spring's RestTemplate/WebClient
JAVA = LanguageRules(
    name="java",
    extensions=(".java",),
    line_comments=("//",),
    block_comment=("/*", "*/"),
    quotes="\"'",
    methods=(
        (
            "PUT",
            r"""\.PUT\s*\(|setRequestMethod\s*\(\s*"PUT"\s*\)|\bnew\s+HttpPut\s*[<(]|\.method\s*\(\s*"PUT"|"""
            r"""\bHttpMethod\.PUT\b|\.put\s*\(\s*(?:RequestBody\b|\w*[bB]ody\s*[,)])|"""
            r"""(?:[tT]emplate|[cC]lient|Unirest)\.put\s*\(""",
        ),
        (
            "POST",
            r"""\.POST\s*\(|setRequestMethod\s*\(\s*"POST"\s*\)|\bnew\s+HttpPost\s*[<(]|\.method\s*\(\s*"POST"|"""
            r"""\bHttpMethod\.POST\b|\.post\s*\(\s*(?:RequestBody\b|\w*[bB]ody\s*[,)])|"""
            r"""(?:[tT]emplate|[cC]lient|Unirest)\.post(?:ForObject|ForEntity)?\s*\(""",
        ),
        (
            "GET",
            r"""\.GET\s*\(|setRequestMethod\s*\(\s*"GET"\s*\)|\bnew\s+HttpGet\s*[<(]|\.method\s*\(\s*"GET"|"""
            r"""\bHttpMethod\.GET\b|(?:[tT]emplate|Unirest)\.get(?:ForObject|ForEntity)?\s*\(""",
        ),
    ),
    call=(
        r"""\bHttpRequest\.newBuilder\b|\.openConnection\s*\(|\bnew\s+Http(?:Put|Post|Get|Delete)\b|"""
        r"""\bnew\s+Request\.Builder\b|\bUnirest\.|\.send(?:Async)?\s*\(|\.execute\s*\(|\.newCall\s*\(|"""
        r"""[tT]emplate\.\w+\s*\(|\b[wW]ebClient\b|\.exchange\s*\(|\.setRequestMethod\s*\("""
    ),
    multipart=r"""ofMimeMultipartData|MultipartBody|MultipartEntityBuilder|multipart|\bFileBody\b|addFormDataPart""",
    key=r"""\\?"{key}\\?"\s*[:,)]""",
    assign=r"""^\s*(?:(?:public|private|protected|static|final|var|val)\s+)*"""
    + DECLARED_TYPE
    + r"""([A-Za-z_]\w*)\s*=(?![=>])""",
)

# HttpClient, HttpRequestMessage, RestSharp, WebRequest
CSHARP = LanguageRules(
    name="csharp",
    extensions=(".cs",),
    line_comments=("//",),
    block_comment=("/*", "*/"),
    quotes="\"'",
    methods=(
        (
            "PUT",
            r"""\bPut(?:AsJson)?Async\s*\(|\bHttpMethod\.Put\b|\bMethod\.(?:Put|PUT)\b|\bMethod\s*=\s*"PUT"|"""
            r"""\bnew\s+HttpMethod\s*\(\s*"PUT"\s*\)""",
        ),
        (
            "POST",
            r"""\bPost(?:AsJson)?Async\s*\(|\bHttpMethod\.Post\b|\bMethod\.(?:Post|POST)\b|\bMethod\s*=\s*"POST"|"""
            r"""\bnew\s+HttpMethod\s*\(\s*"POST"\s*\)""",
        ),
        (
            "GET",
            r"""\bGet(?:String|ByteArray|Stream|FromJson)?Async\s*\(|\bHttpMethod\.Get\b|\bMethod\.(?:Get|GET)\b|"""
            r"""\bMethod\s*=\s*"GET"|\bnew\s+HttpMethod\s*\(\s*"GET"\s*\)""",
        ),
    ),
    call=(
        r"""\b\w+Async\s*\(|\bnew\s+HttpRequestMessage\b|\bnew\s+RestRequest\b|\.Execute\w*\s*\(|"""
        r"""\bWebRequest\.Create\s*\(|\.Send\w*\s*\("""
    ),
    multipart=r"""MultipartFormDataContent|multipart|\bAddFile\s*\(|AlwaysMultipartFormData""",
    key=r"""\\?"{key}\\?"\s*[:,)\]]|(?<![\w."]){key}\s*=(?![=>])""",
    assign=(
        r"""^\s*(?:(?:public|private|protected|internal|static|readonly|const|var|using|await)\s+)*"""
        + DECLARED_TYPE
        + r"""([A-Za-z_]\w*)\s*=(?![=>])"""
    ),
)

# Net::HTTP, RestClient, HTTParty, Faraday, Typhoeus, http.rb
RUBY = LanguageRules(
    name="ruby",
    extensions=(".rb", ".rake"),
    interpreters=("ruby",),
    line_comments=("#",),
    block_comment=None,
    arrow_brace_literal=True,
    quotes="\"'`",
    multiline_quotes="\"'",
    methods=(
        (
            "PUT",
            r"""\bNet::HTTP::Put\b|\.put\b(?![?!=])|\bmethod:\s*:put\b|:method\s*=>\s*:put\b|\brequest\s*\(\s*:put\b""",
        ),
        (
            "POST",
            r"""\bNet::HTTP::Post\b|\.post\b(?![?!=])|\bmethod:\s*:post\b|:method\s*=>\s*:post\b|"""
            r"""\brequest\s*\(\s*:post\b|\bNet::HTTP\.post(?:_form)?\b""",
        ),
        ("GET", r"""\bNet::HTTP::Get\b|\bmethod:\s*:get\b|:method\s*=>\s*:get\b|\brequest\s*\(\s*:get\b"""),
    ),
    call=(
        r"""\bNet::HTTP\b|\bRestClient\b|\bHTTParty\b|\bFaraday\b|\bTyphoeus\b|\bHTTP\.|\.request\s*\(|"""
        r"""\bhttp\.\w+|\bconn(?:ection)?\.\w+|\.(?:put|post)\b"""
    ),
    multipart=r"""[Mm]ultipart|\bset_form\b|\bUploadIO\b|\bFilePart\b""",
    key=r"""\b{key}:(?!:)|:{key}\s*=>|["']{key}["']\s*(?:=>|:)""",
    assign=r"""^\s*(@{0,2}[A-Za-z_]\w*)\s*=(?![=~>])""",
    ref_prefix=r"(?<![\w@$:.])",
    ref_suffix=r"(?![\w?!])",
)

PYTHON_FALLBACK = LanguageRules(
    name="python",
    extensions=(".py", ".pyw", ".pyi"),
    interpreters=("python", "python3"),
    line_comments=("#",),
    block_comment=None,
    triple_quotes=True,
    quotes="\"'",
    methods=(
        ("PUT", r"""(?i)\.put\s*\(|\bmethod\s*=\s*['"]PUT['"]|\(\s*['"]PUT['"]\s*,"""),
        ("POST", r"""(?i)\.post\s*\(|\bmethod\s*=\s*['"]POST['"]|\(\s*['"]POST['"]\s*,"""),
        ("GET", r"""(?i)\bmethod\s*=\s*['"]GET['"]|\(\s*['"]GET['"]\s*,"""),
    ),
    call=(
        r"""\brequests\.|\bhttpx\.|\burllib|\bsession\.|\bclient\.|\.request\s*\(|\.(?:put|post)\s*\(|"""
        r"""\bRequest\s*\(|\burlopen\s*\("""
    ),
    multipart=r"""\bfiles\s*=|MultipartEncoder|FormData|multipart/form-data""",
    key=r"""['"]{key}['"]\s*:|(?<![\w.'"]){key}\s*=(?!=)""",
    assign=r"""^\s*([A-Za-z_][\w.]*)\s*(?::[^=]+)?=(?!=)""",
)
"""Python's files; its patterns are only for a Python file that does not parse (the AST reads every other one)."""

# Azure Logic App workflow definitions and the ARM templates that deploy them: JSON, read as data. Each
# request (an ``Http`` action's ``inputs``, an ``HttpWebhook``'s ``subscribe``) is an object with ``method``
# and ``uri``; these patterns read its text (``json.dumps`` of the object). Other JSON is not read.
LOGIC_APP_JSON = LanguageRules(
    name="json",
    extensions=(".json",),
    marker=r"schema\.management\.azure\.com|Microsoft\.Logic",
    structured=True,
    line_comments=(),
    block_comment=None,
    quotes='"',
    methods=(("", r'"method":\s*"([A-Za-z]+)"'),),
    call=r'"(?:uri|url)":',
    multipart=r"(?i)multipart/form-data|\$multipart",
    key=r'"{key}":',
    assign=NEVER + "()",
)

LANGUAGES: tuple[LanguageRules, ...] = (
    PYTHON_FALLBACK,
    JAVASCRIPT,
    TYPESCRIPT,
    PHP,
    SHELL,
    GO,
    JAVA,
    CSHARP,
    RUBY,
    LOGIC_APP_JSON,
)
"""Every row; ``language_of`` names a file's language from their extensions and interpreters."""

BY_NAME: dict[str, LanguageRules] = {rules.name: rules for rules in LANGUAGES if rules is not PYTHON_FALLBACK}
"""The languages read by pattern, by the name ``language_of`` gives them."""
