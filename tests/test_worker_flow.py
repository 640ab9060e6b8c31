"""End-to-end Run execution on a real Celery worker (Redis broker, PostgreSQL test database).

Skipped without Redis or PostgreSQL (failed instead when CI is set); see tests/worker.py. Runs over the
40-game league fan out to per-game tasks (default HOCKEYOPS_FANOUT_MIN_GAMES=8), as in production.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path

import pytest

from tests import worker as worker_fixtures
from tests.worker import CeleryWorker, wait_for

celery_worker_proc = worker_fixtures.celery_worker_proc
celery_worker_available = worker_fixtures.celery_worker_available
pytestmark = pytest.mark.django_db(transaction=True)
GAMES_40 = 40


# -- data shared by the module -------------------------------------------------------------------


@pytest.fixture(scope="session")
def league40(celery_worker_available, tmp_path_factory) -> Path:
    """A generated 40-game league (a run over it takes several seconds)."""
    from samples.league import generate_league

    path = tmp_path_factory.mktemp("league40") / "league"
    generate_league(path, games=GAMES_40, seed=3, hazards=False)  # exactly GAMES_40 clean games to fan out
    return path


@pytest.fixture(scope="session")
def reference40(league40: Path, tmp_path_factory) -> Path:
    """Outputs of a plain in-process run_etl over the 40-game league (all tables)."""
    from etl.pipeline import EtlOptions, run_etl

    out = tmp_path_factory.mktemp("reference40") / "output"
    run_etl(EtlOptions(data_dir=str(league40), output_dir=str(out)))
    return out


# -- helpers -------------------------------------------------------------------------------------


def submit(data_dir: Path, output_dir: Path, collision: str = "queue", **etl):
    """Plan and queue an ETL run on the embedded target (sent to the worker on commit)."""
    from jobs.models import Run
    from jobs.services.plans import build_plan
    from jobs.services.runs import create_run

    plan = build_plan(["etl"], etl={"data_dir": str(data_dir), "output_dir": str(output_dir), **etl},
                      target="embedded")
    return create_run(plan, Run.Trigger.API, collision=collision)


def fresh(run_id: int):
    from jobs.models import Run

    return Run.objects.get(pk=run_id)


def wait_status(run_id: int, statuses, timeout: float):
    statuses = {statuses} if isinstance(statuses, str) else set(statuses)
    return wait_for(lambda: (r := fresh(run_id)).status in statuses and r, timeout, interval=0.05,
                    what=f"Run #{run_id} to be {'/'.join(sorted(statuses))}")


def wait_terminal(run_id: int, timeout: float = 90):
    from jobs.models import Run

    return wait_status(run_id, Run.TERMINAL, timeout)


def games_done(run_id: int) -> int:
    from jobs.models import RunStep

    return RunStep.objects.filter(run_id=run_id, unit__startswith="game ", status=RunStep.Status.SUCCEEDED).count()


def file_hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def table_digests(folder: Path) -> dict[str, tuple[int, str]]:
    tables = json.loads((folder / "manifest.json").read_text())["tables"]
    return {name: (info["rows"], info["sha256"]) for name, info in tables.items()}


def watch_parts(child, parent_parts: dict[str, int], runs_dir: Path, stop_on_rebuild: bool = False):
    """Follow a retry until it ends: parent parts seen hard-linked into it, and ones seen replaced."""
    folder = runs_dir / str(child.pk) / "parts"
    linked: set[str] = set()
    rebuilt: set[str] = set()

    def done():
        for name, inode in parent_parts.items():
            try:
                same = (folder / name).stat().st_ino == inode
            except FileNotFoundError:
                continue
            (linked if same else rebuilt).add(name)
        child.refresh_from_db()
        return child.is_terminal or (stop_on_rebuild and rebuilt)

    wait_for(done, 120, interval=0.02, what=f"Run #{child.pk}")
    return linked, rebuilt


def seeded_output(reference: Path, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """An output folder holding an earlier successful run's outputs, and their file hashes."""
    out = tmp_path / "output"
    shutil.copytree(reference, out)
    return out, file_hashes(out)


