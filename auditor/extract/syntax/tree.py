"""Syntax trees for source code: tree-sitter with the official per-language grammars.

One parser per language, created on first use. Parsing is bounded: a file
whose parse runs past `PARSE_SECONDS` (tree-sitter's error recovery can be slow
on hostile input such as 50,000 unclosed `new Dial(` lines) yields no tree and
a note, never a hang. Broken and old code (Python 2, PHP 4 style) still yields
a tree: tree-sitter keeps every part it can read and marks the rest as errors.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Iterator
from functools import cache

import tree_sitter as ts

Node = ts.Node

PARSE_SECONDS = 2.0  # CPU seconds per file; a person's code parses in milliseconds
_CHUNK = 64 * 1024

# language -> (grammar module, function returning the language pointer)
_GRAMMARS: dict[str, tuple[str, str]] = {
    "python": ("tree_sitter_python", "language"),
    "javascript": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "tsx": ("tree_sitter_typescript", "language_tsx"),
    "php": ("tree_sitter_php", "language_php"),
    "ruby": ("tree_sitter_ruby", "language"),
    "java": ("tree_sitter_java", "language"),
    "csharp": ("tree_sitter_c_sharp", "language"),
}


@cache
def language(name: str) -> ts.Language:
    module, function = _GRAMMARS[name]
    return ts.Language(getattr(importlib.import_module(module), function)())


@cache
def _parser(name: str) -> ts.Parser:
    return ts.Parser(language(name))


@cache
def query(grammar: str, source: str) -> ts.Query:
    """A compiled query (cached: compiling costs more than running)."""
    return ts.Query(language(grammar), source)


def parse(grammar: str, data: bytes, seconds: float | None = None) -> ts.Tree | None:
    """The syntax tree of `data`, or None when parsing ran past its deadline."""
    parser = _parser(grammar)
    if len(data) <= _CHUNK:  # small files: the fast path (no per-step callback)
        return parser.parse(data)
    budget = PARSE_SECONDS if seconds is None else seconds
    deadline = time.process_time() + budget  # CPU time: the same bound on a loaded machine

    def read(offset: int, _point: tuple[int, int]) -> bytes:
        return data[offset : offset + _CHUNK]

    def halt(*_state: object) -> bool:
        return time.process_time() > deadline

    try:
        bounded = parser.parse(read, progress_callback=halt)
    except ValueError:  # halted by the deadline
        parser.reset()
        return None
    # A tree parsed from a callback reads its text through that callback (slowly, for every
    # node's text and every query predicate); re-parsing the bytes on top of it is quick and
    # keeps the text with the tree.
    return parser.parse(data, old_tree=bounded)


def captures(grammar: str, source: str, node: Node) -> dict[str, list[Node]]:
    """Every capture of a query under `node`, by capture name."""
    return ts.QueryCursor(query(grammar, source)).captures(node)


def text(node: Node | None) -> str:
    if node is None or node.text is None:
        return ""
    return node.text.decode("utf-8", errors="replace")


def line(node: Node) -> int:
    """1-based line of the node's first character."""
    return node.start_point[0] + 1


def field(node: Node | None, name: str) -> Node | None:
    return node.child_by_field_name(name) if node is not None else None


def named(node: Node | None) -> list[Node]:
    """Named children, without comments."""
    if node is None:
        return []
    return [c for c in node.named_children if "comment" not in c.type]


def ancestors(node: Node) -> Iterator[Node]:
    parent = node.parent
    while parent is not None:
        yield parent
        parent = parent.parent


def first_ancestor(node: Node, types: frozenset[str]) -> Node | None:
    return next((a for a in ancestors(node) if a.type in types), None)


def contains(outer: Node, inner: Node) -> bool:
    return outer.start_byte <= inner.start_byte and inner.end_byte <= outer.end_byte


def walk(node: Node, want: Callable[[Node], bool], limit: int = 100_000) -> Iterator[Node]:
    """Descendants (pre-order) for which `want` is true; at most `limit` nodes are visited."""
    cursor = node.walk()
    visited = 0
    while visited < limit:
        current = cursor.node
        visited += 1
        if current is not None and want(current):
            yield current
        if cursor.goto_first_child():
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return
