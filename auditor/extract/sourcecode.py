"""Find callerId / From in helper-library code (Python, JS/TS, PHP, Ruby, C#, Java).

Each language is a handful of regular expressions over the masked text (see
lexing.mask): where Dial's callerId and Calls' From are written in each official
helper library's spelling, and which call a keyword belongs to. A `Hit` says
where the value expression is; `expressions.evaluate` says what it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice

from auditor.extract.lexing import (
    callee_before,
    enclosing_open,
    expression_end,
    matching_close,
    split_args,
)
from auditor.model import DialedKind

# Per file: beyond these a file is not code a person wrote, and the scan must stay fast.
MAX_HITS = 1_000
MAX_CANDIDATES = 1_000


@dataclass(frozen=True)
class Hit:
    """One callerId (Dial) or From (outgoing call) position in the code."""

    offset: int  # where the value (or, when missing, the call) starts
    end: int  # end of the value expression (== offset when missing)
    what: str  # "dial" or "call"
    dialed: str  # DialedKind value
    missing: bool = False  # a Dial call with no callerId at all


_NOUN_ARG = r"\b(?=\s*[(\"'\w@:$])"  # an argument follows: .number(…) or Ruby's d.client 'amy'


def _noun(lower: str, upper: str) -> str:
    return rf"(?:\.|->)(?:{lower}|{upper}){_NOUN_ARG}|\bnew\s+{upper}(?:\.Builder)?\s*\("


_NOUNS: list[tuple[str, DialedKind]] = [
    (_noun("number", "Number"), DialedKind.NUMBER),
    (_noun("client", "Client"), DialedKind.CLIENT),
    (_noun("sip", "Sip"), DialedKind.SIP),
    (_noun("queue", "Queue"), DialedKind.QUEUE),
    (_noun("conference", "Conference"), DialedKind.CONFERENCE),
]
_NOUN_RE = re.compile("|".join(f"(?P<n{i}>{p})" for i, (p, _) in enumerate(_NOUNS)))
_STRING_START = re.compile(r"\s*(?:new\s+PhoneNumber\s*\(\s*)?[rRbBuUfF@$]{0,2}[\"'`]")


_WINDOW_STOP = re.compile(
    r"\breturn\b|\bdef\s|\bfunction\b|\bpublic\b|\bprivate\b|\.dial\b|->dial\b|\bnew\s+Dial\b"
    r"|\bDial\s*\(|callerId|caller_id|\bend\s*$",
    re.M,
)


def _dialed_after(masked: str, start: int, window: int = 600) -> str:
    """The first Dial noun written after `start` (the dial's children), else unknown."""
    end = min(len(masked), start + window)
    stop = _WINDOW_STOP.search(masked, start, end)
    if stop:
        end = stop.start()
    m = _NOUN_RE.search(masked, start, end)
    if not m or m.lastgroup is None:
        return DialedKind.UNKNOWN.value
    return _NOUNS[int(m.lastgroup[1:])][1].value


_NUMBER_KW = re.compile(r"\s*(?::number\s*=>|number\s*[:=](?![:=]))")


def _first_arg_dialed(masked: str, args: list[tuple[int, int]], key: re.Pattern[str]) -> bool:
    """True when the Dial's first positional argument is a value (a bare number to dial)."""
    if not args:
        return False
    if any(_NUMBER_KW.match(masked[a:b]) for a, b in args):
        return True  # dial(number=…) / dial(number: …)
    for a, b in args:
        text = masked[a:b].strip()
        if not text or text in ("''", '""') or key.search(text):
            continue
        if re.match(r":?\w+\s*(?:[:=](?![:=])|=>)", text) or text.startswith(("{", "[", "**")):
            continue  # a keyword, hash or options argument, not the number
        if re.match(r"(?:array|new\s+\w+)\s*\(", text):
            continue
        return True
    return False


@dataclass(frozen=True)
class Lang:
    name: str
    key: re.Pattern[str]  # the callerId keyword; m.end() is where its value starts
    dial_callee: re.Pattern[str]  # callee text (from callee_before) of a Dial call
    dial_call: re.Pattern[str]  # a Dial call in the masked text, ending at its '('
    from_key: re.Pattern[str] | None  # `from` keyword inside a calls-create call
    create_callee: re.Pattern[str]  # callee of a calls-create call
    from_position: int | None  # positional index of From in a calls-create call
    options_ok: bool = False  # a callerId key in an object assigned to a variable counts


def _r(p: str) -> re.Pattern[str]:
    return re.compile(p)


LANGS: dict[str, Lang] = {
    "python": Lang(
        "python",
        key=_r(r"\bcaller_id\s*=(?!=)\s*"),
        dial_callee=_r(r"(?:^|\.)(?:Dial|dial)$"),
        dial_call=_r(r"(?:(?<![\w.])Dial|\.dial)\s*\("),
        from_key=_r(r"\bfrom_\s*=(?!=)\s*"),
        create_callee=_r(r"calls\.create$"),
        from_position=None,
    ),
    "js": Lang(
        "js",
        # `callerId: x`, `'callerId': x`, or the shorthand `{ callerId }` (value = the name)
        key=_r(
            r"(?:\bcallerId\b|(?<=[\"'])callerId(?=[\"']))[\"']?\s*:(?!:)\s*"
            r"|(?<=[{,])\s*(?=callerId\s*[,}])"
            r"|(?<=\.)callerId\s*=(?![=>])\s*"  # opts.callerId = …
        ),
        dial_callee=_r(r"(?:^|\.)dial$"),
        dial_call=_r(r"\.dial\s*\("),
        from_key=_r(r"(?:\bfrom\b|(?<=[\"'])from(?=[\"']))[\"']?\s*:\s*"),
        create_callee=_r(r"calls\.create$"),
        from_position=None,
        options_ok=True,
    ),
    "php": Lang(
        "php",
        key=_r(r"(?<=[\"'])callerId[\"']\s*=>\s*"),
        dial_callee=_r(r"(?:^|\.)dial$|^new Dial$"),
        dial_call=_r(r"->dial\s*\("),
        from_key=_r(r"(?<=[\"'])from[\"']\s*=>\s*"),
        create_callee=_r(r"calls\.create$"),
        from_position=1,
        options_ok=True,
    ),
    "ruby": Lang(
        "ruby",
        key=_r(r"(?:\bcaller_id:(?!:)|:caller_id\s*=>|(?<=[\"'])callerId[\"']\s*=>)\s*"),
        dial_callee=_r(r"(?:^|\.)dial$"),
        dial_call=_r(r"\.dial\b(?!\?)"),
        from_key=_r(r"(?:\bfrom:(?!:)|:from\s*=>)\s*"),
        create_callee=_r(r"calls\.create$"),
        from_position=None,
    ),
    "csharp": Lang(
        "csharp",
        # named argument `callerId: x`, or the property: `new Dial { CallerId = x }`
        key=_r(r"\bcallerId\s*:(?!:)\s*|\bCallerId\s*=(?![=>])\s*"),
        dial_callee=_r(r"(?:^|\.)Dial$|^new Dial$"),
        dial_call=_r(r"(?:new\s+Dial|\.Dial)\s*\("),
        from_key=_r(r"\bfrom\s*:(?!:)\s*"),
        create_callee=_r(r"CallResource\.Create(?:Async)?$"),
        from_position=1,
    ),
    "java": Lang(
        "java",
        key=_r(r"\.callerId\s*\(\s*"),
        dial_callee=_r(r"$^"),
        dial_call=_r(r"new\s+Dial\.Builder\s*\(\s*\)"),
        from_key=None,
        create_callee=_r(r"Call\.creator$"),
        from_position=1,
    ),
}

# Quick pre-filters (plain substring tests, much faster than a regex over every file):
# a file that contains none of these cannot hold a hit.
_PREFILTER: dict[str, tuple[str, ...]] = {
    "python": ("caller_id", "calls.create", "Dial", "dial"),
    "js": ("callerId", "calls.create", ".dial"),
    "php": ("callerId", "calls->create", "->dial"),
    "ruby": ("caller_id", "callerId", "calls.create", ".dial"),
    "csharp": ("callerId", "CallResource", "Dial"),
    "java": ("callerId", "Call.creator", "Dial.Builder"),
}


def might_hold_hits(lang_name: str, text: str) -> bool:
    """False when the text cannot hold a callerId/From position in this language."""
    return any(word in text for word in _PREFILTER[lang_name])


def _is_options_object(masked: str, brace: int) -> bool:
    """`x = {` / `x: {` / `return {` / `=> [` : an options object built for later use."""
    before = masked[max(0, brace - 40) : brace].rstrip()
    return before.endswith(("=", ":", "return")) and not before.endswith(("==", "=>"))


def _dial_hits(lang: Lang, masked: str) -> Iterator[Hit]:
    seen_calls: set[int] = set()
    for m in islice(lang.key.finditer(masked), MAX_CANDIDATES):
        start = m.end()
        if lang.name == "java":
            close = matching_close(masked, masked.index("(", m.start()))
            yield Hit(start, close, "dial", _dialed_after(masked, close), False)
            continue
        open_pos = enclosing_open(masked, m.start())
        dial_open = -1
        if open_pos >= 0 and masked[open_pos] == "(":
            if lang.dial_callee.search(callee_before(masked, open_pos)):
                dial_open = open_pos
        elif open_pos >= 0 and masked[open_pos] in "{[":
            outer = enclosing_open(masked, open_pos)
            if outer >= 0 and masked[outer] == "(":
                callee = callee_before(masked, outer)
                if lang.dial_callee.search(callee):
                    dial_open = outer
                elif callee.endswith("array") and lang.name == "php":
                    inner_outer = enclosing_open(masked, outer)
                    if inner_outer >= 0 and lang.dial_callee.search(
                        callee_before(masked, inner_outer)
                    ):
                        dial_open = inner_outer
        elif open_pos < 0 and lang.name == "ruby":
            line_start = masked.rfind("\n", 0, m.start()) + 1
            if re.search(r"\.dial\b", masked[line_start : m.start()]):
                dial_open = line_start
        if dial_open < 0:
            member = lang.name == "js" and masked[m.start() - 1 : m.start()] == "."
            if lang.name == "csharp" and m.group().startswith("CallerId"):
                before = masked[max(0, open_pos - 40) : max(0, open_pos)] if open_pos >= 0 else ""
                member = masked[m.start() - 1 : m.start()] == "." or bool(
                    re.search(r"new\s+Dial\s*(?:\(\s*\))?\s*$", before)
                )
            is_options = member or (
                lang.options_ok
                and open_pos >= 0
                and masked[open_pos] in "{["
                and _is_options_object(masked, open_pos)
            )
            if not is_options:
                continue
        end = expression_end(masked, start)
        if dial_open >= 0:
            seen_calls.add(dial_open)
            close = matching_close(masked, dial_open) if masked[dial_open] == "(" else end
            if masked[dial_open] == "(":
                args = split_args(masked, dial_open + 1, close)
            else:  # Ruby without parentheses: the rest of the line
                line_end = masked.find("\n", m.start())
                line_end = len(masked) if line_end < 0 else line_end
                args = split_args(masked, m.start(), line_end)
            if _first_arg_dialed(masked, args, lang.key):
                dialed = DialedKind.NUMBER.value
            else:
                dialed = _dialed_after(masked, close + 1)
        else:
            dialed = DialedKind.UNKNOWN.value
        yield Hit(start, end, "dial", dialed, False)
    yield from _missing_hits(lang, masked, seen_calls)


def _missing_hits(lang: Lang, masked: str, seen_calls: set[int]) -> Iterator[Hit]:
    """Dial calls written without any callerId (Twilio then uses the caller's number)."""
    for m in islice(lang.dial_call.finditer(masked), MAX_CANDIDATES):
        if lang.name == "java":
            stmt_end = masked.find(";", m.end())
            stmt_end = len(masked) if stmt_end < 0 else stmt_end
            chain = masked[m.end() : stmt_end]
            if ".callerId" in chain:
                continue
            yield Hit(m.start(), m.start(), "dial", _dialed_after(masked, m.end()), True)
            continue
        if lang.name == "ruby" and not masked.startswith("(", m.end()):
            line_end = masked.find("\n", m.end())
            line_end = len(masked) if line_end < 0 else line_end
            args_text = masked[m.end() : line_end]
            if lang.key.search(args_text) or "**" in args_text:
                continue
            opaque = re.match(r"\s*[\w@]", args_text) and not re.match(r"\s*(?:do\b|\{)", args_text)
            if opaque and not re.match(r"\s*[\"'\d+]", args_text):
                continue  # r.dial opts: an options hash we cannot see
            dialed = _dialed_after(masked, m.end())
            if dialed == DialedKind.UNKNOWN and re.match(r"\s*[\"'\d+]", args_text):
                dialed = DialedKind.NUMBER.value
            yield Hit(m.start(), m.start(), "dial", dialed, True)
            continue
        open_pos = m.end() if lang.name == "ruby" else m.end() - 1
        if open_pos in seen_calls or masked[open_pos] != "(":
            continue
        close = matching_close(masked, open_pos)
        args_text = masked[open_pos + 1 : close]
        if lang.key.search(args_text) or "**" in args_text or "..." in args_text:
            continue
        args = split_args(masked, open_pos + 1, close)
        # an argument that is a bare name may be an options object we cannot see into
        named = any(re.fullmatch(r"\s*\$?[A-Za-z_][\w.$]*\s*", masked[a:b]) for a, b in args)
        if (
            named
            and lang.name in ("js", "php", "python")
            and not _first_arg_dialed_is_literal(masked, args)
        ):
            continue
        if _first_arg_dialed(masked, args, lang.key):
            dialed = DialedKind.NUMBER.value
        else:
            dialed = _dialed_after(masked, close + 1)
        yield Hit(m.start(), m.start(), "dial", dialed, True)


def _first_arg_dialed_is_literal(masked: str, args: list[tuple[int, int]]) -> bool:
    """`dial(number)` with one bare name is a number; `dial(opts)` / `dial(x, opts)` is unknown."""
    return len(args) == 1 and not re.search(r"opt|param|attr|arg", masked[args[0][0] : args[0][1]])


def _call_hits(lang: Lang, masked: str) -> Iterator[Hit]:
    if lang.from_key is not None:
        for m in islice(lang.from_key.finditer(masked), MAX_CANDIDATES):
            open_pos = enclosing_open(masked, m.start())
            if open_pos < 0:
                if lang.name != "ruby":
                    continue
                line_start = masked.rfind("\n", 0, m.start()) + 1
                if "calls.create" not in masked[line_start : m.start()]:
                    continue
            elif masked[open_pos] in "{[":
                outer = enclosing_open(masked, open_pos)
                if outer < 0 or masked[outer] != "(":
                    continue
                if not lang.create_callee.search(callee_before(masked, outer)):
                    continue
            elif not lang.create_callee.search(callee_before(masked, open_pos)):
                continue
            yield Hit(m.end(), expression_end(masked, m.end()), "call", DialedKind.NUMBER.value)
    if lang.from_position is None:
        return
    pattern = {
        "php": r"(?:->|\.)calls\s*->\s*create\s*\(",
        "csharp": r"\bCallResource\s*\.\s*Create(?:Async)?\s*\(",
        "java": r"\bCall\s*\.\s*creator\s*\(",
    }[lang.name]
    for m in islice(re.finditer(pattern, masked), MAX_CANDIDATES):
        open_pos = m.end() - 1
        close = matching_close(masked, open_pos)
        args = split_args(masked, open_pos + 1, close)
        if lang.from_key is not None and any(lang.from_key.search(masked[a:b]) for a, b in args):
            continue  # named argument: already found above
        positional = [(a, b) for a, b in args if not re.match(r"\s*\w+\s*:(?!:)", masked[a:b])]
        index = lang.from_position
        if lang.name == "java" and len(positional) == 4:
            index = 2  # Call.creator(pathAccountSid, to, from, url)
        if lang.name == "php" and masked[max(0, m.start() - 9) : m.start()].endswith("account"):
            index = 0  # twilio-php 4.x: $client->account->calls->create($from, $to, $url)
        if len(positional) <= index:
            continue
        a, b = positional[index]
        while a < b and masked[a].isspace():
            a += 1
        yield Hit(a, b, "call", DialedKind.NUMBER.value)


_TWILIO_WORDS = ("twilio", "Twilio", "TWILIO", "twiml", "TwiML", "VoiceResponse")


def mentions_twilio(text: str) -> bool:
    """True when the file names Twilio at all (imports, requires, usings)."""
    return any(word in text for word in _TWILIO_WORDS)


def find_hits(lang_name: str, masked: str, *, include_missing: bool = True) -> list[Hit]:
    """Every callerId/From position in masked source of one language, in text order.

    `include_missing` also reports Dial calls without a callerId; only worth it where
    the file is known to use Twilio (a bare `.dial(` is too common a name otherwise).
    """
    lang = LANGS[lang_name]
    dial_hits = (h for h in _dial_hits(lang, masked) if include_missing or not h.missing)
    hits = list(islice(dial_hits, MAX_HITS)) + list(islice(_call_hits(lang, masked), MAX_HITS))
    unique = {(h.offset, h.what, h.missing): h for h in hits}
    return sorted(unique.values(), key=lambda h: (h.offset, h.what))
