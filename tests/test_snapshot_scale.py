"""The snapshot's fast paths (issue #14) give exactly what the plain ones give.

`save_snapshot` writes record batches through msgspec and `load_snapshot` decodes
with msgspec straight into the model; both must agree byte for byte and value for
value with the whole-document writer (`dump_json(redact_data(to_data(…)))`) and the
plain loader (`codec.loads` + `from_data`), on ordinary data and on every kind of
odd value a customer's account can hold. The findings of a snapshot must not depend
on which path read it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from auditor.analysis import analyse
from auditor.codec import to_data
from auditor.emulator.generate import generate_hierarchy
from auditor.errors import SnapshotError
from auditor.findings import finding_dict
from auditor.model import (
    SCHEMA_VERSION,
    Account,
    Alert,
    PhoneNumber,
    Snapshot,
    StudioFlow,
    TwimlApp,
    VerifiedCallerId,
    share_repeated,
)
from auditor.redact import redact_data
from auditor.snapshot import _decode, _decode_fast, load_snapshot, save_snapshot, snapshot_chunks
from auditor.text import dump_json

PARENT = "AC" + "1" * 32
CHILD = "AC" + "2" * 32


def plain_text(snapshot: Snapshot) -> bytes:
    """What save_snapshot wrote before it streamed: the reference."""
    return dump_json(redact_data(to_data(snapshot))).encode("utf-8")


def numbers(n: int, **extra: object) -> list[PhoneNumber]:
    return [
        PhoneNumber(
            f"PN{i:032x}",
            CHILD,
            f"+1555{i:07d}",
            f"Line {i}",
            {"voice": True, "sms": i % 2 == 0},
            voice_url="https://hooks.example.com/voice",
            voice_method="POST",
            **extra,  # type: ignore[arg-type]
        )
        for i in range(n)
    ]


ODD_TEXTS = [
    "Clinic – Riverside",  # non-ASCII
    "evil\u202egpj.exe",  # bidi override: escaped in the file
    "tab\tnew\nline\r",  # JSON escapes
    'quote " and backslash \\',
    "controls \x00\x01\x08\x0b\x0c\x1b\x1f",  # \\u escapes and short ones, as json.dumps
    "del \x7f and c1 \x85",
    "lone \ud800 surrogate",
    "https://user:secret@hooks.example.com/voice",  # a password: redacted in the file
    "mailto:someone@example.com",
    "",
]


def odd_snapshot(*, msgspec_reads: bool = False) -> Snapshot:
    """Every odd value; `msgspec_reads` leaves out the JSON msgspec refuses (NaN, infinity,
    lone surrogates), which the plain loader reads."""
    texts = [t for t in ODD_TEXTS if not (msgspec_reads and "\ud800" in t)]
    snap = Snapshot(root_account_sid=PARENT, collected_at="2026-11-29T12:00:00Z", tool_version="t")
    snap.accounts = [Account(PARENT, "P", "active", None), Account(CHILD, "C", "active", PARENT)]
    snap.phone_numbers = numbers(2500)  # more than one batch
    for i, text in enumerate(texts):  # odd values inside a batch, not only alone
        snap.phone_numbers[1200 + i].friendly_name = text
        snap.phone_numbers[1300 + i].voice_url = text
    snap.verified_caller_ids = [VerifiedCallerId(f"PN{i:032x}", CHILD, "+1", t) for i, t in
                                enumerate(texts)]  # fmt: skip
    snap.applications = [TwimlApp("AP" + "a" * 32, CHILD, "app", None)]
    snap.flows = [
        StudioFlow(
            "FW" + "f" * 32,
            CHILD,
            "flow",
            "published",
            3,
            {
                "states": [{"offset": {"x": 1.5, "y": -0.0}, "big": 10**30, "e": 1e16}],
                "text": texts,
                "user:pw@x": "key with an @",
            },
        )
    ]
    if not msgspec_reads:
        snap.flows[0].definition.update({"nan": float("nan"), "inf": float("-inf")})
    snap.alerts = [Alert("NO" + "e" * 32, CHILD, "13214", response_body="<Dial callerId='é'/>")]
    snap.coverage = {CHILD: {"flows": "ok", "alerts": "error: 403 — forbidden"}}
    snap.notes = ["a note", "é"]
    return snap


@pytest.mark.parametrize(
    "snapshot",
    [
        pytest.param(Snapshot(PARENT, "2026-11-29T12:00:00Z", "t"), id="empty"),
        pytest.param(odd_snapshot(), id="odd values"),
    ],
)
def test_the_streamed_file_is_the_plain_writers_byte_for_byte(
    snapshot: Snapshot, tmp_path: Path
) -> None:
    path = save_snapshot(snapshot, tmp_path / "snapshot.json")
    assert path.read_bytes() == plain_text(snapshot) == b"".join(snapshot_chunks(snapshot))
    text = path.read_text(encoding="utf-8")
    assert "secret" not in text


def test_a_generated_hierarchy_streams_and_loads_like_the_plain_paths(tmp_path: Path) -> None:
    scenario = generate_hierarchy(30, 40)
    snap = Snapshot(PARENT, "2026-11-29T12:00:00Z", "t")
    for acc in scenario["accounts"]:
        snap.accounts.append(Account(acc["sid"], acc["friendly_name"], "active", None))
        for pn in acc["incoming_phone_numbers"]:
            snap.phone_numbers.append(
                PhoneNumber(pn["sid"], acc["sid"], pn["phone_number"], pn["friendly_name"],
                            dict(pn["capabilities"]), pn["voice_url"], "POST")
            )  # fmt: skip
    path = save_snapshot(snap, tmp_path / "snapshot.json")
    data = path.read_bytes()
    assert data == plain_text(snap)
    fast = _decode_fast(data)
    assert fast is not None
    assert fast == _decode(data, path) == snap


def test_the_fast_loader_gives_the_plain_loaders_snapshot(tmp_path: Path) -> None:
    snap = odd_snapshot()
    data = plain_text(snap)
    plain = _decode(data, tmp_path / "s.json")
    fast = _decode_fast(data)
    # NaN and a lone surrogate are JSON msgspec refuses: the plain loader reads that file.
    assert fast is None
    loaded = load_snapshot(_write(tmp_path, data))
    assert json.dumps(to_data(loaded)) == json.dumps(to_data(plain))  # NaN != NaN
    # Without them, the fast path reads it, and reads the same.
    data = plain_text(odd_snapshot(msgspec_reads=True))
    fast = _decode_fast(data)
    assert fast is not None
    assert fast == _decode(data, tmp_path / "s.json")


def _write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "snapshot.json"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "text",
    [
        '{"schema_version": 1}',  # no root
        '{"root_account_sid": "AC1", "collected_at": "x", "tool_version": "t"}',  # no version
        '{"schema_version": 2, "root_account_sid": "AC1"}',
        '{"schema_version": true, "root_account_sid": "AC1", "collected_at": "x", '
        '"tool_version": "t"}',
        '{"schema_version": 1, "root_account_sid": "AC1", "collected_at": "x", '
        '"tool_version": "t", "phone_numbers": [{"sid": 5}]}',
        '{"schema_version": 1, "root_account_sid": "AC1", "collected_at": "x", '
        '"tool_version": "t", "flows": [{"sid": "FW1", "account_sid": "AC1", "friendly_name": '
        '"f", "status": "published", "revision": 1, "definition": {"a": '
        + "[" * 97
        + "]" * 97
        + "}}]}",  # 101 levels: one more than the plain loader accepts
        '{"schema_version": 1, "root_account_sid": "AC1", "collected_at": "x", '
        '"tool_version": "t", "region": "../../etc"}',  # a region that would name a file
        "[1, 2]",
        '{"schema_version": 1, "root_account_sid": "AC1"} trailing',
        "\ufeff{}",
    ],
)
def test_what_the_plain_loader_refuses_is_refused_with_its_words(text: str, tmp_path: Path) -> None:
    path = _write(tmp_path, text.encode("utf-8"))
    assert _decode_fast(path.read_bytes()) is None
    with pytest.raises(SnapshotError) as plain:
        _decode(path.read_bytes(), path)
    with pytest.raises(SnapshotError) as loaded:
        load_snapshot(path)
    assert str(loaded.value) == str(plain.value)


def test_a_definition_just_within_the_depth_limit_loads_fast(tmp_path: Path) -> None:
    text = (
        f'{{"schema_version": {SCHEMA_VERSION}, "root_account_sid": "AC1", "collected_at": "x", '
        '"tool_version": "t", "flows": [{"sid": "FW1", "account_sid": "AC1", "friendly_name": '
        '"f", "status": "published", "revision": 1, "definition": {"a": '
        + "[" * 96
        + "]" * 96
        + "}}]}"
    )
    data = text.encode()
    fast = _decode_fast(data)
    assert fast is not None
    assert fast == _decode(data, tmp_path / "s.json")


def test_repeated_texts_are_stored_once_and_values_unchanged() -> None:
    snap = Snapshot(PARENT, "x", "t", phone_numbers=numbers(3))
    # As decoded JSON gives them: equal values, distinct objects.
    for n in snap.phone_numbers:
        n.account_sid = "".join(CHILD)
        n.capabilities = dict(n.capabilities)
    before = to_data(snap)
    share_repeated(snap)
    assert to_data(snap) == before
    a, b, c = snap.phone_numbers
    assert a.account_sid is b.account_sid is c.account_sid
    assert a.voice_url is c.voice_url
    assert a.capabilities is c.capabilities and a.capabilities is not b.capabilities


def test_findings_do_not_depend_on_the_loader(tmp_path: Path) -> None:
    snap = odd_snapshot(msgspec_reads=True)
    snap.flows[0].definition = {
        "states": [
            {
                "name": "connect",
                "type": "connect-call-to",
                "properties": {"caller_id": "+15550000001", "to": "+15005550006"},
                "transitions": [],
            }
        ]
    }
    data = plain_text(snap)
    fast, plain = _decode_fast(data), _decode(data, tmp_path / "s.json")
    assert fast is not None
    share_repeated(fast)
    a, b = analyse(fast), analyse(plain)
    assert a.findings, "the flow's caller ID is nobody's: there is a finding to compare"
    assert [finding_dict(f) for f in a.findings] == [finding_dict(f) for f in b.findings]


def test_a_record_admitted_as_it_is_is_what_the_full_admission_gives() -> None:
    """records.admit skips the copy for a record that codec.conforms; from_data agrees."""
    from auditor.codec import conforms, from_data
    from auditor.model import DialingPermissionCountry, DialingPermissions, Via

    us = DialingPermissionCountry("US", "U", "NA", ["1"], True, False, False)
    codes: Any = ("1",)
    tupled = DialingPermissionCountry("US", "U", "NA", codes, True, False, False)
    good = [
        *numbers(3),
        VerifiedCallerId("PN" + "1" * 32, CHILD, "+15550001111"),
        Alert("NO" + "e" * 32, CHILD, "13214", request_url=None),
        Account(CHILD, "C", "active", PARENT),
        DialingPermissions(CHILD, None, [us]),
    ]
    for record in good:
        assert conforms(record), record
        assert from_data(type(record), to_data(record)) == record
    odd = [
        PhoneNumber("PN1", CHILD, "+1", "x", {"voice": 1}),  # type: ignore[dict-item]
        PhoneNumber("PN1", CHILD, "+1", Via.DIAL),  # a str subclass: from_data keeps it
        PhoneNumber("PN1", CHILD, "+1", "x", {}, voice_url=codes),
        StudioFlow("FW1", CHILD, "f", "published", 1),  # free-form JSON: depth is checked
        StudioFlow("FW1", CHILD, "f", "published", True, {}),  # a bool is not an int
        DialingPermissions(CHILD, None, [tupled]),  # a tuple: from_data wants a list
    ]
    for record in odd:
        assert not conforms(record), record


def test_the_graph_without_unused_number_nodes_finds_what_the_full_graph_finds(
    emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Collected over HTTP, analysed twice: every number a node (the graph before issue
    #14) and only the numbers a reference uses; same findings, same impacted numbers."""
    from functools import partial

    import auditor.analysis
    from auditor.collect import CollectConfig, collect
    from auditor.collect.credentials import Credentials
    from auditor.emulator.generate import NOW
    from auditor.emulator.shapes import parse_iso
    from auditor.graph import build_graph

    parent = emulator.scenario["accounts"][0]
    snap = collect(
        CollectConfig(
            credentials=Credentials(parent["sid"], parent["auth_token"]),
            api_url=emulator.url,
            now=parse_iso(NOW),
        )
    )
    lean = analyse(snap)
    monkeypatch.setattr(auditor.analysis, "build_graph", partial(build_graph, every_number=True))
    full = analyse(snap)
    assert [finding_dict(f) for f in lean.findings] == [finding_dict(f) for f in full.findings]
    used = {r.e164 for r in lean.references if r.e164}
    unused_impacted = {
        label for f in lean.findings for label in f.impacted if label.startswith("+")
    } - used
    assert unused_impacted, "numbers without a node of their own are still named as impacted"


