"""Voice Geo Permissions collected over real HTTP, through the `twilio` SDK, from the emulator.

Each account's DialingPermissions/Countries and Settings are read with that account's
own credentials (the path names no account): an account whose list differs from its
parent's proves it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from auditor.analysis import analyse
from auditor.collect import CollectConfig, collect
from auditor.collect.credentials import Credentials
from auditor.collect.walker import API_KEY_DENIED, GEO_SOURCE
from auditor.emulator import EmulatorServer, generate_hierarchy
from auditor.model import Snapshot

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)
PARENT_LIST = [
    {"iso_code": "US", "country_codes": ["+1"], "low_risk_numbers_enabled": True},
    {"iso_code": "DE", "continent": "EUROPE"},
    {"iso_code": "TR", "continent": "EUROPE"},
]
OWN_LIST = [{"iso_code": "TR", "low_risk_numbers_enabled": True}, {"iso_code": "US"}]


def scenario() -> dict[str, Any]:
    """Parent lists US (enabled), DE and TR; sub 1 inherits; sub 2 has its own list; 3 closed."""
    s = generate_hierarchy(3, 2, seed=5)
    parent, inheriting, own, closed = s["accounts"]
    parent["dialing_permissions"] = {"countries": PARENT_LIST}
    inheriting["dialing_permissions"] = {"inheritance": True}
    own["dialing_permissions"] = {"inheritance": False, "countries": OWN_LIST}
    closed["status"] = "closed"
    return s


def run(s: dict[str, Any], **kw: Any) -> Snapshot:
    p = s["accounts"][0]
    creds = kw.pop("creds", None) or Credentials(account_sid=p["sid"], auth_token=p["auth_token"])
    with EmulatorServer(s, **kw.pop("server", {})) as server:
        if "faults" in kw:
            server.set_faults(**kw.pop("faults"))
        return collect(CollectConfig(credentials=creds, api_url=server.url, now=NOW, **kw))


def test_each_account_is_read_with_its_own_credentials() -> None:
    s = scenario()
    snap = run(s)
    parent, inheriting, own, closed = (a["sid"] for a in s["accounts"])
    geo = {g.account_sid: g for g in snap.dialing_permissions}
    assert set(geo) == {parent, inheriting, own}  # a closed account is not asked
    assert [c.iso_code for c in geo[parent].countries] == ["US", "DE", "TR"]
    assert geo[parent].countries[0].low_risk_numbers_enabled is True
    assert geo[parent].countries[0].country_codes == ["+1"]
    assert geo[parent].countries[1].name == "Germany"  # Twilio's shape, name filled in
    # the subaccount's own token gets its own list, not the parent's
    assert [(c.iso_code, c.low_risk_numbers_enabled) for c in geo[own].countries] == [
        ("TR", True),
        ("US", False),
    ]
    assert (geo[inheriting].inheritance, geo[own].inheritance) == (True, False)
    assert all(g.countries_read for g in geo.values())
    assert {sid: cov[GEO_SOURCE] for sid, cov in snap.coverage.items()} == {
        parent: "ok",
        inheriting: "ok",
        own: "ok",
        closed: "skipped",
    }


def test_a_refused_voice_product_is_an_error_in_coverage_only() -> None:
    s = scenario()
    own = s["accounts"][2]["sid"]
    snap = run(s, faults={"product_errors": {own: {"voice": 403}}})
    cov = snap.coverage[own]
    assert cov[GEO_SOURCE].startswith("error: 403")
    assert cov["phone_numbers"] == "ok" and cov["flows"] == "ok"
    (geo,) = [g for g in snap.dialing_permissions if g.account_sid == own]
    assert not geo.countries_read and geo.inheritance is None
    # …and its destinations are then not judged at all (no guess)
    assert not [f for f in analyse(snap).findings if f.account_sid == own and f.destination]


def test_api_key_reads_its_own_account_only() -> None:
    s = scenario()
    key = s["api_keys"][0]
    creds = Credentials(
        account_sid=key["account_sid"], api_key=key["sid"], api_secret=key["secret"]
    )
    snap = run(s, creds=creds)
    parent = s["accounts"][0]["sid"]
    assert [g.account_sid for g in snap.dialing_permissions] == [parent]
    for sid, cov in snap.coverage.items():
        assert cov[GEO_SOURCE] == ("ok" if sid == parent else API_KEY_DENIED)


def test_no_geo_permissions_skips_them() -> None:
    s = scenario()
    snap = run(s, geo_permissions=False)
    assert snap.dialing_permissions == []
    assert {cov[GEO_SOURCE] for cov in snap.coverage.values()} == {"skipped"}


def test_collected_permissions_drive_the_rule_end_to_end() -> None:
    """A Studio flow of the inheriting subaccount dials Turkey: its parent does not enable TR."""
    s = scenario()
    inheriting, own = s["accounts"][1], s["accounts"][2]
    for acc in (inheriting, own):
        flow = acc["flows"][0]
        for state in flow["definition"]["states"]:
            if state["type"] == "connect-call-to":
                state["properties"]["to"] = "+902122223344"
    snap = run(s)
    blocked = {
        f.account_sid
        for f in analyse(snap).findings
        if f.rule == "dial-destination-not-permitted" and f.destination_country == "TR"
    }
    # inherits the parent's list (TR off): blocked; its own list enables TR: permitted
    assert blocked == {inheriting["sid"]}
