"""A hand-built Snapshot + Analysis for the renderer tests: every rule id, hostile account data.

Hostile on purpose: `<script>` and quotes in friendly names, right-to-left text, emoji,
a 10,000-character value, a CSV formula. The renderers must escape all of it and keep
the layout inside the page.
"""

from __future__ import annotations

from auditor.model import (
    Account,
    Alert,
    Analysis,
    CallerIdReference,
    Finding,
    PhoneNumber,
    Snapshot,
    Source,
    StudioFlow,
    TwimlApp,
    VerifiedCallerId,
)
from auditor.rules import ALL_RULES as REGISTERED_RULES

SCRIPT_NAME = "Clinic <script>alert('x')</script> \"North\" & 'Co'"
RTL_NAME = "عيادة الشمال — فرع ٢"
EMOJI_NAME = "Call centre 📞🚑 ⚕️"
LONG_VALUE = "+1" + "9" * 9998  # 10,000 characters
FORMULA_NAME = '=HYPERLINK("http://evil.example/","click")'

ALL_RULES = [rule.id for rule in REGISTERED_RULES]  # the fixture must fire every one

_SEVERITY = {
    "callerid-not-authorized": "critical",
    "callerid-owner-inactive": "medium",
    "callerid-missing-client-leg": "medium",
    "verified-callerid-duplicated": "low",
    "callerid-passthrough": "info",
}


def sid(prefix: str, n: int) -> str:
    return f"{prefix}{n:032x}"


ROOT = sid("AC", 1)
CLINIC = sid("AC", 2)
RTL = sid("AC", 3)
CALLS = sid("AC", 4)
BILLING = sid("AC", 5)
LEGACY = sid("AC", 6)
CLOSED = sid("AC", 7)


def build_snapshot() -> Snapshot:
    accounts = [
        Account(ROOT, "Northwind Health (parent)", "active", None),
        Account(CLINIC, SCRIPT_NAME, "active", ROOT),
        Account(RTL, RTL_NAME, "active", ROOT),
        Account(CALLS, EMOJI_NAME, "active", ROOT),
        Account(BILLING, "Billing " + "x" * 9992, "active", ROOT),
        Account(LEGACY, "Legacy IVR", "suspended", ROOT),
        Account(CLOSED, "Old pharmacy", "closed", ROOT),
    ]
    numbers: list[PhoneNumber] = []
    n = 0
    for acc_i, acc in enumerate(accounts):
        for j in range(3 + acc_i):
            n += 1
            numbers.append(
                PhoneNumber(
                    sid=sid("PN", n),
                    account_sid=acc.sid,
                    phone_number=f"+1555{acc_i:03d}{j:04d}",
                    friendly_name=FORMULA_NAME
                    if n == 5
                    else f"Line {j} of {acc.friendly_name[:20]}",
                    capabilities={"voice": True, "sms": True},
                    voice_url=f"https://ivr.example.com/{acc_i}/voice?x=<b>",
                    voice_application_sid=sid("AP", acc_i) if j == 0 else None,
                    status="in-use",
                )
            )
    verified = [
        VerifiedCallerId(sid("PN", 900), CALLS, "+15559990001", "Front desk <i>cell</i>"),
        VerifiedCallerId(sid("PN", 901), RTL, "+15559990001", RTL_NAME),
        VerifiedCallerId(sid("PN", 902), BILLING, "+15559990002", EMOJI_NAME),
    ]
    apps = [
        TwimlApp(sid("AP", i), acc.sid, f"App {acc.friendly_name[:30]}", f"https://app.example/{i}")
        for i, acc in enumerate(accounts)
    ]
    flows = [
        StudioFlow(sid("FW", 1), CLINIC, 'Reception flow "main"', "published", 3, {}),
    ]
    alerts = [
        Alert(
            sid("NO", 1),
            CLINIC,
            "13214",
            alert_text="Msg=Dial: Invalid callerId value&callerId=%2B15550010000",
            date_created="2026-11-20T10:00:00Z",
            response_body='<Response><Dial callerId="+15550010000">+15551234567</Dial></Response>',
        )
    ]
    sources = ["phone_numbers", "verified_caller_ids", "flows", "functions", "alerts"]
    coverage = {acc.sid: dict.fromkeys(sources, "ok") for acc in accounts}
    coverage[CLOSED] = {
        "phone_numbers": "ok",
        "verified_caller_ids": "ok",
        "flows": "error: 401 <Unauthorized> account closed",
        "functions": "error: 401 account closed",
        "alerts": "skipped",
    }
    coverage[LEGACY]["functions"] = "skipped"
    return Snapshot(
        root_account_sid=ROOT,
        collected_at="2026-11-29T12:00:00Z",
        tool_version="0.1.0",
        alert_window_days=30,
        accounts=accounts,
        phone_numbers=numbers,
        verified_caller_ids=verified,
        applications=apps,
        flows=flows,
        alerts=alerts,
        coverage=coverage,
    )


