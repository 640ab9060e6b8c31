"""The catalog is consistent with itself."""
from __future__ import annotations

from etl.catalog import COLUMNS, TABLES, TABLES_BY_NAME, catalog_version


def test_every_table_has_unique_columns_and_a_primary_key_among_them():
    for table in TABLES:
        names = table.column_names
        assert len(names) == len(set(names)), table.name
        assert table.primary_key, table.name
        assert set(table.primary_key) <= set(names), table.name


def test_same_column_name_has_the_same_type_everywhere():
    seen: dict[str, str] = {}
    for table in TABLES:
        for col in table.columns:
            assert seen.setdefault(col.name, col.type) == col.type, (table.name, col.name)
            assert COLUMNS[col.name][0] == col.type


def test_upstream_tables_exist_and_form_no_cycle():
    for table in TABLES:
        for dep in table.upstream:
            assert dep in TABLES_BY_NAME, (table.name, dep)

    def visit(name, stack):
        assert name not in stack, f"cycle through {stack + [name]}"
        for dep in TABLES_BY_NAME[name].upstream:
            visit(dep, stack + [name])

    for table in TABLES:
        visit(table.name, [])


def test_game_scoped_tables_have_a_game_id_column():
    for table in TABLES:
        if table.game_scoped or table.grain == "game":
            assert "game_id" in table.column_names, table.name


def test_issue_required_tables_are_declared():
    required = """dim_player dim_team dim_league dim_season dim_schedule dim_position dim_venue dim_period dim_zone
    dim_event_type dim_event_detail dim_event_detail_2 dim_play_detail dim_player_role dim_strength
    dim_shift_start_type dim_shift_stop_type fact_gameroster fact_registration fact_draft fact_leadership
    fact_events fact_event_players fact_shifts fact_shift_players fact_goals fact_shots fact_faceoffs
    fact_penalties fact_player_game_stats fact_team_game_stats fact_goalie_game_stats
    fact_player_season_stats_basic fact_goalie_season_stats_basic fact_team_season_stats_basic
    qa_goal_verification qa_scorer_verification qa_game_completeness qa_data_issues""".split()
    assert set(required) <= set(TABLES_BY_NAME)
    assert TABLES_BY_NAME["qa_goal_verification"].column_names == [
        "game_id", "team_id", "venue", "periods_covered", "official_goals", "tracked_goals", "match"]


def test_catalog_version_is_deterministic():
    assert catalog_version() == catalog_version()
    assert len(catalog_version()) == 12


def test_per_table_descriptions_keep_the_shared_type():
    from etl.catalog import get_table

    season = get_table("fact_player_season_stats_basic").column("goals")
    game = get_table("fact_player_game_stats").column("goals")
    assert "official box score" in season.description and "tracking" in game.description
    assert season.type == game.type == COLUMNS["goals"][0]
    assert "kind" in get_table("qa_data_issues").column_names
