"""python manage.py demo: the `demo` Job (every available stage, embedded target) on the sample league."""
from __future__ import annotations

import csv
from pathlib import Path

import psycopg
from django.conf import settings
from django.core.management.base import CommandError
from django.db import transaction
from psycopg import sql

from etl.catalog import TABLES
from etl.excel_source import discover_games
from jobs.cli import ProgressBar, print_run
from jobs.management.base import HockeyopsCommand
from jobs.models import Job, Run
from jobs.services.execute import execute_run
from jobs.services.plans import PlanError
from jobs.services.runs import run_job
from jobs.services.schedules import sync_schedule
from jobs.services.targets import resolve_url
from samples.league import generate_league

AVAILABLE_STAGES = ["etl", "schema", "sync"]


class Command(HockeyopsCommand):
    help = "Create or update the Job 'demo' and run it in-process on the embedded default, then print the Run."

    def handle(self, *args, **opts):
        data_dir = Path(settings.HOCKEYOPS_DATA_DIR)
        if not data_dir.exists() or not discover_games(data_dir):
            self.stdout.write(f"Generating the sample league in {data_dir} ...")
            generate_league(data_dir, games=6, seed=7)
        job, created = Job.objects.update_or_create(name="demo", defaults={
            "description": "Every available stage on the bundled sample league (created by `make demo`).",
            "stages": AVAILABLE_STAGES, "target_name": "embedded", "mode": Job.Mode.FULL, "games": [],
            "tables": [], "exclude_games": [], "exclude_tables": [],
            # the embedded target is the demo's scratch database: a newer sample league may hold fewer rows
            "sync_options": {"allow_shrink": True},
        })
        sync_schedule(job)
        self.stdout.write(f"{'Created' if created else 'Updated'} Job 'demo' (stages: {', '.join(job.stages)}).")
        try:
            with transaction.atomic():
                run = run_job(job, Run.Trigger.CLI, enqueue=False)
        except PlanError as exc:
            raise CommandError(str(exc)) from None
        execute_run(run.pk, echo=ProgressBar(self.stderr._out))
        run.refresh_from_db()
        print_run(run, self.stdout.write)
        self.stdout.write(f"Outputs: {settings.HOCKEYOPS_OUTPUT_DIR}")
        self.stdout.write(self._goal_check(Path(settings.HOCKEYOPS_OUTPUT_DIR)))
        if run.status != Run.Status.SUCCEEDED:
            raise CommandError(f"Run #{run.pk} {run.status}: {run.error_summary}")
        self._read_back(job.target_name)

    def _read_back(self, target: str) -> None:
        """Row counts per table as the target holds them after the sync."""

        with psycopg.connect(resolve_url(target)) as conn:
            self.stdout.write(f"Read back from target '{target}':")
            for table in TABLES:
                count = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table.name))).fetchone()
                self.stdout.write(f"  {table.name:<32} {count[0]:>9,} rows")

    @staticmethod
    def _goal_check(output_dir: Path) -> str:
        path = output_dir / "qa_goal_verification.csv"
        if not path.exists():
            return ""
        with open(path, newline="") as fh:
            rows = list(csv.DictReader(fh))
        ok = sum(1 for r in rows if r["match"] == "true")
        return f"Goal verification: {ok}/{len(rows)} team-games match the official score."
