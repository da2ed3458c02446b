"""Source text for the pattern engine: comments set apart from code, and code cut into statements."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from compat.staging.scan.language_rules import LanguageRules

__all__ = ["SplitSource", "split_comments", "statements"]

_CONTINUES = ("\\", ",", "+", "=", "(", "[", "&&", "||", "?", "->", "=>")
_CHAIN_STARTS = (".", "->", "?.", "+", "&&", "||")
_MAX_STATEMENT_LINES = 40
_BRACKETS = re.compile(r"[()\[\]{}]")
_TRAILING_WORD = re.compile(r"\w{1,8}$")


@dataclass
class SplitSource:
    """A file's lines, each in three parts, plus whether a string is still open at the line's end."""

    code: list[str]
    """Comments removed, strings kept."""
    masked: list[str]
    """Comments removed, string contents blanked (for counting brackets)."""
    comments: list[str]
    """The comments' text only."""
    open_string: list[bool]


@functools.cache
def _string_end(delim: str, escapes: bool) -> re.Pattern[str]:
    return re.compile((r"\\(?:.|$)|" if escapes else "") + re.escape(delim))


def split_comments(lines: Sequence[str], lang: LanguageRules) -> SplitSource:
    """Set comments apart from code; blank string contents in a masked copy (for counting brackets)."""
    code: list[str] = []
    masked: list[str] = []
    comments: list[str] = []
    open_string: list[bool] = []
    specials = lang.specials
    mode = "code"
    delim = ""
    block_open, block_close = lang.block_comment or ("", "")
    for raw in lines:
        if mode == "string" and len(delim) == 1 and delim not in lang.multiline_quotes:
            mode = "code"
        out_code: list[str] = []
        out_mask: list[str] = []
        out_comment: list[str] = []
        i, n = 0, len(raw)
        while i < n:
            if mode == "block":
                end = raw.find(block_close, i)
                if end < 0:
                    out_comment.append(raw[i:])
                    break
                out_comment.append(raw[i:end] + " ")
                i = end + len(block_close)
                mode = "code"
                continue
            if mode == "string":
                ends = _string_end(delim, delim not in lang.raw_quotes)
                while True:
                    match = ends.search(raw, i)
                    if match is None:
                        out_code.append(raw[i:])
                        out_mask.append(" " * (n - i))
                        i = n
                        break
                    if match.group() != delim:  # an escape
                        out_code.append(raw[i : match.end()])
                        out_mask.append(" " * (match.end() - i))
                        i = match.end()
                        continue
                    out_code.append(raw[i : match.end()])
                    out_mask.append(" " * (match.start() - i) + delim)
                    i = match.end()
                    mode = "code"
                    break
                continue
            match = specials.search(raw, i)
            if match is None:
                out_code.append(raw[i:])
                out_mask.append(raw[i:])
                break
            j, token = match.start(), match.group()
            out_code.append(raw[i:j])
            out_mask.append(raw[i:j])
            i = j
            if token == block_open:
                mode = "block"
                i += len(token)
                continue
            if token in lang.line_comments:
                if _starts_comment(raw, j, token, lang):
                    out_comment.append(raw[j + len(token) :])
                    break
                out_code.append(token)
                out_mask.append(token)
                i += len(token)
                continue
            delim = token * 3 if lang.triple_quotes and raw.startswith(token * 3, j) else token
            mode = "string"
            out_code.append(delim)
            out_mask.append(delim)
            i += len(delim)
        code.append("".join(out_code))
        masked.append("".join(out_mask))
        comments.append("".join(out_comment))
        open_string.append(mode == "string" and (len(delim) == 3 or delim in lang.multiline_quotes))
    return SplitSource(code, masked, comments, open_string)


def _starts_comment(raw: str, j: int, token: str, lang: LanguageRules) -> bool:
    """Whether the line-comment ``token`` at ``j`` starts one (not a shell ``a#b``, not a PHP ``#[Attribute]``)."""
    if token != "#":
        return True
    mid_word = lang.hash_at_word_start and j > 0 and raw[j - 1] not in " \t;|&("
    return not (mid_word or (lang.hash_bracket_is_code and raw.startswith("#[", j)))


def statements(split: SplitSource, lang: LanguageRules) -> list[tuple[int, int]]:
    """Statements as (first, last) line indexes, found from brackets, continuation lines and chains."""
    masked = split.masked
    n = len(masked)
    out: list[tuple[int, int]] = []
    stack: list[bool] = []  # True: an expression bracket; False: a block brace
    carried_sig = ""  # the last non-space character of the lines before
    carried_word = ""
    start: int | None = None
    for j in range(n):
        line = masked[j]
        if start is None:
            if not line.strip() and not split.open_string[j]:
                continue
            start = j
        stripped = line.rstrip()
        if lang.shell:
            cont = split.open_string[j] or stripped.endswith(("\\", "|", "&&", "||"))
        else:
            for match in _BRACKETS.finditer(line):
                ch, pos = match.group(), match.start()
                if ch in "([":
                    stack.append(True)
                elif ch == "{":
                    stack.append(_brace_is_literal(line, pos, stack, carried_sig, carried_word, lang))
                elif stack:
                    stack.pop()
            if stripped:
                carried_sig = stripped[-1]
                carried_word = _trailing_word(stripped)
            cont = (
                (bool(stack) and stack[-1])  # an expression bracket is open inside the innermost block
                or split.open_string[j]
                or stripped.endswith(_CONTINUES)
                or (lang.dot_continues and stripped.endswith("."))
                or _next_starts_chain(masked, j)
            )
        if not cont or j - start + 1 >= _MAX_STATEMENT_LINES or j == n - 1:
            out.append((start, j))
            start = None
            if cont and not split.open_string[j]:
                stack[:] = [b for b in stack if not b]
    return out


def _trailing_word(text: str) -> str:
    """The word (at most 8 characters) ``text`` ends with, or ``""``."""
    word = _TRAILING_WORD.search(text[-8:])
    return word.group() if word else ""


def _brace_is_literal(
    line: str, pos: int, stack: list[bool], carried_sig: str, carried_word: str, lang: LanguageRules
) -> bool:
    """Whether the ``{`` at ``pos`` opens an object/array literal (part of an expression) or a block."""
    prev = line[pos - 1] if pos > 0 else "\n"
    k = pos - 1
    while k >= 0 and line[k].isspace():
        k -= 1
    if k >= 0:
        last_sig, last_word = line[k], _trailing_word(line[: k + 1])
    else:
        last_sig, last_word = carried_sig, carried_word
    if last_sig == ")" or (last_sig == ">" and not lang.arrow_brace_literal):
        return False  # a function or control-flow body
    return (
        (bool(stack) and stack[-1])
        or last_sig in "=(,:[?"
        or last_word in ("return", "new", "yield")
        or (lang.arrow_brace_literal and last_sig == ">")
        or prev in "$#"
        or (lang.adjacent_brace_literal and (prev.isalnum() or prev in "_]"))
    )


def _next_starts_chain(masked: list[str], j: int) -> bool:
    for nxt in masked[j + 1 : j + 4]:
        text = nxt.lstrip()
        if text:
            return text.startswith(_CHAIN_STARTS) and not text.startswith("...")
    return False
