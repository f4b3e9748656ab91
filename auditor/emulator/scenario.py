"""Load and check a scenario (docs/scenario-format.md) before the emulator serves it.

A scenario with a broken SID or a dangling reference would make the emulator
answer in shapes Twilio never sends; we refuse it up front with one line that
names the item and the fix.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from auditor.codec import loads
from auditor.errors import AuditorError
from auditor.files import FileRefused, read_text

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
