"""The operator console as views: branding, the Runs list, honest Run pages (measured steps, per-game log lines,
published counts against the previous Run, pictures), the audit trail of Cancel and Retry, readable refusals,
wording and the data-quality page. In-process Runs (no worker): see tests/browser for the real browser."""
from __future__ import annotations

import re

import psycopg
import pytest
from django.urls import reverse
from django.utils import timezone

from etl.text import plural
from jobs.groups import ensure_groups
from jobs.models import Job, Run
from jobs.services.plans import build_plan
from jobs.services.runs import create_run, retry_run
from jobs.templatetags.console import format_when, readable
from tests.test_admin import login, queued_run

pytestmark = pytest.mark.django_db(transaction=True)
GAMES = [30001, 30002]


@pytest.fixture(autouse=True)
def dirs(run_dirs):
    return run_dirs


def etl_run(user=None, **etl) -> Run:
    plan = build_plan(["etl"], etl={"games": GAMES, **etl})
    run = create_run(plan, Run.Trigger.ADMIN, user=user)  # in-process: runs on commit (autocommit here)
    run.refresh_from_db()
    assert run.status == Run.Status.SUCCEEDED, run.error_summary
    return run


def test_plural_and_readable_say_it_once_everywhere():
    assert [plural(1, "table"), plural(2, "table"), plural(0, "row"), plural(1234, "row")] == \
        ["1 table", "2 tables", "0 rows", "1,234 rows"]
    assert plural(1, "operation") == "1 operation" and plural(3, "batch", "batches") == "3 batches"
    assert readable({"games": [1, 2], "verify": True, "at": None}) == "games: 1, 2; verify: yes; at: –"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", format_when(timezone.now()))


def test_branded_site_view_site_and_console_block(client):
    login(client, "root", is_superuser=True)
    page = client.get(reverse("admin:index")).content.decode()
    assert "Django administration" not in page and "hockeyops · league data console" in page
    assert 'class="app-jobs-console' in page and reverse("admin:jobs_run_quality") in page
    assert client.get("/").url == reverse("admin:index")  # "View site" leads to the console


def test_job_form_help_text_shows_the_variable_name(client):
    login(client, "root", is_superuser=True)
    page = client.get(reverse("admin:jobs_job_add")).content.decode()
    assert "HOCKEYOPS_TARGET_&lt;NAME&gt;_URL" in page and "HOCKEYOPS_TARGET__URL" not in page
    target_page = client.get(reverse("admin:jobs_target_add")).content.decode()
    assert "HOCKEYOPS_TARGET_&lt;NAME&gt;_URL" in target_page


def test_view_only_job_page_has_no_json_or_python_reprs(client):
    Job.objects.create(name="nightly", stages=["etl", "sync"], games=[30001], tables=["dim_team"],
                       sync_options={"verify": True, "games": [30001]})
    login(client, "vic", "viewer")
    page = client.get(reverse("admin:jobs_job_change", args=[Job.objects.get().pk])).content.decode()
    assert "games: 30001; verify: yes" in page and "etl, sync" in page
    assert "{&#x27;" not in page and '{"' not in page and ">True<" not in page


def test_runs_list_columns_filters_and_times_with_seconds(client):
    login(client, "olive", "operator")
    etl = etl_run(tables=["dim_team"])
    failed = queued_run(status=Run.Status.FAILED, error_summary="The target rejected the load of dim_team.")
    html = client.get(reverse("admin:jobs_run_changelist")).content.decode()
    for column in ("Stages", "Target", "Trigger", "Requested by", "Duration", "Processed", "Error"):
        assert f">{column}<" in html or f">{column}</a>" in html, column
    assert "The target rejected the load" in html and re.search(r"\d\d:\d\d:\d\d UTC", html)
    only_etl = client.get(reverse("admin:jobs_run_changelist") + "?stage=etl").content.decode()
    assert f"#{etl.pk}<" in only_etl and f"#{failed.pk}<" in only_etl
    schema_runs = client.get(reverse("admin:jobs_run_changelist") + "?stage=schema").content.decode()
    assert f"#{etl.pk}<" not in schema_runs
    year = timezone.now().year
    for query in ("?trigger=admin", "?target_name=embedded", "?status=failed", f"?created_at__year={year}"):
        assert client.get(reverse("admin:jobs_run_changelist") + query).status_code == 200


