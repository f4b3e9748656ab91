"""Every emulator endpoint answers in Twilio's shape: validated against twilio-oai.

List responses are checked against the inline schema of the path's 200 response
(its $refs resolved to the components); items and envelopes must carry exactly
the schema's properties, no more, no fewer.
"""

from __future__ import annotations

import email.utils
import json
import re
from collections.abc import Iterator
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from jsonschema import Draft7Validator, FormatChecker
from oai import OAI_DIR as OAI

from auditor.emulator import EmulatorServer
from auditor.emulator.generate import add_region
from auditor.emulator.scenario import regional_scenario

FILES = {
    "api": "twilio_api_v2010.json",
    "monitor": "twilio_monitor_v1.json",
    "studio": "twilio_studio_v2.json",
    "serverless": "twilio_serverless_v1.json",
    "voice": "twilio_voice_v1.json",
    "flex-api": "twilio_flex_v1.json",
}


def _openapi_to_jsonschema(node: Any) -> Any:
    """OpenAPI 3.0 → JSON Schema: `nullable: true` becomes an explicit null type."""
    if isinstance(node, list):
        return [_openapi_to_jsonschema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _openapi_to_jsonschema(v) for k, v in node.items() if not k.startswith("x-")}
    if out.get("nullable") is True:
        del out["nullable"]
        if "$ref" in out:
            out = {"anyOf": [{"$ref": out.pop("$ref")}, {"type": "null"}], **out}
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out


@cache
def _spec(product: str) -> dict[str, Any]:
    return json.loads((OAI / FILES[product]).read_text())


@cache
def _components(product: str) -> dict[str, Any]:
    return _openapi_to_jsonschema(_spec(product)["components"])  # type: ignore[no-any-return]


def _response_schema(product: str, oas_path: str) -> dict[str, Any]:
    op = _spec(product)["paths"][oas_path]["get"]
    return _openapi_to_jsonschema(op["responses"]["200"]["content"]["application/json"]["schema"])  # type: ignore[no-any-return]


