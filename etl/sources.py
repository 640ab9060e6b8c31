"""Where the ETL reads the league's inputs: Excel workbooks (default) or staging tables in Postgres.

A source lists the tracked games, hashes each input (incremental runs compare hashes) and reads
the master sheets and one game's sheets into raw frames with the workbook's own column names.
"""
from __future__ import annotations

from pathlib import Path
from typing import Protocol

import pandas as pd

from .errors import EtlError
from .excel_source import (
    VIDEO,
    XY,
    GameFile,
    GameFolder,
    discover_games,
    file_hash,
    find_master,
    folders_without_workbook,
    game_inputs_hash,
    read_game,
    read_master,
    read_video,
    read_xy,
    refused_folders,
)
from .staging import StagingSource


class Source(Protocol):
    name: str

    def master(self) -> tuple[str, str]:
        """(label of the master input, content hash)."""

    def read_master(self) -> tuple[dict[str, pd.DataFrame], list[dict]]:
        """Master sheets by canonical name, plus issues for optional sheets that are missing."""

    def games(self) -> dict[int, GameFile]:
        """Tracked games by id."""

    def folders_without_workbook(self) -> dict[int, GameFolder]:
        """Game folders that hold no tracking workbook (reported as NO_WORKBOOK), by game id."""

    def game_hash(self, game: GameFile) -> str:
        """Content hash of one game's input."""

    def read_game(self, game: GameFile) -> dict[str, pd.DataFrame]:
        """The game's events and shifts frames."""


class ExcelSource:
    """The league's folder layout: BLB_TABLES.xlsx and games/<id>/<id>_tracking.xlsx."""

    name = "excel"

    def __init__(self, data_dir: str | Path) -> None:
        self.data_dir = Path(data_dir)
        self._master: Path | None = None

    def _master_path(self) -> Path:
        if self._master is None:
            self._master = find_master(self.data_dir)
        return self._master

    def master(self) -> tuple[str, str]:
        path = self._master_path()
        return path.name, file_hash(path)

    def read_master(self) -> tuple[dict[str, pd.DataFrame], list[dict]]:
        path = self._master_path()
        return read_master(path, path.name)

    def games(self) -> dict[int, GameFile]:
        return discover_games(self.data_dir)

    def folders_without_workbook(self) -> dict[int, GameFolder]:
        return folders_without_workbook(self.data_dir)

    def refused_folders(self) -> list[str]:
        """Folders that look like games but are not read (see ``excel_source.refused_folders``)."""
        return refused_folders(self.data_dir)

    def game_hash(self, game: GameFile) -> str:
        return game_inputs_hash(game)

    def read_game(self, game: GameFile) -> dict[str, pd.DataFrame]:
        located = GameFile(game.game_id, self.data_dir / game.relpath, game.relpath, game.note)
        frames = read_game(located)
        video = read_video(located)
        if video is not None:
            frames[VIDEO] = video
        frames[XY] = read_xy(located)
        return frames


def open_source(name: str, data_dir: str | Path, staging_url: str = "") -> Source:
    """The source called ``name``; staging needs the target's connection URL."""
    if name == "excel":
        return ExcelSource(data_dir)
    if name == "staging":
        if not staging_url:
            raise EtlError("The staging source needs a target: name the target whose stage_* tables to read.")
        return StagingSource(staging_url)
    raise EtlError(f"Unknown source '{name}'; use excel or staging.")
