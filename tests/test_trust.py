"""Options you can trust (issue 9): each finding of the issue as a regression test, on real PostgreSQL.

1. a fresh clone's first command      -> test_a_fresh_var_folder_is_created_before_use
2. a games selection shrank the target -> test_one_game_etl_then_sync_keeps_every_game_in_the_target,
                                          test_api_full_mode_with_game_ids_keeps_every_other_game,
                                          test_a_selection_leaving_no_game_is_refused_everywhere
3. Enter started a full ETL            -> test_enter_previews_on_every_stage_page_and_the_job_form
4. the preview was not what ran        -> test_a_run_fails_naming_inputs_changed_after_planning,
                                          test_a_job_may_opt_in_to_re_planning
5. four vocabularies                   -> test_one_vocabulary_from_every_entry_point
6. typos and impossible schedules      -> test_job_options_reject_unknown_keys, test_impossible_schedules_are_refused
7. a killed CLI run blocked its target -> test_a_sigkilled_cli_sync_is_followed_by_one_that_completes,
                                          test_a_waiting_cli_says_whom_it_waits_for
8. sync preview missed refusals       -> test_a_sync_run_from_half_the_games_is_refused_and_changes_nothing,
                                          test_sync_preview_names_a_missing_referenced_table
                                          (the library's guard: tests/test_sync_guard.py)
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import psycopg
import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from jobs.models import Job, Run, TargetLease
from jobs.services.execute import execute_run
from jobs.services.plans import PlanError, build_plan
from jobs.services.runs import create_run, run_job
from tests.conftest import SAMPLE_HAZARD_STATUS, tracked_games
from tests.test_admin import login
from tests.worker import database_url

ROOT = Path(__file__).resolve().parent.parent


def execute(plan: dict, trigger: str = Run.Trigger.CLI) -> Run:
    run = create_run(plan, trigger, enqueue=False)
    execute_run(run.pk)
    run.refresh_from_db()
    return run


def games_in(url: str, table: str = "fact_events") -> list[int]:
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute(f"SELECT DISTINCT game_id FROM {table} ORDER BY 1").fetchall()]


def tracked(league: Path) -> list[int]:
    """The sample games the warehouse holds: tracked and usable (not the TEMPLATE or NO_WORKBOOK hazards)."""
    return sorted(int(g) for g in tracked_games(league) if g not in SAMPLE_HAZARD_STATUS)


def test_a_fresh_var_folder_is_created_before_use(tmp_path):
    fresh = tmp_path / "not" / "yet" / "var"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env.update(HOCKEYOPS_VAR_DIR=str(fresh), DJANGO_SETTINGS_MODULE="hockeyops.settings")
    done = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (fresh / "hockeyops.sqlite3").is_file()


@pytest.mark.django_db(transaction=True)
def test_one_game_etl_then_sync_keeps_every_game_in_the_target(warehouse, league):
    games = tracked(league)
    full = execute(build_plan(["etl", "schema", "sync"], target="warehouse"))
    assert full.status == Run.Status.SUCCEEDED, full.error_summary
    assert games_in(warehouse) == games
    one = execute(build_plan(["etl", "sync"], target="warehouse", etl={"games": [games[0]]}))
    assert one.status == Run.Status.SUCCEEDED, one.error_summary
    assert one.plan["etl"]["resolved"]["game_actions"][str(games[1])].startswith("reuse (not selected")
    assert games_in(warehouse) == games and games_in(warehouse, "fact_shifts") == games
    excluded = execute(build_plan(["etl", "sync"], target="warehouse", etl={"exclude_games": games[:2]}))
    assert excluded.status == Run.Status.SUCCEEDED, excluded.error_summary
    assert games_in(warehouse) == games


@pytest.mark.django_db(transaction=True)
def test_api_full_mode_with_game_ids_keeps_every_other_game(warehouse, league, client):
    from tests.test_api import post, token_for

    games = tracked(league)
    assert execute(build_plan(["etl", "schema", "sync"], target="warehouse")).status == Run.Status.SUCCEEDED
    raw = token_for("operator")
    response = post(client, "/api/etl/trigger", {"mode": "full", "game_ids": [games[-1]], "target": "warehouse",
                                                 "options": {"upload_to_supabase": True}}, raw)
    assert response.status_code == 202, response.json()
    run = Run.objects.get(pk=response.json()["job_id"])
    assert run.status == Run.Status.SUCCEEDED, run.error_summary
    assert games_in(warehouse) == games


@pytest.mark.django_db
def test_a_selection_leaving_no_game_is_refused_everywhere(run_dirs, league, client):
    from tests.test_api import post, token_for

    game = tracked(league)[0]
    with pytest.raises(PlanError, match=f"leaves no game: {game} is both chosen and excluded") as caught:
        build_plan(["etl"], etl={"games": [game], "exclude_games": [game]})
    assert caught.value.field == "games"
    with pytest.raises(CommandError, match="leaves no game"):
        call_command("etl", "--games", str(game), "--exclude-games", str(game), "--dry-run")
    response = post(client, "/api/etl/trigger", {"game_ids": [game], "exclude_game_ids": [game]},
                    token_for("operator"))
    assert response.status_code == 400 and response.json()["field"] == "game_ids"
    login(client, "olive", "operator")
    page = client.post(reverse("admin:jobs_run_etl"), {"games": [str(game)], "exclude_games": [str(game)],
                                                        "source": "excel", "mode": "full", "target": "embedded",
                                                        "collision": "queue", "_run": "Run"})
    assert page.status_code == 200 and not Run.objects.exists()
    assert "leaves no game" in str(page.context["form"].errors["games"])  # next to the field


class _FirstSubmit(HTMLParser):
    """The name of the first submit button inside the form with the given id (the button Enter presses)."""

    def __init__(self, form_id: str | None) -> None:
        super().__init__()
        self.form_id, self.inside, self.first = form_id, False, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (self.form_id is None or attrs.get("id") == self.form_id):
            self.inside = True
        elif tag == "input" and self.inside and attrs.get("type") == "submit" and self.first is None:
            self.first = attrs.get("name")

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False


def first_submit(html: str, form_id: str | None = None) -> str | None:
    parser = _FirstSubmit(form_id)
    parser.feed(html)
    return parser.first


@pytest.mark.django_db
def test_enter_previews_on_every_stage_page_and_the_job_form(client, run_dirs, league):
    login(client, "root", is_superuser=True)
    for name in ("admin:jobs_run_etl", "admin:jobs_run_sync"):
        assert first_submit(client.get(reverse(name)).content.decode(), "ho-stage-form") == "_preview", name
    assert first_submit(client.get(reverse("admin:jobs_run_schema")).content.decode(), "ho-stage-form") == "_plan"
    for url in (reverse("admin:jobs_job_add"),):
        assert first_submit(client.get(url).content.decode(), "job_form") == "_preview"
    # what Enter sends: the default button's name; a Job form previewed that way saves nothing
    response = client.post(reverse("admin:jobs_job_add"), {
        "name": "typed", "stages": ["etl"], "games": [str(tracked(league)[0])], "source": "excel", "mode": "full",
        "target_name": "embedded", "collision": "queue", "schedule": "", "sync_verify": "on", "_preview": "Preview"})
    assert response.status_code == 200 and "nothing has been saved" in response.content.decode()
    assert "ETL (full)" in response.content.decode() and not Job.objects.exists() and not Run.objects.exists()


def _edit(workbook: Path) -> None:
    book = load_workbook(workbook)
    sheet = book["shifts"]
    col = [c.value for c in sheet[1]].index("shift_stop_type") + 1
    sheet.cell(row=2, column=col, value="Away Icing")
    book.save(workbook)


@pytest.mark.django_db
def test_a_run_fails_naming_inputs_changed_after_planning(run_dirs, league, settings):
    game = tracked(league)[1]
    plan = build_plan(["etl"], etl={"games": [game]})
    workbook = league / "games" / str(game) / f"{game}_tracking.xlsx"
    _edit(workbook)
    run = execute(plan)
    assert run.status == Run.Status.FAILED
    assert f"The inputs changed after this run was planned: games/{game}/{game}_tracking.xlsx" in run.error_summary
    assert not Path(settings.HOCKEYOPS_OUTPUT_DIR).exists()  # nothing built or published
    fresh = execute(build_plan(["etl"], etl={"games": [game]}))  # planned again: runs
    assert fresh.status == Run.Status.SUCCEEDED, fresh.error_summary
    # the sync stage too: outputs changed after its preview
    sync = build_plan(["sync"], target="embedded")
    again = execute(build_plan(["etl"]))
    assert again.status == Run.Status.SUCCEEDED, again.error_summary
    run = execute(sync)
    assert run.status == Run.Status.FAILED and "The outputs changed after this sync was planned" in run.error_summary


@pytest.mark.django_db
def test_a_job_may_opt_in_to_re_planning(run_dirs, league):
    game = tracked(league)[0]
    job = Job.objects.create(name="replans", stages=["etl"], games=[game], replan=True)
    run = run_job(job, Run.Trigger.CLI, enqueue=False)
    _edit(league / "games" / str(game) / f"{game}_tracking.xlsx")
    execute_run(run.pk)
    run.refresh_from_db()
    assert run.status == Run.Status.SUCCEEDED, run.error_summary
    assert run.logs.filter(message__contains="planning again, as the Job allows").exists()


@pytest.mark.django_db
def test_one_vocabulary_from_every_entry_point(run_dirs, league, capsys, client):
    from jobs.requests import EtlRequest, SyncRequest
    from tests.test_api import post, token_for

    a, b, *_ = tracked(league)
    call_command("etl", "--games", f"{a},{b}", "--dry-run")  # commas, as every list
    out = capsys.readouterr().out
    assert f"{a}: build" in out and f"{b}: build" in out
    with pytest.raises(CommandError, match=r"--games: '18969.5' is not a game number"):
        call_command("etl", "--games", "18969.5", "--dry-run")
    assert EtlRequest.from_dict({"games": f"{a} {b}", "tables": "dims, fact_goals"}) == \
        EtlRequest.from_dict({"games": [a, str(b)], "tables": ["dims", "fact_goals"]})
    # the sync endpoint: the league's words map onto the one request
    body = {"pattern": "fact_player*", "exclude_tables": "fact_player_game_stats", "dry_run": True, "patern": "x"}
    response = post(client, "/api/upload/to-supabase", body, token_for("operator"))
    assert response.status_code == 400 and response.json()["field"] == "patern"
    assert SyncRequest.from_dict({"tables": ["fact_player*"], "exclude_tables": ["fact_player_game_stats"]}).tables == \
        ("fact_player*",)


@pytest.mark.django_db
def test_job_options_reject_unknown_keys(run_dirs):
    job = Job(name="typo", stages=["sync"], sync_options={"patern": "fact_player*"})
    with pytest.raises(ValidationError, match="unknown sync option 'patern'"):
        job.full_clean()
    job.save()  # stored by something that skipped validation: it is refused when planned, never widened
    with pytest.raises(PlanError, match="unknown sync option 'patern'"):
        run_job(job, Run.Trigger.CLI, enqueue=False)
    assert not Run.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("cron,words", [("61 * * * *", "'61', not in 0-59 for Minutes"),
                                        ("a b c d e", "No enumeration for Minutes"),
                                        ("0 3 * *", "five fields")])
def test_impossible_schedules_are_refused(client, run_dirs, cron, words):
    from django_celery_beat.models import PeriodicTask

    login(client, "root", is_superuser=True)
    response = client.post(reverse("admin:jobs_job_add"), {
        "name": "nightly", "stages": ["etl"], "source": "excel", "mode": "full", "target_name": "embedded",
        "collision": "queue", "schedule": cron, "sync_verify": "on", "_save": "Save"})
    assert response.status_code == 200
    assert words in " ".join(response.context["adminform"].form.errors["schedule"])  # next to the field
    assert not Job.objects.exists() and not PeriodicTask.objects.filter(name__startswith="hockeyops").exists()


def _cli(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "manage.py", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def _cli_env(tmp_path: Path, warehouse: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "CELERY_"))}
    env.update(DJANGO_SETTINGS_MODULE="hockeyops.settings", DATABASE_URL=database_url(), PYTHONUNBUFFERED="1",
               HOCKEYOPS_TARGET_WAREHOUSE_URL=warehouse, HOCKEYOPS_VAR_DIR=str(tmp_path / "var"),
               HOCKEYOPS_ARTIFACTS_DIR=str(tmp_path / "artifacts"), HOCKEYOPS_RUNS_DIR=str(tmp_path / "runs"))
    return env


@pytest.mark.django_db(transaction=True)
def test_a_sigkilled_cli_sync_is_followed_by_one_that_completes(warehouse, league, settings, tmp_path):
    from etl.writer_lock import lock_key

    assert execute(build_plan(["etl", "schema"], target="warehouse")).status == Run.Status.SUCCEEDED
    env = _cli_env(tmp_path, warehouse)
    args = ["sync", "--target", "warehouse", "--output-dir", str(settings.HOCKEYOPS_OUTPUT_DIR)]
    with psycopg.connect(warehouse, autocommit=True) as blocker:  # keeps the first sync waiting inside its Run
        blocker.execute("SELECT pg_advisory_lock(%s)", (lock_key(),))
        first = _cli(args, env)
        deadline = time.monotonic() + 60
        while not TargetLease.objects.filter(place__startswith="db:").exists():
            assert time.monotonic() < deadline and first.poll() is None, first.stdout.read()
            time.sleep(0.2)
        killed = TargetLease.objects.get(place__startswith="db:").run
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
    second = _cli(args, env)
    out, _ = second.communicate(timeout=180)
    assert second.returncode == 0, out
    killed.refresh_from_db()
    assert killed.status == Run.Status.FAILED and "worker lost" in killed.error_summary
    assert "is no longer running" in killed.error_summary
    assert Run.objects.filter(status=Run.Status.SUCCEEDED, plan__stages=["sync"]).exists()
    assert not TargetLease.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_waiting_cli_says_whom_it_waits_for(warehouse, league, settings, tmp_path):
    from jobs.services.locking import places_of, process_token

    holder = create_run(build_plan(["schema"], target="warehouse"), Run.Trigger.ADMIN, enqueue=False)
    Run.objects.filter(pk=holder.pk).update(status=Run.Status.RUNNING)
    for place in places_of(holder, lambda name: warehouse):
        TargetLease.objects.create(place=place, target_name="warehouse", run=holder, holder=process_token(),
                                   heartbeat_at=timezone.now())
    proc = _cli(["schema", "apply", "--target", "warehouse"], _cli_env(tmp_path, warehouse))
    seen: list[str] = []
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            seen.append(line)
            if len([s for s in seen if f"waiting for Run #{holder.pk}" in s]) >= 2:
                break
            TargetLease.objects.filter(run=holder).update(heartbeat_at=timezone.now())  # the holder is alive
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    waits = [s for s in seen if f"waiting for Run #{holder.pk}" in s]
    assert len(waits) >= 2, "".join(seen)
    assert re.search(r"schema running; trigger admin; last heartbeat \d+ s ago from ", waits[0])
    holder.refresh_from_db()
    assert holder.status == Run.Status.RUNNING  # a live holder keeps its lease


def test_readme_documents_the_outside_vocabulary():
    from jobs.requests import OUTSIDE_NAMES

    readme = (ROOT / "README.md").read_text()
    section = readme.split("### One request vocabulary", 1)[1].split("\n## ", 1)[0]
    for stage, fields in OUTSIDE_NAMES.items():
        for field, names in fields.items():
            row = f"| {stage} | `{field}` | `{names['cli']}` | `{names['api']}` | `{names['admin']}` |"
            assert row in section, row



@pytest.mark.django_db(transaction=True)
def test_a_sync_run_from_half_the_games_is_refused_and_changes_nothing(warehouse, league, settings, tmp_path, client):
    from tests.test_sync_guard import exact

    games = tracked(league)
    assert execute(build_plan(["etl", "schema", "sync"], target="warehouse")).status == Run.Status.SUCCEEDED
    before = exact(warehouse)
    half = tmp_path / "half"
    for folder in sorted((league / "games").iterdir())[3:]:
        shutil.rmtree(folder)
    assert execute(build_plan(["etl"], etl={"output_dir": str(half)})).status == Run.Status.SUCCEEDED
    login(client, "olive", "operator")
    settings.HOCKEYOPS_OUTPUT_DIR = half  # the Sync page syncs the configured outputs
    preview = client.post(reverse("admin:jobs_run_sync"), {"target": "warehouse", "collision": "queue",
                                                           "verify": "on", "_preview": "Preview"})
    page = preview.content.decode()
    assert 'id="ho-sync-warnings"' in page and "REFUSED unless allowed" in page
    assert f"games {', '.join(map(str, games[3:]))} would disappear" in page and "ho-shrinking" in page

    run = execute(build_plan(["sync"], target="warehouse", sync={"output_dir": str(half)}))
    assert run.status == Run.Status.FAILED
    assert "fact_events" in run.error_summary and str(games[-1]) in run.error_summary
    assert run.steps.get(unit="fact_events").status == "failed"  # the refusing tables' steps, not "pending"
    assert not run.steps.filter(status="pending").exists()
    assert exact(warehouse) == before  # byte for byte, and no history row

    allowed = execute(build_plan(["sync"], target="warehouse", sync={"output_dir": str(half), "allow_shrink": True}))
    assert allowed.status == Run.Status.SUCCEEDED, allowed.error_summary
    assert games_in(warehouse) == games[:3]


@pytest.mark.django_db(transaction=True)
def test_sync_preview_names_a_missing_referenced_table(warehouse, league, settings, client):
    assert execute(build_plan(["etl", "schema"], target="warehouse")).status == Run.Status.SUCCEEDED
    login(client, "olive", "operator")
    form = {"table_patterns": "fact_player*", "exclude_tables": ["fact_player_season_stats_basic"],
            "target": "warehouse", "collision": "queue", "verify": "on"}
    page = client.post(reverse("admin:jobs_run_sync"), {**form, "_preview": "Preview"}).content.decode()
    assert "references" in page and "dim_player" in page and "REFUSED" in page
    run = execute(build_plan(["sync"], target="warehouse",
                             sync={"tables": ["fact_player*"], "exclude_tables": ["fact_player_season_stats_basic"]}))
    assert run.status == Run.Status.FAILED and "dim_player" in run.error_summary
    assert run.steps.get(unit="fact_player_game_stats").status == "failed"
    assert not run.logs.filter(message__contains="inserted").exists()  # nothing reported as written


@pytest.mark.django_db
def test_sync_page_saves_its_request_as_a_job(client, run_dirs):
    login(client, "olive", "operator")
    missing = client.post(reverse("admin:jobs_run_sync"), {"target": "embedded", "collision": "queue",
                                                           "_preview": "Preview"})
    assert "does not exist; run the ETL first" in str(missing.context["form"].non_field_errors())
    assert execute(build_plan(["etl"])).status == Run.Status.SUCCEEDED
    response = client.post(reverse("admin:jobs_run_sync"), {
        "table_patterns": "fact_player*", "exclude_tables": ["fact_player_season_stats_basic"], "verify": "on",
        "allow_shrink": "on", "target": "embedded", "collision": "queue", "job_name": "player sync",
        "_save_job": "Save as Job"})
    job = Job.objects.get(name="player sync")
    assert response.status_code == 302 and job.stages == ["sync"]
    assert job.sync_request().tables == ("fact_player*",) and job.sync_request().allow_shrink
    assert job.sync_options["exclude_tables"] == ["fact_player_season_stats_basic"]


def test_lists_are_bounded_so_a_plan_stays_small(run_dirs, league):
    from jobs.requests import MAX_GAMES, EtlRequest, RequestError

    with pytest.raises(RequestError, match=f"more than the {MAX_GAMES:,} one list may hold") as caught:
        EtlRequest.from_dict({"exclude_games": list(range(1, 200_001))})
    assert caught.value.field == "exclude_games"
