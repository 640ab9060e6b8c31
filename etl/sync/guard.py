"""The sync guard: what a load would remove from the target, and what its rows reference.

Run by ``plan_sync`` (read-only, for the preview) and by the PostgreSQL loader under the target's writer lock,
with counts taken after the lock is held and before anything is written (the refusal leaves the target exactly
as it was).

Shrink, per table to load (tables skipped because an earlier attempt committed them do not change):

- ``rows_now``: rows the target table holds; ``rows_after``: the file's rows (strategy full) or
  ``rows_now - replaced + loaded`` (strategy games).
- ``games_lost`` (game-scoped tables): games the target holds rows for in the table, whose rows the load
  removes (every game for a full refresh, the chosen games for a games sync), that the outputs do not cover
  for this table, and that have no row in the file. The games an output covers are its manifest's
  ``tables[name].games`` (else the manifest's ``games``), minus games whose status says they carry no data
  (TEMPLATE, INVALID): a covered game with no rows in a table (a game without data issues in
  ``qa_data_issues``) is not lost, but a game whose workbook turned INVALID loses its rows.
- ``shrinking``: loses a game, or ``(rows_now - rows_after) / rows_now > max_shrink``. A table empty in the
  target never shrinks.

Foreign-key closure, per table to load and per derived foreign key (``etl.schema.ddl.foreign_keys``) to a table
that is not in the selection: the distinct values of the column in the rows the load writes (one pass over the
file) are looked up in the target's referenced table (one query over ``unnest``). A referenced table that is
absent or empty, or keys it lacks, are a ``MissingRef``; ``enforced`` when the target has that foreign key
constraint (then the commit would fail, so the sync refuses before writing). The other direction too: a
table the load replaces (full refresh) must keep every key that a table outside the selection references in
the target (``reason`` ``orphans``). References between two selected tables are not checked here (both files
come from one ETL run); a violation there fails the commit, and the error names the table.
"""
from __future__ import annotations

import psycopg

from ..catalog import TABLES, TABLES_BY_NAME
from ..schema.ddl import ForeignKey, foreign_keys
from .errors import MissingReferences, ShrinkRefused
from .plan import MissingRef, SyncOptions, SyncPlan, TablePlan
from .stream import OutputSnapshot, distinct_values
from .target import (
    absent_keys,
    count_rows,
    foreign_key_constraints,
    game_counts,
    has_rows,
    inspect_tables,
    referenced_keys,
)

NO_DATA = ("TEMPLATE", "INVALID")  # game statuses whose games contribute no rows
EXAMPLES = 5

ALLOW_HINT = ('allow it explicitly: --allow-shrink (python manage.py sync), the checkbox "Allow shrinking tables" '
              '(admin), or "allow_shrink": true (API)')


def covered_games(manifest: dict, name: str) -> set[int]:
    """Games the outputs cover for table ``name`` (see the module docstring)."""
    games = manifest.get("games") or {}
    status = {str(g): str((v or {}).get("status", "")) for g, v in games.items()} if isinstance(games, dict) else {}
    listed = (manifest.get("tables", {}).get(name) or {}).get("games")
    if listed is None:
        listed = list(games)
    return {int(g) for g in listed if status.get(str(g), "") not in NO_DATA}


