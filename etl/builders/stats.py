"""Per-game player, team and goalie figures, computed from the credited player rows.

Every figure is counted on a row of ``players`` (events) or ``sp`` (shifts), each of which already
carries the team it is credited to and its player key (``players.Resolver``), so a player's
figures land on exactly one row per game. A partial game's figures are limited to its window
(``Window``): the periods tracked in both sheets.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .players import player_key

ASSIST_PRIMARY, ASSIST_SECONDARY = "assistprimary", "assistsecondary"
BLOCK_TAG = "blockedshot"  # play detail of the opponent who blocked a shot (AttemptedBlockedShot is no block)
OTHER = {"home": "away", "away": "home"}


@dataclass(frozen=True)
class Window:
    """Periods a game's per-game figures cover: event figures in ``events``, shift figures in ``shifts``."""

    events: frozenset[int]
    shifts: frozenset[int]

    @property
    def label(self) -> str:
        """periods_covered text: '1,2,3', or both windows when they differ ('events 1,2; shifts none')."""
        ev, sh = _periods(self.events), _periods(self.shifts)
        return ev if ev == sh else f"events {ev or 'none'}; shifts {sh or 'none'}"


def _periods(periods: frozenset[int] | set[int]) -> str:
    return ",".join(str(p) for p in sorted(periods))


def periods_text(periods: set[int] | frozenset[int]) -> str:
    """'1,2,3' for a set of periods ('' when empty)."""
    return _periods(periods)


def _flag(mask: pd.Series) -> pd.Series:
    return mask.fillna(False).astype(bool)


def role1(players: pd.DataFrame, side: str) -> pd.DataFrame:
    """Player 1 of ``side`` per event, indexed by event key."""
    p = players[_flag((players["side"] == side) & (players["role_number"] == 1))]
    return p.drop_duplicates("event_index").set_index("event_index")


def credit_rows(players: pd.DataFrame, first: pd.DataFrame, goal_events: pd.Index) -> dict[str, pd.Index]:
    """Row labels of ``players`` credited with each event figure (before any window)."""
    ev_of = players["event_index"]
    is_shot = first["is_shot"].reindex(ev_of).to_numpy(dtype=bool)
    is_faceoff = first["is_faceoff"].reindex(ev_of).to_numpy(dtype=bool)
    shot_detail = first["shot_detail_key"].reindex(ev_of).fillna("").to_numpy()
    ev1 = _flag((players["side"] == "event") & (players["role_number"] == 1)).to_numpy()
    op1 = _flag((players["side"] == "opp") & (players["role_number"] == 1)).to_numpy()
    first_of_event = ~players.duplicated(["event_index", "side", "role_number"]).to_numpy()
    ev1, op1 = ev1 & first_of_event, op1 & first_of_event
    is_goal = players["event_index"].isin(goal_events).to_numpy()
    on_goal = pd.Series(shot_detail).str.contains("goal|onnet", regex=True).to_numpy()
    detail_s = players["detail_key"].fillna("")  # the row's own detail (giveaway/takeaway by that player)
    return {
        "goals": players.index[ev1 & is_goal],
        "shots": players.index[ev1 & is_shot],
        "shots_on_goal": players.index[ev1 & is_shot & on_goal],
        "faceoffs_won": players.index[ev1 & is_faceoff],
        "faceoffs_lost": players.index[op1 & is_faceoff],
        "giveaways": players.index[ev1 & detail_s.str.contains("giveaway", regex=False).to_numpy()],
        "takeaways": players.index[ev1 & detail_s.str.contains("takeaway", regex=False).to_numpy()],
    }


