"""Issue 10 on the portable sample league: no player row dropped, every hazard reported, one row per player-game.

The sample league carries each hazard of the real workbooks (samples.league.HAZARD_GAMES and the two
hazard games after the played ones); tests that need another shape rewrite a private copy.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from etl.catalog import REUSED_INDEX_OFFSET, get_table
from etl.excel_source import discover_games, folders_without_workbook
from etl.issues import KINDS
from etl.pipeline import EtlOptions, run_etl
from tests.conftest import read_csv, sample_statuses, tracked_games

STYLE_GAMES = {"computed": "30001", "sparse": "30002", "raw": "30003"}  # samples.league.STYLES round-robin
SPLIT_AND_SIDES, WRONG_SIDE, RESTARTED = "30001", "30002", "30004"  # samples.league.HAZARD_GAMES
TEMPLATE_SHIFTS, CSV_ONLY = "30007", "30008"


def etl(data: Path, out: Path, **kw):
    return run_etl(EtlOptions(data_dir=str(data), output_dir=str(out), **kw))


@pytest.fixture(scope="module")
def sample_out(sample_src: Path, tmp_path_factory) -> Path:
    """One full ETL over an untouched copy of the sample league, shared by read-only tests."""
    league = tmp_path_factory.mktemp("sample") / "league"
    shutil.copytree(sample_src, league)
    out = league.parent / "out"
    etl(league, out)
    return out


def workbook(league: Path, gid: str) -> Path:
    return league / "games" / gid / f"{gid}_tracking.xlsx"


def rewrite(path: Path, fn) -> None:
    sheets = pd.read_excel(path, sheet_name=None, engine="calamine")
    fn(sheets)
    with pd.ExcelWriter(path, engine="xlsxwriter") as writer:
        for name, df in sheets.items():
            df.to_excel(writer, sheet_name=name, index=False)


def player_rows(path: Path) -> set[int]:
    """Excel rows of the events sheet that name a player: a player role, a typed jersey, or a jersey formula
    other than the 0 that formulas render past the data."""
    ev = pd.read_excel(path, sheet_name="events", engine="calamine")

    def typed(column: str) -> pd.Series:
        if column not in ev:
            return pd.Series(False, index=ev.index)
        return ev[column].astype("string").str.strip().fillna("") != ""

    formula_jersey = typed("player_game_number") & (pd.to_numeric(ev.get("player_game_number"), errors="coerce")
                                                    != 0)
    mask = typed("player_role") | typed("player_game_number_") | formula_jersey
    return set((np.arange(len(ev)) + 2)[mask.to_numpy()].tolist())


def assert_every_player_row_accounted(out: Path, gid: str, path: Path) -> None:
    """Each player row of the events sheet is exactly one fact_event_players row or one 'row left out' issue."""
    facts = read_csv(out / "fact_event_players.csv")
    facts = facts[facts["game_id"] == gid]
    issues = read_csv(out / "qa_data_issues.csv")
    left = issues[(issues["game_id"] == gid) & (issues["sheet"] == "events") & (issues["action"] == "row left out")]
    fact_rows = facts["source_row"].astype(int).tolist()
    left_rows = left["row"].astype(int).tolist()
    assert len(fact_rows) == len(set(fact_rows)), "a sheet row became two fact rows"
    assert len(left_rows) == len(set(left_rows)), "a left-out row was reported twice"
    assert not set(fact_rows) & set(left_rows), "a row is both a fact and left out"
    assert set(fact_rows) | set(left_rows) == player_rows(path)
    assert set(left["kind"]) <= {"blank_input", "duplicate_role"}


@pytest.mark.parametrize("style", sorted(STYLE_GAMES))
def test_every_player_row_ends_as_a_fact_or_an_issue(sample_src, sample_out, style):
    gid = STYLE_GAMES[style]
    assert_every_player_row_accounted(sample_out, gid, workbook(sample_src, gid))


def test_every_player_row_is_accounted_in_every_sample_game(sample_src, sample_out):
    for gid, status in sample_statuses(sample_src).items():
        if status == "COMPLETE":
            assert_every_player_row_accounted(sample_out, gid, workbook(sample_src, gid))


def test_blank_opponent_inputs_keep_the_opponents(sample_out):
    """A workbook saved without formula results has blank role_abrev_binary_ on opponents' rows."""
    gid = STYLE_GAMES["raw"]
    players = read_csv(sample_out / "fact_event_players.csv")
    mine = players[players["game_id"] == gid]
    assert (mine["side"] == "opp").mean() > 0.25
    faceoffs = read_csv(sample_out / "fact_faceoffs.csv")
    assert faceoffs.loc[faceoffs["game_id"] == gid, "loser_player_id"].notna().all()
    stats = read_csv(sample_out / "fact_player_game_stats.csv")
    assert stats.loc[stats["game_id"] == gid, "fo_losses"].astype(int).sum() == \
        (faceoffs["game_id"] == gid).sum()
    # the same game in every style gives the same share of opponent rows (within noise)
    shares = {g: (players.loc[players["game_id"] == g, "side"] == "opp").mean() for g in STYLE_GAMES.values()}
    assert max(shares.values()) - min(shares.values()) < 0.1, shares


