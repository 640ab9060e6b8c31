"""What the analytics builders read of one built game: its normalized tables plus names and ratings."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import weights as w

VENUES = ("home", "away")
SKATER_SLOTS = ("forward_1", "forward_2", "forward_3", "defense_1", "defense_2", "xtra")
FORWARD_SLOTS = ("forward_1", "forward_2", "forward_3")
DEFENSE_SLOTS = ("defense_1", "defense_2")
# A goal counts as an attempt of its own when its team has no scoring shot this many seconds before it.
GOAL_SHOT_SECONDS = 3


@dataclass
class GameContext:
    """One game's frames, read-only for the analytics builders."""

    game_id: int
    season_id: str | None
    team_of: dict[str, str]
    team_name: dict[str, str]
    events: pd.DataFrame
    event_players: pd.DataFrame
    shifts: pd.DataFrame
    shift_players: pd.DataFrame
    goals: pd.DataFrame
    names: dict[str, str]
    ratings: dict[str, float]

    def rating(self, player_id) -> float:
        return self.ratings.get(player_id, w.DEFAULT_RATING) if isinstance(player_id, str) else w.DEFAULT_RATING

    def side_columns(self, venue: str) -> dict:
        """The columns naming a row's game side: venue, team and both teams of the game."""
        team = self.team_of[venue]
        return {"venue": venue, "team_id": team, "team_name": self.team_name.get(team),
                "home_team_id": self.team_of["home"], "away_team_id": self.team_of["away"]}


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with text columns as objects and None for missing (comparisons give False, not NA)."""
    out = df.copy()
    for col in out.columns:
        if pd.api.types.is_string_dtype(out[col]) or out[col].dtype == object:
            out[col] = out[col].astype(object).where(out[col].notna(), None)
    return out


def game_context(game_id: int, tables: dict[str, pd.DataFrame], sched: pd.Series,
                 players: pd.DataFrame) -> GameContext:
    """The context of one built game (``tables``: its fact tables by name; ``players``: dim_player)."""
    team_of = {v: sched[f"{v}_team_id"] for v in VENUES}
    team_name = {sched[f"{v}_team_id"]: str(sched[f"{v}_team_name"]) for v in VENUES}
    tables = {k: _plain(tables[k]) for k in ("fact_events", "fact_event_players", "fact_shifts",
                                             "fact_shift_players", "fact_goals")}
    sp = tables["fact_shift_players"]
    # the side of the line slot, also for jerseys that link to no team: shift_player_id = {shift_id}_{h|a}{slot}
    lineup = sp["shift_player_id"].str.split("_", n=1).str[1].str[0]
    sp["lineup"] = lineup.map({"h": "home", "a": "away"})
    sp["key"] = sp["player_id"].astype("object").where(sp["player_id"].notna(), "J" + sp["jersey"].astype(str))
    events = tables["fact_events"].sort_values("event_index").reset_index(drop=True)
    known = players.dropna(subset=["player_id"]).drop_duplicates("player_id").set_index("player_id")
    ratings = pd.to_numeric(known["current_skill_rating"], errors="coerce").dropna().astype(float).to_dict()
    return GameContext(game_id, sched.get("season_id"), team_of, team_name, events, tables["fact_event_players"],
                       tables["fact_shifts"], sp, tables["fact_goals"], known["player_full_name"].to_dict(), ratings)


def skaters(ctx: GameContext) -> pd.DataFrame:
    """Shift-player rows of skaters (goalies left out)."""
    sp = ctx.shift_players
    return sp[sp["slot"].isin(SKATER_SLOTS) & sp["lineup"].notna()]


def attempts(ctx: GameContext, shots: pd.DataFrame) -> pd.DataFrame:
    """Shot attempts (Corsi events) with their shift: every shot, plus goals tracked without a scoring shot.

    ``shots`` is the xG shot frame (``xg.shot_frame``): its Goal events are left out where a scoring shot of
    the same team precedes them within GOAL_SHOT_SECONDS (the same attempt tracked twice).
    """
    s = shots[["event_id", "venue", "shift_id", "elapsed_seconds", "event_type", "is_goal", "xg"]]
    shot_rows = s[s["event_type"] != "Goal"]
    goal_rows = s[s["event_type"] == "Goal"]
    scoring = shot_rows[shot_rows["is_goal"]]
    keep = []
    for _, g in goal_rows.iterrows():
        prior = scoring[(scoring["venue"] == g["venue"]) & (scoring["elapsed_seconds"] <= g["elapsed_seconds"])
                        & (scoring["elapsed_seconds"] >= g["elapsed_seconds"] - GOAL_SHOT_SECONDS)]
        keep.append(prior.empty)
    extra = goal_rows[keep] if len(goal_rows) else goal_rows
    return pd.concat([shot_rows, extra], ignore_index=True)


def per_shift(ctx: GameContext, att: pd.DataFrame, shots: pd.DataFrame) -> pd.DataFrame:
    """Per shift and venue: attempts for/against, goals for/against and xG for/against (0 where none).

    xG sums every shot of the shift (``shots``), so a team's shift xG adds up to its shots' xG."""
    goals = ctx.goals[["event_id", "venue"]].merge(ctx.events[["event_id", "shift_id"]], on="event_id", how="left")
    n = att.groupby(["shift_id", "venue"]).size()
    xg = shots.groupby(["shift_id", "venue"])["xg"].sum()
    g = goals.groupby(["shift_id", "venue"]).size()
    rows = []
    for venue in VENUES:
        other = "away" if venue == "home" else "home"
        out = pd.DataFrame(index=ctx.shifts["shift_id"])
        out["venue"] = venue
        out["cf"] = _pick(n, venue, out.index)
        out["ca"] = _pick(n, other, out.index)
        out["gf"] = _pick(g, venue, out.index)
        out["ga"] = _pick(g, other, out.index)
        out["xgf"] = _pick(xg, venue, out.index, float)
        out["xga"] = _pick(xg, other, out.index, float)
        rows.append(out.reset_index())
    return pd.concat(rows, ignore_index=True)


def _pick(series: pd.Series, venue: str, index: pd.Index, dtype=int) -> np.ndarray:
    if series.empty or venue not in set(series.index.get_level_values("venue")):
        return np.zeros(len(index), dtype=dtype)
    return series.xs(venue, level="venue").reindex(index).fillna(0).astype(dtype).to_numpy()


def pct(num, den, empty: float = 50.0):
    """num / den * 100 rounded to 1 decimal; ``empty`` when den is 0."""
    return round(num / den * 100, 1) if den else empty


def game_players(ctx: GameContext) -> pd.DataFrame:
    """Every linked player of the game (on a shift or an event), with team and venue, sorted by player_id."""
    sp = ctx.shift_players[["player_id", "team_id", "venue"]]
    ep = ctx.event_players[["player_id", "team_id", "venue"]]
    both = pd.concat([sp, ep], ignore_index=True).dropna(subset=["player_id", "team_id"])
    out = both.drop_duplicates("player_id").sort_values("player_id").reset_index(drop=True)
    out["game_id"], out["season_id"] = ctx.game_id, ctx.season_id
    out["player_name"] = out["player_id"].map(ctx.names)
    out["team_name"] = out["team_id"].map(ctx.team_name)
    return out


def player_one(ctx: GameContext) -> pd.DataFrame:
    """Events with their player 1 (the event team's first player) and the event's text fields."""
    ev = ctx.events
    return ev[ev["player_id"].notna()]
