"""Hazards seen in real workbooks come out right without special cases."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from etl.pipeline import EtlOptions, run_etl
from tests.conftest import read_csv


def etl(data: Path, out: Path, **kw):
    return run_etl(EtlOptions(data_dir=str(data), output_dir=str(out), **kw))


def game(league: Path, index: int) -> tuple[int, Path]:
    folder = sorted((league / "games").iterdir())[index]
    return int(folder.name), folder / f"{folder.name}_tracking.xlsx"


def rewrite(path: Path, fn) -> None:
    sheets = pd.read_excel(path, sheet_name=None, engine="calamine")
    fn(sheets)
    with pd.ExcelWriter(path, engine="xlsxwriter") as writer:
        for name, df in sheets.items():
            df.to_excel(writer, sheet_name=name, index=False)


def swap_venues(sheets: dict[str, pd.DataFrame]) -> None:
    """Make the workbook call the schedule's away team 'home' (consistently)."""
    ev, sh = sheets["events"], sheets["shifts"]
    for a, b in (("home_team", "away_team"),):
        ev[a], ev[b] = ev[b].copy(), ev[a].copy()
        sh[a], sh[b] = sh[b].copy(), sh[a].copy()
    ev["team_"] = ev["team_"].map({"h": "a", "a": "h"}, na_action="ignore")
    ev["team_venue"] = ev["team_venue"].map({"Home": "Away", "Away": "Home"}, na_action="ignore")
    for slot in ("forward_1", "forward_2", "forward_3", "defense_1", "defense_2", "xtra", "goalie"):
        sh[f"home_{slot}"], sh[f"away_{slot}"] = sh[f"away_{slot}"].copy(), sh[f"home_{slot}"].copy()


def goal_check(out: Path, gid: int) -> set[str]:
    qa = read_csv(out / "qa_goal_verification.csv")
    return set(qa.loc[qa["game_id"] == str(gid), "match"])


def test_home_away_swapped_workbook_uses_the_schedule(league, tmp_path):
    # game 0 carries team names and derived columns; game 2 carries only tracker inputs
    swapped = [game(league, 0), game(league, 2)]
    for _, path in swapped:
        rewrite(path, swap_venues)
    out = tmp_path / "out"
    etl(league, out)
    done = read_csv(out / "qa_game_completeness.csv").set_index("game_id")
    for gid, _ in swapped:
        assert done.loc[str(gid), "home_away_swapped"] == "true"
        assert goal_check(out, gid) == {"true"}
    stats = read_csv(out / "fact_team_game_stats.csv")
    assert (stats["goals"] == stats["official_goals"]).all()
    found = read_csv(out / "qa_data_issues.csv")
    assert found["problem"].str.contains("home and away are swapped").sum() == 2


def test_partial_game_is_flagged_and_kept(league, tmp_path):
    gid, path = game(league, 1)

    def first_period_only(sheets):
        ev = sheets["events"]
        sheets["events"] = ev[(ev["period"] == 1) | ev["period"].isna()]
        sh = sheets["shifts"]
        sheets["shifts"] = sh[sh["Period"] == 1]

    rewrite(path, first_period_only)
    out = tmp_path / "out"
    etl(league, out)
    done = read_csv(out / "qa_game_completeness.csv").set_index("game_id")
    assert done.loc[str(gid), "status"] == "PARTIAL"
    assert done.loc[str(gid), "periods_tracked"] == "1"
    assert str(gid) in set(read_csv(out / "fact_events.csv")["game_id"])


def test_whitespace_and_hyphen_variants_are_normalised(league, tmp_path):
    gid, path = game(league, 0)

    def messy(sheets):
        ev = sheets["events"]
        for col in ("event_detail", "event_detail_"):
            ev[col] = ev[col].map(lambda v: f" {v.replace('_', '-')} " if isinstance(v, str) else v)
        ev["event_type_"] = ev["event_type_"].map(lambda v: f"{v}  " if isinstance(v, str) else v)

    rewrite(path, messy)
    out = tmp_path / "out"
    etl(league, out)
    codes = set(read_csv(out / "dim_event_detail.csv")["code"])
    assert not any(" " in c or "-" in c for c in codes)
    events = read_csv(out / "fact_events.csv")
    assert set(events["event_detail"].dropna()) <= codes
    assert goal_check(out, gid) == {"true"}


