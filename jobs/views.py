"""Admin-wrapped views behind the Run admin: stage pages (Run ETL, Schema, Sync), the live status feed,
artifact downloads, Cancel and Retry. ``RunAdmin.get_urls`` wraps each in ``admin_site.admin_view``."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import psycopg
from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from etl.errors import EtlError
from etl.schema import plan_schema, render_script
from etl.staging import stage_inputs
from etl.sync import plan_sync, resolve_sync
from etl.text import plural
from jobs.forms import CONFIRM_LABEL, EtlRunForm, SchemaForm, StageForm, StageUploadForm, SyncForm
from jobs.models import Run, RunLog, RunStep, Stage
from jobs.requests import SyncRequest
from jobs.services.console import previous_etl_run, sync_changes, table_counts, timeline
from jobs.services.jobs import JobRefused, save_job_as
from jobs.services.permissions import (
    DESTRUCTIVE_PERMISSION,
    PERMISSION_NAMES,
    STAGE_GROUPS,
    STAGE_PERMISSIONS,
    can_run_stages,
    plan_is_destructive,
)
from jobs.services.pictures import bars
from jobs.services.plans import describe, schema_options, sync_options
from jobs.services.quality import quality_of
from jobs.services.redact import without_secrets
from jobs.services.runs import cancel_run, create_run, retry_run
from jobs.services.targets import available_targets, get_target, resolve_url

LOG_BATCH = 500


STAGE_PAGES: dict[str, dict] = {
    "etl": {"title": "Run ETL", "form": EtlRunForm,
            "intro": "Build dimension, fact and QA tables from the league's workbooks and publish them as CSV "
                     "files. Preview shows the resolved plan without writing anything."},
    "schema": {"title": "Schema", "form": SchemaForm,
               "intro": "The warehouse tables from the catalog. Generate downloads the SQL script for an empty "
                        "database; Plan compares it with the target's live schema and lists the operations "
                        "(writes nothing); Apply runs them as a Run, in one transaction."},
    "sync": {"title": "Sync", "form": SyncForm,
             "intro": "Load the published tables into a target. Preview checks them against the target read-only: "
                      "each table with its rows, strategy and the rows it would replace (writes nothing). Run loads "
                      "them as a Run, in one transaction unless each table commits separately."},
}
STAGING_LINK = "Load workbooks into staging"


def _stage_context(request: HttpRequest, model_admin, stage: str, form: StageForm, **extra) -> dict:
    permission = STAGE_PERMISSIONS[stage]
    user = request.user
    tabs = [(page["title"], reverse(f"admin:jobs_run_{key}"), key == stage) for key, page in STAGE_PAGES.items()]
    tabs.append((STAGING_LINK, reverse("admin:jobs_run_stage"), False))
    can_save_job = (user.has_perm("jobs.add_job") or user.has_perm("jobs.change_job")) and user.has_perm(permission)
    hidden = [] if can_save_job else ["Save as Job"]
    if stage == "schema" and not user.has_perm(permission):
        hidden.append(SchemaForm.destructive_title)  # only Apply uses it
    return {
        **model_admin.admin_site.each_context(request),
        "opts": Run._meta, "title": STAGE_PAGES[stage]["title"], "stage": stage, "tabs": tabs, "form": form,
        "intro": STAGE_PAGES[stage].get("intro", ""), "notice": STAGE_PAGES[stage].get("notice", ""),
        "allowed": user.has_perm(permission), "permission_name": PERMISSION_NAMES[permission],
        "can_destroy": user.has_perm(DESTRUCTIVE_PERMISSION),
        "group_name": STAGE_GROUPS[stage],
        "can_save_job": can_save_job, "hidden_sections": hidden,
        "media": model_admin.media + form.media, **extra,
    }


def _denied(request: HttpRequest, model_admin, stage: str, template: str, permission: str, **extra) -> HttpResponse:
    """The stage page again with a sentence naming the missing permission and the group that has it (403)."""
    form = STAGE_PAGES[stage]["form"](request.POST)
    context = _stage_context(request, model_admin, stage, form, denied=True,
                             permission_name=PERMISSION_NAMES[permission], **extra)
    return TemplateResponse(request, template, context, status=403)


def _start(request: HttpRequest, form: StageForm, what: str = "") -> HttpResponse:
    run = create_run(form.plan, Run.Trigger.ADMIN, user=request.user, collision=form.cleaned_data["collision"])
    messages.success(request, format_html("Run #{} was started{}.", run.pk, what))
    return redirect(run.get_absolute_url())


def stage_view(request: HttpRequest, model_admin, stage: str = "etl") -> HttpResponse:
    """The Run ETL page: GET shows the form; POST previews (needs only the view permission, writes nothing),
    runs, or saves it as a Job (both need the stage's permission). Enter in a field previews."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    form_class = STAGE_PAGES[stage]["form"]
    template = "admin/jobs/run/stage_form.html"
    if request.method != "POST":
        return TemplateResponse(request, template, _stage_context(request, model_admin, stage, form_class()))
    acting = "_run" in request.POST or "_save_job" in request.POST
    if acting and not request.user.has_perm(STAGE_PERMISSIONS[stage]):
        return _denied(request, model_admin, stage, template, STAGE_PERMISSIONS[stage])
    form = form_class(request.POST)
    extra: dict = {}
    status = 200
    if form.is_valid():
        if "_run" in request.POST:
            return _start(request, form)
        if "_save_job" in request.POST:
            result = _save_as_job(request, form)
            if isinstance(result, HttpResponse):
                return result
            extra["save_error"], status = result
        else:
            extra = {"preview_lines": describe(form.plan), "plan_json": json.dumps(form.plan, indent=2)}
    return TemplateResponse(request, template, _stage_context(request, model_admin, stage, form, **extra),
                            status=status)


def schema_view(request: HttpRequest, model_admin) -> HttpResponse:
    """The Schema page: Generate (SQL download) and Plan (read-only, against the target) need only the view
    permission; Apply needs apply_schema, and with destructive changes apply_destructive_schema too."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    template = "admin/jobs/run/schema_form.html"
    if request.method != "POST":
        return TemplateResponse(request, template, _stage_context(request, model_admin, "schema", SchemaForm()))
    applying = "_apply" in request.POST or "_save_job" in request.POST
    destructive = forms.CheckboxInput().value_from_datadict(request.POST, {}, "allow_destructive")
    for needed, wanted in (("jobs.apply_schema", applying), (DESTRUCTIVE_PERMISSION, applying and destructive)):
        if wanted and not request.user.has_perm(needed):
            return _denied(request, model_admin, "schema", template, needed)
    form = SchemaForm(request.POST)
    extra: dict = {}
    status = 200
    if form.is_valid():
        options = schema_options(form.plan["schema"]["options"])
        if "_generate" in request.POST:
            return _script_download(options)
        if not applying:
            extra = _live_plan(form.cleaned_data["target"], options, form.cleaned_data["allow_destructive"])
        elif destructive and not form.cleaned_data["confirm_destructive"]:
            form.add_error("confirm_destructive", f"Tick “{CONFIRM_LABEL}” to apply destructive changes.")
        elif "_save_job" in request.POST:
            result = _save_as_job(request, form)
            if isinstance(result, HttpResponse):
                return result
            extra["save_error"], status = result
        else:
            with transaction.atomic():
                return _start(request, form, ": schema plan and apply")
    return TemplateResponse(request, template, _stage_context(request, model_admin, "schema", form, **extra),
                            status=status)


def sync_view(request: HttpRequest, model_admin) -> HttpResponse:
    """The Sync page: Preview (read-only, against the target) needs only the view permission; Run and Save as Job
    need run_sync."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    template = "admin/jobs/run/sync_form.html"
    rest = sorted(name for name, info in available_targets().items() if info.kind == "supabase-rest")
    if request.method != "POST":
        return TemplateResponse(request, template, _stage_context(request, model_admin, "sync", SyncForm(),
                                                                  rest_targets=rest))
    acting = "_run" in request.POST or "_save_job" in request.POST
    if acting and not request.user.has_perm(STAGE_PERMISSIONS["sync"]):
        return _denied(request, model_admin, "sync", template, STAGE_PERMISSIONS["sync"], rest_targets=rest)
    form = SyncForm(request.POST)
    extra: dict = {"rest_targets": rest}
    status = 200
    if form.is_valid():
        if "_run" in request.POST:
            return _start(request, form, format_html(": sync to target “{}”", form.cleaned_data["target"]))
        if "_save_job" in request.POST:
            result = _save_as_job(request, form)
            if isinstance(result, HttpResponse):
                return result
            extra["save_error"], status = result
        else:
            extra.update(_sync_preview(form.cleaned_data["target"], form.plan["sync"]))
    return TemplateResponse(request, template, _stage_context(request, model_admin, "sync", form, **extra),
                            status=status)


def _sync_preview(target: str, spec: dict) -> dict:
    """Template context for the sync Preview: the plan checked against the target read-only, or an error."""
    options = sync_options(SyncRequest.from_dict(spec["requested"]))
    url = ""
    try:
        rest = get_target(target).kind == "supabase-rest"
        if rest:  # the REST transport cannot count rows read-only: the plan comes from the outputs alone
            plan = resolve_sync(spec["output_dir"], options)
            plan.target = target
        else:
            url = resolve_url(target)
            plan = plan_sync(url, spec["output_dir"], options, target_name=target)
    except (ValueError, EtlError, psycopg.Error, OSError) as exc:
        return {"sync_error": f"Could not preview the sync to target '{target}': {without_secrets(str(exc), url)}"}
    return {"sync_plan": plan, "plan_target": target, "rest_target": rest, "sync_warnings": plan.warnings(),
            "sync_rows": sum(t.load_rows for t in plan.tables)}


def stage_upload_view(request: HttpRequest, model_admin) -> HttpResponse:
    """Load workbooks into staging: uploads saved in the league layout in a temporary folder, then staged
    synchronously into the target's stage_* tables (needs run_etl)."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    template = "admin/jobs/run/staging_form.html"
    permission = STAGE_PERMISSIONS["etl"]

    def page(form: StageUploadForm, status: int = 200, **extra) -> TemplateResponse:
        tabs = [(p["title"], reverse(f"admin:jobs_run_{key}"), False) for key, p in STAGE_PAGES.items()]
        context = {**model_admin.admin_site.each_context(request), "opts": Run._meta, "title": STAGING_LINK,
                   "tabs": [*tabs, (STAGING_LINK, reverse("admin:jobs_run_stage"), True)], "form": form,
                   "allowed": request.user.has_perm(permission), "permission_name": PERMISSION_NAMES[permission],
                   "group_name": STAGE_GROUPS["etl"], "media": model_admin.media + form.media, **extra}
        return TemplateResponse(request, template, context, status=status)

    if request.method != "POST":
        return page(StageUploadForm())
    if not request.user.has_perm(permission):
        return page(StageUploadForm(), status=403, denied=True)
    form = StageUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return page(form)

    target, games, url = form.cleaned_data["target"], form.game_ids(), ""
    try:
        with tempfile.TemporaryDirectory(prefix="hockeyops-upload-") as folder:
            form.save_league(Path(folder))
            url = resolve_url(target)
            # [] (master only) never removes staged games; None would drop every game not in this upload
            result = stage_inputs(url, folder, games=games, target_name=target)
    except (ValueError, EtlError, psycopg.Error, OSError) as exc:
        return page(form, stage_error=f"Could not stage into target '{target}': {without_secrets(str(exc), url)}")
    messages.success(request, f"Target “{target}”: {result.summary()}")
    return page(StageUploadForm(initial={"target": target}), stage_result=result, stage_target=target)


def _script_download(options) -> HttpResponse:
    """The SQL script for an empty database, as the file ``reset_supabase.sql``; nothing is written."""
    response = HttpResponse(render_script(options), content_type="application/sql; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="reset_supabase.sql"'
    return response


def _live_plan(target: str, options, allow_destructive: bool) -> dict:
    """Template context for Plan: the operations against the target's live schema, or a readable error."""
    url = ""
    try:
        url = resolve_url(target)
        plan = plan_schema(url, options)
    except (ValueError, EtlError, psycopg.Error, OSError) as exc:
        return {"plan_error": f"Could not plan against target '{target}': {without_secrets(str(exc), url)}"}
    return {"schema_plan": plan, "plan_target": target, "allow_destructive": allow_destructive,
            "destructive_count": len(plan.destructive)}


def _save_as_job(request: HttpRequest, form: StageForm) -> HttpResponse | tuple[str, int]:
    """Create or update the Job named in the form: a redirect to it, or (error to show, HTTP status)."""
    try:
        job, created = save_job_as(form.cleaned_data.get("job_name", ""), form.job_fields(), request.user,
                                   confirmed=bool(form.cleaned_data.get("confirm_destructive")))
    except JobRefused as exc:
        return exc.message, exc.status
    messages.success(request, format_html("Job “{}” was {}.", job.name, "created" if created else "updated"))
    return redirect(reverse("admin:jobs_job_change", args=[job.pk]))


def _get_run(request: HttpRequest, model_admin, object_id: int) -> Run:
    run = get_object_or_404(Run, pk=object_id)
    if not model_admin.has_view_permission(request, run):
        raise PermissionDenied
    return run


def _log_line(log: RunLog) -> dict:
    return {"id": log.pk, "at": timezone.localtime(log.at).strftime("%H:%M:%S"), "level": log.level,
            "stage": log.stage, "message": log.message}


def step_measure(step: RunStep) -> str:
    """What a step's count counts: DDL operations for schema steps, rows otherwise."""
    return "operation" if step.stage == "schema" else "row"


def _step_row(step: RunStep) -> dict:
    word = step_measure(step)
    return {"stage": step.stage, "unit": step.unit, "status": step.status,
            "status_label": step.get_status_display(), "rows": step.rows, "count": plural(step.rows, word),
            "duration": step.duration, "rows_per_sec": step.rows_per_sec if word == "row" else None,
            "figures": step.figures}


def run_status_view(request: HttpRequest, model_admin, object_id: int) -> JsonResponse:
    """Live state of a run and its log lines after ``?after=<log id>`` (polled by run_detail.js)."""
    run = _get_run(request, model_admin, object_id)
    try:
        after = int(request.GET.get("after") or 0)
    except ValueError:
        after = 0
    logs = [_log_line(log) for log in run.logs.filter(pk__gt=after).order_by("pk")[:LOG_BATCH]]
    word = "operation" if run.stages == ["schema"] else "row"
    return JsonResponse({
        "id": run.pk, "status": run.status, "status_label": run.get_status_display(), "terminal": run.is_terminal,
        "percent": run.percent, "current_stage": run.current_stage,
        "current_stage_label": Stage(run.current_stage).label if run.current_stage in Stage.values else "–",
        "current_unit": run.current_unit, "units_done": run.units_done, "units_total": run.units_total,
        "rows": run.rows, "rows_text": plural(run.rows, word), "rows_per_sec": run.rows_per_sec,
        "rows_per_sec_text": "–" if word == "operation" else f"{run.rows_per_sec:,.0f} rows/s",
        "duration": run.duration, "duration_text": format_seconds(run.duration),
        "error_summary": run.error_summary,
        "steps": [_step_row(s) for s in run.steps.all()], "logs": logs,
        "last_log_id": logs[-1]["id"] if logs else after,
    })


def format_seconds(seconds: float | None) -> str:
    """12.3 s, 4 min 05 s, 1 h 02 min; "–" when there is nothing to measure."""
    if seconds is None:
        return "–"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(int(seconds), 60)
    return f"{minutes} min {sec:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def run_detail_context(request: HttpRequest, run: Run) -> dict:
    """What the Run page shows below its fields: plan, figures, pictures, steps, log, artifacts, and which
    buttons apply."""

    logs = list(run.logs.order_by("-pk")[:1000])[::-1]
    allowed = can_run_stages(request.user, run.stages)
    may_retry = allowed and can_run_stages(request.user, run.stages, plan_is_destructive(run.plan))
    steps = list(run.steps.all())
    retries = list(run.children.order_by("pk"))
    return {
        "plan_lines": describe(run.plan) if run.plan.get("stages") else [],
        "plan_json": json.dumps(run.plan, indent=2),
        "steps": [{"step": s, **_step_row(s)} for s in steps], "logs": [_log_line(log) for log in logs],
        "last_log_id": logs[-1].pk if logs else 0,
        "artifacts": list(run.artifacts.all()),
        "live": run.status in Run.ACTIVE,
        "can_cancel": allowed and run.status in Run.ACTIVE,
        "can_retry": may_retry and run.status in (Run.Status.FAILED, Run.Status.CANCELLED) and not retries,
        "retries": retries,
        "table_counts": table_counts(run), "previous_etl": previous_etl_run(run),
        "sync_changes": sync_changes(run), "timeline": timeline(run, steps),
        "schema_figures": (run.figures or {}).get("schema"),
        "quality_url": reverse("admin:jobs_run_quality") + (f"?run={run.pk}" if "etl" in (run.figures or {})
                                                             else ""),
    }


def artifact_view(request: HttpRequest, model_admin, object_id: int, artifact_id: int) -> FileResponse:
    """Stream an artifact file (users who may view the run only); only files under the artifacts folder."""
    run = _get_run(request, model_admin, object_id)
    artifact = get_object_or_404(run.artifacts, pk=artifact_id)
    path = Path(artifact.path)
    root = Path(settings.HOCKEYOPS_ARTIFACTS_DIR).resolve()
    if not path.resolve().is_relative_to(root) or not path.is_file():
        raise Http404("The artifact's file is no longer there.")
    return FileResponse(path.open("rb"), as_attachment=True, filename=artifact.name)


def refused(request: HttpRequest, model_admin, run: Run, action: str, destructive: bool = False) -> HttpResponse:
    """A readable 403: what was refused, which permission it needs and which group has it."""
    stages = [s for s in run.stages if s in STAGE_PERMISSIONS]
    needed = [PERMISSION_NAMES[STAGE_PERMISSIONS[s]] for s in stages
              if not request.user.has_perm(STAGE_PERMISSIONS[s])]
    groups = sorted({STAGE_GROUPS[s] for s in stages})
    if destructive and not request.user.has_perm(DESTRUCTIVE_PERMISSION):
        needed.append(PERMISSION_NAMES[DESTRUCTIVE_PERMISSION])
    context = {**model_admin.admin_site.each_context(request), "opts": Run._meta, "original": run,
               "title": f"You may not {action} Run #{run.pk}", "action": action, "needed": needed,
               "groups": groups}
    return TemplateResponse(request, "admin/jobs/run/refused.html", context, status=403)


def cancel_view(request: HttpRequest, model_admin, object_id: int) -> HttpResponse:
    """GET asks for confirmation; POST cancels (a queued Run at once, a running one after its current unit)
    and records who cancelled."""
    run = _get_run(request, model_admin, object_id)
    if not can_run_stages(request.user, run.stages):
        return refused(request, model_admin, run, "cancel")
    if request.method != "POST":
        if run.is_terminal:
            messages.warning(request, f"Run #{run.pk} had already finished.")
            return redirect(run.get_absolute_url())
        context = {**model_admin.admin_site.each_context(request), "opts": Run._meta, "original": run,
                   "title": f"Cancel Run #{run.pk}?", "plan_lines": describe(run.plan) if run.stages else []}
        return TemplateResponse(request, "admin/jobs/run/cancel_confirm.html", context)
    outcome = cancel_run(run, request.user)
    text = {"cancelled": "Run #{} was cancelled.",
            "cancelling": "Run #{} was asked to stop; it stops after the current unit.",
            "finished": "Run #{} had already finished."}[outcome]
    (messages.success if outcome != "finished" else messages.warning)(request, text.format(run.pk))
    return redirect(run.get_absolute_url())


@require_POST
def retry_view(request: HttpRequest, model_admin, object_id: int) -> HttpResponse:
    run = _get_run(request, model_admin, object_id)
    if not can_run_stages(request.user, run.stages, plan_is_destructive(run.plan)):
        return refused(request, model_admin, run, "retry", destructive=plan_is_destructive(run.plan))
    try:
        child = retry_run(run, request.user)
    except ValueError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, format_html('Retry of the unfinished steps started as <a href="{}">Run #{}</a>.',
                                              child.get_absolute_url(), child.pk))
    return redirect(run.get_absolute_url())


