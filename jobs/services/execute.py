"""Executing a Run: claim it, take the target, run its stages through etl/, record the outcome."""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import threading
import time
import traceback
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone

from etl.errors import Cancelled, EtlError
from etl.excel_source import file_hash
from etl.pipeline import (
    EtlOptions,
    EtlPlan,
    changed_inputs,
    plan_etl,
    run_etl,
)
from etl.progress import Reporter
from etl.schema import apply_schema, plan_schema
from etl.store import OutputStore
from etl.sync import SyncFailed, SyncOptions, VerificationFailed, resolve_sync, sync_tables
from etl.text import plural
from jobs.models import Run, RunArtifact, RunStep, Stage

from . import locking
from . import parts as parts_service
from .paths import artifact_dir, log_path, run_dir
from .plans import schema_options
from .reporting import RunCancelToken, RunProgress, RunReporter, write_log
from .runs import transition
from .targets import get_target, resolve_credentials, resolve_url

S = Run.Status
WAIT_NOTICE_SECONDS = 5  # a waiting CLI says whom it waits for this often


def worker_host() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Heartbeat(threading.Thread):
    """Touches Run.heartbeat_at and the Run's leases while it executes, so a vanished worker can be detected.

    It survives database errors (the connection is dropped and re-opened on the next beat) and notices when a
    lease was taken over: the Run is then stopped at its next check (``locking.LeaseLost``).
    """

    def __init__(self, run_id: int, places: int) -> None:
        super().__init__(daemon=True, name=f"heartbeat-{run_id}")
        self.run_id, self.places = run_id, places
        self.stop = threading.Event()

    def run(self) -> None:
        try:
            while not self.stop.wait(settings.HOCKEYOPS_HEARTBEAT_SECONDS):
                try:
                    self._name_connection()
                    beating = Run.objects.filter(pk=self.run_id, status=S.RUNNING).update(heartbeat_at=timezone.now())
                    held = locking.beat(self.run_id, self.places)
                    # lost: declared failed by someone else, or running without its leases (a run this thread
                    # cannot see at all is one whose creating transaction has not committed yet: no conclusion)
                    if not beating and Run.objects.filter(pk=self.run_id).exclude(status=S.RUNNING).exists():
                        locking.LOST.add(self.run_id)
                    elif beating and not held:
                        locking.LOST.add(self.run_id)
                except Exception:  # a dropped connection must not end the heartbeat: reconnect on the next beat
                    with contextlib.suppress(Exception):
                        connection.close()
        finally:
            connection.close()  # this thread's own connection: never left open behind a finished run


    def _name_connection(self) -> None:
        """On a fresh connection, name it in pg_stat_activity (operators and drills can tell it apart)."""
        if connection.connection is None and connection.vendor == "postgresql":
            connection.ensure_connection()
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('application_name', %s, false)",
                               [f"hockeyops heartbeat run {self.run_id}"])


def cancel_token(run: Run) -> RunCancelToken:
    """The Run's cancel token: stops on Cancel, and when the Run lost its lease; its fence locks the Run's leases
    across each target commit (a Run declared lost cannot commit)."""
    places = run.leases.count()
    return RunCancelToken(run.pk, also=lambda: locking.check(run.pk),
                          fencing=lambda: locking.fence_all(run.pk, places))


