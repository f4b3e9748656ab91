"""Collector benchmark: the concurrent collector vs a naive sequential SDK script, one run.

    python benchmarks/collect_bench.py [--subaccounts 200] [--numbers 25] [--latency-ms 30]
                                       [--in-flight 32] [--concurrency 16,32,48,64] [--no-naive]

The emulator runs in its own process (as Twilio would be another machine), with
a fixed latency per request and a per-account limit on requests in flight
(429 past it). The collector uses its own read-only client; the naive script
keeps the SDK's defaults (its own HTTP client, pointed at the emulator; .list()
with the default page size), one request after another.

Lower bound for the collector: max(requests × latency ÷ concurrency,
longest chain of dependent requests × latency).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from auditor.collect import CollectConfig, collect
from auditor.collect.credentials import Credentials
from auditor.collect.http import rewrite_url
from auditor.collect.walker import PAGE_SIZE
from auditor.emulator.generate import generate_hierarchy
from auditor.extract.alerts import CALLER_ID_ERROR_CODES as CALLER_ID_ALERT_CODES

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)


@dataclass
class Result:
    name: str
    seconds: float
    requests: int
    retries: int
    items: int
    client_cpu: float = 0.0
    server_cpu: float = 0.0


def measured(fn: Any, pid: int, *args: Any) -> Result:
    """Run fn(*args) and attach the CPU time it cost here and in the emulator."""
    here, there = cpu_seconds(), cpu_seconds(pid)
    result: Result = fn(*args)
    result.client_cpu = cpu_seconds() - here
    result.server_cpu = cpu_seconds(pid) - there
    return result


def start_emulator(scenario: dict[str, Any], workdir: Path) -> tuple[subprocess.Popen[str], str]:
    path = workdir / "scenario.json"
    path.write_text(json.dumps(scenario))
    return serve_file(path)


def serve_file(path: Path) -> tuple[subprocess.Popen[str], str]:
    """The emulator in its own process, serving a scenario file; (process, base URL)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "auditor.emulator", "--scenario", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http"):
        proc.kill()
        raise SystemExit("the emulator did not start")
    return proc, url


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU time of a process (Linux /proc), or of this one."""
    if pid is None:
        import resource

        ru = resource.getrusage(resource.RUSAGE_SELF)
        return ru.ru_utime + ru.ru_stime
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def longest_chain(scenario: dict[str, Any]) -> int:
    """Dependent requests one after another, even with unlimited concurrency."""
    accounts = scenario["accounts"]
    first = math.ceil(len(accounts) / PAGE_SIZE)

    def pages(n: int) -> int:
        return max(1, math.ceil(n / PAGE_SIZE))

    depth = 0
    for acc in accounts:
        v2010 = max(
            pages(len(acc.get(k, [])))
            for k in (
                "incoming_phone_numbers",
                "outgoing_caller_ids",
                "applications",
                "sip_domains",
            )
        )
        flows = pages(len(acc.get("flows", []))) + (1 if acc.get("flows") else 0)
        alerts = pages(len(acc.get("alerts", []))) + 1
        services = acc.get("services", [])
        serverless = pages(len(services)) + (
            max((pages(len(s["environments"])) + 2 for s in services), default=0)
        )
        depth = max(depth, v2010, flows, alerts, serverless)
    return first + depth


def run_collector(scenario: dict[str, Any], url: str, concurrency: int) -> Result:
    parent = scenario["accounts"][0]
    creds = Credentials(account_sid=parent["sid"], auth_token=parent["auth_token"])
    started = time.perf_counter()
    snap = collect(
        CollectConfig(credentials=creds, api_url=url, concurrency=concurrency, now=NOW),
        progress=_Counter(),
    )
    seconds = time.perf_counter() - started
    bad = [v for cov in snap.coverage.values() for v in cov.values() if v != "ok"]
    if bad:
        raise SystemExit(f"collector run incomplete: {bad[:3]}")
    items = len(snap.phone_numbers) + len(snap.flows) + len(snap.functions) + len(snap.alerts)
    return Result(f"collector c={concurrency}", seconds, _Counter.last.requests,
                  _Counter.last.retries, items)  # fmt: skip


class _Counter:
    """A progress sink that only counts requests and retries."""

    last: _Counter

    def __init__(self) -> None:
        self.requests = 0
        self.retries = 0
        _Counter.last = self

    def start(self, accounts: int) -> None:
        pass

    def account_done(self, account_sid: str) -> None:
        pass

    def http_event(self, kind: str, detail: str) -> None:
        if kind == "request":
            self.requests += 1
        elif kind == "retry":
            self.retries += 1

    def finish(self) -> None:
        pass


class _SdkDefaultHttp(TwilioHttpClient):
    """The SDK's own default HTTP client, pointed at the emulator and counting requests."""

    def __init__(self, api_url: str) -> None:
        super().__init__()
        self.api_url = api_url
        self.count = 0

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        self.count += 1
        return super().request(method, rewrite_url(url, self.api_url), *args, **kwargs)


