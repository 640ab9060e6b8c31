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
from etl.analytics.micro import PATTERNS
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


def test_micro_stats_and_zone_entries_of_named_rows(real_outputs):
    micro = _read(real_outputs, "fact_player_micro_stats").set_index(["game_id", "player_id"])
    # P100117's Backcheck play details on his rows 637 and 2460 (opp_team_player_1: the defender's row)
    assert micro.loc[(GAME, "P100117"), "backchecks"] == 2
    entries = _read(real_outputs, "fact_zone_entry_summary").set_index(["game_id", "player_id"])
    # P100002's Zone_Entry rows 133 (ZoneEntry_DumpIn), 1622 and 2321 (ZoneEntry_Rush)
    assert entries.loc[(GAME, "P100002"), ["total_entries", "controlled_entries", "dump_entries",
                                           "failed_entries", "controlled_entry_pct"]].tolist() == [3, 2, 1, 0, 66.7]


def test_hits_are_untracked_zero_and_noted(real_outputs):
    micro = _read(real_outputs, "fact_player_micro_stats")
    assert (micro["hits"] == 0).all()
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
    micro = _read(outputs, "fact_player_micro_stats")
    assert len(micro) and not micro.duplicated(["game_id", "player_id"]).any()
    assert (micro[list(PATTERNS)] >= 0).all().all()
    assert (micro["drives_total"] == micro[["drives_middle", "drives_wide", "drives_corner", "drives_net"]]
            .sum(axis=1)).all()
    assert (micro["pass_completed"] <= micro["pass_attempts"]).all()
    entries = _read(outputs, "fact_zone_entry_summary")
    assert (entries["controlled_entries"] + entries["failed_entries"] <= entries["total_entries"]).all()
    qa = _read(outputs, "qa_data_issues")
    untracked = qa[qa["kind"] == "untracked_metric"]
    for r in untracked.itertuples():
        assert (micro.loc[micro["game_id"] == r.game_id, r.column_name] == 0).all()


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
