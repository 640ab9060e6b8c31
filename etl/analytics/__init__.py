"""Analytics of one built game (issue 13): xG per shot, lines, zones, saves, micro-stats, model scores.

``build_analytics`` reads the game's normalized tables and returns the analytics tables by catalog
name (``etl/catalog_analytics.py``), plus the core game tables with their model columns appended
(``EXTRA_COLUMNS`` there: fact_events gets the shot model's danger_level and is_rush, fact_shot_xy each
shot's xg); every weight is in ``weights``.
"""
from __future__ import annotations

import pandas as pd

from ..issues import IssueLog
from . import lines, micro, saves, xg, zones
from .context import attempts, game_context, per_shift
from .goalies import GOALIE_COLUMNS, goalie_scores
from .scores import NULL_WHEN_NONE, PLAYER_COLUMNS, TEAM_COLUMNS, player_scores, team_scores


def build_analytics(game_id: int, tables: dict[str, pd.DataFrame], sched: pd.Series, players: pd.DataFrame,
                    file: str, issues: IssueLog, roster: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """Every analytics table of one game (``tables``: its built fact tables; ``players``: dim_player;
    ``roster``: the game's fact_gameroster rows, for the roster skill rating)."""
    ctx = game_context(game_id, tables, sched, players)
    shots = xg.shot_frame(ctx)
    att = attempts(ctx, shots)
    by_shift = per_shift(ctx, att, shots)
    stats = micro.micro_stats(ctx)
    micro.report_untracked(ctx, stats, file, issues)
    entries, exits = zones.zone_entry_summary(ctx), zones.zone_exit_summary(ctx)
    save_rows = saves.saves_table(ctx, shots)
    out = {
        "fact_shot_xg": xg.shot_xg_table(ctx, shots),
        "fact_line_combos": lines.line_combos(ctx, by_shift),
        "fact_wowy": lines.wowy(ctx, by_shift),
        "fact_player_qoc_summary": lines.qoc_summary(ctx),
        "fact_shift_quality": lines.shift_quality(ctx, by_shift),
        "fact_team_zone_time": zones.team_zone_time(ctx),
        "fact_zone_entry_summary": entries,
        "fact_zone_exit_summary": exits,
        "fact_saves": save_rows,
        "fact_player_micro_stats": micro.micro_long(stats),
    }
    scores = player_scores(ctx, shots, att, by_shift, stats, entries, exits, tables)
    team = team_scores(ctx, shots, scores).assign(team_id=lambda d: d["venue"].map(ctx.team_of))
    pgs = _append(tables["fact_player_game_stats"], scores, "player_id", PLAYER_COLUMNS, NULL_WHEN_NONE)
    out["fact_player_game_stats"] = _with_ratings(pgs, ctx.ratings, roster)
    out["fact_team_game_stats"] = _append(tables["fact_team_game_stats"], team, "team_id", TEAM_COLUMNS)
    out["fact_events"] = xg.event_flags(tables["fact_events"], shots)
    shot_xy = tables["fact_shot_xy"]
    out["fact_shot_xy"] = shot_xy.assign(xg=shot_xy["shot_id"].map(out["fact_shot_xg"].set_index("shot_id")["xg"]))
    out["fact_goalie_game_stats"] = _append(tables["fact_goalie_game_stats"],
                                            goalie_scores(shots, att, save_rows), "player_id", GOALIE_COLUMNS)
    return out


def _append(core: pd.DataFrame, extra: pd.DataFrame, key: str, columns, nullable=()) -> pd.DataFrame:
    """``core`` with ``columns`` of ``extra`` appended by ``key``; rows without a match get 0 (empty in the
    ``nullable`` columns)."""
    values = extra.dropna(subset=[key]).drop_duplicates(key).set_index(key)[list(columns)]
    unmatched = ~core[key].isin(values.index).to_numpy()
    picked = values.reindex(core[key].to_numpy()).set_axis(core.index)
    zero = [c for c in columns if c not in nullable]
    if unmatched.any() and zero:
        picked.loc[unmatched, zero] = 0
    return pd.concat([core, picked], axis=1)


def _with_ratings(pgs: pd.DataFrame, ratings: dict[str, float], roster: pd.DataFrame | None) -> pd.DataFrame:
    """player_rating (dim_player.current_skill_rating) and skill_rating (the game's roster row); empty where the
    master workbook has none (the old default 4.0 is a model input, not a value of the player)."""
    out = pgs.copy()
    out["player_rating"] = out["player_id"].map(ratings)
    by_player = pd.Series(dtype="float64")
    if roster is not None and len(roster):
        r = roster.dropna(subset=["player_id"]).drop_duplicates("player_id")
        by_player = pd.to_numeric(r.set_index("player_id")["skill_rating"], errors="coerce")
    out["skill_rating"] = out["player_id"].map(by_player)
    return out
