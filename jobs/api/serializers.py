"""Request parsing with field-named 400 errors, and the job view the league's clients read."""
from __future__ import annotations

import json

from django.urls import reverse

from etl.errors import EtlError
from etl.selection import TableSelection, parse_game_ids, split_terms
from jobs.models import Run, RunStep
from jobs.requests import REQUESTS, RequestError
from jobs.services.plans import PlanError, build_plan, schema_plan
from jobs.services.redact import redact

STATUS_VIEW = {Run.Status.QUEUED: "queued", Run.Status.RUNNING: "running", Run.Status.SUCCEEDED: "completed",
               Run.Status.FAILED: "failed", Run.Status.CANCELLED: "cancelled", Run.Status.SKIPPED: "failed"}
JOB_STATUSES = ["queued", "running", "completed", "failed", "cancelled"]
ETL_MODES = ["full", "incremental", "single"]
SOURCES = {"excel": "excel", "staging": "staging", "supabase": "staging"}  # 'supabase' is the old word
HISTORY_LIMIT = 100


class ApiError(Exception):
    """A client error: HTTP status, the field at fault (or '') and a readable message."""

    def __init__(self, message: str, field: str = "", status: int = 400) -> None:
        message = redact(message)
        super().__init__(message)
        self.message, self.field, self.status = message, field, status

    def as_dict(self) -> dict:
        return {"error": f"{self.field}: {self.message}" if self.field else self.message, "field": self.field}


def parse_body(request) -> dict:
    """The JSON object in the request body ({} when empty)."""
    if not request.body:
        return {}
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise ApiError("the request body is not valid JSON.", "body") from None
    except RecursionError:
        raise ApiError("the request body is nested too deeply.", "body") from None
    if not isinstance(data, dict):
        raise ApiError("the request body must be a JSON object.", "body")
    return data


def strings(data: dict, field: str) -> list[str]:
    """A list of strings; a single string is split on commas and spaces (the one list splitter)."""
    value = data.get(field)
    if value is None:
        return []
    if not isinstance(value, str | list) or (isinstance(value, list) and not all(isinstance(v, str) for v in value)):
        raise ApiError("expected a list of strings.", field)
    return split_terms(value)


def game_ids(data: dict, field: str) -> list[int]:
    """Game numbers: integers or digit strings (the one game-id parser)."""
    try:
        return parse_game_ids(data.get(field))
    except EtlError as exc:
        raise ApiError(str(exc), field) from None


