"""The report's view model: plain data the templates read, computed once from Snapshot + Analysis.

Templates stay dumb (loops and escaping); every count, grouping, ordering and
"what to show at scale" decision is made here, in pure functions.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, overload

from auditor.accept import open_findings
from auditor.extract.numberinfo import country_label
from auditor.findings import sort_findings
from auditor.graph import flow_url, normalize_url
from auditor.model import (
    Account,
    Analysis,
    CallerIdReference,
    Finding,
    PhoneNumber,
    Severity,
    Snapshot,
)
from auditor.regions import REGIONS, RegionChoice, region_label
from auditor.render.geo_view import destination_risk_sentences, geo_method_sentences
from auditor.render.options import ReportOptions
from auditor.render.rulemeta import RuleInfo, rule_info
from auditor.rules import RULE_ORDER

if TYPE_CHECKING:
    from auditor.render.review import ReviewView

SEVERITIES = [s.value for s in sorted(Severity, key=lambda s: -s.rank)]
SEVERITY_WEIGHT = {"critical": 8, "high": 4, "medium": 2, "low": 1, "info": 0}
# Past this many accounts the HTML shows one summary row per account (full list in CSV).
DETAILED_ACCOUNTS_MAX = 50
NUMBER_ROWS_PER_ACCOUNT = 50
SMALL_ACCOUNT = 12  # up to this many numbers, an account lists them all


@dataclass(frozen=True)
class Limits:
    """How much of a very large audit each medium shows; the rest is in findings.json / CSV."""

    full_evidence: int  # findings per rule shown with their whole evidence
    compact_rows: int  # further findings per rule, one table row each
    account_rows: int  # summary rows when the hierarchy is too large for per-account tables
    coverage_problems: int
    diagram_boxes: int = 50  # the hierarchy picture's boxes (diagram.MAX_BOXES), root included
    diagram_arrows: int = 40  # and its red arrows (diagram.MAX_ARROWS)

    @property
    def diagram(self) -> tuple[int, int]:
        return (self.diagram_boxes, self.diagram_arrows)


SCREEN = Limits(full_evidence=50, compact_rows=1000, account_rows=100_000, coverage_problems=500)
PRINT = Limits(full_evidence=5, compact_rows=50, account_rows=100, coverage_problems=50)
# On paper beyond DETAILED_ACCOUNTS_MAX accounts: WeasyPrint lays out ~0.2 s a page, and
# a 1,000-account report is read for its summary: per rule two worked examples and five
# more rows, a picture of 24 accounts whose boxes can be read on paper (measured at 1,000
# accounts: 30 pages, 6 s → 21, 3.7 s at 3/10/40 and 50 boxes → 15 pages, 1.9 s).
PRINT_AT_SCALE = Limits(
    full_evidence=2,
    compact_rows=5,
    account_rows=25,
    coverage_problems=50,
    diagram_boxes=25,
    diagram_arrows=20,
)


def print_limits(view: ReportView) -> Limits:
    """What report.pdf shows of each list, by the size of the hierarchy."""
    return PRINT if view.detailed_accounts else PRINT_AT_SCALE


NAME_LIMIT = 60
# How each `via` places the call, in the one short label every format shows.
VIA_LABELS = {
    "dial": "<Dial>",
    "calls-api": "Calls API request",
    "conference-participant": "Participants API request",
    "studio": "Studio widget",
    "flex-outbound": "Flex outbound",
}


def via_label(via: str | None) -> str:
    """'<Dial>', 'Calls API request' …; empty for findings about no call (policy, inventory)."""
    return VIA_LABELS.get(via or "", "")


# Rules whose finding means Twilio refuses the call leg (error 13214).
REFUSING_RULES = {
    "callerid-not-authorized",
    "callerid-cross-account",
    "callerid-not-e164",
    "callerid-empty",
    "callerid-client-on-pstn",
    "callerid-released",
    "webhook-context-mismatch",
    "callerid-owner-inactive",
    "callerid-missing-client-leg",
    "callerid-verified-unsupported-in-region",
}


def sev_rank(severity: str) -> int:
    try:
        return Severity(severity).rank
    except ValueError:
        return -1


def short(text: str | None, limit: int | None = NAME_LIMIT) -> str:
    """`text` cut to `limit` characters with an ellipsis (`None`: never cut)."""
    text = text or ""
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def display_date(iso: str | None) -> str:
    """'2026-11-29T12:00:00Z' -> '29 November 2026, 12:00 UTC' (unchanged when not ISO)."""
    if not iso:
        return ""
    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return iso
    return f"{moment.day} {moment:%B %Y, %H:%M} UTC"


_BARE_ACCOUNT_SID = re.compile(r"(?<![/=(\w])AC[0-9a-fA-F]{32}(?![/\w)])")
_NAMED_SID = re.compile(r" \((AC[0-9a-fA-F]{32})\)")


def name_accounts(text: str, names: Mapping[str, str], limit: int | None = NAME_LIMIT) -> str:
    """Prose names accounts, tables and evidence rows show SIDs: "Clinic (AC7f…) owns it, not
    ACab…" → "Clinic owns it, not Riverside". SIDs inside API paths or parameters stay."""
    if "AC" not in text:
        return text

    def drop(m: re.Match[str]) -> str:
        name = names.get(m.group(1))
        return "" if name and text[: m.start()].endswith(name) else m.group(0)

    text = _NAMED_SID.sub(drop, text)
    return _BARE_ACCOUNT_SID.sub(lambda m: short(names.get(m.group(0), m.group(0)), limit), text)


