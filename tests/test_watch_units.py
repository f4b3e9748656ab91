"""The watch's pieces on their own: event parsing, grouping in a real SQLite file, the
notification line, option parsing, and the emulator's Debugger events and alerts over time."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import watch_fixtures as W
from twilio.request_validator import RequestValidator
from watch_support import PARENT_CREDS, assert_diagnosed_as_audited

from auditor.collect.client import make_client
from auditor.collect.credentials import Credentials
from auditor.commands.watch import parse_duration
from auditor.emulator import EmulatorServer
from auditor.emulator.debugger import debugger_form, sign
from auditor.errors import AuditorError
from auditor.model import Alert
from auditor.watch.diagnose import Diagnosis
from auditor.watch.events import EventError, WatchEvent, event_from_alert, event_from_debugger
from auditor.watch.notify import notification_text, notifier_label
from auditor.watch.receiver import TokenBook, parse_form, parse_listen, signed
from auditor.watch.state import WatchState

# Twilio's own example of a Debugger webhook (debugging-event-webhooks page), as fields.
DOC_EXAMPLE = {
    "AccountSid": "AC" + "0" * 32,
    "Level": "ERROR",
    "ParentAccountSid": "",
    "Payload": json.dumps(
        {
            "resource_sid": "CA" + "1" * 32,
            "service_sid": None,
            "error_code": "11200",
            "more_info": {
                "msg": "An attempt to retrieve content from https://yyy.zzz returned 404",
                "Msg": "An attempt to retrieve content from https://yyy.zzz returned 404",
                "sourceComponent": "12000",
                "ErrorCode": "11200",
                "httpResponse": "404",
                "url": "https://yyy.zzz",
                "LogLevel": "ERROR",
            },
            "webhook": {"type": "application/json", "request": {}},
        }
    ),
    "PayloadType": "application/json",
    "Sid": "NO" + "2" * 32,
    "Timestamp": "2020-01-01T23:28:54Z",
}


# ---------------------------------------------------------------------------- events


def test_twilios_documented_example_parses() -> None:
    event = event_from_debugger(DOC_EXAMPLE)
    assert (event.sid, event.error_code, event.level) == ("NO" + "2" * 32, "11200", "error")
    assert event.parent_account_sid is None  # sent empty for a parent's own event
    assert event.alert.resource_sid == "CA" + "1" * 32
    assert "Msg=An+attempt" in event.alert.alert_text
    assert event.alert.response_body is None


def test_a_caller_id_event_carries_request_and_twiml() -> None:
    when = datetime(2026, 11, 29, 12, tzinfo=UTC)
    form = debugger_form(W.alert("5", W.NURSE_LINE, when), W.RIVERSIDE, W.PARENT)
    event = event_from_debugger(form)
    assert event.parent_account_sid == W.PARENT
    assert event.alert.response_body == W.twiml(W.NURSE_LINE)
    assert "To=%2B19715550101" in (event.alert.request_variables or "")
    assert event.alert.request_url == W.IVR_URL and event.timestamp == "2026-11-29T12:00:00Z"


def test_twiml_answered_with_an_http_error_is_not_read() -> None:
    payload = json.loads(DOC_EXAMPLE["Payload"])
    payload["webhook"]["response"] = {"status_code": 500, "body": W.twiml(W.TYPO)}
    event = event_from_debugger({**DOC_EXAMPLE, "Payload": json.dumps(payload)})
    assert event.alert.response_body is None


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"AccountSid": "nobody"}, "AccountSid"),
        ({"Sid": ""}, "Sid"),
        ({"Payload": "{"}, "Payload is not valid JSON"),
        ({"Payload": "[" * 100_000 + "]" * 100_000}, "Payload"),
        ({"Payload": json.dumps({"error_code": "13214", "webhook": []})}, "Payload.webhook"),
        ({"Payload": json.dumps({"webhook": {}})}, "error_code"),
        ({"ParentAccountSid": "AC123"}, "ParentAccountSid"),
    ],
)
def test_malformed_events_name_the_field(change: dict[str, str], named: str) -> None:
    with pytest.raises(EventError, match=named):
        event_from_debugger({**DOC_EXAMPLE, **change})


def test_a_form_with_a_repeated_field_is_refused() -> None:
    assert parse_form(b"A=1&B=") == {"A": "1", "B": ""}
    with pytest.raises(ValueError, match="twice"):
        parse_form(b"AccountSid=AC1&AccountSid=AC2")


def test_signature_tries_the_account_then_the_parent() -> None:
    url = "https://watch.example.com/debugger"
    form = debugger_form(W.alert("1", W.TYPO, datetime.now(UTC)), W.RIVERSIDE, W.PARENT)
    book = TokenBook(W.PARENT, W.TOKENS)
    assert signed(url, form, sign(url, form, W.TOKENS[W.RIVERSIDE]), book)
    assert signed(url, form, sign(url, form, W.TOKENS[W.PARENT]), book)
    assert not signed(url, form, sign(url, form, "f" * 32), book)
    assert not signed(url + "?x=1", form, sign(url, form, W.TOKENS[W.RIVERSIDE]), book)
    assert not any(token in repr(book) for token in W.TOKENS.values())


# ---------------------------------------------------------------------------- grouping


def _diagnosis(
    sid: str, caller_id: str = W.NURSE_LINE, rule: str = "callerid-cross-account"
) -> Diagnosis:
    return Diagnosis(
        event_sid=sid,
        timestamp="2026-11-29T12:00:00Z",
        error_code="13214",
        account_sid=W.RIVERSIDE,
        account_name="Clinic Riverside",
        caller_id=caller_id,
        rule=rule,
        severity="high",
        owner_account_sid=W.HILLCREST,
        owner_account_name="Clinic Hillcrest",
        path=[W.RIVERSIDE, W.PARENT, W.HILLCREST],
        remediation="Move it. Or verify it.",
        message="…",
    )


def _event(sid: str) -> WatchEvent:
    return event_from_alert(Alert(sid=sid, account_sid=W.RIVERSIDE, error_code="13214"))


def test_grouping_first_notifies_repeats_count_and_the_summary_closes_the_window(
    tmp_path: Path,
) -> None:
    state = WatchState(tmp_path / "s.sqlite")
    window = 600.0
    first = state.record(_event("NO1"), [_diagnosis("NO1")], now=1000.0, window=window)
    assert [d.event_sid for d in first.emit] == ["NO1"]
    for i in range(2, 51):
        r = state.record(_event(f"NO{i}"), [_diagnosis(f"NO{i}")], now=1000.0 + i, window=window)
        assert not r.emit and r.absorbed == 1
    other = state.record(
        _event("NOx"), [_diagnosis("NOx", rule="callerid-not-authorized")], 1001.0, window
    )
    assert len(other.emit) == 1  # another rule is another group
    again = state.record(_event("NO7"), [_diagnosis("NO7")], now=1100.0, window=window)
    assert again == type(again)([], 0)  # already seen: nothing at all
    assert state.close_windows(now=1599.0, window=window) == []
    (summary,) = [d for d in state.close_windows(now=1600.0, window=window) if d.count > 1]
    assert (summary.kind, summary.count, summary.event_sid) == ("summary", 50, "NO50")
    state.close()
    # A new window after the close notifies again; state survives reopening.
    reopened = WatchState(tmp_path / "s.sqlite")
    assert reopened.is_seen("NO25")
    assert len(reopened.record(_event("NO60"), [_diagnosis("NO60")], 1700.0, window).emit) == 1
    reopened.close()


def test_pending_events_survive_a_stop(tmp_path: Path) -> None:
    state = WatchState(tmp_path / "s.sqlite")
    form = debugger_form(W.alert("3", W.TYPO, datetime.now(UTC)), W.RIVERSIDE, W.PARENT)
    event = event_from_debugger(form)
    state.save_pending([event])
    state.close()
    again = WatchState(tmp_path / "s.sqlite")
    assert again.take_pending() == [event]
    assert again.take_pending() == []
    again.close()


def test_a_foreign_state_file_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a database, just notes\n" * 100)
    with pytest.raises(AuditorError, match="not a twilio-audit watch state file"):
        WatchState(path)


# ---------------------------------------------------------------------------- text


def test_the_notification_is_one_escaped_line_naming_owner_and_fix() -> None:
    d = _diagnosis("NO1")
    d.account_name = "Clinic <!channel>\n\u202eevil"
    text = notification_text(d, "Clinic Riverside → Parent → Clinic Hillcrest")
    assert "\n" not in text and "\u202e" not in text
    assert "&lt;!channel&gt;" in text and "<!channel>" not in text
    assert "Held by Clinic Hillcrest" in text and text.endswith("Fix: Move it.")


def test_a_notifier_is_named_without_its_secret_path() -> None:
    assert (
        notifier_label("https://hooks.slack.com/services/T0/B0/SECRET")
        == "https://hooks.slack.com/…"
    )
    assert notifier_label("http://127.0.0.1:9000/x") == "http://127.0.0.1:9000/…"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("8080", ("127.0.0.1", 8080)), ("0.0.0.0:80", ("0.0.0.0", 80)), ("[::1]:9", ("::1", 9))],
)
def test_listen_addresses(text: str, expected: tuple[str, int]) -> None:
    assert parse_listen(text) == expected


@pytest.mark.parametrize("text", ["", "host:", ":80", "host:99999", "a:b"])
def test_bad_listen_addresses(text: str) -> None:
    with pytest.raises(AuditorError, match="--listen"):
        parse_listen(text)


def test_durations() -> None:
    assert [parse_duration(t, "--x") for t in ("90", "90s", "10m", "1h", "2d")] == [
        90, 90, 600, 3600, 172800,
    ]  # fmt: skip
    with pytest.raises(AuditorError, match="--x '0'"):
        parse_duration("0", "--x")


# ---------------------------------------------------------------------------- emulator


def test_emulator_signs_as_twilio_and_serves_alerts_added_later() -> None:
    with EmulatorServer(W.scenario()) as em:
        client = make_client(Credentials(W.RIVERSIDE, W.TOKENS[W.RIVERSIDE]), em.url)
        assert list(client.monitor.v1.alerts.list()) == []
        em.add_alert(W.RIVERSIDE, W.alert("1", W.TYPO, datetime.now(UTC)))
        (listed,) = client.monitor.v1.alerts.list()
        assert listed.sid == "NO" + "1".rjust(32, "0") and listed.response_body is None
        assert client.monitor.v1.alerts(listed.sid).fetch().response_body == W.twiml(W.TYPO)
        with pytest.raises(AuditorError):
            em.add_alert("AC" + "9" * 32, W.alert("2", W.TYPO, datetime.now(UTC)))
        parent = make_client(PARENT_CREDS, em.url)
        assert list(parent.monitor.v1.alerts.list()) == []  # Monitor is per account
    form = debugger_form(W.alert("1", W.TYPO, datetime.now(UTC)), W.RIVERSIDE, None)
    assert form["ParentAccountSid"] == ""
    url = "http://127.0.0.1:1/debugger"
    assert RequestValidator(W.TOKENS[W.RIVERSIDE]).validate(
        url, form, sign(url, form, W.TOKENS[W.RIVERSIDE])
    )


# ---------------------------------------------------------------------------- same as audit


def test_each_demo_alert_is_diagnosed_as_the_audit_judges_it() -> None:
    """watch runs the audit's rules: for every caller-ID alert of the demo hierarchy, the
    diagnosis is the audit's own finding about it (rule, owner, path, fix, who hears it)."""
    from auditor.analysis import analyse
    from auditor.collect import CollectConfig, collect
    from auditor.emulator.demo import DEMO_NOW, PARENT, auth_token, demo_scenario
    from auditor.watch.diagnose import DIAGNOSED_CODES, Diagnoser

    with EmulatorServer(demo_scenario(DEMO_NOW)) as em:
        creds = Credentials(PARENT, auth_token(PARENT))
        snap = collect(CollectConfig(creds, api_url=em.url, now=DEMO_NOW))
    audit = analyse(snap).findings
    diagnoser = Diagnoser(snap)
    alerts = [a for a in snap.alerts if a.error_code in DIAGNOSED_CODES]
    assert len(alerts) >= 5
    rules = set()
    for alert in alerts:
        (d,) = diagnoser.diagnose(event_from_alert(alert))
        assert_diagnosed_as_audited(audit, alert, d)
        rules.add(d.rule)
    assert {"callerid-cross-account", "callerid-client-on-pstn", "callerid-empty"} <= rules


