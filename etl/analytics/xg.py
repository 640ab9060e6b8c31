"""Expected goals per shot: danger level, rebound and rush flags, shot type, flurry adjustment.

Shots are the events of type Shot or Goal (the shooter is the event team's player 1), as in the old
model (DASHBOARD.md, "xG"). A shot's ``xg`` is its share of its flurry's value, so the xG of a
player or team is the sum over its shots.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import weights as w
from .context import GameContext

SHOT_TYPES = ("Shot", "Goal")


def _contains_any(text: pd.Series, words) -> pd.Series:
    low = text.fillna("").str.lower()
    out = pd.Series(False, index=text.index)
    for word in words:
        out |= low.str.contains(word, regex=False)
    return out


def last_before(rows: pd.DataFrame, marks: pd.DataFrame, seconds: float, by: list[str]) -> pd.Series:
    """The event_id of the last ``marks`` event before each row (smaller event_index, same ``by`` values) at
    most ``seconds`` earlier; None where there is none. Rows keep their index."""
    left = rows[["event_index", "elapsed_seconds", *by]].assign(_row=rows.index).sort_values("event_index")
    right = marks[["event_index", "elapsed_seconds", "event_id", *by]].rename(
        columns={"elapsed_seconds": "_mark_elapsed"}).sort_values("event_index")
    if left.empty or right.empty:
        return pd.Series(None, index=rows.index, dtype="object")
    for col in by:  # one key type on both sides
        left[col], right[col] = left[col].astype(str), right[col].astype(str)
    m = pd.merge_asof(left, right, on="event_index", by=by or None, allow_exact_matches=False)
    near = m["_mark_elapsed"].notna() & (m["_mark_elapsed"] >= m["elapsed_seconds"] - seconds)
    return pd.Series(m["event_id"].where(near, None).to_numpy(), index=m["_row"].to_numpy()).reindex(rows.index)


def first_keyword(text: pd.Series, pairs, default) -> pd.Series:
    """Per row, the value of the first (word, value) pair whose word occurs in ``text`` (case-insensitive), else
    ``default`` (shot-type factors, save types)."""
    low = text.fillna("").str.lower()
    out = pd.Series(default, index=text.index, dtype="object" if isinstance(default, str) else "float64")
    chosen = pd.Series(False, index=text.index)
    for word, value in pairs:
        hit = low.str.contains(word, regex=False) & ~chosen
        out[hit] = value
        chosen |= hit
    return out


def _shot_type_factor(detail_2: pd.Series) -> pd.Series:
    return first_keyword(detail_2, w.XG_SHOT_TYPE, 1.0)


def _flurries(s: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Flurry number and flurry-adjusted xG per shot (shots of one shooter < XG_FLURRY_SECONDS apart)."""
    order = s.sort_values(["shooter", "period", "elapsed_seconds", "event_index"])
    new = (order["shooter"] != order["shooter"].shift()) | (order["period"] != order["period"].shift()) \
        | (order["elapsed_seconds"] - order["elapsed_seconds"].shift() >= w.XG_FLURRY_SECONDS)
    flurry = new.cumsum()
    raw = order["xg_raw"]
    value = (1 - (1 - raw).groupby(flurry).transform("prod")).clip(upper=w.XG_FLURRY_CAP)
    total = raw.groupby(flurry).transform("sum")
    xg = np.where(total > 0, raw / total.where(total > 0, 1) * value, 0.0)
    return flurry.reindex(s.index), pd.Series(xg, index=order.index).reindex(s.index)


