"""Tables built from the master workbook alone, plus the static dimensions."""
from __future__ import annotations

import pandas as pd

from ..codes import clean_text, jersey, to_number, yes_no
from ..issues import IssueLog
from .seasons import season_stats
from .tracking import MAX_PERIOD, period_key

PERIOD_SECONDS = 18 * 60
REGULATION_PERIODS = 3
OT_SECONDS = 5 * 60  # an overtime period's length
# dim_schedule's per-period goal columns: {venue}_team_period{label}_goals; OT counts as period 4.
PERIOD_GOAL_LABELS = (("1", 1), ("2", 2), ("3", 3), ("OT", 4))


def _text(df: pd.DataFrame, column: str) -> pd.Series:
    if column not in df.columns:
        return pd.Series(pd.NA, index=df.index, dtype="string")
    return clean_text(df[column])


def _int(df: pd.DataFrame, column: str, issues: IssueLog | None = None, file: str = "",
         sheet: str = "") -> pd.Series:
    if column not in df.columns:
        return pd.Series(pd.NA, index=df.index, dtype="Int64")
    num, bad = to_number(df[column])
    if issues is not None and bad.any():
        issues.add_cells(file, sheet, column, df.index[bad].to_series() + 2,
                         "text where a number is expected", "value left empty", kind="not_a_number")
    return num.round().astype("Int64")


def _date(df: pd.DataFrame, column: str) -> pd.Series:
    if column not in df.columns:
        return pd.Series(pd.NaT, index=df.index)
    return pd.to_datetime(df[column], errors="coerce").dt.date


def _dedupe(df: pd.DataFrame, key: str, issues: IssueLog, file: str, sheet: str) -> pd.DataFrame:
    """Drop rows without a key and later duplicates of a key, recording both."""
    missing = df[key].isna()
    for row in (df.index[missing] + 2).tolist():
        issues.add(file, f"row has no {key}", "row skipped", kind="missing_key", sheet=sheet, row=row, column=key)
    df = df[~missing]
    dup = df[key].duplicated()
    for row in (df.index[dup] + 2).tolist():
        issues.add(file, f"duplicate {key}", "later row skipped", kind="duplicate_key", sheet=sheet, row=row,
                   column=key)
    return df[~dup]


class League:
    """Master data the per-game builders look things up in."""

    def __init__(self, schedule: pd.DataFrame, roster: pd.DataFrame, players: pd.DataFrame,
                 period_goals: dict[int, dict[tuple[str, int], int]] | None = None) -> None:
        self.schedule = schedule.set_index("game_id", drop=False)
        self.roster = roster
        self.players = players
        self.period_goals = period_goals or {}
        self._roster_by_game = {g: df for g, df in roster.groupby("game_id", sort=False)}

    def game(self, game_id: int) -> pd.Series | None:
        if game_id in self.schedule.index:
            return self.schedule.loc[game_id]
        return None

    def official_goals(self, game_id: int, venue: str, periods: set[int]) -> int | None:
        """Official goals of ``venue`` ('home'/'away') scored in ``periods``; None when unknown.

        The schedule's per-period goals of ``periods`` where it has them (``period_goal_table``), else
        the final score when every regulation period is covered.
        """
        sched = self.game(game_id)
        if sched is None:
            return None
        total = sched[f"{venue}_total_goals"]
        if set(range(1, REGULATION_PERIODS + 1)) <= periods and not self.period_goals.get(game_id):
            return None if pd.isna(total) else int(total)
        by_period = self.period_goals.get(game_id)
        if by_period is None:
            return None
        return int(sum(n for (v, p), n in by_period.items() if v == venue and p in periods))

    def game_roster(self, game_id: int) -> pd.DataFrame:
        empty = self.roster.iloc[0:0]
        return self._roster_by_game.get(game_id, empty)


