"""Dashboard smoke test: schema apply and a sync of the real games into PostgreSQL, then every table and view of
the dashboard contract is queried with its column list (the columns the catalog has, outside the analytics of
issue 13) and returns the rows expected for those games; every other catalog view answers its declared columns
with the rows expected from the tables it reads."""
from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal

import psycopg
import pytest
from psycopg import sql

from bench.contract_coverage import TRACKER_TABLES, is_analytics
from etl.catalog import TABLES_BY_NAME, VIEWS, VIEWS_BY_NAME
from etl.schema import SchemaOptions, apply_schema
from etl.sync import SyncOptions, sync_tables
from etl.views_extra import VIEWS as EXTRA_VIEWS
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


def _select(url: str, name: str, columns: list[str] | tuple[str, ...], where: str = "") -> list[tuple]:
    query = sql.SQL("SELECT {} FROM {} " + where).format(sql.SQL(", ").join(map(sql.Identifier, columns)),
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


def test_every_catalog_view_answers_its_declared_columns(contract, warehouse):
    with psycopg.connect(warehouse) as conn:
        for view in VIEWS:
            assert view.name in contract["views"], view.name
            cur = conn.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(view.name)))
            assert tuple(d.name for d in cur.description) == view.columns, view.name
            assert cur.fetchall(), f"view {view.name} has no rows"
    for view in EXTRA_VIEWS:  # the contract's other views keep its output columns, in its order
        assert view.columns == tuple(contract["views"][view.name]["columns"]), view.name


def test_the_standings_views_equal_the_season_table(warehouse):
    table = "team_id season_id game_type games_played wins losses ties points goal_diff win_pct".split()
    season = _select(warehouse, "fact_team_season_stats_basic", table)
    by_type = _select(warehouse, "v_standings_by_game_type", table + ["standing"])
    assert sorted(r[:-1] for r in by_type) == sorted(season)
    assert {r[2] for r in by_type} == {"Regular", "Playoffs", "All"}
    every = _select(warehouse, "v_standings_all_seasons", table + ["standing"])
    assert sorted(every) == sorted(r for r in by_type if r[2] == "All")
    for game_type, season_id in (("Regular", "N20252026F"), ("Playoffs", "N20242025F")):
        # dim_schedule: the 2025-26 season has regular-season games only, so its latest playoffs are 2024-25's
        current = _select(warehouse, f"v_standings_current_{game_type.lower()}", table + ["standing"])
        assert {r[1] for r in current} == {season_id}, game_type
        assert sorted(current) == sorted(r for r in by_type if r[2] == game_type and r[1] == season_id)
    history = {r[0]: r[1:] for r in _select(warehouse, "v_standings_team_history",
                                             ["team_id", "seasons", "total_games", "total_wins", "total_points"])}
    assert history == {team: (sum(1 for r in every if r[0] == team), sum(r[3] for r in every if r[0] == team),
                              sum(r[4] for r in every if r[0] == team), sum(r[7] for r in every if r[0] == team))
                       for team in {r[0] for r in every}}


def test_the_leaderboard_and_ranking_views(warehouse):
    by_type = _select(warehouse, "v_leaderboard_points_by_game_type", ["player_id", "season_id", "game_type", "rank"])
    assert len(by_type) == len({r[:3] for r in by_type}) and {r[2] for r in by_type} == {"Regular", "Playoffs", "All"}
    assert {(r[1], r[2]) for r in by_type if r[3] == 1} == {(r[1], r[2]) for r in by_type}  # a leader in each
    by_position = _select(warehouse, "v_rankings_by_position", ["player_id", "season_id", "position_rank",
                                                                 "overall_rank"])
    assert len(by_position) == len({r[:2] for r in by_position})
    assert all(p <= o for _, _, p, o in by_position)
    record = _select(warehouse, "v_leaderboard_goalie_record", ["wins", "losses", "ties", "record"])
    assert all(rec == f"{w}-{lo}-{t}" for w, lo, t, rec in record)
    pairs = _select(warehouse, "v_compare_teammates", ["team_name", "season_id", "player1", "player2"])
    assert len(pairs) == len(set(pairs)) and all(p1 != p2 for _, _, p1, p2 in pairs)
    tiers = {r[0] for r in _select(warehouse, "v_compare_player_vs_league", ["performance_tier"])}
    assert tiers == {"Elite", "Above Average", "Average", "Below Average"}


