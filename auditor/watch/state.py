"""The watcher's memory across restarts (SQLite through SQLAlchemy Core): see docs/watch.md.

- `seen_events`: every event SID handled, so a Debugger retry, a poll overlapping
  the webhook, or a restart never diagnoses or notifies the same event twice;
- `event_groups`: identical events (same account, caller ID and rule) inside the
  group window: the first notifies at once, the others are counted, and when the
  window closes one summary carries the count;
- `poll_cursors`: per account, the newest alert date polled, so a restart
  neither misses nor repeats alerts;
- `pending_events`: events received but not yet diagnosed when the watcher
  stopped, diagnosed first at the next start.

No token or secret is ever written here. Every method runs in one transaction
under one lock: the receiver's worker, the poller and shutdown share the file.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.exc import DatabaseError, OperationalError

from auditor.codec import DecodeError, from_data, to_data
from auditor.errors import AuditorError
from auditor.watch.diagnose import Diagnosis
from auditor.watch.events import WatchEvent

SCHEMA_VERSION = "1"
SEEN_KEEP_SECONDS = 35 * 24 * 3600  # Monitor keeps alerts 30 days; nothing older comes back

_md = MetaData()
_meta = Table("watch_meta", _md, Column("key", String(64), primary_key=True), Column("value", Text))
_seen = Table(
    "seen_events",
    _md,
    Column("sid", String(64), primary_key=True),
    Column("account_sid", String(34), nullable=False),
    Column("error_code", String(16), nullable=False),
    Column("origin", String(16), nullable=False),
    Column("seen_at", Float, nullable=False, index=True),
)
_groups = Table(
    "event_groups",
    _md,
    Column("account_sid", String(34), primary_key=True),
    Column("caller_id", String(256), primary_key=True),
    Column("rule", String(64), primary_key=True),
    Column("window_start", Float, nullable=False),
    Column("count", Integer, nullable=False),
    Column("first_seen", String(64), nullable=False),
    Column("last_seen", String(64), nullable=False),
    Column("last_event_sid", String(64), nullable=False),
    Column("diagnosis", Text, nullable=False),  # the first event's diagnosis, as JSON
)
_cursors = Table(
    "poll_cursors",
    _md,
    Column("account_sid", String(34), primary_key=True),
    Column("last_date", String(64), nullable=False),  # ISO 8601 UTC: newest alert handled
    Column("floor", String(64), nullable=False),  # when this account was first polled
)
_pending = Table(
    "pending_events",
    _md,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event", Text, nullable=False),
)


@dataclass(frozen=True)
class Recorded:
    """What recording one event decided: diagnoses to emit now, and how many were absorbed."""

    emit: list[Diagnosis]
    absorbed: int


class WatchState:
    """The state file; raises AuditorError (one line) when it cannot be opened or is foreign."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)  # customer data: owner only
                os.close(fd)
        except OSError as exc:
            raise AuditorError(
                f"--state {path}: cannot create it ({exc.strerror}); choose a writable path"
            ) from None
        self._lock = threading.Lock()
        self._engine: Engine = create_engine(
            f"sqlite:///{path}", connect_args={"check_same_thread": False, "timeout": 5}
        )
        event.listen(self._engine, "connect", _pragmas)
        try:
            _md.create_all(self._engine)
            self._check_schema()
        except (DatabaseError, OperationalError):
            self._engine.dispose()
            raise AuditorError(
                f"--state {path}: not a twilio-audit watch state file (SQLite); "
                "give another path or remove it"
            ) from None

    def _check_schema(self) -> None:
        with self._engine.begin() as conn:
            found = conn.execute(
                select(_meta.c.value).where(_meta.c.key == "schema_version")
            ).scalar_one_or_none()
            if found is None:
                conn.execute(insert(_meta).values(key="schema_version", value=SCHEMA_VERSION))
            elif found != SCHEMA_VERSION:
                raise AuditorError(
                    f"--state {self.path}: schema version {found}, this twilio-audit writes "
                    f"{SCHEMA_VERSION}; give a new --state file"
                )

    def close(self) -> None:
        with self._lock:
            self._engine.dispose()

    # ---------------------------------------------------------------- events and groups

    def is_seen(self, sid: str) -> bool:
        with self._lock, self._engine.connect() as conn:
            return conn.execute(select(_seen.c.sid).where(_seen.c.sid == sid)).first() is not None

    def record(
        self, event: WatchEvent, diagnoses: Sequence[Diagnosis], now: float, window: float
    ) -> Recorded:
        """Mark `event` seen and group its diagnoses, in one transaction.

        A diagnosis opens a group (and is emitted, count 1) unless an identical one
        did within `window` seconds; then it only counts toward that group's summary.
        An event already seen records nothing and emits nothing.
        """
        emit: list[Diagnosis] = []
        absorbed = 0
        with self._lock, self._engine.begin() as conn:
            if conn.execute(select(_seen.c.sid).where(_seen.c.sid == event.sid)).first():
                return Recorded([], 0)
            conn.execute(
                insert(_seen).values(
                    sid=event.sid,
                    account_sid=event.account_sid,
                    error_code=event.error_code[:16],
                    origin=event.origin,
                    seen_at=now,
                )
            )
            for d in diagnoses:
                key = _key(d)
                row = conn.execute(select(_groups).where(*key)).mappings().first()
                if row is not None and now - row["window_start"] < window:
                    conn.execute(
                        update(_groups)
                        .where(*key)
                        .values(
                            count=row["count"] + 1,
                            last_seen=d.timestamp,
                            last_event_sid=d.event_sid,
                        )
                    )
                    absorbed += 1
                    continue
                if row is not None:
                    conn.execute(delete(_groups).where(*key))  # closed; its summary was sent
                conn.execute(
                    insert(_groups).values(
                        account_sid=d.account_sid,
                        caller_id=d.caller_id or "",
                        rule=d.rule or "",
                        window_start=now,
                        count=1,
                        first_seen=d.timestamp,
                        last_seen=d.timestamp,
                        last_event_sid=d.event_sid,
                        diagnosis=json.dumps(d.to_json()),
                    )
                )
                emit.append(d)
        return Recorded(emit, absorbed)

    def close_windows(self, now: float, window: float) -> list[Diagnosis]:
        """Groups whose window has closed: a summary for each that absorbed repeats."""
        out: list[Diagnosis] = []
        with self._lock, self._engine.begin() as conn:
            rows = (
                conn.execute(select(_groups).where(_groups.c.window_start <= now - window))
                .mappings()
                .all()
            )
            for row in rows:
                if row["count"] > 1:
                    d = Diagnosis.from_json(json.loads(row["diagnosis"]))
                    d.kind = "summary"
                    d.count = int(row["count"])
                    d.first_seen = row["first_seen"]
                    d.last_seen = row["last_seen"]
                    d.event_sid = row["last_event_sid"]
                    d.timestamp = row["last_seen"]
                    out.append(d)
                conn.execute(
                    delete(_groups).where(
                        _groups.c.account_sid == row["account_sid"],
                        _groups.c.caller_id == row["caller_id"],
                        _groups.c.rule == row["rule"],
                    )
                )
        return out

    def open_groups(self) -> int:
        with self._lock, self._engine.connect() as conn:
            return len(conn.execute(select(_groups.c.count)).all())

    def prune(self, now: float) -> int:
        """Forget events older than Monitor keeps alerts (they cannot come back)."""
        with self._lock, self._engine.begin() as conn:
            result = conn.execute(delete(_seen).where(_seen.c.seen_at < now - SEEN_KEEP_SECONDS))
            return int(result.rowcount or 0)

    # ---------------------------------------------------------------- polling

    def cursor(self, account_sid: str) -> tuple[str, str] | None:
        """(newest alert date handled, date of the first poll) of an account, if polled."""
        with self._lock, self._engine.connect() as conn:
            row = conn.execute(
                select(_cursors.c.last_date, _cursors.c.floor).where(
                    _cursors.c.account_sid == account_sid
                )
            ).first()
        return (str(row.last_date), str(row.floor)) if row else None

    def set_cursor(self, account_sid: str, last_date: str, floor: str) -> None:
        """Store the newest date handled; the floor is kept from the first call."""
        with self._lock, self._engine.begin() as conn:
            done = conn.execute(
                update(_cursors)
                .where(_cursors.c.account_sid == account_sid)
                .values(last_date=last_date)
            )
            if not done.rowcount:
                conn.execute(
                    insert(_cursors).values(
                        account_sid=account_sid, last_date=last_date, floor=floor
                    )
                )

    # ---------------------------------------------------------------- shutdown

    def save_pending(self, events: Sequence[WatchEvent]) -> None:
        if not events:
            return
        with self._lock, self._engine.begin() as conn:
            conn.execute(insert(_pending), [{"event": json.dumps(to_data(e))} for e in events])

    def take_pending(self) -> list[WatchEvent]:
        """Events saved at the last stop (removed from the file as they are returned)."""
        with self._lock, self._engine.begin() as conn:
            rows = conn.execute(select(_pending).order_by(_pending.c.id)).all()
            conn.execute(delete(_pending))
        out: list[WatchEvent] = []
        for row in rows:
            try:
                out.append(from_data(WatchEvent, json.loads(row.event)))
            except (ValueError, DecodeError):
                continue  # written by another version; nothing to diagnose
        return out


def _key(d: Diagnosis) -> tuple[Any, ...]:
    account, caller_id, rule = d.group_key
    return (
        _groups.c.account_sid == account,
        _groups.c.caller_id == caller_id,
        _groups.c.rule == rule,
    )


def _pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")  # readers (healthz) never wait on the writer
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()
