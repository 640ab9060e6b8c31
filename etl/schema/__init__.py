"""Schema stage: catalog → DDL script, live-database plan and transactional apply (no Django here).

- ``render_script(options, tables)``: the deterministic SQL script (``sql/reset_supabase.sql``).
- ``plan_schema(url, options, tables=...)``: operations that would make the target match; never writes.
- ``apply_schema(url, options, target_name=..., ...)``: runs the plan in one transaction under the
  target's advisory lock and records it in ``hockeyops_schema_history``.
"""
from __future__ import annotations

from ..writer_lock import LockBusy, LockWait, lock_key, target_lock
from .apply import ApplyFailed, ApplyResult, DestructiveChangeRefused, apply_schema, history
from .ddl import HISTORY_TABLE, render_script
from .options import SchemaError, SchemaOptions, catalog_version_of
from .planner import Operation, Plan, plan_schema

__all__ = [
    "HISTORY_TABLE", "ApplyFailed", "ApplyResult", "DestructiveChangeRefused", "LockBusy", "LockWait", "Operation",
    "Plan", "SchemaError", "SchemaOptions", "apply_schema", "catalog_version_of", "history", "lock_key",
    "plan_schema", "render_script", "target_lock",
]
