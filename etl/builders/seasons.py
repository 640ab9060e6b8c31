"""Season, career and standings tables from the official box score and final scores (tag ``basic``).

Season tables have one row per game type of the schedule (``Regular``, ``Playoffs``, ...) plus an
``All`` row summing every game type, which is the row the dashboard's leaderboards and standings read.
Only games with both official scores count for standings and goalie records (``schedule_type`` Past).
"""
from __future__ import annotations

import pandas as pd

from ..analytics.weights import ADJ_REFERENCE_RATING

ALL = "All"
DEFAULT_GAME_TYPE = "Regular"
WIN_POINTS, TIE_POINTS = 2, 1


def _ratio(num: pd.Series, den: pd.Series, scale: float = 1.0, digits: int = 2) -> pd.Series:
    """num / den * scale rounded, empty where den is 0."""
    return (num * scale / den.where(den > 0)).astype("float64").round(digits)


def _with_all(df: pd.DataFrame, keys: list[str], sums: dict[str, str], firsts: dict[str, str]) -> pd.DataFrame:
    """Per-(keys, game_type) totals plus an All row per keys (game_type split first, then All)."""
    agg = {out: (col, "sum") for out, col in sums.items()} | {out: (col, "first") for out, col in firsts.items()}
    split = df.groupby(keys + ["game_type"], sort=True, dropna=False).agg(**agg).reset_index()
    every = df.groupby(keys, sort=True, dropna=False).agg(**agg).reset_index().assign(game_type=ALL)
    return pd.concat([split, every], ignore_index=True)


def game_types(schedule: pd.DataFrame) -> pd.Series:
    """Game type per game id (blank reads as Regular)."""
    return schedule.set_index("game_id")["game_type"].fillna(DEFAULT_GAME_TYPE)


def team_games(schedule: pd.DataFrame) -> pd.DataFrame:
    """One row per team and played game (both official scores known) with the result from its side."""
    played = schedule[schedule["home_total_goals"].notna() & schedule["away_total_goals"].notna()
                      & schedule["season_id"].notna()]
    rows = []
    for venue, other in (("home", "away"), ("away", "home")):
        gf = played[f"{venue}_total_goals"].astype("int64")
        ga = played[f"{other}_total_goals"].astype("int64")
        rows.append(pd.DataFrame({
            "game_id": played["game_id"], "season_id": played["season_id"], "season": played["season"],
            "game_type": played["game_type"].fillna(DEFAULT_GAME_TYPE),
            "team_id": played[f"{venue}_team_id"], "team_name": played[f"{venue}_team_name"],
            "goals_for": gf, "goals_against": ga,
            "wins": (gf > ga).astype(int), "losses": (gf < ga).astype(int), "ties": (gf == ga).astype(int),
        }))
    return pd.concat(rows, ignore_index=True)


def _roster_rows(roster: pd.DataFrame, schedule: pd.DataFrame, names: pd.Series,
                 team_names: pd.Series) -> pd.DataFrame:
    sched = schedule.set_index("game_id")
    r = roster.assign(season_id=roster["game_id"].map(sched["season_id"]),
                      game_type=roster["game_id"].map(game_types(schedule)))
    r = r[r["player_id"].notna() & r["season_id"].notna()]
    return r.assign(gp=r["games_played"].fillna(1), g=r["goals"].fillna(0), a=r["assists"].fillna(0),
                    pim_=r["pim"].fillna(0), ga=r["goals_against"].fillna(0), so=r["shutouts"].fillna(0),
                    player_name=r["player_id"].map(names), team_name=r["team_id"].map(team_names),
                    is_goalie=r["player_position"].fillna("").str.lower().str.contains("goal"))


def season_stats(roster: pd.DataFrame, schedule: pd.DataFrame, names: pd.Series,
                 team_names: pd.Series) -> dict[str, pd.DataFrame]:
    """Skater, goalie and team season tables and the two career tables."""
    r = _roster_rows(roster, schedule, names, team_names)
    skaters = _skater_seasons(r[~r["is_goalie"]])
    goalies = _goalie_seasons(r[r["is_goalie"]], team_games(schedule))
    return {
        "fact_player_season_stats_basic": skaters,
        "fact_goalie_season_stats_basic": goalies,
        "fact_team_season_stats_basic": _team_seasons(team_games(schedule)),
        "fact_player_career_stats_basic": _skater_careers(r[~r["is_goalie"]]),
        "fact_goalie_career_stats_basic": _goalie_careers(goalies),
    }


def _per_game(df: pd.DataFrame, pairs: dict[str, str], games: str = "games_played") -> None:
    for out, col in pairs.items():
        df[out] = _ratio(df[col], df[games])


