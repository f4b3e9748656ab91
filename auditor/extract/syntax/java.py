"""Java (twilio-java 7+ builders).

Dial: `new Dial.Builder(number).callerId(x).number(n).client(c).build()`: the
builder chain is read link by link. Calls: `Call.creator(to, from, url)` (or
with the account SID first, four arguments); participants:
`Participant.creator(conferenceSid, from, to)`. Values: `System.getenv`,
Spring's `@Value("${key}")` fields; the request as `request.getParameter("From")`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import partial

from auditor.extract.syntax import ir
from auditor.extract.syntax.base import NOUNS, Reader, Site, fragment_text, scope_of
from auditor.extract.syntax.tree import Node, ancestors, captures, field, named, text
from auditor.model import Via

CALLS = """
(object_creation_expression
  type: (scoped_type_identifier) @type
  (#match? @type "Dial[.]Builder$")) @dial
(method_invocation
  object: (identifier) @resource
  name: (identifier) @creator
  (#any-of? @resource "Call" "Participant")
  (#eq? @creator "creator")) @creator_call
(object_creation_expression
  type: (type_identifier) @resource
  (#any-of? @resource "CallCreator" "ParticipantCreator")) @creator_call
"""
BINDINGS = """
(variable_declarator name: (identifier) @name value: (_) @value) @bind
(field_declaration) @field
(assignment_expression left: (_) @name right: (_) @value) @bind
(formal_parameters) @params
"""
STRINGS = """
(string_literal) @string
"""
_SCOPES = frozenset({"method_declaration", "constructor_declaration", "lambda_expression"})
_WRAPPERS = frozenset({"PhoneNumber", "String", "Number", "Client", "Sip", "Identity"})
_CONVERSIONS = frozenset({"toString", "trim", "build"})


class Java(Reader):
    name = "java"
    grammar = "java"
    hints = ("Dial", "Call", "Participant")

    def sites(self) -> Iterator[Site]:
        found = captures(self.grammar, CALLS, self.root)
        for dial in found.get("dial", []):
            yield self._dial(dial)
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
        return Site(
            Via.DIAL.value,
            builder,
            self.expr(value) if value is not None else None,
            value,
            to=number,
            nouns=nouns,
        )

    string_query = STRINGS
    concat_types = frozenset(("binary_expression",))

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
        if kind == "binary_expression":
            op = text(field(node, "operator"))
            left, right = field(node, "left"), field(node, "right")
            if op == "+" and left is not None and right is not None:
                return self.joined(node, left, right)
            return ir.Opaque(node)
        if kind == "ternary_expression":
            options = [field(node, "consequence"), field(node, "alternative")]
            return ir.Choice(node, tuple(self.expr(o) for o in options if o is not None))
        if kind in ("parenthesized_expression", "cast_expression"):
            inner = named(node)
            return self.expr(inner[-1]) if inner else ir.Opaque(node)
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
        return ir.Opaque(node, "call")

    # --------------------------------------------------------------- bindings

    def bindings(self) -> Iterable[ir.Binding]:
        found = captures(self.grammar, BINDINGS, self.root)
        end = self.root.end_byte + 1
        for bind in found.get("bind", []):
            left = field(bind, "name") or field(bind, "left")
            value = field(bind, "value") or field(bind, "right")
            if left is None or value is None:
                continue
            start, stop = scope_of(bind, _SCOPES, end)
            if bind.type == "assignment_expression" or (
                bind.parent is not None and bind.parent.type == "field_declaration"
            ):
                start, stop = 0, end  # a field (or one set in a constructor)
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
