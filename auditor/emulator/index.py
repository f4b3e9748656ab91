"""Precomputed routes: every list and instance the emulator can answer, built once at load.

Each account gets a map from emulator path (`/api/2010-04-01/Accounts/AC…/…`,
`/studio/v2/Flows`, …) to either a `Collection` (a list endpoint, items
already in Twilio's shape) or an instance dict. v2010 paths are looked up in the
account named in the path; Studio, Serverless, Monitor, Voice and Flex paths in the
authenticating account, which is how Twilio scopes them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from auditor.emulator import shapes
from auditor.emulator.paging import dumps
from auditor.emulator.shapes import JsonDict

V2010 = "/api/2010-04-01"


@dataclass(frozen=True)
class Collection:
    """A list endpoint: Twilio's list key, items in order, and which filters it takes."""

    key: str
    items: tuple[JsonDict, ...]
    encoded: tuple[str, ...]  # each item as compact JSON, spliced into pages
    filters: str = ""  # "numbers" | "caller_ids" | "applications" | "alerts" | "countries" | ""
    dates: tuple[datetime, ...] = ()  # alerts only: date_created of each item


Route = Collection | JsonDict


@dataclass
class AccountEntry:
    sid: str
    owner: str | None  # None for a top-level account
    status: str
    auth_token: str
    raw: Mapping[str, Any]
    children: list[str] = field(default_factory=list)
    routes: dict[str, Route] = field(default_factory=dict)
    shown: JsonDict = field(default_factory=dict)  # v2010 Account with auth_token
    shown_to_key: JsonDict = field(default_factory=dict)  # the same, auth_token null


@dataclass(frozen=True)
class ApiKey:
    sid: str
    secret: str
    account_sid: str


@dataclass
class ScenarioIndex:
    accounts: dict[str, AccountEntry]
    api_keys: dict[str, ApiKey]
    parent_sid: str


def build_index(scenario: Mapping[str, Any]) -> ScenarioIndex:
    """Render every resource of a (validated) scenario into routes."""
    accounts: dict[str, AccountEntry] = {}
    for acc in scenario["accounts"]:
        entry = AccountEntry(
            sid=acc["sid"],
            owner=acc.get("owner_account_sid"),
            status=acc.get("status", "active"),
            auth_token=acc["auth_token"],
            raw=acc,
        )
        entry.routes = _account_routes(acc)
        entry.shown = shapes.account(acc, show_token=True)
        entry.shown_to_key = shapes.account(acc, show_token=False)
        accounts[entry.sid] = entry
    for entry in accounts.values():
        if entry.owner and entry.owner != entry.sid:
            accounts[entry.owner].children.append(entry.sid)
    for entry in accounts.values():
        _voice_routes(entry, accounts)
    parent = next(
        (a.sid for a in accounts.values() if not a.owner or a.owner == a.sid),
        next(iter(accounts)),
    )
    keys = {
        k["sid"]: ApiKey(k["sid"], k["secret"], k["account_sid"])
        for k in scenario.get("api_keys", [])
    }
    return ScenarioIndex(accounts, keys, parent)


def add_alerts(index: ScenarioIndex, account_sid: str, alerts: list[Mapping[str, Any]]) -> None:
    """Serve more Monitor alerts for one account from now on (alerts over time, for polling).

    The account's routes are rebuilt from a copy of its scenario entry (the caller's
    scenario is never changed) and swapped in whole, so a request sees either.
    """
    entry = index.accounts[account_sid]
    known = {a.get("sid") for a in entry.raw.get("alerts", [])}
    for item in alerts:
        sid = item.get("sid")
        if not isinstance(sid, str) or not sid.startswith("NO") or len(sid) != 34 or sid in known:
            raise ValueError(f"alert sid {sid!r}: give a new NO… SID (NO + 32 hex)")
        known.add(sid)
    raw = dict(entry.raw)
    raw["alerts"] = [*entry.raw.get("alerts", []), *alerts]
    entry.raw = raw
    entry.routes = _account_routes(raw)


