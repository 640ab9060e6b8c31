"""The console's permission groups: viewer, operator, schema admin (each includes the previous one).

``ensure_groups`` is idempotent and only adds permissions, so permissions an administrator added to a
group by hand are kept. It runs after every ``migrate`` once connected with ``connect_post_migrate``.
"""
from __future__ import annotations

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.db import DEFAULT_DB_ALIAS
from django.db.models.signals import post_migrate

JOBS_MODELS = ("job", "jobchange", "run", "runstep", "runlog", "runartifact", "target", "targetlease")
VIEWER = tuple(f"view_{model}" for model in JOBS_MODELS)
OPERATOR = (*VIEWER, "run_etl", "run_sync", "add_job", "change_job")
SCHEMA_ADMIN = (*OPERATOR, "apply_schema", "apply_destructive_schema")
GROUPS: dict[str, tuple[str, ...]] = {"viewer": VIEWER, "operator": OPERATOR, "schema admin": SCHEMA_ADMIN}


def ensure_groups(using: str = DEFAULT_DB_ALIAS, **kwargs) -> dict[str, Group]:
    """Create the groups and give them their permissions (codenames of the jobs app)."""
    wanted = {code for codes in GROUPS.values() for code in codes}
    perms = _permissions(using, wanted)
    if len(perms) < len(wanted):  # called before the permissions were created (e.g. a fresh test database)
        create_permissions(global_apps.get_app_config("jobs"), verbosity=0, using=using)
        perms = _permissions(using, wanted)
    missing = wanted - set(perms)
    if missing:
        raise LookupError(f"Missing jobs permissions: {', '.join(sorted(missing))}.")
    groups = {}
    for name, codes in GROUPS.items():
        group, _ = Group.objects.using(using).get_or_create(name=name)
        group.permissions.add(*(perms[code] for code in codes))
        groups[name] = group
    return groups


def _permissions(using: str, codes: set[str]) -> dict[str, Permission]:
    found = Permission.objects.using(using).filter(content_type__app_label="jobs", codename__in=codes)
    return {p.codename: p for p in found}


def _after_migrate(sender, using: str = DEFAULT_DB_ALIAS, **kwargs) -> None:
    ensure_groups(using=using)


def connect_post_migrate(app_config) -> None:
    """Run ``ensure_groups`` after the jobs app is migrated (call from ``JobsConfig.ready``)."""
    post_migrate.connect(_after_migrate, sender=app_config, dispatch_uid="jobs.groups.ensure_groups")