def test_rows_without_number_or_side_are_reported_one_by_one(league, tmp_path):
    gid = STYLE_GAMES["raw"]
    path = workbook(league, gid)
    expected = player_rows(path)

    def blank(sheets):
        ev = sheets["events"]
        ev.loc[ev.index[10:15], "event_index_"] = np.nan  # rows without an event number
        ev.loc[ev.index[40:120], "role_abrev_binary_"] = np.nan  # blanks everywhere (below the in-use share)
        ev["role_abrev_binary_"] = np.nan

    rewrite(path, blank)
    out = tmp_path / "out"
    etl(league, out)
    assert player_rows(path) == expected
    issues = read_csv(out / "qa_data_issues.csv")
    left = issues[(issues["game_id"] == gid) & (issues["action"] == "row left out")]
    assert (left["kind"] == "blank_input").all()
    assert left["problem"].str.contains("without an event number").sum() >= 4
    assert left["problem"].str.contains("without a side").sum() > 100  # never capped
    assert_every_player_row_accounted(out, gid, path)


# ----------------------------------------------------------------------------------------- completeness


def completeness(out: Path) -> pd.DataFrame:
    return read_csv(out / "qa_game_completeness.csv").set_index("game_id")


def test_every_folder_gets_a_completeness_row(sample_src, sample_out):
    done = completeness(sample_out)
    assert done["status"].to_dict() == sample_statuses(sample_src)
    assert done.loc[CSV_ONLY, "file"] == f"games/{CSV_ONLY}"
    assert "no tracking workbook" in done.loc[CSV_ONLY, "reason"] and "events/" in done.loc[CSV_ONLY, "reason"]
    issues = read_csv(sample_out / "qa_data_issues.csv")
    hit = issues[issues["kind"] == "no_workbook"]
    assert list(hit["game_id"]) == [CSV_ONLY] and list(hit["file"]) == [f"games/{CSV_ONLY}"]


def test_template_shifts_leave_the_game_out_with_the_sheet_named(sample_out):
    done = completeness(sample_out)
    assert done.loc[TEMPLATE_SHIFTS, "status"] == "TEMPLATE"
    reason = done.loc[TEMPLATE_SHIFTS, "reason"]
    assert "shifts sheet" in reason and "82 of 3240 s" in reason
    issues = read_csv(sample_out / "qa_data_issues.csv")
    hit = issues[(issues["game_id"] == TEMPLATE_SHIFTS) & (issues["kind"] == "template_sheet")]
    assert list(hit["sheet"]) == ["shifts"]
    for table in ("fact_events", "fact_shift_players", "fact_goalie_game_stats", "qa_goal_verification"):
        assert TEMPLATE_SHIFTS not in set(read_csv(sample_out / f"{table}.csv")["game_id"]), table


def test_a_folder_with_only_an_older_copy_in_events_is_no_workbook(league, tmp_path):
    gid = "30005"
    folder = league / "games" / gid
    (folder / "events").mkdir()
    shutil.move(str(workbook(league, gid)), folder / "events" / f"{gid}_tracking.xlsx")
    assert int(gid) not in discover_games(league) and int(gid) in folders_without_workbook(league)
    out = tmp_path / "out"
    etl(league, out, games=[30001])  # a games selection still reports every folder without a workbook
    done = completeness(out)
    assert done.loc[gid, "status"] == "NO_WORKBOOK" and f"events/{gid}_tracking.xlsx" in done.loc[gid, "reason"]
    assert done.loc[CSV_ONLY, "status"] == "NO_WORKBOOK"


