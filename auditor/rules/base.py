"""What every rule is made of: metadata, the context it reads, and finding builders.

A rule is a `Rule` (stable id, severity, Twilio error codes, risk in plain words,
a remediation template, a docs link) plus a pure `check(ctx)` yielding Findings.
`RuleContext` carries the snapshot, its graph and indexes, the references, and the
optional baseline and policy, so rules never reach outside their argument.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import networkx as nx

from auditor.graph import GraphIndex, reached_by
from auditor.model import (
    CallerIdReference,
    DialedKind,
    Finding,
    PolicyEntry,
    RefKind,
    Snapshot,
    Source,
    SourceKind,
)

ERROR_13214 = 13214  # Dial: Invalid callerId value
ERROR_21210 = 21210  # Call: 'From' phone number not verified
ERROR_21212 = 21212  # Call: invalid 'From' number

DOCS_13214 = "https://www.twilio.com/docs/api/errors/13214"
DOCS_DIAL_CALLERID = "https://www.twilio.com/docs/voice/twiml/dial#callerid"
DOCS_OUTGOING_CALLER_IDS = "https://www.twilio.com/docs/voice/api/outgoing-caller-ids"
DOCS_INCOMING_NUMBERS = "https://www.twilio.com/docs/phone-numbers/api/incomingphonenumber-resource"
DOCS_SUBACCOUNTS = "https://www.twilio.com/docs/iam/api/subaccounts"
DOCS_DIAL_CLIENT = "https://www.twilio.com/docs/voice/twiml/client"
DOCS_STUDIO_LIQUID = "https://www.twilio.com/docs/studio/user-guide/liquid-template-language"

# Dialed nouns for which a bad callerId makes Twilio answer 13214.
PSTN_DIALED = frozenset({DialedKind.NUMBER.value, DialedKind.UNKNOWN.value})


@dataclass
class RuleContext:
    """Everything a rule may read; built once per analysis by auditor.analysis."""

    snapshot: Snapshot
    graph: nx.MultiDiGraph
    references: Sequence[CallerIdReference]
    index: GraphIndex
    baseline: Snapshot | None = None
    baseline_index: GraphIndex | None = None
    policy: Sequence[PolicyEntry] | None = None
    # Results that several rules share (e.g. which webhook refs are context mismatches).
    shared: dict[str, object] = field(default_factory=dict)

    def impacted(self, ref: CallerIdReference) -> list[str]:
        return reached_by(self.graph, ref)

    @cached_property
    def distinct_references(self) -> list[CallerIdReference]:
        """One reference per callerId setting: repeated 13214 alerts collapsed, and the legs
        of a Dial with several destinations taken once (see representative_references)."""
        return representative_references(self.references, self.alert_url)

    @cached_property
    def leg_references(self) -> list[CallerIdReference]:
        """One reference per destination a callerId setting rings (the destination rules)."""
        return representative_references(self.references, self.alert_url, per_destination=True)

    def alert_url(self, ref: CallerIdReference) -> str | None:
        """The request URL of the alert a reference came from (None for other sources)."""
        if ref.source.kind != SourceKind.ALERT or not ref.source.sid:
            return None
        alert = self.index.alerts.get(ref.source.sid)
        return alert.request_url if alert else None


@dataclass(frozen=True)
class Rule:
    """Metadata of one rule (what `twilio-audit rules` lists) and its check function."""

    id: str
    title: str
    severity: str
    error_codes: tuple[int, ...]
    risk: str
    remediation: str
    docs_url: str
    check: Callable[[RuleContext], Iterable[Finding]] = field(compare=False, repr=False)
    # More metadata for `rules --json` (callerid-geo-restricted lists its country table).
    extra: Callable[[], dict[str, object]] | None = field(default=None, compare=False, repr=False)

    def metadata(self) -> dict[str, object]:
        meta: dict[str, object] = {
            "id": self.id,
            "title": self.title,
            "severity": self.severity,
            "error_codes": list(self.error_codes),
            "risk": self.risk,
            "remediation": self.remediation,
            "docs_url": self.docs_url,
        }
        if self.extra is not None:
            meta.update(self.extra())
        return meta


# --------------------------------------------------------------------------- selecting refs


def is_missing(ref: CallerIdReference) -> bool:
    """No callerId attribute at all (Twilio then uses the caller's number): not 'empty'."""
    return ref.missing


def dials_pstn(ref: CallerIdReference) -> bool:
    return ref.dialed in PSTN_DIALED


def judgeable(ref: CallerIdReference) -> bool:
    """A literal number Twilio checks against the executing account's numbers."""
    return (
        ref.executing_account_sid is not None
        and ref.kind == RefKind.NUMBER
        and ref.e164 is not None
        and not ref.passthrough
        and not is_missing(ref)
        and dials_pstn(ref)
    )


def representative_references(
    refs: Iterable[CallerIdReference],
    alert_url: Callable[[CallerIdReference], str | None] = lambda ref: None,
    *,
    per_destination: bool = False,
) -> list[CallerIdReference]:
    """Refs with 13214 alerts collapsed: one per (account, value, dialed, request URL).

    Fifty alerts for the same Dial are one problem; alert-13214-observed counts them.
    The kept alert is the one with the smallest SID, so the choice is deterministic.
    A Dial ringing several numbers is one reference per leg (auditor.extract.twiml); its
    callerId is one setting with one verdict, so the legs count once unless
    `per_destination` (the destination rules judge each leg).
    """
    out: list[CallerIdReference] = []
    legs: set[tuple[object, ...]] = set()
    alerts: dict[tuple[object, ...], CallerIdReference] = {}
    for ref in refs:
        extra = (ref.destination,) if per_destination else ()
        if ref.source.kind != SourceKind.ALERT:
            leg = (*_setting_key(ref), *extra)
            if leg not in legs:
                legs.add(leg)
                out.append(ref)
            continue
        key = (ref.executing_account_sid, ref.raw_value, ref.dialed, alert_url(ref), *extra)
        kept = alerts.get(key)
        if kept is None or (ref.source.sid or "") < (kept.source.sid or ""):
            alerts[key] = ref
    out.extend(alerts.values())
    return out


def _setting_key(ref: CallerIdReference) -> tuple[object, ...]:
    """What identifies one callerId setting, whatever it rings."""
    s = ref.source
    return (
        s.kind,
        s.sid,
        s.location,
        ref.executing_account_sid,
        ref.raw_value,
        ref.kind,
        ref.dialed,
        ref.missing,
        ref.client_leg,
    )


# --------------------------------------------------------------------------- building findings


def caller_id_of(ref: CallerIdReference) -> str:
    return ref.e164 or ref.raw_value


def finding_for(
    rule: Rule,
    ctx: RuleContext,
    ref: CallerIdReference,
    message: str,
    remediation: str,
    *,
    owner: str | None = None,
    path: list[str] | None = None,
    details: dict[str, object] | None = None,
    error_codes: Sequence[int] | None = None,
) -> Finding:
    """A Finding about one reference: its account, value, source and who reaches it."""
    extra = dict(details or {})
    url = ctx.alert_url(ref)
    if url:
        extra.setdefault("request_url", url)  # part of the fingerprint of alert-based findings
    return Finding(
        rule=rule.id,
        severity=rule.severity,
        account_sid=ref.executing_account_sid,
        caller_id=caller_id_of(ref),
        raw_value=ref.raw_value,
        owner_account_sid=owner,
        source=Source(ref.source.kind, ref.source.sid, ref.source.location),
        message=message,
        remediation=remediation,
        impacted=ctx.impacted(ref),
        error_codes=list(rule.error_codes if error_codes is None else error_codes),
        path=list(path or []),
        details=extra,
    )


def describe_source(ref: CallerIdReference, ctx: RuleContext) -> str:
    """Where a reference lives, in words a reader can find in the Console."""
    src, idx = ref.source, ctx.index
    where = f" ({src.location})" if src.location else ""
    if src.kind == SourceKind.STUDIO_FLOW and src.sid:
        flow = idx.flows.get(src.sid)
        name = f"'{flow.friendly_name}' " if flow and flow.friendly_name else ""
        widget = f", widget '{src.location}'" if src.location else ""
        return f"Studio flow {name}({src.sid}){widget}"
    if src.kind == SourceKind.FUNCTION and src.sid:
        fns = idx.functions.get(src.sid)
        label = f"{fns[0].service_name}{fns[0].path} " if fns else ""
        return f"Function {label}({src.sid}){where}"
    if src.kind == SourceKind.ALERT and src.sid:
        return f"13214 alert {src.sid}{where}"
    if src.kind == SourceKind.WEBHOOK:
        return f"webhook {src.location or src.sid or '(unknown URL)'}"
    if src.kind == SourceKind.CODE:
        return f"code {src.location or src.sid or '(unknown file)'}"
    return f"{src.kind} {src.sid or ''}{where}".strip()


def own_numbers_text(ctx: RuleContext, account_sid: str, limit: int = 3) -> str:
    """'+1555… ('Main line'), …' — the executing account's own voice numbers, by name."""
    key = f"own-numbers:{account_sid}"
    numbers = ctx.shared.get(key)
    if not isinstance(numbers, list):
        numbers = sorted(
            (
                n
                for n in ctx.index.numbers_by_account.get(account_sid, [])
                if _voice(n.capabilities)
            ),
            key=lambda n: n.phone_number,
        )
        ctx.shared[key] = numbers
    if not numbers:
        return ""
    shown = ", ".join(
        f"{n.phone_number} ('{n.friendly_name}')" if n.friendly_name else n.phone_number
        for n in numbers[:limit]
    )
    more = f" and {len(numbers) - limit} more" if len(numbers) > limit else ""
    return shown + more


def _voice(capabilities: dict[str, bool]) -> bool:
    return capabilities.get("voice", True) if capabilities else True


def verify_request(account_sid: str, e164: str) -> str:
    return (
        f"POST /2010-04-01/Accounts/{account_sid}/OutgoingCallerIds.json "
        f"with PhoneNumber={e164} (Twilio calls the number; whoever answers enters the code)"
    )


def move_request(owner_sid: str, number_sid: str, gaining_sid: str) -> str:
    return (
        f"POST /2010-04-01/Accounts/{owner_sid}/IncomingPhoneNumbers/{number_sid}.json "
        f"with AccountSid={gaining_sid}"
    )
