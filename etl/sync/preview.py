"""The sync preview: the resolved plan checked against the target, read-only (what ``sync_tables`` would do)."""
from __future__ import annotations

from pathlib import Path

from .delta import plan_delta
from .guard import inspect_target
from .plan import SyncOptions, SyncPlan, resolve_sync
from .stream import OutputSnapshot
from .target import committed_by, connect, inspect_tables, validate


def plan_sync(url: str, output_dir: str | Path, options: SyncOptions, *, target_name: str = "") -> SyncPlan:
    """The resolved plan checked against the target (read-only): rows each table would replace, rows now and
    after, games that would disappear, shrinking tables and missing references (see ``etl.sync.guard``).

    Nothing is refused here: the plan only shows what ``sync_tables`` would refuse (``plan.shrinking`` without
    ``allow_shrink``, ``plan.refused_refs``).
    """
    with OutputSnapshot(output_dir) as snap:
        plan = resolve_sync(output_dir, options, snap)
        plan.target = target_name
        with connect(url, f"hockeyops sync plan ({target_name or 'target'})", read_only=True) as conn:
            live = inspect_tables(conn, plan.names)
            validate(plan.names, live, target_name)
            done = committed_by(conn, options.resume_from) if options.resume_from else {}
            for t in plan.tables:
                if done.get(t.name) == t.sha256:
                    t.skip = "committed by an earlier attempt"
            plan_delta(conn, plan, snap.manifest, options)
            inspect_target(conn, plan, snap, options)
    return plan
