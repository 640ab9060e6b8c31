"""Deterministic generator of a small synthetic hockey league in the real workbook layout.

The output mirrors the league's real inputs so the ETL can read it like real data::

    <out>/BLB_TABLES.xlsx                          master tables (dim_player, dim_schedule, fact_gameroster, ...)
    <out>/games/<game_id>/<game_id>_tracking.xlsx  sheets ``events`` and ``shifts``

Tracking workbooks come in three styles (assigned round-robin by game), like the real files:

* ``computed``: tracker inputs on the first row of each event, times only when they change, and every
  derived (formula-cache) column filled;
* ``sparse``: ``event_type_``/``event_detail_`` on every row, ``team_``/``role_abrev_binary_`` empty,
  derived columns filled;
* ``raw``: only the tracker input columns (as in ``computed``); every derived column empty.

All names and numbers are invented.  Same ``(games, seed)`` gives byte-identical workbooks.
This module must not import Django.
"""
from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import xlsxwriter

__all__ = [
    "EVENT_COLUMNS",
    "SHIFT_COLUMNS",
    "MASTER_COLUMNS",
    "STYLES",
    "SEASON_ID",
    "generate_league",
]

STYLES: tuple[str, ...] = ("computed", "sparse", "raw")
SEASON = 20252026
SEASON_ID = "N20252026F"
FIRST_GAME_ID = 30001
PERIOD_SECONDS = 18 * 60
N_PERIODS = 3
N_FUTURE_GAMES = 3
SEASON_START = datetime(2025, 9, 7)
GAME_TIMES = (time(17, 15), time(18, 30), time(19, 45))
_CREATED = datetime(2025, 1, 1)
_URL = "https://league.example.org"

