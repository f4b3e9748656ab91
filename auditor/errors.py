"""Errors a user can act on: the CLI prints the message as one line and exits 2."""

from __future__ import annotations


class AuditorError(Exception):
    """Bad input, credentials or environment: message names the problem and the fix."""

    exit_code = 2


class CredentialsError(AuditorError):
    """Missing or rejected Twilio credentials."""


class SnapshotError(AuditorError):
    """A snapshot file that is missing, malformed, truncated or foreign."""


class ApiUnreachableError(AuditorError):
    """The Twilio API (or --api-url) could not be reached at all."""


class IncompleteAuditError(AuditorError):
    """The audit could not read everything and --strict was given."""

    exit_code = 3