def test_the_game_views(warehouse):
    played = _select(warehouse, "dim_schedule", ["game_id", "home_total_goals", "away_total_goals"],
                     "WHERE include AND schedule_type = 'Past' AND home_total_goals IS NOT NULL "
                     "AND away_total_goals IS NOT NULL")
    assert len(_select(warehouse, "v_summary_game", ["game_id"])) == len(played)
    high = _select(warehouse, "v_recent_high_scoring", ["total_goals"])
    assert len(high) == 20 and high[0][0] == max(h + a for _, h, a in played)
    form = _select(warehouse, "v_recent_team_form", ["last_5_form", "wins", "losses"])
    assert all(1 <= len(f) <= 5 and f.count("W") == w and f.count("L") == lo for f, w, lo in form)
    # BLB_TABLES.xlsx dim_schedule rows 500, 508, 512: 18969 Platinum 4-3 Velodrome, 18977 Velodrome 4-2
    # HollowBrook, 18981 Nelson 2-1 Velodrome (the tracked games)
    results = {(g, t): (o, r) for g, t, o, r in _select(warehouse, "v_detail_team_game_log",
                                                         ["game_id", "team_name", "opponent", "result"])}
    assert results == {(18969, "Platinum"): ("Velodrome", "W"), (18969, "Velodrome"): ("Platinum", "L"),
                       (18977, "Velodrome"): ("HollowBrook", "W"), (18977, "HollowBrook"): ("Velodrome", "L"),
                       (18981, "Nelson"): ("Velodrome", "W"), (18981, "Velodrome"): ("Nelson", "L")}
    # Wyatt Crandall's games (fact_goalie_game_stats): 36 saves on 40 (4 against) in 18969, 36 on 38 in 18977:
    # a quality start needs save % >= 91.7 or at most 2 goals against
    goalies = {(g, p): (q, r) for g, p, q, r in _select(warehouse, "v_detail_goalie_game_log",
                                                        ["game_id", "player_id", "is_quality_start",
                                                         "overall_game_rating"])}
    assert goalies[18969, "P100016"][0] == 0 and goalies[18977, "P100016"][0] == 1
    assert all(1 <= r <= 10 for _, r in goalies.values())
    assert len(_select(warehouse, "v_recent_goalie_games", ["game_id"])) == len(goalies)
    with psycopg.connect(warehouse) as conn:
        players = dict(conn.execute("SELECT game_id, COUNT(*) FROM fact_event_players GROUP BY game_id").fetchall())
        summary = dict(conn.execute("SELECT game_id, SUM(event_count) FROM v_tracking_event_summary "
                                    "GROUP BY game_id").fetchall())
    assert summary == players and len(players) == 3


def test_the_period_views_split_the_game_figures(warehouse):
    game = {(r[0], r[1]): r[2:] for r in _select(warehouse, "fact_player_game_stats",
                                                  ["game_id", "player_id", "goals", "assists", "shots", "toi_seconds",
                                                   "jersey", "team_name"])}
    stats = ("goals", "assists", "shots", "toi_seconds")
    split = _select(warehouse, "v_detail_player_periods",
                    ["game_id", "player_id"] + [f"p{n}_{c}" for c in stats for n in (1, 2, 3)])
    assert len(split) == len(game)  # every tracked game covers periods 1-3 and has no overtime
    for g, p, *v in split:
        assert tuple(sum(v[3 * i:3 * i + 3]) for i in range(4)) == game[g, p][:4], (g, p)
    # 18969_tracking.xlsx events rows 386 and 2481: Platinum's #45 scores in periods 1 and 3
    (pid,) = [p for (g, p), v in game.items() if g == 18969 and v[4:] == ("45", "Platinum")]
    assert [r[2:5] for r in split if r[:2] == (18969, pid)] == [(1, 0, 1)]
    goalie = {(r[0], r[1]): r[2:] for r in _select(warehouse, "fact_goalie_game_stats",
                                                    ["game_id", "player_id", "saves", "goals_against"])}
    periods = _select(warehouse, "v_detail_goalie_periods",
                      ["game_id", "player_id", "p1_saves", "p2_saves", "p3_saves", "p1_goals_against",
                       "p2_goals_against", "p3_goals_against", "best_period", "worst_period"])
    assert {(r[0], r[1]): (sum(r[2:5]), sum(r[5:8])) for r in periods} == goalie
    # 18969_tracking.xlsx events rows 715, 855 (period 1) and 2098 (period 3): the away side's goals against
    # Platinum's Francis Forte (P100202), whose best period is the 2nd (no goal) and worst the 1st
    assert [r[5:] for r in periods if r[:2] == (18969, "P100202")] == [(2, 0, 1, 2, 1)]


