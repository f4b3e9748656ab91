"""snapshot.json against snapshot.json.gz (`--compress`): size, write time, load time, peak RSS.

    python benchmarks/scale_bench.py --subaccounts 1000 --numbers 100 --keep /tmp/scale
    python benchmarks/snapshot_gz_bench.py /tmp/scale/collected/snapshot.json
    python benchmarks/snapshot_gz_bench.py SNAPSHOT --levels 1,6,9 --bomb

Every measurement runs in a fresh child process (its own peak RSS, from getrusage in
the child): one child loads the snapshot and writes it once per form (plain, then gzip
at each level) and reports each write's wall and CPU time and size; then one child per
file loads it with `load_snapshot`, as `report` does, and reports the load's wall and
CPU time and the child's peak RSS before and after. `--bomb` also writes a file that
inflates to one byte more than the snapshot cap (2 GiB + 1 of zeros, ~2 MB) and times
how long `load_snapshot` takes to refuse it, and at what peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

WRITE = r"""
import json, os, resource, sys, time
from pathlib import Path
from auditor.files import write_atomic
from auditor.gzstream import gzip_chunks
from auditor.snapshot import load_snapshot, snapshot_chunks
snap = load_snapshot(Path(sys.argv[1]))
out, rows = Path(sys.argv[2]), []
for level in [None, *map(int, sys.argv[3].split(","))]:
    path = out / ("snapshot.json" if level is None else f"snapshot-{level}.json.gz")
    chunks = snapshot_chunks(snap)
    if level is not None:
        chunks = gzip_chunks(chunks, level)
    wall, cpu = time.perf_counter(), time.process_time()
    write_atomic(path, chunks, private=True)
    rows.append({"file": str(path), "level": level, "bytes": path.stat().st_size,
                 "write_s": time.perf_counter() - wall, "write_cpu_s": time.process_time() - cpu})
print(json.dumps(rows))
"""

LOAD = r"""
import json, resource, sys, time
from pathlib import Path
from auditor.errors import SnapshotError
from auditor.snapshot import load_snapshot
def rss(): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
before = rss()
wall, cpu = time.perf_counter(), time.process_time()
try:
    snap = load_snapshot(Path(sys.argv[1]))
    outcome = f"{len(snap.phone_numbers)} numbers"
except SnapshotError as exc:
    outcome = "refused: " + str(exc)
print(json.dumps({"load_s": time.perf_counter() - wall, "load_cpu_s": time.process_time() - cpu,
                  "rss_before": before, "rss_peak": rss(), "outcome": outcome}))
"""

BOMB = r"""
import sys
from pathlib import Path
from auditor.files import write_atomic
from auditor.gzstream import gzip_chunks
from auditor.snapshot import MAX_SNAPSHOT_BYTES
zeros = b"\0" * (1 << 20)
def chunks():
    left = MAX_SNAPSHOT_BYTES + 1
    while left:
        yield zeros[: min(left, len(zeros))]
        left -= min(left, len(zeros))
write_atomic(Path(sys.argv[1]), gzip_chunks(chunks(), 9))
"""


def child(code: str, *args: str) -> object:
    out = subprocess.run(
        [sys.executable, "-c", code, *args], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out) if out.strip() else None


def mib(n: float) -> str:
    return f"{n / 2**20:,.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("snapshot", type=Path, help="a snapshot (file or folder) to write and load")
    parser.add_argument("--levels", default="1,6,9", help="gzip levels to compare (default 1,6,9)")
    parser.add_argument("--bomb", action="store_true", help="also time the refusal of a gzip bomb")
    parser.add_argument("--work", type=Path, help="folder for the files (default: a temp folder)")
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="snapshot-gz-bench-"))
    work.mkdir(parents=True, exist_ok=True)

    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    rows = child(WRITE, str(args.snapshot), str(work), args.levels)
    assert isinstance(rows, list)
    plain = rows[0]["bytes"]
    print("| file | MB | vs plain | write s (CPU s) | load s (CPU s) | peak RSS MiB (before) |")
    print("|---|---:|---:|---:|---:|---:|")
    for row in rows:
        load = child(LOAD, row["file"])
        assert isinstance(load, dict)
        name = (
            "snapshot.json" if row["level"] is None else f"snapshot.json.gz, level {row['level']}"
        )
        print(
            f"| {name} | {row['bytes'] / 1e6:,.1f} | {row['bytes'] / plain:.1%} | "
            f"{row['write_s']:.2f} ({row['write_cpu_s']:.2f}) | "
            f"{load['load_s']:.2f} ({load['load_cpu_s']:.2f}) | "
            f"{mib(load['rss_peak'])} ({mib(load['rss_before'])}) |"
        )
    if args.bomb:
        bomb = work / "bomb.json.gz"
        child(BOMB, str(bomb))
        load = child(LOAD, str(bomb))
        assert isinstance(load, dict)
        print(
            f"\nbomb: {bomb.stat().st_size / 1e6:.1f} MB inflating to 2 GiB + 1: "
            f"{load['outcome']!r} after {load['load_s']:.2f} s ({load['load_cpu_s']:.2f} CPU s), "
            f"peak RSS {mib(load['rss_peak'])} MiB ({mib(load['rss_before'])} before)"
        )
    print(f"load average at end: {os.getloadavg()[0]:.1f}; files in {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
