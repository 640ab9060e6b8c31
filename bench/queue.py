"""Queue benchmark: admin submit → task start on a real worker, and the Run changelist with 100,000 runs.

Usage: .venv/bin/python bench/queue.py [--runs 100] [--rows 100000]
Needs PostgreSQL (BENCH_PG_URL, default postgresql://postgres@127.0.0.1:5432; the database hockeyops_bench
is dropped and recreated) and Redis (BENCH_REDIS_URL, default redis://127.0.0.1:6379/14; flushed).
Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# This file is bench/queue.py: keep bench/ off sys.path so "import queue" (stdlib) and "import etl" resolve.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

PG_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432").rstrip("/")
DB_NAME = "hockeyops_bench"
BROKER = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
TMP = Path(tempfile.mkdtemp(prefix="hockeyops-bench-queue-"))
ENV = {
    "DJANGO_SETTINGS_MODULE": "hockeyops.settings",
    "DATABASE_URL": f"{PG_URL}/{DB_NAME}",
    "CELERY_BROKER_URL": BROKER,
    "HOCKEYOPS_VAR_DIR": str(TMP),
    "HOCKEYOPS_OUTPUT_DIR": str(TMP / "output"),
    "HOCKEYOPS_ARTIFACTS_DIR": str(TMP / "artifacts"),
    "HOCKEYOPS_RUNS_DIR": str(TMP / "runs"),
    "DJANGO_DEBUG": "false",
    "DJANGO_ALLOWED_HOSTS": "testserver,localhost,127.0.0.1",
    "LOG_LEVEL": "ERROR",
}


def recreate_database() -> None:
    import psycopg

    with psycopg.connect(f"{PG_URL}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")


def start_worker() -> subprocess.Popen:
    """A prefork worker (2 processes) on the bench database and broker; returns once it is ready."""
    log = TMP / "worker.log"
    cmd = [str(Path(sys.executable).with_name("celery")), "-A", "hockeyops", "worker", "--pool", "prefork",
           "--concurrency", "2", "-Q", "celery,parts", "--without-gossip", "--without-mingle", "--without-heartbeat",
           "--loglevel", "INFO", "--logfile", str(log)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **ENV}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while not (log.exists() and " ready." in log.read_text(errors="replace")):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_worker(proc)
            raise SystemExit(f"celery worker did not start; see {log}")
        time.sleep(0.1)
    return proc


def stop_worker(proc: subprocess.Popen) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=10)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def superuser():
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    return (user_model.objects.filter(username="bench").first()
            or user_model.objects.create_superuser("bench", "bench@example.org", "bench"))


def submit_admin(client) -> int | None:
    """POST the admin Run ETL page (one master-only table); the new Run's id, None if the page is missing."""
    from django.urls import NoReverseMatch, resolve, reverse

    try:
        url = reverse("admin:jobs_run_etl")
    except NoReverseMatch:
        return None
    data = {"tables": ["dim_team"], "source": "excel", "mode": "full", "target": "embedded",
            "collision": "queue", "_run": "Run"}
    response = client.post(url, data)
    if response.status_code != 302:
        return None
    return int(resolve(response["Location"]).kwargs["object_id"])


def submit_service(user) -> int:
    """What the admin does on Run: plan and create the Run in one transaction (sent on commit)."""
    from django.db import transaction

    from jobs.models import Run
    from jobs.services.plans import build_plan
    from jobs.services.runs import create_run

    with transaction.atomic():
        plan = build_plan(["etl"], etl={"tables": ["dim_team"]}, target="embedded")
        return create_run(plan, Run.Trigger.ADMIN, user=user).pk


def bench_latency(runs: int) -> None:
    from django.test import Client
    from django.utils import timezone

    from jobs.models import Run

    user = superuser()
    client = Client()
    client.force_login(user)
    via = "admin Run ETL page"
    latencies, pickups, submits = [], [], []
    for i in range(runs + 1):  # the first one warms up worker and client
        t0 = timezone.now()
        run_id = submit_admin(client) if via.startswith("admin") else None
        if run_id is None:
            via = "service path (build_plan + create_run; admin page unavailable)"
            run_id = submit_service(user)
        submitted = timezone.now()
        deadline = time.monotonic() + 60
        while True:
            run = Run.objects.only("status", "created_at", "started_at").get(pk=run_id)
            if run.started_at and run.status in Run.TERMINAL:
                break
            if run.status in Run.TERMINAL or time.monotonic() > deadline:
                raise SystemExit(f"Run #{run_id} ended {run.status} without starting")
            time.sleep(0.005)
        if i:
            latencies.append((run.started_at - t0).total_seconds() * 1000)
            pickups.append((run.started_at - submitted).total_seconds() * 1000)
            submits.append((submitted - t0).total_seconds() * 1000)
    print(f"(a) submit -> task start, {runs} runs via {via}, prefork worker, Redis, PostgreSQL")
    print(f"    submit->start  median {statistics.median(latencies):7.1f} ms   p95 {pct(latencies, 0.95):7.1f} ms")
    print(f"    of which POST  median {statistics.median(submits):7.1f} ms   p95 {pct(submits, 0.95):7.1f} ms")
    print(f"    after response median {statistics.median(pickups):7.1f} ms   p95 {pct(pickups, 0.95):7.1f} ms")


