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
from typing import Any

REDACTED = "***"

# scheme://userinfo@ — userinfo runs up to the first '@' before any '/', '?', '#' or space;
# or `user:password@` whose password holds such a delimiter (`https://u:p#x@host/`): not a
# valid URL, but a person typing a password may write it, and it must not be shown (a
# port, `host:8080/a@b`, is not taken for a password).
_USERINFO = re.compile(
    r"(?i)\b([a-z][a-z0-9+.\-]*://)(?:[^/?#@\s]*|[^/?#@\s:]*:(?![0-9]*[/?#])[^@\s]*)@"
)


def redact_url(text: str) -> str:
    """`https://u:p@host/x` → `https://***@host/x`, for one URL or any text holding URLs."""
    return _USERINFO.sub(rf"\1{REDACTED}@", text)


def redact_optional(text: str | None) -> str | None:
    return None if text is None else redact_url(text)


def redact_data(value: object) -> Any:
    """JSON-like data with `redact_url` applied to every string (keys too), without recursion.

    For data on its way into a file (snapshot, findings, SARIF): however it was built,
    no URL password reaches the disk. Containers are copied; the input is not changed.
    """
    if isinstance(value, str):
        return redact_url(value) if "@" in value else value
    if not isinstance(value, dict | list | tuple):
        return value
    root: Any = dict(value) if isinstance(value, dict) else list(value)
    stack: list[Any] = [root]
    while stack:
        node = stack.pop()
        pairs = node.items() if isinstance(node, dict) else enumerate(node)
        rekey = False
        for k, v in pairs:
            if type(v) is str:
                if "@" in v:
                    node[k] = redact_url(v)
            elif isinstance(v, dict | list | tuple):
                child: Any = dict(v) if isinstance(v, dict) else list(v)
                node[k] = child
                stack.append(child)
            elif isinstance(v, str):
                node[k] = redact_url(v)
            if type(k) is str and "@" in k:
                rekey = True
        if rekey:
            for k in [k for k in node if type(k) is str and "@" in k]:
                node[redact_url(k)] = node.pop(k)
    return root


def redact_in_place(obj: object) -> None:
    """Redact every string held by a tree of dataclasses, dicts and lists, in place.

    The collector runs this once on the finished snapshot: after the webhook probe,
    which needs the URLs as the customer wrote them, and before anything is analysed,
    rendered or saved, so `audit` and a later `report` see the same URLs.
    """
    stack = [obj]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            pairs: Any = list(node.items())
        elif isinstance(node, list):
            pairs = list(enumerate(node))
        elif hasattr(node, "__dataclass_fields__"):
            pairs = [(name, getattr(node, name)) for name in node.__dataclass_fields__]
        else:
            continue
        for key, value in pairs:
            kind = type(value)
            if kind is str:
                if "@" in value:
                    _store(node, key, redact_url(value))
            elif value is None or kind in _SCALARS:
                continue  # most fields of a snapshot: nothing to look into
            elif isinstance(value, str):
                if "@" in value:
                    _store(node, key, redact_url(value))
            elif isinstance(value, dict | list) or hasattr(value, "__dataclass_fields__"):
                stack.append(value)
        if isinstance(node, dict) and any(type(k) is str and "@" in k for k in node):
            for key in [k for k in node if type(k) is str and "@" in k]:
                node[redact_url(key)] = node.pop(key)


_SCALARS = frozenset({int, bool, float})


def _store(node: Any, key: Any, value: Any) -> None:
    if isinstance(node, dict | list):
        node[key] = value
    else:
        setattr(node, key, value)
