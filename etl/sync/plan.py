"""What a sync will do: the selection (the shared grammar) resolved against the catalog and the outputs' manifest.

``resolve_sync`` needs only the output folder (what a Run freezes); ``plan_sync`` also inspects the
target read-only: every selected table and catalog column must exist there with the catalog's type
(otherwise the error says to run the schema stage), and it counts the rows each table would replace.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..catalog import TABLES, TABLES_BY_NAME
from ..errors import SelectionError
from ..schema.ddl import foreign_keys
from ..selection import GameSelection, TableSelection, parse_game_ids
from .stream import OutputSnapshot, count_game_rows

STRATEGIES = ("full", "games")


@dataclass(frozen=True)
class SyncOptions:
    """A sync request in plain values (safe to freeze into a Run)."""

    modes: tuple[str, ...] = ()
    tables: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    games: tuple[int, ...] = ()
    per_table_commit: bool = False
    dry_run: bool = False
    verify: bool = True
    lock_timeout: str = "30s"  # how long one statement may wait for a table lock
    lock_wait: float | None = None  # seconds to wait for another writer's target lock (None: until cancelled)
    sync_id: str = ""  # label recorded in the target's sync history, e.g. "run-42" (generated when empty)
    resume_from: tuple[str, ...] = ()  # skip tables these earlier sync ids committed from the same files

    def __post_init__(self) -> None:
        for name in ("modes", "tables", "patterns", "exclude", "resume_from"):
            object.__setattr__(self, name, tuple(getattr(self, name) or ()))
        object.__setattr__(self, "games", tuple(parse_game_ids(self.games)))

    def selection(self) -> TableSelection:
        return TableSelection.from_terms([*self.modes, *self.tables, *self.patterns], self.exclude)

    def as_dict(self) -> dict:
        data = asdict(self)
        for key in ("modes", "tables", "patterns", "exclude", "games", "resume_from"):
            data[key] = list(data[key])
        return data

    @classmethod
    def from_dict(cls, data: dict) -> SyncOptions:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


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

    def describe(self) -> str:
        mode = "per-table commits" if self.per_table_commit else "one transaction (all or nothing)"
        where = f" to target {self.target}" if self.target else ""
        lines = [f"Sync plan{where}: {len(self.tables)} tables from {self.output_dir} "
                 f"(outputs of {self.manifest_created_at or 'unknown time'}), {mode}"]
        if self.games:
            lines.append(f"  games: {', '.join(str(g) for g in self.games)}")
        width = max((len(t.name) for t in self.tables), default=10)
        lines.append(f"  {'table':<{width}}  {'rows':>9}  {'strategy':<8}  replaces")
        for t in self.tables:
            if t.skip:
                replaces = f"skipped ({t.skip})"
            elif t.replace_rows is None:
                replaces = "?"
            elif t.strategy == "games":
                replaces = f"{t.replace_rows} rows of games {', '.join(str(g) for g in t.games)}"
            else:
                replaces = f"{t.replace_rows} rows (all)"
            lines.append(f"  {t.name:<{width}}  {t.load_rows:>9}  {t.strategy:<8}  {replaces}")
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


def plan_sync(url: str, output_dir: str | Path, options: SyncOptions, *, target_name: str = "") -> SyncPlan:
    """The resolved plan checked against the target (read-only), with the rows each table would replace."""
    from .target import committed_by, connect, count_rows, inspect_tables, validate

    plan = resolve_sync(output_dir, options)
    plan.target = target_name
    with connect(url, f"hockeyops sync plan ({target_name or 'target'})", read_only=True) as conn:
        live = inspect_tables(conn, plan.names)
        validate(plan.names, live, target_name)
        done = committed_by(conn, options.resume_from) if options.resume_from else {}
        for t in plan.tables:
            if done.get(t.name) == t.sha256:
                t.skip = "committed by an earlier attempt"
            t.replace_rows = count_rows(conn, t.name, t.games if t.strategy == "games" else None)
    return plan
