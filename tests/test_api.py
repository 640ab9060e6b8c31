"""The HTTP API through Django's test client: tokens, permissions, validation (field-named 400s), 404s, the
job view, the OpenAPI document, and a hypothesis fuzz of every endpoint that finds no 5xx."""
from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from jobs.api.openapi import document
from jobs.api_tokens import ApiToken, hash_token
from jobs.groups import ensure_groups
from jobs.models import Run, RunStep
from jobs.services.plans import build_plan
from jobs.services.runs import create_run

pytestmark = pytest.mark.django_db
GAMES = [30001, 30002]
TABLES = ["dim_team", "fact_goals", "qa_goal_verification"]


@pytest.fixture(autouse=True)
def dirs(settings, tmp_path, sample_src, monkeypatch):
    settings.HOCKEYOPS_DATA_DIR = sample_src
    settings.HOCKEYOPS_OUTPUT_DIR = tmp_path / "output"
    settings.HOCKEYOPS_ARTIFACTS_DIR = tmp_path / "artifacts"
    settings.HOCKEYOPS_RUNS_DIR = tmp_path / "runs"
    settings.VAR_DIR = tmp_path
    # never start the embedded PostgreSQL from these tests
    monkeypatch.setattr("jobs.api.views.resolve_url", _no_url)
    monkeypatch.setattr("jobs.services.targets.resolve_url", _no_url)
    return tmp_path


def _no_url(name):
    raise ValueError(f"Target '{name}' has no connection URL (test).")


def token_for(group: str | None, name: str | None = None) -> str:
    user = User.objects.create_user(name or f"user-{group or 'none'}".replace(" ", "-"))
    if group:
        user.groups.add(ensure_groups()[group])
    return ApiToken.issue(user, "test")[1]


