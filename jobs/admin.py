"""The admin is the console: Run ETL / Schema / Sync pages, Jobs, read-only Runs, Targets.

Runs are never added, changed or deleted here (not even by superusers): they are created by the
stage pages, Job actions, schedules and the CLI, and changed only by the services.
"""
from __future__ import annotations

import json
import os
from functools import update_wrapper

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Exists, OuterRef, Subquery
from django.db.models.fields.json import KT
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.functional import cached_property
from django.utils.html import escape, format_html, format_html_join

from etl.text import plural
from jobs import views
from jobs.forms import JOB_ETL_FIELDS, JOB_SCHEMA_FIELDS, JOB_SYNC_FIELDS, JobForm
from jobs.models import Job, JobChange, Run, RunStep, Stage, Target, TargetLease
from jobs.services.jobs import delete_job, save_job, snapshot
from jobs.services.permissions import STAGE_PERMISSIONS, can_run_stages
from jobs.services.plans import PlanError, describe
from jobs.services.runs import plan_job, run_job
from jobs.services.targets import env_var_for
from jobs.templatetags.console import format_when, readable
from jobs.views import format_seconds


def status_badge(status: str, label: str, url: str = "") -> str:
    badge = format_html('<span class="ho-badge ho-status-{}" data-live="status">{}</span>', status, label)
    return format_html('<a href="{}">{}</a>', url, badge) if url else badge


class EstimatedCountPaginator(Paginator):
    """On PostgreSQL an unfiltered changelist uses the planner's row estimate instead of COUNT(*)."""

    @cached_property
    def count(self) -> int:
        qs = self.object_list
        if getattr(qs, "query", None) is not None and not qs.query.where:
            connection = connections[qs.db]
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                                   [qs.model._meta.db_table])
                    row = cursor.fetchone()
                if row and row[0] > 10_000:
                    return int(row[0])
        return super().count


