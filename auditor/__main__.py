"""`python -m auditor` is the same as the `twilio-audit` command."""

from auditor.cli import entry

entry()
