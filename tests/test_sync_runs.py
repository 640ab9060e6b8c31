"""The sync stage and the staging source through Runs: full pipeline Jobs, CLI audit trail, staging ETL."""
from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from django.core.management import call_command
from psycopg import sql

from etl.catalog import TABLES
from jobs.models import Job, Run
from jobs.services.plans import build_plan
from jobs.services.runs import create_run, run_job

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture()
def target(warehouse: str) -> str:
    return warehouse


def counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return {t.name: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(t.name))).fetchone()[0]
                for t in TABLES}


def test_full_pipeline_job_loads_every_table_and_reruns_idempotently(target, settings):
    job = Job.objects.create(name="full", stages=["sync", "schema", "etl"], target_name="warehouse")
    run = run_job(job, Run.Trigger.ADMIN)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error_summary
    assert run.plan["stages"] == ["etl", "schema", "sync"] and run.percent == 100.0
    assert set(run.steps.values_list("status", flat=True)) == {"succeeded"}
    manifest = json.loads((Path(settings.HOCKEYOPS_OUTPUT_DIR) / "manifest.json").read_text())
    expected = {name: info["rows"] for name, info in manifest["tables"].items()}
    assert counts(target) == expected
    result = json.loads(Path(run.artifacts.get(name="sync_result.json").path).read_text())
    assert result["atomic"] and result["rows"] == sum(expected.values())
    assert target not in json.dumps(run.plan)

    again = run_job(job, Run.Trigger.ADMIN)
    again.refresh_from_db()
    assert again.status == "succeeded" and counts(target) == expected


def test_sync_command_records_a_run_and_dry_run_writes_nothing(target, capsys, settings, league):
    from etl.pipeline import EtlOptions, run_etl

    run_etl(EtlOptions(data_dir=str(league), output_dir=str(settings.HOCKEYOPS_OUTPUT_DIR)))
    call_command("schema", "apply", "--target", "warehouse")
    call_command("sync", "--target", "warehouse", "--pattern", "fact_player*", "--dry-run",
                 "--output-dir", str(settings.HOCKEYOPS_OUTPUT_DIR))
    assert "fact_player_game_stats" in capsys.readouterr().out
    assert counts(target)["fact_player_game_stats"] == 0
    assert not Run.objects.filter(plan__stages=["sync"]).exists()
    out = str(settings.HOCKEYOPS_OUTPUT_DIR)
    call_command("sync", "--target", "warehouse", "--mode", "dims", "--tables", "fact_gameroster", "--output-dir", out)
    call_command("sync", "--target", "warehouse", "--pattern", "fact_player*", "--exclude", "*basic",
                 "--output-dir", out)
    runs = Run.objects.filter(plan__stages=["sync"])
    assert [(r.trigger, r.status) for r in runs] == [("cli", "succeeded")] * 2
    loaded = counts(target)
    assert loaded["fact_player_game_stats"] > 0 and loaded["fact_player_season_stats_basic"] == 0


def test_etl_from_staging_tables_equals_excel(target, settings, league, tmp_path):
    from etl.pipeline import EtlOptions, run_etl
    from etl.staging import stage_inputs

    excel = run_etl(EtlOptions(data_dir=str(league), output_dir=str(tmp_path / "excel")))
    stage_inputs(target, league)
    plan = build_plan(["etl"], etl={"source": "staging", "output_dir": str(tmp_path / "staged")},
                      target="warehouse")
    assert target not in json.dumps(plan)
    run = create_run(plan, Run.Trigger.ADMIN)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error_summary
    staged = json.loads((tmp_path / "staged" / "manifest.json").read_text())
    assert {n: t["sha256"] for n, t in staged["tables"].items()} == \
        {n: t["sha256"] for n, t in excel.manifest["tables"].items()}
