"""Deterministic generator of a small synthetic hockey league in the real workbook layout.

The output mirrors the league's real inputs so the ETL can read it like real data::

    <out>/BLB_TABLES.xlsx                          master tables (dim_player, dim_schedule, ...)
    <out>/games/<game_id>/<game_id>_tracking.xlsx  sheets ``events`` and ``shifts``

Tracking workbooks come in three styles (assigned round-robin by game), like the real files:

* ``computed``: tracker inputs on the first row of each event, times only when they change, and every
  derived (formula-cache) column filled;
* ``sparse``: ``event_type_``/``event_detail_`` on every row, ``team_``/``role_abrev_binary_`` empty,
  derived columns filled;
* ``raw``: only the tracker input columns (as in ``computed``); every derived column empty.

The league also carries the hazards of the real workbooks (``hazards=True``, see ``HAZARD_GAMES``):
blank opponent inputs (computed and raw styles), a restarted event numbering, rows of an event typed
further down, formula roles on the wrong side, jerseys typed on the wrong side, rosters whose venue
contradicts the schedule, a shifts sheet left over from another game's template, a game folder with
only old CSV exports, and the other files the league keeps in a game folder.

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
        "norad_experience", "CAF", "highest_beer_league_played", "skill_rating", "age", "referred_by",
        "notes",
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
# Tracker-typed ("input") columns are EVENT_COLUMNS up to role_abrev_binary_ and SHIFT_COLUMNS up to
# home_nzone_end; the rest are formula caches ("derived"), left empty in the raw style.

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
        jerseys = rng.sample(range(2, 99), 13)  # skaters
        jerseys.append(rng.choice([n for n in (1, 29, 30, 31, 33, 35, 39) if n not in jerseys]))
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
                jersey=jersey,
                skill=rng.randint(2, 6), birth_year=rng.randint(1970, 2003), gender="F" if female else "M",
                team_id=team.team_id, team_name=name,
            ))
            pid += 1
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
        if self.on_ice and self.carrier not in self._skaters(self.poss):
            self.carrier = self.rng.choice(self._skaters(self.poss))  # puck carrier went to the bench
        self.shifts.append(_Shift(
            period=self.period, start=self.t, end=None, start_type=start_type, stop_type=None,
            lineup={v: (list(x[0]), list(x[1]), x[2]) for v, x in self.on_ice.items()},
            goals=(self.score["h"], self.score["a"]),
        ))

    def _close_shift(self, stop_type: str | None) -> None:
        sh = self.shifts[-1]
        sh.end = self.t
        sh.stop_type = stop_type

    def _boundary(self, stop_type: str, start_type: str, keep: str | None = None,
                  force: str | None = None) -> None:
        """End the shift at a stoppage and open the next one (teams change lines at random)."""
        self._close_shift(stop_type)
        change = [v for v in ("h", "a") if v != keep and (self.rng.random() < 0.7 or v == force)]
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

    def _advance(self, lo: int, hi: int) -> None:
        """Run the clock ``lo..hi`` seconds inside a play, never past 0:01 or a pending minor's expiry."""
        floor = 1
        if self.pp is not None and self.pp[2] < self.t:
            floor = max(floor, self.pp[2] + 1)
        self.t = max(floor, self.t - self.rng.randint(lo, hi))

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
            self._advance(0, 2)
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
        timed = rng.random() < 0.6
        e = self._emit("Possession", detail, None, None, v, z, [_Part(c, v, pd1="Deke" if opp else None)],
                       opp)
        if timed:
            self._advance(1, 6)
            e.t1 = self.t

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
            self._advance(2, 5)
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
            self._emit("Shot", "Shot_OnNetSaved", f"Shot-{kind}", "s", v, "o", [_Part(c, v)],
                       [_Part(goalie, o)], link=link)
            if rng.random() < 0.6:
                self._emit("Save", "Save_Rebound", rng.choice(_SAVE_KINDS), None, o, "d", [_Part(goalie, o)],
                           [_Part(c, v)], link=link)
                self._advance(0, 2)
                if rng.random() < 0.55:
                    self._emit("Rebound", "Rebound_TeamRecovered", None, None, o, "d", [_Part(goalie, o)], [],
                               link=link)
                    j = self._defender(o)
                    self._emit("Possession", "PuckRecovery", None, "s", o, "d",
                               [_Part(j, o, pd1="PuckRecoveryRetreivalRebound")], [])
                    self._take(o, "d", j)
                else:
                    self._emit("Rebound", "Rebound_OppTeamRecovered", None, None, o, "d",
                               [_Part(goalie, o)], [], link=link)
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
        self._advance(1, 3)
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
        rng, v = self.rng, self.poss
        o = _OTHER[v]
        goalie = self.team[o].goalie
        if rng.random() < 0.65:  # most goals come off a completed pass to the shooter
            passer = self.carrier
            shooter = self._other_skater(v, passer)
            e = self._emit("Pass", "Pass_Completed", _pick(rng, _PASS_KINDS), "s", v, "o",
                           [_Part(passer, v), _Part(shooter, v)], [])
            self.chain.append((e, passer, shooter))
            self.carrier = shooter
        scorer = self.carrier
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
        force = None
        if self.pp and self.pp[0] == o:
            self.pp, force = None, o  # power-play goal ends the minor; the penalized team is back to 5
        self._boundary(f"{_VENUE[v]} Goal", "FaceoffAfterGoal", force=force)
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
            if r < 0.28:
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
        r = self.rng.random()
        change = {"h", "a"} if r < 0.5 else {"h"} if r < 0.75 else {"a"}
        if self.pp and self.pp[2] >= at:
            change.add(self.pp[0])  # minor expired: the penalized team changes back to full strength
            self.pp = None
        self._close_shift(None)
        self._open_shift(None, sorted(change, reverse=True))
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
            t_new = self.t - rng.randint(7, 19)
            ceiling = self.t - 1
            while ceiling >= 1:  # on-the-fly changes (and expiring minors) due before the next play
                bound = self.next_change if self.pp is None else max(self.next_change, self.pp[2])
                if t_new > bound or bound < 1:
                    break
                at = min(bound, ceiling)
                self._line_change(at)
                t_new = min(t_new, at - 1)
                ceiling = at - 1
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
            self._emit("Stoppage", "Stoppage_Period", "Stoppage-PeriodEnd", None, v, self.zone,
                       [_Part(c, v)], [])
        self._close_shift("GameEnd" if last else "Period End")

    def run(self) -> None:
        """Play three periods."""
        self._emit("GameStart", None, None, None, None, None, [], [])
        for p in range(1, N_PERIODS + 1):
            self._play_period(p)
        self._emit("GameEnd", None, None, None, None, None, [], [])