def test_a_repeated_event_reuses_the_diagnosis_under_its_own_sid(tmp_path: Path) -> None:
    from watch_support import make_snapshot

    from auditor.snapshot import load_snapshot
    from auditor.watch.diagnose import Diagnoser

    diagnoser = Diagnoser(load_snapshot(make_snapshot(W.scenario(), tmp_path)))
    when = datetime.now(UTC)
    first, second = (
        event_from_debugger(debugger_form(W.alert(n, W.NURSE_LINE, when), W.RIVERSIDE, W.PARENT))
        for n in ("1", "2")
    )
    (a,) = diagnoser.diagnose(first)
    (b,) = diagnoser.diagnose(second)
    assert len(diagnoser._cache) == 1  # one analysis for both
    assert b.event_sid == second.sid and second.sid in b.message and first.sid not in b.message
    assert (b.rule, b.owner_account_sid, b.remediation) == (
        a.rule,
        a.owner_account_sid,
        a.remediation,
    )
    (c,) = diagnoser.diagnose(
        event_from_debugger(debugger_form(W.alert("3", W.TYPO, when), W.RIVERSIDE, W.PARENT))
    )
    assert c.rule == "callerid-not-authorized" and len(diagnoser._cache) == 2


def test_a_calls_api_21210_is_judged_as_a_calls_api_from(tmp_path: Path) -> None:
    """21210 comes from a REST request's From, not a Dial: the rules judge it by its via."""
    from watch_support import make_snapshot

    from auditor.snapshot import load_snapshot
    from auditor.watch.diagnose import Diagnoser

    diagnoser = Diagnoser(load_snapshot(make_snapshot(W.scenario(), tmp_path)))
    alert = W.alert("9", W.NURSE_LINE, datetime.now(UTC), code="21210")
    alert["response_body"] = None  # a REST request has no TwiML
    alert["alert_text"] = "Msg=The+From+phone+number+is+not+verified&From=%2B13605550105"
    (d,) = diagnoser.diagnose(event_from_debugger(debugger_form(alert, W.RIVERSIDE, W.PARENT)))
    assert (d.rule, d.caller_id, d.owner_account_sid) == (
        "callerid-cross-account",
        W.NURSE_LINE,
        W.HILLCREST,
    )
    assert "21210" in d.message
