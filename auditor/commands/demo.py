"""`twilio-audit demo`: the real pipeline against the built-in Northwind Health hierarchy.

An emulator (auditor.emulator) serves the demo scenario on a free loopback
port; the pipeline collects it with the parent's credentials (held in memory
only, never written), compares it with a baseline collected the same way from
the hierarchy as it was some weeks earlier, applies the demo policy, and
writes the reports. It exits 0 although the hierarchy has findings (it is a
demo) unless --fail-on is given.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from auditor.accept import apply_acceptances, as_of_date, load_accept_file
from auditor.analysis import analyse
from auditor.collect import CollectConfig
from auditor.collect.credentials import Credentials
from auditor.commands.audit import interruptible
from auditor.commands.options import FailOn, Format, Formats, Quiet
from auditor.commands.summary import findings_table
from auditor.emulator.demo import (
    BASELINE_WEEKS_EARLIER,
    IE1,
    IE1_EDGE,
    PARENT,
    Scenario,
    demo_accept_toml,
    demo_baseline_scenario,
    demo_policy_toml,
    demo_probe_policy,
    demo_scenario,
)
from auditor.emulator.scenario import regional_token
from auditor.history import record_and_review
from auditor.model import Snapshot
from auditor.pipeline import AuditOptions, AuditResult, check_out_dir, run_audit
from auditor.policy import load_policy
from auditor.progress import NullProgress, Progress, make_progress
from auditor.regional import RegionalInput
from auditor.regions import RegionChoice, resolve_region
from auditor.render.options import ReportOptions
from auditor.snapshot import save_snapshots, write_atomic

NAME = "demo"
HELP = (
    "Run the whole audit against a built-in demo hierarchy (Northwind Health: a parent and 9 "
    "subaccounts, in the US1 and IE1 Twilio Regions) served by a local emulator, and write the "
    "reports. No Twilio account needed; nothing leaves this machine."
)

DEFAULT_OUT = Path("twilio-audit-demo")
DEMO_FORMATS = [Format.HTML, Format.PDF, Format.JSON, Format.MD, Format.CSV]
POLICY_NAME = "demo-policy.toml"
ACCEPT_NAME = "demo-accept.toml"
HISTORY_NAME = "history.db"
BASELINE_DIR = "baseline"
# The emulator's port changes on every run: the snapshot names the emulator instead.
DEMO_API_LABEL = "twilio-audit demo emulator (loopback)"


@dataclass
class DemoRun:
    result: AuditResult
    policy_path: Path
    baseline_path: Path
    accept_path: Path | None = None
    history_path: Path | None = None


# The regions the demo audits: US1, and IE1 where the call centre's EU overflow runs.
DEMO_REGIONS = (RegionChoice(), resolve_region(IE1, IE1_EDGE))


def _demo_credentials(scenario: Scenario, region: str) -> Credentials:
    parent = next(a for a in scenario["accounts"] if a["sid"] == PARENT)
    return Credentials(account_sid=PARENT, auth_token=regional_token(parent, region))


def _collect_demo(scenario: Scenario, now: datetime, progress: Progress) -> list[Snapshot]:
    """Collect each region as `audit --region R --edge E --probe-webhooks` does, with that
    region's credentials; the probe reaches the in-process web apps."""
    from auditor.collect.walker import collect  # the SDK and HTTP stack: loaded to collect only
    from auditor.emulator.server import EmulatorServer

    snapshots = []
    with EmulatorServer(scenario) as server:
        for choice in DEMO_REGIONS:
            config = CollectConfig(
                credentials=_demo_credentials(scenario, choice.region),
                api_url=server.url,
                region=choice,
                now=now,
                probe_webhooks=True,
                probe_policy=demo_probe_policy(scenario, choice.region),
            )
            snapshot = collect(config, progress if choice.region == "us1" else NullProgress())
            snapshot.api_url = DEMO_API_LABEL
            snapshots.append(snapshot)
    return snapshots


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def run_demo(
    out_dir: Path,
    formats: list[Format | str] | None = None,
    *,
    now: datetime | None = None,
    fail_on: FailOn | str = FailOn.NEVER,
    progress: Progress | None = None,
    report: ReportOptions | None = None,
    review: bool = True,
) -> DemoRun:
    """Collect the baseline and today's demo hierarchy from emulators, then audit today's.

    With `now` the clock is fixed everywhere (alert dates, collected_at, the report's
    date), so two runs write the same files: that is how sample reports stay reproducible.
    With `review` the demo is a periodic review: the baseline and today's run go into
    OUT/history.db (the trend, first seen, days open) and OUT/demo-accept.toml accepts risks.
    """
    check_out_dir(out_dir)
    fixed = now is not None
    now = now or datetime.now(UTC).replace(second=0, microsecond=0)
    progress = progress or NullProgress()
    then = now - timedelta(weeks=BASELINE_WEEKS_EARLIER)
    baseline = _collect_demo(demo_baseline_scenario(now), then, NullProgress())
    for snap in baseline:
        snap.collected_at = _iso(then)
    baseline_path = save_snapshots(baseline, out_dir / BASELINE_DIR)[0]
    policy_path = out_dir / POLICY_NAME
    write_atomic(policy_path, demo_policy_toml())
    accept_path = history_path = None
    if review:
        accept_path = out_dir / ACCEPT_NAME
        write_atomic(accept_path, demo_accept_toml())
        history_path = out_dir / HISTORY_NAME
        record_baseline(baseline, policy_path, accept_path, history_path)

    scenario = demo_scenario(now)

    def collector() -> list[Snapshot]:
        snapshots = _collect_demo(scenario, now, progress)
        if fixed:
            for snap in snapshots:
                snap.collected_at = _iso(now)
        return snapshots

    report = report or ReportOptions(
        client_name="Northwind Health (demo)", prepared_by="twilio-audit demo"
    )
    if fixed and report.generated_at is None:
        report = replace(report, generated_at=_iso(now))
    options = AuditOptions(
        out_dir=out_dir,
        formats=list(formats or DEMO_FORMATS),
        collector=collector,
        baseline_snapshot=RegionalInput.of(baseline).merged,
        policy=policy_path,
        report=report,
        fail_on=fail_on,
        accept=accept_path,
        history=str(history_path) if history_path else None,
    )
    return DemoRun(run_audit(options), policy_path, baseline_path, accept_path, history_path)


