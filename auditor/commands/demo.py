"""`twilio-audit demo` (placeholder until its issue lands)."""

from __future__ import annotations

from auditor.errors import AuditorError

NAME = "demo"
HELP = "Not built yet."


def run() -> None:
    raise AuditorError("'demo' is not built yet")
