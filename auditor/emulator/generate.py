"""Deterministic synthetic hierarchies for benchmarks and tests.

`generate_hierarchy(200, 50)` gives a parent and 200 subaccounts with 50 numbers
each, plus applications, SIP domains, Studio flows, Serverless functions and
Monitor alerts. Roughly a third of the flows, functions and 13214 alerts use a
caller ID owned by a sibling account, so analysis always has findings to make.
Same arguments, same scenario (SIDs and tokens derive from `seed`).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from auditor.emulator.scenario import NUMBER_VOICE_FIELDS
from auditor.emulator.shapes import parse_iso
from auditor.regions import VERIFIED_CALLER_IDS, lacks

NOW = "2026-11-29T12:00:00Z"
_NANP_BLOCK = 9_000_000  # +1 555 0000000 … +1 555 8999999 for owned numbers


def _hex(seed: int, *parts: object) -> str:
    return hashlib.sha256("|".join(map(str, (seed, *parts))).encode()).hexdigest()[:32]


def _sid(seed: int, prefix: str, *parts: object) -> str:
    return prefix + _hex(seed, prefix, *parts)


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


class _Numbers:
    """E.164 numbers unique across the hierarchy: owned from +1 555, verified from +44 7700 900."""

    def __init__(self, seed: int, numbers_per_account: int) -> None:
        self.seed = seed
        self.per_account = numbers_per_account

    def owned(self, account: int, k: int) -> str:
        n = (self.seed * 7_919 + account * self.per_account + k) % _NANP_BLOCK
        return f"+1555{n:07d}"

    @staticmethod
    def verified(account: int) -> str:
        if account < 1000:
            return f"+447700900{account:03d}"
        return f"+1555{_NANP_BLOCK + account:07d}"  # +1 555 9xxxxxx, outside the owned block


def generate_hierarchy(
    subaccounts: int,
    numbers_per_account: int,
    *,
    apps_per_account: int = 2,
    flows_per_account: int = 1,
    functions_per_account: int = 1,
    alerts_per_account: int = 2,
    seed: int = 0,
) -> dict[str, Any]:
    """A scenario dict (docs/scenario-format.md): a parent plus `subaccounts` subaccounts."""
    if subaccounts < 0 or numbers_per_account < 0 or subaccounts + 1 > 1_000_000:
        raise ValueError("subaccounts and numbers_per_account must be >= 0")
    if (subaccounts + 1) * numbers_per_account > _NANP_BLOCK:
        raise ValueError("too many numbers for the synthetic +1 555 block")
    numbers = _Numbers(seed, numbers_per_account)
    total = subaccounts + 1
    account_sids = [_sid(seed, "AC", i) for i in range(total)]

    def caller_id_for(i: int, j: int) -> tuple[str, str]:
        """(caller ID, kind) for use j of account i: own, a sibling's, or pass-through."""
        choice = (i + j) % 3
        if choice == 1 and total > 1:
            sibling = (i + 1) % total
            return (
                numbers.owned(sibling, 0) if numbers_per_account else numbers.verified(sibling),
                "cross-account",
            )
        if choice == 2:
            return "{{trigger.call.From}}", "pass-through"
        return (numbers.owned(i, 0) if numbers_per_account else numbers.verified(i)), "own"

    accounts = []
    for i, sid in enumerate(account_sids):
        accounts.append(
            _account(
                seed,
                i,
                sid,
                account_sids[0],
                numbers,
                caller_id_for,
                apps_per_account=apps_per_account,
                flows_per_account=flows_per_account,
                functions_per_account=functions_per_account,
                alerts_per_account=alerts_per_account,
            )
        )
    # Geo Permissions as a new account has them: the parent calls the US and Canada (low-risk
    # ranges); subaccounts inherit (Twilio's default), so they answer the parent's list.
    accounts[0]["dialing_permissions"] = {
        "countries": [
            {"iso_code": "US", "name": "United States/Canada", "continent": "NORTH_AMERICA",
             "country_codes": ["+1"], "low_risk_numbers_enabled": True,
             "high_risk_special_prefixes": ["+1900"]},
            {"iso_code": "GB", "continent": "EUROPE"},
        ]
    }  # fmt: skip
    return {
        "name": f"synthetic-{subaccounts}x{numbers_per_account}-seed{seed}",
        "now": NOW,
        "accounts": accounts,
        "api_keys": [
            {
                "sid": _sid(seed, "SK", 0),
                "secret": _hex(seed, "secret", 0),
                "account_sid": account_sids[0],
            }
        ],
        "faults": {},
    }


