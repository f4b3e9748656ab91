"""Save and load snapshot.json: atomic private writes, capped reads, schema checks, one line.

A snapshot holds Function source code and the answers of probed webhooks, so it is
written 0600 (less if the umask says so), whatever the --out folder's permissions:
a shared folder must not expose a customer's code. Reports stay as the umask allows.

At a million numbers the snapshot is over 500 MB, so both directions avoid holding it
twice: `save_snapshot` writes it record by record, and `load_snapshot` decodes the bytes
straight into the model with msgspec (no intermediate dicts). Each fast path gives exactly
what the plain one gives (`_legacy_text`, `codec.loads` + `from_data`): a record whose text
needs care (non-ASCII, an escape, an "@" that may be a URL password) or a file msgspec
refuses goes the plain way, which also words every error.

`--compress` writes snapshot.json.gz (snapshot-<region>.json.gz) instead: the same bytes
through `auditor.gzstream`, deterministic (mtime 0, no name), still atomic and 0600. Every
reader takes either form, told apart by the gzip magic bytes (not the name); the inflated
size is held to the cap a plain snapshot has, so a gzip bomb is one line, not an OOM.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
import typing
from collections.abc import Iterable, Iterator, Sequence
from functools import cache, partial
from pathlib import Path
from typing import Any

import msgspec

from auditor import heap
from auditor.codec import MAX_DEPTH, DecodeError, depth, field_names, from_data, loads, to_data
from auditor.errors import SnapshotError
from auditor.files import FileRefused, read_chunks, write_atomic
from auditor.gzstream import GunzipError, gunzip, gzip_chunks, is_gzip
from auditor.model import SCHEMA_VERSION, SharedTexts, Snapshot, share_repeated
from auditor.redact import redact_data
from auditor.text import dump_json

__all__ = ["dump_json", "load_snapshot", "save_snapshot", "write_atomic"]

SNAPSHOT_NAME = "snapshot.json"
GZ = ".gz"  # --compress: snapshot.json.gz, snapshot-<region>.json.gz
MAX_SNAPSHOT_BYTES = 2 * 1024**3  # of the file, and of what a .gz inflates to
# A folder holding one audit per Twilio Region: snapshot.json (the first region, US1 when
# audited) and snapshot-<region>.json for each other region; either may end in .gz.
_REGIONAL_NAME = re.compile(r"^snapshot-([a-z]{2}[0-9])\.json(?:\.gz)?$")
_REGION = re.compile(r"^[a-z]{2}[0-9]$")
_EDGE = re.compile(r"^[a-z][a-z-]{0,30}[a-z]$")


def save_snapshot(snapshot: Snapshot, path: Path, *, compress: bool = False) -> Path:
    """Write `snapshot` to `path` (a file, or a folder that gets snapshot.json), 0600.

    With `compress` (or a `path` ending in .gz) the file is gzip and its name ends in .gz.
    URL userinfo is redacted once more on the way out (the collector already did):
    whatever built this snapshot, no password reaches the file.
    """
    if path.is_dir():
        path = path / SNAPSHOT_NAME
    compress = compress or path.name.endswith(GZ)
    chunks: Iterable[bytes] = snapshot_chunks(snapshot)
    if compress:
        path = path if path.name.endswith(GZ) else path.with_name(path.name + GZ)
        chunks = gzip_chunks(chunks)
    write_atomic(path, chunks, private=True)
    return path


def regional_name(index: int, region: str, *, compress: bool = False) -> str:
    """The file name of the `index`-th snapshot of a multi-region folder."""
    name = SNAPSHOT_NAME if index == 0 else f"snapshot-{region}.json"
    return name + GZ if compress else name


def save_snapshots(
    snapshots: Sequence[Snapshot], folder: Path, *, compress: bool = False
) -> list[Path]:
    """Write one snapshot per region into `folder` and remove snapshot files left from an
    earlier run (other regions, or the other form: snapshot.json beside a new
    snapshot.json.gz), so the folder holds exactly this audit (`report FOLDER` reads it)."""
    written = [
        save_snapshot(snap, folder / regional_name(i, snap.region, compress=compress))
        for i, snap in enumerate(snapshots)
    ]
    keep = {p.name for p in written}
    if folder.is_dir():
        for stale in folder.iterdir():
            if _is_snapshot_name(stale.name) and stale.name not in keep and stale.is_file():
                stale.unlink()
    return written


def _is_snapshot_name(name: str) -> bool:
    return name in (SNAPSHOT_NAME, SNAPSHOT_NAME + GZ) or bool(_REGIONAL_NAME.match(name))


def holds_snapshot(folder: Path) -> bool:
    """Whether `folder` holds an audit's snapshot (snapshot.json or snapshot.json.gz)."""
    return any((folder / name).is_file() for name in (SNAPSHOT_NAME, SNAPSHOT_NAME + GZ))