@dataclass
class Directory:
    """SID → human label lookups over one snapshot, built once (O(n) for 100,000 numbers)."""

    snapshot: Snapshot
    limit: int | None = NAME_LIMIT  # None: names and labels whole (report.md)
    names: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    routes: dict[str, str] = field(default_factory=dict)  # normalised webhook URL -> label
    _numbers: dict[str, PhoneNumber] | None = None  # by SID, built on the first number asked

    @classmethod
    def build(cls, snapshot: Snapshot, limit: int | None = NAME_LIMIT) -> Directory:
        d = cls(snapshot, limit)
        label_limit = None if limit is None else 40
        for acc in snapshot.accounts:
            d.names[acc.sid] = acc.friendly_name or acc.sid
        # Numbers are labelled when asked (`known`): a million labels nobody reads would
        # cost more memory than the numbers themselves.
        for vc in snapshot.verified_caller_ids:
            d.labels[vc.sid] = f"verified {vc.phone_number}"
        for app in snapshot.applications:
            d.labels[app.sid] = f"app {short(app.friendly_name, label_limit) or app.sid}"
        for flow in snapshot.flows:
            d.labels[flow.sid] = f"Studio flow {short(flow.friendly_name, label_limit)}"
            d.routes[normalize_url(flow_url(flow)) or ""] = d.labels[flow.sid]
        for fn in snapshot.functions:
            d.labels[fn.sid] = f"Function {fn.service_name}{fn.path}"
            if fn.url:
                d.routes[normalize_url(fn.url) or ""] = d.labels[fn.sid]
        for dom in snapshot.sip_domains:
            d.labels[dom.sid] = f"SIP domain {dom.domain_name}"
        return d

    def name(self, sid: str | None) -> str:
        if not sid:
            return "unknown account"
        return short(self.names.get(sid, sid), self.limit)

    def humanise(self, text: str) -> str:
        """Name the accounts a message mentions (see `name_accounts`)."""
        return name_accounts(text, self.names, self.limit)

    def known(self, sid: str) -> str | None:
        """The label of an item of the snapshot (number, app, flow …), None if unknown."""
        label = self.labels.get(sid)
        if label is not None or not sid.startswith("PN"):
            return label
        if self._numbers is None:
            self._numbers = {pn.sid: pn for pn in self.snapshot.phone_numbers}
        pn = self._numbers.get(sid)
        if pn is None:
            return None
        label_limit = None if self.limit is None else 40
        return f"{pn.phone_number} ({short(pn.friendly_name, label_limit)})".replace(" ()", "")

    def label(self, sid: str) -> str:
        return self.known(sid) or self.names.get(sid) or sid


