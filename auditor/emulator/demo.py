"""The demo hierarchy: "Northwind Health", a parent and eight subaccounts, in scenario format.

It is the data behind `twilio-audit demo`, `sample_reports/` and the end-to-end
tests. Every rule of the design fires at least once and each has a clean twin
next to it that must stay quiet; `DEMO_EXPECTED` lists the findings the whole
pipeline must produce, one comment per entry saying why.

Everything is derived from fixed labels (SIDs and tokens are hashes of them),
so the scenario is identical on every machine; only the clock (`now`) moves the
alert dates, so that a demo run today still has alerts inside the 30-day window.
The customer's own web apps (what numbers, apps and SIP domains point at outside
Twilio) are simulated in process by `DemoWebApps`, so the webhook probe's rules
fire too.
The tokens, API secret and secret-looking environment variables below live here
only: the tests search every output file for them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from twilio.request_validator import RequestValidator

from auditor.emulator.scenario import regional_token, scenario_regions
from auditor.outbound import (
    OutboundFailed,
    OutboundPolicy,
    OutboundRequest,
    OutboundResponse,
    parse_cidr,
)

Scenario = dict[str, Any]

DEMO_NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
BASELINE_WEEKS_EARLIER = 6


def _hex(label: str, n: int = 32) -> str:
    return hashlib.sha256(f"northwind-demo:{label}".encode()).hexdigest()[:n]


def sid(prefix: str, label: str) -> str:
    """A deterministic Twilio-style SID: prefix + 32 hex characters."""
    return prefix + _hex(f"{prefix}:{label}")


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


# --------------------------------------------------------------------------- accounts

PARENT = sid("AC", "parent")
RIVERSIDE = sid("AC", "riverside")
HILLCREST = sid("AC", "hillcrest")
LAKESIDE = sid("AC", "lakeside")
CALL_CENTRE = sid("AC", "call-centre")
BILLING = sid("AC", "billing")
LEGACY = sid("AC", "legacy-ivr")
TELEHEALTH = sid("AC", "telehealth")
INTERNATIONAL = sid("AC", "international")  # calls abroad: the destination rules (issue 11)
FRONT_DESK = sid("AC", "virtual-front-desk")  # runs Flex

ACCOUNT_NAMES = {
    PARENT: "Northwind Health (parent)",
    RIVERSIDE: "Northwind Clinic – Riverside",
    HILLCREST: "Northwind Clinic – Hillcrest",
    LAKESIDE: "Northwind Clinic – Lakeside",
    CALL_CENTRE: "Northwind Patient Call Centre",
    BILLING: "Northwind Billing",
    LEGACY: "Northwind Legacy IVR",
    TELEHEALTH: "Northwind Telehealth Pilot",
    INTERNATIONAL: "Northwind International Patients",
    FRONT_DESK: "Northwind Virtual Front Desk (Flex)",
}
ACCOUNT_LABELS = {
    PARENT: "parent",
    RIVERSIDE: "riverside",
    HILLCREST: "hillcrest",
    LAKESIDE: "lakeside",
    CALL_CENTRE: "call-centre",
    BILLING: "billing",
    LEGACY: "legacy-ivr",
    TELEHEALTH: "telehealth",
    INTERNATIONAL: "international",
    FRONT_DESK: "virtual-front-desk",
}
# Each account owns a block of numbers in its own area code: +1 NPA 555 01xx
# (the 555-0100…0199 range is reserved for fiction, so no real person is called).
AREA_CODES = {
    PARENT: "503",
    RIVERSIDE: "971",
    HILLCREST: "360",
    LAKESIDE: "541",
    CALL_CENTRE: "206",
    BILLING: "425",
    LEGACY: "253",
    TELEHEALTH: "458",
    INTERNATIONAL: "212",  # a New York desk for patients calling from abroad
    FRONT_DESK: "564",
}
NUMBER_COUNTS = {
    PARENT: 20,
    RIVERSIDE: 60,
    HILLCREST: 60,
    LAKESIDE: 60,
    CALL_CENTRE: 80,
    BILLING: 30,
    LEGACY: 15,
    TELEHEALTH: 0,  # closed: Twilio released its numbers when it was closed
    INTERNATIONAL: 10,
    FRONT_DESK: 12,
}


def num(account: str, line: int) -> str:
    """The demo number `+1 NPA 555 01xx` of `account`'s area code (line 0…99)."""
    return f"+1{AREA_CODES[account]}55501{line:02d}"


def auth_token(account: str) -> str:
    return _hex(f"token:{ACCOUNT_LABELS[account]}")


API_KEY_SID = sid("SK", "parent-audit-key")
API_KEY_SECRET = _hex("api-secret:parent-audit-key")

# --------------------------------------------------------------------------- key numbers

MAIN_LINE = num(PARENT, 0)  # the parent's switchboard number
SWITCHBOARD_LANDLINE = num(PARENT, 90)  # a desk phone outside Twilio, verified twice
RIVERSIDE_OWN = num(RIVERSIDE, 1)
RIVERSIDE_VERIFIED = num(RIVERSIDE, 90)  # the medical director's mobile, verified once
NURSE_LINE = num(HILLCREST, 5)  # Hillcrest's nurse line, used by Riverside too
HILLCREST_RELEASED = num(HILLCREST, 60)  # owned in the baseline, released since
HILLCREST_TYPO = "+13605551015"  # +1 360 555 0105 with two digits swapped: nobody owns it
LAKESIDE_OWN = num(LAKESIDE, 1)
LAKESIDE_OWN_2 = num(LAKESIDE, 2)
LAKESIDE_VERIFIED = num(LAKESIDE, 90)
LAKESIDE_NOT_E164 = "(541) 555-0101"  # LAKESIDE_OWN written the local way
LEGACY_REFERRAL = num(LEGACY, 3)  # owned by the suspended Legacy IVR account
CC_MAIN = num(CALL_CENTRE, 0)
CC_OUTBOUND = num(CALL_CENTRE, 5)  # the call centre's outbound presentation number
CC_VERIFIED = num(CALL_CENTRE, 90)
BILLING_OWN = num(BILLING, 0)
BILLING_POLICY_MISSING = num(BILLING, 99)  # in the policy, owned by nobody
UNOWNED_OLD = "+15095550177"  # only in an old, undeployed Function version

# The international patients office (its own Geo Permissions; numbers abroad are fictional:
# London's are Ofcom's drama ranges, the others are not reserved but nobody is ever called).
INTL_US = num(INTERNATIONAL, 0)  # the office's US desk
INTL_TR = "+902125550100"  # a Twilio number in Istanbul
INTL_JP = "+81355500100"  # a Twilio number in Tokyo
INTL_UK = "+442079460100"  # a Twilio number in London
INTL_UK_VERIFIED = "+447700900123"  # a partner's UK line, verified, not a valid number
ABROAD_NUMBERS = (INTL_TR, INTL_JP, INTL_UK)  # owned besides the +1 blocks of NUMBER_COUNTS
ISTANBUL_CLINIC = "+902125550123"
ISTANBUL_LAB = "+902165550144"
TOKYO_CLINIC = "+81345550101"
TOKYO_LAB = "+81355500188"
LONDON_CLINIC = "+442079460555"
LONDON_LAB = "+442079460556"
LONDON_RECORDS = "+442079460557"
LONDON_RESULTS_LINE = "+449098790123"  # a premium-rate results line (high-risk special)
LONDON_PATIENT = "+442079460999"
BERLIN_PARTNER = "+4930901820"

