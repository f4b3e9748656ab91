"""What Twilio's Console Debugger webhook sends, built from a scenario alert, signed, delivered.

Twilio POSTs each error event form-encoded (`Sid`, `AccountSid`, `ParentAccountSid`,
`Timestamp`, `Level`, `PayloadType`, `Payload` JSON) with `X-Twilio-Signature`
(https://www.twilio.com/docs/usage/troubleshooting/debugging-event-webhooks).
The emulator does the same for `watch`'s tests and the demo: the Payload carries
the alert's request (`webhook.request.parameters`) and the TwiML Twilio received
(`webhook.response.body`), and the signature is computed with the right
account's token (or a wrong one, or none, to test refusals).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

import requests
from twilio.request_validator import RequestValidator


def debugger_form(
    alert: Mapping[str, Any], account_sid: str, parent_sid: str | None
) -> dict[str, str]:
    """The form fields of the Debugger webhook for one scenario alert (docs/scenario-format.md)."""
    code = str(alert.get("error_code", ""))
    level = str(alert.get("log_level") or "error").upper()
    text = dict(parse_qsl(str(alert.get("alert_text") or ""), keep_blank_values=True))
    more_info = {**text, "ErrorCode": code, "LogLevel": level}
    params = dict(parse_qsl(str(alert.get("request_variables") or ""), keep_blank_values=True))
    payload = {
        "resource_sid": alert.get("resource_sid"),
        "service_sid": alert.get("service_sid"),
        "error_code": code,
        "more_info": more_info,
        "webhook": {
            "type": "application/json",
            "request": {
                "method": alert.get("request_method") or "POST",
                "url": alert.get("request_url"),
                "headers": {},
                "parameters": params,
            },
            "response": {
                "status_code": 200,
                "headers": {"Content-Type": "application/xml"},
                "body": alert.get("response_body"),
            },
        },
    }
    return {
        "Sid": str(alert["sid"]),
        "AccountSid": account_sid,
        "ParentAccountSid": parent_sid or "",  # Twilio sends it empty for a parent's event
        "Timestamp": str(alert.get("date_created") or ""),
        "Level": level,
        "PayloadType": "application/json",
        "Payload": json.dumps(payload),
    }


def sign(url: str, form: Mapping[str, str], token: str) -> str:
    """X-Twilio-Signature of a form POST to `url`, as Twilio computes it."""
    return str(RequestValidator(token).compute_signature(url, dict(form)))


def deliver(
    url: str, form: Mapping[str, str], signature: str | None, *, timeout: float = 5.0
) -> int:
    """POST the form to `url` as Twilio would; the HTTP status it answered."""
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    with requests.Session() as session:
        session.trust_env = False  # loopback in tests: no proxy from the environment
        resp = session.post(url, data=dict(form), headers=headers, timeout=timeout)
    return int(resp.status_code)