class ReadOnlyAdmin(admin.ModelAdmin):
    """Viewable by whoever has the view permission; nobody adds, changes or deletes."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class StageFilter(admin.SimpleListFilter):
    """Runs that include a stage (ETL, schema, sync), from their step ledger."""

    title = "stage"
    parameter_name = "stage"

    def lookups(self, request, model_admin):
        return Stage.choices

    def queryset(self, request, queryset):
        if self.value() not in Stage.values:
            return queryset
        return queryset.filter(Exists(RunStep.objects.filter(run=OuterRef("pk"), stage=self.value())))


@admin.register(Run)
class RunAdmin(ReadOnlyAdmin):
    list_display = ("run_label", "list_status", "stages_display", "target_name", "trigger", "requested_by",
                    "duration_display", "rows_display", "error_display", "created_display")
    list_display_links = ("run_label",)
    list_filter = ("status", StageFilter, "target_name", "trigger", ("created_at", admin.DateFieldListFilter),
                   "requested_by", "job")
    list_select_related = ("job", "requested_by")
    date_hierarchy = "created_at"
    search_fields = ("job__name", "error_summary")
    search_help_text = "A run number (42 or #42), a job name or words of the error summary."
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    view_on_site = False
    fieldsets = [
        ("Status", {"fields": ("status_display", "progress_display", "stage_display", "unit_display",
                               "rows_display", "rate_display", "error_summary", "cancelled_by")}),
        ("Request", {"fields": ("job", "trigger", "requested_by", "retry_links", "target_name", "collision",
                                "code_version")}),
        ("Timing", {"fields": ("created_at", "started_at", "finished_at", "duration_display", "waited_display",
                               "waiting_for", "heartbeat_at", "worker_host", "celery_task_id")}),
    ]
    readonly_fields = ("status_display", "progress_display", "duration_display", "stage_display", "unit_display",
                       "rows_display", "rate_display", "waited_display", "retry_links")

    class Media:
        css = {"all": ["jobs/admin.css"]}
        js = ["jobs/run_detail.js"]

    @admin.display(description="Run", ordering="-id")
    def run_label(self, run: Run) -> str:
        return f"#{run.pk}"

    @admin.display(description="Status", ordering="status")
    def status_display(self, run: Run) -> str:
        return status_badge(run.status, run.get_status_display())

    @admin.display(description="Status", ordering="status")
    def list_status(self, run: Run) -> str:
        """The badge, with the percentage done while the Run is active (the list has no room for a bar)."""
        badge = status_badge(run.status, run.get_status_display())
        if run.status not in Run.ACTIVE or not run.percent:
            return badge
        return format_html('{} <span class="ho-percent">{}%</span>', badge, f"{run.percent:.0f}")

    @admin.display(description=f"Created ({settings.TIME_ZONE})", ordering="created_at")
    def created_display(self, run: Run) -> str:
        """Date and time to the second in the site's time zone (named in the column's title)."""
        return format_html('<span class="ho-when" title="{}">{}</span>', format_when(run.created_at),
                           format_when(run.created_at).rsplit(" ", 1)[0])

    @admin.display(description="Progress", ordering="percent")
    def progress_display(self, run: Run) -> str:
        pct = max(0.0, min(100.0, run.percent or 0.0))
        return format_html('<span class="ho-progress" data-live="progress" title="{}"><span style="width: {}%">'
                           '</span></span> <span data-live="percent">{}%</span>',
                           run.current_unit, f"{pct:.1f}", f"{pct:.0f}")

    @admin.display(description="Duration")
    def duration_display(self, run: Run) -> str:
        """Elapsed so far while running (the page keeps it moving), the whole duration once finished."""
        return format_html('<span data-live="duration" data-started="{}" data-running="{}">{}</span>',
                           run.started_at.isoformat() if run.started_at else "",
                           "1" if run.status == Run.Status.RUNNING else "", format_seconds(run.duration))

    @admin.display(description="Stages")
    def stages_display(self, run: Run) -> str:
        return ", ".join(Stage(s).label for s in run_stages(run) if s in Stage.values) or "–"

    @admin.display(description="Current stage")
    def stage_display(self, run: Run) -> str:
        label = Stage(run.current_stage).label if run.current_stage in Stage.values else "–"
        return format_html('<span data-live="current_stage">{}</span>', label)

    @admin.display(description="Current unit")
    def unit_display(self, run: Run) -> str:
        done = f" ({run.units_done} of {run.units_total} units)" if run.units_total else ""
        return format_html('<span data-live="current_unit">{}</span>', (run.current_unit or "–") + done)

    @admin.display(description="Processed", ordering="rows")  # rows, or operations for schema Runs
    def rows_display(self, run: Run) -> str:
        word = "operation" if run_measure(run) == "operations" else "row"
        return format_html('<span data-live="rows" data-word="{}">{}</span>', word, plural(run.rows, word))

    @admin.display(description="Speed")
    def rate_display(self, run: Run) -> str:
        if run_measure(run) == "operations":
            return "–"
        return format_html('<span data-live="rows_per_sec">{}</span>', f"{run.rows_per_sec:,.0f} rows/s")

    @admin.display(description="Error")
    def error_display(self, run: Run) -> str:
        text = run.error_summary
        if not text:
            return "–"
        return format_html('<span class="ho-error-summary" title="{}">{}</span>', text,
                           text if len(text) <= 80 else text[:78] + "…")

    @admin.display(description="Waited")
    def waited_display(self, run: Run) -> str:
        return format_seconds(run.waited_seconds) if run.waited_seconds else "did not wait"

    @admin.display(description="Retries")
    def retry_links(self, run: Run) -> str:
        """The Run this one retries and the Runs that retried it, as links."""
        parts = []
        if run.parent_id:
            parts.append(format_html('Retry of <a href="{}">Run #{}</a>', reverse("admin:jobs_run_change",
                                                                                   args=[run.parent_id]),
                                     run.parent_id))
        children = list(run.children.order_by("pk").values_list("pk", flat=True))
        if children:
            links = format_html_join(", ", '<a href="{}" class="ho-retried-by">Run #{}</a>',
                                     ((reverse("admin:jobs_run_change", args=[pk]), pk) for pk in children))
            parts.append(format_html("Retried as {}", links))
        return format_html_join("; ", "{}", ((p,) for p in parts)) if parts else "–"

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.resolver_match and request.resolver_match.url_name == "jobs_run_changelist":
            # plans can be large: the list reads only their stages
            return qs.defer("plan", "figures").annotate(stage_list=KT("plan__stages"))
        return qs

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip().lstrip("#")
        if term.isascii() and term.isdigit() and len(term) < 19:
            results = results | queryset.filter(pk=int(term))
        return results, may_have_duplicates

    def get_urls(self):
        def wrap(view, **fixed):
            def wrapper(request, *args, **kwargs):
                return self.admin_site.admin_view(view)(request, self, *args, **fixed, **kwargs)

            wrapper.model_admin = self
            return update_wrapper(wrapper, view)

        return [
            path("run-etl/", wrap(views.stage_view, stage="etl"), name="jobs_run_etl"),
            path("schema/", wrap(views.schema_view), name="jobs_run_schema"),
            path("sync/", wrap(views.sync_view), name="jobs_run_sync"),
            path("stage/", wrap(views.stage_upload_view), name="jobs_run_stage"),
            path("quality/", wrap(views.quality_view), name="jobs_run_quality"),
            path("<int:object_id>/status/", wrap(views.run_status_view), name="jobs_run_status"),
            path("<int:object_id>/cancel/", wrap(views.cancel_view), name="jobs_run_cancel"),
            path("<int:object_id>/retry/", wrap(views.retry_view), name="jobs_run_retry"),
            path("<int:object_id>/artifacts/<int:artifact_id>/", wrap(views.artifact_view),
                 name="jobs_run_artifact"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        run = self.get_object(request, unquote(object_id))
        context = views.run_detail_context(request, run) if run is not None else {}
        return super().change_view(request, object_id, form_url, {**context, **(extra_context or {})})

    def changelist_view(self, request, extra_context=None):
        # every stage page previews (or plans) with the view permission alone: its link is always there
        stages = dict.fromkeys(STAGE_PERMISSIONS, True)
        return super().changelist_view(request, {"stage_allowed": stages, **(extra_context or {})})


def run_stages(run: Run) -> list[str]:
    """A Run's stages, from the list's annotation when its plan was not loaded."""
    if not hasattr(run, "stage_list"):
        return run.stages
    stages = run.stage_list
    return list(json.loads(stages) if isinstance(stages, str) else stages or [])


def run_measure(run: Run) -> str:
    """What a Run's count counts: "operations" for a schema-only Run, else "rows"."""
    return "operations" if run_stages(run) == ["schema"] else "rows"


