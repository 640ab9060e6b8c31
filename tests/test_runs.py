"""Runs without servers: planning, in-process execution, conditional transitions, retry, leases, reaping."""
from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone

from jobs.models import Job, Run, RunStep, TargetLease
from jobs.services import locking
from jobs.services import runs as run_services
from jobs.services.execute import execute_run
from jobs.services.maintenance import reap_runs
from jobs.services.plans import PlanError, build_plan
from jobs.services.schedules import sync_schedule

pytestmark = pytest.mark.django_db(transaction=True)
S = Run.Status


@pytest.fixture(autouse=True)
def dirs(run_dirs):
    return run_dirs


def small_plan(**etl):
    return build_plan(["etl"], etl={"games": [30001, 30002], "tables": ["fact_goals", "dim_team",
                                                                          "qa_goal_verification"], **etl})


def test_plan_freezes_requested_and_resolved_options():
    plan = small_plan()
    assert plan["stages"] == ["etl"] and plan["target"] == "embedded"
    assert plan["etl"]["resolved"]["games"] == [30001, 30002]
    assert plan["etl"]["resolved"]["tables"] == ["dim_team", "fact_goals", "qa_goal_verification"]
    assert "fact_events" in plan["etl"]["resolved"]["build"]
    assert plan["etl"]["units"] == ["master", "game 30001", "game 30002", "publish"]
    assert "URL" not in json.dumps(plan).upper().replace("URL_ENV", "")


@pytest.mark.parametrize("kwargs, message", [
    ({"stages": ["etl"], "etl": {"tables": ["nope"]}}, "no table or mode called 'nope'"),
    ({"stages": ["etl"], "etl": {"games": [1]}}, "Game 1"),
    ({"stages": [], "etl": {}}, "at least one stage"),
    ({"stages": ["etl"], "etl": {}, "target": "prod"}, "no target called 'prod'"),
])
def test_bad_requests_are_plan_errors_naming_the_problem(kwargs, message):
    with pytest.raises(PlanError, match=message):
        build_plan(**kwargs)


def test_in_process_run_records_steps_logs_progress_and_artifacts():
    with transaction.atomic():
        run = run_services.create_run(small_plan(), Run.Trigger.ADMIN)
    run.refresh_from_db()
    assert run.status == S.SUCCEEDED and run.percent == 100.0
    assert run.started_at and run.finished_at and run.worker_host and run.code_version
    steps = {s.unit: s for s in run.steps.all()}
    assert set(steps) == {"master", "game 30001", "game 30002", "publish"}
    assert all(s.status == RunStep.Status.SUCCEEDED for s in steps.values())
    assert steps["game 30001"].rows > 0
    assert run.logs.filter(message__startswith="ETL full").exists()
    names = set(run.artifacts.values_list("name", flat=True))
    assert names == {"manifest.json", "run.log"}
    manifest = json.loads(Path(run.artifacts.get(name="manifest.json").path).read_text())
    assert sorted(manifest["tables"]) == ["dim_team", "fact_goals", "qa_goal_verification"]
    assert not TargetLease.objects.exists()


def test_terminal_states_never_change_and_redelivery_does_nothing():
    with transaction.atomic():
        run = run_services.create_run(small_plan(), Run.Trigger.ADMIN)
    run.refresh_from_db()
    started = run.started_at
    assert run_services.transition(run.pk, [S.QUEUED, S.RUNNING], S.CANCELLED) is False
    assert execute_run(run.pk) == S.SUCCEEDED
    run.refresh_from_db()
    assert run.started_at == started and run.status == S.SUCCEEDED
    assert run_services.cancel_run(run) == "finished"


def test_cancel_of_a_queued_run_is_final():
    run = run_services.create_run(small_plan(), Run.Trigger.ADMIN, enqueue=False)
    assert run_services.cancel_run(run) == "cancelled"
    assert execute_run(run.pk) == S.CANCELLED
    run.refresh_from_db()
    assert run.started_at is None


def test_failed_run_and_retry_redo_only_unfinished_units(dirs):
    plan = small_plan()
    bad = dict(plan)
    bad["etl"] = {**plan["etl"], "options": {**plan["etl"]["options"], "data_dir": str(dirs / "missing")}}
    with transaction.atomic():
        run = run_services.create_run(bad, Run.Trigger.ADMIN)
    run.refresh_from_db()
    assert run.status == S.FAILED and "data folder does not exist" in run.error_summary
    RunStep.objects.filter(run=run, unit="master").update(status=RunStep.Status.SUCCEEDED)
    run.plan = plan  # the volunteer fixed the folder
    run.save(update_fields=["plan"])
    with transaction.atomic():
        child = run_services.retry_run(run)
    child.refresh_from_db()
    assert child.parent_id == run.pk and child.trigger == Run.Trigger.RETRY
    assert child.plan["etl"]["units"] == ["game 30001", "game 30002", "publish"]
    assert child.status == S.SUCCEEDED
    with pytest.raises(ValueError, match="only failed or cancelled"):
        run_services.retry_run(child)


