"""watch judges each event on a graph built once: the findings must be the audit's.

The oracle is the audit itself: `analyse_references` on the snapshot with the event's
alert as its alert window (and, when Twilio was asked who holds a number now, with that
number's holders replaced by the answer), over every reference of the snapshot (its old
alerts say who uses which number) plus the event's. For a generated hierarchy collected
through the emulator, a few hundred events — every kind of caller ID, entry point,
destination and live answer the rules tell apart — must give exactly the same findings
about the event's alert, down to the message, the fix, who hears it and the fingerprint.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import asdict, replace
from datetime import timedelta
from typing import Any

import pytest
from watch_support import assert_diagnosed_as_audited

from auditor.analysis import analyse, analyse_references
from auditor.collect import CollectConfig, collect
from auditor.collect.credentials import Credentials
from auditor.emulator import EmulatorServer
from auditor.emulator.generate import NOW, generate_hierarchy
from auditor.emulator.shapes import parse_iso
from auditor.extract import references_from_snapshot
from auditor.extract.alerts import extract_alert
from auditor.lookup import Authorization, CallerIdStatus
from auditor.model import (
    Alert,
    CallerIdReference,
    Finding,
    PhoneNumber,
    Snapshot,
    SourceKind,
    VerifiedCallerId,
)
from auditor.watch.diagnose import DIAGNOSED_CODES, Diagnoser
from auditor.watch.events import event_from_alert
from auditor.watch.live import LiveHolders
from auditor.watch.prepared import PreparedSnapshot

SUBACCOUNTS, NUMBERS = 24, 6
UNKNOWN = "+14155550100"  # nobody's
US_DEST, GB_DEST, PREMIUM_DEST = "+15005550006", "+442071838750", "+19005550100"


def _scenario() -> dict[str, Any]:
    scenario = generate_hierarchy(SUBACCOUNTS, NUMBERS)
    accounts = scenario["accounts"]
    accounts[3]["status"] = "suspended"  # its numbers, borrowed by account 2: owner-inactive
    # One Verified Caller ID held by two accounts (verified-callerid-duplicated).
    accounts[5]["outgoing_caller_ids"].append(
        {**accounts[6]["outgoing_caller_ids"][0], "sid": "PN" + "d5" * 16}
    )
    # The generator's alerts dial their own caller ID (a pass-through); add the failures
    # watch exists for: a sibling's number in a Dial and in a Calls API From, and a Dial
    # to a country the Geo Permissions block.
    for i in (1, 2, 4, 8, 16):
        acc, sibling = accounts[i], accounts[i + 1]
        own = acc["incoming_phone_numbers"][0]
        borrowed = sibling["incoming_phone_numbers"][0]["phone_number"]
        form = f"From=%2B15035550123&To={own['phone_number'].replace('+', '%2B')}"
        base = {
            "log_level": "error",
            "date_created": "2026-11-28T10:00:00Z",
            "request_url": own["voice_url"],
            "request_method": "POST",
            "request_variables": form,
            "alert_text": "Msg=refused",
        }
        for k, (code, caller, dest) in enumerate(
            (("13214", borrowed, US_DEST), ("13227", own["phone_number"], GB_DEST))
        ):
            body = f'<Response><Dial callerId="{caller}"><Number>{dest}</Number></Dial></Response>'
            acc["alerts"].append(
                {**base, "sid": f"NO{i:02d}{k:030d}", "error_code": code, "response_body": body}
            )
        rest = f"From={borrowed.replace('+', '%2B')}&To=%2B15005550006"
        acc["alerts"].append(
            {
                **base,
                "sid": f"NO{i:02d}{9:030d}",
                "error_code": "21210",
                "request_url": None,
                "request_variables": rest,
                "response_body": None,
            }
        )
    return scenario


@pytest.fixture(scope="module")
def snapshot() -> Snapshot:
    scenario = _scenario()
    parent = scenario["accounts"][0]
    creds = Credentials(parent["sid"], parent["auth_token"])
    with EmulatorServer(scenario) as em:
        return collect(CollectConfig(creds, api_url=em.url, now=parse_iso(NOW)))


# ---------------------------------------------------------------------------- the oracle


def _with_live(snapshot: Snapshot, live: Sequence[LiveHolders]) -> Snapshot:
    """The snapshot as Twilio's answers say it is now: each answered number's holders in the
    accounts asked (all of them when complete) replaced by the answer."""
    answered = [h for h in live if h.error is None]

    def stale(item: PhoneNumber | VerifiedCallerId) -> bool:
        return any(
            item.phone_number == h.e164 and (h.complete or item.account_sid == h.executing)
            for h in answered
        )

    numbers = [n for n in snapshot.phone_numbers if not stale(n)]
    verified = [v for v in snapshot.verified_caller_ids if not stale(v)]
    known = {(n.sid, n.account_sid): n for n in snapshot.phone_numbers}
    for h in answered:
        for s in h.holders:
            sid = s.resource_sid or ""
            if s.authorization is Authorization.OWNED:
                numbers.append(
                    known.get((sid, s.account_sid))
                    or PhoneNumber(sid=sid, account_sid=s.account_sid, phone_number=h.e164)
                )
            elif s.authorization is Authorization.VERIFIED:
                verified.append(
                    VerifiedCallerId(sid=sid, account_sid=s.account_sid, phone_number=h.e164)
                )
    return replace(snapshot, phone_numbers=numbers, verified_caller_ids=verified)


def audit_of(
    snapshot: Snapshot,
    others: Sequence[CallerIdReference],
    alert: Alert,
    refs: Sequence[CallerIdReference],
    live: Sequence[LiveHolders],
) -> list[Finding]:
    """The audit's findings about `alert`, run whole on the snapshot holding it."""
    snap = _with_live(replace(snapshot, alerts=[alert]), live)
    found = analyse_references(snap, [*others, *refs]).findings
    return [f for f in found if f.source.kind == SourceKind.ALERT and f.source.sid == alert.sid]


