"""Zone tables: events by zone per side, and each player's zone entries and exits."""
from __future__ import annotations

import pandas as pd

from . import weights as w
from .context import VENUES, GameContext, game_players, pct, player_one

ENTRY, ENTRY_FAILED = "Zone_Entry", "Zone_EntryFailed"
EXIT, EXIT_FAILED = "Zone_Exit", "Zone_ExitFailed"
# the other side sees the event's zone mirrored
MIRROR = {"o": "d", "d": "o", "n": "n"}
ZONE_COLUMNS = {"o": "offensive_zone_events", "d": "defensive_zone_events", "n": "neutral_zone_events"}
FAILED_WORDS = ("fail", "turnover")
DUMP_WORD = "dump"


def team_zone_time(ctx: GameContext) -> pd.DataFrame:
    """fact_team_zone_time: per side, events by zone seen from that side (own events as tracked, the
    opponent's mirrored), and their shares in %."""
    ev = ctx.events[ctx.events["zone_id"].isin(list(MIRROR)) & ctx.events["team_venue"].isin(VENUES)]
    rows = []
    for venue in VENUES:
        own = ev["team_venue"] == venue
        zone = ev["zone_id"].where(own, ev["zone_id"].map(MIRROR))
        counts = zone.value_counts()
        row = {"game_id": ctx.game_id, "season_id": ctx.season_id, **ctx.side_columns(venue)}
        total = int(counts.sum())
        for z, col in ZONE_COLUMNS.items():
            row[col] = int(counts.get(z, 0))
            row[col.replace("_events", "_pct")] = pct(row[col], total, 0.0)
        rows.append(row)
    pcts = [c.replace("_events", "_pct") for c in ZONE_COLUMNS.values()]
    return pd.DataFrame(rows)[["game_id", "season_id", *ctx.side_columns("home"), *ZONE_COLUMNS.values(), *pcts]]


def _text(ev: pd.DataFrame) -> pd.Series:
    return (ev["event_detail"].fillna("") + " " + ev["event_detail_2"].fillna("")).str.lower()


def zone_entry_summary(ctx: GameContext) -> pd.DataFrame:
    """fact_zone_entry_summary: per player, the zone entries he carried out (event player 1)."""
    ev = player_one(ctx)
    e = ev[ev["event_detail"].isin([ENTRY, ENTRY_FAILED])]
    text = _text(e)
    d2 = e["event_detail_2"].fillna("").str.lower()
    failed = (e["event_detail"] == ENTRY_FAILED) | text.str.contains("|".join(FAILED_WORDS))
    flags = pd.DataFrame({"player_id": e["player_id"], "total_entries": 1,
                          "controlled_entries": (d2.isin(w.CONTROLLED_ENTRY_DETAILS) & ~failed).astype(int),
                          "dump_entries": text.str.contains(DUMP_WORD, regex=False).astype(int),
                          "failed_entries": failed.astype(int)})
    out = _per_player(ctx, flags, ["total_entries", "controlled_entries", "dump_entries", "failed_entries"])
    out.insert(out.columns.get_loc("total_entries"), "games", 1)
    out["controlled_entry_pct"] = [pct(c, t, 0.0) for c, t in zip(out["controlled_entries"], out["total_entries"],
                                                                   strict=True)]
    return out


def zone_exit_summary(ctx: GameContext) -> pd.DataFrame:
    """fact_zone_exit_summary: per player, the zone exits he carried out (event player 1)."""
    ev = player_one(ctx)
    e = ev[ev["event_detail"].isin([EXIT, EXIT_FAILED])]
    text = _text(e)
    d2 = e["event_detail_2"].fillna("").str.lower()
    failed = (e["event_detail"] == EXIT_FAILED) | text.str.contains("|".join(FAILED_WORDS + ("misplay",)))
    flags = pd.DataFrame({"player_id": e["player_id"], "total_exits": 1,
                          "controlled_exits": (d2.isin(w.CONTROLLED_EXIT_DETAILS) & ~failed).astype(int),
                          "failed_exits": failed.astype(int)})
    out = _per_player(ctx, flags, ["total_exits", "controlled_exits", "failed_exits"])
    out.insert(out.columns.get_loc("total_exits"), "games", 1)
    return out


def _per_player(ctx: GameContext, flags: pd.DataFrame, counts: list[str]) -> pd.DataFrame:
    """One row per linked player of the game with the summed ``counts`` (0 where none)."""
    players = game_players(ctx)
    summed = flags.groupby("player_id")[counts].sum()
    out = players[["game_id", "season_id", "player_id", "player_name", "team_id", "team_name", "venue"]].copy()
    for c in counts:
        out[c] = out["player_id"].map(summed[c]).fillna(0).astype(int)
    return out