def record_baseline(baseline: list[Snapshot], policy: Path, accept: Path, history: Path) -> None:
    """The baseline as the first run of the demo's history, audited as `audit` would have."""
    scope = RegionalInput.of(baseline)
    merged = scope.merged
    analysis = analyse(scope, policy=load_policy(policy))
    findings = analysis.findings
    apply_acceptances(findings, load_accept_file(accept), as_of_date(merged.collected_at))
    from auditor.history.store import HistoryStore  # SQLAlchemy: loaded for --history only

    store = HistoryStore.open(str(history))
    try:
        record_and_review(store, merged, findings, [r.region for r in analysis.regions])
    finally:
        store.close()


def summary_table(result: AuditResult) -> Table:
    """Counts by severity and the most severe findings, for the terminal."""
    return findings_table(result, strip_prefix="Northwind ")


def run(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for the reports (created if needed).")
    ] = DEFAULT_OUT,
    format: Formats = None,
    fail_on: Annotated[
        FailOn | None,
        typer.Option("--fail-on", help="Exit 1 on a finding at or above this severity."),
    ] = None,
    as_of: Annotated[
        datetime | None,
        typer.Option(
            "--as-of",
            formats=["%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d"],
            help="Fix the clock (UTC, e.g. 2026-11-29T12:00:00Z): the same files on every "
            "run, as for sample_reports/.",
        ),
    ] = None,
    quiet: Quiet = False,
) -> int:
    with interruptible():
        demo = run_demo(
            out,
            list(format or DEMO_FORMATS),
            now=as_of.replace(tzinfo=UTC) if as_of else None,
            fail_on=fail_on or FailOn.NEVER,
            progress=make_progress(quiet),
        )
    result = demo.result
    console = Console()
    counts = ", ".join(f"{n} {sev}" for sev, n in result.counts.items() if n)
    console.print(f"Audited the demo hierarchy: {counts or 'no findings'}.", highlight=False)
    if result.comparison is not None:
        comp = result.comparison
        console.print(
            f"Since the baseline of {comp.old_collected_at}: {len(comp.new)} new, "
            f"{len(comp.resolved)} resolved, {len(comp.unchanged)} unchanged.",
            highlight=False,
        )
    console.print(summary_table(result))
    for path in result.files:
        console.print(f"  {path}", highlight=False, soft_wrap=True)
    main = next((p for p in result.files if p.suffix == ".html"), None) or (
        result.files[0] if result.files else result.snapshot_path
    )
    console.print(f"Report: {main.resolve()}", highlight=False, soft_wrap=True)
    console.print(
        f"Try: twilio-audit diff {demo.baseline_path.parent} {out}", highlight=False, soft_wrap=True
    )
    if demo.history_path is not None:
        console.print(
            f"     twilio-audit history --history {demo.history_path}",
            highlight=False,
            soft_wrap=True,
        )
    return result.exit_code
