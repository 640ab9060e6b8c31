"""Dashboard smoke test: schema apply and a sync of the real games into PostgreSQL, then every table and view of
the dashboard contract is queried with its column list (the columns the catalog has, outside the analytics of
issue 13) and returns the rows expected for those games."""
from __future__ import annotations

import json

import psycopg
import pytest
from psycopg import sql

from bench.contract_coverage import TRACKER_TABLES, is_analytics
from etl.catalog import TABLES_BY_NAME, VIEWS_BY_NAME
from etl.schema import SchemaOptions, apply_schema
from etl.sync import SyncOptions, sync_tables
from tests.conftest import REAL_DIR, drop_database, new_database, read_csv

CONTRACT = REAL_DIR.parent / "dashboard-contract.json"
TARGET = "dashboard"


@pytest.fixture(scope="module")
def contract() -> dict:
    if not CONTRACT.exists():
        pytest.skip(f"the dashboard contract is not at {CONTRACT}")
    return json.loads(CONTRACT.read_text())


@pytest.fixture(scope="module")
def warehouse(pg_admin, real_outputs):
    url = new_database(pg_admin, "dashboard_t")
    try:
        apply_schema(url, SchemaOptions(), target_name=TARGET)
        sync_tables(url, real_outputs, SyncOptions(full_refresh=True), target_name=TARGET)
        yield url
    finally:
        drop_database(pg_admin, url)


def _select(url: str, name: str, columns: list[str]) -> list[tuple]:
    query = sql.SQL("SELECT {} FROM {}").format(sql.SQL(", ").join(map(sql.Identifier, columns)),
                                                sql.Identifier(name))
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchall()


def test_every_contract_table_answers_its_columns(contract, warehouse, real_outputs):
    games = {int(g) for g in json.loads((real_outputs / "manifest.json").read_text())["games"]}
    tracked = {int(g) for g in read_csv(real_outputs / "qa_game_completeness.csv").query(
        "status in ['COMPLETE', 'PARTIAL']")["game_id"]}
    assert tracked and tracked <= games
    empty_ok: set[str] = set()
    for name, spec in sorted(contract["tables"].items()):
        if TRACKER_TABLES.match(name) or name not in TABLES_BY_NAME:
            continue
        have = set(TABLES_BY_NAME[name].column_names)
        columns = [c for c in spec["columns"] if c in have and not is_analytics(name, c)]
        if not columns:
            continue
        rows = _select(warehouse, name, columns)
        if name in empty_ok:
            continue
        assert rows, f"{name} has no rows"
        if "game_id" in columns and TABLES_BY_NAME[name].grain == "game":
            got = {r[columns.index("game_id")] for r in rows}
            assert got <= games and got & tracked, name
    status = dict(_select(warehouse, "fact_game_status", ["game_id", "tracking_status"]))
    assert {status[g] for g in tracked} <= {"COMPLETE", "PARTIAL"}
    videos = _select(warehouse, "fact_video", ["game_id", "video_url"])
    assert {g for g, _ in videos} == tracked and all(u.startswith("http") for _, u in videos)


def test_every_dashboard_view_answers_its_columns(contract, warehouse):
    for name, spec in sorted(contract["views"].items()):
        if not spec.get("read_by_dashboard"):
            continue
        view = VIEWS_BY_NAME[name]
        columns = [c for c in spec.get("dashboard_reads_columns", []) if not is_analytics(name, c)] or ["*"]
        assert set(columns) <= set(view.columns) | {"*"}, name
        rows = _select(warehouse, name, list(view.columns) if columns == ["*"] else columns)
        assert rows, f"view {name} has no rows"
    standings = _select(warehouse, "v_standings_current", ["team_name", "standing", "points", "game_type"])
    assert {r[3] for r in standings} == {"All"} and min(r[1] for r in standings) == 1
    leaders = _select(warehouse, "v_leaderboard_points", ["player_id", "season_id", "game_type"])
    assert len(leaders) == len(set(leaders))  # one All row per player and season
    recent = _select(warehouse, "v_recent_games", ["game_id"])
    assert len(recent) == 20


def test_sync_keeps_the_views(warehouse, real_outputs):
    sync_tables(warehouse, real_outputs, SyncOptions(full_refresh=True), target_name=TARGET)
    with psycopg.connect(warehouse) as conn:
        names = {r[0] for r in conn.execute("SELECT viewname FROM pg_views WHERE schemaname = current_schema()")}
    assert set(VIEWS_BY_NAME) <= names
