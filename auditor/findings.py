"""Findings as data: stable fingerprints, deterministic order, counts and findings.json.

A fingerprint identifies "the same problem" across runs (rule, account, caller ID,
where it is written), so `diff` and pipelines can tell new findings from old ones.
It leaves out what changes without the problem changing: messages, impacted
numbers, and the SID of whichever 13214 alert happened to be kept.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from auditor.errors import AuditorError
from auditor.model import SCHEMA_VERSION, Analysis, Finding, Severity, Snapshot, SourceKind
from auditor.rules import RULE_ORDER

NEVER = "never"


class FailOn(StrEnum):
    """`--fail-on`: the lowest severity that makes a run exit 1 (`never`: always 0)."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"
    NEVER = NEVER


def fingerprint(finding: Finding) -> str:
    """sha256 over rule, account, caller ID and source (kind, SID, location).

    A finding about a destination (its `destination_country` is set) adds the number
    dialed and the country-table row it matched: the legs of one Dial are separate
    problems, with separate fixes.
    """
    sid = finding.source.sid
    if finding.source.kind == SourceKind.ALERT:
        # Alerts come and go with the window; the Dial they point at is the identity.
        url = finding.details.get("request_url")
        sid = url if isinstance(url, str) else None
    basis = [
        finding.rule,
        finding.account_sid or "",
        finding.caller_id or "",
        finding.source.kind,
        sid or "",
        finding.source.location or "",
    ]
    if finding.destination_country is not None or finding.destination is not None:
        basis += [
            finding.destination or "",
            finding.destination_country or "",
            str(finding.details.get("country_rule", "")),
        ]
    return hashlib.sha256(json.dumps(basis).encode("utf-8")).hexdigest()


def _rank(severity: str) -> int:
    try:
        return Severity(severity).rank
    except ValueError:
        return -1


def sort_key(finding: Finding) -> tuple[Any, ...]:
    return (
        -_rank(finding.severity),
        RULE_ORDER.get(finding.rule, len(RULE_ORDER)),
        finding.rule,
        finding.account_sid or "",
        finding.caller_id or "",
        finding.source.kind,
        finding.source.sid or "",
        finding.source.location or "",
        finding.raw_value or "",
        finding.message,
    )


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Most severe first, then rule order, account, caller ID, source."""
    return sorted(findings, key=sort_key)


def assign_fingerprints(findings: Sequence[Finding]) -> None:
    """Set every fingerprint; a repeat in the (sorted) list gets a numbered variant."""
    seen: dict[str, int] = {}
    for finding in findings:
        base = fingerprint(finding)
        n = seen.get(base, 0)
        seen[base] = n + 1
        finding.fingerprint = base if n == 0 else hashlib.sha256(f"{base}:{n}".encode()).hexdigest()


def severity_counts(findings: Iterable[Finding]) -> dict[str, int]:
    """{severity: count} for every severity, most severe first (zeros included)."""
    counts = {s.value: 0 for s in sorted(Severity, key=lambda s: -s.rank)}
    for finding in findings:
        counts[finding.severity] = counts.get(finding.severity, 0) + 1
    return counts


def worst_severity(findings: Iterable[Finding]) -> str | None:
    """The most severe severity present, or None when there is no finding."""
    worst = max((f.severity for f in findings), key=_rank, default=None)
    return worst


def exceeds(findings: Iterable[Finding], fail_on: str) -> bool:
    """True when a finding is at or above `fail_on` (exit code 1); 'never' is never exceeded."""
    threshold = str(fail_on).strip().lower()
    if threshold == NEVER:
        return False
    try:
        rank = Severity(threshold).rank
    except ValueError:
        choices = ", ".join([*(s.value for s in Severity), NEVER])
        raise AuditorError(
            f"--fail-on {fail_on!r} is not a severity; use one of {choices}"
        ) from None
    return any(_rank(f.severity) >= rank for f in findings)


def finding_dict(finding: Finding) -> dict[str, Any]:
    """One entry of findings.json (an accepted finding has status "accepted" and its entry)."""
    entry = {
        "rule": finding.rule,
        "severity": finding.severity,
        "account_sid": finding.account_sid,
        "caller_id": finding.caller_id,
        "raw_value": finding.raw_value,
        "owner_account_sid": finding.owner_account_sid,
        "source": {
            "kind": finding.source.kind,
            "sid": finding.source.sid,
            "location": finding.source.location,
        },
        "impacted": list(finding.impacted),
        "error_codes": list(finding.error_codes),
        "message": finding.message,
        "remediation": finding.remediation,
        "via": finding.via,
        "fingerprint": finding.fingerprint or fingerprint(finding),
        "status": finding.status,
        "path": list(finding.path),
        "details": _jsonable(finding.details),
        **destination_fields(finding),
        "region": finding.region,
    }
    if finding.acceptance is not None:
        entry["status"] = "accepted"
        entry["acceptance"] = asdict(finding.acceptance)
    if finding.acceptance_expired is not None:
        entry["acceptance_expired"] = asdict(finding.acceptance_expired)
    if finding.history is not None:
        entry["history"] = asdict(finding.history)
    return entry


def destination_fields(finding: Finding) -> dict[str, str | None]:
    """`destination` and `destination_country`, for the findings that depend on them."""
    if finding.destination is None and finding.destination_country is None:
        return {}
    return {"destination": finding.destination, "destination_country": finding.destination_country}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def findings_document(
    snapshot: Snapshot,
    analysis: Analysis,
    *,
    generated_at: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The findings.json document, exactly as the design defines it (plus per-finding extras).

    `extra` adds top-level sections (`accepted_risks`, `history`) when the run has them.
    """
    when = generated_at or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    document = {
        "schema_version": SCHEMA_VERSION,
        "generated_at": when,
        "root_account_sid": snapshot.root_account_sid,
        "coverage": {
            account: dict(sorted(sources.items()))
            for account, sources in sorted(snapshot.coverage.items())
        },
        "findings": [finding_dict(f) for f in sort_findings(analysis.findings)],
        # The Twilio Regions the snapshots cover, each with its own coverage, and the home
        # regions none covers ("coverage" above is their union, errors naming the region).
        "regions": {
            scope.region: {
                "edge": scope.edge,
                "collected_at": scope.collected_at,
                "coverage": {
                    account: dict(sorted(sources.items()))
                    for account, sources in sorted(scope.coverage.items())
                },
            }
            for scope in analysis.regions
        },
        "regions_not_audited": list(analysis.regions_not_audited),
    }
    document.update(extra or {})
    return document