def build_master(frames: dict[str, pd.DataFrame], file: str, issues: IssueLog) -> tuple[dict, League]:
    """Master-grain tables (by catalog name) and the League lookup object."""
    out: dict[str, pd.DataFrame] = {}

    p = frames["dim_player"].copy()
    p["player_id"] = _text(p, "player_id")
    p = _dedupe(p, "player_id", issues, file, "dim_player")
    out["dim_player"] = pd.DataFrame({
        "player_id": p["player_id"], "player_name": _text(p, "player_full_name"),
        "player_first_name": _text(p, "player_first_name"),
        "player_last_name": _text(p, "player_last_name"),
        "player_full_name": _text(p, "player_full_name"),
        "player_primary_position": _text(p, "player_primary_position"),
        "current_skill_rating": _int(p, "current_skill_rating", issues, file, "dim_player"),
        "player_hand": _text(p, "player_hand"),
        "birth_year": _int(p, "birth_year", issues, file, "dim_player"),
        "player_gender": _text(p, "player_gender"),
        "highest_beer_league": _text(p, "highest_beer_league"),
        "player_leadership": _text(p, "player_leadership"),
        "player_norad_current_team_id": _text(p, "player_norad_current_team_id"),
        "team_id": _text(p, "player_norad_current_team_id"),
        "player_norad_current_team": _text(p, "player_norad_current_team"),
        "jersey_number": (jersey(p["player_norad_primary_number"])[0] if "player_norad_primary_number" in p
                          else pd.Series(pd.NA, index=p.index, dtype="string")),
        "player_rating_ly": _int(p, "player_rating_ly", issues, file, "dim_player"),
        "player_url": _text(p, "player_url"), "other_url": _text(p, "other_url"),
        "player_image": _text(p, "player_image"),
    })

    t = frames["dim_team"].copy()
    t["team_id"] = _text(t, "team_id")
    t = _dedupe(t, "team_id", issues, file, "dim_team")
    out["dim_team"] = pd.DataFrame({
        "team_id": t["team_id"], "team_name": _text(t, "team_name"),
        "long_team_name": _text(t, "long_team_name"), "team_cd": _text(t, "team_cd"),
        "league_id": _text(t, "league_id"), "is_norad": yes_no(t["norad_team"]) if "norad_team" in t else pd.NA,
        "team_color1": _text(t, "team_color1"), "team_color2": _text(t, "team_color2"),
        "primary_color": _text(t, "team_color1"),
        "team_logo": _text(t, "team_logo"), "team_url": _text(t, "team_url"),
    })
    team_ids = set(out["dim_team"]["team_id"].dropna())

    lg = frames.get("dim_league", pd.DataFrame(columns=["league_id", "league"])).copy()
    lg["league_id"] = _text(lg, "league_id")
    lg = _dedupe(lg, "league_id", issues, file, "dim_league")
    out["dim_league"] = pd.DataFrame({"league_id": lg["league_id"], "league": _text(lg, "league")})

    se = frames.get("dim_season", pd.DataFrame(columns=["season_id"])).copy()
    se["season_id"] = _text(se, "season_id")
    se = _dedupe(se, "season_id", issues, file, "dim_season")
    out["dim_season"] = pd.DataFrame({
        "season_id": se["season_id"], "season": _int(se, "season"), "session": _text(se, "session"),
        "league_id": _text(se, "league_id"), "start_date": _date(se, "start_date"),
    })

    s = frames["dim_schedule"].copy()
    s["game_id"] = _int(s, "game_id", issues, file, "dim_schedule")
    s = _dedupe(s, "game_id", issues, file, "dim_schedule")
    s["home_team_id"] = _text(s, "home_team_id")
    s["away_team_id"] = _text(s, "away_team_id")
    unknown = ~(s["home_team_id"].isin(team_ids) & s["away_team_id"].isin(team_ids))
    for row in (s.index[unknown] + 2).tolist():
        issues.add(file, "game has no known home and away team (test or placeholder game)",
                   "game left out of the schedule", kind="placeholder_game", sheet="dim_schedule", row=row,
                   column="home_team_id")
    s = s[~unknown]
    schedule = pd.DataFrame({
        "game_id": s["game_id"], "season": _int(s, "season"), "season_id": _text(s, "season_id"),
        "date": _date(s, "date"), "game_time": _text(s, "game_time"),
        "home_team_id": s["home_team_id"], "away_team_id": s["away_team_id"],
        "home_team_name": _text(s, "home_team_name"), "away_team_name": _text(s, "away_team_name"),
        "game_type": _text(s, "game_type"), "playoff_round": _text(s, "playoff_round"),
        "last_period_type": _text(s, "last_period_type"),
        "home_total_goals": _int(s, "home_total_goals", issues, file, "dim_schedule"),
        "away_total_goals": _int(s, "away_total_goals", issues, file, "dim_schedule"),
        "official_home_goals": _int(s, "home_total_goals"), "official_away_goals": _int(s, "away_total_goals"),
        "game_url": _text(s, "game_url"), "video_url": _text(s, "video_url"),
        "video_start_offset": to_number(s["video_start_time"])[0] if "video_start_time" in s else pd.NA,
        "video_url_1": _text(s, "video_url"), "video_url_2": pd.Series(pd.NA, index=s.index, dtype="string"),
        **{c: pd.Series(pd.NA, index=s.index, dtype="Int64") for c in TRACKED_SCHEDULE_COUNTS},
        **{f"{v}_team_period{p}_goals": _int(s, f"{v}_team_period{p}_goals") for v in ("home", "away")
           for p in (1, 2, 3)},
    })
    schedule["schedule_type"] = schedule_types(s, schedule)
    schedule["include"] = yes_no(s["include"]).fillna(True) if "include" in s else True
    league_of = out["dim_season"].set_index("season_id")["league_id"]
    schedule["league_id"] = schedule["season_id"].map(league_of)
    out["dim_schedule"] = schedule

    r = frames["fact_gameroster"].copy()
    r["game_id"] = _int(r, "game_id", issues, file, "fact_gameroster")
    r["team_id"] = _text(r, "team_id")
    num, bad = jersey(r["player_game_number"])
    if bad.any():
        issues.add_cells(file, "fact_gameroster", "player_game_number", r.index[bad].to_series() + 2,
                         "jersey is not a number", "jersey left empty", kind="not_a_number")
    r["jersey"] = num
    r["player_id"] = _text(r, "player_id")
    r = r[r["game_id"].notna() & r["team_id"].notna()]
    key = (r["game_id"].astype(str) + r["team_id"] + r["player_id"].fillna("J" + r["jersey"].fillna("")))
    r["player_game_id"] = key
    r = _dedupe(r, "player_game_id", issues, file, "fact_gameroster")
    venue, opp_team = roster_venues(r, schedule, file, issues)
    roster = pd.DataFrame({
        "player_game_id": r["player_game_id"], "game_id": r["game_id"], "team_id": r["team_id"],
        "opp_team_id": opp_team, "venue": venue,
        "player_id": r["player_id"], "jersey": r["jersey"], "player_position": _text(r, "player_position"),
        "games_played": _int(r, "games_played"), "goals": _int(r, "goals", issues, file, "fact_gameroster"),
        "assists": _int(r, "assist", issues, file, "fact_gameroster"),
        "goals_against": _int(r, "goals_against", issues, file, "fact_gameroster"),
        "pim": _int(r, "pim"), "shutouts": _int(r, "shutouts"),
        "is_sub": yes_no(r["sub"]) if "sub" in r else pd.NA,
        "skill_rating": _int(r, "skill_rating"), "season": _int(r, "season"), "date": _date(r, "date"),
    })
    roster["is_sub"] = roster["is_sub"].fillna(False)
    roster["sub"] = roster["is_sub"].astype(int)
    roster["pim_total"] = roster["pim"]
    roster["player_skill_rating"] = roster["skill_rating"]
    names = out["dim_player"].set_index("player_id")["player_full_name"]
    team_names = out["dim_team"].set_index("team_id")["team_name"]
    out["fact_gameroster"] = roster_table(roster, schedule, names, team_names)

    reg = frames.get("fact_registration", pd.DataFrame(columns=["player_season_registration_id"])).copy()
    reg["player_season_registration_id"] = _text(reg, "player_season_registration_id")
    reg = _dedupe(reg, "player_season_registration_id", issues, file, "fact_registration")
    out["fact_registration"] = pd.DataFrame({
        "player_season_registration_id": reg["player_season_registration_id"],
        "player_id": _text(reg, "player_id"), "season_id": _text(reg, "season_id"),
        "season": _int(reg, "season"), "position": _text(reg, "position"),
        "restricted": yes_no(reg["restricted"]) if "restricted" in reg else pd.NA,
        "norad_experience": _int(reg, "norad_experience"), "skill_rating": _int(reg, "skill_rating"),
        "is_sub": yes_no(reg["sub_yn"]) if "sub_yn" in reg else pd.NA,
        "drafted_team_id": _text(reg, "drafted_team_id"),
    })

    dr = frames.get("fact_draft", pd.DataFrame(columns=["player_draft_id"])).copy()
    dr["player_draft_id"] = _text(dr, "player_draft_id")
    dr = _dedupe(dr, "player_draft_id", issues, file, "fact_draft")
    out["fact_draft"] = pd.DataFrame({
        "player_draft_id": dr["player_draft_id"], "player_id": _text(dr, "player_id"),
        "team_id": _text(dr, "team_id"), "season_id": _text(dr, "season_id"), "season": _int(dr, "season"),
        "draft_round": _int(dr, "round"), "overall_draft_position": _int(dr, "overall_draft_position"),
        "restricted": yes_no(dr["restricted"]) if "restricted" in dr else pd.NA,
        "skill_rating": _int(dr, "skill_rating"),
    })

    ld = frames.get("fact_leadership", pd.DataFrame(columns=["player_id"])).copy()
    ld["leadership_id"] = _text(ld, "season_id").fillna("") + _text(ld, "team_id").fillna("") + \
        _text(ld, "player_id").fillna("")
    ld["leadership_id"] = ld["leadership_id"].mask(ld["leadership_id"] == "")
    ld = _dedupe(ld, "leadership_id", issues, file, "fact_leadership")
    out["fact_leadership"] = pd.DataFrame({
        "leadership_id": ld["leadership_id"], "player_id": _text(ld, "player_id"),
        "team_id": _text(ld, "team_id"), "season_id": _text(ld, "season_id"), "season": _int(ld, "season"),
        "leadership": _text(ld, "leadership"), "skill_rating": _int(ld, "skill_rating"),
    })

    out["dim_player"]["jersey_number"] = out["dim_player"]["jersey_number"].fillna(
        out["dim_player"]["player_id"].map(latest_jerseys(roster, schedule)))
    out.update(static_dims())
    out.update(season_stats(roster, schedule, names, team_names))
    players = out["dim_player"][["player_id", "player_full_name", "current_skill_rating"]]
    return out, League(schedule, roster, players, period_goal_table(s))


