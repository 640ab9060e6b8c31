"""Per-game builder: one tracked game's sheets -> every game-grain table for that game."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import InputError
from ..excel_source import GameFile
from ..issues import IssueLog
from .master import PERIOD_SECONDS, League
from .tracking import SLOTS, normalize_events, normalize_shifts

GOAL_TYPES = {"goal"}
ASSIST_PRIMARY, ASSIST_SECONDARY = "assistprimary", "assistsecondary"
OTHER = {"home": "away", "away": "home"}


@dataclass
class GameResult:
    """Everything one game contributes: tables, its completeness row and vocabulary codes seen."""

    game_id: int
    status: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    completeness: dict = field(default_factory=dict)
    codes: dict[str, set[str]] = field(default_factory=dict)

    @property
    def usable(self) -> bool:
        return self.status in ("COMPLETE", "PARTIAL")


def _completeness(game: GameFile, status: str, reason: str, **extra) -> dict:
    row = dict(game_id=game.game_id, status=status, reason=reason, periods_tracked=None, event_count=None,
               player_link_rate=None, home_away_swapped=None, file=game.relpath)
    row.update(extra)
    return row


def unusable(game: GameFile, status: str, reason: str) -> GameResult:
    """A game left out of the facts (template, invalid, unreadable)."""
    return GameResult(game.game_id, status, completeness=_completeness(game, status, reason))


def _event_id(game_id: int, idx: pd.Series) -> pd.Series:
    return "EV" + str(game_id) + idx.astype("int64").map("{:05d}".format).astype("string")


def _detect_swap(ev: pd.DataFrame, sched: pd.Series, roster: pd.DataFrame) -> tuple[bool, str]:
    """Whether the workbook's home/away are swapped against the schedule (the schedule wins).

    Evidence first: which team's official roster the jerseys on each side match. Team names in the
    workbook decide when the jerseys do not clearly point one way.
    """
    players = ev[ev["side"].notna() & ev["wb_venue"].notna() & ev["jersey"].notna()]
    if len(players) and not roster.empty:
        pvenue = np.where(players["side"] == "event", players["wb_venue"], players["wb_venue"].map(OTHER))
        home_set = set(roster.loc[roster["team_id"] == sched["home_team_id"], "jersey"].dropna())
        away_set = set(roster.loc[roster["team_id"] == sched["away_team_id"], "jersey"].dropna())
        in_home = players["jersey"].isin(home_set).to_numpy()
        in_away = players["jersey"].isin(away_set).to_numpy()
        straight = int(((pvenue == "home") & in_home).sum() + ((pvenue == "away") & in_away).sum())
        crossed = int(((pvenue == "home") & in_away).sum() + ((pvenue == "away") & in_home).sum())
        if max(straight, crossed) >= 10 and max(straight, crossed) >= 1.5 * min(straight, crossed):
            return crossed > straight, "roster jerseys"
    wb_home, wb_away = ev["wb_home"].dropna(), ev["wb_away"].dropna()
    if len(wb_home) and len(wb_away):
        h, a = wb_home.mode().iloc[0].lower(), wb_away.mode().iloc[0].lower()
        names = (str(sched["home_team_name"]).lower(), str(sched["away_team_name"]).lower())
        if (a, h) == names:
            return True, "team names"
    return False, "default"


def _foreign_workbook(ev: pd.DataFrame, sched: pd.Series, roster: pd.DataFrame) -> str:
    """Why the workbook looks copied from another game ('' when it belongs to this one).

    Evidence: the teams it names are not the scheduled teams and most of its jerseys are on
    neither team's official roster for this game.
    """
    jerseys = ev.loc[ev["jersey"].notna(), "jersey"]
    if len(jerseys) < 20 or roster.empty:
        return ""
    rate = float(jerseys.isin(set(roster["jersey"].dropna())).mean())
    if rate >= 0.5:
        return ""
    scheduled = {str(sched["home_team_name"]).strip().lower(), str(sched["away_team_name"]).strip().lower()}
    named = {str(v).strip().lower() for v in pd.concat([ev["wb_home"], ev["wb_away"]]).dropna().unique()}
    if named and named <= scheduled:
        return ""
    return (f"only {rate:.0%} of the jerseys are on this game's official rosters"
            + (f" and the workbook names {' vs '.join(sorted(named))}" if named else "")
            + ": it looks copied from another game's workbook")


def build_game(game: GameFile, frames: dict[str, pd.DataFrame], league: League, issues: IssueLog) -> GameResult:
    """Build every game-grain table for one game, or an unusable result with the reason."""
    gid = game.game_id
    sched = league.game(gid)
    if sched is None:
        return unusable(game, "INVALID", f"game {gid} is not in the master schedule (dim_schedule)")
    ev = normalize_events(frames["events"], game.relpath, issues)
    wb_game = ev["wb_game_id"].dropna()
    if len(wb_game) and int(wb_game.mode().iloc[0]) != gid:
        other = int(wb_game.mode().iloc[0])
        return unusable(game, "TEMPLATE", f"the workbook's game_id column says {other}, not {gid}: "
                        "it was copied from another game's workbook")
    typed = ev[ev["event_type"].notna()]
    real = typed[~typed["type_key"].isin(["gamestart", "gameend"])]
    if real.empty:
        return unusable(game, "TEMPLATE", "the events sheet has no tracked events (an empty template)")
    roster = league.game_roster(gid)
    foreign = _foreign_workbook(ev, sched, roster)
    if foreign:
        return unusable(game, "TEMPLATE", foreign)
    swapped, how = _detect_swap(ev, sched, roster)
    if swapped:
        issues.add(game.relpath, f"home and away are swapped against the schedule (detected by {how})",
                   "teams taken from the schedule", sheet="events")
    venue_map = {"home": "away", "away": "home"} if swapped else {"home": "home", "away": "away"}
    team_of = {"home": sched["home_team_id"], "away": sched["away_team_id"]}

    # --- roster lookup: (team_id, jersey) -> player_id, position
    rl = roster.dropna(subset=["jersey"]).drop_duplicates(["team_id", "jersey"])
    lookup = dict(zip(zip(rl["team_id"], rl["jersey"], strict=True), rl["player_id"], strict=True))
    position = dict(zip(rl["player_id"], rl["player_position"], strict=True))

    # --- events (event level)
    ev["venue_ev"] = ev["wb_venue"].map(venue_map)
    first = ev.groupby("event_index", sort=True).first()
    goal_rows = ev[ev["type_key"].isin(GOAL_TYPES) & (ev["detail_key"] == "goal_scored")]
    goal_events = set(goal_rows["event_index"])
    first["is_goal"] = first.index.isin(goal_events)
    goal_first = goal_rows.groupby("event_index").first()
    for col in ("event_type", "event_detail", "event_detail_2"):
        first.loc[goal_first.index, col] = goal_first[col]
    period_len = PERIOD_SECONDS
    first["elapsed"] = (first["period"] - 1) * period_len + (period_len - first["clock_seconds"])

    # --- players (row level)
    players = ev[ev["side"].notna()].copy()
    players["venue"] = np.where(players["side"] == "event", players["venue_ev"],
                                players["venue_ev"].map(OTHER))
    players["venue"] = players["venue"].where(players["venue_ev"].notna())
    players["team_id"] = players["venue"].map(team_of)
    from_roster = pd.Series([lookup.get(k) for k in zip(players["team_id"], players["jersey"], strict=True)],
                            index=players.index, dtype="object")
    differ = players["wb_player_id"].notna() & from_roster.notna() & (players["wb_player_id"] != from_roster)
    if differ.any():
        issues.add_cells(game.relpath, "events", "player_id", players.loc[differ, "source_row"],
                         "'player_id' disagrees with the game roster for that team and jersey", "used 'player_id'")
    players["player_id"] = players["wb_player_id"].where(players["wb_player_id"].notna(), from_roster)
    unlinked = players["player_id"].isna() & players["jersey"].notna()
    if unlinked.any():
        issues.add_cells(game.relpath, "events", "player_game_number", players.loc[unlinked, "source_row"],
                         "jersey is not on the official game roster for that team", "player left unlinked")
    code = np.where(players["side"] == "event", "E", "O")
    players["event_id"] = _event_id(gid, players["event_index"])
    players["event_player_id"] = players["event_id"] + "_" + code + players["role_number"].astype("string")
    dup = players["event_player_id"].duplicated()
    if dup.any():
        issues.add_cells(game.relpath, "events", "player_role", players.loc[dup, "source_row"],
                         "the same role appears twice in one event", "later row skipped")
        players = players[~dup]

    primary = players[(players["side"] == "event") & (players["role_number"] == 1)]
    primary_by_event = primary.drop_duplicates("event_index").set_index("event_index")
    first["player_id"] = primary_by_event["player_id"].reindex(first.index)
    first["team_id"] = first["venue_ev"].map(team_of)
    first["opp_team_id"] = first["venue_ev"].map(OTHER).map(team_of)
    first["player_count"] = players.groupby("event_index").size().reindex(first.index).fillna(0).astype(int)

    # --- shifts
    sh = normalize_shifts(frames["shifts"], game.relpath, issues, period_len)
    shifts, shift_players = _shifts(gid, sh, venue_map, team_of, lookup, game, issues)

    # --- on-ice: each event to the shift it happened in
    first["shift_id"] = _match_shift(first, shifts)
    sk = shifts.set_index("shift_id")
    home_sk = first["shift_id"].map(sk["home_skaters"])
    away_sk = first["shift_id"].map(sk["away_skaters"])
    own = np.where(first["venue_ev"] == "home", home_sk, away_sk)
    opp = np.where(first["venue_ev"] == "home", away_sk, home_sk)
    first["strength_id"] = pd.Series(own, index=first.index).astype("Int64").astype("string") + "v" + \
        pd.Series(opp, index=first.index).astype("Int64").astype("string")
    first["own_skaters"], first["opp_skaters"] = own, opp

    events = pd.DataFrame({
        "event_id": _event_id(gid, first.index.to_series()), "game_id": gid, "event_index": first.index,
        "period": first["period"], "clock_seconds": first["clock_seconds"], "elapsed_seconds": first["elapsed"],
        "event_type_id": first["event_type"], "event_detail_id": first["event_detail"],
        "event_detail_2_id": first["event_detail_2"], "event_successful": first["successful"],
        "event_team_id": first["team_id"], "event_team_venue": first["venue_ev"],
        "opp_team_id": first["opp_team_id"], "player_id": first["player_id"], "zone_id": first["zone"],
        "play_detail1_id": first["play_detail1"], "play_detail2_id": first["play_detail2"],
        "shift_id": first["shift_id"], "strength_id": first["strength_id"], "is_goal": first["is_goal"],
        "player_count": first["player_count"], "source_row": first["source_row"],
    }).reset_index(drop=True)

    event_players = pd.DataFrame({
        "event_player_id": players["event_player_id"], "event_id": players["event_id"], "game_id": gid,
        "player_role_id": players["side"] + "_team_player_" + players["role_number"].astype("string"),
        "side": players["side"], "role_number": players["role_number"], "team_id": players["team_id"],
        "venue": players["venue"], "jersey": players["jersey"], "player_id": players["player_id"],
        "play_detail1_id": players["play_detail1"], "play_detail2_id": players["play_detail2"],
        "source_row": players["source_row"],
    })

    result = GameResult(gid, "COMPLETE")
    t = result.tables
    t["fact_events"] = events
    t["fact_event_players"] = event_players
    t["fact_shifts"] = shifts
    t["fact_shift_players"] = shift_players
    goals = _goals(gid, first, goal_rows, players, ev, sk, team_of)
    shots = _shots(gid, ev, first, players, sk)
    t["fact_goals"] = goals
    t["fact_shots"] = shots
    t["fact_faceoffs"] = _faceoffs(gid, ev, first, players)
    t["fact_penalties"] = _penalties(gid, ev, first, players)
    attempts = _attempts(gid, first, shots, goals)
    t["fact_player_game_stats"] = _player_stats(gid, players, goals, shots, t["fact_faceoffs"], shift_players,
                                                attempts, first, ev, position)
    t["fact_team_game_stats"] = _team_stats(gid, sched, team_of, goals, shots, t["fact_faceoffs"],
                                            t["fact_penalties"], ev, attempts)
    t["fact_goalie_game_stats"] = _goalie_stats(gid, shots, goals, shift_players, team_of, attempts)
    t["qa_goal_verification"] = _goal_verification(gid, sched, goals)
    t["qa_scorer_verification"] = _scorer_verification(gid, roster, goals)

    periods = int(first.loc[~first["event_type"].str.lower().isin(["gamestart", "gameend"]).fillna(False),
                            "period"].nunique())
    link = float(players["player_id"].notna().mean()) if len(players) else 0.0
    status, reason = "COMPLETE", "all regulation periods tracked"
    if periods < 3:
        status, reason = "PARTIAL", f"only {periods} of 3 periods tracked"
    if game.note:
        issues.add(game.relpath, game.note, "workbook used")
    result.status = status
    result.completeness = _completeness(
        game, status, reason, periods_tracked=periods, event_count=len(first),
        player_link_rate=round(link, 4), home_away_swapped=swapped)
    result.codes = {
        "dim_event_type": set(events["event_type_id"].dropna()),
        "dim_event_detail": set(events["event_detail_id"].dropna()) | set(ev["event_detail"].dropna()),
        "dim_event_detail_2": set(events["event_detail_2_id"].dropna()) | set(ev["event_detail_2"].dropna()),
        "dim_play_detail": set(event_players["play_detail1_id"].dropna())
        | set(event_players["play_detail2_id"].dropna()),
        "dim_shift_start_type": set(shifts["shift_start_type_id"].dropna()),
        "dim_shift_stop_type": set(shifts["shift_stop_type_id"].dropna()),
        "dim_strength": set(shifts["strength_id"].dropna()) | set(events["strength_id"].dropna()),
    }
    return result


def _shifts(gid, sh, venue_map, team_of, lookup, game, issues):
    shift_id = "SH" + str(gid) + sh["shift_index"].astype("int64").map("{:05d}".format)
    venues = {}
    for wb_venue in ("home", "away"):
        venues[venue_map[wb_venue]] = wb_venue  # schedule venue -> workbook venue prefix
    skaters = {}
    goalie = {}
    parts = []
    for venue in ("home", "away"):
        prefix = venues[venue]
        team = team_of[venue]
        skater_cols = [f"{prefix}_{s}" for s in SLOTS if s != "goalie"]
        skaters[venue] = sh[skater_cols].notna().sum(axis=1)
        gj = sh[f"{prefix}_goalie"]
        goalie[venue] = pd.Series([lookup.get((team, j)) for j in gj], index=sh.index, dtype="object")
        for slot in SLOTS:
            col = sh[f"{prefix}_{slot}"]
            present = col.notna()
            if not present.any():
                continue
            part = pd.DataFrame({
                "shift_player_id": shift_id[present] + "_" + venue[0] + slot,
                "shift_id": shift_id[present], "game_id": gid, "team_id": team, "venue": venue, "slot": slot,
                "jersey": col[present], "is_goalie": slot == "goalie",
                "duration_seconds": sh.loc[present, "duration"],
                "order": sh.loc[present, "shift_index"], "source_row": sh.loc[present, "source_row"],
            })
            parts.append(part)
    sp = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["shift_player_id", "shift_id", "game_id", "team_id", "venue", "slot", "jersey", "is_goalie",
                 "duration_seconds", "order", "source_row"])
    sp["player_id"] = [lookup.get(k) for k in zip(sp["team_id"], sp["jersey"], strict=True)]
    unlinked = sp["player_id"].isna()
    if unlinked.any():
        issues.add_cells(game.relpath, "shifts", "jersey", sp.loc[unlinked, "source_row"],
                         "jersey is not on the official game roster for that team", "player left unlinked")
    slot_order = {s: i for i, s in enumerate(SLOTS)}
    sp = sp.assign(_v=sp["venue"].map({"home": 0, "away": 1}), _s=sp["slot"].map(slot_order))
    sp = sp.sort_values(["order", "_v", "_s"]).drop(columns=["order", "_v", "_s", "source_row"])
    shifts = pd.DataFrame({
        "shift_id": shift_id, "game_id": gid, "shift_index": sh["shift_index"].astype("int64"),
        "period": sh["period"], "start_clock_seconds": sh["start_clock"], "end_clock_seconds": sh["end_clock"],
        "start_elapsed_seconds": sh["start_elapsed"], "end_elapsed_seconds": sh["end_elapsed"],
        "duration_seconds": sh["duration"], "shift_start_type_id": sh["start_type"],
        "shift_stop_type_id": sh["stop_type"], "home_skaters": skaters["home"], "away_skaters": skaters["away"],
        "strength_id": skaters["home"].astype(str) + "v" + skaters["away"].astype(str),
        "home_goalie_player_id": goalie["home"], "away_goalie_player_id": goalie["away"],
        "source_row": sh["source_row"],
    })
    return shifts, sp


def _match_shift(first: pd.DataFrame, shifts: pd.DataFrame) -> pd.Series:
    """Shift id per event: the shift with start < t <= end (an event at a change belongs to the ending shift)."""
    out = pd.Series(pd.NA, index=first.index, dtype="object")
    if shifts.empty:
        return out
    ev = first[["elapsed"]].dropna().astype("float64")
    if ev.empty:
        return out
    ev = ev.assign(key=ev["elapsed"] - 0.5, idx=ev.index).sort_values("key")
    sh = shifts[["shift_id", "start_elapsed_seconds", "end_elapsed_seconds"]].dropna()
    sh = sh.astype({"start_elapsed_seconds": "float64", "end_elapsed_seconds": "float64"})
    sh = sh.sort_values("start_elapsed_seconds")
    # the period's opening faceoff happens at a shift's start: match it forward instead
    m = pd.merge_asof(ev, sh, left_on="key", right_on="start_elapsed_seconds", direction="backward")
    inside = m["key"] <= m["end_elapsed_seconds"]
    m2 = pd.merge_asof(ev.assign(key=ev["elapsed"] + 0.5).sort_values("key"), sh, left_on="key",
                       right_on="start_elapsed_seconds", direction="backward").set_index("idx")
    chosen = m.set_index("idx")["shift_id"].where(inside.to_numpy())
    fallback = m2["shift_id"].where(m2["key"] <= m2["end_elapsed_seconds"])
    chosen = chosen.fillna(fallback.reindex(chosen.index))
    out.loc[chosen.index] = chosen
    return out


def _role1(players: pd.DataFrame, side: str) -> pd.DataFrame:
    p = players[(players["side"] == side) & (players["role_number"] == 1)]
    return p.drop_duplicates("event_index").set_index("event_index")


def _goals(gid, first, goal_rows, players, ev, sk, team_of):
    cols = ["goal_id", "event_id", "game_id", "period", "clock_seconds", "elapsed_seconds", "team_id", "venue",
            "opp_team_id", "scorer_player_id", "scorer_jersey", "primary_assist_player_id",
            "secondary_assist_player_id", "goalie_player_id", "event_detail_2_id", "strength_id"]
    if goal_rows.empty:
        return pd.DataFrame(columns=cols)
    g = first.loc[sorted(set(goal_rows["event_index"]))]
    goal_players = players[players["event_index"].isin(g.index)]
    scorer = _role1(goal_players, "event")
    opp1 = _role1(goal_players, "opp")
    eid = _event_id(gid, g.index.to_series())
    goalie_shift = pd.Series(
        np.where(g["venue_ev"] == "home", g["shift_id"].map(sk["away_goalie_player_id"]),
                 g["shift_id"].map(sk["home_goalie_player_id"])), index=g.index)
    goalie = goalie_shift.where(goalie_shift.notna(), opp1["player_id"].reindex(g.index))
    prim, sec = _assists(g, ev, players)
    return pd.DataFrame({
        "goal_id": eid, "event_id": eid, "game_id": gid, "period": g["period"],
        "clock_seconds": g["clock_seconds"], "elapsed_seconds": g["elapsed"], "team_id": g["team_id"],
        "venue": g["venue_ev"], "opp_team_id": g["opp_team_id"],
        "scorer_player_id": scorer["player_id"].reindex(g.index), "scorer_jersey": scorer["jersey"].reindex(g.index),
        "primary_assist_player_id": prim, "secondary_assist_player_id": sec, "goalie_player_id": goalie,
        "event_detail_2_id": g["event_detail_2"], "strength_id": g["strength_id"],
    }).reset_index(drop=True)


def _assists(g: pd.DataFrame, ev: pd.DataFrame, players: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Assisters: event team player 1 of own events since the last faceoff, tagged AssistPrimary/Secondary."""
    prim = pd.Series(pd.NA, index=g.index, dtype="object")
    sec = prim.copy()
    details = (players["play_detail1"].fillna("") + " " + players["play_detail2"].fillna("")).str.lower()
    tagged = players[(players["side"] == "event") & (players["role_number"] == 1)
                     & details.str.contains("assist", regex=False)]
    if tagged.empty:
        return prim, sec
    tagged_details = details[tagged.index]
    faceoffs = sorted(ev.loc[ev["type_key"] == "faceoff", "event_index"].unique())
    for idx, goal in g.iterrows():
        start = max([f for f in faceoffs if f < idx], default=-1)
        window = tagged[(tagged["event_index"] > start) & (tagged["event_index"] <= idx)
                        & (tagged["venue"] == goal["venue_ev"])]
        for row_idx, row in window.iterrows():
            text = tagged_details[row_idx].replace("_", "")
            if ASSIST_PRIMARY in text:
                prim[idx] = row["player_id"]
            elif ASSIST_SECONDARY in text:
                sec[idx] = row["player_id"]
    return prim, sec