def quality_view(request: HttpRequest, model_admin) -> HttpResponse:
    """Data quality of the published outputs (or those a Run published, ``?run=``), narrowed by ``?game=``."""

    if not model_admin.has_view_permission(request):
        return refused_page(request, model_admin, "see the data quality", ["Can view run"])
    folder, run = Path(settings.HOCKEYOPS_OUTPUT_DIR), None
    run_id = request.GET.get("run", "")
    if run_id.isdigit() and len(run_id) < 19:
        run = Run.objects.filter(pk=int(run_id)).first()
        if run is not None and (run.figures or {}).get("etl", {}).get("output_dir"):
            folder = Path(run.figures["etl"]["output_dir"])
    game_arg = request.GET.get("game", "")
    game = int(game_arg) if game_arg.isdigit() and len(game_arg) < 10 else None
    q = quality_of(folder, game)
    base = reverse("admin:jobs_run_quality") + (f"?run={run.pk}&" if run else "?")
    colours = {"COMPLETE": "#2e7d32", "PARTIAL": "#ef6c00"}
    game_links = {label: f"{base}game={label.split()[1]}" for label in q.issue_games if label.startswith("game ")}
    context = {
        **model_admin.admin_site.each_context(request), "opts": Run._meta, "title": "Data quality",
        "q": q, "run": run, "game": game, "base": base,
        "status_bars": bars(sorted(q.statuses.items(), key=lambda kv: -kv[1]), colours=colours,
                            colour="#c62828"),
        "kind_bars": bars(q.issue_kinds.most_common()),
        "game_bars": bars(q.issue_games.most_common(30), links=game_links),
        "goal_bars": bars([(f"game {g['game_id']} {g['venue'] or g['team_id']}", g["tracked"] or 0)
                           for g in q.goals[:60]], colours={
            f"game {g['game_id']} {g['venue'] or g['team_id']}": "#2e7d32" if g["match"] else "#c62828"
            for g in q.goals[:60]}),
    }
    return TemplateResponse(request, "admin/jobs/run/quality.html", context)


def refused_page(request: HttpRequest, model_admin, action: str, needed: list[str]) -> HttpResponse:
    context = {**model_admin.admin_site.each_context(request), "opts": Run._meta, "title": f"You may not {action}",
               "action": action, "needed": needed, "groups": []}
    return TemplateResponse(request, "admin/jobs/run/refused.html", context, status=403)
