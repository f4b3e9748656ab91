"""`twilio-audit rules` (placeholder until its issue lands)."""

from __future__ import annotations

from auditor.errors import AuditorError

NAME = "rules"
HELP = "Not built yet."


def run() -> None:
    raise AuditorError("'rules' is not built yet")
