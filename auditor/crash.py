"""Crash reports: an unexpected exception is a bug; say so in one line and keep the details.

The CLI exits 4 for a bug (never 1, which means "findings", so CI can tell them
apart) and writes the traceback to a file instead of the terminal:

- where: `$XDG_STATE_HOME/twilio-audit/` (default `~/.local/state/twilio-audit/`),
  the per-user place the XDG spec names for state such as logs and crash dumps:
  it survives a reboot (unlike /tmp), is not shared with other users, and is
  created 0700. When it cannot be written (a read-only home in a container), a
  private file from `tempfile.mkstemp` in the system temp folder is used instead
  (created O_EXCL, 0600, so another user can neither read nor pre-plant it).
- what: the version, Python, platform, the command line and the traceback,
  without local variables (`traceback` prints none). URL userinfo is redacted and
  the values of credential variables (TWILIO_AUTH_TOKEN, TWILIO_API_SECRET, …) are
  replaced wherever they appear, so the report can be attached to a bug as it is.
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import traceback
from datetime import UTC, datetime
from pathlib import Path

from auditor import __version__
from auditor.redact import REDACTED, redact_url

SECRET_VARIABLES = ("TWILIO_AUTH_TOKEN", "TWILIO_API_SECRET", "TWILIO_API_KEY")
MIN_SECRET_CHARS = 6  # shorter values would blank out ordinary words


def crash_dir() -> Path:
    """Where crash reports go (XDG state home), not created here."""
    base = os.environ.get("XDG_STATE_HOME") or ""
    root = Path(base) if os.path.isabs(base) else Path.home() / ".local" / "state"
    return root / "twilio-audit"


def scrub(text: str) -> str:
    """`text` without URL passwords or the values of credential variables."""
    text = redact_url(text)
    for name in SECRET_VARIABLES:
        value = os.environ.get(name, "")
        if len(value) >= MIN_SECRET_CHARS:
            text = text.replace(value, REDACTED)
    return text


def crash_report(exc: BaseException, argv: list[str]) -> str:
    """The report's text: what ran, where, and the traceback (no local variables)."""
    lines = [
        f"twilio-audit {__version__} crashed: this is a bug in twilio-audit.",
        f"when: {datetime.now(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}",
        f"python: {platform.python_version()} ({platform.python_implementation()})",
        f"platform: {platform.platform()}",
        f"command: twilio-audit {' '.join(argv)}",
        "",
        *traceback.format_exception(type(exc), exc, exc.__traceback__),
    ]
    return scrub("\n".join(line.rstrip("\n") for line in lines)) + "\n"


def write_crash_report(exc: BaseException, argv: list[str] | None = None) -> Path | None:
    """Write the report privately; its path, or None when nowhere could be written."""
    text = crash_report(exc, list(sys.argv[1:] if argv is None else argv))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    name = f"crash-{stamp}-{os.getpid()}.txt"
    folder = crash_dir()
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        path = folder / name
    except OSError:
        try:
            fd, temp = tempfile.mkstemp(prefix="twilio-audit-crash-", suffix=".txt")
        except OSError:
            return None
        path = Path(temp)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as fh:
            fh.write(text)
    except OSError:
        return None
    return path
