"""The sync guard against real PostgreSQL: shrink refusal, games that would disappear, the foreign-key closure at
preview, and failures that name their table (issue 9, findings 2 and 8).

Each test gets a fresh database with the catalog's schema applied (primary keys, deferrable foreign keys).
"""
from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest
from django.core.management import call_command
from psycopg import sql

from etl.catalog import TABLES, TABLES_BY_NAME, get_table
from etl.schema import SchemaOptions, apply_schema, target_lock
from etl.schema.ddl import foreign_keys
from etl.sync import (
    HISTORY_TABLE,
    MissingReferences,
    ShrinkRefused,
    SyncError,
    SyncOptions,
    plan_sync,
    sync_tables,
)
from etl.sync.target import connect
from tests.conftest import drop_database, new_database
from tests.reporters import ListReporter
from tests.test_sync import file_digest, read_table, state, write_table

TARGET = "guardtest"
HALF = 3  # game folders kept in the half league
PLAYER_SEL = dict(tables=("fact_player*", "dim_schedule", "dim_team", "dim_season", "dim_league"),
                  exclude_tables=("fact_player_career*", "fact_player_xy*"))


# ------------------------------------------------------------------------------------------------ fixtures

@pytest.fixture(scope="module")
def outputs(sample_src: Path, tmp_path_factory) -> dict[str, Path]:
    """ETL outputs of the whole sample league and of a copy with half of its game folders removed."""
    from etl.pipeline import EtlOptions, run_etl

    base = tmp_path_factory.mktemp("guard")
    league = shutil.copytree(sample_src, base / "league")
    run_etl(EtlOptions(data_dir=str(league), output_dir=str(base / "full")))
    for folder in sorted((league / "games").iterdir())[HALF:]:
        shutil.rmtree(folder)
    run_etl(EtlOptions(data_dir=str(league), output_dir=str(base / "half")))
    return {"full": base / "full", "half": base / "half"}


@pytest.fixture()
def db(pg_admin: str):
    url = new_database(pg_admin, "sync_guard_t")
    try:
        apply_schema(url, SchemaOptions(), target_name=TARGET)
        yield url
    finally:
        drop_database(pg_admin, url)


class Recorder(ListReporter):
    """Keeps progress, logs and the optional ``failed(unit, detail)`` calls."""

    def __init__(self) -> None:
        super().__init__()
        self.failures: list[tuple[str, str]] = []

    def failed(self, unit: str, detail: str) -> None:
        self.failures.append((unit, detail))


def sync(url: str, out: Path, reporter=None, **options):
    return sync_tables(url, out, SyncOptions(**options), target_name=TARGET, reporter=reporter)


def exact(url: str) -> dict:
    """Every table's row digest, plus an md5 over every row's text and xmin (so even rewriting a row with the
    same values shows), plus the sync history's rows (None when the history table does not exist)."""
    out: dict = {"digests": state(url)}
    with connect(url, "guard test") as conn:
        for t in TABLES:
            out[t.name] = conn.execute(sql.SQL(
                "SELECT count(*), md5(COALESCE(string_agg(xmin::text || ':' || r::text, E'\\n' ORDER BY r::text), ''))"
                " FROM {} AS r").format(sql.Identifier(t.name))).fetchone()
        exists = conn.execute("SELECT to_regclass(%s)", (HISTORY_TABLE,)).fetchone()[0]
        out["_history"] = conn.execute(f"SELECT id, table_name, sha256 FROM {HISTORY_TABLE} ORDER BY id").fetchall() \
            if exists else None
    return out


def games_in(out: Path, name: str) -> set[int]:
    pos = get_table(name).column_names.index("game_id")
    return {int(r[pos]) for r in read_table(out, name) if r[pos]}


def manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


def save_manifest(out: Path, data: dict) -> None:
    (out / "manifest.json").write_text(json.dumps(data, indent=2))


def copy_outputs(src: Path, dest: Path) -> Path:
    return shutil.copytree(src, dest)


# ------------------------------------------------------------------------------------------------ shrink

