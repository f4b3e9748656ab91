"""JavaScript and TypeScript (twilio-node, Twilio Functions).

Dial: `twiml.dial({ callerId }, number)` / `.dial(number, opts)`, children
`.number()`, `.client()`, … chained or on the variable the Dial is bound to.
Calls: `client.calls.create({ to, from })` (any receiver chain, `client.api.
accounts(sid).calls`), twilio-node 1.x `client.makeCall({...})`; participants:
`conferences(sid).participants.create({ from, to })`. A function that only hands
its options on (`const createCall = (p) => client.calls.create(p)`, here or in a module
the file imports) is read at its callers: `createCall({ to, from })`. Values: `process.env.X`,
a Function's `context.X`, the request as `event.From` or `req.body.From`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from functools import partial
from typing import ClassVar

from auditor.extract.syntax import ir
from auditor.extract.syntax.base import NOUNS, Reader, Site, lexical_scope, scope_of
from auditor.extract.syntax.resolve import Foreign, Project
from auditor.extract.syntax.tree import Node, ancestors, captures, field, named, text
from auditor.model import Via

CALLS = """
(call_expression
  function: (member_expression
    object: (_) @receiver
    property: (property_identifier) @method
    (#any-of? @method "dial" "create" "makeCall"))
  arguments: (arguments) @args) @call
(call_expression
  function: (identifier) @function
  (#eq? @function "dial")
  arguments: (arguments) @args) @bare_dial
"""
# Calls of a function by name (`createCall({...})`, `calls.createCall({...})`): read when
# the name is bound to a function that hands the options on to a Calls create.
INVOKES = """
(call_expression
  function: [(identifier) (member_expression object: (identifier))] @callee
  arguments: (arguments) @args) @call
"""
NOUN_CALLS = """
(call_expression
  function: (member_expression
    object: (identifier) @receiver
    property: (property_identifier) @noun
    (#any-of? @noun "number" "client" "sip" "queue" "conference"))
  arguments: (arguments) @args) @call
"""
BINDINGS = """
(variable_declarator name: (_) @name value: (_) @value) @bind
(assignment_expression left: (_) @name right: (_) @value) @bind
(formal_parameters) @params
(import_statement) @import
(export_statement value: (_) @value) @default_export
(function_declaration name: (identifier) @name) @function
"""
DECLARATIONS = """
(variable_declarator name: (identifier) @name) @declaration
"""
CLASS_FIELDS = {  # class fields: `callerId = '+1…'` in a class body
    "javascript": "(field_definition property: (_) @name value: (_) @value) @bind",
    "typescript": "(public_field_definition name: (_) @name value: (_) @value) @bind",
}
STRINGS = """
(string) @string
(template_string) @string
"""
_SCOPES = frozenset(
    {
        "function_declaration",
        "function_expression",
        "arrow_function",
        "method_definition",
        "generator_function_declaration",
        "function",
        "generator_function",
    }
)
_WRAPPERS = frozenset({"String", "Number", "decodeURIComponent", "encodeURI", "PhoneNumber"})
_CONVERSIONS = frozenset({"toString", "trim", "valueOf", "toUpperCase", "toLowerCase"})
_GETTERS = frozenset({"get", "param", "input"})
_OPTION_NAMES = re.compile(r"opt|param|attr|arg|config|setting|prop", re.I)
_FLEX_TOKEN = re.compile(rb"twilio-flex-token-validator|\bTokenValidator\s*\(")
_ESCAPE = re.compile(r"\\(.)", re.S)
# A module of the project imported (`from './calls'`, `require('../lib/calls')`): it may
# export a function that hands its options on to a Calls create.
_RELATIVE_IMPORT = re.compile(rb"""(?:from|require\()\s*['"]\.""")
CALLER_ID = ("callerId",)


def _unescape(body: str) -> str:
    return _ESCAPE.sub(lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


class JavaScript(Reader):
    name = "js"
    grammar = "javascript"
    hints = ("dial", "calls", "makeCall", "articipants", "Dial", "Call(")

    def __init__(self, root: Node, data: bytes, project: Project) -> None:
        super().__init__(root, data, project)
        # A Function wrapped in twilio-flex-token-validator is called by the Flex UI, not by
        # Twilio: `event.From` is what the plugin sends (an agent's caller ID), not pass-through.
        self.resolver.request_is_webhook = _FLEX_TOKEN.search(data) is None

    def sites(self) -> Iterator[Site]:
        found = captures(self.grammar, CALLS, self.root)
        hands_on = False  # a create(options) on a bare name: maybe a function handing it on
        for call in found.get("call", []):
            function = field(call, "function")
            method = text(field(function, "property")) if function is not None else ""
            args = field(call, "arguments")
            if args is None:
                continue
            site: Site | None = None
            if method == "dial":
                site = self._dial(call, args)
            else:
                via = _rest_via(call)
                values = named(args)
                if via is not None and values:
                    site = self._rest(call, values[0], via)
                    hands_on = hands_on or values[0].type == "identifier"
            if site is not None:
                yield site
        if hands_on or _RELATIVE_IMPORT.search(self.data):
            yield from self._forwarded()
        for call in found.get("bare_dial", []):  # dial({ callerId }): a helper's own dial
            args = field(call, "arguments")
            site = self._dial(call, args) if args is not None else None
            if site is not None and site.value is not None:
                yield site

    def _rest(self, call: Node, options: Node, via: str) -> Site | None:
        entry_from, is_options, opaque = self.option(self.expr(options), ("from",), call)
        entry_to, _, _ = self.option(self.expr(options), ("to",), call)
        if not is_options:
            return None
        to = entry_to.value if entry_to else None
        if entry_from is None:
            return None if opaque else Site(via, call, None, to=to, opaque=True)
        return Site(via, call, entry_from.value, entry_from.key_node, to=to)

    def _forwarded(self) -> Iterator[Site]:
        """Calls of a function that hands its options on to a Calls create (see INVOKES)."""
        for call in captures(self.grammar, INVOKES, self.root).get("call", []):
            callee, args = field(call, "function"), field(call, "arguments")
            if callee is None or args is None:
                continue
            root = callee if callee.type == "identifier" else field(callee, "object")
            if not self.resolver.bindings(text(root)):
                continue  # a global or a built-in
            target = self.resolver.obj(self.expr(callee))
            if isinstance(target, Foreign):  # exported by a module the file imports
                target = target.resolver.obj(target.inner)
            values = named(args)
            if isinstance(target, ir.Forwards) and target.index < len(values):
                site = self._rest(call, values[target.index], target.via)
                if site is not None:
                    yield site

    def _function(self, node: Node) -> ir.Expr:
        """A function as a value: `Forwards` when it passes a parameter straight to a Calls
        create (`(params) => rest.calls.create(params)`), else known only at run time."""
        cache: dict[int, ir.Expr] = self.__dict__.setdefault("_functions", {})
        if node.id in cache:
            return cache[node.id]
        result: ir.Expr = ir.Opaque(node, "function")
        params = field(node, "parameters")
        names = [text(p) for p in _param_names(params)] if params is not None else []
        single = field(node, "parameter")  # x => …
        if single is not None and single.type == "identifier":
            names = [text(single)]
        body = field(node, "body")
        if names and body is not None:
            for call in captures(self.grammar, CALLS, body).get("call", []):
                via, values = _rest_via(call), named(field(call, "arguments"))
                if via is None or not values or values[0].type != "identifier":
                    continue
                if text(values[0]) in names:
                    result = ir.Forwards(node, via, names.index(text(values[0])))
                    break
        cache[node.id] = result
        return result

    def _dial(self, call: Node, args: Node) -> Site:
        number: ir.Expr | None = None
        value: ir.Entry | None = None
        opaque = False
        for arg in named(args):
            expr = self.expr(arg)
            if arg.type == "spread_element":
                opaque = True
                continue
            entry, is_options, spread = self.option(expr, CALLER_ID, call)
            if is_options:
                value = entry or value
                opaque = opaque or spread
                continue
            if isinstance(expr, (ir.Choice, ir.Either)) and _has_object(expr):
                opaque = True  # dial(cid ? { callerId: cid } : {}, to)
                continue
            if isinstance(expr, ir.Ref) and _OPTION_NAMES.search(expr.name):
                target = self.resolver.obj(expr)
                if isinstance(target, ir.Opaque):
                    opaque = True  # an options object we cannot see into
                    continue
            if number is None:
                number = expr
        site = Site(
            Via.DIAL.value,
            call,
            value.value if value else None,
            value.key_node if value else None,
            to=number,
            nouns=self._nouns(call),
            opaque=opaque,
        )
        return site

    def _nouns(self, dial: Node) -> list[tuple[str, ir.Expr | None]]:
        nouns: list[tuple[str, ir.Expr | None]] = []
        node = dial
        # chained: twiml.dial(...).number(x).client(y)
        while node.parent is not None and node.parent.type == "member_expression":
            prop = text(field(node.parent, "property"))
            outer = node.parent.parent
            if outer is None or outer.type != "call_expression":
                break
            if prop in NOUNS:
                nouns.append((prop, _first_arg(self, outer)))
            node = outer
        # bound: const dial = twiml.dial(...); dial.number(x)
        name = _bound_name(dial)
        if name:
            receiver = lambda c: field(field(c, "function"), "object")  # noqa: E731
            for call in self.calls_on(NOUN_CALLS, receiver, name, dial):
                noun = text(field(field(call, "function"), "property"))
                nouns.append((noun, _first_arg(self, call)))
        return nouns

    # ---------------------------------------------------------------- strings

    string_query = STRINGS
    concat_types = frozenset(
        (
            "binary_expression",
            "parenthesized_expression",
            "template_substitution",
            "template_string",
        )
    )
    either_ops = frozenset(("||", "??"))
    ternary_type = "ternary_expression"
    wrapper_types: ClassVar[Mapping[str, int]] = {
        "parenthesized_expression": 0,
        "await_expression": 0,
        "non_null_expression": 0,
        "as_expression": 0,
        "satisfies_expression": 0,
        "type_assertion": 0,
    }

    def in_assertion(self, node: Node) -> bool:
        return _in_assertion(node)

    # ------------------------------------------------------------ expressions

    def expr(self, node: Node) -> ir.Expr:
        kind = node.type
        if kind == "string":
            return ir.Lit(node, _unescape(text(node)[1:-1]))
        if kind == "template_string":
            return self._template(node)
        if kind == "number":
            return ir.Lit(node, text(node))
        if kind in ("null", "undefined"):
            return ir.Null(node)
        if kind in ("identifier", "shorthand_property_identifier"):
            name = text(node)
            return ir.Null(node) if name == "undefined" else ir.Ref(node, name)
        if kind in ("this",):
            return ir.Ref(node, "this")
        if kind == "member_expression":
            return self._member(node)
        if kind == "subscript_expression":
            obj, index = field(node, "object"), field(node, "index")
            if obj is None or index is None or index.type != "string":
                return ir.Opaque(node)
            return self._member_of(node, obj, text(index)[1:-1])
        if kind == "call_expression":
            return self._call(node)
        if (shaped := self.operator_expr(node)) is not None:
            return shaped
        if kind == "object":
            return self._object(node)
        if kind in ("arrow_function", "function_expression", "function"):
            return self._function(node)
        if kind == "new_expression":
            ctor = text(field(node, "constructor"))
            args = field(node, "arguments")
            if ctor.rsplit(".", 1)[-1] in _WRAPPERS and args is not None and named(args):
                return self.expr(named(args)[0])
            return ir.Made(node, ctor.rsplit(".", 1)[-1])
        return ir.Opaque(node)

    def _template(self, node: Node) -> ir.Expr:
        parts: list[ir.Expr] = []
        holes = False
        for child in named(node):
            if child.type == "string_fragment":
                parts.append(ir.Lit(child, text(child)))
            elif child.type == "escape_sequence":
                parts.append(ir.Lit(child, _unescape(text(child))))
            elif child.type == "template_substitution":
                holes = True
                inner = named(child)
                parts.append(self.expr(inner[0]) if inner else ir.Opaque(child))
        if not holes:
            return ir.Lit(node, "".join(p.value for p in parts if isinstance(p, ir.Lit)))
        return ir.Concat(node, tuple(parts), template=True)

    def _member(self, node: Node) -> ir.Expr:
        obj, prop = field(node, "object"), field(node, "property")
        if obj is None or prop is None:
            return ir.Opaque(node)
        if obj.type == "this":
            return ir.Ref(node, f"this.{text(prop)}")
        return self._member_of(node, obj, text(prop))

    def _member_of(self, node: Node, obj: Node, key: str) -> ir.Expr:
        """`obj.key` (also as destructured: `const { key } = obj`)."""
        holder = text(obj)
        if holder == "process.env":
            return ir.Env(node, key)
        if holder == "context" and not key.startswith("get"):
            return ir.Env(node, key, origin="context")
        return ir.Member(node, self.expr(obj), key)

    def _call(self, node: Node) -> ir.Expr:
        function, args = field(node, "function"), field(node, "arguments")
        values = named(args) if args is not None else []
        callee = text(function)
        if callee == "require" and values and values[0].type == "string":
            return ir.Module(node, text(values[0])[1:-1])
        if callee in _WRAPPERS and values:
            return self.expr(values[0])
        if function is not None and function.type == "member_expression":
            method = text(field(function, "property"))
            obj = field(function, "object")
            if method in _CONVERSIONS and obj is not None:
                return self.expr(obj)
            if callee in ("Deno.env.get", "process.env.get") and values:
                return ir.Env(node, text(values[0])[1:-1])
            first = values[0] if values else None
            if (
                method in _GETTERS
                and obj is not None
                and first is not None
                and (first.type == "string")
            ):
                key = text(first)[1:-1]
                if "config" in text(obj).lower():
                    return ir.Config(node, key)
                return ir.Member(node, self.expr(obj), key)
        return ir.Opaque(node, "call")

    def _object(self, node: Node) -> ir.Obj:
        entries: dict[str, ir.Entry] = {}
        opaque = False
        for child in named(node):
            if child.type == "pair":
                key, value = field(child, "key"), field(child, "value")
                if key is None or value is None:
                    continue
                name = text(key)
                if key.type == "string":
                    name = name[1:-1]
                entries[name] = ir.Entry(key, self.expr(value))
            elif child.type == "shorthand_property_identifier":
                entries[text(child)] = ir.Entry(child, ir.Ref(child, text(child)))
            elif child.type == "spread_element":
                opaque = True
        return ir.Obj(node, entries, opaque)

    # --------------------------------------------------------------- bindings

    def bindings(self) -> Iterable[ir.Binding]:
        fields = CLASS_FIELDS["javascript" if self.grammar == "javascript" else "typescript"]
        found = captures(self.grammar, BINDINGS + fields, self.root)
        end = self.root.end_byte + 1
        for bind in found.get("bind", []):
            name_node = field(bind, "name") or field(bind, "left") or field(bind, "property")
            value = field(bind, "value") or field(bind, "right")
            if name_node is None or value is None:
                continue
            start, stop = scope_of(bind, _SCOPES, end)
            if bind.type == "assignment_expression" and name_node.type == "identifier":
                # assigned: the variable of the scope that declares it (else a module one)
                declared = self._declared(found)
                start, stop = lexical_scope(bind, text(name_node), _SCOPES, declared, end)
            yield from self._bind(name_node, value, bind, start, stop)
        for params in found.get("params", []):
            owner = params.parent or params
            for param in _param_names(params):
                yield ir.Binding(
                    text(param),
                    param.start_byte,
                    owner.start_byte,
                    owner.end_byte,
                    partial(ir.Opaque, param, "parameter"),
                )
        for function in found.get("function", []):  # function createCall(params) { … }
            name_node = field(function, "name")
            start, stop = scope_of(function, _SCOPES, end)
            yield ir.Binding(
                text(name_node), function.start_byte, start, stop, partial(self._function, function)
            )
        for statement in found.get("import", []):
            yield from _imports(statement, end)
        for statement in found.get("default_export", []):  # export default { callerId: … }
            value = field(statement, "value")
            if value is not None:
                yield ir.Binding(
                    "module.exports", statement.start_byte, 0, end, partial(self.expr, value)
                )

    def _declared(self, found: dict[str, list[Node]]) -> set[tuple[int, str]]:
        """(scope start, name) of every variable declared in a function, and of its parameters."""
        cached: set[tuple[int, str]] | None = getattr(self, "_declared_names", None)
        if cached is not None:
            return cached
        end = self.root.end_byte + 1
        names = {
            (scope_of(d, _SCOPES, end)[0], text(field(d, "name")))
            for d in captures(self.grammar, DECLARATIONS, self.root).get("declaration", [])
        }
        for params in found.get("params", []):
            owner = params.parent or params
            names.update((owner.start_byte, text(p)) for p in _param_names(params))
        self._declared_names = names
        return names

    def _bind(
        self, name: Node, value: Node, bind: Node, start: int, stop: int
    ) -> Iterator[ir.Binding]:
        pos = bind.start_byte
        if name.type in ("identifier", "property_identifier", "private_property_identifier"):
            label = text(name)
            if bind.type in ("field_definition", "public_field_definition"):
                label = f"this.{label}"
            yield ir.Binding(label, pos, start, stop, partial(self.expr, value))
        elif name.type == "member_expression":
            label = text(name).replace(" ", "")
            if "\n" in label or "(" in label:
                return
            if label.startswith("this."):  # set in the constructor, read by every method
                start, stop = 0, self.root.end_byte + 1
            yield ir.Binding(label, pos, start, stop, partial(self.expr, value), key_node=name)
        elif name.type == "object_pattern":
            for part in named(name):
                yield from self._destructure(part, value, pos, start, stop)

    def _destructure(
        self, part: Node, value: Node, pos: int, start: int, stop: int
    ) -> Iterator[ir.Binding]:
        if part.type == "shorthand_property_identifier_pattern":
            key = text(part)
            yield ir.Binding(key, pos, start, stop, partial(self._member_of, part, value, key))
        elif part.type == "pair_pattern":
            key_node, target = field(part, "key"), field(part, "value")
            if key_node is None or target is None:
                return
            key = text(key_node).strip("'\"")
            default: Node | None = None
            if target.type == "assignment_pattern":
                default, target = field(target, "right"), field(target, "left")
            if target is None or target.type != "identifier":
                return

            def member(k: str = key, d: Node | None = default) -> ir.Expr:
                got: ir.Expr = self._member_of(part, value, k)
                return ir.Either(part, got, self.expr(d)) if d is not None else got

            yield ir.Binding(text(target), pos, start, stop, member)
        elif part.type == "object_assignment_pattern":
            left, right = field(part, "left"), field(part, "right")
            if left is None or right is None:
                return
            key = text(left)

            def with_default(k: str = key, d: Node = right) -> ir.Expr:
                return ir.Either(part, self._member_of(part, value, k), self.expr(d))

            yield ir.Binding(key, pos, start, stop, with_default)


class TypeScript(JavaScript):
    grammar = "typescript"


class Tsx(JavaScript):
    grammar = "tsx"


def _has_object(expr: ir.Expr) -> bool:
    if isinstance(expr, ir.Obj):
        return True
    if isinstance(expr, ir.Choice):
        return any(_has_object(o) for o in expr.options)
    if isinstance(expr, ir.Either):
        return _has_object(expr.first) or _has_object(expr.second)
    return False


def _rest_via(call: Node) -> str | None:
    """How a `….create(…)` / `makeCall(…)` call reaches Twilio: Calls or participants."""
    function = field(call, "function")
    receiver = field(function, "object")
    if function is None or receiver is None:
        return None
    method = text(field(function, "property"))
    if method == "makeCall":
        return Via.CALLS_API.value
    if method != "create":
        return None
    collection = _last_name(receiver)
    if collection == "calls":
        return Via.CALLS_API.value
    if collection == "participants" and "conferences" in text(receiver):
        return Via.CONFERENCE_PARTICIPANT.value
    return None


def _last_name(node: Node) -> str:
    """`client.api.calls` → 'calls'; `conferences(sid).participants` → 'participants'."""
    if node.type == "member_expression":
        return text(field(node, "property"))
    return text(node) if node.type == "identifier" else ""


def _first_arg(reader: Reader, call: Node) -> ir.Expr | None:
    """What a noun dials: `dial.number(to)` or, after its attributes, `dial.number({…}, to)`."""
    values = [v for v in named(field(call, "arguments")) if v.type != "object"]
    return reader.expr(values[0]) if values else None


def _bound_name(call: Node) -> str | None:
    parent = call.parent
    while parent is not None and parent.type in ("await_expression", "parenthesized_expression"):
        parent = parent.parent
    if parent is None:
        return None
    if parent.type == "variable_declarator":
        name = field(parent, "name")
        return text(name) if name is not None and name.type == "identifier" else None
    if parent.type == "assignment_expression":
        left = field(parent, "left")
        return text(left) if left is not None and left.type == "identifier" else None
    return None


def _param_names(params: Node) -> Iterator[Node]:
    for param in named(params):
        target = param
        if param.type in ("required_parameter", "optional_parameter"):
            target = field(param, "pattern") or param
        if target.type == "assignment_pattern":
            target = field(target, "left") or target
        if target.type == "identifier":
            yield target
        elif target.type == "object_pattern":
            for part in named(target):
                if part.type == "shorthand_property_identifier_pattern":
                    yield part
                elif part.type == "object_assignment_pattern" and field(part, "left"):
                    yield field(part, "left")  # type: ignore[misc]
                elif part.type == "pair_pattern" and field(part, "value") is not None:
                    value = field(part, "value")
                    if value is not None and value.type == "identifier":
                        yield value


def _imports(statement: Node, end: int) -> Iterator[ir.Binding]:
    source = field(statement, "source")
    if source is None:
        return
    spec = text(source)[1:-1]
    pos = statement.start_byte
    for clause in named(statement):
        if clause.type != "import_clause":
            continue
        for part in named(clause):
            if part.type == "identifier":  # import x from './x'
                yield ir.Binding(text(part), pos, 0, end, partial(ir.Module, statement, spec))
            elif part.type == "namespace_import":
                for ident in named(part):
                    yield ir.Binding(text(ident), pos, 0, end, partial(ir.Module, statement, spec))
            elif part.type == "named_imports":
                for spec_node in named(part):
                    name, alias = field(spec_node, "name"), field(spec_node, "alias")
                    if name is None:
                        continue
                    member = text(name)
                    yield ir.Binding(
                        text(alias or name),
                        pos,
                        0,
                        end,
                        partial(ir.Module, statement, spec, member),
                    )


_ASSERTION = re.compile(r"expect|assert|should|toEqual|toBe|toContain|toMatch|deepEqual|equal")


def _in_assertion(node: Node) -> bool:
    """TwiML text in a test's expectation is not a Dial: `expect(x).toContain('<Dial>')`."""
    for parent in ancestors(node):
        if parent.type == "call_expression":
            callee = text(field(parent, "function"))
            if _ASSERTION.search(callee.rsplit(".", 1)[-1]) or callee.startswith("expect"):
                return True
        if parent.type == "variable_declarator":
            name = text(field(parent, "name")).lower()
            return name.startswith(("expected", "expect"))
        if parent.type in _SCOPES or parent.type == "expression_statement":
            return False
    return False