def test_skip_policy_when_the_target_is_busy():
    holder = run_services.create_run(small_plan(), Run.Trigger.ADMIN, enqueue=False)
    Run.objects.filter(pk=holder.pk).update(status=S.RUNNING)
    for place in locking.places_of(holder, lambda name: ""):
        TargetLease.objects.create(place=place, target_name="embedded", run=holder)
    second = run_services.create_run(small_plan(), Run.Trigger.ADMIN, enqueue=False, collision="skip")
    assert execute_run(second.pk) == S.SKIPPED
    second.refresh_from_db()
    assert f"Run #{holder.pk}" in second.error_summary and second.waiting_for_id == holder.pk
    # a lease held by a finished run is stale and taken over
    Run.objects.filter(pk=holder.pk).update(status=S.FAILED)
    third = run_services.create_run(small_plan(), Run.Trigger.ADMIN, enqueue=False, collision="skip")
    assert execute_run(third.pk) == S.SUCCEEDED


def test_reaper_fails_runs_whose_worker_vanished():
    run = run_services.create_run(small_plan(), Run.Trigger.ADMIN, enqueue=False)
    old = timezone.now() - timedelta(minutes=5)
    Run.objects.filter(pk=run.pk).update(status=S.RUNNING, heartbeat_at=old, worker_host="w1:42")
    TargetLease.objects.create(place="output:/somewhere", target_name="embedded", run=run)
    result = reap_runs(lost_after=60, requeue_after=3600)
    run.refresh_from_db()
    assert result["lost"] == [run.pk]
    assert run.status == S.FAILED and run.error_summary.startswith("worker lost")
    assert not TargetLease.objects.exists()


def test_reaper_requeues_runs_no_worker_picked_up():
    run = run_services.create_run(small_plan(), Run.Trigger.ADMIN, enqueue=False)
    Run.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(hours=1))
    assert reap_runs(lost_after=60, requeue_after=60)["requeued"] == [run.pk]
    run.refresh_from_db()
    assert run.status == S.SUCCEEDED  # eager: the re-sent task ran it


def test_job_schedule_is_kept_in_step_with_beat():
    job = Job.objects.create(name="nightly", stages=["etl"], schedule="0 3 * * *")
    task = sync_schedule(job)
    assert task.task == "jobs.tasks.run_scheduled_job" and json.loads(task.args) == [job.pk]
    assert (task.crontab.minute, task.crontab.hour) == ("0", "3") and task.enabled
    job.enabled = False
    sync_schedule(job)
    task.refresh_from_db()
    assert task.enabled is False
    job.schedule = ""
    sync_schedule(job)
    job.refresh_from_db()
    assert job.periodic_task is None
    with pytest.raises(ValueError, match="five fields"):
        job.schedule = "daily"
        sync_schedule(job)


def test_scheduled_task_creates_a_schedule_run():
    from jobs.tasks import run_scheduled_job

    job = Job.objects.create(name="nightly", stages=["etl"], games=[30001], tables=["dim_team"])
    run_id = run_scheduled_job(job.pk)
    run = Run.objects.get(pk=run_id)
    assert run.trigger == Run.Trigger.SCHEDULE and run.job == job and run.status == S.SUCCEEDED


def test_cli_commands_record_runs(capsys, dirs):
    call_command("etl", "--games", "30001", "--tables", "dim_team", "fact_goals")
    run = Run.objects.get()
    assert run.trigger == Run.Trigger.CLI and run.status == S.SUCCEEDED
    Job.objects.create(name="goals", stages=["etl"], games=[30002], tables=["fact_goals"])
    call_command("run_job", "goals", "--wait")
    assert Run.objects.filter(job__name="goals", trigger=Run.Trigger.CLI, status=S.SUCCEEDED).count() == 1
    with pytest.raises(CommandError, match="no Job called 'nope'"):
        call_command("run_job", "nope")
    with pytest.raises(CommandError, match="no table or mode called 'fact_gaols'"):
        call_command("etl", "--tables", "fact_gaols")
    call_command("etl", "--dry-run", "--games", "30001")
    assert "ETL plan" in capsys.readouterr().out
    assert Run.objects.count() == 2
