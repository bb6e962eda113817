"""A real PostgreSQL server for the tests, from Debian's `postgresql` package.

`initdb` and `pg_ctl` put a fresh cluster in a temporary folder, listening on a free port of
127.0.0.1 with password authentication (so the tests can check the password never leaks) and on
a unix socket in that folder. PostgreSQL refuses to run as root, so under root (CI) the server
runs as the `postgres` user (or `nobody`) and owns the folder. A missing package is a test
failure that says how to install it, never a skip.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count
from pathlib import Path

import pytest

USER = "aiart"
PASSWORD = "s3cret-Pw-for-tests"  # the tests search logs and pages for it
INSTALL_HINT = "Install Debian's postgresql package (scripts/test.sh does: apt-get install postgresql)."


def binaries(debian: Path = Path("/usr/lib/postgresql")) -> Path:
    """The newest <debian>/<version>/bin holding initdb; fails the test when there is none."""
    found = sorted(debian.glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not found:
        pytest.fail(f"PostgreSQL is not installed: no {debian}/*/bin/initdb. {INSTALL_HINT}", pytrace=False)
    return found[-1].parent


def run(cmd: list[str]) -> None:
    """Run a PostgreSQL tool; a failure fails the test with the tool's own words."""
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode:
        pytest.fail(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr or done.stdout}", pytrace=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PostgresServer:
    """One cluster in `root`; `url()` names a database on it, `fresh_database()` makes an empty one."""

    root: Path
    bin: Path
    port: int
    run_as: str | None  # the user the server runs as when the tests run as root

    def _cmd(self, tool: str, *args: str) -> list[str]:
        prefix = ["runuser", "-u", self.run_as, "--"] if self.run_as else []
        return [*prefix, str(self.bin / tool), *args]

    def _pg_ctl(self, *args: str) -> None:
        run(self._cmd("pg_ctl", "-D", str(self.root / "data"), "-w", "-t", "60", *args))

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -F"  # -F: no fsync, tests only
        self._pg_ctl("-l", str(self.root / "server.log"), "-o", options, "start")

    def stop(self) -> None:
        self._pg_ctl("-m", "fast", "stop")

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{dbname}"

    _numbers = count(1)

    def fresh_database(self) -> str:
        """The URL of a new, empty database: each test starts from nothing."""
        import psycopg

        name = f"test_{os.getpid()}_{next(self._numbers)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _run_as() -> str | None:
    if os.geteuid() != 0:
        return None
    for user in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(user)
            return user
    pytest.fail("running as root and no unprivileged user (postgres, nobody) to run PostgreSQL as", pytrace=False)


@contextlib.contextmanager
def running_server() -> Iterator[PostgresServer]:
    """initdb, start, yield, stop and delete: nothing outlives the test session."""
    bin_dir = binaries()
    run_as = _run_as()
    root = Path(tempfile.mkdtemp(prefix="aiart-pg-"))  # not pytest's tmp: that is private to root
    try:
        (root / "pw").write_text(PASSWORD + "\n")
        if run_as:
            shutil.chown(root, run_as)
            shutil.chown(root / "pw", run_as)
        server = PostgresServer(root, bin_dir, free_port(), run_as)
        init = [
            *("-D", str(root / "data"), "-U", USER, "--pwfile", str(root / "pw"), "-E", "UTF8"),
            *("--auth-local=trust", "--auth-host=scram-sha-256", "--no-instructions"),
        ]
        run(server._cmd("initdb", *init))
        server.start()
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)
