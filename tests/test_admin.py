"""The admin console: stage pages, Jobs (audit, schedules, actions), read-only Runs, permissions, query counts."""
from __future__ import annotations

import json
import os
import uuid

import psycopg
import pytest
from django.contrib.admin.sites import site
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_celery_beat.models import PeriodicTask
from psycopg import sql

from etl.catalog import catalog_version
from jobs.groups import ensure_groups
from jobs.models import Job, JobChange, Run, RunStep, Target
from jobs.services.plans import build_plan
from jobs.services.runs import create_run

GAMES = ["30001", "30002"]
TABLES = ["dim_team", "fact_goals", "qa_goal_verification"]
RUN_ETL = "admin:jobs_run_etl"


@pytest.fixture(autouse=True)
def dirs(settings, tmp_path, sample_src):
    settings.HOCKEYOPS_DATA_DIR = sample_src
    settings.HOCKEYOPS_OUTPUT_DIR = tmp_path / "output"
    settings.HOCKEYOPS_ARTIFACTS_DIR = tmp_path / "artifacts"
    settings.HOCKEYOPS_RUNS_DIR = tmp_path / "runs"
    return tmp_path


def login(client, name: str, group: str | None = None, **extra) -> User:
    user = User.objects.create_user(name, password="pw", is_staff=True, **extra)
    if group:
        user.groups.add(ensure_groups()[group])
    client.force_login(user)
    return user


def etl_form(**extra) -> dict:
    return {"games": GAMES, "tables": TABLES, "source": "excel", "mode": "full", "target": "embedded",
            "collision": "queue", **extra}


def job_form(**extra) -> dict:
    return {"name": "nightly", "description": "", "enabled": "on", "stages": ["etl"], "games": GAMES,
            "tables": TABLES, "source": "excel", "mode": "full", "target_name": "embedded", "collision": "queue",
            "schedule": "", "sync_verify": "on", **extra}


def queued_run(**fields) -> Run:
    run = create_run(build_plan(["etl"], etl={"games": [30001], "tables": ["dim_team"]}), Run.Trigger.CLI,
                     enqueue=False)
    if fields:
        Run.objects.filter(pk=run.pk).update(**fields)
        run.refresh_from_db()
    return run


@pytest.mark.django_db(transaction=True)
def test_operator_previews_then_runs_etl_and_downloads_the_manifest(client, dirs):
    operator = login(client, "olive", "operator")
    page = client.get(reverse(RUN_ETL))
    assert page.status_code == 200
    html = page.content.decode()
    assert "30001 · 2025-09-07" in html and "(tracked)" in html and "No tracking workbook" in html
    assert "Facts · tracking" in html and 'name="_run"' in html and 'data-filter=' in html

    preview = client.post(reverse(RUN_ETL), etl_form(_preview="Preview"))
    assert preview.status_code == 200
    text = preview.content.decode()
    assert "nothing has been written" in text
    assert "game 30001" in text and "game 30002" in text and "game 30003" not in text
    assert all(f"{table}: write" in text for table in TABLES)
    assert not Run.objects.exists() and not Job.objects.exists()
    assert not (dirs / "output").exists() and not (dirs / "artifacts").exists()

    response = client.post(reverse(RUN_ETL), etl_form(_run="Run"))
    run = Run.objects.get()
    assert response.status_code == 302 and response["Location"] == run.get_absolute_url()
    assert run.status == Run.Status.SUCCEEDED, run.error_summary
    assert run.percent == 100.0 and run.trigger == Run.Trigger.ADMIN and run.requested_by == operator
    assert run.plan["etl"]["resolved"]["games"] == [30001, 30002]
    assert set(run.steps.values_list("unit", flat=True)) == {"master", "game 30001", "game 30002", "publish"}
    assert not run.steps.exclude(status=RunStep.Status.SUCCEEDED).exists()
    assert run.logs.exists()

    detail = client.get(run.get_absolute_url()).content.decode()
    assert "game 30001: build (full run)" in detail and "fact_goals: write" in detail
    assert "manifest.json" in detail and run.logs.last().message in detail
    assert 'id="ho-cancel"' not in detail and 'id="ho-retry"' not in detail  # finished and succeeded

    manifest = run.artifacts.get(name="manifest.json")
    download = client.get(reverse("admin:jobs_run_artifact", args=[run.pk, manifest.pk]))
    assert download.status_code == 200 and "attachment" in download["Content-Disposition"]
    assert sorted(json.loads(b"".join(download.streaming_content))["tables"]) == TABLES

    status = client.get(reverse("admin:jobs_run_status", args=[run.pk]), {"after": 0}).json()
    assert status["status"] == "succeeded" and status["percent"] == 100.0 and status["terminal"]
    assert len(status["steps"]) == 4 and status["logs"] and status["last_log_id"] == status["logs"][-1]["id"]
    later = client.get(reverse("admin:jobs_run_status", args=[run.pk]), {"after": status["last_log_id"]}).json()
    assert later["logs"] == [] and later["last_log_id"] == status["last_log_id"]