def test_the_etl_reads_the_game_workbook_and_ignores_the_folder_extras(sample_src, sample_out):
    folder = sample_src / "games" / SPLIT_AND_SIDES
    extras = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert {f"{SPLIT_AND_SIDES}_video_times.xlsx", "!info.txt", f"events/{SPLIT_AND_SIDES}_tracking.xlsx",
            f"events/{SPLIT_AND_SIDES}_1.csv", f"shots/{SPLIT_AND_SIDES}_1.csv"} <= extras
    assert discover_games(sample_src)[int(SPLIT_AND_SIDES)].relpath == \
        f"games/{SPLIT_AND_SIDES}/{SPLIT_AND_SIDES}_tracking.xlsx"
    done = completeness(sample_out)
    assert done.loc[SPLIT_AND_SIDES, "status"] == "COMPLETE"
    assert done.loc[SPLIT_AND_SIDES, "file"] == f"games/{SPLIT_AND_SIDES}/{SPLIT_AND_SIDES}_tracking.xlsx"


def only_periods(sheet: str, periods: set[int]):
    def fn(sheets):
        df = sheets[sheet]
        column = "period" if sheet == "events" else "Period"
        sheets[sheet] = df[df[column].isin(periods) | df[column].isna()]
    return fn


def schedule_period_goals(league: Path, gid: str) -> dict[tuple[str, int], int]:
    s = pd.read_excel(league / "BLB_TABLES.xlsx", sheet_name="dim_schedule", engine="calamine")
    row = s[s["game_id"] == int(gid)].iloc[0]
    return {(v, p): int(0 if pd.isna(row[f"{v}_team_period{p}_goals"]) else row[f"{v}_team_period{p}_goals"])
            for v in ("home", "away") for p in (1, 2, 3)}


def test_shifts_lacking_periods_make_the_game_partial_with_one_window(league, tmp_path):
    gid = "30004"
    rewrite(workbook(league, gid), only_periods("shifts", {1}))
    out = tmp_path / "out"
    etl(league, out)
    done = completeness(out).loc[gid]
    assert done["status"] == "PARTIAL"
    assert "the shifts sheet lacks periods 2, 3" in done["reason"] and "events sheet" not in done["reason"]
    assert (done["event_periods"], done["shift_periods"], done["periods_tracked"]) == ("1,2,3", "1", "1")
    stats = read_csv(out / "fact_player_game_stats.csv")
    mine = stats[stats["game_id"] == gid]
    assert set(mine["periods_covered"]) == {"1"}
    assert mine["toi_seconds"].astype(int).max() <= 18 * 60
    team = read_csv(out / "fact_team_game_stats.csv").set_index(["game_id", "venue"])
    official = schedule_period_goals(league, gid)
    for venue in ("home", "away"):
        row = team.loc[(gid, venue)]
        assert row["periods_covered"] == "1" and int(row["official_goals"]) == official[(venue, 1)]
        assert int(row["goals"]) == int(row["official_goals"])  # tracked goals of the window match
    goalies = read_csv(out / "fact_goalie_game_stats.csv")
    assert set(goalies.loc[goalies["game_id"] == gid, "periods_covered"]) == {"1"}
    # goal verification compares what the events sheet covers: all periods, the final score
    qa = read_csv(out / "qa_goal_verification.csv")
    assert set(qa.loc[qa["game_id"] == gid, "periods_covered"]) == {"1,2,3"}
    assert set(qa.loc[qa["game_id"] == gid, "match"]) == {"true"}
    issues = read_csv(out / "qa_data_issues.csv")
    partial = issues[(issues["game_id"] == gid) & (issues["kind"] == "partial_game")]
    assert list(partial["sheet"]) == ["shifts"]


def test_events_of_one_period_are_verified_against_that_periods_official_goals(league, tmp_path):
    gid = "30005"
    rewrite(workbook(league, gid), only_periods("events", {1}))
    out = tmp_path / "out"
    etl(league, out)
    done = completeness(out).loc[gid]
    assert done["status"] == "PARTIAL" and "the events sheet lacks periods 2, 3" in done["reason"]
    qa = read_csv(out / "qa_goal_verification.csv")
    mine = qa[qa["game_id"] == gid].set_index("venue")
    official = schedule_period_goals(league, gid)
    for venue in ("home", "away"):
        assert mine.loc[venue, "periods_covered"] == "1"
        assert int(mine.loc[venue, "official_goals"]) == official[(venue, 1)]
        assert mine.loc[venue, "match"] == "true"