def _collection(
    routes: dict[str, Route],
    path: str,
    key: str,
    listed: list[JsonDict],
    fetched: list[JsonDict] | None = None,
    *,
    filters: str = "",
    dates: tuple[datetime, ...] = (),
    instance_suffix: str = "",
) -> None:
    """Register a list at `path` and each item at `path/{sid}` (v2010: `path/{sid}.json`)."""
    encoded = tuple(dumps(item) for item in listed)
    routes[path + instance_suffix] = Collection(key, tuple(listed), encoded, filters, dates)
    for item in fetched if fetched is not None else listed:
        routes[f"{path}/{item['sid']}{instance_suffix}"] = item


# v2010 lists: (resource path, scenario key, Twilio list key, shape, filters)
_V2010_LISTS: tuple[
    tuple[str, str, str, Callable[[Mapping[str, Any], str], JsonDict], str], ...
] = (
    (
        "IncomingPhoneNumbers",
        "incoming_phone_numbers",
        "incoming_phone_numbers",
        shapes.incoming_phone_number,
        "numbers",
    ),
    (
        "OutgoingCallerIds",
        "outgoing_caller_ids",
        "outgoing_caller_ids",
        shapes.outgoing_caller_id,
        "caller_ids",
    ),
    ("Applications", "applications", "applications", shapes.application, "applications"),
    ("SIP/Domains", "sip_domains", "domains", shapes.sip_domain, ""),
)


def _account_routes(acc: Mapping[str, Any]) -> dict[str, Route]:
    sid = acc["sid"]
    routes: dict[str, Route] = {}
    for resource, scenario_key, list_key, shape, filters in _V2010_LISTS:
        _collection(
            routes,
            f"{V2010}/Accounts/{sid}/{resource}",
            list_key,
            [shape(item, sid) for item in acc.get(scenario_key, [])],
            filters=filters,
            instance_suffix=".json",
        )
    # Monitor: newest first, as Twilio lists them.
    alerts = sorted(
        acc.get("alerts", []),
        key=lambda a: shapes.parse_iso(a.get("date_created") or shapes.DEFAULT_DATE),
        reverse=True,
    )
    _collection(
        routes,
        "/monitor/v1/Alerts",
        "alerts",
        [shapes.alert(a, sid, full=False) for a in alerts],
        [shapes.alert(a, sid, full=True) for a in alerts],
        filters="alerts",
        dates=tuple(shapes.parse_iso(a.get("date_created") or shapes.DEFAULT_DATE) for a in alerts),
    )
    flows = acc.get("flows", [])
    _collection(
        routes,
        "/studio/v2/Flows",
        "flows",
        [shapes.flow(f, sid, full=False) for f in flows],
        [shapes.flow(f, sid, full=True) for f in flows],
    )
    for flow in flows:
        # Revisions/LatestRevision is the flow as it is; a draft flow with a "published"
        # entry also answers Revisions/LatestPublished (what Twilio executes).
        base = f"/studio/v2/Flows/{flow['sid']}/Revisions"
        latest = shapes.flow_revision(flow, sid, published=False)
        routes[f"{base}/LatestRevision"] = latest
        routes[f"{base}/{latest['revision']}"] = latest
        if flow.get("published"):
            live = shapes.flow_revision(flow, sid, published=True)
            routes[f"{base}/LatestPublished"] = live
            routes[f"{base}/{live['revision']}"] = live
        elif flow.get("status", "published") == "published":
            routes[f"{base}/LatestPublished"] = latest
    if acc.get("flex_configuration") is not None:  # without Flex, /v1/Configuration is a 404
        routes["/flex-api/v1/Configuration"] = shapes.flex_configuration(
            acc["flex_configuration"], sid
        )
    services = acc.get("services", [])
    _collection(
        routes, "/serverless/v1/Services", "services", [shapes.service(s, sid) for s in services]
    )
    for svc in services:
        _service_routes(routes, svc, sid)
    return routes


VOICE = "/voice/v1"


