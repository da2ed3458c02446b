"""JavaScript and TypeScript (fetch, axios, jQuery, got, ky, superagent, XMLHttpRequest, Angular …)."""

from __future__ import annotations

import dataclasses
import re

from compat.staging.scan.language_rules import LanguageRules

__all__ = ["JAVASCRIPT", "TYPESCRIPT"]

JAVASCRIPT = LanguageRules(
    name="javascript",
    line_comments=("//",),
    block_comment=("/*", "*/"),
    quotes="\"'`",
    multiline_quotes="`",
    raw_quotes="",
    put=re.compile(
        r"""\b(?:method|type)\s*:\s*['"`]put['"`]|\.put\s*(?:<[^()]*?>\s*)?\(|\(\s*['"`]put['"`]\s*,""", re.I
    ),
    post=re.compile(
        r"""\b(?:method|type)\s*:\s*['"`]post['"`]|\.post\s*(?:<[^()]*?>\s*)?\(|\(\s*['"`]post['"`]\s*,""", re.I
    ),
    call=re.compile(
        r"""\bfetch\s*\(|\baxios\b|\.ajax\s*\(|\bgot\s*[.(]|\bky\s*[.(]|\bsuperagent\b|\bneedle\s*\(|"""
        r"""\bhttps?\.request\s*\(|\bnew\s+Request\s*\(|\.open\s*\(|\.(?:put|post|request)\s*(?:<[^()]*?>\s*)?\(|"""
        r"""\$http\b"""
    ),
    multipart=re.compile(r"""\bFormData\b|multipart|\bform-data\b|\bmedia_file\b|\btranscript_file\b""", re.I),
    media_source=re.compile(
        r"""\\?["'`]media_source\\?["'`]\s*(?::|,|\))|(?<![\w$'"`])media_source\s*(?::|=(?![=>]))"""
    ),
    assign=re.compile(
        r"""^\s*(?:export\s+)?(?:(?:const|let|var)\s+)?((?:this\.)?[A-Za-z_$][\w$]*)\s*(?::\s*[^=;]+?)?\s*=(?![=>])"""
    ),
)

TYPESCRIPT = dataclasses.replace(JAVASCRIPT, name="typescript")