def _shots(gid, ev, first, players, sk):
    cols = ["shot_id", "event_id", "game_id", "period", "elapsed_seconds", "team_id", "venue", "player_id",
            "event_detail_id", "event_detail_2_id", "is_on_goal", "is_goal", "is_blocked", "is_missed",
            "goalie_player_id", "strength_id"]
    rows = ev[ev["type_key"] == "shot"]
    if rows.empty:
        return pd.DataFrame(columns=cols)
    s = rows.groupby("event_index").first()
    f = first.loc[s.index]
    shooter = _role1(players[players["event_index"].isin(s.index)], "event")
    detail = s["detail_key"].fillna("")
    is_goal = detail.str.contains("goal", regex=False)
    on_goal = is_goal | detail.str.contains("onnet", regex=False)
    blocked = detail.str.contains("blocked", regex=False)
    missed = detail.str.contains("missed", regex=False)
    eid = _event_id(gid, s.index.to_series())
    goalie = np.where(f["venue_ev"] == "home", f["shift_id"].map(sk["away_goalie_player_id"]),
                      f["shift_id"].map(sk["home_goalie_player_id"]))
    return pd.DataFrame({
        "shot_id": eid, "event_id": eid, "game_id": gid, "period": f["period"], "elapsed_seconds": f["elapsed"],
        "team_id": f["team_id"], "venue": f["venue_ev"], "player_id": shooter["player_id"].reindex(s.index),
        "event_detail_id": s["event_detail"], "event_detail_2_id": s["event_detail_2"], "is_on_goal": on_goal,
        "is_goal": is_goal, "is_blocked": blocked, "is_missed": missed, "goalie_player_id": goalie,
        "strength_id": f["strength_id"],
    }).reset_index(drop=True)


