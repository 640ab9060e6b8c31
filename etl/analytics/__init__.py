"""Analytics of one built game (issue 13): xG per shot, lines, zones, saves, micro-stats.

``build_analytics`` reads the game's normalized tables and returns the analytics tables by catalog
name (``etl/catalog_analytics.py``); every weight is in ``weights``.
"""
from __future__ import annotations

import pandas as pd

from ..issues import IssueLog
from . import lines, micro, saves, xg, zones
from .context import attempts, game_context, per_shift


def build_analytics(game_id: int, tables: dict[str, pd.DataFrame], sched: pd.Series, players: pd.DataFrame,
                    file: str, issues: IssueLog) -> dict[str, pd.DataFrame]:
    """Every analytics table of one game (``tables``: its built fact tables; ``players``: dim_player)."""
    ctx = game_context(game_id, tables, sched, players)
    shots = xg.shot_frame(ctx)
    by_shift = per_shift(ctx, attempts(ctx, shots), shots)
    stats = micro.micro_stats(ctx)
    micro.report_untracked(ctx, stats, file, issues)
    return {
        "fact_shot_xg": xg.shot_xg_table(ctx, shots),
        "fact_line_combos": lines.line_combos(ctx, by_shift),
        "fact_wowy": lines.wowy(ctx, by_shift),
        "fact_player_qoc_summary": lines.qoc_summary(ctx),
        "fact_shift_quality": lines.shift_quality(ctx, by_shift),
        "fact_team_zone_time": zones.team_zone_time(ctx),
        "fact_zone_entry_summary": zones.zone_entry_summary(ctx),
        "fact_zone_exit_summary": zones.zone_exit_summary(ctx),
        "fact_saves": saves.saves_table(ctx, shots),
        "fact_player_micro_stats": stats,
    }
