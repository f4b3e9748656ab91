"""The demo hierarchy: "Northwind Health", a parent and nine subaccounts, in scenario format.

The story is data: `scenarios/demo.toml` (accounts, numbers, flows, Functions, alerts, the
customer's web apps, and the findings each must produce, with why), expanded by
`demo_data`. This module gives code its names: the SIDs and numbers tests and commands use,
`demo_scenario()` and its baseline, `DEMO_EXPECTED`, the policy and accept files, and the
customer's web apps simulated in process (`DemoWebApps`), so the webhook probe's rules fire
too.

Everything is derived from fixed labels (SIDs and tokens are hashes of them), so the
scenario is identical on every machine; only the clock (`now`) moves the alert dates, so
that a demo run today still has alerts inside the 30-day window. The tokens, API secret and
secret-looking environment variables live in memory only: the tests search every output
file for them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

from twilio.request_validator import RequestValidator

from auditor.emulator.demo_data import (
    Finding,
    Scenario,
    load_demo_file,
    token_of,
)
from auditor.emulator.demo_data import flow_url as flow_url  # re-exported helpers
from auditor.emulator.demo_data import function_url as function_url
from auditor.emulator.demo_data import sid as sid
from auditor.emulator.scenario import regional_token, scenario_regions
from auditor.outbound import (
    OutboundFailed,
    OutboundPolicy,
    OutboundRequest,
    OutboundResponse,
    parse_cidr,
)

_DEMO = load_demo_file()
_ACCOUNTS = {a.sid: a for a in _DEMO.accounts.values()}

DEMO_NOW: datetime = _DEMO.now
BASELINE_WEEKS_EARLIER: int = _DEMO.baseline_weeks_earlier

# --------------------------------------------------------------------------- accounts

PARENT = _DEMO.accounts["PARENT"].sid
RIVERSIDE = _DEMO.accounts["RIVERSIDE"].sid
HILLCREST = _DEMO.accounts["HILLCREST"].sid
LAKESIDE = _DEMO.accounts["LAKESIDE"].sid
CALL_CENTRE = _DEMO.accounts["CALL_CENTRE"].sid
BILLING = _DEMO.accounts["BILLING"].sid
LEGACY = _DEMO.accounts["LEGACY"].sid
TELEHEALTH = _DEMO.accounts["TELEHEALTH"].sid
INTERNATIONAL = _DEMO.accounts["INTERNATIONAL"].sid  # calls abroad: the destination rules
FRONT_DESK = _DEMO.accounts["FRONT_DESK"].sid  # runs Flex

ACCOUNT_NAMES = {a.sid: a.name for a in _ACCOUNTS.values()}
ACCOUNT_LABELS = {a.sid: a.label for a in _ACCOUNTS.values()}
# Each account owns a block of numbers in its own area code: +1 NPA 555 01xx.
AREA_CODES = {a.sid: a.area_code for a in _ACCOUNTS.values()}
NUMBER_COUNTS = {a.sid: a.block for a in _ACCOUNTS.values()}


def num(account: str, line: int) -> str:
    """The demo number `+1 NPA 555 01xx` of `account`'s area code (line 0…99)."""
    return _ACCOUNTS[account].number(line)


def auth_token(account: str) -> str:
    return token_of(ACCOUNT_LABELS[account])


# The parent's API key ([[api_key]] in the file).
API_KEY_SID = _DEMO.api_keys[0]["sid"]
API_KEY_SECRET = _DEMO.api_keys[0]["secret"]

# --------------------------------------------------------------------------- key numbers
# What each is, and where it is used: the [numbers] table of scenarios/demo.toml.