def test_half_the_games_is_refused_naming_tables_and_games_and_the_target_is_unchanged(db, outputs) -> None:
    full, half = outputs["full"], outputs["half"]
    sync(db, full)
    usable = [int(g) for g, info in manifest(full)["games"].items() if info["status"] in ("COMPLETE", "PARTIAL")]
    lost_games = sorted(usable)[HALF:]
    expected = {t.name: sorted(games_in(full, t.name) - games_in(half, t.name)) for t in TABLES if t.game_scoped}
    expected = {n: g for n, g in expected.items() if g}
    assert expected["fact_events"] == lost_games and "fact_gameroster" not in expected  # roster: from the master
    before = exact(db)

    reporter = Recorder()
    with pytest.raises(ShrinkRefused) as err:
        sync(db, half, reporter=reporter)
    assert exact(db) == before  # not one row written, not even the sync history

    refused = {t["name"]: t for t in err.value.tables}
    assert {n: t["games_lost"] for n, t in refused.items() if t["games_lost"]} == expected
    now, after = manifest(full)["tables"]["fact_events"]["rows"], manifest(half)["tables"]["fact_events"]["rows"]
    assert refused["fact_events"]["rows_now"] == now and refused["fact_events"]["rows_after"] == after
    assert refused["fact_events"]["shrink"] == pytest.approx((now - after) / now)
    assert all(TABLES_BY_NAME[n].game_scoped or t["shrink"] > 0.10 for n, t in refused.items())
    assert "dim_player" not in refused and "fact_gameroster" not in refused
    message = str(err.value)
    every_lost = sorted({g for games in expected.values() for g in games})  # qa tables also lose the TEMPLATE game
    assert f"games {', '.join(map(str, every_lost))} would disappear" in message
    assert f"fact_events {now:,} → {after:,} rows (-{(now - after) / now * 100:.1f}%)" in message
    assert "Nothing was changed" in message
    assert "--allow-shrink" in message and '"Allow shrinking tables"' in message and "allow_shrink" in message
    assert ("error", message) in reporter.logs
    assert {u for u, _ in reporter.failures} == set(refused)
    assert reporter.events == []  # no table started loading

    plan = plan_sync(db, half, SyncOptions(), target_name=TARGET)
    assert plan.shrinking == [n for n in plan.names if n in refused]
    events = plan.table("fact_events")
    assert (events.rows_now, events.rows_after, events.games_lost) == (now, after, lost_games)
    assert plan.table("fact_gameroster").games_lost == [] and not plan.table("fact_gameroster").shrinking
    text = plan.describe()
    assert f"WARNING fact_events: {now:,} → {after:,} rows" in text and "REFUSED unless allowed" in text

    result = sync(db, half, allow_shrink=True)
    assert all(t.verified for t in result.tables if not t.skipped)
    assert result.table("dim_player").skipped == "unchanged since the last sync"  # the master did not change
    assert exact(db)["digests"]["fact_events"] == file_digest(half, "fact_events")


def test_counts_are_taken_under_the_writer_lock(db, outputs) -> None:
    """A game that appears in the target while the sync waits for the lock is seen (and refused), not deleted."""
    half = outputs["half"]
    sync(db, half)
    missing_game = sorted(int(g) for g in manifest(outputs["full"])["games"])[HALF]
    waiting, outcome = threading.Event(), {}

    class Waiter(ListReporter):
        def log(self, level, message):
            super().log(level, message)
            if "waiting for lock" in message:
                waiting.set()

    def run() -> None:
        try:
            outcome["result"] = sync(db, half, reporter=Waiter())
        except Exception as exc:  # noqa: BLE001 - handed to the main thread
            outcome["error"] = exc

    with connect(db, "other writer") as holder, target_lock(holder, TARGET):
        thread = threading.Thread(target=run)
        thread.start()
        assert waiting.wait(30), "the sync never waited for the lock"
        cols = ", ".join(f'"{c}"' for c in get_table("fact_events").column_names[2:])
        holder.execute(f"INSERT INTO fact_events SELECT 'EVX' || event_id, {missing_game}, {cols} "
                       f"FROM fact_events LIMIT 1")
    thread.join(60)
    assert isinstance(outcome.get("error"), ShrinkRefused), outcome
    assert [t["games_lost"] for t in outcome["error"].tables if t["name"] == "fact_events"] == [[missing_game]]
    with connect(db, "guard test") as conn:
        assert conn.execute("SELECT count(*) FROM fact_events WHERE game_id = %s", (missing_game,)).fetchone()[0] == 1


