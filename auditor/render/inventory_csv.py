"""inventory.csv: every number and verified caller ID with its account, status and referrers.

Account data is hostile and the file is opened in spreadsheets, so each cell is made
safe twice over: `cell` shows control and bidi characters as visible marks (so no
CR, LF or tab survives to end a row or split a cell) and neutralises every line that a
spreadsheet would evaluate (starting with = + - @, after optional spaces) with a
leading apostrophe; `row` quotes any field holding a quote, comma, CR, LF, tab or
edge whitespace, so even a raw value could not spill into the next cell or row.
"""

from __future__ import annotations

import re

from auditor.model import Analysis, Snapshot
from auditor.redact import redact_url
from auditor.render.view import Directory, number_route, reference_index, reference_text
from auditor.text import visible

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
    "accepted",  # findings on this number an --accept entry covers: "rule until YYYY-MM-DD"
    "first_seen",  # with --history: when its oldest open finding was first seen
]
FORMULA_START = "=+-@"
_E164 = re.compile(r"^\+[0-9]{1,15}$")  # a plain number to a spreadsheet, not a formula
_LINES = re.compile(r"(\r\n|\r|\n)")
_NEEDS_QUOTES = re.compile(r'[",\r\n\t]|^\s|\s$')


def neutralise(text: str) -> str:
    """Every line a spreadsheet would evaluate gets a leading apostrophe (E.164 kept)."""
    parts = _LINES.split(text)
    for i in range(0, len(parts), 2):  # even items are lines, odd ones their line breaks
        first = parts[i].lstrip(" \t")[:1]
        if first and first in FORMULA_START and not _E164.match(parts[i]):
            parts[i] = "'" + parts[i]
    return "".join(parts)


def cell(value: object) -> str:
    """A safe cell for account data: visible marks for invisible characters, no formula."""
    return neutralise(visible(redact_url("" if value is None else str(value))))


def quote(field: str) -> str:
    """RFC 4180 quoting, also for CR, LF and tab (a bare CR ends a row in LibreOffice)."""
    if _NEEDS_QUOTES.search(field):
        return '"' + field.replace('"', '""') + '"'
    return field


def row(fields: list[str]) -> str:
    return ",".join(quote(f) for f in fields) + "\n"


def render_csv(snapshot: Snapshot, analysis: Analysis) -> str:
    d = Directory.build(snapshot)
    refs = reference_index(analysis.references)
    rules: dict[str, set[str]] = {}
    accepted: dict[str, set[str]] = {}
    first_seen: dict[str, str] = {}
    for f in analysis.findings:
        if f.caller_id:  # a destination rule names its country: callerid-geo-restricted:TR
            rule = f"{f.rule}:{f.destination_country}" if f.destination_country else f.rule
            rules.setdefault(f.caller_id, set()).add(rule)
            if f.acceptance is not None:
                accepted.setdefault(f.caller_id, set()).add(f"{rule} until {f.acceptance.expires}")
            elif f.history is not None:
                seen = first_seen.get(f.caller_id)
                first_seen[f.caller_id] = min(seen or f.history.first_seen, f.history.first_seen)
    status = {a.sid: a.status for a in snapshot.accounts}
    out = [row(COLUMNS)]

    def add(
        kind: str, number: str, account: str, sid: str, name: str, state: str, route: str
    ) -> None:
        referrers = "; ".join(reference_text(r, d) for r in refs.get(number, []))
        findings = " ".join(sorted(rules.get(number, ())))
        values = (kind, number, account, d.names.get(account, ""), status.get(account, ""))
        review = ("; ".join(sorted(accepted.get(number, ()))), first_seen.get(number, ""))
        out.append(
            row([cell(v) for v in (*values, sid, name, state, route, referrers, findings, *review)])
        )

    for pn in sorted(snapshot.phone_numbers, key=lambda p: (p.account_sid, p.phone_number, p.sid)):
        route = number_route(pn.voice_url, pn.voice_application_sid, pn.trunk_sid, d)
        add(
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
        add(
            "verified_caller_id",
            vc.phone_number,
            vc.account_sid,
            vc.sid,
            vc.friendly_name,
            "verified",
            "",
        )
    return "".join(out)
