"""ETL entry point: plan (selection, games, incremental decisions) then build and publish."""
from __future__ import annotations

import multiprocessing as mp
import os
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from .builders.game import no_workbook
from .builders.master import build_master, with_game_figures
from .builders.seasons import GAME_MODEL_INPUTS, season_model_columns, with_tracked_rates
from .builders.vocab import strength_table, vocab_table
from .catalog import TABLES, catalog_version, get_table
from .errors import EtlError
from .excel_source import GameFile
from .game_build import WORKER, GameUnit, pool_map, render_game
from .issues import IssueLog
from .parts import game_tables_of, load_part, part_path, read_back, save_league, save_part
from .progress import CancelToken, NullReporter, Reporter, report_step
from .selection import GameSelection, TableSelection, upstream_closure, why_built
from .sources import Source, open_source
from .store import OutputStore, read_previous_groups
from .text import plural

MODES = ("full", "incremental")


@dataclass
class EtlOptions:
    """Everything an ETL run is asked to do (plain values: safe to freeze into a Run)."""

    data_dir: str
    output_dir: str
    games: list[int] = field(default_factory=list)
    exclude_games: list[int] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    exclude_tables: list[str] = field(default_factory=list)
    mode: str = "full"
    source: str = "excel"
    workers: int = field(default_factory=lambda: min(2, os.cpu_count() or 1))
    # staging source only: the target's URL, resolved by the caller at run time; never persisted or logged
    staging_url: str = field(default="", repr=False, compare=False)

    def public(self) -> dict:
        """The options without secrets (safe for plans, logs and task arguments)."""
        data = asdict(self)
        data.pop("staging_url", None)
        return data

    def open_source(self) -> Source:
        return open_source(self.source, self.data_dir, self.staging_url)


@dataclass
class GamePlan:
    game_id: int
    action: str  # build | reuse (copy its rows from the previous outputs)
    why: str
    file: str
    hash: str  # hash of the workbook the published rows come from (recorded in the manifest)
    note: str = ""
    # hash of the workbook when the plan was made, checked again before the run uses it ("" = not checked: a
    # game kept from the previous outputs because it was not selected does not depend on its workbook)
    input_hash: str = ""


@dataclass
class EtlPlan:
    """The resolved plan; ``as_dict`` is what a Run freezes and what --dry-run prints."""

    mode: str
    tables: list[str]
    build: list[str]
    reasons: dict[str, str]
    games: list[GamePlan]
    master_file: str
    master_hash: str
    catalog_version: str
    full_reason: str = ""
    previous_manifest: str = ""  # sha256 of the previous outputs' manifest the reuse decisions were made on
    left_out: list[int] = field(default_factory=list)  # tracked games neither selected nor in the previous outputs
    dropped: list[int] = field(default_factory=list)  # games of the previous outputs whose workbook is gone
    refused: list[str] = field(default_factory=list)  # folders not read, each with the reason

    @property
    def needs_games(self) -> bool:
        return any(get_table(t).grain != "master" for t in self.build)

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> EtlPlan:
        values = dict(data)
        values["games"] = [GamePlan(**g) for g in data.get("games", [])]
        return cls(**values)

    def describe(self) -> str:
        lines = [f"ETL plan ({self.mode}{': ' + self.full_reason if self.full_reason else ''})",
                 f"  master: {self.master_file}"]
        build = [g for g in self.games if g.action == "build"]
        reuse = [g for g in self.games if g.action == "reuse"]
        lines.append(f"  games: {len(self.games)} published ({len(build)} to build, {len(reuse)} kept as they are)")
        for g in self.games:
            lines.append(f"    {g.game_id}: {g.action} ({g.why}) {g.file}")
        if self.left_out:
            lines.append(f"  not published (not selected, not in the previous outputs): "
                         f"{', '.join(map(str, self.left_out))}")
        if self.dropped:
            lines.append(f"  WARNING: in the previous outputs but without a workbook now, so they will be gone: "
                         f"{', '.join(map(str, self.dropped))}")
        for note in self.refused:
            lines.append(f"  WARNING: {note}")
        lines.append(f"  tables written: {len(self.tables)}; built: {len(self.build)}")
        for name in self.build:
            mark = "write" if name in self.tables else "build"
            lines.append(f"    {name}: {mark} ({self.reasons[name]})")
        return "\n".join(lines)