def changes_html(change: JobChange) -> str:
    rows = ((field, readable(old), readable(new)) for field, (old, new) in sorted(change.changes.items()))
    return format_html_join("", "<div><b>{}</b>: {} → {}</div>", rows)


READABLE_FIELDS = tuple(f"{name}_readable" for name in (
    "stages", "games", "exclude_games", "tables", "exclude_tables", "schema_options", "sync_options"))


def _readable_display(name: str):
    """A read-only display of a Job's stored JSON field in words (view-only pages show no JSON)."""
    def display(self, job: Job) -> str:
        return readable(getattr(job, name))

    display.short_description = Job._meta.get_field(name).verbose_name.replace("_", " ")
    display.__name__ = f"{name}_readable"
    return display


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    form = JobForm
    list_display = ("name", "stages_display", "target_name", "schedule_display", "enabled", "last_run")
    list_filter = ("enabled", "target_name")
    search_fields = ("name", "description")
    actions = ["run_now", "preview"]
    readonly_fields = ("periodic_task_display", "created_at", "updated_at", *READABLE_FIELDS)
    fieldsets = [
        (None, {"fields": ("name", "description", "enabled")}),
        ("What to run", {"fields": ("stages", "replan")}),
        ("ETL options", {"classes": ("ho-stage-options", "ho-stage-etl"), "fields": JOB_ETL_FIELDS,
                         "description": "Used when the ETL stage is selected: the same options as the Run ETL page."}),
        ("Schema options", {"classes": ("ho-stage-options", "ho-stage-schema"), "fields": JOB_SCHEMA_FIELDS,
                            "description": "Used when the schema stage is selected: what the schema stage plans "
                                           "and applies on the target before the sync stage."}),
        ("Sync options", {"classes": ("ho-stage-options", "ho-stage-sync"), "fields": JOB_SYNC_FIELDS,
                          "description": "Used when the sync stage is selected: the same options as the Sync page."}),
        ("Where", {"fields": ("target_name", "collision")}),
        ("When", {"fields": ("schedule", "periodic_task_display")}),
        ("Record", {"classes": ("collapse",), "fields": ("created_at", "updated_at")}),
    ]

    class Media:
        css = {"all": ["jobs/admin.css"]}

    def get_queryset(self, request):
        latest = Run.objects.filter(job=OuterRef("pk")).order_by("-created_at", "-id")
        return super().get_queryset(request).annotate(last_run_id=Subquery(latest.values("id")[:1]),
                                                      last_run_status=Subquery(latest.values("status")[:1]))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        pk = unquote(object_id)
        valid = pk.isascii() and pk.isdigit() and len(pk) < 19
        changes = JobChange.objects.filter(job_id=pk).select_related("user")[:200] if valid else []
        history = [{"change": c, "html": changes_html(c)} for c in changes]
        return super().change_view(request, object_id, form_url, {"job_changes": history, **(extra_context or {})})

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and not self.has_change_permission(request, obj):  # view-only: the stored values
            stored = {"ETL options": ["games_readable", "exclude_games_readable", "tables_readable",
                                      "exclude_tables_readable", "source", "mode"],
                      "Schema options": ["schema_options_readable"], "Sync options": ["sync_options_readable"]}
            fieldsets = [(name, {**opts, "fields": stored.get(name, opts["fields"])}) for name, opts in fieldsets]
            fieldsets = [(name, {**opts, "fields": ["stages_readable" if f == "stages" else f for f in opts["fields"]]})
                         for name, opts in fieldsets]
        return fieldsets

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method == "POST" and "_preview" in request.POST:
            return self._preview_unsaved(request, object_id, form_url, extra_context)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def _preview_unsaved(self, request, object_id, form_url, extra_context):
        """The Job form again with the plan its current values give; nothing is saved (Enter in a field does this)."""
        obj = self.get_object(request, unquote(object_id)) if object_id else None
        if object_id and obj is None:
            raise Http404
        allowed = self.has_change_permission(request, obj) if obj else self.has_add_permission(request)
        if not allowed:
            raise PermissionDenied
        form = self.get_form(request, obj, change=obj is not None)(request.POST, request.FILES, instance=obj)
        valid = form.is_valid()
        adminform = helpers.AdminForm(form, list(self.get_fieldsets(request, obj)), {},
                                      self.get_readonly_fields(request, obj), model_admin=self)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Preview of {'Job ' + str(obj) if obj else 'a new Job'}: nothing has been saved",
            "subtitle": None, "adminform": adminform, "object_id": object_id, "original": obj, "is_popup": False,
            "to_field": None, "media": self.media + adminform.media, "inline_admin_formsets": [],
            "errors": helpers.AdminErrorList(form, []), "preserved_filters": self.get_preserved_filters(request),
            "job_preview": describe(form.plan) if valid and form.plan else None,
            "job_changes": [], **(extra_context or {}),
        }
        return self.render_change_form(request, context, add=obj is None, change=obj is not None, obj=obj,
                                       form_url=form_url)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        form.user = request.user  # a fresh class per request: the schema permissions are checked on save
        return form

    stages_readable = _readable_display("stages")
    games_readable = _readable_display("games")
    exclude_games_readable = _readable_display("exclude_games")
    tables_readable = _readable_display("tables")
    exclude_tables_readable = _readable_display("exclude_tables")
    schema_options_readable = _readable_display("schema_options")
    sync_options_readable = _readable_display("sync_options")

    @admin.display(description="Stages")
    def stages_display(self, job: Job) -> str:
        return ", ".join(job.stages) or "–"

    @admin.display(description="Schedule", ordering="schedule")
    def schedule_display(self, job: Job) -> str:
        return job.schedule or "–"

    @admin.display(description="Last run", ordering="last_run_status")
    def last_run(self, job: Job) -> str:
        if not getattr(job, "last_run_id", None):
            return "–"
        label = f"#{job.last_run_id} {Run.Status(job.last_run_status).label}"
        return status_badge(job.last_run_status, label, reverse("admin:jobs_run_change", args=[job.last_run_id]))

    @admin.display(description="Periodic task")
    def periodic_task_display(self, job: Job) -> str:
        task = job.periodic_task
        if task is None:
            return "No schedule."
        state = "enabled" if task.enabled else "disabled"
        last = format_when(task.last_run_at) if task.last_run_at else "never"
        return f"{task.name} ({state}; last run {last})"

    def save_model(self, request, obj: Job, form, change: bool) -> None:
        before = snapshot(Job.objects.get(pk=obj.pk)) if change else None
        save_job(obj, request.user, before)

    def delete_model(self, request, obj: Job) -> None:
        delete_job(obj, request.user)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset) -> None:
        for job in queryset:
            delete_job(job, request.user)
        super().delete_queryset(request, queryset)

    def has_run_etl_permission(self, request) -> bool:
        return request.user.has_perm("jobs.run_etl")

    @admin.action(description="Run now", permissions=["run_etl"])
    def run_now(self, request, queryset) -> None:
        for job in queryset:
            destructive = bool((job.schema_options or {}).get("allow_destructive"))
            if not can_run_stages(request.user, job.stages, destructive):
                self.message_user(request, f"You may not run the stages of “{job}”.", messages.ERROR)
                continue
            try:
                run = run_job(job, Run.Trigger.ADMIN, user=request.user)
            except PlanError as exc:
                self.message_user(request, f"“{job}” was not started: {exc}", messages.ERROR)
                continue
            self.message_user(request, format_html('“{}” started <a href="{}">Run #{}</a>.', job.name,
                                                   run.get_absolute_url(), run.pk), messages.SUCCESS)

    @admin.action(description="Preview plan", permissions=["view"])
    def preview(self, request, queryset) -> TemplateResponse:
        items = []
        for job in queryset:
            try:
                plan = plan_job(job)
                items.append({"job": job, "lines": describe(plan), "error": ""})
            except PlanError as exc:
                items.append({"job": job, "lines": [], "error": str(exc)})
        context = {**self.admin_site.each_context(request), "opts": Job._meta, "title": "Preview of the plans",
                   "items": items, "media": self.media}
        return TemplateResponse(request, "admin/jobs/job/preview.html", context)


