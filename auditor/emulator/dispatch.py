"""Answer one authenticated GET from the precomputed index: route, filter, page.

Pure over data: (index, principal, path, query) → (status, JSON body). The HTTP
server adds faults, latency and counting around it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from auditor.emulator import shapes
from auditor.emulator.auth import Principal, may_read_v2010
from auditor.emulator.index import V2010, Collection, ScenarioIndex
from auditor.emulator.paging import PagingError, dumps, page_body, page_json, parse_page_request
from auditor.emulator.shapes import JsonDict
from auditor.regions import DEFAULT_REGION, DOMAIN_MIGRATION_URL, REGIONS

PRODUCTS = frozenset({"api", "studio", "serverless", "monitor", "voice", "flex-api"})
_V2010_ACCOUNT = re.compile(r"^/api/2010-04-01/Accounts/(AC[0-9a-fA-F]{32})(?:\.json$|/)")
ACCOUNTS_LIST = f"{V2010}/Accounts.json"

Query = Sequence[tuple[str, str]]


@dataclass(frozen=True)
class Reply:
    status: int
    body: JsonDict
    raw: bytes | None = None  # the body already serialised (list pages)
    content_type: str | None = None  # None: application/json (faults.raw_answers set others)

    def encode(self) -> bytes:
        return self.raw if self.raw is not None else dumps(self.body).encode()


def not_found(path: str) -> Reply:
    twilio_path = "/" + path.split("/", 2)[2] if path.count("/") >= 2 else path
    return Reply(
        404, shapes.error(404, 20404, f"The requested resource {twilio_path} was not found")
    )


def bad_request(message: str) -> Reply:
    return Reply(400, shapes.error(400, 20001, message))


def forbidden() -> Reply:
    return Reply(403, shapes.error(403, 20003, "Authenticate"))


def unauthorized() -> Reply:
    return Reply(401, shapes.error(401, 20003, "Authenticate"))


@dataclass(frozen=True)
class Host:
    """Which Twilio host a request was sent to: `/api.dublin.ie1/…` is api.dublin.ie1.twilio.com."""

    label: str  # "api", "studio.dublin.ie1"
    region: str
    path: str  # the path with the bare product first: /api/2010-04-01/…


def split_host(path: str) -> Host | Reply:
    """Read the region from the first path segment (the host labels before .twilio.com).

    `api` and `api.us1` are US1; `api.{edge}.{region}` needs one of the edges Twilio
    documents for the region; the region-only `api.ie1` stopped working on 2026-04-28.
    """
    first, sep, rest = path.lstrip("/").partition("/")
    labels = first.split(".")
    product, qualifiers = labels[0], labels[1:]
    bare = f"/{product}{sep}{rest}"
    if not qualifiers:
        return Host(product, DEFAULT_REGION, bare)
    region = qualifiers[-1]
    known = REGIONS.get(region)
    if len(qualifiers) == 1 and region == DEFAULT_REGION:
        return Host(first, DEFAULT_REGION, bare)
    if len(qualifiers) == 1 and known is not None:
        return Reply(
            404,
            shapes.error(
                404,
                20404,
                f"{first}.twilio.com no longer accepts requests (region-only domains were "
                f"deprecated on 2026-04-28, {DOMAIN_MIGRATION_URL}); use "
                f"{product}.{known.edges[0]}.{region}.twilio.com",
            ),
        )
    if len(qualifiers) == 2 and known is not None and qualifiers[0] in known.edges:
        return Host(first, region, bare)
    return not_found(path)


def product_of(path: str) -> str:
    """`/studio/v2/Flows` → `studio` (empty when the path names no known product)."""
    product = path.split("/", 2)[1] if path.count("/") >= 2 else ""
    return product if product in PRODUCTS else ""


def target_account(index: ScenarioIndex, who: Principal, path: str) -> str | None:
    """The account whose resources `path` reads (None: a v2010 account we do not have)."""
    m = _V2010_ACCOUNT.match(path)
    if m:
        return m.group(1) if m.group(1) in index.accounts else None
    return who.account_sid


def dispatch(
    index: ScenarioIndex, who: Principal, path: str, query: Query, host_label: str | None = None
) -> Reply:
    product = product_of(path)
    if not product:
        return not_found(path)
    if path == ACCOUNTS_LIST:
        return _accounts_list(index, who, query)
    target = target_account(index, who, path)
    if target is None:
        return not_found(path)
    if product == "api":
        if not _V2010_ACCOUNT.match(path):
            return not_found(path)
        if not may_read_v2010(index, who, target):
            return forbidden()
        if path == f"{V2010}/Accounts/{target}.json":
            entry = index.accounts[target]
            return Reply(200, entry.shown_to_key if who.via_key else entry.shown)
    route = index.accounts[target].routes.get(path)
    if route is None:
        return not_found(path)
    if not isinstance(route, Collection):
        return Reply(200, route)
    try:
        items, encoded = _filtered(route, query)
        req = parse_page_request(query)
    except (PagingError, ValueError) as exc:
        return bad_request(str(exc))
    twilio_path = path[len(product) + 1 :]
    # Next-page links name the host the request came to (studio.dublin.ie1.twilio.com).
    host = None if product == "api" else f"https://{host_label or product}.twilio.com"
    raw = page_json(items, encoded, req, key=route.key, path=twilio_path, host=host)
    return Reply(200, {}, raw)


def _accounts_list(index: ScenarioIndex, who: Principal, query: Query) -> Reply:
    own = index.accounts[who.account_sid]
    if who.via_key:
        items = [own.shown_to_key]
    else:
        items = [own.shown, *(index.accounts[c].shown for c in own.children)]
    params = dict(query)
    if "FriendlyName" in params:
        items = [a for a in items if a["friendly_name"] == params["FriendlyName"]]
    if "Status" in params:
        items = [a for a in items if a["status"] == params["Status"]]
    try:
        req = parse_page_request(query)
    except PagingError as exc:
        return bad_request(str(exc))
    return Reply(
        200, page_body(items, req, key="accounts", path="/2010-04-01/Accounts.json", host=None)
    )


def _phone(value: str) -> str:
    """A `+` sent unencoded in a query string arrives as a space: put it back."""
    if value.startswith(" ") and value.strip()[:1].isdigit():
        return "+" + value.strip()
    return value.strip()


def _number_matcher(value: str) -> re.Pattern[str]:
    """Twilio matches IncomingPhoneNumbers partially; `*` stands for one digit."""
    pattern = "".join(r"\d" if ch == "*" else re.escape(ch) for ch in _phone(value))
    return re.compile(pattern)


def _parse_date(name: str, value: str) -> datetime:
    try:
        return shapes.parse_iso(value)
    except ValueError:
        raise ValueError(f"{name} must be an ISO 8601 date or date-time, got {value!r}") from None


def _filtered(route: Collection, query: Query) -> tuple[Sequence[JsonDict], Sequence[str]]:
    """The items (and their encodings) that the query's filters keep, in order."""
    keep = _predicate(route, dict(query))
    if keep is None:
        return route.items, route.encoded
    kept = [i for i in range(len(route.items)) if keep(i)]
    return [route.items[i] for i in kept], [route.encoded[i] for i in kept]


