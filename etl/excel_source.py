"""Excel source: finds the league's workbooks and reads them into raw frames.

Layout (the league's own): ``<data_dir>/BLB_TABLES.xlsx`` (any case) and
``<data_dir>/games/<game_id>/<game_id>_tracking.xlsx``. Only workbooks directly in a game folder
whose name contains "tracking" are candidates; everything else the league keeps there is ignored:
``<id>_video_times.xlsx``, ``!info*`` checklists, old tracker CSV exports and older workbook copies
in ``events/``, ``shots/``, ``shifts/``, ``xy/``, backup folders and lock files. A game folder
without a tracking workbook is reported (``folders_without_workbook``). Reading uses pandas with
the calamine engine; trailing all-empty rows are dropped.
"""
from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .errors import InputError

MASTER_NAME = "blb_tables.xlsx"
MASTER_REQUIRED = {
    "dim_player": ("player_id", "player_full_name"),
    "dim_team": ("team_id", "team_name"),
    "dim_schedule": ("game_id", "home_team_id", "away_team_id", "home_total_goals", "away_total_goals"),
    "fact_gameroster": ("game_id", "team_id", "player_game_number", "player_id"),
}
MASTER_OPTIONAL = ("dim_league", "dim_season", "fact_registration", "fact_draft", "fact_leadership")
GAME_SHEETS = ("events", "shifts")
# At least one column of each group must exist in the events sheet.
EVENT_COLUMN_GROUPS = (
    ("event_index_", "event_index"),
    ("event_type_", "Type"),
    ("player_game_number", "player_game_number_"),
)
SHIFT_COLUMN_GROUPS = (
    ("Period", "period"),
    ("shift_start_min",),
    ("shift_start_sec",),
    ("shift_end_min",),
    ("shift_end_sec",),
)


@dataclass(frozen=True)
class GameFile:
    """One tracked game's workbook, found on disk."""

    game_id: int
    path: Path
    relpath: str
    note: str = ""


def file_hash(path: Path) -> str:
    """sha256 of a file's bytes (used by incremental runs)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def find_master(data_dir: Path) -> Path:
    """The master workbook, matched case-insensitively; InputError when absent."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise InputError(str(data_dir), "the data folder does not exist.")
    for entry in sorted(data_dir.iterdir()):
        if entry.is_file() and entry.name.lower() == MASTER_NAME:
            return entry
    raise InputError(
        str(data_dir / "BLB_TABLES.xlsx"),
        "the master workbook is missing; put BLB_TABLES.xlsx in the data folder.",
    )


_LOCK_OR_TEMP = re.compile(r"^(~\$|\.~lock|\.)")


@dataclass(frozen=True)
class GameFolder:
    """A game folder without a tracking workbook: what it holds instead (relative paths)."""

    game_id: int
    relpath: str
    contents: tuple[str, ...]


MAX_GAME_ID = 2**31 - 1  # game ids are PostgreSQL integers


def _game_number(name: str) -> int | None:
    """The game id a folder name states (whole numbers only, within the warehouse's integer range)."""
    text = name.strip()
    if text.isascii() and text.isdigit() and len(text) <= len(str(MAX_GAME_ID)) and int(text) <= MAX_GAME_ID:
        return int(text)
    return None


def _outside(path: Path, data_dir: Path) -> bool:
    """True when ``path`` is a symlink leading outside the data folder (plain entries of a folder inside it are
    inside it: only links are resolved, which keeps discovery cheap)."""
    if not path.is_symlink():
        return False
    try:
        return not path.resolve().is_relative_to(Path(data_dir).resolve())
    except OSError:
        return True


def _game_folders(data_dir: Path) -> list[tuple[int, Path]]:
    """(game id, folder) of each folder under ``games/`` named by a game number, inside the data folder."""
    games_dir = Path(data_dir) / "games"
    if not games_dir.is_dir():
        return []
    out = []
    for f in sorted(games_dir.iterdir()):
        game_id = _game_number(f.name)
        if f.is_dir() and game_id is not None and not _outside(f, data_dir):
            out.append((game_id, f))  # backup folders and stray files are not games
    return out


