"""Fault drills against real services (``make drills``; not part of ``make test``: they take minutes).

Each drill injects one fault and asserts that nothing was lost or half-published:

- the heartbeat's database connection is dropped      -> the Run keeps beating and succeeds
- a worker is paused past the lost-worker bound       -> declared lost, then fenced: it never publishes
- two target names point at one database             -> their writers never overlap
- ETL runs for different targets share an output folder -> one at a time; the manifest matches its files
- 20 runs on one target                               -> never overlap, all succeed
- Redis restarts with Runs queued                     -> the reaper re-sends them and they complete
- the target stops mid-COPY                           -> the load rolls back; the target is as it was
- the output disk is full                             -> the Run fails with a sentence, outputs untouched
- 300 API triggers from 20 clients against gunicorn   -> printed p50/p99 and errors (bench/load_api.py)

Needs PostgreSQL, Redis and the celery/gunicorn executables (the same as the worker tests).
"""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from tests import worker as worker_fixtures
from tests.worker import CeleryWorker, wait_for

celery_worker_proc = worker_fixtures.celery_worker_proc
celery_worker_available = worker_fixtures.celery_worker_available
pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]


def say(text: str) -> None:
    print(f"\n  DRILL {text}", flush=True)


@pytest.fixture(scope="module")
def league40(celery_worker_available, tmp_path_factory) -> Path:
    from samples.league import generate_league

    path = tmp_path_factory.mktemp("drill-league40") / "league"
    generate_league(path, games=40, seed=5, hazards=False)
    return path


def hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*")) if p.is_file()}


def plan_run(stages, collision="queue", **kw):
    from jobs.models import Run
    from jobs.services.plans import build_plan
    from jobs.services.runs import create_run

    return create_run(build_plan(stages, **kw), Run.Trigger.API, collision=collision)


def fresh(run_id: int):
    from jobs.models import Run

    return Run.objects.get(pk=run_id)


def wait_terminal(run_id: int, timeout: float = 180):
    from jobs.models import Run

    return wait_for(lambda: (r := fresh(run_id)).status in Run.TERMINAL and r, timeout, interval=0.1,
                    what=f"Run #{run_id} to finish")


def seed(league: Path, out: Path) -> dict[str, str]:
    from etl.pipeline import EtlOptions, run_etl

    run_etl(EtlOptions(data_dir=str(league), output_dir=str(out)))
    return hashes(out)


def manifest_matches(out: Path) -> bool:
    data = json.loads((out / "manifest.json").read_text())
    return all(hashlib.sha256((out / f"{n}.csv").read_bytes()).hexdigest() == t["sha256"]
               for n, t in data["tables"].items())


def never_overlap(runs) -> bool:
    spans = sorted((r.started_at, r.finished_at) for r in runs)
    return all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))


# ------------------------------------------------------------------------------------------------ drills

@pytest.mark.parametrize("celery_worker_proc", [{"HOCKEYOPS_HEARTBEAT_SECONDS": "1"}], indirect=True)
def test_heartbeat_survives_a_dropped_connection(celery_worker_proc: CeleryWorker, league40: Path, tmp_path):
    from jobs.services.maintenance import reap_runs
    from tests.worker import database_url

    out = tmp_path / "out"
    run = plan_run(["etl"], etl={"data_dir": str(league40), "output_dir": str(out)})
    wait_for(lambda: fresh(run.pk).status == "running", 60, what="the run to start")
    dropped = 0
    with psycopg.connect(database_url(), autocommit=True) as admin:
        deadline = time.monotonic() + 20
        while fresh(run.pk).status == "running" and time.monotonic() < deadline:
            dropped += admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                     "WHERE application_name LIKE 'hockeyops heartbeat run %'").fetchone()[0]
            assert run.pk not in reap_runs(lost_after=4, requeue_after=3600)["lost"]
            time.sleep(1.5)
    done = wait_terminal(run.pk)
    say(f"heartbeat connection dropped {dropped} times; run {done.status}")
    assert dropped >= 1 and done.status == "succeeded", done.error_summary
    assert manifest_matches(out)


@pytest.mark.parametrize("celery_worker_proc", [{"HOCKEYOPS_HEARTBEAT_SECONDS": "1",
                                                 "HOCKEYOPS_FANOUT_MIN_GAMES": "0"}], indirect=True)
