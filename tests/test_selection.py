"""One selection grammar: names, globs, modes, exclusions, games; one list splitter and one game-id parser."""
from __future__ import annotations

import pytest

from etl.catalog import TABLES
from etl.errors import SelectionError
from etl.selection import GameSelection, TableSelection, parse_game_ids, split_terms, upstream_closure, why_built


def resolve(tables=(), exclude=()):
    return TableSelection.from_terms(tables, exclude).resolve()


def test_empty_selection_means_every_table():
    assert resolve() == sorted(t.name for t in TABLES)


def test_modes_select_by_category_and_tag():
    dims = resolve(["dims"])
    assert dims and all(n.startswith("dim_") for n in dims)
    assert all(n.startswith("qa_") for n in resolve(["qa"]))
    basic = resolve(["basic"])
    assert "fact_player_season_stats_basic" in basic and "fact_events" not in basic
    tracking = resolve(["tracking"])
    assert "fact_events" in tracking and "dim_player" not in tracking
    assert set(resolve(["dims", "qa"])) == set(dims) | set(resolve(["qa"]))


def test_globs_names_and_exclusions():
    assert resolve(["fact_player*"]) == ["fact_player_career_stats_basic", "fact_player_game_stats",
                                         "fact_player_micro_stats", "fact_player_qoc_summary",
                                         "fact_player_season_stats_basic", "fact_player_xy_long"]
    assert resolve(["fact_events", "dim_team"]) == ["dim_team", "fact_events"]
    assert resolve(["fact_events,dim_team"]) == ["dim_team", "fact_events"]
    assert resolve("fact_events, dim_team") == ["dim_team", "fact_events"]
    got = resolve(["facts"], exclude=["fact_player*", "fact_events"])
    assert "fact_events" not in got and "fact_player_game_stats" not in got and "fact_goals" in got


def test_unknown_names_and_empty_patterns_are_errors_naming_them():
    with pytest.raises(SelectionError, match="fact_evnts"):
        resolve(["fact_evnts"])
    with pytest.raises(SelectionError, match="nothing_like_this\\*"):
        resolve(["nothing_like_this*"])
    with pytest.raises(SelectionError, match="bogus"):
        resolve(exclude=["bogus"])
    with pytest.raises(SelectionError, match="no table or mode called 'everything'.*Modes are all, dims"):
        resolve(["everything"])
    with pytest.raises(SelectionError, match="no table"):
        resolve(["dim_team"], exclude=["dim_*"])


def test_build_set_adds_upstream_tables_with_reasons():
    build = upstream_closure(["fact_player_game_stats"])
    assert {"fact_goals", "fact_shots", "fact_events", "dim_schedule", "fact_shift_players"} <= set(build)
    reasons = why_built(["fact_player_game_stats"], build)
    assert reasons["fact_player_game_stats"] == "selected"
    assert reasons["fact_goals"] == "needed by fact_player_game_stats"


def test_one_list_splitter_for_every_entry_point():
    assert split_terms(None) == []
    assert split_terms("a, b  c,,d") == ["a", "b", "c", "d"]
    assert split_terms(["a,b", " c ", ""]) == ["a", "b", "c"]


def test_one_games_parser_accepts_whole_numbers_only():
    assert parse_game_ids("18969,18977 18981") == [18969, 18977, 18981]
    assert parse_game_ids(["18969", 18977, "18969"]) == [18969, 18977]
    assert parse_game_ids(18969) == [18969]
    for bad in ("18969.0", "1e4", "²", "-3", "abc", "99999999999999999999"):
        with pytest.raises(SelectionError, match="is not a game number"):
            parse_game_ids([bad])
    for bad in (True, 1.5, None, {"a": 1}):
        with pytest.raises(SelectionError, match="not a game number"):
            parse_game_ids([bad])


def test_games_include_exclude_and_unknown():
    available = [18981, 18969, 18977]
    assert GameSelection.from_terms().resolve(available) == [18969, 18977, 18981]
    assert GameSelection.from_terms(["18977", 18969]).resolve(available) == [18969, 18977]
    assert GameSelection.from_terms(exclude=["18969"]).resolve(available) == [18977, 18981]
    with pytest.raises(SelectionError, match="12345"):
        GameSelection.from_terms(["12345"]).resolve(available)
    with pytest.raises(SelectionError, match="'abc' is not a game number"):
        GameSelection.from_terms(["abc"])


def test_a_games_selection_that_leaves_no_game_is_an_error_saying_why():
    available = [18969, 18977]
    with pytest.raises(SelectionError, match="leaves no game: 18969 is both chosen and excluded"):
        GameSelection.from_terms([18969], [18969]).resolve(available)
    with pytest.raises(SelectionError, match="every tracked game is excluded"):
        GameSelection.from_terms(exclude=[18969, 18977]).resolve(available)