# ---------------------------------------------------------------------------------------------------------
# Column layouts (copied from the real workbooks; events use game 18969's order).
# ---------------------------------------------------------------------------------------------------------
EVENT_COLUMNS: tuple[str, ...] = (
    "event_index_flag_", "sequence_index_flag_", "play_index_flag_", "linked_event_index_flag_",
    "event_start_min_", "event_start_sec_", "event_end_min_", "event_end_sec_", "player_game_number_",
    "event_team_zone_", "event_type_", "event_detail_", "event_detail_2_", "event_successful_",
    "play_detail1_", "play_detail2_", "play_detail_successful_", "pressured_pressurer_", "event_index_",
    "linked_event_index_", "sequence_index_", "play_index_", "team_", "player_game_number",
    "role_abrev_binary_", "period", "event_index", "linked_event_index", "tracking_event_index",
    "event_start_min", "event_start_sec", "event_end_min", "event_end_sec", "role_abrev",
    "event_team_zone2_", "event_team_zone", "home_team_zone_", "away_team_zone_", "team_venue_",
    "team_venue_abv_", "home_team_zone", "away_team_zone", "team_venue", "team_venue_abv", "side_of_puck",
    "sequence_index", "play_index", "play_detail1", "play_detail_2", "play_detail_successful",
    "pressured_pressurer", "zone_change_index", "game_id", "home_team", "away_team", "Type", "event_detail",
    "event_detail_2", "event_successful", "shift_index", "duration", "time_start_total_seconds",
    "time_end_total_seconds", "running_intermission_duration", "period_start_total_running_seconds",
    "running_video_time", "event_running_start", "event_running_end", "player_role", "role_number",
    "player_id", "player_team",
)
SHIFT_COLUMNS: tuple[str, ...] = (
    "shift_index", "Period", "shift_start_min", "shift_start_sec", "shift_end_min", "shift_end_sec",
    "shift_start_type", "shift_stop_type", "home_forward_1", "home_forward_2", "home_forward_3",
    "home_defense_1", "home_defense_2", "home_xtra", "home_goalie", "away_forward_1", "away_forward_2",
    "away_forward_3", "away_defense_1", "away_defense_2", "away_xtra", "away_goalie", "stoppage_time",
    "home_ozone_start", "home_ozone_end", "home_dzone_start", "home_dzone_end", "home_nzone_start",
    "home_nzone_end", "game_id", "home_team", "away_team", "shift_start_total_seconds",
    "shift_end_total_seconds", "shift_duration", "home_team_strength", "away_team_strength", "home_team_en",
    "away_team_en", "home_team_pk", "home_team_pp", "away_team_pp", "away_team_pk", "situation", "strength",
    "home_goals", "away_goals", "home_team_plus", "home_team_minus", "away_team_plus", "away_team_minus",
    "period_start_total_running_seconds", "running_video_time", "shift_start_running_time",
    "shift_end_running_time",
)
MASTER_COLUMNS: dict[str, tuple[str, ...]] = {
    "dim_player": (
        "index", "player_first_name", "player_last_name", "player_full_name", "player_id",
        "player_primary_position", "current_skill_rating", "player_hand", "birth_year", "player_gender",
        "highest_beer_league", "player_rating_ly", "player_notes", "player_leadership", "player_norad",
        "player_csaha", "player_norad_primary_number", "player_csah_primary_number",
        "player_norad_current_team", "player_csah_current_team", "player_norad_current_team_id",
        "player_csah_current_team_id", "other_url", "player_url", "player_image", "random_player_first_name",
        "random_player_last_name", "random_player_full_name",
    ),
    "dim_team": (
        "index", "team_name", "team_id", "norad_team", "csah_team", "league_id", "league", "long_team_name",
        "team_cd", "team_color1", "team_color2", "team_color3", "team_color4", "team_logo", "team_url",
    ),
    "dim_league": ("index", "league_id", "league"),
    "dim_season": (
        "index", "season_id", "season", "session", "norad", "csah", "league_id", "league", "start_date",
    ),
    "dim_schedule": (
        "index", "game_id", "season", "season_id", "game_url", "home_team_game_id", "away_team_game_id",
        "date", "game_time", "home_team_name", "away_team_name", "home_team_id", "away_team_id",
        "head_to_head_id", "game_type", "playoff_round", "last_period_type", "period_length",
        "ot_period_length", "shootout_rounds", "home_total_goals", "away_total_goals",
        "home_team_period1_goals", "home_team_period2_goals", "home_team_period3_goals",
        "home_team_periodOT_goals", "away_team_period1_goals", "away_team_period2_goals",
        "away_team_period3_goals", "away_team_periodOT_goals", "home_team_seeding", "away_team_seeding",
        "home_team_w", "home_team_l", "home_team_t", "home_team_pts", "away_team_w", "away_team_l",
        "away_team_t", "away_team_pts", "video_id", "video_start_time", "video_end_time", "video_title",
        "video_url",
    ),
    "fact_gameroster": (
        "index", "game_id", "team_game_id", "opp_team_game_id", "player_game_id", "team_venue", "team_name",
        "opp_team_name", "player_game_number", "n_player_url", "player_position", "games_played", "goals",
        "assist", "goals_against", "pim", "shutouts", "team_id", "opp_team_id", "key", "player_full_name",
        "player_id", "date", "season", "sub", "current_team", "skill_rating",
    ),
    "fact_registration": (
        "index", "player_full_name", "player_id", "season_id", "season", "restricted", "email", "position",
        "norad_experience", "CAF", "highest_beer_league_played", "skill_rating", "age", "referred_by", "notes",
        "sub_yn", "drafted_team_name", "drafted_team_id", "player_season_registration_id",
    ),
    "fact_draft": (
        "index", "team_id", "skill_rating", "round", "player_full_name", "player_id", "team_name",
        "restricted", "overall_draft_round", "overall_draft_position", "unrestricted_draft_position",
        "season", "season_id", "league", "player_draft_id",
    ),
    "fact_leadership": (
        "index", "player_full_name", "player_id", "leadership", "skill_rating", "n_player_url", "team_name",
        "team_id", "season", "season_id",
    ),
}

_EV = {name: i for i, name in enumerate(EVENT_COLUMNS)}
_SH = {name: i for i, name in enumerate(SHIFT_COLUMNS)}
# Tracker-typed columns; everything else in EVENT_COLUMNS is a formula cache ("derived").
_EVENT_INPUTS = frozenset(EVENT_COLUMNS[: _EV["role_abrev_binary_"] + 1])
_SHIFT_INPUTS = frozenset(SHIFT_COLUMNS[: _SH["home_nzone_end"] + 1])

