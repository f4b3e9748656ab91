"""`watch` end to end in process: the emulator delivers signed Debugger events over real HTTP
to the watcher's real uvicorn server; state is a real SQLite file; notify sinks are real
HTTP servers. Waits are bounded; the only timing bounds asserted are the issue's own
(a diagnosis within a second, a stop within two)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import watch_fixtures as W
from watch_support import (
    Sink,
    debugger_url,
    make_snapshot,
    read_lines,
    wait_for,
    watch_config,
)

from auditor.emulator import EmulatorServer
from auditor.watch import Watcher


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_snapshot(W.scenario(), tmp_path_factory.mktemp("snap"))


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(W.scenario()) as server:
        yield server


@pytest.fixture
def sinks() -> Iterator[dict[str, Sink]]:
    made = {mode: Sink(mode).start() for mode in ("ok", "fail", "hang")}
    yield made
    for sink in made.values():
        sink.stop()


class Watchers:
    """Starts watchers and always stops them (a failing test leaves no thread behind)."""

    def __init__(self, snapshot: Path, tmp: Path, emulator: EmulatorServer) -> None:
        self.snapshot, self.tmp, self.emulator = snapshot, tmp, emulator
        self.running: list[Watcher] = []

    def start(self, **changes: Any) -> Watcher:
        watcher = Watcher(watch_config(self.snapshot, self.tmp, self.emulator.url, **changes))
        self.running.append(watcher)
        return watcher.start()

    def stop_all(self) -> None:
        for watcher in self.running:
            watcher.stop()


@pytest.fixture
def watchers(snapshot: Path, tmp_path: Path, emulator: EmulatorServer) -> Iterator[Watchers]:
    made = Watchers(snapshot, tmp_path, emulator)
    yield made
    made.stop_all()


def now() -> datetime:
    return datetime.now(UTC)


def health(watcher: Watcher) -> dict[str, Any]:
    assert watcher.server is not None
    resp = requests.get(watcher.server.url + "/healthz", timeout=5)
    assert resp.status_code == 200
    return dict(resp.json())


def deliver(emulator: EmulatorServer, watcher: Watcher, alert: dict[str, Any], **kw: Any) -> int:
    return emulator.deliver_debugger_event(debugger_url(watcher), W.RIVERSIDE, alert, **kw)


# ---------------------------------------------------------------------------- receiving


def test_signed_cross_account_event_is_diagnosed_in_one_line_within_a_second(
    watchers: Watchers, emulator: EmulatorServer, sinks: dict[str, Sink], tmp_path: Path
) -> None:
    watcher = watchers.start(notify=[sinks["ok"].url])
    jsonl = tmp_path / "diagnoses.jsonl"
    assert deliver(emulator, watcher, W.alert("1", W.NURSE_LINE, now())) == 200
    answered = time.monotonic()
    lines = wait_for(lambda: read_lines(jsonl), timeout=1.0)
    assert lines, "no diagnosis within a second of Twilio's request being answered"
    assert time.monotonic() - answered <= 1.0
    (line,) = lines
    assert line["event_sid"] == "NO" + "1".rjust(32, "0")
    assert line["error_code"] == "13214"
    assert line["account_sid"] == W.RIVERSIDE
    assert line["account_name"] == "Clinic Riverside"
    assert line["caller_id"] == W.NURSE_LINE
    assert line["rule"] == "callerid-cross-account"
    assert line["severity"] == "high"
    assert line["owner_account_sid"] == W.HILLCREST
    assert line["owner_account_name"] == "Clinic Hillcrest"
    assert line["path"] == [W.RIVERSIDE, W.PARENT, W.HILLCREST]
    move = f"/2010-04-01/Accounts/{W.HILLCREST}/IncomingPhoneNumbers/{W.NURSE_PN}.json"
    assert move in line["remediation"] and f"AccountSid={W.RIVERSIDE}" in line["remediation"]
    assert line["count"] == 1 and line["kind"] == "event" and line["origin"] == "debugger"
    assert line["impacted"] == [W.RIVERSIDE_MAIN]
    # The notifier got the same event and one readable line naming owner and fix.
    (body,) = wait_for(lambda: sinks["ok"].bodies, timeout=5)
    assert body["event"] == line
    text = body["text"]
    assert "\n" not in text
    assert W.NURSE_LINE in text and "Clinic Hillcrest" in text and "Fix: Move" in text
    assert health(watcher)["counts"]["accepted"] == 1


def test_unsigned_or_wrongly_signed_events_get_403_and_notify_nothing(
    watchers: Watchers, emulator: EmulatorServer, sinks: dict[str, Sink], tmp_path: Path
) -> None:
    watcher = watchers.start(notify=[sinks["ok"].url])
    assert deliver(emulator, watcher, W.alert("1", W.NURSE_LINE, now()), signed_by=None) == 403
    assert deliver(emulator, watcher, W.alert("2", W.NURSE_LINE, now()), signed_by="wrong") == 403
    other_url = "https://watch.example.com/debugger"  # signed for a URL Twilio did not call
    assert deliver(emulator, watcher, W.alert("3", W.TYPO, now()), sign_url=other_url) == 403
    # A signed event afterwards is diagnosed; the queue is in order, so had any refused
    # event been queued its line would come first.
    assert deliver(emulator, watcher, W.alert("4", W.TYPO, now())) == 200
    lines = wait_for(lambda: read_lines(tmp_path / "diagnoses.jsonl"), timeout=5)
    assert [line["event_sid"] for line in lines] == ["NO" + "4".rjust(32, "0")]
    wait_for(lambda: sinks["ok"].bodies, timeout=5)
    assert [b["event"]["event_sid"] for b in sinks["ok"].bodies] == [lines[0]["event_sid"]]
    counts = health(watcher)["counts"]
    assert counts["unsigned"] == 1 and counts["bad_signature"] == 2 and counts["accepted"] == 1


def test_an_event_signed_with_the_parents_token_counts(
    watchers: Watchers, emulator: EmulatorServer, tmp_path: Path
) -> None:
    """Which token signs a subaccount's event is not documented: the parent's is accepted."""
    watcher = watchers.start()
    assert deliver(emulator, watcher, W.alert("1", W.TYPO, now()), signed_by="parent") == 200
    lines = wait_for(lambda: read_lines(tmp_path / "diagnoses.jsonl"), timeout=5)
    assert [line["rule"] for line in lines] == ["callerid-not-authorized"]


def test_public_url_is_what_the_signature_covers(
    watchers: Watchers, emulator: EmulatorServer, tmp_path: Path
) -> None:
    public = "https://watch.example.com/twilio/debugger"
    watcher = watchers.start(public_url=public)
    alert = W.alert("1", W.TYPO, now())
    # Signed for the local URL, which is not the one Twilio calls: refused.
    assert deliver(emulator, watcher, alert) == 403
    assert deliver(emulator, watcher, alert, sign_url=public) == 200
    assert wait_for(lambda: read_lines(tmp_path / "diagnoses.jsonl"), timeout=5)


def test_oversized_malformed_and_wrong_method_requests(
    watchers: Watchers, emulator: EmulatorServer
) -> None:
    watcher = watchers.start()
    url = debugger_url(watcher)
    big = requests.post(url, data={"Payload": "x" * (300 * 1024)}, timeout=5)
    assert big.status_code == 413
    signed_garbage = {"Sid": "NO" + "9" * 32, "AccountSid": W.RIVERSIDE, "Payload": "{not json"}
    from auditor.emulator.debugger import deliver as post
    from auditor.emulator.debugger import sign

    assert post(url, signed_garbage, sign(url, signed_garbage, W.TOKENS[W.RIVERSIDE])) == 400
    assert requests.get(url, timeout=5).status_code == 405
    counts = health(watcher)["counts"]
    assert counts["too_large"] == 1 and counts["malformed"] == 1
    assert "accepted" not in counts


def test_other_error_codes_are_counted_not_diagnosed(
    watchers: Watchers, emulator: EmulatorServer, tmp_path: Path
) -> None:
    watcher = watchers.start()
    assert deliver(emulator, watcher, W.alert("1", W.TYPO, now(), code="11200")) == 200
    assert deliver(emulator, watcher, W.alert("2", W.TYPO, now())) == 200
    lines = wait_for(lambda: read_lines(tmp_path / "diagnoses.jsonl"), timeout=5)
    assert [line["error_code"] for line in lines] == ["13214"]
    report = health(watcher)
    assert report["other_error_codes"] == {"11200": 1}
    assert report["last_event_at"] and report["snapshot"]["age_seconds"] is not None
    assert report["snapshot"]["stale"] is False


# ---------------------------------------------------------------------------- grouping


def test_fifty_identical_events_notify_once_then_once_with_their_count(
    watchers: Watchers, emulator: EmulatorServer, sinks: dict[str, Sink], tmp_path: Path
) -> None:
    window = 2.0
    watcher = watchers.start(notify=[sinks["ok"].url], group_window=window)
    for i in range(50):
        assert deliver(emulator, watcher, W.alert(f"{i + 1}", W.NURSE_LINE, now())) == 200
    ok = sinks["ok"]
    summary = wait_for(lambda: [b for b in ok.bodies if b["event"]["kind"] == "summary"], 15)
    assert summary, "the group's window closed without its summary"
    assert [b["event"]["kind"] for b in ok.bodies] == ["event", "summary"]
    first, grouped = ok.bodies
    assert first["event"]["count"] == 1
    assert grouped["event"]["count"] == 50
    assert grouped["text"].startswith("Repeated 50×")
    assert grouped["event"]["rule"] == "callerid-cross-account"
    # A different caller ID is its own group; afterwards nothing more of the first.
    assert deliver(emulator, watcher, W.alert("99", W.TYPO, now())) == 200
    wait_for(lambda: len(ok.bodies) == 3, timeout=5)
    assert [b["event"]["caller_id"] for b in ok.bodies] == [W.NURSE_LINE, W.NURSE_LINE, W.TYPO]
    assert len(read_lines(tmp_path / "diagnoses.jsonl")) == 3
    assert health(watcher)["counts"]["grouped"] == 49


def test_a_restart_does_not_notify_again(
    watchers: Watchers, emulator: EmulatorServer, sinks: dict[str, Sink], tmp_path: Path
) -> None:
    first = watchers.start(notify=[sinks["ok"].url])
    event = W.alert("1", W.NURSE_LINE, now())
    assert deliver(emulator, first, event) == 200
    assert wait_for(lambda: sinks["ok"].bodies, timeout=5)
    first.stop()
    second = watchers.start(notify=[sinks["ok"].url], jsonl=tmp_path / "after.jsonl")
    assert deliver(emulator, second, event) == 200  # Twilio retrying the same event
    assert deliver(emulator, second, W.alert("2", W.NURSE_LINE, now())) == 200  # same group
    assert deliver(emulator, second, W.alert("3", W.TYPO, now())) == 200  # a new problem
    lines = wait_for(lambda: read_lines(tmp_path / "after.jsonl"), timeout=5)
    assert [line["caller_id"] for line in lines] == [W.TYPO]
    wait_for(lambda: len(sinks["ok"].bodies) == 2, timeout=5)
    assert [b["event"]["event_sid"] for b in sinks["ok"].bodies] == [
        "NO" + "1".rjust(32, "0"),
        "NO" + "3".rjust(32, "0"),
    ]
    counts = health(second)["counts"]
    assert counts["duplicates"] == 1 and counts["grouped"] == 1


# ---------------------------------------------------------------------------- polling


def test_poll_picks_up_alerts_created_after_start_and_after_a_restart(
    watchers: Watchers, emulator: EmulatorServer, tmp_path: Path
) -> None:
    before = W.alert("1", W.TYPO, now())
    emulator.add_alert(W.RIVERSIDE, before)  # older than the watcher: the audit's business
    time.sleep(1.1)  # alert dates have one-second resolution
    watcher = watchers.start(listen=None, poll=0.5)
    emulator.add_alert(W.RIVERSIDE, W.alert("2", W.NURSE_LINE, now()))
    jsonl = tmp_path / "diagnoses.jsonl"
    lines = wait_for(lambda: read_lines(jsonl), timeout=10)
    assert [(x["event_sid"][-1], x["origin"], x["rule"]) for x in lines] == [
        ("2", "poll", "callerid-cross-account")
    ]
    watcher.stop()
    emulator.add_alert(W.RIVERSIDE, W.alert("3", W.TYPO, now()))  # while nobody watches
    watchers.start(listen=None, poll=0.5)
    lines = wait_for(lambda: read_lines(jsonl)[1:], timeout=10)
    assert [x["event_sid"][-1] for x in lines] == ["3"]
    time.sleep(1.2)  # two more polls: alert 2 is not repeated
    assert [x["event_sid"][-1] for x in read_lines(jsonl)] == ["2", "3"]


def test_an_event_seen_by_webhook_and_poll_is_diagnosed_once(
    watchers: Watchers, emulator: EmulatorServer, tmp_path: Path
) -> None:
    watcher = watchers.start(poll=0.5)
    alert = W.alert("7", W.TYPO, now())
    assert deliver(emulator, watcher, alert) == 200
    emulator.add_alert(W.RIVERSIDE, alert)
    polls = health(watcher)["counts"].get("polls", 0)
    # Two more polls: at least one whole poll began after the alert was listed.
    assert wait_for(lambda: health(watcher)["counts"].get("polls", 0) >= polls + 2, timeout=10)
    assert len(read_lines(tmp_path / "diagnoses.jsonl")) == 1
    assert health(watcher)["counts"]["diagnosed"] == 1


# ---------------------------------------------------------------------------- freshness


def test_an_old_snapshot_is_checked_against_twilio(
    watchers: Watchers, tmp_path: Path, snapshot: Path
) -> None:
    """The nurse line moved to Riverside after the snapshot: with --max-age passed, the live
    lookup wins; with a fresh snapshot, the snapshot's verdict stands."""
    moved = W.scenario()
    hillcrest = next(a for a in moved["accounts"] if a["sid"] == W.HILLCREST)
    riverside = next(a for a in moved["accounts"] if a["sid"] == W.RIVERSIDE)
    riverside["incoming_phone_numbers"].append(hillcrest["incoming_phone_numbers"].pop())
    with EmulatorServer(moved) as em:
        watchers.emulator = em
        fresh = watchers.start(jsonl=tmp_path / "fresh.jsonl", state=tmp_path / "f.sqlite")
        em.deliver_debugger_event(
            debugger_url(fresh), W.RIVERSIDE, W.alert("1", W.NURSE_LINE, now())
        )
        (line,) = wait_for(lambda: read_lines(tmp_path / "fresh.jsonl"), timeout=5)
        assert line["rule"] == "callerid-cross-account" and line["confirmed_by"] == "snapshot"
        old = watchers.start(
            jsonl=tmp_path / "old.jsonl", state=tmp_path / "o.sqlite", max_age=0.001
        )
        em.deliver_debugger_event(debugger_url(old), W.RIVERSIDE, W.alert("2", W.NURSE_LINE, now()))
        (line,) = wait_for(lambda: read_lines(tmp_path / "old.jsonl"), timeout=5)
        assert line["confirmed_by"] == "live lookup"
        assert line["rule"] == "alert-13214-observed"  # nothing left but "Twilio refused it"
        assert line["owner_account_sid"] == W.RIVERSIDE
        assert "now" in line["remediation"]
        watchers.stop_all()
        assert not em.refused_methods  # lookups are GETs