def _typed_events(ev: pd.DataFrame, type_key: str) -> pd.Index:
    return pd.Index(sorted(ev.loc[ev["type_key"] == type_key, "event_index"].unique()))


def _faceoffs(gid, ev, first, players):
    idx = _typed_events(ev, "faceoff")
    f = first.loc[idx]
    win, lose = _role1(players, "event"), _role1(players, "opp")
    eid = _event_id(gid, idx.to_series())
    return pd.DataFrame({
        "faceoff_id": eid, "event_id": eid, "game_id": gid, "period": f["period"], "elapsed_seconds": f["elapsed"],
        "zone_id": f["zone"], "event_detail_id": f["event_detail"], "winner_team_id": f["team_id"],
        "winner_player_id": win["player_id"].reindex(idx), "loser_team_id": f["opp_team_id"],
        "loser_player_id": lose["player_id"].reindex(idx),
    }).reset_index(drop=True)


def _penalties(gid, ev, first, players):
    idx = _typed_events(ev, "penalty")
    f = first.loc[idx]
    taker = _role1(players, "event")
    eid = _event_id(gid, idx.to_series())
    return pd.DataFrame({
        "penalty_id": eid, "event_id": eid, "game_id": gid, "period": f["period"], "elapsed_seconds": f["elapsed"],
        "team_id": f["team_id"], "player_id": taker["player_id"].reindex(idx),
        "event_detail_id": f["event_detail"], "event_detail_2_id": f["event_detail_2"],
    }).reset_index(drop=True)


