"""One run into the history, and what the report says about it: each finding's first-seen
date and days open, the trend of open findings, the mean time to fix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from auditor.findings import fingerprint
from auditor.history.records import (
    ACCEPTED,
    OPEN,
    SEVERITIES,
    FindingRecord,
    RunRecord,
    iso,
    parse_time,
)
from auditor.history.timeline import (
    NEW,
    REOPENED,
    TREND_RUNS,
    TimeToFix,
    TrendPoint,
    build_timeline,
    finding_history,
    mean_time_to_fix,
    trend,
)
from auditor.model import Finding, Snapshot

if TYPE_CHECKING:
    from auditor.history.store import HistoryStore

DEFAULT_REGION = "us1"


def regions_of(snapshot: Snapshot, regions: Sequence[str] = ()) -> tuple[str, ...]:
    """The regions a run covers (an analysis's `regions`), else the snapshot's, else us1."""
    chosen = sorted({r.lower() for r in regions if r}) or [snapshot.region or DEFAULT_REGION]
    return tuple(chosen)


def coverage_summary(snapshot: Snapshot) -> dict[str, Any]:
    """Counts of sources read, failed and skipped, and which sources failed where."""
    states = {"ok": 0, "error": 0, "skipped": 0}
    failed: dict[str, int] = {}
    for sources in snapshot.coverage.values():
        for source, state in sources.items():
            key = "error" if state.startswith("error") else state
            states[key] = states.get(key, 0) + 1
            if key == "error":
                failed[source] = failed.get(source, 0) + 1
    return {
        "accounts": len(snapshot.coverage),
        **states,
        "failed_sources": dict(sorted(failed.items())),
    }


def run_record(
    snapshot: Snapshot, findings: Sequence[Finding], regions: Sequence[str] = ()
) -> RunRecord:
    return RunRecord(
        root_account_sid=snapshot.root_account_sid,
        collected_at=parse_time(snapshot.collected_at),
        regions=regions_of(snapshot, regions),
        tool_version=snapshot.tool_version,
        coverage=coverage_summary(snapshot),
        findings=tuple(
            FindingRecord(
                fingerprint=f.fingerprint or fingerprint(f),
                rule=f.rule,
                severity=f.severity,
                status=ACCEPTED if f.acceptance is not None else OPEN,
                account_sid=f.account_sid,
                caller_id=f.caller_id,
            )
            for f in findings
        ),
    )


@dataclass(frozen=True)
class HistoryReport:
    """What the reports show from the history (the run itself included)."""

    target: str  # redacted
    runs: int  # runs of this hierarchy up to and including this one
    first_run: datetime
    previous_run: datetime | None
    trend: list[TrendPoint]
    time_to_fix: TimeToFix
    new: int
    reopened: int
    fixed_since_previous: int

    def to_dict(self) -> dict[str, Any]:
        ttf = self.time_to_fix
        return {
            "runs": self.runs,
            "first_run": iso(self.first_run),
            "previous_run": iso(self.previous_run) if self.previous_run else None,
            "new": self.new,
            "reopened": self.reopened,
            "fixed_since_previous": self.fixed_since_previous,
            "trend": [
                {
                    "collected_at": iso(p.collected_at),
                    "open": dict(p.open),
                    "accepted": p.accepted,
                }
                for p in self.trend
            ],
            "mean_time_to_fix": {
                "window_runs": len(self.trend),
                "window_start": iso(ttf.window_start) if ttf.window_start else None,
                "window_end": iso(ttf.window_end) if ttf.window_end else None,
                "fixed": ttf.fixed,
                "mean_days": round(ttf.mean_days, 1) if ttf.mean_days is not None else None,
            },
        }


def record_and_review(
    store: HistoryStore,
    snapshot: Snapshot,
    findings: Sequence[Finding],
    regions: Sequence[str] = (),
) -> HistoryReport:
    """Record the run (once per snapshot), then set each finding's `history` as of this run.

    `regions`: the regions the run covers (one snapshot per region merged into `snapshot`).
    """
    record = run_record(snapshot, findings, regions)
    store.record(record)
    runs = store.runs(root=record.root_account_sid, until=record.collected_at)
    timeline = build_timeline(runs, store.finding_rows([r.id for r in runs]))
    at = record.collected_at
    for f in findings:
        life = timeline.life(f.fingerprint or fingerprint(f))
        if life is not None:
            f.history = finding_history(life, at)
    states = [f.history.state for f in findings if f.history is not None]
    previous = runs[-2] if len(runs) > 1 else None
    current = {f.fingerprint or fingerprint(f) for f in findings}
    fixed = 0
    if previous is not None:
        fixed = sum(
            1 for fp, idx in timeline.presence.items() if len(runs) - 2 in idx and fp not in current
        )
    return HistoryReport(
        target=store.target.display,
        runs=len(runs),
        first_run=runs[0].collected_at,
        previous_run=previous.collected_at if previous else None,
        trend=trend(timeline, TREND_RUNS),
        time_to_fix=mean_time_to_fix(timeline, TREND_RUNS),
        new=states.count(NEW),
        reopened=states.count(REOPENED),
        fixed_since_previous=fixed,
    )


__all__ = ["SEVERITIES", "HistoryReport", "record_and_review", "regions_of", "run_record"]
