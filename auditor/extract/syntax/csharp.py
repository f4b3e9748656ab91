"""C# (twilio-csharp 5+, and the 4.x anonymous-object attributes).

Dial: `new Dial(callerId: x)`, `new Dial { CallerId = x }` or `dial.CallerId = x` on the
variable it is kept in, `response.Dial(number, callerId: x)`; `response.Dial(dial)`
appends a Dial built before (not a new one); 4.x `response.Dial(new Number(n),
new { callerId = x })`. Children: `dial.Number(…)`, `dial.Client(…)`,
`dial.Append(new Client(…))`. Calls:
`CallResource.Create[Async](to, from, …)` or named `from:`, `new
CreateCallOptions(to, from)`, 4.x `InitiateOutboundCall(from, to, url)` and `new
CallOptions { From = … }` (an options object handed in from elsewhere: a run-time
From); participants: `ParticipantResource.Create(
pathConferenceSid, from, to)` or named. Values: `Environment.
GetEnvironmentVariable`, `ConfigurationManager.AppSettings[…]`, `_config["…"]`;
the request as `Request.Form["From"]`, a bound `VoiceRequest.From`, or an action's
`string From` (`[FromForm] string from`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
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
from auditor.extract.syntax.resolve import PASSTHROUGH_PARAMS
from auditor.extract.syntax.tree import Node, ancestors, captures, field, named, text
from auditor.model import Via

CALLS = """
(object_creation_expression
  type: [(identifier) (qualified_name)] @type
  (#match? @type "(^|[.])(Dial|CreateCallOptions|CallOptions|CreateParticipantOptions)$")) @new
(invocation_expression
  function: (member_access_expression name: (identifier) @method)
  (#any-of? @method "Dial" "Create" "CreateAsync" "InitiateOutboundCall")) @call
"""
NOUN_CALLS = """
(invocation_expression
  function: (member_access_expression
    expression: (identifier) @receiver
    name: (identifier) @noun
    (#any-of? @noun "Number" "Client" "Sip" "Queue" "Conference" "Append"))) @call
"""
BINDINGS = """
(variable_declarator name: (identifier) @name) @bind
(assignment_expression left: (_) @name right: (_) @value) @bind
(property_declaration name: (identifier) @name value: (_) @value) @property
(parameter_list) @params
"""
STRINGS = """
(string_literal) @string
(verbatim_string_literal) @string
(interpolated_string_expression) @string
(raw_string_literal) @string
"""
CALLER_ID = ("callerId", "CallerId")
_SCOPES = frozenset(
    {
        "method_declaration",
        "constructor_declaration",
        "local_function_statement",
        "lambda_expression",
        "anonymous_method_expression",
    }
)
_WRAPPERS = frozenset({"PhoneNumber", "Uri", "Number", "Client", "Sip"})
_CONVERSIONS = frozenset({"ToString", "Trim"})
_CONFIG = re.compile(r"config|setting|appsettings|options", re.I)
_FORMAT_HOLE = re.compile(r"\{(\d+)(?:[,:][^}]*)?\}")  # string.Format("client:{0}", id)


class CSharp(Reader):
    name = "csharp"
    grammar = "csharp"
    hints = ("Dial", "CallResource", "CallOptions", "Participant", "InitiateOutboundCall")

    def sites(self) -> Iterator[Site]:
        found = captures(self.grammar, CALLS, self.root)
        for node in found.get("new", []):
            kind = text(field(node, "type")).rsplit(".", 1)[-1]
            dial = self._dial(node) if kind == "Dial" else None
            if dial is not None:
                yield dial
            elif kind == "Dial":
                continue
            elif kind == "CreateCallOptions":
                yield from self._rest(node, Via.CALLS_API.value, ("to", "from"))
            elif kind == "CallOptions":  # 4.x: new CallOptions { From = …, To = … }
                yield from self._rest(node, Via.CALLS_API.value, ())
            elif b"Account.Conference" in self.data:
                yield from self._rest(node, Via.CONFERENCE_PARTICIPANT.value, ("", "from", "to"))
        for call in found.get("call", []):
            function = field(call, "function")
            method = text(field(function, "name")) if function is not None else ""
            holder = text(field(function, "expression")) if function is not None else ""
            if method == "Dial":
                site = self._dial(call)
                if site is not None:
                    yield site
            elif holder.endswith("CallResource"):
                yield from self._rest(call, Via.CALLS_API.value, ("to", "from"))
            elif method == "InitiateOutboundCall":  # 4.x: (from, to, url) or (CallOptions)
                yield from self._rest(call, Via.CALLS_API.value, ("from", "to"))
            elif holder.endswith("ParticipantResource") and b"Account.Conference" in self.data:
                yield from self._rest(
                    call, Via.CONFERENCE_PARTICIPANT.value, ("pathConferenceSid", "from", "to")
                )

    def _arguments(self, node: Node) -> tuple[list[Node], dict[str, Node]]:
        args = field(node, "arguments")
        positional: list[Node] = []
        keywords: dict[str, Node] = {}
        for arg in named(args) if args is not None else []:
            name = field(arg, "name")
            value = next((c for c in named(arg) if c != name), None)
            if value is None:
                continue
            if name is not None:
                keywords[text(name)] = value
            else:
                positional.append(value)
        return positional, keywords

    def _initializer(self, node: Node) -> dict[str, tuple[Node, Node]]:
        init = field(node, "initializer")
        entries: dict[str, tuple[Node, Node]] = {}
        for item in named(init) if init is not None else []:
            if item.type == "assignment_expression":
                left, right = field(item, "left"), field(item, "right")
                if left is not None and right is not None:
                    entries[text(left)] = (item, right)
        return entries

    def _rest(self, node: Node, via: str, order: tuple[str, ...]) -> Iterator[Site]:
        positional, keywords = self._arguments(node)
        init = self._initializer(node)
        slots: dict[str, Node] = {}
        for index, name in enumerate(order):
            if name in keywords:
                slots[name] = keywords[name]
            elif index < len(positional):
                slots[name] = positional[index]
        for name, (_, value) in init.items():
            slots.setdefault(name.lower(), value)
        if len(positional) == 1 and not keywords and not init:
            yield from self._options(node, positional[0], via)
            return
        to = self.expr(slots["to"]) if "to" in slots else None
        if "from" in slots:
            yield Site(via, node, self.expr(slots["from"]), slots["from"], to=to)

    def _options(self, call: Node, arg: Node, via: str) -> Iterator[Site]:
        """`Create(options)`: an options object built here is its own site (or its
        `options.From = …` is); one handed in from elsewhere has a run-time From."""
        options = self.expr(arg)
        entry, _, _ = self.option(options, ("From",), call)
        to, _, _ = self.option(options, ("To",), call)
        if entry is not None:
            yield Site(via, call, entry.value, entry.key_node, to=to.value if to else None)
        elif not isinstance(self.resolver.obj(options), ir.Made):
            yield Site(via, call, ir.Member(arg, ir.Opaque(arg, "options"), "From"), arg)

    def _dial(self, node: Node) -> Site | None:
        positional, keywords = self._arguments(node)
        init = self._initializer(node)
        value: Node | None = None
        where: Node | None = None
        for key in CALLER_ID:
            if key in keywords:
                value = where = keywords[key]
            elif key in init:
                where, value = init[key]
        number = keywords.get("number")
        opaque = False
        for arg in positional:
            expr = self.expr(arg)
            if self.is_made(expr, "Dial"):
                return None  # response.Dial(dial) appends the Dial built before
            if arg.type == "anonymous_object_creation_expression":
                entry = _anonymous(arg).get("callerId")
                if entry is not None:
                    where, value = entry
                continue
            if number is None:
                number = arg
        if value is None and node.type == "invocation_expression" and len(positional) == 1:
            target = self.resolver.obj(self.expr(positional[0]))
            opaque = isinstance(target, ir.Opaque) and "dial" in text(positional[0]).lower()
        value_expr = self.expr(value) if value is not None else None
        later = self._set_later(node) if value is None else None
        if later is not None:  # var dial = new Dial(); dial.CallerId = x;
            value_expr, where = later.value(), later.key_node
        return Site(
            Via.DIAL.value,
            node,
            value_expr,
            where,
            to=self.expr(number) if number is not None else None,
            nouns=self._nouns(node),
            opaque=opaque,
        )

    def _set_later(self, dial: Node) -> ir.Binding | None:
        """The last `dial.CallerId = x` on the variable a new Dial is kept in, before the
        variable is bound again (the property is the attribute: twilio-csharp's TwiML)."""
        name = _bound_name(dial)
        if not name or dial.type != "object_creation_expression":
            return None
        until = self.bound_until(name, dial)
        sets = [
            b
            for key in CALLER_ID
            for b in self.resolver.bindings(f"{name}.{key}")
            if dial.end_byte < b.pos < until
        ]
        return max(sets, key=lambda b: b.pos) if sets else None

    def _nouns(self, dial: Node) -> list[tuple[str, ir.Expr | None]]:
        nouns: list[tuple[str, ir.Expr | None]] = []
        node = dial
        while node.parent is not None and node.parent.type == "member_access_expression":
            outer = node.parent.parent
            if outer is None or outer.type != "invocation_expression":
                break
            noun = text(field(node.parent, "name")).lower()
            if noun in NOUNS:
                nouns.append((noun, self._first(outer)))
            node = outer
        name = _bound_name(dial)
        if not name:
            return nouns
        receiver = lambda c: field(field(c, "function"), "expression")  # noqa: E731
        for call in self.calls_on(NOUN_CALLS, receiver, name, dial):
            function = field(call, "function")
            noun = text(field(function, "name")).lower()
            first = self._first(call)
            if noun == "append":  # dial.Append(new Client("x"))
                positional, _ = self._arguments(call)
                made = positional[0] if positional else None
                if made is not None and made.type == "object_creation_expression":
                    noun = text(field(made, "type")).rsplit(".", 1)[-1].lower()
                    first = self._first(made)
            if noun in NOUNS:
                nouns.append((noun, first))
        return nouns

    def _first(self, call: Node) -> ir.Expr | None:
        positional, keywords = self._arguments(call)
        first = positional[0] if positional else next(iter(keywords.values()), None)
        return self.expr(first) if first is not None else None

    string_query = STRINGS
    concat_types = frozenset(("binary_expression",))
    either_ops = frozenset(("??",))
    ternary_type = "conditional_expression"
    wrapper_types: ClassVar[Mapping[str, int]] = {
        "parenthesized_expression": -1,
        "await_expression": -1,
        "cast_expression": -1,
        "postfix_unary_expression": -1,
    }

    def in_assertion(self, node: Node) -> bool:
        return _in_assertion(node)

    # ------------------------------------------------------------ expressions

    def expr(self, node: Node) -> ir.Expr:
        kind = node.type
        if kind == "string_literal":
            parts = named(node)
            if any(p.type not in ("string_literal_content", "escape_sequence") for p in parts):
                return ir.Opaque(node)
            return ir.Lit(node, "".join(fragment_text(p) for p in parts))
        if kind == "verbatim_string_literal":
            return ir.Lit(node, text(node)[2:-1].replace('""', '"'))
        if kind == "interpolated_string_expression":
            pieces: list[ir.Expr] = []
            for child in named(node):
                if child.type == "string_content":
                    pieces.append(ir.Lit(child, text(child)))
                elif child.type == "interpolation":
                    inner = [c for c in named(child) if c.type != "interpolation_brace"]
                    pieces.append(self.expr(inner[0]) if inner else ir.Opaque(child))
            return ir.Concat(node, tuple(pieces), template=True)
        if kind == "integer_literal":
            return ir.Lit(node, text(node).rstrip("lL"))
        if kind == "null_literal":
            return ir.Null(node)
        if kind == "identifier":
            return ir.Ref(node, text(node))
        if kind == "member_access_expression":
            obj, name = field(node, "expression"), field(node, "name")
            if obj is None or name is None:
                return ir.Opaque(node)
            if obj.type == "this_expression" or obj.type == "this":
                return ir.Ref(node, f"this.{text(name)}")
            return ir.Member(node, self.expr(obj), text(name))
        if kind == "element_access_expression":
            obj, sub = field(node, "expression"), field(node, "subscript")
            args = named(sub) if sub is not None else []
            key_node = named(args[0])[0] if args and named(args[0]) else None
            key = self.expr(key_node) if key_node is not None else None
            if obj is None or not isinstance(key, ir.Lit):
                return ir.Opaque(node)
            holder = text(obj)
            if _CONFIG.search(holder):
                return ir.Config(node, key.value)
            return ir.Member(node, self.expr(obj), key.value)
        if kind == "object_creation_expression":
            made = text(field(node, "type")).rsplit(".", 1)[-1]
            positional, _ = self._arguments(node)
            if made in _WRAPPERS and positional:
                return self.expr(positional[0])
            return ir.Made(node, made)
        if kind == "invocation_expression":
            return self._call(node)
        if (shaped := self.operator_expr(node)) is not None:
            return shaped
        return ir.Opaque(node)

    def _call(self, node: Node) -> ir.Expr:
        function = field(node, "function")
        positional, _keywords = self._arguments(node)
        callee = text(function)
        first = self.expr(positional[0]) if positional else None
        key = first.value if isinstance(first, ir.Lit) else None
        if callee.endswith("Environment.GetEnvironmentVariable") and key is not None:
            return ir.Env(node, key)
        if callee in ("string.Format", "String.Format") and key is not None:
            return formatted(node, key, [self.expr(a) for a in positional[1:]], _FORMAT_HOLE)
        if function is not None and function.type == "member_access_expression":
            name = text(field(function, "name"))
            obj = field(function, "expression")
            if name in _CONVERSIONS and obj is not None:
                return self.expr(obj)
            if name.lower() in (*NOUNS, "append") and obj is not None:
                inner = self.expr(obj)
                if isinstance(inner, ir.Made) and inner.what == "Dial":
                    return inner  # new Dial().Conference(…): the Dial, built fluently
            if key is not None and (name.startswith("GetValue") or name == "GetSection"):
                return ir.Config(node, key)
        if function is not None and function.type == "generic_name":
            return ir.Opaque(node, "call")
        return ir.Opaque(node, "call")

    # --------------------------------------------------------------- bindings

    def bindings(self) -> Iterable[ir.Binding]:
        found = captures(self.grammar, BINDINGS, self.root)
        end = self.root.end_byte + 1
        local = _locals(found, end)
        for bind in found.get("bind", []):
            if bind.type == "variable_declarator":
                name = field(bind, "name")
                value = next(
                    (c for c in named(bind) if c != name and c.type != "bracketed_argument_list"),
                    None,
                )
                if name is None or value is None:
                    continue
                start, stop = scope_of(bind, _SCOPES, end)
                yield ir.Binding(
                    text(name), bind.start_byte, start, stop, partial(self.expr, value)
                )
                continue
            left, right = field(bind, "left"), field(bind, "right")
            if left is None or right is None or bind.parent is None:
                continue
            if bind.parent.type == "initializer_expression":
                continue
            start, stop = 0, end  # a field set in a constructor is seen by every method
            label = text(left)
            scope = scope_of(bind, _SCOPES, end)
            if left.type == "identifier":  # a local of an enclosing method, else a field
                start, stop = lexical_scope(bind, label, _SCOPES, local, end)
            if left.type == "member_access_expression":
                label = label.removeprefix("this.")
                holder = label.split(".", 1)[0]
                if label.count(".") == 1 and (scope[0], holder) in local:
                    start, stop = scope  # options.From = x on a local options object
                    yield ir.Binding(
                        label, bind.start_byte, start, stop, partial(self.expr, right), left
                    )
                    continue
                if "." in label:
                    continue
                start, stop = 0, end
            elif left.type != "identifier":
                continue
            yield ir.Binding(label, bind.start_byte, start, stop, partial(self.expr, right))
        for prop in found.get("property", []):
            name, value = field(prop, "name"), field(prop, "value")
            if name is not None and value is not None:
                yield ir.Binding(text(name), prop.start_byte, 0, end, partial(self.expr, value))
        for params in found.get("params", []):
            owner = params.parent or params
            for param in named(params):
                name = field(param, "name")
                if name is None:
                    continue
                bound: Callable[[], ir.Expr] = partial(ir.Opaque, name, "parameter")
                form = _form_field(param, owner)
                if form is not None:  # an action's `string From`: the form's From
                    bound = partial(ir.Request, name, form)
                yield ir.Binding(
                    text(name), param.start_byte, owner.start_byte, owner.end_byte, bound
                )


def _locals(found: dict[str, list[Node]], end: int) -> set[tuple[int, str]]:
    """(scope start, name) of every local variable and parameter: assigning one stays local."""
    names: set[tuple[int, str]] = set()
    for bind in found.get("bind", []):
        if bind.type == "variable_declarator":
            name = field(bind, "name")
            if name is not None and _is_local(bind):
                names.add((scope_of(bind, _SCOPES, end)[0], text(name)))
    for params in found.get("params", []):
        owner = params.parent or params
        for param in named(params):
            name = field(param, "name")
            if name is not None:
                names.add((owner.start_byte, text(name)))
    return names


def _is_local(declarator: Node) -> bool:
    return any(p.type == "local_declaration_statement" for p in ancestors(declarator))


def _anonymous(node: Node) -> dict[str, tuple[Node, Node]]:
    """`new { callerId = "+1…" }`: name → (where, value)."""
    entries: dict[str, tuple[Node, Node]] = {}
    parts = named(node)
    i = 0
    while i + 1 < len(parts):
        if parts[i].type == "identifier":
            entries[text(parts[i])] = (parts[i], parts[i + 1])
            i += 2
        else:
            i += 1
    return entries


_ACTION = re.compile(r"^(Http\w+|Route|AcceptVerbs)$")
_FROM_REQUEST = re.compile(r"^From(Form|Query)$")


def _attributes(node: Node) -> list[str]:
    return [
        text(field(a, "name") or named(a)[0]).rsplit(".", 1)[-1]
        for lst in named(node)
        if lst.type == "attribute_list"
        for a in named(lst)
        if a.type == "attribute" and named(a)
    ]


def _form_field(param: Node, method: Node) -> str | None:
    """The webhook parameter an action's argument is bound to (`string From`, or
    `[FromForm] string from` / `string from` on an `[HttpPost]` action: ASP.NET binds
    names without regard to case), else None."""
    name = text(field(param, "name"))
    if name in PASSTHROUGH_PARAMS:
        return name
    canonical = next((p for p in PASSTHROUGH_PARAMS if p.lower() == name.lower()), None)
    if canonical is None:
        return None
    if any(_FROM_REQUEST.match(a) for a in _attributes(param)):
        return canonical
    if method.type == "method_declaration" and any(_ACTION.match(a) for a in _attributes(method)):
        return canonical
    return None


def _bound_name(node: Node) -> str | None:
    parent = node.parent
    while parent is not None and parent.type in ("await_expression", "parenthesized_expression"):
        parent = parent.parent
    if parent is None:
        return None
    if parent.type == "variable_declarator":
        name = field(parent, "name")
        return text(name) if name is not None else None
    if parent.type == "assignment_expression":
        left = field(parent, "left")
        return text(left) if left is not None and left.type == "identifier" else None
    return None


def _in_assertion(node: Node) -> bool:
    for parent in ancestors(node):
        if parent.type == "invocation_expression":
            callee = text(field(parent, "function")).rsplit(".", 1)[-1]
            if callee.startswith(("Assert", "Should", "Equal", "Contains")) or "Assert" in text(
                field(parent, "function")
            ):
                return True
        if parent.type in _SCOPES:
            return False
    return False
