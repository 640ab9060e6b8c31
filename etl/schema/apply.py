"""Apply a plan in one transaction, under the target's advisory lock, and record it in the history table.

The plan is recomputed inside the transaction while the lock is held, so what runs is what the
database needs at that moment. A failing statement rolls everything back and is named in the error.
The history row is inserted in the same transaction: it becomes visible only when the changes commit.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass

import psycopg
from psycopg import sql

from ..catalog import TABLES, Table
from ..progress import CancelToken, NullReporter, Reporter
from ..text import plural
from ..writer_lock import LockWait, target_lock
from . import ddl
from .introspect import connect
from .options import SchemaError, SchemaOptions
from .planner import Operation, Plan, diff


class DestructiveChangeRefused(SchemaError):
    """The plan drops data and --allow-destructive was not given; nothing was changed."""

    def __init__(self, operations: list[Operation]) -> None:
        self.operations = operations
        listed = "; ".join(op.description for op in operations[:5])
        more = f" and {len(operations) - 5} more" if len(operations) > 5 else ""
        super().__init__(f"The plan has {plural(len(operations), 'destructive operation')} ({listed}{more}); "
                         "nothing was changed. To run it, allow destructive changes: tick “Allow destructive "
                         "changes” and its confirmation on the Schema page (or --allow-destructive on the command "
                         "line).")


class ApplyFailed(SchemaError):
    """A statement failed; the whole transaction was rolled back."""

    def __init__(self, operation: Operation, statement: str, index: int, total: int, reason: str) -> None:
        self.operation, self.statement, self.reason = operation, statement, reason
        super().__init__(f"Applying the schema failed at operation {index} of {total} ({operation.description}): "
                         f"{reason}. Everything was rolled back. The failing statement was: {statement}")


@dataclass
class ApplyResult:
    plan: Plan
    history_id: int | None
    lock: LockWait
    seconds: float

    @property
    def applied(self) -> int:
        return len(self.plan.operations)


def apply_schema(url: str, options: SchemaOptions, *, target_name: str, tables: Sequence[Table] = TABLES,
                 allow_destructive: bool = False, lock_timeout: str = "10s", lock_wait: float | None = None,
                 reporter: Reporter | None = None, cancel: CancelToken | None = None) -> ApplyResult:
    """Bring the target's schema in line with the catalog, all or nothing.

    ``lock_timeout`` bounds each statement's wait for table locks (SET LOCAL); ``lock_wait`` bounds the wait
    for another writer's target lock (None: wait until it is released or the run is cancelled).
    """
    reporter = reporter or NullReporter()
    cancel = cancel or CancelToken()
    options.resolve(tables)
    started = time.monotonic()
    try:
        plan, history_id, lock = _apply(url, options, target_name, tables, allow_destructive, lock_timeout,
                                        lock_wait, reporter, cancel)
    except psycopg.Error as exc:  # the connection broke, or the target lock could not be taken
        reason = (exc.diag.message_primary or str(exc)).strip()
        raise SchemaError(f"The schema apply on target {target_name} failed: {reason}. Nothing was changed.") \
            from None
    seconds = time.monotonic() - started
    reporter.log("info", f"Applied {plural(len(plan.operations), 'operation')} in {seconds:.1f}s "
                         f"(catalog {plan.catalog_version}).")
    return ApplyResult(plan, history_id, lock, seconds)


def _apply(url: str, options: SchemaOptions, target_name: str, tables: Sequence[Table], allow_destructive: bool,
           lock_timeout: str, lock_wait: float | None, reporter: Reporter,
           cancel: CancelToken) -> tuple[Plan, int, LockWait]:
    with connect(url, f"hockeyops schema apply ({target_name})") as conn:
        with target_lock(conn, target_name, reporter, cancel, timeout=lock_wait) as lock:
            try:
                with ExitStack() as fenced, conn.transaction():
                    conn.execute("SELECT set_config('lock_timeout', %s, true)", (lock_timeout,))
                    plan = diff(conn, options, tables)
                    reporter.log("info", plan.summary())
                    if plan.destructive and not allow_destructive:
                        raise DestructiveChangeRefused(plan.destructive)
                    _execute(conn, plan, reporter, cancel)
                    history_id = _record(conn, plan)
                    fenced.enter_context(cancel.fence())  # the caller's fence, held until after the commit
            except psycopg.Error as exc:  # introspection or the history insert; statements raise ApplyFailed
                reason = (exc.diag.message_primary or str(exc)).strip()
                raise SchemaError(f"The target rejected the schema change: {reason}. Everything was rolled back.") \
                    from None
    return plan, history_id, lock


def _execute(conn: psycopg.Connection, plan: Plan, reporter: Reporter, cancel: CancelToken) -> None:
    total = len(plan.operations)
    for i, op in enumerate(plan.operations, 1):
        cancel.check()
        for statement in op.statements:
            try:
                conn.execute(statement)
            except psycopg.Error as exc:  # the enclosing transaction block rolls back on the way out
                reason = (exc.diag.message_primary or str(exc)).strip().rstrip(".")
                raise ApplyFailed(op, statement, i, total, reason) from None
        reporter.log("info", f"{i}/{total} {op.description}")
        reporter.progress(i, total, op.table or "schema", 0)


def _record(conn: psycopg.Connection, plan: Plan) -> int:
    for statement in ddl.history_statements():
        conn.execute(statement)
    insert = ddl.history_insert("apply", plan.catalog_version, plan.options, plan.tables,
                                [op.as_dict() for op in plan.operations])
    row = conn.execute(insert + " RETURNING id").fetchone()
    return int(row[0])


def history(url: str, limit: int = 20) -> list[dict]:
    """The latest rows of hockeyops_schema_history (empty when the table does not exist)."""
    with connect(url, "hockeyops schema history", read_only=True) as conn:
        exists = conn.execute("SELECT to_regclass(%s)", (ddl.HISTORY_TABLE,)).fetchone()[0]
        if exists is None:
            return []
        keys = ("id", "applied_at", "source", "catalog_version", "options", "tables", "plan", "applied_by")
        query = sql.SQL("SELECT {} FROM {} ORDER BY id DESC LIMIT %s").format(
            sql.SQL(", ").join(map(sql.Identifier, keys)), sql.Identifier(ddl.HISTORY_TABLE))
        rows = conn.execute(query, (limit,)).fetchall()
    return [dict(zip(keys, row, strict=True)) for row in rows]