@dataclass
class EtlResult:
    plan: EtlPlan
    manifest: dict
    seconds: float
    rows: int
    game_status: dict[int, str]

    def summary(self) -> str:
        bad = {g: s for g, s in self.game_status.items() if s not in ("COMPLETE", "PARTIAL")}
        text = (f"ETL {self.plan.mode}: {plural(len(self.plan.tables), 'table')}, {plural(self.rows, 'row')}, "
                f"{plural(len(self.game_status), 'game')} in {self.seconds:.2f}s")
        if bad:
            text += "; left out: " + ", ".join(f"{g} ({s})" for g, s in sorted(bad.items()))
        return text


def plan_etl(options: EtlOptions) -> EtlPlan:
    """Resolve tables, games and incremental decisions. Reads file hashes only; writes nothing.

    A games selection means "rebuild these games, keep every other game": games of the previous outputs that
    are not selected are kept (their rows copied), or rebuilt when the previous outputs cannot be reused (the
    catalog or the master workbook changed). Tracked games that are neither selected nor in the previous
    outputs are not published (an empty output folder with ``games`` gives just those games).
    """
    if options.mode not in MODES:
        raise EtlError(f"Unknown mode '{options.mode}'; use full or incremental.")
    selected = TableSelection.from_terms(options.tables, options.exclude_tables).resolve()
    build = upstream_closure(selected)
    reasons = why_built(selected, build)
    source = options.open_source()
    master_file, master_hash = source.master()
    store = OutputStore(Path(options.output_dir))
    previous = store.manifest()
    prev_games: dict[str, dict] = (previous or {}).get("games", {})
    stale = _why_not_reusable(previous, master_hash, build)
    mode = options.mode
    full_reason = stale if mode == "incremental" and stale else ""
    if full_reason:
        mode = "full"
    games: list[GamePlan] = []
    left_out: list[int] = []
    dropped: list[int] = []
    if any(get_table(t).grain != "master" for t in build):
        found = source.games()
        chosen = set(GameSelection.from_terms(options.games, options.exclude_games).resolve(found))
        for gid in sorted(found):
            gf = found[gid]
            prev = prev_games.get(str(gid))
            if gid not in chosen and prev is None:
                left_out.append(gid)
                continue
            digest = source.game_hash(gf)
            games.append(_game_plan(gf, digest, prev, gid in chosen, mode, stale))
        dropped = sorted(int(g) for g in prev_games if int(g) not in found)
    refused = getattr(source, "refused_folders", list)()
    return EtlPlan(mode, selected, build, reasons, games, master_file, master_hash, catalog_version(),
                   full_reason, store.manifest_digest(), left_out, dropped, refused)


def _why_not_reusable(previous: dict | None, master_hash: str, build: list[str]) -> str:
    """Why the previous outputs' game rows cannot be copied into this run ("" when they can)."""
    if previous is None:
        return "no previous outputs"
    if previous.get("catalog_version") != catalog_version():
        return "the table catalog changed"
    if previous.get("master", {}).get("hash") != master_hash:
        return "the master workbook changed"
    if any(t not in previous.get("tables", {}) for t in build if get_table(t).grain == "game"):
        return "previous outputs lack some selected tables"
    return ""


def _game_plan(gf: GameFile, digest: str, prev: dict | None, chosen: bool, mode: str, stale: str) -> GamePlan:
    """Build or reuse one game: chosen games are rebuilt (incremental: when changed), the others kept."""
    def build(why: str) -> GamePlan:
        return GamePlan(gf.game_id, "build", why, gf.relpath, digest, gf.note, digest)

    if not chosen:  # in the previous outputs (see plan_etl)
        if stale:
            return build(f"not selected, rebuilt because {stale}")
        why = "not selected: kept from the previous outputs"
        if prev.get("hash") != digest:
            why += "; its workbook changed since, select it to rebuild"
        return GamePlan(gf.game_id, "reuse", why, prev.get("file", gf.relpath), prev.get("hash", ""), gf.note)
    if mode == "full":
        return build("full run")
    if prev is None:
        return build("new game")
    if prev.get("hash") == digest:
        return GamePlan(gf.game_id, "reuse", "workbook unchanged", gf.relpath, digest, gf.note, digest)
    return build("workbook changed")