def _dress(rng: random.Random, team: Team) -> _Dressed:
    """Pick the game-day lineup: every rostered player, sometimes minus one scratched forward."""
    forwards = [p.jersey for p in team.players if p.position == "Forward"]
    if rng.random() < 0.3:
        forwards.remove(rng.choice(forwards))
    defense = [p.jersey for p in team.players if p.position == "Defense"]
    goalie = next(p.jersey for p in team.players if p.position == "Goalie")
    return _Dressed(forwards, defense, goalie, {p.jersey: p for p in team.players})


def _simulate(rng: random.Random, home: _Dressed, away: _Dressed) -> _GameSim:
    """Simulate until the game has 2-8 goals (deterministic for a given rng state)."""
    attempts = 0
    while True:
        sim = _GameSim(rng, home, away)
        sim.line_ptr = {"h": [rng.randrange(3), 0], "a": [rng.randrange(3), 0]}
        sim.run()
        attempts += 1
        if 2 <= sim.score["h"] + sim.score["a"] <= 8 or attempts >= 200:
            return sim


# ---------------------------------------------------------------------------------------------------------
# Workbook writing.
# ---------------------------------------------------------------------------------------------------------
def _new_workbook(path: Path) -> Any:
    wb = xlsxwriter.Workbook(str(path))
    wb.set_properties({"created": _CREATED, "author": "hockeyops sample_league"})
    return wb


def _write_rows(ws: Any, columns: Sequence[str], rows: Sequence[Sequence[Any]],
                fmts: dict[type, Any]) -> None:
    """Write a header and rows cell by cell, skipping blanks (fast path for str/int/float)."""
    w_str, w_num = ws.write_string, ws.write_number
    for c, name in enumerate(columns):
        w_str(0, c, name)
    for r, row in enumerate(rows, 1):
        for c, v in enumerate(row):
            if v is None:
                continue
            t = type(v)
            if t is str:
                w_str(r, c, v)
            elif t is int or t is float:
                w_num(r, c, v)
            elif t is bool:
                ws.write_boolean(r, c, v)
            else:  # datetime / time
                ws.write_datetime(r, c, v, fmts[t])