def shot_frame(ctx: GameContext) -> pd.DataFrame:
    """One row per shot with every model input and its xG (the fact_shot_xg rows, before naming)."""
    ev = ctx.events
    s = ev[ev["event_type"].isin(SHOT_TYPES)].copy()
    detail = s["event_detail"].fillna("").str.lower()
    s["is_goal"] = (s["event_type"] == "Goal") | detail.str.contains("goal", regex=False)
    s["is_on_goal"] = s["is_goal"] | detail.str.contains("onnet", regex=False)
    rebounds = ev[ev["event_type"] == "Rebound"]
    s["is_rebound"] = last_before(s, rebounds, w.REBOUND_WINDOW_SECONDS, ["period"]).notna()
    entry = ev["event_detail_2"].fillna("").str.lower().isin(w.CONTROLLED_ENTRY_DETAILS)
    entry_id = last_before(s, ev[entry], w.RUSH_WINDOW_SECONDS, ["period", "team_venue"])
    s["is_rush"] = entry_id.notna() & s["is_on_goal"]
    s["rush_entry_id"] = entry_id.where(s["is_rush"])  # the controlled entry that makes the shot a rush
    high = s["is_rebound"] | _contains_any(s["event_detail_2"], w.HIGH_DANGER_DETAILS)
    level = np.where(high, "high", np.where(s["zone_id"] == w.MEDIUM_DANGER_ZONE, "medium", "low"))
    s["danger_level"] = pd.Series(level, index=s.index).where(s["is_on_goal"])
    base = s["danger_level"].map(w.XG_BASE).fillna(w.XG_BASE_UNKNOWN)
    s["shot_type_factor"] = _shot_type_factor(s["event_detail_2"])
    rush = np.where(s["is_rush"], w.XG_RUSH_FACTOR, 1.0)
    s["xg_raw"] = (base * rush * s["shot_type_factor"]).clip(upper=w.XG_SHOT_CAP)
    s["shooter"] = s["player_id"].astype("object").where(s["player_id"].notna(), "?" + s["team_venue"])
    s["flurry"], s["xg"] = _flurries(s) if len(s) else (pd.Series(dtype="int64"), pd.Series(dtype="float64"))
    s["venue"] = s["team_venue"]
    goalie = ctx.shifts.set_index("shift_id")[["home_goalie_player_id", "away_goalie_player_id"]]
    g = goalie.reindex(s["shift_id"])
    s["goalie_player_id"] = np.where(s["venue"] == "home", g["away_goalie_player_id"], g["home_goalie_player_id"])
    return s


def event_flags(events: pd.DataFrame, s: pd.DataFrame) -> pd.DataFrame:
    """``events`` (fact_events) with the shot model's danger_level (on the shot events) and is_rush (on the
    controlled entries that make a shot a rush shot), from the shot frame ``s``."""
    out = events.copy()
    out["danger_level"] = out["event_id"].map(s.drop_duplicates("event_id").set_index("event_id")["danger_level"])
    out["is_rush"] = out["event_id"].isin(set(s["rush_entry_id"].dropna())).astype(int)
    return out


def shot_xg_table(ctx: GameContext, s: pd.DataFrame) -> pd.DataFrame:
    """fact_shot_xg: one row per shot."""
    flags = {c: s[c].astype(int) for c in ("is_rebound", "is_rush")}
    return pd.DataFrame({
        "shot_id": s["event_id"], "event_id": s["event_id"], "game_id": ctx.game_id, "season_id": ctx.season_id,
        "period": s["period"], "elapsed_seconds": s["elapsed_seconds"], "team_id": s["event_team_id"],
        "venue": s["venue"], "player_id": s["player_id"], "player_name": s["player_id"].map(ctx.names),
        "goalie_player_id": s["goalie_player_id"], "event_type": s["event_type"],
        "event_detail": s["event_detail"], "event_detail_2": s["event_detail_2"], "zone_id": s["zone_id"],
        "is_on_goal": s["is_on_goal"], "is_goal": s["is_goal"], **flags,
        "is_high_danger": (s["danger_level"] == "high").astype(int),
        "is_scoring_chance": (s["danger_level"].isin(w.SCORING_CHANCE_DANGER)).astype(int),
        "danger_level": s["danger_level"], "shot_type_factor": s["shot_type_factor"],
        "xg_raw": s["xg_raw"].round(4), "flurry_id": s["flurry"].map(lambda n: f"FL{ctx.game_id}{int(n):05d}"),
        "xg": s["xg"].round(4),
    }).reset_index(drop=True)
