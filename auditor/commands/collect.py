"""`twilio-audit collect` (placeholder until its issue lands)."""

from __future__ import annotations

from auditor.errors import AuditorError

NAME = "collect"
HELP = "Not built yet."


def run() -> None:
    raise AuditorError("'collect' is not built yet")
