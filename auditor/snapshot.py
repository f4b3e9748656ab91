"""Save and load snapshot.json: atomic private writes, capped reads, schema checks, one line.

A snapshot holds Function source code and the answers of probed webhooks, so it is
written 0600 (less if the umask says so), whatever the --out folder's permissions:
a shared folder must not expose a customer's code. Reports stay as the umask allows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
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
# A folder holding one audit per Twilio Region: snapshot.json (the first region, US1 when
# audited) and snapshot-<region>.json for each other region.
_REGIONAL_NAME = re.compile(r"^snapshot-([a-z]{2}[0-9])\.json$")
_REGION = re.compile(r"^[a-z]{2}[0-9]$")
_EDGE = re.compile(r"^[a-z][a-z-]{0,30}[a-z]$")


def save_snapshot(snapshot: Snapshot, path: Path) -> Path:
    """Write `snapshot` to `path` (a file, or a folder that gets snapshot.json), 0600.

    URL userinfo is redacted once more on the way out (the collector already did):
    whatever built this snapshot, no password reaches the file.
    """
    if path.is_dir():
        path = path / SNAPSHOT_NAME
    write_atomic(path, dump_json(redact_data(to_data(snapshot))), private=True)
    return path


def regional_name(index: int, region: str) -> str:
    """The file name of the `index`-th snapshot of a multi-region folder."""
    return SNAPSHOT_NAME if index == 0 else f"snapshot-{region}.json"


def save_snapshots(snapshots: Sequence[Snapshot], folder: Path) -> list[Path]:
    """Write one snapshot per region into `folder` and remove regional files left from an
    earlier run, so the folder holds exactly this audit (`report FOLDER` reads them all)."""
    written = [
        save_snapshot(snap, folder / regional_name(i, snap.region))
        for i, snap in enumerate(snapshots)
    ]
    keep = {p.name for p in written}
    if folder.is_dir():
        for stale in folder.iterdir():
            if _REGIONAL_NAME.match(stale.name) and stale.name not in keep and stale.is_file():
                stale.unlink()
    return written


def resolve_snapshot_paths(path: Path) -> list[Path]:
    """A snapshot file, or every regional snapshot of an audit folder (snapshot.json first)."""
    first = resolve_snapshot_path(path)
    if not path.is_dir():
        return [first]
    others = sorted(p for p in path.iterdir() if _REGIONAL_NAME.match(p.name) and p.is_file())
    return [first, *others]


def load_snapshots(paths: Sequence[Path]) -> list[Snapshot]:
    """Load one snapshot per region of one hierarchy (files or audit folders), US1 first.

    Two snapshots of the same region, or of different parent accounts, are refused with
    one line: they are not one audit.
    """
    loaded: list[tuple[Path, Snapshot]] = []
    for path in paths:
        loaded += [(p, load_snapshot(p)) for p in resolve_snapshot_paths(path)]
    check_one_audit([(str(path), snap) for path, snap in loaded])
    ordered = sorted(loaded, key=lambda item: (item[1].region != "us1", item[1].region))
    return [snap for _, snap in ordered]


def check_one_audit(named: Sequence[tuple[str, Snapshot]]) -> None:
    """Snapshots analysed together must be of one parent account, one per region."""
    if not named:
        raise SnapshotError("no snapshot given; pass a snapshot.json or an audit folder")
    first_name, first = named[0]
    seen: dict[str, str] = {}
    for name, snap in named:
        if snap.root_account_sid != first.root_account_sid:
            raise SnapshotError(
                f"{name} is an audit of {snap.root_account_sid}, {first_name} of "
                f"{first.root_account_sid}; give snapshots of one hierarchy (one per region)"
            )
        if snap.region in seen:
            raise SnapshotError(
                f"{name} and {seen[snap.region]} are both {snap.region.upper()} snapshots; "
                "give one snapshot per region (collect each region once)"
            )
        seen[snap.region] = name


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
        snapshot = from_data(Snapshot, raw)
    except DecodeError as exc:
        raise SnapshotError(f"{origin}: malformed snapshot: {exc}") from None
    # The region names files (snapshot-<region>.json) and hostnames: only Twilio's forms.
    if not _REGION.match(snapshot.region) or not (
        snapshot.edge is None or _EDGE.match(snapshot.edge)
    ):
        raise SnapshotError(
            f"{origin}: malformed snapshot: region {snapshot.region!r} / edge {snapshot.edge!r} "
            "is not a Twilio region and edge; collect again"
        )
    return snapshot
