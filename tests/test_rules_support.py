"""Builders for small hand-made hierarchies shared by the graph, rules and findings tests.

Hierarchy: ROOT (parent) → A, B (siblings), C (closed). Numbers:
ROOT owns +15550000001, A owns +15551110001 ('Main line A'), B owns +15552220001
('Front desk B', answers calls at B_URL), C owns +15554440001; B has verified
+15553330001.
"""

from __future__ import annotations

from auditor.extract.values import classify
from auditor.model import (
    Account,
    Alert,
    CallerIdReference,
    PhoneNumber,
    ServerlessFunction,
    Snapshot,
    Source,
    StudioFlow,
    TwimlApp,
    VerifiedCallerId,
    WebhookResponse,
)

ROOT = "AC" + "0" * 32
A = "AC" + "a" * 32
B = "AC" + "b" * 32
C = "AC" + "c" * 32
ROOT_NUM, A_NUM, B_NUM, C_NUM = "+15550000001", "+15551110001", "+15552220001", "+15554440001"
B_VERIFIED = "+15553330001"
STRANGER = "+15559990001"
B_URL = "https://b.example.com/voice"
FLOW_A = "FW" + "a" * 32
FUNC_A = "ZH" + "a" * 32
APP_A = "AP" + "a" * 32


def pn(tag: str) -> str:
    return "PN" + tag.ljust(32, "0")


def accounts() -> list[Account]:
    return [
        Account(ROOT, "Parent", "active", None),
        Account(A, "Clinic A", "active", ROOT),
        Account(B, "Clinic B", "active", ROOT),
        Account(C, "Old clinic", "closed", ROOT),
    ]


def numbers() -> list[PhoneNumber]:
    return [
        PhoneNumber(pn("root"), ROOT, ROOT_NUM, "HQ", {"voice": True}),
        PhoneNumber(
            pn("a1"), A, A_NUM, "Main line A", {"voice": True}, voice_application_sid=APP_A
        ),
        PhoneNumber(pn("b1"), B, B_NUM, "Front desk B", {"voice": True}, voice_url=B_URL),
        PhoneNumber(pn("c1"), C, C_NUM, "Old line", {"voice": True}),
    ]


def make_snapshot(**overrides: object) -> Snapshot:
    data: dict[str, object] = {
        "root_account_sid": ROOT,
        "collected_at": "2026-11-29T12:00:00Z",
        "tool_version": "test",
        "accounts": accounts(),
        "phone_numbers": numbers(),
        "verified_caller_ids": [VerifiedCallerId(pn("vb"), B, B_VERIFIED, "B cell")],
        "applications": [
            TwimlApp(
                APP_A, A, "IVR A", f"https://webhooks.twilio.com/v1/Accounts/{A}/Flows/{FLOW_A}"
            )
        ],
        "flows": [StudioFlow(FLOW_A, A, "Triage A", "published", 3)],
        "functions": [
            ServerlessFunction(
                FUNC_A,
                A,
                "ZS" + "a" * 32,
                "clinic-a",
                "/dial",
                "ZN" + "a" * 32,
                "",
                domain_name="clinic-a-1234.twil.io",
            )
        ],
        "coverage": {A: {"studio": "ok"}, ROOT: {"api": "ok"}},
    }
    data.update(overrides)
    return Snapshot(**data)  # type: ignore[arg-type]


def make_ref(
    value: str,
    account: str | None = A,
    *,
    source: Source | None = None,
    dialed: str = "number",
    **fields: object,
) -> CallerIdReference:
    """A reference classified the way the extractor classifies values."""
    c = classify(value)
    data: dict[str, object] = {
        "raw_value": value,
        "kind": c.kind,
        "source": source or Source("studio_flow", FLOW_A, "dial_nurse"),
        "executing_account_sid": account,
        "e164": c.e164,
        "dialed": dialed,
        "passthrough": c.passthrough,
        "template": c.template,
    }
    data.update(fields)
    return CallerIdReference(**data)  # type: ignore[arg-type]


def webhook_ref(
    value: str, account: str | None, url: str = B_URL, **fields: object
) -> CallerIdReference:
    return make_ref(value, account, source=Source("webhook", None, url), **fields)


def alert(sid_tag: str, account: str, when: str, **fields: object) -> Alert:
    data: dict[str, object] = {
        "sid": "NO" + sid_tag.ljust(32, "0"),
        "account_sid": account,
        "error_code": "13214",
        "date_created": when,
        "request_url": B_URL,
        "request_variables": f"From=%2B15557770001&To=%2B{B_NUM[1:]}",
    }
    data.update(fields)
    return Alert(**data)  # type: ignore[arg-type]


def alert_ref(a: Alert, value: str) -> CallerIdReference:
    return make_ref(value, a.account_sid, source=Source("alert", a.sid, "response_body"))


def webhook(url: str, served: list[str], **fields: object) -> WebhookResponse:
    return WebhookResponse(
        url=url, method="POST", http_status=200, served_accounts=served, **fields
    )  # type: ignore[arg-type]
