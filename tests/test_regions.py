"""Twilio Regions: the --region/--edge pair, regional hosts, the emulator's regions, the
collector in IE1, and the multi-region analysis (one snapshot per region, merged)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from test_cli import assert_one_line_error as one_line_error
from test_cli import cli
from twilio.base.client_base import ClientBase

from auditor.collect import CollectConfig, collect
from auditor.collect.client import make_client
from auditor.collect.credentials import Credentials
from auditor.collect.http import rewrite_url
from auditor.collect.probe import probe_targets
from auditor.emulator import EmulatorServer, generate_hierarchy, validate_scenario
from auditor.emulator.generate import add_region
from auditor.emulator.scenario import regional_scenario, regional_token
from auditor.errors import AuditorError
from auditor.model import PhoneNumber, Snapshot
from auditor.regional import RegionalInput, merge
from auditor.regions import (
    AVAILABILITY,
    REGIONS,
    SOURCE_FEATURES,
    RegionChoice,
    Status,
    canonical_host,
    lacks,
    resolve_region,
)

TWILIO_VARS = (
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_API_KEY",
    "TWILIO_API_SECRET",
    "TWILIO_REGION",
    "TWILIO_EDGE",
)
URL = "https://api.twilio.com/2010-04-01/Accounts.json"


# --------------------------------------------------------------------------- the table


def test_every_row_of_the_table_names_its_source_and_a_known_feature() -> None:
    for row in AVAILABILITY:
        assert row.region in REGIONS and row.feature in SOURCE_FEATURES.values()
        assert row.source.startswith("https://www.twilio.com/docs/") and row.says
        assert row.checked.startswith("2026-")
    assert lacks("ie1", "verified_caller_ids")
    assert not lacks("us1", "verified_caller_ids")
    assert not lacks("au1", "verified_caller_ids")  # not confirmed: unknown, not lacking
    assert not lacks(None, "verified_caller_ids")


# --------------------------------------------------------------------------- choosing a pair


@pytest.mark.parametrize(
    ("region", "edge", "host"),
    [
        (None, None, "api.twilio.com"),
        ("us1", None, "api.twilio.com"),
        ("ie1", "dublin", "api.dublin.ie1.twilio.com"),
        (" IE1 ", "Dublin", "api.dublin.ie1.twilio.com"),
        ("au1", "sydney", "api.sydney.au1.twilio.com"),
        (None, "sydney", "api.sydney.us1.twilio.com"),  # the SDK's rule: an edge alone is US1
        ("us1", "ashburn", "api.ashburn.us1.twilio.com"),
    ],
)
def test_documented_pairs_resolve(region: str | None, edge: str | None, host: str) -> None:
    choice = resolve_region(region, edge)
    assert choice.host() == host
    assert choice.host("studio") == host.replace("api.", "studio.", 1)


@pytest.mark.parametrize(
    ("region", "edge", "words"),
    [
        ("ie1", None, ["--region ie1 needs --edge dublin", "api.ie1.twilio.com", "2026-04-28"]),
        ("au1", None, ["--edge sydney"]),
        ("ie1", "sydney", ["not a documented pair", "api.dublin.ie1.twilio.com"]),
        ("au1", "dublin", ["not a documented pair", "--edge sydney"]),
        ("jp1", "tokyo", ["legacy edge ID, not a processing region", "US1, IE1, AU1"]),
        ("eu1", None, ["eu1 is not a Twilio region"]),
        (None, "ie1", ["legacy edge ID", "--edge dublin"]),
        ("us1", "moon", ["not a Twilio edge location"]),
    ],
)
def test_unknown_or_mismatched_pairs_are_one_clear_error(
    region: str | None, edge: str | None, words: list[str]
) -> None:
    with pytest.raises(AuditorError) as exc:
        resolve_region(region, edge)
    message = str(exc.value)
    assert "\n" not in message
    for word in words:
        assert word in message


def test_the_sdk_does_not_derive_one_from_the_other() -> None:
    """Read in the installed SDK (twilio/base/client_base.py, get_hostname): a region alone
    gives the deprecated api.{region} host, an edge alone region us1; so pass both."""

    def host(region: str | None, edge: str | None) -> str | None:
        client = ClientBase("AC" + "0" * 32, "x", region=region, edge=edge, environment={"_": ""})
        return urlsplit(client.get_hostname(URL)).hostname

    assert host("ie1", None) == "api.ie1.twilio.com"
    assert host(None, "dublin") == "api.dublin.us1.twilio.com"
    assert host("ie1", "dublin") == "api.dublin.ie1.twilio.com"
    assert host(None, None) == "api.twilio.com"


def test_make_client_passes_the_checked_pair_and_ignores_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TWILIO_REGION", "ie1")  # would make the SDK use api.ie1.twilio.com
    creds = Credentials("AC" + "0" * 32, auth_token="x")
    assert urlsplit(make_client(creds, None).get_hostname(URL)).hostname == "api.twilio.com"
    client = make_client(creds, None, region=resolve_region("ie1", "dublin"))
    assert (client.region, client.edge) == ("ie1", "dublin")
    assert urlsplit(client.get_hostname(URL)).hostname == "api.dublin.ie1.twilio.com"
    # Next-page links on the plain host are sent to the region too.
    studio = "https://studio.twilio.com/v2/Flows?PageSize=50&Page=1"
    assert urlsplit(client.get_hostname(studio)).hostname == "studio.dublin.ie1.twilio.com"


def test_api_url_keeps_every_label_of_a_regional_host() -> None:
    assert (
        rewrite_url(
            "https://api.dublin.ie1.twilio.com/2010-04-01/Accounts.json?PageSize=1", "http://h:1/b/"
        )
        == "http://h:1/b/api.dublin.ie1/2010-04-01/Accounts.json?PageSize=1"
    )
    assert (
        rewrite_url("https://serverless.sydney.au1.twilio.com/v1/Services", "http://h:1")
        == "http://h:1/serverless.sydney.au1/v1/Services"
    )
    assert rewrite_url(URL, "http://h:1") == "http://h:1/api/2010-04-01/Accounts.json"


def test_canonical_host_and_the_probe_never_posts_to_a_regional_twilio_host() -> None:
    assert canonical_host("webhooks.dublin.ie1.twilio.com") == "webhooks.twilio.com"
    assert canonical_host("api.ie1.twilio.com") == "api.twilio.com"
    assert canonical_host("handler.twilio.com") == "handler.twilio.com"
    assert canonical_host("example.com") == "example.com"
    root = "AC" + "0" * 32
    numbers = [
        PhoneNumber("PN" + "1" * 32, root, "+15550000001", voice_url=url)
        for url in (
            "https://webhooks.dublin.ie1.twilio.com/v1/Accounts/AC/Flows/FW",
            "https://api.sydney.au1.twilio.com/2010-04-01/x",
            "https://ivr.example.com/voice",
        )
    ]
    snap = Snapshot(root, "2026-11-29T12:00:00Z", "t", phone_numbers=numbers)
    assert [t.url for t in probe_targets(snap)] == ["https://ivr.example.com/voice"]


# --------------------------------------------------------------------------- the emulator


@pytest.fixture(scope="module")
def regional() -> dict[str, Any]:
    """A parent and 2 subaccounts in US1, with other data in IE1."""
    return add_region(generate_hierarchy(2, 3), "ie1")


@pytest.fixture
def server(regional: dict[str, Any]) -> Iterator[EmulatorServer]:
    with EmulatorServer(regional) as srv:
        yield srv


def _get(server: EmulatorServer, path: str, account: dict[str, Any], region: str) -> Any:
    return requests.get(
        f"{server.url}{path}", auth=(account["sid"], regional_token(account, region)), timeout=10
    )


def test_credentials_are_per_region(server: EmulatorServer, regional: dict[str, Any]) -> None:
    parent = regional["accounts"][0]
    us1, ie1 = "/api/2010-04-01/Accounts.json", "/api.dublin.ie1/2010-04-01/Accounts.json"
    assert _get(server, us1, parent, "us1").status_code == 200
    assert _get(server, ie1, parent, "ie1").status_code == 200
    assert _get(server, ie1, parent, "us1").status_code == 401  # a US1 token in IE1
    assert _get(server, us1, parent, "ie1").status_code == 401
    # The IE1 accounts list hands out the subaccounts' IE1 tokens.
    listed = _get(server, ie1, parent, "ie1").json()["accounts"]
    sub = regional["accounts"][1]
    assert {a["sid"]: a["auth_token"] for a in listed}[sub["sid"]] == regional_token(sub, "ie1")


def test_regional_hosts_answer_that_regions_data(
    server: EmulatorServer, regional: dict[str, Any]
) -> None:
    parent, sub = regional["accounts"][0], regional["accounts"][1]
    base = f"/2010-04-01/Accounts/{sub['sid']}"
    us1_apps = _get(server, f"/api{base}/Applications.json", parent, "us1").json()
    ie1_apps = _get(server, f"/api.dublin.ie1{base}/Applications.json", parent, "ie1").json()
    assert {a["sid"] for a in us1_apps["applications"]} == {a["sid"] for a in sub["applications"]}
    ie1_block = sub["regions"]["ie1"]
    assert {a["sid"] for a in ie1_apps["applications"]} == {
        a["sid"] for a in ie1_block["applications"]
    }
    # Numbers are global; their voice configuration is the region's.
    us1_numbers = _get(server, f"/api{base}/IncomingPhoneNumbers.json", parent, "us1").json()
    ie1_numbers = _get(
        server, f"/api.dublin.ie1{base}/IncomingPhoneNumbers.json", parent, "ie1"
    ).json()
    pairs = [
        (a["sid"], a["phone_number"], b["sid"], b["phone_number"])
        for a, b in zip(
            us1_numbers["incoming_phone_numbers"],
            ie1_numbers["incoming_phone_numbers"],
            strict=True,
        )
    ]
    assert all(a == c and b == d for a, b, c, d in pairs)
    configured = {n["sid"]: n["voice_url"] for n in ie1_block["incoming_phone_numbers"]}
    assert {n["sid"]: n["voice_url"] for n in ie1_numbers["incoming_phone_numbers"]} == configured
    # No Verified Caller IDs in IE1.
    oc = _get(server, f"/api.dublin.ie1{base}/OutgoingCallerIds.json", parent, "ie1").json()
    assert oc["outgoing_caller_ids"] == []
    # Products answer for the authenticating account of the region; links keep the host.
    flows = requests.get(
        f"{server.url}/studio.dublin.ie1/v2/Flows",
        params={"PageSize": 1},
        auth=(sub["sid"], regional_token(sub, "ie1")),
        timeout=10,
    ).json()
    assert [f["sid"] for f in flows["flows"]] == [ie1_block["flows"][0]["sid"]]
    assert flows["meta"]["url"].startswith("https://studio.dublin.ie1.twilio.com/v2/Flows?")


def test_region_only_and_undocumented_hosts_are_refused(
    server: EmulatorServer, regional: dict[str, Any]
) -> None:
    parent = regional["accounts"][0]
    gone = _get(server, "/api.ie1/2010-04-01/Accounts.json", parent, "ie1")
    assert gone.status_code == 404 and "2026-04-28" in gone.json()["message"]
    assert (
        _get(server, "/api.sydney.ie1/2010-04-01/Accounts.json", parent, "ie1").status_code == 404
    )
    assert _get(server, "/api.us1/2010-04-01/Accounts.json", parent, "us1").status_code == 200
    # A region the scenario has no data in has no credentials either.
    au1 = _get(server, "/api.sydney.au1/2010-04-01/Accounts.json", parent, "us1")
    assert au1.status_code == 401


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (
            lambda a: a["regions"]["ie1"].update(outgoing_caller_ids=[{"sid": "PN" + "e" * 32}]),
            ["Verified Caller IDs in IE1"],
        ),
        (
            lambda a: a["regions"]["ie1"].update(flex_configuration={"outbound_call_flows": {}}),
            ["Flex in IE1"],
        ),
        (lambda a: a["regions"].update(us1={}), ["use one of ie1, au1"]),
        (lambda a: a["regions"].update(eu9={}), ["use one of ie1, au1"]),
        (lambda a: a["regions"]["ie1"].update(numbers=[]), ["keys among"]),
        (
            lambda a: a["regions"]["ie1"]["incoming_phone_numbers"].append(
                {"sid": "PN" + "f" * 32}
            ),
            ["numbers are global"],
        ),
        (
            lambda a: a["regions"]["ie1"]["applications"].append(dict(a["applications"][0])),
            ["also used in another region"],
        ),
    ],
)
def test_regional_scenario_mistakes_are_refused(
    regional: dict[str, Any], change: Any, words: list[str]
) -> None:
    broken = copy.deepcopy(regional)
    change(broken["accounts"][1])
    with pytest.raises(AuditorError) as exc:
        validate_scenario(broken)
    for word in words:
        assert word in str(exc.value)


def test_existing_scenarios_stay_valid_and_serve_the_same() -> None:
    plain = generate_hierarchy(1, 2)
    validate_scenario(plain)
    assert regional_scenario(plain, "us1")["accounts"] == plain["accounts"]


# --------------------------------------------------------------------------- the collector


def _creds(account: dict[str, Any], region: str) -> Credentials:
    return Credentials(account["sid"], auth_token=regional_token(account, region))


def test_collector_reads_ie1_with_ie1_credentials(
    server: EmulatorServer, regional: dict[str, Any]
) -> None:
    parent = regional["accounts"][0]
    config = CollectConfig(
        credentials=_creds(parent, "ie1"),
        api_url=server.url,
        region=resolve_region("ie1", "dublin"),
    )
    snap = collect(config)
    assert (snap.region, snap.edge) == ("ie1", "dublin")
    block_flows = {f["sid"] for a in regional["accounts"] for f in a["regions"]["ie1"]["flows"]}
    assert {f.sid for f in snap.flows} == block_flows
    assert len(snap.phone_numbers) == 9 and snap.verified_caller_ids == []
    assert all(cov["verified_caller_ids"] == "skipped" for cov in snap.coverage.values())
    assert any("IE1: Verified Caller IDs not read" in n for n in snap.notes)
    assert "regional-product-and-feature-availability" in " ".join(snap.notes)
    assert server.stats.status_counts == {200: server.stats.total_requests}


def _env(monkeypatch: pytest.MonkeyPatch, server: EmulatorServer, sid: str, token: str) -> None:
    for var in TWILIO_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", sid)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", token)
    monkeypatch.setenv("TWILIO_AUDIT_API_URL", server.url)


def test_cli_refuses_a_region_without_its_edge_before_any_request(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    server: EmulatorServer,
    regional: dict[str, Any],
    tmp_path: Path,
) -> None:
    parent = regional["accounts"][0]
    _env(monkeypatch, server, parent["sid"], regional_token(parent, "ie1"))
    code, _, err = cli(capsys, "collect", "--out", str(tmp_path / "o"), "--region", "ie1")
    assert code == 2
    one_line_error(err, "--edge dublin")
    monkeypatch.setenv("TWILIO_REGION", "ie1")  # the SDK's own variable, read the same way
    monkeypatch.setenv("TWILIO_EDGE", "sydney")
    code, _, err = cli(capsys, "audit", "--out", str(tmp_path / "o"))
    assert code == 2
    one_line_error(err, "not a documented pair")
    assert server.stats.total_requests == 0
    monkeypatch.setenv("TWILIO_EDGE", "dublin")
    code, out, err = cli(capsys, "collect", "--out", str(tmp_path / "o"), "--quiet")
    assert code == 0, err
    assert "collected in IE1 (edge dublin)" in out
    saved = json.loads((tmp_path / "o" / "snapshot.json").read_text())
    assert (saved["region"], saved["edge"]) == ("ie1", "dublin")


def test_cli_says_credentials_are_per_region(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    server: EmulatorServer,
    regional: dict[str, Any],
    tmp_path: Path,
) -> None:
    parent = regional["accounts"][0]
    _env(monkeypatch, server, parent["sid"], parent["auth_token"])  # the US1 token
    code, _, err = cli(
        capsys, "collect", "--out", str(tmp_path), "--region", "ie1", "--edge", "dublin"
    )
    assert code == 2
    one_line_error(err, "in IE1", "HTTP 401", "credentials are per region")
    assert parent["auth_token"] not in err


# --------------------------------------------------------------------------- several regions


def _snap(region: str, root: str = "AC" + "0" * 32, **kw: Any) -> Snapshot:
    return Snapshot(root, "2026-11-29T12:00:00Z", "t", region=region, **kw)


def test_merge_keeps_numbers_once_and_takes_the_configuring_regions_route() -> None:
    root = "AC" + "0" * 32
    pn = "PN" + "1" * 32
    us1 = _snap("us1", phone_numbers=[PhoneNumber(pn, root, "+15550000001")])
    ie1 = _snap(
        "ie1",
        edge="dublin",
        phone_numbers=[PhoneNumber(pn, root, "+15550000001", voice_url="https://x.example/ie")],
        coverage={root: {"phone_numbers": "error: 500 boom", "verified_caller_ids": "skipped"}},
        notes=["IE1: Verified Caller IDs not read: …", "Closed account(s) X"],
    )
    us1.coverage = {root: {"phone_numbers": "ok", "verified_caller_ids": "ok"}}
    us1.notes = ["Closed account(s) X"]
    merged = merge([us1, ie1])
    assert [n.voice_url for n in merged.phone_numbers] == ["https://x.example/ie"]
    assert us1.phone_numbers[0].voice_url is None  # the inputs are not changed
    assert merged.coverage[root] == {
        "phone_numbers": "error: IE1: 500 boom",
        "verified_caller_ids": "ok",
    }
    assert merged.notes == ["US1, IE1: Closed account(s) X", "IE1: Verified Caller IDs not read: …"]


def test_one_snapshot_per_region_of_one_hierarchy() -> None:
    with pytest.raises(AuditorError, match="both US1 snapshots"):
        RegionalInput.of([_snap("us1"), _snap("us1")])
    with pytest.raises(AuditorError, match="give snapshots of one hierarchy"):
        RegionalInput.of([_snap("us1"), _snap("ie1", root="AC" + "1" * 32)])
    scope = RegionalInput.of([_snap("ie1"), _snap("us1")])
    assert scope.regions == ["us1", "ie1"] and scope.multi
    assert scope.not_audited()[0] == ["au1"]
    single = _snap("us1")
    assert RegionalInput.of(single).merged is single


def test_unaudited_regions_are_named_with_what_hints_at_them() -> None:
    root = "AC" + "0" * 32
    numbers = [
        PhoneNumber("PN" + "1" * 32, root, "+15550000001", capabilities={"voice": True}),
        PhoneNumber(
            "PN" + "2" * 32,
            root,
            "+15550000002",
            voice_url="https://webhooks.sydney.au1.twilio.com/v1/Accounts/AC/Flows/FW",
        ),
    ]
    missing, notes = RegionalInput.of(_snap("us1", phone_numbers=numbers)).not_audited()
    assert missing == ["ie1", "au1"]
    assert any("AU1 Twilio hosts" in n and "not audited" in n for n in notes)
    assert any("1 voice number(s) have no voice configuration in US1" in n for n in notes)


def test_a_snapshot_with_a_hostile_region_is_refused(tmp_path: Path) -> None:
    from auditor.codec import to_data
    from auditor.snapshot import load_snapshot

    path = tmp_path / "snapshot.json"
    data = to_data(_snap("us1"))
    data["region"] = "../../etc"
    path.write_text(json.dumps(data))
    with pytest.raises(AuditorError, match="is not a Twilio region and edge"):
        load_snapshot(path)


def test_region_choice_default_is_plain_us1() -> None:
    choice = RegionChoice()
    assert (choice.region, choice.sdk_region, choice.sdk_edge) == ("us1", None, None)
    assert {row.status for row in AVAILABILITY} <= set(Status)


# --------------------------------------------------------------------------- report and diff


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo audit: US1 and IE1 snapshots of Northwind Health, and its baseline."""
    from auditor.commands.demo import run_demo
    from auditor.emulator.demo import DEMO_NOW

    out = tmp_path_factory.mktemp("regions") / "demo"
    run_demo(out, ["json"], now=DEMO_NOW)
    return out


