"""The ETL on the league's real workbooks (skipped when ../shared is absent)."""
from __future__ import annotations

import json

from etl.catalog import REUSED_INDEX_OFFSET, TABLES
from etl.pipeline import EtlOptions, run_etl
from tests.conftest import read_csv
from tests.test_etl_sample import assert_shift_invariants

OFFICIAL = {  # dim_schedule, home first
    18969: {"N10008": 4, "N10010": 3},  # Platinum 4 - Velodrome 3
    18977: {"N10010": 4, "N10003": 2},  # Velodrome 4 - HollowBrook 2
    18981: {"N10004": 2, "N10010": 1},  # Nelson 2 - Velodrome 1
}


def test_goal_verification_matches_the_official_score_for_every_team(real_outputs):
    qa = read_csv(real_outputs / "qa_goal_verification.csv")
    got = {(int(r.game_id), r.team_id): (int(r.official_goals), int(r.tracked_goals), r.match)
           for r in qa.itertuples()}
    for game, teams in OFFICIAL.items():
        for team, goals in teams.items():
            assert got[(game, team)] == (goals, goals, "true"), (game, team)


def test_every_output_has_exactly_the_catalog_columns(real_outputs):
    manifest = json.loads((real_outputs / "manifest.json").read_text())
    for table in TABLES:
        header = (real_outputs / f"{table.name}.csv").read_text().splitlines()[0].split(",")
        assert header == table.column_names, table.name
        assert manifest["tables"][table.name]["columns"] == table.column_names


def test_real_games_are_complete_and_linked(real_outputs):
    qa = read_csv(real_outputs / "qa_game_completeness.csv").set_index("game_id")
    assert list(qa.index) == ["18969", "18977", "18981"]
    assert set(qa["status"]) == {"COMPLETE"}
    assert all(float(x) > 0.99 for x in qa["player_link_rate"])


def test_goals_have_scorers_and_known_assists(real_outputs):
    goals = read_csv(real_outputs / "fact_goals.csv")
    assert len(goals) == 16
    assert goals["scorer_player_id"].notna().all()
    assert goals["event_id"].str.match(r"^EV\d{5}\d{5}$").all()
    # 18969 tracks assists as play details; the box score says 18969 had assists
    scorers = read_csv(real_outputs / "qa_scorer_verification.csv")
    g69 = scorers[scorers["game_id"] == "18969"]
    # the tracker credits #34 with the 2nd-period home goal the box score gives to #47: reported, not hidden
    mismatched = set(g69.loc[g69["goals_match"] == "false", "player_id"])
    assert mismatched == {"P100022", "P100210"}
    assert g69["tracked_goals"].astype(int).sum() == g69["official_goals"].astype(int).sum() == 7
    assert g69["tracked_assists"].astype(int).sum() > 0


def test_vocab_codes_are_normalised(real_outputs):
    details = set(read_csv(real_outputs / "dim_event_detail.csv")["code"])
    assert "Pass_Completed" in details
    assert not any("-" in c or c != c.strip() for c in details)
    events = read_csv(real_outputs / "fact_events.csv")
    assert set(events["event_detail"].dropna()) <= details
    assert set(events["zone_id"].dropna()) <= {"o", "n", "d"}


def test_rerun_gives_identical_outputs_and_keys(real_dir, real_outputs, tmp_path):
    out = tmp_path / "again"
    result = run_etl(EtlOptions(data_dir=str(real_dir), output_dir=str(out), workers=1))
    first = json.loads((real_outputs / "manifest.json").read_text())["tables"]
    for name, info in result.manifest["tables"].items():
        assert info["sha256"] == first[name]["sha256"], name


# ---- issue 10: integrity on the real games ------------------------------------------------------------


