"""How the pattern engine reads one language: comments, strings, HTTP calls, assignments, references to names."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

__all__ = ["DECLARED_TYPE", "NEVER", "LanguageRules"]

NEVER: Final = re.compile(r"(?!)")
"""A pattern that matches nothing."""

DECLARED_TYPE: Final = r"(?:[\w.]+(?:<[^=]*?>)?(?:\[\])*\??\s+)?"
"""An optional type before the name in ``Type name = …`` (Java, C#), as a regular expression fragment."""


@dataclass(frozen=True)
class LanguageRules:
    """One language for the pattern engine: how its code is split, and the patterns its HTTP calls match."""

    name: str
    line_comments: tuple[str, ...]
    block_comment: tuple[str, str] | None
    quotes: str
    """The characters that open a string."""
    multiline_quotes: str
    """The quotes whose strings may go on over several lines."""
    raw_quotes: str
    """The quotes whose strings have no ``\\`` escapes."""
    call: re.Pattern[str]
    """An HTTP call (or the making of a request object)."""
    multipart: re.Pattern[str]
    media_source: re.Pattern[str]
    assign: re.Pattern[str]
    """An assignment at the start of a statement; group 1 is the name assigned."""
    put: re.Pattern[str] = NEVER
    post: re.Pattern[str] = NEVER
    methods_of: Callable[[str], set[str]] | None = None
    """Reads a statement's HTTP methods instead of ``put`` and ``post`` (shell: the method is an option)."""
    ref_prefix: str = r"(?<![\w$.])"
    ref_suffix: str = r"(?![\w$])"
    """What may not stand before and after a name where it is used."""
    hash_at_word_start: bool = False
    """A ``#`` starts a comment only at the start of a word."""
    triple_quotes: bool = False
    shell: bool = False
    """Statements end at the line's end unless it is continued (no brackets, no method chains)."""
    adjacent_brace_literal: bool = False
    """A ``{`` right after a name or ``]`` opens a literal (``T{…}``, ``[]T{…}``)."""
    arrow_brace_literal: bool = False
    """A ``{`` after ``=>`` opens a literal (a hash) rather than a function body."""

    def methods(self, text: str) -> set[str]:
        """The HTTP methods (``PUT``, ``POST``) a statement's text names."""
        if self.methods_of is not None:
            return self.methods_of(text)
        found = set()
        if self.put.search(text):
            found.add("PUT")
        if self.post.search(text):
            found.add("POST")
        return found

    def ref(self, name: str) -> re.Pattern[str]:
        """Where ``name`` is used (not as a part of a longer name)."""
        return _reference(self.ref_prefix, self.ref_suffix, name)

    @functools.cached_property
    def specials(self) -> re.Pattern[str]:
        """What can start a comment or a string."""
        parts = [re.escape(self.block_comment[0])] if self.block_comment else []
        parts += [re.escape(t) for t in self.line_comments]
        parts.append("[" + re.escape(self.quotes) + "]")
        return re.compile("|".join(parts))


@functools.lru_cache(maxsize=4096)
def _reference(prefix: str, suffix: str, name: str) -> re.Pattern[str]:
    return re.compile(prefix + re.escape(name) + suffix)