_N = _DEMO.numbers
MAIN_LINE = _N["MAIN_LINE"]
SWITCHBOARD_LANDLINE = _N["SWITCHBOARD_LANDLINE"]
RIVERSIDE_OWN = _N["RIVERSIDE_OWN"]
RIVERSIDE_VERIFIED = _N["RIVERSIDE_VERIFIED"]
NURSE_LINE = _N["NURSE_LINE"]
HILLCREST_RELEASED = _N["HILLCREST_RELEASED"]
HILLCREST_TYPO = _N["HILLCREST_TYPO"]
LAKESIDE_OWN = _N["LAKESIDE_OWN"]
LAKESIDE_OWN_2 = _N["LAKESIDE_OWN_2"]
LAKESIDE_VERIFIED = _N["LAKESIDE_VERIFIED"]
LAKESIDE_NOT_E164 = _N["LAKESIDE_NOT_E164"]
LEGACY_REFERRAL = _N["LEGACY_REFERRAL"]
CC_MAIN = _N["CC_MAIN"]
CC_OUTBOUND = _N["CC_OUTBOUND"]
CC_VERIFIED = _N["CC_VERIFIED"]
BILLING_OWN = _N["BILLING_OWN"]
BILLING_POLICY_MISSING = _N["BILLING_POLICY_MISSING"]
UNOWNED_OLD = _N["UNOWNED_OLD"]
INTL_US = _N["INTL_US"]
INTL_TR = _N["INTL_TR"]
INTL_JP = _N["INTL_JP"]
INTL_UK = _N["INTL_UK"]
INTL_UK_VERIFIED = _N["INTL_UK_VERIFIED"]
ABROAD_NUMBERS = _DEMO.abroad  # owned besides the +1 blocks of NUMBER_COUNTS
ISTANBUL_CLINIC = _N["ISTANBUL_CLINIC"]
ISTANBUL_LAB = _N["ISTANBUL_LAB"]
TOKYO_CLINIC = _N["TOKYO_CLINIC"]
TOKYO_LAB = _N["TOKYO_LAB"]
LONDON_CLINIC = _N["LONDON_CLINIC"]
LONDON_LAB = _N["LONDON_LAB"]
LONDON_RECORDS = _N["LONDON_RECORDS"]
LONDON_RESULTS_LINE = _N["LONDON_RESULTS_LINE"]
LONDON_PATIENT = _N["LONDON_PATIENT"]
BERLIN_PARTNER = _N["BERLIN_PARTNER"]

# The customer's web apps ([[web_app]] in the file) and what they answer the webhook probe.
SHARED_IVR_URL = _DEMO.urls["SHARED_IVR_URL"]
SHARED_HOLD_URL = _DEMO.urls["SHARED_HOLD_URL"]
SOFTPHONE_URL = _DEMO.urls["SOFTPHONE_URL"]
NURSE_SOFTPHONE_URL = _DEMO.urls["NURSE_SOFTPHONE_URL"]
LAKESIDE_IVR_URL = _DEMO.urls["LAKESIDE_IVR_URL"]
LEGACY_IVR_URL = _DEMO.urls["LEGACY_IVR_URL"]
INTL_IVR_URL = _DEMO.urls["INTL_IVR_URL"]
DEMO_WEBHOOKS: dict[str, str] = _DEMO.web_apps

# The Flex CRM integration's callback URL carries a password: never stored.
FLEX_CRM_SECRET = _DEMO.secrets["FLEX_CRM_SECRET"]

# (rule, account_sid, caller_id as findings.json gives it, source kind): every finding the
# whole pipeline must produce; why each fires is the comment on its entry in the file.
DEMO_EXPECTED: frozenset[Finding] = _DEMO.expected


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


# --------------------------------------------------------------------------- the scenario

# The call centre's EU overflow runs in Twilio's IE1 Region (see the file); the demo audits
# IE1 through its Dublin edge.
IE1 = "ie1"
IE1_EDGE = "dublin"


def demo_scenario(now: datetime = DEMO_NOW) -> Scenario:
    """The demo hierarchy as it is today (alert dates relative to `now`)."""
    return _DEMO.scenario(now, baseline=False)


def demo_baseline_scenario(now: datetime = DEMO_NOW) -> Scenario:
    """The hierarchy `BASELINE_WEEKS_EARLIER` weeks before `now`, before numbers were released."""
    return _DEMO.scenario(now - timedelta(weeks=BASELINE_WEEKS_EARLIER), baseline=True)


def demo_policy_toml() -> str:
    """The caller IDs each account is meant to use (for `--policy`)."""
    return _DEMO.files["policy"]


def demo_accept_toml() -> str:
    """Accepted risks of the demo (for `--accept`): one in force, one expired, one stale."""
    return _DEMO.files["accept"]


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
