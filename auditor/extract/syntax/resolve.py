"""Give an expression a value: follow names, read the environment, stop at run time.

No interpreter: a literal is read, a name is followed to its binding in the
file (innermost scope, the last assignment before the use), a member of an
object literal is looked up, a module of the project is opened when code
imports its value, an environment read is looked up in the `.env` files or
the Function's environment, a request parameter is the call's own From/To
(pass-through) or a run-time value, and anything else is a run-time value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from auditor.extract.syntax import ir
from auditor.extract.syntax.tree import Node, text
from auditor.extract.values import Classified, classify
from auditor.model import RefKind, ValueSource

MAX_DEPTH = 12
MAX_RAW = 200
PASSTHROUGH_PARAMS = frozenset({"From", "To", "Caller", "Called"})
# Object names whose members are the incoming request's parameters.
REQUEST_NAMES = frozenset(
    {
        "req",
        "request",
        "event",
        "params",
        "body",
        "query",
        "form",
        "values",
        "args",
        "POST",
        "GET",
        "REQUEST",
        "input",
        "payload",
        "Form",
        "QueryString",
        "_REQUEST",
        "_POST",
        "_GET",
    }
)
_ENV_NAMES = frozenset({"env", "ENV", "environ", "environment", "Environment", "dotenv"})
_CONFIG_WORDS = re.compile(
    r"config|settings|conf$|cfg|secrets|credentials|options|appsettings", re.I
)


class Project(Protocol):
    """What lies outside the file: environment files, configuration, other modules."""

    def env(self, name: str) -> tuple[str, str] | None: ...  # (value, where) or None

    def config(self, key: str) -> tuple[str, str] | None: ...

    def module(self, spec: str) -> Resolver | None: ...


class NoProject:
    """A file on its own (a Function's code, a test snippet)."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self._env = env or {}

    def env(self, name: str) -> tuple[str, str] | None:
        value = self._env.get(name)
        return (value, "") if value is not None else None

    def config(self, key: str) -> tuple[str, str] | None:
        return None

    def module(self, spec: str) -> Resolver | None:
        return None


@dataclass
class Value:
    """An expression's value as far as the code decides it."""

    raw: str  # CallerIdReference.raw_value
    classified: Classified
    source: str  # ValueSource value
    resolved_from: str | None = None
    notes: list[str] = field(default_factory=list)
    env_names: set[str] = field(default_factory=set)  # environment names read on the way
    prefix: str = ""  # fixed text a run-time value starts with ('client:' + name)

    @property
    def literal(self) -> bool:
        return self.source == ValueSource.LITERAL

    @property
    def decided(self) -> bool:
        """A value the code fixes (a non-empty literal, a resolved env value) or pass-through."""
        if self.classified.passthrough:
            return True
        kind = self.classified.kind
        return kind not in (RefKind.EMPTY, RefKind.TEMPLATE)


def _raw(node: Node | None, fallback: str = "") -> str:
    value = re.sub(r"\s+", " ", text(node)).strip() if node is not None else fallback
    return value if len(value) <= MAX_RAW else value[: MAX_RAW - 3] + "..."


def runtime(expr: ir.Expr, source: str = ValueSource.RUNTIME.value, **kw: object) -> Value:
    raw = _raw(expr.node)
    return Value(raw, Classified(RefKind.TEMPLATE.value, template=raw), source, **kw)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Foreign(ir.Expr):
    """An expression of another file (a project module), resolved there."""

    resolver: Resolver
    inner: ir.Expr


class Resolver:
    """Values of expressions in one file."""

    def __init__(
        self,
        to_expr: Callable[[Node], ir.Expr],
        bindings: Callable[[], Iterable[ir.Binding]],
        project: Project,
        *,
        missing_env_is_empty: bool = False,
        root: Node | None = None,
    ) -> None:
        self.expr = to_expr
        self.root = root
        self._bindings_of = bindings
        self._bindings: dict[str, list[ir.Binding]] | None = None
        self.project = project
        self.missing_env_is_empty = missing_env_is_empty
        # False when the request is not Twilio's webhook (a Function the Flex UI calls with a
        # Flex token): its From/To are parameters the caller chose, not the call's own number.
        self.request_is_webhook = True

    # ----------------------------------------------------------------- bindings

    def bindings(self, name: str) -> list[ir.Binding]:
        if self._bindings is None:
            index: dict[str, list[ir.Binding]] = {}
            for b in self._bindings_of():
                index.setdefault(b.name, []).append(b)
            self._bindings = index
        return self._bindings.get(name, [])

    def binding(self, name: str, at: int) -> ir.Binding | None:
        """The binding of `name` seen at byte `at`: innermost scope, last one before `at`."""
        visible = [b for b in self.bindings(name) if b.scope_start <= at < b.scope_end]
        if not visible:
            return None
        inner = max(visible, key=lambda b: b.scope_start)
        same = sorted((b for b in visible if b.scope_start == inner.scope_start), key=_pos)
        before = [b for b in same if b.pos < at]
        return before[-1] if before else same[0]

    def _guard(self, binding: ir.Binding) -> tuple[int, int] | None:
        """The branch (`if`, `else`, `case`, `catch` …) a binding is made in, inside its scope."""
        if self.root is None:
            return None
        node = self.root.descendant_for_byte_range(binding.pos, binding.pos)
        while node is not None and node.start_byte >= binding.scope_start:
            if node.type in _BRANCHES:
                return node.start_byte, node.end_byte
            node = node.parent
        return None

    def follow(self, ref: ir.Ref, at: int | None = None) -> ir.Expr | None:
        pos = at if at is not None else (ref.node.start_byte if ref.node is not None else 0)
        name = ref.name
        found = self.binding(name, pos)
        if found is None:
            for prefix in ("self.", "this.", "$this->", "@", "this->"):
                if name.startswith(prefix):  # a field: its declaration in the class
                    name = name[len(prefix) :]
                    found = self.binding(name, pos)
                    break
        if found is None:
            return None
        guard = self._guard(found) if found.pos < pos else None
        if guard is not None and not guard[0] <= pos < guard[1]:
            # `x = a; if (…) { x = b }` then a use of x after the branch: a or b, at run time
            earlier = [
                b
                for b in self.bindings(name)
                if b.scope_start == found.scope_start and b.pos < found.pos
            ]
            if earlier:
                last = max(earlier, key=_pos)
                return ir.Choice(ref.node, (last.value(), found.value()))
        return found.value()

    # ------------------------------------------------------------------ objects

    def obj(self, expr: ir.Expr, depth: int = 0) -> ir.Expr:
        """Follow names until something that is not a name (an object, a module, …)."""
        while isinstance(expr, ir.Ref) and depth < MAX_DEPTH:
            target = self.follow(expr)
            if target is None:
                return ir.Opaque(expr.node, "unbound")
            expr = target
            depth += 1
        if isinstance(expr, ir.Member) and depth < MAX_DEPTH:
            inner = self.member(expr, depth + 1)
            if inner is not None:
                return self.obj(inner, depth + 1)
        if isinstance(expr, ir.Module) and expr.member not in (None, "default"):
            other = self.project.module(expr.spec)
            found = other.exported(expr.member) if other is not None else None
            if found is not None:
                return Foreign(None, other, found)  # type: ignore[arg-type]
        return expr

    def member(self, expr: ir.Member, depth: int = 0) -> ir.Expr | None:
        """What `obj.key` is bound to, when the file or the project says."""
        chain = _chain(expr.obj)
        if chain:  # app.config['X'] = …, opts.callerId = …
            at = expr.node.start_byte if expr.node is not None else 0
            assigned = self.binding(f"{chain}.{expr.key}", at)
            if assigned is not None:
                return assigned.value()
        target = self.obj(expr.obj, depth + 1)
        if isinstance(target, Foreign):
            inner = target.resolver.member(ir.Member(expr.node, target.inner, expr.key), depth + 1)
            return Foreign(None, target.resolver, inner) if inner is not None else None
        if isinstance(target, ir.Obj):
            entry = target.entries.get(expr.key)
            return entry.value if entry is not None else None
        if isinstance(target, ir.Module):
            other = self.project.module(target.spec)
            if other is None:
                return None
            found = other.exported(expr.key)
            return Foreign(None, other, found) if found is not None else None
        return None

    def option(
        self, expr: ir.Expr, keys: Iterable[str], at: int
    ) -> tuple[ir.Entry | None, bool, bool]:
        """The entry for one of `keys` in an options argument: (entry, is_options, opaque).

        Follows a name to the object it holds and to `name.key = …` assignments made
        before `at` (the call that receives it).
        """
        wanted = tuple(keys)
        name = expr.name if isinstance(expr, ir.Ref) else None
        target = self.obj(expr)
        entry: ir.Entry | None = None
        is_options = isinstance(target, ir.Obj)
        if isinstance(target, ir.Obj):
            entry = next((target.entries[k] for k in wanted if k in target.entries), None)
        if name is not None:
            for key in wanted:
                assigned = self.binding(f"{name}.{key}", at)
                if assigned is not None and (entry is None or _after(assigned, entry)):
                    entry = ir.Entry(assigned.key_node, assigned.value())
                    is_options = True
        opaque = isinstance(target, ir.Obj) and target.opaque
        return entry, is_options, opaque

    def exported(self, name: str) -> ir.Expr | None:
        """A module-level name of this file, as another file imports it."""
        for candidate in (name, f"exports.{name}", f"module.exports.{name}"):
            found = [b for b in self.bindings(candidate) if b.scope_start == 0]
            if found:
                return found[-1].value()
        for b in self.bindings("module.exports"):  # module.exports = { … } or = cfg
            entry, _, _ = self.option(b.value(), (name,), b.scope_end - 1)
            if entry is not None:
                return entry.value
        return None

    # ------------------------------------------------------------------- values

    def value(self, expr: ir.Expr, depth: int = 0) -> Value:
        if depth > MAX_DEPTH:
            return runtime(expr)
        method = _VALUE.get(type(expr))
        if method is None:
            return runtime(expr)
        return method(self, expr, depth)

    def _lit(self, expr: ir.Lit, depth: int) -> Value:
        return Value(expr.value, classify(expr.value), ValueSource.LITERAL.value)

    def _null(self, expr: ir.Null, depth: int) -> Value:
        raw = _raw(expr.node, "null")
        return Value(raw, classify("null"), ValueSource.LITERAL.value)

    def _ref(self, expr: ir.Ref, depth: int) -> Value:
        target = self.follow(expr)
        if target is None:
            return runtime(expr)
        found = self.value(target, depth + 1)
        if found.literal and not found.notes:
            found.notes.append(f"{expr.name} resolved from its assignment in the file")
        return found

    def _member(self, expr: ir.Member, depth: int) -> Value:
        if _is_request(expr.obj):
            return self.value(ir.Request(expr.node, expr.key), depth + 1)
        if isinstance(expr.obj, ir.Config):  # credentials.twilio[:caller_id]
            key = f"{expr.obj.key}.{expr.key}" if expr.obj.key else expr.key
            return self.value(ir.Config(expr.node, key), depth + 1)
        target = self.member(expr, depth)
        if target is not None:
            return self.value(target, depth + 1)
        root = _root_name(expr)
        if root.lstrip("$@_") in _ENV_NAMES and isinstance(expr.obj, ir.Ref):  # env.CALLER_ID
            return self.value(ir.Env(expr.node, expr.key), depth + 1)
        if root and (_CONFIG_WORDS.search(root) or _CONFIG_WORDS.search(_chain(expr))):
            return self.value(ir.Config(expr.node, _chain(expr, with_root=False)), depth + 1)
        return runtime(expr)

    def _env(self, expr: ir.Env, depth: int) -> Value:
        origin = f"context.{expr.name}" if expr.origin == "context" else f"env:{expr.name}"
        found = self.project.env(expr.name)
        if found is not None:
            value, where = found
            result = Value(value, classify(value), ValueSource.ENV.value, resolved_from=origin)
            if where:
                result.notes.append(f"{origin} = {value!r} ({where})")
            result.env_names.add(expr.name)
            return result
        if expr.default is not None:
            fallback = self.value(expr.default, depth + 1)
            if fallback.literal and fallback.classified.kind != RefKind.EMPTY:
                fallback.resolved_from = f"{origin} (default)"
                fallback.source = ValueSource.ENV.value
                fallback.env_names.add(expr.name)
                return fallback
        raw = _raw(expr.node)
        if self.missing_env_is_empty:
            return Value(
                raw,
                Classified(RefKind.EMPTY.value, template=raw),
                ValueSource.ENV.value,
                notes=[f"{raw} is not set in the environment: the callerId is undefined"],
                env_names={expr.name},
            )
        return Value(
            raw,
            Classified(RefKind.TEMPLATE.value, template=raw),
            ValueSource.ENV.value,
            env_names={expr.name},
        )

    def _config(self, expr: ir.Config, depth: int) -> Value:
        found = self.project.config(expr.key) if expr.key else None
        if found is None and expr.key:  # settings read from the environment (pydantic, …)
            found = self.project.env(re.sub(r"[^A-Za-z0-9]+", "_", expr.key).upper())
        if found is not None:
            value, where = found
            result = Value(
                value, classify(value), ValueSource.CONFIG.value, resolved_from=f"config:{expr.key}"
            )
            if where:
                result.notes.append(f"config {expr.key} = {value!r} ({where})")
            return result
        if expr.default is not None:
            fallback = self.value(expr.default, depth + 1)
            if fallback.literal and fallback.classified.kind != RefKind.EMPTY:
                fallback.resolved_from = f"config:{expr.key} (default)"
                fallback.source = ValueSource.CONFIG.value
                return fallback
        return runtime(expr, ValueSource.CONFIG.value)

    def _request(self, expr: ir.Request, depth: int) -> Value:
        raw = _raw(expr.node)
        if expr.param in PASSTHROUGH_PARAMS and self.request_is_webhook:
            return Value(
                raw,
                Classified(RefKind.TEMPLATE.value, passthrough=True, template=raw),
                ValueSource.PASSTHROUGH.value,
            )
        return runtime(expr)

    def _concat(self, expr: ir.Concat, depth: int) -> Value:
        holes = [p for p in expr.parts if not isinstance(p, ir.Lit)]
        fixed = "".join(p.value for p in expr.parts if isinstance(p, ir.Lit))
        if expr.template and len(holes) == 1 and not fixed.strip():  # `${context.X}`
            inner = self.value(holes[0], depth + 1)
            if inner.decided:
                return inner
            keep = inner.source in (ValueSource.ENV, ValueSource.CONFIG)
            source = inner.source if keep else ValueSource.RUNTIME.value
            return runtime(expr, source, env_names=inner.env_names)
        values = [self.value(p, depth + 1) for p in expr.parts]
        names = {n for v in values for n in v.env_names}
        if all(v.literal for v in values):
            joined = "".join(v.raw for v in values)
            return Value(joined, classify(joined), ValueSource.LITERAL.value, env_names=names)
        source = next(
            (v.source for v in values if v.source in (ValueSource.ENV, ValueSource.CONFIG)),
            ValueSource.RUNTIME.value,
        )
        prefix = ""
        for v in values:
            if not v.literal:
                break
            prefix += v.raw
        return runtime(expr, source, env_names=names, prefix=prefix)

    def _either(self, expr: ir.Either, depth: int) -> Value:
        first = self.value(expr.first, depth + 1)
        if first.decided:
            return first
        second = self.value(expr.second, depth + 1)
        names = first.env_names | second.env_names
        if first.literal and first.classified.kind == RefKind.EMPTY:
            second.env_names = names
            return second
        unresolved_setting = first.source in (ValueSource.ENV, ValueSource.CONFIG)
        if unresolved_setting and second.literal and second.classified.kind != RefKind.EMPTY:
            prefix = "env:" if first.source == ValueSource.ENV else "config:"
            name = ",".join(sorted(first.env_names)) or first.raw
            second.resolved_from = f"{first.resolved_from or prefix + name} (default)"
            second.source = first.source
            second.env_names = names
            return second
        source = first.source if unresolved_setting else ValueSource.RUNTIME.value
        return runtime(expr, source, env_names=names)

    def _choice(self, expr: ir.Choice, depth: int) -> Value:
        values = [self.value(o, depth + 1) for o in expr.options]
        names = {n for v in values for n in v.env_names}
        return runtime(expr, env_names=names)

    def _module(self, expr: ir.Module, depth: int) -> Value:
        target = self.obj(expr, depth + 1)
        if isinstance(target, Foreign):
            return self._foreign(target, depth)
        return runtime(expr)

    def _foreign(self, expr: Foreign, depth: int) -> Value:
        return expr.resolver.value(expr.inner, depth + 1)


# Syntax nodes of a branch, in every grammar we read: an assignment inside one may not run.
_BRANCHES = frozenset(
    {
        "if_statement",
        "else_clause",
        "elif_clause",
        "else_if_clause",
        "switch_case",
        "switch_default",
        "switch_section",
        "switch_rule",
        "switch_block_statement_group",
        "case_statement",
        "default_statement",
        "case_clause",
        "catch_clause",
        "except_clause",
        "if",
        "unless",
        "elsif",
        "else",
        "when",
        "rescue",
        "if_modifier",
        "unless_modifier",
    }
)


def _pos(binding: ir.Binding) -> int:
    return binding.pos


def _after(binding: ir.Binding, entry: ir.Entry) -> bool:
    return entry.key_node is None or binding.pos > entry.key_node.start_byte


def _is_request(expr: ir.Expr) -> bool:
    if isinstance(expr, ir.Ref):
        return expr.name.lstrip("$@") in REQUEST_NAMES
    if isinstance(expr, ir.Member):
        return expr.key in REQUEST_NAMES or (
            expr.key in ("data", "params", "body") and _is_request(expr.obj)
        )
    return False


def _root_name(expr: ir.Expr) -> str:
    while isinstance(expr, ir.Member):
        expr = expr.obj
    return expr.name if isinstance(expr, ir.Ref) else ""


def _chain(expr: ir.Expr, with_root: bool = True) -> str:
    """`a.b.c` for a chain of members on a name ('' when it does not end in a name)."""
    keys: list[str] = []
    while isinstance(expr, ir.Member):
        keys.append(expr.key)
        expr = expr.obj
    if not isinstance(expr, ir.Ref):
        return ""
    if with_root:
        keys.append(expr.name)
    return ".".join(reversed(keys))


_VALUE: dict[type, Callable[[Resolver, Any, int], Value]] = {
    ir.Lit: Resolver._lit,
    ir.Null: Resolver._null,
    ir.Ref: Resolver._ref,
    ir.Member: Resolver._member,
    ir.Env: Resolver._env,
    ir.Config: Resolver._config,
    ir.Request: Resolver._request,
    ir.Concat: Resolver._concat,
    ir.Either: Resolver._either,
    ir.Choice: Resolver._choice,
    ir.Module: Resolver._module,
    Foreign: Resolver._foreign,
}