def test_a_paused_worker_is_declared_lost_and_never_publishes(celery_worker_proc: CeleryWorker, league40: Path,
                                                              sample_src: Path, tmp_path):
    from jobs.services.maintenance import reap_runs

    worker = celery_worker_proc
    out = tmp_path / "out"
    before = seed(sample_src, out)  # what the outputs hold before the run: must stay so
    run = plan_run(["etl"], etl={"data_dir": str(league40), "output_dir": str(out)})
    wait_for(lambda: fresh(run.pk).units_done >= 3, 90, interval=0.05, what="three units done")
    os.killpg(worker.proc.pid, signal.SIGSTOP)
    paused = time.monotonic()
    try:
        wait_for(lambda: run.pk in reap_runs(lost_after=3, requeue_after=3600)["lost"], 60, interval=0.5,
                 what="the reaper to declare the run lost")
    finally:
        os.killpg(worker.proc.pid, signal.SIGCONT)
    lost = fresh(run.pk)
    time.sleep(8)  # the worker resumes: it must notice the lost lease and stop, or be terminated
    say(f"paused {time.monotonic() - paused:.0f}s; run {lost.status}: {lost.error_summary[:80]}")
    assert lost.status == "failed" and lost.error_summary.startswith("worker lost")
    assert hashes(out) == before  # nothing published after the run was declared lost
    assert fresh(run.pk).status == "failed"


def test_two_target_names_for_one_database_never_write_at_once(celery_worker_proc: CeleryWorker, sample_src: Path,
                                                               pg_admin: str, monkeypatch, tmp_path, settings):
    from etl.schema import SchemaOptions, apply_schema
    from tests.conftest import drop_database, new_database

    url = new_database(pg_admin, "drill_names")
    info = psycopg.conninfo.conninfo_to_dict(url)
    other = f"postgresql://{info['user']}@localhost:{info['port']}/{info['dbname']}"  # the same database, spelled
    for name, value in (("ONE", url), ("TWO", other)):
        monkeypatch.setenv(f"HOCKEYOPS_TARGET_{name}_URL", value)
        celery_worker_proc.env_overrides[f"HOCKEYOPS_TARGET_{name}_URL"] = value
    celery_worker_proc.start()
    try:
        apply_schema(url, SchemaOptions(), target_name="one")
        out = tmp_path / "out"
        seed(sample_src, out)
        runs = [plan_run(["sync"], target=name, sync={"output_dir": str(out)}) for name in ("one", "two") * 3]
        done = [wait_terminal(r.pk) for r in runs]
        say(f"6 syncs over two names of one database: {[d.status for d in done]}")
        assert all(d.status == "succeeded" for d in done), [d.error_summary for d in done]
        assert never_overlap(done)
    finally:
        drop_database(pg_admin, url)


def test_etl_runs_for_different_targets_share_an_output_folder_one_at_a_time(celery_worker_proc, sample_src: Path,
                                                                              league40: Path, monkeypatch, tmp_path):
    monkeypatch.setenv("HOCKEYOPS_TARGET_OTHER_URL", "postgresql://nobody@127.0.0.1:1/none")
    out = tmp_path / "shared-out"
    runs = [plan_run(["etl"], target=target, etl={"data_dir": str(data), "output_dir": str(out), "tables": tables})
            for target, data, tables in (("embedded", league40, ["facts"]), ("other", sample_src, ["dims"]),
                                         ("embedded", sample_src, ["qa"]), ("other", league40, []))]
    done = [wait_terminal(r.pk) for r in runs]
    say(f"4 ETL runs, 2 targets, 1 output folder: {[d.status for d in done]}")
    assert all(d.status == "succeeded" for d in done), [d.error_summary for d in done]
    assert never_overlap(done) and manifest_matches(out)


@pytest.mark.parametrize("celery_worker_proc", [{"HOCKEYOPS_FANOUT_MIN_GAMES": "0"}], indirect=True)
def test_twenty_runs_on_one_target_never_overlap(celery_worker_proc: CeleryWorker, sample_src: Path, tmp_path):
    out = tmp_path / "out"
    runs = [plan_run(["etl"], etl={"data_dir": str(sample_src), "output_dir": str(out), "tables": ["dims"]})
            for _ in range(20)]
    done = [wait_terminal(r.pk, 300) for r in runs]
    say(f"20 runs: {sum(d.status == 'succeeded' for d in done)} succeeded, waits "
        f"{sum(d.waited_seconds for d in done):.1f}s in all")
    assert all(d.status == "succeeded" for d in done) and never_overlap(done) and manifest_matches(out)


