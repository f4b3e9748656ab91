"""A small hierarchy for the watch tests: a parent, two clinics, one number used across them.

Riverside's TwiML dials with Hillcrest's nurse line (13214 when it runs in
Riverside); Riverside owns its own main line; nobody owns TYPO.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

PARENT = "AC" + "a0" * 16
RIVERSIDE = "AC" + "b1" * 16
HILLCREST = "AC" + "c2" * 16
TOKENS = {PARENT: "1" * 32, RIVERSIDE: "2" * 32, HILLCREST: "3" * 32}
NAMES = {PARENT: "Northwind (parent)", RIVERSIDE: "Clinic Riverside", HILLCREST: "Clinic Hillcrest"}

NURSE_LINE = "+13605550105"  # owned by Hillcrest
NURSE_PN = "PN" + "c3" * 16
RIVERSIDE_MAIN = "+19715550101"  # owned by Riverside
RIVERSIDE_PN = "PN" + "b4" * 16
TYPO = "+13605551015"  # owned by nobody
PATIENT = "+15035550199"
IVR_URL = "https://ivr.example.com/voice/route"


def twiml(caller_id: str) -> str:
    return f'<Response><Dial callerId="{caller_id}"><Number>{PATIENT}</Number></Dial></Response>'


def alert(sid_suffix: str, caller_id: str, when: datetime, code: str = "13214") -> dict[str, Any]:
    """A scenario alert (Monitor's shape) for a Dial in Riverside with `caller_id`."""
    return {
        "sid": "NO" + sid_suffix.rjust(32, "0"),
        "error_code": code,
        "log_level": "warning",
        "alert_text": "Msg=Dial%3A+Invalid+callerId+value",
        "date_created": when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "request_url": IVR_URL,
        "request_method": "POST",
        "resource_sid": "CA" + sid_suffix.rjust(32, "0"),
        "request_variables": f"From=%2B15035550123&To=%2B19715550101&CallSid=CA{sid_suffix}",
        "response_body": twiml(caller_id),
    }


def scenario() -> dict[str, Any]:
    def account(sid: str, owner: str | None, **extra: Any) -> dict[str, Any]:
        return {
            "sid": sid,
            "friendly_name": NAMES[sid],
            "status": "active",
            "owner_account_sid": owner,
            "auth_token": TOKENS[sid],
            **extra,
        }

    return {
        "name": "watch",
        "accounts": [
            account(PARENT, None),
            account(
                RIVERSIDE,
                PARENT,
                incoming_phone_numbers=[
                    {
                        "sid": RIVERSIDE_PN,
                        "phone_number": RIVERSIDE_MAIN,
                        "friendly_name": "Riverside main",
                        "voice_url": IVR_URL,
                    }
                ],
            ),
            account(
                HILLCREST,
                PARENT,
                incoming_phone_numbers=[
                    {"sid": NURSE_PN, "phone_number": NURSE_LINE, "friendly_name": "Nurse line"}
                ],
            ),
        ],
    }
