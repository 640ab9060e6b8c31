"""Load drill: N API triggers from C concurrent clients against gunicorn, as the compose file serves the web.

Usage: .venv/bin/python bench/load_api.py [--requests 300] [--clients 20] [--workers 3]
Needs PostgreSQL (BENCH_PG_URL, default postgresql://postgres@127.0.0.1:5432; database hockeyops_load is dropped
and recreated) and Redis (BENCH_REDIS_URL, default redis://127.0.0.1:6379/11; flushed): every trigger plans an
ETL of the sample league and queues a Run (no worker runs them: this measures the web tier).
Prints the scenario, p50/p95/p99 latency, throughput and every non-2xx answer; asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

PG_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432").rstrip("/")
DB_NAME = "hockeyops_load"
BROKER = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
PORT = int(os.environ.get("BENCH_PORT", "8791"))


def environment(tmp: Path) -> dict[str, str]:
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "hockeyops.settings", "DATABASE_URL": f"{PG_URL}/{DB_NAME}",
            "CELERY_BROKER_URL": BROKER, "HOCKEYOPS_VAR_DIR": str(tmp), "HOCKEYOPS_OUTPUT_DIR": str(tmp / "output"),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost", "LOG_LEVEL": "ERROR", "DJANGO_DEBUG": "false"}


def prepare(env: dict[str, str]) -> str:
    """A fresh metadata database with an operator's API token; returns the token."""
    import psycopg
    import redis

    with psycopg.connect(f"{PG_URL}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    redis.Redis.from_url(BROKER).flushdb()
    py = sys.executable
    subprocess.run([py, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    script = ("from django.contrib.auth.models import User; from jobs.groups import ensure_groups; "
              "from jobs.api_tokens import ApiToken; u = User.objects.create_user('load', is_staff=True); "
              "u.groups.add(ensure_groups()['operator']); print(ApiToken.issue(u, 'load')[1])")
    out = subprocess.run([py, "manage.py", "shell", "-c", script], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True)
    return out.stdout.strip().splitlines()[-1]


def start_gunicorn(env: dict[str, str], workers: int, log: Path) -> subprocess.Popen:
    cmd = [str(Path(sys.executable).with_name("gunicorn")), "hockeyops.wsgi:application", "--bind",
           f"127.0.0.1:{PORT}", "--workers", str(workers), "--timeout", "120", "--error-logfile", str(log)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/api/openapi.json", timeout=2).read()
            return proc
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"gunicorn did not start; see {log}")


def trigger(token: str, body: dict) -> tuple[int, float, str]:
    data = json.dumps(body).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{PORT}/api/etl/trigger", data=data, method="POST",
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()
            status, text = response.status, ""
    except urllib.error.HTTPError as exc:
        status, text = exc.code, exc.read().decode(errors="replace")[:200]
    except OSError as exc:
        status, text = 0, str(exc)
    return status, time.perf_counter() - started, text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes (the compose file: 3)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="hockeyops-load-"))
    env = environment(tmp)
    token = prepare(env)
    server = start_gunicorn(env, args.workers, tmp / "gunicorn.log")
    results: list[tuple[int, float, str]] = []
    lock = threading.Lock()
    todo = iter(range(args.requests))
    body = {"tables": ["dim_team", "fact_goals"], "game_ids": [30001, 30002]}

    def client() -> None:
        while True:
            with lock:
                if next(todo, None) is None:
                    return
            result = trigger(token, body)
            with lock:
                results.append(result)

    try:
        trigger(token, body)  # warm each worker's imports once
        started = time.perf_counter()
        threads = [threading.Thread(target=client) for _ in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - started
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    latencies = sorted(r[1] for r in results)

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(round(p / 100 * (len(latencies) - 1))))] * 1000

    errors = [r for r in results if not 200 <= r[0] < 300]
    print(f"scenario: {args.requests} POST /api/etl/trigger (plan an ETL of 2 sample games, queue a Run) from "
          f"{args.clients} clients; gunicorn {args.workers} sync workers; PostgreSQL metadata DB; Redis broker; "
          f"{os.cpu_count()} cores")
    print(f"answered {len(results)} in {wall:.2f}s ({len(results) / wall:.1f} req/s); errors {len(errors)}")
    print(f"latency ms: p50 {pct(50):.0f}  p95 {pct(95):.0f}  p99 {pct(99):.0f}  max {latencies[-1] * 1000:.0f}  "
          f"mean {statistics.fmean(latencies) * 1000:.0f}")
    print("target: 0 errors, p99 under 500 ms")
    for status, _, text in errors[:10]:
        print(f"  {status}: {text}")


if __name__ == "__main__":
    main()
