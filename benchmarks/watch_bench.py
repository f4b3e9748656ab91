"""Benchmark `watch`: diagnosis latency at scale, and events per second through real HTTP.

1. Diagnosis: the analysis benchmark's hierarchy (1,000 subaccounts, 100,000
   numbers, 20,000 references, imported from analysis_bench.py) as the snapshot;
   times building the Diagnoser, the first diagnosis of a cross-account 13214 (a
   whole analysis) and a repeat of it (a new event SID and call: the cache).
2. Throughput: the watch tests' small hierarchy served by the emulator; N signed
   Debugger events POSTed one after another to a running watcher (uvicorn),
   half of them repeats; times from the first POST to the last JSON line.

    python benchmarks/watch_bench.py [--accounts 1000] [--numbers 100000] [--refs 20000]
                                     [--events 200]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import watch_fixtures as W
from analysis_bench import build, e164, sid
from watch_support import make_snapshot, watch_config

from auditor.emulator import EmulatorServer
from auditor.model import Alert
from auditor.watch import Watcher
from auditor.watch.diagnose import Diagnoser
from auditor.watch.events import event_from_alert


def diagnosis(accounts: int, numbers: int, refs: int) -> None:
    snap, references, _ = build(accounts, numbers, refs)
    snap = replace(snap, code_references=[r for r in references if r.source.kind != "alert"])
    t0 = time.perf_counter()
    diagnoser = Diagnoser(snap)
    setup = time.perf_counter() - t0
    executing, sibling_number = sid("AC", 3), e164(numbers - 1)
    twiml = (
        f'<Response><Dial callerId="{sibling_number}">'
        "<Number>+15035550199</Number></Dial></Response>"
    )

    def event(n: int) -> object:
        return event_from_alert(
            Alert(
                sid=sid("NO", 10**6 + n),
                account_sid=executing,
                error_code="13214",
                date_created="2026-11-29T12:00:00Z",
                request_url="https://hooks.example.com/2/1",
                request_variables=f"From=%2B15035550123&To=%2B15550000201&CallSid=CA{n}",
                response_body=twiml,
            )
        )

    t1 = time.perf_counter()
    (first,) = diagnoser.diagnose(event(0))  # type: ignore[arg-type]
    first_s = time.perf_counter() - t1
    t2 = time.perf_counter()
    for n in range(1, 51):
        (again,) = diagnoser.diagnose(event(n))  # type: ignore[arg-type]
    repeat_ms = (time.perf_counter() - t2) / 50 * 1000
    assert first.rule == again.rule == "callerid-cross-account", first.rule
    print(
        f"diagnosis  accounts={accounts} numbers={numbers} refs={refs}: setup {setup:.2f} s, "
        f"first event {first_s:.2f} s, repeat {repeat_ms:.2f} ms ({first.rule})"
    )


def throughput(events: int) -> None:
    with tempfile.TemporaryDirectory() as tmp_name, EmulatorServer(W.scenario()) as em:
        tmp = Path(tmp_name)
        snapshot = make_snapshot(W.scenario(), tmp / "snap")
        watcher = Watcher(watch_config(snapshot, tmp, em.url)).start()
        url = watcher.server.url + "/debugger"  # type: ignore[union-attr]
        jsonl = tmp / "diagnoses.jsonl"
        callers = [W.NURSE_LINE, W.TYPO]
        t0 = time.perf_counter()
        for n in range(events):
            caller = callers[n % 2] if n < events // 2 else f"+1206555{n:04d}"  # nobody's
            alert = W.alert(str(n + 1), caller, datetime.now(UTC))
            em.deliver_debugger_event(url, W.RIVERSIDE, alert)
        posted = time.perf_counter() - t0
        expected = 2 + (events - events // 2)  # two groups, then one line per new caller ID
        while len(jsonl.read_text().splitlines()) < expected:
            time.sleep(0.005)
        done = time.perf_counter() - t0
        health = watcher.health()
        watcher.stop()
    print(
        f"throughput {events} signed events over HTTP: posted in {posted:.2f} s "
        f"({events / posted:.0f}/s), all diagnosed in {done:.2f} s; "
        f"counts {json.dumps(health['counts'])}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--numbers", type=int, default=100_000)
    parser.add_argument("--refs", type=int, default=20_000)
    parser.add_argument("--events", type=int, default=200)
    args = parser.parse_args(argv)
    diagnosis(args.accounts, args.numbers, args.refs)
    throughput(args.events)
    return 0


if __name__ == "__main__":
    sys.exit(main())
