"""Request parsing with field-named 400 errors, and the job view the league's clients read."""
from __future__ import annotations

import json

from django.urls import reverse

from etl.errors import EtlError
from etl.selection import match_term
from jobs.models import Run, RunStep
from jobs.services.plans import PlanError, build_plan

STATUS_VIEW = {Run.Status.QUEUED: "queued", Run.Status.RUNNING: "running", Run.Status.SUCCEEDED: "completed",
               Run.Status.FAILED: "failed", Run.Status.CANCELLED: "cancelled", Run.Status.SKIPPED: "failed"}
JOB_STATUSES = ["queued", "running", "completed", "failed", "cancelled"]
ETL_MODES = ["full", "incremental", "single"]
SOURCES = {"excel": "excel", "staging": "staging", "supabase": "staging"}  # 'supabase' is the old word
HISTORY_LIMIT = 100


class ApiError(Exception):
    """A client error: HTTP status, the field at fault (or '') and a readable message."""

    def __init__(self, message: str, field: str = "", status: int = 400) -> None:
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
    if not isinstance(data, dict):
        raise ApiError("the request body must be a JSON object.", "body")
    return data


def strings(data: dict, field: str) -> list[str]:
    """A list of strings; a single string is split on commas and spaces (as in the admin)."""
    value = data.get(field)
    if value is None:
        return []
    if isinstance(value, str):
        return [p for p in value.replace(",", " ").split() if p]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ApiError("expected a list of strings.", field)
    return [v.strip() for v in value if v.strip()]


def game_ids(data: dict, field: str) -> list[int]:
    """Game numbers: integers or digit strings."""
    value = data.get(field)
    if value is None:
        return []
    if isinstance(value, int | str):
        value = [value]
    if not isinstance(value, list):
        raise ApiError("expected a list of game numbers.", field)
    out = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int | str) or not str(item).strip().isdigit():
            raise ApiError(f"{json.dumps(item)} is not a game number.", field)
        number = int(str(item).strip())
        if number > 2**31 - 1:
            raise ApiError(f"{number} is not a game number.", field)
        out.append(number)
    return out


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


def check_tables(terms: list[str], field: str) -> None:
    """Each table term (name, glob or mode) through the shared grammar; the error names the field."""
    for term in terms:
        try:
            match_term(term)
        except EtlError as exc:
            raise ApiError(str(exc), field) from None


def plan_or_400(stages: list[str], **kwargs) -> dict:
    """``build_plan`` with its PlanError turned into a 400 naming the field it is about."""
    try:
        return build_plan(stages, **kwargs)
    except PlanError as exc:
        raise ApiError(str(exc), _field_of(str(exc))) from None


def _field_of(message: str) -> str:
    text = message.lower()
    if "target" in text:
        return "target"
    if "game" in text:
        return "game_ids"
    if "table" in text or "pattern" in text or "mode" in text or "selection" in text:
        return "tables"
    return "body"