def test_duplicate_jersey_slot_and_float_jerseys(league, tmp_path):
    gid, path = game(league, 1)

    def dup(sheets):
        sh = sheets["shifts"]
        sh.loc[0, "home_forward_2"] = sh.loc[0, "home_forward_1"]
        ev = sheets["events"]
        ev["player_game_number"] = ev["player_game_number"].map(
            lambda v: f"{float(v):.1f}" if pd.notna(v) else v)

    rewrite(path, dup)
    out = tmp_path / "out"
    etl(league, out)
    found = read_csv(out / "qa_data_issues.csv")
    hit = found[found["problem"] == "the same jersey is in two slots of one side"]
    assert list(hit["row"]) == ["2"] and list(hit["column_name"]) == ["home_forward_2"]
    players = read_csv(out / "fact_event_players.csv")
    mine = players[players["game_id"] == str(gid)]
    assert not mine["jersey"].str.contains(r"\.", na=False).any()
    assert mine["player_id"].notna().mean() > 0.99


def test_blank_rows_past_the_data_are_ignored(league, tmp_path):
    gid, path = game(league, 0)
    before_out = tmp_path / "before"
    etl(league, before_out, games=[gid])

    def pad(sheets):
        ev = sheets["events"]
        blank = pd.DataFrame(np.nan, index=range(300), columns=ev.columns)
        blank["player_game_number"] = 0  # formulas that render 0 past the data
        sheets["events"] = pd.concat([ev, blank], ignore_index=True)

    rewrite(path, pad)
    out = tmp_path / "out"
    etl(league, out, games=[gid])
    assert len(read_csv(out / "fact_events.csv")) == len(read_csv(before_out / "fact_events.csv"))


def test_odd_file_name_is_used_and_noted(league, tmp_path):
    gid, path = game(league, 0)
    path.rename(path.with_name(f"{gid}_Tracking (1).xlsx"))
    out = tmp_path / "out"
    result = etl(league, out)
    assert result.game_status[gid] == "COMPLETE"
    found = read_csv(out / "qa_data_issues.csv")
    assert found["problem"].str.contains("instead of").any()


def test_test_game_in_schedule_is_dropped_with_an_issue(real_outputs):
    schedule = read_csv(real_outputs / "dim_schedule.csv")
    assert "99999" not in set(schedule["game_id"])
    found = read_csv(real_outputs / "qa_data_issues.csv")
    assert (found["sheet"] == "dim_schedule").any()


def test_workbook_copied_from_another_game_without_game_ids_is_a_template(league, tmp_path):
    (gid, path), (_, other) = game(league, 2), game(league, 3)  # both 'raw'-style: no derived game_id

    def strip_ids(sheets):
        for name in ("events", "shifts"):
            for col in ("game_id", "home_team", "away_team"):
                sheets[name][col] = np.nan

    shutil.copyfile(other, path)
    rewrite(path, strip_ids)
    out = tmp_path / "out"
    etl(league, out)
    status = read_csv(out / "qa_game_completeness.csv").set_index("game_id").loc[str(gid)]
    assert status["status"] == "TEMPLATE", status["reason"]
    assert "copied from another game" in status["reason"]


def test_jersey_only_in_the_tracker_input_column_is_used(league, tmp_path):
    """A workbook saved without formula results may carry jerseys only in player_game_number_."""
    gid, path = game(league, 2)  # 'raw' style: derived columns empty

    def inputs_only(sheets):
        ev = sheets["events"]
        ev["player_game_number_"] = ev["player_game_number"]
        ev["player_game_number"] = np.nan

    rewrite(path, inputs_only)
    out = tmp_path / "out"
    etl(league, out)
    done = read_csv(out / "qa_game_completeness.csv").set_index("game_id")
    assert done.loc[str(gid), "status"] == "COMPLETE" and float(done.loc[str(gid), "player_link_rate"]) > 0.99
    assert goal_check(out, gid) == {"true"}