# dim_schedule's power-play columns, counted from a tracked game (etl.builders.game.schedule_figures); empty for a
# game that is not tracked.
TRACKED_SCHEDULE_COUNTS = ("home_pp_goals", "away_pp_goals", "home_pp_opportunities", "away_pp_opportunities",
                           "home_pk_goals_against", "away_pk_goals_against", "home_pk_opportunities",
                           "away_pk_opportunities")
# dim_schedule's video columns a game's video sheet fills (over the master schedule's own values).
TRACKED_SCHEDULE_VIDEO = ("video_start_offset", "video_url_1", "video_url_2")


def with_game_figures(schedule: pd.DataFrame, figures: dict[int, dict]) -> pd.DataFrame:
    """dim_schedule with each tracked game's figures (``schedule_figures`` per game id): power-play counts
    replace the empty ones, video values from the game's video sheet replace the master's where present
    (the master's video_start_time still wins for the offset)."""
    out = schedule.copy()
    if not figures:
        return out
    fig = pd.DataFrame.from_dict({int(g): f for g, f in figures.items()}, orient="index")
    gid = out["game_id"].astype("int64")
    for col in TRACKED_SCHEDULE_COUNTS:
        if col in fig:
            out[col] = gid.map(fig[col]).astype("Float64").round().astype("Int64").to_numpy()
    for col in TRACKED_SCHEDULE_VIDEO:
        if col not in fig:
            continue
        found = gid.map(fig[col])
        if col == "video_start_offset":
            out[col] = pd.to_numeric(out[col], errors="coerce").fillna(pd.to_numeric(found, errors="coerce"))
        else:
            out[col] = found.astype("string").fillna(out[col].astype("string")).to_numpy()
    return out


