"""Fencing (issue 11, findings 1 and 3): a Run that lost its lease cannot publish outputs or commit to a target,
and one place (a database, an output folder) has one writer however many names point at it."""
from __future__ import annotations

import psycopg
import pytest

from etl.pipeline import EtlOptions, run_etl
from jobs.models import Run, TargetLease
from jobs.services import locking
from jobs.services.execute import cancel_token, execute_run
from jobs.services.plans import build_plan
from jobs.services.runs import create_run
from tests.test_sync_guard import exact

pytestmark = pytest.mark.django_db(transaction=True)


def leased(stages, places, **plan) -> Run:
    run = create_run(build_plan(stages, **plan), Run.Trigger.CLI, enqueue=False)
    Run.objects.filter(pk=run.pk).update(status=Run.Status.RUNNING)
    for place in places:
        TargetLease.objects.create(place=place, target_name=run.target_name, run=run, holder=locking.process_token())
    return run


def hashes(folder) -> dict:
    import hashlib

    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_an_etl_that_lost_its_lease_does_not_publish(run_dirs, league, settings):
    out = settings.HOCKEYOPS_OUTPUT_DIR
    run_etl(EtlOptions(data_dir=str(league), output_dir=str(out), tables=["dims"]))
    before = hashes(out)
    place = locking.output_place(out)
    run = leased(["etl"], [place])
    TargetLease.objects.filter(run=run).delete()  # taken over while it built
    with pytest.raises(locking.LeaseLost, match="lost its lease"):
        run_etl(EtlOptions(data_dir=str(league), output_dir=str(out)), cancel=cancel_token(run),
                publish_guard=lambda: locking.fence(run.pk, place))
    assert hashes(out) == before
    locking.release(run)


def test_a_sync_that_lost_its_lease_does_not_commit(warehouse, league, settings):
    from etl.sync import SyncOptions, sync_tables

    first = create_run(build_plan(["etl", "schema", "sync"], target="warehouse"), Run.Trigger.CLI, enqueue=False)
    execute_run(first.pk)
    assert Run.objects.get(pk=first.pk).status == Run.Status.SUCCEEDED
    before = exact(warehouse)
    run = leased(["sync"], [locking.database_place(warehouse)], target="warehouse")
    token = cancel_token(run)
    TargetLease.objects.filter(run=run).delete()  # declared lost: the reaper took its lease
    with pytest.raises(locking.LeaseLost):
        sync_tables(warehouse, settings.HOCKEYOPS_OUTPUT_DIR, SyncOptions(allow_shrink=True), target_name="warehouse",
                    cancel=token)
    assert exact(warehouse) == before  # the load rolled back at the fence, before its commit
    locking.release(run)


def test_two_names_for_one_database_are_one_place(warehouse, monkeypatch):
    info = psycopg.conninfo.conninfo_to_dict(warehouse)
    spelled = f"postgresql://{info['user']}@localhost:{info['port']}/{info['dbname']}"
    assert locking.database_place(warehouse) == locking.database_place(spelled)
    assert locking.database_place(warehouse) != locking.database_place(spelled.rsplit("/", 1)[0] + "/other")
    monkeypatch.setenv("HOCKEYOPS_TARGET_ALIAS_URL", spelled)
    holder = leased(["schema"], [locking.database_place(warehouse)], target="warehouse")
    second = create_run(build_plan(["schema"], target="alias"), Run.Trigger.CLI, enqueue=False, collision="skip")
    assert execute_run(second.pk) == Run.Status.SKIPPED  # the alias's writer waits for (here: skips) the holder
    assert f"busy with Run #{holder.pk}" in Run.objects.get(pk=second.pk).error_summary
    locking.release(holder)


def test_etl_runs_for_different_targets_share_one_output_lease(run_dirs, monkeypatch):
    monkeypatch.setenv("HOCKEYOPS_TARGET_OTHER_URL", "postgresql://nobody@127.0.0.1:1/none")
    holder = leased(["etl"], [locking.output_place(run_dirs / "output")], target="embedded", etl={"tables": ["dims"]})
    other = create_run(build_plan(["etl"], target="other", etl={"tables": ["dims"]}), Run.Trigger.CLI,
                       enqueue=False, collision="skip")
    assert execute_run(other.pk) == Run.Status.SKIPPED
    locking.release(holder)
