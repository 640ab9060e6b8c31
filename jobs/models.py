"""Targets, Jobs (saved requests), Runs (executions) with their steps, logs and artifacts.

A Run stores the target's *name*, never a URL or key: the worker resolves credentials from the
environment. Run status transitions are conditional updates (see ``jobs.services.runs``).
"""
from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.validators import crontab_validator

from jobs.requests import EtlRequest, RequestError, SchemaRequest, SyncRequest

name_validator = RegexValidator(r"^[a-z][a-z0-9_]*$", "Use lower-case letters, digits and underscores.")


def cron_validator(value: str) -> None:
    """Five cron fields that django-celery-beat can schedule; the message says which field is wrong."""
    parts = value.split()
    if len(parts) != 5:
        raise ValidationError("A schedule needs five fields: minute hour day-of-month month day-of-week, "
                              "e.g. '0 3 * * *' (every day at 03:00).")
    try:
        crontab_validator(" ".join(parts))
    except ValidationError as exc:
        raise ValidationError(f"This schedule would never run as meant: {'; '.join(exc.messages)}. "
                              "Example: '0 3 * * *' (every day at 03:00).") from None


class Stage(models.TextChoices):
    ETL = "etl", "ETL"
    SCHEMA = "schema", "Schema"
    SYNC = "sync", "Sync"


STAGE_ORDER = [Stage.ETL, Stage.SCHEMA, Stage.SYNC]


class Target(models.Model):
    """A named destination database. Credentials live in environment variables named here."""

    class Kind(models.TextChoices):
        POSTGRES = "postgres", "PostgreSQL (direct connection)"
        SUPABASE_REST = "supabase-rest", "Supabase REST (URL + service key)"

    name = models.CharField(max_length=60, unique=True, validators=[name_validator],
                            help_text="Short name used by Jobs, Runs and the CLI, e.g. production.")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.POSTGRES)
    description = models.TextField(blank=True)
    url_env = models.CharField(
        "URL variable", max_length=100, blank=True,
        help_text="Name of the environment variable holding the connection URL "
                  "(default HOCKEYOPS_TARGET_<NAME>_URL). The URL itself is never stored here.")
    key_env = models.CharField(
        "key variable", max_length=100, blank=True,
        help_text="Supabase REST only: name of the environment variable holding the service key.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Job(models.Model):
    """A saved request: which stages to run with which options, on which target."""

    class Collision(models.TextChoices):
        QUEUE = "queue", "Wait for the other run"
        SKIP = "skip", "Skip this run"

    class Source(models.TextChoices):
        EXCEL = "excel", "Excel workbooks"
        STAGING = "staging", "Staging tables in the target (loaded with `stage`)"

    class Mode(models.TextChoices):
        FULL = "full", "Full rebuild"
        INCREMENTAL = "incremental", "Incremental (changed games only)"

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    stages = models.JSONField(default=list, help_text="Stages to run, in order: etl, schema, sync.")
    games = models.JSONField(default=list, blank=True, help_text="Game ids; empty means every tracked game.")
    exclude_games = models.JSONField(default=list, blank=True)
    tables = models.JSONField(default=list, blank=True,
                              help_text="Table names, globs (fact_player*) or modes; empty means all.")
    exclude_tables = models.JSONField(default=list, blank=True)
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.EXCEL)
    mode = models.CharField(max_length=20, choices=Mode.choices, default=Mode.FULL)
    schema_options = models.JSONField(default=dict, blank=True)
    sync_options = models.JSONField(default=dict, blank=True)
    target_name = models.CharField("target", max_length=60, default="embedded",
                                   help_text="Target name (admin Targets or HOCKEYOPS_TARGET_<NAME>_URL).")
    collision = models.CharField(max_length=10, choices=Collision.choices, default=Collision.QUEUE,
                                 help_text="What a run does when another run holds the same target.")
    enabled = models.BooleanField(default=True)
    replan = models.BooleanField(
        "re-plan changed inputs", default=False,
        help_text="When a workbook changes between planning and the start of a run, plan again and say so in the "
                  "log. Off: such a run fails and names the changed files (what you previewed is what runs).")
    schedule = models.CharField(
        max_length=100, blank=True, validators=[cron_validator],
        help_text="Cron expression (minute hour day-of-month month day-of-week), e.g. '0 3 * * *'. "
                  "Empty: no schedule.")
    periodic_task = models.OneToOneField("django_celery_beat.PeriodicTask", null=True, blank=True,
                                         on_delete=models.SET_NULL, editable=False, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def etl_request(self):
        """The ETL stage's request (``jobs.requests.EtlRequest``) from the Job's fields."""
        return EtlRequest.from_dict({"games": self.games, "exclude_games": self.exclude_games, "tables": self.tables,
                                     "exclude_tables": self.exclude_tables, "source": self.source,
                                     "mode": self.mode})

    def schema_request(self):
        return SchemaRequest.from_dict(self.schema_options or {})

    def sync_request(self):
        return SyncRequest.from_dict(self.sync_options or {})

    def clean(self) -> None:
        """Stage options are requests: unknown keys and bad values are errors next to their field."""
        errors: dict[str, str] = {}
        try:
            self.etl_request()
        except RequestError as exc:  # request fields of the ETL stage are the Job's own field names
            errors[exc.field or "games"] = exc.message
        for field, parse in (("schema_options", self.schema_request), ("sync_options", self.sync_request)):
            try:
                parse()
            except RequestError as exc:
                errors[field] = f"{exc.field}: {exc.message}" if exc.field else exc.message
        if errors:
            raise ValidationError(errors)


class JobChange(models.Model):
    """Audit trail of Job edits: who, when, what (field: [old, new])."""

    job = models.ForeignKey(Job, null=True, on_delete=models.SET_NULL, related_name="changes")
    job_name = models.CharField(max_length=100)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    action = models.CharField(max_length=10)  # created, changed, deleted
    changes = models.JSONField(default=dict)

    class Meta:
        ordering = ["-at"]


class Run(models.Model):
    """One execution of a plan; immutable once finished."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        SKIPPED = "skipped", "Skipped"

    class Trigger(models.TextChoices):
        ADMIN = "admin", "Admin"
        SCHEDULE = "schedule", "Schedule"
        CLI = "cli", "Command line"
        RETRY = "retry", "Retry"
        API = "api", "API"

    TERMINAL = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED, Status.SKIPPED)
    ACTIVE = (Status.QUEUED, Status.RUNNING)

    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs")
    trigger = models.CharField(max_length=10, choices=Trigger.choices, db_index=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="children")
    target_name = models.CharField("target", max_length=60, db_index=True)
    collision = models.CharField(max_length=10, default=Job.Collision.QUEUE)
    plan = models.JSONField(default=dict)
    code_version = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    cancel_requested = models.BooleanField(default=False)
    cancelled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+", help_text="Who pressed Cancel.")
    current_stage = models.CharField(max_length=10, blank=True)
    current_unit = models.CharField(max_length=100, blank=True)
    units_done = models.IntegerField(default=0)
    units_total = models.IntegerField(default=0)
    percent = models.FloatField(default=0)
    rows = models.BigIntegerField(default=0)
    rows_per_sec = models.FloatField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    worker_host = models.CharField(max_length=200, blank=True)
    celery_task_id = models.CharField(max_length=64, blank=True)
    waiting_for = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    waited_seconds = models.FloatField(default=0)
    error_summary = models.TextField(blank=True)
    figures = models.JSONField(default=dict, blank=True,
                               help_text="What the Run produced: per-table rows published (ETL), per-table "
                                         "inserted/updated/deleted (sync), operations applied (schema).")

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("run_etl", "Can run ETL"),
            ("run_sync", "Can run sync"),
            ("apply_schema", "Can apply schema changes"),
            ("apply_destructive_schema", "Can apply destructive schema changes"),
        ]
        indexes = [models.Index(fields=["status", "created_at"]), models.Index(fields=["job", "-created_at"])]

    def __str__(self) -> str:
        return f"Run #{self.pk}"

    @property
    def is_terminal(self) -> bool:
        return self.status in self.TERMINAL

    @property
    def duration(self) -> float | None:
        if not self.started_at:
            return None

        end = self.finished_at or timezone.now()
        return (end - self.started_at).total_seconds()

    @property
    def stages(self) -> list[str]:
        return list(self.plan.get("stages", []))

    def get_absolute_url(self) -> str:
        return reverse("admin:jobs_run_change", args=[self.pk])


class RunStep(models.Model):
    """Ledger of work: one row per (stage, unit); unit is a table or a game."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="steps")
    stage = models.CharField(max_length=10)
    unit = models.CharField(max_length=100)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    rows = models.BigIntegerField(default=0)
    duration = models.FloatField(null=True, blank=True)
    rows_per_sec = models.FloatField(null=True, blank=True)
    detail = models.TextField(blank=True)
    figures = models.JSONField(default=dict, blank=True)  # e.g. inserted/updated/deleted, issues
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["run", "stage", "unit"], name="one_step_per_unit")]