def _predicate(route: Collection, params: dict[str, str]) -> Callable[[int], bool] | None:
    items = route.items
    tests: list[Callable[[int], bool]] = []
    if route.filters == "alerts":
        if "StartDate" in params:
            start = _parse_date("StartDate", params["StartDate"])
            tests.append(lambda i: route.dates[i] >= start)
        if "EndDate" in params:
            end = _parse_date("EndDate", params["EndDate"])
            if "T" not in params["EndDate"]:  # a bare date: on or before the end of that day
                end += timedelta(days=1) - timedelta(microseconds=1)
            tests.append(lambda i: route.dates[i] <= end)
        if "LogLevel" in params:
            level = params["LogLevel"]
            tests.append(lambda i: items[i]["log_level"] == level)
    if route.filters == "countries":
        tests.extend(_country_tests(items, params))
    if route.filters in ("numbers", "caller_ids", "applications") and "FriendlyName" in params:
        name = params["FriendlyName"]
        tests.append(lambda i: items[i]["friendly_name"] == name)
    if "PhoneNumber" in params and route.filters == "numbers":
        matcher = _number_matcher(params["PhoneNumber"])
        tests.append(lambda i: bool(matcher.search(items[i]["phone_number"] or "")))
    if "PhoneNumber" in params and route.filters == "caller_ids":
        wanted = _phone(params["PhoneNumber"])
        tests.append(lambda i: items[i]["phone_number"] == wanted)
    if not tests:
        return None
    return lambda i: all(test(i) for test in tests)


_COUNTRY_FLAGS = {
    "LowRiskNumbersEnabled": "low_risk_numbers_enabled",
    "HighRiskSpecialNumbersEnabled": "high_risk_special_numbers_enabled",
    "HighRiskTollfraudNumbersEnabled": "high_risk_tollfraud_numbers_enabled",
}


def _flag_test(items: Sequence[JsonDict], key: str, wanted: bool) -> Callable[[int], bool]:
    return lambda i: items[i][key] is wanted


def _country_tests(
    items: Sequence[JsonDict], params: dict[str, str]
) -> list[Callable[[int], bool]]:
    """DialingPermissions/Countries filters: IsoCode, Continent, CountryCode and the flags."""
    tests: list[Callable[[int], bool]] = []
    if "IsoCode" in params:
        iso = params["IsoCode"].upper()
        tests.append(lambda i: items[i]["iso_code"] == iso)
    if "Continent" in params:
        continent = params["Continent"]
        tests.append(lambda i: items[i]["continent"] == continent)
    if "CountryCode" in params:
        code = _phone(params["CountryCode"])
        tests.append(lambda i: code in items[i]["country_codes"])
    for param, key in _COUNTRY_FLAGS.items():
        if param in params:
            value = params[param].strip().lower()
            if value not in ("true", "false"):
                raise ValueError(f"{param} must be true or false, got {params[param]!r}")
            tests.append(_flag_test(items, key, value == "true"))
    return tests
