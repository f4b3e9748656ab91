"""snapshot.json.gz (`--compress`): written deterministically and privately, read by every
command that reads a snapshot, refused in one line when it is hostile or damaged.

Real files, and the real CLI against the emulator over HTTP (as tests/test_collect.py runs
collect); gzip is checked with Python's own `gzip` module, not with the code under test.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import signal
import tracemalloc
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from test_collect import scenario, secrets_of
from test_hostile_output import run_cli

from auditor.emulator import EmulatorServer
from auditor.errors import SnapshotError
from auditor.gzstream import SUSPECT_AFTER, gunzip, gzip_chunks
from auditor.snapshot import (
    MAX_SNAPSHOT_BYTES,
    load_snapshot,
    save_snapshot,
    save_snapshots,
    snapshot_chunks,
)

FROZEN = datetime(2026, 11, 29, 12, tzinfo=UTC)
# RFC 1952 header: magic, deflate, no flags (no file name), MTIME 0, XFL 0, OS 255 (unknown)
HEADER = b"\x1f\x8b\x08\x00" + b"\x00" * 4 + b"\x00\xff"


class _FrozenClock(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> _FrozenClock:
        return cls.fromtimestamp(FROZEN.timestamp(), tz)


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def findings_of(folder: Path) -> list[dict[str, Any]]:
    return list(json.loads((folder / "findings.json").read_text())["findings"])


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """collect (plain, then --compress twice) and audit (plain and --compress) of one
    hierarchy, with the collector's clock frozen so two collects are of the same data."""
    root = tmp_path_factory.mktemp("gz")
    s = scenario()
    parent = s["accounts"][0]
    formats = ["-f", "html", "-f", "json", "-f", "csv", "-f", "sarif", "-f", "md"]
    results = {}
    with EmulatorServer(s) as server, pytest.MonkeyPatch.context() as mp:
        for var in ("TWILIO_API_KEY", "TWILIO_API_SECRET", "TWILIO_AUDIT_API_URL"):
            mp.delenv(var, raising=False)
        mp.setenv("TWILIO_ACCOUNT_SID", parent["sid"])
        mp.setenv("TWILIO_AUTH_TOKEN", parent["auth_token"])
        mp.setattr("auditor.collect.walker.datetime", _FrozenClock)
        api = ["--api-url", server.url, "-q"]
        for name, args in {
            "plain": ["collect"],
            "gz": ["collect", "--compress"],
            "gz-again": ["collect", "--compress"],
            "audit": ["audit", *formats],
            "audit-gz": ["audit", "--compress", *formats],
        }.items():
            results[name] = run_cli([*args, "--out", str(root / name), *api])
    return {"root": root, "scenario": s, "results": results}


# ---------------------------------------------------------------------------- writing


def test_collect_compress_writes_only_a_private_deterministic_gz_of_the_plain_bytes(
    runs: dict[str, Any],
) -> None:
    root = runs["root"]
    for name in ("plain", "gz", "gz-again"):
        code, _, err = runs["results"][name]
        assert code == 0, err
    assert [p.name for p in (root / "gz").iterdir()] == ["snapshot.json.gz"]
    assert "→ " + str(root / "gz" / "snapshot.json.gz") in runs["results"]["gz"][1]
    packed = (root / "gz" / "snapshot.json.gz").read_bytes()
    assert packed.startswith(HEADER)  # no time, no file name: nothing but the data varies
    assert (root / "gz" / "snapshot.json.gz").stat().st_mode & 0o777 == 0o600
    # Two collects of the same data: the same bytes.
    assert packed == (root / "gz-again" / "snapshot.json.gz").read_bytes()
    # The plain collect's file, byte for byte, and much smaller.
    plain = (root / "plain" / "snapshot.json").read_bytes()
    assert gzip.decompress(packed) == plain
    assert len(packed) * 4 < len(plain)


def test_no_secret_in_any_output_file_of_a_compressed_audit(runs: dict[str, Any]) -> None:
    code, out, err = runs["results"]["audit-gz"]
    assert code in (0, 1), err
    folder = runs["root"] / "audit-gz"
    names = sorted(p.name for p in folder.iterdir())
    assert "snapshot.json.gz" in names and "snapshot.json" not in names
    texts = {"stdout": out, "stderr": err}
    for path in folder.iterdir():
        data = path.read_bytes()
        texts[path.name] = (gzip.decompress(data) if path.suffix == ".gz" else data).decode()
    snapshot = json.loads(texts["snapshot.json.gz"])
    used = {k for fn in snapshot["functions"] for k in fn["environment"]}
    secrets = secrets_of(runs["scenario"], used)
    assert secrets
    for name, text in texts.items():
        for secret in secrets:
            assert secret not in text, name
    # The same audit as without --compress.
    assert findings_of(folder) == findings_of(runs["root"] / "audit")
    assert (folder / "snapshot.json.gz").stat().st_mode & 0o777 == 0o600