def execute_run(run_id: int, task_id: str = "", echo: Reporter | None = None, wait: bool = True) -> str:
    """Run one queued Run to a terminal state; does nothing for a Run that is not queued (redelivery).

    ``echo`` also receives every progress and log event (the CLI's progress bar). With ``wait=False`` (a
    worker) a Run whose places are busy is not waited for here: ``"waiting"`` is returned and the caller sends
    it again later, so a waiting Run never holds a worker slot that per-game tasks need.
    """
    run = Run.objects.filter(pk=run_id).first()
    if run is None or run.status != S.QUEUED:
        return run.status if run else "missing"
    logfile = log_path(run_id)

    def still_wanted() -> bool:
        return Run.objects.filter(pk=run_id, status=S.QUEUED).exists()

    waited = time.monotonic()

    told = [0.0]

    def on_wait(holder: Run) -> None:
        """Record whom the run waits for; tell the CLI every few seconds."""
        message = None
        if run.waiting_for_id != holder.pk:
            run.waiting_for_id = holder.pk
            Run.objects.filter(pk=run_id).update(waiting_for=holder, current_unit=f"waiting for Run #{holder.pk}")
            message = locking.waiting_message(run.target_name, holder)
            write_log(run, "info", "", message, logfile)
        if echo is not None and time.monotonic() - told[0] >= WAIT_NOTICE_SECONDS:
            told[0] = time.monotonic()
            echo.log("info", message or locking.waiting_message(run.target_name, holder))

    try:
        places = locking.places_of(run, _target_url)
    except EtlError as exc:  # the target has no URL: nothing can start
        if transition(run_id, [S.QUEUED], S.FAILED, error_summary=str(exc)):
            write_log(run, "error", "", str(exc), logfile)
        return Run.objects.get(pk=run_id).status
    if not wait and run.collision == "queue":
        holder_run = locking.try_acquire(run, places)
        if holder_run is not None:
            on_wait(holder_run)
            return "waiting"
    if not locking.acquire(run, places, run.collision, still_wanted, on_wait):
        holder = locking.holder(places)
        reason = f"Skipped: target '{run.target_name}' is busy with Run #{holder.pk}." if holder else "Skipped."
        if transition(run_id, [S.QUEUED], S.SKIPPED, error_summary=reason, waiting_for=holder):
            write_log(run, "info", "", reason, logfile)
        return Run.objects.get(pk=run_id).status
    waited = time.monotonic() - waited
    if not wait and run.waiting_for_id:  # it waited across several deliveries: since it was created
        waited = (timezone.now() - run.created_at).total_seconds()
    claimed = transition(run_id, [S.QUEUED], S.RUNNING, started_at=timezone.now(), heartbeat_at=timezone.now(),
                         worker_host=worker_host(), celery_task_id=task_id or run.celery_task_id,
                         waited_seconds=round(waited, 3), current_unit="")
    if not claimed:  # cancelled meanwhile, or another delivery runs it; the lease goes stale with it
        return Run.objects.get(pk=run_id).status
    run.refresh_from_db()
    heartbeat = Heartbeat(run_id, len(places))
    heartbeat.start()
    try:
        if waited > 0.5 and run.waiting_for_id:
            write_log(run, "info", "", f"Waited {waited:.1f}s for Run #{run.waiting_for_id}.", logfile)
        overall = RunProgress({stage: len(run.plan.get(stage, {}).get("units", [stage])) for stage in run.stages})
        for stage in run.stages:
            Run.objects.filter(pk=run_id).update(current_stage=stage)
            STAGES[stage](run, logfile, echo, overall)
        final, summary = S.SUCCEEDED, ""
        write_log(run, "info", "", "Run succeeded.", logfile)
    except Cancelled as exc:
        final, summary = S.CANCELLED, str(exc)
        who = Run.objects.filter(pk=run_id).values_list("cancelled_by__username", flat=True).first()
        if who:
            summary = f"Cancelled by {who}. {summary}"
        write_log(run, "warning", run.current_stage, summary, logfile)
    except EtlError as exc:
        final, summary = S.FAILED, str(exc)
        write_log(run, "error", run.current_stage, summary, logfile)
    except OSError as exc:  # a full disk, a missing folder, a permission: the volunteer can act on it
        where = f" {exc.filename}" if exc.filename else ""
        final, summary = S.FAILED, (f"Could not write or read{where}: {exc.strerror or exc}. Nothing more was "
                                    "published; free disk space or fix the folder's permissions, then use Retry.")
        write_log(run, "error", run.current_stage, f"{summary}\n{traceback.format_exc()}", logfile)
    except Exception as exc:  # a bug: keep the traceback in the log, a sentence in the summary
        final, summary = S.FAILED, f"Unexpected error ({type(exc).__name__}: {exc}); see the run log."
        write_log(run, "error", run.current_stage, traceback.format_exc(), logfile)
    finally:
        heartbeat.stop.set()
        heartbeat.join(timeout=5)
    try:
        RunStep.objects.filter(run=run, status=RunStep.Status.RUNNING).update(status=RunStep.Status.FAILED)
        if final != S.SUCCEEDED:  # steps the run never reached did not run: say so instead of "pending"
            RunStep.objects.filter(run=run, status=RunStep.Status.PENDING).update(status=RunStep.Status.SKIPPED)
        with contextlib.suppress(OSError):  # a full artifacts disk must not keep the Run "running"
            _attach(run, "run.log", "log", logfile)
    finally:
        if final == S.SUCCEEDED:
            done = {"units_done": run.units_total} if run.units_total else {}
            transition(run_id, [S.RUNNING], final, percent=100.0, current_unit="", **done)
        else:
            transition(run_id, [S.RUNNING], final, error_summary=summary[:2000])
        locking.release(run)
    if final == S.SUCCEEDED:
        shutil.rmtree(run_dir(run_id), ignore_errors=True)
    return Run.objects.get(pk=run_id).status


