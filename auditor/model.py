"""The data model: what is collected (Snapshot) and what the analysis says (Finding).

Everything here is plain data. A Snapshot is the unit of reproducibility: it
holds every fact the rules look at and nothing secret (no auth token, no API
secret, no environment variable that code does not use as a caller ID).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

SCHEMA_VERSION = 1


class Severity(StrEnum):
    """Finding severities, ordered by `rank` (critical is the highest)."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {
    Severity.CRITICAL: 4,
    Severity.HIGH: 3,
    Severity.MEDIUM: 2,
    Severity.LOW: 1,
    Severity.INFO: 0,
}


class AccountStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CLOSED = "closed"


class RefKind(StrEnum):
    """What a callerId value is, once classified."""

    NUMBER = "number"  # looks like a phone number (E.164 or not)
    CLIENT = "client"  # client:identity
    SIP = "sip"  # sip:user@host
    TEMPLATE = "template"  # a variable resolved at run time (Liquid, context.X, event.From)
    EMPTY = "empty"  # empty, whitespace, None/null/undefined, unrendered placeholder
    OTHER = "other"  # anything else (text that is not a number)


class DialedKind(StrEnum):
    """What the Dial (or outgoing call) rings."""

    NUMBER = "number"
    CLIENT = "client"
    SIP = "sip"
    QUEUE = "queue"
    CONFERENCE = "conference"
    UNKNOWN = "unknown"


class Via(StrEnum):
    """How a reference reaches Twilio: which API or verb judges its caller ID.

    A `<Dial callerId>` fails with 13214; a Calls API `From` with 21210/21212/21213.
    """

    DIAL = "dial"  # TwiML <Dial callerId>, in any helper library's spelling
    CALLS_API = "calls-api"  # REST calls.create(from=…)
    CONFERENCE_PARTICIPANT = "conference-participant"  # participants.create(from=…)
    STUDIO = "studio"  # a Studio widget (connect-call-to, make-outgoing-call-v2)
    FLEX_OUTBOUND = "flex-outbound"  # Flex Configuration outbound_call_flows caller_id
    POLICY = "policy"  # a caller ID a policy file says the account uses
    SIP_TRUNKING = "sip-trunking"  # Elastic SIP Trunking termination (geo refusals: 32205)


class ValueSource(StrEnum):
    """Where a code reference's value comes from, as far as reading the code decides it."""

    LITERAL = "literal"  # written in the code (directly or through a constant)
    ENV = "env"  # an environment variable (.env, a Function's environment)
    CONFIG = "config"  # application configuration (settings module, config file)
    PASSTHROUGH = "passthrough"  # the incoming call's own From/To
    RUNTIME = "runtime"  # computed when the code runs (parameters, database, other requests)


class SourceKind(StrEnum):
    ALERT = "alert"
    STUDIO_FLOW = "studio_flow"
    FUNCTION = "function"
    WEBHOOK = "webhook"
    FLEX = "flex"  # a Flex Configuration (outbound_call_flows)
    CODE = "code"
    POLICY = "policy"
    INVENTORY = "inventory"  # rules about the inventory itself (duplicates, owners)


# --------------------------------------------------------------------------- collected


@dataclass(slots=True)
class Account:
    sid: str
    friendly_name: str
    status: str  # AccountStatus value; kept as str so unknown statuses survive
    owner_account_sid: str | None  # the parent for a subaccount, None for the root
    type: str = "Full"
    date_created: str | None = None


@dataclass(slots=True)
class PhoneNumber:
    """An IncomingPhoneNumber: a number the account owns."""

    sid: str
    account_sid: str
    phone_number: str  # E.164 as Twilio stores it
    friendly_name: str = ""
    capabilities: dict[str, bool] = field(default_factory=dict)
    voice_url: str | None = None
    voice_method: str | None = None
    voice_application_sid: str | None = None
    trunk_sid: str | None = None
    status: str | None = None
    voice_receive_mode: str | None = None


@dataclass(slots=True)
class VerifiedCallerId:
    """An OutgoingCallerId: a number the account proved it controls."""

    sid: str
    account_sid: str
    phone_number: str
    friendly_name: str = ""


@dataclass(slots=True)
class TwimlApp:
    sid: str
    account_sid: str
    friendly_name: str = ""
    voice_url: str | None = None
    voice_method: str | None = None


@dataclass(slots=True)
class SipDomain:
    sid: str
    account_sid: str
    domain_name: str
    friendly_name: str = ""
    voice_url: str | None = None
    voice_method: str | None = None


@dataclass(slots=True)
class StudioFlow:
    """A Studio v2 flow; `definition` is the published revision Twilio executes."""

    sid: str
    account_sid: str
    friendly_name: str
    status: str  # "published" or "draft"
    revision: int
    definition: dict[str, object] = field(default_factory=dict)
    webhook_url: str | None = None  # https://webhooks.twilio.com/v1/Accounts/AC../Flows/FW..


