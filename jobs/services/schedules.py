"""Keep each Job's django-celery-beat PeriodicTask in step with its schedule fields."""
from __future__ import annotations

import json

from django.conf import settings
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from jobs.models import Job

from . import dispatch

TASK = dispatch.RUN_SCHEDULED_JOB


def parse_cron(expr: str) -> dict:
    """'m h dom mon dow' -> CrontabSchedule fields; ValueError with a readable message otherwise."""
    parts = expr.split()
    if len(parts) != 5:
        raise ValueError("A schedule needs five fields: minute hour day-of-month month day-of-week, e.g. '0 3 * * *'.")
    keys = ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")
    return dict(zip(keys, parts, strict=True))


def sync_schedule(job: Job) -> PeriodicTask | None:
    """Create, update or remove the Job's PeriodicTask."""
    if not job.schedule.strip():
        if job.periodic_task_id:
            task = job.periodic_task
            Job.objects.filter(pk=job.pk).update(periodic_task=None)
            job.periodic_task = None
            task.delete()
        return None
    crontab, _ = CrontabSchedule.objects.get_or_create(**parse_cron(job.schedule), timezone=settings.TIME_ZONE)
    defaults = {"task": TASK, "crontab": crontab, "args": json.dumps([job.pk]), "enabled": job.enabled,
                "description": f"Runs Job '{job.name}' (managed by hockeyops; edit the Job, not this task)."}
    task, _ = PeriodicTask.objects.update_or_create(name=f"hockeyops job {job.pk}", defaults=defaults)
    if job.periodic_task_id != task.pk:
        Job.objects.filter(pk=job.pk).update(periodic_task=task)
        job.periodic_task = task
    return task
