"""Bad inputs: clear errors naming file, sheet, row and column; bad games left out; nothing half-written."""
from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from etl.errors import InputError, SelectionError
from etl.pipeline import EtlOptions, run_etl
from tests.conftest import read_csv, sample_statuses, tracked_games


def etl(data: Path, out: Path, **kw):
    return run_etl(EtlOptions(data_dir=str(data), output_dir=str(out), **kw))


def game_path(league: Path, index: int = 0) -> tuple[int, Path]:
    folder = sorted((league / "games").iterdir())[index]
    return int(folder.name), folder / f"{folder.name}_tracking.xlsx"


def completeness(out: Path) -> dict[str, tuple[str, str]]:
    df = read_csv(out / "qa_game_completeness.csv")
    return {r.game_id: (r.status, r.reason) for r in df.itertuples()}


def issues(out: Path):
    return read_csv(out / "qa_data_issues.csv")


def edit(path: Path, fn) -> None:
    book = load_workbook(path, keep_links=False)
    fn(book)
    book.save(path)


def test_corrupt_workbook_is_invalid_and_the_run_succeeds(league, tmp_path):
    gid, path = game_path(league, 1)
    path.write_bytes(b"this is not an xlsx file")
    out = tmp_path / "out"
    result = etl(league, out)
    status, reason = completeness(out)[str(gid)]
    assert status == "INVALID" and "cannot be opened" in reason and path.name in reason
    assert str(gid) not in set(read_csv(out / "fact_events.csv")["game_id"])
    assert result.game_status[gid] == "INVALID"
    assert str(gid) in set(issues(out)["game_id"].dropna())


def test_missing_sheet_names_the_sheet(league, tmp_path):
    gid, path = game_path(league, 0)
    edit(path, lambda b: b.remove(b["shifts"]))
    out = tmp_path / "out"
    etl(league, out)
    status, reason = completeness(out)[str(gid)]
    assert status == "INVALID" and "sheet 'shifts'" in reason


def test_missing_column_names_sheet_and_column(league, tmp_path):
    gid, path = game_path(league, 0)

    def drop_jersey(book):
        sheet = book["events"]
        for name in ("player_game_number", "player_game_number_"):
            header = [c.value for c in sheet[1]]
            if name in header:
                sheet.delete_cols(header.index(name) + 1)

    edit(path, drop_jersey)
    out = tmp_path / "out"
    etl(league, out)
    status, reason = completeness(out)[str(gid)]
    assert status == "INVALID"
    assert "sheet 'events'" in reason and "column 'player_game_number or player_game_number_'" in reason


def test_text_in_a_number_column_is_reported_with_its_cell(league, tmp_path):
    gid, path = game_path(league, 0)

    def bad_jersey(book):
        sheet = book["events"]
        header = [c.value for c in sheet[1]]
        col = header.index("player_game_number") + 1
        for row in range(2, sheet.max_row + 1):
            if sheet.cell(row=row, column=col).value is not None:
                sheet.cell(row=row, column=col, value="twelve")
                return row
        raise AssertionError("no jersey cell")

    edit(path, bad_jersey)
    out = tmp_path / "out"
    etl(league, out)
    found = issues(out)
    hit = found[(found["game_id"] == str(gid)) & (found["column_name"] == "player_game_number")
                & (found["problem"] == "jersey is not a number")]
    assert len(hit) == 1
    assert hit.iloc[0]["sheet"] == "events" and hit.iloc[0]["file"].endswith(path.name)
    assert int(hit.iloc[0]["row"]) >= 2
    assert completeness(out)[str(gid)][0] == "COMPLETE"


def test_text_in_a_master_number_column_is_reported(league, tmp_path):
    def bad_score(book):
        sheet = book["dim_schedule"]
        header = [c.value for c in sheet[1]]
        sheet.cell(row=2, column=header.index("home_total_goals") + 1, value="four")

    edit(next(league.glob("BLB_TABLES.xlsx")), bad_score)
    out = tmp_path / "out"
    etl(league, out)
    found = issues(out)
    hit = found[(found["sheet"] == "dim_schedule") & (found["column_name"] == "home_total_goals")]
    assert list(hit["row"]) == ["2"]
    assert hit.iloc[0]["problem"] == "text where a number is expected"


def test_template_copied_from_another_game_is_left_out(league, tmp_path):
    (gid, path), (other, _) = game_path(league, 0), game_path(league, 1)

    def relabel(book):
        sheet = book["events"]
        header = [c.value for c in sheet[1]]
        col = header.index("game_id") + 1
        for row in range(2, sheet.max_row + 1):
            if sheet.cell(row=row, column=col).value is not None:
                sheet.cell(row=row, column=col, value=other)

    edit(path, relabel)
    out = tmp_path / "out"
    etl(league, out)
    status, reason = completeness(out)[str(gid)]
    assert status == "TEMPLATE" and str(other) in reason


def test_empty_template_workbook_is_left_out(league, tmp_path):
    gid, path = game_path(league, 2)

    def blank(book):
        sheet = book["events"]
        sheet.delete_rows(2, sheet.max_row)

    edit(path, blank)
    out = tmp_path / "out"
    etl(league, out)
    assert completeness(out)[str(gid)][0] == "TEMPLATE"


@pytest.mark.django_db
def test_missing_master_fails_with_a_sentence(league, tmp_path):
    next(league.glob("BLB_TABLES.xlsx")).unlink()
    with pytest.raises(InputError, match="BLB_TABLES.xlsx.*master workbook is missing"):
        etl(league, tmp_path / "out")
    with pytest.raises(CommandError, match="master workbook is missing"):
        call_command("etl", "--data-dir", str(league), "--output-dir", str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_master_missing_sheet_names_it(league, tmp_path):
    edit(next(league.glob("BLB_TABLES.xlsx")), lambda b: b.remove(b["fact_gameroster"]))
    with pytest.raises(InputError, match="sheet 'fact_gameroster'"):
        etl(league, tmp_path / "out")


def test_master_name_is_matched_case_insensitively(league, tmp_path):
    master = next(league.glob("BLB_TABLES.xlsx"))
    master.rename(league / "blb_tables.XLSX")
    assert etl(league, tmp_path / "out").rows > 0


def test_unknown_requested_game_fails_naming_it(league, tmp_path):
    with pytest.raises(SelectionError, match="Game 4242"):
        etl(league, tmp_path / "out", games=[4242])


def test_backup_folders_and_lock_files_are_ignored(league, tmp_path):
    gid, path = game_path(league, 0)
    (league / "games" / "backup").mkdir()
    (league / "games" / "backup" / "x_tracking.xlsx").write_bytes(b"junk")
    (path.parent / f"~${gid}_tracking.xlsx").write_bytes(b"lock")
    result = etl(league, tmp_path / "out")
    expected = sample_statuses(league)
    assert {str(g): s for g, s in result.game_status.items()} == {g: expected[g] for g in tracked_games(league)}
