"""Read source code through syntax trees (tree-sitter and its official grammars).

`reader_for(suffix)` names the language module for a file; `base.read` finds
and judges every place the file sets a caller ID. Each language module holds
only what is particular to it (how its helper library spells Dial, callerId,
Calls create and the request); `resolve` gives expressions their values.
"""

from __future__ import annotations

from auditor.extract.syntax.base import Reader
from auditor.extract.syntax.csharp import CSharp
from auditor.extract.syntax.java import Java
from auditor.extract.syntax.javascript import JavaScript, Tsx, TypeScript
from auditor.extract.syntax.php import Php
from auditor.extract.syntax.python import Python
from auditor.extract.syntax.ruby import Ruby

READERS: dict[str, type[Reader]] = {
    ".py": Python,
    ".pyw": Python,
    ".js": JavaScript,
    ".mjs": JavaScript,
    ".cjs": JavaScript,
    ".jsx": JavaScript,
    ".ts": TypeScript,
    ".mts": TypeScript,
    ".cts": TypeScript,
    ".tsx": Tsx,
    ".php": Php,
    ".rb": Ruby,
    ".rake": Ruby,
    ".cs": CSharp,
    ".java": Java,
}


def reader_for(suffix: str) -> type[Reader] | None:
    return READERS.get(suffix.lower())


__all__ = ["READERS", "Reader", "reader_for"]
