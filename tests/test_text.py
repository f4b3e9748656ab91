"""Text hygiene (controls, bidi), the safe JSON writer, CSV cells and Markdown links.

The CSV property test parses the file back with the csv module, as a spreadsheet
would read it, and checks every line of every cell: none may start a formula
(LibreOffice evaluates a cell, or a line a lax import splits off, that starts with
= + - @), whatever text an account holds.
"""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.model import Account, Analysis, PhoneNumber, Snapshot, VerifiedCallerId
from auditor.render.inventory_csv import COLUMNS, cell, quote, render_csv
from auditor.render.markdown import code_span, md, md_text
from auditor.text import dump_json, visible

ROOT = "AC" + "1" * 32
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
C0 = "".join(chr(c) for c in range(0x20) if chr(c) not in "\t\n\r")
C1 = "".join(chr(c) for c in range(0x7F, 0xA0))
HIDDEN = BIDI + C0 + C1 + "\u2028\u2029"

# Text as an attacker writes it: the characters that matter, mixed with ordinary ones.
hostile_text = st.text(
    alphabet=st.sampled_from(list("=+-@ \t\r\n'\"|,;a1(") + list(BIDI) + ["\x1b", "\x85", "é"]),
    max_size=30,
) | st.text(max_size=30)


# --------------------------------------------------------------------------- visible


def test_visible_marks_every_control_and_bidi_character() -> None:
    for ch in HIDDEN + "\t\n\r\ud800":
        assert visible(f"a{ch}b") == f"a[U+{ord(ch):04X}]b"
    assert visible("evil\u202egnp.exe") == "evil[U+202E]gnp.exe"
    assert visible("\x1b]52;c;ZXZpbA==\x07") == "[U+001B]]52;c;ZXZpbA==[U+0007]"
    ordinary = "Clinic – Riverside 📞 عيادة ٢ <b> & 'x'"
    assert visible(ordinary) == ordinary and visible(None) == ""


def test_visible_multiline_keeps_line_breaks_and_tabs_only() -> None:
    assert visible("a\r\nb\n\tc", multiline=True) == "a\r\nb\n\tc"
    assert visible("a\rb\x1bc\u202e", multiline=True) == "a[U+000D]b[U+001B]c[U+202E]"


@given(st.text())
def test_visible_output_never_holds_a_hidden_character(value: str) -> None:
    shown = visible(value)
    assert not any(ch in HIDDEN + "\t\n\r" for ch in shown)
    assert not re.search("[\ud800-\udfff]", shown)
    shown.encode("utf-8")  # printable: no lone surrogate left to crash print()


@settings(max_examples=100, deadline=None)
@given(
    st.recursive(
        st.text() | st.integers(),
        lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(), c, max_size=4),
        max_leaves=12,
    )
)
def test_dump_json_round_trips_and_escapes_what_a_terminal_would_obey(value: object) -> None:
    text = dump_json(value)
    assert json.loads(text) == value
    assert not any(ch in BIDI + C1 + "\u2028\u2029" for ch in text)
    assert not re.search("[\ud800-\udfff]", text)


def _reference_dump(value: object) -> str:
    """What dump_json wrote before it used msgspec: json.dumps, then the same escapes."""
    from auditor.text import _JSON_UNSAFE, _escape

    return _JSON_UNSAFE.sub(_escape, json.dumps(value, indent=2, ensure_ascii=False)) + "\n"


json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | hostile_text | st.text() | st.floats(),
    lambda c: (
        st.lists(c, max_size=4)
        | st.lists(c, max_size=3).map(tuple)
        | st.dictionaries(hostile_text | st.text(), c, max_size=4)
        | st.dictionaries(st.integers() | st.none() | st.booleans(), c, max_size=2)
    ),
    max_leaves=16,
)


@settings(max_examples=300, deadline=None)
@given(json_like)
def test_dump_json_writes_what_json_dumps_writes(value: object) -> None:
    # msgspec encodes what it spells like json.dumps; floats, non-text keys and lone
    # surrogates go to json.dumps itself: either way the same text.
    assert dump_json(value) == _reference_dump(value)