def changed_inputs(options: EtlOptions, plan: EtlPlan) -> list[str]:
    """Inputs that differ from what ``plan`` was made on: files (and the previous outputs) it depends on."""
    source = options.open_source()
    changed = []
    master_file, master_hash = source.master()
    if master_hash != plan.master_hash:
        changed.append(master_file)
    found = source.games() if plan.games else {}
    for gp in plan.games:
        if not gp.input_hash:
            continue
        gf = found.get(gp.game_id)
        if gf is None:
            changed.append(f"{gp.file} (no longer there)")
        elif source.game_hash(gf) != gp.input_hash:
            changed.append(gp.file)
    if any(g.action == "reuse" for g in plan.games):
        if OutputStore(Path(options.output_dir)).manifest_digest() != plan.previous_manifest:
            changed.append(f"the published outputs in {options.output_dir} (another run published since)")
    return changed


def run_etl(
    options: EtlOptions,
    reporter: Reporter | None = None,
    cancel: CancelToken | None = None,
    plan: EtlPlan | None = None,
    parts_dir: Path | None = None,
    publish_guard: Callable[[], AbstractContextManager] | None = None,
) -> EtlResult:
    """Build the selected tables and publish them atomically; returns the manifest and figures.

    With ``parts_dir``, built games are kept there as parts and parts already present (built by
    per-game tasks, or by an earlier attempt of the same plan) are used instead of rebuilding.
    ``publish_guard`` wraps the swap into the output folder (a caller's fence: it raises when this run may no
    longer publish, e.g. because its lease was taken over).
    """
    reporter = reporter or NullReporter()
    cancel = cancel or CancelToken()
    started = time.perf_counter()
    plan = plan or plan_etl(options)
    reporter.log("info", plan.describe().splitlines()[0])
    for note in plan.refused:
        reporter.log("warning", note)
    store = OutputStore(Path(options.output_dir))
    previous = store.manifest() or {}
    write = set(plan.tables)
    game_tables = game_tables_of(plan)
    total_units = len(plan.games) + 2
    done = 0
    total_rows = 0
    game_status: dict[int, str] = {}
    store.begin()
    try:
        source = options.open_source()
        master_issues = IssueLog(None)
        frames, sheet_issues = source.read_master()
        for issue in sheet_issues:
            master_issues.add(issue["file"], issue["problem"], issue["action"], sheet=issue["sheet"],
                              kind=issue["kind"])
        master_tables, league = build_master(frames, plan.master_file, master_issues)
        del frames
        if parts_dir is not None:
            save_league(Path(parts_dir), league, plan.master_hash)
        # master tables completed from game tables once every game is written (season model columns)
        deferred = {name: master_tables[name] for name in write if read_back(name) and name in master_tables}
        for name, df in master_tables.items():
            if name in write and name not in WITH_GAME_FIGURES and name not in deferred:
                total_rows += store.writer(name).write(df)
        done += 1
        report_step(reporter, "master", total_rows, time.perf_counter() - started)
        reporter.progress(done, total_units, "master", total_rows)
        cancel.check()

        if "qa_data_issues" in write:
            master_issues.finish()
            total_rows += store.writer("qa_data_issues").write(master_issues.frame())
        for name in game_tables:
            store.writer(name)  # header even when no game contributes rows
        codes: dict[str, set[str]] = {}
        prev_groups = _Previous(store, previous, game_tables) if any(g.action == "reuse" for g in plan.games) \
            else None
        games_manifest: dict[str, dict] = {}
        # each tracked game's figures for master tables (GameResult.summary); a run without games keeps the
        # published games' figures
        summaries: dict[str, dict] = {} if plan.games else dict(previous.get("game_summaries", {}))
        to_build = [gp for gp in plan.games if gp.action == "build"]
        built = _build_games(source, to_build, league, game_tables, options.workers, parts_dir)
        try:
            for gp in plan.games:
                cancel.check()
                game_from = time.perf_counter()
                issues: int | None = None
                if gp.action == "reuse":
                    rows = prev_groups.copy(gp.game_id)
                    status = previous.get("games", {}).get(str(gp.game_id), {}).get("status", "COMPLETE")
                    seconds = time.perf_counter() - game_from
                else:
                    unit = next(built)
                    assert unit.game_id == gp.game_id
                    status = unit.status
                    rows = 0
                    issues = unit.chunks.get("qa_data_issues", ("", 0))[1]
                    for name, (text, count) in unit.chunks.items():
                        store.writer(name).write_text(text, count, gp.game_id)
                        rows += count
                    seconds = getattr(unit, "seconds", 0.0) + time.perf_counter() - game_from
                    for name, values in unit.codes.items():
                        codes.setdefault(name, set()).update(values)
                    if unit.status not in ("COMPLETE", "PARTIAL"):
                        reporter.log("warning", f"game {gp.game_id} left out: {unit.reason}")
                game_status[gp.game_id] = status
                games_manifest[str(gp.game_id)] = {"file": gp.file, "hash": gp.hash, "status": status}
                summary = previous.get("game_summaries", {}).get(str(gp.game_id)) if gp.action == "reuse" \
                    else unit.summary
                if summary:
                    summaries[str(gp.game_id)] = summary
                total_rows += rows
                done += 1
                _game_line(reporter, gp, rows, seconds, issues, status)
                reporter.progress(done, total_units, f"game {gp.game_id}", total_rows)
        finally:
            built.close()
            if prev_groups is not None:
                prev_groups.close()

        publish_from = time.perf_counter()
        total_rows += _write_with_game_figures(store, write, master_tables, league, summaries, deferred)
        total_rows += _write_deferred(store, deferred, league, write)
        total_rows += _write_folders_without_workbook(store, source, write, league, options, reporter)
        total_rows += _write_vocab(store, write, codes, plan)
        total_rows += _write_game_status(store, write, league, game_status)
        manifest = {
            "catalog_version": plan.catalog_version,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "mode": plan.mode,
            "source": options.source,
            "master": {"file": plan.master_file, "hash": plan.master_hash},
            "games": games_manifest,
            "game_summaries": summaries,
            "tables": {},
        }
        for name, info in previous.get("tables", {}).items():
            if name not in write and name not in store.writers and store.carry_over(name):
                manifest["tables"][name] = {**info, "carried_over": True}
        for name in write:
            manifest["tables"].setdefault(name, {})["games"] = sorted(int(g) for g in games_manifest)
        cancel.check()
        with (publish_guard or nullcontext)():
            store.publish(manifest)
    except BaseException:
        store.abort()
        raise
    done += 1
    published = sum(int(info.get("rows", 0)) for name, info in manifest["tables"].items() if name in write)
    report_step(reporter, "publish", published, time.perf_counter() - publish_from, tables=len(write))
    reporter.progress(done, total_units, "publish", total_rows)
    seconds = time.perf_counter() - started
    reporter.log("info", f"published {plural(len(plan.tables), 'table')}, {plural(total_rows, 'row')} "
                         f"in {seconds:.2f}s")
    return EtlResult(plan, manifest, seconds, total_rows, game_status)


