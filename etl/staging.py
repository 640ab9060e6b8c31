"""Staging source: the raw workbooks kept in the target's stage_* tables, read back as the Excel source reads them.

``stage_inputs`` copies the master sheets the ETL reads and each game's events and shifts sheets into
the target, cell by cell, exactly as pandas' calamine reader hands them to ``read_excel`` (the values
of ``CalamineReader.get_sheet_data``). ``StagingSource`` rebuilds the frames by running pandas' own
parser (``CalamineReader.parse`` with ``read_excel``'s defaults) over those values, then applies the
Excel source's header cleaning, empty-tail trimming and checks. The frames, and so every ETL output,
are therefore identical to what the Excel source gives (a test compares the manifests' checksums).

Tables (created on first use; the schema stage leaves them alone):

- ``stage_workbooks``: one row per staged workbook (``master`` or ``game:<id>``) with file name, content
  sha256, worksheet names and, for a workbook that cannot be read, the error the ETL reports for it.
- ``stage_folders``: one row per game folder without a tracking workbook (what it holds instead), so
  the staging source reports it as NO_WORKBOOK like the Excel source; replaced on every staging.
- ``stage_master_rows`` / ``stage_game_rows``: one row per sheet row (``row_number`` 1 = the header
  row, as in Excel) with ``cells``, a JSON array of typed values: strings, integers, fractional floats
  and booleans as JSON, ``{"datetime": iso}``, ``{"date": iso}``, ``{"time": iso}``,
  ``{"timedelta": [days, seconds, microseconds]}``, ``{"float": repr}`` (non-finite or integral floats)
  and ``{"str": [...]}`` (a string holding NUL characters, split on them: jsonb cannot store NUL).

A game is replaced atomically (one transaction: its workbook row and all its cells); unchanged
workbooks (same sha256) are skipped. Staging takes the target's writer lock, like schema and sync.
"""
from __future__ import annotations

import csv
import json
import math
import time as clock
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pandas as pd
import psycopg
from psycopg import sql

from .errors import EtlError, InputError
from .excel_cells import frames_from_cells, read_cells
from .excel_source import (
    ERRORS,
    GAME_SHEETS,
    MASTER_OPTIONAL,
    MASTER_REQUIRED,
    VIDEO,
    XY,
    GameFile,
    GameFolder,
    check_game_columns,
    check_master_columns,
    discover_games,
    error_cells_frame,
    excel_error_cells,
    file_hash,
    find_master,
    folders_without_workbook,
    game_inputs_hash,
    game_sheet_lookup,
    open_sheet_names,
    select_master_sheets,
    video_file,
    xy_files,
)
from .progress import CancelToken, NullReporter, Reporter
from .selection import GameSelection
from .text import plural
from .writer_lock import target_lock

WORKBOOKS = "stage_workbooks"
MASTER_ROWS = "stage_master_rows"
GAME_ROWS = "stage_game_rows"
FOLDERS = "stage_folders"
MASTER_KEY = "master"

_DDL = (
    "CREATE TABLE IF NOT EXISTS {wb} (\n"
    "    workbook text PRIMARY KEY,\n"
    "    kind text NOT NULL CHECK (kind IN ('master', 'game')),\n"
    "    game_id integer UNIQUE,\n"
    "    file text NOT NULL,\n"
    "    note text NOT NULL DEFAULT '',\n"
    "    sha256 text NOT NULL,\n"
    "    bytes bigint NOT NULL,\n"
    "    sheets jsonb NOT NULL,\n"
    "    error jsonb,\n"
    "    staged_at timestamp with time zone NOT NULL DEFAULT now()\n"
    ")",
    "CREATE TABLE IF NOT EXISTS {mr} (\n"
    "    sheet text NOT NULL,\n"
    "    row_number integer NOT NULL,\n"
    "    cells jsonb NOT NULL,\n"
    "    PRIMARY KEY (sheet, row_number)\n"
    ")",
    "CREATE TABLE IF NOT EXISTS {gr} (\n"
    "    game_id integer NOT NULL,\n"
    "    sheet text NOT NULL,\n"
    "    row_number integer NOT NULL,\n"
    "    cells jsonb NOT NULL,\n"
    "    PRIMARY KEY (game_id, sheet, row_number)\n"
    ")",
    "CREATE TABLE IF NOT EXISTS {fo} (\n"
    "    game_id integer PRIMARY KEY,\n"
    "    folder text NOT NULL,\n"
    "    contents jsonb NOT NULL,\n"
    "    staged_at timestamp with time zone NOT NULL DEFAULT now()\n"
    ")",
)