def test_the_goalie_context_views_split_his_shots(warehouse):
    game = {(r[0], r[1]): r[2:] for r in _select(warehouse, "fact_goalie_game_stats",
                                                  ["game_id", "player_id", "saves", "goals_against", "goalie_war"])}
    context = _select(warehouse, "v_detail_goalie_shot_context",
                      ["game_id", "player_id", "rush_saves", "quick_attack_saves", "set_play_saves",
                       "rush_goals_against", "quick_attack_ga", "set_play_ga"])
    assert {(r[0], r[1]): (sum(r[2:5]), sum(r[5:8])) for r in context} == {k: v[:2] for k, v in game.items()}
    advanced = _select(warehouse, "v_rankings_goalies_advanced",
                       ["player_id", "games_played", "saves", "goals_against", "quality_start_pct", "season_war",
                        "war_rank"])
    assert {r[0] for r in advanced} == {p for _, p in game}
    for pid, games, saves, against, _, war, _ in advanced:
        mine = [v for (_, p), v in game.items() if p == pid]
        assert (games, saves, against) == (len(mine), sum(v[0] for v in mine), sum(v[1] for v in mine))
        assert war == round(sum(v[2] for v in mine), 3)
    # Wyatt Crandall (P100016): quality starts in 18977 (2 against) and 18981 (2 against), not in 18969 (4 against)
    assert [r[4] for r in advanced if r[0] == "P100016"] == [Decimal("66.7")]
    compare = _select(warehouse, "v_compare_goalies_advanced", ["player_id", "season_war"])
    assert sorted(compare) == sorted((r[0], r[5]) for r in advanced)


def test_the_goalie_pressure_view_counts_his_sequences(warehouse):
    game = {(r[0], r[1]): r[2:] for r in _select(warehouse, "fact_goalie_game_stats",
                                                  ["game_id", "player_id", "saves", "goals_against"])}
    pressure = {(r[0], r[1]): r[2:] for r in _select(
        warehouse, "v_detail_goalie_pressure",
        ["game_id", "player_id", "single_shot_saves", "multi_shot_saves", "multi_shot_sv_pct",
         "sustained_pressure_saves", "sustained_pressure_sv_pct", "max_sequence_faced", "avg_sequence_length",
         "sequence_survival_rate", "pressure_handling_index"])}
    assert pressure.keys() == game.keys()
    # every shot on goal of the real games lies in a sequence: single + multi-shot saves are all his saves
    assert {k: v[0] + v[1] for k, v in pressure.items()} == {k: v[0] for k, v in game.items()}
    assert all(v[3] <= v[1] for v in pressure.values())
    # Wyatt Crandall (P100016) in 18969, counted from 18969_tracking.xlsx events: 40 shots on goal in 26 sequences;
    # rows 246, 254, 355 (saved) and 383 (goal) are his only 4-shot sequence (SQ1896900005), and with the 3-shot
    # sequences 45 (rows 1323, 1336, 1350), 47 (1375, 1477, 1497), 53 (1875, 1909, goal 1917) and 2-shot ones
    # he faced 23 multi-shot shots with 3 goals; 16 single shots were saved; 36 saves and 4 goals against
    assert pressure[18969, "P100016"] == (16, 20, Decimal("87.0"), 3, Decimal("75.0"), 4, Decimal("1.54"),
                                         Decimal("88.9"), Decimal("81.0"))
    # the same, counted in Python from his fact_shots rows and their fact_events sequence keys
    with psycopg.connect(warehouse) as conn:
        faced = conn.execute("SELECT e.sequence_key, s.is_goal FROM fact_shots s JOIN fact_events e "
                             "ON e.event_id = s.event_id WHERE s.game_id = 18969 AND s.goalie_player_id = 'P100016' "
                             "AND s.is_on_goal").fetchall()
    per_sequence = Counter(key for key, _ in faced)
    assert (len(faced), len(per_sequence), max(per_sequence.values())) == (40, 26, 4)
    multi = [goal for key, goal in faced if per_sequence[key] >= 2]
    assert (len(multi), sum(multi)) == (23, 3)
    assert sum(not goal for key, goal in faced if per_sequence[key] == 1) == 16
