"""Light tokenising for source code: enough to tell code from comments and strings, no parser.

`mask(text, lang)` returns a copy of the same length where comments are blanked
(newlines kept, so line numbers stay) and string contents are replaced by a
filler character, except strings that are bare identifiers (dictionary keys
like 'callerId' or "From"). Patterns are matched on the masked text and values
read from the original at the same offsets, so a callerId that only appears in
a comment, a docstring or a log message is never taken for code.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

FILL = "\x00"  # never appears in text we scan (binary files are skipped)

_DQ = r'"(?:\\.|[^"\\\n])*"'
_SQ = r"'(?:\\.|[^'\\\n])*'"
_BT = r"`(?:\\.|[^`\\])*`"
_SLASH_LINE = r"//[^\n]*"
_HASH_LINE = r"#[^\n]*"
_BLOCK = r"/\*[\s\S]*?(?:\*/|\Z)"

_LANG_TOKENS: dict[str, list[tuple[str, str]]] = {
    "js": [("s", _BT), ("s", _DQ), ("s", _SQ), ("c", _SLASH_LINE), ("c", _BLOCK)],
    "python": [
        ("s", r"[rRbBuUfF]{0,2}'''[\s\S]*?(?:'''|\Z)"),
        ("s", r'[rRbBuUfF]{0,2}"""[\s\S]*?(?:"""|\Z)'),
        ("s", r"[rRbBuUfF]{0,2}" + _DQ),
        ("s", r"[rRbBuUfF]{0,2}" + _SQ),
        ("c", _HASH_LINE),
    ],
    "php": [
        ("s", _DQ),
        ("s", _SQ),
        ("c", _SLASH_LINE),
        ("c", r"#(?!\[)[^\n]*"),
        ("c", _BLOCK),
    ],
    "ruby": [
        ("c", r"^=begin\b[\s\S]*?(?:^=end\b[^\n]*|\Z)"),
        ("s", _DQ),
        ("s", _SQ),
        ("c", _HASH_LINE),
    ],
    "csharp": [
        ("s", r'@"(?:""|[^"])*"'),
        ("s", r"\$?" + _DQ),
        ("s", r"'(?:\\.|[^'\\\n])'"),
        ("c", _SLASH_LINE),
        ("c", _BLOCK),
    ],
    "java": [
        ("s", r'"""[\s\S]*?(?:"""|\Z)'),
        ("s", _DQ),
        ("s", r"'(?:\\.|[^'\\\n])'"),
        ("c", _SLASH_LINE),
        ("c", _BLOCK),
    ],
    "markup": [
        ("c", r"<!--[\s\S]*?(?:-->|\Z)"),
        ("c", r"\{#[\s\S]*?(?:#\}|\Z)"),
        ("c", r"<%#[\s\S]*?(?:%>|\Z)"),
        ("c", r"\{\{!--[\s\S]*?(?:--\}\}|\Z)"),
    ],
}

_IDENT = re.compile(r"[A-Za-z_$][\w$]*")


def _compile(tokens: list[tuple[str, str]]) -> re.Pattern[str]:
    parts = [f"(?P<{kind}{i}>{pat})" for i, (kind, pat) in enumerate(tokens)]
    return re.compile("|".join(parts), re.MULTILINE)


_PATTERNS = {lang: _compile(tokens) for lang, tokens in _LANG_TOKENS.items()}
_NOT_NEWLINE = re.compile(r"[^\n]")


def _blank(text: str) -> str:
    return _NOT_NEWLINE.sub(" ", text)


def _fill_string(token: str) -> str:
    """Fill a string's body, keeping prefix and quotes; identifier-like bodies stay visible."""
    start = 0
    while start < len(token) and token[start] not in "\"'`":
        start += 1
    quote = token[start : start + 3]
    if quote not in ('"""', "'''"):
        quote = token[start : start + 1]
    body_start = start + len(quote)
    closed = token.endswith(quote) and len(token) >= body_start + len(quote)
    body_end = len(token) - len(quote) if closed else len(token)
    body = token[body_start:body_end]
    if _IDENT.fullmatch(body):
        return token
    return token[:body_start] + _NOT_NEWLINE.sub(FILL, body) + token[body_end:]


def _replacer(match: re.Match[str]) -> str:
    kind = match.lastgroup or ""
    token = match.group(0)
    return _blank(token) if kind.startswith("c") else _fill_string(token)


def mask(text: str, lang: str) -> str:
    """Same-length copy of `text` with comments blanked and string contents filled."""
    pattern = _PATTERNS.get(lang)
    if pattern is None:
        return text
    return pattern.sub(_replacer, text)


@dataclass
class Lines:
    """Offset → 1-based line number, by bisecting the newline offsets once."""

    starts: list[int]

    @classmethod
    def of(cls, text: str) -> Lines:
        starts = [0]
        find = text.find
        pos = find("\n")
        while pos != -1:
            starts.append(pos + 1)
            pos = find("\n", pos + 1)
        return cls(starts)

    def line(self, offset: int) -> int:
        return bisect_right(self.starts, offset)


_OPEN = {"(": ")", "[": "]", "{": "}"}
_CLOSE = {v: k for k, v in _OPEN.items()}


_BRACKET = re.compile(r"[()\[\]{}]")


def matching_close(masked: str, open_pos: int, limit: int = 5_000) -> int:
    """Offset of the bracket closing the one at `open_pos` (or where the search gave up)."""
    depth = 0
    end = min(len(masked), open_pos + limit)
    for m in _BRACKET.finditer(masked, open_pos, end):
        if m.group() in _OPEN:
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return m.start()
    return end


def enclosing_open(masked: str, pos: int, limit: int = 3_000) -> int:
    """Offset of the unmatched opening bracket around `pos`, or -1."""
    start = max(0, pos - limit)
    window = masked[start:pos]
    depth = 0
    for m in _BRACKET.finditer(window[::-1]):
        if m.group() in _CLOSE:
            depth += 1
        elif depth == 0:
            return pos - 1 - m.start()
        else:
            depth -= 1
    return -1


_CALLEE = re.compile(r"((?:new\s+)?[\w$.\\>:-]*?[\w$]+)\s*$")


def callee_before(masked: str, open_pos: int) -> str:
    """The call expression just before an opening parenthesis ('twiml.dial', 'new Dial')."""
    start = max(0, open_pos - 100)
    m = _CALLEE.search(masked, start, open_pos)
    if not m:
        return ""
    return re.sub(r"\s+", " ", m.group(1)).replace("->", ".").replace("::", ".")


_ARG_BREAK = re.compile(r"[()\[\]{},]")


def split_args(masked: str, start: int, end: int) -> list[tuple[int, int]]:
    """Top-level comma-separated (start, end) spans between `start` and `end`."""
    spans: list[tuple[int, int]] = []
    depth = 0
    seg = start
    for m in _ARG_BREAK.finditer(masked, start, end):
        ch = m.group()
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth -= 1
        elif depth == 0:
            spans.append((seg, m.start()))
            seg = m.start() + 1
    if masked[seg:end].strip():
        spans.append((seg, end))
    return spans


_CONTINUES = ("+", "||", "??", "&&", "(", ",", ".", "?", ":", "=", "\\")


_EXPR_BREAK = re.compile(r"[()\[\]{},;\n]")


def expression_end(masked: str, start: int) -> int:
    """End of the expression at `start`: a top-level `,` `;`, an unmatched closing bracket,
    or a newline when the expression so far does not obviously continue."""
    depth = 0
    stop = min(len(masked), start + 2_000)
    for m in _EXPR_BREAK.finditer(masked, start, stop):
        ch = m.group()
        i = m.start()
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            if depth == 0:
                return i
            depth -= 1
        elif depth == 0 and ch in ",;":
            return i
        elif depth == 0 and ch == "\n":
            tail = masked[start:i].rstrip()
            if tail and not tail.endswith(_CONTINUES):
                return i
    return stop