def test_partial_game_without_per_period_goals_is_not_verified_and_says_why(league, tmp_path):
    gid = "30005"
    rewrite(workbook(league, gid), only_periods("events", {1, 2}))

    def drop_period_goals(sheets):
        s = sheets["dim_schedule"]
        for column in [c for c in s.columns if re.fullmatch(r"(home|away)_team_period\w+_goals", c)]:
            s[column] = np.nan

    rewrite(league / "BLB_TABLES.xlsx", drop_period_goals)
    out = tmp_path / "out"
    etl(league, out)
    qa = read_csv(out / "qa_goal_verification.csv")
    mine = qa[qa["game_id"] == gid]
    assert mine["official_goals"].isna().all() and mine["match"].isna().all()
    issues = read_csv(out / "qa_data_issues.csv")
    assert ((issues["game_id"] == gid) & (issues["kind"] == "no_period_goals")).sum() == 1
    other = qa[qa["game_id"] == "30001"]
    assert set(other["match"]) == {"true"}  # complete games still compare the final score


# ----------------------------------------------------------------------------------------- players


def test_one_row_per_player_game_on_the_rosters_team(sample_src, sample_out):
    stats = read_csv(sample_out / "fact_player_game_stats.csv")
    roster = read_csv(sample_out / "fact_gameroster.csv")
    games = {g for g, s in sample_statuses(sample_src).items() if s == "COMPLETE"}
    stats, roster = stats[stats["game_id"].isin(games)], roster[roster["game_id"].isin(games)]
    linked = stats[stats["player_id"].notna()]
    assert not linked.duplicated(["game_id", "player_id"]).any()
    merged = roster.merge(linked, on=["game_id", "player_id"], how="left", suffixes=("_roster", ""))
    assert (merged["team_id"] == merged["team_id_roster"]).all()  # every rostered player, on his team
    assert len(linked) == len(roster)
    official = merged.set_index(["game_id", "player_id"])
    assert (official["official_goals"] == official["goals_roster"]).all()
    assert (official["official_assists"] == official["assist"]).all()
    points = official["official_points"].astype(int)
    assert (points == official["goals_roster"].astype(int) + official["assist"].astype(int)).all()


def test_jerseys_on_the_wrong_side_are_credited_to_the_roster_and_reported(sample_out):
    issues = read_csv(sample_out / "qa_data_issues.csv")
    hit = issues[(issues["game_id"] == WRONG_SIDE) & (issues["kind"] == "jersey_other_side")]
    assert len(hit) == 4
    assert set(hit["sheet"]) == {"events"} and set(hit["column_name"]) == {"player_game_number"}
    assert hit["file"].str.endswith(f"{WRONG_SIDE}_tracking.xlsx").all()
    players = read_csv(sample_out / "fact_event_players.csv")
    roster = read_csv(sample_out / "fact_gameroster.csv")
    team_of = dict(zip(zip(roster["game_id"], roster["player_id"], strict=True), roster["team_id"], strict=True))
    rows = players[(players["game_id"] == WRONG_SIDE) & players["source_row"].isin(hit["row"])]
    assert len(rows) == 4 and rows["player_id"].notna().all()
    assert all(team_of[(WRONG_SIDE, p)] == t for p, t in zip(rows["player_id"], rows["team_id"], strict=True))
    assert (rows["side"] == "opp").all()  # the tracked side stays visible


def test_formula_roles_on_the_wrong_side_are_settled_by_the_typed_input_and_the_roster(sample_out):
    issues = read_csv(sample_out / "qa_data_issues.csv")
    hit = issues[(issues["game_id"] == SPLIT_AND_SIDES) & (issues["kind"] == "derived_input_conflict")]
    assert len(hit) == 2 and hit["action"].str.contains("used role_abrev_binary_").all()
    # every faceoff of the sample: winner and loser are on their teams' rosters
    faceoffs = read_csv(sample_out / "fact_faceoffs.csv")
    roster = read_csv(sample_out / "fact_gameroster.csv")
    team_of = dict(zip(zip(roster["game_id"], roster["player_id"], strict=True), roster["team_id"], strict=True))
    for r in faceoffs.itertuples():
        assert team_of[(r.game_id, r.winner_player_id)] == r.winner_team_id, r
        assert team_of[(r.game_id, r.loser_player_id)] == r.loser_team_id, r