SHARED_IVR_URL = "https://ivr.northwind-health.example/voice/route"
SHARED_HOLD_URL = "https://ivr.northwind-health.example/voice/hold"
SOFTPHONE_URL = "https://softphone.northwind-health.example/voice/outbound"
NURSE_SOFTPHONE_URL = "https://softphone.northwind-health.example/voice/nurse"
LAKESIDE_IVR_URL = "https://ivr.lakeside.northwind-health.example/voice"

LEGACY_IVR_URL = "https://legacy-ivr.northwind-health.example/voice"
INTL_IVR_URL = "https://intl.northwind-health.example/voice/route"

# What the customer's own web apps answer (the API cannot show it: the webhook probe asks).
DEMO_WEBHOOKS: dict[str, str] = {
    # Shared by Riverside, Hillcrest and the call centre; CC_OUTBOUND is the call centre's only.
    SHARED_IVR_URL: (
        '<?xml version="1.0" encoding="UTF-8"?><Response><Say>Please hold for the next '
        f'available agent.</Say><Dial callerId="{CC_OUTBOUND}"><Number>{num(CALL_CENTRE, 40)}'
        "</Number></Dial></Response>"
    ),
    # Clean twin: shared by Riverside and Lakeside too, but dials nobody.
    SHARED_HOLD_URL: (
        '<?xml version="1.0" encoding="UTF-8"?><Response><Play>https://assets.'
        "northwind-health.example/hold.mp3</Play></Response>"
    ),
    # Voice SDK app of the call centre: dials a number without any callerId.
    SOFTPHONE_URL: "<Response><Dial><Number>+15035550155</Number></Dial></Response>",
    # Clean twin: the nurses' softphone sets the clinic's own number.
    NURSE_SOFTPHONE_URL: (
        f'<Response><Dial callerId="{RIVERSIDE_OWN}"><Number>+15035550156</Number></Dial>'
        "</Response>"
    ),
    # Lakeside's web app, fixed since its 13214: now it sends the clinic's own number.
    LAKESIDE_IVR_URL: (
        f'<Response><Dial callerId="{LAKESIDE_OWN_2}"><Number>+15415550177</Number></Dial>'
        "</Response>"
    ),
    LEGACY_IVR_URL: "<Response><Say>This service has moved.</Say><Hangup/></Response>",
    # The international office's web app: Tokyo and London, each next to its clean twin.
    INTL_IVR_URL: (
        "<Response>"
        # A Tokyo number on a call within Japan: the caller ID may be removed (replaced).
        f'<Dial callerId="{INTL_JP}"><Number>{TOKYO_CLINIC}</Number></Dial>'
        # Clean twin: the US desk calling Tokyo.
        f'<Dial callerId="{INTL_US}"><Number>{TOKYO_LAB}</Number></Dial>'
        # An invalid UK caller ID on a call to the UK: surcharged.
        f'<Dial callerId="{INTL_UK_VERIFIED}"><Number>{LONDON_CLINIC}</Number></Dial>'
        # Clean twin: the office's London number.
        f'<Dial callerId="{INTL_UK}"><Number>{LONDON_LAB}</Number></Dial>'
        # Two numbers at once: Berlin is not in its Geo Permissions; London is.
        f'<Dial callerId="{INTL_US}"><Number>{BERLIN_PARTNER}</Number>'
        f"<Number>{LONDON_RECORDS}</Number></Dial>"
        "</Response>"
    ),
}


# The demo's web apps answer in process; their host names resolve to this address, which
# only the demo's allow-list opens (the mechanism of --probe-allow): the probe's policy
# runs in full, and nothing else ever gets an allow-list by default.
DEMO_WEB_DOMAIN = "northwind-health.example"
DEMO_WEB_ADDRESS = "127.0.0.1"


class DemoWebApps:
    """The customer's web apps of the demo, in process: an outbound transport, no socket.

    The webhook probe's signed requests get `DEMO_WEBHOOKS` answers; a request whose
    X-Twilio-Signature does not match the auth token of the AccountSid it claims
    gets 403, as a careful app does.
    """

    def __init__(self, tokens: Mapping[str, str]) -> None:
        self._tokens = dict(tokens)

    def __call__(self, request: OutboundRequest) -> OutboundResponse:
        base = request.url.split("?")[0]
        if base not in DEMO_WEBHOOKS or request.addresses != (DEMO_WEB_ADDRESS,):
            raise OutboundFailed(request.url, "connection refused (no demo web app there)")
        if request.method == "POST":
            params = dict(parse_qsl((request.body or b"").decode()))
            signed = params
        else:
            params = dict(parse_qsl(urlsplit(request.url).query))
            signed = {}
        token = self._tokens.get(params.get("AccountSid", ""), "")
        signature = dict(request.headers).get("X-Twilio-Signature", "")
        valid = bool(token) and RequestValidator(token).validate(request.url, signed, signature)
        content_type = "text/xml" if valid else "text/plain"
        content = DEMO_WEBHOOKS[base] if valid else "invalid signature"
        return OutboundResponse(
            status=200 if valid else 403,
            headers={"content-type": content_type},
            body=content.encode(),
            content_type=content_type,
        )


def demo_resolver(host: str, port: int) -> list[str]:
    """The demo's DNS: its web apps' names, nothing else."""
    if host == DEMO_WEB_DOMAIN or host.endswith(f".{DEMO_WEB_DOMAIN}"):
        return [DEMO_WEB_ADDRESS]
    raise OSError(f"demo: {host} is not one of the demo's web apps")


def demo_probe_policy(scenario: Scenario, region: str = "us1") -> OutboundPolicy:
    """The outbound policy the demo probes with: in-process web apps, opted in by address.

    The apps check signatures against the region's tokens, as Twilio signs with them.
    """
    tokens = {str(a["sid"]): regional_token(a, region) for a in scenario["accounts"]}
    return OutboundPolicy(
        allow=(parse_cidr(f"{DEMO_WEB_ADDRESS}/32"),),
        resolver=demo_resolver,
        transport=DemoWebApps(tokens),
    )


# --------------------------------------------------------------------------- builders


@dataclass
class _Acc:
    """One account while it is being built (turned into scenario JSON by `to_data`)."""

    sid: str
    status: str = "active"
    numbers: list[dict[str, Any]] = field(default_factory=list)
    verified: list[dict[str, Any]] = field(default_factory=list)
    apps: list[dict[str, Any]] = field(default_factory=list)
    sip: list[dict[str, Any]] = field(default_factory=list)
    flows: list[dict[str, Any]] = field(default_factory=list)
    services: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    geo: dict[str, Any] | None = None  # Voice Geo Permissions (scenario `dialing_permissions`)
    flex: dict[str, Any] | None = None  # Flex Configuration; None: the account has no Flex

    def to_data(self) -> dict[str, Any]:
        extra = {"dialing_permissions": self.geo} if self.geo is not None else {}
        return {
            "sid": self.sid,
            "friendly_name": ACCOUNT_NAMES[self.sid],
            "status": self.status,
            "owner_account_sid": None if self.sid == PARENT else PARENT,
            "auth_token": auth_token(self.sid),
            "date_created": "2023-03-14T09:00:00Z"
            if self.sid == PARENT
            else "2024-01-08T09:00:00Z",
            "incoming_phone_numbers": self.numbers,
            "outgoing_caller_ids": self.verified,
            "applications": self.apps,
            "sip_domains": self.sip,
            "flows": self.flows,
            "services": self.services,
            "alerts": self.alerts,
            **extra,
            "flex_configuration": self.flex,
        }