def test_real_game_folders_read_the_tracking_workbook_and_ignore_the_rest(real_dir, real_outputs):
    from etl.excel_source import discover_games, folders_without_workbook

    found = discover_games(real_dir)
    assert {g: f.relpath for g, f in found.items()} == {g: f"games/{g}/{g}_tracking.xlsx" for g in OFFICIAL}
    assert (real_dir / "games" / "18977" / "events" / "18977_tracking.xlsx").exists()  # the older copy: not read
    assert folders_without_workbook(real_dir) == {}
    done = read_csv(real_outputs / "qa_game_completeness.csv")
    assert list(done["file"]) == [f"games/{g}/{g}_tracking.xlsx" for g in OFFICIAL]
    assert not (read_csv(real_outputs / "qa_data_issues.csv")["kind"] == "no_workbook").any()


def test_every_real_player_row_ends_as_a_fact_or_an_issue(real_dir, real_outputs):
    from tests.test_integrity import assert_every_player_row_accounted

    for gid in OFFICIAL:
        assert_every_player_row_accounted(real_outputs, str(gid), real_dir / "games" / str(gid) /
                                          f"{gid}_tracking.xlsx")


def test_real_player_games_are_one_row_per_player_on_the_rosters_team(real_outputs):
    stats = read_csv(real_outputs / "fact_player_game_stats.csv")
    roster = read_csv(real_outputs / "fact_gameroster.csv")
    roster = roster[roster["game_id"].isin([str(g) for g in OFFICIAL])]
    assert not stats.duplicated(["game_id", "player_id"]).any() and stats["player_id"].notna().all()
    merged = roster.merge(stats, on=["game_id", "player_id"], how="left", suffixes=("_roster", ""))
    assert (merged["team_id"] == merged["team_id_roster"]).all()
    assert len(roster) == 79 and len(stats) == 81  # + two players the workbook knew but the roster lacks
    extra = stats[~stats.set_index(["game_id", "player_id"]).index.isin(
        roster.set_index(["game_id", "player_id"]).index)]
    assert extra["official_goals"].isna().all() and (extra["toi_seconds"].astype(int) > 0).all()
    # a player without tracked assists shows the official ones next to them
    row = stats[(stats["game_id"] == "18977") & (stats["player_id"] == "P100001")].iloc[0]
    assert (row["assists"], row["official_assists"]) == ("0", "3")
    issues = read_csv(real_outputs / "qa_data_issues.csv")
    other_side = issues[issues["kind"] == "jersey_other_side"]
    assert set(other_side["game_id"]) == {"18977"} and other_side["row"].notna().all()
    # in 18981 the typed role_abrev_binary_ puts those jerseys on their roster's side
    settled = issues[(issues["game_id"] == "18981") & (issues["kind"] == "derived_input_conflict")]
    assert len(settled) == 30 and settled["action"].str.contains("role_abrev_binary_").all()


def test_real_reused_event_numbers_are_separate_events(real_outputs):
    issues = read_csv(real_outputs / "qa_data_issues.csv")
    reused = issues[issues["kind"] == "reused_event_index"]
    assert reused.groupby("game_id").size().to_dict() == {"18981": 20}
    split = issues[issues["kind"] == "split_event_rows"]
    assert split.groupby("game_id").size().to_dict() == {"18977": 4}  # rows added further down, same event
    events = read_csv(real_outputs / "fact_events.csv")
    later = events[events["event_index"].astype(int) >= REUSED_INDEX_OFFSET]
    assert len(later) == 20 and set(later["game_id"]) == {"18981"} and set(later["period"]) == {"2", "3"}
    faceoffs = read_csv(real_outputs / "fact_faceoffs.csv")
    assert not faceoffs["event_detail"].str.startswith("Zone").any()