def _resolve(product: str, schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        schema = _components(product)["schemas"][name]
    return schema


FORMATS = FormatChecker(formats=())
_ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@FORMATS.checks("date-time")
def _is_iso(value: object) -> bool:
    return not isinstance(value, str) or bool(_ISO.match(value))


@FORMATS.checks("date-time-rfc-2822", raises=(TypeError, ValueError))
def _is_rfc2822(value: object) -> bool:
    if not isinstance(value, str):
        return True
    dt = email.utils.parsedate_to_datetime(value)
    return email.utils.format_datetime(dt) == value


def _uri_ok(value: str) -> bool:
    parts = urlsplit(value)
    return (parts.scheme in ("http", "https") and bool(parts.netloc)) or value.startswith(
        "/2010-04-01/"
    )


@FORMATS.checks("uri")
def _is_uri(value: object) -> bool:
    return not isinstance(value, str) or _uri_ok(value)


@FORMATS.checks("uri-map")
def _is_uri_map(value: object) -> bool:
    return not isinstance(value, dict) or all(_uri_ok(v) for v in value.values())


@FORMATS.checks("phone-number")
def _is_e164(value: object) -> bool:
    return not isinstance(value, str) or bool(re.match(r"^\+[1-9]\d{1,14}$", value))


def validate(product: str, oas_path: str, body: dict[str, Any]) -> None:
    schema = {"allOf": [_response_schema(product, oas_path)], "components": _components(product)}
    Draft7Validator(schema, format_checker=FORMATS).validate(body)


def _exact_fields(product: str, schema: dict[str, Any], item: dict[str, Any]) -> None:
    assert set(item) == set(_resolve(product, schema)["properties"])


# (product, OpenAPI path, emulator path template, is_list). Templates name scenario items.
ENDPOINTS = [
    ("api", "/2010-04-01/Accounts.json", "/2010-04-01/Accounts.json", True),
    ("api", "/2010-04-01/Accounts/{Sid}.json", "/2010-04-01/Accounts/{sub}.json", False),
    (
        "api",
        "/2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers.json",
        "/2010-04-01/Accounts/{sub}/IncomingPhoneNumbers.json",
        True,
    ),
    (
        "api",
        "/2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers/{Sid}.json",
        "/2010-04-01/Accounts/{sub}/IncomingPhoneNumbers/{pn}.json",
        False,
    ),
    (
        "api",
        "/2010-04-01/Accounts/{AccountSid}/OutgoingCallerIds.json",
        "/2010-04-01/Accounts/{sub}/OutgoingCallerIds.json",
        True,
    ),
    (
        "api",
        "/2010-04-01/Accounts/{AccountSid}/OutgoingCallerIds/{Sid}.json",
        "/2010-04-01/Accounts/{sub}/OutgoingCallerIds/{oc}.json",
        False,
    ),
    (
        "api",
        "/2010-04-01/Accounts/{AccountSid}/Applications.json",
        "/2010-04-01/Accounts/{sub}/Applications.json",
        True,
    ),
    (
        "api",
        "/2010-04-01/Accounts/{AccountSid}/Applications/{Sid}.json",
        "/2010-04-01/Accounts/{sub}/Applications/{ap}.json",
        False,
    ),
    (
        "api",
        "/2010-04-01/Accounts/{AccountSid}/SIP/Domains.json",
        "/2010-04-01/Accounts/{sub}/SIP/Domains.json",
        True,
    ),
    (
        "api",
        "/2010-04-01/Accounts/{AccountSid}/SIP/Domains/{Sid}.json",
        "/2010-04-01/Accounts/{sub}/SIP/Domains/{sd}.json",
        False,
    ),
    ("monitor", "/v1/Alerts", "/v1/Alerts", True),
    ("monitor", "/v1/Alerts/{Sid}", "/v1/Alerts/{no}", False),
    ("studio", "/v2/Flows", "/v2/Flows", True),
    ("studio", "/v2/Flows/{Sid}", "/v2/Flows/{fw}", False),
    (
        "studio",
        "/v2/Flows/{Sid}/Revisions/{Revision}",
        "/v2/Flows/{fw}/Revisions/LatestPublished",
        False,
    ),
    ("serverless", "/v1/Services", "/v1/Services", True),
    ("serverless", "/v1/Services/{Sid}", "/v1/Services/{zs}", False),
    ("serverless", "/v1/Services/{ServiceSid}/Functions", "/v1/Services/{zs}/Functions", True),
    (
        "serverless",
        "/v1/Services/{ServiceSid}/Functions/{Sid}",
        "/v1/Services/{zs}/Functions/{zh}",
        False,
    ),
    (
        "serverless",
        "/v1/Services/{ServiceSid}/Functions/{FunctionSid}/Versions",
        "/v1/Services/{zs}/Functions/{zh}/Versions",
        True,
    ),
    (
        "serverless",
        "/v1/Services/{ServiceSid}/Functions/{FunctionSid}/Versions/{Sid}",
        "/v1/Services/{zs}/Functions/{zh}/Versions/{zn}",
        False,
    ),
    (
        "serverless",
        "/v1/Services/{ServiceSid}/Functions/{FunctionSid}/Versions/{Sid}/Content",
        "/v1/Services/{zs}/Functions/{zh}/Versions/{zn}/Content",
        False,
    ),
    ("serverless", "/v1/Services/{ServiceSid}/Builds", "/v1/Services/{zs}/Builds", True),
    (
        "serverless",
        "/v1/Services/{ServiceSid}/Builds/{Sid}",
        "/v1/Services/{zs}/Builds/{zb}",
        False,
    ),
    (
        "serverless",
        "/v1/Services/{ServiceSid}/Environments",
        "/v1/Services/{zs}/Environments",
        True,
    ),
    (
        "serverless",
        "/v1/Services/{ServiceSid}/Environments/{Sid}",
        "/v1/Services/{zs}/Environments/{ze}",
        False,
    ),
    (
        "serverless",
        "/v1/Services/{ServiceSid}/Environments/{EnvironmentSid}/Variables",
        "/v1/Services/{zs}/Environments/{ze}/Variables",
        True,
    ),
    (
        "serverless",
        "/v1/Services/{ServiceSid}/Environments/{EnvironmentSid}/Variables/{Sid}",
        "/v1/Services/{zs}/Environments/{ze}/Variables/{zv}",
        False,
    ),
    ("voice", "/v1/DialingPermissions/Countries", "/v1/DialingPermissions/Countries", True),
    (
        "voice",
        "/v1/DialingPermissions/Countries/{IsoCode}",
        "/v1/DialingPermissions/Countries/{iso}",
        False,
    ),
    (
        "voice",
        "/v1/DialingPermissions/Countries/{IsoCode}/HighRiskSpecialPrefixes",
        "/v1/DialingPermissions/Countries/{iso}/HighRiskSpecialPrefixes",
        True,
    ),
    ("voice", "/v1/Settings", "/v1/Settings", False),
]


def _names(scenario: dict[str, Any]) -> dict[str, str]:
    sub = scenario["accounts"][1]
    svc = sub["services"][0]
    fn = svc["functions"][0]
    env = svc["environments"][0]
    return {
        "sub": sub["sid"],
        "pn": sub["incoming_phone_numbers"][0]["sid"],
        "oc": sub["outgoing_caller_ids"][0]["sid"] if sub["outgoing_caller_ids"] else "",
        "ap": sub["applications"][0]["sid"],
        "sd": sub["sip_domains"][0]["sid"],
        "no": sub["alerts"][0]["sid"],
        "fw": sub["flows"][0]["sid"],
        "zs": svc["sid"],
        "zh": fn["sid"],
        "zn": fn["versions"][-1]["sid"],
        "zb": svc["builds"][0]["sid"],
        "ze": env["sid"],
        "zv": env["variables"][0]["sid"],
        # The subaccount inherits: it is answered its parent's Geo Permissions.
        "iso": scenario["accounts"][0]["dialing_permissions"]["countries"][0]["iso_code"],
    }


@pytest.mark.parametrize(("product", "oas_path", "template", "is_list"), ENDPOINTS)
def test_endpoint_matches_openapi(
    emulator: EmulatorServer,
    small_hierarchy: dict[str, Any],
    product: str,
    oas_path: str,
    template: str,
    is_list: bool,
) -> None:
    check_endpoint(emulator.url, product, product, small_hierarchy, oas_path, template, is_list)


@pytest.fixture(scope="module")
def ie1_emulator(small_hierarchy: dict[str, Any]) -> Iterator[tuple[EmulatorServer, Any]]:
    """The small hierarchy with IE1 data too; the IE1 view in plain scenario format."""
    scenario = add_region(small_hierarchy, "ie1")
    with EmulatorServer(scenario) as server:
        yield server, regional_scenario(scenario, "ie1")


# IE1 has no Verified Caller IDs (its OutgoingCallerIds list is empty: tests/test_regions.py).
IE1_ENDPOINTS = [e for e in ENDPOINTS if "OutgoingCallerIds" not in e[1]]


@pytest.mark.parametrize(("product", "oas_path", "template", "is_list"), IE1_ENDPOINTS)
def test_ie1_endpoint_matches_openapi(
    ie1_emulator: tuple[EmulatorServer, Any],
    product: str,
    oas_path: str,
    template: str,
    is_list: bool,
) -> None:
    """The regional host (api.dublin.ie1 …) answers in the same shapes, with IE1's data."""
    server, ie1 = ie1_emulator
    label = f"{product}.dublin.ie1"
    check_endpoint(server.url, product, label, ie1, oas_path, template, is_list)


def check_endpoint(
    base: str,
    product: str,
    label: str,
    scenario: dict[str, Any],
    oas_path: str,
    template: str,
    is_list: bool,
) -> None:
    """GET {base}/{label}{path} and check the answer against the product's OpenAPI schema."""
    parent, sub = scenario["accounts"][0], scenario["accounts"][1]
    # v2010 with the parent's credentials (it reads its subaccounts); other products
    # answer for the authenticating account only, so the subaccount's own.
    who = parent if product == "api" else sub
    path = template.format(**_names(scenario))
    resp = requests.get(
        f"{base}/{label}{path}",
        params={"PageSize": 1} if is_list else None,
        auth=(who["sid"], who["auth_token"]),
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"].startswith("application/json")
    body = resp.json()
    validate(product, oas_path, body)
    schema = _response_schema(product, oas_path)
    if not is_list:
        _exact_fields(product, schema, body)
        return
    (key,) = set(body) & (set(schema["properties"]) - {"meta"}) - {
        "end",
        "first_page_uri",
        "next_page_uri",
        "page",
        "page_size",
        "previous_page_uri",
        "start",
        "uri",
    }
    assert body[key], f"{path}: expected at least one item"
    item_schema = schema["properties"][key]["items"]
    for item in body[key]:
        _exact_fields(product, item_schema, item)
    if product == "api":
        assert set(body) == set(schema["properties"])
        assert body["uri"].startswith(path + "?")
    else:
        assert set(body) == {key, "meta"}
        assert set(body["meta"]) == set(schema["properties"]["meta"]["properties"])
        assert body["meta"]["key"] == key
        assert body["meta"]["url"].startswith(f"https://{label}.twilio.com{path}?")


def test_paging_links_carry_twilio_hosts(
    emulator: EmulatorServer, small_hierarchy: dict[str, Any]
) -> None:
    parent, sub = small_hierarchy["accounts"][0], small_hierarchy["accounts"][1]
    numbers = requests.get(
        f"{emulator.url}/api/2010-04-01/Accounts/{sub['sid']}/IncomingPhoneNumbers.json",
        params={"PageSize": 2},
        auth=(parent["sid"], parent["auth_token"]),
        timeout=10,
    ).json()
    assert numbers["next_page_uri"].startswith(
        f"/2010-04-01/Accounts/{sub['sid']}/IncomingPhoneNumbers.json?PageSize=2&Page=1&PageToken=PA"
    )
    alerts = requests.get(
        f"{emulator.url}/monitor/v1/Alerts",
        params={"PageSize": 1},
        auth=(sub["sid"], sub["auth_token"]),
        timeout=10,
    ).json()
    assert alerts["meta"]["next_page_url"].startswith(
        "https://monitor.twilio.com/v1/Alerts?PageSize=1&Page=1&PageToken=PA"
    )
    assert alerts["meta"]["first_page_url"] == (
        "https://monitor.twilio.com/v1/Alerts?PageSize=1&Page=0"
    )


def test_list_omits_fetch_only_fields(
    emulator: EmulatorServer, small_hierarchy: dict[str, Any]
) -> None:
    sub = small_hierarchy["accounts"][1]
    auth = (sub["sid"], sub["auth_token"])
    flows = requests.get(f"{emulator.url}/studio/v2/Flows", auth=auth, timeout=10).json()
    assert all(f["definition"] is None for f in flows["flows"])
    flow = requests.get(f"{emulator.url}/studio/v2/Flows/{sub['flows'][0]['sid']}", auth=auth)
    assert flow.json()["definition"] == sub["flows"][0]["definition"]
    alerts = requests.get(f"{emulator.url}/monitor/v1/Alerts", auth=auth, timeout=10).json()
    assert alerts["alerts"] and all("response_body" not in a for a in alerts["alerts"])
    one = requests.get(f"{emulator.url}/monitor/v1/Alerts/{sub['alerts'][0]['sid']}", auth=auth)
    assert one.json()["response_body"] == sub["alerts"][0]["response_body"]


def test_errors_are_twilio_json(emulator: EmulatorServer, small_hierarchy: dict[str, Any]) -> None:
    sub = small_hierarchy["accounts"][1]
    missing = requests.get(
        f"{emulator.url}/studio/v2/Flows/FW{'0' * 32}", auth=(sub["sid"], sub["auth_token"])
    )
    assert missing.status_code == 404
    assert missing.json() == {
        "code": 20404,
        "message": f"The requested resource /v2/Flows/FW{'0' * 32} was not found",
        "more_info": "https://www.twilio.com/docs/errors/20404",
        "status": 404,
    }
    wrong = requests.get(f"{emulator.url}/studio/v2/Flows", auth=(sub["sid"], "0" * 32))
    assert wrong.status_code == 401
    assert wrong.json() == {
        "code": 20003,
        "message": "Authenticate",
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
    }


def test_validator_is_strict(small_hierarchy: dict[str, Any]) -> None:
    """The checks above can fail: an ISO date or an empty SID in a v2010 item is caught."""
    from jsonschema import ValidationError

    from auditor.emulator import shapes

    acc = small_hierarchy["accounts"][0]
    item = shapes.incoming_phone_number(acc["incoming_phone_numbers"][0], acc["sid"])
    oas_path = "/2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers.json"
    envelope = {"incoming_phone_numbers": [item], "uri": "/2010-04-01/x", "page": 0}
    validate("api", oas_path, envelope)
    for key, value in (("date_created", "2024-01-01T00:00:00Z"), ("voice_application_sid", "")):
        with pytest.raises(ValidationError):
            validate(
                "api", oas_path, {**envelope, "incoming_phone_numbers": [{**item, key: value}]}
            )


def test_flex_configuration_matches_openapi(small_hierarchy: dict[str, Any]) -> None:
    """A Flex account's Configuration in Twilio's shape; an account without Flex answers 404."""
    import copy

    scenario = copy.deepcopy(small_hierarchy)
    flex, plain = scenario["accounts"][1], scenario["accounts"][2]
    flex["flex_configuration"] = {
        "outbound_call_flows": {
            "default": {
                "caller_id": flex["incoming_phone_numbers"][0]["phone_number"],
                "queue_sid": "WQ" + "a" * 32,
                "workflow_sid": "WW" + "a" * 32,
                "location": "US",
            }
        },
        "ui_language": "de",
    }
    with EmulatorServer(scenario) as server:
        got = requests.get(
            f"{server.url}/flex-api/v1/Configuration",
            auth=(flex["sid"], flex["auth_token"]),
            timeout=10,
        )
        missing = requests.get(
            f"{server.url}/flex-api/v1/Configuration",
            auth=(plain["sid"], plain["auth_token"]),
            timeout=10,
        )
    assert got.status_code == 200, got.text
    body = got.json()
    validate("flex-api", "/v1/Configuration", body)
    _exact_fields("flex-api", _response_schema("flex-api", "/v1/Configuration"), body)
    assert body["account_sid"] == flex["sid"] and body["status"] == "ok"
    assert body["outbound_call_flows"] == flex["flex_configuration"]["outbound_call_flows"]
    assert body["ui_language"] == "de"  # a scenario field of the schema is served as given
    assert body["url"] == "https://flex-api.twilio.com/v1/Configuration"
    assert missing.status_code == 404
    assert missing.json() == {
        "code": 20404,
        "message": "The requested resource /v1/Configuration was not found",
        "more_info": "https://www.twilio.com/docs/errors/20404",
        "status": 404,
    }