def blockers(players: pd.DataFrame, first: pd.DataFrame) -> pd.Series:
    """Row label of the blocker per Shot_Blocked event (by an opponent): the opponent row tagged
    BlockedShot, else the opponent's player 1; events without either have no blocker."""
    blocked = first.index[_flag(first["shot_detail_key"] == "shot_blocked")]
    opp = players[players["event_index"].isin(blocked) & _flag(players["side"] == "opp")]
    if opp.empty:
        return pd.Series(dtype="object")
    tags = (opp["play_detail1"].fillna("") + " " + opp["play_detail2"].fillna("")).str.lower().str.split()
    tagged = opp[tags.map(lambda t: BLOCK_TAG in t)]
    chosen = tagged.drop_duplicates("event_index")
    rest = opp[~opp["event_index"].isin(chosen["event_index"]) & _flag(opp["role_number"] == 1)]
    chosen = pd.concat([chosen, rest.drop_duplicates("event_index")])
    return pd.Series(chosen.index, index=chosen["event_index"])


def assists(goals: pd.DataFrame, players: pd.DataFrame, first: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Row labels of the primary and secondary assister per goal event (by event key).

    The assisters are event-team player 1 of the scoring team's events since the last faceoff (in
    sheet order), tagged AssistPrimary or AssistSecondary.
    """
    prim = pd.Series(pd.NA, index=goals.index, dtype="object")
    sec = prim.copy()
    details = (players["play_detail1"].fillna("") + " " + players["play_detail2"].fillna("")).str.lower()
    tagged = players[_flag((players["side"] == "event") & (players["role_number"] == 1))
                     & details.str.contains("assist", regex=False)]
    if tagged.empty or goals.empty:
        return prim, sec
    seq = first["seq"]
    tagged_seq = tagged["event_index"].map(seq)
    tagged_venue = tagged["event_index"].map(first["venue_ev"])
    faceoffs = np.sort(seq[first["is_faceoff"]].to_numpy())
    for key, goal in goals.iterrows():
        at = seq[key]
        before = faceoffs[faceoffs < at]
        start = before[-1] if len(before) else -1
        window = tagged[(tagged_seq > start) & (tagged_seq <= at) & _flag(tagged_venue == goal["venue_ev"])]
        for label in window.index:
            text = details[label].replace("_", "")
            if ASSIST_PRIMARY in text:
                prim[key] = label
            elif ASSIST_SECONDARY in text:
                sec[key] = label
    return prim, sec


def _count(keys: pd.Series) -> pd.Series:
    return keys.dropna().value_counts()


def _tkey(team: pd.Series, player: pd.Series) -> pd.Series:
    return team.astype("string") + "|" + player.astype("string")


def player_stats(gid: int, players: pd.DataFrame, sp: pd.DataFrame, first: pd.DataFrame, credits: dict,
                 attempts: pd.DataFrame, roster: pd.DataFrame, team_venue: dict[str, str],
                 window: Window) -> pd.DataFrame:
    """fact_player_game_stats rows: every rostered player, every other tracked player, every unlinked jersey.

    ``credits`` maps a figure to the ``players`` row labels credited with it; ``attempts`` are the
    window's shot attempts (``goal`` and ``even_or_short`` mark the goals that count for plus-minus).
    """
    in_events = players["event_index"].map(first["period"]).isin(window.events)
    sp_in = sp[sp["period"].isin(window.shifts)]
    players = players.assign(pkey=player_key(players["player_id"], players["jersey"]))
    sp = sp.assign(pkey=player_key(sp["player_id"], sp["jersey"]))
    sp_in = sp_in.assign(pkey=sp.loc[sp_in.index, "pkey"])
    keyed = _tkey(players["team_id"], players["pkey"])
    ros = roster.assign(pkey=player_key(roster["player_id"], roster["jersey"]))
    ros = ros.drop_duplicates(["team_id", "pkey"])
    cols = ["team_id", "pkey", "player_id", "jersey"]
    base = pd.concat([ros[cols].assign(src=0), players[cols].assign(src=1), sp[cols].assign(src=2)],
                     ignore_index=True)
    base = base[base["team_id"].notna() & (base["player_id"].notna() | base["jersey"].notna())]
    base = base.sort_values("src", kind="stable").drop_duplicates(["team_id", "pkey"])
    base.index = _tkey(base["team_id"], base["pkey"])

    stat = pd.DataFrame(index=base.index)
    for name, labels in credits.items():
        labels = pd.Index(list(labels))
        if len(labels):
            labels = labels[in_events.loc[labels].to_numpy()]
        stat[name] = _count(keyed.loc[labels]) if len(labels) else pd.Series(dtype="int64")
    sp_key = _tkey(sp_in["team_id"], sp_in["pkey"])
    stat["toi_seconds"] = sp_in["duration_seconds"].groupby(sp_key.to_numpy()).sum()
    stat["shift_count"] = sp_key.value_counts()
    skaters = sp_in[~sp_in["is_goalie"].astype(bool)].assign(k=sp_key)
    on_ice = attempts.merge(skaters[["shift_id", "team_id", "k"]], on="shift_id", suffixes=("_shot", ""))
    same = on_ice["team_id_shot"] == on_ice["team_id"]
    stat["corsi_for"] = on_ice.loc[same, "k"].value_counts()
    stat["corsi_against"] = on_ice.loc[~same, "k"].value_counts()
    goals = attempts[attempts["goal"] & attempts["even_or_short"]]
    pm = goals.merge(skaters[["shift_id", "team_id", "k"]], on="shift_id", suffixes=("_goal", ""))
    sign = np.where(pm["team_id_goal"] == pm["team_id"], 1, -1)
    stat["plus_minus"] = pd.Series(sign, index=pm.index).groupby(pm["k"].to_numpy()).sum()
    stat = stat.reindex(base.index).fillna(0).astype("int64")

    official = ros.set_index(_tkey(ros["team_id"], ros["pkey"]))
    position = roster.dropna(subset=["player_id"]).drop_duplicates("player_id").set_index("player_id")
    out = pd.DataFrame({
        "player_game_id": str(gid) + base["team_id"] + base["pkey"], "game_id": gid,
        "player_id": base["player_id"], "team_id": base["team_id"], "venue": base["team_id"].map(team_venue),
        "jersey": base["jersey"], "player_position": base["player_id"].map(position["player_position"]),
        "periods_covered": window.label,
    })
    for col in ("goals", "assists"):
        out[col] = stat[col]
    out["points"] = out["goals"] + out["assists"]
    out["official_goals"] = official["goals"].reindex(base.index).astype("Int64")
    out["official_assists"] = official["assists"].reindex(base.index).astype("Int64")
    out["official_points"] = out["official_goals"] + out["official_assists"]
    for col in ("shots", "shots_on_goal", "blocks", "faceoffs_won", "faceoffs_lost", "giveaways", "takeaways",
                "toi_seconds", "shift_count", "plus_minus", "corsi_for", "corsi_against"):
        out[col] = stat[col]
    return out.sort_values(["venue", "team_id", "player_game_id"]).reset_index(drop=True)


def team_stats(gid: int, sched: pd.Series, team_of: dict[str, str], first: pd.DataFrame, attempts: pd.DataFrame,
               official: dict[str, int | None], window: Window) -> pd.DataFrame:
    """fact_team_game_stats rows (two per game), event figures in the window's event periods."""
    ev = first[first["period"].isin(window.events)]
    att = attempts[attempts["period"].isin(window.events)]
    detail, shot_detail = ev["detail_key"].fillna(""), ev["shot_detail_key"].fillna("")
    rows = []
    for venue in ("home", "away"):
        team, opp = team_of[venue], team_of[OTHER[venue]]
        own = _flag(ev["team_id"] == team)
        theirs = _flag(ev["team_id"] == opp)
        shots = own & ev["is_shot"]
        rows.append({
            "team_game_id": f"{gid}{team}", "game_id": gid, "team_id": team, "opp_team_id": opp, "venue": venue,
            "periods_covered": window.label, "goals": int((own & ev["is_goal"]).sum()),
            "official_goals": official[venue], "shots": int(shots.sum()),
            "shots_on_goal": int((shots & shot_detail.str.contains("goal|onnet", regex=True)).sum()),
            "blocks": int((theirs & ev["is_shot"] & (shot_detail == "shot_blocked")).sum()),
            "faceoffs_won": int((own & ev["is_faceoff"]).sum()),
            "faceoffs_lost": int((theirs & ev["is_faceoff"]).sum()),
            "giveaways": int((own & detail.str.contains("giveaway", regex=False)).sum()),
            "takeaways": int((own & detail.str.contains("takeaway", regex=False)).sum()),
            "penalties": int((own & ev["is_penalty"]).sum()),
            "corsi_for": int((att["team_id"] == team).sum()),
            "corsi_against": int((att["team_id"] == opp).sum()),
        })
    return pd.DataFrame(rows)


