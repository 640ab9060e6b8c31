"""Supabase REST transport: for setups that only have the project URL and a service key.

Rows go through the supabase Python client as batched upserts on the catalog's primary key
(``POST /rest/v1/<table>?on_conflict=<pk>`` with ``Prefer: resolution=merge-duplicates,return=minimal``).
Every value is sent as the JSON string the output holds (or null for an empty field), so PostgREST casts
it with the column's own input function: ids stay text, numerics are never rounded through floats.

What this transport cannot do, reported in every result's notes:
- it is NOT atomic: each batch commits on its own; a failure leaves earlier batches and tables written
  (re-running is safe: upserts are idempotent);
- it is upsert-only: rows that are no longer in the outputs are not deleted from the target;
- it takes no writer lock in the target (hockeyops' own target lease still serialises its runs);
- it cannot apply schemas, and it does not read rows back, so there is no checksum verification;
- no shrink guard and no foreign-key closure check: upserts never delete rows, so a REST sync cannot shrink
  a table or make a game disappear (``allow_shrink`` / ``max_shrink`` have no effect), and a row whose
  referenced row is missing fails its batch with the target's foreign-key error.

Failed batches are retried with exponential backoff (plus jitter) when the failure is transient: network
errors, timeouts, HTTP 408/429/5xx, PostgREST connection errors (PGRST000-003) and PostgreSQL
serialization, deadlock, resource and connection errors.
"""
from __future__ import annotations

import threading
import time
import uuid

import httpx
import tenacity
from postgrest import SyncPostgrestClient
from postgrest.exceptions import APIError
from postgrest.types import ReturnMethod

from ..catalog import get_table
from ..errors import Cancelled
from ..progress import CancelToken, NullReporter, Reporter, report_step
from ..text import plural
from .errors import SyncError, SyncFailed
from .plan import SyncOptions, TablePlan, resolve_sync
from .result import SyncResult, TableResult
from .stream import OutputSnapshot, game_filter, parse_record

NOTES = (
    "Supabase REST transport: not atomic (each batch commits on its own; re-running is safe).",
    "Upsert only: rows no longer in the outputs stay in the target; use a PostgreSQL URL for exact refreshes.",
    "No writer lock in the target and no checksum verification through REST.",
)
_RETRY_STATUS = {408, 429, 500, 502, 503, 504, 520, 521, 522, 523, 524}
RETRY_MAX_WAIT = 30.0  # seconds: the longest pause between two attempts of one batch
_RETRY_CODES = ("PGRST000", "PGRST001", "PGRST002", "PGRST003", "40001", "40P01", "53", "57P", "08")


class _Status(threading.local):
    code: int = 0


def sync_rest(project_url: str, service_key: str, output_dir: str, options: SyncOptions, *, target_name: str,
              reporter: Reporter | None = None, cancel: CancelToken | None = None, batch_size: int = 1000,
              max_retries: int = 5, backoff: float = 0.5, timeout: float = 60.0) -> SyncResult:
    """Upsert the selected outputs through Supabase REST, batch by batch (see the module docstring)."""

    reporter = reporter or NullReporter()
    cancel = cancel or CancelToken()
    result = SyncResult(options.sync_id or f"sync-{uuid.uuid4().hex[:12]}", target_name, "supabase-rest",
                        atomic=False, notes=list(NOTES))
    status = _Status()
    http = httpx.Client(timeout=timeout, event_hooks={"response": [lambda r: setattr(status, "code", r.status_code)]})
    try:
        client = rest_client(project_url, service_key, http)
    except ValueError as exc:
        http.close()
        raise SyncError(f"Target {target_name}: the Supabase REST client refused the URL or key ({exc}).") from None
    started = time.perf_counter()
    try:
        with OutputSnapshot(output_dir) as snap:
            plan = resolve_sync(output_dir, options, snap)
            snap.open_tables(plan.names)
            reporter.log("warning", NOTES[0])
            total = len(plan.tables)
            for i, tp in enumerate(plan.tables):
                cancel.check()
                tr = TableResult(tp.name, tp.strategy, sha256=tp.sha256, games=list(tp.games),
                                 started_at=time.time())
                result.tables.append(tr)
                t0 = time.perf_counter()

                def send(batch: list[dict], tp: TablePlan = tp, tr: TableResult = tr, i: int = i) -> None:
                    _send(client, tp, batch, tr, status, APIError, ReturnMethod.minimal, max_retries, backoff,
                          reporter, cancel)
                    reporter.progress(i, total, f"{tp.name} (loading)", sum(t.rows for t in result.tables
                                                                             if t.committed))

                _stream(snap, tp, tr, batch_size, send)
                tr.seconds = time.perf_counter() - t0
                tr.committed = True
                reporter.log("info", f"{tp.name}: upserted {plural(tr.rows, 'row')} in "
                                     f"{plural(tr.batches, 'batch', 'batches')} "
                                     f"({tr.retries} retries) in {tr.seconds:.2f}s.")
                report_step(reporter, tp.name, tr.rows, tr.seconds, method="upsert", upserted=tr.rows,
                            games=list(tr.games), started=tr.started_at)
                reporter.progress(i + 1, total, tp.name, sum(t.rows for t in result.tables if t.committed))
    except Cancelled:
        raise Cancelled(f"The sync was cancelled. {_partial(result)}") from None
    except SyncError as exc:
        if any(t.batches for t in result.tables):
            raise SyncFailed(f"{exc} {_partial(result)}", result) from None
        raise
    finally:
        http.close()
        result.seconds = time.perf_counter() - started
    reporter.log("info", result.summary())
    return result


