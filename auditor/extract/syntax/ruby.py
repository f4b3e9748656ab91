"""Ruby (twilio-ruby 5+ and the twilio-ruby 4 `Twilio::TwiML::Response` builder).

Dial: `r.dial(caller_id: …) { |d| d.number … }`, without parentheses
`r.dial caller_id: x do |d| … end`, and twilio-ruby 4's `r.Dial callerId: x`
with capitalised nouns (`d.Number`). Calls: `client.calls.create(from:, to:)`,
`client.account.calls.create(:from => …)`; participants likewise. Values:
`ENV['X']`, `ENV.fetch('X', default)`; the request as `params[:From]`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import partial

from auditor.extract.syntax import ir
from auditor.extract.syntax.base import NOUNS, Reader, Site, scope_of
from auditor.extract.syntax.tree import Node, ancestors, captures, field, named, text
from auditor.model import Via

CALLS = """
(call
  method: [(identifier) (constant)] @method
  (#any-of? @method "dial" "Dial" "create" "new")) @call
"""
BINDINGS = """
(assignment left: (_) @name right: (_) @value) @bind
(operator_assignment left: (_) @name right: (_) @value) @bind
(method_parameters) @params
(block_parameters) @params
(lambda_parameters) @params
"""
STRINGS = """
(string) @string
(heredoc_body) @string
"""
CALLER_ID = ("caller_id", "callerId")
_BEGIN = re.compile(rb"^=begin\b", re.M)
_END = re.compile(rb"^=end\b", re.M)
_SCOPES = frozenset({"method", "singleton_method", "block", "do_block", "lambda"})
_METHODS = frozenset({"method", "singleton_method", "lambda"})
_CONVERSIONS = frozenset({"freeze", "to_s", "strip", "chomp", "to_str", "dup"})
_CONFIG_ROOTS = (
    "Rails.application.secrets",
    "Rails.application.credentials",
    "Rails.configuration",
    "Rails.application.config",
    "Settings",
    "Figaro.env",
)


class Ruby(Reader):
    name = "ruby"
    grammar = "ruby"
    hints = ("dial", "Dial", "calls", "articipants")

    @classmethod
    def prepare(cls, data: bytes) -> bytes:
        """An `=begin` never closed by `=end` comments out the rest of the file."""
        for begin in _BEGIN.finditer(data):
            if not _END.search(data, begin.end()):
                tail = re.sub(rb"[^\n]", b" ", data[begin.start() :])
                return data[: begin.start()] + tail
        return data

    def sites(self) -> Iterator[Site]:
        for call in captures(self.grammar, CALLS, self.root).get("call", []):
            method = text(field(call, "method"))
            receiver = field(call, "receiver")
            if method in ("dial", "Dial"):
                if receiver is not None:
                    yield self._dial(call)
                continue
            if receiver is None:
                continue
            if method == "new":
                if text(receiver).endswith("TwiML::Dial"):
                    yield self._dial(call)
                continue
            collection = text(field(receiver, "method")) if receiver.type == "call" else ""
            if collection == "calls":
                yield from self._rest(call, Via.CALLS_API.value)
            elif collection == "participants" and "conferences" in text(receiver):
                yield from self._rest(call, Via.CONFERENCE_PARTICIPANT.value)

    def _arguments(self, call: Node) -> tuple[list[Node], dict[str, Node], bool]:
        args = field(call, "arguments")
        positional: list[Node] = []
        keywords: dict[str, Node] = {}
        splat = False
        for arg in named(args) if args is not None else []:
            pairs = named(arg) if arg.type == "hash" else [arg]
            for item in pairs:
                if item.type == "pair":
                    key = _key(field(item, "key"))
                    if key is not None:
                        keywords[key] = item
                elif item.type in ("hash_splat_argument", "splat_argument"):
                    splat = True
                elif item.type != "block_argument":
                    positional.append(item)
        return positional, keywords, splat

    def _rest(self, call: Node, via: str) -> Iterator[Site]:
        positional, keywords, splat = self._arguments(call)
        options = keywords
        if not keywords and len(positional) == 1:  # client.calls.create(params)
            entry_from, is_options, _ = self.option(self.expr(positional[0]), ("from",), call)
            entry_to, _, _ = self.option(self.expr(positional[0]), ("to",), call)
            if is_options and entry_from is not None:
                to = entry_to.value if entry_to else None
                yield Site(via, call, entry_from.value, entry_from.key_node, to=to)
            return
        to_value = field(options.get("to"), "value")
        to = self.expr(to_value) if to_value is not None else None
        pair = options.get("from")
        value = field(pair, "value") if pair is not None else None
        if pair is not None and value is not None:
            yield Site(via, call, self.expr(value), pair, to=to)
        elif to is not None and not splat:
            yield Site(via, call, None, to=to, opaque=True)

    def _dial(self, call: Node) -> Site:
        positional, keywords, splat = self._arguments(call)
        key = next((k for k in CALLER_ID if k in keywords), None)
        pair = keywords.get(key) if key else None
        value = field(pair, "value") if pair is not None else None
        number_pair = keywords.get("number")
        number = field(number_pair, "value") if number_pair is not None else None
        if number is None and positional:
            number = positional[0]
        opaque = splat
        if number is not None and number.type in ("identifier", "instance_variable"):
            target = self.resolver.obj(self.expr(number))
            if isinstance(target, ir.Obj):  # r.dial(opts)
                entry, _, spread = self.option(self.expr(number), CALLER_ID, call)
                opaque = opaque or spread
                if entry is not None:
                    value, pair = None, entry.key_node
                    return Site(
                        Via.DIAL.value,
                        call,
                        entry.value,
                        entry.key_node,
                        nouns=self._nouns(call),
                        opaque=opaque,
                    )
                number = None
            elif "opt" in text(number).lower() or "param" in text(number).lower():
                opaque = True
                number = None
        return Site(
            Via.DIAL.value,
            call,
            self.expr(value) if value is not None else None,
            pair,
            to=self.expr(number) if number is not None else None,
            nouns=self._nouns(call),
            opaque=opaque,
        )

    def _nouns(self, dial: Node) -> list[tuple[str, ir.Expr | None]]:
        nouns: list[tuple[str, ir.Expr | None]] = []
        block = field(dial, "block")
        if block is None:
            return nouns
        params = field(block, "parameters")
        param = text(named(params)[0]) if params is not None and named(params) else None
        for call in captures(self.grammar, "(call method: (_) @m) @call", block).get("call", []):
            noun = text(field(call, "method")).lower()
            receiver = field(call, "receiver")
            if noun not in NOUNS:
                continue
            if receiver is not None and param is not None and text(receiver) != param:
                continue
            positional, _, _ = self._arguments(call)
            nouns.append((noun, self.expr(positional[0]) if positional else None))
        return nouns

    string_query = STRINGS
    concat_types = frozenset(())

    def in_assertion(self, node: Node) -> bool:
        return _in_assertion(node)

    # ------------------------------------------------------------ expressions

    def expr(self, node: Node) -> ir.Expr:
        kind = node.type
        if kind == "string":
            return self._string(node)
        if kind in ("simple_symbol", "hash_key_symbol"):
            return ir.Lit(node, text(node).lstrip(":"))
        if kind == "integer":
            return ir.Lit(node, text(node).replace("_", ""))
        if kind == "nil":
            return ir.Null(node)
        if kind in (
            "identifier",
            "constant",
            "instance_variable",
            "class_variable",
            "global_variable",
        ):
            return ir.Ref(node, text(node))
        if kind == "scope_resolution":
            name = field(node, "name")
            return ir.Ref(node, text(name)) if name is not None else ir.Opaque(node)
        if kind == "element_reference":
            obj = field(node, "object")
            parts = [c for c in named(node) if c != obj]
            key = _key(parts[0]) if len(parts) == 1 else None
            if obj is None or key is None:
                return ir.Opaque(node)
            if text(obj) == "ENV":
                return ir.Env(node, key)
            return ir.Member(node, self.expr(obj), key)
        if kind == "call":
            return self._call(node)
        if kind == "binary":
            op = text(field(node, "operator"))
            left, right = field(node, "left"), field(node, "right")
            if left is None or right is None:
                return ir.Opaque(node)
            if op in ("||", "or"):
                return ir.Either(node, self.expr(left), self.expr(right))
            if op == "+":
                return self.joined(node, left, right)
            return ir.Opaque(node)
        if kind == "conditional":
            options = [field(node, "consequence"), field(node, "alternative")]
            return ir.Choice(node, tuple(self.expr(o) for o in options if o is not None))
        if kind in ("parenthesized_statements", "begin"):
            inner = named(node)
            return self.expr(inner[-1]) if inner else ir.Opaque(node)
        if kind == "hash":
            entries: dict[str, ir.Entry] = {}
            opaque = False
            for pair in named(node):
                if pair.type != "pair":
                    opaque = True
                    continue
                key, value = _key(field(pair, "key")), field(pair, "value")
                if key is not None and value is not None:
                    entries[key] = ir.Entry(pair, self.expr(value))
            return ir.Obj(node, entries, opaque)
        return ir.Opaque(node)

    def _string(self, node: Node) -> ir.Expr:
        parts: list[ir.Expr] = []
        holes = False
        for child in named(node):
            if child.type == "string_content":
                parts.append(ir.Lit(child, text(child)))
            elif child.type == "escape_sequence":
                parts.append(ir.Lit(child, text(child)[1:]))
            elif child.type == "interpolation":
                holes = True
                inner = named(child)
                parts.append(self.expr(inner[0]) if inner else ir.Opaque(child))
        if holes:
            return ir.Concat(node, tuple(parts), template=True)
        return ir.Lit(node, "".join(p.value for p in parts if isinstance(p, ir.Lit)))

    def _call(self, node: Node) -> ir.Expr:
        receiver, method = field(node, "receiver"), text(field(node, "method"))
        args = field(node, "arguments")
        values = [a for a in named(args)] if args is not None else []
        if receiver is None:
            return ir.Opaque(node, "call")
        holder = text(receiver)
        if holder == "ENV" and method == "fetch" and values:
            key = _key(values[0])
            if key is not None:
                default = self.expr(values[1]) if len(values) > 1 else None
                return ir.Env(node, key, default)
        if method in _CONVERSIONS and not values:
            return self.expr(receiver)
        if holder.startswith(_CONFIG_ROOTS) or text(node).startswith(_CONFIG_ROOTS):
            whole = text(node)
            key = whole.rsplit(".", 1)[-1] if not values and whole not in _CONFIG_ROOTS else ""
            return ir.Config(node, key)
        if not values and args is None:  # obj.attr
            return ir.Member(node, self.expr(receiver), method)
        return ir.Opaque(node, "call")

    # --------------------------------------------------------------- bindings

    def bindings(self) -> Iterable[ir.Binding]:
        found = captures(self.grammar, BINDINGS, self.root)
        end = self.root.end_byte + 1
        for bind in found.get("bind", []):
            left, right = field(bind, "left"), field(bind, "right")
            if left is None or right is None:
                continue
            start, stop = _scope(bind, end)
            pos = bind.start_byte
            value = right
            if bind.type == "operator_assignment":  # x ||= y
                yield ir.Binding(text(left), pos, start, stop, partial(self.expr, value))
                continue
            if left.type in ("identifier", "constant"):
                yield ir.Binding(text(left), pos, start, stop, partial(self.expr, value))
            elif left.type in ("instance_variable", "class_variable", "global_variable"):
                yield ir.Binding(text(left), pos, 0, end, partial(self.expr, value))
            elif left.type == "element_reference":  # opts[:caller_id] = x
                obj = field(left, "object")
                parts = [c for c in named(left) if c != obj]
                key = _key(parts[0]) if len(parts) == 1 else None
                if obj is not None and key is not None:
                    yield ir.Binding(
                        f"{text(obj)}.{key}",
                        pos,
                        start,
                        stop,
                        partial(self.expr, value),
                        left,
                    )
        for params in found.get("params", []):
            owner = params.parent or params
            for param in named(params):
                name = param if param.type == "identifier" else field(param, "name")
                if name is not None:
                    yield ir.Binding(
                        text(name),
                        param.start_byte,
                        owner.start_byte,
                        owner.end_byte,
                        partial(ir.Opaque, name, "parameter"),
                    )


def _key(node: Node | None) -> str | None:
    if node is None:
        return None
    if node.type in ("hash_key_symbol", "simple_symbol", "identifier", "constant"):
        return text(node).lstrip(":")
    if node.type == "string":
        parts = named(node)
        if all(p.type == "string_content" for p in parts):
            return "".join(text(p) for p in parts)
    if node.type == "delimited_symbol":
        return text(node)[2:-1]
    return None


def _in_assertion(node: Node) -> bool:
    for parent in ancestors(node):
        if parent.type == "call":
            method = text(field(parent, "method"))
            if method in ("expect", "eq", "include", "match", "to") or method.startswith("assert"):
                return True
        if parent.type in _SCOPES:
            return False
    return False


def _scope(node: Node, end: int) -> tuple[int, int]:
    """Ruby: a block sees the method's variables, so only methods and lambdas are scopes."""
    return scope_of(node, _METHODS, end)
