"""The pattern engine (every language but Python): statements, the names that carry a URL, the rules.

Each statement is checked for an HTTP call, its methods, the kinds of session URL it names and what it
sends (``x-filename``, multipart, ``media_source`` …). A name assigned in one statement carries what it
held to the statements that use it, so a request built over several statements is one hit.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Literal

from compat.staging.scan.endpoints import KIND_PATHS, EndpointKind, classify_rest, kinds_in
from compat.staging.scan.language_rules import LanguageRules
from compat.staging.scan.model import Confidence, Hit, Operation
from compat.staging.scan.statements import SplitSource, split_comments, statements

__all__ = ["scan_patterns"]

Flag = Literal["x_filename", "av_type", "media_source", "multipart", "media_file"]
"""What a statement sends. No rule reads ``av_type`` (an audio/video type); it makes a name that holds one carried."""

_X_FILENAME = re.compile(r"x-filename", re.I)
_AV_TYPE = re.compile(r"""content-?type\W{0,8}(?:audio|video)/|["'`](?:audio|video)/[\w.+*-]*["'`]""", re.I)
_MEDIA_FILE = re.compile(r"\b(?:media_file|transcript_file)\b")
_ALIGN_PATH = re.compile(r"""/align/?(?=["'`?\s)]|$)""", re.M)
# ``media_source: "Media source"``: a label, not a URL (a URL has ``://``, a template has ``$``/``{``).
_LABEL_VALUE = re.compile(r"""\s*(?::|=>|=|,)?\s*(["'])(?:(?!://)[^"'${\\])*\1""")
_JAVADOC = re.compile(r"^\s*\*+(?!/)\s?")


@dataclass
class _Carried:
    """What a name assigned in one statement carries to the statements that use it."""

    line: int  # 0-based, the assignment's first line
    kinds: frozenset[EndpointKind]
    methods: frozenset[str]
    flags: frozenset[Flag]
    ms_lines: frozenset[int]
    is_handle: bool  # the assignment was itself an HTTP call (a request object, a curl handle)
    produced: dict[Operation, int] = field(default_factory=dict)  # operation -> index of its hit


def _nearest(entries: list[_Carried], line: int) -> _Carried | None:
    before = [e for e in entries if e.line < line]
    if before:
        return before[-1]
    return entries[0] if len(entries) == 1 else None


def _flags(text: str, lang: LanguageRules) -> set[Flag]:
    flags: set[Flag] = set()
    if _X_FILENAME.search(text):
        flags.add("x_filename")
    if _AV_TYPE.search(text):
        flags.add("av_type")
    if lang.media_source.search(text):
        flags.add("media_source")
    if lang.multipart.search(text):
        flags.add("multipart")
    if _MEDIA_FILE.search(text):
        flags.add("media_file")
    return flags


def _rule(
    kinds: set[EndpointKind], methods: set[str], flags: set[Flag], body: str
) -> tuple[Operation, Confidence] | None:
    """The V1-only call an HTTP call statement makes, if any."""
    put = "PUT" in methods
    post = "POST" in methods and not put
    multipart = "multipart" in flags
    if put:
        if "item" in kinds:
            return "upload", "high"
        if not kinds and "x_filename" in flags:
            return "upload", "medium"
        return None
    if "align" in kinds and (post or multipart):
        return "align", "high" if multipart else "medium"
    if not kinds and (post or multipart) and "media_file" in flags and _ALIGN_PATH.search(body):
        return "align", "medium"
    if post and "collection" in kinds:
        return ("media_source", "high") if "media_source" in flags else ("create_session", "low")
    if post and not kinds and "media_source" in flags:
        return "media_source", "medium"
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


def _analyse(split: SplitSource, lang: LanguageRules, tracked: dict[str, list[_Carried]], mentions: bool) -> list[Hit]:
    code = split.code
    hits: list[Hit] = []
    consumed: set[int] = set()
    for start, end in statements(split, lang):
        text = "\n".join(code[start : end + 1])
        if not text.strip():
            continue
        assign = lang.assign.match(code[start])
        target = assign.group(1) if assign else None
        body = text[assign.end() :] if assign else text
        kinds = kinds_in(body)
        methods = lang.methods(body)
        flags = _flags(body, lang)
        ms_lines = {start + k for k, ln in enumerate(code[start : end + 1]) if lang.media_source.search(ln)}
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
                flags |= info.flags
                ms_lines |= info.ms_lines
                refs.append(info)
        is_call = bool(lang.call.search(body))
        produced: dict[Operation, int] = {}
        if is_call:
            decided = _rule(kinds, methods, flags, body)
            if decided is not None:
                call_at = lang.call.search(text)
                call_line = start + 1 + (text.count("\n", 0, call_at.start()) if call_at else 0)
                _emit(hits, produced, [r for r in refs if r.is_handle], call_line, *decided)
                if decided[0] == "media_source":
                    consumed |= ms_lines
        if target is not None:
            command_output = lang.shell and body.lstrip().startswith(("$(", "`"))
            info = _Carried(
                line=start,
                kinds=frozenset() if command_output else frozenset(kinds),
                methods=frozenset() if command_output else frozenset(methods),
                flags=frozenset() if command_output else frozenset(flags),
                ms_lines=frozenset(ms_lines),
                is_handle=is_call and not command_output,
                produced=produced if is_call and not command_output else {},
            )
            carries = info.kinds or info.methods or info.flags or info.ms_lines or info.produced
            if carries or target in tracked:  # a plain reassignment still hides what the name held before
                tracked.setdefault(target, []).append(info)
    if mentions:
        for index, line in enumerate(code):
            if index in consumed:
                continue
            key = lang.media_source.search(line)
            if key and not _LABEL_VALUE.match(line, key.end()):
                hits.append(Hit(index + 1, "media_source", "medium"))
    return hits


def scan_patterns(lines: list[str], lang: LanguageRules, mentions: bool) -> list[Hit]:
    """The hits in one file's lines: its code, then its comments read as code (those hits are ``low``).

    ``mentions``: the file names ``speech-to-text/session``, so a ``media_source`` key not sent by any call
    found is a ``medium`` hit of its own.
    """
    split = split_comments(lines, lang)
    tracked: dict[str, list[_Carried]] = {}
    hits = _analyse(split, lang, tracked, mentions)
    if any(c.strip() for c in split.comments):
        comment_lines = [_JAVADOC.sub("", c) if lang.block_comment else c for c in split.comments]
        comment_split = split_comments(comment_lines, lang)
        code_tracked = {name: [dataclasses.replace(e, produced={}) for e in v] for name, v in tracked.items()}
        for hit in _analyse(comment_split, lang, code_tracked, mentions):
            hit.confidence = "low"
            hits.append(hit)
    return hits