# ---------------------------------------------------------------------------------------------------------
# Invented league content.
# ---------------------------------------------------------------------------------------------------------
_TEAMS: tuple[tuple[str, str, str, tuple[str, str, str]], ...] = (
    ("Ironwood", "Ironwood Builders", "IWB", ("#3B2F2F", "#C8A165", "#FFFFFF")),
    ("Glacier", "Glacier Ice Co.", "GIC", ("#1F4E79", "#9DC3E6", "#FFFFFF")),
    ("Summit", "Summit Physio", "SMP", ("#2E7D32", "#A5D6A7", "#000000")),
    ("Redtail", "Redtail Roofing", "RTR", ("#B71C1C", "#212121", "#F5F5F5")),
    ("Copperline", "Copperline Electric", "CLE", ("#B87333", "#1B1B1B", "#FFE0B2")),
    ("Bluebird", "Bluebird Bakery", "BBB", ("#1565C0", "#FFD54F", "#FFFFFF")),
)
_FIRST_M = (
    "Aaron", "Blake", "Caleb", "Derek", "Evan", "Felix", "Grant", "Hayden", "Isaac", "Jonah", "Kyle",
    "Logan", "Mason", "Nolan", "Owen", "Parker", "Quinn", "Reid", "Silas", "Tanner", "Victor", "Wes",
    "Brody", "Colby", "Dane", "Emmett", "Gavin", "Heath", "Jasper", "Landon", "Miles", "Rowan",
)
_FIRST_F = ("Avery", "Brooke", "Cassidy", "Dana", "Emery", "Hallie", "Kendall", "Maren", "Piper", "Tessa")
_LAST = (
    "Ashgrove", "Birchard", "Coldwater", "Dunmore", "Ellery", "Fairbank", "Glenholm", "Hartwell", "Ironside",
    "Kettering", "Larkspur", "Marchetti", "Northam", "Oakhurst", "Pemberly", "Quarrie", "Ravensworth",
    "Stillwell", "Thornbury", "Underhill", "Valcourt", "Whitlock", "Yarrow", "Brackett", "Calloway",
    "Delacroix", "Fenmore", "Galloway", "Inverness", "Jessop", "Kilbride", "Lockhart", "Merriweather",
    "Nettleton", "Ollerton", "Redfern", "Upshaw", "Vickery", "Winslow", "Brightwater", "Corliss",
    "Drummond", "Eastwick", "Falkner", "Greaves", "Jardine", "Kestrel", "Lindqvist", "Moorcroft", "Norwood",
)
_BEER_LEAGUES = (None, None, None, "C", "B", "Intermediate", "Novice", "Rec League", "Adult C2")
_PASS_KINDS = (("Pass-Forehand", 60), ("Pass-Backhand", 12), ("Pass-Rim/Wrap", 10), ("Pass-Stretch", 7),
               ("Pass-Bank", 5), ("Pass-Drop", 6))
_SHOT_KINDS = (("Wrist", 70), ("Snap", 8), ("Slap", 7), ("Backhand", 10), ("Tip", 5))
_SAVE_KINDS = ("Save-Butterfly", "Save-RightPad", "Save-LeftPad", "Save-Chest", "Save-Glove",
               "Save-Blocker", "Save-Shoulder", "Save-Stick")
_GIVEAWAYS = ("Giveaway-Misplayed", "Giveaway-ZoneClear/Dump", "Giveaway-PassMissed", "Giveaway-BattleLost")
_TAKEAWAYS = ("Takeaway-PokeCheck", "Takeaway-BattleWon")
_PENALTIES = ("Penalty-Tripping", "Penalty-Hooking", "Penalty-Roughing", "Penalty-Slashing",
              "Penalty-Interference", "Penalty-Holding")
_VENUE = {"h": "Home", "a": "Away"}
_OTHER = {"h": "a", "a": "h"}
_FLIP = {"o": "d", "d": "o", "n": "n"}


def _pick(rng: random.Random, weighted: Sequence[tuple[str, int]]) -> str:
    """Weighted choice from ``(value, weight)`` pairs."""
    total = sum(w for _, w in weighted)
    r = rng.random() * total
    for value, w in weighted:
        r -= w
        if r < 0:
            return value
    return weighted[-1][0]


# ---------------------------------------------------------------------------------------------------------
# League model.
# ---------------------------------------------------------------------------------------------------------
@dataclass(slots=True)
class Player:
    """A rostered player."""

    player_id: str
    first: str
    last: str
    position: str  # Forward / Defense / Goalie
    jersey: int
    skill: int
    birth_year: int
    gender: str
    team_id: str
    team_name: str
    leadership: str | None = None

    @property
    def full(self) -> str:
        return f"{self.first} {self.last}"


@dataclass(slots=True)
class Team:
    """A league team with its roster."""

    team_id: str
    name: str
    long_name: str
    code: str
    colors: tuple[str, str, str]
    players: list[Player] = field(default_factory=list)


def _build_teams(seed: int) -> list[Team]:
    """Invent six teams of 9 forwards, 4 defense and 1 goalie each."""
    rng = random.Random(f"hockeyops-sample:{seed}:league")
    teams: list[Team] = []
    used_names: set[str] = set()
    pid = 200001
    for i, (name, long_name, code, colors) in enumerate(_TEAMS):
        team = Team(f"N2{i + 1:04d}", name, long_name, code, colors)
        jerseys = rng.sample(range(2, 99), 14)
        positions = ["Forward"] * 9 + ["Defense"] * 4 + ["Goalie"]
        for pos, jersey in zip(positions, jerseys, strict=True):
            while True:
                female = rng.random() < 0.1
                first = rng.choice(_FIRST_F if female else _FIRST_M)
                last = rng.choice(_LAST)
                if f"{first} {last}" not in used_names:
                    used_names.add(f"{first} {last}")
                    break
            team.players.append(Player(
                player_id=f"P{pid}", first=first, last=last, position=pos,
                jersey=30 + jersey % 10 if pos == "Goalie" and jersey < 30 else jersey,
                skill=rng.randint(2, 6), birth_year=rng.randint(1970, 2003), gender="F" if female else "M",
                team_id=team.team_id, team_name=name,
            ))
            pid += 1
        # goalie jersey tweak above may collide; fall back to a free number
        seen: set[int] = set()
        for p in team.players:
            while p.jersey in seen:
                p.jersey = p.jersey % 98 + 1
            seen.add(p.jersey)
        skaters = [p for p in team.players if p.position != "Goalie"]
        for letter, p in zip("CAS", rng.sample(skaters, 3), strict=True):
            p.leadership = letter
        teams.append(team)
    return teams