def test_save_round_trips_and_replaces_the_other_form(runs: dict[str, Any], tmp_path: Path) -> None:
    snap = load_snapshot(runs["root"] / "plain")
    path = save_snapshot(snap, tmp_path, compress=True)
    assert path == tmp_path / "snapshot.json.gz"
    assert gzip.decompress(path.read_bytes()) == b"".join(snapshot_chunks(snap))
    assert load_snapshot(path) == snap == load_snapshot(tmp_path)
    assert save_snapshot(snap, tmp_path / "x.json.gz").read_bytes() == path.read_bytes()
    # A folder holds one form: writing either removes the other (and stale regions).
    ie1 = replace(snap, region="ie1", edge="dublin")
    save_snapshots([snap, ie1], tmp_path)
    assert {p.name for p in tmp_path.iterdir()} >= {"snapshot.json", "snapshot-ie1.json"}
    assert not (tmp_path / "snapshot.json.gz").exists()
    save_snapshots([snap], tmp_path, compress=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["snapshot.json.gz", "x.json.gz"]


# ---------------------------------------------------------------------------- every reader


def test_report_reads_gz_files_and_folders_and_keeps_their_compression(
    runs: dict[str, Any], tmp_path: Path
) -> None:
    root = runs["root"]
    expected = findings_of(root / "audit")
    cases = [
        ([str(root / "gz" / "snapshot.json.gz")], [], "snapshot.json.gz"),
        ([str(root / "gz")], [], "snapshot.json.gz"),
        ([str(root / "plain")], [], "snapshot.json"),  # plain in, plain out
        ([str(root / "plain")], ["--compress"], "snapshot.json.gz"),
    ]
    for i, (inputs, flags, kept) in enumerate(cases):
        out = tmp_path / f"r{i}"
        code, _, err = run_cli(["report", *inputs, "--out", str(out), "-f", "json", "-q", *flags])
        assert code in (0, 1), err
        assert findings_of(out) == expected, inputs
        assert sorted(p.name for p in out.iterdir()) == sorted(["findings.json", kept]), inputs
    # report DIR --out DIR --compress turns the plain copy into a gz one.
    out = tmp_path / "r2"
    code, _, err = run_cli(
        ["report", str(out), "--out", str(out), "-f", "json", "-q", "--compress"]
    )
    assert code in (0, 1), err
    assert sorted(p.name for p in out.iterdir()) == ["findings.json", "snapshot.json.gz"]
    assert (
        gzip.decompress((out / "snapshot.json.gz").read_bytes())
        == (root / "plain" / "snapshot.json").read_bytes()
    )


def test_the_magic_bytes_decide_not_the_name(runs: dict[str, Any], tmp_path: Path) -> None:
    root = runs["root"]
    plain = (root / "plain" / "snapshot.json").read_bytes()
    named_json = tmp_path / "a" / "snapshot.json"  # gzip inside
    named_json.parent.mkdir()
    named_json.write_bytes((root / "gz" / "snapshot.json.gz").read_bytes())
    named_gz = tmp_path / "b.json.gz"  # plain JSON inside
    named_gz.write_bytes(plain)
    assert load_snapshot(named_json) == load_snapshot(named_gz) == load_snapshot(root / "plain")
    out = tmp_path / "out"
    code, _, err = run_cli(["report", str(named_json.parent), "--out", str(out), "-f", "json"])
    assert code in (0, 1), err
    assert gzip.decompress((out / "snapshot.json.gz").read_bytes()) == plain  # it was gzip


def test_several_regions_compressed_are_read_and_written_as_gz(
    runs: dict[str, Any], tmp_path: Path
) -> None:
    snap = load_snapshot(runs["root"] / "plain")
    ie1 = replace(snap, region="ie1", edge="dublin")
    us1_file = save_snapshot(snap, tmp_path / "us1.json")
    ie1_file = save_snapshot(ie1, tmp_path / "ie1.json", compress=True)
    assert ie1_file.name == "ie1.json.gz"
    out = tmp_path / "both"
    code, _, err = run_cli(["report", str(us1_file), str(ie1_file), "--out", str(out), "-q"])
    assert code in (0, 1), err
    names = {p.name for p in out.iterdir()}
    assert {"snapshot.json.gz", "snapshot-ie1.json.gz"} <= names
    assert not names & {"snapshot.json", "snapshot-ie1.json"}
    assert load_snapshot(out / "snapshot-ie1.json.gz") == ie1
    again = tmp_path / "again"
    code, _, err = run_cli(["report", str(out), "--out", str(again), "-f", "json", "-q"])
    assert code in (0, 1), err
    assert findings_of(again) == findings_of(out)
    assert json.loads((out / "findings.json").read_text())["findings"]
    # Both forms of one region in a folder: which one is meant? Refused in one line.
    (out / "snapshot-ie1.json").write_bytes(gzip.decompress(ie1_file.read_bytes()))
    code, _, err = run_cli(["report", str(out), "--out", str(tmp_path / "x"), "-q"])
    assert code == 2
    assert "holds both snapshot-ie1.json and snapshot-ie1.json.gz" in one_line(err)


def test_diff_baseline_and_scan_read_gz(runs: dict[str, Any], tmp_path: Path) -> None:
    root = runs["root"]
    snap = load_snapshot(root / "plain")
    old = replace(snap, phone_numbers=snap.phone_numbers[1:])  # one number added since
    old_plain = save_snapshot(old, tmp_path / "old.json")
    old_gz = save_snapshot(old, tmp_path / "old.json", compress=True)
    diffs = []
    for before, after in ((old_plain, root / "plain"), (old_gz, root / "gz")):
        code, out, err = run_cli(["diff", str(before), str(after), "-f", "json"])
        assert code in (0, 1), err
        diffs.append(json.loads(out))
    assert diffs[0] == diffs[1]
    assert snap.phone_numbers[0].phone_number in json.dumps(diffs[1])
    # --baseline: every finding unchanged against the same audit, compressed.
    out = tmp_path / "base"
    base = ["--baseline", str(root / "gz" / "snapshot.json.gz")]
    code, _, err = run_cli(["report", str(root / "plain"), "--out", str(out), "-f", "json", *base])
    assert code in (0, 1), err
    statuses = {f["status"] for f in findings_of(out)}
    assert statuses == {"unchanged"}
    # scan --snapshot: the same findings from the plain and the compressed snapshot.
    sub = runs["scenario"]["accounts"][1]["sid"]
    code_dir = tmp_path / "code"
    code_dir.mkdir()
    (code_dir / "dial.py").write_text(
        "from twilio.twiml.voice_response import VoiceResponse\n"
        "r = VoiceResponse()\nr.dial('+14155550000', caller_id='+15005550006')\n"
    )
    scans = []
    for snapshot in (root / "plain", root / "gz", root / "gz" / "snapshot.json.gz"):
        args = ["scan", str(code_dir), "--snapshot", str(snapshot), "--account", sub]
        code, out, err = run_cli([*args, "-f", "json", "--fail-on", "never"])
        assert code == 0, err
        scans.append(json.loads(out))
    assert scans[0] == scans[1] == scans[2]
    assert scans[0]["snapshot_used"] is True and scans[0]["findings"]


def test_watch_judges_events_against_a_gz_snapshot(tmp_path: Path) -> None:
    import watch_fixtures as W
    from test_watch_cli import Running
    from watch_support import make_snapshot, read_lines, wait_for

    plain = make_snapshot(W.scenario(), tmp_path / "plain")
    folder = tmp_path / "gz"
    save_snapshots([load_snapshot(plain)], folder, compress=True)
    assert [p.name for p in folder.iterdir()] == ["snapshot.json.gz"]
    jsonl = tmp_path / "out.jsonl"
    with EmulatorServer(W.scenario()) as emulator:
        args = ["--snapshot", str(folder), "--listen", "127.0.0.1:0", "--api-url", emulator.url]
        running = Running([*args, "--jsonl", str(jsonl)])
        try:
            url = running.url()
            alert = W.alert("1", W.NURSE_LINE, datetime.now(UTC))
            assert emulator.deliver_debugger_event(url, W.RIVERSIDE, alert) == 200
            lines = wait_for(lambda: read_lines(jsonl), timeout=10)
            rc, _ = running.stop(signal.SIGTERM)
        finally:
            running.kill()
    assert rc == 0, "".join(running.err)
    (line,) = lines
    assert line["rule"] == "callerid-cross-account" and line["owner_account_sid"] == W.HILLCREST
    assert (folder / "watch-state.sqlite").exists()  # the state beside the snapshot


# ---------------------------------------------------------------------------- hostile input


def _valid_gz(runs: dict[str, Any]) -> bytes:
    return bytes((runs["root"] / "gz" / "snapshot.json.gz").read_bytes())


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]