def plain_home_jersey(ev: pd.DataFrame, sh: pd.DataFrame) -> int:
    """A home skater whose rows all agree on their side (not in the sample's wrong-formula-side faceoff)."""
    typed_event = pd.to_numeric(ev["role_abrev_binary_"], errors="coerce") == 1
    formula_event = ev["player_role"].astype("string").str.startswith("event")
    disputed = set(ev.loc[(typed_event != formula_event) & ev["player_role"].notna(), "player_game_number"])
    return next(j for j in sh["home_forward_1"].dropna() if j not in disputed)


def test_an_unlinked_jersey_is_one_row_with_its_event_figures_and_its_ice_time(league, tmp_path):
    gid = STYLE_GAMES["computed"]

    def stranger(sheets):
        ev, sh = sheets["events"], sheets["shifts"]
        home_jersey = plain_home_jersey(ev, sh)
        his = (ev["player_game_number"] == home_jersey) & (ev["player_team"] == ev["home_team"])
        ev.loc[his, ["player_game_number", "player_game_number_"]] = 77
        ev.loc[his, "player_id"] = np.nan
        for col in [c for c in sh.columns if c.startswith("home_") and c[5:] in
                    ("forward_1", "forward_2", "forward_3", "defense_1", "defense_2", "xtra")]:
            sh.loc[sh[col] == home_jersey, col] = 77

    rewrite(workbook(league, gid), stranger)
    out = tmp_path / "out"
    etl(league, out)
    stats = read_csv(out / "fact_player_game_stats.csv")
    rows = stats[(stats["game_id"] == gid) & (stats["jersey"] == "77")]
    assert len(rows) == 1 and rows["player_id"].isna().all()
    row = rows.iloc[0]
    assert int(row["toi_seconds"]) > 0 and int(row["shots"]) + int(row["fo_wins"]) + int(row["giveaways"]) > 0
    assert row["player_game_id"].endswith("J77")
    issues = read_csv(out / "qa_data_issues.csv")
    hit = issues[(issues["game_id"] == gid) & (issues["kind"] == "jersey_not_on_roster")]
    assert {"events", "shifts"} == set(hit["sheet"]) and hit["row"].notna().all()


def test_a_jersey_the_workbook_links_is_linked_in_the_shifts_too(league, tmp_path):
    """One jersey never splits into a linked row (events) and an unlinked row carrying the ice time (shifts)."""
    gid = STYLE_GAMES["computed"]

    def substitute(sheets):
        ev, sh = sheets["events"], sheets["shifts"]
        home_jersey = plain_home_jersey(ev, sh)
        rows = (ev["player_game_number"] == home_jersey) & (ev["player_team"] == ev["home_team"])
        ev.loc[rows, ["player_game_number", "player_game_number_"]] = 66
        ev.loc[rows, "player_id"] = "P999999"  # the tracker's own roster knew the substitute
        for col in [f"home_{slot}" for slot in ("forward_1", "forward_2", "forward_3", "defense_1", "defense_2",
                                                 "xtra")]:
            sh.loc[sh[col] == home_jersey, col] = 66

    rewrite(workbook(league, gid), substitute)
    out = tmp_path / "out"
    etl(league, out)
    stats = read_csv(out / "fact_player_game_stats.csv")
    rows = stats[(stats["game_id"] == gid) & (stats["jersey"] == "66")]
    assert list(rows["player_id"]) == ["P999999"]
    assert int(rows.iloc[0]["toi_seconds"]) > 0 and rows.iloc[0]["official_goals"] != rows.iloc[0]["official_goals"]


# ----------------------------------------------------------------------------------------- events


