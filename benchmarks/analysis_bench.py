"""Benchmark the analysis stage at the design's scale (no emulator, no extraction).

1,000 subaccounts, 100,000 numbers, 20,000 callerId references, built directly
as a Snapshot. Measures wall time of `analyse_references` (graph + indexes + every
rule + sort + fingerprints) and the process's peak RSS. Target: ≤ 10 s, ≤ 1 GiB.

    python benchmarks/analysis_bench.py [--accounts 1000] [--numbers 100000] [--refs 20000]
    python benchmarks/analysis_bench.py --regions 2   # the same hierarchy audited in US1 and IE1

With `--regions 2` the input is two snapshots of the hierarchy (US1 and IE1: the same
accounts and numbers, no voice configuration in IE1, every other reference running in
IE1), merged as `report` merges them (`RegionalInput.of`); the merge is timed too.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from collections import Counter
from dataclasses import replace

from auditor.analysis import analyse_references
from auditor.model import (
    Account,
    Alert,
    CallerIdReference,
    PhoneNumber,
    PolicyEntry,
    Snapshot,
    Source,
    StudioFlow,
    TwimlApp,
    VerifiedCallerId,
)
from auditor.regional import RegionalInput

TARGET_SECONDS = 10.0
TARGET_BYTES = 1024**3


def sid(prefix: str, n: int) -> str:
    return f"{prefix}{n:032x}"


def e164(n: int) -> str:
    return f"+1555{n:07d}"


def build(
    accounts: int, numbers: int, refs: int, seed: int = 7
) -> tuple[Snapshot, list[CallerIdReference], list[PolicyEntry]]:
    """A deterministic synthetic hierarchy with a realistic mix of good and bad caller IDs."""
    rng = random.Random(seed)
    root = sid("AC", 0)
    snap = Snapshot(
        root_account_sid=root, collected_at="2026-11-29T12:00:00Z", tool_version="bench"
    )
    snap.accounts.append(Account(root, "Parent", "active", None))
    subs = [sid("AC", i + 1) for i in range(accounts)]
    for i, acc in enumerate(subs):
        status = "closed" if i % 97 == 0 else "active"
        snap.accounts.append(Account(acc, f"Clinic {i}", status, root))
        snap.flows.append(StudioFlow(sid("FW", i), acc, f"Triage {i}", "published", 1))
        snap.applications.append(
            TwimlApp(
                sid("AP", i),
                acc,
                f"IVR {i}",
                f"https://webhooks.twilio.com/v1/Accounts/{acc}/Flows/{sid('FW', i)}",
            )
        )
    per = max(1, numbers // accounts)
    for n in range(numbers):
        acc = subs[min(n // per, accounts - 1)]
        i = n // per
        snap.phone_numbers.append(
            PhoneNumber(
                sid("PN", n),
                acc,
                e164(n),
                f"Line {n}",
                {"voice": True},
                voice_application_sid=sid("AP", i) if n % per == 0 else None,
                voice_url=None if n % per == 0 else f"https://hooks.example.com/{i}/{n % 10}",
            )
        )
    for v in range(accounts * 2):
        snap.verified_caller_ids.append(
            VerifiedCallerId(sid("PV", v), subs[v % accounts], e164(rng.randrange(numbers)))
        )
    references: list[CallerIdReference] = []
    for r in range(refs):
        i = r % accounts
        acc = subs[i]
        choice = r % 10
        source = Source("studio_flow", sid("FW", i), f"dial_{r}")
        if choice < 5:  # own number
            value = e164(i * per + rng.randrange(per))
        elif choice < 7:  # a sibling's number
            value = e164(rng.randrange(numbers))
        elif choice == 7:  # nobody's number
            value = e164(numbers + r)
        elif choice == 8:  # not E.164
            value = e164(i * per)[2:]
        else:  # pass-through
            references.append(
                CallerIdReference(
                    "{{trigger.call.From}}", "template", source, acc, passthrough=True
                )
            )
            continue
        if r % 50 == 0:  # some arrive as 13214 alerts
            alert_sid = sid("NO", r)
            snap.alerts.append(
                Alert(
                    alert_sid,
                    acc,
                    "13214",
                    date_created=f"2026-11-{1 + r % 28:02d}T10:00:00Z",
                    request_url=f"https://hooks.example.com/{i}/1",
                )
            )
            source = Source("alert", alert_sid, "response_body")
        norm = value if value.startswith("+") else "+1" + value
        references.append(
            CallerIdReference(value, "number", source, acc, e164=norm, dialed="number")
        )
    policy = [PolicyEntry(subs[i], e164(rng.randrange(numbers))) for i in range(0, accounts, 10)]
    return snap, references, policy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--numbers", type=int, default=100_000)
    parser.add_argument("--refs", type=int, default=20_000)
    parser.add_argument("--regions", type=int, choices=(1, 2), default=1)
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    snap, refs, policy = build(args.accounts, args.numbers, args.refs)
    merge_s = 0.0
    if args.regions == 2:
        ie1 = replace(
            snap,
            region="ie1",
            edge="dublin",
            phone_numbers=[
                replace(n, voice_url=None, voice_application_sid=None) for n in snap.phone_numbers
            ],
            verified_caller_ids=[],
            applications=[],
            flows=[],
            alerts=[],
        )
        refs = [replace(r, region="ie1" if i % 2 else "us1") for i, r in enumerate(refs)]
        t_merge = time.perf_counter()
        snap = RegionalInput.of([snap, ie1]).merged
        merge_s = time.perf_counter() - t_merge
    built = time.perf_counter() - t0
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    t1 = time.perf_counter()
    analysis = analyse_references(snap, refs, policy=policy)
    elapsed = time.perf_counter() - t1
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    counts = Counter(f.rule for f in analysis.findings)
    print(
        f"input: {len(snap.accounts)} accounts, {len(snap.phone_numbers)} numbers, "
        f"{len(refs)} references, {len(snap.alerts)} alerts (built in {built:.1f} s)"
    )
    if args.regions == 2:
        print(f"merge of 2 regional snapshots: {merge_s:.2f} s")
    print(f"analyse: {elapsed:.2f} s, {len(analysis.findings)} findings")
    for rule, n in sorted(counts.items()):
        print(f"  {rule}: {n}")
    print(
        f"peak RSS: {peak / 2**20:.0f} MiB (after building the input: {rss_before / 2**20:.0f} MiB)"
    )
    ok = elapsed <= TARGET_SECONDS and peak <= TARGET_BYTES
    print(f"target ≤ {TARGET_SECONDS:.0f} s and ≤ 1 GiB: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
