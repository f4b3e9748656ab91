"""What an expression in code means for a caller ID, independent of the language.

Each language module turns syntax nodes into these few shapes (a literal, a
name to follow, an environment read, a request parameter …); `resolve` gives
them a value. Only what matters for a caller ID is kept: anything else is
`Opaque`, a value known only at run time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from auditor.extract.syntax.tree import Node


@dataclass(frozen=True)
class Expr:
    node: Node | None  # where it is written (its line, its source text)


@dataclass(frozen=True)
class Lit(Expr):
    """A string (or digits) literal, its value as the program sees it."""

    value: str


@dataclass(frozen=True)
class Null(Expr):
    """None / null / nil / undefined."""


@dataclass(frozen=True)
class Ref(Expr):
    """A name to follow to its binding: a variable, constant, field or parameter."""

    name: str


@dataclass(frozen=True)
class Member(Expr):
    """`obj.key`, `obj['key']`, `obj->key`, `obj[:key]`, `obj.get('key')`."""

    obj: Expr
    key: str


@dataclass(frozen=True)
class Env(Expr):
    """An environment read; `origin` is 'env' or 'context' (a Twilio Function's context)."""

    name: str
    default: Expr | None = None
    origin: str = "env"


@dataclass(frozen=True)
class Config(Expr):
    """A read of application configuration by key (`config('twilio.from')`, `@Value`)."""

    key: str
    default: Expr | None = None


@dataclass(frozen=True)
class Request(Expr):
    """A parameter of the incoming HTTP request (Twilio's webhook parameters)."""

    param: str


@dataclass(frozen=True)
class Concat(Expr):
    """String concatenation or a template: fixed text and holes, in order."""

    parts: tuple[Expr, ...]
    template: bool = False  # an f-string / `${}` / "#{}" (holes filled at run time)


@dataclass(frozen=True)
class Either(Expr):
    """`a || b`, `a ?? b`, `a or b`, `a ?: b`: the first that is set."""

    first: Expr
    second: Expr


@dataclass(frozen=True)
class Choice(Expr):
    """`test ? a : b`: decided at run time; both branches are looked at."""

    options: tuple[Expr, ...]


@dataclass(frozen=True)
class Entry:
    key_node: Node | None  # where the key is written (the reference's line)
    value: Expr


@dataclass(frozen=True)
class Obj(Expr):
    """An object / dict / hash / array literal with string keys (options passed to a call)."""

    entries: dict[str, Entry] = field(default_factory=dict)
    opaque: bool = False  # it also spreads something we cannot see (`...opts`, `**kw`)


@dataclass(frozen=True)
class Module(Expr):
    """A module of the project (`require('./config')`, `from settings import X`)."""

    spec: str
    member: str | None = None  # a name imported from it, None for the module itself


@dataclass(frozen=True)
class Made(Expr):
    """An object built by a call we recognise (`new Dial(...)`): not a string value."""

    what: str


@dataclass(frozen=True)
class Forwards(Expr):
    """A function that hands its parameter `index` on as the options of a Twilio call
    (`const createCall = (params) => client.calls.create(params)`): its callers set the From."""

    via: str
    index: int


@dataclass(frozen=True)
class Opaque(Expr):
    """Known only at run time: a parameter, a function's result, a database field."""

    why: str = "run time"


@dataclass(frozen=True)
class Binding:
    """`name = value` somewhere in a file, valid inside [scope_start, scope_end)."""

    name: str
    pos: int
    scope_start: int
    scope_end: int
    value: Callable[[], Expr]
    key_node: Node | None = None  # the line a member assignment (`opts.callerId = x`) is on