def test_etl_run_page_measures_games_and_compares_with_the_previous_run(client):
    user = login(client, "olive", "operator")
    first = etl_run(user, tables=["dim_team", "fact_goals", "qa_goal_verification"])
    second = etl_run(user, tables=["dim_team", "fact_goals", "qa_goal_verification", "qa_data_issues"])
    logs = list(second.logs.values_list("message", flat=True))
    for game in GAMES:
        assert any(re.match(rf"game {game}: [\d,]+ rows? in [\d.]+s, [\d,]+ issues? \(", m) for m in logs), logs
    steps = {s.unit: s for s in second.steps.all()}
    assert steps["publish"].rows == sum(second.figures["etl"]["tables"].values()) > 0
    assert all(s.duration is not None and s.started_at for s in steps.values())
    assert steps["game 30001"].figures["issues"] >= 0
    html = client.get(second.get_absolute_url()).content.decode()
    assert f"compared with <a href=\"{first.get_absolute_url()}\">Run #{first.pk}</a>" in html
    assert 'data-table="qa_data_issues"' in html and "svg class=\"ho-gantt\"" in html
    assert "svg class=\"ho-spark\"" in html and "Data quality of these outputs" in html
    status = client.get(reverse("admin:jobs_run_status", args=[second.pk])).json()
    assert status["current_stage_label"] == "ETL" and status["duration_text"].endswith("s")
    assert status["rows_text"].endswith("rows") and status["steps"][0]["count"].endswith(("row", "rows"))


def test_retried_parent_links_to_its_retry_and_offers_it_no_more(client):
    login(client, "olive", "operator")
    failed = queued_run(status=Run.Status.FAILED)
    page = client.get(failed.get_absolute_url()).content.decode()
    assert "Retry failed stages" in page and "Retry failed<" not in page
    child = retry_run(failed, enqueue=False)
    page = client.get(failed.get_absolute_url()).content.decode()
    assert 'id="ho-retry"' not in page and f"Retried as #{child.pk}" in page
    with pytest.raises(ValueError, match=f"already retried as Run #{child.pk}"):
        retry_run(failed, enqueue=False)
    client.post(reverse("admin:jobs_run_retry", args=[failed.pk]))
    assert Run.objects.filter(parent=failed).count() == 1
    assert f"Retry of <a href=\"{failed.get_absolute_url()}\">Run #{failed.pk}</a>" in \
        client.get(child.get_absolute_url()).content.decode()


def test_blocked_cancel_and_retry_are_readable_pages(client):
    login(client, "vic", "viewer")
    queued, failed = queued_run(), queued_run(status=Run.Status.FAILED)
    for response in (client.get(reverse("admin:jobs_run_cancel", args=[queued.pk])),
                     client.post(reverse("admin:jobs_run_cancel", args=[queued.pk])),
                     client.post(reverse("admin:jobs_run_retry", args=[failed.pk]))):
        html = response.content.decode()
        assert response.status_code == 403 and 'id="ho-refused"' in html
        assert "Can run ETL" in html and "operator" in html and "hockeyops" in html
    assert Run.objects.get(pk=queued.pk).status == Run.Status.QUEUED


def test_running_run_cancel_records_who(client):
    user = login(client, "olive", "operator")
    run = queued_run(status=Run.Status.RUNNING)
    client.post(reverse("admin:jobs_run_cancel", args=[run.pk]))
    run.refresh_from_db()
    assert run.cancel_requested and run.cancelled_by == user


def test_viewer_may_preview_an_etl(client):
    login(client, "vic", "viewer")
    assert reverse("admin:jobs_run_etl") in client.get(reverse("admin:jobs_run_changelist")).content.decode()
    response = client.post(reverse("admin:jobs_run_etl"), {"games": ["30001"], "tables": ["dim_team"],
                                                           "source": "excel", "mode": "full", "target": "embedded",
                                                           "collision": "queue", "_preview": "Preview"})
    assert response.status_code == 200 and "nothing has been written" in response.content.decode()