def latest_jerseys(roster: pd.DataFrame, schedule: pd.DataFrame) -> pd.Series:
    """Jersey of each player's latest game on the official roster (by date, then game id)."""
    r = roster.dropna(subset=["player_id", "jersey"])
    when = r["game_id"].map(schedule.set_index("game_id")["date"])
    r = r.assign(when=pd.to_datetime(when, errors="coerce")).sort_values(["when", "game_id"], kind="stable",
                                                                          na_position="first")
    return r.groupby("player_id")["jersey"].last()


def schedule_types(s: pd.DataFrame, schedule: pd.DataFrame) -> pd.Series:
    """Past, Upcoming or PPD per game: the sheet's own schedule_type where it has one, else Past when both
    official scores are known and Upcoming otherwise."""
    scored = schedule["home_total_goals"].notna() & schedule["away_total_goals"].notna()
    derived = pd.Series("Upcoming", index=schedule.index, dtype="string").mask(scored, "Past")
    return _text(s, "schedule_type").fillna(derived) if "schedule_type" in s else derived


def roster_table(roster: pd.DataFrame, schedule: pd.DataFrame, names: pd.Series,
                 team_names: pd.Series) -> pd.DataFrame:
    """fact_gameroster under the dashboard's names, with the display names and the game's season."""
    out = roster.rename(columns={"assists": "assist", "venue": "team_venue", "jersey": "player_game_number"})
    out["points"] = out["goals"].fillna(0) + out["assist"].fillna(0)
    out["team_name"] = out["team_id"].map(team_names)
    out["opp_team_name"] = out["opp_team_id"].map(team_names)
    out["player_full_name"] = out["player_id"].map(names)
    out["season_id"] = out["game_id"].map(schedule.set_index("game_id")["season_id"])
    return out


