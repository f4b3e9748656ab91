"""A real PostgreSQL server for the tests: initdb into a temporary folder, pg_ctl on a free
loopback port, password authentication. PostgreSQL refuses to run as root, so when the
tests run as root (CI does) the server runs as the `postgres` user Debian's package creates
(or `nobody`). Skipped, with the reason, only when the binaries are not installed.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

USER = "audit"
PASSWORD = "s3cret-pg-password"  # what the tests check never appears in any output


def pg_bindir() -> Path | None:
    """Debian keeps initdb and pg_ctl in /usr/lib/postgresql/N/bin, off PATH."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    return Path(candidates[0]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_as() -> str | None:
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("running as root and neither a 'postgres' nor a 'nobody' user exists")


@dataclass(frozen=True)
class PgServer:
    port: int
    data: Path

    def url(self, database: str = "postgres", password: str = PASSWORD) -> str:
        return f"postgresql://{USER}:{password}@127.0.0.1:{self.port}/{database}"


@contextmanager
def pg_server() -> Iterator[PgServer]:
    bindir = pg_bindir()
    assert bindir is not None
    user = _run_as()
    base = Path(tempfile.mkdtemp(prefix="twilio-audit-pg-"))
    data, pwfile, log = base / "data", base / "pwfile", base / "server.log"
    pwfile.write_text(PASSWORD + "\n")
    if user is not None:
        entry = pwd.getpwnam(user)
        for path in (base, pwfile):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    port = _free_port()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(args), user=user, capture_output=True, text=True, timeout=120, cwd=base
        )

    init = run(
        str(bindir / "initdb"),
        "-D",
        str(data),
        "-U",
        USER,
        "--pwfile",
        str(pwfile),
        "--auth",
        "scram-sha-256",
        "-E",
        "UTF8",
        "--locale",
        "C",
    )
    assert init.returncode == 0, init.stdout + init.stderr
    opts = (
        f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories='' -c fsync=off"
    )
    start = run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", opts, "-w", "start")
    assert start.returncode == 0, (
        start.stdout + start.stderr + (log.read_text() if log.exists() else "")
    )
    try:
        yield PgServer(port, data)
    finally:
        run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)