def test_data_quality_page_of_a_run(client):
    login(client, "vic", "viewer")
    run = etl_run()
    html = client.get(reverse("admin:jobs_run_quality") + f"?run={run.pk}").content.decode()
    for part in ("ho-games-by-status", "ho-issues-by-kind", "ho-issues-by-game", "ho-goals"):
        assert f'id="{part}"' in html
    assert "COMPLETE" in html and html.count("<svg") >= 3
    one = client.get(reverse("admin:jobs_run_quality") + f"?run={run.pk}&game=30001").content.decode()
    assert "Showing game 30001 only" in one and ">30002</a>" not in one


def test_schema_and_sync_runs_count_operations_and_changes_and_name_the_person(client, warehouse, settings):
    user = login(client, "sam", "schema admin")
    user.groups.add(ensure_groups()["operator"])
    etl_run(user, tables=["dim_team", "fact_goals"])
    schema = create_run(build_plan(["schema"], target="warehouse", schema={"tables": ["dim_team", "fact_goals"]}),
                        Run.Trigger.ADMIN, user=user)
    schema.refresh_from_db()
    assert schema.status == Run.Status.SUCCEEDED, schema.error_summary
    html = client.get(schema.get_absolute_url()).content.decode()
    assert re.search(r"\d+ operations?</span>", html) and "rows/s" not in html.split('id="ho-steps"')[0]
    assert schema.figures["schema"]["applied"] > 0
    sync = create_run(build_plan(["sync"], target="warehouse", sync={"tables": ["dim_team", "fact_goals"]}),
                      Run.Trigger.ADMIN, user=user)
    sync.refresh_from_db()
    assert sync.status == Run.Status.SUCCEEDED, sync.error_summary
    steps = {s.unit: s for s in sync.steps.all()}
    logged = {m.split(":")[0]: m for m in sync.logs.values_list("message", flat=True) if "rows loaded" in m}
    for table in ("dim_team", "fact_goals"):
        seconds = float(re.search(r" in ([\d.]+)s", logged[table]).group(1))
        assert steps[table].duration == pytest.approx(seconds, abs=0.006)  # the log's measurement
        rate = float(re.search(r"\(([\d,]+) rows/s", logged[table]).group(1).replace(",", ""))
        assert steps[table].rows_per_sec == pytest.approx(rate, rel=0.01, abs=1)  # the log's rate, not 25 million
        assert steps[table].figures["inserted"] == steps[table].rows
    page = client.get(sync.get_absolute_url()).content.decode()
    assert 'id="ho-sync-changes"' in page and 'data-table="fact_goals"' in page
    with psycopg.connect(warehouse) as conn:
        who = {r[0] for r in conn.execute("SELECT DISTINCT synced_by FROM hockeyops_sync_history")}
    assert who == {"sam"}
    scoped = create_run(build_plan(["sync"], target="warehouse", sync={"tables": ["fact_goals"], "games": [30001],
                                                                       "full_refresh": True}),
                        Run.Trigger.ADMIN, user=user)
    scoped.refresh_from_db()
    assert scoped.status == Run.Status.SUCCEEDED, scoped.error_summary
    per_game = scoped.figures["sync"]["tables"]["fact_goals"]["per_game"]
    assert list(per_game) == ["30001"] and per_game["30001"]["inserted"] == per_game["30001"]["deleted"] > 0
    assert "game 30001: +" in client.get(scoped.get_absolute_url()).content.decode()


def test_schema_refusal_tells_a_browser_user_what_to_tick():
    from etl.schema.apply import DestructiveChangeRefused
    from etl.schema.planner import Operation

    op = Operation(kind="drop_column", table="t", column="c", description="drop column t.c", statements=(),
                   destructive=True)
    text = str(DestructiveChangeRefused([op]))
    assert "1 destructive operation " in text and "“Allow destructive changes”" in text