def roster_venues(r: pd.DataFrame, schedule: pd.DataFrame, file: str,
                  issues: IssueLog) -> tuple[pd.Series, pd.Series]:
    """Venue and opponent of each fact_gameroster row, decided by the schedule.

    The roster's own ``team_venue`` is only checked: each (game, team) whose rows disagree with the
    schedule is one ``venue_conflict`` issue, each team that is not in the game one
    ``roster_team_not_in_game`` issue (venue left empty). Games missing from the schedule keep the
    roster's own venue and opponent.
    """
    own = _text(r, "team_venue").str.lower()
    own = own.where(own.isin(["home", "away"]))
    sched = schedule.set_index("game_id")
    home = r["game_id"].map(sched["home_team_id"])
    away = r["game_id"].map(sched["away_team_id"])
    scheduled = home.notna()
    is_home, is_away = (r["team_id"] == home).fillna(False), (r["team_id"] == away).fillna(False)
    venue = pd.Series(pd.NA, index=r.index, dtype="string")
    venue[is_home], venue[is_away] = "home", "away"
    venue = venue.where(scheduled, own)
    opp = _text(r, "opp_team_id")
    opp[is_home], opp[is_away] = away[is_home], home[is_away]
    opp = opp.where(~scheduled | is_home | is_away)
    rows = r.index.to_series() + 2
    conflict = scheduled & venue.notna() & (own.fillna("") != venue.fillna(""))
    outsider = scheduled & ~is_home & ~is_away
    for mask, kind in ((conflict, "venue_conflict"), (outsider, "roster_team_not_in_game")):
        if not mask.any():
            continue
        blocks = pd.DataFrame({"game": r.loc[mask, "game_id"], "team": r.loc[mask, "team_id"], "row": rows[mask],
                               "said": own[mask].fillna("blank"), "right": venue[mask]})
        agg = blocks.groupby(["game", "team"], sort=True).agg(
            first=("row", "first"), low=("row", "min"), high=("row", "max"), count=("row", "size"),
            said=("said", "first"), right=("right", "first"))
        for (gid, team), b in zip(agg.index, agg.itertuples(index=False), strict=True):
            span = f"row {b.low}" if b.count == 1 else (
                f"rows {b.low}-{b.high}" if b.high - b.low + 1 == b.count else f"between rows {b.low} and {b.high}")
            if kind == "venue_conflict":
                right = "at home" if b.right == "home" else "away"
                issues.add(file, f"game {gid}: team {team} is '{b.said}' on {b.count} roster rows ({span}) but the "
                           f"schedule has it {right}", "venue taken from the schedule", kind=kind,
                           sheet="fact_gameroster", row=int(b.first), column="team_venue")
            else:
                issues.add(file, f"game {gid}: team {team} is on {b.count} roster rows ({span}) but is neither the "
                           "home nor the away team of the game in the schedule", "venue left empty", kind=kind,
                           sheet="fact_gameroster", row=int(b.first), column="team_id")
    return venue, opp


