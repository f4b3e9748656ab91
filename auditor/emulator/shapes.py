"""Scenario items → the exact JSON Twilio returns for them (field names from twilio-oai).

Each function takes one scenario item and the SIDs that own it and returns a
dict with exactly the properties of the matching OpenAPI component schema.
Scenario keys that are also Twilio fields (say `sms_url`) override the defaults;
SIDs, `uri`/`url` and links are always computed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import lru_cache
from typing import Any

JsonDict = dict[str, Any]

DEFAULT_DATE = "2024-01-01T00:00:00Z"
V2010 = "/2010-04-01"
STUDIO = "https://studio.twilio.com/v2"
SERVERLESS = "https://serverless.twilio.com/v1"
MONITOR = "https://monitor.twilio.com/v1"
VOICE = "https://voice.twilio.com/v1"
FLEX = "https://flex-api.twilio.com/v1"


def parse_iso(value: str) -> datetime:
    """ISO 8601 (with Z or offset, or a bare date) → aware UTC datetime."""
    dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


@lru_cache(maxsize=8192)  # scenarios repeat dates; formatting them dominated loading
def iso(value: str | None) -> str:
    """Twilio v1/v2 date-time: 2026-11-20T10:00:00Z."""
    return parse_iso(value or DEFAULT_DATE).strftime("%Y-%m-%dT%H:%M:%SZ")


@lru_cache(maxsize=8192)
def rfc2822(value: str | None) -> str:
    """Twilio v2010 date: Thu, 30 Jul 2015 20:00:00 +0000."""
    return format_datetime(parse_iso(value or DEFAULT_DATE))


def _fill(fields: Iterable[str], defaults: Mapping[str, Any], item: Mapping[str, Any]) -> JsonDict:
    return {f: item[f] if f in item else defaults.get(f) for f in fields}


def _pseudo_digits(seed: str, n: int = 4) -> str:
    return str(int(hashlib.sha256(seed.encode()).hexdigest(), 16))[-n:]


# --- v2010 ---------------------------------------------------------------------------

_ACCOUNT_SUBRESOURCES = {
    "available_phone_numbers": "AvailablePhoneNumbers",
    "calls": "Calls",
    "conferences": "Conferences",
    "incoming_phone_numbers": "IncomingPhoneNumbers",
    "notifications": "Notifications",
    "outgoing_caller_ids": "OutgoingCallerIds",
    "recordings": "Recordings",
    "transcriptions": "Transcriptions",
    "addresses": "Addresses",
    "signing_keys": "SigningKeys",
    "connect_apps": "ConnectApps",
    "sip": "SIP",
    "authorized_connect_apps": "AuthorizedConnectApps",
    "usage": "Usage",
    "keys": "Keys",
    "applications": "Applications",
    "short_codes": "SMS/ShortCodes",
    "queues": "Queues",
    "messages": "Messages",
    "balance": "Balance",
}


def account(acc: Mapping[str, Any], *, show_token: bool) -> JsonDict:
    """An Account as v2010 shows it; a top-level account is its own owner, as on Twilio."""
    sid = acc["sid"]
    base = f"{V2010}/Accounts/{sid}"
    return {
        "auth_token": acc["auth_token"] if show_token else None,
        "date_created": rfc2822(acc.get("date_created")),
        "date_updated": rfc2822(acc.get("date_updated") or acc.get("date_created")),
        "friendly_name": acc.get("friendly_name", sid),
        "owner_account_sid": acc.get("owner_account_sid") or sid,
        "sid": sid,
        "status": acc.get("status", "active"),
        "subresource_uris": {k: f"{base}/{v}.json" for k, v in _ACCOUNT_SUBRESOURCES.items()},
        "type": acc.get("type", "Full"),
        "uri": f"{base}.json",
    }


_NUMBER_FIELDS = [
    "account_sid",
    "address_sid",
    "address_requirements",
    "api_version",
    "beta",
    "capabilities",
    "date_created",
    "date_updated",
    "friendly_name",
    "identity_sid",
    "phone_number",
    "origin",
    "sid",
    "sms_application_sid",
    "sms_fallback_method",
    "sms_fallback_url",
    "sms_method",
    "sms_url",
    "status_callback",
    "status_callback_method",
    "trunk_sid",
    "uri",
    "voice_receive_mode",
    "voice_application_sid",
    "voice_caller_id_lookup",
    "voice_fallback_method",
    "voice_fallback_url",
    "voice_method",
    "voice_url",
    "emergency_status",
    "emergency_address_sid",
    "emergency_address_status",
    "bundle_sid",
    "status",
    "type",
]

_NUMBER_DEFAULTS: JsonDict = {
    "address_requirements": "none",
    "api_version": "2010-04-01",
    "beta": False,
    "capabilities": {"voice": True, "sms": True, "mms": False, "fax": False},
    "origin": "twilio",
    "sms_fallback_method": "POST",
    "sms_method": "POST",
    "status_callback_method": "POST",
    "voice_receive_mode": "voice",
    "voice_caller_id_lookup": False,
    "voice_fallback_method": "POST",
    "voice_method": "POST",
    "emergency_status": "Inactive",
    "emergency_address_status": "unregistered",
    "status": "in-use",
    "type": "local",
}


def incoming_phone_number(item: Mapping[str, Any], account_sid: str) -> JsonDict:
    out = _fill(_NUMBER_FIELDS, _NUMBER_DEFAULTS, item)
    out["friendly_name"] = item.get("friendly_name") or item["phone_number"]
    out["date_created"] = rfc2822(item.get("date_created"))
    out["date_updated"] = rfc2822(item.get("date_updated") or item.get("date_created"))
    out["account_sid"] = account_sid
    out["uri"] = f"{V2010}/Accounts/{account_sid}/IncomingPhoneNumbers/{item['sid']}.json"
    return out


_CALLER_ID_FIELDS = [
    "sid",
    "date_created",
    "date_updated",
    "friendly_name",
    "account_sid",
    "phone_number",
    "uri",
]


def outgoing_caller_id(item: Mapping[str, Any], account_sid: str) -> JsonDict:
    out = _fill(_CALLER_ID_FIELDS, {}, item)
    out["friendly_name"] = item.get("friendly_name") or item["phone_number"]
    out["date_created"] = rfc2822(item.get("date_created"))
    out["date_updated"] = rfc2822(item.get("date_updated") or item.get("date_created"))
    out["account_sid"] = account_sid
    out["uri"] = f"{V2010}/Accounts/{account_sid}/OutgoingCallerIds/{item['sid']}.json"
    return out


_APP_FIELDS = [
    "account_sid",
    "api_version",
    "date_created",
    "date_updated",
    "friendly_name",
    "message_status_callback",
    "sid",
    "sms_fallback_method",
    "sms_fallback_url",
    "sms_method",
    "sms_status_callback",
    "sms_url",
    "status_callback",
    "status_callback_method",
    "uri",
    "voice_caller_id_lookup",
    "voice_fallback_method",
    "voice_fallback_url",
    "voice_method",
    "voice_url",
    "public_application_connect_enabled",
]

_APP_DEFAULTS: JsonDict = {
    "api_version": "2010-04-01",
    "sms_fallback_method": "POST",
    "sms_method": "POST",
    "status_callback_method": "POST",
    "voice_caller_id_lookup": False,
    "voice_fallback_method": "POST",
    "voice_method": "POST",
    "public_application_connect_enabled": False,
}


def application(item: Mapping[str, Any], account_sid: str) -> JsonDict:
    out = _fill(_APP_FIELDS, _APP_DEFAULTS, item)
    out["date_created"] = rfc2822(item.get("date_created"))
    out["date_updated"] = rfc2822(item.get("date_updated") or item.get("date_created"))
    out["account_sid"] = account_sid
    out["uri"] = f"{V2010}/Accounts/{account_sid}/Applications/{item['sid']}.json"
    return out


_SIP_FIELDS = [
    "account_sid",
    "api_version",
    "auth_type",
    "date_created",
    "date_updated",
    "domain_name",
    "friendly_name",
    "sid",
    "uri",
    "voice_fallback_method",
    "voice_fallback_url",
    "voice_method",
    "voice_status_callback_method",
    "voice_status_callback_url",
    "voice_url",
    "subresource_uris",
    "sip_registration",
    "emergency_calling_enabled",
    "secure",
    "byoc_trunk_sid",
    "emergency_caller_sid",
]

_SIP_DEFAULTS: JsonDict = {
    "api_version": "2010-04-01",
    "auth_type": "",
    "voice_fallback_method": "POST",
    "voice_method": "POST",
    "voice_status_callback_method": "POST",
    "sip_registration": False,
    "emergency_calling_enabled": False,
    "secure": False,
}


def sip_domain(item: Mapping[str, Any], account_sid: str) -> JsonDict:
    out = _fill(_SIP_FIELDS, _SIP_DEFAULTS, item)
    base = f"{V2010}/Accounts/{account_sid}/SIP/Domains/{item['sid']}"
    out["date_created"] = rfc2822(item.get("date_created"))
    out["date_updated"] = rfc2822(item.get("date_updated") or item.get("date_created"))
    out["account_sid"] = account_sid
    out["uri"] = f"{base}.json"
    out["subresource_uris"] = {
        "credential_list_mappings": f"{base}/CredentialListMappings.json",
        "ip_access_control_list_mappings": f"{base}/IpAccessControlListMappings.json",
    }
    return out


# --- Monitor v1 ----------------------------------------------------------------------

_ALERT_FIELDS = [
    "account_sid",
    "alert_text",
    "api_version",
    "date_created",
    "date_generated",
    "date_updated",
    "error_code",
    "log_level",
    "more_info",
    "request_method",
    "request_url",
    "resource_sid",
    "sid",
    "url",
    "service_sid",
]
_ALERT_FETCH_ONLY = ["request_variables", "response_body", "response_headers", "request_headers"]


def alert(item: Mapping[str, Any], account_sid: str, *, full: bool) -> JsonDict:
    """An Alert; `full` (fetch) adds the request and response Twilio recorded."""
    fields = _ALERT_FIELDS + _ALERT_FETCH_ONLY if full else _ALERT_FIELDS
    out = _fill(fields, {"api_version": "2010-04-01", "log_level": "error"}, item)
    created = iso(item.get("date_created"))
    out["date_created"] = created
    out["date_generated"] = iso(item.get("date_generated") or created)
    out["date_updated"] = iso(item.get("date_updated") or created)
    out["error_code"] = str(item.get("error_code", ""))
    out["more_info"] = item.get("more_info") or (
        f"https://www.twilio.com/docs/errors/{out['error_code']}"
    )
    out["account_sid"] = account_sid
    out["url"] = f"{MONITOR}/Alerts/{item['sid']}"
    return out


# --- Studio v2 -----------------------------------------------------------------------

_FLOW_FIELDS = [
    "sid",
    "account_sid",
    "author_sid",
    "friendly_name",
    "definition",
    "status",
    "revision",
    "commit_message",
    "valid",
    "errors",
    "warnings",
    "date_created",
    "date_updated",
    "webhook_url",
    "url",
    "links",
]


def flow(item: Mapping[str, Any], account_sid: str, *, full: bool) -> JsonDict:
    """A Flow; the definition only on fetch (the list carries `definition: null`)."""
    out = _fill(
        _FLOW_FIELDS,
        {"status": "published", "revision": 1, "valid": True, "errors": [], "warnings": []},
        item,
    )
    sid = item["sid"]
    out["definition"] = item.get("definition") if full else None
    out["date_created"] = iso(item.get("date_created"))
    out["date_updated"] = iso(item.get("date_updated") or item.get("date_created"))
    out["account_sid"] = account_sid
    out["webhook_url"] = f"https://webhooks.twilio.com/v1/Accounts/{account_sid}/Flows/{sid}"
    out["url"] = f"{STUDIO}/Flows/{sid}"
    out["links"] = {
        "test_users": f"{STUDIO}/Flows/{sid}/TestUsers",
        "revisions": f"{STUDIO}/Flows/{sid}/Revisions",
        "executions": f"{STUDIO}/Flows/{sid}/Executions",
    }
    return out


_REVISION_FIELDS = [
    "sid",
    "account_sid",
    "author_sid",
    "friendly_name",
    "definition",
    "status",
    "revision",
    "commit_message",
    "valid",
    "errors",
    "date_created",
    "date_updated",
    "url",
]


def flow_revision(item: Mapping[str, Any], account_sid: str, *, published: bool) -> JsonDict:
    """A Flow revision: the flow as it is, or (published=True) its `published` revision."""
    source: Mapping[str, Any] = {**item, **item["published"]} if published else item
    out = _fill(
        _REVISION_FIELDS,
        {"status": "published", "revision": 1, "valid": True, "errors": []},
        source,
    )
    if published:
        out["status"] = "published"
    out["account_sid"] = account_sid
    out["date_created"] = iso(item.get("date_created"))
    out["date_updated"] = iso(item.get("date_updated") or item.get("date_created"))
    out["url"] = f"{STUDIO}/Flows/{item['sid']}/Revisions/{out['revision']}"
    return out


# --- Serverless v1 -------------------------------------------------------------------


def _dates(item: Mapping[str, Any], out: JsonDict, *, updated: bool = True) -> None:
    out["date_created"] = iso(item.get("date_created"))
    if updated:
        out["date_updated"] = iso(item.get("date_updated") or item.get("date_created"))


def domain_base(service: Mapping[str, Any]) -> str:
    """`unique_name-1234`: the production environment's domain without `.twil.io`."""
    if service.get("domain_base"):
        return str(service["domain_base"])
    unique = service.get("unique_name") or service["sid"]
    return f"{unique}-{_pseudo_digits(service['sid'])}"


