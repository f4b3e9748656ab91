"""Scale benchmark: `collect` and `report` as real subprocesses on a generated ISV-sized hierarchy.

    python benchmarks/scale_bench.py                       # 5,000 subaccounts × 200 numbers
    python benchmarks/scale_bench.py --subaccounts 1000 --numbers 100
    python benchmarks/scale_bench.py --keep /tmp/scale --compare /tmp/before/findings.json

The hierarchy is generated here (auditor.emulator.generate, adjusted to the shape of
issue #14's: a parent with one number and two apps, every subaccount with N numbers,
3 verified caller IDs, 2 apps, a SIP domain, a Studio flow, a Function and most with
a 13214 alert), written to a scenario file and served by the emulator in its own
process (no latency, no in-flight limit: the collector's own cost is measured).
Then `twilio-audit collect` and `twilio-audit report` (HTML + JSON + PDF) run as
child processes; for each stage the benchmark records wall time, CPU time
(user + system, from wait4) and peak RSS of that child, with the load average at
start and end, because the machine is shared. `--compare` checks that findings.json
lists exactly the same findings as an earlier run's (generated_at aside).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

# The emulator process and the CPU reading are collect_bench's (imported, not copied).
from collect_bench import cpu_seconds, serve_file

from auditor.emulator.generate import generate_hierarchy

COLLECT_RSS_TARGET = 1.5 * 2**30
REPORT_RSS_TARGET = 1.5 * 2**30
REPORT_FORMATS = ["--format", "html", "--format", "json", "--format", "pdf", "--fail-on", "never"]
REPORT_SECONDS_TARGET = {(5000, 200): 45.0, (1000, 100): 8.0}


# --------------------------------------------------------------------------- hierarchy


def _extra_verified(i: int, k: int) -> str:
    """Verified caller IDs beyond generate.py's one per account: +1 555 9xxxxxx, no overlap."""
    return f"+1555{9_000_000 + k * 300_000 + i:07d}"


def build_scenario(subaccounts: int, numbers: int, *, verified: int = 3) -> dict[str, Any]:
    """The issue's hierarchy shape from generate_hierarchy (same seed, same scenario)."""
    scenario = generate_hierarchy(
        subaccounts,
        numbers,
        apps_per_account=2,
        flows_per_account=1,
        functions_per_account=1,
        alerts_per_account=2,
    )
    parent, subs = scenario["accounts"][0], scenario["accounts"][1:]
    # The parent holds one number and its apps; the product work is in the subaccounts.
    parent["incoming_phone_numbers"] = parent["incoming_phone_numbers"][:1]
    parent["outgoing_caller_ids"] = []
    for key in ("flows", "services", "alerts"):
        parent[key] = []
    parent["incoming_phone_numbers"][0]["voice_url"] = "https://hooks.example.com/parent/voice"
    for i, acc in enumerate(subs, start=1):
        first = acc["outgoing_caller_ids"][0]
        for k in range(1, verified):
            acc["outgoing_caller_ids"].append(
                {
                    **first,
                    "sid": "PN" + hashlib.sha256(f"verified|{i}|{k}".encode()).hexdigest()[:32],
                    "phone_number": _extra_verified(i, k),
                    "friendly_name": f"Verified {i}.{k}",
                }
            )
        if i % 55 == 0:  # not every subaccount logged a 13214 this month
            acc["alerts"] = [a for a in acc["alerts"] if a["error_code"] != "13214"]
    return scenario


def describe(scenario: dict[str, Any]) -> dict[str, int]:
    accounts = scenario["accounts"]

    def count(key: str) -> int:
        return sum(len(a.get(key, [])) for a in accounts)

    return {
        "accounts": len(accounts),
        "numbers": count("incoming_phone_numbers"),
        "verified": count("outgoing_caller_ids"),
        "apps": count("applications"),
        "sip_domains": count("sip_domains"),
        "flows": count("flows"),
        "functions": sum(len(s["functions"]) for a in accounts for s in a.get("services", [])),
        "caller_id_alerts": sum(
            1 for a in accounts for al in a.get("alerts", []) if al["error_code"] == "13214"
        ),
    }


