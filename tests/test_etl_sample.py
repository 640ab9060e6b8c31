"""ETL on the bundled sample league: outputs, selection, incremental merge, key stability, atomicity."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from etl.catalog import TABLES
from etl.errors import Cancelled
from etl.pipeline import EtlOptions, plan_etl, run_etl
from etl.progress import CancelToken
from tests.conftest import read_csv, sample_statuses, tracked_games
from tests.test_events_contract import check_event_columns


def etl(data: Path, out: Path, **kw):
    return run_etl(EtlOptions(data_dir=str(data), output_dir=str(out), **kw))


def checksums(out: Path) -> dict[str, str]:
    manifest = json.loads((out / "manifest.json").read_text())
    return {name: info["sha256"] for name, info in manifest["tables"].items()}


def games_of(out: Path) -> list[str]:
    return sorted(json.loads((out / "manifest.json").read_text())["games"])


def test_sample_league_goal_verification_and_statuses(league, tmp_path):
    out = tmp_path / "out"
    result = etl(league, out)
    qa = read_csv(out / "qa_goal_verification.csv")
    done = read_csv(out / "qa_game_completeness.csv").set_index("game_id")
    assert done["status"].to_dict() == sample_statuses(league)  # a row per folder, hazards included
    complete = done[done["status"] == "COMPLETE"]
    assert len(qa) == 2 * len(complete) >= 12
    assert (qa["match"] == "true").all(), qa
    assert {str(g): s for g, s in result.game_status.items()} == {
        g: s for g, s in sample_statuses(league).items() if g in tracked_games(league)}
    for table in TABLES:
        assert (out / f"{table.name}.csv").exists(), table.name
    # every workbook style yields linked players
    assert all(float(x) > 0.95 for x in complete["player_link_rate"])


def test_the_three_workbook_styles_give_the_same_facts(league, tmp_path):
    out = tmp_path / "out"
    etl(league, out)
    stats = read_csv(out / "fact_team_game_stats.csv")
    assert (stats["goals"] == stats["official_goals"]).all()
    shifts = read_csv(out / "fact_shift_players.csv")
    assert shifts["player_id"].notna().mean() > 0.99
    events = check_event_columns(out)  # the dashboard contract's event columns (tests/test_events_contract.py)
    assert events.groupby("game_id")["event_team_id"].apply(lambda s: s.notna().mean()).min() > 0.9
    assert_shift_invariants(out)


SKATER_SLOTS = ("forward_1", "forward_2", "forward_3", "defense_1", "defense_2", "xtra")


def assert_shift_invariants(out: Path) -> None:
    """fact_shifts and fact_shift_players against each other, dim_period, dim_schedule and the team totals
    (shared with the real games, tests/test_etl_real.py)."""
    import pandas as pd

    shifts = pd.read_csv(out / "fact_shifts.csv", dtype={"home_goalie": "string", "away_goalie": "string"})
    assert len(shifts) and (shifts["shift_key"] == shifts["shift_id"]).all()
    # every period_id is dim_period's key of the shift's period
    periods = pd.read_csv(out / "dim_period.csv").set_index("period_id")["period"]
    assert shifts["period_id"].isin(periods.index).all()
    assert (shifts["period_id"].map(periods) == shifts["period"]).all()
    # the clock columns agree with each other
    for end in ("start", "end"):
        total = shifts[f"shift_{end}_min"] * 60 + shifts[f"shift_{end}_sec"]
        assert (total == shifts[f"shift_{end}_total_seconds"]).all()
    known = shifts["shift_duration"].notna()
    assert (shifts.loc[known, "shift_duration"] == (shifts["shift_start_total_seconds"]
                                                    - shifts["shift_end_total_seconds"])[known]).all()
    assert shifts["running_video_time"].notna().all()
    # teams and season per the schedule
    sched = pd.read_csv(out / "dim_schedule.csv").set_index("game_id")
    for col, src in (("season_id", "season_id"), ("home_team_id", "home_team_id"), ("away_team_id", "away_team_id"),
                     ("home_team", "home_team_name"), ("away_team", "away_team_name")):
        assert (shifts[col] == shifts["game_id"].map(sched[src])).all(), col
    # strength: skater slots per side, home first; ENH / ENA where that side's goalie slot is empty
    for venue in ("home", "away"):
        filled = shifts[[f"{venue}_{slot}" for slot in SKATER_SLOTS]].notna().sum(axis=1)
        assert (filled == shifts[f"{venue}_team_strength"]).all()
    label = shifts["home_team_strength"].astype(str) + "v" + shifts["away_team_strength"].astype(str)
    assert (label == shifts["strength_id"]).all()
    plain = ~shifts["strength"].isin(["ENH", "ENA"])
    assert (shifts.loc[plain, "strength"] == label[plain]).all()
    assert (shifts["strength"] == "ENH").equals(shifts["situation"] == "home_en")
    assert (shifts["strength"] == "ENA").equals(shifts["situation"] == "away_en")
    assert shifts.loc[shifts["strength"] == "ENA", "away_goalie"].isna().all()
    # attempts: on goal <= unblocked <= all, percentages from the counts, game sums equal the team totals
    for f, a in (("sf", "ff"), ("ff", "cf"), ("sa", "fa"), ("fa", "ca")):
        assert (shifts[f] <= shifts[a]).all(), (f, a)
    total = shifts["cf"] + shifts["ca"]
    pct = (shifts["cf"] * 100 / total.where(total > 0)).round(1).fillna(50.0)
    assert (pct == shifts["cf_pct"]).all()
    teams = pd.read_csv(out / "fact_team_game_stats.csv")
    home = teams[teams["venue"] == "home"].set_index("game_id")
    sums = shifts.groupby("game_id")[["cf", "ca", "giveaways", "takeaways"]].sum()
    assert (sums["cf"] == home["corsi_for"].reindex(sums.index)).all()
    assert (sums["ca"] == home["corsi_against"].reindex(sums.index)).all()
    both = teams.groupby("game_id")[["giveaways", "takeaways"]].sum().reindex(sums.index)
    assert (sums[["giveaways", "takeaways"]] == both).all().all()
    assert shifts["start_zone_id"].dropna().isin(["ZN01", "ZN02", "ZN03"]).all()
    # logical shifts: numbered 1, 2, ... per player; a new one starts exactly at each first segment
    sp = pd.read_csv(out / "fact_shift_players.csv").dropna(subset=["player_id"])
    sp["is_first_segment"] = sp["is_first_segment"].astype(str).str.lower() == "true"
    per_player = sp.groupby(["game_id", "player_id"])
    assert (per_player["is_first_segment"].sum() == per_player["logical_shift_number"].max()).all()
    assert (per_player["logical_shift_number"].min() == 1).all()


def test_dry_run_plans_and_writes_nothing(league, tmp_path):
    out = tmp_path / "out"
    plan = plan_etl(EtlOptions(data_dir=str(league), output_dir=str(out), tables=["fact_goals"]))
    assert plan.tables == ["fact_goals"]
    assert "fact_events" in plan.build and plan.reasons["fact_events"].startswith("needed by")
    assert not out.exists()


def test_table_selection_writes_only_selected_tables(league, tmp_path):
    out = tmp_path / "out"
    etl(league, out, tables=["fact_goals", "dim_team"])
    assert sorted(p.name for p in out.glob("*.csv")) == ["dim_team.csv", "fact_goals.csv"]


def test_partial_table_run_keeps_other_published_tables(league, tmp_path):
    out = tmp_path / "out"
    etl(league, out)
    before = checksums(out)
    etl(league, out, tables=["fact_goals"])
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["tables"]["fact_events"].get("carried_over") is True
    assert checksums(out) == before


def test_game_selection_and_exclusion(league, tmp_path):
    """A games selection rebuilds those games and keeps every other game of the previous outputs."""
    out = tmp_path / "out"
    all_games = tracked_games(league)
    first, second = int(all_games[0]), int(all_games[1])
    etl(league, out, games=[first, second])  # an empty output folder: just these games
    assert games_of(out) == all_games[:2]
    assert set(read_csv(out / "fact_events.csv")["game_id"]) == set(all_games[:2])
    result = etl(league, out, exclude_games=[first])  # all but the first: the first is kept as it was
    assert games_of(out) == all_games
    actions = {g.game_id: (g.action, g.why) for g in result.plan.games}
    assert actions[first] == ("reuse", "not selected: kept from the previous outputs")
    assert {a for g, (a, _) in actions.items() if g != first} == {"build"}
    before = read_csv(out / "fact_events.csv")
    etl(league, out, games=[second])  # one game rebuilt: no other game's rows lost or changed
    assert games_of(out) == all_games
    assert read_csv(out / "fact_events.csv").equals(before)
    full = tmp_path / "full"
    etl(league, full)
    assert checksums(out) == checksums(full)


def test_plan_warns_about_games_whose_workbook_is_gone(league, tmp_path):
    out = tmp_path / "out"
    etl(league, out)
    gone = league / "games" / tracked_games(league)[-1]
    shutil.rmtree(gone)
    plan = plan_etl(EtlOptions(data_dir=str(league), output_dir=str(out)))
    assert plan.dropped == [int(gone.name)]
    assert f"without a workbook now, so they will be gone: {gone.name}" in plan.describe()


def test_incremental_rebuilds_only_changed_games_and_equals_a_full_run(league, tmp_path):
    from openpyxl import load_workbook

    out = tmp_path / "out"
    etl(league, out)
    unchanged = etl(league, out, mode="incremental")
    assert {g.action for g in unchanged.plan.games} == {"reuse"}

    game = sorted((league / "games").iterdir())[1]
    path = game / f"{game.name}_tracking.xlsx"
    book = load_workbook(path, keep_links=False)
    sheet = book["shifts"]
    header = [c.value for c in sheet[1]]
    col = header.index("shift_stop_type") + 1
    sheet.cell(row=2, column=col, value="Away Icing")
    book.save(path)

    inc = etl(league, out, mode="incremental")
    actions = {g.game_id: g.action for g in inc.plan.games}
    assert actions[int(game.name)] == "build"
    assert [a for g, a in actions.items() if g != int(game.name)] == ["reuse"] * (len(actions) - 1)
    full = tmp_path / "full"
    etl(league, full)
    assert checksums(out) == checksums(full)


def test_new_game_does_not_renumber_existing_keys(league, tmp_path):
    out = tmp_path / "out"
    complete = [g for g, s in sample_statuses(league).items() if s == "COMPLETE"]
    games = [league / "games" / g for g in complete]
    parked = tmp_path / "parked"
    shutil.move(str(games[-1]), parked)
    etl(league, out)
    before = read_csv(out / "fact_events.csv")
    codes_before = set(read_csv(out / "dim_event_detail.csv")["code"])
    shutil.move(str(parked), games[-1])
    inc = etl(league, out, mode="incremental")
    assert [g.action for g in inc.plan.games].count("build") == 1
    after = read_csv(out / "fact_events.csv")
    kept = after[after["game_id"] != games[-1].name].reset_index(drop=True)
    assert kept.equals(before)
    assert codes_before <= set(read_csv(out / "dim_event_detail.csv")["code"])


class CancelAfter(CancelToken):
    def __init__(self, checks: int) -> None:
        super().__init__()
        self.left = checks

    def check(self) -> None:
        self.left -= 1
        if self.left < 0:
            self.cancel()
        super().check()


@pytest.mark.parametrize("workers", [1, 2])
def test_cancel_leaves_previous_outputs_untouched(league, tmp_path, workers):
    out = tmp_path / "out"
    etl(league, out)
    before = (out / "manifest.json").read_bytes()
    with pytest.raises(Cancelled):
        run_etl(EtlOptions(data_dir=str(league), output_dir=str(out), workers=workers), cancel=CancelAfter(2))
    assert (out / "manifest.json").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_failure_midway_publishes_nothing(league, tmp_path, monkeypatch):
    import etl.pipeline as pipeline

    out = tmp_path / "out"
    etl(league, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    real = pipeline.render_game
    calls = {"n": 0}

    def flaky(gp):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return real(gp)

    monkeypatch.setattr(pipeline, "render_game", flaky)
    with pytest.raises(RuntimeError):
        etl(league, out, workers=1)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_per_game_parts_are_reused_and_equal_a_plain_run(league, tmp_path, monkeypatch):
    import etl.parts as parts_protocol
    import etl.pipeline as pipeline

    plain = tmp_path / "plain"
    etl(league, plain)
    options = EtlOptions(data_dir=str(league), output_dir=str(tmp_path / "fanout"))
    plan = pipeline.EtlPlan.from_dict(json.loads(json.dumps(plan_etl(options).as_dict())))
    parts = tmp_path / "parts"
    parts_protocol.prepare_parts(options, plan, parts)
    expected = sample_statuses(league)
    for gp in plan.games:  # what per-game tasks do, each in its own process in production
        assert parts_protocol.build_game_part(options, plan, gp.game_id, parts)["status"] == expected[str(gp.game_id)]

    def must_not_build(gp):
        raise AssertionError(f"game {gp.game_id} was rebuilt although its part exists")

    monkeypatch.setattr(pipeline, "render_game", must_not_build)
    run_etl(options, plan=plan, parts_dir=parts)
    assert checksums(tmp_path / "fanout") == checksums(plain)