@pytest.mark.django_db
def test_save_as_job_creates_then_updates_a_job_with_its_history(client):
    operator = login(client, "olive", "operator")
    response = client.post(reverse(RUN_ETL), etl_form(job_name="two games", mode="incremental", _save_job="Save"))
    job = Job.objects.get(name="two games")
    assert response.status_code == 302 and response["Location"] == reverse("admin:jobs_job_change", args=[job.pk])
    assert job.stages == ["etl"] and job.games == [30001, 30002] and job.tables == TABLES
    assert job.mode == "incremental" and not Run.objects.exists()
    client.post(reverse(RUN_ETL), etl_form(job_name="two games", games=["30003"], _save_job="Save"))
    job.refresh_from_db()
    assert job.games == [30003]
    actions = list(JobChange.objects.filter(job=job).order_by("at", "id").values_list("action", "user"))
    assert actions == [("created", operator.pk), ("changed", operator.pk)]
    assert JobChange.objects.filter(action="changed").get().changes["games"] == [[30001, 30002], [30003]]
    missing = client.post(reverse(RUN_ETL), etl_form(_save_job="Save"))
    assert "Give the Job a name" in missing.content.decode()


@pytest.mark.django_db
def test_bad_selection_is_shown_on_the_page_and_nothing_is_created(client):
    login(client, "olive", "operator")
    response = client.post(reverse(RUN_ETL), etl_form(games=["30008"], _run="Run"))  # only old CSV exports
    assert response.status_code == 200
    assert "Game 30008 has no tracking workbook" in response.content.decode()
    response = client.post(reverse(RUN_ETL), etl_form(table_patterns="nosuch_*", _preview="Preview"))
    assert "The pattern &#x27;nosuch_*&#x27; matches no table" in response.content.decode()
    assert not Run.objects.exists()


@pytest.mark.django_db
def test_viewer_sees_runs_but_cannot_start_cancel_or_retry(client):
    login(client, "vic", "viewer")
    queued, failed = queued_run(), queued_run(status=Run.Status.FAILED)
    page = client.get(reverse(RUN_ETL)).content.decode()
    assert 'id="ho-not-allowed"' in page and 'name="_run"' not in page and 'name="_save_job"' not in page
    denied = client.post(reverse(RUN_ETL), etl_form(_run="Run"))
    assert denied.status_code == 403 and "Can run ETL" in denied.content.decode()
    assert client.post(reverse(RUN_ETL), etl_form(job_name="x", _save_job="Save")).status_code == 403
    preview = client.post(reverse(RUN_ETL), etl_form(_preview="Preview"))  # a preview writes nothing: viewers may
    assert preview.status_code == 200 and "nothing has been written" in preview.content.decode()
    changelist = client.get(reverse("admin:jobs_run_changelist"))
    assert changelist.status_code == 200 and f"#{queued.pk}" in changelist.content.decode()
    assert reverse(RUN_ETL) in changelist.content.decode()  # viewers may preview an ETL, like a sync or a schema
    for run in (queued, failed):
        detail = client.get(run.get_absolute_url())
        assert detail.status_code == 200
        assert 'id="ho-cancel"' not in detail.content.decode() and 'id="ho-retry"' not in detail.content.decode()
    assert client.post(reverse("admin:jobs_run_cancel", args=[queued.pk])).status_code == 403
    assert client.post(reverse("admin:jobs_run_retry", args=[failed.pk])).status_code == 403
    assert Run.objects.get(pk=queued.pk).status == Run.Status.QUEUED and Run.objects.count() == 2


