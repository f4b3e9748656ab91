"""Shared fixtures: a small synthetic hierarchy and an emulator serving it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import settings

from auditor.emulator import EmulatorServer, generate_hierarchy

# Property tests assert behaviour, never speed (speed lives in benchmarks/): hypothesis'
# per-example deadline only made them flaky on a loaded machine (a 610 ms example once).
settings.register_profile("twilio-audit", deadline=None)
settings.load_profile("twilio-audit")


@pytest.fixture(scope="session")
def small_hierarchy() -> dict[str, Any]:
    """A parent and 3 subaccounts, 5 numbers each (deterministic; do not mutate)."""
    return generate_hierarchy(3, 5)


@pytest.fixture
def emulator(small_hierarchy: dict[str, Any]) -> Iterator[EmulatorServer]:
    """A running emulator serving `small_hierarchy`, fresh per test (its own faults and stats)."""
    with EmulatorServer(small_hierarchy) as server:
        yield server


@pytest.fixture(scope="session")
def pg_server_session() -> Iterator[Any]:
    """A real PostgreSQL server for the session (skipped only when it is not installed)."""
    from pg_server import pg_bindir, pg_server

    if pg_bindir() is None:
        pytest.skip("PostgreSQL is not installed (scripts/setup-tests.sh installs Debian's)")
    with pg_server() as server:
        yield server


_DATABASES = iter(range(1, 10_000))


@pytest.fixture(params=["sqlite", "postgresql"])
def history_target(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """A fresh, empty history target: a SQLite file, or a new database on the real server."""
    if request.param == "sqlite":
        return str(tmp_path / "history.db")
    import psycopg

    server = request.getfixturevalue("pg_server_session")
    name = f"history_{next(_DATABASES)}"
    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return str(server.url(name))
