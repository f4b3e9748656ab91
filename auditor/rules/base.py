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
    Via,
)

ERROR_13214 = 13214  # Dial: Invalid callerId value
# A REST request that places a call (Calls, Participants) is refused before any call exists:
ERROR_21210 = 21210  # 'From' phone number not verified (not owned or verified by the account)
ERROR_21212 = 21212  # invalid 'From' number (not a phone number, not E.164)
ERROR_21213 = 21213  # 'From' phone number is required

DOCS_13214 = "https://www.twilio.com/docs/api/errors/13214"
DOCS_DIAL_CALLERID = "https://www.twilio.com/docs/voice/twiml/dial#callerid"
DOCS_OUTGOING_CALLER_IDS = "https://www.twilio.com/docs/voice/api/outgoing-caller-ids"
DOCS_INCOMING_NUMBERS = "https://www.twilio.com/docs/phone-numbers/api/incomingphonenumber-resource"
DOCS_SUBACCOUNTS = "https://www.twilio.com/docs/iam/api/subaccounts"
DOCS_DIAL_CLIENT = "https://www.twilio.com/docs/voice/twiml/client"
DOCS_STUDIO_LIQUID = "https://www.twilio.com/docs/studio/user-guide/liquid-template-language"

# Dialed nouns for which a bad callerId makes Twilio answer 13214.
PSTN_DIALED = frozenset({DialedKind.NUMBER.value, DialedKind.UNKNOWN.value})
# A REST From that is a phone number must be owned or verified whatever `To` is (a phone
# or a client); only a SIP `To` takes a free username instead (twilio_api_v2010.json, Calls
# and Participants `From`).
REST_JUDGED_DIALED = PSTN_DIALED | {DialedKind.CLIENT.value}


@dataclass(frozen=True)
class Judge:
    """How Twilio judges a caller ID on one path, and the words and codes findings use.

    A `<Dial callerId>` is refused with 13214 whatever is wrong with it, and without a
    callerId Twilio presents the caller's number. A REST request that places a call (the
    Calls API, the Participants API, Studio's Make Outgoing Call widget, which "uses the
    Twilio Voice Calls API", twilio.com/docs/studio/widget-library/make-outgoing-call) is
    refused with 21210 (From not owned or verified), 21212 (invalid From) or 21213 (no From).
    """

    label: str  # what places the call, as reports show it
    uses: str  # "<source> <uses> <value>": "dials with callerId", "places a Calls API …"
    field: str  # the parameter's name: "callerId", "From"
    refused: str  # "Twilio refuses the Dial"
    not_authorized: int  # the value is a number the account neither owns nor verifies
    invalid: int  # the value is not a usable phone number (not E.164, a client identity)
    missing: int | None  # no value at all; None: allowed (Twilio presents the caller's number)
    rest: bool  # a REST request's From (judged on calls to clients too)

    def judges(self, ref: CallerIdReference) -> bool:
        """True when Twilio checks this value against the account's numbers on this path."""
        return ref.dialed in (REST_JUDGED_DIALED if self.rest else PSTN_DIALED)

    def refusal(self, code: int) -> str:
        return f"{self.refused} ({code})"


