"""Alerts the audit reads beyond 13214: a refused REST request's own parameters, and calls
the Voice Geo Permissions blocked (13227 for <Dial>, 21215 for the Calls API), judged by
the same rules as every other reference."""

from __future__ import annotations

from urllib.parse import urlencode

from test_geo_permissions import perms, world
from test_rules_support import A, make_snapshot

from auditor.analysis import analyse
from auditor.extract.alerts import extract_alert
from auditor.model import Alert

A_NUM = "+15551110001"  # owned by A (test_rules_support)
BERLIN = "+4930901820"


def alert(code: str, **fields: str) -> Alert:
    return Alert(sid="NO" + "7" * 32, account_sid=A, error_code=code, **fields)  # type: ignore[arg-type]


def test_a_refused_calls_api_request_is_read_from_its_own_parameters() -> None:
    a = alert(
        "21210",
        alert_text="Msg=From+not+verified",
        request_variables=urlencode({"From": "+15559998888", "To": "client:alice"}),
    )
    (ref,) = extract_alert(a)[0]
    assert ref.raw_value == "+15559998888" and ref.via == "calls-api"
    assert ref.dialed == "client" and ref.source.location == "request_variables"
    # Without a From anywhere, nothing is invented.
    assert extract_alert(alert("21210", alert_text="Msg=x"))[0] == []


def test_a_dial_the_geo_permissions_blocked_fires_the_geo_rule_from_the_alert() -> None:
    body = f'<Response><Dial callerId="{A_NUM}"><Number>{BERLIN}</Number></Dial></Response>'
    snap = make_snapshot(
        alerts=[alert("13227", response_body=body)],
        dialing_permissions=[perms(A, world(US=True), False)],
    )
    found = [f for f in analyse(snap).findings if f.rule == "dial-destination-not-permitted"]
    assert [(f.source.kind, f.destination, f.destination_country) for f in found] == [
        ("alert", BERLIN, "DE")
    ]
    assert found[0].error_codes == [13227]
    # The same alert where Germany is enabled: nothing to report about the destination.
    snap.dialing_permissions = [perms(A, world(US=True, DE=True), False)]
    assert not [f for f in analyse(snap).findings if f.rule == "dial-destination-not-permitted"]


def test_a_calls_api_request_the_geo_permissions_blocked_carries_its_destination() -> None:
    a = alert("21215", request_variables=urlencode({"From": A_NUM, "To": BERLIN}))
    (ref,) = extract_alert(a)[0]
    assert ref.via == "calls-api" and ref.destination == BERLIN
    assert ref.destination_country == "DE" and ref.dialed == "number"
    snap = make_snapshot(alerts=[a], dialing_permissions=[perms(A, world(US=True), False)])
    (finding,) = [f for f in analyse(snap).findings if f.rule == "dial-destination-not-permitted"]
    assert finding.error_codes == [21215]