def _skater_seasons(r: pd.DataFrame) -> pd.DataFrame:
    r = r.sort_values(["game_id", "player_game_id"], kind="stable")
    p = _with_all(r, ["season_id", "player_id"],
                  {"games_played": "gp", "goals": "g", "assists": "a", "pim": "pim_"},
                  {"season": "season", "player_name": "player_name", "team_id": "team_id",
                   "team_name": "team_name", "position": "player_position"})
    p["points"] = p["goals"] + p["assists"]
    _per_game(p, {"points_per_game": "points", "goals_per_game": "goals", "assists_per_game": "assists",
                  "pim_per_game": "pim"})
    p["player_season_id"] = p["season_id"] + p["player_id"]
    return p


def _goalie_seasons(r: pd.DataFrame, games: pd.DataFrame) -> pd.DataFrame:
    r = r.sort_values(["game_id", "player_game_id"], kind="stable")
    result = games.set_index(["game_id", "team_id"])[["wins", "losses", "ties"]]
    rec = result.reindex(pd.MultiIndex.from_arrays([r["game_id"], r["team_id"]]))
    r = r.assign(w=rec["wins"].to_numpy(), l_=rec["losses"].to_numpy(), t=rec["ties"].to_numpy())
    g = _with_all(r, ["season_id", "player_id"],
                  {"games_played": "gp", "goals_against": "ga", "shutouts": "so", "wins": "w", "losses": "l_",
                   "ties": "t"},
                  {"season": "season", "player_name": "player_name", "team_id": "team_id", "team_name": "team_name"})
    for col in ("wins", "losses", "ties"):
        g[col] = g[col].fillna(0).astype("int64")
    g["gaa"] = _ratio(g["goals_against"], g["games_played"])
    g["win_pct"] = _ratio(g["wins"], g["games_played"], 100, 1)
    g["shutout_pct"] = _ratio(g["shutouts"], g["games_played"], 100, 1)
    g["goalie_season_id"] = g["season_id"] + g["player_id"]
    return g


def _team_seasons(tg: pd.DataFrame) -> pd.DataFrame:
    t = _with_all(tg, ["season_id", "team_id"],
                  {"wins": "wins", "losses": "losses", "ties": "ties", "goals_for": "goals_for",
                   "goals_against": "goals_against"},
                  {"season": "season", "team_name": "team_name"})
    t["games_played"] = t["wins"] + t["losses"] + t["ties"]
    t["points"] = t["wins"] * WIN_POINTS + t["ties"] * TIE_POINTS
    t["goal_diff"] = t["goals_for"] - t["goals_against"]
    t["win_pct"] = _ratio(t["points"], t["games_played"] * WIN_POINTS, 100, 1)
    _per_game(t, {"goals_for_per_game": "goals_for", "goals_against_per_game": "goals_against"})
    t["team_season_id"] = t["season_id"] + t["team_id"]
    return t


def _skater_careers(r: pd.DataFrame) -> pd.DataFrame:
    """One row per skater over every season and game type; current_team = team of the latest game."""
    r = r.sort_values(["season", "game_id", "player_game_id"], kind="stable")
    c = r.groupby("player_id", sort=True).agg(
        player_name=("player_name", "last"), current_team=("team_name", "last"),
        position=("player_position", "last"), career_games=("gp", "sum"), career_goals=("g", "sum"),
        career_assists=("a", "sum"), career_pim=("pim_", "sum")).reset_index()
    c["career_points"] = c["career_goals"] + c["career_assists"]
    _per_game(c, {"goals_per_game": "career_goals", "assists_per_game": "career_assists",
                  "points_per_game": "career_points", "pim_per_game": "career_pim"}, games="career_games")
    return c


def _goalie_careers(seasons: pd.DataFrame) -> pd.DataFrame:
    """One row per goalie summing his All season rows; current_team = team of his latest season."""
    s = seasons[seasons["game_type"] == ALL].sort_values(["season", "season_id"], kind="stable")
    c = s.groupby("player_id", sort=True).agg(
        player_name=("player_name", "last"), current_team=("team_name", "last"),
        career_games=("games_played", "sum"), career_wins=("wins", "sum"), career_losses=("losses", "sum"),
        career_goals_against=("goals_against", "sum"), career_shutouts=("shutouts", "sum")).reset_index()
    c["career_gaa"] = _ratio(c["career_goals_against"], c["career_games"])
    c["career_win_pct"] = _ratio(c["career_wins"], c["career_games"], 100, 1)
    c["career_shutout_pct"] = _ratio(c["career_shutouts"], c["career_games"], 100, 1)
    return c


