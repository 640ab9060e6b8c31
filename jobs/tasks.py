"""Celery tasks: thin wrappers that load a Run or Job and call a service."""
from __future__ import annotations

from celery import shared_task

from jobs.models import Job, Run
from jobs.services import dispatch
from jobs.services.execute import execute_run
from jobs.services.maintenance import reap_runs as reap
from jobs.services.parts import build_part_for_task
from jobs.services.runs import run_job, send_later


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, name=dispatch.EXECUTE_RUN)
def execute_run_task(self, run_id: int) -> str:
    """Execute a Run; while its target is busy, send it again in a few seconds instead of holding this slot."""
    status = execute_run(run_id, task_id=self.request.id or "", wait=False)
    if status == "waiting":
        send_later(run_id)
    return status


@shared_task(acks_late=True, name=dispatch.BUILD_GAME_PART)
def build_game_part_task(run_id: int, options: dict, plan: dict, game_id: int, parts_dir: str) -> str:
    """One game of a fanned-out ETL (see jobs.services.parts)."""
    return build_part_for_task(run_id, options, plan, game_id, parts_dir)


@shared_task(name=dispatch.RUN_SCHEDULED_JOB)
def run_scheduled_job(job_id: int) -> int | None:
    job = Job.objects.filter(pk=job_id, enabled=True).first()
    if job is None:
        return None
    return run_job(job, Run.Trigger.SCHEDULE).pk


@shared_task(name=dispatch.REAP_RUNS)
def reap_runs() -> dict:
    return reap()
