"""Turn stage requests into a frozen plan: concrete stages, games, tables and input hashes. Never writes.

What a Run freezes here is what it executes (``jobs.services.execute`` checks the inputs against it).
"""
from __future__ import annotations

from django.conf import settings

from etl.errors import EtlError, SelectionError
from etl.pipeline import EtlOptions, plan_etl
from etl.schema import SchemaOptions
from etl.sync import SyncOptions, resolve_sync
from etl.text import plural
from jobs.models import STAGE_ORDER, Stage
from jobs.requests import EtlRequest, RequestError, SchemaRequest, SyncRequest, as_request

from .targets import get_target, resolve_url


class PlanError(ValueError):
    """The request cannot be planned; ``field`` names the request field it is about ("" for the whole request)."""

    def __init__(self, message: str, field: str = "", stage: str = "") -> None:
        super().__init__(message)
        self.field, self.stage = field, stage


def _field_of_selection_error(message: str) -> str:
    text = message.lower()
    if "game" in text:
        return "games"
    return "tables"


def etl_options(request: EtlRequest, target: str | None = None) -> EtlOptions:
    """EtlOptions from a request; the staging source gets the target's URL (resolved, never stored)."""
    options = EtlOptions(
        data_dir=request.data_dir or str(settings.HOCKEYOPS_DATA_DIR),
        output_dir=request.output_dir or str(settings.HOCKEYOPS_OUTPUT_DIR),
        games=list(request.games), exclude_games=list(request.exclude_games), tables=list(request.tables),
        exclude_tables=list(request.exclude_tables), mode=request.mode, source=request.source,
    )
    if options.source == "staging" and target:
        options.staging_url = resolve_url(target)
    return options


def sync_options(request: SyncRequest, **overrides):
    """The library's SyncOptions for a request (max_shrink defaults to the HOCKEYOPS_SYNC_MAX_SHRINK setting)."""
    values = {"tables": request.tables, "exclude_tables": request.exclude_tables, "games": request.games,
              "per_table_commit": request.per_table_commit, "verify": request.verify,
              "lock_timeout": request.lock_timeout, "lock_wait": request.lock_wait,
              "resume_from": request.resume_from}
    values["allow_shrink"] = request.allow_shrink
    values["full_refresh"] = request.full_refresh
    values["max_shrink"] = request.max_shrink if request.max_shrink is not None else settings.HOCKEYOPS_SYNC_MAX_SHRINK
    values.update(overrides)
    return SyncOptions(**values)


def _request(stage: str, value):
    try:
        return as_request(stage, value)
    except RequestError as exc:
        raise PlanError(exc.message, exc.field, stage) from None


def build_plan(stages: list[str], etl: EtlRequest | dict | None = None, target: str = "embedded",
               schema: SchemaRequest | dict | None = None, sync: SyncRequest | dict | None = None,
               replan: bool = False) -> dict:
    """The plan a Run freezes: each stage's request and what it resolved to.

    ``replan``: when an input changed between planning and execution, plan again instead of failing (a Job's
    opt-in; the run log then says so).
    """
    ordered = [s.value for s in STAGE_ORDER if s.value in set(stages)]
    unknown = sorted(set(stages) - {s.value for s in STAGE_ORDER})
    if unknown:
        raise PlanError(f"Unknown stage {', '.join(unknown)}; use etl, schema or sync.", "stages")
    if not ordered:
        raise PlanError("Choose at least one stage.", "stages")
    try:
        info = get_target(target)
    except ValueError as exc:
        raise PlanError(str(exc), "target") from None
    plan: dict = {"stages": ordered, "target": target, "replan": bool(replan)}
    if Stage.ETL in ordered:
        plan["etl"] = etl_plan(_request("etl", etl), target)
    if Stage.SCHEMA in ordered:
        if info.kind == "supabase-rest":
            raise PlanError(f"Target '{target}' is a Supabase REST target: schemas cannot be applied through the "
                            "REST API. Apply the schema through a direct PostgreSQL target.", "target", "schema")
        plan["schema"] = schema_plan(_request("schema", schema))
    if Stage.SYNC in ordered:
        request = _request("sync", sync)
        output_dir = (plan.get("etl", {}).get("options", {}).get("output_dir") or request.output_dir
                      or str(settings.HOCKEYOPS_OUTPUT_DIR))
        plan["sync"] = sync_plan(request, output_dir, after_etl=Stage.ETL in ordered)
    return plan