def test_restarted_event_numbering_becomes_separate_events_with_stable_keys(sample_src, sample_out):
    issues = read_csv(sample_out / "qa_data_issues.csv")
    hit = issues[(issues["game_id"] == RESTARTED) & (issues["kind"] == "reused_event_index")]
    assert len(hit) == 20 and set(hit["sheet"]) == {"events"} and set(hit["column_name"]) == {"event_index_"}
    raw = pd.read_excel(workbook(sample_src, RESTARTED), sheet_name="events", engine="calamine")
    number = raw["event_index_"]
    blocks = (number != number.shift()).cumsum()[number.notna()]
    events = read_csv(sample_out / "fact_events.csv")
    mine = events[events["game_id"] == RESTARTED]
    assert len(mine) == blocks.nunique()  # one event per contiguous block
    later = mine[mine["event_index"].astype(int) >= REUSED_INDEX_OFFSET]
    assert len(later) == 20
    assert (later["event_id"] == "EV" + RESTARTED + later["event_index"].str.zfill(5)).all()
    assert set(later["period"]) == {"2", "3"}  # the restarted block spans the start of period 3
    assert set(read_csv(sample_out / "qa_goal_verification.csv").query("game_id == @RESTARTED")["match"]) == {"true"}
    players = read_csv(sample_out / "fact_event_players.csv")
    restarted = players[players["event_id"].isin(later["event_id"])]
    firsts = restarted.groupby(["event_id", "side"])["role_number"].apply(lambda s: s.astype(int).min())
    assert (firsts == 1).all()  # formula roles that counted on across both uses are renumbered


def test_rows_of_one_event_typed_further_down_stay_one_event(sample_out):
    issues = read_csv(sample_out / "qa_data_issues.csv")
    hit = issues[(issues["game_id"] == SPLIT_AND_SIDES) & (issues["kind"] == "split_event_rows")]
    assert len(hit) == 1
    number = int(re.search(r"event (\d+)", hit.iloc[0]["problem"]).group(1))
    players = read_csv(sample_out / "fact_event_players.csv")
    event = players[players["event_id"] == f"EV{SPLIT_AND_SIDES}{1000 + number:05d}"]
    assert set(event["side"]) == {"event", "opp"}
    assert int(hit.iloc[0]["row"]) in set(event["source_row"].astype(int))


# ----------------------------------------------------------------------------------------- master


def test_venue_conflicts_are_reported_and_the_schedule_decides_everywhere(sample_src, sample_out):
    issues = read_csv(sample_out / "qa_data_issues.csv")
    hit = issues[issues["kind"] == "venue_conflict"]
    assert len(hit) == 2 and set(hit["sheet"]) == {"fact_gameroster"} and set(hit["column_name"]) == {"team_venue"}
    raw = pd.read_excel(sample_src / "BLB_TABLES.xlsx", sheet_name="fact_gameroster", engine="calamine")
    for r in hit.itertuples():
        assert raw.iloc[int(r.row) - 2]["team_venue"] == "away"
    schedule = read_csv(sample_out / "dim_schedule.csv").set_index("game_id")
    venue = {(g, schedule.at[g, "home_team_id"]): "home" for g in schedule.index}
    venue |= {(g, schedule.at[g, "away_team_id"]): "away" for g in schedule.index}
    for table in ("fact_gameroster", "fact_player_game_stats", "fact_team_game_stats", "fact_event_players",
                  "fact_shift_players"):
        df = read_csv(sample_out / f"{table}.csv").dropna(subset=["team_id"])
        column = "team_venue" if table == "fact_gameroster" else "venue"
        pairs = zip(df["game_id"], df["team_id"], df[column], strict=True)
        assert all(venue[(g, t)] == v for g, t, v in pairs), table
    roster = read_csv(sample_out / "fact_gameroster.csv")
    both = roster.merge(schedule.reset_index()[["game_id", "home_team_id", "away_team_id"]], on="game_id")
    other = np.where(both["team_id"] == both["home_team_id"], both["away_team_id"], both["home_team_id"])
    assert (both["opp_team_id"] == other).all()


def test_blocked_shots_are_credited_to_the_blocker(sample_out):
    shots = read_csv(sample_out / "fact_shots.csv")
    blocked = shots[shots["event_detail"] == "Shot_Blocked"]
    assert len(blocked) > 10 and blocked["blocker_player_id"].notna().all()
    assert shots.loc[shots["event_detail"] != "Shot_Blocked", "blocker_player_id"].isna().all()
    players = read_csv(sample_out / "fact_player_game_stats.csv")
    teams = read_csv(sample_out / "fact_team_game_stats.csv")
    by_team = players.groupby(["game_id", "team_id"])["blocks"].apply(lambda s: s.astype(int).sum())
    assert (teams.set_index(["game_id", "team_id"])["blocks"].astype(int) == by_team.reindex(
        teams.set_index(["game_id", "team_id"]).index)).all()
    assert teams["blocks"].astype(int).sum() == len(blocked)


