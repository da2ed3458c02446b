"""The scanner's tables: one row of patterns per language, the signals and rules of a V1-only call.

A language (or a new kind of file) is one more row, read by the one engine; these tests keep the rows
consistent and show that a row alone is enough.
"""

from __future__ import annotations

import dataclasses
import re

import pytest

from compat.staging.scan import language_of
from compat.staging.scan.call_rules import FILE_SIGNALS, REFINEMENTS, RELEVANT, RULES, SIGNALS
from compat.staging.scan.language_rules import LanguageRules
from compat.staging.scan.languages import BY_NAME, LANGUAGES, PYTHON_FALLBACK
from compat.staging.scan.patterns import scan_patterns


def test_no_two_rows_claim_the_same_extension_or_interpreter() -> None:
    extensions = [ext for rules in LANGUAGES for ext in rules.extensions]
    interpreters = [prog for rules in LANGUAGES for prog in rules.interpreters]
    assert len(extensions) == len(set(extensions))
    assert len(interpreters) == len(set(interpreters))
    assert all(ext.startswith(".") and ext == ext.lower() for ext in extensions)


@pytest.mark.parametrize("rules", LANGUAGES, ids=lambda r: r.name)
def test_each_row_names_its_files_and_its_patterns_compile(rules: LanguageRules) -> None:
    for ext in rules.extensions:
        if rules.marker:  # read only with its marker (``.json``: Azure templates, not any JSON)
            assert language_of("file" + ext) is None
            head = '{"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"}'
            assert language_of("file" + ext, head) == rules.name
        else:
            assert language_of("file" + ext) == rules.name
    for prog in rules.interpreters:
        assert language_of("script", f"#!/usr/bin/env {prog}\n") == rules.name
    assert rules.call_pattern.pattern and rules.assign_pattern.groups >= 1
    assert rules.method_patterns
    assert "{key}" in rules.key
    assert rules.key_pattern(("media_source",)).pattern.count("media_source") == rules.key.count("{key}")
    re.compile(rules.multipart)


def test_every_language_but_python_is_read_by_pattern() -> None:
    assert set(BY_NAME) == {r.name for r in LANGUAGES} - {"python"}


def test_rules_name_only_known_signals_and_every_file_term_is_relevant() -> None:
    names = {s.name for s in SIGNALS} | {s.name for s in FILE_SIGNALS}
    for rule in RULES:
        assert rule.sends <= names
        assert rule.via <= names | {"PUT", "POST", "GET"}
    assert all(term == term.lower() for term in RELEVANT)
    operations = {rule.operation for rule in RULES if rule.operation}
    assert set(REFINEMENTS) | set(REFINEMENTS.values()) <= operations


def test_a_generation_is_rows_each_rule_names_its_own() -> None:
    """The Zoom Media rules are rows marked with their generation; Batch V1 rows are the default."""
    zoom = [rule for rule in RULES if rule.generation == "zoommedia"]
    assert zoom and all(rule.operation and rule.operation.startswith("zm_") for rule in zoom)
    assert all(not (rule.operation or "").startswith("zm_") for rule in RULES if rule.generation == "batch_v1")


def test_a_new_language_is_one_row() -> None:
    """A made-up language, given as a row only, is read by the engine like the others."""
    lua = dataclasses.replace(
        PYTHON_FALLBACK,
        name="lua",
        extensions=(".lua",),
        interpreters=(),
        line_comments=("--",),
        triple_quotes=False,
        methods=(("PUT", r"""method\s*=\s*"PUT\""""), ("POST", r"""method\s*=\s*"POST\"""")),
        call=r"""\bhttp\.request\b""",
        key=r"""\b{key}\s*=""",
        assign=r"""^\s*(?:local\s+)?([A-Za-z_]\w*)\s*=(?!=)""",
    )
    lines = [
        'local url = string.format("%s/api/v3/speech-to-text/session/%s", BASE, id)',
        'http.request{ url = url, method = "PUT", source = ltn12.source.file(f) }',
        '-- http.request{ url = BASE .. "/api/v3/speech-to-text/session", method = "POST", media_source = src }',
    ]
    hits = [(h.line, h.operation, h.confidence) for h in scan_patterns(lines, lua, mentions=True)]
    assert hits == [(2, "upload", "high"), (3, "media_source", "low")]