@dataclass(slots=True)
class ServerlessFunction:
    """The deployed version of one Function, with only the env vars it uses as caller IDs."""

    sid: str  # ZH…
    account_sid: str
    service_sid: str  # ZS…
    service_name: str
    path: str  # "/dial"
    version_sid: str  # ZN… of the deployed version
    content: str
    environment_sid: str | None = None  # ZE… the build is deployed in
    domain_name: str | None = None  # e.g. clinic-1234-dev.twil.io
    environment: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str | None:
        """The public URL Twilio calls for this Function, when the domain is known."""
        return f"https://{self.domain_name}{self.path}" if self.domain_name else None


@dataclass(slots=True)
class Alert:
    """A Monitor alert (13214 and neighbours), as fetched with its request and response."""

    sid: str
    account_sid: str
    error_code: str
    log_level: str = "error"
    alert_text: str = ""
    date_created: str = ""  # ISO 8601, UTC
    request_url: str | None = None
    request_method: str | None = None
    resource_sid: str | None = None
    service_sid: str | None = None
    request_variables: str | None = None  # form-encoded, as Twilio returns it
    response_body: str | None = None  # the TwiML Twilio received


@dataclass(slots=True)
class DialingPermissionCountry:
    """One country of an account's Voice Geo Permissions (voice.twilio.com DialingPermissions).

    `country_codes` are Twilio's own E.164 prefixes for the entry ("+1" for "United
    States/Canada"): a destination is matched to an entry by them before its ISO code.
    """

    iso_code: str
    name: str = ""
    continent: str = ""
    country_codes: list[str] = field(default_factory=list)
    low_risk_numbers_enabled: bool = False
    high_risk_special_numbers_enabled: bool = False
    high_risk_tollfraud_numbers_enabled: bool = False


@dataclass(slots=True)
class DialingPermissions:
    """What `/v1/DialingPermissions/Countries` and `/v1/Settings` answered for one account.

    Both are read with the account's own credentials (the path names no account).
    `inheritance` is `dialing_permissions_inheritance` (None: not read); `countries` is the
    list exactly as Twilio returned it to this account, whatever inheritance says: the
    analysis decides which list applies (auditor.rules.geo).
    """

    account_sid: str
    inheritance: bool | None = None
    countries: list[DialingPermissionCountry] = field(default_factory=list)
    countries_read: bool = False  # False: the Countries list could not be read
    # The Twilio Region these permissions apply in (regions are isolated); None: the
    # snapshot's own region. A merged multi-region input keeps one entry per region.
    region: str | None = None


@dataclass(slots=True)
class HighRiskSpecialPrefixes:
    """Twilio's high-risk special services prefixes of one Geo Permissions country.

    `GET voice.twilio.com/v1/DialingPermissions/Countries/{IsoCode}/HighRiskSpecialPrefixes`:
    the number ranges ("+37181", "+1(510) 720") Twilio's Geo Permissions count as
    high-risk special services in that country. They describe the country, not an
    account, so each is read once, and only for the countries fixed destinations dial
    (auditor.collect.prefixes). A country whose list could not be read is absent.
    """

    iso_code: str
    prefixes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class FlexOutboundFlow:
    """One entry of a Flex Configuration's `outbound_call_flows` (Twilio documents `default`)."""

    name: str  # the key: "default"
    caller_id: str | None = None  # the number agents' outbound calls show
    queue_sid: str | None = None  # WQ…
    workflow_sid: str | None = None  # WW…
    location: str | None = None  # ISO country the dialpad assumes for national numbers


@dataclass(slots=True)
class FlexConfiguration:
    """What a Flex instance uses to place agents' outbound calls (no other Flex setting is kept).

    Read from flex-api.twilio.com/v1/Configuration with the account's own credentials;
    an account without Flex has none. The rest of the Configuration (CRM, plugin and UI
    attributes) may hold URLs with credentials and is never stored.
    """

    account_sid: str
    status: str | None = None  # ok | inprogress | notstarted
    flex_instance_sid: str | None = None  # GO…
    outbound_call_flows: list[FlexOutboundFlow] = field(default_factory=list)


# The caller the webhook probe poses as (auditor.collect.probe); extraction reads its
# answers knowing that this was the request's From.
PROBE_CALLER = "+15005550006"  # Twilio's documented "valid" magic test number
PROBE_CLIENT = "client:twilio-audit-probe"


