"""Load and check a scenario (docs/scenario-format.md) before the emulator serves it.

A scenario with a broken SID or a dangling reference would make the emulator
answer in shapes Twilio never sends; we refuse it up front with one line that
names the item and the fix.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from auditor.codec import loads
from auditor.errors import AuditorError
from auditor.files import FileRefused, read_text
from auditor.regions import (
    DEFAULT_REGION,
    FEATURE_NAMES,
    FLEX,
    REGIONS,
    SERVERLESS,
    STUDIO,
    VERIFIED_CALLER_IDS,
    availability,
    lacks,
)

SID_RE = re.compile(r"^[A-Z]{2}[0-9a-f]{32}$")
STATUSES = ("active", "suspended", "closed")
PRODUCTS = ("api", "studio", "serverless", "monitor", "voice", "flex-api")
MAX_SCENARIO_BYTES = 1024**3


def load_scenario(path: str | Path) -> dict[str, Any]:
    """Read a scenario JSON file and validate it."""
    p = Path(path)
    try:
        data = loads(read_text(p, MAX_SCENARIO_BYTES))
    except FileRefused as exc:
        if exc.reason == "missing":
            raise AuditorError(f"scenario {p}: file not found; pass a JSON file") from None
        raise AuditorError(f"scenario {exc}; pass a scenario JSON file") from None
    except ValueError as exc:  # json.JSONDecodeError, or codec.DecodeError (too deep)
        raise AuditorError(f"scenario {p}: not valid JSON ({exc}); fix the file") from None
    if not isinstance(data, dict):
        raise AuditorError(f"scenario {p}: top level must be an object; see scenario-format.md")
    validate_scenario(data)
    return data


def _sid(value: Any, prefix: str, where: str) -> str:
    if not isinstance(value, str) or not SID_RE.match(value) or not value.startswith(prefix):
        raise AuditorError(
            f"scenario: {where} has sid {value!r}; use {prefix} followed by 32 lowercase hex digits"
        )
    return value


def _items(container: Mapping[str, Any], key: str, where: str) -> Iterator[Mapping[str, Any]]:
    items = container.get(key, [])
    if not isinstance(items, list):
        raise AuditorError(f"scenario: {where}.{key} must be a list")
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise AuditorError(f"scenario: {where}.{key}[{i}] must be an object")
        yield item


def validate_scenario(scenario: Mapping[str, Any]) -> None:
    """Raise AuditorError naming the first problem: bad SIDs, duplicates, dangling references."""
    accounts = list(_items(scenario, "accounts", "scenario"))
    if not accounts:
        raise AuditorError("scenario: no accounts; add at least the parent account")
    seen: set[str] = set()

    def unique(sid: str, where: str) -> None:
        if sid in seen:
            raise AuditorError(f"scenario: {where}: sid {sid} appears twice; SIDs must be unique")
        seen.add(sid)

    account_sids = set()
    for acc in accounts:
        where = f"account {acc.get('sid')!r}"
        sid = _sid(acc.get("sid"), "AC", where)
        unique(sid, where)
        account_sids.add(sid)
        if acc.get("status", "active") not in STATUSES:
            raise AuditorError(f"scenario: {where} status must be one of {', '.join(STATUSES)}")
        if not isinstance(acc.get("auth_token"), str) or not acc["auth_token"]:
            raise AuditorError(f"scenario: {where} needs an auth_token (32 hex digits)")
        for key, prefix in (
            ("incoming_phone_numbers", "PN"),
            ("outgoing_caller_ids", "PN"),
            ("applications", "AP"),
            ("sip_domains", "SD"),
            ("flows", "FW"),
            ("alerts", "NO"),
        ):
            for item in _items(acc, key, where):
                item_where = f"{where} {key}"
                unique(_sid(item.get("sid"), prefix, item_where), item_where)
                if key in ("incoming_phone_numbers", "outgoing_caller_ids") and not isinstance(
                    item.get("phone_number"), str
                ):
                    raise AuditorError(f"scenario: {item_where} {item['sid']} needs phone_number")
        for svc in _items(acc, "services", where):
            _check_service(svc, f"{where} service", unique)
        _check_dialing_permissions(acc.get("dialing_permissions"), where)
        _check_flex(acc.get("flex_configuration"), where)
    for acc in accounts:
        owner = acc.get("owner_account_sid")
        if owner is not None and owner not in account_sids:
            raise AuditorError(
                f"scenario: account {acc['sid']} owner_account_sid {owner} is not an account"
            )
    for api_key in _items(scenario, "api_keys", "scenario"):
        unique(_sid(api_key.get("sid"), "SK", "api key"), "api key")
        if api_key.get("account_sid") not in account_sids or not api_key.get("secret"):
            raise AuditorError(
                f"scenario: api key {api_key['sid']} needs a secret and an account_sid "
                "of the scenario"
            )
    faults = scenario.get("faults", {})
    if not isinstance(faults, dict):
        raise AuditorError("scenario: faults must be an object")
    _check_regions(scenario, accounts, seen)


_ISO = re.compile(r"^[A-Z]{2}$")
_FLAGS = (
    "low_risk_numbers_enabled",
    "high_risk_special_numbers_enabled",
    "high_risk_tollfraud_numbers_enabled",
)


def _check_dialing_permissions(geo: Any, where: str) -> None:
    """`dialing_permissions`: {"inheritance": bool, "countries": [{"iso_code": "US", …}]}."""
    if geo is None:
        return
    if not isinstance(geo, dict):
        raise AuditorError(f"scenario: {where} dialing_permissions must be an object")
    if "inheritance" in geo and not isinstance(geo["inheritance"], bool):
        raise AuditorError(f"scenario: {where} dialing_permissions.inheritance must be true/false")
    seen: set[str] = set()
    for country in _items(geo, "countries", f"{where} dialing_permissions"):
        iso = country.get("iso_code")
        if not isinstance(iso, str) or not _ISO.match(iso) or iso in seen:
            raise AuditorError(
                f"scenario: {where} dialing_permissions has iso_code {iso!r}; use each "
                "ISO 3166 alpha-2 code (two capital letters) once"
            )
        seen.add(iso)
        bad = [f for f in _FLAGS if f in country and not isinstance(country[f], bool)]
        if bad:
            raise AuditorError(
                f"scenario: {where} dialing_permissions {iso}: {bad[0]} must be true/false"
            )
        prefixes = country.get("high_risk_special_prefixes", [])
        if not isinstance(prefixes, list) or not all(isinstance(x, str) for x in prefixes):
            raise AuditorError(
                f"scenario: {where} dialing_permissions {iso}: high_risk_special_prefixes must "
                'be a list of strings ("+449")'
            )


def _check_flex(flex: Any, where: str) -> None:
    """A Flex Configuration is an object; its outbound_call_flows an object of objects."""
    if flex is None:
        return
    if not isinstance(flex, dict):
        raise AuditorError(f"scenario: {where} flex_configuration must be an object or null")
    flows = flex.get("outbound_call_flows")
    if flows is not None and not (
        isinstance(flows, dict) and all(isinstance(f, dict) for f in flows.values())
    ):
        raise AuditorError(
            f"scenario: {where} flex_configuration.outbound_call_flows must map names to "
            'objects, e.g. {"default": {"caller_id": "+1…"}}'
        )


def _check_service(svc: Mapping[str, Any], where: str, unique: Any) -> None:
    service_sid = _sid(svc.get("sid"), "ZS", where)
    unique(service_sid, where)
    versions: set[str] = set()
    for fn in _items(svc, "functions", where):
        unique(_sid(fn.get("sid"), "ZH", f"{where} function"), f"{where} function")
        for ver in _items(fn, "versions", f"{where} function"):
            zn = _sid(ver.get("sid"), "ZN", f"{where} function version")
            unique(zn, f"{where} function version")
            versions.add(zn)
    builds: set[str] = set()
    for b in _items(svc, "builds", where):
        zb = _sid(b.get("sid"), "ZB", f"{where} build")
        unique(zb, f"{where} build")
        builds.add(zb)
        for zn in b.get("function_versions", []):
            if zn not in versions:
                raise AuditorError(
                    f"scenario: {where} build {zb} lists function version {zn} not in service "
                    f"{service_sid}"
                )
    for env in _items(svc, "environments", where):
        ze = _sid(env.get("sid"), "ZE", f"{where} environment")
        unique(ze, f"{where} environment")
        if env.get("build_sid") is not None and env["build_sid"] not in builds:
            raise AuditorError(
                f"scenario: {where} environment {ze} build_sid {env['build_sid']} is not a build "
                f"of service {service_sid}"
            )
        for var in _items(env, "variables", f"{where} environment"):
            unique(_sid(var.get("sid"), "ZV", f"{where} variable"), f"{where} variable")


# --------------------------------------------------------------------------- regions

# What an account's `regions.<id>` block may hold: everything Twilio keeps per region.
REGIONAL_LISTS = (
    "outgoing_caller_ids",
    "applications",
    "sip_domains",
    "flows",
    "services",
    "alerts",
)
REGIONAL_KEYS = (
    "auth_token",
    "incoming_phone_numbers",  # that region's voice configuration of the account's numbers
    *REGIONAL_LISTS,
    "flex_configuration",  # per region too; absent: no Flex there (404)
    "dialing_permissions",  # Voice Geo Permissions of that region; absent: the account's own
)
# Scenario data for a feature a region does not have is refused (auditor.regions).
REGIONAL_FEATURES = {
    "outgoing_caller_ids": VERIFIED_CALLER_IDS,
    "flows": STUDIO,
    "services": SERVERLESS,
    "flex_configuration": FLEX,
}
# The voice configuration of a number: per region (the number itself is global).
NUMBER_VOICE_FIELDS = (
    "voice_url",
    "voice_method",
    "voice_fallback_url",
    "voice_fallback_method",
    "voice_application_sid",
    "voice_caller_id_lookup",
    "voice_receive_mode",
    "trunk_sid",
    "status_callback",
    "status_callback_method",
)
NUMBER_ROUTE_FIELDS = ("voice_url", "voice_fallback_url", "voice_application_sid", "trunk_sid")


def scenario_regions(scenario: Mapping[str, Any]) -> list[str]:
    """US1 and every region some account or API key of the scenario has data in."""
    found = {DEFAULT_REGION}
    for acc in scenario.get("accounts", []):
        found.update(acc.get("regions", {}) or {})
    found.update(k.get("region", DEFAULT_REGION) for k in scenario.get("api_keys", []))
    return sorted(found, key=lambda r: (r != DEFAULT_REGION, r))


def regional_token(account: Mapping[str, Any], region: str) -> str:
    """An account's auth token in `region`: its block's, else one derived from its US1 token
    (every account has credentials in every region, and they differ between regions)."""
    if region == DEFAULT_REGION:
        return str(account["auth_token"])
    block = (account.get("regions") or {}).get(region) or {}
    if block.get("auth_token"):
        return str(block["auth_token"])
    return hashlib.sha256(f"{region}:{account['auth_token']}".encode()).hexdigest()[:32]


def regional_scenario(scenario: Mapping[str, Any], region: str) -> dict[str, Any]:
    """The scenario as `region` serves it, in the plain (US1) format: its credentials, its
    resources, and the account's global numbers with that region's voice configuration."""
    if region == DEFAULT_REGION:
        accounts = [{k: v for k, v in a.items() if k != "regions"} for a in scenario["accounts"]]
    else:
        accounts = [_regional_account(acc, region) for acc in scenario["accounts"]]
    return {
        "name": f"{scenario.get('name', 'scenario')} ({region})",
        "now": scenario.get("now"),
        "accounts": accounts,
        "api_keys": [
            {f: v for f, v in k.items() if f != "region"}
            for k in scenario.get("api_keys", [])
            if k.get("region", DEFAULT_REGION) == region
        ],
        "faults": scenario.get("faults", {}),
    }


def _regional_account(acc: Mapping[str, Any], region: str) -> dict[str, Any]:
    block = (acc.get("regions") or {}).get(region) or {}
    configured = {n["sid"]: n for n in block.get("incoming_phone_numbers", [])}
    numbers = []
    for number in acc.get("incoming_phone_numbers", []):
        # Not configured in this region: no route; the other voice fields take their defaults.
        base = {k: v for k, v in number.items() if k not in NUMBER_VOICE_FIELDS}
        unset = dict.fromkeys(NUMBER_ROUTE_FIELDS)
        own = {k: v for k, v in configured.get(number["sid"], {}).items() if k != "sid"}
        numbers.append({**base, **unset, **own})
    base = {k: v for k, v in acc.items() if k not in (*REGIONAL_KEYS, "regions")}
    geo = block.get("dialing_permissions", acc.get("dialing_permissions"))
    return {
        **base,
        "auth_token": regional_token(acc, region),
        "incoming_phone_numbers": numbers,
        **{k: list(block.get(k, [])) for k in REGIONAL_LISTS},
        "flex_configuration": block.get("flex_configuration"),
        # Twilio does not document whether Geo Permissions differ per region: absent a
        # regional block, the emulator answers the account's (US1) ones in every region.
        **({"dialing_permissions": geo} if geo is not None else {}),
    }


def _check_regions(
    scenario: Mapping[str, Any], accounts: list[Mapping[str, Any]], seen: set[str]
) -> None:
    """Regional blocks: known regions, numbers that exist globally, features the region has,
    and SIDs unique across regions (as Twilio's are)."""
    for acc in accounts:
        regions = acc.get("regions", {})
        if not isinstance(regions, dict):
            raise AuditorError(f"scenario: account {acc['sid']} regions must be an object")
        numbers = {n.get("sid") for n in acc.get("incoming_phone_numbers", [])}
        for region, block in regions.items():
            where = f"account {acc['sid']} regions.{region}"
            if region not in REGIONS or region == DEFAULT_REGION:
                others = ", ".join(r for r in REGIONS if r != DEFAULT_REGION)
                raise AuditorError(
                    f"scenario: {where}: use one of {others} (US1 data is the account itself)"
                )
            if not isinstance(block, dict) or set(block) - set(REGIONAL_KEYS):
                raise AuditorError(
                    f"scenario: {where} must be an object with keys among "
                    f"{', '.join(REGIONAL_KEYS)}"
                )
            for item in _items(block, "incoming_phone_numbers", where):
                if item.get("sid") not in numbers:
                    raise AuditorError(
                        f"scenario: {where} incoming_phone_numbers {item.get('sid')!r} is not a "
                        "number of the account: numbers are global, list it in the account's "
                        "incoming_phone_numbers and give only its voice configuration here"
                    )
            for key, feature in REGIONAL_FEATURES.items():
                if block.get(key) and lacks(region, feature):
                    raise AuditorError(
                        f"scenario: {where} has {key}, but Twilio does not support "
                        f"{FEATURE_NAMES[feature]} in {region.upper()} "
                        f"({availability(region, feature).source})"
                    )
    for region in scenario_regions(scenario):
        if region not in REGIONS:
            raise AuditorError(f"scenario: api key region {region!r} is not a Twilio region")
        if region == DEFAULT_REGION:
            continue
        regional = regional_scenario(scenario, region)
        numbers = {n["sid"] for a in regional["accounts"] for n in a["incoming_phone_numbers"]}
        validate_scenario(regional)
        for acc in regional["accounts"]:
            for key in REGIONAL_LISTS:
                for item in acc[key]:
                    if item.get("sid") in seen and item.get("sid") not in numbers:
                        raise AuditorError(
                            f"scenario: account {acc['sid']} regions.{region} {key}: sid "
                            f"{item['sid']} is also used in another region; SIDs are unique"
                        )
                    seen.add(item["sid"])