def source_text(
    kind: str, sid: str | None, location: str | None, d: Directory, *, compact: bool = False
) -> str:
    """'Studio flow Triage (FW…) · dial_widget'; `compact` drops the SID when a name is known."""
    kind_label = {
        "alert": "13214 alert",
        "studio_flow": "Studio flow",
        "function": "Function",
        "webhook": "webhook",
        "code": "source code",
        "flex": "Flex configuration",
        "policy": "policy file",
        "inventory": "inventory",
    }.get(kind, kind)
    parts = [kind_label]
    if sid:
        label = d.known(sid)
        if label and label.lower().startswith(kind_label.lower()):
            parts = []
        parts.append((label if compact else f"{label} ({sid})") if label else sid)
    if location:
        parts.append(location)
    return " · ".join(parts)


# --------------------------------------------------------------------------- findings


@dataclass
class FindingView:
    finding: Finding
    index: int
    account_name: str
    owner_name: str | None
    path_names: list[str]
    source: str
    impacted: list[str]
    details: list[tuple[str, str]]
    message: str  # with account SIDs named (display only; findings.json keeps the SIDs)
    remediation: str
    destination: str = ""  # 'Turkey (TR)': the country of the number dialed (destination rules)
    via_label: str = ""  # "<Dial>", "Calls API request", "Studio widget", "Flex outbound"

    @property
    def destination_short(self) -> str:
        """'+902122223344 (TR)': the destination in a table cell."""
        f = self.finding
        if not f.destination and not f.destination_country:
            return ""
        return f"{f.destination or '?'} ({f.destination_country or '?'})"

    @property
    def severity(self) -> str:
        return self.finding.severity


@dataclass
class RuleGroup:
    info: RuleInfo
    severity: str
    findings: Sequence[FindingView]  # all of them, in report order (FindingViews)
    accounts: list[str]

    @property
    def count(self) -> int:
        return len(self.findings)

    def split(self, limits: Limits) -> tuple[list[FindingView], list[FindingView], int]:
        """(with full evidence, as table rows, left to findings.json) under `limits`."""
        end = limits.full_evidence + limits.compact_rows
        full = list(self.findings[: limits.full_evidence])
        rows = list(self.findings[limits.full_evidence : end])
        return full, rows, len(self.findings) - len(full) - len(rows)


def finding_view(i: int, f: Finding, d: Directory, *, show_region: bool = False) -> FindingView:
    details = [(detail_label(k), detail_value(v)) for k, v in sorted(f.details.items())]
    if show_region and f.region and "region" not in f.details:
        details.insert(0, ("Region", region_label(f.region)))
    return FindingView(
        finding=f,
        index=i,
        account_name=d.name(f.account_sid),
        owner_name=d.name(f.owner_account_sid) if f.owner_account_sid else None,
        path_names=[d.name(s) for s in f.path],
        source=source_text(f.source.kind, f.source.sid, f.source.location, d),
        # an E.164 entry is its own label (labels and names are keyed by SIDs): at scale a
        # finding about an alert names hundreds of inbound numbers
        impacted=[s if s.startswith("+") else d.label(s) for s in f.impacted],
        details=details,
        message=d.humanise(f.message),
        remediation=d.humanise(f.remediation),
        destination=(
            country_label(f.destination_country) if f.destination or f.destination_country else ""
        ),
        via_label=via_label(f.via),
    )


_WORDS = {"sid": "SID", "sids": "SIDs", "url": "URL", "urls": "URLs", "id": "ID", "ids": "IDs"}
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def detail_label(key: object) -> str:
    words = str(key).replace("_", " ").split()
    text = " ".join(_WORDS.get(w.lower(), w) for w in words)
    return text[:1].upper() + text[1:]


def detail_value(value: object) -> str:
    """Lists as comma-separated text, ISO timestamps as dates a reader knows."""
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else list(value)
        return ", ".join(detail_value(v) for v in items)
    if isinstance(value, dict):
        return "; ".join(f"{detail_label(k)}: {detail_value(v)}" for k, v in value.items())
    text = "" if value is None else str(value)
    return display_date(text) if _ISO.match(text) else text


