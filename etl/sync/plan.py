"""What a sync will do: the selection (the shared grammar) resolved against the catalog and the outputs' manifest.

``resolve_sync`` needs only the output folder (what a Run freezes); ``plan_sync`` (etl.sync.preview) also inspects the
target read-only: every selected table and catalog column must exist there with the catalog's type
(otherwise the error says to run the schema stage), it counts the rows each table holds and would replace,
and it runs the guard (``etl.sync.guard``): rows now and after, games that would disappear, tables that
shrink beyond ``max_shrink``, and references to tables that neither the selection nor the target provides.
The loader runs the same guard again under the target's writer lock before it writes anything.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..catalog import TABLES, TABLES_BY_NAME
from ..errors import SelectionError
from ..schema.ddl import foreign_keys
from ..selection import GameSelection, TableSelection, parse_game_ids, split_terms
from .errors import SyncError
from .stream import OutputSnapshot, count_game_rows

STRATEGIES = ("full", "games")
DEFAULT_MAX_SHRINK = 0.10
_TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class SyncOptions:
    """A sync request in plain values (safe to freeze into a Run)."""

    tables: tuple[str, ...] = ()  # names, globs and modes (the shared grammar); empty means every table
    exclude_tables: tuple[str, ...] = ()  # names and globs
    games: tuple[int, ...] = ()
    per_table_commit: bool = False
    dry_run: bool = False
    verify: bool = True
    lock_timeout: str = "30s"  # how long one statement may wait for a table lock
    lock_wait: float | None = None  # seconds to wait for another writer's target lock (None: until cancelled)
    sync_id: str = ""  # label recorded in the target's sync history, e.g. "run-42" (generated when empty)
    resume_from: tuple[str, ...] = ()  # skip tables these earlier sync ids committed from the same files
    allow_shrink: bool = False  # load even when a game's rows disappear or a table shrinks beyond max_shrink
    full_refresh: bool = False  # load every selected table whole, even what the target already holds
    max_shrink: float = DEFAULT_MAX_SHRINK  # fraction of a table's rows a load may remove without allow_shrink
    synced_by: str = ""  # the person (or schedule) the target's sync history names; empty: the database role

    def __post_init__(self) -> None:
        for name in ("tables", "exclude_tables", "resume_from"):
            object.__setattr__(self, name, tuple(split_terms(getattr(self, name))))
        object.__setattr__(self, "games", tuple(parse_game_ids(self.games)))
        allow = self.allow_shrink
        object.__setattr__(self, "allow_shrink", allow.strip().lower() in _TRUE if isinstance(allow, str)
                           else bool(allow))
        object.__setattr__(self, "max_shrink", _fraction(self.max_shrink))

    def selection(self) -> TableSelection:
        return TableSelection.from_terms(self.tables, self.exclude_tables)

    def as_dict(self) -> dict:
        data = asdict(self)
        for key in ("tables", "exclude_tables", "games", "resume_from"):
            data[key] = list(data[key])
        return data

    @classmethod
    def from_dict(cls, data: dict) -> SyncOptions:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def _fraction(value) -> float:
    """``max_shrink`` as a float in [0, 1]; SyncError with a readable sentence otherwise."""
    try:
        number = float(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        number = None
    if number is None or not 0 <= number <= 1:
        raise SyncError(f"max_shrink must be a fraction between 0 and 1 (0.1 allows a load to remove up to 10% of a "
                        f"table's rows), not {value!r}.")
    return number


@dataclass
class MissingRef:
    """A reference the load would leave dangling: ``table.column`` references ``ref_table``.

    Either the rows the load writes reference ``ref_table``, which is not in the selection, and the target does
    not provide those keys: ``reason`` ``absent`` (the target has no such table or column), ``empty`` (the
    target's table has no rows) or ``keys`` (it lacks some of the keys); or the load replaces ``ref_table`` and
    removes keys that ``table`` (not in the selection) still references in the target: ``reason`` ``orphans``.
    ``missing_keys``: how many distinct keys; ``examples``: a few of them. ``enforced``: the target has this
    foreign key constraint, so the commit would fail (the sync refuses up front); otherwise the rows would load
    with dangling references (a warning). ``unit``: the table of the plan it is about.
    """

    table: str
    column: str
    ref_table: str
    reason: str
    missing_keys: int
    examples: list[str] = field(default_factory=list)
    enforced: bool = False

    @property
    def unit(self) -> str:
        return self.ref_table if self.reason == "orphans" else self.table

    def sentence(self) -> str:
        if self.reason == "orphans":
            sample = f", e.g. {', '.join(self.examples)}" if self.examples else ""
            return (f"The load of {self.ref_table} removes {self.missing_keys} key"
                    f"{'s' if self.missing_keys != 1 else ''} ({self.column}{sample}) that {self.table} in the "
                    f"target still references and the selection does not reload: add {self.table} to the selection "
                    f"or keep those {self.ref_table} rows in the outputs.")
        fix = f"add {self.ref_table} to the selection or sync it first."
        if self.reason == "keys":
            sample = f", e.g. {', '.join(self.examples)}" if self.examples else ""
            return (f"{self.table} references {self.missing_keys} {self.ref_table} key"
                    f"{'s' if self.missing_keys != 1 else ''} ({self.column}{sample}) that the target's "
                    f"{self.ref_table} lacks and the selection does not load: {fix}")
        state = "does not exist in the target" if self.reason == "absent" else "is empty in the target"
        return (f"{self.table} references {self.ref_table} ({self.column}), which neither the selection nor the "
                f"target provides ({self.ref_table} {state}): {fix}")

    def as_dict(self) -> dict:
        return {**asdict(self), "unit": self.unit}


@dataclass
class TablePlan:
    name: str
    strategy: str  # full: replace every row; games: replace the chosen games' rows
    rows: int  # rows in the output file (manifest)
    bytes: int
    sha256: str
    games: list[int] = field(default_factory=list)
    load_rows: int = 0  # rows the load writes: all of the file, or the chosen games' rows
    replace_rows: int | None = None  # rows the target holds now that the load replaces (None: not inspected)
    skip: str = ""  # why it will not be loaded (committed by an earlier attempt)
    # filled by the guard when the target is inspected (None / empty: not inspected)
    rows_now: int | None = None  # rows the target table holds
    rows_after: int | None = None  # rows it holds after the load (full: the file; games: now - replaced + loaded)
    games_lost: list[int] = field(default_factory=list)  # games whose rows in this table the load removes entirely
    shrinking: bool = False  # loses a game, or shrinks by more than the plan's max_shrink
    missing_refs: list[MissingRef] = field(default_factory=list)
    # filled by the delta against the target's sync state (etl.sync.delta)
    unchanged: bool = False  # the file equals what the target last received
    unchanged_games: int | None = None  # games load: games whose rows stay as they are
    spans: list[tuple[int, int, str]] | None = None  # games load: (offset, length, sha256) of each changed game

    @property
    def shrink(self) -> float:
        """Fraction of ``rows_now`` the load removes (negative when the table grows; 0 when not inspected)."""
        if not self.rows_now or self.rows_after is None:
            return 0.0
        return (self.rows_now - self.rows_after) / self.rows_now

    def shrink_text(self) -> str:
        """``fact_events: 2,233 → 1,112 rows (-50.2%), games 30004, 30005 would disappear``."""
        text = f"{self.name}: {self.rows_now:,} → {self.rows_after:,} rows ({-self.shrink * 100:+.1f}%)"
        if self.games_lost:
            text += (f", game{'s' if len(self.games_lost) > 1 else ''} {', '.join(map(str, self.games_lost))} "
                     f"would disappear")
        return text

    def shrink_report(self) -> dict:
        return {"name": self.name, "rows_now": self.rows_now, "rows_after": self.rows_after,
                "shrink": round(self.shrink, 6), "games_lost": list(self.games_lost)}


@dataclass
class SyncPlan:
    """Tables in load order (referenced dimensions first), with strategy and sizes."""

    output_dir: str
    tables: list[TablePlan]
    games: list[int]
    per_table_commit: bool
    manifest_created_at: str = ""
    catalog_version: str = ""
    target: str = ""
    # filled by the guard when the target is inspected
    inspected: bool = False
    max_shrink: float = DEFAULT_MAX_SHRINK
    allow_shrink: bool = False
    shrinking: list[str] = field(default_factory=list)  # tables that lose a game or shrink beyond max_shrink

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.tables]

    @property
    def units(self) -> list[str]:
        """Step units for a Run's ledger: one per table, plus ``publish`` when all commit together."""
        return [t.name for t in self.tables] + ([] if self.per_table_commit else ["publish"])

    def table(self, name: str) -> TablePlan:
        return next(t for t in self.tables if t.name == name)

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def missing_refs(self) -> list[MissingRef]:
        return [r for t in self.tables for r in t.missing_refs]

    @property
    def refused_refs(self) -> list[MissingRef]:
        """Missing references the target enforces: the commit would fail, so the sync refuses up front."""
        return [r for r in self.missing_refs if r.enforced]

    def warnings(self) -> list[str]:
        """One line per shrinking table and per missing reference (what ``describe`` shows prominently)."""
        lines = []
        for t in self.tables:
            if t.shrinking:
                why = "" if t.games_lost else f" (more than {self.max_shrink:.0%} of its rows)"
                verdict = ("allowed (allow_shrink)" if self.allow_shrink else
                           "REFUSED unless allowed (--allow-shrink / \"Allow shrinking tables\" / allow_shrink)")
                lines.append(f"WARNING {t.shrink_text()}{why}: {verdict}")
        for r in self.missing_refs:
            if r.enforced:
                lines.append(f"WARNING {r.sentence()} The target enforces this foreign key: REFUSED (the commit "
                             f"would fail).")
            else:
                lines.append(f"WARNING {r.sentence()} The target does not enforce this foreign key: the rows would "
                             f"load with dangling references.")
        return lines

    def describe(self) -> str:
        mode = "per-table commits" if self.per_table_commit else "one transaction (all or nothing)"
        where = f" to target {self.target}" if self.target else ""
        lines = [f"Sync plan{where}: {len(self.tables)} tables from {self.output_dir} "
                 f"(outputs of {self.manifest_created_at or 'unknown time'}), {mode}"]
        if self.games:
            lines.append(f"  games: {', '.join(str(g) for g in self.games)}")
        width = max((len(t.name) for t in self.tables), default=10)
        warnings = self.warnings()
        if self.inspected:
            if self.shrinking:
                verdict = "allowed" if self.allow_shrink else "REFUSED unless allowed"
                lines.append(f"  SHRINK: {len(self.shrinking)} table{'s' if len(self.shrinking) > 1 else ''} would "
                             f"lose games or more than {self.max_shrink:.0%} of their rows ({verdict}): "
                             f"{', '.join(self.shrinking)}")
            if self.refused_refs:
                lines.append(f"  REFUSED: {len(self.refused_refs)} reference"
                             f"{'s' if len(self.refused_refs) > 1 else ''} to tables neither the selection nor the "
                             f"target provides (the commit would fail)")
        lines += [f"  {w}" for w in warnings]
        now = f"  {'now':>9}  {'after':>9}" if self.inspected else ""
        lines.append(f"  {'table':<{width}}  {'rows':>9}  {'strategy':<8}{now}  replaces")
        for t in self.tables:
            if t.skip:
                replaces = f"skipped ({t.skip})"
            elif t.strategy == "games" and t.unchanged_games is not None:
                replaces = (f"{t.replace_rows} rows of {len(t.games)} changed game{'s' if len(t.games) != 1 else ''}"
                            f" ({t.unchanged_games} unchanged): {', '.join(str(g) for g in t.games)}")
            elif t.replace_rows is None:
                replaces = "?"
            elif t.strategy == "games":
                replaces = f"{t.replace_rows} rows of games {', '.join(str(g) for g in t.games)}"
            else:
                replaces = f"{t.replace_rows} rows (all)"
            if self.inspected:
                after = "" if t.rows_after is None else t.rows_after
                now = f"  {'' if t.rows_now is None else t.rows_now:>9}  {after:>9}"
            if t.shrinking:
                replaces += "  <- SHRINKS" + (" (allowed)" if self.allow_shrink else " (REFUSED unless allowed)")
            if any(r.enforced for r in t.missing_refs):
                replaces += "  <- MISSING REFERENCES (REFUSED)"
            elif t.missing_refs:
                replaces += "  <- missing references (warning)"
            lines.append(f"  {t.name:<{width}}  {t.load_rows:>9}  {t.strategy:<8}{now}  {replaces}")
        return "\n".join(lines)


def load_order(names: Iterable[str]) -> list[str]:
    """Tables with the ones others reference first (derived foreign keys), ties by name."""
    chosen = set(names)
    deps: dict[str, set[str]] = {n: set() for n in chosen}
    for fk in foreign_keys(TABLES):
        if fk.table in chosen and fk.ref_table in chosen:
            deps[fk.table].add(fk.ref_table)
    ordered: list[str] = []
    done: set[str] = set()
    while deps:
        ready = sorted(n for n, d in deps.items() if d <= done) or sorted(deps)[:1]
        for n in ready:
            ordered.append(n)
            done.add(n)
            deps.pop(n)
    return ordered


def resolve_sync(output_dir: str | Path, options: SyncOptions, snap: OutputSnapshot | None = None) -> SyncPlan:
    """Resolve tables, games and strategies from the catalog and the outputs' manifest; never touches a target.

    With games, the game-scoped files are scanned to count the rows the load would write.
    """
    if snap is None:
        with OutputSnapshot(output_dir) as own:
            return resolve_sync(output_dir, options, own)
    manifest = snap.manifest
    selected = options.selection().resolve()
    listed = manifest.get("tables", {})
    missing = [n for n in selected if n not in listed]
    if missing:
        raise SelectionError(f"The outputs in {output_dir} have no {', '.join(missing)}; run the ETL for "
                             f"{'them' if len(missing) > 1 else 'it'} or leave {'them' if len(missing) > 1 else 'it'}"
                             f" out of the selection.")
    for name in selected:
        columns = listed[name].get("columns")
        if columns is not None and list(columns) != TABLES_BY_NAME[name].column_names:
            raise SelectionError(f"The output {name}.csv has other columns than the catalog declares (written by "
                                 f"another version); run the ETL again.")
    available = sorted(int(g) for g in manifest.get("games", {}))
    games: list[int] = []
    if options.games:
        absent = sorted(set(options.games) - set(available))
        if absent:
            listed_games = ", ".join(str(g) for g in available) or "none"
            raise SelectionError(f"Game{'s' if len(absent) > 1 else ''} {', '.join(str(g) for g in absent)} "
                                 f"{'are' if len(absent) > 1 else 'is'} not in the outputs in {output_dir} "
                                 f"(games there: {listed_games}).")
        games = GameSelection(tuple(options.games)).resolve(available)
    tables = []
    for name in load_order(selected):
        info = listed[name]
        scoped = bool(games) and TABLES_BY_NAME[name].game_scoped
        rows = int(info.get("rows", 0))
        tables.append(TablePlan(name, "games" if scoped else "full", rows, int(info.get("bytes", 0)),
                                str(info.get("sha256", "")), list(games) if scoped else [],
                                count_game_rows(snap, name, games) if scoped else rows))
    return SyncPlan(str(output_dir), tables, games, options.per_table_commit,
                    str(manifest.get("created_at", "")), str(manifest.get("catalog_version", "")))
