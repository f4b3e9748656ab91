"""The collector over real HTTP, through the `twilio` SDK, against the emulator."""

from __future__ import annotations

import copy
import functools
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from auditor.cli import main
from auditor.collect import CollectConfig, collect
from auditor.collect.client import make_client
from auditor.collect.credentials import Credentials
from auditor.collect.http import MethodRefusedError, ReadOnlyHttpClient, RetryPolicy
from auditor.collect.walker import API_KEY_DENIED, SOURCES
from auditor.emulator import EmulatorServer, generate_hierarchy
from auditor.extract.alerts import AUDITED_ALERT_CODES
from auditor.model import Snapshot

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)
UNREFERENCED = "pw-unreferenced-7f3a9c"


@pytest.fixture(autouse=True)
def _restore_http_logger() -> Iterator[None]:
    """--verbose adds a handler to auditor.http; keep it from leaking into other tests."""
    logger = logging.getLogger("auditor.http")
    handlers, level = list(logger.handlers), logger.level
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)


def scenario() -> dict[str, Any]:
    """3 subaccounts; an unreferenced env var; an alert outside the window."""
    s = generate_hierarchy(3, 5, seed=3)
    sub = s["accounts"][1]
    env = sub["services"][0]["environments"][0]
    env["variables"].append({"sid": "ZV" + "1" * 32, "key": "API_PASSWORD", "value": UNREFERENCED})
    old = copy.deepcopy(sub["alerts"][0])
    old.update(sid="NO" + "2" * 32, date_created="2026-09-01T10:00:00Z")
    sub["alerts"].append(old)
    return s


def parent_creds(s: dict[str, Any]) -> Credentials:
    p = s["accounts"][0]
    return Credentials(account_sid=p["sid"], auth_token=p["auth_token"])


def config(s: dict[str, Any], url: str, **kw: Any) -> CollectConfig:
    return CollectConfig(credentials=parent_creds(s), api_url=url, now=NOW, **kw)


def expected_functions(s: dict[str, Any]) -> set[tuple[str, str, str, str, str]]:
    out = set()
    for acc in s["accounts"]:
        for svc in acc.get("services", []):
            versions = {v["sid"]: (f["sid"], v) for f in svc["functions"] for v in f["versions"]}
            builds = {b["sid"]: b for b in svc["builds"]}
            for env in svc["environments"]:
                if not env.get("build_sid"):
                    continue
                for zn in builds[env["build_sid"]]["function_versions"]:
                    fn_sid, v = versions[zn]
                    out.add((acc["sid"], fn_sid, zn, env["sid"], v["content"]))
    return out


def expected_alerts(s: dict[str, Any]) -> set[str]:
    start = NOW - timedelta(days=30)
    return {
        a["sid"]
        for acc in s["accounts"]
        for a in acc.get("alerts", [])
        if a["error_code"] in AUDITED_ALERT_CODES
        and datetime.fromisoformat(a["date_created"].replace("Z", "+00:00")) >= start
    }


def assert_matches(snap: Snapshot, s: dict[str, Any]) -> None:
    """Every item of the scenario is in the snapshot once, with its fields."""
    accounts = s["accounts"]
    assert [a.sid for a in snap.accounts] == [a["sid"] for a in accounts]
    pairs = [
        ("phone_numbers", "incoming_phone_numbers", "phone_number"),
        ("verified_caller_ids", "outgoing_caller_ids", "phone_number"),
        ("applications", "applications", "voice_url"),
        ("sip_domains", "sip_domains", "domain_name"),
    ]
    for snap_field, scen_field, attr in pairs:
        got = [(x.account_sid, x.sid, getattr(x, attr)) for x in getattr(snap, snap_field)]
        want = [(a["sid"], x["sid"], x[attr]) for a in accounts for x in a.get(scen_field, [])]
        assert len(got) == len(set(got)), f"duplicates in {snap_field}"
        assert sorted(got) == sorted(want), snap_field
    flows = {(f.account_sid, f.sid): f.definition for f in snap.flows}
    want_flows = {(a["sid"], f["sid"]): f["definition"] for a in accounts for f in a["flows"]}
    assert flows == want_flows and len(snap.flows) == len(want_flows)
    fns = [
        (f.account_sid, f.sid, f.version_sid, f.environment_sid, f.content) for f in snap.functions
    ]
    assert len(fns) == len(set(fns))
    assert set(fns) == expected_functions(s)
    alerts = {a.sid: a for a in snap.alerts}
    assert set(alerts) == expected_alerts(s) and len(snap.alerts) == len(alerts)
    scen_alerts = {a["sid"]: a for acc in accounts for a in acc["alerts"]}
    for sid, alert in alerts.items():
        assert alert.response_body == scen_alerts[sid]["response_body"]
        assert alert.request_variables == scen_alerts[sid]["request_variables"]