def flow_url(account: str, flow_sid: str) -> str:
    return f"https://webhooks.twilio.com/v1/Accounts/{account}/Flows/{flow_sid}"


def _number(
    account: str,
    line: int,
    name: str,
    *,
    voice_url: str | None = None,
    app: str | None = None,
    trunk: str | None = None,
    voice: bool = True,
    phone: str | None = None,  # a number outside the account's +1 block (abroad)
) -> dict[str, Any]:
    phone = phone or num(account, line)
    return {
        "sid": sid("PN", phone),
        "phone_number": phone,
        "friendly_name": name,
        "voice_url": voice_url if voice else None,
        "voice_method": "POST" if voice_url and voice else None,
        "voice_application_sid": app,
        "trunk_sid": trunk,
        "capabilities": {"voice": voice, "sms": True, "mms": line % 3 == 0, "fax": False},
        "status": "in-use",
    }


def _verified(phone: str, name: str, account: str) -> dict[str, Any]:
    return {
        "sid": sid("PN", f"verified:{account}:{phone}"),
        "phone_number": phone,
        "friendly_name": name,
    }


def _app(account: str, label: str, name: str, url: str) -> dict[str, Any]:
    return {
        "sid": sid("AP", f"{account}:{label}"),
        "friendly_name": name,
        "voice_url": url,
        "voice_method": "POST",
    }


# Studio widgets, in the shape Studio exports them.


def _trigger(first: str) -> dict[str, Any]:
    return {
        "name": "Trigger",
        "type": "trigger",
        "transitions": [
            {"event": "incomingMessage"},
            {"event": "incomingCall", "next": first},
            {"event": "incomingConversationMessage"},
            {"event": "incomingRequest"},
            {"event": "incomingParent"},
        ],
        "properties": {"offset": {"x": 0, "y": 0}},
    }


def _say(name: str, text: str, nxt: str | None) -> dict[str, Any]:
    return {
        "name": name,
        "type": "say-play",
        "transitions": [{"event": "audioComplete", **({"next": nxt} if nxt else {})}],
        "properties": {
            "offset": {"x": 0, "y": 200},
            "say": text,
            "voice": "Polly.Joanna",
            "loop": 1,
            "language": "en-US",
        },
    }


def _connect(name: str, caller_id: str, to: str, noun: str = "number") -> dict[str, Any]:
    return {
        "name": name,
        "type": "connect-call-to",
        "transitions": [{"event": "callCompleted"}, {"event": "hangup"}],
        "properties": {
            "offset": {"x": 200, "y": 400},
            "caller_id": caller_id,
            "noun": noun,
            "to": to,
            "timeout": 30,
            "record": False,
        },
    }


def _outgoing(name: str, from_: str, to: str = "{{flow.data.patient_phone}}") -> dict[str, Any]:
    return {
        "name": name,
        "type": "make-outgoing-call-v2",
        "transitions": [
            {"event": "answered"},
            {"event": "busy"},
            {"event": "noAnswer"},
            {"event": "failed"},
        ],
        "properties": {
            "offset": {"x": 400, "y": 200},
            "from": from_,
            "to": to,
            "machine_detection": "Enable",
            "detect_answering_machine": True,
            "timeout": 60,
            "record": False,
            "trim": "true",
        },
    }


def _flow(
    account: str, label: str, name: str, states: list[dict[str, Any]], revision: int
) -> dict[str, Any]:
    initial = _trigger(states[0]["name"]) if states else _trigger("")
    return {
        "sid": sid("FW", f"{account}:{label}"),
        "friendly_name": name,
        "status": "published",
        "revision": revision,
        "definition": {
            "description": name,
            "states": [initial, *states],
            "initial_state": "Trigger",
            "flags": {"allow_concurrent_calls": True},
        },
    }


@dataclass
class _Fn:
    """A Function: its versions' code in creation order; `deployed` indexes the live one."""

    path: str
    versions: list[str]
    deployed: int


def _js(body: str) -> str:
    """A Function handler around `body` (TwiML response built with the helper library)."""
    return (
        "exports.handler = function (context, event, callback) {\n"
        "  const twiml = new Twilio.twiml.VoiceResponse();\n"
        f"{body}"
        "  return callback(null, twiml);\n"
        "};\n"
    )


def _calls_create(from_var: str, to: str, url: str) -> str:
    """A Function placing a Calls API request from `context.<from_var>` (REST, not TwiML)."""
    return (
        "exports.handler = async function (context, event, callback) {\n"
        "  const client = context.getTwilioClient();\n"
        "  await client.calls.create({\n"
        f"    from: context.{from_var}, to: {to},\n"
        f"    url: '{url}' }});\n"
        "  return callback(null, { queued: true });\n"
        "};\n"
    )


def _service(
    account: str,
    unique_name: str,
    digits: str,
    functions: list[_Fn],
    variables: dict[str, str],
) -> dict[str, Any]:
    """A Serverless service with one production environment running the latest build.

    Older versions sit in an older build; versions written after the last
    deploy are in no build at all: neither is what Twilio runs.
    """
    key = f"{account}:{unique_name}"
    fns: list[dict[str, Any]] = []
    deployed: list[str] = []
    older: list[str] = []
    for fn in functions:
        versions = []
        for i, content in enumerate(fn.versions):
            vsid = sid("ZN", f"{key}:{fn.path}:{i}")
            versions.append(
                {"sid": vsid, "path": fn.path, "visibility": "public", "content": content}
            )
            if i == fn.deployed:
                deployed.append(vsid)
            elif i < fn.deployed:
                older.append(vsid)
        fns.append(
            {
                "sid": sid("ZH", f"{key}:{fn.path}"),
                "friendly_name": fn.path.strip("/"),
                "versions": versions,
            }
        )
    builds = []
    if older:
        builds.append(
            {"sid": sid("ZB", f"{key}:old"), "status": "completed", "function_versions": older}
        )
    live = sid("ZB", f"{key}:live")
    builds.append({"sid": live, "status": "completed", "function_versions": deployed})
    return {
        "sid": sid("ZS", key),
        "unique_name": unique_name,
        "friendly_name": unique_name.replace("-", " ").title(),
        "functions": fns,
        "builds": builds,
        "environments": [
            {
                "sid": sid("ZE", f"{key}:production"),
                "unique_name": "production",
                "domain_suffix": None,
                "domain_name": f"{unique_name}-{digits}.twil.io",
                "build_sid": live,
                "variables": [
                    {"sid": sid("ZV", f"{key}:{k}"), "key": k, "value": v}
                    for k, v in variables.items()
                ],
            }
        ],
    }


def function_url(unique_name: str, digits: str, path: str) -> str:
    return f"https://{unique_name}-{digits}.twil.io{path}"


def _alert(
    account: str,
    label: str,
    when: datetime,
    *,
    caller_id: str,
    to: str,
    from_: str,
    request_url: str,
    response_body: str | None,
    error_code: str = "13214",
) -> dict[str, Any]:
    call_sid = sid("CA", f"{account}:{label}")
    text = (
        {"Msg": "Dial: Invalid callerId value", "callerId": caller_id, "ErrorCode": "13214"}
        if error_code == "13214"
        else {"Msg": "HTTP retrieval failure", "url": request_url, "ErrorCode": error_code}
    )
    return {
        "sid": sid("NO", f"{account}:{label}"),
        "error_code": error_code,
        "log_level": "error",
        "alert_text": urlencode(text),
        "date_created": _iso(when),
        "request_url": request_url,
        "request_method": "POST",
        "resource_sid": call_sid,
        "service_sid": None,
        "request_variables": urlencode(
            {
                "AccountSid": account,
                "ApiVersion": "2010-04-01",
                "CallSid": call_sid,
                "CallStatus": "in-progress",
                "Called": to,
                "Direction": "inbound",
                "From": from_,
                "To": to,
            }
        ),
        "response_body": response_body,
    }


