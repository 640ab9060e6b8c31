"""The admin Sync page (Preview against the target, Run as a Run, permissions) and the staging upload page."""
from __future__ import annotations

import psycopg
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from psycopg import sql

from jobs.models import Run
from tests.test_admin import login

pytestmark = pytest.mark.django_db(transaction=True)
SYNC = "admin:jobs_run_sync"
STAGE = "admin:jobs_run_stage"
TABLES = ["dim_team", "fact_goals", "fact_player_game_stats"]


@pytest.fixture()
def target(warehouse: str) -> str:
    return warehouse


@pytest.fixture()
def published(target, settings, league):
    """The sample league's outputs published and the schema applied on the target."""
    from etl.pipeline import EtlOptions, run_etl
    from etl.schema import SchemaOptions, apply_schema

    run_etl(EtlOptions(data_dir=str(league), output_dir=str(settings.HOCKEYOPS_OUTPUT_DIR)))
    apply_schema(target, SchemaOptions(), target_name="warehouse")
    return target


def count(url: str, table: str, where: str = "") -> int:
    with psycopg.connect(url) as conn:
        query = sql.SQL("SELECT count(*) FROM {}" + where).format(sql.Identifier(table))
        return conn.execute(query).fetchone()[0]


def sync_form(**extra) -> dict:
    return {"tables": TABLES, "games": ["30001"], "verify": "on", "target": "warehouse", "collision": "queue",
            **extra}


def test_preview_lists_tables_with_strategies_and_writes_nothing(client, published):
    login(client, "vera", "viewer")  # Preview needs only the view permission
    page = client.get(reverse(SYNC)).content.decode()
    assert "30001 · " in page and 'name="per_table_commit"' in page and 'name="_run"' not in page
    response = client.post(reverse(SYNC), sync_form(_preview="Preview"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "nothing has been written" in html and "one transaction" in html
    assert all(f"<td>{table}</td>" in html for table in TABLES)
    assert '<td class="ho-strategy">games</td>' in html and "rows of games 30001" in html
    assert not Run.objects.exists()
    assert count(published, "fact_goals") == 0 and count(published, "dim_team") == 0


def test_preview_explains_an_unreachable_target_and_missing_outputs(client, target, monkeypatch, settings):
    login(client, "olive", "operator")
    missing = client.post(reverse(SYNC), sync_form(_preview="Preview")).content.decode()
    assert "run the ETL first" in missing and "ho-sync-plan" not in missing  # no outputs published yet
    from etl.pipeline import EtlOptions, run_etl

    run_etl(EtlOptions(data_dir=str(settings.HOCKEYOPS_DATA_DIR), output_dir=str(settings.HOCKEYOPS_OUTPUT_DIR)))
    monkeypatch.setenv("HOCKEYOPS_TARGET_WAREHOUSE_URL", "postgresql://nobody:s3cret@127.0.0.1:1/nowhere")
    html = client.post(reverse(SYNC), sync_form(_preview="Preview")).content.decode()
    assert "Could not preview the sync to target &#x27;warehouse&#x27;" in html and "s3cret" not in html
    assert not Run.objects.exists()


def test_operator_runs_a_sync_that_loads_the_target(client, published):
    login(client, "olive", "operator")
    response = client.post(reverse(SYNC), sync_form(tables=[], games=[], _run="Run"))  # every table: FKs
    run = Run.objects.get()
    assert response.status_code == 302 and response.url == run.get_absolute_url()
    run.refresh_from_db()
    assert run.status == "succeeded", run.error_summary
    assert run.trigger == Run.Trigger.ADMIN and run.requested_by.username == "olive"
    assert run.plan["stages"] == ["sync"] and run.target_name == "warehouse"
    assert all(count(published, table) > 0 for table in TABLES)


def test_viewer_may_not_run_a_sync(client, published):
    login(client, "vera", "viewer")
    response = client.post(reverse(SYNC), sync_form(_run="Run"))
    assert response.status_code == 403 and "You need the permission" in response.content.decode()
    assert not Run.objects.exists() and count(published, "dim_team") == 0


def workbook(path, name: str | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name or path.name, path.read_bytes(),
                              content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def test_upload_stages_the_master_and_game_workbooks(client, target, sample_src):
    login(client, "olive", "operator")
    assert reverse(STAGE) in client.get(reverse("admin:jobs_run_etl")).content.decode()
    files = [workbook(sample_src / "BLB_TABLES.xlsx"),
             *(workbook(sample_src / "games" / g / f"{g}_tracking.xlsx") for g in ("30001", "30002"))]
    response = client.post(reverse(STAGE), {"files": files, "target": "warehouse", "_stage": "Load"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Games staged: 30001, 30002" in html and "Master: staged" in html
    for gid in (30001, 30002):
        assert count(target, "stage_game_rows", f" WHERE game_id = {gid}") > 0
    assert count(target, "stage_game_rows", " WHERE game_id = 30003") == 0
    assert count(target, "stage_master_rows") > 0

    again = client.post(reverse(STAGE), {"files": [workbook(sample_src / "BLB_TABLES.xlsx"),
                                                   workbook(sample_src / "games" / "30001" / "30001_tracking.xlsx")],
                                         "target": "warehouse"}).content.decode()
    assert "Games skipped (unchanged): 30001" in again and "Master: unchanged" in again
    assert count(target, "stage_game_rows", " WHERE game_id = 30002") > 0  # games not uploaded stay staged


def test_upload_rejects_bad_names_and_a_missing_master(client, target, sample_src):
    login(client, "olive", "operator")
    game = sample_src / "games" / "30001" / "30001_tracking.xlsx"
    bad = client.post(reverse(STAGE), {"files": [workbook(sample_src / "BLB_TABLES.xlsx"),
                                                 workbook(game, "game one.xlsx")], "target": "warehouse"})
    assert bad.status_code == 200 and "Not a league workbook name: game one.xlsx" in bad.content.decode()
    no_master = client.post(reverse(STAGE), {"files": [workbook(game)], "target": "warehouse"}).content.decode()
    assert "Include the master workbook BLB_TABLES.xlsx" in no_master
    with psycopg.connect(target) as conn:
        assert conn.execute("SELECT to_regclass('stage_game_rows')").fetchone()[0] is None  # nothing staged


def test_viewer_may_not_upload(client, target, sample_src):
    login(client, "vera", "viewer")
    assert 'name="_stage"' not in client.get(reverse(STAGE)).content.decode()
    response = client.post(reverse(STAGE), {"files": [workbook(sample_src / "BLB_TABLES.xlsx")],
                                            "target": "warehouse"})
    assert response.status_code == 403


def test_supabase_rest_targets_carry_a_not_atomic_notice(client, published):
    from jobs.models import Target

    Target.objects.create(name="cloud", kind=Target.Kind.SUPABASE_REST, key_env="CLOUD_KEY")
    login(client, "olive", "operator")
    assert "not atomic" in client.get(reverse(SYNC)).content.decode()
    html = client.post(reverse(SYNC), sync_form(target="cloud", _preview="Preview")).content.decode()
    assert "“cloud” is a Supabase REST target: the load is not atomic" in html and "<td>fact_goals</td>" in html
    assert not Run.objects.exists()
