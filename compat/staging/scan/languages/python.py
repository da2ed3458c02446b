"""Python read by pattern: only for a file that does not parse (the AST reads every other one)."""

from __future__ import annotations

import re

from compat.staging.scan.language_rules import LanguageRules

__all__ = ["PYTHON_FALLBACK"]

PYTHON_FALLBACK = LanguageRules(
    name="python",
    line_comments=("#",),
    block_comment=None,
    quotes="\"'",
    multiline_quotes="",
    raw_quotes="",
    put=re.compile(r"""\.put\s*\(|\bmethod\s*=\s*['"]PUT['"]|\(\s*['"]PUT['"]\s*,""", re.I),
    post=re.compile(r"""\.post\s*\(|\bmethod\s*=\s*['"]POST['"]|\(\s*['"]POST['"]\s*,""", re.I),
    call=re.compile(
        r"""\brequests\.|\bhttpx\.|\burllib|\bsession\.|\bclient\.|\.request\s*\(|\.(?:put|post)\s*\(|"""
        r"""\bRequest\s*\(|\burlopen\s*\("""
    ),
    multipart=re.compile(
        r"""\bfiles\s*=|MultipartEncoder|FormData|multipart/form-data|\bmedia_file\b|\btranscript_file\b"""
    ),
    media_source=re.compile(r"""['"]media_source['"]\s*:|(?<![\w.'"])media_source\s*=(?!=)"""),
    assign=re.compile(r"""^\s*([A-Za-z_][\w.]*)\s*(?::[^=]+)?=(?!=)"""),
    triple_quotes=True,
)