def _fill(acc: _Acc, used: set[int], name: str, route: dict[str, Any]) -> None:
    """Give `acc` the rest of its numbered block: ordinary lines routed like `route`."""
    for line in range(NUMBER_COUNTS[acc.sid]):
        if line not in used:
            acc.numbers.append(_number(acc.sid, line, f"{name} line {line:02d}", **route))


# --------------------------------------------------------------------------- the accounts


def _parent() -> _Acc:
    acc = _Acc(PARENT)
    main = _flow(
        PARENT,
        "switchboard",
        "Main switchboard",
        [
            _say("welcome", "Thank you for calling Northwind Health.", "to_operator"),
            # Clean: the parent dials with its own main line.
            _connect("to_operator", MAIN_LINE, SWITCHBOARD_LANDLINE),
        ],
        revision=12,
    )
    acc.flows.append(main)
    route: dict[str, Any] = {"voice_url": flow_url(PARENT, main["sid"])}
    acc.numbers.append(_number(PARENT, 0, "Northwind main line", **route))
    _fill(acc, {0}, "Northwind HQ", route)
    # The parent calls the US and Canada only; the clinics inherit that (Twilio's default),
    # and every number they dial is in +1: no Geo Permissions finding for them.
    acc.geo = {"countries": _geo_countries(enabled={"US"})}
    return acc


# Twilio's Countries list names every country; the demo lists the ones it dials.
_GEO_COUNTRIES: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("US", "United States/Canada", "NORTH_AMERICA", ("+1",)),
    ("GB", "United Kingdom", "EUROPE", ("+44",)),
    ("DE", "Germany", "EUROPE", ("+49",)),
    ("TR", "Turkey", "EUROPE", ("+90",)),
    ("JP", "Japan", "ASIA", ("+81",)),
)
# Each country's HighRiskSpecialPrefixes as the demo serves them (its premium-rate ranges;
# Twilio's own lists are longer): the collector reads those of the countries dialed.
_HIGH_RISK_PREFIXES = {
    "US": ("+1900",),
    "GB": ("+449",),  # LONDON_RESULTS_LINE is in it; LONDON_PATIENT is not
    "DE": ("+49900",),
    "TR": ("+90900",),
    "JP": ("+81990",),
}


def _geo_countries(enabled: set[str]) -> list[dict[str, Any]]:
    """Countries in Twilio's shape: low-risk ranges on for `enabled`; high-risk ranges off."""
    return [
        {
            "iso_code": iso,
            "name": name,
            "continent": continent,
            "country_codes": list(codes),
            "low_risk_numbers_enabled": iso in enabled,
            "high_risk_special_numbers_enabled": False,
            "high_risk_tollfraud_numbers_enabled": False,
            "high_risk_special_prefixes": list(_HIGH_RISK_PREFIXES[iso]),
        }
        for iso, name, continent, codes in _GEO_COUNTRIES
    ]


def _international() -> _Acc:
    """Calls patients and clinics abroad: each destination rule fires next to its clean twin."""
    acc = _Acc(INTERNATIONAL)
    line = _flow(
        INTERNATIONAL,
        "patient-line",
        "International patient line",
        [
            _say("greeting", "Northwind international patient office.", "to_istanbul_clinic"),
            # A Turkish caller ID on a call to Turkey: refused (Turkish regulation).
            _connect("to_istanbul_clinic", INTL_TR, ISTANBUL_CLINIC),
            # Clean twin: the US desk calling Turkey.
            _connect("to_istanbul_lab", INTL_US, ISTANBUL_LAB),
            # A premium-rate London line: its high-risk special range is not enabled (21215).
            _outgoing("call_results_line", INTL_US, LONDON_RESULTS_LINE),
            # Clean twin: a London landline (low-risk, enabled) from the London number.
            _outgoing("call_patient_uk", INTL_UK, LONDON_PATIENT),
        ],
        revision=6,
    )
    acc.flows.append(line)
    line_url = flow_url(INTERNATIONAL, line["sid"])
    acc.numbers.append(_number(INTERNATIONAL, 0, "International desk", voice_url=line_url))
    acc.numbers.append(_number(INTERNATIONAL, 1, "International callbacks", voice_url=INTL_IVR_URL))
    # Not routed to the web app: a caller ID equal to the number called is a pass-through.
    acc.numbers += [
        _number(INTERNATIONAL, 50 + i, name, voice_url=line_url, phone=phone)
        for i, (phone, name) in enumerate(
            [(INTL_TR, "Istanbul desk"), (INTL_JP, "Tokyo desk"), (INTL_UK, "London desk")]
        )
    ]
    acc.verified.append(_verified(INTL_UK_VERIFIED, "Partner office London", INTERNATIONAL))
    _fill(acc, {0, 1}, "International", {"voice_url": line_url})
    # Its own permissions (inheritance off): the countries it calls, but not Germany.
    acc.geo = {"inheritance": False, "countries": _geo_countries({"US", "GB", "TR", "JP"})}
    return acc