def write_scenario(subaccounts: int, numbers: int, path: Path) -> dict[str, int]:
    """Generate in a child process, so the benchmark itself stays small."""
    code = (
        "import json,sys; sys.path.insert(0, sys.argv[1]); import scale_bench as b; "
        "s = b.build_scenario(int(sys.argv[2]), int(sys.argv[3])); "
        "open(sys.argv[4], 'w').write(json.dumps(s)); print(json.dumps(b.describe(s)))"
    )
    here = str(Path(__file__).resolve().parent)
    out = subprocess.run(
        [sys.executable, "-c", code, here, str(subaccounts), str(numbers), str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    counts: dict[str, int] = json.loads(out)
    path.with_suffix(".counts.json").write_text(json.dumps(counts))
    return counts


def parent_credentials(path: Path) -> tuple[str, str]:
    """The parent's SID and token, read in a child process.

    The benchmark itself must stay small: a child's peak RSS (wait4) starts from the
    size of the process it was forked from, so parsing the scenario here (1.5 GB at a
    million numbers) would be counted in every stage.
    """
    code = (
        "import json,sys; a = json.load(open(sys.argv[1]))['accounts'][0]; "
        "print(a['sid'], a['auth_token'])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)], check=True, capture_output=True, text=True
    ).stdout.split()
    return out[0], out[1]


# --------------------------------------------------------------------------- running stages


@dataclass
class Stage:
    name: str
    wall: float
    cpu: float
    peak_rss: int  # bytes
    load_start: float
    load_end: float
    returncode: int
    stderr_tail: str = ""

    def row(self) -> str:
        return (
            f"| {self.name} | {self.wall:.1f} | {self.cpu:.1f} | {self.peak_rss / 2**20:,.0f} | "
            f"{self.load_start:.1f} → {self.load_end:.1f} |"
        )


def run_stage(name: str, argv: list[str], env: dict[str, str], log: Path) -> Stage:
    """Run one child to completion; its own rusage (wait4), not the benchmark's."""
    load_start = os.getloadavg()[0]
    started = time.perf_counter()
    with log.open("w") as err:
        proc = subprocess.Popen(argv, env=env, stdout=err, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-5:])
    return Stage(
        name,
        wall,
        usage.ru_utime + usage.ru_stime,
        usage.ru_maxrss * 1024,
        load_start,
        os.getloadavg()[0],
        proc.returncode,
        tail,
    )


def own_rss() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def findings_digest(path: Path) -> tuple[int, str, dict[str, int]]:
    """(count, sha256 of every finding as JSON, per-rule counts); generated_at is left out."""
    doc = json.loads(path.read_text())
    findings = doc["findings"]
    blob = json.dumps([findings, doc["coverage"]], sort_keys=True).encode()
    rules: dict[str, int] = {}
    for f in findings:
        rules[f["rule"]] = rules.get(f["rule"], 0) + 1
    return len(findings), hashlib.sha256(blob).hexdigest(), dict(sorted(rules.items()))


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--subaccounts", type=int, default=5000)
    parser.add_argument("--numbers", type=int, default=200)
    parser.add_argument("--keep", type=Path, help="work folder (scenario, snapshot, reports)")
    parser.add_argument("--compare", type=Path, help="an earlier run's findings.json")
    parser.add_argument(
        "--snapshot", type=Path, help="skip collect: report on this snapshot (file or folder)"
    )
    parser.add_argument(
        "--collect-args", default="", help="extra arguments for collect (e.g. '--compress')"
    )
    parser.add_argument(
        "--prefix",
        default="",
        help="command prefix for each stage, e.g. 'python -m cProfile -o /tmp/x.prof'",
    )
    args = parser.parse_args(argv)

    work = args.keep or Path(tempfile.mkdtemp(prefix="scale-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    size = (args.subaccounts, args.numbers)
    exe = [sys.executable, "-m", "auditor"]
    if args.prefix:
        exe = [*args.prefix.split(), "-m", "auditor"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWILIO_")}
    stages: list[Stage] = []
    snapshot = args.snapshot
    counts: dict[str, int] = {}
    emulator_cpu = 0.0

    if snapshot is None:
        scenario_path = work / f"scenario-{size[0]}x{size[1]}.json"
        counts_path = scenario_path.with_suffix(".counts.json")
        if scenario_path.exists() and counts_path.exists():
            counts = json.loads(counts_path.read_text())
        else:
            t0 = time.perf_counter()
            counts = write_scenario(*size, scenario_path)
            print(f"scenario generated in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        env["TWILIO_ACCOUNT_SID"], env["TWILIO_AUTH_TOKEN"] = parent_credentials(scenario_path)
        t0 = time.perf_counter()
        emulator, url = serve_file(scenario_path)
        print(f"emulator up in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        try:
            before = cpu_seconds(emulator.pid)
            out = work / "collected"
            extra = args.collect_args.split()
            stages.append(
                run_stage(
                    "collect",
                    [*exe, "collect", "--api-url", url, "--out", str(out), "--quiet", *extra],
                    env,
                    work / "collect.log",
                )
            )
            emulator_cpu = cpu_seconds(emulator.pid) - before
        finally:
            emulator.terminate()
            emulator.wait(timeout=30)
        snapshot = out
    report_dir = work / "report"
    stages.append(
        run_stage(
            "report (html+json+pdf)",
            [*exe, "report", str(snapshot), "--out", str(report_dir), *REPORT_FORMATS],
            env,
            work / "report.log",
        )
    )

    print(f"hierarchy {size[0]} × {size[1]}: {json.dumps(counts)}")
    print(f"work folder: {work}")
    print(f"benchmark's own peak RSS (a floor under each stage's): {own_rss() / 2**20:.0f} MiB")
    print()
    print("| stage | wall s | CPU s | peak RSS MiB | load avg (1 min) |")
    print("|---|---:|---:|---:|---|")
    for stage in stages:
        print(stage.row())
    if emulator_cpu:
        print(f"emulator CPU during collect: {emulator_cpu:.1f} s")
    for name in ("snapshot.json", "snapshot.json.gz"):
        path = (snapshot if snapshot.is_dir() else snapshot.parent) / name
        if path.exists():
            print(f"{name}: {path.stat().st_size / 1e6:,.0f} MB")
    failed = [s for s in stages if s.returncode not in (0, 1)]
    for stage in failed:
        print(f"{stage.name} exited {stage.returncode}:\n{stage.stderr_tail}")
    findings = report_dir / "findings.json"
    if findings.exists():
        n, digest, rules = findings_digest(findings)
        print(f"findings: {n} (sha256 {digest[:16]}) {json.dumps(rules)}")
        if args.compare:
            m, other, other_rules = findings_digest(args.compare)
            same = digest == other
            print(f"findings vs {args.compare}: {'identical' if same else 'DIFFERENT'}")
            if not same:
                print(f"  other: {m} {json.dumps(other_rules)}")
                failed.append(stages[-1])
    for stage in stages:
        if stage.name == "collect" and stage.peak_rss > COLLECT_RSS_TARGET:
            print(f"collect peak RSS above target ({COLLECT_RSS_TARGET / 2**30:.1f} GiB)")
        if stage.name.startswith("report"):
            limit = REPORT_SECONDS_TARGET.get(size)
            if stage.peak_rss > REPORT_RSS_TARGET or (limit and stage.wall > limit):
                print(f"report above target (≤ {limit} s, ≤ 1.5 GiB)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
