"""Sync stage against real PostgreSQL: selection, exact values, idempotence, game scope, failures, readers, REST.

Backend: the server at 127.0.0.1:5432 when it answers, else the embedded PostgreSQL (same tests). Each
module works in a throw-away database ``sync_t_<random>`` with the schema applied; it is dropped afterwards.
"""
from __future__ import annotations

import csv
import hashlib
import json
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from etl.catalog import TABLES, TABLES_BY_NAME, get_table
from etl.errors import Cancelled, SelectionError
from etl.progress import CancelToken
from etl.schema import SchemaOptions, apply_schema, target_lock
from etl.schema.ddl import foreign_keys
from etl.sync import (
    HISTORY_TABLE,
    SyncError,
    SyncFailed,
    SyncOptions,
    load_order,
    plan_sync,
    resolve_sync,
    sync_tables,
)
from etl.sync.stream import OutputSnapshot, RecordDigest, game_filter, parse_record, render_field
from etl.sync.target import connect, row_digest
from tests.conftest import drop_database, new_database
from tests.reporters import ListReporter

ROOT = Path(__file__).resolve().parent.parent
TARGET = "synctest"
BIG_ROWS = 60_000
FK_COLUMNS = {(fk.table, fk.column) for fk in foreign_keys(TABLES)}


# ------------------------------------------------------------------------------------------------ backend

@pytest.fixture(scope="module")
def db(pg_admin: str):
    """A fresh database with every catalog table."""
    url = new_database(pg_admin)
    try:
        apply_schema(url, SchemaOptions(), target_name=TARGET)
        yield url
    finally:
        drop_database(pg_admin, url)


# ------------------------------------------------------------------------------------------------ outputs

@pytest.fixture(scope="module")
def sample_out(sample_src: Path, tmp_path_factory) -> Path:
    from etl.pipeline import EtlOptions, run_etl

    out = tmp_path_factory.mktemp("sync_sample") / "output"
    run_etl(EtlOptions(data_dir=str(sample_src), output_dir=str(out)))
    return out


def write_table(out: Path, name: str, rows: list[list[str | None]]) -> None:
    """Write ``rows`` (None = NULL, "" = empty string) as the outputs' CSV and update the manifest."""
    table = get_table(name)
    body = b"".join(b",".join(render_field(None if v is None else v.encode()) for v in row) + b"\n" for row in rows)
    data = (",".join(table.column_names) + "\n").encode() + body
    (out / f"{name}.csv").write_bytes(data)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["tables"][name].update(rows=len(rows), sha256=hashlib.sha256(data).hexdigest(), bytes=len(data))
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))


def read_table(out: Path, name: str) -> list[list[str | None]]:
    with OutputSnapshot(out) as snap:
        reader = snap.reader(name)
        reader.header()
        rows = [[None if v is None else v.decode() for v in parse_record(r)]
                for _, records in reader.blocks() for r in records]
        reader.close()
    return rows


def derive(src: Path, dest: Path, change) -> Path:
    """A copy of the outputs with ``change(name, rows) -> rows | None`` applied per table."""
    shutil.copytree(src, dest)
    for table in TABLES:
        rows = change(table.name, read_table(src, table.name))
        if rows is not None:
            write_table(dest, table.name, rows)
    return dest


def perturb(name: str, rows: list[list[str | None]]) -> list[list[str | None]] | None:
    """Change one value per row (not a key, not a foreign key) so every non-empty table differs."""
    table = get_table(name)
    candidates = [i for i, c in enumerate(table.columns)
                  if c.name not in table.primary_key and (name, c.name) not in FK_COLUMNS and c.type != "date"]
    if not candidates or not rows:
        return None
    i = candidates[-1]
    kind = table.columns[i].type
    for row in rows:
        v = row[i]
        if kind == "boolean":
            row[i] = {"true": "false", "false": "true"}.get(v or "", "true")
        elif kind in ("integer", "numeric"):
            row[i] = str(int(float(v)) + 7) if v else "7"
        else:
            row[i] = (v or "") + "~"
    return rows


