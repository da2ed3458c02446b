"""Shell scripts: curl, wget and HTTPie (``http``/``https``/``xh``), whose HTTP method is an option."""

from __future__ import annotations

import re

from compat.staging.scan.language_rules import LanguageRules

__all__ = ["SHELL", "shell_methods"]

_EXPLICIT = re.compile(r"""(?:(?<!\S)-[A-Za-z]*X\s*|--request[\s=]+)['"]?([A-Za-z]+)""")
_WGET_METHOD = re.compile(r"""(?<!\S)--method[=\s]+['"]?([A-Za-z]+)""")
_UPLOAD = re.compile(r"(?<!\S)(?:-[A-Za-z]*T|--upload-file)(?=[\s=])")
_DATA = re.compile(
    r"""(?<!\S)(?:-[A-Za-z]*[dF]|--data(?:-raw|-binary|-urlencode|-ascii)?|--json|--form(?:-string)?|"""
    r"""--post-data|--post-file)(?=[\s=@'"]|$)""",
    re.M,
)
_HTTPIE = re.compile(r"(?:^|[\s;|&(])(?:http|https|xh)\s+(?:-\S+\s+)*(PUT|POST)\b", re.M)


def shell_methods(text: str) -> set[str]:
    """The HTTP method of a command: ``-X``/``--request``, ``--method``, HTTPie's, else ``-T`` (PUT), data (POST)."""
    for pattern in (_EXPLICIT, _WGET_METHOD, _HTTPIE):
        match = pattern.search(text)
        if match:
            return {match.group(1).upper()}
    if _UPLOAD.search(text):
        return {"PUT"}
    if _DATA.search(text):
        return {"POST"}
    return {"GET"}


SHELL = LanguageRules(
    name="shell",
    line_comments=("#",),
    block_comment=None,
    quotes="\"'`",
    multiline_quotes="\"'`",
    raw_quotes="'",
    methods_of=shell_methods,
    call=re.compile(r"(?:^|[\s;|&(`])(?:curl|wget|http|https|xh)(?=\s)", re.M),
    multipart=re.compile(
        r"""(?<!\S)(?:-[A-Za-z]*F|--form(?:-string)?)(?=[\s=])|multipart|\bmedia_file\b|\btranscript_file\b"""
    ),
    media_source=re.compile(r"""\\?["']media_source\\?["']\s*:|(?<![\w$-])media_source="""),
    assign=re.compile(r"^\s*(?:export\s+|local\s+|readonly\s+|declare(?:\s+-\w+)*\s+)?([A-Za-z_]\w*)="),
    ref_prefix=r"\$\{?",
    ref_suffix=r"(?!\w)",
    hash_at_word_start=True,
    shell=True,
)