def refused_folders(data_dir: Path) -> list[str]:
    """Sentences for folders under ``games/`` that look like games but are not read: a number that cannot be a
    game id, or a link to a place outside the data folder."""
    games_dir = Path(data_dir) / "games"
    if not games_dir.is_dir():
        return []
    out = []
    for f in sorted(games_dir.iterdir()):
        text = f.name.strip()
        if not f.is_dir():
            continue
        if text.isascii() and text.isdigit() and _game_number(text) is None:
            out.append(f"games/{f.name}: the folder name is not a game number the warehouse can hold (a whole "
                       f"number up to {MAX_GAME_ID}); the folder was not read.")
        elif _game_number(text) is not None and _outside(f, data_dir):
            out.append(f"games/{f.name}: the folder links outside the data folder ({f.resolve()}); it was not "
                       "read. Copy the game's files into the data folder instead of linking them.")
    return out


def _tracking_candidates(folder: Path) -> list[Path]:
    """Workbooks directly in the folder whose name says tracking (subfolders hold old exports)."""
    return sorted(
        f for f in folder.iterdir()
        if f.is_file() and f.suffix.lower() == ".xlsx" and not _LOCK_OR_TEMP.match(f.name)
        and "tracking" in f.name.lower() and not _outside(f, folder)
    )


def folders_without_workbook(data_dir: Path) -> dict[int, GameFolder]:
    """Game folders under ``games/`` that hold no tracking workbook, with what they hold instead."""
    data_dir = Path(data_dir)
    out: dict[int, GameFolder] = {}
    for game_id, folder in _game_folders(data_dir):
        if _tracking_candidates(folder):
            continue
        contents = tuple(sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                                if p.is_file() and not _LOCK_OR_TEMP.match(p.name)))
        out[game_id] = GameFolder(game_id, str(folder.relative_to(data_dir)), contents)
    return out


def discover_games(data_dir: Path) -> dict[int, GameFile]:
    """Tracked games found under ``games/``: folder names that are game numbers, one workbook each."""
    found: dict[int, GameFile] = {}
    for game_id, folder in _game_folders(Path(data_dir)):
        candidates = _tracking_candidates(folder)
        if not candidates:
            continue  # reported by folders_without_workbook
        exact = [f for f in candidates if f.name.lower() == f"{game_id}_tracking.xlsx"]
        own = [f for f in candidates if f.name.lower().startswith(str(game_id))]
        path = (exact or own or candidates)[0]
        note = "" if exact else f"workbook is named '{path.name}' instead of '{game_id}_tracking.xlsx'"
        if len(candidates) > 1 and not exact:
            note += f" (chosen from {len(candidates)} tracking workbooks)"
        found[game_id] = GameFile(game_id, path, f"games/{folder.name}/{path.name}", note)
    return found


def drop_empty_tail(df: pd.DataFrame) -> pd.DataFrame:
    """Drop all-empty rows at the end (formula-filled blank rows past the data)."""
    if df.empty:
        return df
    filled = df.notna().to_numpy().any(axis=1)
    if not filled.any():
        return df.iloc[0:0]
    last = int(filled.nonzero()[0][-1])
    return df.iloc[: last + 1]


def clean_headers(df: pd.DataFrame) -> pd.DataFrame:
    df.columns = [str(c).strip() for c in df.columns]
    return df


def _sheet_lookup(names: list[str]) -> dict[str, str]:
    return {n.strip().lower(): n for n in names}


def open_sheet_names(path: Path, relpath: str) -> list[str]:
    try:
        with pd.ExcelFile(path, engine="calamine") as book:
            return list(book.sheet_names)
    except FileNotFoundError:
        raise InputError(relpath, "the file does not exist.") from None
    except Exception as exc:  # calamine raises several types for corrupt files
        raise InputError(
            relpath, f"the file cannot be opened as an Excel workbook ({type(exc).__name__}); "
            "re-save it from Excel as .xlsx."
        ) from None


def _read_sheets(path: Path, relpath: str, sheets: list[str]) -> dict[str, pd.DataFrame]:
    try:
        frames = pd.read_excel(path, sheet_name=sheets, engine="calamine")
    except Exception as exc:
        raise InputError(relpath, f"the workbook could not be read ({exc}).") from None
    return {name: drop_empty_tail(clean_headers(df)) for name, df in frames.items()}


def read_master_sheet(path: Path, name: str) -> pd.DataFrame:
    """One sheet of the master workbook by its canonical name (case and surrounding spaces ignored), read as
    ``read_master`` reads it; empty when the workbook has no such sheet."""
    actual = _sheet_lookup(open_sheet_names(path, path.name)).get(name)
    if actual is None:
        return pd.DataFrame()
    return _read_sheets(path, path.name, [actual])[actual]


