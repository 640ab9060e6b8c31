"""Who a jersey on one side of a tracked game is: the one rule used by events and shifts alike.

For a row that puts jersey J on the side of team T (T from the schedule, after any home/away swap):

1. J is on T's official roster of the game: that player.
2. J is only on the other team's roster: the jersey identifies that player, so the row is credited to
   him **and to his roster team** (the side was entered wrong); the event keeps its tracked team.
   Reported as ``jersey_other_side`` with file, sheet, row and column.
3. J is on neither roster: the workbook's own ``player_id`` for (T, J), where the events sheet has
   one (a substitute the tracker knew), else unlinked. Reported as ``jersey_not_on_roster``, once per
   sheet, team and jersey with its rows listed.
   The same (T, J) is linked the same way in every sheet, so an unlinked jersey is one
   (game, team, jersey) and is never split from a linked row.

Each player ends on one team: his roster team, else the first team he was resolved to.
"""
from __future__ import annotations

import pandas as pd

from ..issues import IssueLog

LINKED_BY = ("roster", "other_side", "workbook")
MAX_ROWS_LISTED = 8  # rows named in one jersey_not_on_roster issue (the first row is its location)


class Resolver:
    """Roster lookups of one game (``resolve``) and the workbook's own player ids for unknown jerseys."""

    def __init__(self, roster: pd.DataFrame, team_names: dict[str, str]) -> None:
        rl = roster.dropna(subset=["jersey"]).drop_duplicates(["team_id", "jersey"])
        self.by_jersey = dict(zip(zip(rl["team_id"], rl["jersey"], strict=True), rl["player_id"], strict=True))
        self.teams = sorted(set(rl["team_id"].dropna()) | set(team_names))
        self.team_names = team_names
        self.workbook: dict[tuple[str, str], str] = {}
        linked = roster.dropna(subset=["player_id"])
        self.player_team: dict[str, str] = dict(zip(linked["player_id"], linked["team_id"], strict=True))

    def other(self, team: str) -> str | None:
        others = [t for t in self.team_names if t != team]
        return others[0] if len(others) == 1 else None

    def learn_workbook_ids(self, teams: pd.Series, jerseys: pd.Series, player_ids: pd.Series) -> None:
        """Keep the workbook's player id for (team, jersey) pairs that are on neither roster."""
        frame = pd.DataFrame({"t": teams, "j": jerseys, "p": player_ids}).dropna()
        for t, j, p in zip(frame["t"], frame["j"], frame["p"], strict=True):
            if (t, j) in self.by_jersey or (self.other(t), j) in self.by_jersey:
                continue
            self.workbook.setdefault((t, j), p)

    def resolve(self, teams: pd.Series, jerseys: pd.Series) -> pd.DataFrame:
        """Per row: player_id, team_id (the team credited) and how the row was linked."""
        pid, team, how = [], [], []
        for t, j in zip(teams.tolist(), jerseys.tolist(), strict=True):
            t = None if t is None or t is pd.NA or (isinstance(t, float) and t != t) else t
            j = None if j is None or j is pd.NA else j
            p, credited, rule = None, t, "unlinked"
            if j is None:
                rule = "no_jersey"
            elif t is None:
                owners = [x for x in self.teams if (x, j) in self.by_jersey]
                if len(owners) == 1:
                    p, credited, rule = self.by_jersey[(owners[0], j)], owners[0], "roster"
            elif (t, j) in self.by_jersey:
                p, rule = self.by_jersey[(t, j)], "roster"
            elif (self.other(t), j) in self.by_jersey:
                credited = self.other(t)
                p, rule = self.by_jersey[(credited, j)], "other_side"
            elif (t, j) in self.workbook:
                p, rule = self.workbook[(t, j)], "workbook"
            if p is not None:
                credited = self.player_team.setdefault(p, credited)
            pid.append(p)
            team.append(credited)
            how.append(rule)
        return pd.DataFrame({"player_id": pid, "team_id": team, "how": how}, index=teams.index)

    def report(self, issues: IssueLog, file: str, sheet: str, rows: pd.Series, columns: pd.Series,
               side_teams: pd.Series, jerseys: pd.Series, res: pd.DataFrame) -> None:
        """qa_data_issues rows: one per row whose jersey is only on the other side's roster (an entry to fix
        on that row), one per (team, jersey) on neither roster naming its rows (a roster to complete)."""
        for label in res.index[(res["how"] == "other_side").to_numpy()]:
            j, t, owner = jerseys[label], side_teams[label], res.at[label, "team_id"]
            issues.add(file, f"jersey {j} is on {self._name(t)}'s side, but only {self._name(owner)}'s roster of "
                       "this game has it", f"credited to {res.at[label, 'player_id']} of {owner}",
                       kind="jersey_other_side", sheet=sheet, row=int(rows[label]), column=columns[label])
        missing = res["how"].isin(["workbook", "unlinked"]).to_numpy()
        if not missing.any():
            return
        found = pd.DataFrame({"team": side_teams[missing].fillna(""), "jersey": jerseys[missing],
                              "row": rows[missing].astype(int), "column": columns[missing],
                              "player": res.loc[missing, "player_id"]})
        for (team, j), grp in found.groupby(["team", "jersey"], sort=True):
            listed = grp["row"].tolist()
            shown = ", ".join(str(r) for r in listed[:MAX_ROWS_LISTED]) + (", ..." if len(listed) > MAX_ROWS_LISTED
                                                                            else "")
            player = grp["player"].dropna()
            action = (f"linked by the workbook's player_id to {player.iloc[0]}" if len(player)
                      else "player left unlinked")
            issues.add(file, f"jersey {j} of {self._name(team or None)} is on neither team's roster of this game "
                       f"({len(listed)} row{'s' if len(listed) > 1 else ''}: {shown})", action,
                       kind="jersey_not_on_roster", sheet=sheet, row=listed[0], column=grp["column"].iloc[0])

    def _name(self, team: str | None) -> str:
        return self.team_names.get(team, team) if team else "an unknown team"


def player_key(player_id: pd.Series, jersey: pd.Series) -> pd.Series:
    """Player part of stat keys: the player id, else J+jersey for an unlinked jersey."""
    return player_id.astype("string").fillna("J" + jersey.astype("string").fillna(""))
