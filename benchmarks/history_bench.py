"""Benchmark the history database: record runs and build the report's review of the last.

A hierarchy with F findings recorded over R monthly runs (a tenth of the findings fixed
and a few coming back each month), on SQLite or a PostgreSQL URL. Measures the time of
one `record_and_review` (record the run, read the timeline, set every finding's history,
trend and mean time to fix) at the last run, and the size of the SQLite file.

    python benchmarks/history_bench.py [--findings N] [--runs N] [--target PATH_OR_URL]
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
import time
from pathlib import Path

from auditor.history import HistoryStore, record_and_review
from auditor.model import Finding, Snapshot, Source


def findings(n: int, month: int) -> list[Finding]:
    out = []
    for i in range(n):
        if (i + month) % 10 == 0:  # fixed this month (and back next month)
            continue
        f = Finding(
            rule="callerid-cross-account",
            severity=("critical", "high", "medium", "low", "info")[i % 5],
            account_sid=f"AC{i % 1000:032x}",
            caller_id=f"+1555{i:07d}",
            raw_value=None,
            owner_account_sid=None,
            source=Source("code"),
            message="m",
            remediation="r",
        )
        f.fingerprint = hashlib.sha256(str(i).encode()).hexdigest()
        out.append(f)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--findings", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=24)
    parser.add_argument("--target", default=None)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    target = args.target or str(folder / "history.db")
    store = HistoryStore.open(target)
    snapshot = Snapshot(root_account_sid="AC" + "1" * 32, collected_at="", tool_version="bench")
    started = time.perf_counter()
    last = 0.0
    for month in range(args.runs):
        snapshot.collected_at = f"{2025 + month // 12}-{month % 12 + 1:02d}-01T00:00:00Z"
        fs = findings(args.findings, month)
        t0 = time.perf_counter()
        history = record_and_review(store, snapshot, fs)
        last = time.perf_counter() - t0
    total = time.perf_counter() - started
    size = Path(target).stat().st_size if "://" not in target else 0
    print(
        f"{args.runs} runs x {args.findings} findings: {total:.1f} s in all, last run "
        f"{last:.2f} s (record + review), mean time to fix {history.time_to_fix.mean_days} "
        f"days over {history.time_to_fix.fixed}; SQLite file {size / 1e6:.1f} MB"
    )
    store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