def drop_rows(src: Path, dest: Path, name: str, every: int) -> tuple[Path, int]:
    """A copy of the outputs without every ``every``-th row of ``name`` (each game keeps rows)."""
    out = copy_outputs(src, dest)
    rows = read_table(src, name)
    kept = [r for i, r in enumerate(rows) if i % every != 0]
    write_table(out, name, kept)
    return out, len(kept)


def test_shrinking_beyond_max_shrink_is_refused_within_it_passes(db, outputs, tmp_path) -> None:
    full = outputs["full"]
    sync(db, full)
    rows = manifest(full)["tables"]["fact_events"]["rows"]
    big_cut, big_kept = drop_rows(full, tmp_path / "cut7", "fact_events", 7)  # about 14% fewer
    small_cut, small_kept = drop_rows(full, tmp_path / "cut25", "fact_events", 25)  # 4% fewer
    assert games_in(big_cut, "fact_events") == games_in(full, "fact_events")  # no game lost: only the bound
    before = exact(db)
    with pytest.raises(ShrinkRefused, match="more than the allowed 10%") as err:
        sync(db, big_cut, tables=("fact_events",))
    assert [(t["name"], t["rows_now"], t["rows_after"], t["games_lost"]) for t in err.value.tables] == \
        [("fact_events", rows, big_kept, [])]
    assert exact(db) == before
    plan = plan_sync(db, big_cut, SyncOptions(tables=("fact_events",), max_shrink=0.2), target_name=TARGET)
    assert plan.shrinking == [] and plan.table("fact_events").rows_after == big_kept

    result = sync(db, small_cut, tables=("fact_events",))  # within the default 10%
    assert result.table("fact_events").rows == small_kept
    with pytest.raises(ShrinkRefused):  # (small_kept - big_kept) / small_kept is still above 10%
        sync(db, big_cut, tables=("fact_events",))
    sync(db, big_cut, tables=("fact_events",), max_shrink=0.2)
    assert exact(db)["digests"]["fact_events"] == file_digest(big_cut, "fact_events")

    for bad in (1.5, -0.1, "ten", None, True):
        with pytest.raises(SyncError, match="between 0 and 1"):
            SyncOptions(max_shrink=bad)
    options = SyncOptions.from_dict({"max_shrink": "0.25", "allow_shrink": "true"})
    assert (options.max_shrink, options.allow_shrink) == (0.25, True)
    assert SyncOptions.from_dict(SyncOptions(max_shrink=0.3).as_dict()).max_shrink == 0.3


def issues(rows: dict[int, int]) -> list[list[str | None]]:
    """qa_data_issues rows: ``count`` issues per game."""
    return [[f"ISS{game}{i:03d}", str(game), "blank_input", "f.xlsx", "events", str(i), "col", "problem", "fix"]
            for game, count in rows.items() for i in range(count)]