def test_redis_restart_with_runs_queued(celery_worker_available, transactional_db, sample_src: Path, tmp_path):
    """A private Redis on another port: restarted (losing its queue) while Runs wait; the reaper re-sends them."""
    from hockeyops.celery import app
    from jobs.services.maintenance import reap_runs
    from tests.worker import _reset_producer_pools, database_url

    port = 6391
    redis_url = f"redis://127.0.0.1:{port}/0"

    def redis_up() -> subprocess.Popen:
        proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                 "--appendonly", "no"], stdout=subprocess.DEVNULL, start_new_session=True)
        wait_for(lambda: subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).returncode == 0,
                 20, what="redis")
        return proc

    server = redis_up()
    worker = CeleryWorker(tmp_path / "worker", database_url(), broker_url=redis_url)
    saved = {k: app.conf.get(k) for k in ("task_always_eager", "broker_url")}
    _reset_producer_pools(app)
    app.conf.update(task_always_eager=False, broker_url=redis_url)
    worker.mirror_settings()
    try:
        out = tmp_path / "out"
        runs = [plan_run(["etl"], etl={"data_dir": str(sample_src), "output_dir": str(out), "tables": ["dims"]})
                for _ in range(3)]
        os.killpg(server.pid, signal.SIGKILL)  # the queue is lost with it (no persistence)
        server.wait()
        server = redis_up()
        worker.start()
        time.sleep(3)
        assert all(fresh(r.pk).status == "queued" for r in runs)  # nobody knows about them any more
        requeued = reap_runs(requeue_after=0)["requeued"]
        done = [wait_terminal(r.pk) for r in runs]
        say(f"redis restarted with 3 runs queued; reaper re-sent {len(requeued)}; {[d.status for d in done]}")
        assert sorted(requeued) == sorted(r.pk for r in runs) and all(d.status == "succeeded" for d in done)
    finally:
        worker.kill()
        worker.restore_settings()
        app.conf.update(**saved)
        _reset_producer_pools(app)
        os.killpg(server.pid, signal.SIGKILL)


def test_the_target_stopping_mid_copy_rolls_back(sample_src: Path, tmp_path):
    """The embedded PostgreSQL as a target that can be stopped: a large load is cut mid-COPY."""
    import threading

    from etl.schema import SchemaOptions, apply_schema
    from etl.sync import SyncOptions, embedded_pg, sync_tables
    from tests.test_sync import big_events, derive, state

    data_dir = tmp_path / "pg"
    try:
        url = embedded_pg.ensure_running(data_dir)
    except embedded_pg.EmbeddedPgError as exc:
        pytest.skip(f"the embedded PostgreSQL cannot start here: {exc}")
    try:
        apply_schema(url, SchemaOptions(), target_name="cut")
        sample = tmp_path / "sample"
        seed(sample_src, sample)
        sync_tables(url, sample, SyncOptions(), target_name="cut")
        big = derive(sample, tmp_path / "big", lambda name, rows: big_events(name, rows, 400_000))
        before = state(url)
        errors: list[Exception] = []

        def stop_soon() -> None:
            time.sleep(1.5)
            embedded_pg.stop(data_dir)

        threading.Thread(target=stop_soon).start()
        try:
            sync_tables(url, big, SyncOptions(tables=("fact_events",)), target_name="cut")
        except Exception as exc:  # noqa: BLE001 - the drill expects the load to break
            errors.append(exc)
        url = embedded_pg.ensure_running(data_dir)
        after = state(url)
        say(f"target stopped mid-COPY: {type(errors[0]).__name__ if errors else 'no error'}: "
            f"{str(errors[0])[:90] if errors else ''}; target unchanged: {after == before}")
        assert errors and after == before
    finally:
        embedded_pg.stop(data_dir)


def test_a_full_output_disk_fails_the_run_with_a_sentence(celery_worker_proc: CeleryWorker, league40: Path,
                                                          sample_src: Path, tmp_path):
    disk = tmp_path / "small"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(disk)], capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        out = disk / "out"
        before = seed(sample_src, out)
        run = plan_run(["etl"], etl={"data_dir": str(league40), "output_dir": str(out)})
        done = wait_terminal(run.pk)
        say(f"full output disk: run {done.status}: {done.error_summary[:100]}")
        assert done.status == "failed" and "No space left on device" in done.error_summary
        assert "free disk space" in done.error_summary  # a sentence, not "Unexpected error"
        assert hashes(out) == before and not list(disk.glob(".out.new-*"))
        from jobs.models import TargetLease

        assert not TargetLease.objects.filter(run=done).exists()
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)


def test_load_300_api_triggers_from_20_clients():
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "load_api.py"), "--requests", "300", "--clients", "20"],
                          capture_output=True, text=True, timeout=900, cwd=ROOT)
    print(done.stdout)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "errors 0" in done.stdout
