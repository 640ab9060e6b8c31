"""Per-game parts: one built game kept on disk so that separate processes (per-game Celery tasks, a retried
Run) share the work of one ETL. The whole protocol: ``prepare_parts`` (master lookups, once), ``claim_part``
(atomic; one builder per game), ``build_game_part`` (build and save, releasing the claim if the build fails),
``part_ready`` (a valid part exists), and ``load_part`` / ``save_part`` used by ``run_etl``.
"""
from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import TYPE_CHECKING

from .builders.master import build_master
from .catalog import TABLES, catalog_version
from .catalog_analytics import EXTRA_UPSTREAM
from .errors import EtlError
from .game_build import WORKER, GameUnit, render_game
from .issues import IssueLog

if TYPE_CHECKING:
    from .pipeline import EtlOptions, EtlPlan, GamePlan


def game_tables_of(plan: EtlPlan) -> list[str]:
    """The plan's per-game tables, in catalog order (what a part holds): the written ones, and the game tables a
    written master table reads back after the games (``read_back``)."""
    wanted = set(plan.tables)
    for name in plan.tables:
        wanted.update(read_back(name))
    return [t.name for t in TABLES if t.grain == "game" and t.name in wanted]


def read_back(name: str) -> tuple[str, ...]:
    """The game tables master table ``name`` is completed from once every game is written (the skater season
    table's model columns sum fact_player_game_stats: etl/catalog_analytics.py EXTRA_UPSTREAM)."""
    return EXTRA_UPSTREAM.get(name, ())


def part_path(parts_dir: Path, gp: GamePlan) -> Path:
    return Path(parts_dir) / f"game_{gp.game_id}.pkl"


def save_part(parts_dir: Path, gp: GamePlan, game_tables: list[str], unit: GameUnit) -> None:
    path = part_path(parts_dir, gp)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        pickle.dump({"hash": gp.hash, "tables": game_tables, "version": catalog_version(), "unit": unit}, fh)
    os.replace(tmp, path)


def load_part(parts_dir: Path | None, gp: GamePlan, game_tables: list[str]) -> GameUnit | None:
    """A part built for exactly this workbook, catalog and table set; None otherwise."""
    try:
        with open(part_path(parts_dir, gp), "rb") as fh:
            part = pickle.load(fh)
    except (OSError, pickle.PickleError, EOFError, TypeError):
        return None
    if part.get("hash") != gp.hash or part.get("tables") != game_tables or part.get("version") != catalog_version():
        return None
    return part["unit"]


def claim_part(parts_dir: Path, game_id: int) -> bool:
    """Claim a game for building (atomic create); False when another process claimed it first."""
    try:
        fd = os.open(Path(parts_dir) / f"game_{game_id}.claim", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return False
    os.write(fd, f"{os.getpid()}".encode())
    os.close(fd)
    return True


def release_claim(parts_dir: Path, game_id: int) -> None:
    """Give up a claim (the build failed), so that a waiting process does not wait for a part never written."""
    (Path(parts_dir) / f"game_{game_id}.claim").unlink(missing_ok=True)


def part_ready(parts_dir: Path, plan: EtlPlan, game_id: int) -> bool:
    """A valid part exists for this game of the plan."""
    gp = next(g for g in plan.games if g.game_id == game_id)
    game_tables = game_tables_of(plan)
    return part_path(parts_dir, gp).exists() and load_part(parts_dir, gp, game_tables) is not None


def save_league(parts_dir: Path, league, master_hash: str) -> None:
    """Keep the master lookups for per-game workers (``build_game_part``)."""
    parts_dir.mkdir(parents=True, exist_ok=True)
    tmp = parts_dir / "league.tmp"
    with open(tmp, "wb") as fh:
        pickle.dump({"hash": master_hash, "league": league}, fh)
    os.replace(tmp, parts_dir / "league.pkl")


def prepare_parts(options: EtlOptions, plan: EtlPlan, parts_dir: Path) -> None:
    """Read the master workbook once and keep its lookups for per-game tasks."""
    frames, _ = options.open_source().read_master()
    _, league = build_master(frames, plan.master_file, IssueLog(None))
    save_league(Path(parts_dir), league, plan.master_hash)


def build_game_part(options: EtlOptions, plan: EtlPlan, game_id: int, parts_dir: Path) -> dict:
    """Build one game of ``plan`` into ``parts_dir`` (a per-game task); returns its status and rows."""
    parts_dir = Path(parts_dir)
    try:
        with open(parts_dir / "league.pkl", "rb") as fh:
            saved = pickle.load(fh)
        if saved["hash"] != plan.master_hash:
            raise EtlError("The master workbook changed while the run was in progress; start the run again.")
        gp = next(g for g in plan.games if g.game_id == game_id)
        game_tables = game_tables_of(plan)
        WORKER.update(source=options.open_source(), league=saved["league"], tables=game_tables)
        unit = render_game(gp)
        save_part(parts_dir, gp, game_tables, unit)
    except BaseException:
        release_claim(parts_dir, game_id)  # another process may build it (or report the same error)
        raise
    return {"game_id": game_id, "status": unit.status, "rows": sum(c for _, c in unit.chunks.values())}
