"""`twilio-audit check` (placeholder until its issue lands)."""

from __future__ import annotations

from auditor.errors import AuditorError

NAME = "check"
HELP = "Not built yet."


def run() -> None:
    raise AuditorError("'check' is not built yet")