def etl_plan(request: EtlRequest, target: str) -> dict:
    """The ETL stage's frozen part: the request, the resolved plan with every input hash, and the step units."""
    try:
        options = etl_options(request, target)
    except ValueError as exc:  # the staging source's target has no URL
        raise PlanError(str(exc), "target", "etl") from None
    try:
        resolved = plan_etl(options)
    except SelectionError as exc:
        raise PlanError(str(exc), _field_of_selection_error(str(exc)), "etl") from None
    except (EtlError, ValueError) as exc:  # the inputs cannot be read: about the source (staging: the target)
        raise PlanError(str(exc), "target" if request.source == "staging" else "", "etl") from None
    public = options.public()
    public.pop("workers", None)
    return {
        "requested": request.as_dict(),
        "options": public,
        "frozen": resolved.as_dict(),
        "resolved": {
            "tables": resolved.tables, "build": resolved.build, "reasons": resolved.reasons,
            "games": [g.game_id for g in resolved.games], "mode": resolved.mode,
            "full_reason": resolved.full_reason, "left_out": resolved.left_out, "dropped": resolved.dropped,
            "game_actions": {str(g.game_id): f"{g.action} ({g.why})" for g in resolved.games},
        },
        "units": ["master"] + [f"game {g.game_id}" for g in resolved.games] + ["publish"],
    }


def sync_plan(request: SyncRequest, output_dir: str, after_etl: bool) -> dict:
    """The sync stage's frozen part. After an ETL stage the outputs do not exist yet: only the selection is
    resolved now; the manifest the ETL stage publishes is what the sync then loads."""
    try:
        options = sync_options(request)
        if after_etl:
            tables = options.selection().resolve()
            resolved = {"tables": tables, "after_etl": True}
            units = tables + ([] if options.per_table_commit else ["publish"])
        else:
            sync = resolve_sync(output_dir, options)
            resolved = sync.as_dict()
            units = list(sync.units)
    except SelectionError as exc:
        raise PlanError(str(exc), _field_of_selection_error(str(exc)), "sync") from None
    except (EtlError, TypeError, ValueError) as exc:  # the outputs are missing or unreadable: the whole request
        raise PlanError(str(exc), "", "sync") from None
    return {"requested": request.as_dict(), "options": options.as_dict(), "output_dir": output_dir,
            "resolved": resolved, "units": units}


def schema_plan(request: SchemaRequest) -> dict:
    """The schema stage's frozen part: the request and the tables it resolves to (no database is touched)."""
    try:
        options = request.options()
        tables = [t.name for t in options.resolve()]
    except (EtlError, TypeError) as exc:
        raise PlanError(str(exc), "tables", "schema") from None
    return {"requested": request.as_dict(), "options": options.as_dict(),
            "allow_destructive": request.allow_destructive, "resolved": {"tables": tables}, "units": ["plan", "apply"]}


def schema_options(options: dict):
    """SchemaOptions from a frozen plan's ``options``."""
    return SchemaOptions(**{k: tuple(v) if isinstance(v, list) else v for k, v in options.items()})


def describe(plan: dict) -> list[str]:
    """Human-readable lines for previews and the run page."""
    lines = [f"Stages: {', '.join(plan['stages'])} on target '{plan['target']}'"]
    etl = plan.get("etl")
    if etl:
        r = etl["resolved"]
        lines.append(f"ETL ({r['mode']}{': ' + r['full_reason'] if r['full_reason'] else ''}): "
                     f"{plural(len(r['games']), 'game')} published, {plural(len(r['tables']), 'table')} written, "
                     f"{len(r['build'])} built")
        for gid in r["games"]:
            lines.append(f"  game {gid}: {r['game_actions'][str(gid)]}")
        if r.get("left_out"):
            lines.append(f"  not published (neither selected nor in the previous outputs): "
                         f"{', '.join(map(str, r['left_out']))}")
        if r.get("dropped"):
            lines.append(f"  WARNING: games of the previous outputs without a workbook now (they will be gone): "
                         f"{', '.join(map(str, r['dropped']))}")
        for table in r["build"]:
            lines.append(f"  {table}: {'write' if table in r['tables'] else 'build only'} ({r['reasons'][table]})")
    schema = plan.get("schema")
    if schema:
        flags = [k for k in ("pk", "fk", "indexes", "comments", "rls") if schema["options"].get(k)]
        lines.append(f"Schema: plan and apply {plural(len(schema['resolved']['tables']), 'table')} "
                     f"({', '.join(flags)}); "
                     f"destructive changes {'allowed' if schema['allow_destructive'] else 'refused'}")
    sync = plan.get("sync")
    if sync:
        tables = sync["resolved"].get("tables", [])
        names = [t["name"] if isinstance(t, dict) else t for t in tables]
        games = sync["options"].get("games") or []
        lines.append(f"Sync: {plural(len(names), 'table')} from {sync['output_dir']}"
                     + (f", games {', '.join(map(str, games))}" if games else "")
                     + (" (per-table commits)" if sync["options"].get("per_table_commit") else " (one transaction)")
                     + ("; shrinking allowed" if sync["requested"].get("allow_shrink") else ""))
    if plan.get("replan"):
        lines.append("Inputs that change before the run starts are planned again (the Job allows it).")
    return lines