def big_events(name: str, rows: list[list[str | None]], count: int = BIG_ROWS, prefix: str = "EV"):
    """fact_events repeated to ``count`` rows under new keys (other tables unchanged)."""
    if name != "fact_events":
        return None
    out = []
    for n in range(count):
        row = list(rows[n % len(rows)])
        row[0] = f"{prefix}{row[1]}{n:07d}"
        out.append(row)
    return out


@pytest.fixture(scope="module")
def perturbed_out(sample_out: Path, tmp_path_factory) -> Path:
    return derive(sample_out, tmp_path_factory.mktemp("sync_perturbed") / "output", perturb)


@pytest.fixture(scope="module")
def big_out(sample_out: Path, tmp_path_factory) -> Path:
    return derive(sample_out, tmp_path_factory.mktemp("sync_big") / "output", big_events)


# ------------------------------------------------------------------------------------------------ helpers

def sync(url: str, out: Path, **options) -> object:
    """A sync that may shrink tables: these tests load different outputs into one module database in turn
    (e.g. 60,000 events, then the sample's 2,233); the shrink guard is tested in tests/test_sync_guard.py."""
    options.setdefault("allow_shrink", True)
    options.setdefault("full_refresh", True)  # these tests exercise the load itself; the delta: test_sync_delta.py
    return sync_tables(url, out, SyncOptions(**options), target_name=TARGET)