def ordered_findings(findings: Iterable[Finding]) -> list[Finding]:
    """The order of findings.json (severity, then the rules' own order)."""
    return sort_findings(findings)


class FindingViews(Sequence[FindingView]):
    """One rule's finding views, each built when first read (and kept).

    At scale a rule has thousands of findings; the HTML shows 1,050 of them and the PDF
    13, so building every view up front was a tenth of the report's time. report.md
    reads them all. Numbering is as if all were built in order.
    """

    def __init__(self, findings: list[Finding], first: int, d: Directory, show_region: bool):
        self._findings = findings
        self._first = first
        self._d = d
        self._show_region = show_region
        self._built: list[FindingView | None] = [None] * len(findings)

    def __len__(self) -> int:
        return len(self._findings)

    @overload
    def __getitem__(self, i: int) -> FindingView: ...

    @overload
    def __getitem__(self, i: slice) -> list[FindingView]: ...

    def __getitem__(self, i: int | slice) -> FindingView | list[FindingView]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        view = self._built[i]  # IndexError past the end, as a list
        if view is None:
            f = self._findings[i]
            view = finding_view(self._first + i, f, self._d, show_region=self._show_region)
            self._built[i] = view
        return view


def group_findings(
    findings: list[Finding], d: Directory, *, show_region: bool = False
) -> list[RuleGroup]:
    by_rule: dict[str, list[Finding]] = defaultdict(list)
    for f in ordered_findings(findings):
        by_rule[f.rule].append(f)
    groups = []
    counter = 0
    for rule, items in by_rule.items():
        views = FindingViews(items, counter + 1, d, show_region)
        counter += len(items)
        severity = max((f.severity for f in items), key=sev_rank)
        groups.append(
            RuleGroup(
                info=rule_info(rule),
                severity=severity,
                findings=views,
                accounts=sorted({f.account_sid or "" for f in items}),
            )
        )
    groups.sort(key=lambda g: (-sev_rank(g.severity), RULE_ORDER.get(g.info.id, 99), g.info.id))
    return groups


@dataclass
class Action:
    headline: str
    detail: str
    account_name: str
    caller_id: str
    fixes: int
    by_severity: list[tuple[str, int]]
    impacted: int


def top_actions(findings: list[Finding], d: Directory, limit: int = 3) -> list[Action]:
    """The actions that fix the most: findings sharing account and caller ID share one fix."""
    groups: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    for f in findings:
        if SEVERITY_WEIGHT.get(f.severity, 0) == 0:
            continue
        groups[(f.account_sid or "", f.caller_id or f.raw_value or "")].append(f)

    def score(item: tuple[tuple[str, str], list[Finding]]) -> tuple[int, int, str, str]:
        (acc, cid), fs = item
        weight = sum(SEVERITY_WEIGHT.get(f.severity, 0) for f in fs)
        impacted = len({s for f in fs for s in f.impacted})
        return (-weight, -impacted, acc, cid)

    actions = []
    for (acc, cid), fs in sorted(groups.items(), key=score)[:limit]:
        lead = max(fs, key=lambda f: (sev_rank(f.severity), f.rule == "callerid-cross-account"))
        counts = Counter(f.severity for f in fs)
        headline, detail = split_sentence(d.humanise(lead.remediation or lead.message))
        actions.append(
            Action(
                headline=headline,
                detail=detail,
                account_name=d.name(acc or None),
                caller_id=cid,
                fixes=len(fs),
                by_severity=[(s, counts[s]) for s in SEVERITIES if counts[s]],
                impacted=len({s for f in fs for s in f.impacted}),
            )
        )
    return actions


_FIRST_SENTENCE = re.compile(r"^(.{15,}?[.:;])\s+(\S.*)$", re.S)


def split_sentence(text: str) -> tuple[str, str]:
    """(first sentence, the rest): the action's headline and its how-to."""
    m = _FIRST_SENTENCE.match(text)
    return (m.group(1), m.group(2)) if m else (text, "")