def select_master_sheets(sheet_names: list[str], relpath: str) -> tuple[dict[str, str], list[dict]]:
    """Canonical sheet -> actual sheet name for the master's sheets; issues for optional ones missing.

    A missing required sheet raises InputError naming it.
    """
    lookup = _sheet_lookup(sheet_names)
    issues: list[dict] = []
    wanted: dict[str, str] = {}
    for sheet in MASTER_REQUIRED:
        if sheet not in lookup:
            raise InputError(relpath, f"the sheet '{sheet}' is missing from the master workbook.", sheet=sheet)
        wanted[sheet] = lookup[sheet]
    for sheet in MASTER_OPTIONAL:
        if sheet in lookup:
            wanted[sheet] = lookup[sheet]
        else:
            issues.append(dict(file=relpath, sheet=sheet, problem="sheet is missing", action="table written empty",
                               kind="missing_sheet"))
    return wanted, issues


def check_master_columns(frames: dict[str, pd.DataFrame], relpath: str) -> None:
    """InputError naming sheet and column when a required master column is missing."""
    for sheet, columns in MASTER_REQUIRED.items():
        for column in columns:
            if column not in frames[sheet].columns:
                raise InputError(relpath, "a required column is missing.", sheet=sheet, column=column)


def read_master(path: Path, relpath: str | None = None) -> tuple[dict[str, pd.DataFrame], list[dict]]:
    """Master sheets by canonical name, plus issues for optional sheets that are missing.

    A missing required sheet or column raises InputError naming the file, sheet and column.
    """
    relpath = relpath or path.name
    wanted, issues = select_master_sheets(open_sheet_names(path, relpath), relpath)
    frames = _read_sheets(path, relpath, list(wanted.values()))
    out = {canon: frames[actual] for canon, actual in wanted.items()}
    check_master_columns(out, relpath)
    return out, issues


def game_sheet_lookup(sheet_names: list[str], relpath: str) -> dict[str, str]:
    """Sheet lookup of a game workbook; InputError naming a missing events/shifts sheet."""
    lookup = _sheet_lookup(sheet_names)
    for sheet in GAME_SHEETS:
        if sheet not in lookup:
            raise InputError(relpath, f"the sheet '{sheet}' is missing.", sheet=sheet)
    return lookup


def check_game_columns(frames: dict[str, pd.DataFrame], relpath: str) -> None:
    """InputError naming sheet and column when a game sheet lacks a required column (group)."""
    for sheet, groups in (("events", EVENT_COLUMN_GROUPS), ("shifts", SHIFT_COLUMN_GROUPS)):
        columns = set(frames[sheet].columns)
        for group in groups:
            if not columns.intersection(group):
                raise InputError(relpath, "a required column is missing.", sheet=sheet, column=" or ".join(group))


def read_game(game: GameFile) -> dict[str, pd.DataFrame]:
    """The events and shifts sheets of one game, plus ``excel_errors`` (see ``error_cells_frame``);
    InputError for unreadable or malformed workbooks."""
    lookup = game_sheet_lookup(open_sheet_names(game.path, game.relpath), game.relpath)
    frames = _read_sheets(game.path, game.relpath, [lookup[s] for s in GAME_SHEETS])
    out = {canon: frames[lookup[canon]] for canon in GAME_SHEETS}
    check_game_columns(out, game.relpath)
    out[ERRORS] = error_cells_frame(excel_error_cells(game.path, {c: lookup[c] for c in GAME_SHEETS}), out)
    return out


VIDEO = "video"  # key of the game's video sheet among its frames (from <id>_video_times.xlsx, when present)


def video_file(game: GameFile) -> Path | None:
    """The game's ``<id>_video_times.xlsx`` next to its tracking workbook, if there is one."""
    path = game.path.parent / f"{game.game_id}_video_times.xlsx"
    return path if path.is_file() else None


# The tracker's location exports in a game folder (etl.builders.xy), by kind: folder, relative to the game folder.
XY_FOLDERS = {"shots": "shots", "players": "xy/event_locations"}
XY = "xy"  # key of the location exports among a game's frames: {kind: [frame per CSV file]}


def xy_files(game: GameFile) -> dict[str, list[Path]]:
    """The game's location exports (``<id>_<n>.csv``) by kind, sorted; kinds without files are left out."""
    out = {}
    for kind, sub in XY_FOLDERS.items():
        folder = game.path.parent / sub
        files = sorted(folder.glob(f"{game.game_id}_*.csv")) if folder.is_dir() else []
        if files:
            out[kind] = files
    return out


