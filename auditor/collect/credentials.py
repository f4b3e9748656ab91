"""Twilio credentials from the environment, held in memory only and never printed."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from auditor.errors import CredentialsError

_MISSING_SID = (
    "TWILIO_ACCOUNT_SID is not set; export TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN "
    "(or TWILIO_API_KEY + TWILIO_API_SECRET)"
)


@dataclass(frozen=True)
class Credentials:
    """An Account SID with either its auth token or an API key + secret (secrets hidden in repr)."""

    account_sid: str
    auth_token: str | None = field(default=None, repr=False)
    api_key: str | None = None
    api_secret: str | None = field(default=None, repr=False)

    @property
    def uses_api_key(self) -> bool:
        return self.api_key is not None

    @property
    def username(self) -> str:
        """The Basic-auth user name the SDK sends (the key SID for an API key)."""
        return self.api_key or self.account_sid

    @property
    def password(self) -> str:
        return (self.api_secret if self.api_key else self.auth_token) or ""

    def __repr__(self) -> str:
        kind = f"api_key={self.api_key!r}" if self.api_key else "auth_token=***"
        return f"Credentials(account_sid={self.account_sid!r}, {kind})"

    __str__ = __repr__


def credentials_from_env(environ: Mapping[str, str] = os.environ) -> Credentials:
    """Read TWILIO_ACCOUNT_SID + TWILIO_AUTH_TOKEN, or + TWILIO_API_KEY/TWILIO_API_SECRET."""
    sid = environ.get("TWILIO_ACCOUNT_SID", "").strip()
    token = environ.get("TWILIO_AUTH_TOKEN", "").strip()
    key = environ.get("TWILIO_API_KEY", "").strip()
    secret = environ.get("TWILIO_API_SECRET", "").strip()
    if not sid:
        raise CredentialsError(_MISSING_SID)
    if not (sid.startswith("AC") and len(sid) == 34):
        raise CredentialsError(
            "TWILIO_ACCOUNT_SID does not look like an Account SID (AC followed by 32 "
            "characters); copy it from the Twilio Console"
        )
    if key or secret:
        if not (key and secret):
            missing = "TWILIO_API_SECRET" if key else "TWILIO_API_KEY"
            raise CredentialsError(
                f"{missing} is not set; an API key needs both TWILIO_API_KEY and TWILIO_API_SECRET"
            )
        if not key.startswith("SK"):
            raise CredentialsError(
                "TWILIO_API_KEY does not look like an API key SID (SK…); "
                "copy the key SID, not its friendly name"
            )
        return Credentials(account_sid=sid, api_key=key, api_secret=secret)
    if not token:
        raise CredentialsError(
            "TWILIO_AUTH_TOKEN is not set; export TWILIO_AUTH_TOKEN "
            "(or TWILIO_API_KEY + TWILIO_API_SECRET)"
        )
    return Credentials(account_sid=sid, auth_token=token)
