"""Dataclass <-> JSON-compatible dict conversion, strict enough to reject foreign data.

One generic codec serves every model class so that snapshot.json, findings.json
and scenario files all stay in step with `model.py`.

Nesting depth is handled without recursion where the data is foreign: a Studio
definition is JSON a customer wrote, and 990 nested lists pass the SDK's parser.
`to_data` walks with an explicit stack, `depth` and `cap_depth` measure and cut
without recursing, and `loads` turns a document nested deeper than MAX_DEPTH
(or deep enough to exhaust the parser's stack) into one DecodeError.
"""

from __future__ import annotations

import dataclasses
import json
import operator
import types
import typing
from functools import cache
from typing import Any, TypeVar, Union, get_args, get_origin

T = TypeVar("T")

# Containers nested in one document we read or write. A snapshot is 3 levels of model
# around each record, and records are cut at MAX_RECORD_DEPTH: far below this.
MAX_DEPTH = 100
MAX_RECORD_DEPTH = 64
CUT_MARKER = "[nested too deeply: cut by twilio-audit]"


class DecodeError(ValueError):
    """Data does not fit the dataclass; the message gives the JSON path."""


_SCALARS = (str, int, float, bool, type(None))


def field_names(cls: Any) -> tuple[str, ...]:
    """The dataclass's field names, in order (cached per class)."""
    return _field_names(cls)


@cache
def _field_names(cls: Any) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def _is_container(value: Any) -> bool:
    return isinstance(value, dict | list | tuple) or (
        dataclasses.is_dataclass(value) and not isinstance(value, type)
    )


def to_data(obj: Any) -> Any:
    """Convert dataclasses (at any depth, without recursion) into dicts, lists and scalars."""
    root: list[Any] = [obj]
    stack: list[tuple[Any, Any, Any]] = [(obj, root, 0)]
    while stack:
        value, parent, key = stack.pop()
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            items: Any = [(n, getattr(value, n)) for n in _field_names(type(value))]
            out: Any = {}
        elif isinstance(value, dict):
            items = [(str(k), v) for k, v in value.items()]
            out = {}
        elif isinstance(value, list | tuple):
            items = enumerate(value)
            out = [None] * len(value)
        else:
            continue
        for k, v in items:
            out[k] = v
            if type(v) not in _SCALARS and _is_container(v):
                stack.append((v, out, k))
        parent[key] = out
    return root[0]


def depth(value: Any) -> int:
    """How many dicts/lists are nested in `value` (0 for a scalar), without recursion."""
    if not isinstance(value, dict | list | tuple):
        return 0
    deepest = 1
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        for child in children:
            if isinstance(child, dict | list | tuple):
                stack.append((child, level + 1))
                if level + 1 > deepest:
                    deepest = level + 1
    return deepest


def cap_depth(value: Any, limit: int, marker: str = CUT_MARKER) -> tuple[Any, int]:
    """JSON data with containers below `limit` levels replaced by `marker`.

    Returns the data and how many subtrees were cut; when none is, `value` itself
    (not a copy) comes back, so the common case costs one `depth` walk.
    """
    if depth(value) <= limit:
        return value, 0
    root: list[Any] = [None]
    cut = 0
    stack: list[tuple[Any, Any, Any, int]] = [(value, root, 0, 1)]
    while stack:
        item, parent, key, level = stack.pop()
        if isinstance(item, dict | list | tuple) and level > limit:
            parent[key] = marker
            cut += 1
            continue
        if isinstance(item, dict):
            out: Any = {str(k): None for k in item}
            stack.extend((v, out, str(k), level + 1) for k, v in item.items())
        elif isinstance(item, list | tuple):
            out = [None] * len(item)
            stack.extend((v, out, i, level + 1) for i, v in enumerate(item))
        else:
            out = item
        parent[key] = out
    return root[0], cut


def loads(text: str | bytes, max_depth: int = MAX_DEPTH) -> Any:
    """json.loads, but a document nested deeper than `max_depth` is a DecodeError.

    json.JSONDecodeError (a ValueError) still means "not JSON" and passes through.
    """
    try:
        data = json.loads(text)
    except RecursionError:
        raise DecodeError(f"nested too deeply (over {max_depth} levels)") from None
    found = depth(data)
    if found > max_depth:
        raise DecodeError(f"nested {found} levels deep (at most {max_depth})")
    return data


@cache
def _hints(cls: Any) -> dict[str, Any]:
    return typing.get_type_hints(cls)


