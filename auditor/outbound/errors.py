"""Refusals and failures of the outbound policy, and how a URL may appear in their messages."""

from __future__ import annotations

import re
from urllib.parse import quote

from auditor.redact import REDACTED, redact_url

_SHOWN_LIMIT = 200  # characters of a URL shown in a message
_AUTHORITY_AT = re.compile(r"(?i)^([a-z][a-z0-9+.\-]*://)[^/]*@")


def shown_url(url: object) -> str:
    """A URL as a message may show it: userinfo redacted, controls escaped, one short line.

    `redact_url` stops at the first '/', '?' or '#', so for a malformed authority
    (`http://u:p#x@host`) everything from `://` to the last '@' before a '/' is
    redacted too: over-redacting a strange URL is better than printing a password.
    """
    text = "".join(
        ch if ch.isprintable() and not ch.isspace() else quote(ch, safe="") for ch in str(url)
    )
    text = _AUTHORITY_AT.sub(rf"\1{REDACTED}@", redact_url(text))
    return text if len(text) <= _SHOWN_LIMIT else text[: _SHOWN_LIMIT - 1] + "…"


class OutboundError(Exception):
    """Base of both outcomes; `url` is already redacted, `reason` is one short phrase."""

    prefix = ""

    def __init__(self, url: object, reason: str) -> None:
        self.url = shown_url(url)
        self.reason = reason
        super().__init__(f"{self.prefix}{self.url}: {reason}")


class OutboundRefused(OutboundError):
    """The policy refused the target: nothing was sent."""

    prefix = "refused "


class OutboundFailed(OutboundError):
    """Network error, deadline passed or answer too large."""
