"""Python (twilio-python 5–9, and the Python 2 code real repositories still hold).

Dial: `Dial(caller_id=…)`, `response.dial(number, caller_id=…)`; the helper
library also emits camelCase keywords as written (`callerId=`), as old
`twiml.Response().dial(callerId=…)` code does. Children: `dial.number(…)`,
`with response.dial() as d: d.client(…)`. Calls: `client.calls.create(to=…,
from_=…)` or positional `create(to, from_, …)`; participants: `create(from_,
to, …)`. Values: `os.environ[…]`, `os.getenv`, `os.environ.get`, decouple's
`config(…)`; the request as `request.values['From']`, `request.form.get('From')`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import partial

from auditor.extract.syntax import ir
from auditor.extract.syntax.base import NOUNS, Reader, Site, scope_of
from auditor.extract.syntax.tree import Node, ancestors, captures, field, named, text
from auditor.model import Via

CALLS = """
(call
  function: [
    (attribute object: (_) @receiver attribute: (identifier) @method)
    (identifier) @method
  ]
  (#any-of? @method "dial" "Dial" "create")
  arguments: (argument_list) @args) @call
"""
NOUN_CALLS = """
(call
  function: (attribute
    object: (identifier) @receiver
    attribute: (identifier) @noun
    (#any-of? @noun "number" "client" "sip" "queue" "conference"))
  arguments: (argument_list) @args) @call
"""
BINDINGS = """
(assignment left: (_) @name right: (_) @value) @bind
(augmented_assignment left: (_) @name right: (_) @value) @bind
(parameters) @params
(lambda_parameters) @params
(import_from_statement) @import
(import_statement) @import
"""
STRINGS = """
(string) @string
(concatenated_string) @string
"""
CALLER_ID = ("caller_id", "callerId", "callerid")
_FORM_FIELDS = frozenset({"Form", "Query", "Body", "fastapi.Form", "fastapi.Query"})
_SCOPES = frozenset({"function_definition", "lambda"})
_WRAPPERS = frozenset({"str", "unicode", "PhoneNumber", "format_number"})
_CONVERSIONS = frozenset({"strip", "lower", "upper", "encode", "decode"})
_ENV_CALLS = frozenset(
    {
        "os.getenv",
        "getenv",
        "os.environ.get",
        "environ.get",
        "config",
        "env",
        "env.str",
        "decouple.config",
    }
)


class Python(Reader):
    name = "python"
    grammar = "python"
    hints = ("dial", "Dial", "calls", "articipants")

    def sites(self) -> Iterator[Site]:
        for call in captures(self.grammar, CALLS, self.root).get("call", []):
            function = field(call, "function")
            args = field(call, "arguments")
            if function is None or args is None:
                continue
            if function.type == "identifier":
                if text(function) == "Dial":
                    yield self._dial(call, args)
                continue
            method = text(field(function, "attribute"))
            receiver = field(function, "object")
            if method in ("dial", "Dial"):
                yield self._dial(call, args)
            elif receiver is not None and receiver.type == "attribute":
                collection = text(field(receiver, "attribute"))
                if collection == "calls":
                    yield from self._rest(call, args, Via.CALLS_API.value, ("to", "from_"))
                elif collection == "participants" and "conferences" in text(receiver):
                    yield from self._rest(
                        call, args, Via.CONFERENCE_PARTICIPANT.value, ("from_", "to")
                    )

    def _args(self, args: Node) -> tuple[list[Node], dict[str, Node], bool]:
        positional: list[Node] = []
        keywords: dict[str, Node] = {}
        splat = False
        for arg in named(args):
            if arg.type == "keyword_argument":
                name = field(arg, "name")
                if name is not None:
                    keywords[text(name)] = arg
            elif arg.type in ("dictionary_splat", "list_splat"):
                splat = True
            else:
                positional.append(arg)
        return positional, keywords, splat

    def _rest(self, call: Node, args: Node, via: str, order: tuple[str, str]) -> Iterator[Site]:
        positional, keywords, splat = self._args(args)
        slots: dict[str, tuple[Node, Node]] = {}
        for index, name in enumerate(order):
            if name in keywords:
                value = field(keywords[name], "value")
                if value is not None:
                    slots[name] = (keywords[name], value)
            elif index < len(positional):
                slots[name] = (positional[index], positional[index])
        if "from_" not in slots and splat:  # create(**params): params built before
            for arg in named(args):
                inner = named(arg)
                if arg.type != "dictionary_splat" or not inner:
                    continue
                options = self.expr(inner[0])
                entry, _, _ = self.option(options, ("from_", "from"), call)
                to_entry, _, _ = self.option(options, ("to",), call)
                if entry is not None:
                    to_value = to_entry.value if to_entry else None
                    yield Site(via, call, entry.value, entry.key_node, to=to_value)
            return
        to = self.expr(slots["to"][1]) if "to" in slots else None
        if "from_" in slots:
            where, value = slots["from_"]
            yield Site(via, call, self.expr(value), where, to=to)
        elif "to" in slots and not splat:
            yield Site(via, call, None, to=to, opaque=True)

    def _dial(self, call: Node, args: Node) -> Site:
        positional, keywords, splat = self._args(args)
        key = next((k for k in CALLER_ID if k in keywords), None)
        value = field(keywords[key], "value") if key else None
        if value is not None and value.type == "none":
            # twilio-python drops an attribute whose value is None: `Dial(caller_id=None)`
            # sends no callerId at all (Twilio shows the caller's number), not an empty one.
            key, value = None, None
        number = field(keywords["number"], "value") if "number" in keywords else None
        if number is None and positional:
            number = positional[0]
        return Site(
            Via.DIAL.value,
            call,
            self.expr(value) if value is not None else None,
            keywords[key] if key else None,
            to=self.expr(number) if number is not None else None,
            nouns=self._nouns(call),
            opaque=splat,
        )

    def _nouns(self, dial: Node) -> list[tuple[str, ir.Expr | None]]:
        nouns: list[tuple[str, ir.Expr | None]] = []
        node = dial
        while node.parent is not None and node.parent.type == "attribute":
            outer = node.parent.parent
            if outer is None or outer.type != "call":
                break
            prop = text(field(node.parent, "attribute"))
            if prop in NOUNS:
                nouns.append((prop, self._first(outer)))
            node = outer
        name = _bound_name(dial)
        if name:
            receiver = lambda c: field(field(c, "function"), "object")  # noqa: E731
            for call in self.calls_on(NOUN_CALLS, receiver, name, dial):
                noun = text(field(field(call, "function"), "attribute"))
                nouns.append((noun, self._first(call)))
        return nouns

    def _first(self, call: Node) -> ir.Expr | None:
        args = field(call, "arguments")
        values = [a for a in named(args) if a.type != "keyword_argument"] if args else []
        return self.expr(values[0]) if values else None

    string_query = STRINGS
    concat_types = frozenset(("binary_operator", "parenthesized_expression", "concatenated_string"))

    def in_assertion(self, node: Node) -> bool:
        return _in_assertion(node) or _docstring(node)

    # ------------------------------------------------------------ expressions

    def expr(self, node: Node) -> ir.Expr:
        kind = node.type
        if kind == "string":
            return self._string(node)
        if kind == "concatenated_string":
            parts = tuple(self._string(s) for s in named(node) if s.type == "string")
            return ir.Concat(node, parts)
        if kind == "integer":
            return ir.Lit(node, text(node).rstrip("lL"))
        if kind == "none":
            return ir.Null(node)
        if kind == "identifier":
            return ir.Ref(node, text(node))
        if kind == "attribute":
            obj, attr = field(node, "object"), field(node, "attribute")
            if obj is None or attr is None:
                return ir.Opaque(node)
            if obj.type == "identifier" and text(obj) == "self":
                return ir.Ref(node, f"self.{text(attr)}")
            return ir.Member(node, self.expr(obj), text(attr))
        if kind == "subscript":
            obj, key = field(node, "value"), field(node, "subscript")
            literal = self._key(key)
            if obj is None or literal is None:
                return ir.Opaque(node)
            if text(obj) in ("os.environ", "environ"):
                return ir.Env(node, literal)
            return ir.Member(node, self.expr(obj), literal)
        if kind == "call":
            return self._call(node)
        if kind == "binary_operator":
            op = text(field(node, "operator"))
            left, right = field(node, "left"), field(node, "right")
            if op == "+" and left is not None and right is not None:
                return self.joined(node, left, right)
            if op == "%":
                return ir.Concat(node, (ir.Opaque(node),), template=True)
            return ir.Opaque(node)
        if kind == "boolean_operator":
            op = text(field(node, "operator"))
            left, right = field(node, "left"), field(node, "right")
            if op == "or" and left is not None and right is not None:
                return ir.Either(node, self.expr(left), self.expr(right))
            return ir.Opaque(node)
        if kind == "conditional_expression":
            branches = named(node)
            if len(branches) == 3:
                return ir.Choice(node, (self.expr(branches[0]), self.expr(branches[2])))
            return ir.Opaque(node)
        if kind == "parenthesized_expression":
            inner = named(node)
            return self.expr(inner[0]) if inner else ir.Opaque(node)
        if kind == "dictionary":
            entries: dict[str, ir.Entry] = {}
            opaque = False
            for pair in named(node):
                if pair.type == "dictionary_splat":
                    opaque = True
                    continue
                name = self._key(field(pair, "key"))
                value = field(pair, "value")
                if name is not None and value is not None:
                    entries[name] = ir.Entry(pair, self.expr(value))
            return ir.Obj(node, entries, opaque)
        return ir.Opaque(node)

    def _key(self, node: Node | None) -> str | None:
        if node is None or node.type != "string":
            return None
        key = self._string(node)
        return key.value if isinstance(key, ir.Lit) else None

    def _string(self, node: Node) -> ir.Expr:
        parts: list[ir.Expr] = []
        holes = False
        prefix = text(node.child(0)).lower() if node.child_count else ""
        raw = "r" in prefix
        for child in node.named_children:
            if child.type == "string_content":
                body = text(child)
                parts.append(ir.Lit(child, body if raw else _unescape(body)))
            elif child.type == "escape_sequence":
                parts.append(ir.Lit(child, _unescape(text(child))))
            elif child.type == "interpolation":
                holes = True
                inner = field(child, "expression")
                parts.append(self.expr(inner) if inner is not None else ir.Opaque(child))
        if holes:
            return ir.Concat(node, tuple(parts), template=True)
        return ir.Lit(node, "".join(p.value for p in parts if isinstance(p, ir.Lit)))

    def _call(self, node: Node) -> ir.Expr:
        function, args = field(node, "function"), field(node, "arguments")
        if function is None or args is None:
            return ir.Opaque(node)
        callee = text(function)
        positional = [a for a in named(args) if a.type != "keyword_argument"]
        keywords = {
            text(field(a, "name")): field(a, "value")
            for a in named(args)
            if a.type == "keyword_argument"
        }
        first = self._key(positional[0]) if positional else None
        if callee in _ENV_CALLS and first is not None:
            fallback = positional[1] if len(positional) > 1 else keywords.get("default")
            default = self.expr(fallback) if fallback is not None else None
            return ir.Env(node, first, default)
        if callee.rsplit(".", 1)[-1] in _WRAPPERS and positional:
            return self.expr(positional[0])
        if function.type == "attribute":
            method = text(field(function, "attribute"))
            obj = field(function, "object")
            if obj is None:
                return ir.Opaque(node)
            if method in _CONVERSIONS:
                return self.expr(obj)
            if method == "get" and first is not None:
                fallback = positional[1] if len(positional) > 1 else None
                got = ir.Member(node, self.expr(obj), first)
                return ir.Either(node, got, self.expr(fallback)) if fallback else got
            if method == "format":
                return ir.Concat(node, (ir.Opaque(node),), template=True)
        return ir.Opaque(node, "call")

    # --------------------------------------------------------------- bindings

    def bindings(self) -> Iterable[ir.Binding]:
        found = captures(self.grammar, BINDINGS, self.root)
        end = self.root.end_byte + 1
        for bind in found.get("bind", []):
            left, right = field(bind, "left"), field(bind, "right")
            if left is None or right is None:
                continue
            start, stop = scope_of(bind, _SCOPES, end)
            label = _target(left)
            if label is not None and label.startswith("self."):
                start, stop = 0, end  # set in __init__, read by every method
            if label is not None:
                key_node = left if "." in label else None
                yield ir.Binding(
                    label, bind.start_byte, start, stop, partial(self.expr, right), key_node
                )
            elif left.type == "subscript":  # opts['caller_id'] = x, app.config['X'] = y
                obj, key = field(left, "value"), self._key(field(left, "subscript"))
                if obj is not None and key is not None:
                    yield ir.Binding(
                        f"{text(obj)}.{key}",
                        bind.start_byte,
                        start,
                        stop,
                        partial(self.expr, right),
                        left,
                    )
        for params in found.get("params", []):
            owner = params.parent or params
            for param in _params(params):
                value: Callable[[], ir.Expr] = partial(ir.Opaque, param, "parameter")
                default = field(param.parent, "value") if param.parent is not None else None
                if default is not None and text(field(default, "function")) in _FORM_FIELDS:
                    value = partial(ir.Request, param, text(param))  # From: str = Form(...)
                yield ir.Binding(
                    text(param), param.start_byte, owner.start_byte, owner.end_byte, value
                )
        for statement in found.get("import", []):
            yield from _imports(statement, end)
        for item in captures(self.grammar, "(with_item value: (as_pattern) @as)", self.root).get(
            "as", []
        ):
            parts = named(item)
            alias = field(item, "alias")
            if parts and alias is not None:
                start, stop = scope_of(item, _SCOPES, end)
                yield ir.Binding(
                    text(alias),
                    item.start_byte,
                    start,
                    stop,
                    partial(self.expr, parts[0]),
                )


def _unescape(body: str) -> str:
    if "\\" not in body:
        return body
    out = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append({"n": "\n", "t": "\t", "r": "\r"}.get(nxt, nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _target(left: Node) -> str | None:
    if left.type == "identifier":
        return text(left)
    if left.type == "attribute":
        label = text(left)
        return label if "\n" not in label and "(" not in label else None
    return None


def _bound_name(call: Node) -> str | None:
    parent = call.parent
    if parent is None:
        return None
    if parent.type == "assignment":
        left = field(parent, "left")
        return text(left) if left is not None and left.type == "identifier" else None
    if parent.type == "as_pattern":
        alias = field(parent, "alias")
        return text(alias) if alias is not None else None
    return None


def _params(params: Node) -> Iterator[Node]:
    for param in named(params):
        if param.type == "identifier":
            yield param
        elif param.type in ("default_parameter", "typed_default_parameter"):
            name = field(param, "name")
            if name is not None:
                yield name
        elif param.type == "typed_parameter":
            ident = next((c for c in named(param) if c.type == "identifier"), None)
            if ident is not None:
                yield ident


def _imports(statement: Node, end: int) -> Iterator[ir.Binding]:
    pos = statement.start_byte
    if statement.type == "import_from_statement":
        module = field(statement, "module_name")
        if module is None:
            return
        spec = text(module)
        for name in statement.children_by_field_name("name"):
            if name.type == "aliased_import":
                real, alias = field(name, "name"), field(name, "alias")
                if real is None or alias is None:
                    continue
                member, label = text(real), text(alias)
            else:
                member = label = text(name)
            yield ir.Binding(label, pos, 0, end, partial(ir.Module, statement, spec, member))
    else:
        for name in statement.children_by_field_name("name"):
            if name.type == "dotted_name":
                spec = text(name)
                yield ir.Binding(spec, pos, 0, end, partial(ir.Module, statement, spec))
            elif name.type == "aliased_import":
                real, alias = field(name, "name"), field(name, "alias")
                if real is not None and alias is not None:
                    spec = text(real)
                    yield ir.Binding(text(alias), pos, 0, end, partial(ir.Module, statement, spec))


def _docstring(node: Node) -> bool:
    parent = node.parent
    return (
        parent is not None and parent.type == "expression_statement" and (len(named(parent)) == 1)
    )


def _in_assertion(node: Node) -> bool:
    for parent in ancestors(node):
        if parent.type == "assert_statement":
            return True
        if parent.type == "call":
            callee = text(field(parent, "function")).rsplit(".", 1)[-1]
            if callee.startswith(("assert", "expect")):
                return True
        if parent.type == "assignment":
            return text(field(parent, "left")).lower().startswith("expect")
        if parent.type in _SCOPES:
            return False
    return False


__all__ = ["Python"]
