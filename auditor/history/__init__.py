"""The run history (`--history TARGET`): every run's findings by fingerprint, so a report can
say how long a finding has been open, whether it came back, and how the hierarchy trends.

SQLite for a file path, PostgreSQL for a `postgresql://` URL; SQLAlchemy Core with the
schema created and upgraded by the Alembic migrations shipped in `migrations/`.
"""

from __future__ import annotations

from auditor.history.review import HistoryReport, record_and_review, regions_of, run_record
from auditor.history.store import HistoryStore, StoredRun
from auditor.history.target import ENV_VAR, HistoryError, parse_target
from auditor.history.timeline import Life, Timeline, build_timeline

__all__ = [
    "ENV_VAR",
    "HistoryError",
    "HistoryReport",
    "HistoryStore",
    "Life",
    "StoredRun",
    "Timeline",
    "build_timeline",
    "parse_target",
    "record_and_review",
    "regions_of",
    "run_record",
]
