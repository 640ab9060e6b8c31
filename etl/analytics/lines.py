"""Shift-based tables: line combinations, with/without you, quality of competition, shift quality.

Groups are real shared shifts (rows of one shift and side of fact_shift_players), not the old
per-player logical shift numbers the contract calls flawed. Attempts, goals and xG of a shift are the
events the events sheet places in it (fact_events.shift_id).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import weights as w
from .context import DEFENSE_SLOTS, FORWARD_SLOTS, VENUES, GameContext, pct, skaters

MIN_COMBO_PLAYERS = 2  # a line combination is a forward group or defence pair of at least two players
STATS = ["cf", "ca", "gf", "ga", "xgf", "xga"]


def _shift_sides(ctx: GameContext, by_shift: pd.DataFrame) -> pd.DataFrame:
    """Per shift and venue: duration, attempts, goals and xG for and against."""
    dur = ctx.shifts.set_index("shift_id")["shift_duration"]
    out = by_shift.copy()
    out["duration"] = out["shift_id"].map(dur).fillna(0).astype(int)
    return out


def line_combos(ctx: GameContext, by_shift: pd.DataFrame) -> pd.DataFrame:
    """fact_line_combos: per venue, forward groups (2+) and defence pairs, summed over their shared shifts."""
    sk = skaters(ctx)
    sides = _shift_sides(ctx, by_shift).set_index(["shift_id", "venue"])
    rows = []
    for combo_type, slots in (("forward", FORWARD_SLOTS), ("defense", DEFENSE_SLOTS)):
        part = sk[sk["slot"].isin(slots)].drop_duplicates(["shift_id", "lineup", "key"]).sort_values("key")
        by = part.groupby(["shift_id", "lineup"])["key"]
        groups, size = by.agg(",".join), by.size()
        groups = groups[size >= MIN_COMBO_PLAYERS]
        if groups.empty:
            continue
        g = groups.rename("combo").reset_index().rename(columns={"lineup": "venue"})
        g = g.join(sides, on=["shift_id", "venue"])
        agg = g.groupby(["venue", "combo"]).agg(shift_count=("shift_id", "size"), toi=("duration", "sum"),
                                                **{s: (s, "sum") for s in STATS}).reset_index()
        agg["combo_type"] = combo_type
        rows.append(agg)
    cols = ["game_id", "season_id", "venue", "team_id", "team_name", "home_team_id", "away_team_id", "combo_type",
            "combo_key", "forward_combo", "defense_combo", "shift_count", "toi_together", "corsi_for",
            "corsi_against", "cf_pct", "goals_for", "goals_against", "xg_for", "xg_against"]
    if not rows:
        return pd.DataFrame(columns=cols)
    a = pd.concat(rows, ignore_index=True).sort_values(["venue", "combo_type", "combo"])
    side = pd.DataFrame([ctx.side_columns(v) for v in a["venue"]], index=a.index)
    out = pd.concat([side.drop(columns=["venue"]), a], axis=1)
    out["game_id"], out["season_id"] = ctx.game_id, ctx.season_id
    out["combo_key"] = out["combo"]
    out["forward_combo"] = out["combo"].where(out["combo_type"] == "forward")
    out["defense_combo"] = out["combo"].where(out["combo_type"] == "defense")
    out = out.rename(columns={"toi": "toi_together", "cf": "corsi_for", "ca": "corsi_against", "gf": "goals_for",
                              "ga": "goals_against", "xgf": "xg_for", "xga": "xg_against"})
    out["cf_pct"] = [pct(f, f + a_) for f, a_ in zip(out["corsi_for"], out["corsi_against"], strict=True)]
    out["xg_for"] = out["xg_for"].round(4)
    out["xg_against"] = out["xg_against"].round(4)
    return out[cols].reset_index(drop=True)


def _presence(ctx: GameContext, venue: str) -> tuple[pd.DataFrame, list[str]]:
    """Shift x player presence (0/1) of one side's linked skaters, and the shift ids in row order."""
    sk = skaters(ctx)
    sk = sk[(sk["lineup"] == venue) & sk["player_id"].notna()]
    shift_ids, rows = np.unique(sk["shift_id"].astype(str).to_numpy(), return_inverse=True)
    players, cols = np.unique(sk["player_id"].astype(str).to_numpy(), return_inverse=True)
    x = np.zeros((len(shift_ids), len(players)))
    x[rows, cols] = 1.0
    return pd.DataFrame(x, index=shift_ids, columns=players), list(shift_ids)