def _partial(result: SyncResult) -> str:
    done = [t.name for t in result.tables if t.committed]
    part = [f"{t.name} ({t.rows} rows)" for t in result.tables if not t.committed and t.rows]
    text = "The REST transport is not atomic: "
    text += f"tables written completely: {', '.join(done) or 'none'}"
    if part:
        text += f"; written in part: {', '.join(part)}"
    return text + ". Running the sync again completes it (upserts are idempotent)."


def _stream(snap: OutputSnapshot, tp: TablePlan, tr: TableResult, batch_size: int, send) -> None:
    """Check the file against the manifest, then send its (filtered) rows in batches."""
    table = get_table(tp.name)
    check = snap.reader(tp.name)
    try:
        check.header()
        for _ in check.blocks():
            pass
        if check.stats.sha256 != tp.sha256:
            raise SyncError(f"{tp.name}.csv differs from what the manifest records (sha256); run the sync again.")
    finally:
        check.close()
    reader = snap.reader(tp.name)
    try:
        header = reader.header()
        if header != table.column_names:
            raise SyncError(f"{tp.name}.csv has the columns {header}, not the catalog's; run the ETL again.")
        keep = game_filter(header, tp.games) if tp.strategy == "games" else None
        batch: list[dict] = []
        for _raw, records in reader.blocks():
            for record in records:
                if keep is not None and not keep(record):
                    continue
                values = parse_record(record)
                batch.append({c: (v.decode("utf-8") if v is not None else None)
                              for c, v in zip(header, values, strict=True)})
                tr.bytes += len(record) + 1
                if len(batch) >= batch_size:
                    send(batch)
                    tr.rows += len(batch)
                    batch = []
        if batch:
            send(batch)
            tr.rows += len(batch)
    finally:
        reader.close()


def rest_client(project_url: str, service_key: str, http: httpx.Client) -> SyncPostgrestClient:
    """A PostgREST client for a Supabase project (``<project>/rest/v1``, the service key as API key and bearer
    token), as Supabase's own client builds it; retries are ours (``_send``), not the client's."""
    if not service_key.strip():
        raise ValueError("the service key is empty")
    return SyncPostgrestClient(f"{project_url.rstrip('/')}/rest/v1", http_client=http, retry_enabled=False,
                               headers={"apiKey": service_key, "Authorization": f"Bearer {service_key}"})


def _retryable(code: str | None, status: int) -> bool:
    if status in _RETRY_STATUS or ((code or "").isdigit() and int(code) in _RETRY_STATUS):
        return True
    return bool(code) and code.startswith(_RETRY_CODES)


class _Transient(Exception):
    """A failed request worth retrying (network error, 5xx, 429, a lock or serialization conflict)."""


def _send(client, tp: TablePlan, batch: list[dict], tr: TableResult, status: _Status, api_error, minimal,
          max_retries: int, backoff: float, reporter: Reporter, cancel: CancelToken) -> None:
    """One upsert request, retried with exponential backoff (plus jitter) while the failure is transient."""
    on_conflict = ",".join(get_table(tp.name).primary_key)

    def upsert() -> None:
        cancel.check()
        status.code = 0
        try:
            client.table(tp.name).upsert(batch, on_conflict=on_conflict, returning=minimal,
                                         default_to_null=True).execute()
        except api_error as exc:
            reason = f"{exc.message or exc.code} (HTTP {status.code or '?'}, code {exc.code})"
            if exc.code in ("PGRST204", "42703"):
                raise SyncError(f"{tp.name}: the target lacks a column the outputs have ({exc.message}); run the "
                                f"schema stage against the database first.") from None
            if _retryable(exc.code, status.code):
                raise _Transient(reason) from None
            raise SyncError(_failed(tp, tr, batch, 1, reason)) from None
        except httpx.TransportError as exc:  # connect/read errors and timeouts
            raise _Transient(f"{type(exc).__name__}: {exc}") from None

    def before_sleep(state: tenacity.RetryCallState) -> None:
        tr.retries += 1
        delay = state.next_action.sleep if state.next_action else 0.0
        reporter.log("warning", f"{tp.name}: batch failed ({state.outcome.exception()}); retry "
                                f"{state.attempt_number}/{max_retries} in {delay:.1f}s.")

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(_Transient), stop=tenacity.stop_after_attempt(max_retries + 1),
        wait=tenacity.wait_exponential(multiplier=backoff, max=RETRY_MAX_WAIT) + tenacity.wait_random(0, backoff / 2),
        before_sleep=before_sleep, reraise=True)
    try:
        retrying(upsert)
    except _Transient as exc:
        raise SyncError(_failed(tp, tr, batch, max_retries + 1, str(exc))) from None
    tr.batches += 1


def _failed(tp: TablePlan, tr: TableResult, batch: list[dict], attempts: int, reason: str) -> str:
    return (f"{tp.name}: the upsert of rows {tr.rows + 1}-{tr.rows + len(batch)} failed after {attempts} "
            f"attempt{'s' if attempts > 1 else ''}: {reason}.")