HOSTILE: dict[str, tuple[Any, str]] = {
    "truncated in the middle": (lambda gz: gz[: len(gz) // 2], "gzip data ends early"),
    "truncated trailer": (lambda gz: gz[:-3], "gzip data ends early"),
    "header only": (lambda gz: gz[:6], "gzip data ends early"),
    "corrupt method": (lambda gz: _flip(gz, 2), "corrupt gzip data"),
    # a flipped bit mid-stream: bad deflate data, a failed CRC, or an end before the end
    "corrupt data": (lambda gz: _flip(gz, len(gz) // 2), "corrupt gzip data|bytes after the end"),
    "corrupt checksum": (lambda gz: _flip(gz, len(gz) - 6), "corrupt gzip data"),
    "trailing bytes": (lambda gz: gz + b"not gzip", "bytes after the end of the gzip data"),
    "gzip of text": (lambda gz: gzip.compress(b"hello, world"), r"\(inflated\): not valid JSON"),
    "gzip of binary": (lambda gz: gzip.compress(b"\xff\xfe\x00"), r"\(inflated\): not a text file"),
    "gzip of other JSON": (
        lambda gz: gzip.compress(b'{"hello": "world"}'),
        r"\(inflated\): not a twilio-audit snapshot",
    ),
    "named .gz, neither": (lambda gz: b"garbage \x00", "not gzip data despite its name"),
    "empty .gz": (lambda gz: b"", "not gzip data despite its name"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_damaged_or_hostile_gz_is_one_line_and_exit_2(
    case: str, runs: dict[str, Any], tmp_path: Path
) -> None:
    make, expected = HOSTILE[case]
    path = tmp_path / "snapshot.json.gz"
    path.write_bytes(make(_valid_gz(runs)))
    with pytest.raises(SnapshotError) as err:
        load_snapshot(path)
    assert str(path) in str(err.value) and re.search(expected, str(err.value))
    out = tmp_path / "out"
    for args in (["report", str(path), "--out", str(out)], ["diff", str(path), str(path)]):
        code, _, stderr = run_cli(args)
        assert code == 2, stderr
        line = one_line(stderr)
        assert str(path) in line and re.search(expected, line)
    assert not out.exists()  # a bad input leaves no folder behind


def test_a_gzip_bomb_is_refused_at_the_plain_snapshots_cap(
    runs: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = (runs["root"] / "plain" / "snapshot.json").read_bytes()
    packed = tmp_path / "snapshot.json.gz"
    packed.write_bytes(_valid_gz(runs))
    as_is = tmp_path / "plain.json"
    as_is.write_bytes(plain)
    # The cap a plain snapshot has is the cap of what a .gz inflates to: at it, both load…
    monkeypatch.setattr("auditor.snapshot.MAX_SNAPSHOT_BYTES", len(plain))
    assert load_snapshot(packed) == load_snapshot(as_is)
    # …one byte under it, both are refused.
    monkeypatch.setattr("auditor.snapshot.MAX_SNAPSHOT_BYTES", len(plain) - 1)
    for path in (packed, as_is):
        with pytest.raises(SnapshotError, match="cap"):
            load_snapshot(path)
    # A real bomb: 256 MiB of zeros in a quarter-megabyte file, against a 4 MiB cap.
    cap = 4 << 20
    monkeypatch.setattr("auditor.snapshot.MAX_SNAPSHOT_BYTES", cap)
    bomb = tmp_path / "bomb.json.gz"
    bomb.write_bytes(b"".join(gzip_chunks(b"\0" * (1 << 20) for _ in range(256))))
    assert bomb.stat().st_size < 512 * 1024
    tracemalloc.start()
    try:
        with pytest.raises(SnapshotError):
            load_snapshot(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < cap + (4 << 20)  # the cap, one inflated piece and a compressed chunk
    code, _, err = run_cli(["report", str(bomb), "--out", str(tmp_path / "out")])
    assert code == 2
    line = one_line(err)
    assert str(bomb) in line and f"more than the {cap:,}-byte cap" in line
    assert "gzip bomb" in line and "pass a snapshot.json.gz written by twilio-audit" in line


def test_the_cap_is_the_plain_readers_own() -> None:
    assert MAX_SNAPSHOT_BYTES == 2 * 1024**3


def test_a_fifo_named_gz_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "snapshot.json.gz"
    os.mkfifo(fifo)
    code, _, err = run_cli(["report", str(tmp_path), "--out", str(tmp_path / "out")])
    assert code == 2 and "not a regular file (a FIFO)" in one_line(err)


def test_a_folder_with_both_forms_is_refused(runs: dict[str, Any], tmp_path: Path) -> None:
    for name in ("snapshot.json", "snapshot.json.gz"):
        (tmp_path / name).write_bytes((runs["root"] / "plain" / "snapshot.json").read_bytes())
    for args in (
        ["report", str(tmp_path), "--out", str(tmp_path / "o")],
        ["diff", *[str(tmp_path)] * 2],
    ):
        code, _, err = run_cli(args)
        assert code == 2
        assert "holds both snapshot.json and snapshot.json.gz" in one_line(err)


@pytest.fixture(autouse=True)
def _no_leftover_temp_files(tmp_path: Path) -> Iterator[None]:
    yield
    assert not list(tmp_path.rglob("*.tmp"))


# ---------------------------------------------------------------------------- the gzip stream


def test_the_stream_is_plain_gzip_at_any_chunking() -> None:
    data = os.urandom(300_000) + b"snapshot " * 200_000  # incompressible, then repetitive
    parts = [data[i : i + 65_536] for i in range(0, len(data), 65_536)]
    packed = b"".join(gzip_chunks(parts))
    assert packed == b"".join(gzip_chunks([data]))  # the chunking does not show
    assert gzip.decompress(packed) == data
    for size in (3, 4_096, 1 << 20):
        assert gunzip([packed[i : i + size] for i in range(0, len(packed), size)], 10**7) == data
    small = gzip.compress(b'{"a": 1}', mtime=1_700_000_000)  # gzip's own, with a time
    assert gunzip([small[i : i + 1] for i in range(len(small))], 100) == b'{"a": 1}'
    # Another writer's file: a name in the header, several members (`cat a.gz b.gz`).
    named = io.BytesIO()
    with gzip.GzipFile("snapshot.json", "wb", fileobj=named, mtime=5) as fh:
        fh.write(b"[1, ")
    assert gunzip([named.getvalue() + gzip.compress(b"2]")], 100) == b"[1, 2]"


def test_a_bomb_at_the_real_cap_is_refused_holding_next_to_nothing(tmp_path: Path) -> None:
    # 129 members of 16 MiB of zeros: 2 GiB + 16 MiB inflated from a 2 MB file.
    member = gzip.compress(b"\0" * (16 << 20), compresslevel=9)
    bomb = tmp_path / "snapshot.json.gz"
    bomb.write_bytes(member * 129)
    tracemalloc.start()
    try:
        with pytest.raises(SnapshotError) as err:
            load_snapshot(tmp_path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert f"more than the {MAX_SNAPSHOT_BYTES:,}-byte cap" in str(err.value)
    assert peak < 2 * SUSPECT_AFTER  # not the 2 GiB it would have kept


def test_a_genuine_file_that_inflates_like_a_bomb_is_read_again_and_kept(
    runs: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = b"".join(b'{"n": %d, "pad": "%s"}\n' % (i, b"x" * 200) for i in range(20_000))
    packed = gzip.compress(data)
    assert len(data) > 64 * len(packed)  # compresses better than SUSPECT_RATIO
    reads = []

    def again() -> Iterator[bytes]:
        reads.append(1)
        yield packed

    assert gunzip([packed], len(data), again=again) == data and not reads  # under 16 MiB
    monkeypatch.setattr("auditor.gzstream.SUSPECT_AFTER", 1 << 20)
    assert gunzip([packed], len(data), again=again) == data and reads == [1]
    # A snapshot through the same path (judged at any ratio): what a plain load gives.
    monkeypatch.setattr("auditor.gzstream.SUSPECT_RATIO", 1)
    monkeypatch.setattr("auditor.gzstream.SUSPECT_AFTER", 0)
    assert load_snapshot(runs["root"] / "gz") == load_snapshot(runs["root"] / "plain")