def test_real_venue_conflicts_are_reported_and_the_schedule_decides(real_dir, real_outputs):
    import re

    import pandas as pd

    issues = read_csv(real_outputs / "qa_data_issues.csv")
    conflicts = issues[issues["kind"] == "venue_conflict"]
    rows = conflicts["problem"].map(lambda p: int(re.search(r"on (\d+) roster rows", p).group(1)))
    games = conflicts["problem"].map(lambda p: re.match(r"game (\d+)", p).group(1))
    assert (rows.sum(), games.nunique()) == (4933, 337)
    raw = pd.read_excel(real_dir / "BLB_TABLES.xlsx", sheet_name="fact_gameroster", engine="calamine")
    first = raw.iloc[int(conflicts.iloc[0]["row"]) - 2]
    roster = read_csv(real_outputs / "fact_gameroster.csv")
    schedule = read_csv(real_outputs / "dim_schedule.csv").set_index("game_id")
    home = roster["game_id"].map(schedule["home_team_id"])
    away = roster["game_id"].map(schedule["away_team_id"])
    known = roster[(roster["team_id"] == home) | (roster["team_id"] == away)]
    expected = (known["team_id"] == home[known.index]).map({True: "home", False: "away"})
    assert (known["team_venue"] == expected).all()
    assert first["team_venue"] != roster.loc[(roster["game_id"] == str(first["game_id"]))
                                             & (roster["team_id"] == first["team_id"]), "team_venue"].iloc[0]


def test_real_blocked_shots_and_periods_covered(real_outputs):
    shots = read_csv(real_outputs / "fact_shots.csv")
    blocked = shots[shots["event_detail"] == "Shot_Blocked"]
    assert len(blocked) > 50 and blocked["blocker_player_id"].notna().mean() > 0.9
    teams = read_csv(real_outputs / "fact_team_game_stats.csv")
    assert teams["blocks"].astype(int).sum() == len(blocked)
    assert set(teams["periods_covered"]) == {"1,2,3"}
    qa = read_csv(real_outputs / "qa_goal_verification.csv")
    assert set(qa["periods_covered"]) == {"1,2,3"}


def test_real_shifts_carry_the_dashboard_columns(real_outputs):
    """Hand-checked against 18969_tracking.xlsx: shifts sheet rows 2-3 (shift_index 1-2) and 98 (shift_index 97),
    events sheet rows 3 (home faceoff win), 23 (away Shot_Blocked), 51 (home Shot_Missed), 54 (home
    Shot_BlockedSameTeam) and 62 (home Shot_OnNetSaved), the events between 18:00 and 16:38 of period 1."""
    import pandas as pd

    shifts = pd.read_csv(real_outputs / "fact_shifts.csv", dtype=str, keep_default_na=False, na_values=[""])
    s = shifts[shifts["game_id"] == "18969"].set_index("shift_index")
    first = s.loc["1"]
    assert first[["shift_key", "season_id", "home_team", "away_team", "home_team_id", "away_team_id",
                  "period_id"]].tolist() == ["SH1896900001", "N20252026F", "Platinum", "Velodrome", "N10008",
                                             "N10010", "P01"]
    assert first[["shift_start_min", "shift_start_sec", "shift_end_min", "shift_end_sec", "shift_start_total_seconds",
                  "shift_end_total_seconds", "shift_duration"]].tolist() == ["18", "0", "16", "38", "1080", "998", "82"]
    assert first[["shift_start_type", "shift_stop_type", "strength", "situation"]].tolist() == [
        "GameStart", "Away Icing", "5v5", "Full Strength"]
    slots = ("forward_1", "forward_2", "forward_3", "defense_1", "defense_2", "xtra", "goalie")
    home = first[[f"home_{slot}" for slot in slots]].fillna("-").tolist()
    away = first[[f"away_{slot}" for slot in slots]].fillna("-").tolist()
    assert home == ["53", "20", "12", "8", "21", "-", "99"]  # jerseys as tracked, the xtra slot empty
    assert away == ["70", "75", "49", "52", "22", "-", "39"]
    assert [first[c] for c in ("cf", "ca", "ff", "fa", "sf", "sa")] == ["3", "1", "2", "0", "1", "0"]
    assert [first[c] for c in ("cf_pct", "ff_pct", "fo_pct")] == ["75.0", "100.0", "100.0"]
    assert first["start_zone"] == "n" and first["start_zone_id"] == "ZN03"  # the opening faceoff (row 3)
    assert float(first["running_video_time"]) == 0 and float(s.loc["2", "running_video_time"]) == 82  # workbook's
    assert s.loc["2", "shift_start_type"] == "OtherFaceoff"
    # row 98: the away goalie pulled for an extra skater (away_xtra 91): the dashboard's empty-net label
    pulled = s.loc["97"]
    assert pd.isna(pulled["away_goalie"]) and pulled["away_xtra"] == "91"
    assert (pulled["strength"], pulled["situation"], pulled["strength_id"]) == ("ENA", "away_en", "5v6")
    # home #53 (Platinum): on the ice in shift 1, then shifts 5-9 without a break: logical shifts 1 and 2
    sp = read_csv(real_outputs / "fact_shift_players.csv")
    p53 = sp[(sp["game_id"] == "18969") & (sp["venue"] == "home") & (sp["jersey"] == "53")].set_index("shift_id")
    assert p53.loc["SH1896900001", ["logical_shift_number", "is_first_segment"]].tolist() == ["1", "true"]
    assert p53.loc["SH1896900005", ["logical_shift_number", "is_first_segment"]].tolist() == ["2", "true"]
    assert p53.loc["SH1896900009", ["logical_shift_number", "is_first_segment"]].tolist() == ["2", "false"]
    assert_shift_invariants(real_outputs)