# ------------------------------------------------------------------------------------------------ cells

def encode_cell(value: object) -> object:
    """A cell value from the calamine reader as JSON (see the module docstring)."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):  # JSON numbers without a fraction would come back as int
        return value if math.isfinite(value) and not value.is_integer() else {"float": repr(value)}
    if isinstance(value, str):
        return value if "\x00" not in value else {"str": value.split("\x00")}
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    if isinstance(value, time):
        return {"time": value.isoformat()}
    if isinstance(value, timedelta):
        return {"timedelta": [value.days, value.seconds, value.microseconds]}
    raise TypeError(f"cannot stage a cell of type {type(value).__name__}")


def decode_cell(value: object) -> object:
    if not isinstance(value, dict):
        return value
    (tag, payload), = value.items()
    if tag == "datetime":
        return datetime.fromisoformat(payload)
    if tag == "date":
        return date.fromisoformat(payload)
    if tag == "time":
        return time.fromisoformat(payload)
    if tag == "timedelta":
        return timedelta(days=payload[0], seconds=payload[1], microseconds=payload[2])
    if tag == "float":
        return float(payload)
    if tag == "str":
        return "\x00".join(payload)
    raise EtlError(f"The staged cell tag '{tag}' is unknown; stage the inputs again.")


# ------------------------------------------------------------------------------------------------ staging

@dataclass
class StageResult:
    """What ``stage_inputs`` did: games staged, unchanged (skipped) and removed, and rows written."""

    master: str = ""  # staged | unchanged
    staged: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)
    unreadable: dict[int, str] = field(default_factory=dict)
    rows: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        text = (f"Staged master ({self.master}), {plural(len(self.staged), 'game')} ({plural(self.rows, 'row')}); "
                f"{len(self.unchanged)} unchanged, {len(self.removed)} removed")
        if self.unreadable:
            text += "; unreadable: " + ", ".join(f"{g} ({why})" for g, why in sorted(self.unreadable.items()))
        return text + f" in {self.seconds:.2f}s."

    def as_dict(self) -> dict:
        return {"master": self.master, "staged": self.staged, "unchanged": self.unchanged, "removed": self.removed,
                "unreadable": {str(k): v for k, v in self.unreadable.items()}, "rows": self.rows,
                "seconds": round(self.seconds, 3)}


def _ident(name: str) -> sql.Identifier:
    return sql.Identifier(name)


def ensure_stage_tables(conn: psycopg.Connection) -> None:
    names = {"wb": _ident(WORKBOOKS), "mr": _ident(MASTER_ROWS), "gr": _ident(GAME_ROWS), "fo": _ident(FOLDERS)}
    for statement in _DDL:
        conn.execute(sql.SQL(statement).format(**names))


def _connect(url: str, purpose: str) -> psycopg.Connection:
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=15, application_name=f"hockeyops {purpose}"[:63])
    except psycopg.Error as exc:
        text = str(exc).replace(url, "<target url>").strip().splitlines()
        raise EtlError(f"Could not connect to the target database: {text[0] if text else 'unknown error'}") from None


def stage_inputs(url: str, data_dir: str | Path, games: Iterable[int | str] | None = None, *,
                 target_name: str = "", force: bool = False, reporter: Reporter | None = None,
                 cancel: CancelToken | None = None) -> StageResult:
    """Load the master sheets and each game's events/shifts into the target's stage_* tables.

    Takes the writer lock of ``target_name`` (pass the target's name, as schema and sync do; without it
    the lock is keyed on the database name).

    ``games`` None stages every game in ``data_dir`` and removes staged games that are no longer there;
    otherwise only the named games are (re)staged. Unchanged workbooks are skipped unless ``force``.
    """
    reporter = reporter or NullReporter()
    cancel = cancel or CancelToken()
    started = clock.perf_counter()
    data_dir = Path(data_dir)
    master = find_master(data_dir)
    found = discover_games(data_dir)
    chosen = GameSelection.from_terms(games).resolve(found) if games else sorted(found)
    result = StageResult()
    with _connect(url, f"stage ({target_name or 'target'})") as conn:
        with target_lock(conn, target_name or conn.info.dbname, reporter, cancel):
            ensure_stage_tables(conn)
            staged = dict(conn.execute(sql.SQL("SELECT workbook, sha256 FROM {}").format(_ident(WORKBOOKS))).fetchall())
            total = len(chosen) + 1
            master_hash = file_hash(master)
            if not force and staged.get(MASTER_KEY) == master_hash:
                result.master = "unchanged"
            else:
                result.rows += _stage_master(conn, master, master_hash)
                result.master = "staged"
            reporter.progress(1, total, "master", result.rows)
            for i, gid in enumerate(chosen, 2):
                cancel.check()
                gf = found[gid]
                digest = game_inputs_hash(gf)
                if not force and staged.get(f"game:{gid}") == digest:
                    result.unchanged.append(gid)
                else:
                    rows, error = _stage_game(conn, gf, digest)
                    result.rows += rows
                    result.staged.append(gid)
                    if error:
                        result.unreadable[gid] = error
                        reporter.log("warning", f"game {gid}: {error} (staged as unreadable; the ETL leaves it out)")
                reporter.progress(i, total, f"game {gid}", result.rows)
            if games is None:
                gone = sorted(int(k.split(":")[1]) for k in staged if k.startswith("game:")
                              and int(k.split(":")[1]) not in found)
                for gid in gone:
                    with conn.transaction():
                        _delete_game(conn, gid)
                result.removed = gone
            _stage_folders(conn, folders_without_workbook(data_dir))
    result.seconds = clock.perf_counter() - started
    reporter.log("info", result.summary())
    return result


def _stage_folders(conn: psycopg.Connection, folders: dict[int, GameFolder]) -> None:
    """Replace the staged list of game folders without a tracking workbook (it reflects the data folder now)."""
    with conn.transaction():
        conn.execute(sql.SQL("DELETE FROM {}").format(_ident(FOLDERS)))
        for gid, folder in sorted(folders.items()):
            conn.execute(sql.SQL("INSERT INTO {} (game_id, folder, contents) VALUES (%s, %s, %s::jsonb)").format(
                _ident(FOLDERS)), (gid, folder.relpath, json.dumps(list(folder.contents))))


def _delete_game(conn: psycopg.Connection, game_id: int) -> None:
    conn.execute(sql.SQL("DELETE FROM {} WHERE game_id = %s").format(_ident(GAME_ROWS)), (game_id,))
    conn.execute(sql.SQL("DELETE FROM {} WHERE workbook = %s").format(_ident(WORKBOOKS)), (f"game:{game_id}",))


def _upsert_workbook(conn: psycopg.Connection, key: str, kind: str, game_id: int | None, file: str, note: str,
                     digest: str, size: int, sheets: list[str], error: dict | None) -> None:
    conn.execute(sql.SQL(
        "INSERT INTO {} (workbook, kind, game_id, file, note, sha256, bytes, sheets, error) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s::jsonb) ON CONFLICT (workbook) DO UPDATE SET "
        "kind = EXCLUDED.kind, game_id = EXCLUDED.game_id, file = EXCLUDED.file, note = EXCLUDED.note, "
        "sha256 = EXCLUDED.sha256, bytes = EXCLUDED.bytes, sheets = EXCLUDED.sheets, error = EXCLUDED.error, "
        "staged_at = now()").format(_ident(WORKBOOKS)),
        (key, kind, game_id, file, note, digest, size, json.dumps(sheets), json.dumps(error) if error else None))


def _copy_rows(conn: psycopg.Connection, table: str, prefix: tuple, sheets: dict[str, list[list]]) -> int:
    columns = ["game_id"] if prefix else []
    columns += ["sheet", "row_number", "cells"]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(_ident(table), sql.SQL(", ").join(map(_ident, columns)))
    rows = 0
    with conn.cursor() as cur, cur.copy(statement) as copy:
        for sheet, data in sheets.items():
            for number, row in enumerate(data, 1):
                cells = json.dumps([encode_cell(v) for v in row], ensure_ascii=False, allow_nan=False)
                copy.write_row((*prefix, sheet, number, cells))
                rows += 1
    return rows


def _stage_master(conn: psycopg.Connection, path: Path, digest: str) -> int:
    names = open_sheet_names(path, path.name)
    wanted = set(MASTER_REQUIRED) | set(MASTER_OPTIONAL)
    sheets = read_cells(path, path.name, [n for n in names if n.strip().lower() in wanted])
    with conn.transaction():
        conn.execute(sql.SQL("DELETE FROM {}").format(_ident(MASTER_ROWS)))
        _upsert_workbook(conn, MASTER_KEY, "master", None, path.name, "", digest, path.stat().st_size, names, None)
        return _copy_rows(conn, MASTER_ROWS, (), sheets)


def _stage_game(conn: psycopg.Connection, game: GameFile, digest: str) -> tuple[int, str]:
    """Replace one game's staged workbook in one transaction; an unreadable workbook is staged with its error."""
    error: dict | None = None
    names: list[str] = []
    sheets: dict[str, list[list]] = {}
    try:
        names = open_sheet_names(game.path, game.relpath)
        sheets = read_cells(game.path, game.relpath,
                             [n for n in names if n.strip().lower() in GAME_SHEETS])
        actual = {n.strip().lower(): n for n in names}
        sheets[ERRORS] = excel_error_cells(game.path, {c: actual[c] for c in GAME_SHEETS if c in actual})
        video = video_file(game)
        if video is not None:  # the first sheet of <id>_video_times.xlsx, staged as the pseudo-sheet VIDEO
            relpath = str(Path(game.relpath).parent / video.name)
            first = open_sheet_names(video, relpath)[0]
            sheets[VIDEO] = read_cells(video, relpath, [first])[first]
        for kind, files in xy_files(game).items():  # location exports: one pseudo-sheet xy:<kind>:<file> each
            for path in files:
                with open(path, newline="", encoding="utf-8-sig") as fh:
                    sheets[f"{XY}:{kind}:{path.name}"] = [list(row) for row in csv.reader(fh)]
    except InputError as exc:
        error = {"file": exc.file, "problem": exc.problem, "sheet": exc.sheet, "row": exc.row, "column": exc.column}
        sheets = {}
    with conn.transaction():
        _delete_game(conn, game.game_id)
        _upsert_workbook(conn, f"game:{game.game_id}", "game", game.game_id, game.relpath, game.note, digest,
                         game.path.stat().st_size, names, error)
        rows = _copy_rows(conn, GAME_ROWS, (game.game_id,), sheets)
    return rows, error["problem"] if error else ""