def risk_sentences(snapshot: Snapshot, findings: list[Finding], d: Directory) -> list[str]:
    """The risk in plain words, for a reader who has never seen TwiML."""
    refusing = [f for f in findings if f.rule in REFUSING_RULES]
    refused = {(f.account_sid, f.caller_id or f.raw_value) for f in refusing}
    accounts = {acc for acc, _ in refused}
    codes = sorted({c for f in refusing for c in f.error_codes}) or [13214]
    errors = (
        f"error {codes[0]}"
        if len(codes) == 1
        else f"errors {', '.join(map(str, codes[:-1]))} and {codes[-1]}"
    )
    out = []
    if refused:
        out.append(
            f"{len(refused)} caller ID setting{'s' if len(refused) != 1 else ''} in "
            f"{len(accounts)} account{'s' if len(accounts) != 1 else ''} will be refused by "
            f"Twilio ({errors}): the outgoing leg of those calls is never created, so the "
            "caller hears silence or an error instead of being connected."
        )
    else:
        out.append("No caller ID in use was found that Twilio would refuse.")
    alerts = sum(
        int(str(f.details.get("count", 1)))
        for f in findings
        if f.rule == "alert-13214-observed" and str(f.details.get("count", 1)).isdigit()
    )
    if alerts:
        window = snapshot.alert_window_days
        span = f"in the last {window} days" if window else "in the alert window"
        out.append(f"Twilio has already logged {alerts:,} such failures (alert 13214) {span}.")
    impacted = {s for f in findings if f.rule in REFUSING_RULES for s in f.impacted}
    if impacted:
        out.append(
            f"{len(impacted):,} inbound number{'s' if len(impacted) != 1 else ''}, "
            "apps or flows lead to a call that fails this way."
        )
    cross = [f for f in findings if f.rule == "callerid-cross-account"]
    if cross:
        out.append(
            f"{len(cross)} of these use a number that belongs to another account of the same "
            "hierarchy: Twilio checks the account that runs the call, not the parent."
        )
    out.extend(destination_risk_sentences(findings))
    return out


# --------------------------------------------------------------------------- inventory


@dataclass
class NumberRow:
    phone_number: str
    sid: str
    friendly_name: str
    route: str
    used_by: list[str]
    flagged: bool


@dataclass
class VerifiedRow:
    phone_number: str
    sid: str
    friendly_name: str
    used_by: list[str]


@dataclass
class AppRow:
    sid: str
    friendly_name: str
    voice_url: str
    numbers: list[str]


@dataclass
class AccountView:
    sid: str
    name: str
    status: str
    parent_name: str | None
    numbers_total: int
    numbers: list[NumberRow]
    other_routes: list[tuple[str, int]]  # numbers not listed, counted by where calls go
    verified: list[VerifiedRow]
    apps: list[AppRow]
    findings_by_severity: list[tuple[str, int]]
    findings_total: int

    @property
    def numbers_hidden(self) -> int:
        return self.numbers_total - len(self.numbers)


def reference_index(references: Iterable[CallerIdReference]) -> dict[str, list[CallerIdReference]]:
    """Caller-ID value (E.164 when known, else raw) → the references that use it."""
    index: dict[str, list[CallerIdReference]] = defaultdict(list)
    for ref in references:
        index[ref.e164 or ref.raw_value].append(ref)
    return index


def reference_text(ref: CallerIdReference, d: Directory) -> str:
    src = source_text(ref.source.kind, ref.source.sid, ref.source.location, d, compact=True)
    label = via_label(ref.via)
    return f"{d.name(ref.executing_account_sid)}: {src}" + (f" ({label})" if label else "")