def _attempts(gid: int, first: pd.DataFrame, shots: pd.DataFrame, goals: pd.DataFrame) -> pd.DataFrame:
    """Shot attempts for Corsi and goalie stats: shots, plus goals tracked without a shot event."""
    a = pd.DataFrame({"event_id": shots["event_id"], "team_id": shots["team_id"], "venue": shots["venue"],
                      "on_goal": shots["is_on_goal"].astype(bool), "goal": shots["is_goal"].astype(bool)})
    idx_of = {e: int(e[-5:]) for e in shots["event_id"]}
    covered = {(t, idx_of[e]) for e, t, g in zip(shots["event_id"], shots["team_id"], shots["is_goal"],
                                                  strict=True) if g}
    extra = []
    for e, t, v in zip(goals["event_id"], goals["team_id"], goals["venue"], strict=True):
        i = int(e[-5:])
        if not any((t, i - k) in covered for k in range(0, 4)):
            extra.append({"event_id": e, "team_id": t, "venue": v, "on_goal": True, "goal": True})
    if extra:
        a = pd.concat([a, pd.DataFrame(extra)], ignore_index=True)
    shift_of = dict(zip(_event_id(gid, first.index.to_series()), first["shift_id"], strict=True))
    a["shift_id"] = a["event_id"].map(shift_of)
    return a


