"""Sync moves only what changed (issue 15): per-game digests in the outputs, the target's sync state, and
loads that touch nothing else. Real PostgreSQL; every table's rows compared by xmin (a rewritten row shows)."""
from __future__ import annotations

import shutil
from pathlib import Path

import psycopg
import pytest
from openpyxl import load_workbook

from etl.pipeline import EtlOptions, run_etl
from etl.schema import SchemaOptions, apply_schema
from etl.sync import ShrinkRefused, SyncOptions, plan_sync, sync_tables
from tests.conftest import drop_database, new_database, tracked_games

TARGET = "deltatest"


@pytest.fixture()
def db(pg_admin: str):
    url = new_database(pg_admin, "sync_delta_t")
    try:
        apply_schema(url, SchemaOptions(), target_name=TARGET)
        yield url
    finally:
        drop_database(pg_admin, url)


def xmins(url: str, table: str) -> dict[str, list[str]]:
    """xmin of every row, per game (a row deleted and inserted again, or updated, gets a new xmin)."""
    with psycopg.connect(url) as conn:
        game = "coalesce(game_id::text, '')" if table.startswith(("fact_", "qa_")) else "''"
        rows = conn.execute(f"SELECT {game}, xmin::text FROM {table} ORDER BY 1, 2").fetchall()
    out: dict[str, list[str]] = {}
    for game, xmin in rows:
        out.setdefault(game, []).append(xmin)
    return out


def sync(url: str, out: Path, **options):
    return sync_tables(url, out, SyncOptions(**options), target_name=TARGET)


def edit_game(league: Path, game: str) -> None:
    path = league / "games" / game / f"{game}_tracking.xlsx"
    book = load_workbook(path)
    sheet = book["shifts"]
    col = [c.value for c in sheet[1]].index("shift_stop_type") + 1
    sheet.cell(row=2, column=col, value="Away Icing")
    book.save(path)


def test_a_second_sync_of_unchanged_outputs_writes_no_row(db, league, tmp_path):
    out = tmp_path / "out"
    run_etl(EtlOptions(data_dir=str(league), output_dir=str(out)))
    first = sync(db, out)
    assert all(t.committed for t in first.tables)
    before = {t: xmins(db, t) for t in ("fact_events", "fact_shifts", "dim_player", "qa_data_issues")}
    again = sync(db, out)
    assert {t.skipped for t in again.tables} == {"unchanged since the last sync"}
    assert again.rows == 0 and not again.committed
    assert {t: xmins(db, t) for t in before} == before
    plan = plan_sync(db, out, SyncOptions(), target_name=TARGET)
    assert "unchanged since the last sync" in plan.describe()


def test_a_one_game_change_writes_only_that_games_rows(db, league, tmp_path):
    out = tmp_path / "out"
    run_etl(EtlOptions(data_dir=str(league), output_dir=str(out)))
    sync(db, out)
    games = [g for g in tracked_games(league) if g not in ("30007",)]
    changed = games[1]
    before = xmins(db, "fact_shifts")
    other_tables = {t: xmins(db, t) for t in ("fact_events", "dim_player")}
    edit_game(league, changed)
    inc = run_etl(EtlOptions(data_dir=str(league), output_dir=str(out), mode="incremental"))
    assert [g.game_id for g in inc.plan.games if g.action == "build"] == [int(changed)]
    plan = plan_sync(db, out, SyncOptions(), target_name=TARGET)
    shifts = plan.table("fact_shifts")
    assert (shifts.strategy, shifts.games, shifts.spans is not None) == ("games", [int(changed)], True)
    assert f"1 changed game ({shifts.unchanged_games} unchanged): {changed}" in plan.describe()
    result = sync(db, out)
    loaded = {t.name: t for t in result.tables if not t.skipped}
    assert "fact_shifts" in loaded and loaded["fact_shifts"].games == [int(changed)]
    after = xmins(db, "fact_shifts")
    assert after[changed] != before[changed]  # that game's rows were rewritten...
    assert {g: x for g, x in after.items() if g != changed} == {g: x for g, x in before.items() if g != changed}
    for table, rows in other_tables.items():  # ...and nothing else
        now = xmins(db, table)
        assert {g: x for g, x in now.items() if g != changed} == {g: x for g, x in rows.items() if g != changed}
    assert sync(db, out).rows == 0  # and then it is unchanged again


def test_a_removed_game_is_a_shrink_and_then_a_games_load(db, league, tmp_path):
    out = tmp_path / "out"
    run_etl(EtlOptions(data_dir=str(league), output_dir=str(out)))
    sync(db, out)
    gone = tracked_games(league)[-2]
    shutil.rmtree(league / "games" / gone)
    run_etl(EtlOptions(data_dir=str(league), output_dir=str(out), mode="incremental"))
    with pytest.raises(ShrinkRefused, match=f"game {gone} would disappear|games .*{gone}"):
        sync(db, out)
    result = sync(db, out, allow_shrink=True)
    events = result.table("fact_events")
    assert events.strategy == "games" and events.games == [int(gone)] and events.deleted > 0
    assert gone not in xmins(db, "fact_events")


def test_rows_changed_outside_hockeyops_make_the_table_load_whole(db, league, tmp_path):
    out = tmp_path / "out"
    run_etl(EtlOptions(data_dir=str(league), output_dir=str(out)))
    sync(db, out)
    with psycopg.connect(db) as conn:
        conn.execute("DELETE FROM fact_penalties WHERE penalty_id IN (SELECT penalty_id FROM fact_penalties LIMIT 2)")
    result = sync(db, out)
    assert [t.name for t in result.tables if t.committed] == ["fact_penalties"]
    assert result.table("fact_penalties").strategy == "full"
    assert sync(db, out, full_refresh=True).table("fact_events").committed  # asked for: everything again