def test_a_covered_game_without_rows_in_a_table_is_not_lost(db, outputs, tmp_path) -> None:
    full = outputs["full"]
    games = sorted(int(g) for g in manifest(full)["games"])
    sync(db, full)
    with_issues = copy_outputs(full, tmp_path / "with_issues")
    write_table(with_issues, "qa_data_issues", issues({games[0]: 20, games[1]: 1}))
    sync(db, with_issues, tables=("qa_data_issues",), allow_shrink=True)  # drops the sample's own issue rows

    fixed = copy_outputs(full, tmp_path / "fixed")  # game 2's issue was fixed: it has no issue any more
    write_table(fixed, "qa_data_issues", issues({games[0]: 20}))
    plan = plan_sync(db, fixed, SyncOptions(tables=("qa_data_issues",)), target_name=TARGET)
    issues_plan = plan.table("qa_data_issues")
    assert (issues_plan.rows_now, issues_plan.rows_after, issues_plan.games_lost) == (21, 20, [])
    assert plan.shrinking == [] and "WARNING" not in plan.describe()
    # the same with a games selection: game 2 is replaced by no rows, and that is not a loss either
    plan = plan_sync(db, fixed, SyncOptions(tables=("qa_data_issues",), games=(games[1],)), target_name=TARGET)
    assert (plan.table("qa_data_issues").rows_after, plan.table("qa_data_issues").games_lost) == (20, [])

    uncovered = copy_outputs(fixed, tmp_path / "uncovered")  # outputs that do not cover game 2 for this table
    data = manifest(uncovered)
    data["tables"]["qa_data_issues"]["games"] = [g for g in games if g != games[1]]
    save_manifest(uncovered, data)
    before = exact(db)
    with pytest.raises(ShrinkRefused, match=f"game {games[1]} would disappear") as err:
        sync(db, uncovered, tables=("qa_data_issues",))
    assert err.value.tables == [{"name": "qa_data_issues", "rows_now": 21, "rows_after": 20,
                                 "shrink": pytest.approx(1 / 21), "games_lost": [games[1]]}]
    assert exact(db) == before
    invalid = copy_outputs(fixed, tmp_path / "invalid")  # a game whose workbook turned INVALID carries no data
    data = manifest(invalid)
    data["games"][str(games[1])]["status"] = "INVALID"
    save_manifest(invalid, data)
    plan = plan_sync(db, invalid, SyncOptions(tables=("qa_data_issues",)), target_name=TARGET)
    assert plan.table("qa_data_issues").games_lost == [games[1]]

    result = sync(db, fixed, tables=("qa_data_issues",))
    assert result.table("qa_data_issues").rows == 20
    with connect(db, "guard test") as conn:  # a table empty in the target never shrinks
        conn.execute("DELETE FROM qa_data_issues")
    plan = plan_sync(db, uncovered, SyncOptions(tables=("qa_data_issues",), max_shrink=0.0), target_name=TARGET)
    assert plan.table("qa_data_issues").rows_now == 0 and plan.shrinking == []


# ------------------------------------------------------------------------------------------------ references