def _game_line(reporter: Reporter, gp: GamePlan, rows: int, seconds: float, issues: int | None,
               status: str) -> None:
    """One log line and step figures per game: rows written, seconds, issues found (built games)."""
    how = "kept from the previous outputs" if gp.action == "reuse" else status
    found = "" if issues is None else f", {plural(issues, 'issue')}"
    reporter.log("info", f"game {gp.game_id}: {plural(rows, 'row')} in {seconds:.2f}s{found} ({how})")
    figures = {"status": status} if issues is None else {"status": status, "issues": issues}
    report_step(reporter, f"game {gp.game_id}", rows, seconds, **figures)


def _build_games(source: Source, games: list[GamePlan], league, game_tables: list[str], workers: int,
                 parts_dir: Path | None = None) -> Iterator[GameUnit]:
    """Built games in plan order: from parts where present, else built (in forked processes if workers > 1)."""
    WORKER.update(source=source, league=league, tables=game_tables)
    have = {gp.game_id for gp in games if parts_dir is not None and part_path(parts_dir, gp).exists()}
    missing = [gp for gp in games if gp.game_id not in have]
    workers = min(workers, len(missing))
    # a daemonic process (e.g. a Celery prefork child) may not start a pool: build in-process there
    if workers <= 1 or "fork" not in mp.get_all_start_methods() or mp.current_process().daemon:
        fresh: Iterator[GameUnit] = (render_game(gp) for gp in missing)
    else:
        fresh = pool_map(missing, workers)
    try:
        for gp in games:
            unit = load_part(parts_dir, gp, game_tables) if gp.game_id in have else None
            if unit is None:
                unit = next(fresh)
                if parts_dir is not None:
                    save_part(parts_dir, gp, game_tables, unit)
            yield unit
    finally:
        fresh.close()