@pytest.mark.django_db
def test_operator_cancels_a_queued_run_and_sees_retry_on_failed_ones(client):
    login(client, "olive", "operator")
    queued, failed = queued_run(), queued_run(status=Run.Status.FAILED)
    assert 'id="ho-cancel"' in client.get(queued.get_absolute_url()).content.decode()
    assert 'id="ho-retry"' in client.get(failed.get_absolute_url()).content.decode()
    assert 'id="ho-live"' in client.get(queued.get_absolute_url()).content.decode()
    confirm = client.get(reverse("admin:jobs_run_cancel", args=[queued.pk]))  # Cancel asks first
    assert confirm.status_code == 200 and 'id="ho-confirm-cancel"' in confirm.content.decode()
    assert Run.objects.get(pk=queued.pk).status == Run.Status.QUEUED
    response = client.post(reverse("admin:jobs_run_cancel", args=[queued.pk]))
    assert response.status_code == 302 and response["Location"] == queued.get_absolute_url()
    cancelled = Run.objects.get(pk=queued.pk)
    assert cancelled.status == Run.Status.CANCELLED and cancelled.cancelled_by.username == "olive"
    assert client.get(reverse("admin:jobs_run_cancel", args=[queued.pk])).status_code == 302  # finished already


@pytest.mark.django_db
def test_nobody_adds_changes_or_deletes_runs(client, rf):
    admin_user = login(client, "root", is_superuser=True)
    run = queued_run()
    run_admin = site._registry[Run]
    request = rf.get("/")
    request.user = admin_user
    assert not run_admin.has_delete_permission(request, run)
    assert not run_admin.has_change_permission(request, run)
    assert not run_admin.has_add_permission(request)
    assert client.get(reverse("admin:jobs_run_add")).status_code == 403
    assert client.post(reverse("admin:jobs_run_delete", args=[run.pk]), {"post": "yes"}).status_code == 403
    assert client.post(run.get_absolute_url(), {"status": "succeeded"}).status_code == 403
    page = client.get(run.get_absolute_url()).content.decode()
    assert 'name="_save"' not in page and "deletelink" not in page
    assert Run.objects.get(pk=run.pk).status == Run.Status.QUEUED