def test_foreign_key_closure_is_shown_at_preview_and_refused_before_writing(db, outputs, tmp_path) -> None:
    full = outputs["full"]
    before = exact(db)
    plan = plan_sync(db, full, SyncOptions(**PLAYER_SEL), target_name=TARGET)
    assert "dim_player" not in plan.names and "fact_player_game_stats" in plan.names
    refs = {(r.table, r.column, r.ref_table): r for r in plan.missing_refs}
    assert set(refs) == {("fact_player_game_stats", "player_id", "dim_player"),
                         ("fact_player_season_stats_basic", "player_id", "dim_player"),
                         ("fact_player_micro_stats", "player_id", "dim_player"),  # analytics tables (issue 13)
                         ("fact_player_qoc_summary", "player_id", "dim_player")}
    stats = refs[("fact_player_game_stats", "player_id", "dim_player")]
    assert stats.reason == "empty" and stats.enforced
    assert stats.missing_keys == len({r[2] for r in read_table(full, "fact_player_game_stats")})
    sentence = ("fact_player_game_stats references dim_player (player_id), which neither the selection nor the "
                "target provides")
    text = plan.describe()
    assert f"WARNING {sentence}" in text and "REFUSED" in text

    reporter = Recorder()
    with pytest.raises(MissingReferences) as err:
        sync(db, full, reporter=reporter, **PLAYER_SEL)
    assert sentence in str(err.value) and "add dim_player to the selection or sync it first" in str(err.value)
    assert {(r["table"], r["ref_table"]) for r in err.value.refs} == {
        ("fact_player_game_stats", "dim_player"), ("fact_player_season_stats_basic", "dim_player"),
        ("fact_player_micro_stats", "dim_player"), ("fact_player_qoc_summary", "dim_player")}
    assert {u for u, _ in reporter.failures} == {"fact_player_game_stats", "fact_player_season_stats_basic",
                                                 "fact_player_micro_stats", "fact_player_qoc_summary"}
    assert exact(db) == before and before["_history"] is None  # refused before the first write
    with pytest.raises(MissingReferences):  # allow_shrink does not allow what the commit would refuse
        sync(db, full, allow_shrink=True, **PLAYER_SEL)

    # the target has dim_player, but without one player the facts reference
    player = read_table(full, "fact_player_game_stats")[0][2]
    fewer = copy_outputs(full, tmp_path / "fewer")
    write_table(fewer, "dim_player", [r for r in read_table(full, "dim_player") if r[0] != player])
    sync(db, fewer, tables=("dim_league", "dim_team", "dim_player"))  # dim_player.team_id: dim_team, its league
    plan = plan_sync(db, full, SyncOptions(**PLAYER_SEL), target_name=TARGET)
    stats = next(r for r in plan.missing_refs if r.table == "fact_player_game_stats")
    assert (stats.reason, stats.missing_keys, stats.examples, stats.enforced) == ("keys", 1, [player], True)
    with pytest.raises(MissingReferences, match=f"1 dim_player key \\(player_id, e.g. {player}\\)"):
        sync(db, full, **PLAYER_SEL)

    # without the constraint the commit would not fail: a warning, and the load goes through
    with connect(db, "guard test") as conn:
        for table in ("fact_player_game_stats", "fact_player_season_stats_basic", "fact_player_micro_stats",
                      "fact_player_qoc_summary"):
            conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "fk_{table}_player_id"')
    plan = plan_sync(db, full, SyncOptions(**PLAYER_SEL), target_name=TARGET)
    assert plan.missing_refs and not plan.refused_refs and "does not enforce" in plan.describe()
    reporter = Recorder()
    sync(db, full, reporter=reporter, **PLAYER_SEL)
    assert any(level == "warning" and "does not enforce" in m for level, m in reporter.logs)

    sync(db, full, tables=("dim_player",))  # with every player, nothing is missing
    plan = plan_sync(db, full, SyncOptions(**PLAYER_SEL), target_name=TARGET)
    assert plan.missing_refs == [] and "WARNING" not in plan.describe()

    # the other direction: reloading dim_player alone without a player that unselected tables reference
    sync(db, full)
    referencing = {fk.table for fk in foreign_keys(TABLES) if fk.ref_table == "dim_player"
                   and player in {r[get_table(fk.table).column_names.index("player_id")]
                                  for r in read_table(full, fk.table)}}
    plan = plan_sync(db, fewer, SyncOptions(tables=("dim_player",)), target_name=TARGET)
    orphans = {r.table: r for r in plan.missing_refs}
    assert set(orphans) == referencing and "fact_player_game_stats" in orphans
    dropped = ("fact_player_game_stats", "fact_player_season_stats_basic", "fact_player_micro_stats",
               "fact_player_qoc_summary")  # their constraints were dropped above
    assert {t: (r.reason, r.ref_table, r.examples, r.enforced, r.unit) for t, r in orphans.items()} == \
        {t: ("orphans", "dim_player", [player], t not in dropped, "dim_player") for t in referencing}
    assert "WARNING The load of dim_player removes 1 key (player_id" in plan.describe()
    before = exact(db)
    reporter = Recorder()
    with pytest.raises(MissingReferences, match="fact_gameroster in the target still references") as err:
        sync(db, fewer, reporter=reporter, tables=("dim_player",))
    assert {r["unit"] for r in err.value.refs} == {"dim_player"}
    assert [u for u, _ in reporter.failures] == ["dim_player"]
    assert exact(db) == before