@dataclass(slots=True)
class WebhookResponse:
    """What a voice webhook answered to a signed probe (filled by `--probe-webhooks`)."""

    url: str
    method: str
    http_status: int | None
    content_type: str | None = None
    body: str | None = None
    error: str | None = None
    # Every account whose number, app or SIP domain points at this URL, and what points.
    served_accounts: list[str] = field(default_factory=list)
    reached_from: list[str] = field(default_factory=list)  # SIDs of numbers/apps/domains
    client_leg: bool = False  # the probe posed as a Voice SDK client leg


@dataclass(slots=True)
class Source:
    """Where a reference or finding comes from."""

    kind: str  # SourceKind value
    sid: str | None = None  # SID of the flow, function, alert …, or None for code
    location: str | None = None  # widget name, "path/file.js:12", "alert_text" …


@dataclass(slots=True)
class CallerIdReference:
    """One place where a callerId (or a call's From) is set."""

    raw_value: str
    kind: str  # RefKind value
    source: Source
    executing_account_sid: str | None  # None when not known (code without a mapping)
    e164: str | None = None  # normalised E.164 form, if the value is a number
    dialed: str = DialedKind.UNKNOWN.value  # DialedKind value
    passthrough: bool = False  # the inbound From/To (allowed by Twilio)
    template: str | None = None  # the template text, when kind is TEMPLATE
    client_leg: bool = False  # reached from a Voice SDK client leg
    resolved_from: str | None = None  # e.g. "context.CALLER_ID" when resolved from env
    # A Dial with no callerId attribute at all (Twilio then uses the caller's number):
    # not `callerid-empty`, but `callerid-missing-client-leg` when reached from a client leg.
    missing: bool = False
    via: str = Via.DIAL.value  # Via value: which API judges the value (and with which codes)
    destination: str | None = None  # the fixed number dialed (E.164), None when run-time
    destination_country: str | None = None  # ISO 3166 alpha-2 of `destination`
    # The Twilio Region that executes it: the region of the snapshot it was read from
    # (None: not known, e.g. a reference built outside a snapshot).
    region: str | None = None
    value_source: str | None = None  # ValueSource value, for references read from code


@dataclass(slots=True)
class PolicyEntry:
    """A caller ID an account is meant to use, from a policy file."""

    account_sid: str
    caller_id: str
    label: str | None = None