def test_real_fenwick_and_relative_percentages_hand_checked(real_outputs):
    """Game 18969 (18969_tracking.xlsx, events sheet): P100023 (Platinum) was on ice for 43 Platinum attempts,
    11 of them blocked (rows 749, 1461, 1490, 1867, 1881, 2109, 2127, 2442, 2855, 2877, 2900), and 23 Velodrome
    attempts, 6 blocked (rows 408, 1134, 2030, 2464, 2748, 2973); his own blocked shots are rows 749, 1490, 2127,
    2855, 2877. P100001 (Velodrome): 28 for (7 blocked), 36 against (10 blocked); his shots were blocked on rows
    2464 and 3087 and missed on row 2190."""
    p = read_csv(real_outputs / "fact_player_game_stats.csv")
    p = p[p["game_id"] == "18969"].set_index("player_id")
    cols = ["corsi_for", "corsi_against", "fenwick_for", "fenwick_against", "shots_blocked", "shots_missed"]
    assert p.loc["P100023", cols].astype(int).tolist() == [43, 23, 32, 17, 5, 0]
    assert p.loc["P100001", cols].astype(int).tolist() == [28, 36, 21, 26, 2, 1]
    pct = ["cf_pct", "ff_pct", "cf_pct_rel", "ff_pct_rel"]
    assert p.loc["P100023", pct].astype(float).tolist() == [65.2, 65.3, 15.2, 15.3]
    assert p.loc["P100001", pct].astype(float).tolist() == [43.8, 44.7, -6.2, -5.3]
    for table in ("fact_player_game_stats", "fact_team_game_stats", "fact_goalie_game_stats"):
        df = read_csv(real_outputs / f"{table}.csv")
        sides = df.groupby("game_id")[["home_team_id", "away_team_id"]].first()
        assert {int(g): [h, a] for g, (h, a) in sides.iterrows()} == {g: list(t) for g, t in OFFICIAL.items()}
    teams = read_csv(real_outputs / "fact_team_game_stats.csv").set_index(["game_id", "team_id"])
    summed = read_csv(real_outputs / "fact_player_game_stats.csv").astype({"fenwick_for": int}).groupby(
        ["game_id", "team_id"])["fenwick_for"].sum()
    assert (teams["fenwick_for"].astype(int) == summed.reindex(teams.index)).all()
    assert teams.loc[("18969", "N10008"), ["corsi_for", "fenwick_for"]].astype(int).tolist() == [71, 275]