def state(url: str, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """Row count and digest of every catalog table, plus the number of sync history rows."""
    with connect(url, "sync test") as conn:
        out = {t.name: row_digest(conn, t)[1] for t in TABLES if t.name not in skip}
        exists = conn.execute("SELECT to_regclass(%s)", (HISTORY_TABLE,)).fetchone()[0]
        out["_history"] = conn.execute(f"SELECT count(*) FROM {HISTORY_TABLE}").fetchone()[0] if exists else 0
    return out


def file_digest(out: Path, name: str, games: list[int] | None = None) -> str:
    table = get_table(name)
    digest = RecordDigest(table)
    with OutputSnapshot(out) as snap:
        reader = snap.reader(name)
        header = reader.header()
        keep = game_filter(header, games) if games else None
        for _, records in reader.blocks():
            digest.add([r for r in records if keep is None or keep(r)])
        reader.close()
    return digest.digest


def assert_cells_equal(url: str, out: Path, names: list[str] | None = None) -> int:
    """Every cell of the outputs equals what the target returns (as text; NULL as None)."""
    checked = 0
    with connect(url, "sync test") as conn:
        for name in names or [t.name for t in TABLES]:
            table = get_table(name)
            cols = ", ".join(f'"{c}"::text' for c in table.column_names)
            pk = [table.column_names.index(c) for c in table.primary_key]
            got = {tuple(r[i] for i in pk): list(r) for r in conn.execute(f'SELECT {cols} FROM "{name}"').fetchall()}
            want = {tuple(r[i] for i in pk): r for r in read_table(out, name)}
            assert len(got) == len(want), name
            for key, row in want.items():
                assert got[key] == row, f"{name} {key}: target {got[key]} != output {row}"
                checked += len(row)
    return checked


@pytest.fixture()
def loaded(db: str, sample_out: Path) -> str:
    """The target holding exactly the sample outputs."""
    sync(db, sample_out)
    return db


# ------------------------------------------------------------------------------------------------ selection

def test_selection_modes_patterns_exclude_and_unknown_names(sample_out: Path) -> None:
    names = lambda **kw: set(resolve_sync(sample_out, SyncOptions(**kw)).names)  # noqa: E731
    dims = {t.name for t in TABLES if t.category == "dim"}
    qa = {t.name for t in TABLES if t.category == "qa"}
    assert names(tables=("dims", "qa")) == dims | qa  # repeatable modes: union
    assert names(tables=("fact_player*", "qa_goal*")) == {
        "fact_player_career_stats_basic", "fact_player_game_stats", "fact_player_season_stats_basic",
        "fact_player_xy_long", "fact_player_micro_stats", "fact_player_qoc_summary", "qa_goal_verification"}
    assert names(tables=("tracking", "dim_player")) == \
        {t.name for t in TABLES if "tracking" in t.tags} | {"dim_player"}
    assert names(tables=("facts",), exclude_tables=("fact_player*", "fact_goals")) == \
        {t.name for t in TABLES if t.category == "fact"} - {"fact_player_game_stats", "fact_player_season_stats_basic",
                                                             "fact_player_career_stats_basic", "fact_player_xy_long",
                                                             "fact_player_micro_stats", "fact_player_qoc_summary",
                                                             "fact_goals"}
    assert names() == set(TABLES_BY_NAME)
    for bad, needle in ((dict(tables=("fact_nope",)), "fact_nope"), (dict(tables=("zz*",)), "zz*"),
                        (dict(tables=("everything",)), "everything"), (dict(exclude_tables=("nope*",)), "nope*")):
        with pytest.raises(SelectionError, match=needle.replace("*", r"\*")):
            resolve_sync(sample_out, SyncOptions(**bad))
    order = resolve_sync(sample_out, SyncOptions()).names
    assert order.index("dim_schedule") < order.index("fact_events")  # referenced tables first
    assert order.index("dim_team") < order.index("dim_schedule") or "dim_team" not in order
    assert load_order(["fact_events", "dim_schedule"]) == ["dim_schedule", "fact_events"]


def test_games_select_rows_of_game_scoped_tables_only(sample_out: Path, tmp_path: Path) -> None:
    games = sorted(int(g) for g in json.loads((sample_out / "manifest.json").read_text())["games"])
    plan = resolve_sync(sample_out, SyncOptions(games=(games[0],)))
    for t in plan.tables:
        assert t.strategy == ("games" if TABLES_BY_NAME[t.name].game_scoped else "full"), t.name
    events = plan.table("fact_events")
    assert events.games == [games[0]]
    assert events.load_rows == sum(1 for r in read_table(sample_out, "fact_events") if r[1] == str(games[0]))
    assert 0 < events.load_rows < events.rows
    with pytest.raises(SelectionError, match="99999"):
        resolve_sync(sample_out, SyncOptions(games=(99999,)))
    partial = shutil.copytree(sample_out, tmp_path / "partial")
    manifest = json.loads((partial / "manifest.json").read_text())
    del manifest["tables"]["fact_shots"]
    (partial / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(SelectionError, match="fact_shots"):
        resolve_sync(partial, SyncOptions())
    assert "fact_shots" not in resolve_sync(partial, SyncOptions(exclude_tables=("fact_shots",))).names


@pytest.mark.django_db
def test_dry_run_prints_rows_strategy_and_replaced_rows_and_writes_nothing(loaded: str, sample_out: Path,
                                                                           monkeypatch, capsys) -> None:
    before = state(loaded)
    games = sorted(int(g) for g in json.loads((sample_out / "manifest.json").read_text())["games"])
    plan = plan_sync(loaded, sample_out, SyncOptions(games=(games[1],)), target_name=TARGET)
    events = plan.table("fact_events")
    assert events.replace_rows == sum(1 for r in read_table(sample_out, "fact_events") if r[1] == str(games[1]))
    assert plan.table("dim_player").replace_rows == len(read_table(sample_out, "dim_player"))
    monkeypatch.setenv(f"HOCKEYOPS_TARGET_{TARGET.upper()}_URL", loaded)
    call_command("sync", "--target", TARGET, "--output-dir", str(sample_out), "--mode", "dims", "--mode", "qa",
                 "--pattern", "fact_ev*", "--exclude", "dim_zone", "--full-refresh", "--dry-run")
    text = capsys.readouterr().out
    assert "fact_events" in text and "dim_player" in text and "dim_zone" not in text and "fact_shots" not in text
    assert f"{len(read_table(sample_out, 'dim_player'))} rows (all)" in text
    with pytest.raises(CommandError, match="fact_nope"):
        call_command("sync", "--target", TARGET, "--output-dir", str(sample_out), "--tables", "fact_nope",
                     "--dry-run")
    assert state(loaded) == before


# ------------------------------------------------------------------------------------------------ values

EDGE_VALUES = ["", None, "FA", "IR", "TBD", "-", "007", " padded ", "a,b", 'say "hi"', "two\nlines", "cr\rlf",
               "\\N", "NULL", "é ü ñ 🏒", "\\", "   ", "'quoted'"]


def test_exact_value_round_trip(db: str, sample_out: Path, tmp_path: Path, real_dir_or_none) -> None:
    """Every cell the outputs hold comes back from the target unchanged: "" vs NULL, codes, ids, odd text."""
    result = sync(db, sample_out)
    assert all(t.verified for t in result.tables)
    assert assert_cells_equal(db, sample_out) > 50_000
    edge = shutil.copytree(sample_out, tmp_path / "edge")
    rows = []
    for i, value in enumerate(EDGE_VALUES):
        rows.append([f"ISS{i:03d}", None, "not_a_number", value, value, str(i), value, f"problem {value}",
                     value or "kept"])
    write_table(edge, "qa_data_issues", rows)
    result = sync(db, edge, tables=("qa_data_issues",))
    assert result.table("qa_data_issues").verified
    assert_cells_equal(db, edge, ["qa_data_issues"])
    with connect(db, "sync test") as conn:
        got = dict(conn.execute('SELECT issue_id, "file" FROM qa_data_issues WHERE issue_id LIKE %s',
                                ("ISS%",)).fetchall())
    assert got["ISS000"] == "" and got["ISS001"] is None and got["ISS006"] == "007"
    if real_dir_or_none is not None:
        result = sync(db, real_dir_or_none)
        assert all(t.verified for t in result.tables)
        assert_cells_equal(db, real_dir_or_none)
        sync(db, sample_out)


@pytest.fixture(scope="module")
def real_dir_or_none(tmp_path_factory):
    from tests.conftest import REAL_DIR

    if not (REAL_DIR / "BLB_TABLES.xlsx").exists():
        return None
    from etl.pipeline import EtlOptions, run_etl

    out = tmp_path_factory.mktemp("sync_real") / "output"
    run_etl(EtlOptions(data_dir=str(REAL_DIR), output_dir=str(out)))
    return out


def test_resync_is_idempotent(loaded: str, sample_out: Path) -> None:
    first = state(loaded)
    result = sync(loaded, sample_out)
    again = state(loaded)
    assert {k: v for k, v in again.items() if k != "_history"} == {k: v for k, v in first.items() if k != "_history"}
    assert all(t.method == "merge" and t.replaced_rows == 0 and t.inserted == 0 for t in result.tables if t.rows)
    with connect(loaded, "sync test") as conn:
        for t in TABLES:
            pk = ", ".join(f'"{c}"' for c in t.primary_key)
            total, distinct = conn.execute(f'SELECT count(*), count(DISTINCT ({pk})) FROM "{t.name}"').fetchone()
            assert total == distinct == json.loads((sample_out / "manifest.json").read_text())["tables"][t.name]["rows"]
    games = sorted(int(g) for g in json.loads((sample_out / "manifest.json").read_text())["games"])[:2]
    sync(loaded, sample_out, games=games)
    sync(loaded, sample_out, games=games)
    assert {k: v for k, v in state(loaded).items() if k != "_history"} == \
        {k: v for k, v in first.items() if k != "_history"}


def test_game_scoped_sync_touches_only_its_games(loaded: str, sample_out: Path, tmp_path: Path) -> None:
    games = sorted(int(g) for g in json.loads((sample_out / "manifest.json").read_text())["games"])
    mine, other = games[0], games[1]
    scoped = [t.name for t in TABLES if t.game_scoped]

    def change(name, rows):
        if name not in scoped:
            return None
        table = get_table(name)
        kept = [r for r in rows if r[table.column_names.index("game_id")] != str(mine)] + \
            [r for r in rows if r[table.column_names.index("game_id")] == str(mine)][1:]  # drop one of mine
        return perturb(name, kept) or kept

    changed = derive(sample_out, tmp_path / "changed", change)
    with connect(loaded, "sync test") as conn:
        before = {n: {g: row_digest(conn, get_table(n), [g])[1] for g in games} for n in scoped}
    result = sync(loaded, changed, tables=tuple(scoped), games=(mine,))
    assert {t.strategy for t in result.tables} == {"games"}
    with connect(loaded, "sync test") as conn:
        for name in scoped:
            assert row_digest(conn, get_table(name), [mine])[1] == file_digest(changed, name, [mine]), name
            for g in games[1:]:
                assert row_digest(conn, get_table(name), [g])[1] == before[name][g], (name, g)
    assert before["fact_events"][other] != file_digest(changed, "fact_events", [other])  # the other game differs
    sync(loaded, sample_out)


# ------------------------------------------------------------------------------------------------ failures

class _Boom(RuntimeError):
    pass


class _FailAfter(ListReporter):
    def __init__(self, tables: int) -> None:
        super().__init__()
        self.tables = tables

    def progress(self, done: int, total: int, unit: str, rows: int) -> None:
        super().progress(done, total, unit, rows)
        if done >= self.tables:
            raise _Boom("injected failure in the middle of the load")


def test_failure_in_the_middle_leaves_every_table_as_it_was(db: str, sample_out: Path, perturbed_out: Path,
                                                           tmp_path: Path) -> None:
    sync(db, perturbed_out)
    before = state(db)
    with pytest.raises(_Boom):
        sync_tables(db, sample_out, SyncOptions(), target_name=TARGET, reporter=_FailAfter(20))
    assert state(db) == before
    cancel = CancelToken()

    class CancelMidway(ListReporter):
        def progress(self, done, total, unit, rows):
            if done >= 10:
                cancel.cancel()

    with pytest.raises(Cancelled, match="Nothing was changed"):
        sync_tables(db, sample_out, SyncOptions(), target_name=TARGET, reporter=CancelMidway(), cancel=cancel)
    assert state(db) == before
    # a value the target rejects in the last table of the load order
    bad = shutil.copytree(sample_out, tmp_path / "bad")
    last = load_order(list(TABLES_BY_NAME))[-1]
    rows = read_table(sample_out, last)
    rows[-1][[c.type for c in get_table(last).columns].index("integer")] = "not-a-number"
    write_table(bad, last, rows)
    with pytest.raises(SyncError, match="rolled back") as err:
        sync(db, bad)
    assert "not-a-number" in str(err.value) or "integer" in str(err.value)
    assert state(db) == before
    # a file changed after the manifest was written
    stale = shutil.copytree(sample_out, tmp_path / "stale")
    with open(stale / "dim_player.csv", "a", encoding="utf-8") as fh:
        extra = ["P999999", "Extra Player", "Extra", "Player", "Extra Player"]
        fh.write(",".join(extra + [""] * (len(get_table("dim_player").columns) - len(extra))) + "\n")
    with pytest.raises(SyncError, match="sha256"):
        sync(db, stale)
    assert state(db) == before
    sync(db, sample_out)


def test_per_table_commits_and_resume(db: str, sample_out: Path, perturbed_out: Path, tmp_path: Path) -> None:
    sync(db, perturbed_out)
    broken = shutil.copytree(sample_out, tmp_path / "broken")
    order = load_order(list(TABLES_BY_NAME))
    victim = "fact_events"
    rows = read_table(sample_out, victim)
    write_table(broken, victim, rows + [rows[0]])  # a duplicate primary key
    with pytest.raises(SyncFailed, match="fact_events") as err:
        sync(db, broken, per_table_commit=True, sync_id="attempt-1")
    committed = err.value.result.committed
    assert committed == order[:order.index(victim)]
    with connect(db, "sync test") as conn:
        for name in order:
            digest = row_digest(conn, get_table(name))[1]
            source = sample_out if name in committed else perturbed_out
            assert digest == file_digest(source, name), name
    result = sync(db, sample_out, per_table_commit=True, resume_from=("attempt-1",), sync_id="attempt-2")
    assert [t.name for t in result.tables if t.skipped] == committed
    assert [t.name for t in result.tables if t.committed] == order[order.index(victim):]
    assert all(t.verified for t in result.tables if t.committed)


KILL_CHILD = textwrap.dedent("""
    import os, sys, time
    sys.path.insert(0, {root!r})
    from etl.sync import SyncOptions, sync_tables

    class Reporter:
        def progress(self, done, total, unit, rows):
            if unit.startswith("fact_events"):
                with open({marker!r}, "w") as fh:
                    fh.write("streaming")
                time.sleep(300)

        def log(self, level, message):
            pass

    sync_tables({url!r}, {out!r}, SyncOptions(), target_name={target!r}, reporter=Reporter())
""")


def test_killed_process_leaves_every_table_as_it_was(db: str, big_out: Path, perturbed_out: Path,
                                                     tmp_path: Path) -> None:
    sync(db, perturbed_out)
    before = state(db)
    marker = tmp_path / "marker"
    code = KILL_CHILD.format(root=str(ROOT), marker=str(marker), url=db, out=str(big_out), target=TARGET)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "the child never reached fact_events"
            time.sleep(0.05)
        with connect(db, "sync test") as conn:  # the child is inside COPY, in its open transaction
            busy = conn.execute("SELECT query FROM pg_stat_activity WHERE application_name LIKE 'hockeyops sync (%' "
                                "AND state <> 'idle'").fetchall()
        assert any(q.startswith("COPY") for (q,) in busy), busy
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    deadline = time.monotonic() + 20
    with connect(db, "sync test") as conn:
        while conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'hockeyops sync (%'"
                           ).fetchone()[0]:
            assert time.monotonic() < deadline, "the killed client's session did not end"
            time.sleep(0.1)
        with target_lock(conn, TARGET, timeout=5):  # the writer lock went with the session
            pass
    assert state(db) == before
    sync(db, big_out)  # and the same load goes through afterwards
    assert state(db)["fact_events"].startswith(f"{BIG_ROWS}:")
    sync(db, perturbed_out)


def test_reader_never_sees_an_empty_or_partial_table(db: str, big_out: Path, tmp_path: Path) -> None:
    other = derive(big_out, tmp_path / "other", lambda n, r: big_events(n, r, BIG_ROWS // 2, prefix="EX"))
    src = get_table("fact_events").column_names.index("source_row")

    def shifted(name: str, rows: list[list[str | None]]) -> list[list[str | None]] | None:
        """Every fact_events row with its source_row plus one: the same keys, a value changed in each row."""
        return [r[:src] + [str(int(r[src]) + 1)] + r[src + 1:] for r in rows] if name == "fact_events" else None

    values = derive(big_out, tmp_path / "values", shifted)
    sync(db, other)
    states = {}
    for out in (other, big_out, values):
        rows = read_table(out, "fact_events")
        states[out] = (len(rows), sum(int(r[src]) for r in rows))
    seen: list[tuple[int, int]] = []
    latencies: list[float] = []
    stop = threading.Event()

    def reader() -> None:
        with psycopg.connect(db, autocommit=True) as conn:
            while not stop.is_set():
                t = time.perf_counter()
                seen.append(conn.execute("SELECT count(*), sum(source_row) FROM fact_events").fetchone())
                latencies.append(time.perf_counter() - t)

    for source, target_out, method in ((other, big_out, "replace"), (big_out, values, "merge")):
        seen.clear()
        thread = threading.Thread(target=reader)
        thread.start()
        try:
            time.sleep(0.1)
            started = time.perf_counter()
            result = sync(db, target_out, tables=("fact_events",))
            took = time.perf_counter() - started
            time.sleep(0.1)
        finally:
            stop.set()
            thread.join()
            stop.clear()
        assert result.table("fact_events").method == method
        allowed = {states[source], states[target_out]}
        assert {(int(c), int(s)) for c, s in seen} <= allowed, (method, set(seen) - allowed)
        assert len(seen) > 10 and states[target_out] in {(int(c), int(s)) for c, s in seen}
        assert max(latencies) < max(1.0, took / 2), "readers were blocked by the load"
    sync(db, big_out, tables=("fact_events",))


# ------------------------------------------------------------------------------------------------ target checks

def test_dependents_survive_and_target_mismatches_are_errors(db: str, sample_out: Path, perturbed_out: Path) -> None:
    sync(db, perturbed_out)
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS sync_reader")
        conn.execute("CREATE ROLE sync_reader NOLOGIN")
        conn.execute("CREATE VIEW v_player_names AS SELECT player_id, player_full_name FROM dim_player")
        conn.execute("GRANT SELECT ON dim_player, v_player_names TO sync_reader")
        conn.execute("ALTER TABLE dim_player ENABLE ROW LEVEL SECURITY")
        conn.execute("CREATE POLICY read_all ON dim_player FOR SELECT TO sync_reader USING (true)")
    try:
        sync(db, sample_out)
        with psycopg.connect(db, autocommit=True) as conn:
            assert conn.execute("SELECT count(*) FROM v_player_names").fetchone()[0] == \
                len(read_table(sample_out, "dim_player"))
            assert conn.execute("SELECT has_table_privilege('sync_reader', 'dim_player', 'SELECT')").fetchone()[0]
            assert conn.execute("SELECT count(*) FROM pg_policies WHERE tablename = 'dim_player'").fetchone()[0] == 1
            conn.execute("SET ROLE sync_reader")
            assert conn.execute("SELECT count(*) FROM dim_player").fetchone()[0] > 0
            conn.execute("RESET ROLE")
            conn.execute("DELETE FROM qa_data_issues")  # so that the schema stage can restore the column below
            conn.execute("ALTER TABLE qa_data_issues DROP COLUMN action")
            conn.execute("ALTER TABLE qa_data_issues ALTER COLUMN sheet TYPE varchar(40)")
        before = state(db, skip=("qa_data_issues",))
        calls = (lambda: sync(db, sample_out), lambda: plan_sync(db, sample_out, SyncOptions(), target_name=TARGET))
        for call in calls:
            with pytest.raises(SyncError, match="qa_data_issues lacks column action") as err:
                call()
            assert "schema stage" in str(err.value) and "sheet is character varying(40)" in str(err.value)
        assert state(db, skip=("qa_data_issues",)) == before
    finally:
        with psycopg.connect(db, autocommit=True) as conn:
            conn.execute("DROP VIEW IF EXISTS v_player_names")
            conn.execute("DROP POLICY IF EXISTS read_all ON dim_player")
            conn.execute("ALTER TABLE dim_player DISABLE ROW LEVEL SECURITY")
            conn.execute("REVOKE ALL ON dim_player FROM sync_reader")
            conn.execute("DROP ROLE IF EXISTS sync_reader")
        apply_schema(db, SchemaOptions(), target_name=TARGET, allow_destructive=True)
    sync(db, sample_out)


def test_sync_waits_for_the_writer_lock(db: str, sample_out: Path) -> None:
    with connect(db, "other writer") as holder, target_lock(holder, TARGET):
        with pytest.raises(SyncError, match="locked"):
            sync(db, sample_out, lock_wait=0.5)


@pytest.mark.django_db
@pytest.mark.django_db
def test_sync_command_runs_and_reports(db: str, sample_out: Path, monkeypatch, capsys, settings, tmp_path) -> None:
    monkeypatch.setenv(f"HOCKEYOPS_TARGET_{TARGET.upper()}_URL", db)
    settings.HOCKEYOPS_ARTIFACTS_DIR = tmp_path / "artifacts"
    call_command("sync", "--target", TARGET, "--output-dir", str(sample_out), "--full-refresh", "--json")
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "succeeded" and out["run"]  # recorded as a Run (trigger cli)
    result = out["result"]
    assert result["atomic"] and {t["name"] for t in result["tables"]} == set(TABLES_BY_NAME)
    assert all(t["verified"] and t["rows_per_second"] >= 0 for t in result["tables"])
    with pytest.raises(CommandError, match="There is no table or mode called 'fact_nope'"):
        call_command("sync", "--target", TARGET, "--output-dir", str(sample_out), "--tables", "fact_nope")


# ------------------------------------------------------------------------------------------------ REST

@pytest.fixture()
def rest(pg_admin: str):
    from tests.rest_double import RestDouble

    url = new_database(pg_admin, "sync_rest_t")
    apply_schema(url, SchemaOptions(), target_name="rest")
    double = RestDouble(url).start()
    try:
        yield double
    finally:
        double.stop()
        drop_database(pg_admin, url)


def test_rest_transport_upserts_in_batches_exactly_and_idempotently(rest, sample_out: Path) -> None:
    from etl.sync.rest import sync_rest

    reporter = ListReporter()
    result = sync_rest(rest.url, rest.service_key, str(sample_out), SyncOptions(), target_name="rest",
                       reporter=reporter, batch_size=250)
    assert result.transport == "supabase-rest" and not result.atomic and any("not atomic" in n for n in result.notes)
    manifest = json.loads((sample_out / "manifest.json").read_text())["tables"]
    assert {t.name: t.rows for t in result.tables} == {n: manifest[n]["rows"] for n in TABLES_BY_NAME}
    posts = [r for r in rest.requests if r["status"] == 201]
    assert max(r["rows"] for r in posts) == 250
    assert all(r["prefer"] == {"return": "minimal", "resolution": "merge-duplicates"} for r in posts)
    assert {r["query"]["on_conflict"] for r in posts if r["path"].endswith("/qa_goal_verification")} == \
        {"game_id,team_id"}
    assert_cells_equal(rest.database_url, sample_out)
    sync_tables(rest.url, sample_out, SyncOptions(), target_name="rest", service_key=rest.service_key)
    assert_cells_equal(rest.database_url, sample_out)  # same counts: upserts, no duplicates


def test_rest_transport_retries_with_backoff_and_reports_partial_writes(rest, sample_out: Path) -> None:
    from etl.sync.rest import sync_rest

    # dim_player.team_id references dim_team, which references dim_league: those first, without faults
    sync_rest(rest.url, rest.service_key, str(sample_out), SyncOptions(tables=("dim_league", "dim_team")),
              target_name="rest")
    rest.fail_next(2, 503)
    reporter = ListReporter()
    result = sync_rest(rest.url, rest.service_key, str(sample_out), SyncOptions(tables=("dim_player",)),
                       target_name="rest", reporter=reporter, backoff=0.01)
    assert result.table("dim_player").retries == 2 and result.table("dim_player").committed
    assert sum("retry" in m for _, m in reporter.logs) == 2
    rest.requests.clear()
    with pytest.raises(SyncFailed, match="not atomic") as err:
        sync_rest(rest.url, rest.service_key, str(sample_out), SyncOptions(tables=("dims",)), target_name="rest",
                  backoff=0.01, max_retries=1, batch_size=100,
                  reporter=_FailOn("dim_player", rest))
    rest.clear_faults()
    assert "dim_event_detail" in str(err.value) and err.value.result.committed
    with pytest.raises(SyncError, match="invalid service key"):
        sync_rest(rest.url, "wrong", str(sample_out), SyncOptions(tables=("dim_league",)), target_name="rest")
    with psycopg.connect(rest.database_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE dim_league DROP COLUMN league")
    with pytest.raises(SyncError, match="schema stage"):
        sync_rest(rest.url, rest.service_key, str(sample_out), SyncOptions(tables=("dim_league",)),
                  target_name="rest")


class _FailOn(ListReporter):
    """Makes the double answer 503 to every request once the load reaches ``table``."""

    def __init__(self, table: str, double) -> None:
        super().__init__()
        self.table, self.double = table, double

    def progress(self, done, total, unit, rows):
        order = load_order([t.name for t in TABLES if t.category == "dim"])
        if done < len(order) and order[done] == self.table:
            self.double.fail_next(100, 503)


def test_csv_reader_handles_quotes_and_multiline_records(tmp_path: Path) -> None:
    records = [b'a,,"",b', b'"x,y","say ""hi""",', b'"two\nlines",z,"",', b"plain,1,2,3"]
    data = b"h1,h2,h3,h4\n" + b"\n".join(records) + b"\n"
    (tmp_path / "t.csv").write_bytes(data)
    (tmp_path / "manifest.json").write_text("{}")
    with OutputSnapshot(tmp_path) as snap:
        reader = snap.reader("t")
        assert reader.header() == ["h1", "h2", "h3", "h4"]
        got = [r for _, recs in reader.blocks(size=7) for r in recs]
        reader.close()
    assert got == records and reader.stats.sha256 == hashlib.sha256(data).hexdigest()
    assert parse_record(records[0]) == [b"a", None, b"", b"b"]
    assert parse_record(records[1]) == [b"x,y", b'say "hi"', None]
    assert parse_record(records[2]) == [b"two\nlines", b"z", b"", None]
    assert list(csv.reader([records[1].decode()])) == [["x,y", 'say "hi"', ""]]