class _GroupReader:
    """Merge-join helper over one previous CSV, advancing in game order."""

    def __init__(self, path: Path) -> None:
        self._it = read_previous_groups(path)
        self._head = next(self._it, None)

    def take(self, game_id: int) -> list[list[str]]:
        key = str(game_id)
        while self._head is not None and self._head[0] != key and _order(self._head[0]) < game_id:
            self._head = next(self._it, None)
        if self._head is not None and self._head[0] == key:
            rows = self._head[1]
            self._head = next(self._it, None)
            return rows
        return []

    def close(self) -> None:
        self._it.close()


def _order(value: str) -> int:
    """A CSV game_id as a number for the merge-join; blank (master issues) sorts first."""
    return int(value) if value.isascii() and value.isdigit() else -1


class _Previous:
    """Rows of the previous outputs, per table and game, for games the run keeps as they are.

    Where the previous manifest records a game's byte range (game-grain tables, whose games' rows are
    contiguous) its bytes are copied as they are; otherwise the file is read in game order (``_GroupReader``).
    """

    def __init__(self, store: OutputStore, previous: dict, game_tables: list[str]) -> None:
        self.store, self.files, self.readers, self.spans = store, {}, {}, {}
        for name in game_tables:
            path = store.table_path(name)
            if not path.exists():
                continue
            digests = previous.get("tables", {}).get(name, {}).get("game_digests") or {}
            if digests and all(v[2] is not None for v in digests.values()):
                self.spans[name] = digests
                self.files[name] = os.open(path, os.O_RDONLY)
            else:
                self.readers[name] = _GroupReader(path)

    def copy(self, game_id: int) -> int:
        """Copy one game's rows of every table into the new outputs; returns the rows copied."""
        rows = 0
        for name, digests in self.spans.items():
            entry = digests.get(str(game_id))
            if entry:
                count, digest, offset, length = entry
                self.store.writer(name).write_bytes(os.pread(self.files[name], length, offset), count, game_id,
                                                    digest)
                rows += count
        for name, reader in self.readers.items():
            chunk = reader.take(game_id)
            self.store.writer(name).write_rows(chunk, game_id)
            rows += len(chunk)
        return rows

    def close(self) -> None:
        for fd in self.files.values():
            os.close(fd)
        for reader in self.readers.values():
            reader.close()


# Master tables with columns from the tracked games (GameResult.summary): written after the games.
WITH_GAME_FIGURES = ("dim_schedule", "fact_player_season_stats_basic")


def _write_with_game_figures(store: OutputStore, write: set[str], master_tables: dict[str, pd.DataFrame], league,
                             summaries: dict[str, dict], deferred: dict[str, pd.DataFrame]) -> int:
    """dim_schedule with its power-play and video columns, and the skater season table with cf_pct and
    shooting_pct, from the summaries of the run's tracked games (built, or kept with their published summary).
    A table that is also ``deferred`` (completed from the staged game rows) is handed on there, not written."""
    rows = 0
    if "dim_schedule" in write:
        figures = {int(g): s.get("schedule", {}) for g, s in summaries.items()}
        rows += store.writer("dim_schedule").write(with_game_figures(master_tables["dim_schedule"], figures))
    name = "fact_player_season_stats_basic"
    if name in write:
        players = {int(g): s.get("players", {}) for g, s in summaries.items()}
        df = with_tracked_rates(master_tables[name], league.schedule, players)
        if name in deferred:
            deferred[name] = df
        else:
            rows += store.writer(name).write(df)
    return rows