def boolean(data: dict, field: str, default: bool = False) -> bool:
    value = data.get(field, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ApiError("expected true or false.", field)
    return value


def choice(data: dict, field: str, choices, default: str) -> str:
    value = data.get(field)
    if value is None or value == "":
        return default
    if not isinstance(value, str) or value not in choices:
        raise ApiError(f"{json.dumps(value)} is not one of {', '.join(choices)}.", field)
    return value


def target_name(data: dict, field: str = "target") -> str:
    value = data.get(field)
    if value is None or value == "":
        return "embedded"
    if not isinstance(value, str):
        raise ApiError("expected a target name.", field)
    return value


def reject_unknown(data: dict, allowed: set[str], field: str = "") -> None:
    """A 400 naming the first field the endpoint does not know (a typo must never widen a request); ``field``
    names the object holding them when it is not the body."""
    unknown = sorted(set(data) - allowed)
    if unknown:
        where = f" in {field}" if field else ""
        raise ApiError(f"unknown field(s) {', '.join(unknown)}{where}; the fields are {', '.join(sorted(allowed))}.",
                       field or unknown[0])


def check_terms(terms: list[str], field: str) -> None:
    """Each table term through the shared grammar, so that the 400 names the API field that holds it."""
    try:
        TableSelection(tuple(terms)).check()
    except EtlError as exc:
        raise ApiError(str(exc), field) from None


def build_request(stage: str, values: dict, names: dict[str, str]):
    """The stage's request from API values; a RequestError becomes a 400 naming the API field."""
    try:
        return REQUESTS[stage].from_dict(values)
    except RequestError as exc:
        raise ApiError(exc.message, names.get(exc.field, exc.field)) from None


def plan_or_400(stages: list[str], names: dict[str, str] | None = None, **kwargs) -> dict:
    """``build_plan`` with its PlanError turned into a 400 naming the API field it is about."""
    try:
        return build_plan(stages, **kwargs)
    except PlanError as exc:
        names = names or {}
        raise ApiError(str(exc), names.get(exc.field, exc.field or "body")) from None


# API field -> request field, per endpoint (the league's names are the outside vocabulary; see the README)
ETL_NAMES = {"games": "game_ids", "exclude_games": "exclude_game_ids", "tables": "tables",
             "exclude_tables": "exclude_tables", "mode": "mode", "source": "source", "target": "target"}
SYNC_NAMES = {"tables": "tables", "exclude_tables": "exclude_tables", "games": "game_ids",
              "per_table_commit": "per_table_commit", "verify": "verify", "allow_shrink": "allow_shrink",
              "full_refresh": "full_refresh",
              "target": "target"}


def parse_etl_trigger(data: dict) -> dict:
    """Validated /etl/trigger request -> {stages, etl, target, schema, sync} for ``build_plan``."""
    reject_unknown(data, {"mode", "game_ids", "exclude_game_ids", "tables", "exclude_tables", "source", "options",
                          "target"})
    for field in ("tables", "exclude_tables"):
        check_terms(strings(data, field), field)
    mode = choice(data, "mode", ETL_MODES, "full")
    games, excluded = game_ids(data, "game_ids"), game_ids(data, "exclude_game_ids")
    tables, exclude = strings(data, "tables"), strings(data, "exclude_tables")
    source = SOURCES[choice(data, "source", list(SOURCES), "excel")]
    options = data.get("options") or {}
    if not isinstance(options, dict):
        raise ApiError("expected an object.", "options")
    reject_unknown(options, {"regenerate_schema", "upload_to_supabase", "wipe", "allow_shrink"}, "options")
    flags = {k: boolean(options, k) for k in ("regenerate_schema", "upload_to_supabase", "wipe", "allow_shrink")}
    if mode == "single" and not games:
        raise ApiError("mode 'single' needs at least one game id.", "game_ids")
    etl_mode = "full" if mode == "single" or flags["wipe"] else mode
    stages = ["etl"] + (["schema"] if flags["regenerate_schema"] else []) + (
        ["sync"] if flags["upload_to_supabase"] else [])
    etl = build_request("etl", {"games": games, "exclude_games": excluded, "tables": tables,
                                "exclude_tables": exclude, "source": source, "mode": etl_mode}, ETL_NAMES)
    selection = {"tables": tables, "exclude_tables": exclude}
    schema = build_request("schema", selection, ETL_NAMES) if flags["regenerate_schema"] else None
    sync = build_request("sync", {**selection, "games": games if mode == "single" else [],
                                  "allow_shrink": flags["allow_shrink"]}, ETL_NAMES) \
        if flags["upload_to_supabase"] else None
    return {"stages": stages, "target": target_name(data), "etl": etl, "schema": schema, "sync": sync}


SCHEMA_FLAGS = ("pk", "fk", "indexes", "comments", "rls")
SCHEMA_FIELDS = {"tables", "modes", "patterns", "exclude", "exclude_tables", *SCHEMA_FLAGS, "rls_role"}


def parse_schema_options(data: dict) -> dict:
    """Schema request values (the words of ``schema generate``): tables, modes, patterns, exclude(_tables), flags,
    rls_role. Returns only what was given (load-schema falls back to the latest file's options)."""
    out: dict = {}
    for field in ("modes", "tables", "patterns", "exclude", "exclude_tables"):
        check_terms(strings(data, field), field)
    terms = strings(data, "modes") + strings(data, "tables") + strings(data, "patterns")
    excluded = strings(data, "exclude") + strings(data, "exclude_tables")
    if terms:
        out["tables"] = terms
    if excluded:
        out["exclude_tables"] = excluded
    for flag in SCHEMA_FLAGS:
        if data.get(flag) is not None:
            out[flag] = boolean(data, flag)
    if data.get("rls_role") is not None:
        if not isinstance(data["rls_role"], str):
            raise ApiError("expected a role name.", "rls_role")
        out["rls_role"] = data["rls_role"]
    build_request("schema", out, {"exclude_tables": "exclude"})  # errors name the field now
    return out


def schema_plan_or_400(requested: dict) -> dict:
    """The schema stage's plan part (shared plan code); its errors become 400s."""
    try:
        return schema_plan(build_request("schema", requested, {"exclude_tables": "exclude"}))
    except PlanError as exc:
        raise ApiError(str(exc), exc.field or "tables") from None


SYNC_FIELDS = {"tables", "pattern", "patterns", "mode", "exclude_tables", "game_ids", "per_table_commit", "verify",
               "allow_shrink", "full_refresh", "target", "dry_run"}


def parse_sync(data: dict) -> tuple:
    """Validated /upload/to-supabase request -> (SyncRequest, target, dry_run)."""
    reject_unknown(data, SYNC_FIELDS)
    for field in ("mode", "tables", "pattern", "patterns", "exclude_tables"):
        check_terms(strings(data, field), field)
    terms = strings(data, "mode") + strings(data, "tables") + strings(data, "pattern") + strings(data, "patterns")
    values = {"tables": terms, "exclude_tables": strings(data, "exclude_tables"), "games": game_ids(data, "game_ids"),
              "per_table_commit": boolean(data, "per_table_commit"), "verify": boolean(data, "verify", True),
              "allow_shrink": boolean(data, "allow_shrink"), "full_refresh": boolean(data, "full_refresh")}
    return build_request("sync", values, SYNC_NAMES), target_name(data), boolean(data, "dry_run")


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def tables_created(run: Run, all_steps: list[RunStep] | None = None) -> list[str]:
    """Tables the run's sync stage (or else its ETL stage) delivered: succeeded table steps / a published ETL."""
    steps = {(s.stage, s.unit): s.status for s in (all_steps if all_steps is not None else run.steps.all())}
    ok = RunStep.Status.SUCCEEDED
    plan = run.plan or {}
    if "sync" in plan.get("stages", []):
        units = [u for (stage, u) in steps if stage == "sync"]
        if "publish" in units and steps[("sync", "publish")] != ok:
            return []
        return [u for u in units if u != "publish" and steps[("sync", u)] == ok]
    if "etl" in plan.get("stages", []) and steps.get(("etl", "publish")) == ok:
        return list(plan["etl"]["resolved"]["tables"])
    return []


def job_view(run: Run, request=None) -> dict:
    """The job view the old clients read, plus ``run_url`` (absolute admin page) and the frozen ``plan``."""
    errors = [run.error_summary] if run.error_summary else []
    all_steps = list(run.steps.all())
    errors += [f"{s.stage} {s.unit}: {s.detail}".strip() for s in all_steps
               if s.status == RunStep.Status.FAILED and s.detail]
    if run.status == Run.Status.SKIPPED and not run.error_summary:
        errors.append("The run was skipped: another run held the target.")
    step = ": ".join(p for p in (run.current_stage, run.current_unit) if p)
    url = reverse("admin:jobs_run_change", args=[run.pk])
    return {
        "job_id": run.pk, "status": STATUS_VIEW.get(run.status, run.status), "run_status": run.status,
        "progress": max(0, min(100, round(run.percent or 0))), "current_step": step,
        "tables_created": tables_created(run, all_steps), "errors": errors,
        "created_at": _iso(run.created_at), "started_at": _iso(run.started_at),
        "completed_at": _iso(run.finished_at), "trigger": run.trigger, "target": run.target_name,
        "stages": run.stages, "run_url": request.build_absolute_uri(url) if request is not None else url,
        "plan": run.plan,
    }
