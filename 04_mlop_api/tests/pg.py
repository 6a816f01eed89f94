"""PostgreSQL for the API tests: the server on 127.0.0.1:5432, else a throwaway cluster.

Import the fixtures into a test module (``from ..pg import pg_server, pg_url`` or
``from tests.pg import ...``). ``pg_server`` (session) finds a server: the one on
127.0.0.1:5432 (trust auth, user postgres) when it answers, else one started from Debian's
postgresql package (``initdb`` + ``pg_ctl`` in a temporary directory on a free port, as the
``postgres`` or ``nobody`` user when running as root). ``pg_url`` gives each test its own database
(``edip_test_<random>``), dropped afterwards. Both skip, saying why, only when neither works.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import pytest
from psycopg2 import sql

DEFAULT_HOST, DEFAULT_PORT, DEFAULT_USER = "127.0.0.1", 5432, "postgres"


@dataclass(frozen=True)
class PgServer:
    """A PostgreSQL server the tests may create databases on."""

    host: str
    port: int
    user: str
    maintenance_db: str
    origin: str  # "existing" or "started"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg2://{self.user}@{self.host}:{self.port}/{database}"

    def connect(self, database: str | None = None) -> psycopg2.extensions.connection:
        conn = psycopg2.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            dbname=database or self.maintenance_db,
            connect_timeout=5,
        )
        conn.autocommit = True
        return conn


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def existing_server(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> PgServer | str:
    """The server on host:port, or why it cannot be used."""
    errors = []
    for database in ("postgres", "test"):
        try:
            conn = psycopg2.connect(
                host=host, port=port, user=DEFAULT_USER, dbname=database, connect_timeout=3
            )
        except psycopg2.Error as exc:
            errors.append(f"{database}: {str(exc).strip()}")
            continue
        conn.close()
        return PgServer(host, port, DEFAULT_USER, database, "existing")
    return f"no PostgreSQL on {host}:{port} ({'; '.join(errors)})"


def _as_user() -> tuple[list[str], str | None]:
    """Command prefix running as an unprivileged user when we are root (initdb refuses root)."""
    if os.geteuid() != 0:
        return [], None
    for user in ("postgres", "nobody"):
        try:
            subprocess.run(["id", user], check=True, capture_output=True)
        except (OSError, subprocess.CalledProcessError):
            continue
        runuser = shutil.which("runuser")
        if runuser:
            return [runuser, "-u", user, "--"], user
    raise RuntimeError("running as root and neither runuser nor a postgres/nobody user exists")


@dataclass
class StartedCluster:
    server: PgServer
    data_dir: Path
    pg_ctl: str
    prefix: list[str]

    def stop(self) -> None:
        subprocess.run(
            [*self.prefix, self.pg_ctl, "-D", str(self.data_dir), "-m", "immediate", "stop"],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(self.data_dir.parent, ignore_errors=True)


def start_cluster() -> StartedCluster | str:
    """A fresh cluster from Debian's postgresql binaries, or why one cannot be started."""
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        return "PostgreSQL binaries not installed (/usr/lib/postgresql/*/bin/initdb)"
    bindir = Path(bins[-1]).parent
    try:
        prefix, user = _as_user()
    except RuntimeError as exc:
        return str(exc)
    root = Path(tempfile.mkdtemp(prefix="edip-pg-"))
    data_dir, sock_dir = root / "data", root / "sock"
    sock_dir.mkdir()
    if user is not None:
        shutil.chown(root, user)
        shutil.chown(sock_dir, user)
    port = free_port()
    try:
        subprocess.run(
            [*prefix, str(bindir / "initdb"), "-D", str(data_dir), "-A", "trust", "-U", "postgres"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        subprocess.run(
            [
                *prefix,
                str(bindir / "pg_ctl"),
                "-D",
                str(data_dir),
                "-l",
                str(root / "server.log"),
                "-o",
                f"-p {port} -k {sock_dir} -c listen_addresses=127.0.0.1 -c fsync=off",
                "-w",
                "start",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        shutil.rmtree(root, ignore_errors=True)
        return (
            f"could not start a PostgreSQL cluster: {exc} {detail.decode(errors='replace')[-500:]}"
        )
    server = PgServer(DEFAULT_HOST, port, "postgres", "postgres", "started")
    return StartedCluster(server, data_dir, str(bindir / "pg_ctl"), prefix)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A PostgreSQL server (existing on :5432, else started); skips saying why when neither."""
    found = existing_server()
    if isinstance(found, PgServer):
        yield found
        return
    started = start_cluster()
    if isinstance(started, str):
        pytest.skip(f"PostgreSQL unavailable: {found}; {started}")
    try:
        yield started.server
    finally:
        started.stop()


def create_database(server: PgServer) -> str:
    """CREATE DATABASE edip_test_<random>; returns its name."""
    name = f"edip_test_{uuid.uuid4().hex[:12]}"
    conn = server.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        conn.close()
    return name


def drop_database(server: PgServer, name: str) -> None:
    """Drop the database, closing whatever sessions still use it."""
    conn = server.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
    finally:
        conn.close()


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """SQLAlchemy URL of a fresh database of its own, dropped after the test."""
    name = create_database(pg_server)
    try:
        yield pg_server.url(name)
    finally:
        drop_database(pg_server, name)