def service(item: Mapping[str, Any], account_sid: str) -> JsonDict:
    sid = item["sid"]
    url = f"{SERVERLESS}/Services/{sid}"
    out: JsonDict = {
        "sid": sid,
        "account_sid": account_sid,
        "friendly_name": item.get("friendly_name") or item.get("unique_name"),
        "unique_name": item.get("unique_name") or sid,
        "include_credentials": item.get("include_credentials", True),
        "ui_editable": item.get("ui_editable", False),
        "domain_base": domain_base(item),
    }
    _dates(item, out)
    out["url"] = url
    out["links"] = {k: f"{url}/{k.capitalize()}" for k in ("environments", "functions", "assets")}
    out["links"]["builds"] = f"{url}/Builds"
    return out


def function(item: Mapping[str, Any], account_sid: str, service_sid: str) -> JsonDict:
    url = f"{SERVERLESS}/Services/{service_sid}/Functions/{item['sid']}"
    out: JsonDict = {
        "sid": item["sid"],
        "account_sid": account_sid,
        "service_sid": service_sid,
        "friendly_name": item.get("friendly_name") or item["sid"],
    }
    _dates(item, out)
    out["url"] = url
    out["links"] = {"function_versions": f"{url}/Versions"}
    return out


def function_version(
    item: Mapping[str, Any], account_sid: str, service_sid: str, function_sid: str
) -> JsonDict:
    url = f"{SERVERLESS}/Services/{service_sid}/Functions/{function_sid}/Versions/{item['sid']}"
    out: JsonDict = {
        "sid": item["sid"],
        "account_sid": account_sid,
        "service_sid": service_sid,
        "function_sid": function_sid,
        "path": item.get("path", "/"),
        "visibility": item.get("visibility", "public"),
    }
    _dates(item, out, updated=False)
    out["url"] = url
    out["links"] = {"function_version_content": f"{url}/Content"}
    return out