def fill_runs(rows: int) -> float:
    """Bulk-create ``rows`` Runs with varied status, trigger, job and dates; seconds taken."""
    import random
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from jobs.models import Job, Run
    from jobs.services.plans import build_plan

    started = time.perf_counter()
    rng = random.Random(7)
    user = superuser()
    jobs = Job.objects.bulk_create([Job(name=f"bench job {i}", stages=["etl"], target_name="embedded")
                                    for i in range(20)])
    small = build_plan(["etl"], etl={"tables": ["dim_team"]}, target="embedded")
    full = build_plan(["etl"], etl={}, target="embedded")
    statuses = [Run.Status.SUCCEEDED] * 14 + [Run.Status.FAILED] * 3 + [Run.Status.CANCELLED, Run.Status.SKIPPED,
                                                                          Run.Status.QUEUED]
    triggers = list(Run.Trigger.values)
    now = timezone.now()
    batch = []
    for i in range(rows):
        status = rng.choice(statuses)
        start = now - timedelta(seconds=rng.randint(60, 365 * 86400))
        terminal = status in Run.TERMINAL and status != Run.Status.SKIPPED
        batch.append(Run(
            job=rng.choice(jobs) if rng.random() < 0.8 else None, trigger=rng.choice(triggers),
            requested_by=user if rng.random() < 0.3 else None, target_name="embedded",
            plan=full if i % 10 == 0 else small, status=status, started_at=start if terminal else None,
            finished_at=start + timedelta(seconds=rng.randint(1, 900)) if terminal else None,
            percent=100.0 if status == Run.Status.SUCCEEDED else rng.random() * 100,
            units_total=3, units_done=3 if status == Run.Status.SUCCEEDED else 1,
            error_summary="Unexpected error (KeyError: 'x'); see the run log." if status == Run.Status.FAILED else ""))
        if len(batch) == 5000:
            Run.objects.bulk_create(batch)
            batch = []
    Run.objects.bulk_create(batch)
    with connection.cursor() as cursor:  # created_at is auto_now_add: spread it over a year afterwards
        cursor.execute("UPDATE jobs_run SET created_at = COALESCE(started_at, now() - (id % 365) * interval '1 day')")
        cursor.execute("ANALYZE jobs_run")
    return time.perf_counter() - started


def bench_changelist(rows: int) -> None:
    from django.contrib import admin
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from jobs.models import Run

    if not admin.site.is_registered(Run):
        print("(b) skipped: the Run admin is not registered yet")
        return
    seconds = fill_runs(rows)
    client = Client()
    client.force_login(superuser())
    print(f"(b) admin Run changelist with {Run.objects.count():,} runs (bulk-created in {seconds:.0f}s)")
    for label, url in (("/admin/jobs/run/", "/admin/jobs/run/"),
                       ("status=failed", "/admin/jobs/run/?status__exact=failed"),
                       ("page 500", "/admin/jobs/run/?p=500")):
        client.get(url)  # warm-up
        times = []
        for _ in range(5):
            t = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - t) * 1000)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        print(f"    {label:18} median {statistics.median(times):7.1f} ms   {len(queries)} queries   "
              f"HTTP {response.status_code}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100, help="runs submitted for the latency figure")
    parser.add_argument("--rows", type=int, default=100_000, help="runs in the database for the changelist")
    args = parser.parse_args()
    os.environ.update(ENV)
    import redis

    redis.Redis.from_url(BROKER).flushdb()
    recreate_database()

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    worker = start_worker()
    try:
        bench_latency(args.runs)
    finally:
        stop_worker(worker)
    bench_changelist(args.rows)
    shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    main()
