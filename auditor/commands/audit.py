"""`twilio-audit audit` (placeholder until its issue lands)."""

from __future__ import annotations

from auditor.errors import AuditorError

NAME = "audit"
HELP = "Not built yet."


def run() -> None:
    raise AuditorError("'audit' is not built yet")
