"""The one way a TOML file the user names (`--policy`, `--accept`) is read.

Through auditor.files (regular files only, a size cap), decoded by tomllib, nesting
capped: every problem is one AuditorError line, "<what> <path>: <problem>; <fix>".
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from auditor.codec import depth
from auditor.errors import AuditorError
from auditor.files import FileRefused, read_text


def toml_error(what: str, path: Path, problem: str, fix: str) -> AuditorError:
    return AuditorError(f"{what} {path}: {problem}; {fix}")


def load_toml(
    path: Path, *, what: str, option: str, max_bytes: int, max_depth: int, shape: str
) -> dict[str, Any]:
    """The decoded document; `shape` says how deep a good file is, for the depth error."""
    try:
        text = read_text(path, max_bytes)
    except FileRefused as exc:
        if exc.reason == "missing":
            raise toml_error(what, path, "not found", f"check the {option} path") from None
        if exc.reason == "folder":
            raise toml_error(what, path, "is a folder", "pass the TOML file itself") from None
        reason = str(exc).removeprefix(f"{path}: ")
        raise toml_error(
            what, path, f"cannot be read ({reason})", "pass the TOML file itself"
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise toml_error(what, path, f"not valid TOML ({exc})", "fix the syntax") from None
    except RecursionError:  # tomllib recurses once per nested array or inline table
        raise toml_error(what, path, "nested too deeply to read", shape) from None
    if depth(data) > max_depth:
        raise toml_error(what, path, "nested too deeply", shape)
    return data