def _rules(out: Path) -> dict[str, list[dict[str, Any]]]:
    doc = json.loads((out / "findings.json").read_text())
    found: dict[str, list[dict[str, Any]]] = {}
    for f in doc["findings"]:
        found.setdefault(f["rule"], []).append(f)
    return found


def test_report_judges_each_dial_in_the_region_it_runs_in(
    capsys: pytest.CaptureFixture[str], demo_dir: Path, tmp_path: Path
) -> None:
    from auditor.emulator.demo import CALL_CENTRE, CC_VERIFIED

    us1, ie1 = demo_dir / "snapshot.json", demo_dir / "snapshot-ie1.json"
    both = tmp_path / "both"
    code, _, err = cli(capsys, "report", str(ie1), str(us1), "--out", str(both), "-f", "html",
                       "-f", "json", "--fail-on", "never")  # fmt: skip
    assert code == 0, err
    (f,) = _rules(both)["callerid-verified-unsupported-in-region"]
    assert (f["account_sid"], f["caller_id"], f["region"]) == (CALL_CENTRE, CC_VERIFIED, "ie1")
    doc = json.loads((both / "findings.json").read_text())
    assert set(doc["regions"]) == {"us1", "ie1"} and doc["regions_not_audited"] == ["au1"]
    assert doc["regions"]["ie1"]["edge"] == "dublin"
    assert {p.name for p in both.glob("snapshot*.json")} == {"snapshot.json", "snapshot-ie1.json"}
    assert json.loads((both / "snapshot.json").read_text())["region"] == "us1"
    html = (both / "report.html").read_text()
    assert "api.dublin.ie1.twilio.com" in html and "not audited: AU1 (Australia, Sydney)" in html
    # The folder is the unit: reporting it again gives the same findings.
    again = tmp_path / "again"
    code, _, err = cli(capsys, "report", str(both), "--out", str(again), "-f", "json",
                       "--fail-on", "never")  # fmt: skip
    assert code == 0, err
    assert _rules(again).keys() == _rules(both).keys()


