"""URLs from customer data, taken apart without ever raising.

`urllib.parse.urlsplit` raises on malformed input (`http://[::1/voice`, a port of 99999)
and such URLs come from accounts we do not control: one must not stop an analysis.
"""

from __future__ import annotations

import re

# scheme://authority/path, split as urlsplit does.
_URL_PARTS = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://([^/?#]*)([^?#]*)")
_HOST = re.compile(r"^(?:[^@]*@)?(\[[^\]]*\]?|[^:]*)")


def split_url(url: str) -> tuple[str, str, str] | None:
    """(scheme, authority, path) of an absolute URL, or None when it is not one."""
    m = _URL_PARTS.match(url.strip())
    if m is None or not m.group(2):
        return None
    scheme, authority, path = m.groups()
    return scheme, authority, path


def url_host(url: str | None) -> str:
    """The lower-case host of a URL ('' when there is none): userinfo and port dropped."""
    parts = split_url(url) if url else None
    if parts is None:
        return ""
    m = _HOST.match(parts[1])
    return (m.group(1) if m else "").strip("[]").lower()