@pytest.mark.django_db
def test_job_save_records_changes_and_keeps_the_schedule_in_step(client):
    user = login(client, "root", is_superuser=True)
    response = client.post(reverse("admin:jobs_job_add"), job_form(schedule="0 3 * * *"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    job = Job.objects.get(name="nightly")
    assert job.periodic_task is not None and job.periodic_task.crontab.hour == "3"
    created = JobChange.objects.get(job=job)
    assert created.action == "created" and created.user == user and created.changes["schedule"] == [None, "0 3 * * *"]

    client.post(reverse("admin:jobs_job_change", args=[job.pk]), job_form(schedule="", mode="incremental"))
    job.refresh_from_db()
    assert job.periodic_task is None and not PeriodicTask.objects.filter(name__startswith="hockeyops job").exists()
    change = JobChange.objects.filter(job=job, action="changed").get()
    assert change.changes == {"schedule": ["0 3 * * *", ""], "mode": ["full", "incremental"]}
    page = client.get(reverse("admin:jobs_job_change", args=[job.pk])).content.decode()
    assert "Change history" in page and "0 3 * * *" in page and "incremental" in page

    bad = client.post(reverse("admin:jobs_job_change", args=[job.pk]), job_form(schedule="every night"))
    assert bad.status_code == 200 and "five fields" in bad.content.decode()
    bad = client.post(reverse("admin:jobs_job_change", args=[job.pk]), job_form(table_patterns="fact_nothing*"))
    assert "matches no table" in bad.content.decode()

    client.post(reverse("admin:jobs_job_change", args=[job.pk]), job_form(schedule="30 2 * * 1"))
    assert PeriodicTask.objects.filter(name=f"hockeyops job {job.pk}").exists()
    client.post(reverse("admin:jobs_job_delete", args=[job.pk]), {"post": "yes"})
    assert not Job.objects.exists() and not PeriodicTask.objects.filter(name__startswith="hockeyops job").exists()
    deleted = JobChange.objects.get(action="deleted")
    assert deleted.job_name == "nightly" and deleted.user == user


@pytest.mark.django_db
def test_job_actions_preview_and_run_now(client, django_capture_on_commit_callbacks):
    job = Job.objects.create(name="two games", stages=["etl"], games=[30001, 30002], tables=["fact_goals"])
    changelist = reverse("admin:jobs_job_changelist")
    login(client, "vic", "viewer")
    page = client.get(changelist).content.decode()
    assert 'value="preview"' in page and 'value="run_now"' not in page
    detail = client.get(reverse("admin:jobs_job_change", args=[job.pk]))
    assert detail.status_code == 200 and 'name="_save"' not in detail.content.decode()
    client.post(changelist, {"action": "run_now", "_selected_action": [job.pk]})
    assert not Run.objects.exists()

    login(client, "olive", "operator")
    preview = client.post(changelist, {"action": "preview", "_selected_action": [job.pk]})
    assert preview.status_code == 200 and "game 30002: build (full run)" in preview.content.decode()
    assert not Run.objects.exists()
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(changelist, {"action": "run_now", "_selected_action": [job.pk]})
    assert response.status_code == 302
    run = Run.objects.get()
    assert run.job == job and run.trigger == Run.Trigger.ADMIN and run.requested_by.username == "olive"
    assert f"#{run.pk} Queued" in client.get(changelist).content.decode()


@pytest.mark.django_db
def test_sync_page_and_console_links(client):
    login(client, "sam", "schema admin")
    page = client.get(reverse("admin:jobs_run_sync")).content.decode()
    assert 'name="target"' in page and 'name="_run"' in page and reverse("admin:jobs_run_stage") in page
    assert "arrives with its issue" not in page
    index = client.get(reverse("admin:index")).content.decode()
    assert reverse(RUN_ETL) in index and reverse("admin:jobs_run_schema") in index
    assert "arrives with its issue" not in index


@pytest.mark.django_db
def test_targets_show_whether_variables_are_set_never_their_values(client, monkeypatch):
    monkeypatch.setenv("HOCKEYOPS_TARGET_WAREHOUSE_URL", "postgresql://secret-user:pw@db/warehouse")
    Target.objects.create(name="warehouse", description="The league warehouse")
    Target.objects.create(name="staging", kind=Target.Kind.SUPABASE_REST, key_env="STAGING_KEY")
    login(client, "root", is_superuser=True)
    page = client.get(reverse("admin:jobs_target_changelist")).content.decode()
    assert "set (HOCKEYOPS_TARGET_WAREHOUSE_URL)" in page and "not set (HOCKEYOPS_TARGET_STAGING_URL)" in page
    assert "not set (STAGING_KEY)" in page and "secret-user" not in page
    detail = client.get(reverse("admin:jobs_target_change", args=[Target.objects.get(name="warehouse").pk]))
    assert "secret-user" not in detail.content.decode()


def _changelist_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def _make_runs(count: int, start: int) -> None:
    users = [User.objects.create_user(f"u{start + i}") for i in range(count)]
    jobs = [Job.objects.create(name=f"job {start + i}", stages=["etl"]) for i in range(count)]
    Run.objects.bulk_create([Run(job=jobs[i], requested_by=users[i], trigger=Run.Trigger.ADMIN, target_name="embedded",
                                 status=Run.Status.SUCCEEDED, percent=100.0) for i in range(count)])


@pytest.mark.django_db
def test_run_and_job_lists_use_a_fixed_number_of_queries(client):
    login(client, "root", is_superuser=True)
    _make_runs(5, 0)
    small = {url: _changelist_queries(client, url) for url in (reverse("admin:jobs_run_changelist"),
                                                               reverse("admin:jobs_job_changelist"))}
    _make_runs(45, 100)
    for url, queries in small.items():
        assert _changelist_queries(client, url) == queries, url
    page = client.get(reverse("admin:jobs_run_changelist")).content.decode()
    assert page.count('class="ho-badge ho-status-succeeded"') == 50 and "field-created_display" in page
    assert f"#{Run.objects.first().pk}" in client.get(reverse("admin:jobs_run_changelist"),
                                                      {"q": f"#{Run.objects.first().pk}"}).content.decode()


@pytest.mark.django_db
def test_ensure_groups_is_idempotent_and_layered():
    groups = ensure_groups()
    ensure_groups()
    codes = {name: set(g.permissions.values_list("codename", flat=True)) for name, g in groups.items()}
    assert "view_run" in codes["viewer"] and "run_etl" not in codes["viewer"]
    assert codes["viewer"] < codes["operator"] < codes["schema admin"]
    assert {"run_etl", "run_sync", "add_job", "change_job"} <= codes["operator"]
    assert {"apply_schema", "apply_destructive_schema"} <= codes["schema admin"] - codes["operator"]


# ---- Schema page and schema Jobs (against a fresh database on the PostgreSQL server)

SCHEMA = "admin:jobs_run_schema"
SERVER_ADMIN_URL = os.environ.get("HOCKEYOPS_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SECRET = "pw-never-shown-7f3a"  # in the target URL; the server trusts, so it is sent but never checked


@pytest.fixture()
def target_db(monkeypatch):
    """A fresh, empty database declared as target ``wh`` through HOCKEYOPS_TARGET_WH_URL; dropped afterwards."""
    try:
        psycopg.connect(SERVER_ADMIN_URL, connect_timeout=3).close()
    except psycopg.Error as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no PostgreSQL server answers at {SERVER_ADMIN_URL}: {str(exc).strip().splitlines()[0]}")
    name = f"admin_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(SERVER_ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    info = psycopg.conninfo.conninfo_to_dict(SERVER_ADMIN_URL)
    url = (f"postgresql://{info.get('user') or 'postgres'}:{SECRET}@{info.get('host') or '127.0.0.1'}:"
           f"{info.get('port') or 5432}/{name}")
    monkeypatch.setenv("HOCKEYOPS_TARGET_WH_URL", url)
    try:
        yield url
    finally:
        with psycopg.connect(SERVER_ADMIN_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def live_tables(url: str) -> set[str]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()").fetchall()
    return {r[0] for r in rows}


def live_columns(url: str, table: str) -> list[str]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
                            "AND table_name = %s ORDER BY ordinal_position", [table]).fetchall()
    return [r[0] for r in rows]


def schema_form(**extra) -> dict:
    return {"tables": ["dim_team", "fact_goals"], "pk": "on", "fk": "on", "indexes": "on", "comments": "on",
            "rls_role": "anon", "target": "wh", "collision": "queue", **extra}


def text_of(response, url: str = "") -> str:
    """The page's text, after checking that neither the target URL nor its password is in it."""
    text = response.content.decode()
    assert SECRET not in text and (not url or url not in text)
    return text


@pytest.mark.django_db
def test_schema_page_generate_downloads_the_script_for_a_viewer(client, dirs):
    login(client, "vic", "viewer")
    page = text_of(client.get(reverse(SCHEMA)))
    assert 'name="_generate"' in page and 'name="_plan"' in page and 'name="_apply"' not in page
    assert 'id="ho-not-allowed"' in page and 'value="dims"' in page and 'name="rls_role"' in page
    assert "Facts · tracking" in page and "I understand rows will be deleted" not in page  # Apply only

    response = client.post(reverse(SCHEMA), schema_form(tables=["dims"], fk="", target="embedded",
                                                   _generate="Generate"))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="reset_supabase.sql"'
    script = response.content.decode()
    assert script.startswith("-- hockeyops warehouse schema") and f"-- catalog version: {catalog_version()}" in script
    assert 'CREATE TABLE "dim_team"' in script and "fact_goals" not in script and "FOREIGN KEY" not in script
    assert not Run.objects.exists() and not (dirs / "artifacts").exists()

    bad = client.post(reverse(SCHEMA), schema_form(pk="", target="embedded", _generate="Generate"))
    assert bad.status_code == 200 and "Foreign keys reference primary keys" in bad.content.decode()


@pytest.mark.django_db
def test_schema_plan_lists_operations_and_writes_nothing(client, target_db):
    login(client, "olive", "operator")
    response = client.post(reverse(SCHEMA), schema_form(_plan="Plan"))
    assert response.status_code == 200
    page = text_of(response, target_db)
    assert "nothing has been written" in page and 'id="ho-operations"' in page
    assert "create table dim_team" in page and "create table fact_goals" in page
    assert 'class="ho-badge ho-status-succeeded">safe<' in page and ">destructive<" not in page
    assert live_tables(target_db) == set() and not Run.objects.exists()


@pytest.mark.django_db
def test_schema_plan_errors_are_readable(client, monkeypatch):
    login(client, "olive", "operator")
    Target.objects.create(name="nourl")
    response = client.post(reverse(SCHEMA), schema_form(target="nourl", _plan="Plan"))
    assert response.status_code == 200
    assert "has no connection URL: set HOCKEYOPS_TARGET_NOURL_URL" in response.content.decode()
    down = f"postgresql://someone:{SECRET}@127.0.0.1:1/nowhere"
    monkeypatch.setenv("HOCKEYOPS_TARGET_DOWN_URL", down)
    response = client.post(reverse(SCHEMA), schema_form(target="down", _plan="Plan"))
    assert response.status_code == 200
    page = text_of(response, down)
    assert 'id="ho-plan-error"' in page and "Could not connect to the target database" in page
    assert not Run.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_schema_admin_applies_through_a_run_with_plan_and_sql_artifacts(client, target_db):
    admin_user = login(client, "sam", "schema admin")
    page = text_of(client.get(reverse(SCHEMA)), target_db)
    assert 'name="_apply"' in page and 'id="ho-not-allowed"' not in page and "wh (environment" in page
    assert 'name="confirm_destructive"' in page and "I understand rows will be deleted" in page

    response = client.post(reverse(SCHEMA), schema_form(_apply="Apply"))
    run = Run.objects.get()
    assert response.status_code == 302 and response["Location"] == run.get_absolute_url()
    assert run.status == Run.Status.SUCCEEDED, run.error_summary
    assert run.trigger == Run.Trigger.ADMIN and run.requested_by == admin_user and run.target_name == "wh"
    assert run.stages == ["schema"] and run.plan["schema"]["resolved"]["tables"] == ["dim_team", "fact_goals"]
    assert {"dim_team", "fact_goals"} <= live_tables(target_db)
    artifacts = {a.name: a for a in run.artifacts.all()}
    assert {"schema_plan.json", "schema_plan.sql"} <= set(artifacts)
    plan = json.loads(client.get(reverse("admin:jobs_run_artifact", args=[run.pk, artifacts["schema_plan.json"].pk]))
                      .getvalue())
    assert "create table" in {op["kind"] for op in plan["operations"]}
    detail = text_of(client.get(run.get_absolute_url()), target_db)
    assert "schema_plan.sql" in detail and "Schema: plan and apply 2 tables" in detail
    status = client.get(reverse("admin:jobs_run_status", args=[run.pk]))
    assert SECRET not in status.content.decode()

    again = text_of(client.post(reverse(SCHEMA), schema_form(_plan="Plan")), target_db)
    assert "No changes: the target matches the catalog" in again

    with psycopg.connect(target_db, autocommit=True) as conn:  # a column the catalog no longer has, with data
        conn.execute("ALTER TABLE dim_team ADD COLUMN legacy text")
        conn.execute("INSERT INTO dim_team (team_id, team_name, legacy) VALUES ('T1', 'One', 'old')")
    planned = text_of(client.post(reverse(SCHEMA), schema_form(_plan="Plan")), target_db)
    assert "drop column dim_team.legacy" in planned and ">destructive<" in planned
    assert 'class="ho-num ho-rows">1<' in planned  # rows with a value in the dropped column
    assert "Apply refuses destructive operations" in planned

    unconfirmed = client.post(reverse(SCHEMA), schema_form(allow_destructive="on", _apply="Apply"))
    assert unconfirmed.status_code == 200 and Run.objects.count() == 1
    assert "Tick “I understand rows will be deleted”" in text_of(unconfirmed, target_db)
    assert "legacy" in live_columns(target_db, "dim_team")

    confirmed = client.post(reverse(SCHEMA), schema_form(allow_destructive="on", confirm_destructive="on",
                                                         _apply="Apply"))
    run = Run.objects.first()
    assert confirmed.status_code == 302 and Run.objects.count() == 2
    assert run.status == Run.Status.SUCCEEDED, run.error_summary
    assert run.plan["schema"]["allow_destructive"] and "legacy" not in live_columns(target_db, "dim_team")


@pytest.mark.django_db
def test_apply_needs_apply_schema_and_destructive_apply_its_own_permission(client, target_db):
    operator = login(client, "olive", "operator")
    page = text_of(client.get(reverse(SCHEMA)))
    assert 'name="_plan"' in page and 'name="_generate"' in page and 'name="_apply"' not in page
    denied = client.post(reverse(SCHEMA), schema_form(_apply="Apply"))
    assert denied.status_code == 403 and "Can apply schema changes" in text_of(denied, target_db)
    assert not Run.objects.exists()

    operator.user_permissions.add(Permission.objects.get(codename="apply_schema"))
    operator = User.objects.get(pk=operator.pk)  # fresh permission cache
    client.force_login(operator)
    destructive = client.post(reverse(SCHEMA), schema_form(allow_destructive="on", confirm_destructive="on",
                                                           _apply="Apply"))
    assert destructive.status_code == 403 and "Can apply destructive schema changes" in text_of(destructive)
    assert not Run.objects.exists()
    response = client.post(reverse(SCHEMA), schema_form(_apply="Apply"))  # queued; runs after commit
    run = Run.objects.get()
    assert response.status_code == 302 and run.requested_by == operator and not run.plan["schema"]["allow_destructive"]
    assert live_tables(target_db) == set()

    job = Job.objects.create(name="drop old columns", stages=["schema"], target_name="wh",
                             schema_options={"allow_destructive": True})
    client.post(reverse("admin:jobs_job_changelist"), {"action": "run_now", "_selected_action": [job.pk]})
    assert not Run.objects.filter(job=job).exists()


def schema_job_form(**extra) -> dict:
    return job_form(**{"stages": ["etl", "schema"], "target_name": "wh", "schema_tables": TABLES, "schema_pk": "on",
                       "schema_fk": "on", "schema_indexes": "on", "schema_comments": "on", "schema_rls_role": "anon",
                       **extra})


@pytest.mark.django_db(transaction=True)
def test_job_with_etl_and_schema_stages_runs_both(client, target_db):
    login(client, "olive", "operator")
    add = reverse("admin:jobs_job_add")
    refused = client.post(add, schema_job_form())
    assert refused.status_code == 200 and "Can apply schema changes" in text_of(refused, target_db)

    login(client, "sam", "schema admin")
    form_page = text_of(client.get(add), target_db)
    assert 'name="schema_table_patterns"' in form_page and "ho-stage-schema" in form_page
    bad = client.post(add, schema_job_form(schema_pk=""))
    assert "Foreign keys reference primary keys" in bad.content.decode()
    unconfirmed = client.post(add, schema_job_form(schema_allow_destructive="on"))
    assert "Tick “I understand rows will be deleted”" in unconfirmed.content.decode() and not Job.objects.exists()
    response = client.post(add, schema_job_form(schema_exclude_patterns="qa_*"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    job = Job.objects.get()
    assert job.stages == ["etl", "schema"] and job.target_name == "wh"
    assert job.schema_options["tables"] == TABLES and job.schema_options["exclude_tables"] == ["qa_*"]
    assert job.schema_options["pk"] and not job.schema_options["rls"] and not job.schema_options["allow_destructive"]
    page = text_of(client.get(reverse("admin:jobs_job_change", args=[job.pk])), target_db)
    assert 'value="fact_goals" selected' in page
    login(client, "olive2", "operator")  # may edit the rest of a schema Job, not its schema request
    edited = client.post(reverse("admin:jobs_job_change", args=[job.pk]),
                         schema_job_form(schema_exclude_patterns="qa_*", description="nightly, then the schema"))
    assert edited.status_code == 302 and Job.objects.get().description == "nightly, then the schema"
    changed = client.post(reverse("admin:jobs_job_change", args=[job.pk]), schema_job_form())
    assert "Can apply schema changes" in changed.content.decode()
    assert Job.objects.get().schema_options["exclude_tables"] == ["qa_*"]
    client.force_login(User.objects.get(username="sam"))

    response = client.post(reverse("admin:jobs_job_changelist"), {"action": "run_now", "_selected_action": [job.pk]})
    assert response.status_code == 302
    run = Run.objects.get()
    assert run.status == Run.Status.SUCCEEDED, run.error_summary
    assert run.stages == ["etl", "schema"] and run.job == job
    assert live_tables(target_db) >= {"dim_team", "fact_goals"} and "qa_goal_verification" not in live_tables(target_db)
    assert {"manifest.json", "schema_plan.json", "schema_plan.sql"} <= set(run.artifacts.values_list("name", flat=True))
    assert [s.stage for s in run.steps.order_by("id")][-2:] == ["schema", "schema"]
