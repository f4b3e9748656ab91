"""One error event, whichever way it arrived: a Debugger webhook or a polled Monitor alert.

Both become a `WatchEvent` holding the event as a model `Alert` (the record the
extractor and the rules already read), so the diagnosis is the same code as
`audit`'s whatever the path.

The Debugger webhook's shape (Twilio, "Debugging Events Webhook",
https://www.twilio.com/docs/usage/troubleshooting/debugging-event-webhooks): a
form-encoded POST with `Sid`, `AccountSid`, `ParentAccountSid` (only for a
subaccount; sent empty otherwise), `Timestamp`, `Level` (Error or Warning),
`PayloadType` (`application/json`) and `Payload`, a JSON object with
`resource_sid`, `service_sid`, `error_code`, `more_info` (an object here, not
the URL the Alerts API gives) and the optional `webhook`: `request` (`method`,
`url`, `headers`, `parameters`) and `response` (`status_code`, `headers`,
`body`: the TwiML Twilio received).

Everything in it is untrusted: sizes are capped, types checked, and a malformed
event is one `EventError` line, never an exception from deep inside.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from auditor.model import Alert

ORIGIN_DEBUGGER = "debugger"
ORIGIN_POLL = "poll"

_ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
_EVENT_SID = re.compile(r"^[A-Za-z0-9]{2,64}$")
MAX_FIELD = 64 * 1024  # one form field or TwiML body; the whole request is capped before
MAX_SHORT = 512  # URLs, codes, timestamps
MAX_PARAMETERS = 200


class EventError(ValueError):
    """A Debugger event we cannot read; the message names the field (no event content)."""


@dataclass
class WatchEvent:
    """A Twilio error event; `alert` is it in Monitor's shape (what extraction reads)."""

    sid: str
    account_sid: str
    parent_account_sid: str | None
    timestamp: str  # as Twilio wrote it (ISO 8601)
    level: str
    error_code: str
    origin: str  # ORIGIN_DEBUGGER | ORIGIN_POLL
    alert: Alert


def _short(value: object, name: str) -> str:
    text = "" if value is None else str(value)
    if len(text) > MAX_SHORT:
        raise EventError(f"{name} is longer than {MAX_SHORT} characters")
    return text.strip()


def _long(value: object, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise EventError(f"{name} must be a string")
    if len(value) > MAX_FIELD:
        raise EventError(f"{name} is longer than {MAX_FIELD} characters")
    return value


def _object(value: object, name: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise EventError(f"{name} must be a JSON object")
    return value


def _parameters(value: object) -> str | None:
    """webhook.request.parameters as the form-encoded string Monitor's request_variables is."""
    params = _object(value, "Payload.webhook.request.parameters")
    if not params:
        return None
    if len(params) > MAX_PARAMETERS:
        raise EventError(f"Payload.webhook.request.parameters has more than {MAX_PARAMETERS} keys")
    pairs = []
    for key, item in params.items():
        if isinstance(item, dict | list):
            raise EventError("Payload.webhook.request.parameters values must be strings")
        pairs.append(
            (_short(key, "a parameter name"), _long("" if item is None else str(item), key))
        )
    return urlencode(pairs)


def _alert_text(more_info: object) -> str:
    """more_info (an object in the webhook) as Monitor's form-encoded alert_text."""
    if isinstance(more_info, str):
        return _long(more_info, "Payload.more_info") or ""
    info = _object(more_info, "Payload.more_info")
    pairs = [
        (str(k), str(v))
        for k, v in info.items()
        if isinstance(v, str | int | float) and len(str(v)) <= MAX_SHORT
    ]
    return urlencode(pairs[:MAX_PARAMETERS])


def event_from_debugger(form: Mapping[str, str]) -> WatchEvent:
    """A Debugger webhook's form fields → WatchEvent (raises EventError naming the field)."""
    sid = _short(form.get("Sid"), "Sid")
    if not _EVENT_SID.match(sid):
        raise EventError("Sid is missing or not a Twilio SID")
    account = _short(form.get("AccountSid"), "AccountSid")
    if not _ACCOUNT_SID.match(account):
        raise EventError("AccountSid is missing or not an Account SID (AC + 32 hex)")
    parent = _short(form.get("ParentAccountSid"), "ParentAccountSid") or None
    if parent is not None and not _ACCOUNT_SID.match(parent):
        raise EventError("ParentAccountSid is not an Account SID (AC + 32 hex)")
    raw = _long(form.get("Payload"), "Payload")
    if not raw:
        raise EventError("Payload is missing")
    try:
        payload = json.loads(raw)
    except (ValueError, RecursionError):
        raise EventError("Payload is not valid JSON") from None
    payload = _object(payload, "Payload")
    more_info = payload.get("more_info")
    code = _short(payload.get("error_code"), "Payload.error_code")
    if not code and isinstance(more_info, dict):
        code = _short(more_info.get("ErrorCode"), "Payload.more_info.ErrorCode").split(",")[0]
    if not code:
        raise EventError("Payload.error_code is missing")
    webhook = _object(payload.get("webhook"), "Payload.webhook")
    request = _object(webhook.get("request"), "Payload.webhook.request")
    response = _object(webhook.get("response"), "Payload.webhook.response")
    body = _long(response.get("body"), "Payload.webhook.response.body")
    status = response.get("status_code")
    if isinstance(status, int) and status >= 400:
        body = None  # TwiML answered with an HTTP error never ran
    timestamp = _short(form.get("Timestamp"), "Timestamp")
    level = _short(form.get("Level"), "Level").lower() or "error"
    alert = Alert(
        sid=sid,
        account_sid=account,
        error_code=code,
        log_level=level,
        alert_text=_alert_text(more_info),
        date_created=timestamp,
        request_url=_short(request.get("url"), "Payload.webhook.request.url") or None,
        request_method=_short(request.get("method"), "Payload.webhook.request.method") or None,
        resource_sid=_short(payload.get("resource_sid"), "Payload.resource_sid") or None,
        service_sid=_short(payload.get("service_sid"), "Payload.service_sid") or None,
        request_variables=_parameters(request.get("parameters")),
        response_body=body,
    )
    return WatchEvent(sid, account, parent, timestamp, level, code, ORIGIN_DEBUGGER, alert)


def event_from_alert(alert: Alert, parent_account_sid: str | None = None) -> WatchEvent:
    """A polled Monitor alert (fetched, for caller-ID codes) → WatchEvent."""
    return WatchEvent(
        sid=alert.sid,
        account_sid=alert.account_sid,
        parent_account_sid=parent_account_sid,
        timestamp=alert.date_created,
        level=alert.log_level,
        error_code=str(alert.error_code).strip(),
        origin=ORIGIN_POLL,
        alert=alert,
    )
