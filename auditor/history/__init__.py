"""The run history (`--history TARGET`): every run's findings by fingerprint, so a report can
say how long a finding has been open, whether it came back, and how the hierarchy trends.

SQLite for a file path, PostgreSQL for a `postgresql://` URL; SQLAlchemy Core with the
schema created and upgraded by the Alembic migrations shipped in `migrations/`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from auditor.history.records import StoredRun
from auditor.history.review import HistoryReport, record_and_review, regions_of, run_record
from auditor.history.target import ENV_VAR, HistoryError, parse_target
from auditor.history.timeline import Life, Timeline, build_timeline

if TYPE_CHECKING:
    from auditor.history.store import HistoryStore


def __getattr__(name: str) -> Any:
    """`HistoryStore` is imported on first use: SQLAlchemy and Alembic take half a second to
    load, and every CLI start (`report` without --history included) imports this package."""
    if name == "HistoryStore":
        from auditor.history.store import HistoryStore

        return HistoryStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
