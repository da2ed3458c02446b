"""The pattern engine (every language but Python): statements, the names that carry a URL, the rules.

Each statement is checked for an HTTP call, its methods (``GET`` when it names none, as HTTP libraries
default), the kinds of session URL it names and what it sends (the signals of :mod:`.call_rules`:
``x-filename``, multipart, ``media_source``, ``video_url`` …, plus the file's own signals), all read with
the language's row of :mod:`.languages`; the first of the rules that matches names the call. A name
assigned in one statement carries what it held to the statements that use it, so a request built over
several statements is one hit. Nothing here is particular to one language or one API generation.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass, field

from compat.staging.scan.call_rules import REFINEMENTS, RULES, SIGNALS
from compat.staging.scan.endpoints import KIND_PATHS, EndpointKind, classify_rest, kinds_in
from compat.staging.scan.language_rules import NEVER, LanguageRules
from compat.staging.scan.model import Confidence, Hit, Operation
from compat.staging.scan.statements import SplitSource, split_comments, statements

__all__ = ["CompiledSignals", "compile_signals", "decide", "scan_patterns"]

_STRAY_OPERATIONS = frozenset(signal.stray for signal in SIGNALS if signal.stray is not None)

# ``media_source: "Media source"``: a label, not a URL (a URL has ``://``, a template has ``$``/``{``).
_LABEL_VALUE = re.compile(r"""\s*(?::|=>|=|,)?\s*(["'])(?:(?!://)[^"'${\\])*\1""")
# ``created.Content…``, ``req->x``, ``res["id"]``: a name used as an object, not continued as a URL path
_MEMBER = re.compile(r"\s*(?:\??\.[A-Za-z_$]|->|\[)")
_JAVADOC = re.compile(r"^\s*\*+(?!/)\s?")


@dataclass(frozen=True)
class CompiledSignals:
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
def compile_signals(lang: LanguageRules) -> CompiledSignals:
    """The signals of :mod:`.call_rules`, compiled for ``lang`` (its multipart and key patterns)."""
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
    return CompiledSignals(tuple(patterns), tuple(stray))


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


def decide(
    kinds: set[EndpointKind], methods: set[str], signals: set[str], body: str
) -> tuple[Operation, Confidence] | None:
    """The legacy call an HTTP call statement makes, if any: the first of ``RULES`` that matches.

    A statement that names no HTTP method is a ``GET`` (the default of every HTTP library and tool).
    """
    named = (methods or {"GET"}) | signals
    for rule in RULES:
        if rule.matches(kinds, named, body):
            return None if rule.operation is None else (rule.operation, rule.confidence)
    return None


def _emit(
    hits: list[Hit],
    produced: dict[Operation, int],
    handles: list[_Carried],
    line: int,
    operation: Operation,
    confidence: Confidence,
    *,
    guessed: bool = False,
) -> None:
    """Add a hit for one statement, or fold it into the hit of the request object (``handles``) it uses.

    ``guessed``: the statement named no HTTP method (a ``GET`` by default). A request object whose hit was
    such a guess (``curl_init($url)``) takes the operation of a later statement that uses it instead; one
    whose hit a later statement refines (:data:`~.call_rules.REFINEMENTS`) takes the refined operation.
    """
    for ref in handles:
        if operation in ref.produced:
            hits[ref.produced[operation]].raise_confidence(confidence)
            produced[operation] = ref.produced[operation]
            return
    for ref in handles:
        for earlier, index in list(ref.produced.items()):
            if hits[index].guessed or REFINEMENTS.get(operation) == earlier:
                del ref.produced[earlier]
                if hits[index].guessed:
                    hits[index] = Hit(hits[index].line, operation, confidence, guessed=guessed)
                else:
                    hits[index].operation = operation
                    hits[index].raise_confidence(confidence)
                ref.produced[operation] = produced[operation] = index
                return
    if any(REFINEMENTS.get(made) == operation for ref in handles for made in ref.produced):
        return
    hits.append(Hit(line, operation, confidence, guessed=guessed))
    index = len(hits) - 1
    produced[operation] = index
    for ref in handles:
        ref.produced[operation] = index


def _analyse(
    split: SplitSource,
    lang: LanguageRules,
    signals_of: CompiledSignals,
    tracked: dict[str, list[_Carried]],
    mentions: bool,
    file_signals: frozenset[str],
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
        own_methods, own_signals = frozenset(methods), frozenset(signals)
        key_lines = {start + k for k, ln in enumerate(code[start : end + 1]) if signals_of.stray_keys(ln)}
        refs: list[_Carried] = []
        # What an assigned name will carry: not what it read from a request object (``id = parse(res.body)``
        # holds data of the answer, not the request)
        carried_kinds, carried_methods, carried_signals = set(kinds), set(methods), set(signals)
        derived = True
        for name, entries in tracked.items():
            if name.lstrip("$@") not in body:
                continue
            info = _nearest(entries, start)
            if info is None:
                continue
            used = member_only = False
            for match in lang.ref(name).finditer(body):
                rest = body[match.end() :]
                rest = rest[1:] if rest.startswith("}") else rest
                member = info.is_handle and _MEMBER.match(rest) is not None
                ref_kinds = set(info.kinds) if member else {classify_rest(KIND_PATHS[k] + rest) for k in info.kinds}
                kinds.update(ref_kinds)
                member_only = member if not used else member_only and member
                used = True
                if not member:
                    carried_kinds.update(ref_kinds)
            if used:
                methods |= info.methods
                signals |= info.signals
                key_lines |= info.key_lines
                refs.append(info)
                if not member_only:
                    carried_methods |= info.methods
                    carried_signals |= info.signals
                    derived = False
        derived = derived and bool(refs) and not own_methods and not kinds_in(body)
        is_call = bool(lang.call_pattern.search(body))
        # ``request.Headers.Add("Accept", "text/vtt")``, ``curl_setopt($ch, CURLOPT_POST, 1)``: what a statement
        # sets up on a request object stays with it for the statements that send it
        for ref in refs:
            if ref.is_handle:
                ref.methods, ref.signals = ref.methods | own_methods, ref.signals | own_signals
        produced: dict[Operation, int] = {}
        if is_call:
            decided = decide(kinds, methods, signals | file_signals, body)
            if decided is not None:
                call_at = lang.call_pattern.search(text)
                call_line = start + 1 + (text.count("\n", 0, call_at.start()) if call_at else 0)
                handles = [r for r in refs if r.is_handle]
                _emit(hits, produced, handles, call_line, *decided, guessed=not methods)
                if decided[0] in _STRAY_OPERATIONS:
                    consumed |= key_lines
        if target is not None:
            command_output = lang.shell and body.lstrip().startswith(("$(", "`"))
            nothing = command_output or derived  # a command's output, or data read from an answer
            info = _Carried(
                line=start,
                kinds=frozenset() if command_output else frozenset(carried_kinds),
                methods=frozenset() if command_output else frozenset(carried_methods),
                signals=frozenset() if command_output else frozenset(carried_signals),
                key_lines=frozenset(key_lines),
                is_handle=is_call and not nothing,
                produced=produced if is_call and not nothing else {},
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


def scan_patterns(
    lines: list[str], lang: LanguageRules, mentions: bool, file_signals: frozenset[str] = frozenset()
) -> list[Hit]:
    """The hits in one file's lines: its code, then its comments read as code (those hits are ``low``).

    ``mentions``: the file names ``speech-to-text/session``, so a ``media_source`` key not sent by any call
    found is a ``medium`` hit of its own. ``file_signals``: the :data:`~.call_rules.FILE_SIGNALS` of the file.
    """
    split = split_comments(lines, lang)
    tracked: dict[str, list[_Carried]] = {}
    signals_of = compile_signals(lang)
    hits = _analyse(split, lang, signals_of, tracked, mentions, file_signals)
    if any(c.strip() for c in split.comments):
        comment_lines = [_JAVADOC.sub("", c) if lang.block_comment else c for c in split.comments]
        comment_split = split_comments(comment_lines, lang)
        code_tracked = {name: [dataclasses.replace(e, produced={}) for e in v] for name, v in tracked.items()}
        for hit in _analyse(comment_split, lang, signals_of, code_tracked, mentions, file_signals):
            hit.confidence = "low"
            hits.append(hit)
    return hits
