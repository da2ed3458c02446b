"""PHP (curl_*, Guzzle, Laravel's Http, PSR-7 requests, file_get_contents with a stream context)."""

from __future__ import annotations

import re

from compat.staging.scan.language_rules import LanguageRules

__all__ = ["PHP"]

PHP = LanguageRules(
    name="php",
    line_comments=("//", "#"),
    block_comment=("/*", "*/"),
    quotes="\"'",
    multiline_quotes="\"'",
    raw_quotes="",
    put=re.compile(
        r"""CURLOPT_CUSTOMREQUEST\s*(?:,|=>)\s*['"]PUT['"]|CURLOPT_PUT\s*(?:,|=>)\s*(?:true|1)\b|"""
        r"""(?:->|::)put\s*\(|\(\s*['"]PUT['"]\s*,|['"]method['"]\s*=>\s*['"]PUT['"]""",
        re.I,
    ),
    post=re.compile(
        r"""CURLOPT_POST\s*(?:,|=>)\s*(?:true|1)\b|CURLOPT_POSTFIELDS\b|"""
        r"""CURLOPT_CUSTOMREQUEST\s*(?:,|=>)\s*['"]POST['"]|(?:->|::)post\s*\(|\(\s*['"]POST['"]\s*,|"""
        r"""['"]method['"]\s*=>\s*['"]POST['"]""",
        re.I,
    ),
    call=re.compile(
        r"""\bcurl_init\s*\(|\bcurl_setopt(?:_array)?\s*\(|\bcurl_exec\s*\(|"""
        r"""(?:->|::)(?:put|post|request|requestAsync|send|sendAsync)\s*\(|\bfile_get_contents\s*\(|"""
        r"""\bstream_context_create\s*\(|\bnew\s+\\?(?:GuzzleHttp\\Psr7\\)?Request\s*\("""
    ),
    multipart=re.compile(
        r"""\bCURLFile\b|\bcurl_file_create\b|['"]multipart['"]|multipart/form-data|\bmedia_file\b|"""
        r"""\btranscript_file\b|->attach\s*\("""
    ),
    media_source=re.compile(r"""\\?["']media_source\\?["']\s*(?:=>|:)"""),
    assign=re.compile(
        r"""^\s*(?:(?:public|private|protected|static|final|readonly|const)\s+)*(\$?[A-Za-z_]\w*(?:->\w+)?)\s*=(?![=>])"""
    ),
    ref_prefix=r"(?<![\w$>])",
    ref_suffix=r"(?!\w)",
)