def all_ok(snap: Snapshot) -> bool:
    return all(v == "ok" for cov in snap.coverage.values() for v in cov.values())


def test_snapshot_matches_scenario_item_for_item() -> None:
    s = scenario()
    with EmulatorServer(s) as server:
        url = server.url
        snap = collect(config(s, url))
        refused = server.refused_methods
    assert_matches(snap, s)
    assert all_ok(snap) and set(snap.coverage) == {a["sid"] for a in s["accounts"]}
    assert refused == []
    assert snap.alert_window_days == 30 and snap.api_url == url
    # Only variables the deployed code uses as a caller ID are kept.
    for fn in snap.functions:
        assert set(fn.environment) <= {"CALLER_ID_0", "CALLER_ID_1", "CALLER_ID"}
        for key in fn.environment:
            assert f"context.{key}" in fn.content


def test_paging_past_1000_numbers_in_few_requests() -> None:
    s = generate_hierarchy(1, 2500, alerts_per_account=0)
    with EmulatorServer(s) as server:
        cfg = config(
            s,
            server.url,
            studio=False,
            functions=False,
            alerts=False,
            geo_permissions=False,
            flex=False,
        )
        snap = collect(cfg)
        total = server.stats.total_requests
    assert_numbers = [n.sid for n in snap.phone_numbers]
    assert len(assert_numbers) == 5000 == len(set(assert_numbers))
    # 1 accounts page + per account: 3 number pages + caller IDs + apps + SIP domains.
    assert total == 1 + 2 * (3 + 3)
    assert all(v in ("ok", "skipped") for cov in snap.coverage.values() for v in cov.values())


def test_429_storm_from_in_flight_limit_is_retried_to_completion() -> None:
    s = scenario()
    s["faults"] = {"latency_ms": 20, "max_in_flight_per_account": 2}
    with EmulatorServer(s) as server:
        # No client-side cap: the server's limit answers 429 and retries must absorb it.
        snap = collect(config(s, server.url, concurrency=16, per_account_limit=0))
        storms = server.stats.too_many_requests
    assert storms > 0
    assert_matches(snap, s)
    assert all_ok(snap)


def test_per_account_cap_keeps_under_the_limit() -> None:
    s = scenario()
    s["faults"] = {"latency_ms": 20, "max_in_flight_per_account": 3}
    with EmulatorServer(s) as server:
        snap = collect(config(s, server.url, concurrency=16, per_account_limit=3))
        storms = server.stats.too_many_requests
    assert storms == 0
    assert_matches(snap, s)


def test_every_nth_500_is_retried() -> None:
    s = scenario()
    s["faults"] = {"fail_every_n": 5, "fail_status": 500}
    with EmulatorServer(s) as server:
        snap = collect(config(s, server.url, concurrency=8))
        injected = server.stats.injected_failures
    assert injected > 0
    assert_matches(snap, s)
    assert all_ok(snap)


def test_closed_subaccount_and_forbidden_product_are_recorded_and_the_rest_is_read() -> None:
    s = scenario()
    closed, forbidden = s["accounts"][2], s["accounts"][3]
    closed["status"] = "closed"
    s["faults"] = {"product_errors": {forbidden["sid"]: {"studio": 403}}}
    with EmulatorServer(s) as server:
        snap = collect(config(s, server.url))
    cov = snap.coverage
    assert cov[forbidden["sid"]]["flows"].startswith("error: 403")
    assert {k for k, v in cov[forbidden["sid"]].items() if v != "ok"} == {"flows"}
    for src in ("flows", "functions", "alerts", "flex"):
        assert cov[closed["sid"]][src] == "skipped"  # a closed account runs nothing
    assert cov[closed["sid"]]["phone_numbers"] == "ok"
    assert any("Closed account(s)" in n for n in snap.notes)
    assert snap.account(closed["sid"]).status == "closed"  # type: ignore[union-attr]
    assert all(v == "ok" for v in cov[s["accounts"][1]["sid"]].values())
    assert any("could not be read completely" in n for n in snap.notes)
    assert {f.account_sid for f in snap.flows} == {s["accounts"][i]["sid"] for i in (0, 1)}