def function_version_content(
    item: Mapping[str, Any], account_sid: str, service_sid: str, function_sid: str
) -> JsonDict:
    base = f"{SERVERLESS}/Services/{service_sid}/Functions/{function_sid}"
    return {
        "sid": item["sid"],
        "account_sid": account_sid,
        "service_sid": service_sid,
        "function_sid": function_sid,
        "content": item.get("content", ""),
        "url": f"{base}/Versions/{item['sid']}/Content",
    }


def build(
    item: Mapping[str, Any],
    account_sid: str,
    service_sid: str,
    versions: Mapping[str, tuple[str, Mapping[str, Any]]],
) -> JsonDict:
    """A Build; `function_versions` lists version objects (`versions`: ZN → (ZH, item))."""
    url = f"{SERVERLESS}/Services/{service_sid}/Builds/{item['sid']}"
    fvs = []
    for zn in item.get("function_versions", []):
        function_sid, ver = versions[zn]
        fvs.append(
            {
                "sid": zn,
                "account_sid": account_sid,
                "service_sid": service_sid,
                "function_sid": function_sid,
                "date_created": iso(ver.get("date_created")),
                "path": ver.get("path", "/"),
                "visibility": str(ver.get("visibility", "public")).upper(),
            }
        )
    out: JsonDict = {
        "sid": item["sid"],
        "account_sid": account_sid,
        "service_sid": service_sid,
        "status": item.get("status", "completed"),
        "asset_versions": item.get("asset_versions", []),
        "function_versions": fvs,
        "dependencies": item.get("dependencies", [{"name": "twilio", "version": "5.0.0"}]),
        "runtime": item.get("runtime", "node18"),
    }
    _dates(item, out)
    out["url"] = url
    out["links"] = {"build_status": f"{url}/Status"}
    return out


