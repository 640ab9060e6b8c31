"""A real Celery worker for end-to-end tests: ``celery -A hockeyops worker`` against Redis and Postgres.

Expose the fixtures in a test module (``celery_worker_proc = tests.worker.celery_worker_proc``, same for
``celery_worker_available``) and mark the tests ``@pytest.mark.django_db(transaction=True)``: the worker only
sees committed data. Needs Redis (HOCKEYOPS_TEST_REDIS_URL, default db 15) and a PostgreSQL Django database;
otherwise the tests are skipped, or fail when ``CI`` is set.

Worker environment overrides come from indirect parametrisation (a dict) or ``worker.start(**env)``;
``HOCKEYOPS_*`` overrides are mirrored into the test process's settings.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

ROOT = Path(__file__).resolve().parent.parent
CELERY = Path(sys.executable).with_name("celery")
REDIS_URL = os.environ.get("HOCKEYOPS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
HEARTBEAT_SECONDS = 1


def unavailable(reason: str) -> None:
    """Skip, or fail under CI (where no test may be skipped silently)."""
    if os.environ.get("CI"):
        pytest.fail(f"CI: the real-worker tests cannot run: {reason}", pytrace=False)
    pytest.skip(reason)


def database_url() -> str:
    """URL of the database the test process uses (the test database once pytest-django set it up)."""
    from django.db import connection

    sd = connection.settings_dict
    if connection.vendor != "postgresql":
        unavailable(f"needs PostgreSQL for Django (DATABASE_URL=postgresql://...); the database is {connection.vendor}")
    auth = quote(sd.get("USER") or "", safe="")
    if sd.get("PASSWORD"):
        auth += ":" + quote(sd["PASSWORD"], safe="")
    host = sd.get("HOST") or "127.0.0.1"
    port = f":{sd['PORT']}" if sd.get("PORT") else ""
    return f"postgresql://{auth}{'@' if auth else ''}{host}{port}/{quote(sd['NAME'], safe='')}"


def redis_client(url: str = REDIS_URL):
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        unavailable(f"Redis is not reachable at {url} ({exc})")
    return client


def _reset_producer_pools(app) -> None:
    """Drop pooled broker connections so the next send uses the current ``broker_url``."""
    from kombu import pools

    pools.reset()
    app._pool = None
    amqp = app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None


def wait_for(predicate: Callable[[], object], timeout: float, interval: float = 0.1, what: str = "condition"):
    """Poll ``predicate`` until it returns something truthy; AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


