"""`twilio-audit scan PATH...`: caller-ID usage in a source tree, before it reaches production.

Without a snapshot it lists every callerId / From the code sets (file:line),
and judges what needs no hierarchy: empty or unrendered values, numbers not in
E.164, `client:` identities on a PSTN leg. With `--snapshot S --account SID` it
checks each literal against the hierarchy and reports the same rule IDs as
`audit` (only findings whose source is code).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from auditor import __version__
from auditor.codec import to_data
from auditor.commands.options import FailOn
from auditor.errors import AuditorError
from auditor.extract.code import ScanResult, scan_paths
from auditor.files import write_atomic
from auditor.model import Analysis, CallerIdReference, Finding, Snapshot, SourceKind
from auditor.redact import redact_data, redact_url
from auditor.text import dump_json, visible

NAME = "scan"
HELP = (
    "Find callerId / From usage in source code (TwiML, templates, Studio exports, Python, "
    "JS/TS, PHP, Ruby, C#, Java; values resolved through .env and config files): file:line as "
    "text, JSON or SARIF. Test files are skipped unless --include-tests. With --snapshot and "
    "--account, check each literal against the hierarchy (same rule IDs as audit). Exit 1 on "
    "findings at or above --fail-on, 2 on bad input."
)

ACCOUNT_SID_RE = re.compile(r"^AC[0-9a-fA-F]{32}$")
# Rules that judge a value on its own, without knowing who owns what.
STANDALONE_RULES = frozenset({"callerid-empty", "callerid-not-e164", "callerid-client-on-pstn"})


class ScanFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    SARIF = "sarif"


@dataclass
class ScanReport:
    result: ScanResult
    findings: list[Finding]
    account_sid: str | None
    snapshot_used: bool


def _check_account(account: str | None, snapshot: Snapshot | None) -> str | None:
    if account is None:
        if snapshot is not None:
            raise AuditorError(
                "--snapshot needs --account SID: the account that runs this code "
                "(its callerIds are checked against what that account owns or verifies)"
            )
        return None
    sid = account.strip()
    if not ACCOUNT_SID_RE.fullmatch(sid):
        raise AuditorError(f"--account {account!r} is not an Account SID; use AC + 32 hex digits")
    if snapshot is not None and snapshot.account(sid) is None:
        raise AuditorError(
            f"--account {sid} is not in the snapshot of {snapshot.root_account_sid}; "
            "pass one of its accounts or collect the hierarchy that holds it"
        )
    return sid


def _stub_snapshot() -> Snapshot:
    return Snapshot(root_account_sid="", collected_at="", tool_version=__version__)


def code_findings(
    refs: list[CallerIdReference], snapshot: Snapshot | None
) -> tuple[list[Finding], list[str]]:
    """Findings for the code references: all rules with a snapshot, standalone ones without."""
    from auditor.analysis import analyse

    if not refs:
        return [], []
    base = snapshot if snapshot is not None else _stub_snapshot()
    analysis: Analysis = analyse(base, extra_references=refs)
    findings = [f for f in analysis.findings if f.source.kind == SourceKind.CODE]
    if snapshot is None:
        findings = [f for f in findings if f.rule in STANDALONE_RULES]
    return findings, list(analysis.notes) if snapshot is None else []


def build_report(
    paths: list[Path],
    *,
    account: str | None,
    snapshot: Snapshot | None,
    exclude: Sequence[str] = (),
    include_tests: bool = False,
) -> ScanReport:
    """Scan, then judge: the whole `scan` command minus printing."""
    for path in paths:
        if not path.exists():
            raise AuditorError(f"{path}: no such file or folder; pass a source tree to scan")
    sid = _check_account(account, snapshot)
    result = scan_paths(paths, account_sid=sid, exclude=exclude, include_tests=include_tests)
    findings, _ = code_findings(result.references, snapshot)
    return ScanReport(result, findings, sid, snapshot is not None)


# --------------------------------------------------------------------------- output


_VIA_WORD = {"dial": "callerId", "calls-api": "From", "conference-participant": "From"}


def _describe(ref: CallerIdReference) -> str:
    word = _VIA_WORD.get(ref.via, "callerId")
    if ref.missing:
        value = f"no {word}"
    else:
        shown = ref.raw_value if len(ref.raw_value) <= 80 else ref.raw_value[:77] + "..."
        value = f"{word} {shown!r}"
        if ref.e164 and ref.e164 != ref.raw_value:
            value += f" (E.164 {ref.e164})"
    parts = [value, ref.kind, f"dials {ref.dialed}", f"via {ref.via}"]
    if ref.value_source and ref.value_source not in ("literal", "passthrough"):
        parts.append(ref.value_source)
    if ref.passthrough:
        parts.append("pass-through")
    if ref.resolved_from:
        parts.append(f"from {ref.resolved_from}")
    return "  ".join(parts)


def _missing_summary(path: str, refs: list[CallerIdReference]) -> str:
    """One line for a file's Dials without callerId (Twilio then uses the caller's number)."""
    lines = ", ".join((r.source.location or "").rsplit(":", 1)[-1] for r in refs[:20])
    more = f" and {len(refs) - 20} more" if len(refs) > 20 else ""
    dialed = sorted({r.dialed for r in refs})
    return (
        f"{path}  {len(refs)} Dial(s) without callerId (lines {lines}{more})  "
        f"dials {'/'.join(dialed)}"
    )


def render_text(report: ScanReport) -> str:
    lines: list[str] = []
    missing: dict[str, list[CallerIdReference]] = {}
    for ref in report.result.references:
        if ref.missing:
            path = (ref.source.location or "").rsplit(":", 1)[0]
            missing.setdefault(path, []).append(ref)
    summarised: set[str] = set()
    for ref in report.result.references:
        if ref.missing:
            path = (ref.source.location or "").rsplit(":", 1)[0]
            if path not in summarised:
                summarised.add(path)
                lines.append(_missing_summary(path, missing[path]))
            continue
        lines.append(f"{ref.source.location}  {_describe(ref)}")
    if report.findings:
        lines.append("")
        lines.append("Findings:")
        for f in report.findings:
            lines.append(f"{f.source.location}  {f.severity}  {f.rule}  {f.message}")
            if f.remediation:
                lines.append(f"    fix: {f.remediation}")
    for note in report.result.notes:
        lines.append(f"note: {note}")
    r = report.result
    summary = (
        f"{len(r.references)} reference(s) in {r.files_scanned} file(s) scanned, "
        f"{r.files_skipped} skipped; {len(report.findings)} finding(s)"
    )
    if not report.snapshot_used:
        summary += " (without --snapshot only empty, non-E.164 and client-on-PSTN are judged)"
    lines.append(summary)
    # File names and values come from a stranger's tree: no escape sequence reaches a terminal.
    return "\n".join(visible(redact_url(line)) for line in lines) + "\n"


def render_json(report: ScanReport) -> str:
    from auditor.findings import finding_dict

    r = report.result
    doc: dict[str, Any] = {
        "tool_version": __version__,
        "account_sid": report.account_sid,
        "snapshot_used": report.snapshot_used,
        "files_scanned": r.files_scanned,
        "files_skipped": r.files_skipped,
        "references": [to_data(ref) for ref in r.references],
        "findings": [finding_dict(f) for f in report.findings],
        "notes": list(r.notes),
    }
    return dump_json(redact_data(doc))


def _reference_result(ref: CallerIdReference) -> dict[str, Any]:
    from auditor.render.sarif import split_location

    path, line = split_location(ref.source.location)
    physical: dict[str, Any] = {"artifactLocation": {"uri": path.replace("\\", "/")}}
    if line:
        physical["region"] = {"startLine": max(1, line)}
    return {
        "ruleId": "callerid-reference",
        "level": "note",
        "message": {"text": f"Sets a caller ID: {_describe(ref)}"},
        "locations": [{"physicalLocation": physical}],
        "properties": {
            "kind": ref.kind,
            "e164": ref.e164,
            "dialed": ref.dialed,
            "via": ref.via,
            "value_source": ref.value_source,
        },
    }


def render_sarif(report: ScanReport) -> str:
    from auditor.render.sarif import sarif_document

    base = _stub_snapshot()
    doc = sarif_document(base, Analysis(findings=report.findings))
    run = doc["runs"][0]
    judged = {f.source.location for f in report.findings}
    extra = [
        _reference_result(r) for r in report.result.references if r.source.location not in judged
    ]
    if extra:
        run["tool"]["driver"]["rules"].append(
            {
                "id": "callerid-reference",
                "name": "CalleridReference",
                "shortDescription": {"text": "Code that sets a callerId or a call's From"},
                "defaultConfiguration": {"level": "note"},
            }
        )
        run["results"].extend(extra)
    return dump_json(redact_data(doc))


def _load(path: Path | None) -> Snapshot | None:
    if path is None:
        return None
    from auditor.snapshot import load_snapshot

    return load_snapshot(path)


def run(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to scan.")],
    account: Annotated[
        str | None,
        typer.Option("--account", help="Account SID that runs this code (executing account)."),
    ] = None,
    snapshot: Annotated[
        Path | None,
        typer.Option("--snapshot", help="A snapshot (or audit output folder) to check against."),
    ] = None,
    fmt: Annotated[
        ScanFormat, typer.Option("--format", "-f", help="text, json or sarif.")
    ] = ScanFormat.TEXT,
    fail_on: Annotated[
        FailOn,
        typer.Option(
            "--fail-on",
            help="Exit 1 when a finding is at or above this severity ('never' always exits 0).",
        ),
    ] = FailOn.HIGH,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the output to this file.")
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option(
            "--exclude",
            metavar="GLOB",
            help="Do not read paths matching GLOB (relative to each PATH: 'legacy/*', "
            "'*.spec.ts', 'docs'); repeat for several.",
        ),
    ] = None,
    include_tests: Annotated[
        bool,
        typer.Option(
            "--include-tests",
            help="Also read test trees and files (test/, tests/, __tests__/, spec/, *.test.*, "
            "*.spec.*, *_test.*, *Test.java …), skipped by default.",
        ),
    ] = False,
) -> int:
    from auditor.findings import exceeds

    report = build_report(
        list(paths),
        account=account,
        snapshot=_load(snapshot),
        exclude=exclude or [],
        include_tests=include_tests,
    )
    renderer = {
        ScanFormat.TEXT: render_text,
        ScanFormat.JSON: render_json,
        ScanFormat.SARIF: render_sarif,
    }[fmt]
    text = renderer(report)
    if out is not None:
        write_atomic(out, text)
    else:
        typer.echo(text, nl=False)
    return 1 if exceeds(report.findings, fail_on.value) else 0
