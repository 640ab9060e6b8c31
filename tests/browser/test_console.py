"""The console in a real browser (Playwright + Debian's Chromium) against the live server and a real Celery
worker: what a league data manager does, step by step, with a screenshot of each under var/screenshots/."""
from __future__ import annotations

import re

import psycopg
import pytest

from tests import worker as worker_fixtures
from tests.test_sync import read_table, write_table
from tests.worker import wait_for

celery_worker_proc = worker_fixtures.celery_worker_proc
celery_worker_available = worker_fixtures.celery_worker_available
pytestmark = pytest.mark.django_db(transaction=True)
GAMES = ["30001", "30002"]
SUCCEEDED = ".field-status_display .ho-status-succeeded"


def make_user(name: str, *groups: str):
    from django.contrib.auth.models import User

    from jobs.groups import ensure_groups

    user = User.objects.create_user(name, password="pw-" + name, is_staff=True)
    for group in groups:
        user.groups.add(ensure_groups()[group])
    return user


def log_in(page, base: str, name: str) -> None:
    page.goto(base + "/admin/login/?next=/admin/")
    page.fill("#id_username", name)
    page.fill("#id_password", "pw-" + name)
    page.click("input[type=submit]")
    page.wait_for_url(base + "/admin/")


def run_id(page) -> int:
    return int(re.search(r"/admin/jobs/run/(\d+)/change/", page.url).group(1))


def wait_succeeded(page, timeout: float = 120_000) -> None:
    """The live page reloads itself when the Run ends: wait for the final badge."""
    page.wait_for_selector(f"{SUCCEEDED}, .field-status_display .ho-status-failed", timeout=timeout)
    assert page.locator(SUCCEEDED).count(), page.locator(".field-error_summary").inner_text()