class CeleryWorker:
    """One ``celery worker`` subprocess in its own process group; restartable with other settings."""

    def __init__(self, base: Path, db_url: str, broker_url: str = REDIS_URL, concurrency: int = 2) -> None:
        self.base = base
        self.output_dir = base / "output"
        self.artifacts_dir = base / "artifacts"
        self.runs_dir = base / "runs"
        self.log_dir = base / "logs"
        for d in (self.output_dir, self.artifacts_dir, self.runs_dir, self.log_dir):
            d.mkdir(parents=True, exist_ok=True)
        self.db_url = db_url
        self.broker_url = broker_url
        self.concurrency = concurrency
        self.env_overrides: dict[str, str] = {}
        self.proc: subprocess.Popen | None = None
        self.logfile: Path | None = None
        self.starts = 0
        self._overrides = None

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "CELERY_"))}
        env.update(
            DJANGO_SETTINGS_MODULE="hockeyops.settings",
            DATABASE_URL=self.db_url,
            CELERY_BROKER_URL=self.broker_url,
            HOCKEYOPS_VAR_DIR=str(self.base),
            HOCKEYOPS_OUTPUT_DIR=str(self.output_dir),
            HOCKEYOPS_ARTIFACTS_DIR=str(self.artifacts_dir),
            HOCKEYOPS_RUNS_DIR=str(self.runs_dir),
            HOCKEYOPS_HEARTBEAT_SECONDS=str(HEARTBEAT_SECONDS),
            PYTHONUNBUFFERED="1",
        )
        env.update(self.env_overrides)
        return env

    def settings_overrides(self) -> dict:
        """Django settings the test process needs to talk to this worker (same broker, dirs, knobs)."""
        from django.conf import settings

        values = {
            "CELERY_TASK_ALWAYS_EAGER": False,
            "CELERY_BROKER_URL": self.broker_url,
            "HOCKEYOPS_OUTPUT_DIR": self.output_dir,
            "HOCKEYOPS_ARTIFACTS_DIR": self.artifacts_dir,
            "HOCKEYOPS_RUNS_DIR": self.runs_dir,
            "HOCKEYOPS_HEARTBEAT_SECONDS": float(HEARTBEAT_SECONDS),
        }
        for key, raw in self.env_overrides.items():
            if key.startswith("HOCKEYOPS_") and hasattr(settings, key):
                current = getattr(settings, key)
                values[key] = type(current)(raw) if isinstance(current, int | float | Path) else raw
        return values

    def mirror_settings(self) -> None:
        """Apply ``settings_overrides`` in the test process (replacing an earlier application)."""
        from django.test import override_settings

        self.restore_settings()
        self._overrides = override_settings(**self.settings_overrides())
        self._overrides.enable()

    def restore_settings(self) -> None:
        if self._overrides is not None:
            self._overrides.disable()
            self._overrides = None

    def start(self, timeout: float = 60, **env: str) -> None:
        """(Re)start the worker, optionally with extra environment; returns once it is ready."""
        self.stop()
        if env:
            self.env_overrides.update({k: str(v) for k, v in env.items()})
        self.mirror_settings()
        self.starts += 1
        self.logfile = self.log_dir / f"worker-{self.starts}.log"
        cmd = [str(CELERY), "-A", "hockeyops", "worker", "--pool", "prefork", "--concurrency",
               str(self.concurrency), "-Q", "celery,parts", "--without-gossip", "--without-mingle",
               "--without-heartbeat", "--loglevel", "INFO", "--logfile", str(self.logfile),
               "--hostname", f"test-{uuid.uuid4().hex[:8]}@%h"]
        with open(self.log_dir / f"worker-{self.starts}.out", "wb") as out:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.environment(), stdout=out,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        deadline = time.monotonic() + timeout
        while " ready." not in self.log_text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                tail = (self.log_dir / f"worker-{self.starts}.out").read_text(errors="replace")[-3000:]
                self.stop()
                raise RuntimeError(f"celery worker did not start:\n{self.log_text()[-3000:]}\n{tail}")
            time.sleep(0.1)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the worker's whole process group (main process, pool children, ETL processes)."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self.proc = None

    stop = kill

    def log_text(self) -> str:
        if self.logfile is None or not self.logfile.exists():
            return ""
        return self.logfile.read_text(errors="replace")

    def task_result(self, task_id: str, timeout: float = 30) -> str:
        """The return value the worker logged for ``task_id`` (waits for it)."""
        pattern = re.compile(rf"Task [\w.]+\[{re.escape(task_id)}\] succeeded in [\d.e-]+s: '?([^'\n]*)'?")

        def found():
            m = pattern.search(self.log_text())
            return m.group(1) if m else None

        return wait_for(found, timeout, what=f"task {task_id} in the worker log")


@pytest.fixture(scope="session")
def celery_worker_available() -> None:
    """Skip (fail under CI) early, before expensive session data, when Redis or PostgreSQL is missing."""
    from django.db import connection

    if connection.vendor != "postgresql":
        unavailable(f"needs PostgreSQL for Django (DATABASE_URL=postgresql://...); the database is {connection.vendor}")
    if not CELERY.exists():
        unavailable(f"celery executable not found at {CELERY}")
    redis_client()


@pytest.fixture()
def celery_worker_proc(request, celery_worker_available, transactional_db, tmp_path_factory) -> Iterator[CeleryWorker]:
    """A running real worker sharing the test database, a Redis broker (db 15, flushed) and tmp dirs.

    The test process sends tasks to it (Celery switched to non-eager) and sees the same settings.
    Indirect parametrisation with a dict adds worker environment, e.g. HOCKEYOPS_FANOUT_MIN_GAMES.
    """
    from hockeyops.celery import app

    db_url = database_url()
    redis_client().flushdb()
    worker = CeleryWorker(tmp_path_factory.mktemp("celery-worker"), db_url)
    worker.env_overrides.update({k: str(v) for k, v in getattr(request, "param", {}).items()})

    saved_conf = {k: app.conf.get(k) for k in ("task_always_eager", "broker_url")}
    _reset_producer_pools(app)
    app.conf.update(task_always_eager=False, broker_url=worker.broker_url)
    try:
        worker.start()
        yield worker
    finally:
        worker.kill()
        worker.restore_settings()
        app.conf.update(**saved_conf)
        _reset_producer_pools(app)
        try:
            redis_client().flushdb()  # no messages left for the next worker
        except Exception:  # best effort: the broker may be gone
            pass
