"""Map the SDK's typed records onto the model's dataclasses (pure functions, no I/O).

Every record comes from an API we do not control (a subaccount's owner writes the
names and URLs; a proxy or a hostile --api-url writes everything), so each field is
read through `Fields`: a SID must look like a SID (it goes into the next request's
path), text that arrives as a number is kept as text and noted, anything else
unusable raises RecordError, and the walker turns that into a coverage error for
that source while the run goes on.

`admit` is the last gate before the snapshot: the record goes through the very codec
`load_snapshot` uses (so what `collect` writes, `report` loads), with foreign JSON (a
Studio definition) cut at MAX_RECORD_DEPTH levels. URL userinfo is redacted once the
snapshot is complete (redact.redact_in_place), after the webhook probe used it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import is_dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from twilio.base import deserialize

from auditor.codec import (
    MAX_RECORD_DEPTH,
    DecodeError,
    cap_depth,
    conforms,
    field_names,
    from_data,
    to_data,
)
from auditor.model import (
    Account,
    Alert,
    DialingPermissionCountry,
    FlexConfiguration,
    FlexOutboundFlow,
    PhoneNumber,
    ServerlessFunction,
    SipDomain,
    StudioFlow,
    TwimlApp,
    VerifiedCallerId,
)

T = TypeVar("T")

_SID = re.compile(r"^[A-Z]{2}[0-9a-fA-F]{32}$")
_SCALAR = (int, float, bool)


class RecordError(ValueError):
    """An API record we cannot use (no SID, wrong shape); str() is one short line."""


def describe(value: object) -> str:
    """A value's kind for a message (never the value itself: it may be huge or hostile)."""
    if value is None:
        return "null"
    return {str: "text", bool: "a boolean", int: "a number", float: "a number"}.get(
        type(value), f"a {type(value).__name__}"
    )


