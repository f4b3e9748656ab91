"""Map the SDK's typed records onto the model's dataclasses (pure functions, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from auditor.model import (
    Account,
    Alert,
    DialingPermissionCountry,
    FlexConfiguration,
    FlexOutboundFlow,
    PhoneNumber,
    SipDomain,
    StudioFlow,
    TwimlApp,
    VerifiedCallerId,
)


def iso(value: object) -> str | None:
    """ISO 8601 UTC ('…Z') for a datetime the SDK parsed; strings pass through."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def _s(value: object) -> str | None:
    return None if value is None else str(value)


def account(rec: Any, root_sid: str) -> Account:
    owner = _s(rec.owner_account_sid)
    return Account(
        sid=rec.sid,
        friendly_name=rec.friendly_name or "",
        status=str(rec.status or ""),
        owner_account_sid=None if rec.sid == root_sid or owner == rec.sid else owner,
        type=str(rec.type or "Full"),
        date_created=iso(rec.date_created),
    )


def phone_number(rec: Any, account_sid: str) -> PhoneNumber:
    caps = rec.capabilities or {}
    return PhoneNumber(
        sid=rec.sid,
        account_sid=rec.account_sid or account_sid,
        phone_number=rec.phone_number or "",
        friendly_name=rec.friendly_name or "",
        capabilities={str(k).lower(): bool(v) for k, v in dict(caps).items()},
        voice_url=rec.voice_url or None,
        voice_method=_s(rec.voice_method),
        voice_application_sid=rec.voice_application_sid or None,
        trunk_sid=rec.trunk_sid or None,
        status=_s(rec.status),
        voice_receive_mode=_s(rec.voice_receive_mode),
    )


def verified_caller_id(rec: Any, account_sid: str) -> VerifiedCallerId:
    return VerifiedCallerId(
        sid=rec.sid,
        account_sid=rec.account_sid or account_sid,
        phone_number=rec.phone_number or "",
        friendly_name=rec.friendly_name or "",
    )


def application(rec: Any, account_sid: str) -> TwimlApp:
    return TwimlApp(
        sid=rec.sid,
        account_sid=rec.account_sid or account_sid,
        friendly_name=rec.friendly_name or "",
        voice_url=rec.voice_url or None,
        voice_method=_s(rec.voice_method),
    )


def sip_domain(rec: Any, account_sid: str) -> SipDomain:
    return SipDomain(
        sid=rec.sid,
        account_sid=rec.account_sid or account_sid,
        domain_name=rec.domain_name or "",
        friendly_name=rec.friendly_name or "",
        voice_url=rec.voice_url or None,
        voice_method=_s(rec.voice_method),
    )


def flow(rec: Any, account_sid: str) -> StudioFlow:
    return StudioFlow(
        sid=rec.sid,
        account_sid=rec.account_sid or account_sid,
        friendly_name=rec.friendly_name or "",
        status=str(rec.status or ""),
        revision=int(rec.revision or 0),
        definition=dict(rec.definition or {}),
        webhook_url=rec.webhook_url or None,
    )


def fill_flow(target: StudioFlow, rec: Any) -> None:
    """Complete a listed flow with the fetched one (the list carries no definition)."""
    target.definition = dict(rec.definition or {})
    target.status = str(rec.status or target.status)
    target.revision = int(rec.revision or target.revision)
    target.friendly_name = rec.friendly_name or target.friendly_name


def alert(rec: Any, account_sid: str) -> Alert:
    return Alert(
        sid=rec.sid,
        account_sid=rec.account_sid or account_sid,
        error_code=str(rec.error_code or ""),
        log_level=str(rec.log_level or "error"),
        alert_text=rec.alert_text or "",
        date_created=iso(rec.date_created) or "",
        request_url=rec.request_url or None,
        request_method=_s(rec.request_method),
        resource_sid=rec.resource_sid or None,
        service_sid=rec.service_sid or None,
        request_variables=getattr(rec, "request_variables", None),
        response_body=getattr(rec, "response_body", None),
    )


def fill_alert(target: Alert, rec: Any) -> None:
    """Complete a listed alert with the fetched one (request and response on fetch only)."""
    target.request_variables = rec.request_variables
    target.response_body = rec.response_body
    target.alert_text = rec.alert_text or target.alert_text


def dialing_country(rec: Any) -> DialingPermissionCountry:
    """One entry of DialingPermissions/Countries (unknown flags read as not enabled)."""
    return DialingPermissionCountry(
        iso_code=str(rec.iso_code or ""),
        name=rec.name or "",
        continent=rec.continent or "",
        country_codes=[str(c) for c in (rec.country_codes or [])],
        low_risk_numbers_enabled=rec.low_risk_numbers_enabled is True,
        high_risk_special_numbers_enabled=rec.high_risk_special_numbers_enabled is True,
        high_risk_tollfraud_numbers_enabled=rec.high_risk_tollfraud_numbers_enabled is True,
    )


def flex_configuration(rec: Any, account_sid: str) -> FlexConfiguration:
    """The outbound caller IDs of a Flex Configuration; every other setting is dropped.

    `outbound_call_flows` is free-form JSON in Twilio's schema (documented: `default` with
    `caller_id`, `queue_sid`, `workflow_sid`, `location`); entries that are not objects are
    skipped.
    """
    flows = rec.outbound_call_flows
    out: list[FlexOutboundFlow] = []
    if isinstance(flows, dict):
        for name, flow in sorted(flows.items(), key=lambda kv: str(kv[0])):
            if not isinstance(flow, dict):
                continue
            out.append(
                FlexOutboundFlow(
                    name=str(name),
                    caller_id=_s(flow.get("caller_id")),
                    queue_sid=_s(flow.get("queue_sid")),
                    workflow_sid=_s(flow.get("workflow_sid")),
                    location=_s(flow.get("location")),
                )
            )
    return FlexConfiguration(
        account_sid=account_sid,  # the Configuration answers for the authenticating account
        status=_s(rec.status),
        flex_instance_sid=_s(rec.flex_instance_sid),
        outbound_call_flows=out,
    )
