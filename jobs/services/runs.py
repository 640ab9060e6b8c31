"""Creating, queueing, cancelling and retrying Runs. Status changes are conditional updates."""
from __future__ import annotations

import functools
import subprocess
import uuid
from importlib.metadata import version
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from hockeyops.celery import app
from jobs.models import Job, Run, RunStep
from jobs.requests import RequestError

from . import dispatch
from .plans import PlanError, build_plan
from .redact import redact

S = Run.Status


def transition(run_id: int, from_states, to: str, **fields) -> bool:
    """Move a Run from one of ``from_states`` to ``to``; False when it was not in those states."""
    if to in Run.TERMINAL:
        fields.setdefault("finished_at", timezone.now())
    if fields.get("error_summary"):
        fields["error_summary"] = redact(fields["error_summary"])
    return Run.objects.filter(pk=run_id, status__in=list(from_states)).update(status=to, **fields) == 1


@functools.cache
def code_version() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=Path(settings.BASE_DIR),
                             capture_output=True, text=True, timeout=5, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return version("hockeyops")


def create_run(plan: dict, trigger: str, user=None, job: Job | None = None, parent: Run | None = None,
               collision: str = Job.Collision.QUEUE, enqueue: bool = True) -> Run:
    """Record a queued Run with its frozen plan and, after commit, send it to a worker."""
    run = Run.objects.create(
        job=job, trigger=trigger, requested_by=user if getattr(user, "is_authenticated", False) else None,
        parent=parent, target_name=plan["target"], collision=collision, plan=plan,
        code_version=code_version(), status=S.QUEUED,
        celery_task_id="" if settings.CELERY_TASK_ALWAYS_EAGER else str(uuid.uuid4()),  # known before sending
    )
    steps = [RunStep(run=run, stage=stage, unit=unit)
             for stage in plan["stages"] for unit in plan.get(stage, {}).get("units", [stage])]
    RunStep.objects.bulk_create(steps)
    if enqueue:
        transaction.on_commit(lambda: send(run.pk))
    return run


def plan_job(job: Job) -> dict:
    """The plan of a Job's saved requests, made now (PlanError when they cannot be planned)."""
    try:
        etl = job.etl_request() if "etl" in job.stages else None
        schema = job.schema_request() if "schema" in job.stages else None
        sync = job.sync_request() if "sync" in job.stages else None
    except RequestError as exc:
        raise PlanError(f"Job '{job.name}': {exc.message}", exc.field) from None
    return build_plan(job.stages, etl=etl, target=job.target_name, schema=schema, sync=sync, replan=job.replan)


def run_job(job: Job, trigger: str, user=None, enqueue: bool = True) -> Run:
    """Plan a Job's saved options now and queue a Run of it."""
    plan = plan_job(job)
    return create_run(plan, trigger, user=user, job=job, collision=job.collision, enqueue=enqueue)


def send(run_id: int) -> None:
    """Hand the Run to Celery (in-process when no broker is configured)."""
    execute_run_task = dispatch.task(dispatch.EXECUTE_RUN)
    task_id = Run.objects.filter(pk=run_id).values_list("celery_task_id", flat=True).first() or ""
    if settings.CELERY_TASK_ALWAYS_EAGER or not task_id:
        result = execute_run_task.apply_async(args=[run_id])
        Run.objects.filter(pk=run_id, celery_task_id="").update(celery_task_id=result.id or "")
    else:  # the id was recorded with the Run: a re-send (reaper) reuses it
        execute_run_task.apply_async(args=[run_id], task_id=task_id)


def send_later(run_id: int) -> None:
    """Send a waiting Run again after HOCKEYOPS_WAIT_RETRY_SECONDS (its new task id recorded for Cancel)."""
    execute_run_task = dispatch.task(dispatch.EXECUTE_RUN)
    task_id = str(uuid.uuid4())
    Run.objects.filter(pk=run_id, status=S.QUEUED).update(celery_task_id=task_id)
    execute_run_task.apply_async(args=[run_id], task_id=task_id, countdown=settings.HOCKEYOPS_WAIT_RETRY_SECONDS)


def cancel_run(run: Run, user=None) -> str:
    """Cancel a queued run at once (and revoke its task); ask a running one to stop."""
    who = user if getattr(user, "is_authenticated", False) else None
    if transition(run.pk, [S.QUEUED], S.CANCELLED, error_summary=_by("Cancelled before it started", user),
                  cancelled_by=who):
        if run.celery_task_id and not settings.CELERY_TASK_ALWAYS_EAGER:
            app.control.revoke(run.celery_task_id)
        return "cancelled"
    if Run.objects.filter(pk=run.pk, status=S.RUNNING).update(cancel_requested=True, cancelled_by=who):
        return "cancelling"
    return "finished"


def _by(text: str, user) -> str:
    name = getattr(user, "get_username", lambda: "")()
    return f"{text} by {name}." if name else f"{text}."


def retry_run(run: Run, user=None, enqueue: bool = True) -> Run:
    """A child Run that redoes only the units without a succeeded step."""
    run.refresh_from_db()
    if run.status not in (S.FAILED, S.CANCELLED):
        raise ValueError(f"Run #{run.pk} is {run.status}; only failed or cancelled runs can be retried.")
    retried = run.children.order_by("-pk").values_list("pk", flat=True).first()
    if retried:
        raise ValueError(f"Run #{run.pk} was already retried as Run #{retried}; retry that Run if it did not finish.")
    done = set(run.steps.filter(status=RunStep.Status.SUCCEEDED).values_list("stage", "unit"))
    plan = {**run.plan, "retry_of": run.pk}
    stages = []
    for stage in run.plan["stages"]:
        units = run.plan.get(stage, {}).get("units", [stage])
        pending = [u for u in units if (stage, u) not in done]
        if not pending:
            continue
        stages.append(stage)
        if stage in plan:
            plan[stage] = {**plan[stage], "units": pending, "reuse_parts_of": run.pk}
    if not stages:
        raise ValueError(f"Run #{run.pk} has no unfinished steps to retry.")
    plan["stages"] = stages
    return create_run(plan, Run.Trigger.RETRY, user=user, job=run.job, parent=run, collision=run.collision,
                      enqueue=enqueue)