def read_xy(game: GameFile) -> dict[str, list[pd.DataFrame]]:
    """The location exports' frames by kind; InputError naming a file that cannot be read as CSV."""
    out: dict[str, list[pd.DataFrame]] = {}
    for kind, files in xy_files(game).items():
        for path in files:
            try:
                out.setdefault(kind, []).append(pd.read_csv(path, dtype=str, keep_default_na=False))
            except (OSError, ValueError, pd.errors.ParserError) as exc:
                raise InputError(str(Path(game.relpath).parent / path.relative_to(game.path.parent)),
                                 f"the location export cannot be read as CSV ({exc})") from None
    return out


def game_inputs_hash(game: GameFile) -> str:
    """Hash of the game's inputs: the workbook's hash alone, or combined with its video sheet's and its
    location exports' (so a changed side file rebuilds the game in an incremental run)."""
    sides = [p for p in [video_file(game)] if p is not None] + [p for ps in xy_files(game).values() for p in ps]
    if not sides:
        return file_hash(game.path)
    parts = [file_hash(game.path)] + [f"{p.parent.name}/{p.name}={file_hash(p)}" for p in sides]
    return hashlib.sha256(":".join(parts).encode()).hexdigest()


def read_video(game: GameFile) -> pd.DataFrame | None:
    """The first sheet of the game's video file (None when absent); InputError naming it when unreadable."""
    path = video_file(game)
    if path is None:
        return None
    relpath = str(Path(game.relpath).parent / path.name)
    names = open_sheet_names(path, relpath)
    return _read_sheets(path, relpath, names[:1])[names[0]]


# ---- Excel error values (#DIV/0!, #N/A, ...): the calamine reader hands them over as blanks, so they are found
# in the sheet XML, to be reported instead of silently read as empty cells.

ERRORS = "excel_errors"  # key of the error cells' frame among a game's frames (and of its staged pseudo-sheet)
_CELL = re.compile(rb"<c\b([^>]*)>(.*?)</c>", re.S)
_ATTR = re.compile(rb'(\w+)="([^"]*)"')
_VALUE = re.compile(rb"<v>([^<]*)</v>")
_REF = re.compile(r"^([A-Z]+)(\d+)$")
_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
       "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
       "p": "http://schemas.openxmlformats.org/package/2006/relationships"}


def excel_error_cells(path: Path, sheets: dict[str, str]) -> list[list]:
    """``[sheet, excel_row, column_letters, error]`` for every error-valued cell of the named sheets (canonical
    name -> the workbook's sheet name). A workbook that cannot be scanned gives none (it was readable)."""
    out: list[list] = []
    try:
        with zipfile.ZipFile(path) as book:
            workbook = ET.fromstring(book.read("xl/workbook.xml"))
            rels = ET.fromstring(book.read("xl/_rels/workbook.xml.rels"))
            targets = {r.get("Id"): r.get("Target") for r in rels.findall("p:Relationship", _NS)}
            parts = {}
            for sheet in workbook.findall("m:sheets/m:sheet", _NS):
                target = targets.get(sheet.get(f"{{{_NS['r']}}}id"), "")
                parts[sheet.get("name")] = target.lstrip("/") if target.startswith("/xl/") else f"xl/{target}"
            for canon, name in sheets.items():
                part = parts.get(name)
                if not part:
                    continue
                xml = book.read(part)
                at = xml.find(b't="e"')
                while at != -1:  # only error cells carry t="e": jump from one to the next
                    start, end = xml.rfind(b"<c ", 0, at), xml.find(b"</c>", at)
                    match = _CELL.match(xml, start, end + 4) if start != -1 and end != -1 else None
                    if match:
                        values = dict(_ATTR.findall(match.group(1)))
                        ref = _REF.match(values.get(b"r", b"").decode())
                        value = _VALUE.search(match.group(2))
                        if values.get(b"t") == b"e" and ref and value:
                            out.append([canon, int(ref.group(2)), ref.group(1), value.group(1).decode()])
                    at = xml.find(b't="e"', at + 1)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, ET.ParseError):
        return []
    return out


def _column_index(letters: str) -> int:
    number = 0
    for ch in letters:
        number = number * 26 + (ord(ch) - 64)
    return number - 1


def error_cells_frame(cells: list[list], frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The error cells with their column's header name (frames start at column A, header on row 1)."""
    rows = []
    for sheet, row, letters, value in cells:
        columns = frames[sheet].columns
        index = _column_index(letters)
        if row > 1 and index < len(columns):
            rows.append({"sheet": sheet, "row": row, "column": str(columns[index]), "value": value})
    return pd.DataFrame(rows, columns=["sheet", "row", "column", "value"])
