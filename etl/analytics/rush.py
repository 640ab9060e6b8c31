"""Per player of one game: rush events (offensive rushes), breakaway goals, defensive involvement, bad giveaways.

A rush event is a controlled zone entry (``weights.CONTROLLED_ENTRY_DETAILS``) followed by its team's shot on
goal within ``weights.RUSH_WINDOW_SECONDS`` (the rule of the contract's fact_events.is_rush). Players take part
in a rush as the entry's event-team players (event_player_1..6 rows of fact_event_players). Defensive
involvement counts the opposing players' rows of every event (opp_player_1 primary, 2..6 support).
"""
from __future__ import annotations

import re

import pandas as pd

from . import weights as w
from .context import GOAL_SHOT_SECONDS, GameContext

GIVEAWAY = "Turnover_Giveaway"
EVENT_ROLE, PRIMARY_DEF_ROLE, OPP_ROLE = "event_player_", "opp_player_1", "opp_player_"
SUCCESS = "s"
COLUMNS = ("bad_giveaways", "breakaway_goals", "primary_def_events", "support_def_events", "def_involvement",
           "rush_involvement", "rush_off_shot_generated", "rush_off_goal_generated", "rush_off_success",
           "rush_assists")


def _letters(text: pd.Series) -> pd.Series:
    return text.fillna("").astype(str).str.lower().map(lambda s: re.sub(r"[^a-z0-9]", "", s))


def next_after(rows: pd.DataFrame, marks: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Per row (its index kept): event_id, elapsed seconds and is_goal of the first ``marks`` row after it (larger
    event_index, same ``by`` values); NaN where there is none."""
    left = rows[["event_index", *by]].assign(_row=rows.index).sort_values("event_index")
    right = marks[["event_index", "elapsed_seconds", "event_id", "is_goal", *by]].rename(
        columns={"elapsed_seconds": "next_elapsed", "event_id": "next_event_id", "is_goal": "next_is_goal"}
    ).sort_values("event_index")
    cols = ["next_event_id", "next_elapsed", "next_is_goal"]
    if left.empty or right.empty:
        return pd.DataFrame({c: pd.Series(None, index=rows.index, dtype="object") for c in cols})
    for col in by:
        left[col], right[col] = left[col].astype(str), right[col].astype(str)
    m = pd.merge_asof(left, right, on="event_index", by=by or None, direction="forward", allow_exact_matches=False)
    return m.set_index("_row")[cols].reindex(rows.index)


def rush_events(ctx: GameContext, shots: pd.DataFrame) -> pd.DataFrame:
    """The game's rush events: controlled entries with the seconds to their team's next shot on goal and next
    goal, and whether that shot on goal was a goal."""
    ev = ctx.events
    entries = ev[_letters(ev["event_detail_2"]).isin([d.replace("_", "") for d in w.CONTROLLED_ENTRY_DETAILS])]
    by = ["period", "team_venue"]
    on_goal = shots[shots["is_on_goal"]]
    sog = next_after(entries, on_goal, by)
    goal = next_after(entries, shots[shots["is_goal"]], by)
    out = entries[["event_id", "player_id", "event_detail_2", "event_successful", "elapsed_seconds"]].copy()
    out["to_sog"] = pd.to_numeric(sog["next_elapsed"], errors="coerce") - out["elapsed_seconds"]
    out["sog_is_goal"] = sog["next_is_goal"].fillna(False).astype(bool)
    out["to_goal"] = pd.to_numeric(goal["next_elapsed"], errors="coerce") - out["elapsed_seconds"]
    return out[out["to_sog"] <= w.RUSH_WINDOW_SECONDS]


def rush_goal_ids(ctx: GameContext, shots: pd.DataFrame) -> set:
    """event_ids of the goals (fact_goals) that are rush goals: the goal's own shot row, or its team's scoring
    shot at most GOAL_SHOT_SECONDS before it, is a rush shot."""
    rush = shots[shots["is_rush"] & shots["is_goal"]]
    out = set()
    for g in ctx.goals.itertuples():
        near = rush[(rush["venue"] == g.venue) & (rush["period"] == g.period)
                    & rush["elapsed_seconds"].between(g.elapsed_seconds - GOAL_SHOT_SECONDS, g.elapsed_seconds)]
        if len(near):
            out.add(g.event_id)
    return out


def _count(series: pd.Series) -> pd.Series:
    return series.dropna().value_counts()


def player_involvement(ctx: GameContext, shots: pd.DataFrame) -> pd.DataFrame:
    """Per player (index player_id): COLUMNS, 0 where none."""
    ev = ctx.events
    ep = ctx.event_players.dropna(subset=["player_id"])
    role = ep["player_role"].fillna("")
    stat: dict[str, pd.Series] = {}
    give = ev[ev["event_detail"] == GIVEAWAY]
    bad = _letters(give["event_detail_2"]).isin(_letters(pd.Series(w.BAD_GIVEAWAY_DETAILS)))
    stat["bad_giveaways"] = _count(give.loc[bad, "player_id"])
    stat["primary_def_events"] = _count(ep.loc[role == PRIMARY_DEF_ROLE, "player_id"])
    stat["support_def_events"] = _count(ep.loc[role.str.startswith(OPP_ROLE) & (role != PRIMARY_DEF_ROLE),
                                               "player_id"])
    rushes = rush_events(ctx, shots)
    breakaway = rushes["event_detail_2"].fillna("").str.lower().str.contains(w.BREAKAWAY_WORD, regex=False)
    stat["breakaway_goals"] = _count(rushes.loc[breakaway & rushes["sog_is_goal"], "player_id"])
    on_rush = ep[role.str.startswith(EVENT_ROLE)].merge(
        rushes[["event_id", "event_successful", "to_sog", "to_goal"]], on="event_id")
    shot_soon = on_rush["to_sog"] <= w.RUSH_SHOT_GENERATED_SECONDS
    stat["rush_involvement"] = _count(on_rush["player_id"])
    stat["rush_off_shot_generated"] = _count(on_rush.loc[shot_soon, "player_id"])
    stat["rush_off_goal_generated"] = _count(on_rush.loc[on_rush["to_goal"] <= w.RUSH_GOAL_GENERATED_SECONDS,
                                                         "player_id"])
    stat["rush_off_success"] = _count(on_rush.loc[(on_rush["event_successful"] == SUCCESS) | shot_soon,
                                                  "player_id"])
    rush_goals = ctx.goals[ctx.goals["event_id"].isin(rush_goal_ids(ctx, shots))]
    stat["rush_assists"] = _count(pd.concat([rush_goals["primary_assist_player_id"],
                                             rush_goals["secondary_assist_player_id"]]))
    out = pd.DataFrame(stat).fillna(0).astype(int)
    out["def_involvement"] = out.get("primary_def_events", 0) + out.get("support_def_events", 0)
    return out.reindex(columns=list(COLUMNS), fill_value=0)