def _riverside(now: datetime) -> _Acc:
    acc = _Acc(RIVERSIDE)
    ivr = _flow(
        RIVERSIDE,
        "main-ivr",
        "Riverside main IVR",
        [
            _say("greeting", "Welcome to Northwind Riverside.", "front_desk"),
            # Passes the patient's own number through: allowed, listed as info.
            _connect("front_desk", "{{contact.channel.address}}", num(RIVERSIDE, 30)),
            # Clean: Riverside's own number.
            _connect("on_call_doctor", RIVERSIDE_OWN, RIVERSIDE_VERIFIED),
        ],
        revision=7,
    )
    acc.flows.append(ivr)
    svc, digits = "riverside-afterhours", "4410"
    nurse_url = function_url(svc, digits, "/forward-nurse")
    acc.services.append(
        _service(
            RIVERSIDE,
            svc,
            digits,
            [
                _Fn(
                    "/forward-nurse",
                    [
                        # v0, in an old build: a number nobody owns. Not deployed: must not fire.
                        _js(
                            f"  twiml.dial({{ callerId: '{UNOWNED_OLD}' }},"
                            f" '{RIVERSIDE_VERIFIED}');\n"
                        ),
                        # v1, deployed: Hillcrest's nurse line through an environment variable.
                        _js(
                            "  twiml.say('Connecting you to the on-call nurse.');\n"
                            "  const dial = twiml.dial({\n"
                            "    callerId: context.NURSE_LINE_CID, timeout: 25 });\n"
                            "  dial.number(context.ON_CALL_NURSE);\n"
                        ),
                        # v2, written after the last deploy: not deployed, must not fire.
                        _js("  twiml.dial({ callerId: '971.555.0103' }, context.ON_CALL_NURSE);\n"),
                    ],
                    deployed=1,
                ),
            ],
            {
                "NURSE_LINE_CID": NURSE_LINE,
                "ON_CALL_NURSE": RIVERSIDE_VERIFIED,
                "EHR_API_TOKEN": "ehr_live_" + _hex("ehr-token", 40),  # secret: never stored
                "PAGER_WEBHOOK_SECRET": _hex("pager-secret", 24),  # secret: never stored
            },
        )
    )
    nurse_app = _app(RIVERSIDE, "nurse-softphone", "Nurse softphone", NURSE_SOFTPHONE_URL)
    acc.apps.append(nurse_app)
    acc.verified += [
        _verified(SWITCHBOARD_LANDLINE, "HQ switchboard desk", RIVERSIDE),
        _verified(RIVERSIDE_VERIFIED, "Dr. Okafor mobile", RIVERSIDE),
    ]
    used = {1, 10, 11, 12, 20, 21, 22, 40}
    acc.numbers.append(
        _number(RIVERSIDE, 1, "Riverside front desk", voice_url=flow_url(RIVERSIDE, ivr["sid"]))
    )
    for line in (10, 11, 12):  # after-hours lines reach the Function
        acc.numbers.append(
            _number(RIVERSIDE, line, f"Riverside after hours {line}", voice_url=nurse_url)
        )
    for line in (20, 21):  # routed to the shared IVR web app
        acc.numbers.append(
            _number(RIVERSIDE, line, f"Riverside triage {line}", voice_url=SHARED_IVR_URL)
        )
    acc.numbers.append(_number(RIVERSIDE, 22, "Riverside hold", voice_url=SHARED_HOLD_URL))
    acc.numbers.append(_number(RIVERSIDE, 40, "Riverside nurses app", app=nurse_app["sid"]))
    _fill(acc, used, "Riverside", {"voice_url": flow_url(RIVERSIDE, ivr["sid"])})
    for days in (2, 5, 9, 16):  # four 13214s from the deployed Function: Hillcrest's number
        patient = f"+1503555{150 + days:04d}"
        acc.alerts.append(
            _alert(
                RIVERSIDE,
                f"nurse-{days}",
                now - timedelta(days=days, hours=3),
                caller_id=NURSE_LINE,
                to=num(RIVERSIDE, 10),
                from_=patient,
                request_url=nurse_url,
                response_body=(
                    '<?xml version="1.0" encoding="UTF-8"?><Response><Say>Connecting you to the '
                    f'on-call nurse.</Say><Dial callerId="{NURSE_LINE}" timeout="25">'
                    f"<Number>{RIVERSIDE_VERIFIED}</Number></Dial></Response>"
                ),
            )
        )
    # Outside the 30-day window: the collector does not ask for it.
    acc.alerts.append(
        _alert(
            RIVERSIDE,
            "nurse-old",
            now - timedelta(days=45),
            caller_id=UNOWNED_OLD,
            to=num(RIVERSIDE, 10),
            from_="+15035550160",
            request_url=nurse_url,
            response_body=(
                f'<Response><Dial callerId="{UNOWNED_OLD}">{RIVERSIDE_VERIFIED}</Dial></Response>'
            ),
        )
    )
    return acc


def _hillcrest(baseline: bool) -> _Acc:
    acc = _Acc(HILLCREST)
    ivr = _flow(
        HILLCREST,
        "main-ivr",
        "Hillcrest main IVR",
        [
            _say("greeting", "Welcome to Northwind Hillcrest.", "to_pharmacy"),
            # A typo'd number nobody in the hierarchy owns or verifies.
            _connect("to_pharmacy", HILLCREST_TYPO, "+13605550188"),
            # Clean: Hillcrest's own nurse line.
            _connect("to_nurse", NURSE_LINE, "+13605550189"),
        ],
        revision=4,
    )
    reminders = _flow(
        HILLCREST,
        "reminders",
        "Hillcrest appointment reminders",
        [
            # A number Hillcrest owned in the baseline and has released since.
            _outgoing("call_patient", HILLCREST_RELEASED),
            # A Liquid variable Studio renders at run time: not empty, no finding.
            _outgoing("call_patient_alt", "{{flow.variables.reminder_cid}}"),
        ],
        revision=3,
    )
    acc.flows += [ivr, reminders]
    acc.verified.append(_verified(SWITCHBOARD_LANDLINE, "HQ switchboard desk", HILLCREST))
    ivr_url = flow_url(HILLCREST, ivr["sid"])
    acc.numbers.append(_number(HILLCREST, 5, "Hillcrest nurse line", voice_url=ivr_url))
    acc.numbers += [
        _number(HILLCREST, line, f"Hillcrest triage {line}", voice_url=SHARED_IVR_URL)
        for line in (20, 21, 22)
    ]
    _fill(acc, {5, 20, 21, 22}, "Hillcrest", {"voice_url": ivr_url})
    if baseline:  # five lines released since; only line 60 is still used (by the reminders flow)
        acc.numbers += [
            _number(HILLCREST, line, f"Hillcrest outreach {line}", voice=False)
            for line in range(60, 65)
        ]
    return acc


def _lakeside(now: datetime) -> _Acc:
    acc = _Acc(LAKESIDE)
    svc, digits = "lakeside-ivr", "7731"
    acc.services.append(
        _service(
            LAKESIDE,
            svc,
            digits,
            [
                # Lakeside's own number, written the local way instead of E.164.
                _Fn(
                    "/connect",
                    [
                        _js(
                            f"  const dial = twiml.dial({{ callerId: '{LAKESIDE_NOT_E164}' }});\n"
                            f"  dial.number(event.Forward || '{num(LAKESIDE, 30)}');\n"
                        )
                    ],
                    deployed=0,
                ),
                # Clean twin: the same clinic's number in E.164.
                _Fn(
                    "/transfer",
                    [_js(f"  twiml.dial({{ callerId: '{LAKESIDE_OWN_2}' }}, event.TransferTo);\n")],
                    deployed=0,
                ),
            ],
            {"RECEPTION_PIN": "pin-" + _hex("reception-pin", 12)},
        )
    )
    referrals = _flow(
        LAKESIDE,
        "referrals",
        "Lakeside referrals",
        [
            # Owned by the suspended Legacy IVR account: cross-account, and its owner is inactive.
            _connect("to_specialist", LEGACY_REFERRAL, "+15415550188"),
            # Clean: a Verified Caller ID of Lakeside itself.
            _connect("to_lab", LAKESIDE_VERIFIED, "+15415550189"),
        ],
        revision=2,
    )
    acc.flows.append(referrals)
    acc.verified.append(_verified(LAKESIDE_VERIFIED, "Lakeside lab desk", LAKESIDE))
    ref_url = flow_url(LAKESIDE, referrals["sid"])
    acc.numbers.append(
        _number(LAKESIDE, 1, "Lakeside main", voice_url=function_url(svc, digits, "/connect"))
    )
    acc.numbers.append(
        _number(LAKESIDE, 2, "Lakeside transfers", voice_url=function_url(svc, digits, "/transfer"))
    )
    acc.numbers.append(_number(LAKESIDE, 3, "Lakeside external IVR", voice_url=LAKESIDE_IVR_URL))
    acc.numbers.append(_number(LAKESIDE, 4, "Lakeside hold", voice_url=SHARED_HOLD_URL))
    _fill(acc, {1, 2, 3, 4}, "Lakeside", {"voice_url": ref_url})
    # The clinic's own web app sent TwiML with a template variable it never filled in.
    acc.alerts.append(
        _alert(
            LAKESIDE,
            "unrendered",
            now - timedelta(days=3, hours=7),
            caller_id="{{clinic_cid}}",
            to=num(LAKESIDE, 3),
            from_="+15035550171",
            request_url=LAKESIDE_IVR_URL,
            response_body=(
                '<Response><Dial callerId="{{clinic_cid}}"><Number>+15415550177</Number></Dial>'
                "</Response>"
            ),
        )
    )
    return acc