def environment(item: Mapping[str, Any], account_sid: str, svc: Mapping[str, Any]) -> JsonDict:
    service_sid = svc["sid"]
    url = f"{SERVERLESS}/Services/{service_sid}/Environments/{item['sid']}"
    suffix = item.get("domain_suffix")
    default_domain = f"{domain_base(svc)}{'-' + suffix if suffix else ''}.twil.io"
    out: JsonDict = {
        "sid": item["sid"],
        "account_sid": account_sid,
        "service_sid": service_sid,
        "build_sid": item.get("build_sid"),
        "unique_name": item.get("unique_name") or item["sid"],
        "domain_suffix": suffix,
        "domain_name": item.get("domain_name") or default_domain,
    }
    _dates(item, out)
    out["url"] = url
    out["links"] = {k: f"{url}/{k.capitalize()}" for k in ("variables", "deployments", "logs")}
    return out


def variable(
    item: Mapping[str, Any], account_sid: str, service_sid: str, environment_sid: str
) -> JsonDict:
    base = f"{SERVERLESS}/Services/{service_sid}/Environments/{environment_sid}"
    out: JsonDict = {
        "sid": item["sid"],
        "account_sid": account_sid,
        "service_sid": service_sid,
        "environment_sid": environment_sid,
        "key": item.get("key"),
        "value": item.get("value"),
    }
    _dates(item, out)
    out["url"] = f"{base}/Variables/{item['sid']}"
    return out


