"""fact_saves: one row per Save event, with the goalie, the save type and the danger of the shot saved."""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import weights as w
from .context import GameContext
from .xg import first_keyword, last_before

SAVE = "Save"
FREEZE_DETAIL = "Save_Freeze"
OTHER = {"home": "away", "away": "home"}


def save_type(detail_2: pd.Series) -> pd.Series:
    """Save type from a word of event_detail_2 (first match of weights.SAVE_TYPES), else 'other'."""
    return first_keyword(detail_2, w.SAVE_TYPES, w.SAVE_TYPE_OTHER)


def _saved_shot(saves: pd.DataFrame, shots: pd.DataFrame) -> pd.Series:
    """The opponent's last shot on goal before each save, at most SAVE_SHOT_WINDOW_SECONDS earlier."""
    on_goal = shots[shots["is_on_goal"] & ~shots["is_goal"]].assign(shooter_venue=lambda d: d["venue"])
    saves = saves.assign(shooter_venue=saves["team_venue"].map(OTHER))
    return last_before(saves, on_goal, w.SAVE_SHOT_WINDOW_SECONDS, ["period", "shooter_venue"])


def saves_table(ctx: GameContext, shots: pd.DataFrame) -> pd.DataFrame:
    """fact_saves rows; the goalie is the save event's player, else the side's goalie on the shift."""
    ev = ctx.events
    s = ev[ev["event_type"] == SAVE].copy()
    shot = _saved_shot(s, shots)
    danger = shot.map(shots.set_index("event_id")["danger_level"])
    goalie_cols = ctx.shifts.set_index("shift_id")[["home_goalie_player_id", "away_goalie_player_id"]]
    g = goalie_cols.reindex(s["shift_id"])
    on_ice = np.where(s["team_venue"] == "home", g["home_goalie_player_id"], g["away_goalie_player_id"])
    goalie = s["player_id"].astype("object").where(s["player_id"].notna(), pd.Series(on_ice, index=s.index))
    return pd.DataFrame({
        "save_id": s["event_id"], "event_id": s["event_id"], "game_id": ctx.game_id, "season_id": ctx.season_id,
        "period": s["period"], "elapsed_seconds": s["elapsed_seconds"], "team_id": s["event_team_id"],
        "venue": s["team_venue"], "goalie_player_id": goalie, "goalie_name": goalie.map(ctx.names),
        "event_type": s["event_type"], "event_detail": s["event_detail"],
        "event_detail_2": s["event_detail_2"], "save_type": save_type(s["event_detail_2"]),
        "is_freeze": (s["event_detail"] == FREEZE_DETAIL).astype(int), "shot_id": shot,
        "danger_level": danger, "is_high_danger": (danger == "high").astype(int),
    }).reset_index(drop=True)