# ------------------------------------------------------------------------------------------------ source

class StagingSource:
    """The ``staging`` source: reads the stage_* tables of a target (see the module docstring).

    Every call opens its own short connection, so the ETL's forked game workers never share one.
    """

    name = "staging"

    def __init__(self, url: str) -> None:
        self.url = url

    def _query(self, query: sql.Composable, params: tuple = ()) -> list[tuple]:
        with _connect(self.url, "staging source") as conn:
            if conn.execute("SELECT to_regclass(%s)", (WORKBOOKS,)).fetchone()[0] is None:
                raise EtlError("The target has no staged inputs (stage_workbooks is missing); run "
                               "`python manage.py stage --target NAME --data-dir DIR` first.")
            return conn.execute(query, params).fetchall()

    def _workbook(self, key: str) -> tuple:
        rows = self._query(sql.SQL("SELECT file, sha256, sheets, error, note FROM {} WHERE workbook = %s").format(
            _ident(WORKBOOKS)), (key,))
        if not rows:
            what = "master workbook" if key == MASTER_KEY else f"game {key.split(':')[1]}"
            raise EtlError(f"The {what} is not staged in the target; run `python manage.py stage` first.")
        return rows[0]

    def master(self) -> tuple[str, str]:
        file, digest, *_ = self._workbook(MASTER_KEY)
        return file, digest

    def games(self) -> dict[int, GameFile]:
        rows = self._query(sql.SQL("SELECT game_id, file, note FROM {} WHERE kind = 'game' ORDER BY game_id").format(
            _ident(WORKBOOKS)))
        return {gid: GameFile(gid, Path(file), file, note) for gid, file, note in rows}

    def game_hash(self, game: GameFile) -> str:
        return self._workbook(f"game:{game.game_id}")[1]

    def folders_without_workbook(self) -> dict[int, GameFolder]:
        """Game folders staged as holding no tracking workbook (none when staged by an older version)."""
        with _connect(self.url, "staging source") as conn:
            if conn.execute("SELECT to_regclass(%s)", (FOLDERS,)).fetchone()[0] is None:
                return {}
            rows = conn.execute(sql.SQL("SELECT game_id, folder, contents FROM {} ORDER BY game_id").format(
                _ident(FOLDERS))).fetchall()
        return {gid: GameFolder(gid, folder, tuple(contents)) for gid, folder, contents in rows}

    def _sheets(self, table: str, where: sql.Composable, params: tuple, names: list[str]) -> dict[str, list[list]]:
        query = sql.SQL("SELECT sheet, cells FROM {} WHERE {} AND sheet = ANY(%s) ORDER BY sheet, row_number").format(
            _ident(table), where)
        out: dict[str, list[list]] = {n: [] for n in names}
        for sheet, cells in self._query(query, (*params, names)):
            out[sheet].append([decode_cell(v) for v in cells])
        return out

    def read_master(self) -> tuple[dict[str, pd.DataFrame], list[dict]]:
        """As ``excel_source.read_master``: required sheets and columns checked, optional ones reported."""
        relpath, _, sheet_names, error, _ = self._workbook(MASTER_KEY)
        if error:
            raise InputError(**error)
        wanted, issues = select_master_sheets(sheet_names, relpath)
        cells = self._sheets(MASTER_ROWS, sql.SQL("true"), (), list(wanted.values()))
        frames = frames_from_cells(cells, relpath)
        out = {canon: frames[actual] for canon, actual in wanted.items()}
        check_master_columns(out, relpath)
        return out, issues

    def read_game(self, game: GameFile) -> dict[str, pd.DataFrame]:
        """As ``excel_source.read_game``: InputError for unreadable or malformed workbooks."""
        relpath, _, sheet_names, error, _ = self._workbook(f"game:{game.game_id}")
        if error:
            raise InputError(**error)
        lookup = game_sheet_lookup(sheet_names, relpath)
        cells = self._sheets(GAME_ROWS, sql.SQL("game_id = %s"), (game.game_id,),
                             [*(lookup[s] for s in GAME_SHEETS), ERRORS, VIDEO])
        errors = cells.pop(ERRORS, [])
        video = cells.pop(VIDEO, [])
        frames = frames_from_cells(cells, relpath)
        out = {canon: frames[lookup[canon]] for canon in GAME_SHEETS}
        check_game_columns(out, relpath)
        out[ERRORS] = error_cells_frame(errors, out)
        if video:
            out[VIDEO] = frames_from_cells({VIDEO: video}, relpath)[VIDEO]
        out[XY] = self._xy(game.game_id)
        return out

    def _xy(self, game_id: int) -> dict[str, list[pd.DataFrame]]:
        """The staged location exports by kind (as ``excel_source.read_xy``: text cells)."""
        query = sql.SQL("SELECT sheet, cells FROM {} WHERE game_id = %s AND sheet LIKE %s "
                        "ORDER BY sheet, row_number").format(_ident(GAME_ROWS))
        files: dict[str, list[list]] = {}
        for sheet, cells in self._query(query, (game_id, f"{XY}:%")):
            files.setdefault(sheet, []).append([decode_cell(v) for v in cells])
        out: dict[str, list[pd.DataFrame]] = {}
        for sheet, rows in files.items():
            kind = sheet.split(":")[1]
            out.setdefault(kind, []).append(pd.DataFrame(rows[1:], columns=rows[0], dtype=str))
        return out

