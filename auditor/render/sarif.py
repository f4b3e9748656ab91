"""findings.sarif: SARIF 2.1.0 for findings whose source is code, for code-scanning tools."""

from __future__ import annotations

from typing import Any

from auditor.model import Analysis, Finding, Snapshot
from auditor.render.rulemeta import rule_info
from auditor.render.view import ordered_findings
from auditor.text import visible

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}


def split_location(location: str | None) -> tuple[str, int | None]:
    """'src/app.js:42' -> ('src/app.js', 42); a location without a line keeps the whole path."""
    if not location:
        return "unknown", None
    path, sep, line = location.rpartition(":")
    if sep and line.isdigit() and path:
        return path, int(line)
    return location, None


def _result(f: Finding, rule_index: dict[str, int]) -> dict[str, Any]:
    path, line = split_location(f.source.location)
    physical: dict[str, Any] = {"artifactLocation": {"uri": path.replace("\\", "/")}}
    if line:
        physical["region"] = {"startLine": max(1, line)}
    result: dict[str, Any] = {
        "ruleId": f.rule,
        "ruleIndex": rule_index[f.rule],
        "level": LEVEL.get(f.severity, "warning"),
        # shown by code-scanning UIs: no bidi or control characters from account data
        "message": {"text": visible(f"{f.message}\nFix: {f.remediation}", multiline=True)},
        "locations": [{"physicalLocation": physical}],
        "partialFingerprints": {"twilioAudit/v1": f.fingerprint or f"{f.rule}:{path}:{line}"},
        "properties": {
            "severity": f.severity,
            "callerId": f.caller_id,
            "accountSid": f.account_sid,
            "ownerAccountSid": f.owner_account_sid,
            "via": f.via,  # dial | calls-api | conference-participant | studio | flex-outbound
        },
    }
    if f.destination or f.destination_country:
        result["properties"]["destination"] = f.destination
        result["properties"]["destinationCountry"] = f.destination_country
    if f.status in ("new", "unchanged"):
        result["baselineState"] = f.status  # compared with audit --baseline
    if f.acceptance is not None:  # --accept: a code-scanning tool shows it as dismissed
        a = f.acceptance
        result["suppressions"] = [
            {
                "kind": "external",
                "status": "accepted",
                "justification": f"{a.reason} (accepted by {a.accepted_by} until {a.expires})",
            }
        ]
    if f.history is not None:  # --history
        result["provenance"] = {"firstDetectionTimeUtc": f.history.first_seen}
        result["properties"]["daysOpen"] = f.history.days_open
        result["properties"]["historyState"] = f.history.state
    return result


def sarif_document(snapshot: Snapshot, analysis: Analysis) -> dict[str, Any]:
    findings = [f for f in ordered_findings(analysis.findings) if f.source.kind == "code"]
    rule_ids = sorted({f.rule for f in findings})
    rules = []
    for rid in rule_ids:
        info = rule_info(rid)
        sev = max(
            (f.severity for f in findings if f.rule == rid),
            key=lambda s: SECURITY_SEVERITY.get(s, "0"),
        )
        rule: dict[str, Any] = {
            "id": rid,
            "name": "".join(p.capitalize() for p in rid.split("-")),
            "shortDescription": {"text": info.title},
            "fullDescription": {"text": info.risk or info.title},
            "help": {"text": info.remediation or info.risk or info.title},
            "defaultConfiguration": {"level": LEVEL.get(sev, "warning")},
            "properties": {
                "security-severity": SECURITY_SEVERITY.get(sev, "5.0"),
                "tags": ["twilio", "callerid"],
            },
        }
        if info.docs_url:
            rule["helpUri"] = info.docs_url
        rules.append(rule)
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "twilio-audit",
                        "version": snapshot.tool_version,
                        "informationUri": "https://www.twilio.com/docs/api/errors/13214",
                        "rules": rules,
                    }
                },
                "results": [_result(f, {r: i for i, r in enumerate(rule_ids)}) for f in findings],
            }
        ],
    }
