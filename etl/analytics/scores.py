"""Per player and team of one game: xG sums, rush and danger counts, game score, GAR/WAR, adjusted rating.

Every figure is computed from the game's events and shifts (not read back from fact_player_game_stats),
so the core tables can rename their columns freely. Weights: ``weights``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import rush as rushes
from . import weights as w
from .context import GameContext, pct, skaters
from .xg import last_before

TAKEAWAY, GIVEAWAY = "Turnover_Takeaway", "Turnover_Giveaway"
PASS_COMPLETED = "Pass_Completed"
MICRO_COPIED = ("dekes", "drives_middle", "drives_wide", "drives_corner", "drives_net", "drives_total", "cutbacks",
                "cycles", "screens", "crash_net", "give_and_go", "second_touch", "delays", "breakouts", "dump_ins",
                "odd_man_rushes", "forechecks", "backchecks", "poke_checks", "stick_checks", "zone_ent_denials",
                "puck_battles", "loose_puck_wins", "puck_recoveries", "puck_battles_total")
PLAYS = ("plays_successful", "plays_unsuccessful")
INVOLVEMENT = ("bad_giveaways", "breakaway_goals", "def_involvement", "primary_def_events", "support_def_events",
               "play_success_rate", *PLAYS, "rush_assists", "rush_involvement", "rush_off_goal_generated",
               "rush_off_shot_generated", "rush_off_success", "rush_points")
PLAYER_COLUMNS = ("xg_for", "xg_against", "scoring_chances", "high_danger_chances", "rush_shots", "rush_goals",
                  "rush_xg", "shot_assists", "avg_opp_rating", "rating_diff", "game_score", "gar_total", "war",
                  "adjusted_rating", "performance_index", *MICRO_COPIED, *INVOLVEMENT)
# empty (not 0) on a player row without the figure's denominator
NULL_WHEN_NONE = ("play_success_rate",)
TEAM_COLUMNS = ("xg_for", "xg_against", "avg_game_score", "gar_total", "war", "avg_adjusted_rating", "forechecks")


def _count(series: pd.Series) -> pd.Series:
    return series.dropna().value_counts()


def shot_assists(ctx: GameContext, attempts_on_goal: pd.DataFrame) -> pd.Series:
    """Per passer: shots on goal whose team's last completed pass (SHOT_ASSIST_EVENTS events, SHOT_ASSIST_SECONDS
    at most before it) was his and not the shooter's."""
    ev = ctx.events
    passes = ev[(ev["event_detail"] == PASS_COMPLETED) & ev["player_id"].notna()]
    shots = attempts_on_goal.assign(team_venue=attempts_on_goal["venue"])
    pass_id = last_before(shots, passes, w.SHOT_ASSIST_SECONDS, ["period", "team_venue"])
    p = passes.set_index("event_id")
    found = pass_id.dropna()
    near = (shots.loc[found.index, "event_index"].to_numpy() - p.loc[found, "event_index"].to_numpy()
            <= w.SHOT_ASSIST_EVENTS)
    passer = pd.Series(p.loc[found, "player_id"].to_numpy(), index=found.index)[near]
    passer = passer[passer.to_numpy() != shots.loc[passer.index, "player_id"].to_numpy()]
    return _count(passer)


def _expected_game_score(rating: float) -> float:
    idx = int(min(max(round(rating), 1), len(w.EXPECTED_GAME_SCORE))) - 1
    return w.EXPECTED_GAME_SCORE[idx]