def iso(value: object) -> str | None:
    """ISO 8601 UTC ('…Z') for a datetime the SDK parsed; strings pass through."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value if isinstance(value, str) else None


# The few fields the mappers read that the SDK's instance parses (twilio.base.deserialize):
# a record read as the JSON object Twilio sent (walker.page_records) is parsed the same way.
Parsers = Mapping[str, Callable[[Any], Any]]
FLOW_PARSED: Parsers = {"revision": deserialize.integer}
ALERT_PARSED: Parsers = {"date_created": deserialize.iso8601_datetime}


class Fields:
    """Typed reads of one SDK record (or JSON object); odd values are noted in `notes`.

    `parsed`: for a JSON object, the fields the SDK's instance would have parsed, and how.
    """

    def __init__(
        self, rec: Any, what: str, notes: list[str] | None, parsed: Parsers | None = None
    ) -> None:
        self.rec = rec
        self.what = what
        self.notes = notes
        self.parsed = parsed

    def raw(self, name: str) -> Any:
        if type(self.rec) is dict or isinstance(self.rec, Mapping):
            value = self.rec.get(name)
            if self.parsed and name in self.parsed:
                return self.parsed[name](value)
            return value
        return getattr(self.rec, name, None)

    def sid(self, name: str = "sid", prefix: str | None = None) -> str:
        value = self.raw(name)
        if not isinstance(value, str) or not _SID.match(value):
            shown = value if isinstance(value, str) and len(value) <= 40 else describe(value)
            raise RecordError(f"{self.what} with {name} {shown!s}, not a Twilio SID")
        if prefix and not value.startswith(prefix):
            raise RecordError(f"{self.what} with {name} {value}, not a {prefix}… SID")
        return value

    def optional_sid(self, name: str) -> str | None:
        return None if not self.raw(name) else self.sid(name)

    def text(self, name: str, default: str = "") -> str:
        value = self.raw(name)
        if isinstance(value, str):
            return value
        if value is None:
            return default
        self._odd(name, value)
        return str(value) if isinstance(value, _SCALAR) else default

    def optional(self, name: str) -> str | None:
        """Text, or None when absent or empty."""
        return self.text(name) or None

    def maybe(self, name: str) -> str | None:
        """Text (empty text kept), or None when absent or null."""
        return None if self.raw(name) is None else self.text(name)

    def integer(self, name: str, default: int = 0) -> int:
        value = self.raw(name)
        if value is None:
            return default
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().isdigit():
            return int(value.strip())
        self._odd(name, value)
        return default

    def mapping(self, name: str) -> dict[str, Any]:
        value = self.raw(name)
        if value is None:
            return {}
        if isinstance(value, Mapping):
            return {str(k): v for k, v in value.items()}
        self._odd(name, value)
        return {}

    def _odd(self, name: str, value: object) -> None:
        if self.notes is not None:
            self.notes.append(f"{self.what}: {name} was {describe(value)}")


def _fields(rec: Any, kind: str, notes: list[str] | None, parsed: Parsers | None = None) -> Fields:
    is_map = type(rec) is dict or isinstance(rec, Mapping)
    sid = rec.get("sid") if is_map else getattr(rec, "sid", None)
    shown = sid if isinstance(sid, str) and _SID.match(sid) else "(no SID)"
    return Fields(rec, f"{kind} {shown}", notes, parsed)


def account(rec: Any, root_sid: str, notes: list[str] | None = None) -> Account:
    f = _fields(rec, "account", notes)
    sid = f.sid(prefix="AC")
    owner = f.optional("owner_account_sid")
    if owner is not None and owner != sid:
        owner = f.sid("owner_account_sid", prefix="AC")
    return Account(
        sid=sid,
        friendly_name=f.text("friendly_name"),
        status=f.text("status"),
        owner_account_sid=None if sid == root_sid or owner == sid else owner,
        type=f.text("type") or "Full",
        date_created=iso(f.raw("date_created")),
    )


def phone_number(rec: Any, account_sid: str, notes: list[str] | None = None) -> PhoneNumber:
    f = _fields(rec, "phone number", notes)
    caps = f.mapping("capabilities")
    return PhoneNumber(
        sid=f.sid(prefix="PN"),
        account_sid=f.optional("account_sid") or account_sid,
        phone_number=f.text("phone_number"),
        friendly_name=f.text("friendly_name"),
        capabilities={k.lower(): bool(v) for k, v in caps.items()},
        voice_url=f.optional("voice_url"),
        voice_method=f.optional("voice_method"),
        voice_application_sid=f.optional_sid("voice_application_sid"),
        trunk_sid=f.optional_sid("trunk_sid"),
        status=f.optional("status"),
        voice_receive_mode=f.optional("voice_receive_mode"),
    )


def verified_caller_id(
    rec: Any, account_sid: str, notes: list[str] | None = None
) -> VerifiedCallerId:
    f = _fields(rec, "verified caller ID", notes)
    return VerifiedCallerId(
        sid=f.sid(prefix="PN"),
        account_sid=f.optional("account_sid") or account_sid,
        phone_number=f.text("phone_number"),
        friendly_name=f.text("friendly_name"),
    )


def application(rec: Any, account_sid: str, notes: list[str] | None = None) -> TwimlApp:
    f = _fields(rec, "TwiML app", notes)
    return TwimlApp(
        sid=f.sid(prefix="AP"),
        account_sid=f.optional("account_sid") or account_sid,
        friendly_name=f.text("friendly_name"),
        voice_url=f.optional("voice_url"),
        voice_method=f.optional("voice_method"),
    )


def sip_domain(rec: Any, account_sid: str, notes: list[str] | None = None) -> SipDomain:
    f = _fields(rec, "SIP domain", notes)
    return SipDomain(
        sid=f.sid(prefix="SD"),
        account_sid=f.optional("account_sid") or account_sid,
        domain_name=f.text("domain_name"),
        friendly_name=f.text("friendly_name"),
        voice_url=f.optional("voice_url"),
        voice_method=f.optional("voice_method"),
    )


def flow(rec: Any, account_sid: str, notes: list[str] | None = None) -> StudioFlow:
    f = _fields(rec, "Studio flow", notes, FLOW_PARSED)
    return StudioFlow(
        sid=f.sid(prefix="FW"),
        account_sid=f.optional("account_sid") or account_sid,
        friendly_name=f.text("friendly_name"),
        status=f.text("status"),
        revision=f.integer("revision"),
        definition=f.mapping("definition"),
        webhook_url=f.optional("webhook_url"),
    )


def fill_flow(target: StudioFlow, rec: Any, notes: list[str] | None = None) -> None:
    """Complete a listed flow with the fetched one (the list carries no definition)."""
    f = _fields(rec, "Studio flow", notes)
    target.definition = f.mapping("definition")
    target.status = f.text("status") or target.status
    target.revision = f.integer("revision", target.revision) or target.revision
    target.friendly_name = f.text("friendly_name") or target.friendly_name


def function_version(
    fv: Any, account_sid: str, service_sid: str, service_name: str, notes: list[str] | None
) -> ServerlessFunction:
    """One entry of a build's `function_versions` (a dict, as Twilio lists them)."""
    if not isinstance(fv, Mapping):
        raise RecordError(f"a build listed a function version that is {describe(fv)}")
    f = Fields(fv, f"function version {fv.get('sid')!s:.40}", notes)
    return ServerlessFunction(
        sid=f.sid("function_sid", prefix="ZH"),
        account_sid=account_sid,
        service_sid=service_sid,
        service_name=service_name,
        path=f.text("path"),
        version_sid=f.sid(prefix="ZN"),
        content="",
    )