def _matchups(n_teams: int, count: int) -> list[tuple[int, int]]:
    """Round-robin (circle method) pairings, venues swapped every other cycle."""
    idx = list(range(n_teams))
    out: list[tuple[int, int]] = []
    rnd = 0
    while len(out) < count:
        order = [idx[0]] + idx[1:][rnd % (n_teams - 1):] + idx[1:][: rnd % (n_teams - 1)]
        cycle = rnd // (n_teams - 1)
        for k in range(n_teams // 2):
            a, b = order[k], order[n_teams - 1 - k]
            if (k + rnd + cycle) % 2:
                a, b = b, a
            out.append((a, b))
        rnd += 1
    return out[:count]


# ---------------------------------------------------------------------------------------------------------
# Game simulation.
# ---------------------------------------------------------------------------------------------------------
@dataclass(slots=True)
class _Part:
    """One player row of an event."""

    jersey: int
    venue: str
    pd1: str | None = None
    pd2: str | None = None
    pds: str | None = None
    pressured: int | None = None


@dataclass(slots=True)
class _Event:
    type: str
    detail: str | None
    detail2: str | None
    succ: str | None
    team: str | None
    zone: str | None
    period: int
    t0: int | None
    t1: int | None
    ev: list[_Part]
    opp: list[_Part]
    shift: int | None = None
    link: int | None = None


@dataclass(slots=True)
class _Shift:
    period: int
    start: int | None
    end: int | None
    start_type: str | None
    stop_type: str | None
    lineup: dict[str, tuple[list[int | None], list[int | None], int | None]]
    goals: tuple[int, int]
    plus: dict[str, int] = field(default_factory=lambda: {"h": 0, "a": 0})
    minus: dict[str, int] = field(default_factory=lambda: {"h": 0, "a": 0})
    intermission: bool = False


@dataclass(slots=True)
class _Dressed:
    forwards: list[int]
    defense: list[int]
    goalie: int
    by_jersey: dict[int, Player]


class _GameSim:
    """Simulates one game into tracker events, shifts and a box score."""

    def __init__(self, rng: random.Random, home: _Dressed, away: _Dressed) -> None:
        self.rng = rng
        self.team = {"h": home, "a": away}
        self.events: list[_Event] = []
        self.shifts: list[_Shift] = []
        self.score = {"h": 0, "a": 0}
        self.period_goals = {"h": [0, 0, 0], "a": [0, 0, 0]}
        self.goals: dict[tuple[str, int], int] = {}
        self.assists: dict[tuple[str, int], int] = {}
        self.pim: dict[tuple[str, int], int] = {}
        self.shots = {"h": 0, "a": 0}
        self.line_ptr = {"h": [0, 0], "a": [0, 0]}
        self.on_ice: dict[str, tuple[list[int | None], list[int | None], int | None]] = {}
        self.pp: tuple[str, int, int] | None = None  # (penalized venue, jersey, expiry clock)
        self.link = 0
        self.period = 1
        self.t = PERIOD_SECONDS
        self.poss = "h"
        self.zone = "n"
        self.carrier = 0
        self.chain: list[tuple[_Event, int, int]] = []
        self.next_change = 0

    # -- lineups & shifts -------------------------------------------------------------------------------
    def _rotate(self, v: str) -> None:
        d = self.team[v]
        ptr = self.line_ptr[v]
        nf, nd = len(d.forwards), len(d.defense)
        fw = [d.forwards[(ptr[0] * 3 + k) % nf] for k in range(3)]
        df = [d.defense[(ptr[1] * 2 + k) % nd] for k in range(2)]
        ptr[0] += 1
        ptr[1] += 1 if self.rng.random() < 0.8 else 0
        fwd: list[int | None] = list(fw)
        dfn: list[int | None] = list(df)
        if self.pp and self.pp[0] == v:
            jersey = self.pp[1]
            if jersey in fwd:
                fwd[fwd.index(jersey)] = None
            elif jersey in dfn:
                dfn[dfn.index(jersey)] = None
            else:
                fwd[2] = None
        self.on_ice[v] = (fwd, dfn, d.goalie)

    def _skaters(self, v: str) -> list[int]:
        fw, df, _ = self.on_ice[v]
        return [j for j in fw + df if j is not None]

    def _open_shift(self, start_type: str | None, change: Sequence[str] = ("h", "a")) -> None:
        for v in change:
            self._rotate(v)
        self.shifts.append(_Shift(
            period=self.period, start=self.t, end=None, start_type=start_type, stop_type=None,
            lineup={v: (list(x[0]), list(x[1]), x[2]) for v, x in self.on_ice.items()},
            goals=(self.score["h"], self.score["a"]),
        ))

    def _close_shift(self, stop_type: str | None) -> None:
        sh = self.shifts[-1]
        sh.end = self.t
        sh.stop_type = stop_type

    def _boundary(self, stop_type: str, start_type: str, keep: str | None = None) -> None:
        """End the shift at a stoppage and open the next one (teams change lines at random)."""
        self._close_shift(stop_type)
        change = [v for v in ("h", "a") if v != keep and self.rng.random() < 0.7]
        self._open_shift(start_type, change)
        self.next_change = self.t - self.rng.randint(40, 80)

    # -- event helpers -----------------------------------------------------------------------------------
    def _emit(self, etype: str, detail: str | None, detail2: str | None, succ: str | None, team: str | None,
              zone: str | None, ev: list[_Part], opp: list[_Part], t1: int | None = None,
              link: int | None = None) -> _Event:
        e = _Event(etype, detail, detail2, succ, team, zone, self.period, self.t, t1, ev, opp,
                   len(self.shifts) if self.shifts else None, link)
        self.events.append(e)
        return e

    def _other_skater(self, v: str, exclude: int) -> int:
        options = [j for j in self._skaters(v) if j != exclude]
        return self.rng.choice(options) if options else exclude

    def _defender(self, v: str) -> int:
        return self.rng.choice(self._skaters(v))

    def _center(self, v: str) -> int:
        fw, df, _ = self.on_ice[v]
        for j in fw + df:
            if j is not None:
                return j
        raise RuntimeError("no skater on ice")

    def _take(self, v: str, zone: str, carrier: int) -> None:
        """Give the puck to team ``v`` in ``zone`` (v's perspective)."""
        if v != self.poss:
            self.chain = []
        self.poss, self.zone, self.carrier = v, zone, carrier

    def _faceoff(self, detail: str, home_zone: str) -> None:
        rng = self.rng
        w = "h" if rng.random() < 0.5 else "a"
        zone = home_zone if w == "h" else _FLIP[home_zone]
        winner, loser = self._center(w), self._center(_OTHER[w])
        ev = [_Part(winner, w)]
        carrier = winner
        if rng.random() < 0.45:
            carrier = self._other_skater(w, winner)
            ev.append(_Part(carrier, w))
        self._emit("Faceoff", detail, None, None, w, zone, ev, [_Part(loser, _OTHER[w])])
        self.chain = []
        self._take(w, zone, carrier)

    def _stoppage(self, v: str, jersey: int, detail2: str, zone: str) -> None:
        self._emit("Stoppage", "Stoppage_Play", detail2, None, v, zone, [_Part(jersey, v)], [])
        self._emit("DeadIce", None, None, None, v, zone, [_Part(jersey, v)], [])

    # -- plays ---------------------------------------------------------------------------------------------
    def _pass(self) -> None:
        rng, v, z, c = self.rng, self.poss, self.zone, self.carrier
        o = _OTHER[v]
        recv = self._other_skater(v, c)
        r = rng.random()
        opp: list[_Part] = []
        if rng.random() < 0.45:
            opp.append(_Part(self._defender(o), o, pd1=rng.choice(("InShotPassLane", "StickCheck"))))
        kind = _pick(rng, _PASS_KINDS)
        if r < 0.74:
            e = self._emit("Pass", "Pass_Completed", kind, "s", v, z, [_Part(c, v), _Part(recv, v)], opp)
            self.chain.append((e, c, recv))
            self.carrier = recv
        elif r < 0.88:
            self._emit("Pass", "Pass_Missed", kind, "u", v, z, [_Part(c, v), _Part(recv, v)], opp)
            self.t = max(1, self.t - rng.randint(0, 2))
            if rng.random() < 0.5:
                j = self._other_skater(v, c)
                self._emit("Possession", "PuckRecovery", None, "s", v, z, [_Part(j, v)], [])
                self.chain = []
                self._take(v, z, j)
            else:
                j = self._defender(o)
                self._emit("Possession", "PuckRecovery", None, "s", o, _FLIP[z], [_Part(j, o)], [])
                self._take(o, _FLIP[z], j)
        else:
            j = opp[0].jersey if opp else self._defender(o)
            if not opp:
                opp.append(_Part(j, o))
            opp[0].pd1 = "PassIntercepted"
            self._emit("Pass", "Pass_Intercepted", kind, "u", v, z, [_Part(c, v), _Part(recv, v)], opp)
            self._emit("Turnover", "Turnover_Giveaway", "Giveaway-PassIntercepted", "u", v, z, [_Part(c, v)],
                       [_Part(j, o)])
            self._take(o, _FLIP[z], j)

    def _possession(self) -> None:
        rng, v, z, c = self.rng, self.poss, self.zone, self.carrier
        o = _OTHER[v]
        detail = _pick(rng, (("", 60), ("PuckRetrieval", 15), ("PuckRecovery", 15), ("Regroup", 10))) or None
        opp: list[_Part] = []
        if rng.random() < 0.4:
            opp.append(_Part(self._defender(o), o, pd1="StickCheck", pds="u"))
        t1 = max(1, self.t - rng.randint(1, 6)) if rng.random() < 0.6 else None
        self._emit("Possession", detail, None, None, v, z, [_Part(c, v, pd1="Deke" if opp else None)], opp, t1)
        if t1 is not None:
            self.t = t1

    def _turnover(self) -> None:
        rng, v, z, c = self.rng, self.poss, self.zone, self.carrier
        o = _OTHER[v]
        j = self._defender(o)
        if rng.random() < 0.6:
            self._emit("Turnover", "Turnover_Giveaway", rng.choice(_GIVEAWAYS), "u", v, z, [_Part(c, v)],
                       [_Part(j, o)])
        else:
            self._emit("Turnover", "Turnover_Takeaway", rng.choice(_TAKEAWAYS), "s", o, _FLIP[z],
                       [_Part(j, o, pd1="PokeCheck")], [_Part(c, v, pd1="LostPuck")])
        self._take(o, _FLIP[z], j)

    def _zone_exit(self) -> None:
        rng, v, c = self.rng, self.poss, self.carrier
        o = _OTHER[v]
        kind = _pick(rng, (("ZoneExit-Rush", 45), ("ZoneExit-Pass", 30), ("ZoneExit-Clear", 25)))
        ok = rng.random() < (0.45 if kind == "ZoneExit-Clear" else 0.85)
        ev = [_Part(c, v)]
        if kind == "ZoneExit-Pass":
            ev.append(_Part(self._other_skater(v, c), v))
        opp = [_Part(self._defender(o), o)] if rng.random() < 0.5 else []
        self._emit("Zone_Entry_Exit", "Zone_Exit", kind, "s" if ok else "u", v, "d", ev, opp)
        if ok:
            self.zone = "n"
            if len(ev) > 1:
                self.carrier = ev[1].jersey
        else:
            j = opp[0].jersey if opp else self._defender(o)
            self._take(o, "o", j)

    def _zone_entry(self) -> None:
        rng, v, c = self.rng, self.poss, self.carrier
        o = _OTHER[v]
        kind = _pick(rng, (("ZoneEntry-Rush", 55), ("ZoneEntry-DumpIn", 30), ("ZoneEntry-Pass", 15)))
        ok = rng.random() < 0.8
        ev = [_Part(c, v, pressured=1 if rng.random() < 0.2 else None)]
        if kind == "ZoneEntry-Pass":
            ev.append(_Part(self._other_skater(v, c), v))
        opp = [_Part(self._defender(o), o, pd1="ZoneEntryDenial" if not ok else None)] \
            if rng.random() < 0.6 or not ok else []
        self._emit("Zone_Entry_Exit", "Zone_Entry", kind, "s" if ok else "u", v, "n", ev, opp)
        if not ok:
            self._take(o, "n", opp[0].jersey)
            return
        self.zone = "o"
        if len(ev) > 1:
            self.carrier = ev[1].jersey
        if kind == "ZoneEntry-DumpIn":
            self.t = max(1, self.t - rng.randint(2, 5))
            if rng.random() < 0.5:
                j = self._other_skater(v, c)
                self._emit("Possession", "PuckRetrieval", None, "s", v, "o",
                           [_Part(j, v, pd1="DumpChase")], [_Part(self._defender(o), o)])
                self.chain = []
                self._take(v, "o", j)
            else:
                j = self._defender(o)
                self._emit("Possession", "PuckRetrieval", None, "s", o, "d",
                           [_Part(j, o, pd1="PuckRecoveryRetreivalDumpIn")], [])
                self._take(o, "d", j)

    def _shot(self) -> None:
        rng, v, c = self.rng, self.poss, self.carrier
        o = _OTHER[v]
        goalie = self.team[o].goalie
        kind = _pick(rng, _SHOT_KINDS)
        self.shots[v] += 1
        r = rng.random()
        self.link += 1
        link = self.link
        pp_bonus = 0.06 if self.pp and self.pp[0] == o else 0.0
        if r < 0.12 + pp_bonus:
            self._goal(kind, link)
            return
        if r < 0.60:
            self._emit("Shot", "Shot_OnNetSaved", f"Shot-{kind}", "s", v, "o", [_Part(c, v)], [_Part(goalie, o)],
                       link=link)
            if rng.random() < 0.6:
                self._emit("Save", "Save_Rebound", rng.choice(_SAVE_KINDS), None, o, "d", [_Part(goalie, o)],
                           [_Part(c, v)], link=link)
                self.t = max(1, self.t - rng.randint(0, 2))
                if rng.random() < 0.55:
                    self._emit("Rebound", "Rebound_TeamRecovered", None, None, o, "d", [_Part(goalie, o)], [],
                               link=link)
                    j = self._defender(o)
                    self._emit("Possession", "PuckRecovery", None, "s", o, "d",
                               [_Part(j, o, pd1="PuckRecoveryRetreivalRebound")], [])
                    self._take(o, "d", j)
                else:
                    self._emit("Rebound", "Rebound_OppTeamRecovered", None, None, o, "d", [_Part(goalie, o)], [],
                               link=link)
                    j = self._other_skater(v, c) if rng.random() < 0.6 else c
                    self._emit("Possession", "PuckRecovery", None, "s", v, "o", [_Part(j, v)], [])
                    self.chain = []
                    self._take(v, "o", j)
            else:
                self._emit("Save", "Save_Freeze", rng.choice(_SAVE_KINDS), None, o, "d", [_Part(goalie, o)],
                           [_Part(c, v)], link=link)
                self._stoppage(o, goalie, "Stoppage-GoalieStoppage", "d")
                self._boundary(f"{_VENUE[o]} Goalie Stopped (after {_VENUE[v]} SOG)", "OtherFaceoff")
                self._faceoff("Faceoff_AfterStoppage", "o" if v == "h" else "d")
            return
        if r < 0.80:
            self._emit("Shot", "Shot_Missed", f"Shot-{kind}", "u", v, "o", [_Part(c, v)], [_Part(goalie, o)],
                       link=link)
        else:
            blocker = self._defender(o)
            self._emit("Shot", "Shot_Blocked", f"Shot-{kind}", "u", v, "o", [_Part(c, v)],
                       [_Part(blocker, o, pd1="BlockedShot")], link=link)
        self.t = max(1, self.t - rng.randint(1, 3))
        if rng.random() < 0.5:
            j = self._defender(o)
            self._emit("Possession", "PuckRetrieval", None, "s", o, "d",
                       [_Part(j, o, pd1="PuckRecoveryRetreivalShot")], [])
            self._take(o, "d", j)
        else:
            j = self._other_skater(v, c)
            self._emit("Possession", "PuckRetrieval", None, "s", v, "o", [_Part(j, v)], [])
            self.chain = []
            self._take(v, "o", j)

    def _goal(self, kind: str, link: int) -> None:
        rng, v, scorer = self.rng, self.poss, self.carrier
        o = _OTHER[v]
        goalie = self.team[o].goalie
        # Assists: the last completed passes of this possession that lead to the scorer.
        helpers: list[tuple[_Event, int]] = []
        target = scorer
        for e, passer, recv in reversed(self.chain):
            if recv != target or passer == scorer or len(helpers) == 2:
                break
            helpers.append((e, passer))
            target = passer
        for (e, passer), tag in zip(helpers, ("AssistPrimary", "AssistSecondary"), strict=False):
            part = e.ev[0]
            if part.pd1 is None:
                part.pd1 = tag
            else:
                part.pd2 = tag
            self.assists[(v, passer)] = self.assists.get((v, passer), 0) + 1
        opp = [_Part(goalie, o)]
        if rng.random() < 0.4:
            opp.append(_Part(self._defender(o), o, pd1="InShotPassLane"))
        self._emit("Shot", "Shot_Goal", f"Shot-{kind}", "s", v, "o", [_Part(scorer, v)], list(opp), link=link)
        self._emit("Goal", "Goal_Scored", f"Goal-{kind}", "s", v, "o", [_Part(scorer, v)],
                   [_Part(p.jersey, o) for p in opp], link=link)
        self._stoppage(v, scorer, "Stoppage-Goal", "o")
        self.score[v] += 1
        self.period_goals[v][self.period - 1] += 1
        self.goals[(v, scorer)] = self.goals.get((v, scorer), 0) + 1
        sh = self.shifts[-1]
        sh.plus[v] += 1
        sh.minus[o] -= 1
        if self.pp and self.pp[0] == o:
            self.pp = None  # power-play goal ends the minor
        self._boundary(f"{_VENUE[v]} Goal", "FaceoffAfterGoal")
        self._faceoff("Faceoff_AfterGoal", "n")

    def _penalty(self) -> None:
        rng = self.rng
        x = _OTHER[self.poss] if rng.random() < 0.7 else self.poss
        y = _OTHER[x]
        offender = self._defender(x)
        victim = self.carrier if y == self.poss else self._defender(y)
        zone = self.zone if x == self.poss else _FLIP[self.zone]
        self._emit("Penalty", "Penalty_Minor", rng.choice(_PENALTIES), None, x, zone, [_Part(offender, x)],
                   [_Part(victim, y)])
        self._stoppage(x, offender, "Stoppage-Penalty", zone)
        self.pim[(x, offender)] = self.pim.get((x, offender), 0) + 2
        self.pp = (x, offender, self.t - 120)
        self._close_shift(f"{_VENUE[x]} Penalty")
        self._open_shift("FaceoffAfterPenalty")
        self.next_change = self.t - rng.randint(40, 80)
        self._faceoff("Faceoff_AfterPenalty", "d" if x == "h" else "o")

    def _step(self) -> None:
        rng = self.rng
        if self.pp is None and self.t > 150 and rng.random() < 0.007:
            self._penalty()
            return
        r = rng.random()
        z = self.zone
        if z == "d":
            if r < 0.35:
                self._pass()
            elif r < 0.75:
                self._zone_exit()
            elif r < 0.85:
                self._possession()
            elif r < 0.96:
                self._turnover()
            else:
                v, c = self.poss, self.carrier
                self._stoppage(v, c, "Stoppage-Icing", "d")
                self._boundary(f"{_VENUE[v]} Icing", "OtherFaceoff", keep=v)
                self._faceoff("Faceoff_AfterStoppage", "d" if v == "h" else "o")
        elif z == "n":
            if r < 0.25:
                self._pass()
            elif r < 0.75:
                self._zone_entry()
            elif r < 0.85:
                self._possession()
            else:
                self._turnover()
        else:
            if r < 0.32:
                self._pass()
            elif r < 0.60:
                self._shot()
            elif r < 0.70:
                self._possession()
            elif r < 0.95:
                self._turnover()
            else:
                v, c = self.poss, self.carrier
                self._stoppage(v, c, "Stoppage-PuckOutofPlay", "o")
                self._boundary("Puck Out of Play", "OtherFaceoff")
                self._faceoff("Faceoff_AfterStoppage", "n")

    def _line_change(self, at: int) -> None:
        """On-the-fly change (blank start/stop types); also where an expired minor ends."""
        saved = self.t
        self.t = at
        if self.pp and self.pp[2] >= at:
            self.pp = None
        self._close_shift(None)
        r = self.rng.random()
        self._open_shift(None, ("h", "a") if r < 0.5 else ("h",) if r < 0.75 else ("a",))
        self.t = saved
        self.next_change = at - self.rng.randint(40, 80)

    def _play_period(self, p: int) -> None:
        rng = self.rng
        self.period, self.t, self.pp, self.chain = p, PERIOD_SECONDS, None, []
        if p > 1:
            # Real workbooks: an "Intermission" shift row (Period = ended period) and an Intermission
            # event whose derived period is the next one.
            self.shifts.append(_Shift(period=p - 1, start=None, end=None, start_type="Intermission",
                                      stop_type=None, lineup={}, goals=(self.score["h"], self.score["a"]),
                                      intermission=True))
            self._emit("Intermission", None, None, None, None, None, [], [])
        self._open_shift("GameStart" if p == 1 else "PeriodStart")
        self._faceoff("Faceoff_GameStart" if p == 1 else "Faceoff_PeriodStart", "n")
        self.next_change = self.t - rng.randint(40, 80)
        while True:
            t_new = self.t - rng.randint(3, 15)
            bound = self.next_change if self.pp is None else max(self.next_change, self.pp[2])
            if t_new <= bound:
                at = min(bound, self.t - 1)
                if at >= 1:
                    self._line_change(at)
                    t_new = min(t_new, at - 1)
            if t_new <= 0:
                break
            self.t = t_new
            self._step()
        self.t = 0
        last = p == N_PERIODS
        v, c = self.poss, self.carrier
        if last:
            self._emit("Stoppage", "Stoppage_GameEnd", None, None, v, self.zone, [_Part(c, v)], [])
        else:
            self._emit("Stoppage", "Stoppage_Period", "Stoppage-PeriodEnd", None, v, self.zone, [_Part(c, v)], [])
        self._close_shift("GameEnd" if last else "Period End")

    def run(self) -> None:
        """Play three periods."""
        self._emit("GameStart", None, None, None, None, None, [], [])
        for p in range(1, N_PERIODS + 1):
            self._play_period(p)
        self._emit("GameEnd", None, None, None, None, None, [], [])