@dataclass(slots=True)
class Snapshot:
    """Everything collected about one hierarchy at one moment (no secrets)."""

    root_account_sid: str
    collected_at: str  # ISO 8601, UTC
    tool_version: str
    schema_version: int = SCHEMA_VERSION
    api_url: str | None = None  # set when collected through --api-url (emulator, mock)
    # The Twilio Region read (its credentials, apps, flows and number configuration are its
    # own; the numbers themselves are global) and the edge the requests went through.
    region: str = "us1"
    edge: str | None = None
    alert_window_days: int | None = None
    accounts: list[Account] = field(default_factory=list)
    phone_numbers: list[PhoneNumber] = field(default_factory=list)
    verified_caller_ids: list[VerifiedCallerId] = field(default_factory=list)
    applications: list[TwimlApp] = field(default_factory=list)
    sip_domains: list[SipDomain] = field(default_factory=list)
    flows: list[StudioFlow] = field(default_factory=list)
    functions: list[ServerlessFunction] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    webhooks: list[WebhookResponse] = field(default_factory=list)
    dialing_permissions: list[DialingPermissions] = field(default_factory=list)
    # Read for the countries the hierarchy's fixed destinations dial (Geo Permissions entry).
    high_risk_special_prefixes: list[HighRiskSpecialPrefixes] = field(default_factory=list)
    flex_configurations: list[FlexConfiguration] = field(default_factory=list)
    code_references: list[CallerIdReference] = field(default_factory=list)
    # coverage[account_sid][source] = "ok" | "error: …" | "skipped"
    coverage: dict[str, dict[str, str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def account(self, sid: str) -> Account | None:
        return next((a for a in self.accounts if a.sid == sid), None)


# Fields whose values repeat across records: the owning account, routes, methods and
# statuses. A million numbers share a few thousand of each, so they are stored once.
_REPEATED: dict[type, tuple[str, ...]] = {
    PhoneNumber: (
        "account_sid", "voice_url", "voice_method", "voice_application_sid", "trunk_sid",
        "status", "voice_receive_mode",
    ),
    VerifiedCallerId: ("account_sid",),
    TwimlApp: ("account_sid", "voice_method"),
    SipDomain: ("account_sid", "voice_method"),
    StudioFlow: ("account_sid", "status"),
    Alert: ("account_sid", "error_code", "log_level", "request_method", "service_sid"),
}  # fmt: skip


@dataclass(slots=True)
class SharedTexts:
    """One copy of each repeated text and capabilities dict (see `share_repeated`)."""

    texts: dict[str, str] = field(default_factory=dict)
    caps: dict[tuple[tuple[str, bool], ...], dict[str, bool]] = field(default_factory=dict)

    def share(self, items: list[object]) -> None:
        """Make the repeated fields of `items` (records of one kind) use the shared copies."""
        if not items or type(items[0]) not in _REPEATED:
            return
        names = _REPEATED[type(items[0])]
        texts, caps = self.texts, self.caps
        for item in items:
            for name in names:
                value = getattr(item, name)
                if value is not None:
                    setattr(item, name, texts.setdefault(value, value))
            if type(item) is PhoneNumber:
                key = tuple(item.capabilities.items())
                item.capabilities = caps.setdefault(key, item.capabilities)


SHARED_LISTS = (
    "phone_numbers",
    "verified_caller_ids",
    "applications",
    "sip_domains",
    "flows",
    "alerts",
)


def share_repeated(
    snapshot: Snapshot, shared: SharedTexts | None = None, *, done: tuple[str, ...] = ()
) -> None:
    """Store each repeated text (and each distinct capabilities dict) once, in place.

    Decoding JSON (or an API page) gives every record its own copy of the account SID,
    the webhook URL, "POST"…: about 300 bytes per number that say nothing new. Values
    are unchanged; equal capabilities dicts become one dict, so treat them as read-only.
    `done` names lists already shared (while they were decoded).
    """
    shared = shared or SharedTexts()
    for name in SHARED_LISTS:
        if name not in done:
            shared.share(getattr(snapshot, name))


# --------------------------------------------------------------------------- analysis


@dataclass(slots=True)
class Acceptance:
    """An accepted risk (an `[[accept]]` entry of `--accept FILE`) that matched a finding.

    The finding stays in every report, marked; while the entry has not expired it does not
    count toward `--fail-on`.
    """

    reason: str
    accepted_by: str
    expires: str  # YYYY-MM-DD: the last day the acceptance applies
    entry: int  # position of the entry in the file (1-based), for the reader to find it
    fingerprint: str | None = None  # the entry matched by fingerprint …
    rule: str | None = None  # … or by rule + account + caller ID
    account: str | None = None
    caller_id: str | None = None


@dataclass(slots=True)
class FindingHistory:
    """A finding's life in the history database (`--history`), as of the run reported."""

    first_seen: str  # collected_at of the first run that had it
    open_since: str  # start of the current stretch (first_seen unless it was fixed and came back)
    days_open: int  # days from open_since to this run
    state: str  # "new" (first run with it), "reopened" (back after a fix), "open" (carried over)
    runs_seen: int = 1


@dataclass(slots=True)
class Finding:
    """One rule firing on one reference or inventory item (see findings.json)."""

    rule: str
    severity: str  # Severity value
    account_sid: str | None
    caller_id: str | None  # the E.164 form when there is one, else the raw value
    raw_value: str | None
    owner_account_sid: str | None
    source: Source
    message: str
    remediation: str
    impacted: list[str] = field(default_factory=list)  # inbound numbers, apps, flows
    error_codes: list[int] = field(default_factory=list)
    fingerprint: str = ""
    status: str | None = None  # "new" / "unchanged" when compared with a baseline
    path: list[str] = field(default_factory=list)  # hierarchy path executing → owner
    details: dict[str, object] = field(default_factory=dict)  # counts, first/last seen …
    destination: str | None = None  # for destination rules: the number dialed (E.164)
    destination_country: str | None = None  # ISO 3166 alpha-2 of `destination`
    # Via value of the reference (policy for policy entries, None for inventory rules):
    # a <Dial>, a Calls API request, a Studio widget, Flex outbound …
    via: str | None = None
    region: str | None = None  # the Twilio Region the judged reference runs in

    acceptance: Acceptance | None = None  # an --accept entry in force: shown, not failed on
    acceptance_expired: Acceptance | None = None  # an entry that matched but has expired
    history: FindingHistory | None = None  # first seen / days open, with --history

    @property
    def accepted(self) -> bool:
        return self.acceptance is not None


@dataclass(slots=True)
class RegionScope:
    """One regional snapshot an analysis covers: its region, edge, time and coverage."""

    region: str
    edge: str | None
    collected_at: str
    coverage: dict[str, dict[str, str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Analysis:
    """What `analyse` returns: the findings and the references they were drawn from."""

    findings: list[Finding] = field(default_factory=list)
    references: list[CallerIdReference] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. TwiML that could not be parsed
    baseline_collected_at: str | None = None  # set when compared with --baseline
    # The regions the analysed snapshots cover (one entry per region, US1 first) and the
    # home regions none of them covers, each with what hints that it may be in use.
    regions: list[RegionScope] = field(default_factory=list)
    regions_not_audited: list[str] = field(default_factory=list)