def inspect_target(conn: psycopg.Connection, plan: SyncPlan, snap: OutputSnapshot, options: SyncOptions) -> SyncPlan:
    """Fill the plan's rows now/after, replaced rows, games lost, shrinking tables and missing references."""
    plan.max_shrink, plan.allow_shrink = options.max_shrink, options.allow_shrink
    selected = set(plan.names)
    derived: dict[str, list[ForeignKey]] = {}
    for fk in foreign_keys(TABLES):
        if fk.table in selected and fk.ref_table not in selected:
            derived.setdefault(fk.table, []).append(fk)
    referenced: dict[str, list[ForeignKey]] = {}  # selected table -> foreign keys of unselected tables to it
    for fk in foreign_keys(TABLES):
        if fk.ref_table in selected and fk.table not in selected:
            referenced.setdefault(fk.ref_table, []).append(fk)
    refs = sorted({fk.ref_table for fks in derived.values() for fk in fks})
    others = sorted({fk.table for fks in referenced.values() for fk in fks})
    ref_live = inspect_tables(conn, refs + others) if refs or others else {}
    enforced = {(f.table, f.column, f.ref_table) for f in foreign_key_constraints(conn)} if refs or others else set()
    ref_rows: dict[str, bool] = {}
    for tp in plan.tables:
        table = TABLES_BY_NAME[tp.name]
        chosen = tp.games if tp.strategy == "games" else None
        counts = game_counts(conn, tp.name) if table.game_scoped else {}
        tp.rows_now = sum(counts.values()) if table.game_scoped else count_rows(conn, tp.name)
        tp.replace_rows = tp.rows_now if chosen is None else sum(n for g, n in counts.items() if g in set(chosen))
        tp.games_lost, tp.missing_refs, tp.shrinking = [], [], False
        if tp.skip:
            tp.rows_after = tp.rows_now
            continue
        tp.rows_after = tp.rows if chosen is None else tp.rows_now - tp.replace_rows + tp.load_rows
        candidates: set[int] = set()
        if table.game_scoped and tp.rows_now:
            removed = {g for g in counts if g is not None}
            if chosen is not None:
                removed &= set(chosen)
            candidates = removed - covered_games(snap.manifest, tp.name)
        fks = derived.get(tp.name, [])
        kept = [fk for fk in referenced.get(tp.name, []) if chosen is None and tp.rows_now]
        columns = sorted({fk.column for fk in fks} | ({"game_id"} if candidates else set())
                         | {fk.ref_column for fk in kept})
        values = distinct_values(snap, tp.name, columns, chosen) if columns else {}
        if candidates:
            in_file = {int(v) for v in values.get("game_id", ()) if v.lstrip("-").isdigit()}
            tp.games_lost = sorted(candidates - in_file)
        tp.shrinking = bool(tp.rows_now) and (bool(tp.games_lost) or tp.shrink > options.max_shrink)
        for fk in fks:
            keys = sorted(values.get(fk.column) or ())
            if keys:
                ref = _missing_ref(conn, tp, fk, keys, ref_live, ref_rows, enforced)
                if ref is not None:
                    tp.missing_refs.append(ref)
        for fk in kept:
            other = ref_live.get(fk.table)
            if other is None or fk.column not in other.columns:
                continue
            orphans = referenced_keys(conn, fk.table, fk.column, sorted(values.get(fk.ref_column) or ()))
            if orphans:
                tp.missing_refs.append(MissingRef(fk.table, fk.column, tp.name, "orphans", len(orphans),
                                                  orphans[:EXAMPLES], (fk.table, fk.column, tp.name) in enforced))
    plan.shrinking = [t.name for t in plan.tables if t.shrinking]
    plan.inspected = True
    return plan


def _missing_ref(conn: psycopg.Connection, tp: TablePlan, fk: ForeignKey, keys: list[str], ref_live: dict,
                 ref_rows: dict[str, bool], enforced: set) -> MissingRef | None:
    live = ref_live.get(fk.ref_table)
    if live is None or fk.ref_column not in live.columns:
        reason, missing = "absent", keys
    else:
        if fk.ref_table not in ref_rows:
            ref_rows[fk.ref_table] = has_rows(conn, fk.ref_table)
        if not ref_rows[fk.ref_table]:
            reason, missing = "empty", keys
        else:
            reason = "keys"
            missing = absent_keys(conn, fk.ref_table, fk.ref_column, live.columns[fk.ref_column][0], keys)
    if not missing:
        return None
    return MissingRef(tp.name, fk.column, fk.ref_table, reason, len(missing), missing[:EXAMPLES],
                      enforced=(tp.name, fk.column, fk.ref_table) in enforced)


def _percent(t: TablePlan) -> str:
    return f"{-t.shrink * 100:+.1f}%"


def shrink_refusal(plan: SyncPlan) -> ShrinkRefused:
    """The refusal of a shrinking sync: a sentence naming tables (rows now → after, percent) and lost games."""
    tables = [t for t in plan.tables if t.shrinking]
    lost = sorted({g for t in tables for g in t.games_lost})
    where = f" to target {plan.target}" if plan.target else ""
    text = f"The sync{where} was refused because it would remove data from the target"
    if lost:
        text += f": game{'s' if len(lost) > 1 else ''} {', '.join(map(str, lost))} would disappear"
    parts = []
    for t in tables:
        part = f"{t.name} {t.rows_now:,} → {t.rows_after:,} rows ({_percent(t)})"
        if t.games_lost and t.games_lost != lost:
            part += f", loses game{'s' if len(t.games_lost) > 1 else ''} {', '.join(map(str, t.games_lost))}"
        elif not t.games_lost:
            part += f", more than the allowed {plan.max_shrink:.0%}"
        parts.append(part)
    text += f" ({'; '.join(parts)}). Nothing was changed in the target. "
    text += ("This usually means the outputs were built from fewer games than the target holds: run the ETL over "
             "every game, then sync again. If the rows really should go, " + ALLOW_HINT + ".")
    return ShrinkRefused(text, [t.shrink_report() for t in tables], plan.max_shrink)


def references_refusal(plan: SyncPlan) -> MissingReferences:
    refs = plan.refused_refs
    where = f" to target {plan.target}" if plan.target else ""
    text = (f"The sync{where} was refused because the target would reject its rows at commit: "
            + " ".join(r.sentence() for r in refs) + " Nothing was changed in the target.")
    return MissingReferences(text, [r.as_dict() for r in refs])


def check(plan: SyncPlan, options: SyncOptions) -> None:
    """Raise the refusal for an inspected plan: enforced missing references first (no option allows them), then
    shrinking tables unless ``options.allow_shrink``."""
    if plan.refused_refs:
        raise references_refusal(plan)
    if plan.shrinking and not options.allow_shrink:
        raise shrink_refusal(plan)
