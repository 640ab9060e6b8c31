"""Sync stage: load the published ETL outputs into a target (no Django here).

- ``resolve_sync(output_dir, options)``: tables (the shared selection grammar), games and strategies from
  the catalog and the outputs' manifest; touches no target (what a Run freezes).
- ``plan_sync(url, output_dir, options, target_name=...)``: the same, checked against the target
  read-only, with the rows each table would replace, rows now and after, games that would disappear,
  shrinking tables and missing references (``--dry-run``; ``plan.describe()`` shows them as WARNING lines).
- ``sync_tables(url, output_dir, options, target_name=..., reporter=..., cancel=...)``: the load.
  A ``postgresql://`` URL uses COPY under the target's writer lock, all tables in one transaction by
  default (``etl.sync.postgres``); an ``https://`` project URL with ``service_key`` uses the Supabase REST
  transport (batched upserts, not atomic; ``etl.sync.rest``).

Guard (``etl.sync.guard``; PostgreSQL transport): under the writer lock and before writing anything, the
load refuses with ``MissingReferences`` when its rows reference keys of an unselected table that the target
lacks and the target enforces that foreign key, and with ``ShrinkRefused`` when a table would lose a game's
rows or more than ``options.max_shrink`` of its rows, unless ``options.allow_shrink``. Both leave the target
exactly as it was and carry the structured report (``.refs`` / ``.tables``). The REST transport upserts only
and never deletes rows, so it cannot shrink a table: it checks nothing (a missing referenced row fails its
batch).

Reporter: besides ``progress`` and ``log``, a reporter may implement ``failed(unit: str, detail: str)``; the
PostgreSQL transport calls it (when present) for the table whose load failed (``publish`` when a commit fails
and no table can be named) and for every table a refusal names. Every failure is also logged at level
``error``, and the raised ``SyncError`` names the failing table in ``exc.table``.

Progress: ``reporter.progress(done, total, unit, rows)`` uses a table's name as ``unit`` only once that
table's rows are committed (per-table commits: right after its commit; one transaction: for every table
right after the commit, followed by ``publish``), so a Run's step ledger marks exactly what committed.
While a table loads the unit reads ``<table> (loading)`` or ``<table> (loaded, not committed)``, and
``rows`` always counts committed rows.
"""
from __future__ import annotations

from pathlib import Path

from ..progress import CancelToken, Reporter
from .errors import MissingReferences, ShrinkRefused, SyncError, SyncFailed, VerificationFailed
from .plan import (
    DEFAULT_MAX_SHRINK,
    STRATEGIES,
    MissingRef,
    SyncOptions,
    SyncPlan,
    TablePlan,
    load_order,
    resolve_sync,
)
from .preview import plan_sync
from .result import SyncResult, TableResult
from .target import HISTORY_TABLE, history

__all__ = [
    "DEFAULT_MAX_SHRINK", "HISTORY_TABLE", "STRATEGIES", "MissingRef", "MissingReferences", "ShrinkRefused",
    "SyncError", "SyncFailed", "SyncOptions", "SyncPlan", "SyncResult", "TablePlan", "TableResult",
    "VerificationFailed", "history", "load_order", "plan_sync", "resolve_sync", "sync_tables", "transport_of",
]


def transport_of(url: str) -> str:
    """``postgres`` for postgresql:// URLs (and libpq keyword strings), ``supabase-rest`` for http(s) URLs."""
    return "supabase-rest" if url.lower().startswith(("http://", "https://")) else "postgres"


def sync_tables(url: str, output_dir: str | Path, options: SyncOptions, *, target_name: str,
                reporter: Reporter | None = None, cancel: CancelToken | None = None,
                service_key: str | None = None) -> SyncResult:
    """Load the selected tables of ``output_dir`` into the target at ``url``; see the module docstring.

    With ``options.dry_run`` nothing is written: the result lists the plan (rows, strategy, rows replaced).
    """
    output_dir = str(output_dir)
    transport = transport_of(url)
    if options.dry_run:
        return _dry_run(url, output_dir, options, target_name, transport)
    if transport == "supabase-rest":
        from .rest import sync_rest  # local: each transport (and its client library) loads only when used

        if not service_key:
            raise SyncError(f"Target {target_name} is a Supabase REST target: it needs the service key.")
        return sync_rest(url, service_key, output_dir, options, target_name=target_name, reporter=reporter,
                         cancel=cancel)
    from .postgres import sync_postgres  # local: see sync_rest above

    return sync_postgres(url, output_dir, options, target_name=target_name, reporter=reporter, cancel=cancel)


def _dry_run(url: str, output_dir: str, options: SyncOptions, target_name: str, transport: str) -> SyncResult:
    if transport == "postgres":
        plan = plan_sync(url, output_dir, options, target_name=target_name)
    else:
        plan = resolve_sync(output_dir, options)
        plan.target = target_name
    atomic = transport == "postgres" and not options.per_table_commit
    result = SyncResult("dry-run", target_name, transport, atomic=atomic, notes=[plan.describe()])
    for t in plan.tables:
        result.tables.append(TableResult(t.name, t.strategy, t.load_rows, t.bytes, replaced_rows=t.replace_rows or 0,
                                         sha256=t.sha256, games=t.games, skipped=t.skip or "dry run"))
    return result