@admin.register(Target)
class TargetAdmin(admin.ModelAdmin):
    """Targets name environment variables; the URL and key values are never shown."""

    list_display = ("name", "kind", "description", "url_variable", "url_status", "key_status")
    fields = ("name", "kind", "description", "url_env", "key_env", "url_status", "key_status")
    readonly_fields = ("url_status", "key_status")
    search_fields = ("name", "description")

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if field is not None and field.help_text:
            field.help_text = escape(field.help_text)  # the admin shows help texts as HTML: <NAME> stays visible
        return field

    @admin.display(description="URL variable")
    def url_variable(self, target: Target) -> str:
        return target.url_env or env_var_for(target.name)

    @admin.display(description="URL")
    def url_status(self, target: Target | None) -> str:
        if target is None or not target.name:
            return "–"
        variable = self.url_variable(target)
        return f"set ({variable})" if os.environ.get(variable) else f"not set ({variable})"

    @admin.display(description="Key")
    def key_status(self, target: Target | None) -> str:
        if target is None or not target.key_env:
            return "–"
        return f"set ({target.key_env})" if os.environ.get(target.key_env) else f"not set ({target.key_env})"


@admin.register(JobChange)
class JobChangeAdmin(ReadOnlyAdmin):
    """Every Job edit, including deleted Jobs."""

    list_display = ("at", "job_name", "action", "user", "summary")
    list_filter = ("action",)
    list_select_related = ("user",)
    search_fields = ("job_name",)
    date_hierarchy = "at"
    fields = ("at", "job", "job_name", "action", "user", "changes_display")
    readonly_fields = ("changes_display",)

    @admin.display(description="Fields")
    def summary(self, change: JobChange) -> str:
        return ", ".join(sorted(change.changes))

    @admin.display(description="Changes")
    def changes_display(self, change: JobChange) -> str:
        return changes_html(change)


@admin.register(TargetLease)
class TargetLeaseAdmin(ReadOnlyAdmin):
    """Which run holds which target right now."""

    list_display = ("target_name", "run", "acquired_at")
    list_select_related = ("run",)
from jobs import admin_api  # noqa: E402,F401
