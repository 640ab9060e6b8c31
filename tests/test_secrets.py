"""Secrets never reach a log, an error summary, a step, an API answer or the CLI, whatever the URL's shape."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from jobs.models import Run
from jobs.services.execute import execute_run
from jobs.services.plans import build_plan
from jobs.services.redact import redact, url_secrets
from jobs.services.runs import create_run

# passwords the redaction used to miss: raw '%', a space, '@', ':', unicode
PASSWORDS = ["pa%ss word", "p@ss:w0rd!", "pässwörd€", "100%raw"]


@pytest.mark.parametrize("password", PASSWORDS)
def test_redaction_by_value_whatever_the_url_shape(password, monkeypatch):
    from urllib.parse import quote

    raw = f"postgresql://league:{password}@127.0.0.1:1/warehouse"
    encoded = f"postgresql://league:{quote(password, safe='')}@127.0.0.1:1/warehouse"
    keywords = f"host=127.0.0.1 port=1 password='{password}' dbname=w"
    for url in (raw, encoded, keywords):
        assert password in url_secrets(url) or quote(password, safe="") in url_secrets(url)
    monkeypatch.setenv("HOCKEYOPS_TARGET_LEAKY_URL", raw)
    monkeypatch.setenv("LEAGUE_SERVICE_KEY", "sk-the-service-key-123")
    text = (f"connection to {raw} failed; retried {encoded}; password was {password} "
            f"(encoded {quote(password, safe='')}); key sk-the-service-key-123")
    clean = redact(text)
    assert password not in clean and quote(password, safe="") not in clean
    assert "sk-the-service-key-123" not in clean and "***" in clean


@pytest.mark.django_db
@pytest.mark.parametrize("password", PASSWORDS[:2])
def test_no_secret_in_run_records_cli_or_api(password, monkeypatch, run_dirs, client, capsys):
    from tests.test_api import post, token_for

    monkeypatch.setenv("HOCKEYOPS_TARGET_LEAKY_URL", f"postgresql://league:{password}@127.0.0.1:1/warehouse")
    run = create_run(build_plan(["schema"], target="leaky"), Run.Trigger.CLI, enqueue=False)
    execute_run(run.pk)
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED
    records = [run.error_summary, *run.logs.values_list("message", flat=True),
               *run.steps.values_list("detail", flat=True),
               Path(run.artifacts.get(name="run.log").path).read_text()]
    assert all(password not in text for text in records), records

    err = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("schema", "plan", "--target", "leaky", stderr=err, stdout=io.StringIO())
    assert password not in str(caught.value) + err.getvalue()

    response = post(client, "/api/upload/to-supabase", {"target": "leaky", "dry_run": True}, token_for("viewer"))
    assert response.status_code in (400, 409) and password not in response.content.decode()
