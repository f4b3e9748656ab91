"""`twilio-audit report` (placeholder until its issue lands)."""

from __future__ import annotations

from auditor.errors import AuditorError

NAME = "report"
HELP = "Not built yet."


def run() -> None:
    raise AuditorError("'report' is not built yet")