def test_console_walkthrough(warehouse, celery_worker_proc, live_server, new_page, shots):
    from jobs.models import Run
    from jobs.services.plans import build_plan
    from jobs.services.runs import create_run

    base = live_server.url
    make_user("olive", "operator", "schema admin")
    make_user("vic", "viewer")
    page = new_page()
    log_in(page, base, "olive")

    # the branded index: its own header, the console block, "View site" leading to the console
    assert "hockeyops" in page.locator("#site-name").inner_text()
    assert "Django administration" not in page.content()
    assert page.locator(".ho-console a", has_text="Data quality").count() == 1
    shots(page, "index")
    page.click("#user-tools a:has-text('View site')")
    page.wait_for_url(base + "/admin/")

    # schema: plan (summary first), then apply as a Run whose counts are operations
    page.goto(base + "/admin/jobs/run/schema/")
    page.select_option("select[name=target]", "warehouse")
    page.click("#ho-plan")
    summary = page.locator("#ho-plan-summary")
    assert re.search(r"\d+ operations?:", summary.inner_text())
    assert summary.bounding_box()["y"] < page.locator("#ho-operations").bounding_box()["y"]
    assert "--allow-destructive" not in page.content()
    shots(page, "schema-plan")
    page.click("#ho-apply")
    wait_succeeded(page)
    assert "operations" in page.locator(".field-rows_display").inner_text()
    assert page.locator("#ho-steps", has_text="operation").count()
    shots(page, "schema-applied")

    # Run ETL: Enter in a filter box previews, it never starts anything
    before = Run.objects.count()
    page.goto(base + "/admin/jobs/run/run-etl/")
    box = page.locator(".field-games input[type=search]")
    box.fill("30001")
    box.press("Enter")
    page.wait_for_load_state()
    assert Run.objects.count() == before
    shots(page, "etl-enter-in-filter")
    page.goto(base + "/admin/jobs/run/run-etl/")
    page.select_option("select[name=games]", GAMES)
    page.click("#ho-preview-button")
    assert "nothing has been written" in page.locator("#ho-preview").inner_text()
    assert Run.objects.count() == before
    shots(page, "etl-preview")
    page.click("#ho-run")
    page.wait_for_url(re.compile(r"/admin/jobs/run/\d+/change/"))
    shots(page, "etl-live")
    wait_succeeded(page)
    etl_id = run_id(page)
    log = page.locator("#ho-log").inner_text()
    for game in GAMES:
        assert re.search(rf"game {game}: [\d,]+ rows? in [\d.]+s", log), log
    assert page.locator("svg.ho-gantt rect").count() >= 4
    assert page.locator("#ho-table-counts tr.ho-count-row").count() > 10
    assert page.locator("#ho-steps tr", has_text="publish").inner_text().count("0 rows") == 0
    shots(page, "etl-succeeded")

    # the data-quality page of these outputs
    page.click("#ho-quality-link")
    assert page.locator("#ho-games-by-status svg.ho-bars").count() == 1
    assert page.locator("#ho-games tbody tr").count() >= len(GAMES)  # and games without a workbook
    assert page.locator("#ho-goals tbody tr").count() >= 2
    shots(page, "data-quality")
    page.click("#ho-games a.ho-game-link >> nth=0")
    assert "Showing game" in page.locator("#ho-quality-intro").inner_text()
    shots(page, "data-quality-one-game")

    # sync: run it, see what it changed per table
    page.goto(base + "/admin/jobs/run/sync/")
    page.select_option("select[name=target]", "warehouse")
    page.click("#ho-run")
    page.wait_for_url(re.compile(r"/admin/jobs/run/\d+/change/"))
    wait_succeeded(page)
    changes = page.locator("#ho-sync-changes")
    assert changes.locator("tr.ho-change-row").count() > 10
    assert "inserted" in changes.inner_text().lower()
    shots(page, "sync-succeeded")
    from django.db import connections  # noqa: F401 - the target's history names the person, not the DB role

    with psycopg.connect(warehouse) as conn:  # the target's history names the person, not the database role
        who = {r[0] for r in conn.execute("SELECT DISTINCT synced_by FROM hockeyops_sync_history")}
    assert who == {"olive"}

    # a sync preview flags a table that would shrink
    out = celery_worker_proc.output_dir
    rows = read_table(out, "fact_events")
    write_table(out, "fact_events", [r for i, r in enumerate(rows) if i % 4])
    page.goto(base + "/admin/jobs/run/sync/")
    page.select_option("select[name=target]", "warehouse")
    page.check("input[name=full_refresh]")
    page.click("#ho-preview-button")
    assert page.locator("#ho-sync-warnings").count() == 1
    assert page.locator("tr.ho-shrinking", has_text="fact_events").count() == 1
    shots(page, "sync-preview-shrinking")

    # the Runs list: stages, who, duration, rows; nothing cut off at 1400 px
    Run.objects.filter(pk=etl_id).update(error_summary="A long error summary, " * 20)  # the widest cell there is
    page.goto(base + "/admin/jobs/run/")
    assert page.locator("#result_list tbody tr").count() >= 3
    assert page.evaluate("document.documentElement.scrollWidth") <= 1400
    assert page.evaluate("(() => { const r = document.querySelector('.results'); "
                         "return r.scrollWidth <= r.clientWidth; })()")  # no column scrolled out of sight
    created = page.locator("#result_list td.field-created_display").first
    assert created.bounding_box()["x"] + created.bounding_box()["width"] <= 1400
    assert re.search(r"\d{2}:\d{2}:\d{2}", created.inner_text())
    shots(page, "runs-list-all")
    page.goto(base + "/admin/jobs/run/?stage=etl")
    assert page.locator("#result_list tbody tr").count() == 1
    shots(page, "runs-list")

    # Cancel asks first and records who; Retry links parent and child and is offered no more
    queued = create_run(build_plan(["etl"], etl={"games": [30001], "tables": ["dim_team"]}), Run.Trigger.CLI,
                        enqueue=False)
    page.goto(base + f"/admin/jobs/run/{queued.pk}/change/")
    page.click("#ho-cancel")
    assert "Cancel Run" in page.locator("h1").inner_text()
    shots(page, "cancel-confirm")
    page.click("#ho-confirm-cancel")
    page.wait_for_selector(".field-status_display .ho-status-cancelled")
    assert "olive" in page.locator(".field-cancelled_by").inner_text()
    shots(page, "cancelled")
    page.click("#ho-retry")
    page.wait_for_selector("#ho-retried-as")
    assert page.locator("#ho-retry").count() == 0
    child = Run.objects.get(parent=queued)
    wait_for(lambda: Run.objects.get(pk=child.pk).is_terminal, 90, what="the retry to finish")
    shots(page, "retried")
    page.click("#ho-retried-as")
    wait_succeeded(page)
    assert f"Retry of Run #{queued.pk}" in page.locator(".field-retry_links").inner_text()
    shots(page, "retry-succeeded")

    # a viewer: may preview an ETL, is refused Cancel with a readable page
    other = create_run(build_plan(["etl"], etl={"games": [30001], "tables": ["dim_team"]}), Run.Trigger.CLI,
                       enqueue=False)
    viewer = new_page()
    log_in(viewer, base, "vic")
    viewer.goto(base + "/admin/jobs/run/run-etl/")
    viewer.click("#ho-preview-button")
    assert viewer.locator("#ho-preview").count() == 1 and viewer.locator("#ho-run").count() == 0
    shots(viewer, "viewer-preview")
    response = viewer.goto(base + f"/admin/jobs/run/{other.pk}/cancel/")
    assert response.status == 403
    assert "Can run ETL" in viewer.locator("#ho-refused").inner_text()
    shots(viewer, "viewer-refused")
    assert Run.objects.get(pk=other.pk).status == Run.Status.QUEUED
    assert etl_id
