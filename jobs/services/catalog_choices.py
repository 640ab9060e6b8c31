"""Choices for admin forms: schedule games with their tracking status, catalog tables grouped by kind."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from etl.catalog import TABLES
from etl.errors import InputError
from etl.excel_source import discover_games, find_master, read_master_sheet
from etl.selection import MODES

_cache: dict[tuple[str, int, int], list[dict]] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class GameChoice:
    """A game of the master schedule (or a tracked game missing from it)."""

    game_id: int
    date: str = ""
    home: str = ""
    away: str = ""
    tracked: bool = False
    in_schedule: bool = True

    @property
    def label(self) -> str:
        parts = [str(self.game_id)]
        if self.date:
            parts.append(self.date)
        if self.home or self.away:
            parts.append(f"{self.home} – {self.away}")
        status = "tracked" if self.tracked else "no tracking workbook"
        if not self.in_schedule:
            status += ", not in the schedule"
        return f"{' · '.join(parts)} ({status})"


def _text(value) -> str:
    if value is None or value != value:  # NaN
        return ""
    if hasattr(value, "date") and callable(value.date):
        return value.date().isoformat()
    return str(value).strip()


def _read_schedule(master: Path) -> list[dict]:
    """dim_schedule rows (game id, date, teams) of the master workbook; cached by path, mtime and size."""
    stat = master.stat()
    key = (str(master), stat.st_mtime_ns, stat.st_size)
    with _lock:
        if key in _cache:
            return _cache[key]
    try:
        df = read_master_sheet(master, "dim_schedule")
    except InputError:
        return []
    rows = []
    for rec in df.to_dict("records"):
        try:
            gid = int(float(rec.get("game_id")))
        except (TypeError, ValueError):
            continue
        rows.append({"game_id": gid, "date": _text(rec.get("date", rec.get("game_date"))),
                     "home": _text(rec.get("home_team_name")), "away": _text(rec.get("away_team_name"))})
    with _lock:
        _cache.clear()  # one master at a time is enough
        _cache[key] = rows
    return rows


def schedule_games(data_dir: str | Path) -> list[GameChoice]:
    """Every scheduled game with whether its tracking workbook exists, plus tracked games off the schedule."""
    tracked = set(discover_games(Path(data_dir)))
    try:
        schedule = _read_schedule(find_master(Path(data_dir)))
    except (InputError, OSError, ValueError):
        schedule = []
    games = {row["game_id"]: GameChoice(**row, tracked=row["game_id"] in tracked) for row in schedule}
    for gid in tracked - set(games):
        games[gid] = GameChoice(gid, tracked=True, in_schedule=False)
    return [games[g] for g in sorted(games)]


def game_choices(data_dir: str | Path) -> list[tuple[str, list[tuple[str, str]]]]:
    """Grouped (value, label) choices: tracked games first, then scheduled games without a workbook."""
    games = schedule_games(data_dir)
    groups = [("Tracked games", [(str(g.game_id), g.label) for g in games if g.tracked]),
              ("No tracking workbook", [(str(g.game_id), g.label) for g in games if not g.tracked])]
    return [(name, options) for name, options in groups if options]


TABLE_GROUPS: tuple[tuple[str, str, str | None], ...] = (
    ("Dimensions", "dim", None),
    ("Facts · basic (official box score)", "fact", "basic"),
    ("Facts · tracking", "fact", "tracking"),
    ("Facts · other", "fact", ""),
    ("Quality (qa)", "qa", None),
)


def table_choices(include_modes: bool = True) -> list[tuple[str, list[tuple[str, str]]]]:
    """Catalog tables grouped by category and tag; optionally the selection modes as a first group."""
    groups: list[tuple[str, list[tuple[str, str]]]] = []
    if include_modes:
        groups.append(("Selections", [(mode, f"{mode} — {text}") for mode, text in MODES.items()]))
    for label, category, tag in TABLE_GROUPS:
        options = [(t.name, f"{t.name} — {t.description}") for t in TABLES
                   if t.category == category and (tag is None or (tag in t.tags if tag else not t.tags))]
        if options:
            groups.append((label, options))
    return groups


def flat_values(grouped: list[tuple[str, list[tuple[str, str]]]]) -> set[str]:
    return {value for _, options in grouped for value, _ in options}