class RunLog(models.Model):
    """Log lines of a Run (bounded in the database; the full log is an artifact)."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="logs")
    at = models.DateTimeField(db_index=True)
    level = models.CharField(max_length=10)
    stage = models.CharField(max_length=10, blank=True)
    message = models.TextField()

    class Meta:
        ordering = ["id"]


class RunArtifact(models.Model):
    """A file a Run produced (manifest, SQL, full log), stored under the artifacts folder."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="artifacts")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20)
    path = models.CharField(max_length=500)
    size = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["run", "name"], name="one_artifact_per_name")]


class TargetLease(models.Model):
    """DB-level guard: at most one Run writes to a place at a time. A place is a target database (by identity,
    so two target names for one database share it) or an ETL output folder. The lease's id is the fencing token:
    a Run publishes only while its lease row still exists (checked in the publishing transaction)."""

    place = models.CharField(max_length=300, unique=True, help_text="db:<identity> or output:<folder>.")
    target_name = models.CharField("target", max_length=60, help_text="The target name the holder used.")
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="leases")
    acquired_at = models.DateTimeField(auto_now_add=True)
    holder = models.CharField(max_length=200, blank=True, help_text="host:pid:start of the process holding it.")
    heartbeat_at = models.DateTimeField(null=True, blank=True,
                                        help_text="Last sign of life of the holder; a stale lease is taken over.")

from jobs.api_tokens import ApiToken  # noqa: E402,F401
