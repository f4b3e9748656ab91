"""inventory.csv: every number and verified caller ID with its account, status and referrers."""

from __future__ import annotations

import csv
import io
import re

from auditor.model import Analysis, Snapshot
from auditor.render.view import Directory, number_route, reference_index, reference_text

COLUMNS = [
    "kind",
    "phone_number",
    "account_sid",
    "account_name",
    "account_status",
    "sid",
    "friendly_name",
    "status",
    "incoming_calls_go_to",
    "used_as_caller_id_by",
    "findings",
]
_PHONE = re.compile(r"^\+?[0-9 ()./-]*$")


def cell(value: object) -> str:
    """Neutralise spreadsheet formulas (=, +, -, @ …) in account data; keep phone numbers."""
    text = "" if value is None else str(value)
    if text and text[0] in "=+-@\t\r" and not _PHONE.match(text):
        return "'" + text
    return text


def render_csv(snapshot: Snapshot, analysis: Analysis) -> str:
    d = Directory.build(snapshot)
    refs = reference_index(analysis.references)
    rules: dict[str, set[str]] = {}
    for f in analysis.findings:
        if f.caller_id:  # a destination rule names its country: callerid-geo-restricted:TR
            rule = f"{f.rule}:{f.destination_country}" if f.destination_country else f.rule
            rules.setdefault(f.caller_id, set()).add(rule)
    status = {a.sid: a.status for a in snapshot.accounts}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)

    def row(
        kind: str, number: str, account: str, sid: str, name: str, state: str, route: str
    ) -> None:
        referrers = "; ".join(reference_text(r, d) for r in refs.get(number, []))
        findings = " ".join(sorted(rules.get(number, ())))
        values = (kind, number, account, d.names.get(account, ""), status.get(account, ""))
        writer.writerow([cell(v) for v in (*values, sid, name, state, route, referrers, findings)])

    for pn in sorted(snapshot.phone_numbers, key=lambda p: (p.account_sid, p.phone_number, p.sid)):
        route = number_route(pn.voice_url, pn.voice_application_sid, pn.trunk_sid, d)
        row(
            "number",
            pn.phone_number,
            pn.account_sid,
            pn.sid,
            pn.friendly_name,
            pn.status or "",
            route,
        )
    for vc in sorted(
        snapshot.verified_caller_ids, key=lambda v: (v.account_sid, v.phone_number, v.sid)
    ):
        row(
            "verified_caller_id",
            vc.phone_number,
            vc.account_sid,
            vc.sid,
            vc.friendly_name,
            "verified",
            "",
        )
    return out.getvalue()
