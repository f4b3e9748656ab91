"""The history's records as plain data: what a run contributes, what a stored run and a
stored finding read back as, and the timestamps' one spelling.

No database code here (auditor.history.store has it): the reports, the timeline and the
`history` command's formatting import these without loading SQLAlchemy or Alembic, which
cost half a second at every start of the CLI.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from auditor.model import Severity

OPEN = "open"
ACCEPTED = "accepted"
SEVERITIES = [s.value for s in sorted(Severity, key=lambda s: -s.rank)]


@dataclass(frozen=True)
class FindingRecord:
    """One finding of a run, as the history keeps it (no message, no evidence)."""

    fingerprint: str
    rule: str
    severity: str
    status: str  # OPEN | ACCEPTED
    account_sid: str | None = None
    caller_id: str | None = None


@dataclass(frozen=True)
class RunRecord:
    """What one run contributes to the history."""

    root_account_sid: str
    collected_at: datetime  # aware, UTC
    regions: tuple[str, ...]
    tool_version: str
    coverage: dict[str, Any]
    findings: tuple[FindingRecord, ...]

    @property
    def run_key(self) -> str:
        basis = [self.root_account_sid, iso(self.collected_at), sorted(self.regions)]
        return hashlib.sha256(json.dumps(basis).encode()).hexdigest()


@dataclass(frozen=True)
class StoredRun:
    id: int
    root_account_sid: str
    collected_at: datetime
    recorded_at: datetime
    regions: list[str]
    tool_version: str
    coverage: dict[str, Any]
    counts: dict[str, int] = field(default_factory=dict)  # every finding, by severity
    accepted: dict[str, int] = field(default_factory=dict)  # of which accepted, by severity

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def open_counts(self) -> dict[str, int]:
        return {s: self.counts.get(s, 0) - self.accepted.get(s, 0) for s in SEVERITIES}


@dataclass(frozen=True)
class FindingRow:
    """A finding in one run (for timelines and `history --finding`)."""

    run_id: int
    fingerprint: str
    rule: str
    severity: str
    status: str
    account_sid: str | None
    caller_id: str | None


def iso(moment: datetime) -> str:
    return utc(moment).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes: they were stored as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_time(text: str) -> datetime:
    return utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