def used_by_texts(refs: list[CallerIdReference], d: Directory) -> list[str]:
    """One line per place that uses a value; repeated 13214 alerts of one account counted once."""
    alerts: Counter[str] = Counter()
    lines: list[str] = []
    for ref in refs:
        if ref.source.kind == "alert":
            alerts[d.name(ref.executing_account_sid)] += 1
            continue
        text = reference_text(ref, d)
        if text not in lines:
            lines.append(text)
    for account, n in sorted(alerts.items()):
        lines.append(f"{account}: {n} alert{'s' if n != 1 else ''} 13214 (calls that failed)")
    return lines


def number_route(
    voice_url: str | None, app_sid: str | None, trunk_sid: str | None, d: Directory
) -> str:
    """Where Twilio sends a call to the number, named when it is a flow or Function we know."""
    if trunk_sid:
        return f"SIP trunk {trunk_sid}"
    if app_sid:
        return d.label(app_sid)
    if not voice_url:
        return "no voice route"
    return d.routes.get(normalize_url(voice_url) or "", voice_url)


def account_views(
    snapshot: Snapshot,
    analysis: Analysis,
    d: Directory,
    refs: dict[str, list[CallerIdReference]],
    *,
    detailed: bool = True,
) -> list[AccountView]:
    """Per account, its counts; `detailed` (a hierarchy small enough for per-account tables)
    also its number rows and where its other numbers' calls go. Beyond that the reports
    show one summary line per account, and the rows would cost a route per number."""
    flagged = {f.caller_id for f in analysis.findings if f.caller_id}
    numbers = defaultdict(list)
    for pn in snapshot.phone_numbers:
        numbers[pn.account_sid].append(pn)
    verified = defaultdict(list)
    for vc in snapshot.verified_caller_ids:
        verified[vc.account_sid].append(vc)
    apps = defaultdict(list)
    for app in snapshot.applications:
        apps[app.account_sid].append(app)
    numbers_by_app = defaultdict(list)
    for pn in snapshot.phone_numbers:
        if pn.voice_application_sid:
            numbers_by_app[pn.voice_application_sid].append(pn.phone_number)
    sev: dict[str, Counter[str]] = defaultdict(Counter)
    for f in analysis.findings:
        sev[f.account_sid or ""][f.severity] += 1

    views = []
    for acc in hierarchy_order(snapshot):
        pns = numbers[acc.sid] if detailed else []  # numbers_total counts them all
        # The numbers that matter first: used as caller ID or named by a finding.
        pns_sorted = sorted(
            pns,
            key=lambda p: (
                p.phone_number not in refs and p.phone_number not in flagged,
                p.phone_number,
            ),
        )
        important = [p for p in pns_sorted if p.phone_number in refs or p.phone_number in flagged]
        shown = pns_sorted if len(pns) <= SMALL_ACCOUNT else important[:NUMBER_ROWS_PER_ACCOUNT]
        shown_sids = {p.sid for p in shown}
        other_routes = Counter(
            number_route(p.voice_url, p.voice_application_sid, p.trunk_sid, d)
            for p in pns
            if p.sid not in shown_sids
        )
        rows = [
            NumberRow(
                pn.phone_number,
                pn.sid,
                pn.friendly_name,
                number_route(pn.voice_url, pn.voice_application_sid, pn.trunk_sid, d),
                used_by_texts(refs.get(pn.phone_number, []), d),
                pn.phone_number in flagged,
            )
            for pn in shown
        ]
        views.append(
            AccountView(
                sid=acc.sid,
                name=acc.friendly_name or acc.sid,
                status=acc.status,
                parent_name=d.name(acc.owner_account_sid) if acc.owner_account_sid else None,
                numbers_total=len(numbers[acc.sid]),
                numbers=rows,
                other_routes=sorted(other_routes.items(), key=lambda kv: (-kv[1], kv[0])),
                verified=[
                    VerifiedRow(
                        v.phone_number,
                        v.sid,
                        v.friendly_name,
                        used_by_texts(refs.get(v.phone_number, []), d),
                    )
                    for v in verified[acc.sid]
                ],
                apps=[
                    AppRow(a.sid, a.friendly_name, a.voice_url or "", numbers_by_app[a.sid])
                    for a in apps[acc.sid]
                ],
                findings_by_severity=[(s, sev[acc.sid][s]) for s in SEVERITIES if sev[acc.sid][s]],
                findings_total=sum(sev[acc.sid].values()),
            )
        )
    return views


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """'Clinic 9' before 'Clinic 10': digit runs compare as numbers."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part)
        for part in re.split(r"(\d+)", text.lower())
        if part
    )


def hierarchy_order(snapshot: Snapshot) -> list[Account]:
    """The root first, then its subaccounts by name (then any orphan)."""
    root = [a for a in snapshot.accounts if a.sid == snapshot.root_account_sid]
    rest = sorted(
        (a for a in snapshot.accounts if a.sid != snapshot.root_account_sid),
        key=lambda a: (natural_key(a.friendly_name), a.sid),
    )
    return root + rest


# --------------------------------------------------------------------------- coverage


@dataclass
class RegionRow:
    """One Twilio Region of the audit, as the scope table and the coverage section say it."""

    label: str  # "IE1"
    host: str  # api.dublin.ie1.twilio.com
    collected_display: str


@dataclass
class CoverageView:
    sources: list[str]
    per_source: list[tuple[str, int, int, int]]  # source, ok, error, skipped
    matrix: list[tuple[str, str, list[str]]]  # account name, sid, cell per source
    problems: list[tuple[str, str, str, str]]  # account name, sid, source, status (not ok/skipped)
    skipped: list[tuple[str, str, list[str]]]  # account name, sid, sources skipped on purpose
    notes: list[str]
    regions: list[RegionRow] = field(default_factory=list)
    regions_not_audited: list[str] = field(default_factory=list)  # "AU1 (Australia, Sydney)"


SOURCE_LABELS = {
    "alerts": "13214 alerts",
    "applications": "TwiML apps",
    "flex": "Flex configu\u00adration",  # soft hyphen: no overflow into the next column
    "flows": "Studio flows",
    "functions": "Functions",
    "phone_numbers": "phone numbers",
    "sip_domains": "SIP domains",
    "verified_caller_ids": "verified caller IDs",
    "webhooks": "webhook probe",
    "geo_permissions": "Geo Permis\u00adsions",  # a soft hyphen: it fits a narrow column
    "geo_prefixes": "high-risk prefixes",  # HighRiskSpecialPrefixes of the countries dialed
}


def source_label(source: str) -> str:
    return SOURCE_LABELS.get(source, source.replace("_", " "))


def coverage_view(snapshot: Snapshot, analysis: Analysis, d: Directory) -> CoverageView:
    sources = sorted({s for per in snapshot.coverage.values() for s in per})
    per_source = []
    for s in sources:
        states = [per.get(s, "") for per in snapshot.coverage.values()]
        per_source.append(
            (
                s,
                sum(1 for x in states if x == "ok"),
                sum(1 for x in states if x.startswith("error")),
                sum(1 for x in states if x == "skipped"),
            )
        )
    problems = []
    skipped = []
    matrix = []
    for acc in hierarchy_order(snapshot):
        per = snapshot.coverage.get(acc.sid, {})
        matrix.append((d.name(acc.sid), acc.sid, [per.get(s, "not read") for s in sources]))
        for s in sources:
            state = per.get(s, "not read")
            if state not in ("ok", "skipped"):
                problems.append((d.name(acc.sid), acc.sid, source_label(s), state))
        passed_over = [source_label(s) for s in sources if per.get(s) == "skipped"]
        if passed_over:
            skipped.append((d.name(acc.sid), acc.sid, passed_over))
    return CoverageView(
        sources=sources,
        per_source=per_source,
        matrix=matrix if len(matrix) <= DETAILED_ACCOUNTS_MAX else [],
        problems=problems,
        skipped=skipped,
        notes=[*snapshot.notes, *analysis.notes],
        regions=region_rows(snapshot, analysis),
        regions_not_audited=[
            f"{region_label(r)} ({REGIONS[r].name})" if r in REGIONS else region_label(r)
            for r in analysis.regions_not_audited
        ],
    )


def region_rows(snapshot: Snapshot, analysis: Analysis) -> list[RegionRow]:
    """The regions the analysis covers (the snapshot's own when it was analysed alone)."""
    scopes = [(s.region, s.edge, s.collected_at) for s in analysis.regions] or [
        (snapshot.region, snapshot.edge, snapshot.collected_at)
    ]
    return [
        RegionRow(region_label(region), RegionChoice(region, edge).host(), display_date(when))
        for region, edge, when in scopes
    ]


# --------------------------------------------------------------------------- whole report


@dataclass
class ReportView:
    options: ReportOptions
    generated_at: str
    generated_display: str
    collected_display: str
    root_name: str
    root_sid: str
    account_count: int
    number_count: int
    verified_count: int
    alert_window_days: int | None
    tool_version: str
    counts: list[tuple[str, int]]
    total_findings: int
    risk: list[str]
    actions: list[Action]
    groups: list[RuleGroup]
    accounts: list[AccountView]
    accounts_by_risk: list[AccountView]  # most serious findings first (for truncated tables)
    detailed_accounts: bool
    filter_accounts: list[tuple[str, str]]  # sid, name: accounts with findings
    coverage: CoverageView
    # (svg, note) per size drawn (Limits.diagram): the screen's, and report.pdf's if smaller
    diagrams: dict[tuple[int, int], tuple[str, str]] = field(default_factory=dict)
    changes_html: str = ""  # the 'changes since the baseline' section (auditor.diff)
    changes_md: str = ""
    snapshot: Snapshot | None = None
    geo_method: list[str] = field(default_factory=list)  # how destinations were judged
    directory: Directory | None = None
    review: ReviewView | None = None  # --accept / --history: accepted risks, trend


def diagram_for(view: ReportView, limits: Limits) -> tuple[str, str]:
    """The hierarchy picture (svg, note) drawn for these limits; empty when not drawn."""
    return view.diagrams.get(limits.diagram, ("", ""))


def _risk_key(a: AccountView) -> tuple[int, int, str]:
    weight = sum(SEVERITY_WEIGHT.get(s, 0) * n for s, n in a.findings_by_severity)
    return (-weight, -a.numbers_total, a.name.lower())


def build_view(snapshot: Snapshot, analysis: Analysis, options: ReportOptions) -> ReportView:
    d = Directory.build(snapshot)
    refs = reference_index(analysis.references)
    counts = Counter(f.severity for f in analysis.findings)
    generated = options.resolved_generated_at()
    detailed = len(snapshot.accounts) <= DETAILED_ACCOUNTS_MAX
    accounts = account_views(snapshot, analysis, d, refs, detailed=detailed)
    unaccepted = open_findings(analysis.findings)  # the summary speaks of what is still open
    with_findings = sorted(
        {f.account_sid for f in analysis.findings if f.account_sid}, key=lambda s: (d.name(s), s)
    )
    return ReportView(
        options=options,
        generated_at=generated,
        generated_display=display_date(generated),
        collected_display=display_date(snapshot.collected_at),
        root_name=d.name(snapshot.root_account_sid),
        root_sid=snapshot.root_account_sid,
        account_count=len(snapshot.accounts),
        number_count=len(snapshot.phone_numbers),
        verified_count=len(snapshot.verified_caller_ids),
        alert_window_days=snapshot.alert_window_days,
        tool_version=snapshot.tool_version,
        counts=[(s, counts[s]) for s in SEVERITIES],
        total_findings=len(analysis.findings),
        risk=risk_sentences(snapshot, unaccepted, d),
        actions=top_actions(unaccepted, d),
        groups=group_findings(
            analysis.findings,
            d,
            show_region=len(analysis.regions) > 1 or snapshot.region != "us1",
        ),
        accounts=accounts,
        accounts_by_risk=sorted(accounts, key=_risk_key),
        detailed_accounts=detailed,
        filter_accounts=[(s, d.name(s)) for s in with_findings],
        coverage=coverage_view(snapshot, analysis, d),
        snapshot=snapshot,
        geo_method=geo_method_sentences(snapshot, [s.region for s in analysis.regions]),
        directory=d,
    )