def test_api_key_audits_its_account_and_marks_subaccounts() -> None:
    s = scenario()
    key = s["api_keys"][0]
    creds = Credentials(
        account_sid=key["account_sid"], api_key=key["sid"], api_secret=key["secret"]
    )
    with EmulatorServer(s) as server:
        snap = collect(CollectConfig(credentials=creds, api_url=server.url, now=NOW))
    root = s["accounts"][0]["sid"]
    assert all(v == "ok" for v in snap.coverage[root].values())
    # Subaccounts the key can see are marked; the emulator (like Twilio) shows it none.
    for sid, cov in snap.coverage.items():
        if sid != root:
            assert cov == dict.fromkeys(SOURCES, API_KEY_DENIED)
    assert {n.account_sid for n in snap.phone_numbers} == {root}
    assert any("API key" in n for n in snap.notes)


def test_account_restriction_reads_only_those_accounts() -> None:
    s = scenario()
    only = s["accounts"][2]["sid"]
    with EmulatorServer(s) as server:
        snap = collect(config(s, server.url, accounts=[only]))
    assert {n.account_sid for n in snap.phone_numbers} == {only}
    assert all(
        v == "skipped" for sid, cov in snap.coverage.items() if sid != only for v in cov.values()
    )
    assert all(v == "ok" for v in snap.coverage[only].values())


def test_post_is_refused_before_anything_is_sent() -> None:
    s = scenario()
    with EmulatorServer(s) as server:
        client = make_client(
            parent_creds(s), server.url, http_client=ReadOnlyHttpClient(server.url)
        )
        with pytest.raises(MethodRefusedError):
            client.api.v2010.accounts(s["accounts"][0]["sid"]).incoming_phone_numbers.create(
                phone_number="+15005550006"
            )
        assert server.stats.total_requests == 0
        assert server.refused_methods == []


def secrets_of(s: dict[str, Any], snap_functions_env: set[str]) -> list[str]:
    out = [a["auth_token"] for a in s["accounts"]] + [k["secret"] for k in s.get("api_keys", [])]
    for acc in s["accounts"]:
        for svc in acc.get("services", []):
            for env in svc["environments"]:
                for var in env["variables"]:
                    if var["key"] not in snap_functions_env:
                        out.append(var["value"])
    return [x for x in out if len(x) >= 8]


def run_cli(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return int(exc.value.code or 0)


def test_cli_writes_snapshot_without_any_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    s = scenario()
    parent = s["accounts"][0]
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", parent["sid"])
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", parent["auth_token"])
    out = tmp_path / "out"
    with EmulatorServer(s) as server:
        rc = run_cli(["collect", "--out", str(out), "--api-url", server.url, "--verbose"])
    captured = capsys.readouterr()
    assert rc == 0
    text = (out / "snapshot.json").read_text()
    data = json.loads(text)
    used = {k for fn in data["functions"] for k in fn["environment"]}
    assert used, "expected referenced caller-ID variables to be kept"
    logs = captured.out + captured.err
    assert "GET http://" in logs  # --verbose logs each request
    assert "collected 4 accounts" in captured.out
    secrets = secrets_of(s, used)
    assert UNREFERENCED in secrets
    for secret in secrets:
        assert secret not in text
        assert secret not in logs
    assert [p.name for p in out.iterdir()] == ["snapshot.json"]


def test_wrong_credentials_exit_2_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    s = scenario()
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", s["accounts"][0]["sid"])
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "0" * 32)
    with EmulatorServer(s) as server:
        rc = run_cli(["collect", "--out", str(tmp_path), "--api-url", server.url, "--quiet"])
        total = server.stats.total_requests
    err = capsys.readouterr().err
    assert rc == 2
    assert total == 1  # the first request decided
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "rejected the credentials" in lines[0]
    assert "0" * 32 not in err
    assert not (tmp_path / "snapshot.json").exists()