def alert(rec: Any, account_sid: str, notes: list[str] | None = None) -> Alert:
    f = _fields(rec, "alert", notes, ALERT_PARSED)
    return Alert(
        sid=f.sid(prefix="NO"),
        account_sid=f.optional("account_sid") or account_sid,
        error_code=f.text("error_code"),
        log_level=f.text("log_level") or "error",
        alert_text=f.text("alert_text"),
        date_created=iso(f.raw("date_created")) or "",
        request_url=f.optional("request_url"),
        request_method=f.optional("request_method"),
        resource_sid=f.optional("resource_sid"),
        service_sid=f.optional("service_sid"),
        request_variables=f.optional("request_variables"),
        response_body=f.optional("response_body"),
    )


def fill_alert(target: Alert, rec: Any, notes: list[str] | None = None) -> None:
    """Complete a listed alert with the fetched one (request and response on fetch only)."""
    f = _fields(rec, "alert", notes)
    target.request_variables = f.optional("request_variables")
    target.response_body = f.optional("response_body")
    target.alert_text = f.text("alert_text") or target.alert_text


def dialing_country(rec: Any, notes: list[str] | None = None) -> DialingPermissionCountry:
    """One entry of DialingPermissions/Countries (unknown flags read as not enabled)."""
    f = Fields(rec, "Geo Permissions country", notes)
    codes = f.raw("country_codes")
    return DialingPermissionCountry(
        iso_code=f.text("iso_code"),
        name=f.text("name"),
        continent=f.text("continent"),
        country_codes=[str(c) for c in codes] if isinstance(codes, list) else [],
        low_risk_numbers_enabled=f.raw("low_risk_numbers_enabled") is True,
        high_risk_special_numbers_enabled=f.raw("high_risk_special_numbers_enabled") is True,
        high_risk_tollfraud_numbers_enabled=f.raw("high_risk_tollfraud_numbers_enabled") is True,
    )


def flex_configuration(
    rec: Any, account_sid: str, notes: list[str] | None = None
) -> FlexConfiguration:
    """The outbound caller IDs of a Flex Configuration; every other setting is dropped.

    `outbound_call_flows` is free-form JSON in Twilio's schema (documented: `default` with
    `caller_id`, `queue_sid`, `workflow_sid`, `location`); entries that are not objects are
    skipped.
    """
    f = Fields(rec, "Flex configuration", notes)
    flows = f.raw("outbound_call_flows")
    out: list[FlexOutboundFlow] = []
    if isinstance(flows, dict):
        for name, flow in sorted(flows.items(), key=lambda kv: str(kv[0])):
            if not isinstance(flow, dict):
                continue
            g = Fields(flow, f"Flex outbound flow {str(name)[:40]}", notes)
            out.append(
                FlexOutboundFlow(
                    name=str(name),
                    caller_id=g.maybe("caller_id"),
                    queue_sid=g.maybe("queue_sid"),
                    workflow_sid=g.maybe("workflow_sid"),
                    location=g.maybe("location"),
                )
            )
    return FlexConfiguration(
        account_sid=account_sid,  # the Configuration answers for the authenticating account
        status=f.maybe("status"),
        flex_instance_sid=f.maybe("flex_instance_sid"),
        outbound_call_flows=out,
    )


def _fields_data(item: Any) -> dict[str, Any]:
    """The record's fields as from_data takes them: a shallow dict (records are flat JSON),
    with any nested dataclass converted; from_data copies and checks the rest."""
    data = {}
    for name in field_names(type(item)):
        value = getattr(item, name)
        nested = isinstance(value, list) and value and is_dataclass(value[0])
        data[name] = to_data(value) if nested or is_dataclass(value) else value
    return data


def admit(item: T) -> tuple[T, int]:
    """`item` as the snapshot will hold it, and how many too-deep JSON subtrees were cut.

    Raises RecordError when the record does not fit the model (the loader would
    reject the whole snapshot for it). A flat record whose every field already has its
    exact type is admitted as it is (codec.conforms): from_data would copy it unchanged.
    """
    if conforms(item):
        return item, 0
    data, cut = cap_depth(_fields_data(item), MAX_RECORD_DEPTH)
    try:
        return from_data(type(item), data), cut
    except DecodeError as exc:
        raise RecordError(f"a record does not fit the snapshot ({exc})") from None
