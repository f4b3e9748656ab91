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


@cache
def _field_names(cls: type) -> tuple[str, ...]:
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
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest


def cap_depth(value: Any, limit: int, marker: str = CUT_MARKER) -> tuple[Any, int]:
    """A copy of JSON data with containers below `limit` levels replaced by `marker`.

    Returns the copy and how many subtrees were cut (0: the copy equals the input).
    """
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


def from_data(cls: type[T], data: Any, path: str = "$") -> T:
    """Build `cls` from `data`, raising DecodeError with the JSON path of the first problem."""
    if not isinstance(data, dict):
        raise DecodeError(f"{path}: expected an object, got {type(data).__name__}")
    hints = _hints(cls)  # type: ignore[arg-type]
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name in data:
            kwargs[f.name] = _convert(hints[f.name], data[f.name], f"{path}.{f.name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise DecodeError(f"{path}: missing field '{f.name}'")
    return cls(**kwargs)


def _convert(tp: Any, value: Any, path: str) -> Any:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(arg, value, path)
            except DecodeError as exc:
                errors.append(str(exc))
        raise DecodeError(errors[0] if errors else f"{path}: unexpected null")
    if tp is Any or tp is object:
        return value
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return from_data(tp, value, path)
    if origin is list:
        if not isinstance(value, list):
            raise DecodeError(f"{path}: expected a list, got {type(value).__name__}")
        (item,) = get_args(tp) or (Any,)
        return [_convert(item, v, f"{path}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise DecodeError(f"{path}: expected an object, got {type(value).__name__}")
        _, val_tp = get_args(tp) or (str, Any)
        return {str(k): _convert(val_tp, v, f"{path}.{k}") for k, v in value.items()}
    if tp is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(tp, type):
        if tp is int and isinstance(value, bool):
            raise DecodeError(f"{path}: expected int, got bool")
        if isinstance(value, tp):
            return value
        raise DecodeError(f"{path}: expected {tp.__name__}, got {type(value).__name__}")
    return value