def _call_centre(now: datetime) -> _Acc:
    acc = _Acc(CALL_CENTRE)
    trunk = sid("TK", "call-centre-pbx")
    escalation = _flow(
        CALL_CENTRE,
        "escalation",
        "Call centre escalation",
        [
            # A client identity as the callerId of a call to a phone number.
            _connect("to_on_call_manager", "client:escalations", "+12065550188"),
            # Clean twin: the same identity when dialing another client.
            _connect("to_supervisor", "client:escalations", "supervisor", noun="client"),
        ],
        revision=9,
    )
    acc.flows.append(escalation)
    svc, digits = "callcentre-routing", "4821"
    acc.services.append(
        _service(
            CALL_CENTRE,
            svc,
            digits,
            [
                # The caller's own number passed through: allowed, listed as info.
                _Fn(
                    "/transfer-external",
                    [_js("  twiml.dial({ callerId: event.From }, event.TransferTo);\n")],
                    deployed=0,
                ),
                # Clean: the call centre's main number through an environment variable.
                _Fn(
                    "/sip-out",
                    [
                        _js(
                            "  const to = String(event.To).replace(/^sip:|@.*$/g, '');\n"
                            "  twiml.dial({ callerId: context.CC_MAIN_CID }).number(to);\n"
                        )
                    ],
                    deployed=0,
                ),
            ],
            {
                "CC_MAIN_CID": CC_MAIN,
                "CRM_API_KEY": "crm_" + _hex("crm-key", 36),  # secret: never stored
                "QUEUE_NAME": "triage-" + _hex("queue-name", 10),
            },
        )
    )
    acc.flex = _flex(CALL_CENTRE, CC_OUTBOUND)  # clean twin: its own outbound number
    softphone = _app(CALL_CENTRE, "softphone", "Agent softphone (Voice SDK)", SOFTPHONE_URL)
    acc.apps.append(softphone)
    acc.sip.append(
        {
            "sid": sid("SD", "call-centre"),
            "domain_name": "northwind-cc.sip.twilio.com",
            "friendly_name": "Call centre desk phones",
            "voice_url": function_url(svc, digits, "/sip-out"),
            "voice_method": "POST",
        }
    )
    acc.verified.append(_verified(CC_VERIFIED, "Call centre overflow", CALL_CENTRE))
    esc_url = flow_url(CALL_CENTRE, escalation["sid"])
    acc.numbers.append(_number(CALL_CENTRE, 0, "Patient line", voice_url=SHARED_IVR_URL))
    acc.numbers.append(_number(CALL_CENTRE, 1, "Escalations", voice_url=esc_url))
    acc.numbers.append(
        _number(
            CALL_CENTRE, 2, "Transfers", voice_url=function_url(svc, digits, "/transfer-external")
        )
    )
    # Outbound presentation number: callbacks to it go to the escalation desk.
    acc.numbers.append(_number(CALL_CENTRE, 5, "Outbound caller ID", voice_url=esc_url))
    for line in range(60, 70):
        acc.numbers.append(_number(CALL_CENTRE, line, f"PBX DID {line}", trunk=trunk))
    for line in range(70, 80):
        acc.numbers.append(_number(CALL_CENTRE, line, f"Agent DID {line}", app=softphone["sid"]))
    _fill(acc, {0, 1, 2, 5, *range(60, 80)}, "Call centre", {"voice_url": SHARED_IVR_URL})
    # An agent's softphone sent a client identity as callerId on a call to a patient.
    acc.alerts.append(
        _alert(
            CALL_CENTRE,
            "client-callerid",
            now - timedelta(days=6, hours=1),
            caller_id="client:agent_17",
            to="+15035550181",
            from_="client:agent_17",
            request_url=SOFTPHONE_URL,
            response_body=(
                '<Response><Dial callerId="client:agent_17"><Number>+15035550181</Number>'
                "</Dial></Response>"
            ),
        )
    )
    return acc


def _billing(now: datetime) -> _Acc:
    acc = _Acc(BILLING)
    reminders = _flow(
        BILLING,
        "payment-reminders",
        "Billing payment reminders",
        [
            # The parent's main line: owned by the parent, not by Billing.
            _outgoing("call_guarantor", MAIN_LINE),
        ],
        revision=5,
    )
    acc.flows.append(reminders)
    svc, digits = "billing-callbacks", "7314"
    acc.services.append(
        _service(
            BILLING,
            svc,
            digits,
            [
                # Clean: Billing's own number, through context.
                _Fn(
                    "/callback",
                    [
                        _calls_create(
                            "BILLING_CID", "event.phone", function_url(svc, digits, "/statement")
                        )
                    ],
                    deployed=0,
                ),
                # A shell-style placeholder left in a literal: Twilio receives it as text.
                _Fn(
                    "/notify",
                    [_js("  twiml.dial({ callerId: '${BILLING_CALLER_ID}' }, event.To);\n")],
                    deployed=0,
                ),
            ],
            {
                "BILLING_CID": BILLING_OWN,
                "STRIPE_SECRET_KEY": "sk_live_" + _hex("stripe", 40),  # secret: never stored
                "DB_PASSWORD": "Nw!" + _hex("db-password", 16),  # secret: never stored
            },
        )
    )
    acc.numbers.append(
        _number(BILLING, 0, "Billing enquiries", voice_url=flow_url(BILLING, reminders["sid"]))
    )
    _fill(acc, {0}, "Billing", {"voice_url": function_url(svc, digits, "/notify")})
    # Clean twin of alert-13214-observed: another error code.
    acc.alerts.append(
        _alert(
            BILLING,
            "http-failure",
            now - timedelta(days=1, hours=2),
            caller_id="",
            to=BILLING_OWN,
            from_="+15035550182",
            request_url=function_url(svc, digits, "/statement"),
            response_body=None,
            error_code="11200",
        )
    )
    return acc


def _legacy() -> _Acc:
    acc = _Acc(LEGACY, status="suspended")
    app = _app(LEGACY, "old-ivr", "Legacy IVR (retired)", LEGACY_IVR_URL)
    acc.apps.append(app)
    _fill(acc, set(), "Legacy IVR", {"app": app["sid"]})
    return acc


def _telehealth(baseline: bool) -> _Acc:
    acc = _Acc(TELEHEALTH, status="active" if baseline else "closed")
    if baseline:  # released when the account was closed; nothing uses them: no finding
        acc.numbers += [
            _number(TELEHEALTH, line, f"Telehealth {line}", voice=False) for line in range(10)
        ]
    return acc


# The Flex CRM integration's callback URL carries a password: never stored.
FLEX_CRM_SECRET = _hex("flex-crm-callback", 24)


def _flex(account: str, caller_id: str, **extra: Any) -> dict[str, Any]:
    """A Flex Configuration whose agents' outbound calls present `caller_id`."""
    label = ACCOUNT_LABELS[account]
    return {
        "status": "ok",
        "flex_instance_sid": sid("GO", label),
        "taskrouter_workspace_sid": sid("WS", label),
        "outbound_call_flows": {
            "default": {
                "caller_id": caller_id,
                "queue_sid": sid("WQ", f"{label}:everyone"),
                "workflow_sid": sid("WW", f"{label}:assign-to-anyone"),
                "location": "US",
            }
        },
        **extra,
    }