def inherits(acc: Mapping[str, Any]) -> bool:
    """dialing_permissions_inheritance: a subaccount inherits unless the scenario says not.

    Twilio's default for new subaccounts; a top-level account has nothing to inherit.
    """
    geo = acc.get("dialing_permissions") or {}
    is_sub = bool(acc.get("owner_account_sid")) and acc.get("owner_account_sid") != acc["sid"]
    return bool(geo.get("inheritance", True)) if is_sub else False


def _own_countries(acc: Mapping[str, Any]) -> list[Mapping[str, Any]] | None:
    geo = acc.get("dialing_permissions") or {}
    countries = geo.get("countries")
    return list(countries) if isinstance(countries, list) else None


def _answered_countries(
    entry: AccountEntry, accounts: Mapping[str, AccountEntry], seen: frozenset[str] = frozenset()
) -> list[Mapping[str, Any]]:
    """The Countries list the account's own credentials get.

    Twilio does not document what an inheriting subaccount is answered; the emulator
    answers its own list when the scenario gives one, else (inheriting) its parent's,
    else an empty list. The auditor does not rely on the choice (auditor.rules.geo).
    """
    own = _own_countries(entry.raw)
    if own is not None:
        return own
    parent = accounts.get(entry.owner or "")
    if inherits(entry.raw) and parent is not None and parent.sid not in seen:
        return _answered_countries(parent, accounts, seen | {entry.sid})
    return []


def _voice_routes(entry: AccountEntry, accounts: Mapping[str, AccountEntry]) -> None:
    """DialingPermissions Countries (list, instances, prefixes) and Settings of one account."""
    countries = _answered_countries(entry, accounts)
    shown = [shapes.dialing_country(c) for c in countries]
    base = f"{VOICE}/DialingPermissions/Countries"
    entry.routes[base] = Collection(
        "content", tuple(shown), tuple(dumps(c) for c in shown), "countries"
    )
    for raw, item in zip(countries, shown, strict=True):
        iso = item["iso_code"]
        entry.routes[f"{base}/{iso}"] = item
        prefixes = [shapes.high_risk_prefix(p) for p in raw.get("high_risk_special_prefixes", [])]
        entry.routes[f"{base}/{iso}/HighRiskSpecialPrefixes"] = Collection(
            "content", tuple(prefixes), tuple(dumps(x) for x in prefixes)
        )
    entry.routes[f"{VOICE}/Settings"] = shapes.voice_settings(inherits(entry.raw))


def _service_routes(routes: dict[str, Route], svc: Mapping[str, Any], sid: str) -> None:
    zs = svc["sid"]
    base = f"/serverless/v1/Services/{zs}"
    versions: dict[str, tuple[str, Mapping[str, Any]]] = {}
    functions = svc.get("functions", [])
    _collection(
        routes,
        f"{base}/Functions",
        "functions",
        [shapes.function(f, sid, zs) for f in functions],
    )
    for fn in functions:
        zh = fn["sid"]
        fn_versions = fn.get("versions", [])
        _collection(
            routes,
            f"{base}/Functions/{zh}/Versions",
            "function_versions",
            [shapes.function_version(v, sid, zs, zh) for v in fn_versions],
        )
        for ver in fn_versions:
            versions[ver["sid"]] = (zh, ver)
            routes[f"{base}/Functions/{zh}/Versions/{ver['sid']}/Content"] = (
                shapes.function_version_content(ver, sid, zs, zh)
            )
    _collection(
        routes,
        f"{base}/Builds",
        "builds",
        [shapes.build(b, sid, zs, versions) for b in svc.get("builds", [])],
    )
    environments = svc.get("environments", [])
    _collection(
        routes,
        f"{base}/Environments",
        "environments",
        [shapes.environment(e, sid, svc) for e in environments],
    )
    for env in environments:
        ze = env["sid"]
        _collection(
            routes,
            f"{base}/Environments/{ze}/Variables",
            "variables",
            [shapes.variable(v, sid, zs, ze) for v in env.get("variables", [])],
        )