# ---------------------------------------------------------------------------- notifiers


def test_a_hanging_or_failing_notifier_does_not_block_the_next_event(
    watchers: Watchers, emulator: EmulatorServer, sinks: dict[str, Sink], tmp_path: Path
) -> None:
    watcher = watchers.start(
        notify=[sinks["hang"].url, sinks["fail"].url, sinks["ok"].url],
        notify_deadline=20.0,
        notify_attempts=3,
    )
    assert deliver(emulator, watcher, W.alert("1", W.NURSE_LINE, now())) == 200
    assert wait_for(lambda: sinks["hang"].attempts, timeout=5)  # it now holds the first event
    assert deliver(emulator, watcher, W.alert("2", W.TYPO, now())) == 200
    lines = wait_for(lambda: len(read_lines(tmp_path / "diagnoses.jsonl")) == 2, timeout=5)
    assert lines, "the second event waited for the hanging notifier"
    assert wait_for(lambda: len(sinks["ok"].bodies) == 2, timeout=5)
    assert wait_for(lambda: sinks["fail"].attempts >= 6, timeout=10)  # 3 tries per event

    def failed() -> dict[str, int]:
        return {n["target"]: n["failed"] for n in health(watcher)["notifiers"]}

    fail_port = sinks["fail"].url.split(":")[2].split("/")[0]
    assert wait_for(lambda: failed()[f"http://127.0.0.1:{fail_port}/…"] == 2, timeout=5)
    assert not any("secret-path" in target for target in failed())
    began = time.monotonic()
    watcher.stop()  # the hanging send is abandoned, not waited for
    assert time.monotonic() - began < 2.0


def test_a_private_notifier_needs_notify_allow(
    watchers: Watchers,
    emulator: EmulatorServer,
    sinks: dict[str, Sink],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    watcher = watchers.start(notify=[sinks["ok"].url], notify_allow=())
    assert deliver(emulator, watcher, W.alert("1", W.TYPO, now())) == 200
    assert wait_for(lambda: read_lines(tmp_path / "diagnoses.jsonl"), timeout=5)
    target = wait_for(lambda: health(watcher)["notifiers"][0]["failed"], timeout=5)
    assert target == 1
    assert sinks["ok"].attempts == 0  # refused before connecting
    assert "secret-path" not in caplog.text
