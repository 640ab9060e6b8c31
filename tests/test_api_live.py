"""The API over real HTTP (pytest-django's ``live_server``) with a real Celery worker and a real PostgreSQL
target: trigger an ETL, poll it, generate/download/load the schema, sync with a pattern and an exclusion, cancel a
running run; and schemathesis against /api/openapi.json (no 5xx)."""
from __future__ import annotations

import json
import os
import uuid

import psycopg
import pytest
import requests
from psycopg import sql

from tests import worker as worker_fixtures
from tests.worker import wait_for

celery_worker_proc = worker_fixtures.celery_worker_proc
celery_worker_available = worker_fixtures.celery_worker_available
pytestmark = pytest.mark.django_db(transaction=True)
SERVER_URL = os.environ.get("HOCKEYOPS_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
GAMES = [30001, 30002]
TABLES = ["dim_team", "fact_goals", "qa_goal_verification"]


def _fresh_db(prefix: str) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(SERVER_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    info = psycopg.conninfo.conninfo_to_dict(SERVER_URL)
    return (f"postgresql://{info.get('user') or 'postgres'}@{info.get('host') or '127.0.0.1'}:"
            f"{info.get('port') or 5432}/{name}")


def _drop_db(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(SERVER_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture()
def pg_server():
    try:
        psycopg.connect(SERVER_URL, connect_timeout=3).close()
    except psycopg.Error as exc:
        worker_fixtures.unavailable(f"no PostgreSQL server at {SERVER_URL}: {exc}")


@pytest.fixture()
def target_url(pg_server, monkeypatch):
    """A throw-away database declared as target ``live`` (in this process; the worker gets it too)."""
    url = _fresh_db("api_live")
    monkeypatch.setenv("HOCKEYOPS_TARGET_LIVE_URL", url)
    yield url
    _drop_db(url)


@pytest.fixture()
def token(db):
    from django.contrib.auth.models import User

    from jobs.api_tokens import ApiToken
    from jobs.groups import ensure_groups

    user = User.objects.create_user("api-live")
    user.groups.add(ensure_groups()["schema admin"])
    return ApiToken.issue(user, "live")[1]


class Api:
    """A tiny client of the live server."""

    def __init__(self, base: str, raw: str) -> None:
        self.base, self.session = base, requests.Session()
        self.session.headers["Authorization"] = f"Bearer {raw}"

    def get(self, path: str, **kw):
        return self.session.get(self.base + path, timeout=30, **kw)

    def post(self, path: str, body: dict | None = None):
        return self.session.post(self.base + path, json=body or {}, timeout=60)

    def wait(self, job_id: int, statuses=("completed", "failed", "cancelled"), timeout: float = 180) -> dict:
        def done():
            job = self.get(f"/api/etl/status/{job_id}").json()
            return job if job["status"] in statuses else None

        return wait_for(done, timeout, interval=0.2, what=f"job {job_id} to reach {statuses}")


def test_live_etl_schema_sync_cancel(live_server, celery_worker_proc, target_url, token, settings, tmp_path):
    celery_worker_proc.start(HOCKEYOPS_TARGET_LIVE_URL=target_url)  # (re)applies its settings: ours go after
    settings.VAR_DIR = tmp_path
    api = Api(live_server.url, token)

    assert requests.get(live_server.url + "/api/etl/history", timeout=10).status_code == 401
    health = requests.get(live_server.url + "/api/health", timeout=30)
    assert health.status_code == 200 and health.json()["targets"]["live"]["ok"] is True
    assert health.json()["broker"]["ok"] is True and target_url not in health.text

    # ETL of two games and three tables
    response = api.post("/api/etl/trigger", {"mode": "full", "game_ids": GAMES, "tables": TABLES, "target": "live"})
    assert response.status_code == 202, response.text
    job = api.wait(response.json()["job_id"])
    assert job["status"] == "completed", job["errors"]
    assert job["progress"] == 100 and sorted(job["tables_created"]) == sorted(TABLES)
    assert job["completed_at"] and job["run_url"].startswith(live_server.url + "/admin/jobs/run/")
    manifest = json.loads((celery_worker_proc.output_dir / "manifest.json").read_text())
    assert sorted(manifest["tables"]) == sorted(TABLES)

    # generate, download, load the file into a fresh database; load-schema into the target (a Run)
    schema_tables = ["fact_goals", "qa_goal_verification"]
    info = api.post("/api/upload/generate-schema", {"tables": schema_tables}).json()
    assert info["tables"] == schema_tables and (tmp_path / "schema" / "latest.sql").stat().st_size == info["size"]
    script = api.get("/api/upload/schema-file")
    assert script.status_code == 200 and len(script.content) == info["size"]
    scratch = _fresh_db("api_file")
    try:
        with psycopg.connect(scratch) as conn:
            conn.execute(script.text)
            loaded = {r[0] for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()").fetchall()}
        assert set(schema_tables) <= loaded
    finally:
        _drop_db(scratch)
    response = api.post("/api/upload/load-schema", {"target": "live"})
    assert response.status_code == 202, response.text
    job = api.wait(response.json()["job_id"])
    assert job["status"] == "completed", job["errors"]
    assert job["plan"]["schema"]["resolved"]["tables"] == schema_tables

    # sync with a pattern and an exclusion: dry run (no Run), then a Run
    body = {"tables": ["dim_team", "fact_goals"], "pattern": "qa_goal*", "exclude_tables": ["dim_team"],
            "target": "live"}
    dry = api.post("/api/upload/to-supabase", {**body, "dry_run": True})
    assert dry.status_code == 200, dry.text
    assert [t["name"] for t in dry.json()["plan"]["tables"]] == schema_tables
    response = api.post("/api/upload/to-supabase", body)
    assert response.status_code == 202, response.text
    job = api.wait(response.json()["job_id"])
    assert job["status"] == "completed", job["errors"]
    assert sorted(job["tables_created"]) == schema_tables
    with psycopg.connect(target_url) as conn:
        for table in schema_tables:
            count = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()[0]
            assert count == manifest["tables"][table]["rows"], table

    # cancel a running run: a full ETL of every game, cancelled once it runs
    response = api.post("/api/etl/trigger", {"mode": "full", "target": "live"})
    job_id = response.json()["job_id"]
    api.wait(job_id, statuses=("running", "completed", "failed", "cancelled"), timeout=60)
    cancel = api.post(f"/api/etl/cancel/{job_id}")
    assert cancel.status_code == 200 and cancel.json()["outcome"] in ("cancelling", "cancelled"), cancel.text
    job = api.wait(job_id)
    assert job["status"] == "cancelled", job
    history = api.get("/api/etl/history", params={"status": "cancelled"}).json()
    assert [j["job_id"] for j in history["jobs"]] == [job_id]
    assert len(api.get("/api/etl/history").json()["jobs"]) == 4


# --- schemathesis: every documented operation against the live server, no 5xx ---

schemathesis = pytest.importorskip("schemathesis")


@pytest.fixture()
def api_schema(live_server, token, settings, tmp_path, monkeypatch):
    """The served document; Runs are recorded but not sent, and no target URL resolves (nothing external)."""
    settings.VAR_DIR = tmp_path
    monkeypatch.setattr("jobs.services.runs.send", lambda run_id: None)

    def no_url(name):
        raise ValueError(f"Target '{name}' has no connection URL (test).")

    monkeypatch.setattr("jobs.api.views.resolve_url", no_url)
    monkeypatch.setattr("jobs.services.targets.resolve_url", no_url)
    schema = schemathesis.openapi.from_url(live_server.url + "/api/openapi.json")
    schema.config.generation.update(max_examples=25)
    return schema


def test_openapi_no_server_errors(api_schema, token):
    """Each operation's generated cases (schemathesis strategies, run by hypothesis here: schemathesis' own
    pytest plugin does not work with this pytest) get no 5xx."""
    from hypothesis import HealthCheck, given
    from hypothesis import settings as hsettings
    from schemathesis.checks import not_a_server_error

    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) == 10
    headers = {"Authorization": f"Bearer {token}"}
    for operation in operations:
        @hsettings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def check(case):
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        check()