def test_the_compact_indexes_answer_like_dicts_of_dicts_and_lists() -> None:
    """GraphIndex.authorized / numbers_by_e164 keep one SID or one number per entry when
    that is all there is; every lookup answers what the plain dicts answered, in order."""
    from collections import defaultdict

    from auditor.graph import build_index

    a, b, c = ("AC" + ch * 32 for ch in "abc")
    snap = Snapshot(PARENT, "x", "t")
    snap.phone_numbers = [
        PhoneNumber("PN" + "1" * 32, a, "+15550000001"),
        PhoneNumber("PN" + "2" * 32, b, "+15550000002"),
        PhoneNumber("PN" + "3" * 32, c, "+15550000002"),  # owned twice (a port in progress)
        PhoneNumber("PN" + "4" * 32, a, "+15550000004"),
    ]
    snap.verified_caller_ids = [
        VerifiedCallerId("PN" + "5" * 32, a, "+15550000001"),  # owned and verified: owned wins
        VerifiedCallerId("PN" + "6" * 32, b, "+15550000001"),
        VerifiedCallerId("PN" + "7" * 32, c, "+15550000009"),  # verified only
        VerifiedCallerId("PN" + "8" * 32, c, "+15550000009"),
    ]
    idx = build_index(snap, [])
    plain: dict[str, dict[str, str]] = defaultdict(dict)
    listed: dict[str, list[PhoneNumber]] = defaultdict(list)
    for n in snap.phone_numbers:
        plain[n.phone_number][n.account_sid] = "owned"
        listed[n.phone_number].append(n)
    for v in snap.verified_caller_ids:
        plain[v.phone_number].setdefault(v.account_sid, "verified")
    assert {k: idx.authorized[k] for k in idx.authorized} == plain
    assert [list(idx.authorized[k]) for k in plain] == [list(v) for v in plain.values()]
    assert {k: idx.numbers_by_e164[k] for k in idx.numbers_by_e164} == listed
    assert idx.authorized.get("+15550000099", {}) == {}
    assert idx.numbers_by_e164.get("+15550000099", []) == []
    assert "+15550000009" in idx.authorized and "+15550000009" not in idx.numbers_by_e164
    idx.authorized["+15550000004"]["AC" + "z" * 32] = "owned"  # a caller's copy, not the index
    assert idx.authorized["+15550000004"] == {a: "owned"}


