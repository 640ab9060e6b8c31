"""python manage.py run_job NAME [--wait]: queue a Run of a saved Job (trigger cli)."""
from __future__ import annotations

import time

from django.core.management.base import CommandError
from django.db import transaction

from jobs.cli import ProgressBar, print_run
from jobs.management.base import HockeyopsCommand
from jobs.models import Job, Run
from jobs.services.plans import PlanError
from jobs.services.runs import run_job


class Command(HockeyopsCommand):
    help = "Queue a Run of the Job called NAME; with --wait, follow its progress until it finishes."

    def add_arguments(self, parser):
        parser.add_argument("name", help="Job name (see Jobs in the admin).")
        parser.add_argument("--wait", action="store_true", help="Wait for the run to finish, showing progress.")
        parser.add_argument("--timeout", type=float, default=3600, help="Seconds to wait at most (with --wait).")

    def handle(self, *args, **opts):
        job = Job.objects.filter(name=opts["name"]).first()
        if job is None:
            names = ", ".join(Job.objects.values_list("name", flat=True)[:10]) or "none yet"
            raise CommandError(f"There is no Job called '{opts['name']}' (jobs: {names}).")
        try:
            with transaction.atomic():
                run = run_job(job, Run.Trigger.CLI)
        except PlanError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Queued Run #{run.pk} of Job '{job.name}'.")
        if not opts["wait"]:
            return
        bar = ProgressBar(self.stderr._out)
        deadline = time.monotonic() + opts["timeout"]
        while True:
            run.refresh_from_db()
            bar.progress(run.units_done, max(run.units_total, 1), run.current_unit or run.status, run.rows)
            if run.is_terminal:
                break
            if time.monotonic() > deadline:
                raise CommandError(f"Run #{run.pk} is still {run.status} after {opts['timeout']:.0f}s.")
            time.sleep(0.5)
        print_run(run, self.stdout.write)
        if run.status != Run.Status.SUCCEEDED:
            raise CommandError(f"Run #{run.pk} {run.status}: {run.error_summary}")
