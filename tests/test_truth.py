"""Truth checks: the warehouse's standings, goalie records and player seasons equal the league's own numbers,
recomputed here straight from the real master workbook (dim_schedule scores, fact_gameroster box scores)."""
from __future__ import annotations

import pandas as pd
import pytest

from tests.conftest import read_csv


@pytest.fixture(scope="module")
def master(real_dir):
    sheets = pd.read_excel(real_dir / "BLB_TABLES.xlsx", sheet_name=["dim_schedule", "fact_gameroster", "dim_team"],
                           engine="calamine")
    teams = set(sheets["dim_team"]["team_id"].dropna().astype(str))
    s = sheets["dim_schedule"]
    s = s[s["home_team_id"].astype(str).isin(teams) & s["away_team_id"].astype(str).isin(teams)].copy()
    s["game_type"] = s["game_type"].fillna("Regular")
    # a player twice in one game's roster (e.g. as Forward and as Goalie) counts once: the first row, as the
    # ETL keeps it (the later row is a qa_data_issues duplicate_key)
    roster = sheets["fact_gameroster"].drop_duplicates(["game_id", "team_id", "player_id"])
    return s, roster


def _team_results(s: pd.DataFrame) -> pd.DataFrame:
    played = s.dropna(subset=["home_total_goals", "away_total_goals", "season_id"])
    sides = []
    for venue, other in (("home", "away"), ("away", "home")):
        gf, ga = played[f"{venue}_total_goals"].astype(int), played[f"{other}_total_goals"].astype(int)
        sides.append(pd.DataFrame({"game_id": played["game_id"].astype(int), "season_id": played["season_id"],
                                   "game_type": played["game_type"], "team_id": played[f"{venue}_team_id"],
                                   "w": (gf > ga).astype(int), "l": (gf < ga).astype(int),
                                   "t": (gf == ga).astype(int), "gf": gf, "ga": ga}))
    return pd.concat(sides, ignore_index=True)


def _all_and_split(df: pd.DataFrame, keys: list[str], cols: list[str]) -> pd.DataFrame:
    split = df.groupby(keys + ["game_type"])[cols].sum()
    every = df.groupby(keys)[cols].sum().assign(game_type="All").set_index("game_type", append=True)
    return pd.concat([split, every]).sort_index()


def test_standings_equal_the_official_scores(master, real_outputs):
    s, _ = master
    want = _all_and_split(_team_results(s), ["season_id", "team_id"], ["w", "l", "t", "gf", "ga"])
    want["points"] = 2 * want["w"] + want["t"]
    got = read_csv(real_outputs / "fact_team_season_stats_basic.csv").set_index(["season_id", "team_id", "game_type"])
    got = got[["wins", "losses", "ties", "goals_for", "goals_against", "points"]].astype(int).sort_index()
    assert len(got) == len(want) > 20
    assert (got.to_numpy() == want[["w", "l", "t", "gf", "ga", "points"]].to_numpy()).all()
    assert (got.index == want.index).all()


def _goalie_rows(roster: pd.DataFrame, s: pd.DataFrame) -> pd.DataFrame:
    r = roster[roster["player_position"].fillna("").str.lower().str.contains("goal") & roster["player_id"].notna()]
    r = r.assign(game_id=r["game_id"].astype(int))
    sched = s.assign(game_id=s["game_id"].astype(int)).set_index("game_id")
    return r[r["game_id"].isin(sched.index)].assign(season_id=lambda d: d["game_id"].map(sched["season_id"]),
                                                    game_type=lambda d: d["game_id"].map(sched["game_type"]))


def test_goalie_wins_losses_and_gaa_equal_the_official_scores(master, real_outputs):
    s, roster = master
    g = _goalie_rows(roster, s)
    res = _team_results(s).set_index(["game_id", "team_id"])
    rec = res.reindex(pd.MultiIndex.from_arrays([g["game_id"], g["team_id"].astype(str)]))
    g = g.assign(w=rec["w"].fillna(0).to_numpy(), l=rec["l"].fillna(0).to_numpy(), t=rec["t"].fillna(0).to_numpy(),
                 gp=g["games_played"].fillna(1), ga_=g["goals_against"].fillna(0))
    want = _all_and_split(g, ["season_id", "player_id"], ["gp", "w", "l", "t", "ga_"])
    got = read_csv(real_outputs / "fact_goalie_season_stats_basic.csv").set_index(
        ["season_id", "player_id", "game_type"]).sort_index()
    assert len(got) == len(want) > 10 and (got.index == want.index).all()
    assert (got[["games_played", "wins", "losses", "ties", "goals_against"]].astype(int).to_numpy()
            == want[["gp", "w", "l", "t", "ga_"]].astype(int).to_numpy()).all()
    gaa = (want["ga_"] / want["gp"]).round(2)
    assert (got["gaa"].astype(float).round(2).to_numpy() == gaa.to_numpy()).all()


def test_player_season_goals_assists_points_equal_the_box_score(master, real_outputs):
    s, roster = master
    r = roster[~roster["player_position"].fillna("").str.lower().str.contains("goal") & roster["player_id"].notna()]
    r = r.assign(game_id=r["game_id"].astype(int))
    sched = s.assign(game_id=s["game_id"].astype(int)).set_index("game_id")
    r = r[r["game_id"].isin(sched.index)]
    r = r.assign(season_id=r["game_id"].map(sched["season_id"]), game_type=r["game_id"].map(sched["game_type"]),
                 g=r["goals"].fillna(0), a=r["assist"].fillna(0))
    want = _all_and_split(r, ["season_id", "player_id"], ["g", "a"])
    want["p"] = want["g"] + want["a"]
    got = read_csv(real_outputs / "fact_player_season_stats_basic.csv").set_index(
        ["season_id", "player_id", "game_type"]).sort_index()
    assert len(got) == len(want) > 100 and (got.index == want.index).all()
    assert (got[["goals", "assists", "points"]].astype(int).to_numpy()
            == want[["g", "a", "p"]].astype(int).to_numpy()).all()
    career = read_csv(real_outputs / "fact_player_career_stats_basic.csv").set_index("player_id")
    every = want.xs("All", level="game_type").groupby("player_id")[["g", "a", "p"]].sum()
    assert (career.loc[every.index, ["career_goals", "career_assists", "career_points"]].astype(int).to_numpy()
            == every.astype(int).to_numpy()).all()