def parse_etl_trigger(data: dict) -> dict:
    """Validated /etl/trigger request -> {stages, etl, target, schema, sync} for ``build_plan``."""
    allowed = {"mode", "game_ids", "exclude_game_ids", "tables", "exclude_tables", "source", "options", "target"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ApiError(f"unknown field(s) {', '.join(unknown)}.", unknown[0])
    mode = choice(data, "mode", ETL_MODES, "full")
    games, excluded = game_ids(data, "game_ids"), game_ids(data, "exclude_game_ids")
    tables, exclude = strings(data, "tables"), strings(data, "exclude_tables")
    source = SOURCES[choice(data, "source", list(SOURCES), "excel")]
    options = data.get("options") or {}
    if not isinstance(options, dict):
        raise ApiError("expected an object.", "options")
    extra = sorted(set(options) - {"regenerate_schema", "upload_to_supabase", "wipe"})
    if extra:
        raise ApiError(f"unknown option(s) {', '.join(extra)}.", "options")
    flags = {k: boolean(options, k) for k in ("regenerate_schema", "upload_to_supabase", "wipe")}
    if mode == "single" and not games:
        raise ApiError("mode 'single' needs at least one game id.", "game_ids")
    check_tables(tables, "tables")
    check_tables(exclude, "exclude_tables")
    etl_mode = "full" if mode == "single" or flags["wipe"] else mode
    stages = ["etl"] + (["schema"] if flags["regenerate_schema"] else []) + (
        ["sync"] if flags["upload_to_supabase"] else [])
    selection = {"tables": tables, "exclude": exclude}
    return {
        "stages": stages, "target": target_name(data),
        "etl": {"games": games, "exclude_games": excluded, "tables": tables, "exclude_tables": exclude,
                "source": source, "mode": etl_mode},
        "schema": selection if flags["regenerate_schema"] else None,
        "sync": {**selection, "games": games if mode == "single" else []} if flags["upload_to_supabase"] else None,
    }


SCHEMA_FLAGS = ("pk", "fk", "indexes", "comments", "rls")


def parse_schema_options(data: dict) -> dict:
    """Schema options (same words as ``schema generate``): tables, modes, patterns, exclude, flags, rls_role."""
    out: dict = {}
    for field in ("tables", "modes", "patterns", "exclude"):
        terms = strings(data, field)
        if field != "modes":
            check_tables(terms, field)
        if terms:
            out[field] = terms
    for flag in SCHEMA_FLAGS:
        if data.get(flag) is not None:
            out[flag] = boolean(data, flag)
    if data.get("rls_role") is not None:
        if not isinstance(data["rls_role"], str):
            raise ApiError("expected a role name.", "rls_role")
        out["rls_role"] = data["rls_role"]
    return out


def schema_plan_or_400(requested: dict) -> dict:
    """The schema stage's plan part (shared plan code); its errors become 400s."""
    from jobs.services.plans import schema_plan

    try:
        return schema_plan(requested)
    except PlanError as exc:
        message = str(exc)
        field = "rls_role" if "role" in message else "fk" if "foreign key" in message.lower() else _field_of(message)
        raise ApiError(message, field) from None
    except EtlError as exc:  # SchemaOptions validation
        raise ApiError(str(exc), "body") from None


def parse_sync(data: dict) -> tuple[dict, str, bool]:
    """Validated /upload/to-supabase request -> (sync options for ``build_plan``, target, dry_run)."""
    tables = strings(data, "tables")
    patterns = strings(data, "pattern") + strings(data, "patterns")
    exclude = strings(data, "exclude_tables")
    modes = strings(data, "mode")
    check_tables(tables, "tables")
    check_tables(patterns, "pattern")
    check_tables(exclude, "exclude_tables")
    check_tables(modes, "mode")
    sync = {"tables": tables, "patterns": patterns, "exclude": exclude, "modes": modes,
            "games": game_ids(data, "game_ids"), "per_table_commit": boolean(data, "per_table_commit"),
            "verify": boolean(data, "verify", True)}
    return sync, target_name(data), boolean(data, "dry_run")


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def tables_created(run: Run) -> list[str]:
    """Tables the run's sync stage (or else its ETL stage) delivered: succeeded table steps / a published ETL."""
    steps = {(s.stage, s.unit): s.status for s in run.steps.all()}
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
    errors += [f"{s.stage} {s.unit}: {s.detail}".strip() for s in run.steps.all()
               if s.status == RunStep.Status.FAILED and s.detail]
    if run.status == Run.Status.SKIPPED and not run.error_summary:
        errors.append("The run was skipped: another run held the target.")
    step = ": ".join(p for p in (run.current_stage, run.current_unit) if p)
    url = reverse("admin:jobs_run_change", args=[run.pk])
    return {
        "job_id": run.pk, "status": STATUS_VIEW.get(run.status, run.status), "run_status": run.status,
        "progress": max(0, min(100, round(run.percent or 0))), "current_step": step,
        "tables_created": tables_created(run), "errors": errors,
        "created_at": _iso(run.created_at), "started_at": _iso(run.started_at),
        "completed_at": _iso(run.finished_at), "trigger": run.trigger, "target": run.target_name,
        "stages": run.stages, "run_url": request.build_absolute_uri(url) if request is not None else url,
        "plan": run.plan,
    }