# ---------------------------------------------------------------------------- the events


def _alert(n: int, account: str, code: str, body: str | None, **kw: str | None) -> Alert:
    return Alert(
        sid=f"NO{n:032d}",
        account_sid=account,
        error_code=code,
        date_created=NOW,
        request_method="POST",
        response_body=body,
        **kw,  # type: ignore[arg-type]
    )


def _events(snapshot: Snapshot) -> list[tuple[Alert, str]]:
    """(alert, what it is) for the kinds of events the rules tell apart."""
    subs = [a.sid for a in snapshot.accounts if a.owner_account_sid]
    parent = snapshot.root_account_sid
    numbers: dict[str, list[PhoneNumber]] = {}
    for number in snapshot.phone_numbers:
        numbers.setdefault(number.account_sid, []).append(number)
    verified = {v.account_sid: v.phone_number for v in snapshot.verified_caller_ids}
    apps = {a.account_sid: a for a in snapshot.applications}
    out: list[tuple[Alert, str]] = []
    counter = itertools.count(1)
    for x in (subs[1], subs[2], subs[7], parent):
        own = numbers[x][0]
        i = subs.index(x) if x in subs else -1
        sibling = subs[(i + 1) % len(subs)]
        callers = {
            "own": own.phone_number,
            "sibling": numbers[sibling][0].phone_number,
            "parent's": numbers[parent][0].phone_number,
            "suspended owner's": numbers[subs[3]][1].phone_number,
            "own verified": verified[x],
            "another's verified": verified[sibling],
            "duplicated verified": verified[subs[6]],
            "unknown": UNKNOWN,
            "not E.164": numbers[sibling][0].phone_number[2:],
            "empty": "",
            "client": "client:alice",
            "pass-through": "+15035550123",
        }
        entries: dict[str, dict[str, str | None]] = {
            "flow webhook, To own": {
                "request_url": own.voice_url,
                "request_variables": f"From=%2B15035550123&To={own.phone_number}",
            },
            "shared voice URL": {
                "request_url": numbers[x][-1].voice_url,
                "request_variables": "From=%2B15035550123",
            },
            "app": {
                "request_url": apps[x].voice_url,
                "resource_sid": apps[x].sid,
                "request_variables": "From=client%3Aalice&To=%2B15005550006",
            },
            "number resource, unknown URL": {
                "request_url": "https://elsewhere.example.com/x",
                "resource_sid": numbers[x][2].sid,
            },
            "own number as resource": {"request_url": None, "resource_sid": own.sid},
        }
        for (what, value), (where, entry) in itertools.product(callers.items(), entries.items()):
            dial = f'<Dial callerId="{value}"><Number>{US_DEST}</Number></Dial>'
            body = f"<Response>{dial}</Response>"
            out.append((_alert(next(counter), x, "13214", body, **entry), f"{what} / {where}"))
        for dests in ([GB_DEST], [PREMIUM_DEST], [US_DEST, GB_DEST]):
            legs = "".join(f"<Number>{d}</Number>" for d in dests)
            body = f'<Response><Dial callerId="{own.phone_number}">{legs}</Dial></Response>'
            entry = entries["flow webhook, To own"]
            out.append((_alert(next(counter), x, "13227", body, **entry), f"13227 to {dests}"))
        for what, code in itertools.product(("own", "sibling", "unknown"), ("21210", "21215")):
            sent = callers[what].replace("+", "%2B")
            for text, form in (
                ("Msg=refused", f"From={sent}&To=%2B442071838750"),  # From: the request's
                (f"Msg=refused&From={sent}", "To=%2B442071838750"),  # From: the alert text
            ):
                alert = _alert(
                    next(counter),
                    x,
                    code,
                    None,
                    alert_text=text,
                    request_url=None,
                    request_variables=form,
                )
                out.append((alert, f"Calls API {code} from {what} ({text})"))
    return out


