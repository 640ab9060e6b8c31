"""Targets: named destinations whose credentials are resolved from the environment, never stored."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

from django.conf import settings

from etl.sync.embedded_pg import ensure_running
from jobs.models import Target

EMBEDDED = "embedded"
_ENV = re.compile(r"^HOCKEYOPS_TARGET_([A-Z0-9_]+)_URL$")


@dataclass(frozen=True)
class TargetInfo:
    """What a worker knows about a target; ``url`` is resolved at use and never persisted or logged."""

    name: str
    kind: str
    description: str
    url_env: str
    key_env: str = ""
    declared_by: str = "admin"

    def url(self) -> str | None:
        return os.environ.get(self.url_env) or None


def env_var_for(name: str) -> str:
    return f"HOCKEYOPS_TARGET_{name.upper()}_URL"


def env_targets() -> dict[str, TargetInfo]:
    """Targets declared 12-factor style: HOCKEYOPS_TARGET_<NAME>_URL=postgresql://..."""
    found = {}
    for key in os.environ:
        m = _ENV.match(key)
        if m:
            name = m.group(1).lower()
            found[name] = TargetInfo(name, "postgres", f"declared by {key}", key, declared_by="environment")
    return found


def available_targets() -> dict[str, TargetInfo]:
    """Every usable target by name: embedded, environment-declared, then admin-declared (which win)."""
    targets = {EMBEDDED: TargetInfo(EMBEDDED, "postgres", "Embedded PostgreSQL started on demand in var/",
                                    env_var_for(EMBEDDED), declared_by="built-in")}
    targets.update(env_targets())
    for t in Target.objects.all():
        targets[t.name] = TargetInfo(t.name, t.kind, t.description, t.url_env or env_var_for(t.name),
                                     t.key_env, "admin")
    return targets


def get_target(name: str) -> TargetInfo:
    """The target called ``name``; ValueError naming it otherwise."""
    targets = available_targets()
    if name not in targets:
        raise ValueError(f"There is no target called '{name}'. Add it under Targets in the admin or set "
                         f"{env_var_for(name)}.")
    return targets[name]


def resolve_url(name: str) -> str:
    """The connection URL of target ``name``, resolved in the worker from the environment.

    The embedded target falls back to the project's own PostgreSQL, started on demand. The URL is a
    secret: callers pass it to etl/ and never store or log it.
    """
    info = get_target(name)
    url = info.url()
    if url:
        return url
    if name == EMBEDDED:
        return ensure_running(settings.HOCKEYOPS_EMBEDDED_PG_DIR)
    raise ValueError(f"Target '{name}' has no connection URL: set {info.url_env} in the worker's environment.")


def resolve_credentials(name: str) -> tuple[str, str | None]:
    """(URL, service key or None) of target ``name``: Supabase REST targets need both from the environment.

    Secrets: callers hand them to etl/ and never store or log them. ValueError names what is missing.
    """
    info = get_target(name)
    if info.kind != "supabase-rest":
        return resolve_url(name), None
    url = info.url()
    key = os.environ.get(info.key_env) if info.key_env else None
    if not url or not key:
        raise ValueError(f"Target '{name}' is a Supabase REST target: set {info.url_env} (project URL) and "
                         f"{info.key_env or 'its key variable'} (service key) in the environment.")
    return url, key