def player_scores(ctx: GameContext, shots: pd.DataFrame, att: pd.DataFrame, by_shift: pd.DataFrame,
                  micro: pd.DataFrame, entries: pd.DataFrame, exits: pd.DataFrame, tables: dict) -> pd.DataFrame:
    """One row per linked player of the game (``micro``'s rows) with PLAYER_COLUMNS."""
    out = micro[["player_id", "venue", *MICRO_COPIED, *PLAYS]].copy().set_index("player_id")
    counted = shots[shots["event_id"].isin(set(att["event_id"]))]  # a goal and its scoring shot count once
    on_goal = counted[counted["is_on_goal"]]
    stat = pd.DataFrame(index=out.index)
    stat["xg_for"] = shots.groupby("player_id")["xg"].sum()
    stat["sog"] = _count(on_goal["player_id"])
    stat["scoring_chances"] = _count(on_goal.loc[on_goal["danger_level"].isin(w.SCORING_CHANCE_DANGER), "player_id"])
    stat["high_danger_chances"] = _count(on_goal.loc[on_goal["danger_level"] == "high", "player_id"])
    rush = counted[counted["is_rush"]]
    stat["rush_shots"] = _count(rush["player_id"])
    stat["rush_goals"] = _count(rush.loc[rush["is_goal"], "player_id"])
    stat["rush_xg"] = shots[shots["is_rush"]].groupby("player_id")["xg"].sum()
    stat["shot_assists"] = shot_assists(ctx, on_goal)
    goals = ctx.goals
    stat["goals"] = _count(goals["scorer_player_id"])
    stat["primary_assists"] = _count(goals["primary_assist_player_id"])
    stat["secondary_assists"] = _count(goals["secondary_assist_player_id"])
    ev = ctx.events
    stat["takeaways"] = _count(ev.loc[ev["event_detail"] == TAKEAWAY, "player_id"])
    stat["giveaways"] = _count(ev.loc[ev["event_detail"] == GIVEAWAY, "player_id"])
    stat["blocks"] = _count(tables["fact_shots"]["blocker_player_id"])
    fo = tables["fact_faceoffs"]
    stat["faceoff_net"] = _count(fo["winner_player_id"]).reindex(stat.index).fillna(0) \
        - _count(fo["loser_player_id"]).reindex(stat.index).fillna(0)
    stat["controlled_entries"] = entries.set_index("player_id")["controlled_entries"]
    stat["controlled_exits"] = exits.set_index("player_id")["controlled_exits"]
    stat = stat.fillna(0)
    ice = _on_ice(ctx, by_shift).reindex(stat.index)
    stat = stat.join(out[list(MICRO_COPIED)])
    stat["poise_index"] = 0.0
    out["xg_for"] = stat["xg_for"].round(4)
    out["xg_against"] = ice["xga"].fillna(0).round(4)
    for c in ("scoring_chances", "high_danger_chances", "rush_shots", "rush_goals", "shot_assists"):
        out[c] = stat[c].astype(int)
    out["rush_xg"] = stat["rush_xg"].round(4)
    own = pd.Series([ctx.rating(p) for p in out.index], index=out.index)
    out["avg_opp_rating"] = ice["opp_rating"].fillna(w.DEFAULT_RATING).round(2)
    out["rating_diff"] = (out["avg_opp_rating"] - own).round(2)
    gs = w.GAME_SCORE_BASE + sum(weight * stat[k] for k, weight in w.GAME_SCORE.items())
    toi_min = ice["toi"].fillna(0) / 60
    cf, ca = ice["cf"].fillna(0), ice["ca"].fillna(0)
    cf_pct = np.where(cf + ca > 0, cf / (cf + ca).where(cf + ca > 0, 1) * 100, 50.0)
    gar = sum(weight * stat[k] for k, weight in {**w.GAR_OFFENCE, **w.GAR_DEFENCE, **w.GAR_TRANSITION}.items()) \
        + (cf_pct - 50) / 100 * w.GAR_POSSESSION * toi_min + w.GAR_POISE * 0
    out["game_score"] = gs.round(2)
    out["gar_total"] = gar.round(3)
    out["war"] = (gar / w.GOALS_PER_WIN).round(3)
    scale = np.arange(1, len(w.EXPECTED_GAME_SCORE) + 1)
    out["adjusted_rating"] = np.interp(gs, w.EXPECTED_GAME_SCORE, scale).round(1)
    out["performance_index"] = (gs / own.map(_expected_game_score) * 100).round(1)
    inv = rushes.player_involvement(ctx, shots).reindex(out.index).fillna(0).astype(int)
    for c in rushes.COLUMNS:
        out[c] = inv[c]
    out["rush_points"] = out["rush_goals"] + out["rush_assists"]
    plays = out["plays_successful"] + out["plays_unsuccessful"]
    out["play_success_rate"] = [pct(ok, n, None) for ok, n in zip(out["plays_successful"], plays, strict=True)]
    return out.reset_index()[["player_id", "venue", *PLAYER_COLUMNS]]


def _on_ice(ctx: GameContext, by_shift: pd.DataFrame) -> pd.DataFrame:
    """Per linked skater: TOI, attempts and xG against on his shifts, time-weighted opponent rating."""
    sk = skaters(ctx)
    sk = sk[sk["player_id"].notna()].drop_duplicates(["shift_id", "player_id"])
    side = by_shift.set_index(["shift_id", "venue"])
    rows = sk.join(side, on=["shift_id", "lineup"])
    ratings = sk.assign(r=[ctx.rating(p) for p in sk["player_id"]]).groupby(["shift_id", "lineup"])["r"].mean()
    other = rows["lineup"].map({"home": "away", "away": "home"})
    rows["opp"] = [ratings.get((s, o), w.DEFAULT_RATING) for s, o in zip(rows["shift_id"], other, strict=True)]
    rows["d"] = rows["duration_seconds"].fillna(0)
    rows["opp_weighted"] = rows["opp"] * rows["d"]
    g = rows.groupby("player_id").agg(toi=("d", "sum"), cf=("cf", "sum"), ca=("ca", "sum"), xga=("xga", "sum"),
                                      opp_weighted=("opp_weighted", "sum"), opp_mean=("opp", "mean"))
    g["opp_rating"] = np.where(g["toi"] > 0, g["opp_weighted"] / g["toi"].where(g["toi"] > 0, 1), g["opp_mean"])
    return g


def team_scores(ctx: GameContext, shots: pd.DataFrame, players: pd.DataFrame) -> pd.DataFrame:
    """Per venue: TEAM_COLUMNS (xG of all the team's shots; means and sums over its players)."""
    xg = shots.groupby("venue")["xg"].sum()
    rows = []
    for venue, other in (("home", "away"), ("away", "home")):
        p = players[players["venue"] == venue]
        rows.append({"venue": venue, "xg_for": round(float(xg.get(venue, 0.0)), 4),
                     "xg_against": round(float(xg.get(other, 0.0)), 4),
                     "avg_game_score": round(float(p["game_score"].mean()), 2) if len(p) else None,
                     "gar_total": round(float(p["gar_total"].sum()), 3), "war": round(float(p["war"].sum()), 3),
                     "avg_adjusted_rating": round(float(p["adjusted_rating"].mean()), 1) if len(p) else None,
                     "forechecks": int(p["forechecks"].sum())})
    return pd.DataFrame(rows)
