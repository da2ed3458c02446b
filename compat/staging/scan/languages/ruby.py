"""Ruby (Net::HTTP, RestClient, HTTParty, Faraday, Typhoeus, http.rb)."""

from __future__ import annotations

import re

from compat.staging.scan.language_rules import LanguageRules

__all__ = ["RUBY"]

RUBY = LanguageRules(
    name="ruby",
    line_comments=("#",),
    block_comment=None,
    quotes="\"'`",
    multiline_quotes="\"'",
    raw_quotes="",
    put=re.compile(
        r"""\bNet::HTTP::Put\b|\.put\b(?![?!=])|\bmethod:\s*:put\b|:method\s*=>\s*:put\b|\brequest\s*\(\s*:put\b"""
    ),
    post=re.compile(
        r"""\bNet::HTTP::Post\b|\.post\b(?![?!=])|\bmethod:\s*:post\b|:method\s*=>\s*:post\b|"""
        r"""\brequest\s*\(\s*:post\b|\bNet::HTTP\.post(?:_form)?\b"""
    ),
    call=re.compile(
        r"""\bNet::HTTP\b|\bRestClient\b|\bHTTParty\b|\bFaraday\b|\bTyphoeus\b|\bHTTP\.|\.request\s*\(|"""
        r"""\bhttp\.\w+|\bconn(?:ection)?\.\w+|\.(?:put|post)\b"""
    ),
    multipart=re.compile(r"""[Mm]ultipart|\bset_form\b|\bUploadIO\b|\bFilePart\b|\bmedia_file\b|\btranscript_file\b"""),
    media_source=re.compile(r"""\bmedia_source:(?!:)|:media_source\s*=>|["']media_source["']\s*(?:=>|:)"""),
    assign=re.compile(r"""^\s*(@{0,2}[A-Za-z_]\w*)\s*=(?![=~>])"""),
    ref_prefix=r"(?<![\w@$:.])",
    ref_suffix=r"(?![\w?!])",
    arrow_brace_literal=True,
)
