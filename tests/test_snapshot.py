"""snapshot.json: round trip, atomic write, and one clear error for every kind of bad file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.codec import to_data
from auditor.errors import SnapshotError
from auditor.model import (
    SCHEMA_VERSION,
    Account,
    Alert,
    CallerIdReference,
    PhoneNumber,
    ServerlessFunction,
    Snapshot,
    Source,
)
from auditor.snapshot import load_snapshot, save_snapshot

PARENT = "AC" + "1" * 32
CHILD = "AC" + "2" * 32
HEAD = (
    f'{{"schema_version": {SCHEMA_VERSION}, "root_account_sid": "AC1", '
    '"collected_at": "x", "tool_version": "1", '
)


def make_snapshot() -> Snapshot:
    return Snapshot(
        root_account_sid=PARENT,
        collected_at="2026-11-29T12:00:00Z",
        tool_version="0.1.0",
        accounts=[
            Account(PARENT, "Parent", "active", None),
            Account(CHILD, 'Clinic <b>&"', "suspended", PARENT),
        ],
        phone_numbers=[
            PhoneNumber("PN" + "a" * 32, CHILD, "+15551230001", capabilities={"voice": True})
        ],
        functions=[
            ServerlessFunction(
                "ZH" + "b" * 32,
                CHILD,
                "ZS" + "c" * 32,
                "ivr",
                "/dial",
                "ZN" + "d" * 32,
                "exports.handler = () => {}",
                environment={"CALLER_ID": "+15551230001"},
            )
        ],
        alerts=[Alert("NO" + "e" * 32, CHILD, "13214", response_body="<Response/>")],
        code_references=[
            CallerIdReference("+1555", "number", Source("code", None, "a.py:3"), None)
        ],
        coverage={CHILD: {"studio": "error: 403 forbidden", "numbers": "ok"}},
    )


def test_round_trip_is_exact(tmp_path: Path) -> None:
    snap = make_snapshot()
    path = save_snapshot(snap, tmp_path)
    assert path == tmp_path / "snapshot.json"
    loaded = load_snapshot(tmp_path)  # a folder resolves to its snapshot.json
    assert loaded == snap
    assert to_data(loaded) == json.loads(path.read_text())
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert path.stat().st_mode & 0o777 == 0o600  # it holds customer code: private


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"schema_version": 1, "root_account_sid": "AC1", "collected_', "not valid JSON"),
        ("[1, 2, 3]", "not a twilio-audit snapshot"),
        ('{"hello": "world"}', "not a twilio-audit snapshot"),
        ('{"schema_version": 99, "root_account_sid": "AC1"}', "schema version 99"),
        (
            HEAD + '"accounts": [{"sid": 5}]}',
            "$.accounts[0]",
        ),
        (
            HEAD + '"phone_numbers": "many"}',
            "expected a list",
        ),
    ],
)
def test_bad_files_give_one_line(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "snapshot.json"
    path.write_text(content)
    with pytest.raises(SnapshotError) as err:
        load_snapshot(path)
    message = str(err.value)
    assert expected in message
    assert str(path) in message
    assert "\n" not in message


def test_missing_file_and_binary_file(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match="no such file"):
        load_snapshot(tmp_path / "nope.json")
    with pytest.raises(SnapshotError, match=r"folder has no snapshot\.json"):
        load_snapshot(tmp_path)
    binary = tmp_path / "bin.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(SnapshotError, match="not a text file"):
        load_snapshot(binary)


def test_failed_write_keeps_the_previous_file(tmp_path: Path) -> None:
    snap = make_snapshot()
    path = save_snapshot(snap, tmp_path / "snapshot.json")
    before = path.read_text()
    snap.notes.append(object())  # type: ignore[arg-type]  # not JSON-serialisable
    with pytest.raises(TypeError):
        save_snapshot(snap, path)
    assert path.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["snapshot.json"]


def test_redact_url_hides_userinfo_even_in_malformed_urls_and_text() -> None:
    from auditor.redact import redact_url

    assert redact_url("https://user:pa55@host.example/voice") == "https://***@host.example/voice"
    assert redact_url("http://u:p@[::1/voice") == "http://***@[::1/voice"
    assert redact_url("could not reach HTTP://a@b.example:99999/") == (
        "could not reach HTTP://***@b.example:99999/"
    )
    assert redact_url("https://host.example/a@b") == "https://host.example/a@b"
    assert redact_url("https://u:p#x@host.example/") == "https://***@host.example/"
    assert redact_url("https://u:p/x?y@host.example/v") == "https://***@host.example/v"
    assert redact_url("https://host.example:8080/a@b") == "https://host.example:8080/a@b"
    assert redact_url("mailto:x@y.example") == "mailto:x@y.example"