def test_a_region_alone_is_judged_alone_and_stale_regions_are_dropped(
    capsys: pytest.CaptureFixture[str], demo_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "us1-only"
    out.mkdir()
    (out / "snapshot-ie1.json").write_text((demo_dir / "snapshot-ie1.json").read_text())
    code, _, err = cli(capsys, "report", str(demo_dir / "snapshot.json"), "--out", str(out),
                       "-f", "json", "--fail-on", "never")  # fmt: skip
    assert code == 0, err
    assert not (out / "snapshot-ie1.json").exists()  # not part of this audit any more
    assert "callerid-verified-unsupported-in-region" not in _rules(out)
    doc = json.loads((out / "findings.json").read_text())
    assert doc["regions_not_audited"] == ["ie1", "au1"]


def test_report_refuses_two_snapshots_of_a_region_or_of_two_hierarchies(
    capsys: pytest.CaptureFixture[str], demo_dir: Path, tmp_path: Path
) -> None:
    us1 = demo_dir / "snapshot.json"
    code, _, err = cli(capsys, "report", str(us1), str(demo_dir / "baseline" / "snapshot.json"),
                       "--out", str(tmp_path / "x"))  # fmt: skip
    assert code == 2
    one_line_error(err, "are both US1 snapshots", "one snapshot per region")
    other = json.loads((demo_dir / "snapshot-ie1.json").read_text())
    other["root_account_sid"] = "AC" + "9" * 32
    foreign = tmp_path / "foreign.json"
    foreign.write_text(json.dumps(other))
    code, _, err = cli(capsys, "report", str(us1), str(foreign), "--out", str(tmp_path / "y"))
    assert code == 2
    one_line_error(err, "AC" + "9" * 32, "one hierarchy")
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_diff_compares_multi_region_folders(
    capsys: pytest.CaptureFixture[str], demo_dir: Path
) -> None:
    code, out, err = cli(capsys, "diff", str(demo_dir / "baseline"), str(demo_dir))
    assert code == 1
    assert "callerid-verified-unsupported-in-region" in out and "warning" not in err
    code, out, err = cli(capsys, "diff", str(demo_dir / "baseline" / "snapshot.json"),
                         str(demo_dir), "--fail-on", "never")  # fmt: skip
    assert code == 0
    assert "OLD covers US1, NEW US1, IE1" in err


def test_lookup_and_guard_count_only_owned_numbers_in_ie1(
    server: EmulatorServer, regional: dict[str, Any]
) -> None:
    from auditor.guard import CallerIdGuard
    from auditor.lookup import Authorization, lookup_caller_id

    parent, sub = regional["accounts"][0], regional["accounts"][1]
    verified = sub["outgoing_caller_ids"][0]["phone_number"]
    owned = sub["incoming_phone_numbers"][0]["phone_number"]
    us1 = make_client(_creds(parent, "us1"), server.url)
    ie1 = make_client(_creds(parent, "ie1"), server.url, region=resolve_region("ie1", "dublin"))
    assert lookup_caller_id(us1, sub["sid"], verified).authorization is Authorization.VERIFIED
    assert lookup_caller_id(ie1, sub["sid"], verified).authorization is Authorization.NOT_FOUND
    assert lookup_caller_id(ie1, sub["sid"], owned).authorization is Authorization.OWNED
    guard = CallerIdGuard(ie1, sub["sid"])
    assert guard.is_authorized(owned) and not guard.is_authorized(verified)