def _finding(i: int, rule: str, account: str, caller_id: str | None, **kw: object) -> Finding:
    source = kw.pop("source", None) or Source("studio_flow", sid("FW", 1), "dial_widget")
    return Finding(
        rule=rule,
        severity=_SEVERITY.get(rule, "high"),
        account_sid=account,
        caller_id=caller_id,
        raw_value=kw.pop("raw_value", caller_id),  # type: ignore[arg-type]
        owner_account_sid=kw.pop("owner", None),  # type: ignore[arg-type]
        source=source,  # type: ignore[arg-type]
        message=str(kw.pop("message", f"{rule} fired for {caller_id} <b>not bold</b>")),
        remediation=str(
            kw.pop("remediation", f"Fix {caller_id} in the account. Then call again <script>.")
        ),
        impacted=kw.pop("impacted", [sid("PN", 4), sid("FW", 1)]),  # type: ignore[arg-type]
        error_codes=[13214],
        fingerprint=f"fp{i:04d}",
        path=kw.pop("path", []),  # type: ignore[arg-type]
        details=kw.pop("details", {}),  # type: ignore[arg-type]
        destination=kw.pop("destination", None),  # type: ignore[arg-type]
        destination_country=kw.pop("destination_country", None),  # type: ignore[arg-type]
    )


def build_analysis() -> Analysis:
    code = Source("code", None, "src/app/dial.js:42")
    findings = [
        _finding(1, "callerid-not-authorized", CLINIC, "+15550010000"),
        _finding(2, "callerid-not-authorized", CALLS, LONG_VALUE, source=code),
        _finding(
            3,
            "callerid-cross-account",
            CLINIC,
            "+15550020000",
            owner=RTL,
            path=[CLINIC, ROOT, RTL],
            remediation="Move +15550020000 from the RTL clinic to the Clinic: POST "
            "/2010-04-01/Accounts/AC…/IncomingPhoneNumbers/PN….json AccountSid=AC…",
        ),
        _finding(
            4, "callerid-cross-account", CALLS, "+15550020001", owner=RTL, path=[CALLS, ROOT, RTL]
        ),
        _finding(
            5, "callerid-cross-account", CALLS, "+15550000000", owner=ROOT, path=[CALLS, ROOT]
        ),
        _finding(
            6, "callerid-not-e164", RTL, "5550020000", raw_value="(555) 002-0000", source=code
        ),
        _finding(7, "callerid-empty", BILLING, None, raw_value="{{caller_id}}"),
        _finding(
            8, "callerid-client-on-pstn", CALLS, 'client:agent"1"', raw_value='client:agent"1"'
        ),
        _finding(9, "callerid-released", CLINIC, "+15550019999"),
        _finding(
            10,
            "webhook-context-mismatch",
            CALLS,
            "+15550030000",
            source=Source("webhook", None, "https://ivr.example.com/x"),
        ),
        _finding(
            11,
            "callerid-owner-inactive",
            CLINIC,
            "+15550050000",
            owner=LEGACY,
            path=[CLINIC, ROOT, LEGACY],
        ),
        _finding(
            12,
            "alert-13214-observed",
            CLINIC,
            "+15550010000",
            source=Source("alert", sid("NO", 1), "response_body"),
            details={
                "count": 17,
                "first_seen": "2026-11-01T08:00:00Z",
                "last_seen": "2026-11-20T10:00:00Z",
            },
        ),
        _finding(
            13,
            "policy-callerid-missing",
            BILLING,
            "+15550090000",
            source=Source("policy", None, "policy.toml:3"),
        ),
        _finding(14, "callerid-missing-client-leg", CALLS, None, raw_value=""),
        _finding(
            15,
            "verified-callerid-duplicated",
            CALLS,
            "+15559990001",
            source=Source("inventory", sid("PN", 900), None),
        ),
        _finding(16, "callerid-passthrough", RTL, "{{trigger.call.From}}", source=code),
        _finding(
            17,
            "dial-destination-not-permitted",
            CALLS,
            "+15550020001",
            source=code,
            destination="+4930901820",
            destination_country="DE",
        ),
        _finding(
            18,
            "callerid-geo-restricted",
            RTL,
            "+902122223344",
            destination="+902163334455",
            destination_country="TR",
            details={"country_rule": "tr-turkish-callerid", "effect": "refused"},
        ),
        _finding(
            19,
            "callerid-verified-unsupported-in-region",
            CALLS,
            "+15559990001",
            owner=CALLS,
            details={"region": "IE1", "held_as": "verified"},
        ),
    ]
    refs = [
        CallerIdReference(
            "+15550020000",
            "number",
            Source("studio_flow", sid("FW", 1), "dial"),
            CLINIC,
            e164="+15550020000",
            dialed="number",
        ),
        CallerIdReference(
            "+15550020001", "number", code, CALLS, e164="+15550020001", dialed="number"
        ),
        CallerIdReference(
            "+15550000000", "number", code, CALLS, e164="+15550000000", dialed="number"
        ),
        CallerIdReference(
            "+15550010000",
            "number",
            Source("alert", sid("NO", 1), "response_body"),
            CLINIC,
            e164="+15550010000",
        ),
        CallerIdReference(
            "+15551000000", "number", code, RTL, e164="+15551000000", dialed="number"
        ),
    ]
    return Analysis(
        findings=findings, references=refs, notes=["TwiML of alert NO… could not be parsed <x>"]
    )
