"""PHP (twilio-php 5+, the older Services_Twilio, and twilio.php 2.x).

Dial: `$response->dial($number, ['callerId' => …])`; an attributes array as the
first argument (`dial(array('callerId' => …))`) is meant as attributes too;
`new Dial($number, $attributes)` and 2.x `$response->addDial($to, $attributes)`.
Children: `->number(…)` chained or on the variable (2.x: `->append(new Client(…))`).
TwiML the file prints as its page (`?> <Dial callerId="<?php echo $x ?>">`) is read
like a string built in code, each `<?php echo $x ?>` a hole. Calls: twilio-php 5+
`$client->calls->create($to, $from, [options])`; 2.x `->request('Accounts/…/Calls', 'POST',
['From' => …])`; Services_Twilio
`$client->account->calls->create($from, $to, $url)`. Participants (5+):
`->participants->create($from, $to, [...])`. Values: `getenv`, `$_ENV`,
`env()`, `config()`; the request as `$_REQUEST['From']`, `$request->input('From')`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import partial

from auditor.extract.syntax import ir
from auditor.extract.syntax.base import NOUNS, Reader, Site, TwimlString, scope_of
from auditor.extract.syntax.resolve import Value
from auditor.extract.syntax.tree import Node, captures, field, named, text
from auditor.model import Via

CALLS = """
(member_call_expression
  object: (_) @receiver
  name: (name) @method
  (#any-of? @method "dial" "addDial" "create" "request")
  arguments: (arguments) @args) @call
(object_creation_expression
  [(name) (qualified_name)] @class
  (#match? @class "Dial$")
  (arguments) @args) @new
"""
NOUN_CALLS = """
(member_call_expression
  object: [(variable_name) (member_call_expression)] @receiver
  name: (name) @noun
  (#any-of? @noun "number" "client" "sip" "queue" "conference"
    "addNumber" "addClient" "addSip" "addQueue" "addConference" "append")
  arguments: (arguments) @args) @call
"""
BINDINGS = """
(assignment_expression left: (_) @name right: (_) @value) @bind
(const_element) @const
(property_element) @property
(formal_parameters) @params
"""
STRINGS = """
(encapsed_string) @string
(string) @string
(heredoc) @string
"""
# The page a PHP file prints around its code (`?> <Dial callerId="<?php echo $x ?>">`):
# its text, and what `<?php echo … ?>` / `<?= … ?>` print into it.
INLINE = """
(text) @text
(echo_statement) @echo
(expression_statement) @echo
"""
_MAX_REGION = 20_000  # bytes of page read after a <Dial: a tag and its nouns, not a document
CALLER_ID = ("callerId",)
_SCOPES = frozenset(
    {
        "function_definition",
        "method_declaration",
        "anonymous_function",
        "arrow_function",
        "anonymous_function_creation_expression",
    }
)
_WRAPPERS = frozenset({"strval", "trim", "htmlspecialchars", "urldecode", "stripslashes"})
_ENV = frozenset({"getenv", "env", "_env"})
_REQUEST_SUPERGLOBALS = frozenset({"$_REQUEST", "$_POST", "$_GET"})


class Php(Reader):
    name = "php"
    grammar = "php"
    hints = ("dial", "calls", "Calls", "articipants")

    def sites(self) -> Iterator[Site]:
        legacy = b"Services_Twilio" in self.data
        found = captures(self.grammar, CALLS, self.root)
        for new in found.get("new", []):  # new Dial($number, $attributes), twilio.php 2.x too
            parts = named(new)
            if not parts or text(parts[0]).rsplit("\\", 1)[-1] != "Dial":
                continue
            yield self._dial(new, _values(next((c for c in parts if c.type == "arguments"), None)))
        for call in found.get("call", []):
            method = text(field(call, "name"))
            receiver = field(call, "object")
            args = field(call, "arguments")
            if receiver is None or args is None:
                continue
            values = _values(args)
            if method in ("dial", "addDial"):  # addDial: the twilio.php 2.x Response
                yield self._dial(call, values)
                continue
            if method == "request":  # twilio.php 2.x: request('Accounts/…/Calls', 'POST', [...])
                yield from self._raw_request(call, values)
                continue
            if receiver.type != "member_access_expression":
                continue
            collection = text(field(receiver, "name"))
            if values and len(values) == 1 and values[0].type == "array_creation_expression":
                yield from self._options(call, values[0], collection, receiver)
            elif collection == "calls":
                # twilio-php 5+ takes (to, from, [options]); Services_Twilio (from, to, url)
                old = legacy or (len(values) > 2 and values[2].type != "array_creation_expression")
                yield from self._rest(call, values, Via.CALLS_API.value, 0 if old else 1)
            elif collection == "participants" and "conferences" in text(receiver):
                yield from self._rest(call, values, Via.CONFERENCE_PARTICIPANT.value, 0)

    def _options(self, call: Node, array: Node, collection: str, receiver: Node) -> Iterator[Site]:
        """`->calls->create(['to' => …, 'from' => …])`: everything in one array."""
        if collection == "calls":
            via = Via.CALLS_API.value
        elif collection == "participants" and "conferences" in text(receiver):
            via = Via.CONFERENCE_PARTICIPANT.value
        else:
            return
        options = self.expr(array)
        if not isinstance(options, ir.Obj) or "from" not in options.entries:
            return
        entry = options.entries["from"]
        to = options.entries.get("to")
        yield Site(via, call, entry.value, entry.key_node, to=to.value if to else None)

    def _raw_request(self, call: Node, values: list[Node]) -> Iterator[Site]:
        """A raw REST request that creates a call: its path ends in /Calls, its body has From."""
        if len(values) < 3 or values[2].type != "array_creation_expression":
            return
        path, verb = (text(v).strip("'\"") for v in values[:2])
        if verb.upper() != "POST" or not path.removesuffix(".json").endswith("/Calls"):
            return
        options = self.expr(values[2])
        if isinstance(options, ir.Obj) and "From" in options.entries:
            entry, to = options.entries["From"], options.entries.get("To")
            target = to.value if to else None
            yield Site(Via.CALLS_API.value, call, entry.value, entry.key_node, to=target)

    def _rest(self, call: Node, values: list[Node], via: str, from_index: int) -> Iterator[Site]:
        if len(values) <= from_index:
            return
        to_index = 1 - from_index
        to = self.expr(values[to_index]) if len(values) > to_index else None
        value = values[from_index]
        yield Site(via, call, self.expr(value), value, to=to)

    def _dial(self, call: Node, values: list[Node]) -> Site:
        number: ir.Expr | None = None
        entry: ir.Entry | None = None
        opaque = False
        for value in values:
            expr = self.expr(value)
            found, is_options, spread = self.option(expr, CALLER_ID, call)
            if is_options:
                entry = found or entry
                opaque = opaque or spread
                continue
            if isinstance(expr, ir.Ref) and "attr" in expr.name.lower():
                opaque = True
                continue
            if number is None and not _blank(expr):
                number = expr
        return Site(
            Via.DIAL.value,
            call,
            entry.value if entry else None,
            entry.key_node if entry else None,
            to=number,
            nouns=self._nouns(call),
            opaque=opaque,
        )

    def _nouns(self, dial: Node) -> list[tuple[str, ir.Expr | None]]:
        nouns: list[tuple[str, ir.Expr | None]] = []
        node = dial
        while node.parent is not None and node.parent.type == "member_call_expression":
            outer = node.parent
            if field(outer, "object") != node:
                break
            noun = text(field(outer, "name"))
            if noun in NOUNS:
                nouns.append((noun, self._first(outer)))
            node = outer
        name = _bound_name(dial)
        if name:
            for call in self.calls_on(NOUN_CALLS, _setter_receiver, name, dial):
                noun = text(field(call, "name")).removeprefix("add").lower()
                first = self._first(call)
                if noun == "append":  # $dial->append(new Client($to)): twilio.php 2.x
                    made = self._first_node(call)
                    parts = named(made) if made is not None else []
                    if made is None or made.type != "object_creation_expression" or not parts:
                        continue
                    noun = text(parts[0]).rsplit("\\", 1)[-1].lower()
                    first = self._first(made)
                if noun in NOUNS:
                    nouns.append((noun, first))
        return nouns

    def _first(self, call: Node) -> ir.Expr | None:
        args = field(call, "arguments")
        values = [_arg_value(a) for a in named(args)] if args is not None else []
        first = next((v for v in values if v is not None), None)
        return self.expr(first) if first is not None else None

    string_query = STRINGS
    concat_types = frozenset(("binary_expression", "parenthesized_expression"))

    def twiml_strings(self) -> Iterator[TwimlString]:
        """Strings in the code, then TwiML the file prints as its page around `<?php ?>` tags.

        The page is read from a `<Dial` to its `</Dial>` as written; each `<?php echo $x ?>`
        in it is a hole with the value of `$x`.
        """
        yield from super().twiml_strings()
        found = captures(self.grammar, INLINE, self.root)
        echoes = sorted(found.get("echo", []), key=lambda n: n.start_byte)
        done = 0
        for node in sorted(found.get("text", []), key=lambda n: n.start_byte):
            body = (node.text or b"").lower()
            at = body.find(b"<dial")
            while at >= 0:
                begin = node.start_byte + at
                if begin >= done:
                    done = self._region_end(begin)
                    yield self._page(begin, done, echoes)
                at = body.find(b"<dial", max(at + 1, done - node.start_byte))

    def _page(self, begin: int, stop: int, echoes: list[Node]) -> TwimlString:
        holes: dict[str, Value] = {}
        for echo in echoes:
            shown = named(echo)
            if begin <= echo.start_byte < stop and shown:
                holes[text(shown[0]).replace(" ", "")] = self.resolver.value(self.expr(shown[0]))
        first = self.data.count(b"\n", 0, begin) + 1
        return TwimlString(first, False, self.data[begin:stop].decode("utf-8", "replace"), holes)

    def _region_end(self, begin: int) -> int:
        """Where the Dial that starts at `begin` ends (its `</Dial>`), bounded."""
        window = self.data[begin : begin + _MAX_REGION]
        close = window.lower().find(b"</dial")
        if close < 0:
            tag_end = window.find(b">")
            return begin + (tag_end + 1 if tag_end >= 0 else len(window))
        end = window.find(b">", close)
        return begin + (end + 1 if end >= 0 else len(window))

    # ------------------------------------------------------------ expressions

    def expr(self, node: Node) -> ir.Expr:
        kind = node.type
        if kind in ("string", "encapsed_string", "heredoc", "nowdoc"):
            return self._string(node)
        if kind == "integer":
            return ir.Lit(node, text(node))
        if kind == "null":
            return ir.Null(node)
        if kind == "variable_name":
            return ir.Ref(node, text(node))
        if kind == "name":
            return ir.Ref(node, text(node))
        if kind == "class_constant_access_expression":
            parts = named(node)
            return ir.Ref(node, text(parts[-1])) if parts else ir.Opaque(node)
        if kind in ("member_access_expression", "nullsafe_member_access_expression"):
            obj, name = field(node, "object"), field(node, "name")
            if obj is None or name is None:
                return ir.Opaque(node)
            if text(obj) == "$this":
                return ir.Ref(node, f"$this->{text(name)}")
            return ir.Member(node, self.expr(obj), text(name))
        if kind == "subscript_expression":
            parts = named(node)
            if len(parts) != 2:
                return ir.Opaque(node)
            obj, index = parts
            key = self._key(index)
            if key is None:
                return ir.Opaque(node)
            holder = text(obj)
            if holder in ("$_ENV", "$_SERVER"):
                return ir.Env(node, key)
            if holder in _REQUEST_SUPERGLOBALS:
                return ir.Request(node, key)
            return ir.Member(node, self.expr(obj), key)
        if kind == "function_call_expression":
            return self._call(node)
        if kind in ("member_call_expression", "nullsafe_member_call_expression"):
            method = text(field(node, "name"))
            obj = field(node, "object")
            first = self._first_node(node)
            key = self._key(first) if first is not None else None
            if obj is not None and key is not None and method in ("input", "get", "post", "query"):
                return ir.Member(node, self.expr(obj), key)
            if obj is not None and method in ("getParsedBody", "getQueryParams", "all"):
                return ir.Member(node, self.expr(obj), "body")  # $request->getParsedBody()['From']
            return ir.Opaque(node, "call")
        if kind == "binary_expression":
            op = text(field(node, "operator"))
            left, right = field(node, "left"), field(node, "right")
            if left is None or right is None:
                return ir.Opaque(node)
            if op == ".":
                return self.joined(node, left, right)
            if op in ("??", "?:", "or", "||"):
                return ir.Either(node, self.expr(left), self.expr(right))
            return ir.Opaque(node)
        if kind == "conditional_expression":
            body, alt = field(node, "body"), field(node, "alternative")
            cond = field(node, "condition")
            if body is None and cond is not None and alt is not None:
                return ir.Either(node, self.expr(cond), self.expr(alt))
            return ir.Choice(node, tuple(self.expr(o) for o in (body, alt) if o is not None))
        if kind == "parenthesized_expression":
            inner = named(node)
            return self.expr(inner[0]) if inner else ir.Opaque(node)
        if kind == "array_creation_expression":
            return self._array(node)
        if kind == "object_creation_expression":
            parts = named(node)
            made = text(parts[0]).rsplit("\\", 1)[-1] if parts else ""
            return ir.Made(node, made)
        return ir.Opaque(node)

    def _first_node(self, call: Node) -> Node | None:
        args = field(call, "arguments")
        values = [_arg_value(a) for a in named(args)] if args is not None else []
        return next((v for v in values if v is not None), None)

    def _key(self, node: Node | None) -> str | None:
        if node is None:
            return None
        key = self.expr(node)
        return key.value if isinstance(key, ir.Lit) else None

    def _string(self, node: Node) -> ir.Expr:
        parts: list[ir.Expr] = []
        holes = False
        for child in named(node):
            if child.type in ("string_content", "string_value", "heredoc_body", "nowdoc_body"):
                inner = named(child)
                if inner and child.type == "heredoc_body":
                    for piece in inner:
                        if piece.type == "string_content":
                            parts.append(ir.Lit(piece, text(piece)))
                        elif piece.type != "heredoc_start":
                            holes = True
                            parts.append(self.expr(piece))
                    continue
                parts.append(ir.Lit(child, text(child)))
            elif child.type == "escape_sequence":
                parts.append(ir.Lit(child, text(child)[1:]))
            elif child.type in ("heredoc_start", "heredoc_end", "nowdoc_string"):
                continue
            else:
                holes = True
                parts.append(self.expr(child))
        if holes:
            return ir.Concat(node, tuple(parts), template=True)
        return ir.Lit(node, "".join(p.value for p in parts if isinstance(p, ir.Lit)))

    def _call(self, node: Node) -> ir.Expr:
        function = text(field(node, "function")).lstrip("\\")
        first = self._first_node(node)
        values = _values(field(node, "arguments"))
        key = self._key(first) if first is not None else None
        if function in _ENV and key is not None:
            default = self.expr(values[1]) if len(values) > 1 else None
            return ir.Env(node, key, default)
        if function == "config" and key is not None:
            default = self.expr(values[1]) if len(values) > 1 else None
            return ir.Config(node, key, default)
        if function in _WRAPPERS and first is not None:
            return self.expr(first)
        return ir.Opaque(node, "call")

    def _array(self, node: Node) -> ir.Obj:
        entries: dict[str, ir.Entry] = {}
        opaque = False
        for element in named(node):
            parts = named(element)
            if element.type != "array_element_initializer":
                continue
            if len(parts) == 2:
                key = self._key(parts[0])
                if key is not None:
                    entries[key] = ir.Entry(element, self.expr(parts[1]))
            elif parts and parts[0].type == "variadic_unpacking":
                opaque = True
        return ir.Obj(node, entries, opaque)

    # --------------------------------------------------------------- bindings

    def bindings(self) -> Iterable[ir.Binding]:
        found = captures(self.grammar, BINDINGS, self.root)
        end = self.root.end_byte + 1
        for bind in found.get("bind", []):
            left, right = field(bind, "left"), field(bind, "right")
            if left is None or right is None:
                continue
            start, stop = scope_of(bind, _SCOPES, end)
            pos = bind.start_byte
            if left.type == "variable_name":
                yield ir.Binding(text(left), pos, start, stop, partial(self.expr, right))
            elif left.type == "member_access_expression" and text(field(left, "object")) == "$this":
                label = f"$this->{text(field(left, 'name'))}"
                yield ir.Binding(label, pos, 0, end, partial(self.expr, right), left)
            elif left.type == "subscript_expression":  # $attrs['callerId'] = $x
                parts = named(left)
                key = self._key(parts[1]) if len(parts) == 2 else None
                if key is not None and parts[0].type == "variable_name":
                    yield ir.Binding(
                        f"{text(parts[0])}.{key}",
                        pos,
                        start,
                        stop,
                        partial(self.expr, right),
                        left,
                    )
        for const in found.get("const", []):
            parts = named(const)
            if len(parts) == 2:
                yield ir.Binding(
                    text(parts[0]), const.start_byte, 0, end, partial(self.expr, parts[1])
                )
        for prop in found.get("property", []):
            name = next((c for c in named(prop) if c.type == "variable_name"), None)
            value = field(prop, "default_value") or (
                named(prop)[-1] if len(named(prop)) > 1 else None
            )
            if name is not None and value is not None and value != name:
                label = "$this->" + text(name).lstrip("$")
                yield ir.Binding(label, prop.start_byte, 0, end, partial(self.expr, value))
        for params in found.get("params", []):
            owner = params.parent or params
            for param in named(params):
                name = field(param, "name")
                if name is not None:
                    yield ir.Binding(
                        text(name),
                        param.start_byte,
                        owner.start_byte,
                        owner.end_byte,
                        partial(ir.Opaque, name, "parameter"),
                    )
        for call in captures(
            self.grammar,
            '(function_call_expression function: (name) @f (#eq? @f "define")) @define',
            self.root,
        ).get("define", []):
            values = _values(field(call, "arguments"))
            key = self._key(values[0]) if values else None
            if key is not None and len(values) > 1:
                yield ir.Binding(key, call.start_byte, 0, end, partial(self.expr, values[1]))


def _values(args: Node | None) -> list[Node]:
    """The argument expressions of a call (named or not)."""
    return [v for v in (_arg_value(a) for a in named(args)) if v is not None]


def _arg_value(arg: Node) -> Node | None:
    if arg.type != "argument":
        return arg if "comment" not in arg.type else None
    parts = [c for c in named(arg) if c.type != "name" or len(named(arg)) == 1]
    return parts[-1] if parts else None


def _blank(expr: ir.Expr) -> bool:
    return isinstance(expr, ir.Null) or (isinstance(expr, ir.Lit) and not expr.value.strip())


def _setter_receiver(call: Node) -> Node | None:
    """The variable a call is made on, through setters (`$dial->setMethod('POST')->client($to)`:
    twilio-php's `set…` methods return the element they set)."""
    node = field(call, "object")
    while node is not None and node.type == "member_call_expression":
        if not text(field(node, "name")).startswith("set"):
            return None
        node = field(node, "object")
    return node


def _bound_name(call: Node) -> str | None:
    parent = call.parent
    if parent is not None and parent.type == "assignment_expression":
        left = field(parent, "left")
        return text(left) if left is not None and left.type == "variable_name" else None
    return None