def _front_desk() -> _Acc:
    """The virtual front desk: Flex agents who call patients back for every clinic."""
    acc = _Acc(FRONT_DESK)
    # Set up with the call centre's outbound number, which the front desk neither owns nor
    # verifies: every agent's outbound call is refused (flex-outbound, cross-account).
    acc.flex = _flex(
        FRONT_DESK,
        CC_OUTBOUND,
        crm_enabled=True,
        crm_callback_url=f"https://flex:{FLEX_CRM_SECRET}@crm.northwind-health.example/flex",
    )
    inbound = _flow(
        FRONT_DESK,
        "inbound",
        "Front desk inbound",
        [
            _say("welcome", "Northwind front desk, connecting you to the next agent.", "to_agent"),
            {
                "name": "to_agent",
                "type": "send-to-flex",
                "transitions": [{"event": "callComplete"}, {"event": "failedToEnqueue"}],
                "properties": {
                    "offset": {"x": 0, "y": 400},
                    "workflow": sid("WW", "virtual-front-desk:assign-to-anyone"),
                    "channel": sid("TC", "virtual-front-desk:voice"),
                },
            },
        ],
        revision=2,
    )
    acc.flows.append(inbound)
    svc, digits = "frontdesk-callbacks", "5620"
    acc.services.append(
        _service(
            FRONT_DESK,
            svc,
            digits,
            [
                # A Calls API request from Riverside's front desk number: the front desk took
                # over Riverside's callbacks and kept its number, which it does not hold.
                _Fn(
                    "/callback",
                    [
                        _calls_create(
                            "CALLBACK_CID",
                            "event.patient",
                            function_url(svc, digits, "/connect-agent"),
                        )
                    ],
                    deployed=0,
                ),
            ],
            {
                "CALLBACK_CID": RIVERSIDE_OWN,
                "FLEX_PLUGIN_TOKEN": "flexplug_" + _hex("flex-plugin-token", 30),  # secret
            },
        )
    )
    route: dict[str, Any] = {"voice_url": flow_url(FRONT_DESK, inbound["sid"])}
    acc.numbers.append(_number(FRONT_DESK, 0, "Front desk main line", **route))
    _fill(acc, {0}, "Front desk", route)
    return acc


def _scenario(now: datetime, baseline: bool) -> Scenario:
    accounts = [
        _parent(),
        _riverside(now),
        _hillcrest(baseline),
        _lakeside(now),
        _call_centre(now),
        _billing(now),
        _legacy(),
        _telehealth(baseline),
        _international(),
        _front_desk(),
    ]
    if baseline:  # before the failures started: no alerts yet
        for acc in accounts:
            acc.alerts = []
    scenario = {
        "name": "Northwind Health demo" + (" (baseline)" if baseline else ""),
        "now": _iso(now),
        "accounts": [a.to_data() for a in accounts],
        "api_keys": [{"sid": API_KEY_SID, "secret": API_KEY_SECRET, "account_sid": PARENT}],
    }
    _add_ie1(scenario, baseline)
    return scenario


# --------------------------------------------------------------------------- the IE1 region

# The call centre's after-hours overflow runs in Twilio's IE1 Region (Dublin team): two of its
# numbers are configured only there, to IE1 Functions. IE1 does not support Verified Caller
# IDs, so the Function that dials with the call centre's Verified Caller ID (fine in US1) is
# refused there; its twin dials with a number the call centre owns (numbers are global).
IE1 = "ie1"
IE1_EDGE = "dublin"
EU_OVERFLOW_LINES = (7, 8)
EU_SERVICE, EU_DIGITS = "callcentre-eu", "6620"


def ie1_auth_token(account: str) -> str:
    """The parent's IE1 token (Twilio's credentials are per region); others derive theirs."""
    return _hex(f"ie1-token:{ACCOUNT_LABELS[account]}")


def _add_ie1(scenario: Scenario, baseline: bool) -> None:
    """Give the scenario its IE1 data: the parent's IE1 credentials, and (since the baseline)
    the call centre's EU overflow Functions with two numbers routed to them in IE1."""
    by_sid = {a["sid"]: a for a in scenario["accounts"]}
    by_sid[PARENT]["regions"] = {IE1: {"auth_token": ie1_auth_token(PARENT)}}
    cc = by_sid[CALL_CENTRE]
    lines = {sid("PN", num(CALL_CENTRE, line)): line for line in EU_OVERFLOW_LINES}
    for number in cc["incoming_phone_numbers"]:
        if number["sid"] in lines:  # answered in IE1 only: no US1 voice configuration
            number["friendly_name"] = f"EU overflow {lines[number['sid']] - 6}"
            number["voice_url"] = number["voice_method"] = None
    if baseline:
        return
    service = _service(
        CALL_CENTRE,
        EU_SERVICE,
        EU_DIGITS,
        [
            # The call centre's Verified Caller ID (valid in US1): IE1 has no Verified Caller IDs.
            _Fn(
                "/overflow",
                [_js(f"  twiml.dial({{ callerId: '{CC_VERIFIED}' }}, event.TransferTo);\n")],
                deployed=0,
            ),
            # Clean twin: the call centre's own main number, valid in every region.
            _Fn(
                "/overflow-own",
                [_js(f"  twiml.dial({{ callerId: '{CC_MAIN}' }}, event.TransferTo);\n")],
                deployed=0,
            ),
        ],
        {},
    )
    paths = ("/overflow", "/overflow-own")
    cc["regions"] = {
        IE1: {
            "incoming_phone_numbers": [
                {
                    "sid": number_sid,
                    "voice_url": function_url(EU_SERVICE, EU_DIGITS, path),
                    "voice_method": "POST",
                }
                for number_sid, path in zip(lines, paths, strict=True)
            ],
            "services": [service],
        }
    }


def demo_scenario(now: datetime = DEMO_NOW) -> Scenario:
    """The demo hierarchy as it is today (alert dates relative to `now`)."""
    return _scenario(now, baseline=False)


def demo_baseline_scenario(now: datetime = DEMO_NOW) -> Scenario:
    """The hierarchy `BASELINE_WEEKS_EARLIER` weeks before `now`, before numbers were released."""
    return _scenario(now - timedelta(weeks=BASELINE_WEEKS_EARLIER), baseline=True)


def demo_policy_toml() -> str:
    """The caller IDs each account is meant to use (for `--policy`)."""
    return (
        "# Northwind Health caller-ID policy (demo)\n\n"
        f'[accounts.{BILLING}]\nname = "Northwind Billing"\n'
        f'caller_ids = ["{BILLING_OWN}", "{BILLING_POLICY_MISSING}"]\n\n'
        f'[accounts.{CALL_CENTRE}]\nname = "Northwind Patient Call Centre"\n'
        f'caller_ids = ["{CC_MAIN}", "{CC_VERIFIED}"]\n'
    )


def demo_accept_toml() -> str:
    """Accepted risks of the demo (for `--accept`): one in force, one expired, one stale."""
    return (
        "# Northwind Health accepted caller-ID risks (demo)\n\n"
        "[[accept]]\n"
        'rule = "callerid-cross-account"\n'
        f'account = "{LAKESIDE}"\n'
        f'caller_id = "{LEGACY_REFERRAL}"\n'
        'reason = "Referral line moves from Legacy IVR to Lakeside in the Q1 migration"\n'
        'accepted_by = "J. Doe, Northwind IT"\n'
        "expires = 2027-03-31\n\n"
        "[[accept]]\n"
        'rule = "callerid-cross-account"\n'
        f'account = "{BILLING}"\n'
        f'caller_id = "{MAIN_LINE}"\n'
        'reason = "Billing flow to be rebuilt by October"\n'
        'accepted_by = "A. Smith, Billing"\n'
        "expires = 2026-10-31\n\n"
        "[[accept]]\n"
        'rule = "callerid-not-e164"\n'
        f'account = "{RIVERSIDE}"\n'
        'caller_id = "9715550199"\n'
        'reason = "Old kiosk number, fixed in the spring"\n'
        'accepted_by = "J. Doe, Northwind IT"\n'
        "expires = 2027-06-30\n"
    )


