"""Runs and the findings of each run.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_key", sa.String(64), nullable=False, unique=True),
        sa.Column("root_account_sid", sa.String(34), nullable=False),
        sa.Column("collected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("regions", sa.JSON, nullable=False),
        sa.Column("tool_version", sa.String(64), nullable=False),
        sa.Column("coverage", sa.JSON, nullable=False),
    )
    op.create_index(
        "ix_audit_runs_root_collected", "audit_runs", ["root_account_sid", "collected_at"]
    )
    op.create_table(
        "audit_run_findings",
        sa.Column("run_id", sa.Integer, sa.ForeignKey("audit_runs.id"), primary_key=True),
        sa.Column("fingerprint", sa.String(64), primary_key=True),
        sa.Column("rule", sa.String(80), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("account_sid", sa.String(34), nullable=True),
        sa.Column("caller_id", sa.String(200), nullable=True),
    )
    op.create_index("ix_audit_run_findings_fingerprint", "audit_run_findings", ["fingerprint"])


def downgrade() -> None:
    op.drop_index("ix_audit_run_findings_fingerprint", table_name="audit_run_findings")
    op.drop_table("audit_run_findings")
    op.drop_index("ix_audit_runs_root_collected", table_name="audit_runs")
    op.drop_table("audit_runs")