def _player_stats(gid, players, goals, shots, faceoffs, shift_players, attempts, first, ev, position):
    sp = shift_players
    keycols = ["team_id", "player_id", "jersey"]
    base = pd.concat([players[keycols + ["venue"]], sp[keycols + ["venue"]]], ignore_index=True)
    base = base.dropna(subset=["team_id"]).drop_duplicates(["team_id", "player_id", "jersey"])
    base = base[base["player_id"].notna() | base["jersey"].notna()]
    base["pkey"] = base["player_id"].fillna("J" + base["jersey"].fillna(""))
    base = base.drop_duplicates(["team_id", "pkey"])

    def count(series: pd.Series) -> pd.Series:
        return series.dropna().value_counts()

    def tkey(team: pd.Series, player: pd.Series) -> pd.Series:
        return team.astype("string") + "|" + player.astype("string")

    stat = pd.DataFrame(index=tkey(base["team_id"], base["pkey"]))
    stat["goals"] = count(tkey(goals["team_id"], goals["scorer_player_id"]))
    stat["assists"] = count(tkey(goals["team_id"], goals["primary_assist_player_id"])).add(
        count(tkey(goals["team_id"], goals["secondary_assist_player_id"])), fill_value=0)
    stat["shots"] = count(tkey(shots["team_id"], shots["player_id"]))
    stat["shots_on_goal"] = count(tkey(shots.loc[shots["is_on_goal"].astype(bool), "team_id"],
                                       shots.loc[shots["is_on_goal"].astype(bool), "player_id"]))
    stat["faceoffs_won"] = count(tkey(faceoffs["winner_team_id"], faceoffs["winner_player_id"]))
    stat["faceoffs_lost"] = count(tkey(faceoffs["loser_team_id"], faceoffs["loser_player_id"]))
    primary = players[(players["side"] == "event") & (players["role_number"] == 1)]
    detail = ev.set_index("source_row")["detail_key"]
    pdetail = primary["source_row"].map(detail).fillna("")
    pkey = tkey(primary["team_id"], primary["player_id"])
    stat["giveaways"] = count(pkey[pdetail.str.contains("giveaway", regex=False)])
    stat["takeaways"] = count(pkey[pdetail.str.contains("takeaway", regex=False)])
    sp_key = tkey(sp["team_id"], sp["player_id"].fillna("J" + sp["jersey"].fillna("")))
    stat["toi_seconds"] = sp["duration_seconds"].groupby(sp_key.to_numpy()).sum()
    stat["shift_count"] = sp_key.value_counts()

    skaters = sp[~sp["is_goalie"].astype(bool)].assign(k=sp_key)
    on_ice = attempts.merge(skaters[["shift_id", "team_id", "k"]], on="shift_id", suffixes=("_shot", ""))
    same = on_ice["team_id_shot"] == on_ice["team_id"]
    stat["corsi_for"] = on_ice.loc[same, "k"].value_counts()
    stat["corsi_against"] = on_ice.loc[~same, "k"].value_counts()
    gshift = goals.assign(shift_id=goals["event_id"].map(
        dict(zip(_event_id(gid, first.index.to_series()), first["shift_id"], strict=True))))
    own_sk = goals["event_id"].map(dict(zip(_event_id(gid, first.index.to_series()), first["own_skaters"],
                                            strict=True)))
    opp_sk = goals["event_id"].map(dict(zip(_event_id(gid, first.index.to_series()), first["opp_skaters"],
                                            strict=True)))
    even_or_sh = ~(pd.to_numeric(own_sk, errors="coerce") > pd.to_numeric(opp_sk, errors="coerce"))
    pm = gshift[even_or_sh.to_numpy()].merge(skaters[["shift_id", "team_id", "k"]], on="shift_id",
                                             suffixes=("_goal", ""))
    sign = np.where(pm["team_id_goal"] == pm["team_id"], 1, -1)
    stat["plus_minus"] = pd.Series(sign, index=pm.index).groupby(pm["k"].to_numpy()).sum()
    stat = stat.fillna(0).astype("int64")
    b = base.set_index(tkey(base["team_id"], base["pkey"]))
    out = pd.DataFrame({
        "player_game_id": str(gid) + b["team_id"] + b["pkey"], "game_id": gid, "player_id": b["player_id"],
        "team_id": b["team_id"], "venue": b["venue"], "jersey": b["jersey"],
        "player_position": b["player_id"].map(position),
    })
    for col in stat.columns:
        out[col] = stat[col]
    out["points"] = out["goals"] + out["assists"]
    return out.sort_values(["venue", "team_id", "player_game_id"]).reset_index(drop=True)