def resolve_snapshot_paths(path: Path) -> list[Path]:
    """A snapshot file, or every regional snapshot of an audit folder (snapshot.json first)."""
    first = resolve_snapshot_path(path)
    if not path.is_dir():
        return [first]
    others = sorted(p for p in path.iterdir() if _REGIONAL_NAME.match(p.name) and p.is_file())
    for a, b in itertools.pairwise(others):
        if b.name == a.name + GZ:
            raise SnapshotError(_both(path, a.name))
    return [first, *others]


def _both(folder: Path, name: str) -> str:
    return (
        f"{folder}: holds both {name} and {name}{GZ}, two copies of one snapshot; "
        "remove the one you do not mean"
    )


def is_compressed(path: Path) -> bool:
    """Whether the snapshot file at `path` is gzip (by its first bytes, not its name)."""
    try:
        chunks = read_chunks(path, MAX_SNAPSHOT_BYTES)
        try:
            return is_gzip(_head(chunks)[0])
        finally:
            chunks.close()
    except FileRefused:
        return False


def load_snapshots(paths: Sequence[Path]) -> list[Snapshot]:
    """Load one snapshot per region of one hierarchy (files or audit folders), US1 first.

    Two snapshots of the same region, or of different parent accounts, are refused with
    one line: they are not one audit.
    """
    loaded: list[tuple[Path, Snapshot]] = []
    with heap.paused():  # a million records, all kept: no collection pass over them
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


def snapshot_chunks(snapshot: Snapshot) -> Iterator[bytes]:
    """The bytes of `dump_json(redact_data(to_data(snapshot)))`, a batch of records at a time."""
    yield b"{"
    for i, name in enumerate(field_names(Snapshot)):
        value = getattr(snapshot, name)
        yield (b"\n  " if i == 0 else b",\n  ") + json.dumps(name).encode() + b": "
        if isinstance(value, list) and value:
            yield b"["
            for start in range(0, len(value), _BATCH):
                body = _list_body(value[start : start + _BATCH])
                yield body if start == 0 else b"," + body
            yield b"\n  ]"
        else:
            yield _legacy_text(value, 1)
    yield b"\n}\n"


_BATCH = 1000
_ENCODER = msgspec.json.Encoder()


def _legacy_text(value: Any, level: int) -> bytes:
    """`value` as the whole-document writer lays it out at nesting `level` (the reference)."""
    text = dump_json(redact_data(to_data(value))).removesuffix("\n").encode("utf-8")
    return text.replace(b"\n", b"\n" + b"  " * level)


def _encoded_plain(value: Any) -> bytes | None:
    """Compact JSON of `value` if every writer spells it the same way and redaction would
    leave it alone (ASCII without DEL or "@"); None otherwise. msgspec escapes every ASCII
    character as json.dumps does (quote, backslash, \\n, \\u001b…; the tests compare them),
    so a Function's source or an alert's TwiML stays on this path."""
    try:
        chunk = _ENCODER.encode(value)
    except (UnicodeEncodeError, TypeError, OverflowError, msgspec.EncodeError):
        return None  # a lone surrogate, a key that is not text…: the plain writer decides
    plain = chunk.isascii() and b"@" not in chunk and b"\x7f" not in chunk
    return chunk if plain else None