def auth(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def post(client, path: str, body, raw: str):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(path, data=data, content_type="application/json", **auth(raw))


@pytest.fixture()
def operator() -> str:
    return token_for("operator")


@pytest.fixture()
def viewer() -> str:
    return token_for("viewer")


def test_token_hashed_once_and_last_used(client, operator):
    token = ApiToken.objects.get()
    assert token.key_hash == hash_token(operator) and operator not in (token.key_hash, token.prefix)
    assert token.last_used_at is None
    assert client.get("/api/etl/history", **auth(operator)).status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None
    token.revoke()
    assert client.get("/api/etl/history", **auth(operator)).status_code == 401


@pytest.mark.parametrize("headers", [{}, {"HTTP_AUTHORIZATION": "Bearer nope"}, {"HTTP_AUTHORIZATION": "Basic x"}])
def test_401_without_valid_token(client, headers):
    response = client.post("/api/etl/trigger", data="{}", content_type="application/json", **headers)
    assert response.status_code == 401 and "Bearer" in response["WWW-Authenticate"]
    assert client.get("/api/etl/status/1", **headers).status_code == 401


def test_inactive_user_token_is_refused(client, operator):
    User.objects.update(is_active=False)
    assert client.get("/api/etl/history", **auth(operator)).status_code == 401


def test_viewer_cannot_trigger_but_can_read(client, viewer, operator):
    body = {"game_ids": GAMES, "tables": TABLES}
    response = post(client, "/api/etl/trigger", body, viewer)
    assert response.status_code == 403 and "run_etl" in response.json()["error"]
    assert Run.objects.count() == 0
    assert client.get("/api/etl/history", **auth(viewer)).status_code == 200
    no_group = token_for(None)
    assert client.get("/api/etl/history", **auth(no_group)).status_code == 403  # no view permission
    job = post(client, "/api/etl/trigger", body, operator).json()
    assert client.get(f"/api/etl/status/{job['job_id']}", **auth(viewer)).status_code == 200
    assert client.post(f"/api/etl/cancel/{job['job_id']}", **auth(viewer)).status_code == 403


def test_trigger_creates_api_run_with_job_view(client, operator):
    response = post(client, "/api/etl/trigger", {"mode": "full", "game_ids": GAMES, "tables": TABLES,
                                                 "exclude_tables": ["qa_goal_verification"]}, operator)
    assert response.status_code == 202, response.content
    job = response.json()
    run = Run.objects.get(pk=job["job_id"])
    assert run.trigger == Run.Trigger.API and run.requested_by.username == "user-operator"
    assert run.plan["etl"]["resolved"]["games"] == GAMES
    assert run.plan["etl"]["resolved"]["tables"] == ["dim_team", "fact_goals"]
    assert job["status"] == "queued" and job["progress"] == 0 and job["tables_created"] == []
    assert job["run_url"].startswith("http://testserver/admin/jobs/run/")
    assert set(document()["components"]["schemas"]["Job"]["required"]) <= set(job)


def test_trigger_options_chain_stages_and_old_words(client):
    raw = token_for("schema admin")
    response = post(client, "/api/etl/trigger", {
        "mode": "single", "game_ids": ["30001"], "tables": "dim_team, fact_goals", "source": "supabase",
        "options": {"regenerate_schema": True, "upload_to_supabase": True}}, raw)
    # the staging source needs the target's URL at plan time: refused with the target named, not a 500
    assert response.status_code == 400 and response.json()["field"] == "target"
    response = post(client, "/api/etl/trigger", {
        "mode": "single", "game_ids": ["30001"], "tables": "dim_team, fact_goals",
        "options": {"regenerate_schema": True, "upload_to_supabase": True, "wipe": True}}, raw)
    assert response.status_code == 202, response.content
    plan = Run.objects.get(pk=response.json()["job_id"]).plan
    assert plan["stages"] == ["etl", "schema", "sync"]
    assert plan["etl"]["resolved"]["games"] == [30001] and plan["sync"]["options"]["games"] == [30001]
    assert plan["schema"]["resolved"]["tables"] == ["dim_team", "fact_goals"]
    operator = token_for("operator", "op2")
    response = post(client, "/api/etl/trigger", {"options": {"regenerate_schema": True}}, operator)
    assert response.status_code == 403 and "apply_schema" in response.json()["error"]


@pytest.mark.parametrize("body,field,words", [
    ({"tables": ["fact_nope"]}, "tables", "no table or mode called 'fact_nope'"),
    ({"tables": ["zz_*"]}, "tables", "matches no table"),
    ({"exclude_tables": ["nope"]}, "exclude_tables", "no table or mode called"),
    ({"mode": "single"}, "game_ids", "single"),
    ({"source": "ftp"}, "source", "not one of"),
    ({"mode": "sometimes"}, "mode", "not one of"),
    ({"game_ids": ["abc"]}, "game_ids", "not a game number"),
    ({"game_ids": [99999]}, "game_ids", "99999"),
    ({"target": "nowhere"}, "target", "no target called 'nowhere'"),
    ({"options": {"regenerate_schema": "yes"}}, "regenerate_schema", "true or false"),
    ({"options": {"frobnicate": True}}, "options", "frobnicate"),
    ({"colour": "red"}, "colour", "unknown field"),
    ([1, 2], "body", "JSON object"),
    ("{not json", "body", "not valid JSON"),
    ({"tables": ["dim_team"], "exclude_tables": ["dim_team"]}, "tables", "no table"),
])
def test_trigger_400_names_field(client, operator, body, field, words):
    response = post(client, "/api/etl/trigger", body, operator)
    assert response.status_code == 400, response.content
    data = response.json()
    assert data["field"] == field and words in data["error"] and data["error"].startswith(f"{field}: ")
    assert Run.objects.count() == 0


def test_status_history_cancel_404_and_mapping(client, operator):
    assert client.get("/api/etl/status/999999", **auth(operator)).status_code == 404
    assert client.get("/api/upload/status/999999", **auth(operator)).status_code == 404
    assert client.post("/api/etl/cancel/999999", **auth(operator)).status_code == 404
    plan = build_plan(["etl"], etl={"games": GAMES, "tables": TABLES})
    done = create_run(plan, Run.Trigger.API, enqueue=False)
    Run.objects.filter(pk=done.pk).update(status=Run.Status.SUCCEEDED, percent=100.0)
    done.steps.update(status=RunStep.Status.SUCCEEDED)
    skipped = create_run(plan, Run.Trigger.API, enqueue=False)
    Run.objects.filter(pk=skipped.pk).update(status=Run.Status.SKIPPED)
    queued = create_run(plan, Run.Trigger.API, enqueue=False)
    job = client.get(f"/api/upload/status/{done.pk}", **auth(operator)).json()
    assert job["status"] == "completed" and job["progress"] == 100 and job["tables_created"] == TABLES
    job = client.get(f"/api/etl/status/{skipped.pk}", **auth(operator)).json()
    assert job["status"] == "failed" and job["errors"]
    history = client.get("/api/etl/history?limit=2", **auth(operator)).json()
    assert [j["job_id"] for j in history["jobs"]] == [queued.pk, skipped.pk]
    history = client.get("/api/etl/history?status=failed", **auth(operator)).json()
    assert [j["job_id"] for j in history["jobs"]] == [skipped.pk]
    for bad in ("limit=0", "limit=x", "limit=101", "status=done"):
        response = client.get(f"/api/etl/history?{bad}", **auth(operator))
        assert response.status_code == 400 and response.json()["field"] == bad.split("=")[0]
    response = client.post(f"/api/etl/cancel/{queued.pk}", **auth(operator))
    assert response.status_code == 200 and response.json()["outcome"] == "cancelled"
    assert response.json()["job"]["status"] == "cancelled"
    assert client.post(f"/api/etl/cancel/{queued.pk}", **auth(operator)).json()["outcome"] == "finished"
    assert client.get(f"/api/etl/cancel/{queued.pk}", **auth(operator)).status_code == 405


def test_generate_download_and_load_schema(client, viewer, dirs):
    admin_token = token_for("schema admin")
    assert client.get("/api/upload/schema-file", **auth(viewer)).status_code == 404
    assert post(client, "/api/upload/generate-schema", {}, viewer).status_code == 403
    response = post(client, "/api/upload/generate-schema", {"patterns": ["dim_*"], "exclude": "dim_venue"},
                    admin_token)
    assert response.status_code == 200, response.content
    info = response.json()
    assert (dirs / "schema" / "latest.sql").stat().st_size == info["size"]
    assert "dim_team" in info["tables"] and "dim_venue" not in info["tables"] and Run.objects.count() == 0
    download = client.get("/api/upload/schema-file", **auth(viewer))
    assert download.status_code == 200
    sql = b"".join(download.streaming_content).decode()
    assert "dim_team" in sql and "CREATE TABLE" in sql.upper() and len(sql.encode()) == info["size"]
    response = post(client, "/api/upload/load-schema", {"target": "embedded"}, admin_token)
    assert response.status_code == 202, response.content
    run = Run.objects.get(pk=response.json()["job_id"])
    assert run.stages == ["schema"] and run.plan["schema"]["resolved"]["tables"] == info["tables"]
    assert run.plan["schema"]["allow_destructive"] is False and run.trigger == "api"
    operator = token_for("operator", "op3")
    assert post(client, "/api/upload/load-schema", {}, operator).status_code == 403
    # destructive: needs apply_destructive_schema (schema admin has it; a user with only apply_schema does not)
    response = post(client, "/api/upload/load-schema", {"allow_destructive": True, "tables": ["fact_goals"]},
                    admin_token)
    assert response.status_code == 202 and Run.objects.get(pk=response.json()["job_id"]).plan["schema"][
        "allow_destructive"]
    from django.contrib.auth.models import Permission

    limited = User.objects.create_user("limited")
    limited.user_permissions.add(*Permission.objects.filter(codename__in=["view_run", "apply_schema"]))
    raw = ApiToken.issue(limited)[1]
    assert post(client, "/api/upload/load-schema", {"allow_destructive": True}, raw).status_code == 403
    assert post(client, "/api/upload/load-schema", {}, raw).status_code == 202
    for body, field in (({"tables": ["nope"]}, "tables"), ({"rls_role": "bad role!"}, "rls_role"),
                        ({"pk": False}, "fk"), ({"pk": "no"}, "pk")):
        response = post(client, "/api/upload/generate-schema", body, admin_token)
        assert response.status_code == 400 and response.json()["field"] == field, (body, response.content)


def test_to_supabase(client, operator, viewer, dirs, sample_src):
    from etl.pipeline import EtlOptions, run_etl

    run_etl(EtlOptions(data_dir=str(sample_src), output_dir=str(dirs / "output"), games=GAMES))
    body = {"tables": ["dim_team", "fact_goals"], "pattern": "fact_player*",
            "exclude_tables": ["fact_player_game_stats"], "game_ids": [30001]}
    assert post(client, "/api/upload/to-supabase", body, viewer).status_code == 403
    response = post(client, "/api/upload/to-supabase", body, operator)
    assert response.status_code == 202, response.content
    run = Run.objects.get(pk=response.json()["job_id"])
    names = {t["name"] for t in run.plan["sync"]["resolved"]["tables"]}
    assert run.stages == ["sync"] and "fact_player_game_stats" not in names
    assert {"dim_team", "fact_goals", "fact_player_season_stats_basic"} <= names
    # dry run: read-only, no Run; the (test) target has no URL: a 400 naming the target
    response = post(client, "/api/upload/to-supabase", {**body, "dry_run": True}, viewer)
    assert response.status_code == 400 and response.json()["field"] == "target"
    assert Run.objects.count() == 1
    for bad, field in (({"pattern": "zz*"}, "pattern"), ({"mode": "everything"}, "mode"),
                       ({"game_ids": "x"}, "game_ids"), ({"dry_run": "yes"}, "dry_run")):
        response = post(client, "/api/upload/to-supabase", bad, operator)
        assert response.status_code == 400 and response.json()["field"] == field, (bad, response.content)


def test_health_and_openapi_need_no_token(client, monkeypatch):
    monkeypatch.setenv("HOCKEYOPS_TARGET_SECRETDB_URL", "postgresql://u:hunter2@127.0.0.1:1/x")
    response = client.get("/api/health")
    assert response.status_code == 200
    data = response.json()
    assert data["database"]["ok"] is True and data["broker"]["ok"] is True
    assert data["targets"]["secretdb"]["ok"] is False and data["status"] == "degraded"
    assert "hunter2" not in response.content.decode() and "127.0.0.1:1" not in response.content.decode()
    spec = client.get("/api/openapi.json").json()
    from openapi_spec_validator import validate

    validate(spec)
    from jobs.api.urls import urlpatterns

    documented = {p.replace("{run_id}", "<int:run_id>") for p in spec["paths"]}
    assert {f"/api/{p.pattern}" for p in urlpatterns} - {"/api/openapi.json"} == documented


def test_health_is_cached_and_rate_limited(client, settings, monkeypatch):
    settings.HOCKEYOPS_HEALTH_RATE_PER_MINUTE = 5
    calls = []
    from jobs.api import views

    real = views._target_health
    monkeypatch.setattr(views, "_target_health", lambda info: calls.append(info.name) or real(info))
    answers = [client.get("/api/health") for _ in range(7)]
    assert [a.status_code for a in answers[:5]] == [200] * 5
    assert answers[5].status_code == 429 and "too many health checks" in answers[5].json()["error"]
    assert len(calls) == len(set(calls))  # each target checked once: the report was cached


def test_csrf_exempt_with_enforcing_client(operator):
    from django.test import Client

    response = post(Client(enforce_csrf_checks=True), "/api/etl/trigger", {"game_ids": GAMES}, operator)
    assert response.status_code == 202


# --- fuzz: every endpoint, arbitrary JSON bodies and ids; never a 5xx, and the documented shapes ---

JSON = st.recursive(st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.text(max_size=12)
                    | st.sampled_from(["dim_team", "fact_*", "dims", "30001", "embedded", "full", "single"]),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                 max_size=3), max_leaves=8)
