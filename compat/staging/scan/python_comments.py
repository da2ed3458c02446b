"""Commented-out Python code: ``#`` lines that parse as calls, found so that they are scanned like code."""

from __future__ import annotations

import ast
import io
import re
import textwrap
import tokenize
from collections.abc import Iterator

__all__ = ["commented_out_code", "parse_python"]

_LOOKS_LIKE_CODE = re.compile(r"^\s*[\w.]+\s*(?:\(|=[^=]|\[)|^\s*(?:return|await|with)\b")
_HAS_CALL = re.compile(r"\w\s*\(")
_COMMENT_BLOCK_MAX = 30
_COMMENT_PARSE_BUDGET = 5000


def parse_python(source: str) -> ast.Module | None:
    """The module ``source`` parses to, or ``None`` when it does not parse."""
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return None


def commented_out_code(source: str) -> Iterator[tuple[int, ast.Module]]:
    """(first line, parsed code) of commented-out code with a call: whole blocks of ``#`` lines, else single lines.

    Only comments on lines of their own count. From each line that looks like code, the longest run of
    comment lines (at most 30) that parses is taken; at most 5000 parses are tried in all.
    """
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
                    tree = parse_python(block) if _HAS_CALL.search(block) else None
                    if tree is not None:
                        yield group[i], tree
                        end = j - 1
                        break
            i = end + 1
