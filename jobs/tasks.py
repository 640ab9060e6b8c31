"""Celery tasks: thin wrappers that load a Run or Job and call a service."""
from __future__ import annotations

from celery import shared_task


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, name="jobs.tasks.execute_run")
def execute_run_task(self, run_id: int) -> str:
    """Execute a Run; while its target is busy, send it again in a few seconds instead of holding this slot."""
    from jobs.services.execute import execute_run
    from jobs.services.runs import send_later

    status = execute_run(run_id, task_id=self.request.id or "", wait=False)
    if status == "waiting":
        send_later(run_id)
    return status


@shared_task(acks_late=True, name="jobs.tasks.build_game_part")
def build_game_part_task(run_id: int, options: dict, plan: dict, game_id: int, parts_dir: str) -> str:
    """One game of a fanned-out ETL; skipped when the coordinating task already claimed it."""
    from etl.pipeline import EtlOptions, EtlPlan, build_game_part, claim_part, part_ready
    from jobs.models import Run

    if not Run.objects.filter(pk=run_id, status=Run.Status.RUNNING, cancel_requested=False).exists():
        return "not running"
    etl_plan = EtlPlan.from_dict(plan)
    if part_ready(parts_dir, etl_plan, game_id):
        return "already built"
    if not claim_part(parts_dir, game_id):
        return "claimed elsewhere"
    etl_options = EtlOptions(**options)
    if etl_options.source == "staging":  # the URL never travels in task arguments
        from jobs.services.targets import resolve_url

        etl_options.staging_url = resolve_url(Run.objects.get(pk=run_id).target_name)
    return build_game_part(etl_options, etl_plan, game_id, parts_dir)["status"]


@shared_task(name="jobs.tasks.run_scheduled_job")
def run_scheduled_job(job_id: int) -> int | None:
    from jobs.models import Job, Run
    from jobs.services.runs import run_job

    job = Job.objects.filter(pk=job_id, enabled=True).first()
    if job is None:
        return None
    return run_job(job, Run.Trigger.SCHEDULE).pk


@shared_task(name="jobs.tasks.reap_runs")
def reap_runs() -> dict:
    from jobs.services.maintenance import reap_runs as reap

    return reap()