FIELDS = ["mode", "game_ids", "exclude_game_ids", "tables", "exclude_tables", "source", "options", "target",
          "pattern", "patterns", "modes", "exclude", "dry_run", "pk", "fk", "rls", "rls_role", "allow_destructive",
          "per_table_commit", "verify"]
BODIES = st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=5) | JSON
POSTS = ["/api/etl/trigger", "/api/upload/generate-schema", "/api/upload/load-schema", "/api/upload/to-supabase"]


def _check_shape(response, expected_2xx: str | None) -> None:
    assert response.status_code < 500, response.content
    if response.status_code >= 400:
        data = response.json()
        assert isinstance(data["error"], str) and isinstance(data["field"], str)
    elif expected_2xx == "job":
        assert set(document()["components"]["schemas"]["Job"]["required"]) <= set(response.json())


@hsettings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(path=st.sampled_from(POSTS), body=BODIES)
def test_fuzz_post_bodies_no_5xx(client, path, body):
    User.objects.filter(username="fuzz").delete()
    raw = token_for("schema admin", "fuzz")
    response = post(client, path, body, raw)
    expected = "job" if response.status_code == 202 else None
    _check_shape(response, expected)


@hsettings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(run_id=st.integers(0, 2**31), limit=st.text(max_size=5), status=st.text(max_size=10))
def test_fuzz_reads_no_5xx(client, run_id, limit, status):
    User.objects.filter(username="fuzz-r").delete()
    raw = token_for("viewer", "fuzz-r")
    for path in (f"/api/etl/status/{run_id}", f"/api/upload/status/{run_id}"):
        _check_shape(client.get(path, **auth(raw)), "job")
    _check_shape(client.get("/api/etl/history", {"limit": limit, "status": status}, **auth(raw)), None)
    _check_shape(client.post(f"/api/etl/cancel/{run_id}", **auth(raw)), None)