def goalie_stats(gid: int, sp: pd.DataFrame, attempts: pd.DataFrame, window: Window) -> pd.DataFrame:
    """fact_goalie_game_stats rows: goalies of the shifts in the window."""
    cols = ["goalie_game_id", "game_id", "team_id", "player_id", "jersey", "periods_covered", "shots_against",
            "saves", "goals_against", "save_pct", "toi_seconds"]
    g = sp[sp["is_goalie"].astype(bool) & sp["period"].isin(window.shifts) & sp["team_id"].notna()]
    if g.empty:
        return pd.DataFrame(columns=cols)
    g = g.assign(k=player_key(g["player_id"], g["jersey"]))
    toi = g.groupby(["team_id", "k"], sort=True).agg(jersey=("jersey", "first"), player_id=("player_id", "first"),
                                                     toi_seconds=("duration_seconds", "sum")).reset_index()
    on_goal = attempts[attempts["on_goal"]].merge(g[["shift_id", "team_id", "k"]], on="shift_id",
                                                  suffixes=("_shot", ""))
    against = on_goal[on_goal["team_id_shot"] != on_goal["team_id"]]
    sa = against.groupby(["team_id", "k"]).size()
    ga = against[against["goal"]].groupby(["team_id", "k"]).size()
    toi = toi.set_index(["team_id", "k"])
    toi["shots_against"] = sa.reindex(toi.index).fillna(0).astype(int)
    toi["goals_against"] = ga.reindex(toi.index).fillna(0).astype(int)
    toi["saves"] = toi["shots_against"] - toi["goals_against"]
    toi["save_pct"] = (toi["saves"] / toi["shots_against"].where(toi["shots_against"] > 0)).round(4)
    toi = toi.reset_index()
    toi["goalie_game_id"] = str(gid) + toi["team_id"] + toi["k"]
    toi["game_id"] = gid
    toi["periods_covered"] = window.label
    return toi[cols]


def scorer_verification(gid: int, stats: pd.DataFrame) -> pd.DataFrame:
    """qa_scorer_verification rows from the player-game rows: rostered players and tracked scorers/assisters."""
    rostered = stats["official_goals"].notna()
    rows = stats[rostered | (stats["goals"] > 0) | (stats["assists"] > 0)]
    return pd.DataFrame({
        "qa_scorer_id": rows["player_game_id"], "game_id": gid, "team_id": rows["team_id"],
        "player_id": rows["player_id"], "jersey": rows["jersey"],
        "official_goals": rows["official_goals"].fillna(0).astype(int), "tracked_goals": rows["goals"],
        "official_assists": rows["official_assists"].fillna(0).astype(int), "tracked_assists": rows["assists"],
        "goals_match": rows["official_goals"].fillna(0).astype(int) == rows["goals"],
        "assists_match": rows["official_assists"].fillna(0).astype(int) == rows["assists"],
    }).reset_index(drop=True)
