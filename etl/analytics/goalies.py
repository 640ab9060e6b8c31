"""Per goalie of one game: save types, high-danger shots and saves, GSAA, goalie GAR/WAR (``weights``)."""
from __future__ import annotations

import pandas as pd

from . import weights as w

SAVE_TYPE_COLUMNS = {"glove": "saves_glove", "blocker": "saves_blocker", "pad": "saves_pad",
                     "butterfly": "saves_butterfly", "chest": "saves_chest", "stick": "saves_stick",
                     "scramble": "saves_scramble"}
GOALIE_COLUMNS = ("hd_shots_against", "hd_saves", *SAVE_TYPE_COLUMNS.values(), "goals_saved_above_avg",
                  "goalie_gar_total", "goalie_war")


def goalie_scores(shots: pd.DataFrame, att: pd.DataFrame, saves: pd.DataFrame) -> pd.DataFrame:
    """One row per goalie who faced a shot or made a save, with GOALIE_COLUMNS."""
    faced = shots[shots["event_id"].isin(set(att["event_id"])) & shots["is_on_goal"]
                  & shots["goalie_player_id"].notna()]
    g = faced.groupby("goalie_player_id").agg(shots_against=("event_id", "size"), goals_against=("is_goal", "sum"))
    hd = faced[faced["danger_level"] == "high"].groupby("goalie_player_id").agg(
        hd_shots_against=("event_id", "size"), hd_goals=("is_goal", "sum"))
    types = saves.dropna(subset=["goalie_player_id"]).groupby(["goalie_player_id", "save_type"]).size().unstack()
    freeze = saves.groupby("goalie_player_id")["is_freeze"].sum()
    ids = sorted(set(g.index) | set(saves["goalie_player_id"].dropna()))
    out = pd.DataFrame(index=pd.Index(ids, name="player_id"))
    out["hd_shots_against"] = hd["hd_shots_against"].reindex(out.index).fillna(0).astype(int)
    out["hd_saves"] = out["hd_shots_against"] - hd["hd_goals"].reindex(out.index).fillna(0).astype(int)
    for kind, col in SAVE_TYPE_COLUMNS.items():
        column = types[kind] if kind in types.columns else pd.Series(dtype=float)
        out[col] = column.reindex(out.index).fillna(0).astype(int)
    sa = g["shots_against"].reindex(out.index).fillna(0)
    ga = g["goals_against"].reindex(out.index).fillna(0)
    gsaa = sa * (1 - w.LEAGUE_SAVE_PCT) - ga
    save_pct = ((sa - ga) / sa.where(sa > 0) * 100).fillna(100.0)
    quality = (save_pct >= w.QUALITY_START_SAVE_PCT) | (ga <= w.QUALITY_START_MAX_GOALS)
    parts = {"goals_saved_above_avg": gsaa, "hd_saves": out["hd_saves"], "quality_start": quality.astype(float),
             "saves_freeze": freeze.reindex(out.index).fillna(0)}
    gar = sum(weight * parts[k] for k, weight in w.GOALIE_GAR.items())
    out["goals_saved_above_avg"] = gsaa.round(3)
    out["goalie_gar_total"] = gar.round(3)
    out["goalie_war"] = (gar / w.GOALS_PER_WIN).round(3)
    return out.reset_index()[["player_id", *GOALIE_COLUMNS]]
