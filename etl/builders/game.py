"""Per-game builder: one tracked game's sheets -> every game-grain table for that game.

Completeness is judged per period from both sheets (``coverage``): a period is tracked in the
events sheet with at least MIN_PERIOD_EVENTS events, in the shifts sheet when its shifts cover at
least MIN_PERIOD_SHIFT_SHARE of the period. COMPLETE: both sheets cover every regulation period;
PARTIAL: the reason names the periods each sheet lacks, and per-game figures cover only the
periods both sheets track (``periods_covered``); TEMPLATE: a sheet copied from another game (the
game is left out); INVALID: unreadable or not scheduled; NO_WORKBOOK: a game folder without a
tracking workbook (``no_workbook``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..analytics import build_analytics
from ..catalog import get_table
from ..errors import InputError
from ..excel_source import GameFile, GameFolder
from ..issues import IssueLog
from . import stats
from .master import OT_SECONDS, PERIOD_SECONDS, REGULATION_PERIODS, League
from .players import Resolver
from .tracking import SLOTS, normalize_events, normalize_shifts, period_key, running_video_time
from .video import schedule_video, video_table
from .xy import xy_tables

GOAL_TYPES = {"goal"}
OTHER = {"home": "away", "away": "home"}
# A period counts as tracked in the events sheet with at least this many events (a tracked period has
# hundreds; an Intermission or a stray row must not make a period look tracked).
MIN_PERIOD_EVENTS = 10
# A period counts as tracked in the shifts sheet when its shifts add up to at least this share of it.
MIN_PERIOD_SHIFT_SHARE = 0.5
# A sheet whose jerseys are mostly (below this share) on neither team's roster of this game belongs to
# another game.
FOREIGN_JERSEY_SHARE = 0.5
# Fewest jerseys to judge a sheet by them: events rows (many) and shifts jerseys (a one-row leftover of a
# template already has 12).
MIN_EVENT_JERSEYS = 20
MIN_SHIFT_JERSEYS = 6
NOT_EVENTS = ("gamestart", "gameend", "intermission")
# Home/away by roster evidence: the jerseys must clearly point one way, in at least this many player rows and
# by this factor over the other reading (the real workbooks, swapped or not, are far beyond both).
VENUE_MIN_EVIDENCE_ROWS = 10
VENUE_EVIDENCE_FACTOR = 1.5
# A workbook copied from another game: fewer than this share of its jerseys on this game's rosters (judged on
# at least MIN_EVENT_JERSEYS rows).
COPIED_ROSTER_SHARE = 0.5
# Event-to-shift matching looks half a second either side of an event's time (times are whole seconds).
SHIFT_MATCH_TOLERANCE = 0.5


@dataclass
class GameResult:
    """Everything one game contributes: tables, its completeness row and vocabulary codes seen.

    ``kind`` and ``sheet`` locate the reason of a game left out (for its qa_data_issues row).
    """

    game_id: int
    status: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    completeness: dict = field(default_factory=dict)
    codes: dict[str, set[str]] = field(default_factory=dict)
    kind: str = ""
    sheet: str | None = None
    # figures of this game that tables of other grains read (see ``game_summary``); empty when unusable
    summary: dict = field(default_factory=dict)

    @property
    def usable(self) -> bool:
        return self.status in ("COMPLETE", "PARTIAL")


def _completeness(game_id: int, file: str, status: str, reason: str, **extra) -> dict:
    row = dict(game_id=game_id, status=status, reason=reason, periods_tracked=None, event_periods=None,
               shift_periods=None, event_count=None, player_link_rate=None, home_away_swapped=None, file=file)
    row.update(extra)
    return row


def unusable(game: GameFile, status: str, reason: str, kind: str = "template_sheet",
             sheet: str | None = None) -> GameResult:
    """A game left out of the facts (template, invalid, unreadable)."""
    return GameResult(game.game_id, status, completeness=_completeness(game.game_id, game.relpath, status, reason),
                      kind=kind, sheet=sheet)


def no_workbook(folder: GameFolder, league: League) -> tuple[dict, IssueLog]:
    """qa_game_completeness row (NO_WORKBOOK) and its qa_data_issues row for a folder without a workbook."""
    shown = ", ".join(folder.contents[:6]) + (", ..." if len(folder.contents) > 6 else "")
    holds = f"it holds only {shown}" if folder.contents else "it is empty"
    scheduled = "" if league.game(folder.game_id) is not None else "; the game is not in the schedule either"
    reason = (f"the folder has no tracking workbook ({folder.game_id}_tracking.xlsx); {holds} "
              f"(older exports are not read){scheduled}")
    issues = IssueLog(folder.game_id)
    issues.add(folder.relpath, reason, "game not loaded: put the game's tracking workbook in the folder",
               kind="no_workbook")
    return _completeness(folder.game_id, folder.relpath, "NO_WORKBOOK", reason), issues


def _event_id(game_id: int, idx: pd.Series) -> pd.Series:
    return "EV" + str(game_id) + idx.astype("int64").map("{:05d}".format).astype("string")


def _flag(mask: pd.Series) -> pd.Series:
    return mask.fillna(False).astype(bool)


def _team_names(sched: pd.Series) -> dict[str, str]:
    return {sched["home_team_id"]: str(sched["home_team_name"]), sched["away_team_id"]: str(sched["away_team_name"])}


def _foreign_shifts(sh: pd.DataFrame, gid: int, roster: pd.DataFrame) -> str:
    """Why the shifts sheet looks copied from another game ('' when it belongs to this one)."""
    wb_game = sh["wb_game_id"].dropna()
    if len(wb_game) and int(wb_game.mode().iloc[0]) != gid:
        return (f"the shifts sheet's game_id column says {int(wb_game.mode().iloc[0])}, not {gid}: it was copied "
                "from another game's workbook")
    jerseys = pd.concat([sh[f"{v}_{s}"] for v in ("home", "away") for s in SLOTS]).dropna() \
        if len(sh) else pd.Series(dtype="string")
    if len(jerseys) < MIN_SHIFT_JERSEYS or roster.empty:
        return ""
    rate = float(jerseys.isin(set(roster["jersey"].dropna())).mean())
    if rate >= FOREIGN_JERSEY_SHARE:
        return ""
    covered = int(sh["duration"].fillna(0).sum())
    expected = REGULATION_PERIODS * PERIOD_SECONDS
    return (f"only {rate:.0%} of the shifts sheet's jerseys are on this game's rosters and its {len(sh)} shift "
            f"row(s) cover {covered} of {expected} s: it looks like a leftover of another game's workbook")


def coverage(ev: pd.DataFrame, sh: pd.DataFrame) -> tuple[set[int], set[int]]:
    """Periods tracked in the events sheet and in the shifts sheet (see the module docstring)."""
    real = ev[ev["type_key"].notna() & ~ev["type_key"].isin(NOT_EVENTS)]
    per_period = real.groupby("period")["event_index"].nunique()
    ev_periods = {int(p) for p, n in per_period.items() if n >= MIN_PERIOD_EVENTS}
    sh_periods = set()
    for p, seconds in sh.groupby("period")["duration"].sum().items():
        length = OT_SECONDS if p > REGULATION_PERIODS else PERIOD_SECONDS
        if seconds >= MIN_PERIOD_SHIFT_SHARE * length:
            sh_periods.add(int(p))
    return ev_periods, sh_periods


def _status(ev_periods: set[int], sh_periods: set[int], window: stats.Window) -> tuple[str, str, list[tuple]]:
    """Status, reason and the (sheet, periods lacking) pairs of a usable game."""
    expected = set(range(1, REGULATION_PERIODS + 1))
    lacking = [(sheet, sorted(expected - got)) for sheet, got in (("events", ev_periods), ("shifts", sh_periods))
               if expected - got]
    if not lacking:
        return "COMPLETE", "all regulation periods tracked in the events and the shifts sheet", []
    parts = [f"the {sheet} sheet lacks period{'s' if len(p) > 1 else ''} {', '.join(map(str, p))}"
             for sheet, p in lacking]
    return "PARTIAL", "; ".join(parts) + f"; per-game figures cover {window.label or 'no period'}", lacking


def build_game(game: GameFile, frames: dict[str, pd.DataFrame], league: League, issues: IssueLog) -> GameResult:
    """Build every game-grain table for one game, or an unusable result with the reason."""
    gid = game.game_id
    sched = league.game(gid)
    if sched is None:
        return unusable(game, "INVALID", f"game {gid} is not in the master schedule (dim_schedule)",
                        kind="game_not_scheduled")
    ev = normalize_events(frames["events"], game.relpath, issues)
    wb_game = ev["wb_game_id"].dropna()
    if len(wb_game) and int(wb_game.mode().iloc[0]) != gid:
        other = int(wb_game.mode().iloc[0])
        return unusable(game, "TEMPLATE", f"the workbook's game_id column says {other}, not {gid}: "
                        "it was copied from another game's workbook", sheet="events")
    typed = ev[ev["event_type"].notna()]
    if typed[~typed["type_key"].isin(["gamestart", "gameend"])].empty:
        return unusable(game, "TEMPLATE", "the events sheet has no tracked events (an empty template)",
                        kind="empty_workbook", sheet="events")
    roster = league.game_roster(gid)
    foreign = _foreign_workbook(ev, sched, roster)
    if foreign:
        return unusable(game, "TEMPLATE", foreign, sheet="events")
    sh = normalize_shifts(frames["shifts"], game.relpath, issues, PERIOD_SECONDS)
    foreign = _foreign_shifts(sh, gid, roster)
    if foreign:
        return unusable(game, "TEMPLATE", foreign, sheet="shifts")
    swapped, how = _detect_swap(ev, sched, roster)
    if swapped:
        issues.add(game.relpath, f"home and away are swapped against the schedule (detected by {how})",
                   "teams taken from the schedule", kind="venue_swapped", sheet="events")
    if game.note:
        issues.add(game.relpath, game.note, "workbook used", kind="odd_file_name")
    venue_map = {"home": "away", "away": "home"} if swapped else {"home": "home", "away": "away"}
    team_of = {"home": sched["home_team_id"], "away": sched["away_team_id"]}
    team_venue = {team: venue for venue, team in team_of.items()}
    resolver = Resolver(roster, _team_names(sched))

    first, goal_events = _event_frame(ev, venue_map, team_of, game, issues)
    players = _event_players(gid, ev, first, resolver, team_venue, game, issues)
    r1 = {side: stats.role1(players, side) for side in ("event", "opp")}  # player 1 of each side, per event
    first["player_id"] = r1["event"]["player_id"].reindex(first.index)
    first["player_count"] = players.groupby("event_index").size().reindex(first.index).fillna(0).astype(int)

    shifts, sp = _shifts(gid, sh, sched, venue_map, team_of, team_venue, resolver, game, issues)
    _on_ice(first, shifts)
    blocker = stats.blockers(players, first)
    prim, sec = stats.assists(first.loc[goal_events], players, first)

    ev_periods, sh_periods = coverage(ev, sh)
    both = ev_periods & sh_periods
    window_events = both or ev_periods
    window = stats.Window(frozenset(window_events), frozenset(window_events & sh_periods))
    status, reason, lacking = _status(ev_periods, sh_periods, window)
    for sheet, periods in lacking:
        issues.add(game.relpath, f"the {sheet} sheet lacks period{'s' if len(periods) > 1 else ''} "
                   f"{', '.join(map(str, periods))}", f"per-game figures limited to periods {window.label or 'none'}",
                   kind="partial_game", sheet=sheet, column="period" if sheet == "events" else "Period")

    result = GameResult(gid, status)
    t = result.tables
    names = league.players.set_index("player_id")["player_full_name"]
    t["fact_events"] = _events_table(gid, first, sched, names, players)
    t["fact_event_players"] = _event_players_table(gid, players)
    attempts = _attempts(first)
    t["fact_shifts"] = _shift_events(shifts, first, attempts, team_of)
    t["fact_shift_players"] = sp[_SHIFT_PLAYER_COLUMNS]
    t["fact_goals"] = _goals(gid, first, goal_events, r1, players, prim, sec)
    t["fact_shots"] = _shots(gid, first, r1, players, blocker)
    t["fact_faceoffs"] = _faceoffs(gid, first, r1)
    t["fact_penalties"] = _penalties(gid, first, r1)
    in_window = attempts[attempts["period"].isin(window.events)]
    credits = stats.credit_rows(players, first, goal_events)
    credits["assists"] = list(prim.dropna()) + list(sec.dropna())
    credits["primary_assists"] = list(prim.dropna())
    credits["secondary_assists"] = list(sec.dropna())
    credits["blocks"] = list(blocker)
    shown = stats.display(gid, sched)
    shown.update(home_team_id=sched["home_team_id"], away_team_id=sched["away_team_id"])
    team_names = _team_names(sched)
    t["fact_player_game_stats"] = stats.player_stats(gid, players, sp, first, credits, in_window, roster,
                                                     team_venue, window, names, team_names, shown)
    official = {v: league.official_goals(gid, v, set(window.events)) for v in ("home", "away")}
    t["fact_team_game_stats"] = stats.team_stats(gid, sched, team_of, first, attempts, official, window,
                                                 t["fact_player_game_stats"])
    t["fact_goalie_game_stats"] = stats.goalie_stats(gid, sp, in_window, window, names, team_names, team_venue,
                                                     shown)
    t["qa_goal_verification"] = _goal_verification(gid, league, team_of, first, ev_periods, status, game, issues)
    t["qa_scorer_verification"] = stats.scorer_verification(gid, t["fact_player_game_stats"])
    t["fact_video"] = video_table(gid, frames.get("video"), sched["season_id"])
    t.update(xy_tables(gid, frames.get("xy", {}), first, _event_id(gid, first.index.to_series()), t["fact_shots"],
                       t["fact_event_players"], names))
    t["fact_events"] = _puck_start(t["fact_events"], t["fact_puck_xy_long"])
    t.update(build_analytics(gid, t, sched, league.players, game.relpath, issues, roster=league.game_roster(gid)))

    link = float(players["player_id"].notna().mean()) if len(players) else 0.0
    result.completeness = _completeness(
        gid, game.relpath, status, reason, periods_tracked=len(both), event_periods=stats.periods_text(ev_periods),
        shift_periods=stats.periods_text(sh_periods), event_count=len(first), player_link_rate=round(link, 4),
        home_away_swapped=swapped)
    result.codes = _codes(t, ev)
    result.summary = game_summary(status, first, team_of, t["fact_player_game_stats"], frames.get("video"))
    return result


def game_summary(status: str, first: pd.DataFrame, team_of: dict[str, str], pstats: pd.DataFrame,
                 video: pd.DataFrame | None) -> dict:
    """What one tracked game gives tables of other grains (plain JSON, kept in the manifest per game):

    - ``schedule``: dim_schedule's power-play and video columns (etl.builders.master.with_game_figures).
      Power-play figures only for a COMPLETE game (a partial game's counts would understate the game): PP goals
      = goals of a team while it had more skaters than the opponent (the goal's strength, e.g. 5v4), PP
      opportunities = the opponent's tracked penalties; PK columns are the other side's PP figures.
    - ``players``: per linked player [corsi_for, corsi_against, goals, sog] of fact_player_game_stats, for the
      season table's cf_pct and shooting_pct.
    """
    sched = schedule_video(video)
    if status == "COMPLETE":
        goals = first[first["is_goal"]]
        gap = (pd.to_numeric(goals["own_skaters"], errors="coerce")
               - pd.to_numeric(goals["opp_skaters"], errors="coerce"))
        penalties = first[first["is_penalty"]]
        for venue, other in (("home", "away"), ("away", "home")):
            pp_goals = int(((goals["team_id"] == team_of[venue]) & (gap > 0)).fillna(False).sum())
            chances = int((penalties["team_id"] == team_of[other]).fillna(False).sum())
            sched[f"{venue}_pp_goals"], sched[f"{other}_pk_goals_against"] = pp_goals, pp_goals
            sched[f"{venue}_pp_opportunities"], sched[f"{other}_pk_opportunities"] = chances, chances
    linked = pstats[pstats["player_id"].notna()]
    figures = linked.groupby("player_id")[["corsi_for", "corsi_against", "goals", "sog"]].sum()
    players = {str(pid): [int(v) for v in row] for pid, row in zip(figures.index, figures.to_numpy().tolist(),
                                                                    strict=True)}
    return {"schedule": sched, "players": players}


def _codes(t: dict[str, pd.DataFrame], ev: pd.DataFrame) -> dict[str, set[str]]:
    events, event_players, shifts = t["fact_events"], t["fact_event_players"], t["fact_shifts"]
    return {
        "dim_event_type": set(events["event_type"].dropna()),
        "dim_event_detail": set(events["event_detail"].dropna()) | set(ev["event_detail"].dropna()),
        "dim_event_detail_2": set(events["event_detail_2"].dropna()) | set(ev["event_detail_2"].dropna()),
        "dim_play_detail": set(event_players["play_detail1"].dropna())
        | set(event_players["play_detail_2"].dropna()),
        "dim_shift_start_type": set(shifts["shift_start_type"].dropna()),
        "dim_shift_stop_type": set(shifts["shift_stop_type"].dropna()),
        "dim_strength": set(shifts["strength_id"].dropna()) | set(events["strength_id"].dropna()),
    }


def _event_frame(ev: pd.DataFrame, venue_map: dict[str, str], team_of: dict[str, str], game: GameFile,
                 issues: IssueLog) -> tuple[pd.DataFrame, pd.Index]:
    """One row per event (by key): its attributes, teams, times; and the goal events' keys."""
    ev["venue_ev"] = ev["wb_venue"].map(venue_map)
    first = ev.groupby("event_index", sort=True).first()
    first["is_highlight"] = ev.groupby("event_index", sort=True)["is_highlight"].max()
    _event_times(first, game, issues)
    goal_rows = ev[_flag(ev["type_key"].isin(GOAL_TYPES) & (ev["detail_key"] == "goal_scored"))]
    goal_events = pd.Index(sorted(set(goal_rows["event_index"])), dtype="int64")
    first["is_goal"] = first.index.isin(goal_events)
    goal_first = goal_rows.groupby("event_index").first()
    for col in ("event_type", "event_detail", "event_detail_2", "type_key", "detail_key"):
        first.loc[goal_first.index, col] = goal_first[col]
    # an event is a shot, faceoff or penalty when any of its rows says so (a goal's rows may start with
    # its shot, a blocked shot's with the possession before it); a shot's details come from its shot row
    for key in ("shot", "faceoff", "penalty"):
        rows = ev[_flag(ev["type_key"] == key)].drop_duplicates("event_index").set_index("event_index")
        first[f"is_{key}"] = first.index.isin(rows.index)
        if key == "shot":
            for col in ("event_detail", "event_detail_2", "detail_key"):
                first[f"shot_{col}"] = rows[col].reindex(first.index)
    first["elapsed"] = (first["period"] - 1) * PERIOD_SECONDS + (PERIOD_SECONDS - first["clock_seconds"])
    first["team_id"] = first["venue_ev"].map(team_of)
    first["opp_team_id"] = first["venue_ev"].map(OTHER).map(team_of)
    return first, goal_events


def _event_players(gid: int, ev: pd.DataFrame, first: pd.DataFrame, resolver: Resolver,
                   team_venue: dict[str, str], game: GameFile, issues: IssueLog) -> pd.DataFrame:
    """The player rows with a side, each credited to a player and team (``players`` module rules).

    A second row with the same role in one event is left out (reported, one issue per row).
    """
    players = ev[_flag(ev["side"].notna())].copy()
    _settle_sides(players, resolver, team_venue, game, issues)
    is_event = _flag(players["side"] == "event").to_numpy()
    players["side_team"] = _side_team(players, "side", team_venue)
    resolver.learn_workbook_ids(players["side_team"], players["jersey"], players["wb_player_id"])
    res = resolver.resolve(players["side_team"], players["jersey"])
    resolver.report(issues, game.relpath, "events", players["source_row"], players["jersey_column"],
                    players["side_team"], players["jersey"], res)
    differ = _flag(players["wb_player_id"].notna() & res["player_id"].notna()
                   & (players["wb_player_id"] != res["player_id"].astype("string")))
    if differ.any():
        issues.add_cells(game.relpath, "events", "player_id", players.loc[differ, "source_row"],
                         "'player_id' disagrees with the game roster for that jersey", "used the roster's player",
                         kind="player_id_conflict")
    players["player_id"] = res["player_id"]
    players["team_id"] = res["team_id"]
    players["venue"] = players["team_id"].map(team_venue)
    code = np.where(is_event, "E", "O")
    players["event_id"] = _event_id(gid, players["event_index"])
    players["event_player_id"] = players["event_id"] + "_" + code + players["role_number"].astype("string")
    dup = players["event_player_id"].duplicated()
    if dup.any():
        issues.add_cells(game.relpath, "events", "player_role", players.loc[dup, "source_row"],
                         "the same role appears twice in one event", "row left out", kind="duplicate_role",
                         uncapped=True)
        players = players[~dup]
    return players


def _side_team(players: pd.DataFrame, side_col: str, team_venue: dict[str, str]) -> pd.Series:
    """Team of each row's side: the event team for 'event', the other team for 'opp'."""
    is_event = _flag(players[side_col] == "event").to_numpy()
    side_venue = np.where(is_event, players["venue_ev"], players["venue_ev"].map(OTHER))
    side_venue = pd.Series(side_venue, index=players.index).where(players[side_col].notna())
    return side_venue.map({v: t for t, v in team_venue.items()})


def _settle_sides(players: pd.DataFrame, resolver: Resolver, team_venue: dict[str, str], game: GameFile,
                  issues: IssueLog) -> None:
    """Where player_role and the tracker input role_abrev_binary_ name different sides, the rosters decide.

    The input wins when the jersey is on its side's roster and not on the formula's side's roster
    (formulas that derive the side from row order go wrong where the tracker typed a row out of
    order); otherwise player_role stands. Each disagreement is reported with the side chosen, and the
    roles of an event with a changed side are renumbered in row order.
    """
    differ = _flag(players["side_derived"].notna() & players["side_input"].notna()
                   & (players["side_derived"] != players["side_input"]))
    if not differ.any():
        return
    rows = players[differ]
    on_derived = [(t, j) in resolver.by_jersey for t, j in
                  zip(_side_team(rows, "side_derived", team_venue), rows["jersey"], strict=True)]
    on_input = [(t, j) in resolver.by_jersey for t, j in
                zip(_side_team(rows, "side_input", team_venue), rows["jersey"], strict=True)]
    use_input = pd.Series([i and not d for d, i in zip(on_derived, on_input, strict=True)], index=rows.index)
    for label in rows.index:
        chosen = "role_abrev_binary_ (the roster has the jersey on that side)" if use_input[label] else "player_role"
        issues.add(game.relpath, "'player_role' disagrees with the tracker input 'role_abrev_binary_' on the side "
                   f"of jersey {rows.at[label, 'jersey']}", f"used {chosen}", kind="derived_input_conflict",
                   sheet="events", row=int(rows.at[label, "source_row"]), column="player_role")
    flipped = use_input[use_input].index
    if len(flipped):
        players.loc[flipped, "side"] = players.loc[flipped, "side_input"]
        events = players["event_index"].isin(players.loc[flipped, "event_index"])
        order = players[events].groupby(["event_index", "side"], sort=False).cumcount() + 1
        players.loc[events, "role_number"] = order.astype("Int64")


def _event_times(first: pd.DataFrame, game: GameFile, issues: IssueLog) -> None:
    """Start and end on the countdown clock (``clock_seconds``, ``end_clock``), duration and video time per event.

    An event typed without an end ends at its start (0 s). An end later on the countdown than the start is typed
    the wrong way round: the two are swapped (as the dashboard's old ETL did) and the event reported.
    """
    start = first["clock_seconds"].astype("Float64")
    end = (first["end_min"] * 60 + first["end_sec"]).astype("Float64")
    inverted = _flag(end > start)
    for label in first.index[inverted.to_numpy()]:
        issues.add(game.relpath, f"event {int(label)} ends at {int(end[label])} s on the countdown clock, after its "
                   f"start ({int(start[label])} s)", "start and end swapped", kind="inverted_event_time",
                   sheet="events", row=int(first.at[label, "source_row"]), column="event_end_min")
    first["clock_seconds"] = start.where(~inverted, end).round().astype("Int64")
    first["end_clock"] = end.where(~inverted, start).fillna(first["clock_seconds"].astype("Float64")).round() \
        .astype("Int64")
    first["duration"] = first["clock_seconds"] - first["end_clock"]
    first["running_video_time"] = running_video_time(first["period"], first["clock_seconds"],
                                                     first["running_video_time"]).astype("Float64")


# Sequences and plays (the contract's sequence_key / play_key, by event type and detail keys): a sequence ends on
# these event types, starts at a faceoff or at the first other event after one of them; a play ends on these
# details (a turnover or a zone entry/exit, failed ones included).
SEQUENCE_END_TYPES = {"stoppage", "goal", "penalty", "gameend", "intermission", "deadice", "timeout", "clockstop"}
NO_SEQUENCE_TYPES = set(NOT_EVENTS)  # never open a sequence
PLAY_END_DETAILS = {"turnover_giveaway", "turnover_takeaway", "zone_entry", "zone_exit", "zone_entryfailed",
                    "zone_exitfailed"}


def _sequences(first: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Sequence number and play number (within its sequence) per event, in sheet order; NA outside a sequence."""
    seq_of, play_of = {}, {}
    sequence, play, open_ = 0, 0, False
    order = first.sort_values(["seq"])
    for label, type_key, detail_key in zip(order.index, order["type_key"], order["detail_key"], strict=True):
        type_key = type_key if isinstance(type_key, str) else ""
        detail_key = detail_key if isinstance(detail_key, str) else ""
        if type_key == "faceoff" or (not open_ and type_key and type_key not in NO_SEQUENCE_TYPES):
            sequence, play, open_ = sequence + 1, 1, True
        if not open_:
            continue
        seq_of[label], play_of[label] = sequence, play
        if type_key in SEQUENCE_END_TYPES:
            open_ = False
        elif detail_key in PLAY_END_DETAILS:
            play += 1
    return (pd.Series(seq_of, dtype="Int64").reindex(first.index),
            pd.Series(play_of, dtype="Int64").reindex(first.index))


def _key(prefix: str, gid: int, number: pd.Series) -> pd.Series:
    """Keys {prefix}{game_id}{number:05d}; NA where the number is."""
    num = pd.to_numeric(number, errors="coerce").astype("Int64")
    return (prefix + str(gid) + num.astype("string").str.zfill(5)).where(num.notna())


def _on_ice(first: pd.DataFrame, shifts: pd.DataFrame) -> None:
    """Each event's shift and strength (strength_id event team first; strength home first, as the dashboard)."""
    first["shift_id"] = _match_shift(first, shifts)
    sk = shifts.set_index("shift_id")
    first["strength"] = first["shift_id"].map(sk["strength"])  # the shift's label, home first
    home_sk = first["shift_id"].map(sk["home_team_strength"])
    away_sk = first["shift_id"].map(sk["away_team_strength"])
    own = np.where(first["venue_ev"] == "home", home_sk, away_sk)
    opp = np.where(first["venue_ev"] == "home", away_sk, home_sk)
    first["strength_id"] = pd.Series(own, index=first.index).astype("Int64").astype("string") + "v" + \
        pd.Series(opp, index=first.index).astype("Int64").astype("string")
    first["own_skaters"], first["opp_skaters"] = own, opp
    first["home_goalie"] = first["shift_id"].map(sk["home_goalie_player_id"])
    first["away_goalie"] = first["shift_id"].map(sk["away_goalie_player_id"])


def _player_ids(players: pd.DataFrame, side: str) -> pd.Series:
    """Comma-separated sorted player ids of one side per event (NA where it has none linked)."""
    p = players[_flag(players["side"] == side) & players["player_id"].notna()]
    return p.groupby("event_index")["player_id"].agg(lambda ids: ",".join(sorted(set(ids))))


def _events_table(gid: int, first: pd.DataFrame, sched: pd.Series, names: pd.Series,
                  players: pd.DataFrame) -> pd.DataFrame:
    idx = first.index
    ev1 = stats.role1(players, "event")
    ev2 = players[_flag((players["side"] == "event") & (players["role_number"] == 2))].drop_duplicates("event_index")
    opp1 = stats.role1(players, "opp")["player_id"].reindex(idx)
    is_shot = first["is_shot"] | first["is_goal"]
    detail = first["shot_detail_key"].fillna("")
    on_net = first["is_goal"] | (first["is_shot"] & (detail.str.contains("goal", regex=False)
                                                     | detail.str.contains("onnet", regex=False)))
    shift_goalie = pd.Series(np.where(first["venue_ev"] == "home", first["away_goalie"], first["home_goalie"]),
                             index=idx)
    goalie = shift_goalie.where(shift_goalie.notna(), opp1).where(on_net)
    has_player = pd.Series(idx.isin(ev1.index), index=idx)
    team_name = first["team_id"].map(_team_names(sched))
    sequence, play = _sequences(first)
    type_key, detail_key = first["type_key"].fillna(""), first["detail_key"].fillna("")
    end = first["end_min"].notna()
    return pd.DataFrame({
        "event_id": _event_id(gid, idx.to_series()), "game_id": gid, "event_index": idx,
        "period": first["period"], "period_id": period_key(first["period"]),
        "time_start_total_seconds": first["clock_seconds"], "time_end_total_seconds": first["end_clock"],
        "event_start_min": first["start_min"], "event_start_sec": first["start_sec"],
        "event_end_min": first["end_min"].where(end), "event_end_sec": first["end_sec"].where(end),
        "duration": first["duration"], "elapsed_seconds": first["elapsed"],
        "running_video_time": first["running_video_time"],
        "event_type": first["event_type"], "event_detail": first["event_detail"],
        "event_detail_2": first["event_detail_2"], "event_successful": first["successful"],
        "event_team_id": first["team_id"], "team_venue": first["venue_ev"],
        "opp_team_id": first["opp_team_id"], "player_id": first["player_id"],
        "player_role": pd.Series("event_player_1", index=idx).where(has_player),
        "player_team": team_name.where(has_player), "zone_id": first["zone"], "event_team_zone": first["zone"],
        "play_detail1": first["play_detail1"], "play_detail_2": first["play_detail2"],
        "shift_id": first["shift_id"], "shift_key": first["shift_id"], "strength_id": first["strength_id"],
        "strength": first["strength"], "is_goal": first["is_goal"],
        "is_save": detail_key.str.startswith("save").astype(int), "is_rebound": (type_key == "rebound").astype(int),
        "is_highlight": first["is_highlight"].fillna(0).astype(int),
        "player_count": first["player_count"], "event_player_ids": _player_ids(players, "event").reindex(idx),
        "opp_player_ids": _player_ids(players, "opp").reindex(idx),
        "season_id": sched["season_id"], "home_team_id": sched["home_team_id"], "away_team_id": sched["away_team_id"],
        "home_team": sched["home_team_name"], "away_team": sched["away_team_name"],
        "player_name": first["player_id"].map(names), "player_game_number": ev1["jersey"].reindex(idx),
        "event_player_2_name_x": ev2.set_index("event_index")["player_id"].reindex(idx).map(names),
        "shooter_player_id": first["player_id"].where(is_shot), "goalie_player_id": goalie,
        "goalie_name": goalie.map(names), "linked_event_key": _key("LV", gid, first["linked_event_index"]),
        "sequence_key": _key("SQ", gid, sequence), "play_key": _key("PL", gid, sequence * 100 + play),
        "puck_x_start": np.nan, "puck_y_start": np.nan, "source_row": first["source_row"],
    }).reset_index(drop=True)


def _puck_start(events: pd.DataFrame, puck: pd.DataFrame) -> pd.DataFrame:
    """``events`` with the first point of each event's puck path (fact_puck_xy_long) as puck_x/y_start."""
    start = puck[puck["point_number"] == 1].drop_duplicates("event_id").set_index("event_id")
    if start.empty:
        return events
    out = events.copy()
    out["puck_x_start"] = out["event_id"].map(start["x"])
    out["puck_y_start"] = out["event_id"].map(start["y"])
    return out


def _event_players_table(gid: int, players: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "event_player_id": players["event_player_id"], "event_id": players["event_id"], "game_id": gid,
        "player_role": players["side"] + "_player_" + players["role_number"].astype("string"),
        "side": players["side"], "role_number": players["role_number"], "team_id": players["team_id"],
        "venue": players["venue"], "jersey": players["jersey"], "player_id": players["player_id"],
        "play_detail1": players["play_detail1"], "play_detail_2": players["play_detail2"],
        "source_row": players["source_row"],
    })


_SHIFT_PLAYER_COLUMNS = get_table("fact_shift_players").column_names
# The dashboard's zone keys (start_zone_id / end_zone_id) of the event-team zones o, d, n.
ZONE_KEYS = {"o": "ZN01", "d": "ZN02", "n": "ZN03"}


def _shifts(gid: int, sh: pd.DataFrame, sched: pd.Series, venue_map: dict[str, str], team_of: dict[str, str],
            team_venue: dict[str, str], resolver: Resolver, game: GameFile,
            issues: IssueLog) -> tuple[pd.DataFrame, pd.DataFrame]:
    """fact_shifts (without the event figures, see ``_shift_events``) and the shift players (credited like
    event rows; ``period`` kept for windows)."""
    shift_id = "SH" + str(gid) + sh["shift_index"].astype("int64").map("{:05d}".format)
    prefix_of = {venue_map[wb]: wb for wb in ("home", "away")}  # schedule venue -> workbook column prefix
    skaters, parts, slot_cols = {}, [], {}
    for venue in ("home", "away"):
        prefix = prefix_of[venue]
        skaters[venue] = sh[[f"{prefix}_{s}" for s in SLOTS if s != "goalie"]].notna().sum(axis=1)
        for slot in SLOTS:
            col = sh[f"{prefix}_{slot}"]
            slot_cols[f"{venue}_{slot}"] = col.astype("string")
            present = col.notna().to_numpy()
            if not present.any():
                continue
            parts.append(pd.DataFrame({
                "shift_player_id": shift_id[present] + "_" + venue[0] + slot, "shift_id": shift_id[present],
                "game_id": gid, "side_team": team_of[venue], "lineup": venue, "slot": slot, "jersey": col[present],
                "is_goalie": slot == "goalie", "duration_seconds": sh.loc[present, "duration"],
                "period": sh.loc[present, "period"], "order": sh.loc[present, "shift_index"],
                "source_row": sh.loc[present, "source_row"], "column": f"{prefix}_{slot}",
            }))
    sp = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["shift_player_id", "shift_id", "game_id", "side_team", "lineup", "slot", "jersey", "is_goalie",
                 "duration_seconds", "period", "order", "source_row", "column"])
    res = resolver.resolve(sp["side_team"], sp["jersey"])
    resolver.report(issues, game.relpath, "shifts", sp["source_row"], sp["column"], sp["side_team"], sp["jersey"],
                    res)
    sp["player_id"], sp["team_id"] = res["player_id"], res["team_id"]
    sp["venue"] = sp["team_id"].map(team_venue)
    slot_order = {s: i for i, s in enumerate(SLOTS)}
    sp = sp.assign(_v=sp["lineup"].map({"home": 0, "away": 1}), _s=sp["slot"].map(slot_order))
    sp = sp.sort_values(["order", "_v", "_s"]).drop(columns=["_v", "_s"]).reset_index(drop=True)
    _logical_shifts(sp)
    goalies = sp[sp["is_goalie"].astype(bool)]
    goalie = {v: goalies[goalies["lineup"] == v].drop_duplicates("shift_id").set_index("shift_id")["player_id"]
              for v in ("home", "away")}
    start, end = sh["start_clock"].astype("Int64"), sh["end_clock"].astype("Int64")
    shifts = pd.DataFrame({
        "shift_id": shift_id, "shift_key": shift_id, "game_id": gid, "season_id": sched["season_id"],
        "home_team_id": sched["home_team_id"], "away_team_id": sched["away_team_id"],
        "home_team": sched["home_team_name"], "away_team": sched["away_team_name"],
        "shift_index": sh["shift_index"].astype("int64"), "period": sh["period"], "period_id": period_key(sh["period"]),
        "shift_start_min": start // 60, "shift_start_sec": start % 60, "shift_end_min": end // 60,
        "shift_end_sec": end % 60, "shift_start_total_seconds": start, "shift_end_total_seconds": end,
        "start_elapsed_seconds": sh["start_elapsed"], "end_elapsed_seconds": sh["end_elapsed"],
        "shift_duration": sh["duration"],
        "running_video_time": running_video_time(sh["period"], sh["start_clock"], sh["wb_video_time"]),
        "shift_start_type": sh["start_type"], "shift_stop_type": sh["stop_type"], **slot_cols,
        "home_team_strength": skaters["home"], "away_team_strength": skaters["away"],
        "strength_id": skaters["home"].astype(str) + "v" + skaters["away"].astype(str),
        "home_goalie_player_id": shift_id.map(goalie["home"]), "away_goalie_player_id": shift_id.map(goalie["away"]),
        "player_id": pd.Series(pd.NA, index=sh.index, dtype="string"), "source_row": sh["source_row"],
    })
    anyone = (skaters["home"] + skaters["away"] > 0) | shifts["home_goalie"].notna() | shifts["away_goalie"].notna()
    empty = {v: anyone & shifts[f"{v}_goalie"].isna() for v in ("home", "away")}
    gap = skaters["home"] - skaters["away"]
    shifts["strength"] = shifts["strength_id"].mask(empty["away"], "ENA").mask(empty["home"], "ENH")
    situation = pd.Series(np.select([gap > 0, gap < 0], ["Home PowerPlay", "Away PowerPlay"], "Full Strength"),
                          index=shifts.index)
    shifts["situation"] = situation.mask(empty["away"], "away_en").mask(empty["home"], "home_en").where(anyone)
    return shifts, sp


def _logical_shifts(sp: pd.DataFrame) -> None:
    """logical_shift_number and is_first_segment per shift player row: per player (an unlinked jersey by team
    and jersey), ordered by shift_index, a new logical shift starts where a row does not follow his last one."""
    if sp.empty:
        sp["logical_shift_number"], sp["is_first_segment"] = pd.Series(dtype="Int64"), pd.Series(dtype="boolean")
        return
    jersey_key = sp["side_team"].astype("string") + "#" + sp["jersey"].astype("string")
    who = sp["player_id"].astype("string").fillna(jersey_key)
    order = pd.to_numeric(sp["order"]).astype("int64")
    ranked = pd.DataFrame({"who": who, "i": order}).sort_values(["who", "i"], kind="stable")
    starts = (ranked["i"].diff() != 1) | (ranked["who"] != ranked["who"].shift())
    sp["is_first_segment"] = starts.reindex(sp.index).astype(bool)
    sp["logical_shift_number"] = starts.astype("int64").groupby(ranked["who"]).cumsum().reindex(sp.index)


def _shift_events(shifts: pd.DataFrame, first: pd.DataFrame, attempts: pd.DataFrame,
                  team_of: dict[str, str]) -> pd.DataFrame:
    """fact_shifts with the figures of the events matched to each shift (events carry shift_id): home
    attempts for and against, faceoffs, giveaways, takeaways, zone entries and exits, first and last zone."""
    home = team_of["home"]
    att = attempts[attempts["shift_id"].notna()].copy()
    blocked = first["shot_detail_key"].reindex(att["event_index"]).fillna("").str.contains("blocked", regex=False)
    att["unblocked"] = ~blocked.to_numpy()
    att["home"] = (att["team_id"] == home).to_numpy()

    def count(mask: pd.Series) -> pd.Series:
        return shifts["shift_id"].map(mask.groupby(att["shift_id"]).sum()).fillna(0).astype("int64")

    out = shifts.copy()
    out["cf"], out["ca"] = count(att["home"]), count(~att["home"])
    out["ff"], out["fa"] = count(att["home"] & att["unblocked"]), count(~att["home"] & att["unblocked"])
    out["sf"], out["sa"] = count(att["home"] & att["on_goal"]), count(~att["home"] & att["on_goal"])
    out["cf_pct"] = stats.share(out["cf"], out["ca"])
    out["ff_pct"] = stats.share(out["ff"], out["fa"])
    ev = first[first["shift_id"].notna()]
    detail = ev["detail_key"].fillna("")

    def per_shift(mask: pd.Series) -> pd.Series:
        return out["shift_id"].map(mask.groupby(ev["shift_id"]).sum()).fillna(0).astype("int64")

    fo = ev["is_faceoff"].astype(bool)
    fo_home = per_shift(fo & (ev["team_id"] == home))
    out["fo_pct"] = (fo_home * 100 / per_shift(fo).where(lambda n: n > 0)).round(1).fillna(0.0)
    out["giveaways"] = per_shift(detail.str.contains("giveaway", regex=False))
    out["takeaways"] = per_shift(detail.str.contains("takeaway", regex=False))
    out["zone_entries"] = per_shift(detail.str.startswith("zone_entry"))
    out["zone_exits"] = per_shift(detail.str.startswith("zone_exit"))
    zoned = ev[ev["zone"].isin(list(ZONE_KEYS))].sort_values("seq")
    for end, keep in (("start", "first"), ("end", "last")):
        zone = zoned.drop_duplicates("shift_id", keep=keep).set_index("shift_id")["zone"]
        out[f"{end}_zone"] = out["shift_id"].map(zone)
        out[f"{end}_zone_id"] = out[f"{end}_zone"].map(ZONE_KEYS)
    return out[get_table("fact_shifts").column_names]


def _goals(gid: int, first: pd.DataFrame, goal_events: pd.Index, r1: dict[str, pd.DataFrame],
           players: pd.DataFrame, prim: pd.Series, sec: pd.Series) -> pd.DataFrame:
    cols = ["goal_id", "event_id", "game_id", "period", "clock_seconds", "elapsed_seconds", "team_id", "venue",
            "opp_team_id", "scorer_player_id", "scorer_jersey", "primary_assist_player_id",
            "secondary_assist_player_id", "goalie_player_id", "event_detail_2", "strength_id"]
    if goal_events.empty:
        return pd.DataFrame(columns=cols)
    g = first.loc[goal_events]
    scorer, opp1 = r1["event"], r1["opp"]
    eid = _event_id(gid, g.index.to_series())
    goalie_shift = pd.Series(np.where(g["venue_ev"] == "home", g["away_goalie"], g["home_goalie"]), index=g.index)
    goalie = goalie_shift.where(goalie_shift.notna(), opp1["player_id"].reindex(g.index))
    return pd.DataFrame({
        "goal_id": eid, "event_id": eid, "game_id": gid, "period": g["period"],
        "clock_seconds": g["clock_seconds"], "elapsed_seconds": g["elapsed"], "team_id": g["team_id"],
        "venue": g["venue_ev"], "opp_team_id": g["opp_team_id"],
        "scorer_player_id": scorer["player_id"].reindex(g.index), "scorer_jersey": scorer["jersey"].reindex(g.index),
        "primary_assist_player_id": prim.map(players["player_id"]),
        "secondary_assist_player_id": sec.map(players["player_id"]), "goalie_player_id": goalie,
        "event_detail_2": g["event_detail_2"], "strength_id": g["strength_id"],
    }).reset_index(drop=True)


def _of_type(first: pd.DataFrame, type_key: str) -> pd.DataFrame:
    return first[first[f"is_{type_key}"]]


def _shots(gid: int, first: pd.DataFrame, r1: dict[str, pd.DataFrame], players: pd.DataFrame,
           blocker: pd.Series) -> pd.DataFrame:
    cols = ["shot_id", "event_id", "game_id", "period", "elapsed_seconds", "team_id", "venue", "player_id",
            "event_detail", "event_detail_2", "is_on_goal", "is_goal", "is_blocked", "is_missed",
            "blocker_player_id", "goalie_player_id", "strength_id"]
    f = _of_type(first, "shot")
    if f.empty:
        return pd.DataFrame(columns=cols)
    shooter = r1["event"]
    detail = f["shot_detail_key"].fillna("")
    is_goal = detail.str.contains("goal", regex=False)
    eid = _event_id(gid, f.index.to_series())
    goalie = np.where(f["venue_ev"] == "home", f["away_goalie"], f["home_goalie"])
    return pd.DataFrame({
        "shot_id": eid, "event_id": eid, "game_id": gid, "period": f["period"], "elapsed_seconds": f["elapsed"],
        "team_id": f["team_id"], "venue": f["venue_ev"], "player_id": shooter["player_id"].reindex(f.index),
        "event_detail": f["shot_event_detail"], "event_detail_2": f["shot_event_detail_2"],
        "is_on_goal": is_goal | detail.str.contains("onnet", regex=False), "is_goal": is_goal,
        "is_blocked": detail.str.contains("blocked", regex=False),
        "is_missed": detail.str.contains("missed", regex=False),
        "blocker_player_id": blocker.map(players["player_id"]).reindex(f.index), "goalie_player_id": goalie,
        "strength_id": f["strength_id"],
    }).reset_index(drop=True)


def _faceoffs(gid: int, first: pd.DataFrame, r1: dict[str, pd.DataFrame]) -> pd.DataFrame:
    f = _of_type(first, "faceoff")
    win, lose = r1["event"], r1["opp"]
    eid = _event_id(gid, f.index.to_series())
    return pd.DataFrame({
        "faceoff_id": eid, "event_id": eid, "game_id": gid, "period": f["period"], "elapsed_seconds": f["elapsed"],
        "zone_id": f["zone"], "event_detail": f["event_detail"], "winner_team_id": f["team_id"],
        "winner_player_id": win["player_id"].reindex(f.index), "loser_team_id": f["opp_team_id"],
        "loser_player_id": lose["player_id"].reindex(f.index),
    }).reset_index(drop=True)


def _penalties(gid: int, first: pd.DataFrame, r1: dict[str, pd.DataFrame]) -> pd.DataFrame:
    f = _of_type(first, "penalty")
    taker = r1["event"]
    eid = _event_id(gid, f.index.to_series())
    return pd.DataFrame({
        "penalty_id": eid, "event_id": eid, "game_id": gid, "period": f["period"], "elapsed_seconds": f["elapsed"],
        "team_id": f["team_id"], "player_id": taker["player_id"].reindex(f.index),
        "event_detail": f["event_detail"], "event_detail_2": f["event_detail_2"],
    }).reset_index(drop=True)


# A goal tracked without a shot event within this many events before it counts as an attempt of its own.
GOAL_SHOT_LOOKBACK = 3


def _attempts(first: pd.DataFrame) -> pd.DataFrame:
    """Shot attempts for Corsi, plus-minus and goalie figures: shots, plus goals tracked without a shot."""
    shots = _of_type(first, "shot")
    detail = shots["shot_detail_key"].fillna("")
    goal = detail.str.contains("goal", regex=False)
    a = pd.DataFrame({"team_id": shots["team_id"], "on_goal": goal | detail.str.contains("onnet", regex=False),
                      "goal": goal, "blocked": detail.str.contains("blocked", regex=False)}, index=shots.index)
    covered = set(zip(shots.loc[goal, "team_id"], shots.loc[goal, "seq"], strict=True))
    goals = first[first["is_goal"]]
    extra = [k for k, t, s in zip(goals.index, goals["team_id"], goals["seq"], strict=True)
             if not any((t, s - k2) in covered for k2 in range(GOAL_SHOT_LOOKBACK + 1))]
    if extra:
        a = pd.concat([a, pd.DataFrame({"team_id": first.loc[extra, "team_id"], "on_goal": True, "goal": True,
                                        "blocked": False}, index=pd.Index(extra))])
    f = first.loc[a.index]
    a["shift_id"] = f["shift_id"]
    a["period"] = f["period"]
    # skaters of the attempt's team minus the opponent's (0 = even strength, > 0 power play); unknown reads as even
    a["gap"] = (pd.to_numeric(f["own_skaters"], errors="coerce")
                - pd.to_numeric(f["opp_skaters"], errors="coerce")).fillna(0)
    a["on_goal"] = a["on_goal"].astype(bool)
    a["goal"] = a["goal"].astype(bool)
    a["blocked"] = a["blocked"].fillna(False).astype(bool)
    return a.reset_index(names="event_index")


def _goal_verification(gid: int, league: League, team_of: dict[str, str], first: pd.DataFrame,
                       periods: set[int], status: str, game: GameFile, issues: IssueLog) -> pd.DataFrame:
    """Tracked goals against the official goals of the periods the events sheet covers."""
    rows = []
    goals = first[first["is_goal"] & first["period"].isin(periods)]
    for venue in ("home", "away"):
        team = team_of[venue]
        official = league.official_goals(gid, venue, periods)
        tracked = int((goals["team_id"] == team).sum())
        rows.append({"game_id": gid, "team_id": team, "venue": venue, "periods_covered": stats.periods_text(periods),
                     "official_goals": official, "tracked_goals": tracked,
                     "match": None if official is None else official == tracked})
    if status == "PARTIAL" and any(r["official_goals"] is None for r in rows):
        issues.add(game.relpath, "the schedule has no per-period goals that add up to the final score, so the "
                   "tracked periods cannot be checked", "goal verification left empty", kind="no_period_goals")
    return pd.DataFrame(rows)


def read_error_result(game: GameFile, error: InputError) -> GameResult:
    """An unreadable or malformed workbook: INVALID with the located reason."""
    return unusable(game, "INVALID", str(error), kind="unreadable_workbook", sheet=error.sheet)


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
        strongest = max(straight, crossed)
        if strongest >= VENUE_MIN_EVIDENCE_ROWS and strongest >= VENUE_EVIDENCE_FACTOR * min(straight, crossed):
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
    if len(jerseys) < MIN_EVENT_JERSEYS or roster.empty:
        return ""
    rate = float(jerseys.isin(set(roster["jersey"].dropna())).mean())
    if rate >= COPIED_ROSTER_SHARE:
        return ""
    scheduled = {str(sched["home_team_name"]).strip().lower(), str(sched["away_team_name"]).strip().lower()}
    named = {str(v).strip().lower() for v in pd.concat([ev["wb_home"], ev["wb_away"]]).dropna().unique()}
    if named and named <= scheduled:
        return ""
    return (f"only {rate:.0%} of the jerseys are on this game's official rosters"
            + (f" and the workbook names {' vs '.join(sorted(named))}" if named else "")
            + ": it looks copied from another game's workbook")


def _match_shift(first: pd.DataFrame, shifts: pd.DataFrame) -> pd.Series:
    """Shift id per event: the shift with start < t <= end (an event at a change belongs to the ending shift)."""
    out = pd.Series(pd.NA, index=first.index, dtype="object")
    if shifts.empty:
        return out
    ev = first[["elapsed"]].dropna().astype("float64")
    if ev.empty:
        return out
    ev = ev.assign(key=ev["elapsed"] - SHIFT_MATCH_TOLERANCE, idx=ev.index).sort_values("key")
    sh = shifts[["shift_id", "start_elapsed_seconds", "end_elapsed_seconds"]].dropna()
    sh = sh.astype({"start_elapsed_seconds": "float64", "end_elapsed_seconds": "float64"})
    sh = sh.sort_values("start_elapsed_seconds")
    # the period's opening faceoff happens at a shift's start: match it forward instead
    m = pd.merge_asof(ev, sh, left_on="key", right_on="start_elapsed_seconds", direction="backward")
    inside = m["key"] <= m["end_elapsed_seconds"]
    m2 = pd.merge_asof(ev.assign(key=ev["elapsed"] + SHIFT_MATCH_TOLERANCE).sort_values("key"), sh, left_on="key",
                       right_on="start_elapsed_seconds", direction="backward").set_index("idx")
    chosen = m.set_index("idx")["shift_id"].where(inside.to_numpy())
    fallback = m2["shift_id"].where(m2["key"] <= m2["end_elapsed_seconds"])
    chosen = chosen.fillna(fallback.reindex(chosen.index))
    out.loc[chosen.index] = chosen
    return out


