"""Renderers on a hand-built hierarchy with hostile data: files, escaping, CSP, formats, scale."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from render_fixtures import (
    ALL_RULES,
    CALLS,
    CLINIC,
    FORMULA_NAME,
    LONG_VALUE,
    ROOT,
    RTL,
    RTL_NAME,
    SCRIPT_NAME,
    build_analysis,
    build_snapshot,
    sid,
)

from auditor.errors import AuditorError
from auditor.model import (
    Account,
    Analysis,
    CallerIdReference,
    Finding,
    PhoneNumber,
    Snapshot,
    Source,
)
from auditor.render import FILE_NAMES, ReportOptions, render_reports
from auditor.render.diagram import (
    MAX_ARROWS,
    MAX_BOXES,
    OTHERS,
    fold,
    hierarchy_graph,
    hierarchy_svg,
)
from auditor.render.html import render_html
from auditor.render.inventory_csv import COLUMNS
from auditor.render.templating import csp_hash, resource_text
from auditor.render.view import (
    DETAILED_ACCOUNTS_MAX,
    PRINT,
    PRINT_AT_SCALE,
    SCREEN,
    build_view,
)
from auditor.snapshot import write_atomic

OPTIONS = ReportOptions("Northwind <b>Health</b>", 'Ada & "Co"', "a4", "2026-11-29T12:00:00Z")
NO_PDF = ["html", "json", "csv", "sarif", "md"]


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("reports")
    render_reports(build_snapshot(), build_analysis(), folder, NO_PDF, OPTIONS)
    return folder


def test_fixture_covers_every_rule() -> None:
    assert sorted({f.rule for f in build_analysis().findings}) == sorted(ALL_RULES)


def test_each_format_writes_its_file_and_nothing_else(tmp_path: Path) -> None:
    paths = render_reports(
        build_snapshot(), build_analysis(), tmp_path, ["md", "csv", "md"], OPTIONS
    )
    assert paths == [tmp_path / "inventory.csv", tmp_path / "report.md"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inventory.csv", "report.md"]


def test_all_formats_no_temp_files_left(out: Path) -> None:
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(FILE_NAMES[f] for f in NO_PDF)


def test_binary_write_is_atomic_and_shareable(tmp_path: Path) -> None:
    target = tmp_path / "report.pdf"
    write_atomic(target, b"%PDF-1.7 first")
    write_atomic(target, b"%PDF-1.7 second")
    assert target.read_bytes() == b"%PDF-1.7 second"
    assert target.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["report.pdf"]


def test_unknown_format_and_paper_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(AuditorError, match="unknown report format 'docx'"):
        render_reports(build_snapshot(), build_analysis(), tmp_path, ["docx"], OPTIONS)
    with pytest.raises(AuditorError, match="--paper a4 or --paper letter"):
        render_reports(
            build_snapshot(), build_analysis(), tmp_path, ["html"], ReportOptions(paper="a3")
        )


def test_html_escapes_hostile_data(out: Path) -> None:
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<script>alert(" not in html
    assert "Clinic &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &#34;North&#34;" in html
    assert "Northwind &lt;b&gt;Health&lt;/b&gt;" in html
    assert "<b>not bold</b>" not in html
    assert RTL_NAME in html and "<bdi>" in html
    assert LONG_VALUE not in html  # clipped for display; the full value is in JSON and CSV
    assert "10,000 characters" in html
    assert html.count("<script") == 1


def test_html_csp_allows_exactly_the_inline_script(out: Path) -> None:
    html = (out / "report.html").read_text(encoding="utf-8")
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert csp is not None
    policy = csp.group(1)
    assert "default-src 'none'" in policy and "img-src data:" in policy
    script = re.search(r"<script>(.*?)</script>", html, re.S)
    assert script is not None
    assert script.group(1) == resource_text("report.js")
    assert f"script-src {csp_hash(script.group(1))}" in policy
    assert (
        "unsafe-eval" not in policy
        and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    )


def test_html_requests_nothing_external(out: Path) -> None:
    html = (out / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"<(link|img|iframe|object|embed|audio|video|source)\b", html)
    assert not re.search(r"\ssrc=", html)
    assert not re.search(r"@import|url\((?!#)", html)


def test_html_sections_in_order(out: Path) -> None:
    html = (out / "report.html").read_text(encoding="utf-8")
    ids = [
        "cover",
        "summary",
        "hierarchy",
        "findings",
        "accounts",
        "coverage",
        "method",
        "glossary",
    ]
    positions = [html.index(f'id="{i}"') for i in ids]
    assert positions == sorted(positions)
    for rule in ALL_RULES:
        assert f'id="rule-{rule}"' in html
    assert html.count("data-finding ") == len(build_analysis().findings)
    assert "The 3 actions that fix the most" in html


def test_coverage_separates_failures_from_sources_skipped_on_purpose(out: Path) -> None:
    html = (out / "report.html").read_text(encoding="utf-8")
    section = html[html.index('id="coverage"') : html.index('id="method"')]
    failed = section[section.index("What could not be read") : section.index("Not read on purpose")]
    assert "Studio flows: <bdi>error: 401 &lt;Unauthorized&gt; account closed</bdi>" in failed
    assert "Functions: <bdi>error: 401 account closed</bdi>" in failed
    skipped = section[section.index("Not read on purpose") :]
    assert (
        "13214 alerts" in skipped and "Functions" in skipped
    )  # the closed and the legacy accounts
    assert "TwiML of alert NO… could not be parsed &lt;x&gt;" in section  # analysis notes


def test_top_actions_rank_by_what_they_fix() -> None:
    view = build_view(build_snapshot(), build_analysis(), OPTIONS)
    assert len(view.actions) == 3
    first = view.actions[0]
    # +15550010000 in the clinic: a critical finding and its 13214 alerts share one fix.
    assert (first.caller_id, first.fixes) == ("+15550010000", 2)
    assert dict(first.by_severity) == {"critical": 1, "high": 1}


def test_severity_counts_and_risk_words() -> None:
    view = build_view(build_snapshot(), build_analysis(), OPTIONS)
    assert dict(view.counts) == {"critical": 2, "high": 13, "medium": 2, "low": 1, "info": 1}
    assert "refused by Twilio (error 13214)" in view.risk[0]
    assert any("17 such failures" in s and "30 days" in s for s in view.risk)
    assert any("1 call destination (DE) is blocked by the Geo Permissions" in s for s in view.risk)
    assert any("1 call to TR uses a caller ID the destination country" in s for s in view.risk)


def test_diagram_arrows_come_from_the_graph() -> None:
    g = hierarchy_graph(build_snapshot(), build_analysis())
    uses = {(u, v): d["numbers"] for u, v, d in g.edges(data=True) if d["kind"] == "uses"}
    assert uses == {
        (CLINIC, RTL): ["+15550020000"],
        (CALLS, RTL): ["+15550020001"],
        (CALLS, ROOT): ["+15550000000"],
    }
    parents = {(u, v) for u, v, d in g.edges(data=True) if d["kind"] == "parent"}
    assert len(parents) == 6 and all(u == ROOT for u, _ in parents)
    svg, note = hierarchy_svg(build_snapshot(), build_analysis())
    assert note == ""
    assert svg.count('marker-end="url(#arrowhead)"') == 3
    assert "+15550020000" in svg and "&lt;script&gt;" in svg and "<script" not in svg


def _wide(n_accounts: int, numbers_each: int) -> tuple[Snapshot, Analysis]:
    root = sid("AC", 10_000)
    accounts = [Account(root, "Root", "active", None)]
    numbers = []
    for i in range(n_accounts):
        acc = sid("AC", i + 1)
        accounts.append(Account(acc, f"Sub {i:04d}", "active", root))
        for j in range(numbers_each):
            numbers.append(PhoneNumber(sid("PN", i * 1000 + j), acc, f"+1555{i:04d}{j:03d}"))
    findings = [
        Finding(
            "callerid-cross-account",
            "high",
            sid("AC", i + 1),
            f"+1555{i + 1:04d}000",
            None,
            sid("AC", i + 2),
            Source("code", None, f"a.js:{i}"),
            "m",
            "r",
        )
        for i in range(0, n_accounts - 2, 7)
    ]
    snap = Snapshot(root, "2026-11-29T12:00:00Z", "0.1.0", accounts=accounts, phone_numbers=numbers)
    return snap, Analysis(findings=findings)


def test_diagram_folds_past_fifty_accounts() -> None:
    snap, analysis = _wide(120, 1)
    g = fold(hierarchy_graph(snap, analysis), snap.root_account_sid)
    assert g.number_of_nodes() == 50 and OTHERS in g
    assert g.nodes[OTHERS]["name"] == "72 more accounts"
    assert sum(d["numbers"] for _, d in g.nodes(data=True)) == 120


def test_diagram_draws_the_busiest_arrows_and_says_so() -> None:
    snap, analysis = _wide(300, 2)
    refs = []
    for i in range(300):  # every account dials with the next account's first number
        acc = sid("AC", i + 1)
        value = f"+1555{(i + 1) % 300:04d}000"
        refs.append(
            CallerIdReference(value, "number", Source("code", None, f"x.js:{i}"), acc, e164=value)
        )
    analysis.references = refs
    svg, note = hierarchy_svg(snap, analysis)
    assert svg.count('marker-end="url(#arrowhead)"') == MAX_ARROWS
    assert "49 of 301 accounts are drawn" in note and "252 more accounts" in note
    assert f"{MAX_ARROWS} of " in note and "red arrows are drawn" in note


def test_large_hierarchy_summarises_accounts(tmp_path: Path) -> None:
    snap, analysis = _wide(DETAILED_ACCOUNTS_MAX + 10, 3)
    view = build_view(snap, analysis, OPTIONS)
    assert not view.detailed_accounts
    html = render_html(view)
    assert "summary-table" in html and html.count("data-account-section=") == len(snap.accounts)


def test_print_limits_keep_small_reports_as_the_screen_draws_them() -> None:
    # Up to DETAILED_ACCOUNTS_MAX accounts the PDF draws the screen's picture; beyond, fewer
    # and larger boxes, and fewer worked examples per rule (PRINT_AT_SCALE).
    assert SCREEN.diagram == PRINT.diagram == (MAX_BOXES, MAX_ARROWS)
    assert PRINT_AT_SCALE.diagram < PRINT.diagram
    assert PRINT_AT_SCALE.full_evidence < PRINT.full_evidence
    assert PRINT_AT_SCALE.compact_rows < PRINT.compact_rows


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils is not installed")
def test_large_hierarchy_pdf_draws_the_smaller_picture(tmp_path: Path) -> None:
    snap, analysis = _wide(300, 2)
    refs = []
    for i in range(300):  # every account dials with the next account's first number
        value = f"+1555{(i + 1) % 300:04d}000"
        refs.append(CallerIdReference(value, "number", Source("code", None, f"x.js:{i}"),
                                      sid("AC", i + 1), e164=value))  # fmt: skip
    analysis.references = refs
    html_path, pdf_path = render_reports(snap, analysis, tmp_path, ["html", "pdf"], OPTIONS)
    html = html_path.read_text(encoding="utf-8")
    assert f"{MAX_BOXES - 1} of 301 accounts are drawn" in html
    assert html.count('marker-end="url(#arrowhead)"') == MAX_ARROWS
    boxes, arrows = PRINT_AT_SCALE.diagram
    text = subprocess.run(["pdftotext", "-layout", str(pdf_path), "-"], capture_output=True,
                          text=True, check=True).stdout  # fmt: skip
    flat = " ".join(text.split())
    assert f"{boxes - 1} of 301 accounts are drawn" in flat
    assert f"{arrows} of " in flat and "red arrows are drawn" in flat
    assert "Sub 0000" in flat  # the picture's boxes are text in the PDF too


def test_csv_lists_every_number_and_verified_id(out: Path) -> None:
    snap = build_snapshot()
    rows = list(csv.DictReader(io.StringIO((out / "inventory.csv").read_text(encoding="utf-8"))))
    assert len(rows) == len(snap.phone_numbers) + len(snap.verified_caller_ids)
    assert {r["kind"] for r in rows} == {"number", "verified_caller_id"}
    owned = next(r for r in rows if r["phone_number"] == "+15550020000")
    assert owned["account_sid"] == RTL and owned["account_status"] == "active"
    assert (
        "Studio flow" in owned["used_as_caller_id_by"]
        and "callerid-cross-account" in owned["findings"]
    )
    formula = next(r for r in rows if r["friendly_name"].endswith('"click")'))
    assert formula["friendly_name"] == "'" + FORMULA_NAME  # neutralised for spreadsheets
    assert all(r["phone_number"].startswith("+") for r in rows)  # numbers kept as they are


def test_markdown_summary_and_findings_escaped(out: Path) -> None:
    md = (out / "report.md").read_text(encoding="utf-8")
    assert md.startswith("# Caller ID audit")
    assert "## Summary" in md and "## Findings" in md
    assert "<script>" not in md and "\\<script\\>" in md
    assert md.count("\n| critical |") + md.count("\n| high |") >= 12
    sev = ("| critical |", "| high |", "| medium |", "| low |", "| info |")
    rows = [
        line for line in md.splitlines() if line.startswith(sev) and "| high | medium" not in line
    ]
    assert len(rows) == len(build_analysis().findings)
    assert all(line.count("|") - line.count("\\|") == 6 for line in rows)


def test_sarif_has_only_code_findings_with_locations(out: Path) -> None:
    doc = json.loads((out / "findings.sarif").read_text(encoding="utf-8"))
    assert doc["version"] == "2.1.0"
    run = doc["runs"][0]
    results = run["results"]
    expected = [f for f in build_analysis().findings if f.source.kind == "code"]
    assert len(results) == len(expected)
    assert {r["ruleId"] for r in results} == {r["id"] for r in run["tool"]["driver"]["rules"]}
    dial = next(r for r in results if r["ruleId"] == "callerid-not-authorized")
    loc = dial["locations"][0]["physicalLocation"]
    assert loc == {"artifactLocation": {"uri": "src/app/dial.js"}, "region": {"startLine": 42}}
    assert dial["level"] == "error"
    rules = run["tool"]["driver"]["rules"]
    for r in results:  # what SARIF 2.1.0 requires of a result, and what code scanners read
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
        assert r["message"]["text"] and r["level"] in {"error", "warning", "note", "none"}
        assert r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert run["tool"]["driver"]["name"] == "twilio-audit"


def test_json_uses_findings_document_with_injected_time(out: Path) -> None:
    doc = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert doc["generated_at"] == "2026-11-29T12:00:00Z"
    assert doc["root_account_sid"] == ROOT
    assert len(doc["findings"]) == len(build_analysis().findings)
    assert any(f["raw_value"] == LONG_VALUE for f in doc["findings"])  # full value kept


def test_rendering_is_deterministic(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    for folder in (a, b):
        render_reports(build_snapshot(), build_analysis(), folder, NO_PDF, OPTIONS)
    for name in (FILE_NAMES[f] for f in NO_PDF):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_script_name_never_reaches_a_raw_attribute(out: Path) -> None:
    html = (out / "report.html").read_text(encoding="utf-8")
    for attr in re.findall(r'(?:title|data-account|value)="([^"]*)"', html):
        assert "<" not in attr and '"' not in attr
    assert SCRIPT_NAME[:10].replace("<", "&lt;") in html


def test_clean_single_account_hierarchy_renders_every_format(tmp_path: Path) -> None:
    """No subaccount, no finding, no coverage recorded: nothing crashes, nothing is invented."""
    root = sid("AC", 42)
    snap = Snapshot(
        root, "2026-11-29T12:00:00Z", "0.1.0", accounts=[Account(root, "Solo", "active", None)]
    )
    paths = render_reports(snap, Analysis(), tmp_path, list(FILE_NAMES), OPTIONS)
    assert [p.name for p in paths] == list(FILE_NAMES.values())
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "No caller ID in use was found that Twilio would refuse." in html
    assert "No finding: every caller ID in use is owned or verified" in html
    assert "No coverage was recorded in this snapshot." in html
    assert "Every source that was meant to be read was read." not in html
    assert "actions that fix the most" not in html
    assert json.loads((tmp_path / "findings.sarif").read_text())["runs"][0]["results"] == []
    rows = (tmp_path / "inventory.csv").read_text().splitlines()
    assert rows == [",".join(COLUMNS)]


def test_destination_shows_in_every_format(out: Path) -> None:
    """The destination rules' number and country, as each format's reader sees them."""
    html = (out / "report.html").read_text(encoding="utf-8")
    assert (
        "<dt>Destination</dt><dd><code><bdi>+4930901820</bdi></code> in <bdi>Germany (DE)" in html
    )
    assert "<bdi>+902163334455</bdi></code> in <bdi>Turkey (TR)" in html
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "+15550020001 → +4930901820 (DE) |" in md and "→ +902163334455 (TR)" in md
    sarif = json.loads((out / "findings.sarif").read_text(encoding="utf-8"))
    (geo,) = [
        r for r in sarif["runs"][0]["results"] if r["ruleId"] == "dial-destination-not-permitted"
    ]
    assert geo["properties"]["destination"] == "+4930901820"
    assert geo["properties"]["destinationCountry"] == "DE"
    rows = list(csv.DictReader(io.StringIO((out / "inventory.csv").read_text(encoding="utf-8"))))
    called = next(r for r in rows if r["phone_number"] == "+15550020001")
    assert "dial-destination-not-permitted:DE" in called["findings"].split()
    doc = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert {(f["rule"], f.get("destination_country")) for f in doc["findings"]} >= {
        ("dial-destination-not-permitted", "DE"),
        ("callerid-geo-restricted", "TR"),
    }


def test_method_says_how_geo_permissions_were_judged(out: Path) -> None:
    html = (out / "report.html").read_text(encoding="utf-8")
    method = html.split('<section id="method">', 1)[1].split("</section>", 1)[0]
    # the fixture has no Geo Permissions: the report says they were not read
    assert "Voice Geo Permissions were not read" in method
    assert "destination-country rules" in method