DIAL = Judge(
    "<Dial>",
    "dials with callerId",
    "callerId",
    "Twilio refuses the Dial",
    ERROR_13214,
    ERROR_13214,
    None,
    False,
)
CALLS_API = Judge(
    "Calls API request",
    "places a Calls API request from",
    "From",
    "Twilio refuses the Calls API request",
    ERROR_21210,
    ERROR_21212,
    ERROR_21213,
    True,
)
PARTICIPANT = Judge(
    "Participants API request",
    "adds a conference participant from",
    "From",
    "Twilio refuses the Participants API request",
    ERROR_21210,
    ERROR_21212,
    ERROR_21213,
    True,
)
STUDIO_DIAL = Judge(  # Connect Call To bridges the flow's call: a Dial
    "Studio widget",
    "dials with caller ID",
    "caller ID",
    "Twilio refuses the Dial",
    ERROR_13214,
    ERROR_13214,
    None,
    False,
)
STUDIO_CALL = Judge(  # Make Outgoing Call places a new call through the Calls API
    "Studio widget",
    "places a call (through the Calls API) from",
    "From",
    "Twilio refuses the call",
    ERROR_21210,
    ERROR_21212,
    ERROR_21213,
    True,
)
FLEX_OUTBOUND = Judge(  # Flex places the agents' calls from the Flex account itself
    "Flex outbound",
    "places agents' outbound calls with caller ID",
    "caller ID",
    "Twilio refuses the agents' outbound calls",
    ERROR_13214,
    ERROR_13214,
    None,
    False,
)
JUDGES: dict[str, Judge] = {
    Via.DIAL.value: DIAL,
    Via.CALLS_API.value: CALLS_API,
    Via.CONFERENCE_PARTICIPANT.value: PARTICIPANT,
    Via.STUDIO.value: STUDIO_DIAL,
    Via.FLEX_OUTBOUND.value: FLEX_OUTBOUND,
}
# Studio widget type → how its caller ID is judged (extract.studio reads the same two).
STUDIO_WIDGET_JUDGES = {"connect-call-to": STUDIO_DIAL, "make-outgoing-call-v2": STUDIO_CALL}


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
    # The Twilio Regions the analysis covers (one snapshot each); empty: the snapshot's own.
    regions: tuple[str, ...] = ()
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

    def judge(self, ref: CallerIdReference) -> Judge:
        """How Twilio judges `ref` (see Judge); an unknown `via` is judged as a Dial."""
        if ref.via == Via.STUDIO:
            return STUDIO_WIDGET_JUDGES.get(self.studio_widget_type(ref) or "", STUDIO_DIAL)
        return JUDGES.get(ref.via, DIAL)

    def studio_widget_type(self, ref: CallerIdReference) -> str | None:
        """The type of the widget a Studio reference sits in, from the flow's definition.

        None when the flow is not in the snapshot (a Studio export read by `scan`).
        """
        cache = self.shared.setdefault("studio-widget-types", {})
        assert isinstance(cache, dict)
        key = (ref.source.sid, ref.source.location)
        if key not in cache:
            flow = self.index.flows.get(ref.source.sid or "")
            cache[key] = widget_type(flow.definition, ref.source.location) if flow else None
        found = cache[key]
        return found if isinstance(found, str) else None

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


def is_client(ref: CallerIdReference) -> bool:
    return ref.kind == RefKind.CLIENT or ref.raw_value.strip().lower().startswith("client:")


def client_on_pstn(ref: CallerIdReference) -> bool:
    """A client identity as the caller ID of a call to a phone number (or to we-don't-know).

    A client may call a client (`to: 'client:alice'`, `<Dial><Client>`): not this case.
    """
    return is_client(ref) and dials_pstn(ref)


def judgeable(ref: CallerIdReference, judge: Judge = DIAL) -> bool:
    """A literal number Twilio checks against the executing account's numbers."""
    return (
        ref.executing_account_sid is not None
        and ref.kind == RefKind.NUMBER
        and ref.e164 is not None
        and not ref.passthrough
        and not is_missing(ref)
        and judge.judges(ref)
    )


def widget_type(definition: object, location: str | None) -> str | None:
    """The `type` of the state named `location` ("state #N" names the Nth state)."""
    states = definition.get("states") if isinstance(definition, dict) else None
    if not isinstance(states, list) or not location:
        return None
    for state in states:
        if isinstance(state, dict) and state.get("name") == location:
            found = state.get("type")
            return found if isinstance(found, str) else None
    if location.startswith("state #") and location[7:].isdigit():
        index = int(location[7:])
        state = states[index] if index < len(states) else None
        found = state.get("type") if isinstance(state, dict) else None
        return found if isinstance(found, str) else None
    return None


def representative_references(
    refs: Iterable[CallerIdReference],
    alert_url: Callable[[CallerIdReference], str | None] = lambda ref: None,
    *,
    per_destination: bool = False,
) -> list[CallerIdReference]:
    """Refs with repeated alerts collapsed: one per (account, value, dialed, request URL, via).

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
        key = (
            ref.executing_account_sid,
            ref.raw_value,
            ref.dialed,
            alert_url(ref),
            ref.via,
            ref.missing,  # no callerId at all is another problem than an empty one
            ref.client_leg,
            *extra,
        )
        kept = alerts.get(key)
        if kept is None or _alert_order(ref) < _alert_order(kept):
            alerts[key] = ref
    out.extend(alerts.values())
    return out


def _alert_order(ref: CallerIdReference) -> tuple[str, str, str]:
    """Which of several alerts of one problem is kept: the smallest SID, then location and
    kind, so the choice never depends on the order the references arrive in."""
    return (ref.source.sid or "", ref.source.location or "", ref.kind)


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
        ref.via,
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
        via=ref.via,
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
        region=ref.region,
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
    if src.kind == SourceKind.FLEX:
        return f"Flex configuration ({src.location or 'outbound_call_flows'})"
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


def move_request(owner_sid: str, number_sid: str, gaining_sid: str) -> str:
    return (
        f"POST /2010-04-01/Accounts/{owner_sid}/IncomingPhoneNumbers/{number_sid}.json "
        f"with AccountSid={gaining_sid}"
    )
