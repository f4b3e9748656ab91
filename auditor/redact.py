"""The one redaction: a URL's userinfo (`user:password@`) never leaves memory.

Twilio accepts webhook URLs with credentials in them (`https://user:pass@host/voice`),
and `--api-url` may carry some too. Wherever a URL is stored or shown — snapshot,
every report format, logs, error messages — its userinfo becomes `***`, so a reader
still sees that the URL carries credentials, never what they are.

A regular expression rather than `urllib.parse`, so malformed URLs from customer
data (`http://[::1/voice`) are redacted too instead of raising, and URLs inside
free text (an exception message) are found as well.
"""

from __future__ import annotations

import re

REDACTED = "***"

# scheme://userinfo@ — userinfo runs up to the first '@' before any '/', '?', '#' or space.
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/?#@\s]*@")


def redact_url(text: str) -> str:
    """`https://u:p@host/x` → `https://***@host/x`, for one URL or any text holding URLs."""
    return _USERINFO.sub(rf"\1{REDACTED}@", text)


def redact_optional(text: str | None) -> str | None:
    return None if text is None else redact_url(text)
