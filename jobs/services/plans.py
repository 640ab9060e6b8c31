"""Turn requested options into a frozen plan: concrete stages, games and tables. Never writes."""
from __future__ import annotations

from django.conf import settings

from etl.pipeline import EtlOptions, plan_etl
from jobs.models import STAGE_ORDER, Stage

from .targets import get_target


class PlanError(ValueError):
    """The request cannot be planned; the message names what is wrong."""


def etl_options(requested: dict, target: str | None = None) -> EtlOptions:
    """EtlOptions from a request; the staging source gets the target's URL (resolved, never stored)."""
    options = EtlOptions(
        data_dir=str(requested.get("data_dir") or settings.HOCKEYOPS_DATA_DIR),
        output_dir=str(requested.get("output_dir") or settings.HOCKEYOPS_OUTPUT_DIR),
        games=[int(g) for g in requested.get("games") or []],
        exclude_games=[int(g) for g in requested.get("exclude_games") or []],
        tables=list(requested.get("tables") or []),
        exclude_tables=list(requested.get("exclude_tables") or []),
        mode=requested.get("mode") or "full",
        source=requested.get("source") or "excel",
    )
    if options.source == "staging" and target:
        from .targets import resolve_url

        options.staging_url = resolve_url(target)
    return options


def build_plan(stages: list[str], etl: dict | None = None, target: str = "embedded",
               schema: dict | None = None, sync: dict | None = None) -> dict:
    """The plan a Run freezes: options as requested and as resolved, per stage."""
    from etl.errors import EtlError

    ordered = [s.value for s in STAGE_ORDER if s.value in set(stages)]
    unknown = sorted(set(stages) - {s.value for s in STAGE_ORDER})
    if unknown:
        raise PlanError(f"Unknown stage {', '.join(unknown)}; use etl, schema or sync.")
    if not ordered:
        raise PlanError("Choose at least one stage.")
    try:
        get_target(target)
    except ValueError as exc:
        raise PlanError(str(exc)) from None
    plan: dict = {"stages": ordered, "target": target}
    if Stage.ETL in ordered:
        try:
            options = etl_options(etl or {}, target)
            resolved = plan_etl(options)
        except (EtlError, ValueError) as exc:
            raise PlanError(str(exc)) from None
        requested = options.public()
        requested.pop("workers", None)
        plan["etl"] = {
            "requested": {k: v for k, v in (etl or {}).items()},
            "options": {**requested, "games": [g.game_id for g in resolved.games] or requested["games"],
                        "tables": resolved.tables},
            "resolved": {
                "tables": resolved.tables, "build": resolved.build, "reasons": resolved.reasons,
                "games": [g.game_id for g in resolved.games], "mode": resolved.mode,
                "full_reason": resolved.full_reason,
                "game_actions": {str(g.game_id): f"{g.action} ({g.why})" for g in resolved.games},
            },
            "units": ["master"] + [f"game {g.game_id}" for g in resolved.games] + ["publish"],
        }
    if Stage.SCHEMA in ordered:
        if get_target(target).kind == "supabase-rest":
            raise PlanError(f"Target '{target}' is a Supabase REST target: schemas cannot be applied through the "
                            "REST API. Apply the schema through a direct PostgreSQL target.")
        plan["schema"] = schema_plan(schema or {})
    if Stage.SYNC in ordered:
        output_dir = (plan.get("etl", {}).get("options", {}).get("output_dir")
                      or (sync or {}).get("output_dir") or str(settings.HOCKEYOPS_OUTPUT_DIR))
        plan["sync"] = sync_plan(sync or {}, output_dir, after_etl=Stage.ETL in ordered)
    return plan


def sync_plan(requested: dict, output_dir: str, after_etl: bool) -> dict:
    """The sync stage's frozen part. After an ETL stage the outputs do not exist yet: only the selection is
    resolved now, and rows/strategies at execution."""
    from etl.errors import EtlError
    from etl.sync import SyncOptions, resolve_sync

    try:
        options = SyncOptions.from_dict({k: v for k, v in requested.items() if k != "output_dir"})
        if after_etl:
            tables = options.selection().resolve()
            resolved = {"tables": tables, "after_etl": True}
            units = tables + ([] if options.per_table_commit else ["publish"])
        else:
            sync = resolve_sync(output_dir, options)
            resolved = sync.as_dict()
            units = list(sync.units)
    except (EtlError, TypeError, ValueError) as exc:
        raise PlanError(str(exc)) from None
    return {"requested": dict(requested), "options": options.as_dict(), "output_dir": output_dir,
            "resolved": resolved, "units": units}


SCHEMA_FIELDS = ("tables", "modes", "patterns", "exclude", "pk", "fk", "indexes", "comments", "rls", "rls_role")


def schema_options(requested: dict):
    """SchemaOptions from a request (unknown keys ignored; lists for the selection terms)."""
    from etl.schema import SchemaOptions

    values = {k: requested[k] for k in SCHEMA_FIELDS if k in requested and requested[k] is not None}
    for key in ("tables", "modes", "patterns", "exclude"):
        if key in values:
            values[key] = tuple(values[key])
    return SchemaOptions(**values)


def schema_plan(requested: dict) -> dict:
    """The schema stage's frozen part: options as requested and resolved (no database is touched)."""
    from etl.errors import EtlError

    try:
        options = schema_options(requested)
        tables = [t.name for t in options.resolve()]
    except (EtlError, TypeError) as exc:
        raise PlanError(str(exc)) from None
    return {"requested": dict(requested), "options": options.as_dict(),
            "allow_destructive": bool(requested.get("allow_destructive")),
            "resolved": {"tables": tables}, "units": ["plan", "apply"]}


def describe(plan: dict) -> list[str]:
    """Human-readable lines for previews and the run page."""
    lines = [f"Stages: {', '.join(plan['stages'])} on target '{plan['target']}'"]
    etl = plan.get("etl")
    if etl:
        r = etl["resolved"]
        lines.append(f"ETL ({r['mode']}{': ' + r['full_reason'] if r['full_reason'] else ''}): "
                     f"{len(r['games'])} games, {len(r['tables'])} tables written, {len(r['build'])} built")
        for gid in r["games"]:
            lines.append(f"  game {gid}: {r['game_actions'][str(gid)]}")
        for table in r["build"]:
            lines.append(f"  {table}: {'write' if table in r['tables'] else 'build only'} ({r['reasons'][table]})")
    schema = plan.get("schema")
    if schema:
        flags = [k for k in ("pk", "fk", "indexes", "comments", "rls") if schema["options"].get(k)]
        lines.append(f"Schema: plan and apply {len(schema['resolved']['tables'])} tables ({', '.join(flags)}); "
                     f"destructive changes {'allowed' if schema['allow_destructive'] else 'refused'}")
    sync = plan.get("sync")
    if sync:
        tables = sync["resolved"].get("tables", [])
        names = [t["name"] if isinstance(t, dict) else t for t in tables]
        games = sync["options"].get("games") or []
        lines.append(f"Sync: {len(names)} tables from {sync['output_dir']}"
                     + (f", games {', '.join(map(str, games))}" if games else "")
                     + (" (per-table commits)" if sync["options"].get("per_table_commit") else " (one transaction)"))
    return lines