# --- Voice v1: Geo Permissions ---------------------------------------------------------


def _calling_code(iso: str) -> list[str]:
    """Twilio's `country_codes` for a country with no scenario value: its ITU calling code."""
    import phonenumbers

    code = phonenumbers.country_code_for_region(iso)
    return [f"+{code}"] if code else []


def _country_name(iso: str) -> str | None:
    from auditor.extract.numberinfo import country_name

    return country_name(iso) or None


def dialing_country(item: Mapping[str, Any]) -> JsonDict:
    """A DialingPermissions Country; name and country codes default from phonenumbers."""
    iso = str(item["iso_code"])
    url = f"{VOICE}/DialingPermissions/Countries/{iso}"
    return {
        "iso_code": iso,
        "name": item["name"] if "name" in item else _country_name(iso),
        "continent": item.get("continent"),
        "country_codes": list(item["country_codes"])
        if "country_codes" in item
        else _calling_code(iso),
        "low_risk_numbers_enabled": bool(item.get("low_risk_numbers_enabled", False)),
        "high_risk_special_numbers_enabled": bool(
            item.get("high_risk_special_numbers_enabled", False)
        ),
        "high_risk_tollfraud_numbers_enabled": bool(
            item.get("high_risk_tollfraud_numbers_enabled", False)
        ),
        "url": url,
        "links": {"highrisk_special_prefixes": f"{url}/HighRiskSpecialPrefixes"},
    }