def test_season_and_game_tables_say_which_goals_they_count():
    for name in ("fact_player_season_stats_basic", "fact_goalie_season_stats_basic"):
        table = get_table(name)
        for col in ("goals", "assists", "goals_against", "games_played"):
            if col in table.column_names:
                assert "official box score" in table.column(col).description, (name, col)
    assert "official final scores" in get_table("fact_team_season_stats_basic").column("goals_for").description
    game = get_table("fact_player_game_stats")
    assert "tracking" in game.column("goals").description
    assert "official box score" in game.column("official_goals").description


def test_every_issue_has_a_known_kind_and_a_location(sample_out):
    issues = read_csv(sample_out / "qa_data_issues.csv")
    assert issues["kind"].notna().all() and set(issues["kind"]) <= set(KINDS)
    located = issues[~issues["kind"].isin(["no_workbook", "more_rows", "odd_file_name", "no_period_goals"])]
    assert located["file"].notna().all() and located["sheet"].notna().all()
    counts = issues["kind"].value_counts().to_dict()
    untracked = issues[issues["kind"] == "untracked_metric"]  # issue 13: one row per game and metric no event records
    assert counts.pop("untracked_metric") == len(untracked.drop_duplicates(["game_id", "problem"])) > 0
    assert counts == {"reused_event_index": 20, "jersey_other_side": 4, "venue_conflict": 2,
                      "derived_input_conflict": 2, "split_event_rows": 1, "template_sheet": 1, "no_workbook": 1}


def test_the_sample_generator_is_deterministic_and_matches_the_committed_sample(sample_src, tmp_path):
    from samples.league import generate_league

    generate_league(tmp_path / "again", games=6, seed=7)
    committed = sorted(p.relative_to(sample_src) for p in sample_src.rglob("*") if p.is_file())
    again = sorted(p.relative_to(tmp_path / "again") for p in (tmp_path / "again").rglob("*") if p.is_file())
    assert committed == again
    for rel in committed:
        assert (sample_src / rel).read_bytes() == (tmp_path / "again" / rel).read_bytes(), rel
    assert tracked_games(sample_src) == [str(g) for g in range(30001, 30008)]
    book = load_workbook(workbook(sample_src, TEMPLATE_SHIFTS), read_only=True)
    assert book["shifts"].max_row == 2  # header and one leftover row


# ------------------------------------------------------------------ dashboard contract columns (issue 12)

def test_fenwick_is_corsi_without_the_blocked_attempts_on_ice(sample_out):
    """Per linked skater: fenwick = corsi minus the blocked Shot events of that side during his shifts (from
    fact_events and fact_shift_players); percentages, rel columns, aliases and the team sums follow."""
    p = read_csv(sample_out / "fact_player_game_stats.csv")
    ev = read_csv(sample_out / "fact_events.csv")
    sp = read_csv(sample_out / "fact_shift_players.csv")
    blocked = ev[(ev["event_type"] == "Shot") & ev["event_detail"].str.contains("Blocked", na=False)]
    skaters = sp[(sp["is_goalie"] == "false") & sp["player_id"].notna()][["shift_id", "player_id", "team_id"]]
    on_ice = blocked[["game_id", "shift_id", "event_team_id"]].merge(skaters.drop_duplicates(), on="shift_id")
    own = on_ice["event_team_id"] == on_ice["team_id"]
    keys = ["game_id", "player_id", "team_id"]
    linked = p[p["player_id"].notna()].set_index(keys)
    for mask, corsi, fenwick in ((own, "corsi_for", "fenwick_for"), (~own, "corsi_against", "fenwick_against")):
        counted = on_ice[mask].groupby(keys).size().reindex(linked.index).fillna(0).astype(int)
        assert (linked[corsi].astype(int) - linked[fenwick].astype(int) == counted).all(), fenwick
    assert on_ice[own].shape[0] > 10
    num = p[["corsi_for", "corsi_against", "fenwick_for", "fenwick_against", "shots", "shots_blocked",
             "shots_missed", "goals", "assists", "points", "g", "a", "pts", "plus_minus",
             "plus_minus_total"]].astype(int)
    ff = num["fenwick_for"] + num["fenwick_against"]
    want = (num["fenwick_for"] * 100 / ff.where(ff > 0)).fillna(50).round(1)
    assert (p["ff_pct"].astype(float) == want).all()
    assert ((p["cf_pct"].astype(float) - 50).round(1) == p["cf_pct_rel"].astype(float)).all()
    assert ((p["ff_pct"].astype(float) - 50).round(1) == p["ff_pct_rel"].astype(float)).all()
    assert (num[["g", "a", "pts", "plus_minus_total"]].to_numpy()
            == num[["goals", "assists", "points", "plus_minus"]].to_numpy()).all()
    assert (num["shots_blocked"] + num["shots_missed"] <= num["shots"]).all() and num["shots_missed"].sum() > 0
    teams = read_csv(sample_out / "fact_team_game_stats.csv").set_index(["game_id", "team_id"])
    summed = num.assign(game_id=p["game_id"], team_id=p["team_id"]).groupby(["game_id", "team_id"])[
        ["fenwick_for", "fenwick_against"]].sum()
    assert (teams[["fenwick_for", "fenwick_against"]].astype(int) == summed.reindex(teams.index)).all().all()
    sched = read_csv(sample_out / "dim_schedule.csv").set_index("game_id")
    for table in ("fact_player_game_stats", "fact_team_game_stats", "fact_goalie_game_stats"):
        df = read_csv(sample_out / f"{table}.csv")
        assert (df["home_team_id"] == df["game_id"].map(sched["home_team_id"])).all()
        assert (df["away_team_id"] == df["game_id"].map(sched["away_team_id"])).all()
    entries = read_csv(sample_out / "fact_zone_entry_summary.csv")
    assert len(entries) and (entries["games"] == "1").all()