def _event_rows(sim: _GameSim, style: str, game_id: int, names: dict[str, str],
                ids: dict[str, dict[int, str]]) -> list[list[Any]]:
    """Expand simulated events into one row per player in the requested workbook style."""
    derived = style != "raw"
    sparse = style == "sparse"
    ncol = len(EVENT_COLUMNS)
    E = _EV
    rows: list[list[Any]] = []
    last_min: int | None = None
    last_sec: int | None = None
    zone_idx, prev_zone = 1, None
    seen_links: set[int] = set()
    for i, e in enumerate(sim.events):
        parts: list[tuple[_Part | None, bool, int]] = [(p, True, k) for k, p in enumerate(e.ev, 1)]
        parts += [(p, False, k) for k, p in enumerate(e.opp, 1)]
        if not parts:
            parts = [(None, False, 0)]
        t0 = None if e.type == "GameStart" else e.t0
        mm, ss = divmod(t0, 60) if t0 is not None else (None, None)
        em, es = divmod(e.t1, 60) if e.t1 is not None else (None, None)
        home_zone = None if e.zone is None else (e.zone if e.team == "h" else _FLIP[e.zone])
        if home_zone is not None:
            if prev_zone is not None and home_zone != prev_zone:
                zone_idx += 1
            prev_zone = home_zone
        write_min = write_sec = False
        if sparse:
            write_min = write_sec = i == 1
        elif mm is not None:
            write_min, write_sec = mm != last_min, ss != last_sec
            last_min, last_sec = mm, ss
        first_link = e.link is not None and e.link not in seen_links
        if e.link is not None:
            seen_links.add(e.link)
        duration = (e.t0 - e.t1) if e.t1 is not None else 0
        venue = _VENUE.get(e.team or "")
        run_base = (e.period - 1) * PERIOD_SECONDS
        for r, (part, is_ev, n) in enumerate(parts):
            row: list[Any] = [None] * ncol
            first = r == 0
            # ---- tracker inputs -------------------------------------------------------------------------
            if e.type != "GameStart" and (sparse or first):
                row[E["event_index_flag_"]] = 1
            if e.link is not None:
                row[E["linked_event_index_flag_"]] = 1 if (first and first_link) else "x"
                row[E["linked_event_index_"]] = e.link
            if first:
                if write_min:
                    row[E["event_start_min_"]] = mm
                if write_sec:
                    row[E["event_start_sec_"]] = ss
                if em is not None and not sparse:
                    row[E["event_end_min_"]] = em
                    row[E["event_end_sec_"]] = es
                row[E["event_team_zone_"]] = e.zone
                if not sparse and e.team is not None:
                    row[E["team_"]] = e.team
                if e.type == "GameStart":
                    row[E["role_abrev_binary_"]] = "x"
            if first or sparse:
                row[E["event_type_"]] = e.type
                row[E["event_detail_"]] = e.detail
                row[E["event_detail_2_"]] = e.detail2
                row[E["event_successful_"]] = e.succ
            row[E["event_index_"]] = i
            if part is not None:
                if not sparse:
                    row[E["player_game_number_"]] = part.jersey
                    if is_ev:
                        row[E["role_abrev_binary_"]] = 1
                row[E["player_game_number"]] = part.jersey
                row[E["play_detail1_"]] = part.pd1
                row[E["play_detail2_"]] = part.pd2
                row[E["play_detail_successful_"]] = part.pds
                row[E["pressured_pressurer_"]] = part.pressured
            # ---- formula caches ---------------------------------------------------------------------------
            if derived:
                row[E["period"]] = e.period
                row[E["event_index"]] = 1000 + i
                linked = 9000 + e.link if e.link is not None else None
                row[E["linked_event_index"]] = linked
                row[E["tracking_event_index"]] = linked if linked is not None else 1000 + i
                if t0 is not None:
                    row[E["event_start_min"]] = mm
                    row[E["event_start_sec"]] = ss
                    row[E["time_start_total_seconds"]] = t0
                    row[E["time_end_total_seconds"]] = e.t1 if e.t1 is not None else t0
                    row[E["duration"]] = duration
                    row[E["running_intermission_duration"]] = 0
                    row[E["running_video_time"]] = run_base + PERIOD_SECONDS - t0
                    row[E["event_running_start"]] = run_base + PERIOD_SECONDS - t0
                    row[E["event_running_end"]] = run_base + PERIOD_SECONDS - t0 + duration
                row[E["period_start_total_running_seconds"]] = run_base
                if em is not None:
                    row[E["event_end_min"]] = em
                    row[E["event_end_sec"]] = es
                if e.zone is not None:
                    row[E["event_team_zone2_"]] = e.zone
                    row[E["event_team_zone"]] = e.zone
                    row[E["home_team_zone"]] = home_zone
                    row[E["away_team_zone"]] = _FLIP[home_zone] if home_zone else None
                    if first:
                        row[E["home_team_zone_"]] = home_zone
                        row[E["away_team_zone_"]] = row[E["away_team_zone"]]
                if venue is not None:
                    row[E["team_venue_"]] = venue
                    row[E["team_venue_abv_"]] = e.team
                    row[E["team_venue"]] = venue
                    row[E["team_venue_abv"]] = e.team
                row[E["zone_change_index"]] = zone_idx
                row[E["game_id"]] = game_id
                row[E["home_team"]] = names["h"]
                row[E["away_team"]] = names["a"]
                row[E["Type"]] = e.type
                row[E["event_detail"]] = e.detail
                row[E["event_detail_2"]] = e.detail2
                row[E["event_successful"]] = e.succ
                if e.type not in ("GameStart", "GameEnd"):
                    row[E["shift_index"]] = e.shift
                if part is not None:
                    row[E["role_abrev"]] = "e" if is_ev else "o"
                    row[E["side_of_puck"]] = "Offensive" if is_ev else "Defensive"
                    row[E["play_detail1"]] = part.pd1
                    row[E["play_detail_2"]] = part.pd2
                    row[E["play_detail_successful"]] = part.pds
                    row[E["pressured_pressurer"]] = part.pressured
                    row[E["player_role"]] = f"{'event' if is_ev else 'opp'}_team_player_{n}"
                    row[E["role_number"]] = n
                    row[E["player_id"]] = ids[part.venue][part.jersey]
                    row[E["player_team"]] = names[part.venue]
            rows.append(row)
    return rows


