"""`twilio-audit diff` (placeholder until its issue lands)."""

from __future__ import annotations

from auditor.errors import AuditorError

NAME = "diff"
HELP = "Not built yet."


def run() -> None:
    raise AuditorError("'diff' is not built yet")
