"""Saving and deleting Jobs: permission rules, schedule, audit entry. Used by the admin, the stage pages' Save as
Job and any other entry point, so the rules live in one place."""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from jobs.models import Job, JobChange, Stage

from .permissions import DESTRUCTIVE_PERMISSION, PERMISSION_NAMES
from .schedules import sync_schedule

AUDITED = ("name", "description", "enabled", "stages", "games", "exclude_games", "tables", "exclude_tables",
           "source", "mode", "target_name", "collision", "replan", "schedule", "schema_options", "sync_options")
CONFIRM_LABEL = "I understand rows will be deleted"


def job_permission_errors(user, job: Job, stages: list[str], target: str, schema: dict | None,
                          confirmed: bool) -> list[tuple[str | None, str]]:
    """(form field, message) for each rule the change breaks. A new or changed schema request needs
    apply_schema; allowing destructive changes also needs apply_destructive_schema and the confirmation."""
    if user is None or Stage.SCHEMA.value not in stages:
        return []
    old = job
    unchanged = (old.pk and Stage.SCHEMA.value in (old.stages or []) and old.schema_options == schema
                 and old.target_name == target)
    if unchanged:
        return []
    if not user.has_perm("jobs.apply_schema"):
        return [(None, f"You need the permission “{PERMISSION_NAMES['jobs.apply_schema']}” to save a Job with this "
                       "schema stage.")]
    if not (schema or {}).get("allow_destructive"):
        return []
    if not user.has_perm(DESTRUCTIVE_PERMISSION):
        return [("schema_allow_destructive",
                 f"You need the permission “{PERMISSION_NAMES[DESTRUCTIVE_PERMISSION]}” to allow them.")]
    if not confirmed:
        return [("schema_confirm_destructive", f"Tick “{CONFIRM_LABEL}” to allow destructive changes.")]
    return []


def snapshot(job: Job) -> dict:
    """The audited fields of a Job, as JSON-ready values."""
    return {name: getattr(job, name) for name in AUDITED}


def record_change(job: Job, user, before: dict | None, action: str | None = None) -> JobChange | None:
    """A JobChange with field: [old, new] for what differs; None when nothing changed."""
    after = snapshot(job)
    if action == "deleted":
        changes = {k: [v, None] for k, v in after.items()}
    elif before is None:
        action, changes = "created", {k: [None, v] for k, v in after.items()}
    else:
        action = "changed"
        changes = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
        if not changes:
            return None
    return JobChange.objects.create(job=None if action == "deleted" else job, job_name=job.name,
                                    user=user if getattr(user, "is_authenticated", False) else None,
                                    action=action, changes=changes)


def save_job(job: Job, user, before: dict | None) -> Job:
    """Save a validated Job with its schedule and audit entry, in one transaction."""
    with transaction.atomic():
        job.save()
        sync_schedule(job)
        record_change(job, user, before)
    return job


def delete_job(job: Job, user) -> None:
    """Record the deletion and remove the Job's periodic task (the caller deletes the row)."""
    record_change(job, user, None, action="deleted")
    if job.periodic_task_id:
        job.schedule = ""
        sync_schedule(job)


class JobRefused(Exception):
    """Saving the Job is not allowed or not valid; ``status`` is the HTTP status a page answers with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message, self.status = message, status


def save_job_as(name: str, fields: dict, user, confirmed: bool = False) -> tuple[Job, bool]:
    """Create or update the Job called ``name`` with ``fields`` (Save as Job); returns (job, created)."""

    name = (name or "").strip()
    if not name:
        raise JobRefused("Give the Job a name to save it.", 200)
    job = Job.objects.filter(name=name).first()
    if not user.has_perm("jobs.change_job" if job else "jobs.add_job"):
        raise JobRefused(f"You need the permission to {'change' if job else 'add'} Jobs to save this.", 403)
    before = snapshot(job) if job else None
    job = job or Job(name=name)
    schema = fields.get("schema_options", job.schema_options)
    problems = job_permission_errors(user, job, fields.get("stages", job.stages),
                                     fields.get("target_name", job.target_name), schema, confirmed)
    if problems:
        raise JobRefused(problems[0][1], 403)
    for field, value in fields.items():
        setattr(job, field, value)
    try:
        job.full_clean()
    except ValidationError as exc:
        raise JobRefused("; ".join(f"{k}: {', '.join(v)}" for k, v in exc.message_dict.items())) from None
    save_job(job, user, before)
    return job, before is None
