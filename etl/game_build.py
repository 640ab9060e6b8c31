"""One game, built and rendered: read its workbook, build its tables, render them to CSV chunks.

Used in-process, in forked pool workers (``pool_map``) and by per-game tasks (``etl.parts``). Any error while
building a game is contained in that game: it becomes INVALID, naming the file (and the cell where known).
"""
from __future__ import annotations

import multiprocessing as mp
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .builders.game import GameResult, build_game, read_error_result, unusable
from .catalog import get_table
from .errors import InputError
from .excel_source import ERRORS, GameFile
from .issues import IssueLog
from .sources import Source
from .store import render_csv

if TYPE_CHECKING:
    from .pipeline import GamePlan


def build_one(source: Source, gp: GamePlan, league) -> tuple[GameResult, IssueLog]:
    game = GameFile(gp.game_id, Path(gp.file), gp.file, gp.note)
    issues = IssueLog(gp.game_id)
    try:
        frames = source.read_game(game)
    except InputError as exc:
        issues.add(exc.file, exc.problem, "game left out", sheet=exc.sheet, row=exc.row, column=exc.column,
                   kind="unreadable_workbook")
        return read_error_result(game, exc), issues
    report_error_cells(frames.pop(ERRORS, None), game.relpath, issues)
    result = build_game(game, frames, league, issues)
    if not result.usable:
        issues.add(game.relpath, result.completeness["reason"], "game left out", kind=result.kind,
                   sheet=result.sheet)
    return result, issues


def report_error_cells(cells: pd.DataFrame | None, file: str, issues: IssueLog) -> None:
    """One issue per sheet, column and Excel error value (the calamine reader reads those cells as blank)."""
    if cells is None or cells.empty:
        return
    for (sheet, column, value), rows in cells.groupby(["sheet", "column", "value"], sort=True)["row"]:
        listed = ", ".join(str(r) for r in rows.head(8))
        more = f" and {len(rows) - 8} more" if len(rows) > 8 else ""
        issues.add(file, f"{len(rows)} cell{'s' if len(rows) > 1 else ''} hold the Excel error {value} "
                         f"(rows {listed}{more})", "read as blank", kind="excel_error", sheet=sheet,
                   row=int(rows.min()), column=column)


@dataclass
class GameUnit:
    """One built game, rendered to CSV text per table (cheap to pass between processes)."""

    game_id: int
    status: str
    reason: str
    chunks: dict[str, tuple[str, int]]
    codes: dict[str, set[str]]
    seconds: float = 0.0  # building and rendering (in whichever process did it)
    summary: dict | None = None  # the game's figures for tables of other grains (GameResult.summary)


WORKER: dict = {}


def render_game(gp: GamePlan) -> GameUnit:
    """Build one game and render its rows. Any error while doing so is contained in that game: it becomes
    INVALID with the file named (and sheet, row, column where the error knows them) and the run goes on."""
    source, league, game_tables = WORKER["source"], WORKER["league"], WORKER["tables"]
    started = time.perf_counter()
    try:
        result, issues = build_one(source, gp, league)
        unit = _render(gp, result, issues, game_tables)
    except Exception as exc:  # noqa: BLE001 - one bad cell must never fail the whole run
        result, issues = _contained(gp, exc)
        unit = _render(gp, result, issues, game_tables)
    unit.seconds = time.perf_counter() - started
    return unit


def _render(gp: GamePlan, result: GameResult, issues: IssueLog, game_tables: list[str]) -> GameUnit:
    issues.finish()
    extra = {"qa_game_completeness": pd.DataFrame([result.completeness]), "qa_data_issues": issues.frame()}
    chunks = {}
    for name in game_tables:
        df = result.tables.get(name, extra.get(name))
        if df is not None and len(df):
            chunks[name] = render_csv(df, get_table(name))
    return GameUnit(gp.game_id, result.status, result.completeness.get("reason", ""), chunks, result.codes,
                    summary=result.summary or None)


def _contained(gp: GamePlan, exc: Exception) -> tuple[GameResult, IssueLog]:
    """An INVALID result for a game whose build failed, naming the file (and the cell, where known)."""
    game = GameFile(gp.game_id, Path(gp.file), gp.file, gp.note)
    issues = IssueLog(gp.game_id)
    located = exc if isinstance(exc, InputError) else None
    what = located.problem if located else f"{type(exc).__name__}: {exc}"
    reason = f"the game could not be built ({what}); fix the workbook and run the ETL again"
    issues.add(gp.file, reason, "game left out", kind="build_error", sheet=getattr(located, "sheet", None),
               row=getattr(located, "row", None), column=getattr(located, "column", None))
    return unusable(game, "INVALID", reason, kind="build_error", sheet=getattr(located, "sheet", None)), issues


def pool_map(games: list[GamePlan], workers: int, window: int = 3) -> Iterator[GameUnit]:
    """Results in order, with at most ``window`` games per worker in flight (bounded memory)."""
    pool = mp.get_context("fork").Pool(workers)
    pending: deque = deque()
    todo = iter(games)
    try:
        for gp in todo:
            pending.append(pool.apply_async(render_game, (gp,)))
            if len(pending) >= workers * window:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()
    finally:
        pool.terminate()
        pool.join()