def test_admin_creates_token_shown_once_and_revokes(client):
    admin_user = User.objects.create_superuser("boss", password="pw")
    owner = User.objects.create_user("owner")
    owner.groups.add(ensure_groups()["viewer"])
    client.force_login(admin_user)
    response = client.post("/admin/jobs/apitoken/add/", {"user": owner.pk, "name": "site"}, follow=True)
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    token = ApiToken.objects.get()
    raw = next(word for m in shown for word in m.replace("<", " ").replace(">", " ").split()
               if word.startswith(token.prefix))
    assert token.key_hash == hash_token(raw) and token.user == owner
    page = client.get(f"/admin/jobs/apitoken/{token.pk}/change/").content.decode()
    assert raw not in page and token.key_hash not in page
    assert client.get("/api/etl/history", **auth(raw)).status_code == 200
    listing = client.get("/admin/jobs/apitoken/").content.decode()
    assert token.prefix in listing and raw not in listing
    client.post("/admin/jobs/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    token.refresh_from_db()
    assert token.revoked and client.get("/api/etl/history", **auth(raw)).status_code == 401


def test_odd_numbers_and_deep_bodies_are_400s_naming_the_field(client, operator):
    history = client.get("/api/etl/history", {"limit": "²"}, HTTP_AUTHORIZATION=f"Bearer {operator}")
    assert history.status_code == 400 and history.json()["field"] == "limit"
    for bad in (["²"], ["9" * 5000], [int("9" * 30)]):
        response = post(client, "/api/etl/trigger", {"game_ids": bad}, operator)
        assert response.status_code == 400 and response.json()["field"] == "game_ids", response.content[:200]
    deep = "[" * 100_000 + "]" * 100_000
    response = client.post("/api/etl/trigger", deep, content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {operator}")
    assert response.status_code == 400 and response.json()["field"] == "body"
    huge = post(client, "/api/etl/trigger", {"exclude_game_ids": list(range(1, 20_002))}, operator)
    assert huge.status_code == 400 and huge.json()["field"] == "exclude_game_ids"


def test_a_command_prints_a_sentence_not_a_traceback(monkeypatch):
    import io

    from django.core.management import call_command
    from django.core.management.base import CommandError

    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("jobs.management.commands.etl.run_here", boom)
    with pytest.raises(CommandError, match=r"Unexpected error \(RuntimeError: disk on fire\)\. Run the command again "
                                           r"with --traceback"):
        call_command("etl", stdout=io.StringIO(), stderr=io.StringIO())