def _list_body(items: list[Any]) -> bytes:
    """'\\n    item,\\n    item' for list items at nesting level 2 (a Snapshot list field)."""
    kind: Any = type(items[0])
    if _fast_type(kind) and all(type(it) is kind for it in items):
        encoded = _encoded_plain(items)
        if encoded is not None:
            pretty = msgspec.json.format(encoded, indent=2).replace(b"\n", b"\n  ")
            return pretty[1:-4]  # without "[" and "\n  ]"
    return b",".join(_item_text(item) for item in items)


def _item_text(item: Any) -> bytes:
    kind: Any = type(item)
    if _fast_type(kind):
        encoded = _encoded_plain(item)
        if encoded is not None:
            return b"\n    " + msgspec.json.format(encoded, indent=2).replace(b"\n", b"\n    ")
    return b"\n    " + _legacy_text(item, 2)


@cache
def _fast_type(cls: Any) -> bool:
    """A dataclass of text, whole numbers, booleans and lists/dicts of them (no float: its
    spelling differs between writers; no free-form JSON: it may hold NaN)."""
    if not dataclasses.is_dataclass(cls):
        return cls in (str, int, bool, type(None))
    return all(_fast_hint(hint) for hint in typing.get_type_hints(cls).values())


def _fast_hint(hint: Any) -> bool:
    args = typing.get_args(hint)
    if args:
        return all(_fast_hint(a) for a in args)
    return isinstance(hint, type) and _fast_type(hint)


def resolve_snapshot_path(path: Path) -> Path:
    """Accept a snapshot file or an audit output folder that holds one (.json or .json.gz)."""
    if path.is_dir():
        plain, packed = path / SNAPSHOT_NAME, path / (SNAPSHOT_NAME + GZ)
        if plain.exists() and packed.exists():
            raise SnapshotError(_both(path, SNAPSHOT_NAME))
        if packed.exists():
            return packed
        if not plain.exists():
            raise SnapshotError(
                f"{path}: folder has no {SNAPSHOT_NAME} (or {SNAPSHOT_NAME}{GZ}); "
                "pass a snapshot file or the --out folder of `twilio-audit collect`"
            )
        return plain
    return path


def load_snapshot(path: Path) -> Snapshot:
    """Load and validate a snapshot; every problem becomes one SnapshotError line."""
    path = resolve_snapshot_path(path)
    data, packed = read_snapshot_bytes(path)
    shared = SharedTexts()
    snapshot = _decode_fast(data, shared)
    if snapshot is not None:
        share_repeated(snapshot, shared, done=_BATCHED)
        return snapshot
    try:
        snapshot = _decode(data, path)
    except SnapshotError as exc:
        reason = str(exc).removeprefix(f"{path}: ")
        if packed:  # the gzip was whole and valid: what it holds is not a snapshot
            raise SnapshotError(f"{path} (inflated): {reason}") from None
        if path.name.endswith(GZ):  # by its first bytes not gzip, and not a snapshot either
            raise SnapshotError(f"{path}: not gzip data despite its name, and {reason}") from None
        raise
    share_repeated(snapshot, shared)
    return snapshot


def read_snapshot_bytes(path: Path) -> tuple[bytes | bytearray, bool]:
    """The JSON text of the snapshot file at `path`, inflated if it is gzip, and whether it
    was; capped at MAX_SNAPSHOT_BYTES either way. Refusals are one SnapshotError line."""
    source = read_chunks(path, MAX_SNAPSHOT_BYTES)
    try:
        head, chunks = _head(source)
        if not is_gzip(head):
            return b"".join(chunks), False
        try:
            again = partial(read_chunks, path, MAX_SNAPSHOT_BYTES)  # to judge a likely bomb
            return gunzip(chunks, MAX_SNAPSHOT_BYTES, again=again), True
        except GunzipError as exc:
            raise SnapshotError(_gunzip_problem(path, exc)) from None
    except FileRefused as exc:
        if exc.reason == "missing":
            raise SnapshotError(f"{path}: no such file; run `twilio-audit collect` first") from None
        raise SnapshotError(f"{exc}; pass a snapshot.json written by twilio-audit") from None
    finally:
        source.close()