def _team_stats(gid, sched, team_of, goals, shots, faceoffs, penalties, ev, attempts):
    rows = []
    primary_detail = ev.groupby("event_index").first()
    for venue in ("home", "away"):
        team = team_of[venue]
        opp = team_of[OTHER[venue]]
        give = primary_detail[(primary_detail["venue_ev"] == venue)
                              & primary_detail["detail_key"].fillna("").str.contains("giveaway")]
        take = primary_detail[(primary_detail["venue_ev"] == venue)
                              & primary_detail["detail_key"].fillna("").str.contains("takeaway")]
        rows.append({
            "team_game_id": f"{gid}{team}", "game_id": gid, "team_id": team, "opp_team_id": opp, "venue": venue,
            "goals": int((goals["team_id"] == team).sum()), "official_goals": sched[f"{venue}_total_goals"],
            "shots": int((shots["team_id"] == team).sum()),
            "shots_on_goal": int(((shots["team_id"] == team) & shots["is_on_goal"].astype(bool)).sum()),
            "faceoffs_won": int((faceoffs["winner_team_id"] == team).sum()),
            "faceoffs_lost": int((faceoffs["loser_team_id"] == team).sum()),
            "giveaways": len(give), "takeaways": len(take),
            "penalties": int((penalties["team_id"] == team).sum()),
            "corsi_for": int((attempts["team_id"] == team).sum()),
            "corsi_against": int((attempts["team_id"] == opp).sum()),
        })
    return pd.DataFrame(rows)