def _attach(run: Run, name: str, kind: str, src: Path, copy: bool = False) -> None:
    if not src.exists():
        return
    dst = artifact_dir(run.pk) / name
    if copy:
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
    else:
        dst = src
    RunArtifact.objects.update_or_create(run=run, name=name,
                                         defaults={"kind": kind, "path": str(dst), "size": dst.stat().st_size})


def _etl_stage(run: Run, logfile: Path, echo: Reporter | None = None, overall: RunProgress | None = None) -> None:
    spec = run.plan["etl"]
    options = EtlOptions(**{**spec["options"], "workers": min(2, os.cpu_count() or 1)})
    if options.source == "staging":
        options.staging_url = _target_url(run.target_name)
    reporter = RunReporter(run, Stage.ETL, logfile, echo, overall)
    cancel = cancel_token(run)
    plan = frozen_etl_plan(run, options, reporter)
    parts = run_dir(run.pk) / "parts"
    parts.mkdir(parents=True, exist_ok=True)
    parent = spec.get("reuse_parts_of")
    if parent:
        parts_service.link_parts(run_dir(parent) / "parts", parts)
    to_build = [g.game_id for g in plan.games if g.action == "build"]
    min_games = settings.HOCKEYOPS_FANOUT_MIN_GAMES
    if not settings.CELERY_TASK_ALWAYS_EAGER and min_games and len(to_build) >= min_games:
        parts_service.fan_out(run, options, plan, parts, to_build, reporter, cancel)
    place = locking.output_place(options.output_dir)
    result = run_etl(options, reporter=reporter, cancel=cancel, plan=plan, parts_dir=parts,
                     publish_guard=lambda: locking.fence(run.pk, place))
    reporter.log("info", result.summary())
    manifest = Path(options.output_dir) / "manifest.json"
    _attach(run, "manifest.json", "manifest", manifest, copy=True)
    record_figures(run, "etl", {
        "tables": {name: int(info.get("rows", 0)) for name, info in sorted(result.manifest["tables"].items())},
        "games": {gid: info.get("status", "") for gid, info in result.manifest.get("games", {}).items()},
        "output_dir": str(options.output_dir)})
    reporter.finish()