def run_naive(scenario: dict[str, Any], url: str) -> Result:
    """What a user writes first: for each account, .list() everything, fetch what needs it."""
    http = _SdkDefaultHttp(url)  # the SDK's defaults; only the host is rewritten
    parent = scenario["accounts"][0]
    started = time.perf_counter()
    client = Client(parent["sid"], parent["auth_token"], http_client=http)
    items = 0
    for acc in client.api.v2010.accounts.list():
        a = client.api.v2010.accounts(acc.sid)
        items += len(a.incoming_phone_numbers.list())
        a.outgoing_caller_ids.list()
        a.applications.list()
        a.sip.domains.list()
        sub = Client(acc.sid, acc.auth_token, http_client=http)
        for flow in sub.studio.v2.flows.list():
            sub.studio.v2.flows(flow.sid).fetch()
            items += 1
        for svc in sub.serverless.v1.services.list():
            service = sub.serverless.v1.services(svc.sid)
            for env in service.environments.list():
                service.environments(env.sid).variables.list()
                if not env.build_sid:
                    continue
                build = service.builds(env.build_sid).fetch()
                for fv in build.function_versions or []:
                    version = service.functions(fv["function_sid"]).function_versions(fv["sid"])
                    version.function_version_content().fetch()
                    items += 1
        for alert in sub.monitor.v1.alerts.list(start_date=NOW - timedelta(days=30)):
            if alert.error_code in CALLER_ID_ALERT_CODES:
                sub.monitor.v1.alerts(alert.sid).fetch()
                items += 1
        try:  # Flex's outbound caller ID; 404 = no Flex
            sub.flex_api.v1.configuration().fetch()
            items += 1
        except TwilioRestException as exc:
            if exc.status != 404:
                raise
    seconds = time.perf_counter() - started
    return Result("naive sequential", seconds, http.count, 0, items)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subaccounts", type=int, default=200)
    parser.add_argument("--numbers", type=int, default=25)
    parser.add_argument("--latency-ms", type=int, default=30)
    parser.add_argument("--in-flight", type=int, default=32)
    parser.add_argument("--concurrency", default="16,32,48,64")
    parser.add_argument("--no-naive", action="store_true")
    args = parser.parse_args()

    scenario = generate_hierarchy(args.subaccounts, args.numbers, apps_per_account=2,
                                  flows_per_account=1, functions_per_account=1,
                                  alerts_per_account=2)  # fmt: skip
    scenario["faults"] = {
        "latency_ms": args.latency_ms,
        "max_in_flight_per_account": args.in_flight,
    }
    latency = args.latency_ms / 1000
    chain = longest_chain(scenario)
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_emulator(scenario, Path(tmp))
        try:
            results = [
                measured(run_collector, proc.pid, scenario, url, int(c))
                for c in args.concurrency.split(",")
            ]
            naive = None if args.no_naive else measured(run_naive, proc.pid, scenario, url)
        finally:
            proc.terminate()
            proc.wait(timeout=10)

    print(
        f"hierarchy: 1 parent + {args.subaccounts} subaccounts × {args.numbers} numbers; "
        f"latency {args.latency_ms} ms; in-flight limit {args.in_flight} per account; "
        f"longest dependent chain {chain} requests ({chain * latency:.2f} s)"
    )
    print()
    print(
        "| run | wall s | requests | retries | lower bound s | × bound | naive ÷ run "
        "| client CPU s | emulator CPU s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in [*results, *([naive] if naive else [])]:
        conc = int(r.name.split("=")[1]) if "=" in r.name else 1
        bound = max(r.requests * latency / conc, chain * latency)
        speedup = f"{naive.seconds / r.seconds:.1f}×" if naive else "–"
        print(
            f"| {r.name} | {r.seconds:.2f} | {r.requests} | {r.retries} | {bound:.2f} | "
            f"{r.seconds / bound:.2f} | {speedup} | {r.client_cpu:.2f} | {r.server_cpu:.2f} |"
        )


if __name__ == "__main__":
    main()
