"""One writer per target database: a session advisory lock that schema apply, sync and staging all take.

The lock belongs to the database (PostgreSQL scopes advisory locks per database), so two target names that
point at one database share it. While waiting, the holder (pid, application name, user) is logged.
"""
from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg

from .errors import EtlError
from .progress import CancelToken, NullReporter, Reporter


class LockBusy(EtlError):
    """Another writer held the target's lock for longer than we were willing to wait."""


@dataclass
class LockWait:
    """How taking the target's lock went: seconds waited and who held it meanwhile."""

    key: int
    waited: float = 0.0
    holder: str | None = None


def lock_key() -> int:
    """The signed 64-bit advisory-lock key every hockeyops writer takes in a target database.

    Advisory locks belong to one database, so one fixed key means one writer per database, however many target
    names point at it (a key derived from the name let two names write at once).
    """
    digest = hashlib.sha256(b"hockeyops-writer").digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def lock_holder(conn: psycopg.Connection, key: int) -> str | None:
    """'pid N (application_name X, user U, since T)' for the session holding ``key`` in this database."""
    row = conn.execute(
        """
        SELECT a.pid, a.application_name, a.usename, a.backend_start
        FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
          AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())
          AND l.classid::bigint = %s AND l.objid::bigint = %s
        LIMIT 1
        """,
        ((key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF),
    ).fetchone()
    if row is None:
        return None
    pid, app, user, since = row
    return f"pid {pid} (application_name {app or '-'}, user {user or '-'}, connected {since:%Y-%m-%d %H:%M:%S %Z})"


@contextlib.contextmanager
def target_lock(conn: psycopg.Connection, target_name: str, reporter: Reporter | None = None,
                cancel: CancelToken | None = None, poll: float = 0.5,
                timeout: float | None = None) -> Iterator[LockWait]:
    """Hold the target's session advisory lock (one writer per target) for the block.

    Polls ``pg_try_advisory_lock`` so that, while waiting, it can log who holds the lock (visible in
    pg_locks / pg_stat_activity) and honour the cancel token. ``conn`` must be in autocommit mode.
    """
    reporter = reporter or NullReporter()
    info = LockWait(lock_key())
    started = time.monotonic()
    announced = None
    while not conn.execute("SELECT pg_try_advisory_lock(%s)", (info.key,)).fetchone()[0]:
        holder = lock_holder(conn, info.key) or "another session"
        if holder != announced:
            reporter.log("info", f"Target {target_name} is busy: waiting for lock held by {holder}.")
            announced = info.holder = holder
        if cancel:
            cancel.check()
        if timeout is not None and time.monotonic() - started > timeout:
            raise LockBusy(f"Target {target_name} stayed locked by {holder} for {timeout:.0f} seconds; "
                           f"try again later.")
        time.sleep(poll)
    info.waited = time.monotonic() - started
    if announced:
        reporter.log("info", f"Got the lock on target {target_name} after {info.waited:.1f}s.")
    try:
        yield info
    finally:
        if not conn.closed:
            with contextlib.suppress(psycopg.Error):
                conn.execute("SELECT pg_advisory_unlock(%s)", (info.key,))
