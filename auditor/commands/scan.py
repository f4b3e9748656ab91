"""`twilio-audit scan PATH...`: caller-ID usage in a source tree, before it reaches production.

Without a snapshot it lists every callerId / From the code sets (file:line),
and judges what needs no hierarchy: empty or unrendered values, numbers not in
E.164, `client:` identities on a PSTN leg. With `--snapshot S --account SID` it
checks each literal against the hierarchy and reports the same rule IDs as
`audit` (only findings whose source is code). A snapshot folder of a multi-region
audit is read whole (every `snapshot-<region>.json`), and the code is judged in
the region its Twilio client addresses (`--region`; see `code_region`).
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
from auditor.regions import DEFAULT_REGION, REGIONS, region_label
from auditor.text import dump_json, visible

NAME = "scan"
HELP = (
    "Find callerId / From usage in source code (TwiML, templates, Studio exports, Python, "
    "JS/TS, PHP, Ruby, C#, Java; values resolved through .env and config files): file:line as "
    "text, JSON or SARIF. Test files are skipped unless --include-tests. With --snapshot and "
    "--account, check each literal against the hierarchy (same rule IDs as audit), in the "
    "Twilio Region the code runs in (--region; an audit folder of several regions is read "
    "whole). Exit 1 on findings at or above --fail-on, 2 on bad input."
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
    region: str | None = None  # the Twilio Region the code was judged in (None: not said)


def code_region(region: str | None, snapshots: Sequence[Snapshot]) -> str | None:
    """The Twilio Region the scanned code runs in: where its Dials and API requests are judged.

    Nothing in a source tree says which region its Twilio client addresses (the SDK's
    region/edge may come from the program's own environment), so the user says it with
    --region. Without it: the snapshot's region when it holds one, and with several,
    no guess (a Verified Caller ID works in US1 and not in IE1): one line asking for it.
    Without a snapshot the region is only recorded on the references.
    """
    audited = [s.region for s in snapshots]
    if region is not None:
        reg = region.strip().lower()
        if reg not in REGIONS:
            homes = ", ".join(REGIONS)
            raise AuditorError(f"--region {region!r} is not a Twilio Region; use one of {homes}")
        if audited and reg not in audited:
            raise AuditorError(
                f"--region {reg}: the snapshot holds no {region_label(reg)} audit (it has "
                f"{', '.join(map(region_label, audited))}); collect {region_label(reg)} "
                "(audit --region …) or pass the region of one of its snapshots"
            )
        return reg
    if len(audited) > 1:
        choices = " or ".join(f"--region {r}" for r in audited)
        raise AuditorError(
            f"--snapshot holds audits of {', '.join(map(region_label, audited))}: pass "
            f"{choices}, the region this code's Twilio client uses (its SDK region, or "
            f"TWILIO_REGION where it runs; none set: {DEFAULT_REGION})"
        )
    return audited[0] if audited else None


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
    refs: list[CallerIdReference], snapshot: Snapshot | Sequence[Snapshot] | None
) -> tuple[list[Finding], list[str]]:
    """Findings for the code references: all rules with a snapshot (one, or one per region
    of the hierarchy), standalone ones without."""
    from auditor.analysis import analyse

    snapshots = [snapshot] if isinstance(snapshot, Snapshot) else list(snapshot or [])
    if not refs:
        return [], []
    analysis: Analysis = analyse(snapshots or _stub_snapshot(), extra_references=refs)
    findings = [f for f in analysis.findings if f.source.kind == SourceKind.CODE]
    if not snapshots:
        findings = [f for f in findings if f.rule in STANDALONE_RULES]
    return findings, list(analysis.notes) if not snapshots else []


def build_report(
    paths: list[Path],
    *,
    account: str | None,
    snapshot: Snapshot | Sequence[Snapshot] | None,
    region: str | None = None,
    exclude: Sequence[str] = (),
    include_tests: bool = False,
) -> ScanReport:
    """Scan, then judge: the whole `scan` command minus printing.

    `snapshot`: one snapshot or one per region of the hierarchy; `region`: --region.
    """
    snapshots = [snapshot] if isinstance(snapshot, Snapshot) else list(snapshot or [])
    for path in paths:
        if not path.exists():
            raise AuditorError(f"{path}: no such file or folder; pass a source tree to scan")
    sid = _check_account(account, snapshots[0] if snapshots else None)
    runs_in = code_region(region, snapshots)
    result = scan_paths(paths, account_sid=sid, exclude=exclude, include_tests=include_tests)
    for ref in result.references:
        ref.region = runs_in  # where its Dials and API requests execute
    findings, _ = code_findings(result.references, snapshots)
    return ScanReport(result, findings, sid, bool(snapshots), runs_in)


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
    elif report.region:
        summary += f"; judged as running in {region_label(report.region)}"
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
        "region": report.region,
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


def _load(path: Path | None) -> list[Snapshot]:
    """The snapshot file, or every regional snapshot of an audit folder (US1 first)."""
    if path is None:
        return []
    from auditor.snapshot import load_snapshots

    return load_snapshots([path])


def run(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to scan.")],
    account: Annotated[
        str | None,
        typer.Option("--account", help="Account SID that runs this code (executing account)."),
    ] = None,
    snapshot: Annotated[
        Path | None,
        typer.Option(
            "--snapshot",
            help="A snapshot (.json or .json.gz), or an audit output folder (every region's "
            "snapshot in it), to check against.",
        ),
    ] = None,
    region: Annotated[
        str | None,
        typer.Option(
            "--region",
            help="The Twilio Region this code's client uses (us1, ie1, au1): its Dials and API "
            "requests are judged there (ie1 has no Verified Caller IDs). Default: the "
            "snapshot's region; required when --snapshot holds several.",
        ),
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
        region=region,
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
