"""The history tables, as SQLAlchemy Core metadata (the migrations create exactly these).

Names carry an `audit_` prefix so the history can live in a database that holds other
tables too (a team's shared PostgreSQL); the Alembic version table is ours as well.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
)

VERSION_TABLE = "twilio_audit_schema"

metadata = MetaData()

runs = Table(
    "audit_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # sha256 of (root account, collected_at, regions): recording one snapshot twice is one run.
    Column("run_key", String(64), nullable=False, unique=True),
    Column("root_account_sid", String(34), nullable=False),
    Column("collected_at", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("regions", JSON, nullable=False),  # ["us1"], ["us1", "ie1"] …
    Column("tool_version", String(64), nullable=False),
    Column("coverage", JSON, nullable=False),  # {"accounts": n, "ok": n, "error": n, …}
    Index("ix_audit_runs_root_collected", "root_account_sid", "collected_at"),
)

findings = Table(
    "audit_run_findings",
    metadata,
    Column("run_id", Integer, ForeignKey("audit_runs.id"), primary_key=True),
    Column("fingerprint", String(64), primary_key=True),
    Column("rule", String(80), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("status", String(16), nullable=False),  # "open" | "accepted"
    Column("account_sid", String(34), nullable=True),
    Column("caller_id", String(200), nullable=True),
    Index("ix_audit_run_findings_fingerprint", "fingerprint"),
)

TABLES = (runs, findings)