def _write_deferred(store: OutputStore, deferred: dict[str, pd.DataFrame], league, write: set[str]) -> int:
    """Write the master tables completed from the games just written: fact_player_season_stats_basic with its
    model columns summed from the staged fact_player_game_stats; a game table rendered only for this (not
    selected) is dropped before publishing."""
    rows = 0
    inputs = {i for name in deferred for i in read_back(name)}
    staged = {}
    for name in inputs:
        staged[name] = store.read_staged(name, GAME_MODEL_INPUTS)
        if name not in write:
            store.discard(name)
    ratings = league.players.dropna(subset=["player_id"]).drop_duplicates("player_id").set_index("player_id")
    ratings = pd.to_numeric(ratings["current_skill_rating"], errors="coerce")
    for name, df in deferred.items():
        rows += store.writer(name).write(season_model_columns(df, staged["fact_player_game_stats"], ratings))
    return rows


def _write_folders_without_workbook(store: OutputStore, source: Source, write: set[str], league,
                                    options: EtlOptions, reporter: Reporter) -> int:
    """A NO_WORKBOOK qa_game_completeness row and a qa_data_issues row per game folder without a workbook.

    Such folders are not games of the plan (nothing to build or reuse): their rows are written fresh
    on every run that writes these tables, after the games' rows.
    """
    wanted = [name for name in ("qa_game_completeness", "qa_data_issues") if name in write]
    if not wanted:
        return 0
    rows = 0
    excluded = set(options.exclude_games)
    for game_id, folder in sorted(source.folders_without_workbook().items()):
        if game_id in excluded:
            continue
        completeness, issues = no_workbook(folder, league)
        reporter.log("warning", f"game folder {folder.relpath} has no tracking workbook: reported as NO_WORKBOOK")
        frames = {"qa_game_completeness": pd.DataFrame([completeness]), "qa_data_issues": issues.frame()}
        for name in wanted:
            rows += store.writer(name).write(frames[name])
    return rows


# tracking_status of fact_game_status per qa_game_completeness status (the dashboard's vocabulary)
TRACKING_STATUS = {"COMPLETE": "COMPLETE", "PARTIAL": "PARTIAL", "TEMPLATE": "TEMPLATE", "INVALID": "ERROR",
                   "NO_WORKBOOK": "NO_FILE"}


def _write_game_status(store: OutputStore, write: set[str], league, statuses: dict[int, str]) -> int:
    """fact_game_status: one row per scheduled game; games without a usable status are NO_FILE."""
    if "fact_game_status" not in write:
        return 0
    s = league.schedule
    status = s["game_id"].map(lambda g: TRACKING_STATUS.get(statuses.get(int(g), "NO_WORKBOOK"), "ERROR"))
    df = pd.DataFrame({
        "game_id": s["game_id"], "game_date": s["date"], "home_team": s["home_team_name"],
        "away_team": s["away_team_name"], "official_home_goals": s["home_total_goals"],
        "official_away_goals": s["away_total_goals"], "tracking_status": status,
    })
    return store.writer("fact_game_status").write(df.reset_index(drop=True))


def _write_vocab(store: OutputStore, write: set[str], codes: dict[str, set[str]], plan: EtlPlan) -> int:
    rows = 0
    reuse = any(g.action == "reuse" for g in plan.games)
    for t in TABLES:
        if t.grain != "league" or t.name not in write or t.name == "fact_game_status":
            continue
        previous = store.read_table(t.name) if reuse else None
        seen = codes.get(t.name, set())
        df = strength_table(seen, previous) if t.name == "dim_strength" else vocab_table(t.name, seen, previous)
        rows += store.writer(t.name).write(df)
    return rows
