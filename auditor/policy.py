"""The policy file: for each account, the caller IDs it is meant to use (TOML).

    [accounts.AC0123456789abcdef0123456789abcdef]
    name = "Clinic A"                       # optional
    caller_ids = ["+15551230001", "+15551230002"]

Every problem becomes one AuditorError line naming the file and what to fix.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from auditor.errors import AuditorError
from auditor.extract.values import is_e164, normalize
from auditor.model import PolicyEntry
from auditor.tomlfile import load_toml, toml_error

_ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
_ACCOUNT_KEYS = {"name", "caller_ids"}
EXAMPLE = '[accounts.AC…] caller_ids = ["+15551230001"]'
MAX_POLICY_BYTES = 8 * 1024 * 1024  # ~100,000 caller IDs
MAX_POLICY_DEPTH = 8  # accounts → table → caller_ids list, with room to spare


def _fail(path: Path, problem: str, fix: str = f"expected {EXAMPLE}") -> AuditorError:
    return toml_error("policy file", path, problem, fix)


def load_policy(path: Path | str) -> list[PolicyEntry]:
    """Read and validate a policy file; entries come in file order, repeats dropped."""
    path = Path(path)
    data = load_toml(
        path,
        what="policy file",
        option="--policy",
        max_bytes=MAX_POLICY_BYTES,
        max_depth=MAX_POLICY_DEPTH,
        shape="a policy is two levels deep",
    )
    return parse_policy(data, path)


def parse_policy(data: dict[str, Any], path: Path) -> list[PolicyEntry]:
    """Validate the decoded TOML document."""
    unknown = sorted(set(data) - {"accounts"})
    if unknown:
        raise _fail(path, f"unknown top-level key {unknown[0]!r}")
    accounts = data.get("accounts")
    if not isinstance(accounts, dict) or not accounts:
        raise _fail(path, "no [accounts.AC…] table")
    entries: list[PolicyEntry] = []
    seen: set[tuple[str, str]] = set()
    for sid, table in accounts.items():
        if not _ACCOUNT_SID.match(sid):
            raise _fail(path, f"{sid!r} is not an account SID", "use AC followed by 32 hex digits")
        if not isinstance(table, dict):
            raise _fail(path, f"accounts.{sid} is not a table")
        extra = sorted(set(table) - _ACCOUNT_KEYS)
        if extra:
            raise _fail(path, f"accounts.{sid}: unknown key {extra[0]!r}", "use name, caller_ids")
        name = table.get("name")
        if name is not None and not isinstance(name, str):
            raise _fail(path, f"accounts.{sid}.name is not a string")
        caller_ids = table.get("caller_ids")
        if not isinstance(caller_ids, list) or not caller_ids:
            raise _fail(path, f"accounts.{sid}.caller_ids is missing or empty")
        for value in caller_ids:
            e164 = _caller_id(path, sid, value)
            if (sid, e164) not in seen:
                seen.add((sid, e164))
                entries.append(PolicyEntry(account_sid=sid, caller_id=e164, label=name))
    return entries


def _caller_id(path: Path, sid: str, value: object) -> str:
    if not isinstance(value, str):
        kind = type(value).__name__
        raise _fail(path, f"accounts.{sid}.caller_ids holds a {kind}, not a string")
    text = value.strip()
    if is_e164(text):
        return text
    e164 = normalize(text) if text.startswith("+") else None
    if e164 is None:
        raise _fail(
            path,
            f"accounts.{sid}.caller_ids: {value!r} is not an E.164 number",
            "write it with + and the country code, e.g. +15551230001",
        )
    return e164