def high_risk_prefix(prefix: str) -> JsonDict:
    return {"prefix": prefix}


def voice_settings(inheritance: bool) -> JsonDict:
    """/v1/Settings: whether the (sub)account inherits its parent's Geo Permissions."""
    return {"dialing_permissions_inheritance": inheritance, "url": f"{VOICE}/Settings"}


# --- Flex v1 -------------------------------------------------------------------------

# Every property of flex.v1.configuration, in the spec's order.
_FLEX_CONFIGURATION_FIELDS = [
    "account_sid",
    "date_created",
    "date_updated",
    "attributes",
    "status",
    "taskrouter_workspace_sid",
    "taskrouter_target_workflow_sid",
    "taskrouter_target_taskqueue_sid",
    "taskrouter_taskqueues",
    "taskrouter_skills",
    "taskrouter_worker_channels",
    "taskrouter_worker_attributes",
    "taskrouter_offline_activity_sid",
    "runtime_domain",
    "messaging_service_instance_sid",
    "chat_service_instance_sid",
    "flex_service_instance_sid",
    "flex_instance_sid",
    "ui_language",
    "ui_attributes",
    "ui_dependencies",
    "ui_version",
    "service_version",
    "call_recording_enabled",
    "call_recording_webhook_url",
    "crm_enabled",
    "crm_type",
    "crm_callback_url",
    "crm_fallback_url",
    "crm_attributes",
    "public_attributes",
    "plugin_service_enabled",
    "plugin_service_attributes",
    "integrations",
    "outbound_call_flows",
    "serverless_service_sids",
    "queue_stats_configuration",
    "notifications",
    "markdown",
    "url",
    "flex_insights_hr",
    "flex_insights_drilldown",
    "flex_url",
    "channel_configs",
    "debugger_integration",
    "flex_ui_status_report",
    "agent_conv_end_methods",
    "citrix_voice_vdi",
    "offline_config",
]

_FLEX_DEFAULTS: JsonDict = {
    "status": "ok",
    "ui_language": "en",
    "ui_version": "~2.0.0",
    "service_version": "2.0.0",
    "runtime_domain": "https://flex.twilio.com",
    "flex_url": "https://flex.twilio.com",
    "call_recording_enabled": False,
    "crm_enabled": False,
    "plugin_service_enabled": True,
    "flex_insights_drilldown": False,
}


def flex_configuration(item: Mapping[str, Any], account_sid: str) -> JsonDict:
    """An account's Flex Configuration (the instance resource at /v1/Configuration)."""
    out = _fill(_FLEX_CONFIGURATION_FIELDS, _FLEX_DEFAULTS, item)
    out["account_sid"] = account_sid
    out["flex_instance_sid"] = item.get("flex_instance_sid") or (
        "GO" + hashlib.sha256(f"flex:{account_sid}".encode()).hexdigest()[:32]
    )
    out["date_created"] = iso(item.get("date_created"))
    out["date_updated"] = iso(item.get("date_updated") or item.get("date_created"))
    out["url"] = f"{FLEX}/Configuration"
    return out


def error(status: int, code: int, message: str) -> JsonDict:
    """Twilio's error body (v2010 and v1/v2 alike)."""
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def now_utc() -> datetime:
    return datetime.now(UTC)