# -- tests ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("games", [
    pytest.param([30001], id="one-game"),
    pytest.param([30001, 30002], id="two-games"),
])
def test_run_succeeds_on_worker_and_redelivery_does_nothing(celery_worker_proc: CeleryWorker, league: Path,
                                                            tmp_path: Path, games: list[int]):
    from jobs.models import RunStep
    from jobs.tasks import execute_run_task

    worker = celery_worker_proc
    out = tmp_path / "output"
    tables = ["fact_goals", "dim_team", "qa_game_completeness"]
    run = submit(league, out, games=games, tables=tables)
    run = wait_terminal(run.pk, 60)

    assert run.status == "succeeded", run.error_summary
    units = ["master", *(f"game {g}" for g in games), "publish"]
    assert run.percent == 100.0 and run.units_done == run.units_total == len(units)
    assert run.worker_host and not run.worker_host.endswith(f":{os.getpid()}")  # executed by the worker
    assert worker.task_result(run.celery_task_id) == "succeeded"
    assert dict(run.steps.values_list("unit", "status")) == {u: RunStep.Status.SUCCEEDED for u in units}
    messages = list(run.logs.values_list("message", flat=True))
    assert "Run succeeded." in messages and any(m.startswith("published 3 tables") for m in messages)
    manifest = json.loads((out / "manifest.json").read_text())
    assert sorted(manifest["tables"]) == sorted(tables) and manifest["games"].keys() == {str(g) for g in games}
    artifact = run.artifacts.get(name="manifest.json")
    assert Path(artifact.path).read_bytes() == (out / "manifest.json").read_bytes()
    assert artifact.size == (out / "manifest.json").stat().st_size

    before = (run.started_at, run.finished_at, run.heartbeat_at, run.logs.count(), file_hashes(out))
    again = execute_run_task.apply_async(args=[run.pk])
    assert worker.task_result(again.id) == "succeeded"
    run.refresh_from_db()
    assert run.status == "succeeded"
    assert (run.started_at, run.finished_at, run.heartbeat_at, run.logs.count(), file_hashes(out)) == before


def test_killed_worker_is_reaped_and_retry_reuses_parts(celery_worker_proc: CeleryWorker, league40: Path,
                                                         reference40: Path, tmp_path: Path):
    from jobs.models import RunStep, TargetLease
    from jobs.services.maintenance import reap_runs
    from jobs.services.runs import retry_run

    worker = celery_worker_proc
    out, previous = seeded_output(reference40, tmp_path)
    run = submit(league40, out)
    parts = worker.runs_dir / str(run.pk) / "parts"
    wait_for(lambda: len(list(parts.glob("game_*.pkl"))) >= 5, 90, interval=0.05, what="five games built")
    assert fresh(run.pk).status == "running"
    assert run.pk not in reap_runs(lost_after=3)["lost"]  # a live worker keeps its heartbeat fresh

    worker.kill()
    killed = time.monotonic()
    parent_parts = {p.name: p.stat().st_ino for p in parts.glob("game_*.pkl")}
    wait_for(lambda: run.pk in reap_runs(lost_after=3)["lost"], 120, interval=0.5, what="the reaper")
    assert time.monotonic() - killed >= 2  # only once the heartbeat is stale

    run = fresh(run.pk)
    assert run.status == "failed" and "worker lost" in run.error_summary
    assert not RunStep.objects.filter(run=run, status=RunStep.Status.RUNNING).exists()
    assert not TargetLease.objects.exists()
    assert file_hashes(out) == previous  # manifest.json and every table byte-identical
    done_in_parent = set(run.steps.filter(status=RunStep.Status.SUCCEEDED).values_list("unit", flat=True))
    assert "publish" not in done_in_parent

    worker.start()
    child = retry_run(run)
    linked, _ = watch_parts(child, parent_parts, worker.runs_dir)
    assert child.status == "succeeded", child.error_summary
    assert child.parent_id == run.pk and child.plan["etl"]["reuse_parts_of"] == run.pk
    assert linked == set(parent_parts)  # every part the killed run finished was handed to the retry
    assert set(child.steps.values_list("unit", flat=True)) == set(run.plan["etl"]["units"]) - done_in_parent
    assert table_digests(out) == table_digests(reference40)
    assert fresh(run.pk).status == "failed"