def test_dump_json_odd_shapes_are_json_dumps_own() -> None:
    deep: list[object] = []
    node = deep
    for _ in range(300):  # deeper than the fast path goes
        node.append([])
        node = node[0]  # type: ignore[assignment]
    shared = ["x"]
    odd = [deep, {"a": shared, "b": shared}, [1.5, float("nan"), 1e16], {1: "one"}, "\ud800"]
    odd += [10**30, ("t", "u"), {"k": "\x00\x1b\x7f\x85 é \u2028"}]
    for value in odd:
        assert dump_json(value) == _reference_dump(value)
    from auditor.text import _formatted  # which path wrote it: msgspec for plain data only

    assert _formatted({"a": [1, "é", None, True, ("t",)], "b": {}}, 2) is not None
    assert _formatted(deep, 2) is None and _formatted([1.5], 2) is None
    assert _formatted({"a": shared, "b": shared}, 2) is None and _formatted({1: "x"}, 2) is None
    cycle: list[object] = []
    cycle.append(cycle)
    with pytest.raises(ValueError, match="Circular reference"):
        dump_json(cycle)


# --------------------------------------------------------------------------- CSV


def csv_snapshot(values: list[str]) -> Snapshot:
    """One number per value, the value as its friendly name and its account's name."""
    accounts = [Account(ROOT, values[0] if values else "", "active", None)]
    numbers = [
        PhoneNumber(f"PN{i:032x}", ROOT, f"+1555{i:07d}", friendly_name=v)
        for i, v in enumerate(values)
    ]
    verified = [VerifiedCallerId("PN" + "f" * 32, ROOT, values[-1] if values else "+1", "x")]
    return Snapshot(ROOT, "2026-11-29T12:00:00Z", "0", accounts=accounts,
                    phone_numbers=numbers, verified_caller_ids=verified)  # fmt: skip


def spreadsheet_would_evaluate(line: str) -> bool:
    first = line.lstrip(" \t")[:1]
    return first != "" and first in "=+-@" and not re.fullmatch(r"\+[0-9]{1,15}", line)


@settings(max_examples=300, deadline=None)
@given(st.lists(hostile_text, min_size=1, max_size=6))
def test_no_csv_cell_round_trips_into_a_formula(values: list[str]) -> None:
    text = render_csv(csv_snapshot(values), Analysis())
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == COLUMNS
    assert len(rows) == 1 + len(values) + 1  # one row per item: no value ended a row
    assert all(len(r) == len(COLUMNS) for r in rows)
    names = [r[COLUMNS.index("friendly_name")] for r in rows[1:-1]]
    assert names == [cell(v) for v in values]  # what cell() made is what a reader gets
    for r in rows:
        for field in r:
            # LibreOffice with tab ticked as a separator too, or a lax import splitting lines
            for piece in field.split("\t"):
                for line in re.split(r"\r\n|\r|\n", piece):
                    assert not spreadsheet_would_evaluate(line), (values, field)


def test_csv_cell_examples() -> None:
    assert cell("Lobby\r=1+1") == "Lobby[U+000D]=1+1"  # the bare CR of issue item 5
    assert cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert cell("  @SUM(A1)") == "'  @SUM(A1)"
    assert cell("+15551230001") == "+15551230001"  # E.164 is a number, kept
    assert cell("+1 (555) 123-4567") == "'+1 (555) 123-4567"  # Excel would compute it
    assert cell("https://ops:pw@hooks.example/v") == "https://***@hooks.example/v"
    assert quote("a\rb") == '"a\rb"' and quote("a\tb") == '"a\tb"' and quote(" a") == '" a"'
    assert quote('say "hi", ok') == '"say ""hi"", ok"' and quote("plain") == "plain"


# --------------------------------------------------------------------------- Markdown


def test_markdown_puts_urls_and_addresses_in_code_spans() -> None:
    assert md_text("calls https://evil.example/x_y?a=1 now") == (
        "calls `https://evil.example/x_y?a=1` now"
    )
    assert md_text("see www.evil.example or mail ops@evil.example") == (
        "see `www.evil.example` or mail `ops@evil.example`"
    )
    assert md_text("https://u:secret@h/a|b`c") == "``https://***@h/a%7Cb`c``"
    assert md_text("*bold* [x](y) <b> # | _") == "\\*bold\\* \\[x\\](y) \\<b\\> \\# \\| \\_"
    assert md_text("rtl\u202eexe\nnext") == "rtl\\[U+202E\\]exe next"
    assert code_span("`x`") == "`` `x` ``"
    assert md("x" * 300) == "x" * 300  # report.md is a full-detail format: never clipped (#13)


def test_markdown_code_spans_leave_sentence_punctuation_outside() -> None:
    assert md_text("at https://h.example/a/b, so (see www.x.example).") == (
        "at `https://h.example/a/b`, so (see `www.x.example`)."
    )