def period_goal_table(s: pd.DataFrame) -> dict[int, dict[tuple[str, int], int]]:
    """Official goals per (venue, period) of each game, from dim_schedule's per-period columns.

    The league leaves a period without goals blank, so blanks read as 0, but only when the periods
    add up to the final score for both teams; a game whose periods do not add up is left out (its
    per-period goals are unknown).
    """
    out: dict[int, dict[tuple[str, int], int]] = {}
    columns = {(v, p): f"{v}_team_period{label}_goals" for v in ("home", "away") for label, p in PERIOD_GOAL_LABELS}
    if not any(c in s.columns for c in columns.values()):
        return out
    values = {key: _int(s, col).fillna(0) for key, col in columns.items()}
    ok = pd.Series(True, index=s.index)
    for venue in ("home", "away"):
        total = _int(s, f"{venue}_total_goals")
        summed = sum(values[(venue, p)] for _, p in PERIOD_GOAL_LABELS)
        ok &= total.notna() & (summed == total).fillna(False)
    keep = ok.to_numpy()
    table = pd.DataFrame({key: v.to_numpy()[keep] for key, v in values.items()},
                         index=s["game_id"].to_numpy()[keep]).astype("int64")
    keys = list(columns)
    for gid, row in zip(table.index.tolist(), table.to_numpy().tolist(), strict=True):
        out[int(gid)] = dict(zip(keys, row, strict=True))
    return out


def _periods() -> pd.DataFrame:
    """dim_period: P01..P09 (every period number the tracking sheets may carry, tracking.MAX_PERIOD)."""
    numbers = pd.Series(range(1, MAX_PERIOD + 1))
    names = ["1st", "2nd", "3rd", "OT"] + [f"OT{n - REGULATION_PERIODS}" for n in range(5, MAX_PERIOD + 1)]
    return pd.DataFrame({"period_id": period_key(numbers), "period": numbers, "name": names,
                         "period_seconds": [PERIOD_SECONDS if n <= REGULATION_PERIODS else OT_SECONDS
                                            for n in numbers]})


def static_dims() -> dict[str, pd.DataFrame]:
    """Small fixed vocabularies."""
    roles = [(f"{side}_player_{n}", side, n) for side in ("event", "opp") for n in range(1, 7)]
    return {
        "dim_position": pd.DataFrame({"position_id": ["Forward", "Defense", "Goalie"],
                                      "name": ["Forward", "Defense", "Goalie"]}),
        "dim_venue": pd.DataFrame({"venue_id": ["home", "away"], "venue_abbrev": ["h", "a"],
                                   "name": ["Home", "Away"]}),
        "dim_period": _periods(),
        "dim_zone": pd.DataFrame({"zone_id": ["o", "n", "d"], "name": ["Offensive", "Neutral", "Defensive"]}),
        "dim_player_role": pd.DataFrame(roles, columns=["player_role", "side", "role_number"]),
    }
