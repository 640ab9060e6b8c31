"""API endpoints: thin wrappers over the plan/run services and the admin's permission rules."""
from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.http import FileResponse, JsonResponse

from etl.errors import EtlError
from etl.schema import render_script
from etl.sync import plan_sync, resolve_sync
from hockeyops.celery import app
from jobs.api import serializers as s
from jobs.api.auth import api_view, require
from jobs.api.openapi import document
from jobs.api.serializers import ApiError
from jobs.models import Run
from jobs.services.permissions import can_run_stages, stage_permissions
from jobs.services.plans import schema_options, sync_options
from jobs.services.redact import without_secrets
from jobs.services.runs import cancel_run, create_run
from jobs.services.targets import available_targets, get_target, resolve_url


def schema_dir() -> Path:
    return Path(settings.VAR_DIR) / "schema"


def _start(request, plan: dict) -> JsonResponse:
    """Create the Run (trigger api) and answer 202 with its job view."""
    with transaction.atomic():
        run = create_run(plan, Run.Trigger.API, user=request.user)
    return JsonResponse(s.job_view(run, request), status=202)


def _run_or_404(run_id: int) -> Run:
    run = Run.objects.filter(pk=run_id).first()
    if run is None:
        raise ApiError(f"There is no job {run_id}.", status=404)
    return run


@api_view(("POST",))
def etl_trigger(request):
    """Plan and queue an ETL Run (with schema and sync stages when asked)."""
    req = s.parse_etl_trigger(s.parse_body(request))
    require(request.user, stage_permissions(req["stages"]))
    plan = s.plan_or_400(req["stages"], s.ETL_NAMES, etl=req["etl"], target=req["target"], schema=req["schema"],
                         sync=req["sync"])
    return _start(request, plan)


@api_view(("GET",))
def job_status(request, run_id: int):
    return JsonResponse(s.job_view(_run_or_404(run_id), request))


@api_view(("GET",))
def etl_history(request):
    """Latest runs, newest first; ?limit=1..100 (default 20), ?status=queued|running|completed|failed|cancelled."""
    raw = request.GET.get("limit") or "20"
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 3 or not 1 <= int(raw) <= s.HISTORY_LIMIT:
        raise ApiError(f"expected a whole number from 1 to {s.HISTORY_LIMIT}.", "limit")
    runs = Run.objects.prefetch_related("steps")
    status = request.GET.get("status")
    if status:
        if status not in s.JOB_STATUSES:
            raise ApiError(f"{json.dumps(status)} is not one of {', '.join(s.JOB_STATUSES)}.", "status")
        runs = runs.filter(status__in=[k for k, v in s.STATUS_VIEW.items() if v == status])
    jobs = [s.job_view(run, request) for run in runs[: int(raw)]]
    return JsonResponse({"jobs": jobs, "count": len(jobs)})


@api_view(("POST",))
def etl_cancel(request, run_id: int):
    """Cancel a queued run at once, or ask a running one to stop (needs the permissions to start it)."""
    run = _run_or_404(run_id)
    if not can_run_stages(request.user, run.stages):
        require(request.user, stage_permissions(run.stages) or ["jobs.run_etl"])
    outcome = cancel_run(run, request.user)
    run.refresh_from_db()
    return JsonResponse({"outcome": outcome, "job": s.job_view(run, request)})


@api_view(("POST",))
def generate_schema(request):
    """Render the SQL script for the options and keep it as the latest schema file (no Run: no target is touched).

    Needs apply_schema: the file is what a later load-schema without options applies."""
    require(request.user, ["jobs.apply_schema"])

    body = s.parse_body(request)
    s.reject_unknown(body, s.SCHEMA_FIELDS)
    part = s.schema_plan_or_400(s.parse_schema_options(body))
    sql = render_script(schema_options(part["options"]))
    folder = schema_dir()
    folder.mkdir(parents=True, exist_ok=True)
    data = sql.encode("utf-8")
    info = {"file": "latest.sql", "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
            "tables": part["resolved"]["tables"], "options": part["options"],
            "generated_at": datetime.now(UTC).isoformat(),
            "download_url": request.build_absolute_uri("/api/upload/schema-file")}
    for name, content in (("latest.sql", data), ("latest.json", json.dumps(info, indent=2).encode())):
        tmp = folder / f".{name}.{os.getpid()}.tmp"
        tmp.write_bytes(content)
        tmp.replace(folder / name)
    return JsonResponse(info)


@api_view(("GET",))
def schema_file(request):
    path = schema_dir() / "latest.sql"
    if not path.is_file():
        raise ApiError("No schema has been generated yet: POST /api/upload/generate-schema first.", status=404)
    return FileResponse(path.open("rb"), as_attachment=True, filename="reset_supabase.sql",
                        content_type="application/sql; charset=utf-8")


