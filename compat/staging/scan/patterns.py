"""The pattern engine (every language but Python): statements, the names that carry a URL, the rules.

Each statement is checked for an HTTP call, its methods, the kinds of session URL it names and what it
sends (the signals of :mod:`.call_rules`: ``x-filename``, multipart, ``media_source`` …), all read with
the language's row of :mod:`.languages`; the first of the rules that matches names the call. A name
assigned in one statement carries what it held to the statements that use it, so a request built over
several statements is one hit. Nothing here is particular to one language or one API generation.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass, field

from compat.staging.scan.call_rules import RULES, SIGNALS
from compat.staging.scan.endpoints import KIND_PATHS, EndpointKind, classify_rest, kinds_in
from compat.staging.scan.language_rules import NEVER, LanguageRules
from compat.staging.scan.model import Confidence, Hit, Operation
from compat.staging.scan.statements import SplitSource, split_comments, statements

__all__ = ["scan_patterns"]

_STRAY_OPERATIONS = frozenset(signal.stray for signal in SIGNALS if signal.stray is not None)

# ``media_source: "Media source"``: a label, not a URL (a URL has ``://``, a template has ``$``/``{``).
_LABEL_VALUE = re.compile(r"""\s*(?::|=>|=|,)?\s*(["'])(?:(?!://)[^"'${\\])*\1""")
_JAVADOC = re.compile(r"^\s*\*+(?!/)\s?")


@dataclass(frozen=True)
class _Signals:
    """``SIGNALS`` compiled for one language."""

    patterns: tuple[tuple[str, re.Pattern[str]], ...]
    stray: tuple[tuple[Operation, re.Pattern[str]], ...]

    def sent(self, text: str) -> set[str]:
        """The names of the signals a statement's text sends."""
        return {name for name, pattern in self.patterns if pattern.search(text)}

    def stray_keys(self, line: str) -> list[tuple[Operation, re.Match[str]]]:
        """The keys of stray signals that ``line`` writes, with their signal's operation."""
        found = []
        for operation, pattern in self.stray:
            key = pattern.search(line)
            if key is not None:
                found.append((operation, key))
        return found


@functools.cache
def _compile_signals(lang: LanguageRules) -> _Signals:
    patterns = []
    stray = []
    for signal in SIGNALS:
        parts = [signal.pattern] if signal.pattern else []
        if signal.multipart:
            parts.insert(0, lang.multipart)  # first: it may start with inline flags
        if signal.keys:
            parts.append(lang.key_pattern(signal.keys).pattern)
        parts += [r"\b" + re.escape(word) + r"\b" for word in signal.words]
        pattern = re.compile("|".join(parts) if parts else NEVER)
        patterns.append((signal.name, pattern))
        if signal.stray is not None:
            stray.append((signal.stray, pattern))
    return _Signals(tuple(patterns), tuple(stray))


@dataclass
class _Carried:
    """What a name assigned in one statement carries to the statements that use it."""

    line: int  # 0-based, the assignment's first line
    kinds: frozenset[EndpointKind]
    methods: frozenset[str]
    signals: frozenset[str]
    key_lines: frozenset[int]  # 0-based lines that write a key of a stray signal
    is_handle: bool  # the assignment was itself an HTTP call (a request object, a curl handle)
    produced: dict[Operation, int] = field(default_factory=dict)  # operation -> index of its hit


def _nearest(entries: list[_Carried], line: int) -> _Carried | None:
    before = [e for e in entries if e.line < line]
    if before:
        return before[-1]
    return entries[0] if len(entries) == 1 else None


def _rule(kinds: set[EndpointKind], signals: set[str], body: str) -> tuple[Operation, Confidence] | None:
    """The V1-only call an HTTP call statement makes, if any: the first of ``RULES`` that matches."""
    for rule in RULES:
        if rule.matches(kinds, signals, body):
            return None if rule.operation is None else (rule.operation, rule.confidence)
    return None


def _emit(
    hits: list[Hit],
    produced: dict[Operation, int],
    handles: list[_Carried],
    line: int,
    operation: Operation,
    confidence: Confidence,
) -> None:
    """Add a hit for one statement, or fold it into the hit of the request object (``handles``) it uses."""
    for ref in handles:
        if operation in ref.produced:
            hits[ref.produced[operation]].raise_confidence(confidence)
            produced[operation] = ref.produced[operation]
            return
    if operation == "media_source":
        for ref in handles:
            if "create_session" in ref.produced:
                index = ref.produced.pop("create_session")
                hits[index].operation = "media_source"
                hits[index].raise_confidence(confidence)
                ref.produced["media_source"] = produced["media_source"] = index
                return
    if operation == "create_session" and any("media_source" in ref.produced for ref in handles):
        return
    hits.append(Hit(line, operation, confidence))
    index = len(hits) - 1
    produced[operation] = index
    for ref in handles:
        ref.produced[operation] = index


def _analyse(
    split: SplitSource, lang: LanguageRules, signals_of: _Signals, tracked: dict[str, list[_Carried]], mentions: bool
) -> list[Hit]:
    code = split.code
    hits: list[Hit] = []
    consumed: set[int] = set()
    for start, end in statements(split, lang):
        text = "\n".join(code[start : end + 1])
        if not text.strip():
            continue
        assign = lang.assign_pattern.match(code[start])
        target = assign.group(1) if assign else None
        body = text[assign.end() :] if assign else text
        kinds = kinds_in(body)
        methods = lang.methods_in(body)
        signals = signals_of.sent(body)
        key_lines = {start + k for k, ln in enumerate(code[start : end + 1]) if signals_of.stray_keys(ln)}
        refs: list[_Carried] = []
        for name, entries in tracked.items():
            if name.lstrip("$@") not in body:
                continue
            info = _nearest(entries, start)
            if info is None:
                continue
            used = False
            for match in lang.ref(name).finditer(body):
                rest = body[match.end() :]
                rest = rest[1:] if rest.startswith("}") else rest
                kinds.update(classify_rest(KIND_PATHS[k] + rest) for k in info.kinds)
                used = True
            if used:
                methods |= info.methods
                signals |= info.signals
                key_lines |= info.key_lines
                refs.append(info)
        is_call = bool(lang.call_pattern.search(body))
        produced: dict[Operation, int] = {}
        if is_call:
            decided = _rule(kinds, methods | signals, body)
            if decided is not None:
                call_at = lang.call_pattern.search(text)
                call_line = start + 1 + (text.count("\n", 0, call_at.start()) if call_at else 0)
                _emit(hits, produced, [r for r in refs if r.is_handle], call_line, *decided)
                if decided[0] in _STRAY_OPERATIONS:
                    consumed |= key_lines
        if target is not None:
            command_output = lang.shell and body.lstrip().startswith(("$(", "`"))
            info = _Carried(
                line=start,
                kinds=frozenset() if command_output else frozenset(kinds),
                methods=frozenset() if command_output else frozenset(methods),
                signals=frozenset() if command_output else frozenset(signals),
                key_lines=frozenset(key_lines),
                is_handle=is_call and not command_output,
                produced=produced if is_call and not command_output else {},
            )
            carries = info.kinds or info.methods or info.signals or info.key_lines or info.produced
            if carries or target in tracked:  # a plain reassignment still hides what the name held before
                tracked.setdefault(target, []).append(info)
    if mentions:
        for index, line in enumerate(code):
            if index in consumed:
                continue
            for operation, key in signals_of.stray_keys(line):
                if not _LABEL_VALUE.match(line, key.end()):
                    hits.append(Hit(index + 1, operation, "medium"))
    return hits


def scan_patterns(lines: list[str], lang: LanguageRules, mentions: bool) -> list[Hit]:
    """The hits in one file's lines: its code, then its comments read as code (those hits are ``low``).

    ``mentions``: the file names ``speech-to-text/session``, so a ``media_source`` key not sent by any call
    found is a ``medium`` hit of its own.
    """
    split = split_comments(lines, lang)
    tracked: dict[str, list[_Carried]] = {}
    signals_of = _compile_signals(lang)
    hits = _analyse(split, lang, signals_of, tracked, mentions)
    if any(c.strip() for c in split.comments):
        comment_lines = [_JAVADOC.sub("", c) if lang.block_comment else c for c in split.comments]
        comment_split = split_comments(comment_lines, lang)
        code_tracked = {name: [dataclasses.replace(e, produced={}) for e in v] for name, v in tracked.items()}
        for hit in _analyse(comment_split, lang, signals_of, code_tracked, mentions):
            hit.confidence = "low"
            hits.append(hit)
    return hits
