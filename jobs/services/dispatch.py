"""Hand work to Celery by task name, so that services never import ``jobs.tasks`` (tasks call services, not
the other way round). ``JobsConfig.ready`` imports the tasks module, which registers the names below."""
from __future__ import annotations

from celery import current_app
from celery.app.task import Task

EXECUTE_RUN = "jobs.tasks.execute_run"
BUILD_GAME_PART = "jobs.tasks.build_game_part"
RUN_SCHEDULED_JOB = "jobs.tasks.run_scheduled_job"
REAP_RUNS = "jobs.tasks.reap_runs"


def task(name: str) -> Task:
    """The registered task called ``name``; its ``apply_async`` honours CELERY_TASK_ALWAYS_EAGER."""
    return current_app.tasks[name]