def _flow_definition(caller_id: str, to: str, outgoing: bool) -> dict[str, Any]:
    states: list[dict[str, Any]] = [
        {
            "name": "Trigger",
            "type": "trigger",
            "transitions": [{"event": "incomingCall", "next": "connect"}],
            "properties": {"offset": {"x": 0, "y": 0}},
        },
        {
            "name": "connect",
            "type": "connect-call-to",
            "transitions": [{"event": "callCompleted"}],
            "properties": {"caller_id": caller_id, "noun": "number", "to": to, "timeout": 30},
        },
    ]
    if outgoing:
        states[0]["transitions"].append({"event": "incomingRequest", "next": "callout"})
        states.append(
            {
                "name": "callout",
                "type": "make-outgoing-call-v2",
                "transitions": [{"event": "answered"}],
                "properties": {"from": caller_id, "to": "{{contact.channel.address}}"},
            }
        )
    return {
        "description": "synthetic flow",
        "states": states,
        "initial_state": "Trigger",
        "flags": {"allow_concurrent_calls": True},
    }


_FUNCTION_CODE = """exports.handler = function (context, event, callback) {{
  const twiml = new Twilio.twiml.VoiceResponse();
  const dial = twiml.dial({{ callerId: context.{var} }});
  dial.number(event.To || '{to}');
  callback(null, twiml);
}};
"""


def _account(
    seed: int,
    i: int,
    sid: str,
    parent_sid: str,
    numbers: _Numbers,
    caller_id_for: Any,
    *,
    apps_per_account: int,
    flows_per_account: int,
    functions_per_account: int,
    alerts_per_account: int,
) -> dict[str, Any]:
    now = parse_iso(NOW)
    created = _iso(now - timedelta(days=400 - i % 300))
    hooks = f"https://hooks.example.com/acct{i}"
    apps = [
        {
            "sid": _sid(seed, "AP", i, j),
            "friendly_name": f"App {j} of account {i}",
            "voice_url": f"{hooks}/app{j}",
            "voice_method": "POST",
            "date_created": created,
        }
        for j in range(apps_per_account)
    ]
    flows = []
    for j in range(flows_per_account):
        caller_id, _kind = caller_id_for(i, j)
        flows.append(
            {
                "sid": _sid(seed, "FW", i, j),
                "friendly_name": f"Flow {j} of account {i}",
                "status": "published",
                "revision": 1 + j % 4,
                "date_created": created,
                "definition": _flow_definition(caller_id, numbers.verified(i), j % 2 == 1),
            }
        )
    services = []
    if functions_per_account:
        services.append(_service(seed, i, numbers, caller_id_for, functions_per_account, created))
    webhooks = [f"https://webhooks.twilio.com/v1/Accounts/{sid}/Flows/{f['sid']}" for f in flows]
    if services:
        env = services[0]["environments"][0]
        webhooks += [f"https://{env['domain_name']}/fn{j}" for j in range(functions_per_account)]
    incoming = []
    for k in range(numbers.per_account):
        app_sid = apps[0]["sid"] if apps and k == len(webhooks) else None
        incoming.append(
            {
                "sid": _sid(seed, "PN", i, k),
                "phone_number": numbers.owned(i, k),
                "friendly_name": f"Line {k} of account {i}",
                "voice_url": webhooks[k] if k < len(webhooks) else f"{hooks}/voice",
                "voice_method": "POST",
                "voice_application_sid": app_sid,
                "trunk_sid": None,
                "capabilities": {"voice": True, "sms": True, "mms": False, "fax": False},
                "status": "in-use",
                "date_created": created,
            }
        )
    alerts = []
    for j in range(alerts_per_account):
        when = _iso(now - timedelta(days=1 + j % 40, hours=i % 24))
        call_sid = _sid(seed, "CA", i, j)
        if j % 2 == 0:
            caller_id, _kind = caller_id_for(i, j + 1)
            if caller_id.startswith("{{"):
                caller_id = ""
            encoded = caller_id.replace("+", "%2B")
            alerts.append(
                {
                    "sid": _sid(seed, "NO", i, j),
                    "error_code": "13214",
                    "log_level": "error",
                    "alert_text": f"Msg=Dial: Invalid callerId value&callerId={encoded}",
                    "date_created": when,
                    "request_url": f"{hooks}/voice",
                    "request_method": "POST",
                    "resource_sid": call_sid,
                    "service_sid": None,
                    "request_variables": f"From=%2B15005550006&To={encoded}&CallSid={call_sid}",
                    "response_body": (
                        f'<?xml version="1.0" encoding="UTF-8"?><Response>'
                        f'<Dial callerId="{caller_id}"><Number>+15005550006</Number></Dial>'
                        f"</Response>"
                    ),
                }
            )
        else:
            alerts.append(
                {
                    "sid": _sid(seed, "NO", i, j),
                    "error_code": "11200",
                    "log_level": "warning",
                    "alert_text": "Msg=HTTP retrieval failure&httpResponse=502",
                    "date_created": when,
                    "request_url": f"{hooks}/status",
                    "request_method": "POST",
                    "resource_sid": call_sid,
                    "service_sid": None,
                    "request_variables": f"CallSid={call_sid}",
                    "response_body": "",
                }
            )
    return {
        "sid": sid,
        "friendly_name": "Synthetic parent" if i == 0 else f"Subaccount {i:04d}",
        "status": "active",
        "owner_account_sid": None if i == 0 else parent_sid,
        "auth_token": _hex(seed, "token", i),
        "date_created": created,
        "incoming_phone_numbers": incoming,
        "outgoing_caller_ids": [
            {
                "sid": _sid(seed, "PN", i, "verified"),
                "phone_number": numbers.verified(i),
                "friendly_name": f"Verified {i}",
                "date_created": created,
            }
        ],
        "applications": apps,
        "sip_domains": [
            {
                "sid": _sid(seed, "SD", i),
                "domain_name": f"acct{i}-{_hex(seed, 'sd', i)[:6]}.sip.twilio.com",
                "friendly_name": f"SIP {i}",
                "voice_url": f"{hooks}/sip",
                "voice_method": "POST",
                "date_created": created,
            }
        ],
        "flows": flows,
        "services": services,
        "alerts": alerts,
    }


