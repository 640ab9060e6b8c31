"""fact_player_micro_stats: each player's micro plays, passes and tagged plays in one game.

``micro_stats`` computes them wide (one row per player, one column per micro-stat: the figures
fact_player_game_stats copies); the table is long, as the dashboard reads it (``micro_long``: one row per
player, game and micro-stat he has, with its ``count``; the game page folds the rows into
``{micro_stat: count}``).

A micro play counts once per event for the player (the contract's "distinct events") when a text
field credited to him matches its pattern (lower case): the play details of his own row of the event,
and, when he is the event team's player 1, the event's event_detail and event_detail_2. The contract
reads only player 1's rows; the tracker puts defensive plays (stick checks, backchecks, poke checks) on
the defender's row, so reading only player 1 would lose most of them.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..issues import IssueLog
from .context import GameContext, game_players, pct

# metric -> (pattern, excluded pattern or None); origin: the contract's fact_player_game_stats derivations
# (benchsight:src/tables/core_facts.py calculate_micro_stats)
PATTERNS: dict[str, tuple[str, str | None]] = {
    "dekes": ("deke", r"(?:beat|stopped)deke"),
    "drives_middle": ("drivemiddle|drivenetmiddle", None),
    "drives_wide": ("drivewide", None),
    "drives_corner": ("drivecorner", None),
    "drives_net": ("drivenet", "drivenetmiddle"),  # drivenetmiddle is a middle drive (counted once in the total)
    "cutbacks": ("cutback", None),
    "cycles": ("cycle", None),
    "screens": ("screen", None),
    "crash_net": ("crashnet", None),
    "give_and_go": ("giveandgo", None),
    "second_touch": ("secondtouch", None),
    "delays": ("delay", None),
    "breakouts": ("breakout", None),
    "dump_ins": ("dumpin|dumpchase|dump and chase", None),
    "odd_man_rushes": ("oddman|odd man", None),
    "forechecks": ("forecheck", None),
    "backchecks": ("backcheck", None),
    "poke_checks": ("pokecheck", None),
    "stick_checks": ("stickcheck", None),
    "zone_ent_denials": ("zoneentrydenial|cededzoneentry", None),
    "puck_battles": ("loosepuckbattle|boardbattle", None),
    "loose_puck_wins": ("loosepuck.*won|battlewon", "boardbattle"),
    "board_battles_won": ("boardbattle.*won", None),
    "puck_recoveries": ("puckrecovery|puckretrieval", None),
}
HIT_TYPE = "Hit"
PASS_TYPE = "Pass"
PASS_COMPLETED = "completed"
SUCCESS, FAILURE = "s", "u"
COLUMNS = ["game_id", "season_id", "player_id", "player_name", "team_id", "team_name", "venue",
           *PATTERNS, "drives_total", "puck_battles_total", "hits", "pass_attempts", "pass_completed", "pass_pct",
           "plays_successful", "plays_unsuccessful"]


def _credited_text(ctx: GameContext) -> pd.DataFrame:
    """(event_id, player_id, text) for every text field credited to a player."""
    ep = ctx.event_players.dropna(subset=["player_id"])
    own = pd.concat([ep[["event_id", "player_id", c]].rename(columns={c: "text"})
                     for c in ("play_detail1", "play_detail_2")])
    ev = ctx.events.dropna(subset=["player_id"])
    first = pd.concat([ev[["event_id", "player_id", c]].rename(columns={c: "text"})
                       for c in ("event_detail", "event_detail_2")])
    out = pd.concat([own, first], ignore_index=True).dropna(subset=["text"])
    out["text"] = out["text"].astype(str).str.lower()
    return out


def micro_stats(ctx: GameContext) -> pd.DataFrame:
    """One row per linked player of the game; 0 where he has no such play."""
    text = _credited_text(ctx)
    out = game_players(ctx)
    # a few hundred distinct codes: match each pattern once per code, then look the rows up
    codes, vocab = pd.factorize(text["text"])
    vocab = pd.Series(vocab)
    match = np.column_stack([vocab.str.contains(p, regex=True) & ~(vocab.str.contains(x, regex=True) if x else False)
                             for p, x in PATTERNS.values()]) if len(vocab) else np.zeros((0, len(PATTERNS)), bool)
    hits = pd.DataFrame(match[codes], columns=list(PATTERNS))
    hits["event_id"], hits["player_id"] = text["event_id"].to_numpy(), text["player_id"].to_numpy()
    per_event = hits.groupby(["player_id", "event_id"]).max()  # one event counts once
    counts = per_event.groupby(level="player_id").sum()
    for metric in PATTERNS:
        out[metric] = out["player_id"].map(counts[metric]).fillna(0).astype(int)
    out["drives_total"] = out[["drives_middle", "drives_wide", "drives_corner", "drives_net"]].sum(axis=1)
    out["puck_battles_total"] = out[["loose_puck_wins", "puck_recoveries", "board_battles_won"]].sum(axis=1)
    ev = ctx.events.dropna(subset=["player_id"])
    passes = ev[ev["event_type"] == PASS_TYPE]
    completed = passes["event_detail"].fillna("").str.lower().str.contains(PASS_COMPLETED, regex=False)
    counted = {"hits": ev[ev["event_type"] == HIT_TYPE], "pass_attempts": passes,
               "pass_completed": passes[completed], "plays_successful": ev[ev["event_successful"] == SUCCESS],
               "plays_unsuccessful": ev[ev["event_successful"] == FAILURE]}
    for col, rows in counted.items():
        out[col] = out["player_id"].map(rows.groupby("player_id").size()).fillna(0).astype(int)
    out["pass_pct"] = [pct(c, a, 0.0) for c, a in zip(out["pass_completed"], out["pass_attempts"], strict=True)]
    return out[COLUMNS]


# the counts of the long table, in this order (pass_pct is a ratio, not a count: it stays in fact_player_game_stats)
LONG_STATS = [c for c in COLUMNS[7:] if c != "pass_pct"]
LONG_COLUMNS = ["game_id", "season_id", "player_id", "player_name", "team_id", "team_name", "venue", "micro_stat",
                "count"]


def micro_long(wide: pd.DataFrame) -> pd.DataFrame:
    """fact_player_micro_stats: one row per player and micro-stat with a count above 0 (the contract's long
    format: a micro play the player never made has no row)."""
    keys = LONG_COLUMNS[:7]
    long = wide.melt(id_vars=keys, value_vars=LONG_STATS, var_name="micro_stat", value_name="count")
    long = long[long["count"] > 0]
    order = {name: i for i, name in enumerate(LONG_STATS)}
    long = long.assign(_o=long["micro_stat"].map(order)).sort_values(["player_id", "_o"], kind="stable")
    return long[LONG_COLUMNS].reset_index(drop=True)


UNTRACKED = [*PATTERNS, "hits", "pass_attempts"]


def report_untracked(ctx: GameContext, micro: pd.DataFrame, file: str, issues: IssueLog) -> None:
    """One qa_data_issues row per metric no event of the game records (its column says 0 for everyone)."""
    for metric in UNTRACKED:
        if micro.empty or int(micro[metric].sum()) == 0:
            issues.add(file, f"no event of the game records {metric.replace('_', ' ')}: the tracker did not "
                       "track it here", f"{metric} is 0 for every player of the game", kind="untracked_metric",
                       sheet="events", column=metric)
