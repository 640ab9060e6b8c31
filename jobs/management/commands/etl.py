"""python manage.py etl: build the warehouse tables from the league's workbooks (recorded as a Run)."""
from __future__ import annotations

import json

from django.conf import settings
from django.core.management.base import CommandError

from etl.errors import EtlError
from etl.pipeline import plan_etl
from jobs.cli import ProgressBar, cli_request, print_run, run_here
from jobs.management.base import HockeyopsCommand
from jobs.models import Run
from jobs.services.plans import etl_options


class Command(HockeyopsCommand):
    help = (
        "Build dimension, fact and QA tables from the league's Excel workbooks and publish them as CSV "
        "files plus manifest.json. Tables take names, globs (fact_player*) and modes "
        "(all, dims, facts, qa, basic, tracking). Every run is recorded as a Run (trigger cli)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--data-dir", default=str(settings.HOCKEYOPS_DATA_DIR),
                            help="Folder with BLB_TABLES.xlsx and games/<id>/<id>_tracking.xlsx.")
        parser.add_argument("--output-dir", default=str(settings.HOCKEYOPS_OUTPUT_DIR),
                            help="Folder the CSV outputs are published to.")
        parser.add_argument("--games", nargs="*", default=[],
                            help="Rebuild these game ids, separated by spaces or commas (default: all); every other "
                                 "game of the published outputs is kept as it is.")
        parser.add_argument("--exclude-games", nargs="*", default=[],
                            help="Do not rebuild these game ids (they stay as published).")
        parser.add_argument("--tables", nargs="*", default=[],
                            help="Tables to write: names, globs or modes (default: all).")
        parser.add_argument("--exclude-tables", nargs="*", default=[], help="Tables (names or globs) to skip.")
        parser.add_argument("--mode", choices=["full", "incremental"], default="full",
                            help="incremental rebuilds only games whose workbook changed.")
        parser.add_argument("--source", choices=["excel", "staging"], default="excel",
                            help="Read the Excel workbooks, or the stage_* tables in --target (see `stage`).")
        parser.add_argument("--target", default="embedded",
                            help="Target the run is recorded against (and, with --source staging, read from).")
        parser.add_argument("--dry-run", action="store_true", help="Print the plan and write nothing.")
        parser.add_argument("--json", action="store_true", help="Print the plan or the manifest as JSON.")

    def handle(self, *args, **opts):
        request = cli_request("etl", {k: opts[k] for k in ("data_dir", "output_dir", "games", "exclude_games",
                                                             "tables", "exclude_tables", "mode", "source")})
        if opts["dry_run"]:
            try:
                plan = plan_etl(etl_options(request, opts["target"]))
            except (EtlError, ValueError) as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(json.dumps(plan.as_dict(), indent=2) if opts["json"] else plan.describe())
            return
        run = run_here(["etl"], ProgressBar(self.stderr._out), etl=request, target=opts["target"])
        if opts["json"] and run.status == Run.Status.SUCCEEDED:
            self.stdout.write(json.dumps(run.plan, indent=2))
        else:
            print_run(run, self.stdout.write)
        if run.status != Run.Status.SUCCEEDED:
            raise CommandError(f"Run #{run.pk} {run.status}: {run.error_summary}")