def test_season_cf_and_shooting_pct_sum_the_tracked_games(sample_out):
    p = read_csv(sample_out / "fact_player_game_stats.csv")
    p = p[p["player_id"].notna()].astype({c: int for c in ("corsi_for", "corsi_against", "goals", "sog")})
    sched = read_csv(sample_out / "dim_schedule.csv").set_index("game_id")
    p["season_id"] = p["game_id"].map(sched["season_id"])
    summed = p.groupby(["season_id", "player_id"])[["corsi_for", "corsi_against", "goals", "sog"]].sum()
    seasons = read_csv(sample_out / "fact_player_season_stats_basic.csv")
    every = seasons[seasons["game_type"] == "All"].set_index(["season_id", "player_id"])
    got = summed.reindex(every.index)
    tracked = got["corsi_for"].notna()
    assert tracked.sum() > 20 and every.loc[~tracked, ["cf_pct", "shooting_pct"]].isna().all().all()
    t, e = got[tracked], every[tracked]
    cf = (t["corsi_for"] * 100 / (t["corsi_for"] + t["corsi_against"]).where(lambda n: n > 0)).fillna(50).round(1)
    sh = (t["goals"] * 100 / t["sog"].where(t["sog"] > 0)).fillna(0).round(1)
    assert (e["cf_pct"].astype(float) == cf).all() and (e["shooting_pct"].astype(float) == sh).all()


def test_schedule_power_play_figures_survive_kept_games_and_runs_without_games(sample_out, tmp_path):
    """A games selection keeps the other games' figures (from the manifest), a dim_schedule-only run (no game
    built) keeps every published game's; untracked or unusable games stay empty."""
    cols = ["home_pp_goals", "away_pp_goals", "home_pp_opportunities", "away_pp_opportunities",
            "home_pk_goals_against", "away_pk_goals_against", "away_pk_opportunities", "video_url_1",
            "video_start_offset"]
    before = read_csv(sample_out / "dim_schedule.csv").set_index("game_id")[cols]
    complete = completeness(sample_out)["status"] == "COMPLETE"
    played = before.index.isin(complete[complete].index)
    assert before.loc[played, "home_pp_goals"].notna().all() and before.loc[~played, "home_pp_goals"].isna().all()
    assert before[["home_pp_opportunities", "away_pp_opportunities"]].astype(float).sum().sum() > 3
    assert (before["home_pp_goals"].fillna("") == before["away_pk_goals_against"].fillna("")).all()
    out = tmp_path / "out"
    shutil.copytree(sample_out, out)
    league = sample_out.parent / "league"
    etl(league, out, games=[int(STYLE_GAMES["sparse"])], mode="incremental")
    pd.testing.assert_frame_equal(read_csv(out / "dim_schedule.csv").set_index("game_id")[cols], before)
    etl(league, out, tables=["dim_schedule", "fact_player_season_stats_basic"])
    pd.testing.assert_frame_equal(read_csv(out / "dim_schedule.csv").set_index("game_id")[cols], before)