def _shift_rows(sim: _GameSim, style: str, game_id: int, names: dict[str, str]) -> list[list[Any]]:
    """One row per shift (plus the real workbooks' 'Intermission' rows) in the requested style."""
    derived = style != "raw"
    S = _SH
    rows: list[list[Any]] = []
    for k, sh in enumerate(sim.shifts, 1):
        row: list[Any] = [None] * len(SHIFT_COLUMNS)
        row[S["shift_index"]] = k
        row[S["Period"]] = sh.period
        row[S["shift_start_type"]] = sh.start_type
        row[S["stoppage_time"]] = 0
        if derived:
            row[S["game_id"]] = game_id
            row[S["home_team"]] = names["h"]
            row[S["away_team"]] = names["a"]
            row[S["home_goals"]], row[S["away_goals"]] = sh.goals
            row[S["home_team_plus"]] = sh.plus["h"]
            row[S["home_team_minus"]] = sh.minus["h"]
            row[S["away_team_plus"]] = sh.plus["a"]
            row[S["away_team_minus"]] = sh.minus["a"]
            row[S["period_start_total_running_seconds"]] = (sh.period - 1) * PERIOD_SECONDS
        if sh.intermission or sh.start is None or sh.end is None:
            rows.append(row)
            continue
        row[S["shift_start_min"]], row[S["shift_start_sec"]] = divmod(sh.start, 60)
        row[S["shift_end_min"]], row[S["shift_end_sec"]] = divmod(sh.end, 60)
        row[S["shift_stop_type"]] = sh.stop_type
        strength = {}
        for v, side in (("h", "home"), ("a", "away")):
            fw, df, g = sh.lineup[v]
            for n, j in enumerate(fw, 1):
                row[S[f"{side}_forward_{n}"]] = j
            for n, j in enumerate(df, 1):
                row[S[f"{side}_defense_{n}"]] = j
            row[S[f"{side}_goalie"]] = g
            strength[v] = sum(1 for j in fw + df if j is not None)
        if derived:
            hs, as_ = strength["h"], strength["a"]
            run = (sh.period - 1) * PERIOD_SECONDS + PERIOD_SECONDS - sh.start
            row[S["shift_start_total_seconds"]] = sh.start
            row[S["shift_end_total_seconds"]] = sh.end
            row[S["shift_duration"]] = sh.start - sh.end
            row[S["home_team_strength"]] = hs
            row[S["away_team_strength"]] = as_
            row[S["home_team_en"]] = 0
            row[S["away_team_en"]] = 0
            row[S["home_team_pk"]] = int(hs < as_)
            row[S["home_team_pp"]] = int(hs > as_)
            row[S["away_team_pp"]] = int(as_ > hs)
            row[S["away_team_pk"]] = int(as_ < hs)
            row[S["situation"]] = ("Full Strength" if hs == as_
                                   else "Home PowerPlay" if hs > as_ else "Away PowerPlay")
            row[S["strength"]] = f"{hs}v{as_}"
            row[S["running_video_time"]] = run
            row[S["shift_start_running_time"]] = run
            row[S["shift_end_running_time"]] = run + sh.start - sh.end
        rows.append(row)
    return rows


def _write_tracking(path: Path, sim: _GameSim, style: str, game_id: int, home: Team, away: Team,
                    hazards: Sequence[str] = (), leftover: tuple[Team, Team] | None = None) -> int:
    """Write ``<id>_tracking.xlsx`` with the requested hazards; returns the number of event rows.

    ``leftover``: the shifts sheet is a one-row leftover of another game's template (those teams).
    """
    names = {"h": home.name, "a": away.name}
    ids = {"h": {p.jersey: p.player_id for p in home.players},
           "a": {p.jersey: p.player_id for p in away.players}}
    ev_rows = _event_rows(sim, style, game_id, names, ids)
    sh_rows = _shift_rows(sim, style, game_id, names) if leftover is None else _leftover_shifts(*leftover)
    for hazard in hazards:
        if hazard in _ROW_HAZARDS:
            _ROW_HAZARDS[hazard](ev_rows, sim, ids, names)
    _write_book(path, ev_rows, sh_rows)
    if "folder_extras" in hazards:
        _folder_extras(path.parent, game_id, ev_rows, sh_rows)
    return len(ev_rows)


