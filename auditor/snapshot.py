"""Save and load snapshot.json: atomic writes, schema checks, one-line errors."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from auditor.codec import DecodeError, from_data, to_data
from auditor.errors import SnapshotError
from auditor.model import SCHEMA_VERSION, Snapshot

SNAPSHOT_NAME = "snapshot.json"
MAX_SNAPSHOT_BYTES = 2 * 1024**3


def write_atomic(path: Path, content: str | bytes) -> None:
    """Write via a temp file in the same folder and rename, so no half file is ever seen.

    Text is written as UTF-8; bytes (the PDF) as they are.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; reports are meant to be shared
        data = content.encode("utf-8") if isinstance(content, str) else content
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def dump_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def save_snapshot(snapshot: Snapshot, path: Path) -> Path:
    """Write `snapshot` to `path` (a file, or a folder that gets snapshot.json)."""
    if path.is_dir():
        path = path / SNAPSHOT_NAME
    write_atomic(path, dump_json(to_data(snapshot)))
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
        size = path.stat().st_size
    except FileNotFoundError:
        raise SnapshotError(f"{path}: no such file; run `twilio-audit collect` first") from None
    except OSError as exc:
        raise SnapshotError(f"{path}: cannot read ({exc.strerror})") from None
    if size > MAX_SNAPSHOT_BYTES:
        raise SnapshotError(f"{path}: {size} bytes is larger than any snapshot we write")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise SnapshotError(f"{path}: not a text file; is this really a snapshot?") from None
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
