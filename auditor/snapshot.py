"""Save and load snapshot.json: atomic private writes, capped reads, schema checks, one line.

A snapshot holds Function source code and the answers of probed webhooks, so it is
written 0600 (less if the umask says so), whatever the --out folder's permissions:
a shared folder must not expose a customer's code. Reports stay as the umask allows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from auditor.codec import DecodeError, from_data, loads, to_data
from auditor.errors import SnapshotError
from auditor.files import FileRefused, read_bytes, write_atomic
from auditor.model import SCHEMA_VERSION, Snapshot
from auditor.redact import redact_data
from auditor.text import dump_json

__all__ = ["dump_json", "load_snapshot", "save_snapshot", "write_atomic"]

SNAPSHOT_NAME = "snapshot.json"
MAX_SNAPSHOT_BYTES = 2 * 1024**3


def save_snapshot(snapshot: Snapshot, path: Path) -> Path:
    """Write `snapshot` to `path` (a file, or a folder that gets snapshot.json), 0600.

    URL userinfo is redacted once more on the way out (the collector already did):
    whatever built this snapshot, no password reaches the file.
    """
    if path.is_dir():
        path = path / SNAPSHOT_NAME
    write_atomic(path, dump_json(redact_data(to_data(snapshot))), private=True)
    return path


def resolve_snapshot_path(path: Path) -> Path:
    """Accept a snapshot file or an audit output folder that holds one."""
    if path.is_dir():
        candidate = path / SNAPSHOT_NAME
        if not candidate.exists():
            raise SnapshotError(
                f"{path}: folder has no {SNAPSHOT_NAME}; "
                "pass a snapshot file or the --out folder of `twilio-audit collect`"
            )
        return candidate
    return path


def load_snapshot(path: Path) -> Snapshot:
    """Load and validate a snapshot; every problem becomes one SnapshotError line."""
    path = resolve_snapshot_path(path)
    try:
        data = read_bytes(path, MAX_SNAPSHOT_BYTES)
    except FileRefused as exc:
        if exc.reason == "missing":
            raise SnapshotError(f"{path}: no such file; run `twilio-audit collect` first") from None
        raise SnapshotError(f"{exc}; pass a snapshot.json written by twilio-audit") from None
    try:
        raw = loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise SnapshotError(f"{path}: not a text file; is this really a snapshot?") from None
    except DecodeError as exc:
        raise SnapshotError(
            f"{path}: {exc}, which twilio-audit never writes: not one of its snapshots"
        ) from None
    except json.JSONDecodeError as exc:
        raise SnapshotError(
            f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "the file may be truncated: collect again"
        ) from None
    return snapshot_from_data(raw, str(path))


def snapshot_from_data(raw: Any, origin: str = "snapshot") -> Snapshot:
    if not isinstance(raw, dict) or "schema_version" not in raw or "root_account_sid" not in raw:
        raise SnapshotError(f"{origin}: not a twilio-audit snapshot (no schema_version)")
    version = raw.get("schema_version")
    if version != SCHEMA_VERSION:
        raise SnapshotError(
            f"{origin}: snapshot schema version {version!r}, this twilio-audit reads "
            f"{SCHEMA_VERSION}; collect again with this version"
        )
    try:
        return from_data(Snapshot, raw)
    except DecodeError as exc:
        raise SnapshotError(f"{origin}: malformed snapshot: {exc}") from None
