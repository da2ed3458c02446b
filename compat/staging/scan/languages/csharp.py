"""C# (HttpClient, HttpRequestMessage, RestSharp, WebRequest)."""

from __future__ import annotations

import re

from compat.staging.scan.language_rules import DECLARED_TYPE, LanguageRules

__all__ = ["CSHARP"]

CSHARP = LanguageRules(
    name="csharp",
    line_comments=("//",),
    block_comment=("/*", "*/"),
    quotes="\"'",
    multiline_quotes="",
    raw_quotes="",
    put=re.compile(
        r"""\bPut(?:AsJson)?Async\s*\(|\bHttpMethod\.Put\b|\bMethod\.(?:Put|PUT)\b|\bMethod\s*=\s*"PUT"|"""
        r"""\bnew\s+HttpMethod\s*\(\s*"PUT"\s*\)"""
    ),
    post=re.compile(
        r"""\bPost(?:AsJson)?Async\s*\(|\bHttpMethod\.Post\b|\bMethod\.(?:Post|POST)\b|\bMethod\s*=\s*"POST"|"""
        r"""\bnew\s+HttpMethod\s*\(\s*"POST"\s*\)"""
    ),
    call=re.compile(
        r"""\b\w+Async\s*\(|\bnew\s+HttpRequestMessage\b|\bnew\s+RestRequest\b|\.Execute\w*\s*\(|"""
        r"""\bWebRequest\.Create\s*\(|\.Send\w*\s*\("""
    ),
    multipart=re.compile(
        r"""MultipartFormDataContent|multipart|\bmedia_file\b|\btranscript_file\b|\bAddFile\s*\(|"""
        r"""AlwaysMultipartFormData"""
    ),
    media_source=re.compile(r"""\\?"media_source\\?"\s*[:,)\]]|(?<![\w."])media_source\s*=(?![=>])"""),
    assign=re.compile(
        r"""^\s*(?:(?:public|private|protected|internal|static|readonly|const|var|using|await)\s+)*"""
        + DECLARED_TYPE
        + r"""([A-Za-z_]\w*)\s*=(?![=>])"""
    ),
)
