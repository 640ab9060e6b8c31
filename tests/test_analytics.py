"""Analytics tables (issue 13): hand-computed examples from game 18969's workbook, and invariants on the
real games and on the sample league.

Rows named ``row N`` are Excel rows of the game's events or shifts sheet (header = row 1); the tables carry
them as fact_events.source_row / fact_shifts.source_row.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from etl.analytics import weights as w
from etl.analytics.micro import LONG_STATS
from etl.analytics.scores import MICRO_COPIED
from etl.pipeline import EtlOptions, run_etl

GAME = 18969  # Platinum (home, N10008) 4 - Velodrome (away, N10010) 3
SKATER_SLOTS = {"forward_1", "forward_2", "forward_3", "defense_1", "defense_2", "xtra"}


def _read(out: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(out / f"{name}.csv")


@pytest.fixture(scope="module")
def sample_outputs(sample_src: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sample_analytics") / "output"
    run_etl(EtlOptions(data_dir=str(sample_src), output_dir=str(out)))
    return out


@pytest.fixture(params=["sample", "real"])
def outputs(request) -> Path:
    """The ETL outputs of the sample league, then of the real games (skipped when ../shared is absent)."""
    return request.getfixturevalue("sample_outputs" if request.param == "sample" else "real_outputs")


def _by_event(out: Path, name: str, game: int = GAME) -> pd.DataFrame:
    """``name`` rows of ``game`` with the events sheet row of their event (source_row)."""
    ev = _read(out, "fact_events")[["event_id", "source_row"]]
    df = _read(out, name)
    return df[df["game_id"] == game].merge(ev, on="event_id").set_index("source_row")


# ------------------------------------------------------------------ hand-computed examples (game 18969)

def test_xg_of_named_shots(real_outputs):
    shots = _by_event(real_outputs, "fact_shot_xg")
    # rows 383 and 386: P100117's Shot_Goal and its Goal_Scored (Goal_Wrist), both at 369 s in the offensive
    # zone: medium danger 0.08 each, one flurry worth 1 - 0.92 * 0.92 = 0.1536, half each
    for row in (383, 386):
        s = shots.loc[row]
        assert (s.player_id, s.danger_level, s.xg_raw, s.xg) == ("P100117", "medium", 0.08, 0.0768)
    assert shots.loc[383, "flurry_id"] == shots.loc[386, "flurry_id"]
    # row 246: a Shot_OnNetSaved with event_detail_2 Shot_Tip: high 0.25 x tip 1.15 = 0.2875
    assert shots.loc[246, ["event_detail_2", "danger_level", "is_high_danger", "xg"]].tolist() == [
        "Shot_Tip", "high", 1, 0.2875]
    # row 310: P100001's Shot_OnNetSaved (wrist, offensive zone) 4 s after his ZoneEntry_Rush at row 304: a rush
    # shot, medium 0.08 x rush 1.3 = 0.104
    assert shots.loc[310, ["is_rush", "danger_level", "xg"]].tolist() == [1, "medium", 0.104]
    # row 23: a Shot_Blocked has no danger level and the unknown base 0.06
    assert pd.isna(shots.loc[23, "danger_level"]) and shots.loc[23, "xg"] == w.XG_BASE_UNKNOWN
    assert shots.loc[23, "is_scoring_chance"] == 0 and shots.loc[310, "is_scoring_chance"] == 1


def test_line_combo_of_named_shifts(real_outputs):
    combos = _read(real_outputs, "fact_line_combos")
    c = combos[(combos["game_id"] == GAME) & (combos["combo_key"] == "P100001,P100002,P100039")].iloc[0]
    # shifts sheet rows 82 and 83 (period 3, 520-470 and 470-468 on the clock): 50 + 2 s; inside them events
    # row 2636 (Velodrome's Shot_Missed by P100039: xG 0.06) and row 2649 (Platinum's rush shot on goal: 0.104)
    assert (c.venue, c.combo_type, c.shift_count, c.toi_together) == ("away", "forward", 2, 52)
    assert (c.corsi_for, c.corsi_against, c.cf_pct, c.xg_for, c.xg_against) == (1, 1, 50.0, 0.06, 0.104)


def test_saves_of_named_rows(real_outputs):
    saves = _by_event(real_outputs, "fact_saves")
    # row 65: Velodrome's goalie P100016, Save_Rebound / Save_LeftPad, on row 62's Shot_OneTime (high danger)
    s = saves.loc[65]
    assert (s.goalie_player_id, s.save_type, s.danger_level, s.is_high_danger, s.is_freeze) == (
        "P100016", "pad", "high", 1, 0)
    # row 313: Platinum's goalie P100202, Save_Chest, on row 310's medium rush shot
    assert saves.loc[313, ["goalie_player_id", "save_type", "danger_level"]].tolist() == [
        "P100202", "chest", "medium"]


def _micro_wide(out: Path) -> pd.DataFrame:
    """fact_player_micro_stats (long) folded back to one row per player and game, as the game page does."""
    micro = _read(out, "fact_player_micro_stats")
    return micro.pivot_table(index=["game_id", "player_id"], columns="micro_stat", values="count", aggfunc="sum",
                             fill_value=0)


def test_micro_stats_and_zone_entries_of_named_rows(real_outputs):
    micro = _read(real_outputs, "fact_player_micro_stats")
    mine = micro[(micro["game_id"] == GAME) & (micro["player_id"] == "P100117")].set_index("micro_stat")["count"]
    # P100117's Backcheck play details on his rows 637 and 2460 (opp_team_player_1: the defender's row)
    assert mine["backchecks"] == 2
    # long format: one row per micro-stat he made, none for those he never made (hits are untracked)
    assert "hits" not in mine.index and (mine > 0).all()
    entries = _read(real_outputs, "fact_zone_entry_summary").set_index(["game_id", "player_id"])
    # P100002's Zone_Entry rows 133 (ZoneEntry_DumpIn), 1622 and 2321 (ZoneEntry_Rush)
    assert entries.loc[(GAME, "P100002"), ["total_entries", "controlled_entries", "dump_entries",
                                           "failed_entries", "controlled_entry_pct"]].tolist() == [3, 2, 1, 0, 66.7]


def test_hits_are_untracked_zero_and_noted(real_outputs):
    micro = _read(real_outputs, "fact_player_micro_stats")
    assert not (micro["micro_stat"] == "hits").any()
    qa = _read(real_outputs, "qa_data_issues")
    noted = qa[(qa["kind"] == "untracked_metric") & (qa["column_name"] == "hits")]
    assert sorted(noted["game_id"]) == [18969, 18977, 18981]


# ------------------------------------------------------------------ invariants (sample league and real games)

def _skater_toi(out: Path) -> pd.Series:
    sp = _read(out, "fact_shift_players")
    sp = sp[sp["slot"].isin(SKATER_SLOTS) & sp["player_id"].notna()].drop_duplicates(["shift_id", "player_id"])
    return sp.groupby(["game_id", "player_id"])["duration_seconds"].sum()


def test_team_xg_is_the_sum_over_its_shots(outputs):
    shots = _read(outputs, "fact_shot_xg")
    assert len(shots) and shots["xg"].between(0, w.XG_SHOT_CAP).all()
    by_team = shots.groupby(["game_id", "venue"])["xg"].sum()
    quality = _read(outputs, "fact_shift_quality").groupby(["game_id", "venue"])["xg_for"].sum()
    against = _read(outputs, "fact_shift_quality").groupby(["game_id", "venue"])["xg_against"].sum()
    pd.testing.assert_series_equal(quality.reindex(by_team.index), by_team, atol=0.01, check_names=False)
    swapped = against.rename(index={"home": "away", "away": "home"}, level="venue")
    pd.testing.assert_series_equal(swapped.reindex(by_team.index), by_team, atol=0.01, check_names=False)
    # a flurry is worth at most the sum of its shots and at least its best shot
    f = shots.groupby("flurry_id").agg(raw=("xg_raw", "sum"), best=("xg_raw", "max"), xg=("xg", "sum"))
    assert (f["xg"] <= f["raw"] + 1e-3).all() and (f["xg"] >= f["best"] - 1e-3).all()


def test_wowy_together_plus_apart_is_toi(outputs):
    wowy = _read(outputs, "fact_wowy")
    assert len(wowy)
    toi = _skater_toi(outputs)
    for n in ("1", "2"):
        got = wowy["toi_together"] + wowy[f"toi_player_{n}_apart"]
        want = [toi[(g, p)] for g, p in zip(wowy["game_id"], wowy[f"player_{n}_id"], strict=True)]
        assert got.tolist() == want
    assert (wowy["cf_pct_delta"].round(1) == (wowy["cf_pct_together"] - wowy["cf_pct_apart"]).round(1)).all()
    qoc = _read(outputs, "fact_player_qoc_summary").set_index(["game_id", "player_id"])["toi_seconds"]
    assert qoc.sort_index().tolist() == toi.reindex(qoc.sort_index().index).tolist()


def test_line_combo_toi_sums_to_team_toi(outputs):
    combos = _read(outputs, "fact_line_combos")
    sp = _read(outputs, "fact_shift_players")
    sp["lineup"] = sp["shift_player_id"].str.split("_", n=1).str[1].str[0].map({"h": "home", "a": "away"})
    shifts = _read(outputs, "fact_shifts").set_index("shift_id")["shift_duration"]
    for combo_type, prefix in (("forward", "forward"), ("defense", "defense")):
        part = sp[sp["slot"].str.startswith(prefix)]
        size = part.assign(k=part["player_id"].fillna("J" + part["jersey"].astype(str))).groupby(
            ["game_id", "lineup", "shift_id"])["k"].nunique().reset_index()
        size["duration"] = size["shift_id"].map(shifts)
        team_toi = size.groupby(["game_id", "lineup"])["duration"].sum()
        lined = size[size["k"] >= 2].groupby(["game_id", "lineup"])["duration"].sum()
        got = combos[combos["combo_type"] == combo_type].groupby(["game_id", "venue"])["toi_together"].sum()
        # every second of the team's shifts with two or more players of the kind is in exactly one combo
        assert got.reindex(lined.index).tolist() == lined.tolist()
        assert (got.reindex(team_toi.index).fillna(0) <= team_toi).all()


def test_zone_time_mirrors_between_the_sides(outputs):
    z = _read(outputs, "fact_team_zone_time").set_index(["game_id", "venue"])
    for game in z.index.get_level_values(0).unique():
        home, away = z.loc[(game, "home")], z.loc[(game, "away")]
        assert home.offensive_zone_events == away.defensive_zone_events
        assert home.neutral_zone_events == away.neutral_zone_events
        ev = _read(outputs, "fact_events")
        zoned = ev[(ev["game_id"] == game) & ev["zone_id"].isin(["o", "d", "n"])
                   & ev["team_venue"].isin(["home", "away"])]
        assert home.offensive_zone_events + home.defensive_zone_events + home.neutral_zone_events == len(zoned)


def test_saves_cover_every_save_event_with_a_type(outputs):
    ev = _read(outputs, "fact_events")
    saves = _read(outputs, "fact_saves")
    assert len(saves) == int((ev["event_type"] == "Save").sum()) > 0
    assert set(saves["save_type"]) <= {t for _, t in w.SAVE_TYPES} | {w.SAVE_TYPE_OTHER}
    assert saves["goalie_player_id"].notna().mean() > 0.9


def test_micro_and_zone_summaries_are_per_linked_player(outputs):
    long = _read(outputs, "fact_player_micro_stats")
    assert len(long) and not long.duplicated(["game_id", "player_id", "micro_stat"]).any()
    assert (long["count"] > 0).all() and set(long["micro_stat"]) <= set(LONG_STATS)
    micro = _micro_wide(outputs).reindex(columns=LONG_STATS, fill_value=0)
    assert (micro["drives_total"] == micro[["drives_middle", "drives_wide", "drives_corner", "drives_net"]]
            .sum(axis=1)).all()
    assert (micro["pass_completed"] <= micro["pass_attempts"]).all()
    # the per-player columns of fact_player_game_stats are the same counts as the long rows
    pgs = _read(outputs, "fact_player_game_stats").dropna(subset=["player_id"]).set_index(["game_id", "player_id"])
    for col in (*MICRO_COPIED, "plays_successful", "plays_unsuccessful"):
        got = micro[col].reindex(pgs.index).fillna(0).astype(int)
        assert got.tolist() == pgs[col].astype(int).tolist(), col
    entries = _read(outputs, "fact_zone_entry_summary")
    assert (entries["controlled_entries"] + entries["failed_entries"] <= entries["total_entries"]).all()
    qa = _read(outputs, "qa_data_issues")
    untracked = qa[qa["kind"] == "untracked_metric"]
    for r in untracked.itertuples():
        assert not ((long["game_id"] == r.game_id) & (long["micro_stat"] == r.column_name)).any()


# ------------------------------------------------------------------ model columns on the core game tables

def test_player_and_team_xg_are_sums_over_shots(outputs):
    shots = _read(outputs, "fact_shot_xg")
    pgs = _read(outputs, "fact_player_game_stats")
    by_player = shots.groupby(["game_id", "player_id"])["xg"].sum()
    got = pgs.dropna(subset=["player_id"]).set_index(["game_id", "player_id"])["xg_for"]
    pd.testing.assert_series_equal(got.reindex(by_player.index), by_player, atol=1e-3, check_names=False)
    team = _read(outputs, "fact_team_game_stats").set_index(["game_id", "team_id"])
    by_team = shots.groupby(["game_id", "team_id"])["xg"].sum()
    pd.testing.assert_series_equal(team["xg_for"].reindex(by_team.index), by_team, atol=1e-3, check_names=False)
    for game, rows in team.groupby(level="game_id"):
        assert rows["xg_for"].sum() == pytest.approx(rows["xg_against"].sum(), abs=1e-3), game
    assert (abs(pgs["war"] - pgs["gar_total"] / w.GOALS_PER_WIN) < 2e-3).all()


def test_goalie_model_columns(outputs):
    g = _read(outputs, "fact_goalie_game_stats")
    saves = _read(outputs, "fact_saves")
    pads = saves[saves["save_type"] == "pad"].groupby(["game_id", "goalie_player_id"]).size()
    got = g.set_index(["game_id", "player_id"])["saves_pad"]
    assert got.reindex(pads.index).tolist() == pads.tolist()
    assert (g["hd_saves"] <= g["hd_shots_against"]).all()
    assert (abs(g["goalie_war"] - g["goalie_gar_total"] / w.GOALS_PER_WIN) < 2e-3).all()


def test_goalie_gsaa_of_game_18969(real_outputs):
    g = _read(real_outputs, "fact_goalie_game_stats").set_index(["game_id", "player_id"])
    # Velodrome's P100016 faced 40 shots on goal and let in 4: 40 x (1 - 0.88) - 4 = 0.8; Platinum's P100202
    # faced 25 and let in 3: 25 x 0.12 - 3 = 0
    assert g.loc[(GAME, "P100016"), ["shots_against", "goals_against", "goals_saved_above_avg"]].tolist() == [
        40, 4, 0.8]
    assert g.loc[(GAME, "P100202"), "goals_saved_above_avg"] == 0.0


# ------------------------------------------------------------------ involvement, rush and rating columns

def test_rush_and_involvement_of_named_rows(real_outputs):
    pgs = _read(real_outputs, "fact_player_game_stats").set_index(["game_id", "player_id"])
    # P100117's giveaways: rows 1420 (Giveaway_PassMissed) and 2713 (Giveaway_PassBlocked) hurt the team; rows
    # 426, 2699 (Giveaway_ZoneClear/Dump) and 2987 (Giveaway_AttemptedZoneClear/Dump) do not
    assert pgs.loc[(GAME, "P100117"), ["giveaways", "bad_giveaways"]].tolist() == [5, 2]
    # row 2476: P100117's ZoneEntry_Rush (home, period 3, 2562 s) and his Shot_Goal 2 s later (row 2479, goal
    # EV1896902263, unassisted): a rush goal, a rush that generated a goal; no assist on a rush goal
    me = pgs.loc[(GAME, "P100117")]
    assert (me.rush_goals, me.rush_assists, me.rush_points, me.rush_off_goal_generated) == (1, 0, 1, 1)
    # row 845: P100161's ZoneEntry_Rush (away, 873 s) and P100201's Shot_Goal 4 s later (row 853), which P100161
    # assisted (fact_goals EV1896901424): his rush assist and rush point
    him = pgs.loc[(GAME, "P100161")]
    assert (him.rush_goals, him.rush_assists, him.rush_points) == (0, 1, 1)
    # his rushes: row 845 (player 1) and row 2172 (ZoneEntry_Rush at 2300 s, he is player 2; P100198's shot on goal
    # 3 s later, row 2175); his other eight controlled entries (rows 21, 1228, 1517, ...) had no shot on goal
    # within 7 s. Both rushes had a shot on goal within 10 s, one a goal within 15 s.
    assert (him.rush_involvement, him.rush_off_shot_generated, him.rush_off_success,
            him.rush_off_goal_generated) == (2, 2, 2, 1)
    # P100110: primary defender (opp_team_player_1) on rows 147, 149, 492, 1516, 1813, 2254, 2861, 2863, 2873;
    # support (opp_team_player_2) on rows 790 and 1147; his own events marked s on rows 479, 1537, 1845, 1869,
    # 1871, 2605 and u on rows 480, 490, 1469, 1471, 1887, 1888
    d = pgs.loc[(GAME, "P100110")]
    assert (d.primary_def_events, d.support_def_events, d.def_involvement) == (9, 2, 11)
    assert (d.plays_successful, d.plays_unsuccessful, d.play_success_rate) == (6, 6, 50.0)
    # game 18977 rows 1121 (P100047) and 1633 (P100088): ZoneEntry_RushBreakaway followed by a saved shot on goal
    # (rows 1125 and 1634): rushes, but no breakaway goal
    for player in ("P100047", "P100088"):
        row = pgs.loc[(18977, player)]
        assert row.rush_involvement >= 1 and row.breakaway_goals == 0
    # ratings of P100117: dim_player.current_skill_rating 6 and his roster row's skill_rating 6
    assert me.player_rating == 6 and me.skill_rating == 6


def test_involvement_recounted_from_events(outputs):
    pgs = _read(outputs, "fact_player_game_stats").dropna(subset=["player_id"]).set_index(["game_id", "player_id"])
    ep = _read(outputs, "fact_event_players").dropna(subset=["player_id"])
    role = ep["player_role"]
    primary = ep[role == "opp_player_1"].groupby(["game_id", "player_id"]).size()
    support = ep[role.str.startswith("opp_player_") & (role != "opp_player_1")].groupby(
        ["game_id", "player_id"]).size()
    assert pgs["primary_def_events"].tolist() == primary.reindex(pgs.index).fillna(0).astype(int).tolist()
    assert pgs["support_def_events"].tolist() == support.reindex(pgs.index).fillna(0).astype(int).tolist()
    assert (pgs["def_involvement"] == pgs["primary_def_events"] + pgs["support_def_events"]).all()
    ev = _read(outputs, "fact_events").dropna(subset=["player_id"])
    ok = ev[ev["event_successful"] == "s"].groupby(["game_id", "player_id"]).size()
    assert pgs["plays_successful"].tolist() == ok.reindex(pgs.index).fillna(0).astype(int).tolist()
    plays = pgs["plays_successful"] + pgs["plays_unsuccessful"]
    rate = (pgs["plays_successful"] / plays * 100).round(1)
    assert ((pgs["play_success_rate"] - rate).abs() < 0.06)[plays > 0].all()
    assert pgs.loc[plays == 0, "play_success_rate"].isna().all()
    # rush invariants: points = goals + assists; the subsets of rush involvement stay within it
    assert (pgs["rush_points"] == pgs["rush_goals"] + pgs["rush_assists"]).all()
    for col in ("rush_off_shot_generated", "rush_off_goal_generated", "rush_off_success"):
        assert (pgs[col] <= pgs["rush_involvement"]).all(), col
    assert (pgs["breakaway_goals"] <= pgs["rush_off_goal_generated"]).all()
    assert (pgs["bad_giveaways"] <= pgs["giveaways"]).all()
    # a rated player's player_rating is his dim_player rating, never a default
    dim = _read(outputs, "dim_player").set_index("player_id")["current_skill_rating"]
    rated = pgs.index.get_level_values("player_id").map(dim)
    assert pgs["player_rating"].fillna(-1).tolist() == pd.Series(rated).fillna(-1).tolist()


# ------------------------------------------------------------------ season model columns

def test_season_model_columns_of_p100117(real_outputs):
    s = _read(real_outputs, "fact_player_season_stats_basic").set_index(["season_id", "player_id", "game_type"])
    # P100117 has one tracked game in 2025-26 (18969, Regular): xg_for 0.9783 (fact_shot_xg of his shots, rows
    # 383/386 among them), 2 tracked goals (rows 386 and 2481), avg_opp_rating 4.07
    row = s.loc[("N20252026F", "P100117", "All")]
    assert (row.games_tracked, row.xg_for, row.goals_above_expected, row.xg_per_game) == (1, 0.9783, 1.0217, 0.978)
    assert row.xg_adj == round(0.9783 * w.ADJ_REFERENCE_RATING / 4.07, 4)
    assert row.player_rating == 6
    # no tracked game in 2023-24: the model columns are empty, the rating is the player's
    old = s.loc[("N20232024F", "P100117", "All")]
    assert pd.isna(old.xg_for) and pd.isna(old.games_tracked) and old.player_rating == 6


def test_season_model_columns_sum_the_games(outputs):
    s = _read(outputs, "fact_player_season_stats_basic")
    pgs = _read(outputs, "fact_player_game_stats").dropna(subset=["player_id", "season_id"])
    per_player = pgs.groupby(["season_id", "player_id"]).agg(
        xg_for=("xg_for", "sum"), gar=("gar_total", "sum"), war=("war", "sum"), games=("game_id", "nunique"))
    every = s[(s["game_type"] == "All") & s["games_tracked"].notna()].set_index(["season_id", "player_id"])
    assert len(every)
    want = per_player.reindex(every.index)
    for col in ("xg_for", "gar", "war"):
        assert ((every[col] - want[col]).abs() < 2e-3).all(), col
    assert every["games_tracked"].astype(int).tolist() == want["games"].tolist()
    # the game-type rows add up to the All row
    split = s[s["game_type"] != "All"].groupby(["season_id", "player_id"])[["xg_for", "gar"]].sum(min_count=1)
    assert ((split.reindex(every.index)["xg_for"] - every["xg_for"]).abs() < 2e-3).all()
    assert ((every["xg_per_game"] - every["xg_for"] / every["games_tracked"]).abs() < 1e-3).all()


def test_season_table_alone_renders_the_game_rows_it_sums():
    from types import SimpleNamespace

    from etl.parts import game_tables_of
    from etl.selection import upstream_closure

    # selecting only the skater season table builds the games and renders fact_player_game_stats for it (the
    # pipeline reads it back, then drops it unless it was selected: checked by hand on the real games, where the
    # published folder then holds just the season table, identical to a full run's)
    assert "fact_player_game_stats" in upstream_closure(["fact_player_season_stats_basic"])
    assert game_tables_of(SimpleNamespace(tables=["fact_player_season_stats_basic"])) == ["fact_player_game_stats"]
    assert game_tables_of(SimpleNamespace(tables=["fact_goalie_season_stats_basic"])) == []