def test_retry_keeps_the_parts_of_the_parent(celery_worker_proc: CeleryWorker, league40: Path, tmp_path: Path):
    from jobs.services.runs import cancel_run, retry_run

    worker = celery_worker_proc
    run = submit(league40, tmp_path / "output")
    parts = worker.runs_dir / str(run.pk) / "parts"
    wait_for(lambda: len(list(parts.glob("game_*.pkl"))) >= 3, 90, interval=0.05, what="three games built")
    cancel_run(fresh(run.pk))
    assert wait_terminal(run.pk, 30).status == "cancelled"
    parent_parts = {p.name: p.stat().st_ino for p in parts.glob("game_*.pkl")}

    child = retry_run(run)
    try:
        linked, rebuilt = watch_parts(child, parent_parts, worker.runs_dir, stop_on_rebuild=True)
        assert linked == set(parent_parts)
        assert not rebuilt, f"parts of Run #{run.pk} built again by Run #{child.pk}: {sorted(rebuilt)}"
        assert child.status == "succeeded", child.error_summary
    finally:
        cancel_run(fresh(child.pk))
        wait_terminal(child.pk, 30)


def test_runs_on_one_target_never_overlap(celery_worker_proc: CeleryWorker, league: Path, league40: Path,
                                          tmp_path: Path):
    from jobs.models import TargetLease
    from jobs.services.runs import cancel_run

    out = tmp_path / "output"
    a, b = submit(league, out, games=[30001]), submit(league, out, games=[30002])
    a, b = wait_terminal(a.pk), wait_terminal(b.pk)
    assert (a.status, b.status) == ("succeeded", "succeeded"), (a.error_summary, b.error_summary)
    first, second = sorted([a, b], key=lambda r: r.started_at)
    assert first.finished_at <= second.started_at
    assert second.waiting_for_id == first.pk and second.waited_seconds > 0
    assert second.logs.filter(message__contains=f"waiting for Run #{first.pk}").exists()
    assert not TargetLease.objects.exists()

    holder = submit(league40, out)  # runs writing one output folder: one at a time (other folders do not collide)
    wait_status(holder.pk, "running", 30)
    skipped = wait_terminal(submit(league, out, games=[30003], collision="skip").pk, 30)
    assert skipped.status == "skipped"
    assert f"busy with Run #{holder.pk}" in skipped.error_summary
    assert skipped.started_at is None and fresh(holder.pk).status == "running"
    cancel_run(fresh(holder.pk))
    assert wait_terminal(holder.pk, 30).status == "cancelled"


def test_cancel_stops_a_running_etl(celery_worker_proc: CeleryWorker, league40: Path, reference40: Path,
                                    tmp_path: Path):
    from jobs.models import RunStep, TargetLease
    from jobs.services.runs import cancel_run
    from jobs.tasks import execute_run_task

    worker = celery_worker_proc
    out, previous = seeded_output(reference40, tmp_path)
    run = submit(league40, out)
    parts = worker.runs_dir / str(run.pk) / "parts"
    wait_for(lambda: len(list(parts.glob("game_*.pkl"))) >= 3, 90, interval=0.05, what="three games built")
    queued = submit(league40, out)  # behind the per-game tasks in the queue
    assert cancel_run(fresh(queued.pk)) == "cancelled"  # not started yet: at once

    asked = time.monotonic()
    assert cancel_run(fresh(run.pk)) == "cancelling"
    run = wait_status(run.pk, ("cancelled", "succeeded", "failed"), 30)
    elapsed = time.monotonic() - asked
    assert run.status == "cancelled", run.error_summary
    assert elapsed < 5, f"cancel took {elapsed:.1f}s"
    assert run.percent < 100 and games_done(run.pk) < GAMES_40
    assert file_hashes(out) == previous
    assert not list(out.parent.glob(f".{out.name}.new-*"))  # staging folder removed
    assert not RunStep.objects.filter(run=run, status=RunStep.Status.RUNNING).exists()

    assert worker.task_result(run.celery_task_id) == "cancelled"
    again = execute_run_task.apply_async(args=[run.pk])
    again_queued = execute_run_task.apply_async(args=[queued.pk])
    assert worker.task_result(again.id) == "cancelled" and worker.task_result(again_queued.id) == "cancelled"
    assert (fresh(run.pk).status, fresh(run.pk).finished_at) == ("cancelled", run.finished_at)
    assert fresh(queued.pk).status == "cancelled" and fresh(queued.pk).started_at is None
    assert file_hashes(out) == previous
    assert not TargetLease.objects.filter(run__status__in=["queued", "running"]).exists()