class _Mismatch(Exception):
    """A decoding problem on its way up; `where` grows as it leaves each container."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(message)
        self.where = where
        self.message = message


def from_data(cls: type[T], data: Any, path: str = "$") -> T:
    """Build `cls` from `data`, raising DecodeError with the JSON path of the first problem.

    The conversion for each type is compiled once (`_converter`): a snapshot of 100,000
    numbers is decoded without re-reading type hints for every field of every record.
    """
    try:
        return _converter(cls)(data)  # type: ignore[arg-type]
    except _Mismatch as exc:
        raise DecodeError(f"{path}{exc.where}: {exc.message}") from None


def _type_name(value: Any) -> str:
    return type(value).__name__


Converter = typing.Callable[[Any], Any]


@cache
def _converter(tp: Any) -> Converter:
    """A function that checks and converts JSON data for type `tp` (raising _Mismatch)."""
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        return _union([a for a in get_args(tp) if a is not type(None)], type(None) in get_args(tp))
    if tp is Any or tp is object:
        return _identity
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _dataclass(tp)
    if origin is list:
        (item_tp,) = get_args(tp) or (Any,)
        return _list(_converter(item_tp))
    if origin is dict:
        _, val_tp = get_args(tp) or (str, Any)
        return _dict(_converter(val_tp))
    if tp is float:
        return _float
    if isinstance(tp, type):
        return _exact(tp)
    return _identity


def _identity(value: Any) -> Any:
    return value


def _float(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise _Mismatch("", f"expected float, got {_type_name(value)}")


def _exact(tp: type) -> Converter:
    def convert(value: Any) -> Any:
        if type(value) is tp:
            return value
        if tp is int and isinstance(value, bool):
            raise _Mismatch("", "expected int, got bool")
        if isinstance(value, tp):
            return value
        raise _Mismatch("", f"expected {tp.__name__}, got {_type_name(value)}")

    return convert


def _union(options: list[Any], optional: bool) -> Converter:
    converters = [_converter(o) for o in options]

    def convert(value: Any) -> Any:
        if value is None and optional:
            return None
        first: _Mismatch | None = None
        for conv in converters:
            try:
                return conv(value)
            except _Mismatch as exc:
                first = first or exc
        raise first or _Mismatch("", "unexpected null")

    return convert


def _list(item: Converter) -> Converter:
    def convert(value: Any) -> Any:
        if not isinstance(value, list):
            raise _Mismatch("", f"expected a list, got {_type_name(value)}")
        if item is _identity:
            return list(value)
        out = []
        for i, v in enumerate(value):
            try:
                out.append(item(v))
            except _Mismatch as exc:
                exc.where = f"[{i}]{exc.where}"
                raise
        return out

    return convert


def _dict(val: Converter) -> Converter:
    def convert(value: Any) -> Any:
        if not isinstance(value, dict):
            raise _Mismatch("", f"expected an object, got {_type_name(value)}")
        out = {}
        for k, v in value.items():
            try:
                out[str(k)] = val(v)
            except _Mismatch as exc:
                exc.where = f".{k}{exc.where}"
                raise
        return out

    return convert


def _dataclass(cls: type) -> Converter:
    hints = _hints(cls)
    fields = [
        (
            f.name,
            _converter(hints[f.name]),
            f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
        )
        for f in dataclasses.fields(cls)
    ]

    def convert(value: Any) -> Any:
        if not isinstance(value, dict):
            raise _Mismatch("", f"expected an object, got {_type_name(value)}")
        kwargs: dict[str, Any] = {}
        for name, conv, required in fields:
            if name in value:
                try:
                    kwargs[name] = conv(value[name])
                except _Mismatch as exc:
                    exc.where = f".{name}{exc.where}"
                    raise
            elif required:
                raise _Mismatch("", f"missing field '{name}'")
        return cls(**kwargs)

    return convert


def conforms(obj: Any) -> bool:
    """True when `from_data(type(obj), to_data(obj))` would give back equal values unchanged.

    Checked with exact types, without building anything, for dataclasses made of text,
    whole numbers, booleans, None and lists/dicts of those (an API record such as a
    phone number); False for anything else, including what from_data would accept but
    convert (an int in a float field) or what needs a depth check (free-form JSON), so
    the caller then takes the full path. A million records are admitted in seconds.
    """
    kind: Any = type(obj)
    check = _conformity(kind)
    return check is not None and check(obj)


Check = typing.Callable[[Any], bool]
_NONE = type(None)
_PLAIN = (str, int, bool)


def _scalar_types(tp: Any) -> frozenset[type] | None:
    """{str}, {str, NoneType}…: the exact types a plain scalar field may hold, else None."""
    options = get_args(tp) if get_origin(tp) in (Union, types.UnionType) else (tp,)
    if all(o in _PLAIN or o is _NONE for o in options):
        return frozenset(options)
    return None


@cache
def _conformity(tp: Any) -> Check | None:
    """A checker for values of `tp`, or None when `tp` is not checked this way."""
    scalar = _scalar_types(tp)
    if scalar is not None:
        return lambda v: type(v) in scalar
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        options = [_conformity(a) for a in get_args(tp) if a is not _NONE]
        if any(o is None for o in options):
            return None
        optional = _NONE in get_args(tp)
        checks = typing.cast(list[Check], options)
        return lambda v: (v is None and optional) or any(c(v) for c in checks)
    if origin is list:
        (item_tp,) = get_args(tp) or (Any,)
        items = _scalar_types(item_tp)
        if items is not None:
            return lambda v: type(v) is list and set(map(type, v)) <= items
        item = _conformity(item_tp)
        if item is None:
            return None
        return lambda v: type(v) is list and all(item(x) for x in v)
    if origin is dict:
        key_tp, val_tp = get_args(tp) or (str, Any)
        values = _scalar_types(val_tp)
        if key_tp is not str or values is None:
            return None
        return lambda v: (
            type(v) is dict and set(map(type, v)) <= {str} and set(map(type, v.values())) <= values
        )
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _dataclass_conformity(tp)
    return None


def _dataclass_conformity(tp: type) -> Check | None:
    hints = _hints(tp)
    groups: dict[frozenset[type], list[str]] = {}
    others: list[tuple[str, Check]] = []
    for f in dataclasses.fields(tp):
        scalar = _scalar_types(hints[f.name])
        if scalar is not None:
            groups.setdefault(scalar, []).append(f.name)
            continue
        field_check = _conformity(hints[f.name])
        if field_check is None:
            return None
        others.append((f.name, field_check))
    # attrgetter reads a group of fields in one C call; map(type, …) checks them in C too.
    getters = [(operator.attrgetter(*ns), allowed, len(ns)) for allowed, ns in groups.items()]

    def check(v: Any) -> bool:
        if type(v) is not tp:
            return False
        for get, allowed, n in getters:
            values = get(v)
            if not (type(values) in allowed if n == 1 else set(map(type, values)) <= allowed):
                return False
        return all(c(getattr(v, name)) for name, c in others)

    return check