def wowy(ctx: GameContext, by_shift: pd.DataFrame) -> pd.DataFrame:
    """fact_wowy: every pair of teammates who shared a shift, together and apart."""
    sides = _shift_sides(ctx, by_shift)
    out = []
    for venue in VENUES:
        m, shift_ids = _presence(ctx, venue)
        if m.empty:
            continue
        st = sides[sides["venue"] == venue].set_index("shift_id").reindex(shift_ids).fillna(0)
        x = m.to_numpy(dtype=float)
        # pair sums over shared shifts: mats[k][a, b] = sum of k over shifts with both a and b on ice
        mats = {k: x.T @ (x * st[c].to_numpy(dtype=float)[:, None])
                for k, c in (("toi", "duration"), ("cf", "cf"), ("ca", "ca"), ("gf", "gf"), ("ga", "ga"))}
        mats["n"] = x.T @ x
        ids = list(m.columns)
        i, j = np.triu_indices(len(ids), k=1)
        shared = mats["n"][i, j] > 0
        i, j = i[shared], j[shared]
        for a, b in zip(i, j, strict=True):
            cf_t, ca_t = mats["cf"][a, b], mats["ca"][a, b]
            cf_apart = mats["cf"][a, a] + mats["cf"][b, b] - 2 * cf_t
            ca_apart = mats["ca"][a, a] + mats["ca"][b, b] - 2 * ca_t
            together, apart = pct(cf_t, cf_t + ca_t), pct(cf_apart, cf_apart + ca_apart)
            out.append({**ctx.side_columns(venue), "player_1_id": ids[a], "player_1_name": ctx.names.get(ids[a]),
                        "player_2_id": ids[b], "player_2_name": ctx.names.get(ids[b]),
                        "shared_shifts": int(mats["n"][a, b]), "toi_together": int(mats["toi"][a, b]),
                        "toi_player_1_apart": int(mats["toi"][a, a] - mats["toi"][a, b]),
                        "toi_player_2_apart": int(mats["toi"][b, b] - mats["toi"][a, b]),
                        "corsi_for": int(cf_t), "corsi_against": int(ca_t), "goals_for": int(mats["gf"][a, b]),
                        "goals_against": int(mats["ga"][a, b]), "cf_pct_together": together,
                        "cf_pct_apart": apart, "cf_pct_delta": round(together - apart, 1)})
    cols = ["game_id", "season_id", "venue", "team_id", "team_name", "home_team_id", "away_team_id", "player_1_id",
            "player_1_name", "player_2_id", "player_2_name", "shared_shifts", "toi_together", "toi_player_1_apart",
            "toi_player_2_apart", "corsi_for", "corsi_against", "goals_for", "goals_against", "cf_pct_together",
            "cf_pct_apart", "cf_pct_delta"]
    df = pd.DataFrame(out, columns=[c for c in cols if c not in ("game_id", "season_id")])
    df.insert(0, "season_id", ctx.season_id)
    df.insert(0, "game_id", ctx.game_id)
    return df[cols]


def _opp_mean_rating(ctx: GameContext) -> dict[tuple[str, str], float]:
    """(shift_id, venue) -> mean rating of that side's skaters on the shift."""
    sk = skaters(ctx)
    r = sk.assign(r=[ctx.rating(p) for p in sk["player_id"]])
    return r.groupby(["shift_id", "lineup"])["r"].mean().to_dict()


def qoc_summary(ctx: GameContext) -> pd.DataFrame:
    """fact_player_qoc_summary: each linked skater's own rating against the opponents' on his shifts."""
    sk = skaters(ctx)
    sk = sk[sk["player_id"].notna()].drop_duplicates(["shift_id", "player_id"])
    side_rating = _opp_mean_rating(ctx)
    other = {"home": "away", "away": "home"}
    sk = sk.assign(opp=[side_rating.get((s, other[v]), w.DEFAULT_RATING)
                        for s, v in zip(sk["shift_id"], sk["lineup"], strict=True)])
    g = sk.groupby(["player_id", "lineup"], sort=True).agg(
        toi_seconds=("duration_seconds", "sum"), shifts_tracked=("shift_id", "size"), avg_opp_rating=("opp", "mean"),
        team_id=("team_id", "first")).reset_index()
    g["player_rating"] = g["player_id"].map(ctx.ratings)
    g["avg_own_rating"] = [ctx.rating(p) for p in g["player_id"]]
    g["avg_opp_rating"] = g["avg_opp_rating"].round(2)
    g["rating_diff"] = (g["avg_own_rating"] - g["avg_opp_rating"]).round(2)
    g["game_id"], g["season_id"] = ctx.game_id, ctx.season_id
    g["player_name"] = g["player_id"].map(ctx.names)
    g["venue"] = g["lineup"]
    g["team_name"] = g["team_id"].map(ctx.team_name)
    g["toi_seconds"] = g["toi_seconds"].fillna(0).astype(int)
    return g[["game_id", "season_id", "player_id", "player_name", "team_id", "team_name", "venue", "toi_seconds",
              "shifts_tracked", "player_rating", "avg_own_rating", "avg_opp_rating", "rating_diff"]]


def shift_quality(ctx: GameContext, by_shift: pd.DataFrame) -> pd.DataFrame:
    """fact_shift_quality: per shift and side, what happened (attempts, goals, xG) against whom."""
    s = _shift_sides(ctx, by_shift)
    side_rating = _opp_mean_rating(ctx)
    other = {"home": "away", "away": "home"}
    s["avg_own_rating"] = [round(side_rating.get((i, v), w.DEFAULT_RATING), 2)
                           for i, v in zip(s["shift_id"], s["venue"], strict=True)]
    s["avg_opp_rating"] = [round(side_rating.get((i, other[v]), w.DEFAULT_RATING), 2)
                           for i, v in zip(s["shift_id"], s["venue"], strict=True)]
    score = (s["xgf"] - s["xga"]).round(4)
    label = np.where(score >= w.SHIFT_QUALITY_GOOD, "good", np.where(score <= w.SHIFT_QUALITY_POOR, "poor", "even"))
    side = pd.DataFrame([ctx.side_columns(v) for v in s["venue"]], index=s.index)
    out = pd.concat([side.drop(columns=["venue"]), s], axis=1)
    out = out.assign(game_id=ctx.game_id, season_id=ctx.season_id, shift_quality_score=score, shift_quality=label)
    out = out.rename(columns={"duration": "duration_seconds", "cf": "corsi_for", "ca": "corsi_against",
                              "gf": "goals_for", "ga": "goals_against", "xgf": "xg_for", "xga": "xg_against"})
    out["xg_for"], out["xg_against"] = out["xg_for"].round(4), out["xg_against"].round(4)
    return out[["shift_id", "game_id", "season_id", "venue", "team_id", "team_name", "duration_seconds",
                "corsi_for", "corsi_against", "goals_for", "goals_against", "xg_for", "xg_against", "avg_own_rating",
                "avg_opp_rating", "shift_quality_score", "shift_quality"]]
