"""Text hygiene: account data shown to a person never carries invisible or active characters.

Friendly names, URLs, file names and TwiML come from strangers. Shown raw, a
terminal obeys the escape sequences in them (clear the screen, set the window
title, write the clipboard with OSC 52), and a browser, spreadsheet or editor
obeys bidi controls (U+202E turns `evil.exe‮gpj.` into `evil.exejpg.`).
`visible` replaces each such character with a visible `[U+XXXX]` mark, so a
reader sees that something odd is there instead of being fooled by it; every
renderer (HTML and PDF through the Jinja environment, Markdown, CSV) and every
terminal printer uses it. `dump_json` is the one JSON writer: the same
characters become `\\uXXXX` escapes, so the file round-trips exactly and is
still safe to `cat`.
"""

from __future__ import annotations

import json
import re
from typing import Any

# C0 controls (tab, LF, CR handled by mode), DEL, C1, Arabic letter mark, LRM/RLM,
# line/paragraph separators, LRE…RLO, LRI…PDI, and lone surrogates (which cannot even be
# encoded as UTF-8: printing one raises).
_ALWAYS = (
    "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029"
    "\u202a-\u202e\u2066-\u2069\ud800-\udfff"
)
_SINGLE_LINE = re.compile(f"[\t\n\r{_ALWAYS}]")
_MULTI_LINE = re.compile(f"\r(?!\n)|[{_ALWAYS}]")
# What json.dumps leaves raw with ensure_ascii=False (it escapes C0 itself).
_JSON_UNSAFE = re.compile(
    "[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def _mark(m: re.Match[str]) -> str:
    return f"[U+{ord(m.group()):04X}]"


def visible(text: object, *, multiline: bool = False) -> str:
    """`text` with every control, bidi and lone-surrogate character shown as `[U+XXXX]`.

    Single-line (names, cells, terminal lines): tab, CR and LF are marked too, so one
    value cannot start a new line or row. `multiline` keeps tab, LF and CRLF.
    """
    value = "" if text is None else str(text)
    pattern = _MULTI_LINE if multiline else _SINGLE_LINE
    if pattern.search(value) is None:
        return value
    return pattern.sub(_mark, value)


def visible_lines(text: str) -> str:
    """Each line of `text` made `visible` (for printing several lines at once)."""
    return "\n".join(visible(line) for line in text.split("\n"))


def _escape(m: re.Match[str]) -> str:
    return f"\\u{ord(m.group()):04x}"


def dump_json(data: Any, indent: int | None = 2) -> str:
    """JSON text (UTF-8 friendly) in which invisible and bidi characters are \\u escapes.

    json.dumps leaves them raw with ensure_ascii=False; they only ever occur inside
    strings, where a \\u escape means the same character, so the data is unchanged.
    """
    text = json.dumps(data, indent=indent, ensure_ascii=False, sort_keys=False)
    return _JSON_UNSAFE.sub(_escape, text) + ("\n" if indent is not None else "")