def frozen_etl_plan(run: Run, options: EtlOptions, reporter: Reporter) -> EtlPlan:
    """The plan the Run froze, after checking that every input it depends on is still what was planned.

    A changed input fails the run, naming the files, unless the Run's Job allows re-planning (then the log says
    so and the run builds the new plan).
    """
    spec = run.plan["etl"]
    if "frozen" not in spec:  # planned by a version that did not freeze the ETL plan
        raise EtlError("This run was planned by an older version of hockeyops; preview it again and start a new run.")
    plan = EtlPlan.from_dict(spec["frozen"])
    changed = changed_inputs(options, plan)
    if not changed:
        return plan
    listed = ", ".join(changed)
    if run.plan.get("replan"):
        reporter.log("warning", f"Inputs changed after this run was planned ({listed}); planning again, as the Job "
                                "allows.")
        fresh = plan_etl(options)
        reporter.log("info", fresh.describe())
        units = [f"game {g.game_id}" for g in fresh.games]
        for unit in units:  # a game that appeared since planning gets its step
            RunStep.objects.get_or_create(run=run, stage=Stage.ETL, unit=unit)
        return fresh
    raise EtlError(f"The inputs changed after this run was planned: {listed}. Nothing was built or published; "
                   "preview again and start a new run (or let the Job re-plan changed inputs).")


def _schema_stage(run: Run, logfile: Path, echo: Reporter | None = None,
                  overall: RunProgress | None = None) -> None:
    """Plan against the live target, keep plan and SQL as artifacts, apply in one transaction."""


    spec = run.plan["schema"]
    options = schema_options(spec["options"])
    reporter = RunReporter(run, Stage.SCHEMA, logfile, echo, overall)
    cancel = cancel_token(run)
    if get_target(run.target_name).kind == "supabase-rest":
        raise EtlError(f"Target '{run.target_name}' is a Supabase REST target: schemas cannot be applied through "
                       "the REST API.")
    url = _target_url(run.target_name)
    planned_from = time.perf_counter()
    plan = plan_schema(url, options, reporter=reporter, cancel=cancel)
    reporter.step("plan", len(plan.operations), time.perf_counter() - planned_from, measure="operations")
    folder = artifact_dir(run.pk)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "schema_plan.json").write_text(json.dumps(plan.as_dict(), indent=2, default=str))
    (folder / "schema_plan.sql").write_text(plan.describe(with_sql=True) + "\n")
    _attach(run, "schema_plan.json", "plan", folder / "schema_plan.json")
    _attach(run, "schema_plan.sql", "sql", folder / "schema_plan.sql")
    reporter.progress(1, 2, "plan", 0)
    requested = spec.get("requested", {})
    result = apply_schema(url, options, target_name=run.target_name, allow_destructive=spec["allow_destructive"],
                          lock_timeout=requested.get("lock_timeout") or "10s", lock_wait=requested.get("lock_wait"),
                          reporter=reporter, cancel=cancel)
    if result.lock.waited > 0.5:
        reporter.log("info", f"Waited {result.lock.waited:.1f}s for the target lock ({result.lock.holder}).")
    reporter.log("info", f"Applied {plural(result.applied, 'schema operation')} in {result.seconds:.1f}s"
                         + (f" (history #{result.history_id})." if result.history_id else "."))
    reporter.step("apply", result.applied, result.seconds, measure="operations")
    record_figures(run, "schema", {"planned": len(plan.operations), "applied": result.applied,
                                   "destructive": len(plan.destructive)})
    reporter.progress(2, 2, "apply", result.applied)
    reporter.finish()


def _target_url(name: str) -> str:
    try:
        return resolve_url(name)
    except ValueError as exc:
        raise EtlError(str(exc)) from None


def _parent_sync_ids(run: Run) -> tuple[str, ...]:
    """Sync ids of the Runs this one retries (their committed tables need not be loaded again)."""
    ids, parent = [], run.parent
    while parent is not None:
        ids.append(f"run-{parent.pk}")
        parent = parent.parent
    return tuple(ids)