@pytest.mark.parametrize("celery_worker_proc", [{"HOCKEYOPS_FANOUT_MIN_GAMES": "4"}], indirect=True,
                         ids=["fanout4"])
def test_fan_out_equals_in_process_run(celery_worker_proc: CeleryWorker, league40: Path, reference40: Path,
                                       tmp_path: Path):
    import re

    from django.conf import settings

    worker = celery_worker_proc
    assert settings.HOCKEYOPS_FANOUT_MIN_GAMES == 4 and not settings.CELERY_TASK_ALWAYS_EAGER
    out = tmp_path / "output"
    run = submit(league40, out)
    run = wait_terminal(run.pk, 120)
    assert run.status == "succeeded", run.error_summary
    assert run.logs.filter(message=f"Fanned out {GAMES_40} games to per-game tasks.").exists()
    by_tasks = re.findall(r"Task jobs\.tasks\.build_game_part\[[^\]]+\] succeeded in [\d.e-]+s: '(\w+)'",
                          worker.log_text())
    assert {"COMPLETE", "PARTIAL"} & set(by_tasks), "no game was built by a per-game task"
    assert table_digests(out) == table_digests(reference40)


def test_operator_admin_flow_runs_on_the_worker(celery_worker_proc: CeleryWorker, client, settings, tmp_path: Path):
    """Log in as an operator, open Run ETL, pick two games and three tables, preview, submit; a worker runs it."""
    from django.contrib.auth.models import User
    from django.urls import reverse

    from jobs.groups import ensure_groups
    from jobs.models import Run

    settings.HOCKEYOPS_OUTPUT_DIR = tmp_path / "admin-output"
    groups = ensure_groups()
    operator = User.objects.create_user("olive", password="pw", is_staff=True)
    operator.groups.add(groups["operator"])
    client.force_login(operator)
    url = reverse("admin:jobs_run_etl")
    page = client.get(url)
    assert page.status_code == 200 and "30001" in page.content.decode()
    form = {"games": ["30001", "30002"], "tables": ["dim_team", "fact_goals", "qa_goal_verification"],
            "source": "excel", "mode": "full", "target": "embedded", "collision": "queue"}
    preview = client.post(url, {**form, "_preview": "Preview"}).content.decode()
    assert "game 30001" in preview and "fact_goals" in preview and not Run.objects.exists()
    response = client.post(url, {**form, "_run": "Run"})
    assert response.status_code == 302
    run = Run.objects.get()
    wait_for(lambda: fresh(run.pk).is_terminal, 60, what=f"Run #{run.pk} to finish")
    run = fresh(run.pk)
    assert run.status == "succeeded", run.error_summary
    assert run.trigger == "admin" and run.requested_by == operator
    assert run.worker_host and not run.worker_host.endswith(f":{os.getpid()}")  # executed by the worker
    assert run.percent == 100.0 and run.logs.exists()
    assert set(run.steps.values_list("status", flat=True)) == {"succeeded"}
    manifest = run.artifacts.get(name="manifest.json")
    download = client.get(reverse("admin:jobs_run_artifact", args=[run.pk, manifest.pk]))
    assert download.status_code == 200
    assert sorted(json.loads(b"".join(download.streaming_content))["tables"]) == form["tables"]

    viewer = User.objects.create_user("vic", password="pw", is_staff=True)
    viewer.groups.add(groups["viewer"])
    client.force_login(viewer)
    assert client.post(url, {**form, "_run": "Run"}).status_code == 403
    assert Run.objects.count() == 1
