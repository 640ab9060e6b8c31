"""The data-quality page of an ETL output folder: games by completeness status, tracked against official goals
per game and team, and qa_data_issues by kind and by game (read from the published CSV files)."""
from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from etl.store import OutputStore


def read_rows(folder: Path, table: str) -> list[dict[str, str]]:
    """The rows of one published table (empty when the table was not published)."""
    path = Path(folder) / f"{table}.csv"
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _int(value: str | None) -> int | None:
    try:
        return int(float(value)) if value not in (None, "") else None
    except ValueError:
        return None


@dataclass
class Quality:
    """Figures of one output folder; ``game`` narrows the row lists to one game."""

    folder: Path
    created_at: str = ""
    statuses: Counter = field(default_factory=Counter)
    games: list[dict] = field(default_factory=list)
    goals: list[dict] = field(default_factory=list)
    issue_kinds: Counter = field(default_factory=Counter)
    issue_games: Counter = field(default_factory=Counter)
    issues: list[dict] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def mismatched(self) -> list[dict]:
        return [g for g in self.goals if not g["match"]]


def quality_of(folder: Path, game: int | None = None) -> Quality:
    """Read the QA tables of ``folder``; a table that is not there is named in ``missing``."""
    manifest = OutputStore(Path(folder)).manifest() or {}
    q = Quality(Path(folder), created_at=manifest.get("created_at", ""))
    completeness = read_rows(folder, "qa_game_completeness")
    goals = read_rows(folder, "qa_goal_verification")
    issues = read_rows(folder, "qa_data_issues")
    for name, rows in (("qa_game_completeness", completeness), ("qa_goal_verification", goals),
                       ("qa_data_issues", issues)):
        if not rows and not (Path(folder) / f"{name}.csv").is_file():
            q.missing.append(name)
    for row in completeness:
        q.statuses[row.get("status", "")] += 1
        q.games.append({"game_id": _int(row.get("game_id")), "status": row.get("status", ""),
                        "reason": row.get("reason", ""), "file": row.get("file", "")})
    for row in goals:
        official, tracked = _int(row.get("official_goals")), _int(row.get("tracked_goals"))
        q.goals.append({"game_id": _int(row.get("game_id")), "team_id": row.get("team_id", ""),
                        "venue": row.get("venue", ""), "official": official, "tracked": tracked,
                        "match": official == tracked})
    for row in issues:
        gid = _int(row.get("game_id"))
        q.issue_kinds[row.get("kind") or "other"] += 1
        q.issue_games["league (no game)" if gid is None else f"game {gid}"] += 1
        q.issues.append({**row, "game_id": gid})
    if game is not None:
        q.games = [g for g in q.games if g["game_id"] == game]
        q.goals = [g for g in q.goals if g["game_id"] == game]
        q.issues = [i for i in q.issues if i["game_id"] == game]
    q.games.sort(key=lambda g: (g["game_id"] is None, g["game_id"] or 0))
    q.goals.sort(key=lambda g: (g["game_id"] or 0, g["team_id"]))
    return q