@pytest.mark.parametrize(
    "document",
    [
        {},
        {"findings": []},
        {"schema_version": 1, "findings": [{"a": 1}, {"b": [1, {"c": "é\u202e\x7f"}]}, []]},
        {"findings": [{"url": "https://user:pw@hooks.example.com/x", "k@y": {"d": 1.5}}]},
        {"n": float("nan"), "big": 10**30, "e": 1e16, "s": "lone \ud800", "empty": {}},
        {"user:pw@x": 1, "a": [1]},  # a top-level key redaction moves: the plain writer
        {1: "not text"},  # json turns the key into text: the plain writer
    ],
)
def test_findings_json_streams_the_plain_writers_text(document: dict[Any, Any]) -> None:
    from auditor.text import dump_json_chunks

    streamed = b"".join(dump_json_chunks(document, redact_data))
    assert streamed == dump_json(redact_data(document)).encode("utf-8")


def test_the_fast_loaders_depth_check_covers_every_free_form_field() -> None:
    """snapshot._decode_fast checks the nesting of Studio definitions only: if another
    field of the snapshot holds free-form JSON, that check must grow with it."""
    import dataclasses
    import typing

    free: list[str] = []
    seen: set[type] = set()

    def walk(cls: type) -> None:
        for name, tp in typing.get_type_hints(cls).items():
            if "object" in str(tp) or "Any" in str(tp):
                free.append(f"{cls.__name__}.{name}")
            for arg in [tp, *typing.get_args(tp)]:
                for inner in [arg, *typing.get_args(arg)]:
                    if dataclasses.is_dataclass(inner) and inner not in seen:
                        seen.add(inner)  # type: ignore[arg-type]
                        walk(inner)  # type: ignore[arg-type]

    walk(Snapshot)
    assert free == ["StudioFlow.definition"]