def _sync_stage(run: Run, logfile: Path, echo: Reporter | None = None, overall: RunProgress | None = None) -> None:
    """Load the published outputs into the target; the per-table result is kept as an artifact."""


    spec = run.plan["sync"]
    values = {**spec["options"], "sync_id": f"run-{run.pk}", "resume_from": _parent_sync_ids(run),
              "synced_by": requester_name(run)}
    if run.parent_id:  # a retry loads only the tables that did not commit
        values.update(tables=[u for u in spec["units"] if u != "publish"], exclude_tables=[])
    options = SyncOptions.from_dict(values)
    try:
        url, key = resolve_credentials(run.target_name)
    except ValueError as exc:
        raise EtlError(str(exc)) from None
    reporter = RunReporter(run, Stage.SYNC, logfile, echo, overall)
    folder = artifact_dir(run.pk)
    folder.mkdir(parents=True, exist_ok=True)
    _check_sync_inputs(run, spec, options, reporter)
    try:
        result = sync_tables(url, spec["output_dir"], options, target_name=run.target_name, reporter=reporter,
                             cancel=cancel_token(run), service_key=key)
    except (SyncFailed, VerificationFailed) as exc:
        if getattr(exc, "result", None) is not None:
            (folder / "sync_result.json").write_text(json.dumps(exc.result.as_dict(), indent=2, default=str))
            _attach(run, "sync_result.json", "sync", folder / "sync_result.json")
        raise
    (folder / "sync_result.json").write_text(json.dumps(result.as_dict(), indent=2, default=str))
    _attach(run, "sync_result.json", "sync", folder / "sync_result.json")
    record_figures(run, "sync", {"tables": {t.name: {
        "rows": t.rows, "inserted": t.inserted, "updated": t.updated, "deleted": t.deleted, "method": t.method,
        "games": list(t.games), "per_game": t.per_game, "skipped": t.skipped} for t in result.tables}})
    speed = f"{result.rows_per_second:,.0f} rows/s, {result.mb_per_second:.1f} MB/s"
    reporter.log("info", f"Synced {plural(result.rows, 'row')} in {result.seconds:.2f}s ({speed}) via "
                         f"{result.transport}" + ("" if result.atomic else " (not atomic)"))
    reporter.finish()


def requester_name(run: Run) -> str:
    """Who a target's history should name for this Run: the person who asked, else the schedule's Job."""
    if run.requested_by_id:
        user = run.requested_by
        return user.get_full_name() or user.get_username()
    if run.job_id:
        return f"{run.get_trigger_display().lower()} of job {run.job.name}"
    return run.get_trigger_display().lower()


def record_figures(run: Run, stage: str, figures: dict) -> None:
    """Keep what a stage produced on the Run (the Run page, its pictures and the next Run's differences)."""
    run.figures = {**(run.figures or {}), stage: figures}
    Run.objects.filter(pk=run.pk).update(figures=run.figures)


def _check_sync_inputs(run: Run, spec: dict, options, reporter: Reporter) -> None:
    """The outputs the sync loads are the ones it was planned on: the files previewed (a sync on its own) or the
    ones this Run's ETL stage published. Changed files fail the run, or are re-planned where the Job allows."""
    output_dir = spec["output_dir"]
    if spec["resolved"].get("after_etl"):
        artifact = run.artifacts.filter(name="manifest.json").first()
        if artifact is None:
            return  # a retry of the sync alone: the ETL stage succeeded in the parent run
        published = OutputStore(Path(output_dir)).manifest_digest()
        if published == file_hash(Path(artifact.path)):
            return
        changed = [f"the outputs in {output_dir} (another run published after this run's ETL stage)"]
    else:
        frozen = {t["name"]: t["sha256"] for t in spec["resolved"].get("tables", [])}
        current = {t.name: t.sha256 for t in resolve_sync(output_dir, options).tables}
        changed = [f"{name}.csv" for name, digest in frozen.items() if current.get(name) != digest]
        if not changed:
            return
    listed = ", ".join(changed)
    if run.plan.get("replan"):
        reporter.log("warning", f"The outputs changed after this run was planned ({listed}); loading the current "
                                "outputs, as the Job allows.")
        return
    raise EtlError(f"The outputs changed after this sync was planned: {listed}. Nothing was loaded; preview the "
                   "sync again and start a new run.")


STAGES = {Stage.ETL: _etl_stage, Stage.SCHEMA: _schema_stage, Stage.SYNC: _sync_stage}