def _answers(snapshot: Snapshot, refs: Sequence[CallerIdReference]) -> list[list[LiveHolders]]:
    """Live answers Twilio might give for the event's number: none, as the snapshot says,
    moved to the executing account, released, verified elsewhere, and a failed lookup."""
    ref = next((r for r in refs if r.e164 and r.executing_account_sid), None)
    if ref is None or ref.e164 is None or ref.executing_account_sid is None:
        return [[]]
    e164, x = ref.e164, ref.executing_account_sid
    held = [n for n in snapshot.phone_numbers if n.phone_number == e164]
    other = next((a.sid for a in snapshot.accounts if a.sid != x), x)
    now = tuple(CallerIdStatus(e164, n.account_sid, Authorization.OWNED, n.sid) for n in held)
    sid = held[0].sid if held else "PN" + "e7" * 16
    return [
        [],
        [LiveHolders(e164, x, now, complete=True)],
        [LiveHolders(e164, x, (CallerIdStatus(e164, x, Authorization.OWNED, sid),))],
        [LiveHolders(e164, x, (), complete=True)],
        [
            LiveHolders(
                e164,
                x,
                (*now, CallerIdStatus(e164, other, Authorization.VERIFIED, "PN" + "f8" * 16)),
                complete=True,
            )
        ],
        [LiveHolders(e164, x, error="HTTP 500")],
    ]


def _plain(findings: Sequence[Finding]) -> list[dict[str, Any]]:
    return [asdict(f) for f in findings]


def test_every_event_gets_the_audits_own_findings_about_it(snapshot: Snapshot) -> None:
    prepared = PreparedSnapshot(snapshot)
    others, _ = references_from_snapshot(snapshot)
    rules: set[str] = set()
    checked = 0
    for alert, what in _events(snapshot):
        refs, _ = extract_alert(alert)
        for ref in refs:
            ref.region = snapshot.region
        live_entry = "/ flow webhook" in what or "/ own number as resource" in what
        answers = _answers(snapshot, refs) if live_entry else [[]]
        for live in answers:
            expected = audit_of(snapshot, others, alert, refs, live)
            got = prepared.findings(alert, refs, live)
            assert _plain(got) == _plain(expected), f"{what}, live {live}"
            rules.update(f.rule for f in got)
            checked += 1
    assert checked > 200
    # The events made the rules that judge an alert speak (each case above is exercised).
    assert {
        "callerid-not-authorized",
        "callerid-cross-account",
        "callerid-not-e164",
        "callerid-empty",
        "callerid-client-on-pstn",
        "callerid-owner-inactive",
        "alert-13214-observed",
        "callerid-passthrough",
        "dial-destination-not-permitted",
    } <= rules


def test_every_alert_of_a_generated_hierarchy_is_diagnosed_as_the_audit_judges_it(
    snapshot: Snapshot,
) -> None:
    """As the demo's cross-check, on a generated hierarchy: for each caller-ID alert the
    audit collected, the diagnosis is the audit's finding about it."""
    audit = analyse(snapshot).findings
    diagnoser = Diagnoser(snapshot, max_age=timedelta(days=10_000))
    alerts = [a for a in snapshot.alerts if a.error_code in DIAGNOSED_CODES]
    assert len(alerts) >= SUBACCOUNTS // 2
    rules = set()
    for alert in alerts:
        for d in diagnoser.diagnose(event_from_alert(alert)):
            assert_diagnosed_as_audited(audit, alert, d)
            rules.add(d.rule)
    assert {
        "callerid-cross-account",
        "callerid-empty",
        "alert-13214-observed",
        "dial-destination-not-permitted",
    } <= rules
