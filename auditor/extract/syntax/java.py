"""Java (twilio-java 7+ builders, and the 6.x verbs and factories still in many apps).

Dial: `new Dial.Builder(number).callerId(x).number(n).client(c).build()`: the
builder chain is read link by link, and so are later chains on the variable that holds
the builder (`builder.callerId(x)`, `builder = builder.number(n).callerId(x)`); 6.x
`new Dial(number)` with `dial.setCallerId(x)` and `dial.append(new Number(n))` on its
variable. Calls: `Call.creator(to, from, url)`
(or with the account SID first, four arguments), 7.0's `Call.create(to, from, url)`,
6.x `callFactory.create(params)` with `params.put("From", x)` (or a
`BasicNameValuePair("From", x)` list). Participants: `Participant.creator(conferenceSid, from, to)`.
Values: `System.getenv`, Spring's `@Value("${key}")` fields; the request as
`request.getParameter("From")`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from functools import partial
from typing import ClassVar

from auditor.extract.syntax import ir
from auditor.extract.syntax.base import (
    NOUNS,
    Reader,
    Site,
    formatted,
    fragment_text,
    lexical_scope,
    scope_of,
)
from auditor.extract.syntax.tree import Node, ancestors, captures, field, named, text
from auditor.model import Via

CALLS = """
(object_creation_expression
  type: (scoped_type_identifier) @type
  (#match? @type "Dial[.]Builder$")) @dial
(object_creation_expression
  type: [(type_identifier) (scoped_type_identifier)] @type
  (#match? @type "(^|[.])Dial$")) @verb
(method_invocation
  object: (identifier) @resource
  name: (identifier) @creator
  (#any-of? @resource "Call" "Participant")
  (#eq? @creator "creator")) @creator_call
(method_invocation
  object: (identifier) @resource
  name: (identifier) @creator
  (#eq? @resource "Call")
  (#eq? @creator "create")) @creator_call
(object_creation_expression
  type: (type_identifier) @resource
  (#any-of? @resource "CallCreator" "ParticipantCreator")) @creator_call
(method_invocation
  name: (identifier) @create
  (#eq? @create "create")
  arguments: (argument_list . (identifier) .)) @factory
"""
# `put("From", x)` inside a double-brace map initializer.
IN_INITIALIZER = """
(method_invocation !object name: (identifier) @method (#eq? @method "put")) @call
"""
# Calls on the variable a 6.x verb or a parameter map is bound to.
ON_VARIABLE = """
(method_invocation
  object: (identifier) @receiver
  name: (identifier) @method
  (#any-of? @method "setCallerId" "append" "put" "add")) @call
"""
# Links of a chain on a variable that holds a Dial builder (see Java._builder_links).
ON_BUILDER = """
(method_invocation
  name: (identifier) @method
  (#any-of? @method "callerId" "number" "client" "sip" "queue" "conference")) @call
"""
BINDINGS = """
(variable_declarator name: (identifier) @name value: (_) @value) @bind
(field_declaration) @field
(assignment_expression left: (_) @name right: (_) @value) @bind
(formal_parameters) @params
"""
DECLARATIONS = """
(variable_declarator name: (identifier) @name) @declaration
"""
STRINGS = """
(string_literal) @string
"""
_SCOPES = frozenset({"method_declaration", "constructor_declaration", "lambda_expression"})
_WRAPPERS = frozenset({"PhoneNumber", "String", "Number", "Client", "Sip", "Identity"})
_CONVERSIONS = frozenset({"toString", "trim", "build"})
# String.format("client:%s", id)
_FORMAT_HOLE = re.compile(r"%(\d+\$)?[-#+ 0,(]*\d*(?:\.\d+)?[sdS]")
_VERB_NOUNS = {
    "Number": "number",
    "Client": "client",
    "Sip": "sip",
    "Queue": "queue",
    "Conference": "conference",
}


class Java(Reader):
    name = "java"
    grammar = "java"
    hints = ("Dial", "Call", "Participant")

    def sites(self) -> Iterator[Site]:
        found = captures(self.grammar, CALLS, self.root)
        for dial in found.get("dial", []):
            yield self._dial(dial)
        for verb in found.get("verb", []):
            yield self._verb(verb)
        for call in found.get("factory", []):
            site = self._factory(call)
            if site is not None:
                yield site
        conference = b"account.conference" in self.data  # not Proxy's participants
        for call in found.get("creator_call", []):
            resource = text(field(call, "object") or field(call, "type")).removesuffix("Creator")
            args = [a for a in named(field(call, "arguments") or call)]
            if resource == "Call":
                if len(args) < 2:
                    continue
                offset = 1 if len(args) >= 4 else 0  # (pathAccountSid, to, from, url)
                to, value = args[offset], args[offset + 1]
                yield Site(Via.CALLS_API.value, call, self.expr(value), value, to=self.expr(to))
            elif len(args) >= 3 and conference:
                offset = 1 if len(args) >= 4 else 0  # (pathAccountSid, conference, from, to)
                value, to = args[offset + 1], args[offset + 2]
                yield Site(
                    Via.CONFERENCE_PARTICIPANT.value,
                    call,
                    self.expr(value),
                    value,
                    to=self.expr(to),
                )

    def _dial(self, builder: Node) -> Site:
        args = named(field(builder, "arguments") or builder)
        number = self.expr(args[0]) if args and builder.child_by_field_name("arguments") else None
        value: Node | None = None
        nouns: list[tuple[str, ir.Expr | None]] = []
        node = builder
        while node.parent is not None and node.parent.type == "method_invocation":
            outer = node.parent
            if field(outer, "object") != node:
                break
            name = text(field(outer, "name"))
            link_args = named(field(outer, "arguments") or outer)
            if name == "callerId" and link_args:
                value = link_args[0]
            elif name in NOUNS:
                nouns.append((name, self.expr(link_args[0]) if link_args else None))
            node = outer
        for link in self._builder_links(node):
            name = text(field(link, "name"))
            link_args = named(field(link, "arguments"))
            if name == "callerId" and link_args:
                value = link_args[0]
            elif name in NOUNS:
                nouns.append((name, self.expr(link_args[0]) if link_args else None))
        return Site(
            Via.DIAL.value,
            builder,
            self.expr(value) if value is not None else None,
            value,
            to=number,
            nouns=nouns,
        )

    def _builder_links(self, chain: Node) -> list[Node]:
        """callerId / noun links of later chains on the variable a Dial builder is kept in
        (`Dial.Builder b = new Dial.Builder(); b = b.number(n).callerId(x);`), in order,
        until the variable is bound to something else or its method ends."""
        name = _bound_name(chain)
        if not name or text(field(chain, "name")) == "build":
            return []  # not kept, or kept built: a Dial takes no more attributes
        end = scope_of(chain, _SCOPES, self.root.end_byte + 1)[1]
        for binding in self.resolver.bindings(name):
            if chain.end_byte < binding.pos < end:
                left = self.root.descendant_for_byte_range(binding.pos, binding.pos)
                bound = left.parent if left is not None else None
                value = field(bound, "right") or field(bound, "value") if bound else None
                if value is None or _chain_root(value) != name:
                    end = binding.pos  # b = something else: the builder is gone
        return [
            link
            for link in self.calls_named(ON_BUILDER, _chain_root_node, name)
            if chain.end_byte < link.start_byte < end
        ]

    def _on_variable(self, node: Node) -> list[Node]:
        """setCallerId / append / put / add calls on the variable `node` is bound to, after it."""
        name = _bound_name(node)
        if not name:
            return []
        return self.calls_on(ON_VARIABLE, lambda c: field(c, "object"), name, node)

    def _verb(self, dial: Node) -> Site:
        """twilio-java 6.x: `Dial dial = new Dial(number); dial.setCallerId(x); dial.append(…)`."""
        args = named(field(dial, "arguments") or dial)
        value: Node | None = None
        nouns: list[tuple[str, ir.Expr | None]] = []
        for call in self._on_variable(dial):
            method = text(field(call, "name"))
            link_args = named(field(call, "arguments"))
            if not link_args:
                continue
            if method == "setCallerId" and value is None:
                value = link_args[0]
            elif method == "append" and link_args[0].type == "object_creation_expression":
                made = text(field(link_args[0], "type")).rsplit(".", 1)[-1]
                inner = named(field(link_args[0], "arguments"))
                if made in _VERB_NOUNS:
                    nouns.append((_VERB_NOUNS[made], self.expr(inner[0]) if inner else None))
        return Site(
            Via.DIAL.value,
            dial,
            self.expr(value) if value is not None else None,
            value,
            to=self.expr(args[0]) if args else None,
            nouns=nouns,
        )

    def _factory(self, call: Node) -> Site | None:
        """twilio-java 6.x `callFactory.create(params)`: From and To are entries of the map."""
        receiver = field(call, "object")
        if receiver is None or "callfactory" not in text(receiver).lower():
            return None
        arg = named(field(call, "arguments"))[0]
        entries = self._map_entries(text(arg), call)
        if "from" not in entries:
            return None
        value, where = entries["from"]
        to = entries.get("to")
        return Site(
            Via.CALLS_API.value, call, self.expr(value), where, to=self.expr(to[0]) if to else None
        )

    def _map_entries(self, name: str, use: Node) -> dict[str, tuple[Node, Node]]:
        """key (lower case) → (value, where) of `name.put("From", x)` /
        `name.add(new BasicNameValuePair("From", x))` before `use`, or of the
        double-brace initializer `new HashMap<…>() {{ put("From", x); }}` it is bound to."""
        binding = self.resolver.binding(name, use.start_byte)
        bound = binding.value().node if binding is not None else None
        calls: list[Node] = []
        body = next((c for c in named(bound) if c.type == "class_body"), None) if bound else None
        if body is not None:
            calls.extend(captures(self.grammar, IN_INITIALIZER, body).get("call", []))
        after = binding.pos if binding is not None else 0
        for call in self.calls_named(ON_VARIABLE, lambda c: field(c, "object"), name):
            if after <= call.start_byte < use.start_byte:
                calls.append(call)
        entries: dict[str, tuple[Node, Node]] = {}
        for call in calls:
            args = named(field(call, "arguments"))
            if text(field(call, "name")) == "add" and args:
                made = args[0]  # new BasicNameValuePair("From", x)
                args = (
                    named(field(made, "arguments"))
                    if made.type == "object_creation_expression"
                    else []
                )
            if len(args) == 2 and args[0].type == "string_literal":
                key = self.expr(args[0])
                if isinstance(key, ir.Lit):
                    entries[key.value.lower()] = (args[1], call)
        return entries

    string_query = STRINGS
    concat_types = frozenset(("binary_expression",))
    ternary_type = "ternary_expression"
    wrapper_types: ClassVar[Mapping[str, int]] = {
        "parenthesized_expression": -1,
        "cast_expression": -1,
    }

    def in_assertion(self, node: Node) -> bool:
        return _in_assertion(node)

    # ------------------------------------------------------------ expressions

    def expr(self, node: Node) -> ir.Expr:
        kind = node.type
        if kind == "string_literal":
            parts = named(node)
            if any(p.type not in ("string_fragment", "escape_sequence") for p in parts):
                return ir.Opaque(node)
            return ir.Lit(node, "".join(fragment_text(p) for p in parts))
        if kind in ("decimal_integer_literal",):
            return ir.Lit(node, text(node).rstrip("lL"))
        if kind == "null_literal":
            return ir.Null(node)
        if kind == "identifier":
            return ir.Ref(node, text(node))
        if kind == "field_access":
            obj, name = field(node, "object"), field(node, "field")
            if obj is None or name is None:
                return ir.Opaque(node)
            if obj.type == "this":
                return ir.Ref(node, f"this.{text(name)}")
            return ir.Member(node, self.expr(obj), text(name))
        if kind == "object_creation_expression":
            kind_name = text(field(node, "type")).removesuffix(".Builder").rsplit(".", 1)[-1]
            args = named(field(node, "arguments") or node)
            if kind_name in _WRAPPERS and args:
                return self.expr(args[0])
            return ir.Made(node, text(field(node, "type")))
        if kind == "method_invocation":
            return self._call(node)
        if (shaped := self.operator_expr(node)) is not None:
            return shaped
        return ir.Opaque(node)

    def _call(self, node: Node) -> ir.Expr:
        obj, name = field(node, "object"), text(field(node, "name"))
        args = named(field(node, "arguments") or node)
        holder = text(obj) if obj is not None else ""
        first = self.expr(args[0]) if args else None
        key = first.value if isinstance(first, ir.Lit) else None
        if holder == "System" and name == "getenv" and key is not None:
            return ir.Env(node, key)
        if name == "get" and key is not None and "env" in holder.lower():  # dotenv.get("X")
            return ir.Env(node, key)
        if name in ("getParameter", "getHeader") and key is not None and obj is not None:
            return ir.Member(node, self.expr(obj), key)
        if name in ("getProperty", "getString", "getValue") and key is not None:
            default = self.expr(args[1]) if len(args) > 1 else None
            if holder == "System":
                return ir.Config(node, key, default)
            return ir.Config(node, key, default)
        if name in _CONVERSIONS and obj is not None and not args:
            return self.expr(obj)
        getter = len(name) > 3 and name.startswith("get") and name[3].isupper()
        if getter and obj is not None and not args:  # config.getCallerId(): the property
            return ir.Member(node, self.expr(obj), name[3].lower() + name[4:])
        if name == "valueOf" and holder == "String" and first is not None:
            return first
        if name == "format" and holder == "String" and key is not None:
            return formatted(node, key, [self.expr(a) for a in args[1:]], _FORMAT_HOLE)
        return ir.Opaque(node, "call")

    # --------------------------------------------------------------- bindings

    def bindings(self) -> Iterable[ir.Binding]:
        found = captures(self.grammar, BINDINGS, self.root)
        end = self.root.end_byte + 1
        local = _locals(self.root, found, end)
        for bind in found.get("bind", []):
            left = field(bind, "name") or field(bind, "left")
            value = field(bind, "value") or field(bind, "right")
            if left is None or value is None:
                continue
            start, stop = scope_of(bind, _SCOPES, end)
            if bind.parent is not None and bind.parent.type == "field_declaration":
                start, stop = 0, end  # a field
            elif bind.type == "assignment_expression" and left.type == "identifier":
                # a local of an enclosing method assigned again, else a field
                start, stop = lexical_scope(bind, text(left), _SCOPES, local, end)
            label = text(left)
            if left.type == "field_access":
                label = label.replace("this.", "")
                start, stop = 0, end
            elif left.type != "identifier":
                continue
            yield ir.Binding(label, bind.start_byte, start, stop, partial(self.expr, value))
        for declaration in found.get("field", []):  # @Value("${twilio.caller-id}") String x;
            spring = _spring_value(declaration)
            declarator = field(declaration, "declarator")
            name = field(declarator, "name") if declarator is not None else None
            if spring is not None and name is not None and field(declarator, "value") is None:
                key, literal = spring
                yield ir.Binding(
                    text(name),
                    declaration.start_byte,
                    0,
                    end,
                    partial(ir.Config, literal, key),
                )
        for params in found.get("params", []):
            owner = params.parent or params
            for param in named(params):
                name = field(param, "name")
                if name is None:
                    continue
                request = _request_param(param)  # @RequestParam("From") String from
                yield ir.Binding(
                    text(name),
                    param.start_byte,
                    owner.start_byte,
                    owner.end_byte,
                    partial(ir.Request, name, request)
                    if request
                    else partial(ir.Opaque, name, "parameter"),
                )


def _locals(root: Node, found: dict[str, list[Node]], end: int) -> set[tuple[int, str]]:
    """(scope start, name) of every local variable and parameter: assigning one stays local."""
    names: set[tuple[int, str]] = set()
    for declarator in captures("java", DECLARATIONS, root).get("declaration", []):
        if declarator.parent is None or declarator.parent.type != "field_declaration":
            names.add((scope_of(declarator, _SCOPES, end)[0], text(field(declarator, "name"))))
    for params in found.get("params", []):
        owner = params.parent or params
        for param in named(params):
            names.add((owner.start_byte, text(field(param, "name"))))
    return names


def _chain_root_node(call: Node) -> Node | None:
    """The object a chain of calls starts from: `b` in `b.number(n).callerId(x)`."""
    node = field(call, "object")
    while node is not None and node.type == "method_invocation":
        node = field(node, "object")
    return node


def _chain_root(node: Node) -> str:
    if node.type == "method_invocation":
        root = _chain_root_node(node)
        return text(root) if root is not None and root.type == "identifier" else ""
    return text(node) if node.type == "identifier" else ""


def _bound_name(node: Node) -> str | None:
    """The variable a construction is stored in (`Dial dial = new Dial()`, `dial = new Dial()`)."""
    parent = node.parent
    if parent is not None and parent.type == "variable_declarator":
        return text(field(parent, "name")) or None
    if parent is not None and parent.type == "assignment_expression":
        left = field(parent, "left")
        return text(left) if left is not None and left.type == "identifier" else None
    return None


def _request_param(param: Node) -> str | None:
    """The request parameter a Spring handler argument is bound to, if any."""
    for child in named(param):
        if child.type != "modifiers":
            continue
        for annotation in named(child):
            name = text(field(annotation, "name"))
            if name not in ("RequestParam", "RequestHeader") or annotation.type != "annotation":
                continue
            args = field(annotation, "arguments")
            for arg in named(args) if args is not None else []:
                literal = arg if arg.type == "string_literal" else field(arg, "value")
                if literal is not None and literal.type == "string_literal":
                    key = field(arg, "key")
                    if key is None or text(key) in ("value", "name"):
                        return text(literal).strip('"')
            return text(field(param, "name"))
    return None


def _spring_value(declaration: Node) -> tuple[str, Node] | None:
    for child in named(declaration):
        if child.type != "modifiers":
            continue
        for annotation in named(child):
            if annotation.type == "annotation" and text(field(annotation, "name")) == "Value":
                args = field(annotation, "arguments")
                literal = named(args)[0] if args is not None and named(args) else None
                raw = text(literal).strip('"') if literal is not None else ""
                if literal is not None and raw.startswith("${") and raw.endswith("}"):
                    return raw[2:-1].split(":", 1)[0], literal
    return None


def _in_assertion(node: Node) -> bool:
    for parent in ancestors(node):
        if parent.type == "method_invocation":
            name = text(field(parent, "name"))
            if name.startswith(("assert", "expect")) or name in ("isEqualTo", "contains"):
                return True
        if parent.type in _SCOPES:
            return False
    return False
