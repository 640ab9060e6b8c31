"""Who may do what: the permissions each stage needs, shared by the admin, the Job form and the API."""
from __future__ import annotations

STAGE_PERMISSIONS = {"etl": "jobs.run_etl", "schema": "jobs.apply_schema", "sync": "jobs.run_sync"}
DESTRUCTIVE_PERMISSION = "jobs.apply_destructive_schema"
STAGE_GROUPS = {"etl": "operator", "schema": "schema admin", "sync": "operator"}  # see jobs.groups
PERMISSION_NAMES = {
    "jobs.run_etl": "Can run ETL",
    "jobs.run_sync": "Can run sync",
    "jobs.apply_schema": "Can apply schema changes",
    "jobs.apply_destructive_schema": "Can apply destructive schema changes",
}


def stage_permissions(stages: list[str], destructive: bool = False) -> list[str]:
    """The permissions a user needs to start (or cancel, or retry) a run of these stages."""
    perms = [STAGE_PERMISSIONS[s] for s in stages if s in STAGE_PERMISSIONS]
    if destructive and "schema" in stages:
        perms.append(DESTRUCTIVE_PERMISSION)
    return perms


def can_run_stages(user, stages: list[str], destructive: bool = False) -> bool:
    perms = stage_permissions(stages, destructive)
    return bool(perms) and user.has_perms(perms)


def plan_is_destructive(plan: dict) -> bool:
    """True when a Run's plan lets its schema stage apply destructive changes."""
    return bool((plan.get("schema") or {}).get("allow_destructive"))


def missing_permission(user, stages: list[str], destructive: bool = False) -> str:
    """The readable name of the first permission ``user`` lacks for these stages ("" when none is missing)."""
    for perm in stage_permissions(stages, destructive) or ["jobs.run_etl"]:
        if not user.has_perm(perm):
            return PERMISSION_NAMES.get(perm, perm)
    return ""