def _write_book(path: Path, ev_rows: list[list[Any]], sh_rows: list[list[Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = _new_workbook(path)
    _write_rows(wb.add_worksheet("events"), EVENT_COLUMNS, ev_rows, {})
    _write_rows(wb.add_worksheet("shifts"), SHIFT_COLUMNS, sh_rows, {})
    wb.close()


# ---------------------------------------------------------------------------------------------------------
# Hazards of the league's real workbooks, injected into chosen games so the portable tests meet each rule.
# Blank opponent inputs need no injection: the computed and raw styles leave role_abrev_binary_ blank on
# opponents' rows, and the raw style has no player_role to fall back on.
# ---------------------------------------------------------------------------------------------------------
# game position (0-based, among the played games) -> hazards of its tracking workbook
HAZARD_GAMES: dict[int, tuple[str, ...]] = {
    0: ("split_event", "wrong_derived_side", "folder_extras"),  # computed style
    1: ("wrong_side_jerseys",),  # sparse style
    3: ("restarted_numbering",),  # computed style
}
ROSTER_VENUE_EVERY = 3  # every 3rd game's roster labels its home team 'away' (as the real master often does)
RESTARTED_EVENTS = 20  # events of the block whose numbers the tracker restarts (as in a real game)
WRONG_SIDE_ROWS = 4  # opponent rows that get a jersey of the event team
_E = _EV


def _event_numbers(rows: list[list[Any]]) -> list[int]:
    return [r[_E["event_index_"]] for r in rows]


def _rows_of(rows: list[list[Any]], number: int) -> list[int]:
    return [k for k, r in enumerate(rows) if r[_E["event_index_"]] == number]


def _restart_numbering(rows: list[list[Any]], sim: _GameSim, ids: dict, names: dict) -> None:
    """The tracker restarts its numbering: the RESTARTED_EVENTS events around the start of period 3 reuse
    the numbers of the events just before them; formula roles count on across both uses of a number (as
    the real formulas do)."""
    start = next(i for i, e in enumerate(sim.events) if e.period == N_PERIODS) - RESTARTED_EVENTS // 2
    block = range(start, start + RESTARTED_EVENTS)
    earlier: dict[tuple[int, str], int] = {}
    for row in rows:
        role = row[_E["player_role"]]
        if role is not None and row[_E["event_index_"]] not in block:
            key = (row[_E["event_index_"]], role.rsplit("_", 1)[0])
            earlier[key] = earlier.get(key, 0) + 1
    for row in rows:
        number = row[_E["event_index_"]]
        if number not in block:
            continue
        new = number - RESTARTED_EVENTS
        row[_E["event_index_"]] = new
        if row[_E["event_index"]] is not None:
            row[_E["event_index"]] = 1000 + new
        role = row[_E["player_role"]]
        if role is not None:
            side = role.rsplit("_", 1)[0]
            n = row[_E["role_number"]] + earlier.get((new, side), 0)
            row[_E["player_role"]], row[_E["role_number"]] = f"{side}_{n}", n


def _split_event(rows: list[list[Any]], sim: _GameSim, ids: dict, names: dict) -> None:
    """Rows of one event typed further down: a pass's opponent row moves below the next event."""
    for i, e in enumerate(sim.events):
        if i > 20 and e.type == "Pass" and e.opp and e.ev and e.period == 1:
            own = _rows_of(rows, i)
            after = _rows_of(rows, i + 1)
            moved = [k for k in own if rows[k][_E["player_role"]].startswith("opp")]
            block = [rows[k] for k in moved]
            for k in reversed(moved):
                del rows[k]
            at = after[-1] - len(moved) + 1
            rows[at:at] = block
            return


def _wrong_derived_side(rows: list[list[Any]], sim: _GameSim, ids: dict, names: dict) -> None:
    """A faceoff whose formula roles name the wrong sides while the typed role_abrev_binary_ is right."""
    faceoffs = [i for i, e in enumerate(sim.events) if e.type == "Faceoff" and e.opp]
    own = _rows_of(rows, faceoffs[3])
    winner = next(k for k in own if rows[k][_E["player_role"]] == "event_team_player_1")
    loser = next(k for k in own if rows[k][_E["player_role"]] == "opp_team_player_1")
    for col in ("player_role", "role_number", "role_abrev", "side_of_puck"):
        rows[winner][_E[col]], rows[loser][_E[col]] = rows[loser][_E[col]], rows[winner][_E[col]]


def _wrong_side_jerseys(rows: list[list[Any]], sim: _GameSim, ids: dict, names: dict) -> None:
    """Opponent rows of a few passes carry a jersey that only the event team has (typed on the wrong side)."""
    changed = 0
    for i, e in enumerate(sim.events):
        if changed == WRONG_SIDE_ROWS:
            return
        if i < 30 or i % 7 or e.type != "Pass" or not e.opp or e.team is None:
            continue
        v, o = e.team, _OTHER[e.team]
        candidates = [j for j in sorted(ids[v]) if j not in ids[o]
                      and j in sim.team[v].forwards + sim.team[v].defense]
        for k in _rows_of(rows, i):
            if rows[k][_E["player_role"]] == "opp_team_player_1" and candidates:
                j = candidates[changed % len(candidates)]
                rows[k][_E["player_game_number"]] = j
                if rows[k][_E["player_game_number_"]] is not None:
                    rows[k][_E["player_game_number_"]] = j
                rows[k][_E["player_id"]] = ids[v][j]
                rows[k][_E["player_team"]] = names[v]
                changed += 1
                break


_ROW_HAZARDS: dict[str, Callable[..., None]] = {
    "restarted_numbering": _restart_numbering,
    "split_event": _split_event,
    "wrong_derived_side": _wrong_derived_side,
    "wrong_side_jerseys": _wrong_side_jerseys,
}


def _leftover_shifts(home: Team, away: Team) -> list[list[Any]]:
    """A shifts sheet that is a one-row leftover of another game's template: 82 s, that game's jerseys."""
    row: list[Any] = [None] * len(SHIFT_COLUMNS)
    S = _SH
    row[S["shift_index"]], row[S["Period"]] = 1, 1
    row[S["shift_start_min"]], row[S["shift_start_sec"]] = 18, 0
    row[S["shift_end_min"]], row[S["shift_end_sec"]] = 16, 38
    row[S["shift_start_type"]] = "GameStart"
    for side, team in (("home", home), ("away", away)):
        skaters = [p.jersey for p in team.players if p.position != "Goalie"]
        for slot, j in zip(("forward_1", "forward_2", "forward_3", "defense_1", "defense_2"), skaters, strict=False):
            row[S[f"{side}_{slot}"]] = j
        row[S[f"{side}_goalie"]] = next(p.jersey for p in team.players if p.position == "Goalie")
    return [row]


def _folder_extras(folder: Path, game_id: int, ev_rows: list[list[Any]], sh_rows: list[list[Any]]) -> None:
    """What else the league keeps in a game folder (the ETL must ignore all of it): video times, an info
    checklist, old tracker CSV exports and an older, shorter copy of the tracking workbook in events/."""
    wb = _new_workbook(folder / f"{game_id}_video_times.xlsx")
    _write_rows(wb.add_worksheet("video_times"), ("game_id", "video_url", "start_offset_seconds"),
                [[game_id, f"{_URL}/video/{game_id}", 42]], {})
    wb.close()
    (folder / "!info.txt").write_text(f"game {game_id}: tracked, checked\n", encoding="utf-8")
    _write_book(folder / "events" / f"{game_id}_tracking.xlsx", ev_rows[:60], sh_rows[:5])
    _write_csv_export(folder, game_id)


def _write_csv_export(folder: Path, game_id: int) -> None:
    """Old tracker CSV exports (events/, shots/), as the league keeps them; not read by the ETL."""
    for sub, header, line in (("events", "event_index,period,clock,team,type,detail,jersey",
                               "1,1,18:00,h,Faceoff,Faceoff_GameStart,9"),
                              ("shots", "shot_index,period,clock,team,jersey,result", "1,1,17:21,a,14,Saved")):
        (folder / sub).mkdir(parents=True, exist_ok=True)
        (folder / sub / f"{game_id}_1.csv").write_text(f"{header}\n{line}\n", encoding="utf-8")


@dataclass(slots=True)
class _Played:
    game_id: int
    date: datetime
    time: time
    home: Team
    away: Team
    style: str
    sim: _GameSim | None
    dressed: dict[str, _Dressed] | None
    rows: int = 0
    path: str = ""
    roster_home_as_away: bool = False  # hazard: the master roster labels the home team 'away'


def _schedule_row(idx: int, g: _Played) -> list[Any]:
    h, a = g.home, g.away
    gid = g.game_id
    lo, hi = sorted((h.team_id, a.team_id))
    row: list[Any] = [
        idx, gid, SEASON, SEASON_ID, f"{_URL}/event/{gid}/", f"{gid}{h.team_id}", f"{gid}{a.team_id}", g.date,
        g.time, h.name, a.name, h.team_id, a.team_id, f"{lo}_{hi}", "Regular", None,
    ]
    sim = g.sim
    if sim is None:  # future game: no result yet
        row += [None, time(0, 18), "0:00:00", None] + [None] * 20
    else:
        hg, ag = sim.score["h"], sim.score["a"]
        hw, hl, ht = int(hg > ag), int(hg < ag), int(hg == ag)
        row += ["Regulation", time(0, 18), "0:00:00", None, hg, ag, *sim.period_goals["h"], None,
                *sim.period_goals["a"], None, None, None, hw, hl, ht, 2 * hw + ht, hl, hw, ht, 2 * hl + ht]
    row += [None] * 5
    return row


def _roster_rows(games: Sequence[_Played]) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for g in games:
        sim, dressed = g.sim, g.dressed
        if sim is None or dressed is None:
            continue
        teams = {"h": g.home, "a": g.away}
        for v in ("h", "a"):
            team, opp = teams[v], teams[_OTHER[v]]
            d = dressed[v]
            jerseys = sorted(d.forwards + d.defense) + [d.goalie]
            for j in jerseys:
                p = d.by_jersey[j]
                ga = sim.score[_OTHER[v]] if p.position == "Goalie" else 0
                rows.append([
                    len(rows), g.game_id, f"{g.game_id}{team.team_id}", f"{g.game_id}{opp.team_id}",
                    f"{g.game_id}{team.team_id}{p.player_id}",
                    "home" if v == "h" and not g.roster_home_as_away else "away", team.name,
                    opp.name, j, f"{p.full} – {p.skill}", p.position, 1, sim.goals.get((v, j), 0),
                    sim.assists.get((v, j), 0), ga, sim.pim.get((v, j), 0),
                    int(p.position == "Goalie" and ga == 0), team.team_id, opp.team_id,
                    f"{g.game_id}{team.name}{j}", p.full, p.player_id, g.date, SEASON, None, team.name,
                    p.skill,
                ])
    return rows


def _write_master(path: Path, teams: Sequence[Team], games: Sequence[_Played], seed: int) -> None:
    """Write BLB_TABLES.xlsx with the nine master sheets the ETL reads."""
    rng = random.Random(f"hockeyops-sample:{seed}:master")
    players = [p for t in teams for p in t.players]
    sheets: dict[str, list[list[Any]]] = {}
    sheets["dim_player"] = []
    for i, p in enumerate(players):
        alias_first, alias_last = rng.choice(_FIRST_M + _FIRST_F), rng.choice(_LAST)
        sheets["dim_player"].append([
            i, p.first, p.last, p.full, p.player_id, p.position, p.skill, None, p.birth_year, p.gender,
            rng.choice(_BEER_LEAGUES), max(1, min(6, p.skill + rng.choice((-1, 0, 0, 1)))), None,
            p.leadership,
            "Y", None, None, None, p.team_name, None, p.team_id, None, None,
            f"{_URL}/player/{p.first.lower()}-{p.last.lower()}/", None,
            # anonymising alias; like the real sheet, shifted one column (full alias under *_first_name)
            f"{alias_first} {alias_last}", alias_first, alias_last,
        ])
    sheets["dim_team"] = [
        [i, t.name, t.team_id, "Y", "N", "N", "NORAD", t.long_name, t.code, *t.colors, None, None,
         f"{_URL}/team/{t.name.lower()}/"]
        for i, t in enumerate(teams)
    ]
    sheets["dim_league"] = [[0, "N", "NORAD"], [1, "C", "CSAHA"]]
    sheets["dim_season"] = [[0, SEASON_ID, SEASON, "F", "Y", "N", "N", "NORAD", datetime(2025, 8, 1)]]
    sheets["dim_schedule"] = [_schedule_row(i, g) for i, g in enumerate(games)]
    sheets["fact_gameroster"] = _roster_rows(games)
    reg, draft, lead = [], [], []
    order = sorted(players, key=lambda p: (-p.skill, p.player_id))
    by_team = {t.team_id: t for t in teams}
    for i, p in enumerate(order):
        restricted = rng.random() < 0.3
        reg.append([
            i, p.full, p.player_id, SEASON_ID, SEASON, "Y" if restricted else "N",
            f"{p.first}.{p.last}{rng.randint(1, 99)}@example.com".lower(), p.position, str(rng.randint(0, 8)),
            "Yes" if rng.random() < 0.15 else "No", rng.choice(_BEER_LEAGUES) or "-", p.skill,
            str(2025 - p.birth_year), "-", None, "N", p.team_name, p.team_id, f"R_{SEASON_ID}{p.player_id}",
        ])
    skaters = [p for p in order if p.position != "Goalie"]
    unrestricted = 0
    for i, p in enumerate(skaters):
        restricted = reg[order.index(p)][5] == "Y"
        if not restricted:
            unrestricted += 1
        draft.append([
            i, p.team_id, p.skill, 7 - p.skill, p.full, p.player_id, by_team[p.team_id].name, restricted,
            i // len(teams) + 1, i + 1, 0 if restricted else unrestricted, SEASON, SEASON_ID, "NORAD",
            f"DRAFT_{SEASON_ID}{p.player_id}",
        ])
    for p in players:
        if p.leadership:
            lead.append([len(lead), p.full, p.player_id, p.leadership, p.skill,
                         f"{p.full} ({p.leadership}) – {p.skill}", p.team_name, p.team_id, SEASON, SEASON_ID])
    sheets["fact_registration"] = reg
    sheets["fact_draft"] = draft
    sheets["fact_leadership"] = lead
    wb = _new_workbook(path)
    fmts = {datetime: wb.add_format({"num_format": "yyyy-mm-dd"}),
            time: wb.add_format({"num_format": "hh:mm:ss"})}
    for name, columns in MASTER_COLUMNS.items():
        _write_rows(wb.add_worksheet(name), columns, sheets[name], fmts)
    wb.close()


def _clean_stale(games_dir: Path, keep: set[int]) -> None:
    """Remove tracking files left by an earlier, larger run (``<id>/<id>_tracking.xlsx``, ids >= 30001)."""
    if not games_dir.is_dir():
        return
    for d in games_dir.iterdir():
        if not (d.is_dir() and d.name.isdigit()) or int(d.name) < FIRST_GAME_ID or int(d.name) in keep:
            continue
        f = d / f"{d.name}_tracking.xlsx"
        if f.is_file():
            f.unlink()
        if not any(d.iterdir()):
            d.rmdir()


def generate_league(out_dir: str | Path, games: int = 6, seed: int = 7,
                    progress: Callable[[int, int], None] | None = None, hazards: bool = True) -> dict[str, Any]:
    """Generate the sample league under ``out_dir`` and return a summary.

    ``games`` played games (ids 30001, 30002, ...) get a tracking workbook each; the schedule also lists
    ``N_FUTURE_GAMES`` unplayed games.  Game ``n`` depends only on ``(seed, n)``, so a larger run is a
    superset of a smaller one.  ``progress(done, total)`` is called after each game.

    With ``hazards`` (the default) the league carries the real workbooks' hazards: the games of
    ``HAZARD_GAMES`` get theirs, every ``ROSTER_VENUE_EVERY``-th roster labels its home team 'away',
    and two more played games follow the ``games``: one whose shifts sheet is a one-row leftover of
    another game's template, and one whose folder holds only old CSV exports (no workbook).
    """
    if games < 0:
        raise ValueError("games must be >= 0")
    out = Path(out_dir)
    games_dir = out / "games"
    games_dir.mkdir(parents=True, exist_ok=True)
    teams = _build_teams(seed)
    extras = 2 if hazards and games else 0
    pairs = _matchups(len(teams), games + extras + N_FUTURE_GAMES)
    per_day = len(teams) // 2
    played: list[_Played] = []
    for i, (h, a) in enumerate(pairs):
        gid = FIRST_GAME_ID + i
        day = SEASON_START + timedelta(weeks=i // per_day)
        g = _Played(gid, day, GAME_TIMES[i % per_day % len(GAME_TIMES)], teams[h], teams[a], STYLES[i % 3],
                    None, None, roster_home_as_away=hazards and i % ROSTER_VENUE_EVERY == ROSTER_VENUE_EVERY - 1)
        if i < games + extras:
            rng = random.Random(f"hockeyops-sample:{seed}:game:{gid}")
            dressed = {"h": _dress(rng, teams[h]), "a": _dress(rng, teams[a])}
            g.sim = _simulate(rng, dressed["h"], dressed["a"])
            g.dressed = dressed
            folder = games_dir / str(gid)
            path = folder / f"{gid}_tracking.xlsx"
            if i == games + 1:  # hazard: only old CSV exports, no tracking workbook
                path.unlink(missing_ok=True)
                _write_csv_export(folder, gid)
            else:
                leftover = None
                if i == games:  # hazard: shifts left over from another game's template
                    leftover = tuple(t for t in teams if t not in (teams[h], teams[a]))[:2]
                g.rows = _write_tracking(path, g.sim, g.style, gid, teams[h], teams[a],
                                         HAZARD_GAMES.get(i, ()) if hazards else (), leftover)
                g.path = str(path)
            if progress is not None and i < games:
                progress(i + 1, games)
        played.append(g)
    _clean_stale(games_dir, {g.game_id for g in played[:games + extras]})
    master = out / "BLB_TABLES.xlsx"
    _write_master(master, teams, played, seed)
    return {
        "out_dir": str(out),
        "master": str(master),
        "seed": seed,
        "season_id": SEASON_ID,
        "teams": [t.name for t in teams],
        "players": sum(len(t.players) for t in teams),
        "games": [
            {
                "game_id": g.game_id, "date": g.date.date().isoformat(), "home_team": g.home.name,
                "away_team": g.away.name, "home_goals": g.sim.score["h"], "away_goals": g.sim.score["a"],
                "style": g.style, "events": len(g.sim.events), "rows": g.rows, "shifts": len(g.sim.shifts),
                "path": g.path,
            }
            for g in played[:games] if g.sim is not None
        ],
        "hazard_games": [g.game_id for g in played[games:games + extras]],
        "future_games": [g.game_id for g in played[games + extras:]],
    }
