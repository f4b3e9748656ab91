"""`twilio-audit scan` (placeholder until its issue lands)."""

from __future__ import annotations

from auditor.errors import AuditorError

NAME = "scan"
HELP = "Not built yet."


def run() -> None:
    raise AuditorError("'scan' is not built yet")