def demo_secrets(scenario: Scenario) -> list[str]:
    """Every secret in `scenario`: tokens (of every region), API secrets, env values that
    are not caller IDs."""
    secrets = [
        regional_token(a, region)
        for region in scenario_regions(scenario)
        for a in scenario["accounts"]
    ]
    secrets += [k["secret"] for k in scenario.get("api_keys", [])]
    secrets.append(FLEX_CRM_SECRET)
    for acc in scenario["accounts"]:
        for svc in acc["services"]:
            for env in svc["environments"]:
                secrets += [v["value"] for v in env["variables"] if not v["value"].startswith("+")]
    return secrets


def scenario_json(scenario: Scenario) -> str:
    return json.dumps(scenario, indent=2, ensure_ascii=False)


# --------------------------------------------------------------------------- expected findings

# (rule, account_sid, caller_id as findings.json gives it, source kind).
DEMO_EXPECTED: frozenset[tuple[str, str, str, str]] = frozenset(
    {
        # Hillcrest main IVR dials with a typo'd number nobody in the hierarchy owns or verifies.
        ("callerid-not-authorized", HILLCREST, HILLCREST_TYPO, "studio_flow"),
        # Riverside's deployed after-hours Function uses Hillcrest's nurse line (a sibling).
        ("callerid-cross-account", RIVERSIDE, NURSE_LINE, "function"),
        # …and Twilio refused it four times: the alerts' TwiML carries the same callerId.
        ("callerid-cross-account", RIVERSIDE, NURSE_LINE, "alert"),
        ("alert-13214-observed", RIVERSIDE, NURSE_LINE, "alert"),
        # Billing's reminder flow uses the parent's main line.
        ("callerid-cross-account", BILLING, MAIN_LINE, "studio_flow"),
        # Lakeside referrals use a number of the suspended Legacy IVR account: cross-account,
        # and the owner is inactive.
        ("callerid-cross-account", LAKESIDE, LEGACY_REFERRAL, "studio_flow"),
        ("callerid-owner-inactive", LAKESIDE, LEGACY_REFERRAL, "studio_flow"),
        # Lakeside's /connect Function writes its own number as "(541) 555-0101".
        ("callerid-not-e164", LAKESIDE, LAKESIDE_OWN, "function"),
        # Lakeside's web app sent TwiML with "{{clinic_cid}}" unrendered; Twilio logged 13214.
        ("callerid-empty", LAKESIDE, "{{clinic_cid}}", "alert"),
        ("alert-13214-observed", LAKESIDE, "{{clinic_cid}}", "alert"),
        # Billing's /notify Function has a literal '${BILLING_CALLER_ID}'.
        ("callerid-empty", BILLING, "${BILLING_CALLER_ID}", "function"),
        # Call centre escalation flow: client identity as callerId on a call to a number.
        ("callerid-client-on-pstn", CALL_CENTRE, "client:escalations", "studio_flow"),
        # …and an agent's softphone TwiML did the same; Twilio logged 13214.
        ("callerid-client-on-pstn", CALL_CENTRE, "client:agent_17", "alert"),
        ("alert-13214-observed", CALL_CENTRE, "client:agent_17", "alert"),
        # Hillcrest reminders still use a number Hillcrest owned in the baseline and released.
        ("callerid-released", HILLCREST, HILLCREST_RELEASED, "studio_flow"),
        ("callerid-not-authorized", HILLCREST, HILLCREST_RELEASED, "studio_flow"),
        # The policy says Billing calls from a number Billing neither owns nor verifies.
        ("policy-callerid-missing", BILLING, BILLING_POLICY_MISSING, "policy"),
        # The HQ switchboard desk phone is verified in two clinics: one finding per number, on the
        # holder with the lowest SID (Hillcrest); the message names both accounts.
        ("verified-callerid-duplicated", HILLCREST, SWITCHBOARD_LANDLINE, "inventory"),
        # Pass-through of the caller's own number: allowed, listed. (Not the softphone alert: a
        # client identity passed through onto a call to a phone number is what Twilio refused.)
        ("callerid-passthrough", RIVERSIDE, "{{contact.channel.address}}", "studio_flow"),
        ("callerid-passthrough", CALL_CENTRE, "event.From", "function"),
        # The shared IVR web app (probed once per account it serves) answers with the call
        # centre's outbound number: fine for the call centre, refused for the two clinics.
        ("webhook-context-mismatch", RIVERSIDE, CC_OUTBOUND, "webhook"),
        ("webhook-context-mismatch", HILLCREST, CC_OUTBOUND, "webhook"),
        # The agents' Voice SDK app dials a phone number with no callerId on a client leg.
        ("callerid-missing-client-leg", CALL_CENTRE, "", "webhook"),
        # The international office calls Istanbul with its Istanbul number: Turkey refuses a
        # Turkish caller ID (high). Its twin calls Istanbul from the US desk.
        ("callerid-geo-restricted", INTERNATIONAL, INTL_TR, "studio_flow"),
        # …and calls a premium-rate London line: GB's high-risk special numbers are not
        # enabled in its Geo Permissions (21215, with the toll-fraud warning). Its twin calls a
        # London landline, which the low-risk permission covers.
        ("dial-destination-not-permitted", INTERNATIONAL, INTL_US, "studio_flow"),
        # Its web app calls Tokyo with its Tokyo number: the caller ID may be removed outside
        # the Tokyo edge (replaced, medium). Its twin calls Tokyo from the US desk.
        ("callerid-geo-restricted", INTERNATIONAL, INTL_JP, "webhook"),
        # …calls London with a verified UK line that is not a valid number: surcharged (low).
        # Its twin uses the office's own London number.
        ("callerid-geo-restricted", INTERNATIONAL, INTL_UK_VERIFIED, "webhook"),
        # …and dials Berlin and London at once: Germany is not in its own Geo Permissions
        # (13227); the London leg is permitted. The clinics, which inherit the parent's
        # US-only list, dial only +1 numbers: no finding.
        ("dial-destination-not-permitted", INTERNATIONAL, INTL_US, "webhook"),
        # The virtual front desk's Flex places agents' outbound calls with the call centre's
        # number (judged like a Dial of the Flex account: 13214); the call centre's own Flex,
        # with its own number, is the clean twin.
        ("callerid-cross-account", FRONT_DESK, CC_OUTBOUND, "flex"),
        # …and its /callback Function places a Calls API request from Riverside's front desk
        # number (21210: the code extractor reads `calls.create({ from })` as a Calls API
        # From); Billing's /callback, from Billing's own number, is the clean twin.
        ("callerid-cross-account", FRONT_DESK, RIVERSIDE_OWN, "function"),
        # IE1: the call centre's EU overflow Function dials with its Verified Caller ID, which
        # IE1 does not support (its twin, /overflow-own, uses an owned number: quiet).
        (
            "callerid-verified-unsupported-in-region",
            CALL_CENTRE,
            CC_VERIFIED,
            "function",
        ),
    }
)
