"""What every language shares: the places a caller ID is set, and how they are judged.

A language module (python.py, javascript.py, …) says how its helper library
spells Dial, callerId, Calls create and the request, and turns its syntax into
`ir` shapes. This module turns the places it finds (`Site`) into `Found`:
the value (resolve.py), what is dialed, and the fixed destination if any.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from auditor.extract.numberinfo import fixed_destination
from auditor.extract.syntax import ir
from auditor.extract.syntax.resolve import NoProject, Project, Resolver, Value
from auditor.extract.syntax.tree import Node, ancestors, captures, line, named, parse, text
from auditor.extract.syntax.tree import field as child
from auditor.model import DialedKind, RefKind, ValueSource, Via

MAX_SITES = 1_000  # per file: beyond this a file is not code a person wrote
_CALLERID_WORD = re.compile(r"caller_?id\s*=", re.I)
# Other telephony providers whose SDKs also spell `calls.create({ from, to })`.
_OTHER_VENDOR = re.compile(rb"(?i)\b(?:nexmo|vonage|telnyx|plivo|vapi|bandwidth|sinch)\b")
NOUNS = ("number", "client", "sip", "queue", "conference")
_NOUN_ORDER = {DialedKind.NUMBER.value: 0}


@dataclass
class Site:
    """A Dial, a Calls create or a participant create, as written."""

    via: str  # Via value
    node: Node  # the call or construction: its line when no value is set
    value: ir.Expr | None  # the callerId / From expression; None when not set
    value_node: Node | None = None  # where the value is written (the reference's line)
    to: ir.Expr | None = None  # Calls: the To; Dial: the number given as its text
    nouns: list[tuple[str, ir.Expr | None]] = field(default_factory=list)  # Dial children
    opaque: bool = False  # options we cannot see into: whether a callerId is set is unknown


@dataclass
class Found:
    """A judged site: what CallerIdReference needs from the code."""

    line: int
    via: str
    value: Value | None  # None: a Dial that sets no callerId
    dialed: str
    destination: str | None = None
    destination_country: str | None = None


class Reader:
    """One language: how to find sites in its syntax tree and read its expressions."""

    name = ""
    grammar = ""
    # Substrings without which a file cannot hold a site (C-speed `in` before parsing).
    hints: tuple[str, ...] = ("dial", "Dial", "calls", "Call", "articipant")
    # Substrings that say the file uses Twilio (a bare `.dial(` is too common otherwise).
    twilio_words: tuple[str, ...] = ("twilio", "Twilio", "TWILIO", "twiml", "TwiML", "Twiml")

    def __init__(self, root: Node, data: bytes, project: Project) -> None:
        self.root = root
        self.data = data
        self.resolver = Resolver(self.expr, self.bindings, project, root=root)
        self._positions: dict[str, list[int]] = {}
        self._calls_on: dict[str, dict[str, list[Node]]] = {}
        self._call_starts: dict[str, dict[str, list[int]]] = {}

    @classmethod
    def byte_hints(cls) -> tuple[bytes, ...]:
        cached: tuple[bytes, ...] | None = cls.__dict__.get("_byte_hints")
        if cached is None:
            cached = tuple(h.encode() for h in cls.hints)
            cls._byte_hints = cached  # type: ignore[attr-defined]
        return cached

    @classmethod
    def prepare(cls, data: bytes) -> bytes:
        """The bytes to parse (a language may blank what its own parser would ignore)."""
        return data

    # each language implements these three
    def sites(self) -> Iterator[Site]:
        raise NotImplementedError

    def expr(self, node: Node) -> ir.Expr:
        raise NotImplementedError

    def bindings(self) -> Iterable[ir.Binding]:
        raise NotImplementedError

    string_query = ""  # a query capturing the language's string literals as @string
    concat_types: frozenset[str] = frozenset()  # nodes that join strings (`+`, `.`, templates)

    # The operator shapes the C-like grammars (JS/TS, Java, C#) spell alike, as data for
    # `operator_expr`: which node is `a op b`, which operators give the first value that
    # is set (`a || b`, `a ?? b`), which node is `c ? a : b`, and the nodes that only wrap
    # a value (`(x)`, `await x`, `x as T`, `(T) x`) with the index of the child that is it.
    binary_type = "binary_expression"
    either_ops: frozenset[str] = frozenset()
    ternary_type = ""
    wrapper_types: ClassVar[Mapping[str, int]] = {}

    def operator_expr(self, node: Node) -> ir.Expr | None:
        """`node` read through the tables above, or None when it is no operator shape."""
        kind = node.type
        if kind == self.binary_type:
            op = text(child(node, "operator"))
            left, right = child(node, "left"), child(node, "right")
            if left is None or right is None:
                return ir.Opaque(node)
            if op in self.either_ops:
                return ir.Either(node, self.expr(left), self.expr(right))
            if op == "+":
                return self.joined(node, left, right)
            return ir.Opaque(node)
        if kind == self.ternary_type:
            options = [child(node, "consequence"), child(node, "alternative")]
            return ir.Choice(node, tuple(self.expr(o) for o in options if o is not None))
        if kind in self.wrapper_types:
            inner = named(node)
            return self.expr(inner[self.wrapper_types[kind]]) if inner else ir.Opaque(node)
        return None

    def in_assertion(self, node: Node) -> bool:
        """True for TwiML a test expects (`expect(x).toContain('<Dial>')`): not a Dial."""
        return False

    def strings(self) -> Iterator[Node]:
        """Strings that hold TwiML: the outermost concatenation each is part of, once."""
        seen: set[int] = set()
        for node in captures(self.grammar, self.string_query, self.root).get("string", []):
            body = node.text or b""
            if b"<Dial" not in body and b"<dial" not in body and b"<DIAL" not in body:
                continue
            top = node
            while top.parent is not None and top.parent.type in self.concat_types:
                top = top.parent
            if top.start_byte in seen or self.in_assertion(top):
                continue
            seen.add(top.start_byte)
            yield top

    def twiml_strings(self) -> Iterator[TwimlString]:
        """TwiML the code builds as text: each string once, its holes resolved."""
        for node in self.strings():
            expr = self.expr(node)
            if isinstance(expr, ir.Lit):
                yield TwimlString(line(node), True, expr.value)
                continue
            holes: dict[str, Value] = {}
            sets_callerid: set[str] = set()
            for part in _holes(expr):
                if part.node is not None:
                    key = re.sub(r"\s+", "", text(part.node))
                    holes[key] = self.resolver.value(part)
                    if self._writes_callerid(part):
                        sets_callerid.add(key)
            yield TwimlString(line(node), False, text(node), holes, frozenset(sets_callerid))

    def _writes_callerid(self, part: ir.Expr) -> bool:
        """True when a hole may hold a callerId attribute (`<Dial${attrs}>`)."""
        written = [part.node]
        if isinstance(part, ir.Ref):
            written.extend(b.value().node for b in self.resolver.bindings(part.name))
        return any(n is not None and _CALLERID_WORD.search(text(n)) for n in written)

    # shared helpers for the language modules
    def joined(self, node: Node, left: Node, right: Node) -> ir.Concat:
        """`left + right` (or PHP's `.`): the parts of both sides, flattened."""
        return ir.Concat(node, (*concat_parts(self.expr(left)), *concat_parts(self.expr(right))))

    def option(
        self, arg: ir.Expr, keys: Iterable[str], at: Node
    ) -> tuple[ir.Entry | None, bool, bool]:
        return self.resolver.option(arg, keys, at.start_byte)

    def bound_until(self, name: str, dial: Node) -> int:
        """Where the variable a Dial is bound to is bound again (its children end there)."""
        positions = self._positions.get(name)
        if positions is None:
            positions = self._positions[name] = sorted(b.pos for b in self.resolver.bindings(name))
        index = bisect_right(positions, dial.end_byte)
        return positions[index] if index < len(positions) else self.root.end_byte + 1

    def calls_named(
        self, query_source: str, receiver: Callable[[Node], Node | None], name: str
    ) -> list[Node]:
        """Every call on the variable `name`, in order: captured as @call by a query once per
        file and indexed by receiver."""
        self.calls_on(query_source, receiver, name, self.root)
        return self._calls_on[query_source].get(name, [])

    def calls_on(
        self, query_source: str, receiver: Callable[[Node], Node | None], name: str, dial: Node
    ) -> list[Node]:
        """Calls on the variable `name` holds a Dial in (`dial.number(…)`), until it is bound
        again: captured as @call by a query once per file, indexed by receiver and position."""
        index = self._calls_on.get(query_source)
        if index is None:
            index = {}
            for call in captures(self.grammar, query_source, self.root).get("call", []):
                index.setdefault(text(receiver(call)), []).append(call)
            for calls in index.values():
                calls.sort(key=lambda c: c.start_byte)
            self._calls_on[query_source] = index
            self._call_starts[query_source] = {
                k: [c.start_byte for c in v] for k, v in index.items()
            }
        calls = index.get(name, [])
        starts = self._call_starts[query_source].get(name, [])
        first = bisect_right(starts, dial.end_byte)
        last = bisect_left(starts, self.bound_until(name, dial))
        return calls[first:last]

    def is_made(self, expr: ir.Expr, what: str) -> bool:
        """True when `expr` is (bound to) an object built by `what` (e.g. an existing Dial)."""
        target = self.resolver.obj(expr)
        return isinstance(target, ir.Made) and target.what == what


def concat_parts(expr: ir.Expr) -> tuple[ir.Expr, ...]:
    """The parts `a + b` joins (a nested concatenation is flattened; a template is one part)."""
    return expr.parts if isinstance(expr, ir.Concat) and not expr.template else (expr,)


def scope_of(node: Node, scopes: frozenset[str], end: int) -> tuple[int, int]:
    """[start, end) of the innermost function-like node around `node` (the file otherwise)."""
    for parent in ancestors(node):
        if parent.type in scopes:
            return parent.start_byte, parent.end_byte
    return 0, end


def lexical_scope(
    node: Node, name: str, scopes: frozenset[str], declared: set[tuple[int, str]], end: int
) -> tuple[int, int]:
    """[start, end) of the variable an assignment `name = …` at `node` sets: the innermost
    enclosing function-like scope that declares `name` (a local, a parameter), else the file
    (a field, a module variable)."""
    for parent in ancestors(node):
        if parent.type in scopes and (parent.start_byte, name) in declared:
            return parent.start_byte, parent.end_byte
    return 0, end


def formatted(node: Node, template: str, args: list[ir.Expr], hole: re.Pattern[str]) -> ir.Concat:
    """`format("client:{0}", id)`: the template's fixed text and, for each hole, its argument
    (`{0}` / `%1$s` by number, else in order)."""
    parts: list[ir.Expr] = []
    at = 0
    for used, m in enumerate(hole.finditer(template)):
        parts.append(ir.Lit(node, template[at : m.start()]))
        number = m.group(1)
        index = int(number.rstrip("$")) - (1 if number.endswith("$") else 0) if number else used
        parts.append(args[index] if 0 <= index < len(args) else ir.Opaque(node))
        at = m.end()
    parts.append(ir.Lit(node, template[at:]))
    return ir.Concat(node, tuple(p for p in parts if not (isinstance(p, ir.Lit) and not p.value)))


def fragment_text(node: Node) -> str:
    """A string fragment or an escape sequence (`\\n`, `\\"`) as the program sees it."""
    value = text(node)
    if node.type == "escape_sequence":
        return {"\\n": "\n", "\\t": "\t"}.get(value, value[1:])
    return value


def dialed_for(value: Value | None) -> str:
    """What a call to this value rings: client:, sip:, a number, else unknown."""
    if value is None:
        return DialedKind.UNKNOWN.value
    kind = value.classified.kind
    if kind == RefKind.CLIENT:
        return DialedKind.CLIENT.value
    if kind == RefKind.SIP:
        return DialedKind.SIP.value
    if kind == RefKind.NUMBER:
        return DialedKind.NUMBER.value
    prefix = value.prefix.strip().lower()
    if prefix.startswith("client:"):
        return DialedKind.CLIENT.value
    if prefix.startswith(("sip:", "sips:")):
        return DialedKind.SIP.value
    if prefix.startswith("+") and not prefix.strip("+0123456789 -()."):
        return DialedKind.NUMBER.value  # `+${digits}`: a phone number whatever the digits
    return DialedKind.UNKNOWN.value


def destination(value: Value | None) -> tuple[str | None, str | None]:
    """(E.164, ISO country) of a destination fixed in the code, else (None, None)."""
    if value is None or value.source != ValueSource.LITERAL:
        return None, None
    return fixed_destination(value.raw)


def judge(site: Site, resolver: Resolver) -> Found | None:
    if site.value is None and site.opaque:
        return None
    value = resolver.value(site.value) if site.value is not None else None
    where = site.value_node or (site.value.node if site.value is not None else None) or site.node
    target: Value | None = None
    if site.via == Via.DIAL:
        dialed, target = _dial_target(site, resolver)
    else:
        target = resolver.value(site.to) if site.to is not None else None
        dialed = dialed_for(target)
    dest, country = destination(target)
    return Found(line(where), site.via, value, dialed, dest, country)


def _dial_target(site: Site, resolver: Resolver) -> tuple[str, Value | None]:
    target: Value | None
    if site.to is not None:
        target = resolver.value(site.to)
        kind = dialed_for(target)
        return (kind if kind != DialedKind.UNKNOWN else DialedKind.NUMBER.value), target
    if not site.nouns:
        return DialedKind.UNKNOWN.value, None
    nouns = sorted(site.nouns, key=lambda n: _NOUN_ORDER.get(n[0], 1))  # a Number decides
    noun, arg = nouns[0]
    target = resolver.value(arg) if noun == DialedKind.NUMBER and arg is not None else None
    return noun, target


def read(
    reader_class: type[Reader],
    data: bytes,
    project: Project | None = None,
    *,
    missing_env_is_empty: bool = False,
) -> tuple[list[Found], list[TwimlString], bool]:
    """(sites judged, TwiML-bearing strings, parsed) for one file.

    Each string is (line, is a plain literal, its text): a literal's value as the
    program sees it, else the source text of the concatenation or template.
    """
    data = reader_class.prepare(data)
    tree = parse(reader_class.grammar, data)
    if tree is None:
        return [], [], False
    reader = reader_class(tree.root_node, data, project or NoProject())
    reader.resolver.missing_env_is_empty = missing_env_is_empty
    mentions = any(word.encode() in data for word in reader.twilio_words)
    if not mentions and _OTHER_VENDOR.search(data):
        return [], [], True  # `nexmo.calls.create`, Telnyx, Plivo: another provider's caller ID
    found: list[Found] = []
    for count, site in enumerate(reader.sites()):
        if count >= MAX_SITES:
            break
        if site.value is None and not mentions:
            continue
        if isinstance(site.value, ir.Obj):
            continue  # from: { type: 'phone', number } is not Twilio's shape
        judged = judge(site, reader.resolver)
        if judged is not None:
            found.append(judged)
    has_tag = b"<Dial" in data or b"<dial" in data or b"<DIAL" in data
    strings = list(reader.twiml_strings()) if has_tag else []
    return found, strings, True


@dataclass
class TwimlString:
    """A string in code that holds TwiML: its line, and its text as the program builds it."""

    line: int
    literal: bool  # a plain literal: `text` is its value; else the source of the expression
    text: str
    holes: dict[str, Value] = field(default_factory=dict)  # `${expr}` source → its value
    sets_callerid: frozenset[str] = frozenset()  # holes whose text may be a callerId="…" attribute

    def callerid_hole(self, attributes: str) -> str | None:
        """The hole in a tag's attributes that may write its callerId (`<Dial${attrs}>`)."""
        squeezed = re.sub(r"\s+", "", attributes)
        return next((h for h in sorted(self.sets_callerid) if h in squeezed), None)

    def hole(self, written: str) -> Value | None:
        """The value of an attribute written as one hole (`${context.X}`, `{cid}`, `" + x + "`)."""
        inner = re.sub(r"\s+", "", written)
        inner = re.sub(r"^<\?(?:php)?(?:echo|print|=)?(.*?);?\?>$", r"\1", inner)  # <?= $x ?>
        inner = re.sub(r"^(?:\$\{|#\{|\{\$|\{)(.*)\}$", r"\1", inner)
        inner = re.sub(r"^[\"'`]?[+.](.*?)[+.][\"'`]?$", r"\1", inner)
        value = self.holes.get(inner) or self.holes.get(inner.lstrip("$"))
        if value is None or value.source == ValueSource.RUNTIME:
            return None  # known only at run time: the attribute as written says more
        return value


def _holes(expr: ir.Expr) -> Iterator[ir.Expr]:
    if isinstance(expr, ir.Concat):
        for part in expr.parts:
            if not isinstance(part, ir.Lit):
                yield part
