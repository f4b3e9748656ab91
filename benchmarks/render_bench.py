"""Benchmark the renderers at the design's scale: HTML + JSON + PDF together.

1,000 subaccounts and 100,000 numbers (the analysis benchmark's synthetic hierarchy,
analysed for real so the findings are the rules' own), rendered into report.html,
findings.json and report.pdf in one `render_reports` call. Measures that call's wall
time and the process's peak RSS. Target: ≤ 30 s and ≤ 1.5 GiB.

    python benchmarks/render_bench.py [--accounts N] [--numbers N] [--refs N] [--out DIR]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# The analysis benchmark's synthetic hierarchy (imported, not copied).
from analysis_bench import build

from auditor.analysis import analyse_references
from auditor.render import ReportOptions, render_reports

TARGET_SECONDS = 30.0
TARGET_BYTES = int(1.5 * 1024**3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--numbers", type=int, default=100_000)
    parser.add_argument("--refs", type=int, default=20_000)
    parser.add_argument("--out", type=Path, default=None, help="keep the reports in this folder")
    args = parser.parse_args(argv)

    snap, refs, policy = build(args.accounts, args.numbers, args.refs)
    analysis = analyse_references(snap, refs, policy=policy)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    out = args.out or Path(tempfile.mkdtemp(prefix="render-bench-"))
    options = ReportOptions("Bench Health", "twilio-audit bench", "a4", "2026-11-29T12:00:00Z")

    t0 = time.perf_counter()
    paths = render_reports(snap, analysis, out, ["html", "json", "pdf"], options)
    elapsed = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    print(
        f"input: {len(snap.accounts):,} accounts, {len(snap.phone_numbers):,} numbers, "
        f"{len(analysis.references):,} references, {len(analysis.findings):,} findings"
    )
    for path in paths:
        print(f"  {path.name}: {path.stat().st_size / 2**20:.1f} MiB")
    pdf = out / "report.pdf"
    try:
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
        pages = next((ln.split()[-1] for ln in info.splitlines() if ln.startswith("Pages:")), "?")
        print(f"  report.pdf pages: {pages}")
    except OSError:
        pass
    print(f"render html+json+pdf: {elapsed:.1f} s")
    print(f"peak RSS: {peak / 2**20:.0f} MiB (before rendering: {before / 2**20:.0f} MiB)")
    ok = elapsed <= TARGET_SECONDS and peak <= TARGET_BYTES
    print(f"target ≤ {TARGET_SECONDS:.0f} s and ≤ 1.5 GiB: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
