"""A finding's life and a hierarchy's trend, computed from recorded runs (pure functions).

A finding is the same finding across runs when its fingerprint is. It is *open* in a run
that has it; an *episode* is a stretch of consecutive runs that have it. It is *fixed* on
the first run without it after an episode, and *reopened* when a later run has it again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from auditor.history.records import FindingRow, StoredRun
from auditor.model import FindingHistory

TREND_RUNS = 24
NEW = "new"
REOPENED = "reopened"
CARRIED = "open"


@dataclass(frozen=True)
class Episode:
    start: datetime
    end: datetime | None  # the run that no longer had it; None while still open
    start_index: int
    end_index: int | None


@dataclass(frozen=True)
class Life:
    """Everything the history knows about one fingerprint (as of the timeline's last run)."""

    fingerprint: str
    rule: str
    severity: str
    account_sid: str | None
    caller_id: str | None
    root_account_sid: str
    first_seen: datetime
    last_seen: datetime
    runs_seen: int
    episodes: list[Episode]

    @property
    def is_open(self) -> bool:
        return self.episodes[-1].end is None

    @property
    def fixed(self) -> list[datetime]:
        return [e.end for e in self.episodes if e.end is not None]

    @property
    def reopened(self) -> list[datetime]:
        return [e.start for e in self.episodes[1:]]


@dataclass
class Timeline:
    """The runs of one hierarchy up to a moment, and which run had which finding."""

    runs: list[StoredRun]
    presence: dict[str, list[int]] = field(default_factory=dict)  # fingerprint → run indexes
    latest: dict[str, FindingRow] = field(default_factory=dict)  # fingerprint → latest row

    def life(self, fingerprint: str) -> Life | None:
        indexes = self.presence.get(fingerprint)
        if not indexes:
            return None
        row = self.latest[fingerprint]
        return Life(
            fingerprint=fingerprint,
            rule=row.rule,
            severity=row.severity,
            account_sid=row.account_sid,
            caller_id=row.caller_id,
            root_account_sid=self.runs[indexes[0]].root_account_sid,
            first_seen=self.runs[indexes[0]].collected_at,
            last_seen=self.runs[indexes[-1]].collected_at,
            runs_seen=len(indexes),
            episodes=_episodes(indexes, self.runs),
        )


def build_timeline(runs: Sequence[StoredRun], rows: Iterable[FindingRow]) -> Timeline:
    """`runs` oldest first (as HistoryStore.runs returns them) and their finding rows."""
    position = {run.id: i for i, run in enumerate(runs)}
    presence: dict[str, list[int]] = defaultdict(list)
    latest: dict[str, FindingRow] = {}
    for row in rows:
        i = position.get(row.run_id)
        if i is None:
            continue
        presence[row.fingerprint].append(i)
        if row.fingerprint not in latest or position[latest[row.fingerprint].run_id] < i:
            latest[row.fingerprint] = row
    for indexes in presence.values():
        indexes.sort()
    return Timeline(list(runs), dict(presence), latest)


def _episodes(indexes: list[int], runs: Sequence[StoredRun]) -> list[Episode]:
    episodes = []
    start = prev = indexes[0]
    for i in [*indexes[1:], None]:
        if i is not None and i == prev + 1:
            prev = i
            continue
        end = prev + 1 if prev + 1 < len(runs) else None
        episodes.append(
            Episode(
                runs[start].collected_at,
                runs[end].collected_at if end is not None else None,
                start,
                end,
            )
        )
        if i is not None:
            start = prev = i
    return episodes


def finding_history(life: Life, run_at: datetime) -> FindingHistory:
    """First seen, days open and new/reopened, for a finding present in the run at `run_at`."""
    current = life.episodes[-1]
    state = CARRIED
    if current.start == run_at:
        state = NEW if len(life.episodes) == 1 else REOPENED
    return FindingHistory(
        first_seen=_iso(life.first_seen),
        open_since=_iso(current.start),
        days_open=max(0, (run_at - current.start).days),
        state=state,
        runs_seen=life.runs_seen,
    )


@dataclass(frozen=True)
class TrendPoint:
    collected_at: datetime
    open: dict[str, int]  # open (not accepted) findings by severity
    accepted: int

    @property
    def open_total(self) -> int:
        return sum(self.open.values())


def trend(timeline: Timeline, last: int = TREND_RUNS) -> list[TrendPoint]:
    """Open findings by severity over the last `last` runs, oldest first."""
    return [
        TrendPoint(run.collected_at, run.open_counts(), sum(run.accepted.values()))
        for run in timeline.runs[-last:]
    ]


@dataclass(frozen=True)
class TimeToFix:
    """The mean time to fix of the findings fixed in a window of runs."""

    fixed: int
    mean_days: float | None
    window_start: datetime | None
    window_end: datetime | None


def mean_time_to_fix(timeline: Timeline, last: int = TREND_RUNS) -> TimeToFix:
    """Over the episodes that ended on a run of the window (the last `last` runs)."""
    if not timeline.runs:
        return TimeToFix(0, None, None, None)
    first_index = max(0, len(timeline.runs) - last)
    durations = []
    for indexes in timeline.presence.values():
        for episode in _episodes(indexes, timeline.runs):
            end, index = episode.end, episode.end_index
            if end is not None and index is not None and index >= max(first_index, 1):
                durations.append((end - episode.start).total_seconds() / 86400)
    mean = sum(durations) / len(durations) if durations else None
    return TimeToFix(
        len(durations),
        mean,
        timeline.runs[first_index].collected_at,
        timeline.runs[-1].collected_at,
    )


def _iso(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")