def with_tracked_rates(skaters: pd.DataFrame, schedule: pd.DataFrame,
                       per_game: dict[int, dict[str, list[int]]]) -> pd.DataFrame:
    """The skater season table with cf_pct and shooting_pct over the player's tracked games of each row.

    ``per_game``: game id -> player id -> [corsi_for, corsi_against, goals, sog] (GameResult.summary). Rows
    without a tracked game stay empty; cf_pct is 50 and shooting_pct 0 when tracked without attempts / shots
    on goal (the per-game tables' conventions).
    """
    out = skaters.copy()
    records = [(g, pid, *v) for g, players in per_game.items() for pid, v in players.items()]
    if not records:
        out["cf_pct"], out["shooting_pct"] = float("nan"), float("nan")
        return out
    t = pd.DataFrame(records, columns=["game_id", "player_id", "cf", "ca", "g", "sog"])
    sched = schedule.set_index("game_id", drop=False) if "game_id" in schedule.columns else schedule
    t["season_id"] = t["game_id"].map(sched["season_id"])
    t["game_type"] = t["game_id"].map(game_types(sched.reset_index(drop=True)))
    t = t[t["season_id"].notna()]
    sums = {c: (c, "sum") for c in ("cf", "ca", "g", "sog")}
    split = t.groupby(["season_id", "player_id", "game_type"]).agg(**sums)
    every = t.groupby(["season_id", "player_id"]).agg(**sums).assign(game_type=ALL)
    every = every.set_index("game_type", append=True)
    tracked = pd.concat([split, every])
    key = pd.MultiIndex.from_arrays([out["season_id"], out["player_id"], out["game_type"]])
    got = tracked.reindex(key)
    attempts = got["cf"] + got["ca"]
    cf = (got["cf"] * 100 / attempts.where(attempts > 0)).round(1)
    out["cf_pct"] = cf.where(attempts.isna() | (attempts > 0), 50.0).to_numpy()
    sh = (got["g"] * 100 / got["sog"].where(got["sog"] > 0)).round(1)
    out["shooting_pct"] = sh.where(got["sog"].isna() | (got["sog"] > 0), 0.0).to_numpy()
    return out


# ---- model columns of the skater season table (issue 13): sums of the game rows' model columns
SEASON_MODEL_COLUMNS = ("games_tracked", "xg_for", "goals_above_expected", "gar", "war", "player_rating", "xg_adj",
                        "xg_per_game")
GAME_MODEL_INPUTS = ("game_id", "player_id", "season_id", "game_type", "goals", "xg_for", "gar_total", "war",
                     "avg_opp_rating")


def season_model_columns(seasons: pd.DataFrame, game_stats: pd.DataFrame, ratings: pd.Series) -> pd.DataFrame:
    """``seasons`` (fact_player_season_stats_basic) with SEASON_MODEL_COLUMNS: per row's season, player and
    game type (All: every type) the sums over his fact_player_game_stats rows (``game_stats``: GAME_MODEL_INPUTS),
    empty where he has none; player_rating from ``ratings`` (dim_player.current_skill_rating by player_id)."""
    g = game_stats.dropna(subset=["player_id", "season_id"]).copy()
    g["game_type"] = g["game_type"].fillna(DEFAULT_GAME_TYPE)
    for col in ("goals", "xg_for", "gar_total", "war", "avg_opp_rating"):
        g[col] = pd.to_numeric(g[col], errors="coerce").fillna(0.0)
    opp = g["avg_opp_rating"]
    g["xg_adj"] = g["xg_for"] * (ADJ_REFERENCE_RATING / opp.where(opp > 0)).fillna(1.0)
    sums = {"games_tracked": ("game_id", "nunique"), "goals_tracked": ("goals", "sum"), "xg_for": ("xg_for", "sum"),
            "gar": ("gar_total", "sum"), "war": ("war", "sum"), "xg_adj": ("xg_adj", "sum")}
    keys = ["season_id", "player_id"]
    split = g.groupby(keys + ["game_type"]).agg(**sums).reset_index()
    every = g.groupby(keys).agg(**sums).reset_index().assign(game_type=ALL)
    m = pd.concat([split, every], ignore_index=True)
    m["goals_above_expected"] = m["goals_tracked"] - m["xg_for"]
    m["xg_per_game"] = _ratio(m["xg_for"], m["games_tracked"], digits=3)
    for col, digits in (("xg_for", 4), ("goals_above_expected", 4), ("gar", 3), ("war", 3), ("xg_adj", 4)):
        m[col] = m[col].round(digits)
    out = seasons.drop(columns=[c for c in SEASON_MODEL_COLUMNS if c in seasons.columns]).merge(
        m.drop(columns="goals_tracked"), on=keys + ["game_type"], how="left")
    out["player_rating"] = out["player_id"].map(ratings)
    return out
