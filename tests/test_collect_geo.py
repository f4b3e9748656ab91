"""Voice Geo Permissions collected over real HTTP, through the `twilio` SDK, from the emulator.

Each account's DialingPermissions/Countries and Settings are read with that account's
own credentials (the path names no account): an account whose list differs from its
parent's proves it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

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


# --------------------------------------------------------------- high-risk special prefixes

PREFIX_PATH = "/voice/v1/DialingPermissions/Countries/"
GB_LANDLINE = "+442079460123"  # a fixed line by its type; inside Twilio's prefix below
PREFIX_LISTS = [
    {
        "iso_code": "US",
        "country_codes": ["+1"],
        "low_risk_numbers_enabled": True,
        "high_risk_special_prefixes": ["+1900"],
    },
    {
        "iso_code": "GB",
        "country_codes": ["+44"],
        "low_risk_numbers_enabled": True,
        "high_risk_special_prefixes": ["+449", "+44 (20) 7946"],
    },
    {"iso_code": "DE", "country_codes": ["+49"], "low_risk_numbers_enabled": True},
    {"iso_code": "FR", "country_codes": ["+33"], "high_risk_special_prefixes": ["+338"]},
]


def prefix_scenario() -> dict[str, Any]:
    """The parent lists US, GB, DE, FR; sub 1 (inherits) dials London, sub 2 Berlin."""
    s = generate_hierarchy(2, 2, seed=7)
    parent, london, berlin = s["accounts"]
    parent["dialing_permissions"] = {"countries": PREFIX_LISTS}
    for acc, to in ((london, GB_LANDLINE), (berlin, "+4930901820")):
        for state in acc["flows"][0]["definition"]["states"]:
            if state["type"] == "connect-call-to":
                state["properties"]["to"] = to
    berlin["dialing_permissions"] = {"inheritance": False, "countries": PREFIX_LISTS}
    return s


def run_through_proxy(s: dict[str, Any], fail: str | None = None) -> tuple[Snapshot, list[str]]:
    """Collect through a proxy that records every path (and fails `fail`'s prefixes)."""
    from loopback import TamperProxy

    p = s["accounts"][0]
    creds = Credentials(account_sid=p["sid"], auth_token=p["auth_token"])

    def tamper(handler: Any, path: str) -> bool:
        if fail and path.startswith(f"{PREFIX_PATH}{fail}/HighRiskSpecialPrefixes"):
            handler.reply(500, b'{"code": 20500, "message": "Internal Server Error"}')
            return True
        return False

    with EmulatorServer(s) as server:
        proxy = TamperProxy(server.url, tamper)
        try:
            snap = collect(CollectConfig(credentials=creds, api_url=proxy.url, now=NOW))
        finally:
            proxy.close()
    asked = [
        path.removeprefix(PREFIX_PATH).split("/")[0]
        for path in proxy.paths
        if path.startswith(PREFIX_PATH) and "/HighRiskSpecialPrefixes" in path
    ]
    return snap, asked


def test_prefixes_are_read_once_for_the_countries_dialed_only() -> None:
    from auditor.collect.prefixes import PREFIX_SOURCE, needed_countries

    s = prefix_scenario()
    snap, asked = run_through_proxy(s)
    wanted = sorted({iso for isos in needed_countries(snap).values() for iso in isos})
    assert {"GB", "DE"} <= set(wanted) and "FR" not in wanted  # FR is listed, never dialed
    assert sorted(asked) == wanted  # each country dialed, once, and nothing else
    got = {p.iso_code: p.prefixes for p in snap.high_risk_special_prefixes}
    assert got["GB"] == ["+449", "+44 (20) 7946"] and got["DE"] == []
    assert set(got) == set(wanted)
    assert {cov[PREFIX_SOURCE] for cov in snap.coverage.values()} == {"ok"}
    # the London landline is in Twilio's high-risk special prefixes: blocked, by the prefix
    (f,) = [
        f
        for f in analyse(snap).findings
        if f.rule == "dial-destination-not-permitted" and f.destination == GB_LANDLINE
    ]
    assert f.details["destination_risk"] == "high-risk special"
    assert "prefix +44207946 of GB" in str(f.details["destination_risk_basis"])
    assert not [
        f
        for f in analyse(snap).findings
        if f.rule == "dial-destination-not-permitted" and (f.destination_country == "DE")
    ]


def test_a_country_whose_prefixes_fail_is_a_coverage_error_for_its_callers() -> None:
    from auditor.collect.prefixes import PREFIX_SOURCE

    s = prefix_scenario()
    _, london, berlin = (a["sid"] for a in s["accounts"])
    snap, asked = run_through_proxy(s, fail="GB")
    assert "GB" in asked
    assert "GB" not in {p.iso_code for p in snap.high_risk_special_prefixes}
    assert snap.coverage[london][PREFIX_SOURCE].startswith(
        "error: high-risk special prefixes of GB not read (500"
    )
    assert snap.coverage[berlin][PREFIX_SOURCE] == "ok"  # Berlin's DE list was read
    assert snap.coverage[berlin]["flows"] == "ok"  # nothing else is lost
    assert any("could not be read for 1 country(ies) (GB: 500" in n for n in snap.notes)
    # GB numbers are then judged by their type: a London landline is low-risk, permitted
    assert not [
        f
        for f in analyse(snap).findings
        if f.destination == GB_LANDLINE and (f.rule == "dial-destination-not-permitted")
    ]


def test_without_geo_permissions_no_prefix_is_asked() -> None:
    from auditor.collect.prefixes import PREFIX_SOURCE

    s = prefix_scenario()
    p = s["accounts"][0]
    with EmulatorServer(s) as server:
        snap = collect(
            CollectConfig(
                credentials=Credentials(account_sid=p["sid"], auth_token=p["auth_token"]),
                api_url=server.url,
                now=NOW,
                geo_permissions=False,
            )
        )
    assert snap.high_risk_special_prefixes == []
    assert {cov[PREFIX_SOURCE] for cov in snap.coverage.values()} == {"skipped"}


@pytest.mark.parametrize("through", ["library", "cli"])
def test_destinations_in_code_trees_have_their_prefixes_read_too(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, through: str
) -> None:
    """`audit --code` reads the trees first, so the collector knows they dial France."""
    from auditor.cli import main
    from auditor.pipeline import AuditOptions, run_audit
    from auditor.snapshot import load_snapshot

    s = prefix_scenario()
    p = s["accounts"][0]
    app = tmp_path / "app"
    app.mkdir()
    (app / "call.py").write_text(
        "from twilio.rest import Client\n"
        'Client().calls.create(to="+33892700000", from_="+15005550006", url="https://x.test/t")\n'
    )
    out = tmp_path / "out"
    with EmulatorServer(s) as server:
        if through == "library":
            config = CollectConfig(
                credentials=Credentials(account_sid=p["sid"], auth_token=p["auth_token"]),
                api_url=server.url,
                now=NOW,
            )
            options = AuditOptions(
                out_dir=out, formats=["json"], collect=config, code=[f"{app}={p['sid']}"]
            )
            run_audit(options)
        else:
            monkeypatch.setenv("TWILIO_ACCOUNT_SID", p["sid"])
            monkeypatch.setenv("TWILIO_AUTH_TOKEN", p["auth_token"])
            for var in ("TWILIO_API_KEY", "TWILIO_API_SECRET", "TWILIO_REGION", "TWILIO_EDGE"):
                monkeypatch.delenv(var, raising=False)
            args = ["audit", "--api-url", server.url, "--out", str(out), "-f", "json", "-q"]
            with pytest.raises(SystemExit):
                main([*args, "--code", f"{app}={p['sid']}", "--fail-on", "never"])
    snapshot = load_snapshot(out)
    got = {x.iso_code: x.prefixes for x in snapshot.high_risk_special_prefixes}
    assert got["FR"] == ["+338"]  # dialed only by the code
    doc = json.loads((out / "findings.json").read_text())
    (f,) = [f for f in doc["findings"] if f.get("destination_country") == "FR"]
    assert f["rule"] == "dial-destination-not-permitted"  # FR is not enabled for the parent
    assert "prefix +338 of FR" in f["message"]
