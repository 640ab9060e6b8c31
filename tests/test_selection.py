"""One selection grammar: names, globs, modes, exclusions, games."""
from __future__ import annotations

import pytest

from etl.catalog import TABLES
from etl.errors import SelectionError
from etl.selection import GameSelection, TableSelection, upstream_closure, why_built


def resolve(**kw):
    return TableSelection.from_options(**kw).resolve()


def test_empty_selection_means_every_table():
    assert resolve() == sorted(t.name for t in TABLES)


def test_modes_select_by_category_and_tag():
    dims = resolve(modes=["dims"])
    assert dims and all(n.startswith("dim_") for n in dims)
    assert all(n.startswith("qa_") for n in resolve(modes=["qa"]))
    basic = resolve(modes=["basic"])
    assert "fact_player_season_stats_basic" in basic and "fact_events" not in basic
    tracking = resolve(modes=["tracking"])
    assert "fact_events" in tracking and "dim_player" not in tracking
    assert set(resolve(modes=["dims", "qa"])) == set(dims) | set(resolve(modes=["qa"]))


def test_globs_names_and_exclusions():
    assert resolve(patterns=["fact_player*"]) == ["fact_player_game_stats", "fact_player_season_stats_basic"]
    assert resolve(tables=["fact_events", "dim_team"]) == ["dim_team", "fact_events"]
    assert resolve(tables=["fact_events,dim_team"]) == ["dim_team", "fact_events"]
    got = resolve(modes=["facts"], exclude=["fact_player*", "fact_events"])
    assert "fact_events" not in got and "fact_player_game_stats" not in got and "fact_goals" in got


def test_unknown_names_and_empty_patterns_are_errors_naming_them():
    with pytest.raises(SelectionError, match="fact_evnts"):
        resolve(tables=["fact_evnts"])
    with pytest.raises(SelectionError, match="nothing_like_this\\*"):
        resolve(patterns=["nothing_like_this*"])
    with pytest.raises(SelectionError, match="bogus"):
        resolve(exclude=["bogus"])
    with pytest.raises(SelectionError, match="mode 'everything'"):
        resolve(modes=["everything"])
    with pytest.raises(SelectionError, match="no table"):
        resolve(tables=["dim_team"], exclude=["dim_*"])


def test_build_set_adds_upstream_tables_with_reasons():
    build = upstream_closure(["fact_player_game_stats"])
    assert {"fact_goals", "fact_shots", "fact_events", "dim_schedule", "fact_shift_players"} <= set(build)
    reasons = why_built(["fact_player_game_stats"], build)
    assert reasons["fact_player_game_stats"] == "selected"
    assert reasons["fact_goals"] == "needed by fact_player_game_stats"


def test_games_include_exclude_and_unknown():
    available = [18981, 18969, 18977]
    assert GameSelection.from_options().resolve(available) == [18969, 18977, 18981]
    assert GameSelection.from_options(["18977", 18969]).resolve(available) == [18969, 18977]
    assert GameSelection.from_options(exclude=["18969"]).resolve(available) == [18977, 18981]
    with pytest.raises(SelectionError, match="12345"):
        GameSelection.from_options(["12345"]).resolve(available)
    with pytest.raises(SelectionError, match="'abc' is not a game number"):
        GameSelection.from_options(["abc"])
