"""The row type of the languages table: how the pattern engine reads one language.

A row is data only (strings and tuples, regular expressions written as their source), so a language, or
a new kind of file, is one more row in :mod:`compat.staging.scan.languages` and no new code. The engine
compiles what it needs once per row.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Final

__all__ = ["DECLARED_TYPE", "KEY", "MARKER_BYTES", "NEVER", "LanguageRules"]

NEVER: Final = r"(?!)"
"""A pattern that matches nothing."""

MARKER_BYTES: Final = 4096
"""How much of a file's start :attr:`LanguageRules.marker` is looked for in."""

KEY: Final = "{key}"
"""Where the name of the key goes in :attr:`LanguageRules.key`."""

DECLARED_TYPE: Final = r"(?:[\w.]+(?:<[^=]*?>)?(?:\[\])*\??\s+)?"
"""An optional type before the name in ``Type name = …`` (Java, C#), as a regular expression fragment."""


@dataclass(frozen=True)
class LanguageRules:
    """One language for the pattern engine: its files, how its code is split, and what its HTTP calls look like.

    Patterns are regular expressions (flags such as ``(?i)`` inline, at their start).
    """

    name: str
    extensions: tuple[str, ...]
    """The file name endings read as this language (lower case, with the dot)."""
    line_comments: tuple[str, ...]
    block_comment: tuple[str, str] | None
    quotes: str
    """The characters that open a string."""
    call: str
    """An HTTP call (or the making of a request object)."""
    methods: tuple[tuple[str, str], ...]
    """``(method, pattern)``: a statement that matches ``pattern`` names ``method`` (``""``: the pattern's group 1)."""
    multipart: str
    """How the language's code builds a multipart body (the API's field names are added by the engine)."""
    key: str
    """How a key of an object, dict, hash or named argument is written; :data:`KEY` stands for its name."""
    assign: str
    """An assignment at the start of a statement; group 1 is the name assigned."""
    interpreters: tuple[str, ...] = ()
    """The programs a ``#!`` line names (in a file without an extension) that run this language."""
    multiline_quotes: str = ""
    """The quotes whose strings may go on over several lines."""
    raw_quotes: str = ""
    """The quotes whose strings have no ``\\`` escapes."""
    first_method_only: bool = False
    """Only the first of ``methods`` that matches counts (shell: ``-X POST`` wins over ``-T``)."""
    ref_prefix: str = r"(?<![\w$.])"
    ref_suffix: str = r"(?![\w$])"
    """What may not stand before and after a name where it is used."""
    hash_at_word_start: bool = False
    """A ``#`` starts a comment only at the start of a word."""
    hash_bracket_is_code: bool = False
    """``#[`` is code (a PHP attribute), not a comment."""
    triple_quotes: bool = False
    shell: bool = False
    """Statements end at the line's end unless it is continued (no brackets, no method chains)."""
    dot_continues: bool = False
    """A line that ends with ``.`` (PHP's concatenation) goes on on the next line."""
    adjacent_brace_literal: bool = False
    """A ``{`` right after a name or ``]`` opens a literal (``T{…}``, ``[]T{…}``)."""
    arrow_brace_literal: bool = False
    """A ``{`` after ``=>`` opens a literal (a hash) rather than a function body."""
    marker: str = ""
    """A file with one of :attr:`extensions` is read as this language only when its first
    :data:`MARKER_BYTES` match this pattern (``.json``: only Azure templates, never ordinary JSON)."""
    structured: bool = False
    """The file is data, parsed as JSON rather than split into statements: each object holding a
    ``method`` and a ``uri`` (or ``url``) is one HTTP request of that method, its text read with the
    signal patterns of this row (:mod:`compat.staging.scan.json_requests`)."""

    def marks(self, head: str) -> bool:
        """Whether a file that starts with ``head`` is of this language (always, for a row without a marker)."""
        return not self.marker or re.search(self.marker, head[:MARKER_BYTES]) is not None

    @functools.cached_property
    def call_pattern(self) -> re.Pattern[str]:
        """:attr:`call`, compiled."""
        return re.compile(self.call)

    @functools.cached_property
    def assign_pattern(self) -> re.Pattern[str]:
        """:attr:`assign`, compiled."""
        return re.compile(self.assign)

    @functools.cached_property
    def method_patterns(self) -> tuple[tuple[str, re.Pattern[str]], ...]:
        """:attr:`methods`, compiled."""
        return tuple((method, re.compile(pattern)) for method, pattern in self.methods)

    def key_pattern(self, names: tuple[str, ...]) -> re.Pattern[str]:
        """Where any of ``names`` is written as a key."""
        return _key_pattern(self.key, names)

    def methods_in(self, text: str) -> set[str]:
        """The HTTP methods (``PUT``, ``POST`` …) a statement's text names."""
        found: set[str] = set()
        for method, pattern in self.method_patterns:
            match = pattern.search(text)
            if match is None:
                continue
            found.add(method or match.group(1).upper())
            if self.first_method_only:
                break
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


@functools.lru_cache(maxsize=256)
def _key_pattern(form: str, names: tuple[str, ...]) -> re.Pattern[str]:
    if not names:
        return re.compile(NEVER)
    return re.compile(form.replace(KEY, "(?:" + "|".join(re.escape(n) for n in names) + ")"))