@api_view(("POST",))
def load_schema(request):
    """A Run with the schema stage (plan against the target, apply). Without selection or flag options the
    options of the latest generated file are used; destructive changes need allow_destructive and the
    apply_destructive_schema permission."""
    data = s.parse_body(request)
    s.reject_unknown(data, {*s.SCHEMA_FIELDS, "allow_destructive", "target"})
    destructive = s.boolean(data, "allow_destructive")
    require(request.user, stage_permissions(["schema"], destructive))
    requested = s.parse_schema_options(data)
    if not requested:
        latest = schema_dir() / "latest.json"
        if latest.is_file():
            requested = {k: v for k, v in json.loads(latest.read_text())["options"].items() if k != "drop"}
    plan = s.plan_or_400(["schema"], target=s.target_name(data),
                         schema={**requested, "allow_destructive": destructive})
    return _start(request, plan)


@api_view(("POST",))
def to_supabase(request):
    """Sync published tables to a target: dry_run answers plan_sync's result (read-only, no Run); otherwise a
    Run with the sync stage."""
    sync, target, dry_run = s.parse_sync(s.parse_body(request))
    if not dry_run:
        require(request.user, stage_permissions(["sync"]))
        return _start(request, s.plan_or_400(["sync"], s.SYNC_NAMES, target=target, sync=sync))

    spec = s.plan_or_400(["sync"], s.SYNC_NAMES, target=target, sync=sync)["sync"]
    url = ""
    try:
        options = sync_options(sync, dry_run=True)
        if get_target(target).kind == "supabase-rest":
            result = resolve_sync(spec["output_dir"], options)
            result.target = target
        else:
            url = resolve_url(target)
            result = plan_sync(url, spec["output_dir"], options, target_name=target)
    except ValueError as exc:
        raise ApiError(without_secrets(str(exc), url), "target") from None
    except (EtlError, psycopg.Error, OSError) as exc:
        raise ApiError(f"Could not plan the sync to target '{target}': {without_secrets(str(exc), url)}",
                       "target", status=409) from None
    return JsonResponse({"dry_run": True, "target": target, "plan": result.as_dict(),
                         "summary": result.describe()})


@api_view(("GET",), auth=False)
def health(request):
    """Database, broker and each target's reachability; never a URL or an error text that could hold one.

    Needs no token, so it is cheap to call and cannot be used to hammer the targets: the report is cached for
    HOCKEYOPS_HEALTH_CACHE_SECONDS and each client may ask HOCKEYOPS_HEALTH_RATE_PER_MINUTE times a minute.
    """
    client = request.META.get("REMOTE_ADDR", "")
    window = int(time.time() // 60)
    key = f"hockeyops:health-rate:{client}:{window}"
    cache.add(key, 0, 61)
    if cache.incr(key) > settings.HOCKEYOPS_HEALTH_RATE_PER_MINUTE:
        response = JsonResponse({"error": "too many health checks from this client; try again in a minute.",
                                 "field": ""}, status=429)
        response["Retry-After"] = str(60 - int(time.time()) % 60)
        return response
    report = cache.get("hockeyops:health")
    if report is None:
        report = _health_report()
        cache.set("hockeyops:health", report, settings.HOCKEYOPS_HEALTH_CACHE_SECONDS)
    return JsonResponse(report, status=200 if report["database"]["ok"] else 503)


def _health_report() -> dict:
    report: dict = {"checked_at": datetime.now(UTC).isoformat(timespec="seconds")}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        report["database"] = {"ok": True}
    except Exception as exc:  # any failure is the report, not a 500
        report["database"] = {"ok": False, "error": type(exc).__name__}
    report["broker"] = _broker()
    report["targets"] = {name: _target_health(info) for name, info in sorted(available_targets().items())}
    healthy = report["database"]["ok"] and report["broker"]["ok"] is not False
    report["status"] = "ok" if healthy and all(t["ok"] is not False for t in report["targets"].values()) \
        else "degraded"
    return report


def _broker() -> dict:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"ok": True, "kind": "in-process"}

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return {"ok": True, "kind": "broker"}
    except Exception as exc:  # unreachable broker is reported
        return {"ok": False, "kind": "broker", "error": type(exc).__name__}


def _target_health(info) -> dict:
    url = info.url()
    out = {"kind": info.kind, "declared_by": info.declared_by}
    if not url:
        detail = "started on demand" if info.name == "embedded" else "no URL configured"
        return {**out, "ok": None if info.name == "embedded" else False, "detail": detail}
    try:
        if info.kind == "postgres":
            with psycopg.connect(url, connect_timeout=3) as conn:
                conn.execute("SELECT 1")
        else:
            parts = urlsplit(url)
            port = parts.port or (443 if parts.scheme == "https" else 80)
            socket.create_connection((parts.hostname, port), timeout=3).close()
        return {**out, "ok": True}
    except Exception as exc:  # reachability only; the message may contain the URL
        return {**out, "ok": False, "error": type(exc).__name__}


@api_view(("GET",), auth=False)
def openapi(request):
    return JsonResponse(document(request.build_absolute_uri("/").rstrip("/")))
