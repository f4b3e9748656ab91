"""The history database: open (create or upgrade through the packaged Alembic migrations),
record one run, and read runs and findings back. SQLAlchemy Core, no SQL strings.

Every database problem — a bad URL, a server that does not answer, a file that is not a
database, tables that are not ours, a schema newer than this tool — becomes one
`HistoryError` line with the target redacted.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, delete, func, insert, inspect, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from auditor.history import schema
from auditor.history.records import (
    ACCEPTED,
    OPEN,
    SEVERITIES,
    FindingRecord,
    FindingRow,
    RunRecord,
    StoredRun,
    iso,
    parse_time,
    utc,
)
from auditor.history.target import HistoryError, HistoryTarget, parse_target

# The records are plain data (auditor.history.records); they stay importable from here.
__all__ = [
    "ACCEPTED",
    "OPEN",
    "SEVERITIES",
    "FindingRecord",
    "FindingRow",
    "HistoryStore",
    "RunRecord",
    "StoredRun",
    "iso",
    "parse_time",
    "utc",
]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
CONNECT_TIMEOUT = 10  # seconds
CALLER_ID_MAX = 200
_EXPECTED = {t.name: {c.name for c in t.columns} for t in schema.TABLES}


class HistoryStore:
    """An open, current-schema history database."""

    def __init__(self, target: HistoryTarget, engine: Engine) -> None:
        self.target = target
        self.engine = engine

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(cls, text: str, *, create: bool = True) -> HistoryStore:
        """Connect, check the schema is ours, and upgrade it to the packaged head.

        `create=False` (the `history` command) refuses a target that holds no history yet.
        """
        target = parse_target(text)
        if not create and target.is_sqlite and not Path(target.url.database or "").exists():
            raise target.error("no history recorded there yet", "record runs with audit --history")
        engine = _engine(target)
        store = cls(target, engine)
        with store._guard("opening the database"), engine.begin() as conn:
            store._migrate(conn, create)
        return store

    def _migrate(self, conn: Connection, create: bool) -> None:
        tables = set(inspect(conn).get_table_names())
        ours = set(_EXPECTED) & tables
        scripts = ScriptDirectory(str(MIGRATIONS))
        if schema.VERSION_TABLE in tables:
            current = MigrationContext.configure(
                conn, opts={"version_table": schema.VERSION_TABLE}
            ).get_current_revision()
            known = {rev.revision for rev in scripts.walk_revisions()}
            if current is not None and current not in known:
                raise self.target.error(
                    f"the history schema is revision {current!r}, newer than this twilio-audit "
                    "knows",
                    "upgrade twilio-audit (pip install -U twilio-audit)",
                )
        elif ours:
            raise self.target.error(
                f"holds tables {', '.join(sorted(ours))} but no twilio-audit schema version: "
                "not a twilio-audit history",
                "point --history at a new file or database",
            )
        elif not create:
            raise self.target.error(
                "no history recorded there yet", "record runs with audit --history"
            )
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
        self._check_columns(conn)

    def _check_columns(self, conn: Connection) -> None:
        found = inspect(conn)
        for table, columns in _EXPECTED.items():
            have = {c["name"] for c in found.get_columns(table)}
            missing = sorted(columns - have)
            if missing:
                raise self.target.error(
                    f"table {table} lacks column {missing[0]!r}: not the schema twilio-audit wrote",
                    "point --history at a new file or database",
                )

    # ------------------------------------------------------------------ writing

    def record(self, run: RunRecord) -> tuple[int, bool]:
        """Store a run; the same snapshot again replaces its findings. (run id, newly created)."""
        now = datetime.now(UTC)
        values = {
            "root_account_sid": run.root_account_sid,
            "collected_at": run.collected_at,
            "recorded_at": now,
            "regions": list(run.regions),
            "tool_version": run.tool_version[:64],
            "coverage": run.coverage,
        }
        with self._guard("recording the run"):
            for attempt in (1, 2):
                try:
                    with self.engine.begin() as conn:
                        return self._record(conn, run, values)
                except IntegrityError:
                    if attempt == 2:  # two recorders raced on the same run twice: give up
                        raise
        raise AssertionError("unreachable")

    def _record(self, conn: Connection, run: RunRecord, values: dict[str, Any]) -> tuple[int, bool]:
        runs, findings = schema.runs, schema.findings
        run_id = conn.execute(select(runs.c.id).where(runs.c.run_key == run.run_key)).scalar()
        created = run_id is None
        if run_id is None:
            result = conn.execute(insert(runs).values(run_key=run.run_key, **values))
            run_id = result.inserted_primary_key[0]  # type: ignore[index]
        else:
            conn.execute(update(runs).where(runs.c.id == run_id).values(**values))
            conn.execute(delete(findings).where(findings.c.run_id == run_id))
        rows = [
            {
                "run_id": run_id,
                "fingerprint": f.fingerprint,
                "rule": f.rule[:80],
                "severity": f.severity[:16],
                "status": f.status,
                "account_sid": f.account_sid,
                "caller_id": (f.caller_id or "")[:CALLER_ID_MAX] or None,
            }
            for f in run.findings
        ]
        if rows:
            conn.execute(insert(findings), rows)
        return int(run_id), created

    # ------------------------------------------------------------------ reading

    def runs(self, root: str | None = None, until: datetime | None = None) -> list[StoredRun]:
        """Runs, oldest first, with their finding counts (of one hierarchy when `root`)."""
        runs, findings = schema.runs, schema.findings
        query = select(runs).order_by(runs.c.collected_at, runs.c.id)
        if root is not None:
            query = query.where(runs.c.root_account_sid == root)
        if until is not None:
            query = query.where(runs.c.collected_at <= until)
        counts = (
            select(findings.c.run_id, findings.c.severity, findings.c.status, func.count())
            .select_from(findings.join(runs))
            .group_by(findings.c.run_id, findings.c.severity, findings.c.status)
        )
        if root is not None:
            counts = counts.where(runs.c.root_account_sid == root)
        with self._guard("reading runs"), self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
            tally: dict[int, tuple[dict[str, int], dict[str, int]]] = {}
            for run_id, severity, status, n in conn.execute(counts):
                total, accepted = tally.setdefault(run_id, ({}, {}))
                total[severity] = total.get(severity, 0) + n
                if status == ACCEPTED:
                    accepted[severity] = accepted.get(severity, 0) + n
        out = []
        for r in rows:
            total, accepted = tally.get(r["id"], ({}, {}))
            out.append(
                StoredRun(
                    id=r["id"],
                    root_account_sid=r["root_account_sid"],
                    collected_at=utc(r["collected_at"]),
                    recorded_at=utc(r["recorded_at"]),
                    regions=list(r["regions"] or []),
                    tool_version=r["tool_version"],
                    coverage=dict(r["coverage"] or {}),
                    counts={s: total.get(s, 0) for s in SEVERITIES},
                    accepted={s: accepted.get(s, 0) for s in SEVERITIES},
                )
            )
        return out

    def finding_rows(
        self, run_ids: Sequence[int] | None = None, fingerprint: str | None = None
    ) -> list[FindingRow]:
        """Findings of the given runs (all runs when None), or of one fingerprint (prefix)."""
        findings = schema.findings
        query = select(findings)
        if run_ids is not None:
            query = query.where(findings.c.run_id.in_(list(run_ids)))
        if fingerprint is not None:
            query = query.where(findings.c.fingerprint.startswith(fingerprint, autoescape=True))
        with self._guard("reading findings"), self.engine.connect() as conn:
            return [FindingRow(**dict(r)) for r in conn.execute(query).mappings()]

    def close(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------------ errors

    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        try:
            yield
        except HistoryError:
            raise
        except SQLAlchemyError as exc:
            raise self.target.error(f"{action} failed: {_reason(exc)}", _fix(self.target)) from None


def _engine(target: HistoryTarget) -> Engine:
    connect_args: dict[str, Any] = (
        {"timeout": CONNECT_TIMEOUT}
        if target.is_sqlite
        else {"connect_timeout": int(str(target.url.query.get("connect_timeout", CONNECT_TIMEOUT)))}
    )
    try:
        return create_engine(target.url, poolclass=NullPool, connect_args=connect_args)
    except (NoSuchModuleError, ModuleNotFoundError, ImportError):
        raise target.error(
            "the PostgreSQL driver (psycopg 3) is not installed",
            "pip install 'twilio-audit[postgresql]'",
        ) from None
    except (SQLAlchemyError, ValueError, TypeError) as exc:
        raise target.error(f"cannot be used ({_reason(exc)})", _fix(target)) from None


def _reason(exc: BaseException) -> str:
    """The driver's own first line (SQLAlchemy appends the statement and a link)."""
    orig = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(orig).splitlines() if line.strip()]
    text = lines[0] if lines else type(orig).__name__
    return text[:300]


def _fix(target: HistoryTarget) -> str:
    if target.is_sqlite:
        return "check the file is a twilio-audit history (or pick a new file) and is writable"
    return "check the URL, that the server runs and accepts this user, and the database exists"
