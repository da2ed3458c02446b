"""Go (net/http, resty)."""

from __future__ import annotations

import re

from compat.staging.scan.language_rules import LanguageRules

__all__ = ["GO"]

GO = LanguageRules(
    name="go",
    line_comments=("//",),
    block_comment=("/*", "*/"),
    quotes="\"'`",
    multiline_quotes="`",
    raw_quotes="`",
    put=re.compile(r"""\bhttp\.MethodPut\b|"PUT"|\.Put\s*\("""),
    post=re.compile(r"""\bhttp\.MethodPost\b|"POST"|\bhttp\.Post(?:Form)?\s*\(|\.Post(?:Form)?\s*\("""),
    call=re.compile(
        r"""\bhttp\.(?:NewRequest(?:WithContext)?|Post|PostForm|Get|Head)\s*\(|\.Do\s*\(|\.R\(\)|"""
        r"""\.(?:Put|Post|Execute|Send)\s*\("""
    ),
    multipart=re.compile(
        r"""\bmultipart\.|CreateFormFile|CreateFormField|multipart/form-data|\bmedia_file\b|\btranscript_file\b|"""
        r"""\bSetFile\s*\(|SetMultipartField"""
    ),
    media_source=re.compile(r"""\\?"media_source\\?"\s*:|json:"media_source"""),
    assign=re.compile(
        r"""^\s*(?:var\s+|const\s+)?([A-Za-z_]\w*)(?:\s*,\s*[A-Za-z_]\w*)*(?:\s+[\w.*\[\]]+)?\s*:?=(?!=)"""
    ),
    adjacent_brace_literal=True,
)