def test_a_failure_at_commit_names_the_table_and_reports_it(db, outputs, tmp_path) -> None:
    full = outputs["full"]
    player = read_table(full, "fact_player_game_stats")[0][2]
    broken = copy_outputs(full, tmp_path / "broken")  # outputs that disagree: a referenced player is missing
    write_table(broken, "dim_player", [r for r in read_table(full, "dim_player") if r[0] != player])
    selection = dict(tables=("dim_player", "fact_player_game_stats", "dim_schedule", "dim_team", "dim_season",
                             "dim_league"))
    assert plan_sync(db, broken, SyncOptions(**selection), target_name=TARGET).missing_refs == []  # in-selection
    before = exact(db)
    reporter = Recorder()
    with pytest.raises(SyncError, match="rolled back") as err:
        sync(db, broken, reporter=reporter, **selection)
    assert err.value.table == "fact_player_game_stats"
    assert "fact_player_game_stats" in str(err.value) and "at commit" in str(err.value)
    assert player in str(err.value) and "dim_player" in str(err.value)
    assert [u for u, _ in reporter.failures] == ["fact_player_game_stats"]
    assert ("error", str(err.value)) in reporter.logs
    assert exact(db) == before
    logs = [m for _, m in reporter.logs]
    assert any(m.startswith("fact_player_game_stats: ") and "loaded, not committed yet" in m for m in logs)
    assert not any("rows committed (" in m for m in logs)  # nothing claims a commit that was rolled back

    # referenced rows removed at commit: the referenced table is named
    reporter = Recorder()
    sync(db, full, reporter=reporter)
    assert any(m.startswith("fact_player_game_stats: ") and "rows committed (" in m for _, m in reporter.logs)
    before = exact(db)
    reporter = Recorder()
    with pytest.raises(SyncError, match="The load removes dim_player rows that the .* it loads still references") \
            as err:
        sync(db, broken, reporter=reporter)
    assert err.value.table == "dim_player" and [u for u, _ in reporter.failures] == ["dim_player"]
    assert exact(db) == before

    # a statement failing during a table's load names that table (per-table commits too)
    bad = copy_outputs(full, tmp_path / "bad")
    rows = read_table(full, "fact_team_game_stats")
    rows[-1][[c.type for c in get_table("fact_team_game_stats").columns].index("integer")] = "not-a-number"
    write_table(bad, "fact_team_game_stats", rows)
    reporter = Recorder()
    with pytest.raises(SyncError) as err:
        sync(db, bad, reporter=reporter, per_table_commit=True)
    assert err.value.table == "fact_team_game_stats" and [u for u, _ in reporter.failures] == ["fact_team_game_stats"]


# ------------------------------------------------------------------------------------------------ CLI

@pytest.mark.django_db
def test_dry_run_prints_shrink_lines_and_the_flags_reach_the_options(db, outputs, monkeypatch, capsys, settings,
                                                                    tmp_path) -> None:
    from django.core.management.base import CommandError

    full, half = outputs["full"], outputs["half"]
    sync(db, full)
    monkeypatch.setenv(f"HOCKEYOPS_TARGET_{TARGET.upper()}_URL", db)
    call_command("sync", "--target", TARGET, "--output-dir", str(half), "--dry-run")
    text = capsys.readouterr().out
    now, after = manifest(full)["tables"]["fact_events"]["rows"], manifest(half)["tables"]["fact_events"]["rows"]
    assert f"WARNING fact_events: {now:,} → {after:,} rows" in text and "REFUSED unless allowed" in text
    assert "SHRINK:" in text
    call_command("sync", "--target", TARGET, "--output-dir", str(half), "--dry-run", "--allow-shrink")
    assert "allowed (allow_shrink)" in capsys.readouterr().out
    call_command("sync", "--target", TARGET, "--output-dir", str(half), "--dry-run", "--json", "--max-shrink", "0.6")
    data = json.loads(capsys.readouterr().out)
    assert data["max_shrink"] == 0.6 and "fact_events" in data["shrinking"]  # games lost: refused at any bound
    assert next(t for t in data["tables"] if t["name"] == "fact_events")["games_lost"]
    with pytest.raises(CommandError, match="fraction"):
        call_command("sync", "--target", TARGET, "--output-dir", str(half), "--dry-run", "--max-shrink", "10")

    settings.HOCKEYOPS_ARTIFACTS_DIR = tmp_path / "artifacts"
    before = exact(db)
    with pytest.raises(CommandError, match="was refused because it would remove data"):
        call_command("sync", "--target", TARGET, "--output-dir", str(half))
    assert exact(db) == before
    capsys.readouterr()
    call_command("sync", "--target", TARGET, "--output-dir", str(half), "--allow-shrink", "--json")
    assert json.loads(capsys.readouterr().out)["status"] == "succeeded"
    assert exact(db)["digests"]["fact_events"] == file_digest(half, "fact_events")
