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
    ev_type = first["type_key"].reindex(ev_of).fillna("").to_numpy()
    ev_detail = pd.Series(first["detail_key"].reindex(ev_of).fillna("").to_numpy())
    ok = (first["successful"].reindex(ev_of).fillna("").astype(str).str.lower() == "s").to_numpy()
    gap = (pd.to_numeric(first["own_skaters"], errors="coerce")
           - pd.to_numeric(first["opp_skaters"], errors="coerce")).reindex(ev_of).to_numpy()
    passes = ev1 & (ev_type == "pass")
    entries = ev1 & ev_detail.str.startswith("zone_entry").to_numpy()
    exits = ev1 & ev_detail.str.startswith("zone_exit").to_numpy()
    scored = ev1 & is_goal
    return {
        "goals": players.index[ev1 & is_goal],
        "shots": players.index[ev1 & is_shot],
        "shots_on_goal": players.index[ev1 & is_shot & on_goal],
        "faceoffs_won": players.index[ev1 & is_faceoff],
        "faceoffs_lost": players.index[op1 & is_faceoff],
        "giveaways": players.index[ev1 & detail_s.str.contains("giveaway", regex=False).to_numpy()],
        "takeaways": players.index[ev1 & detail_s.str.contains("takeaway", regex=False).to_numpy()],
        "shots_blocked": players.index[ev1 & is_shot & pd.Series(shot_detail).str.contains("blocked").to_numpy()],
        "shots_missed": players.index[ev1 & is_shot & np.isin(shot_detail, ["shot_missed", "shot_missedpost"])],
        "hits": players.index[ev1 & (ev_type == "hit")],
        "pass_attempts": players.index[passes],
        "pass_completed": players.index[passes & ev_detail.str.contains("completed", regex=False).to_numpy()],
        "zone_entries": players.index[entries],
        "zone_entries_successful": players.index[entries & ok],
        "zone_exits": players.index[exits],
        "zone_exits_successful": players.index[exits & ok],
        "ev_goals": players.index[scored & (gap == 0)],
        "pp_goals": players.index[scored & (gap > 0)],
        "sh_goals": players.index[scored & (gap < 0)],
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


def _pct(num: pd.Series, den: pd.Series, digits: int = 1) -> pd.Series:
    """num / den x 100 rounded; 0 when den is 0 (the dashboard's convention for game figures)."""
    return (num * 100 / den.where(den > 0)).fillna(0).astype("float64").round(digits)


def share(num: pd.Series, other: pd.Series, none: float = 50.0) -> pd.Series:
    """num / (num + other) x 100, 1 decimal; ``none`` where both are 0 (Corsi/Fenwick-for %)."""
    total = (num + other).where(lambda n: n > 0)
    return (num * 100 / total).round(1).fillna(none)


def display(gid: int, sched: pd.Series) -> dict:
    """The game's display columns shared by the per-game tables."""
    return {"season_id": sched["season_id"], "date": sched["date"],
            "game_type": sched["game_type"] if pd.notna(sched["game_type"]) else "Regular"}


def logical_shifts(shift_ids: pd.Series, keys: pd.Series) -> pd.Series:
    """Shifts per player key, consecutive shift rows (shift_index n, n+1, ...) of a player merged into one."""
    if shift_ids.empty:
        return pd.Series(dtype="int64")
    df = pd.DataFrame({"k": keys.to_numpy(), "i": shift_ids.str[-5:].astype("int64").to_numpy()})
    df = df.drop_duplicates().sort_values(["k", "i"])
    starts = (df["i"].diff() != 1) | (df["k"] != df["k"].shift())
    return starts.groupby(df["k"].to_numpy()).sum().astype("int64")


def player_stats(gid: int, players: pd.DataFrame, sp: pd.DataFrame, first: pd.DataFrame, credits: dict,
                 attempts: pd.DataFrame, roster: pd.DataFrame, team_venue: dict[str, str],
                 window: Window, names: pd.Series, team_names: dict[str, str], shown: dict) -> pd.DataFrame:
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
    stat["shift_count"] = logical_shifts(sp_in["shift_id"], sp_key)
    skaters = sp_in[~sp_in["is_goalie"].astype(bool)].assign(k=sp_key)
    on_ice = attempts.merge(skaters[["shift_id", "team_id", "k"]], on="shift_id", suffixes=("_shot", ""))
    same = on_ice["team_id_shot"] == on_ice["team_id"]
    stat["corsi_for"] = on_ice.loc[same, "k"].value_counts()
    stat["corsi_against"] = on_ice.loc[~same, "k"].value_counts()
    unblocked = ~on_ice["blocked"].to_numpy(dtype=bool)
    stat["fenwick_for"] = on_ice.loc[same & unblocked, "k"].value_counts()
    stat["fenwick_against"] = on_ice.loc[~same & unblocked, "k"].value_counts()
    pm = attempts[attempts["goal"]].merge(skaters[["shift_id", "team_id", "k"]], on="shift_id",
                                          suffixes=("_goal", ""))
    mine = pm["team_id_goal"] == pm["team_id"]
    even = (pm["gap"] == 0).to_numpy()
    by_key = pm["k"].to_numpy()
    stat["plus_minus"] = pd.Series(np.where(mine, 1, -1), index=pm.index).groupby(by_key).sum()
    stat["plus_ev"] = pd.Series((mine & even).astype(int).to_numpy(), index=pm.index).groupby(by_key).sum()
    stat["minus_ev"] = pd.Series((~mine & even).astype(int).to_numpy(), index=pm.index).groupby(by_key).sum()
    stat = stat.reindex(base.index).fillna(0).astype("int64")

    official = ros.set_index(_tkey(ros["team_id"], ros["pkey"]))
    position = roster.dropna(subset=["player_id"]).drop_duplicates("player_id").set_index("player_id")
    opponent = {team: name for team, name in team_names.items()}
    out = pd.DataFrame({
        "player_game_id": str(gid) + base["team_id"] + base["pkey"], "game_id": gid,
        "player_id": base["player_id"], "player_name": base["player_id"].map(names),
        "team_id": base["team_id"], "team_name": base["team_id"].map(team_names),
        "opponent_team_name": base["team_id"].map(lambda t: next((n for k, n in opponent.items() if k != t), None)),
        "venue": base["team_id"].map(team_venue), **shown,
        "jersey": base["jersey"], "position": base["player_id"].map(position["player_position"]),
        "periods_covered": window.label,
    })
    for col in ("goals", "assists"):
        out[col] = stat[col]
    out["points"] = out["goals"] + out["assists"]
    out["g"], out["a"], out["pts"] = out["goals"], out["assists"], out["points"]
    out["official_goals"] = official["goals"].reindex(base.index).astype("Int64")
    out["official_assists"] = official["assists"].reindex(base.index).astype("Int64")
    out["official_points"] = out["official_goals"] + out["official_assists"]
    out["pim"] = official["pim"].reindex(base.index).astype("Int64")
    renamed = {"shots_on_goal": "sog", "faceoffs_won": "fo_wins", "faceoffs_lost": "fo_losses"}
    for col in PLAYER_COUNTS:
        out[renamed.get(col, col)] = stat[col]
    out["plus_minus_ev"] = out["plus_ev"] - out["minus_ev"]
    out["plus_minus_total"] = out["plus_minus"]
    out["fo_total"] = out["fo_wins"] + out["fo_losses"]
    out["fo_pct"] = _pct(out["fo_wins"], out["fo_total"])
    out["cf_pct"] = share(out["corsi_for"], out["corsi_against"])
    out["ff_pct"] = share(out["fenwick_for"], out["fenwick_against"])
    out["cf_pct_rel"] = (out["cf_pct"] - 50).round(1)
    out["ff_pct_rel"] = (out["ff_pct"] - 50).round(1)
    out["shooting_pct"] = _pct(out["goals"], out["sog"])
    out["pass_pct"] = _pct(out["pass_completed"], out["pass_attempts"])
    out["toi_minutes"] = (out["toi_seconds"] / 60).round(2)
    out["avg_shift"] = (out["toi_seconds"] / out["shift_count"].where(out["shift_count"] > 0)).round(1)
    for col in ("goals", "assists", "points"):
        out[f"{col}_per_60"] = (out[col] * 3600 / out["toi_seconds"].where(out["toi_seconds"] > 0)).round(2)
    return out.sort_values(["venue", "team_id", "player_game_id"]).reset_index(drop=True)


# Counted figures of fact_player_game_stats, in catalog order (before their dashboard renames).
PLAYER_COUNTS = ("primary_assists", "secondary_assists", "ev_goals", "pp_goals", "sh_goals", "shots",
                 "shots_on_goal", "shots_blocked", "shots_missed", "blocks", "hits", "faceoffs_won", "faceoffs_lost",
                 "giveaways", "takeaways",
                 "pass_attempts", "pass_completed", "zone_entries", "zone_entries_successful", "zone_exits",
                 "zone_exits_successful", "toi_seconds", "shift_count", "plus_minus", "plus_ev", "minus_ev",
                 "corsi_for", "corsi_against", "fenwick_for", "fenwick_against")


def team_stats(gid: int, sched: pd.Series, team_of: dict[str, str], first: pd.DataFrame, attempts: pd.DataFrame,
               official: dict[str, int | None], window: Window, pstats: pd.DataFrame) -> pd.DataFrame:
    """fact_team_game_stats rows (two per game), event figures in the window's event periods; assists,
    passes, hits, time on ice and plus-minus are the sums of the team's player rows (``pstats``)."""
    summed = pstats.groupby("team_id")[["assists", "hits", "pass_attempts", "pass_completed", "toi_seconds",
                                        "plus_minus", "fenwick_for", "fenwick_against"]].sum()
    shown = display(gid, sched)
    names = {sched["home_team_id"]: sched["home_team_name"], sched["away_team_id"]: sched["away_team_name"]}
    ev = first[first["period"].isin(window.events)]
    att = attempts[attempts["period"].isin(window.events)]
    detail, shot_detail = ev["detail_key"].fillna(""), ev["shot_detail_key"].fillna("")
    rows = []
    for venue in ("home", "away"):
        team, opp = team_of[venue], team_of[OTHER[venue]]
        own = _flag(ev["team_id"] == team)
        theirs = _flag(ev["team_id"] == opp)
        shots = own & ev["is_shot"]
        mine = summed.loc[team] if team in summed.index else pd.Series(0, index=summed.columns)
        goals = int((own & ev["is_goal"]).sum())
        sog = int((shots & shot_detail.str.contains("goal|onnet", regex=True)).sum())
        rows.append({
            "team_game_id": f"{gid}{team}", "game_id": gid, "team_id": team, "team_name": names.get(team),
            "opp_team_id": opp, "venue": venue, **shown,
            "home_team_id": sched["home_team_id"], "away_team_id": sched["away_team_id"],
            "periods_covered": window.label, "goals": goals, "assists": int(mine["assists"]),
            "points": goals + int(mine["assists"]),
            "official_goals": official[venue], "shots": int(shots.sum()), "sog": sog,
            "shooting_pct": round(goals * 100 / sog, 1) if sog else 0.0,
            "blocks": int((theirs & ev["is_shot"] & (shot_detail == "shot_blocked")).sum()),
            "hits": int(mine["hits"]), "pass_attempts": int(mine["pass_attempts"]),
            "pass_completed": int(mine["pass_completed"]),
            "fo_wins": int((own & ev["is_faceoff"]).sum()),
            "fo_losses": int((theirs & ev["is_faceoff"]).sum()),
            "toi_seconds": int(mine["toi_seconds"]), "plus_minus_total": int(mine["plus_minus"]),
            "giveaways": int((own & detail.str.contains("giveaway", regex=False)).sum()),
            "takeaways": int((own & detail.str.contains("takeaway", regex=False)).sum()),
            "penalties": int((own & ev["is_penalty"]).sum()),
            "corsi_for": int((att["team_id"] == team).sum()),
            "corsi_against": int((att["team_id"] == opp).sum()),
            "fenwick_for": int(mine["fenwick_for"]), "fenwick_against": int(mine["fenwick_against"]),
        })
    out = pd.DataFrame(rows)
    out["cf_pct"] = share(out["corsi_for"], out["corsi_against"])
    return out


def goalie_stats(gid: int, sp: pd.DataFrame, attempts: pd.DataFrame, window: Window, names: pd.Series,
                 team_names: dict[str, str], team_venue: dict[str, str], shown: dict) -> pd.DataFrame:
    """fact_goalie_game_stats rows: goalies of the shifts in the window."""
    cols = ["goalie_game_id", "game_id", "team_id", "team_name", "venue", "home_team_id", "away_team_id", "player_id",
            "player_name", "jersey",
            "season_id", "date", "periods_covered", "shots_against", "saves", "goals_against", "save_pct",
            "toi_seconds"]
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
    toi["save_pct"] = (toi["saves"] * 100 / toi["shots_against"].where(toi["shots_against"] > 0)).fillna(100.0)
    toi["save_pct"] = toi["save_pct"].astype("float64").round(1)
    toi = toi.reset_index()
    toi["team_name"] = toi["team_id"].map(team_names)
    toi["venue"] = toi["team_id"].map(team_venue)
    toi["player_name"] = toi["player_id"].map(names)
    toi["season_id"], toi["date"] = shown["season_id"], shown["date"]
    toi["home_team_id"], toi["away_team_id"] = shown["home_team_id"], shown["away_team_id"]
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