def _service(
    seed: int, i: int, numbers: _Numbers, caller_id_for: Any, count: int, created: str
) -> dict[str, Any]:
    functions = []
    deployed = []
    variables = []
    for j in range(count):
        caller_id, _kind = caller_id_for(i, j + 2)
        if caller_id.startswith("{{"):
            caller_id = numbers.verified(i)
        var = f"CALLER_ID_{j}"
        old = {
            "sid": _sid(seed, "ZN", i, j, 0),
            "path": f"/fn{j}",
            "visibility": "public",
            "date_created": created,
            "content": _FUNCTION_CODE.format(var="OLD_CALLER_ID", to="+15005550006"),
        }
        new = {
            "sid": _sid(seed, "ZN", i, j, 1),
            "path": f"/fn{j}",
            "visibility": "public",
            "date_created": created,
            "content": _FUNCTION_CODE.format(var=var, to="+15005550006"),
        }
        functions.append(
            {
                "sid": _sid(seed, "ZH", i, j),
                "friendly_name": f"fn{j}",
                "date_created": created,
                "versions": [old, new],
            }
        )
        deployed.append(new["sid"])
        variables.append({"sid": _sid(seed, "ZV", i, j), "key": var, "value": caller_id})
    build_sid = _sid(seed, "ZB", i)
    unique = f"svc-{i}"
    domain_base = f"{unique}-{int(_hex(seed, 'dom', i)[:4], 16) % 10000:04d}"
    return {
        "sid": _sid(seed, "ZS", i),
        "unique_name": unique,
        "friendly_name": f"Service of account {i}",
        "domain_base": domain_base,
        "date_created": created,
        "functions": functions,
        "builds": [
            {
                "sid": build_sid,
                "status": "completed",
                "function_versions": deployed,
                "date_created": created,
            }
        ],
        "environments": [
            {
                "sid": _sid(seed, "ZE", i),
                "unique_name": "production",
                "domain_suffix": None,
                "domain_name": f"{domain_base}.twil.io",
                "build_sid": build_sid,
                "date_created": created,
                "variables": variables,
            }
        ],
    }


def add_region(scenario: dict[str, Any], region: str, *, seed: int = 1) -> dict[str, Any]:
    """A copy of a generated `scenario` that also has data in `region` (e.g. "ie1").

    Each account gets, in `regions.<region>`, its own token and the resources of the same
    account of `generate_hierarchy(..., seed=seed)` (other SIDs, webhooks and caller IDs),
    and its numbers that region's voice configuration (the donor's, so they route to the
    region's own flows, Functions and apps). No Verified Caller IDs where the region has none.
    """
    accounts = scenario["accounts"]
    per_account = len(accounts[0]["incoming_phone_numbers"]) if accounts else 0
    donor = generate_hierarchy(len(accounts) - 1, per_account, seed=seed)
    out = {**scenario, "accounts": []}
    for acc, twin in zip(accounts, donor["accounts"], strict=True):
        numbers = [
            {"sid": mine["sid"], **{f: theirs.get(f) for f in NUMBER_VOICE_FIELDS if f in theirs}}
            for mine, theirs in zip(
                acc["incoming_phone_numbers"], twin["incoming_phone_numbers"], strict=True
            )
        ]
        block: dict[str, Any] = {
            "auth_token": twin["auth_token"],
            "incoming_phone_numbers": numbers,
            **{k: twin[k] for k in ("applications", "sip_domains", "flows", "services", "alerts")},
        }
        if not lacks(region, VERIFIED_CALLER_IDS):
            block["outgoing_caller_ids"] = twin["outgoing_caller_ids"]
        regions = {**acc.get("regions", {}), region: block}
        out["accounts"].append({**acc, "regions": regions})
    return out
