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
from collections.abc import Callable, Iterator
from typing import Any

import msgspec

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
    text = _formatted(data, indent) if indent is not None else None
    if text is None:
        text = json.dumps(data, indent=indent, ensure_ascii=False, sort_keys=False)
    return _JSON_UNSAFE.sub(_escape, text) + ("\n" if indent is not None else "")


_PLAIN_DEPTH = 200
_SCALARS = frozenset({str, int, bool, type(None)})


def _formatted(data: Any, indent: int) -> str | None:
    """json.dumps(data, indent=indent, ensure_ascii=False) through msgspec's C encoder, for
    data the two spell alike; None for anything else (json.dumps then decides or raises).

    With an indent json.dumps runs its pure-Python encoder: findings.json of 20,000
    findings took seconds. Alike means JSON's own types with text keys and no float (the
    two write NaN and 1e16 differently), each container once (json.dumps refuses a cycle)
    and not deeper than it nests; tests/test_text.py compares them.
    """
    level: list[Any] = [data]
    seen: set[int] = set()
    for _ in range(_PLAIN_DEPTH):
        below: list[Any] = []
        for node in level:
            kind = type(node)
            if kind in _SCALARS:
                continue
            if kind is dict:
                if not all(type(k) is str for k in node):
                    return None  # keys json.dumps converts (1 → "1", None → "null")
                below.extend(node.values())
            elif kind is list or kind is tuple:
                below.extend(node)
            else:
                return None  # a float, or a type json.dumps refuses
            if id(node) in seen:
                return None
            seen.add(id(node))
        if not below:
            break
        level = below
    else:
        return None
    try:
        return msgspec.json.format(msgspec.json.encode(data), indent=indent).decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError, msgspec.EncodeError, OverflowError):
        return None  # a lone surrogate: json.dumps writes it, then it is escaped below


def dump_json_chunks(
    data: dict[str, Any], prepare: Callable[[Any], Any] = lambda value: value
) -> Iterator[bytes]:
    """The UTF-8 bytes of `dump_json(prepare(data))`, a top-level list item at a time.

    findings.json of 20,000 findings is 100 MB of text, held three times over by the
    whole-document writer (the text, its escaped copy, the bytes); here each item is
    prepared (say, redacted), encoded and written on its own. `prepare` must act on a
    part as it acts on that part of the whole (redact_data does).
    """
    if not data or not all(type(k) is str and "@" not in k for k in data):
        yield dump_json(prepare(data)).encode("utf-8")
        return

    def part(value: Any, level: int) -> bytes:
        text = dump_json(prepare(value)).removesuffix("\n").encode("utf-8")
        return text.replace(b"\n", b"\n" + b"  " * level)

    yield b"{"
    for i, (key, value) in enumerate(data.items()):
        name = dump_json(prepare(key), indent=None).encode("utf-8")
        yield (b"\n  " if i == 0 else b",\n  ") + name + b": "
        if isinstance(value, list) and value:
            yield b"[" + b",".join(b"\n    " + part(item, 2) for item in value[:1])
            for item in value[1:]:
                yield b",\n    " + part(item, 2)
            yield b"\n  ]"
        else:
            yield part(value, 1)
    yield b"\n}\n"