def _goalie_stats(gid, shots, goals, shift_players, team_of, attempts):
    cols = ["goalie_game_id", "game_id", "team_id", "player_id", "jersey", "shots_against", "saves",
            "goals_against", "save_pct", "toi_seconds"]
    g = shift_players[shift_players["is_goalie"].astype(bool)]
    if g.empty:
        return pd.DataFrame(columns=cols)
    g = g.assign(k=g["player_id"].fillna("J" + g["jersey"].fillna("")))
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
    return toi[cols]


def _goal_verification(gid, sched, goals):
    rows = []
    for venue in ("home", "away"):
        team = sched[f"{venue}_team_id"]
        official = sched[f"{venue}_total_goals"]
        tracked = int((goals["team_id"] == team).sum())
        rows.append({"game_id": gid, "team_id": team, "venue": venue, "official_goals": official,
                     "tracked_goals": tracked, "match": (None if pd.isna(official) else int(official) == tracked)})
    return pd.DataFrame(rows)


def _scorer_verification(gid, roster, goals):
    off = roster.assign(pkey=roster["player_id"].fillna("J" + roster["jersey"].fillna("")))
    off = off.groupby(["team_id", "pkey"], sort=True).agg(
        player_id=("player_id", "first"), jersey=("jersey", "first"), official_goals=("goals", "sum"),
        official_assists=("assists", "sum"))
    tg = goals.assign(pkey=goals["scorer_player_id"].fillna("J" + goals["scorer_jersey"].fillna("")))
    tracked_goals = tg.groupby(["team_id", "pkey"]).size()
    a = pd.concat([goals[["team_id", "primary_assist_player_id"]].set_axis(["team_id", "pkey"], axis=1),
                   goals[["team_id", "secondary_assist_player_id"]].set_axis(["team_id", "pkey"], axis=1)])
    tracked_assists = a.dropna().groupby(["team_id", "pkey"]).size()
    idx = off.index.union(tracked_goals.index).union(tracked_assists.index)
    out = off.reindex(idx)
    out["tracked_goals"] = tracked_goals.reindex(idx).fillna(0).astype(int)
    out["tracked_assists"] = tracked_assists.reindex(idx).fillna(0).astype(int)
    out = out.reset_index()
    out["player_id"] = out["player_id"].where(out["player_id"].notna(),
                                              out["pkey"].where(~out["pkey"].str.startswith("J")))
    out["official_goals"] = out["official_goals"].fillna(0).astype(int)
    out["official_assists"] = out["official_assists"].fillna(0).astype(int)
    out["goals_match"] = out["official_goals"] == out["tracked_goals"]
    out["assists_match"] = out["official_assists"] == out["tracked_assists"]
    out["qa_scorer_id"] = str(gid) + out["team_id"] + out["pkey"]
    out["game_id"] = gid
    return out.drop(columns=["pkey"])


def read_error_result(game: GameFile, error: InputError) -> GameResult:
    """An unreadable or malformed workbook: INVALID with the located reason."""
    return unusable(game, "INVALID", str(error))
