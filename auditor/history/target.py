"""`--history TARGET`: a file path (SQLite) or a database URL (PostgreSQL), shown redacted.

A URL's password is needed to connect and must never be shown: every message names the
target through `redact_url`, and `scrub` takes the password out of a driver's own words.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.errors import AuditorError
from auditor.redact import redact_url

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

ENV_VAR = "TWILIO_AUDIT_HISTORY"
# SQLAlchemy's plain "postgresql://" means psycopg2; this package ships psycopg 3.
_POSTGRES = {"postgres", "postgresql", "postgresql+psycopg"}


class HistoryError(AuditorError):
    """The history database cannot be used: one line, the target redacted, and the fix."""


@dataclass(frozen=True)
class HistoryTarget:
    url: URL
    display: str  # what messages show: a path, or the URL with userinfo as ***
    password: str | None  # only to scrub it out of driver messages

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    def scrub(self, text: str) -> str:
        """A driver message with the password (and any URL userinfo) removed."""
        if self.password:
            text = text.replace(self.password, "***")
        return redact_url(text)

    def error(self, problem: str, fix: str) -> HistoryError:
        return HistoryError(f"--history {self.display}: {self.scrub(problem)}; {fix}")


def parse_target(text: str) -> HistoryTarget:
    """A path → SQLite file; `postgresql://…` → PostgreSQL through psycopg 3; else an error."""
    from sqlalchemy.engine import make_url  # here: SQLAlchemy loads only with --history
    from sqlalchemy.exc import ArgumentError

    raw = text.strip()
    if not raw:
        raise HistoryError(
            "--history is empty; pass a file path (SQLite) or a postgresql:// URL "
            f"(or set {ENV_VAR})"
        )
    if "://" not in raw:
        return _sqlite_path(Path(raw).expanduser())
    display = redact_url(raw)
    try:
        url = make_url(raw)
    except (ArgumentError, ValueError):
        raise HistoryError(
            f"--history {display}: not a database URL; use postgresql://USER@HOST:PORT/DB "
            "or a file path for SQLite"
        ) from None
    scheme = url.drivername
    if scheme in _POSTGRES:
        url = url.set(drivername="postgresql+psycopg")
        if not url.host and not url.query.get("host"):
            raise HistoryError(
                f"--history {display}: no host in the URL; use postgresql://USER@HOST:PORT/DB"
            )
        return HistoryTarget(url, display, url.password)
    if scheme == "sqlite":
        if not url.database or url.database == ":memory:":
            raise HistoryError(
                f"--history {display}: an in-memory database keeps nothing; give a file path"
            )
        return _sqlite_path(Path(url.database).expanduser())
    raise HistoryError(
        f"--history {display}: unsupported database {scheme!r}; use a file path (SQLite) "
        "or a postgresql:// URL"
    )


def _sqlite_path(path: Path) -> HistoryTarget:
    from sqlalchemy.engine import URL

    shown = str(path)
    if path.is_dir():
        raise HistoryError(f"--history {shown}: is a folder; give a file, e.g. {path}/history.db")
    if not path.parent.is_dir():
        raise HistoryError(
            f"--history {shown}: folder {path.parent} does not exist; "
            "create it or pick another path"
        )
    url = URL.create("sqlite", database=str(path.resolve()))
    return HistoryTarget(url, shown, None)