def test_missing_credentials_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for var in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_API_KEY", "TWILIO_API_SECRET"):
        monkeypatch.delenv(var, raising=False)
    rc = run_cli(["collect", "--out", str(tmp_path), "--api-url", "http://127.0.0.1:9"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "TWILIO_ACCOUNT_SID is not set" in err and len(err.splitlines()) == 1


def test_unreachable_api_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "1" * 32)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "2" * 32)
    monkeypatch.setattr(
        "auditor.collect.walker.ReadOnlyHttpClient",
        functools.partial(ReadOnlyHttpClient, retry=RetryPolicy(max_attempts=1)),
    )
    rc = run_cli(["collect", "--out", str(tmp_path), "--api-url", "http://127.0.0.1:9", "-q"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "cannot reach" in err and len(err.splitlines()) == 1


def test_skipped_sources_are_not_read_and_say_so() -> None:
    s = scenario()
    with EmulatorServer(s) as server:
        snap = collect(
            config(
                s,
                server.url,
                studio=False,
                functions=False,
                alerts=False,
                geo_permissions=False,
                flex=False,
            )
        )
        per_account = server.stats.total_requests
    assert not snap.flows and not snap.functions and not snap.alerts
    assert snap.alert_window_days is None and not snap.dialing_permissions
    assert not snap.flex_configurations
    sources = ("flows", "functions", "alerts", "geo_permissions", "flex")
    for cov in snap.coverage.values():
        assert [cov[k] for k in sources] == ["skipped"] * 5
    assert per_account == 1 + 4 * len(s["accounts"])  # accounts list + 4 v2010 lists each


def test_alert_window_is_capped_at_30_days_with_a_note() -> None:
    s = scenario()
    with EmulatorServer(s) as server:
        snap = collect(config(s, server.url, since_days=90, studio=False, functions=False))
    assert snap.alert_window_days == 30
    assert any("last 30 days" in n for n in snap.notes)
    assert {a.sid for a in snap.alerts} == expected_alerts(s)


class _Recorder:
    def __init__(self) -> None:
        self.total = 0
        self.done: list[str] = []
        self.requests = 0
        self.errors: list[str] = []

    def start(self, accounts: int) -> None:
        self.total = accounts

    def account_done(self, account_sid: str) -> None:
        self.done.append(account_sid)

    def http_event(self, kind: str, detail: str) -> None:
        self.requests += kind == "request"
        if kind == "error":
            self.errors.append(detail)

    def finish(self) -> None:
        pass


def test_progress_errors_are_sources_the_report_calls_incomplete() -> None:
    """A 404 that means "no Flex" is an answer, not an error; a 403 on Studio is one."""
    s = scenario()
    sub = s["accounts"][1]["sid"]
    s["faults"] = {"product_errors": {sub: {"studio": 403}}}
    rec = _Recorder()
    with EmulatorServer(s) as server:
        snap = collect(config(s, server.url), rec)
    assert all("flex_configuration" not in a for a in s["accounts"])  # every Flex read is a 404
    assert snap.coverage[sub]["flows"].startswith("error")
    assert rec.errors == ["flows"]


def test_progress_counts_each_account_once() -> None:
    s = scenario()
    rec = _Recorder()
    with EmulatorServer(s) as server:
        collect(config(s, server.url), rec)
        total = server.stats.total_requests
    assert rec.total == len(s["accounts"])
    assert sorted(rec.done) == sorted(a["sid"] for a in s["accounts"])
    assert rec.requests == total


def test_draft_flow_is_audited_as_its_latest_published_revision() -> None:
    s = scenario()
    flow = s["accounts"][1]["flows"][0]
    live = {"revision": flow.get("revision", 1), "definition": flow["definition"]}
    flow.update(status="draft", revision=live["revision"] + 1, published=live)
    flow["definition"] = {"description": "work in progress", "states": [], "flags": {}}
    with EmulatorServer(s) as server:
        snap = collect(config(s, server.url, functions=False, alerts=False))
    got = next(f for f in snap.flows if f.sid == flow["sid"])
    assert got.status == "published" and got.revision == live["revision"]
    assert got.definition == live["definition"]  # what Twilio executes, not the draft


def test_draft_flow_without_published_revision_is_kept_as_draft() -> None:
    s = scenario()
    flow = s["accounts"][1]["flows"][0]
    flow["status"] = "draft"
    with EmulatorServer(s) as server:
        snap = collect(config(s, server.url, functions=False, alerts=False))
    got = next(f for f in snap.flows if f.sid == flow["sid"])
    assert got.status == "draft" and got.definition == flow["definition"]
    assert snap.coverage[s["accounts"][1]["sid"]]["flows"] == "ok"
