"""One bad cell never fails a run (issue 11, finding 4): errors stay inside their game, bad values are reported."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook

from etl.builders import game as game_builder
from etl.pipeline import EtlOptions, plan_etl, run_etl
from tests.conftest import read_csv, tracked_games


def etl(league: Path, out: Path, **kw):
    return run_etl(EtlOptions(data_dir=str(league), output_dir=str(out), workers=1, **kw))


def workbook(league: Path, game: str) -> Path:
    return league / "games" / game / f"{game}_tracking.xlsx"


def edit(path: Path, sheet: str, column: str, rows: list[int], value, data_type: str | None = None) -> None:
    book = load_workbook(path)
    ws = book[sheet]
    col = [c.value for c in ws[1]].index(column) + 1
    for row in rows:
        cell = ws.cell(row=row, column=col)
        cell.value = value
        if data_type:
            cell.data_type = data_type
    book.save(path)


def issues_of(out: Path, game: str):
    df = read_csv(out / "qa_data_issues.csv")
    return df[df["game_id"] == game]


def test_an_unexpected_error_in_one_game_leaves_that_game_out_and_the_run_goes_on(league, tmp_path, monkeypatch):
    bad = tracked_games(league)[1]
    real = game_builder.build_game

    def broken(game, frames, lg, issues):
        if str(game.game_id) == bad:
            raise TypeError("cannot safely cast non-equivalent float64 to int64")
        return real(game, frames, lg, issues)

    monkeypatch.setattr("etl.game_build.build_game", broken)
    out = tmp_path / "out"
    result = etl(league, out)
    assert result.game_status[int(bad)] == "INVALID"
    done = read_csv(out / "qa_game_completeness.csv").set_index("game_id")
    assert "could not be built (TypeError: cannot safely cast" in done.loc[bad, "reason"]
    assert f"games/{bad}/{bad}_tracking.xlsx" == done.loc[bad, "file"]
    issue = issues_of(out, bad)
    assert (issue["kind"] == "build_error").any()
    assert bad not in set(read_csv(out / "fact_events.csv")["game_id"])
    assert {g for g, s in result.game_status.items() if s == "COMPLETE"}  # the others were built


def test_excel_error_cells_and_impossible_values_become_issues(league, tmp_path):
    game = tracked_games(league)[0]
    path = workbook(league, game)
    edit(path, "shifts", "shift_start_min", [2, 3, 4], "#DIV/0!", data_type="e")
    edit(path, "shifts", "shift_end_sec", [6], -5)
    edit(path, "events", "period", [3], 1e19)
    out = tmp_path / "out"
    result = etl(league, out)
    assert result.game_status[int(game)] in ("COMPLETE", "PARTIAL")  # the run and the game go on
    issues = issues_of(out, game)
    errors = issues[issues["kind"] == "excel_error"]
    assert len(errors) == 1 and errors.iloc[0]["sheet"] == "shifts"
    assert errors.iloc[0]["column_name"] == "shift_start_min" and errors.iloc[0]["row"] == "2"
    assert "3 cells hold the Excel error #DIV/0! (rows 2, 3, 4)" in errors.iloc[0]["problem"]
    left_out = issues[(issues["kind"] == "blank_input") & (issues["sheet"] == "shifts")]
    assert set(left_out["row"]) >= {"2", "3", "4"}  # the shift rows that lost their time are reported
    odd = issues[issues["kind"] == "impossible_value"]
    assert {("shifts", "shift_end_sec", "6"), ("events", "period", "3")} <= \
        set(zip(odd["sheet"], odd["column_name"], odd["row"], strict=True))


def test_game_ids_are_whole_numbers_and_links_outside_the_data_are_refused(league, tmp_path):
    games = league / "games"
    first = tracked_games(league)[0]
    huge = games / "99999999999999999999"
    shutil.copytree(games / first, huge)
    (huge / f"{first}_tracking.xlsx").rename(huge / "99999999999999999999_tracking.xlsx")
    (games / "²").mkdir()
    elsewhere = tmp_path / "elsewhere" / "40001"
    shutil.copytree(games / first, elsewhere)
    os.symlink(elsewhere, games / "40001")
    plan = plan_etl(EtlOptions(data_dir=str(league), output_dir=str(tmp_path / "out")))
    assert 99999999999999999999 not in {g.game_id for g in plan.games} and 40001 not in {g.game_id for g in plan.games}
    text = plan.describe()
    assert "games/99999999999999999999: the folder name is not a game number" in text
    assert "games/40001: the folder links outside the data folder" in text
    result = etl(league, tmp_path / "out")
    assert 40001 not in result.game_status and result.game_status


@pytest.mark.real
def test_real_workbooks_report_their_error_cells(real_dir, real_outputs):
    issues = read_csv(real_outputs / "qa_data_issues.csv")
    errors = issues[issues["kind"] == "excel_error"]
    assert len(errors) and set(errors["sheet"]) <= {"events", "shifts"}
    assert errors["problem"].str.contains("hold the Excel error #").all()


def test_staging_folders_of_killed_runs_are_removed(league, tmp_path):
    out = tmp_path / "out"
    dead = tmp_path / ".out.new-999999999-deadbeef"  # a pid no process has
    dead.mkdir()
    (dead / "fact_events.csv").write_text("half written")
    mine = tmp_path / f".out.new-{os.getpid()}-cafecafe"  # a live process's: kept
    mine.mkdir()
    etl(league, out, tables=["dims"])
    assert not dead.exists() and mine.exists()