def _head(chunks: Iterator[bytes]) -> tuple[bytes, Iterator[bytes]]:
    """The first two bytes of `chunks` (fewer in a shorter file), and every chunk again."""
    seen: list[bytes] = []
    for chunk in chunks:
        seen.append(chunk)
        if sum(map(len, seen)) >= 2:
            break
    return b"".join(seen)[:2], itertools.chain(seen, chunks)


def _gunzip_problem(path: Path, exc: GunzipError) -> str:
    if exc.reason == "too-large":
        return (
            f"{path}: {exc}, the size cap of a snapshot (a gzip bomb, or not a twilio-audit "
            "snapshot); pass a snapshot.json.gz written by twilio-audit"
        )
    if exc.reason == "truncated":
        return f"{path}: {exc}; copy the whole file again, or collect again"
    return f"{path}: {exc}; the file is damaged: copy it again, or collect again"


class _Header(msgspec.Struct):
    root_account_sid: Any = msgspec.UNSET
    schema_version: Any = msgspec.UNSET


# The lists that hold a record per number: decoded a batch at a time from raw slices of
# the file, each batch's repeated texts shared at once, so the copies decoding makes are
# freed while the next batch can reuse their memory (shared after the whole file, they
# leave a fragmented heap: measured 1.0 GB instead of 0.45 GB at a million numbers).
_BATCHED = ("phone_numbers", "verified_caller_ids")


@cache
def _lean_snapshot() -> Any:
    """Snapshot's fields, with the batched lists left as raw JSON (msgspec.Raw)."""
    hints = typing.get_type_hints(Snapshot)
    specs: list[Any] = []
    for f in dataclasses.fields(Snapshot):
        tp = list[msgspec.Raw] if f.name in _BATCHED else hints[f.name]
        if f.default is not dataclasses.MISSING:
            specs.append((f.name, tp, dataclasses.field(default=f.default)))
        elif f.default_factory is not dataclasses.MISSING:
            specs.append((f.name, tp, dataclasses.field(default_factory=f.default_factory)))
        else:
            specs.append((f.name, tp))
    return dataclasses.make_dataclass("LeanSnapshot", specs)


def _decode_fast(data: bytes | bytearray, shared: SharedTexts | None = None) -> Snapshot | None:
    """The snapshot msgspec decodes from `data`, or None where the plain path must judge.

    None for anything msgspec refuses (not JSON, NaN, lone surrogates, a wrong type…),
    a header the plain path would refuse, or a Studio definition nested deeper than
    `codec.loads` allows; the plain path then gives its own result or error.
    """
    shared = shared or SharedTexts()
    hints = typing.get_type_hints(Snapshot)
    try:
        header = msgspec.json.decode(data, type=_Header)
        if header.root_account_sid is msgspec.UNSET or header.schema_version != SCHEMA_VERSION:
            return None
        lean = msgspec.json.decode(data, type=_lean_snapshot())
        values = {name: getattr(lean, name) for name in field_names(Snapshot)}
        for name in _BATCHED:
            raws, records = values[name], []
            decoder = msgspec.json.Decoder(hints[name])
            for start in range(0, len(raws), _BATCH):
                batch = decoder.decode(b"[" + b",".join(raws[start : start + _BATCH]) + b"]")
                shared.share(batch)
                records.extend(batch)
            values[name] = records
        del lean
        snapshot = Snapshot(**values)
    except (msgspec.DecodeError, RecursionError):  # ValidationError is a DecodeError
        return None
    # snapshot{ flows[ flow{ definition… : the only free-form JSON a snapshot holds
    if any(3 + depth(flow.definition) > MAX_DEPTH for flow in snapshot.flows):
        return None
    if not _REGION.match(snapshot.region) or not (
        snapshot.edge is None or _EDGE.match(snapshot.edge)
    ):
        return None  # snapshot_from_data words it
    return snapshot


def _decode(data: bytes | bytearray, path: Path) -> Snapshot:
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
