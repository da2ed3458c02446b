"""Java (java.net.http, HttpURLConnection, Apache HttpClient, OkHttp, Unirest, Spring's RestTemplate/WebClient)."""

from __future__ import annotations

import re

from compat.staging.scan.language_rules import DECLARED_TYPE, LanguageRules

__all__ = ["JAVA"]

JAVA = LanguageRules(
    name="java",
    line_comments=("//",),
    block_comment=("/*", "*/"),
    quotes="\"'",
    multiline_quotes="",
    raw_quotes="",
    put=re.compile(
        r"""\.PUT\s*\(|setRequestMethod\s*\(\s*"PUT"\s*\)|\bnew\s+HttpPut\s*[<(]|\.method\s*\(\s*"PUT"|"""
        r"""\bHttpMethod\.PUT\b|\.put\s*\(\s*(?:RequestBody\b|\w*[bB]ody\s*[,)])|"""
        r"""(?:[tT]emplate|[cC]lient|Unirest)\.put\s*\("""
    ),
    post=re.compile(
        r"""\.POST\s*\(|setRequestMethod\s*\(\s*"POST"\s*\)|\bnew\s+HttpPost\s*[<(]|\.method\s*\(\s*"POST"|"""
        r"""\bHttpMethod\.POST\b|\.post\s*\(\s*(?:RequestBody\b|\w*[bB]ody\s*[,)])|"""
        r"""(?:[tT]emplate|[cC]lient|Unirest)\.post(?:ForObject|ForEntity)?\s*\("""
    ),
    call=re.compile(
        r"""\bHttpRequest\.newBuilder\b|\.openConnection\s*\(|\bnew\s+Http(?:Put|Post|Get|Delete)\b|"""
        r"""\bnew\s+Request\.Builder\b|\bUnirest\.|\.send(?:Async)?\s*\(|\.execute\s*\(|\.newCall\s*\(|"""
        r"""[tT]emplate\.\w+\s*\(|\b[wW]ebClient\b|\.exchange\s*\(|\.setRequestMethod\s*\("""
    ),
    multipart=re.compile(
        r"""ofMimeMultipartData|MultipartBody|MultipartEntityBuilder|multipart|\bmedia_file\b|\btranscript_file\b|"""
        r"""\bFileBody\b|addFormDataPart"""
    ),
    media_source=re.compile(r"""\\?"media_source\\?"\s*[:,)]"""),
    assign=re.compile(
        r"""^\s*(?:(?:public|private|protected|static|final|var|val)\s+)*"""
        + DECLARED_TYPE
        + r"""([A-Za-z_]\w*)\s*=(?![=>])"""
    ),
)
