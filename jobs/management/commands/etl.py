"""python manage.py etl: build the warehouse tables from the league's workbooks."""
from __future__ import annotations

import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from etl.errors import EtlError
from etl.pipeline import EtlOptions, plan_etl, run_etl
from jobs.cli import ProgressBar


class Command(BaseCommand):
    help = (
        "Build dimension, fact and QA tables from the league's Excel workbooks and publish them as CSV "
        "files plus manifest.json. Tables and games take names, globs (fact_player*) and modes "
        "(all, dims, facts, qa, basic, tracking)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--data-dir", default=str(settings.HOCKEYOPS_DATA_DIR),
                            help="Folder with BLB_TABLES.xlsx and games/<id>/<id>_tracking.xlsx.")
        parser.add_argument("--output-dir", default=str(settings.HOCKEYOPS_OUTPUT_DIR),
                            help="Folder the CSV outputs are published to.")
        parser.add_argument("--games", nargs="*", default=[], help="Only these game ids (default: all).")
        parser.add_argument("--exclude-games", nargs="*", default=[], help="Leave these game ids out.")
        parser.add_argument("--tables", nargs="*", default=[],
                            help="Tables to write: names, globs or modes (default: all).")
        parser.add_argument("--exclude-tables", nargs="*", default=[], help="Tables (names or globs) to skip.")
        parser.add_argument("--mode", choices=["full", "incremental"], default="full",
                            help="incremental rebuilds only games whose workbook changed.")
        parser.add_argument("--source", choices=["excel"], default="excel", help="Where inputs are read from.")
        parser.add_argument("--dry-run", action="store_true", help="Print the plan and write nothing.")
        parser.add_argument("--json", action="store_true", help="Print the plan or result as JSON.")

    def handle(self, *args, **opts):
        options = EtlOptions(
            data_dir=opts["data_dir"], output_dir=opts["output_dir"], games=opts["games"],
            exclude_games=opts["exclude_games"], tables=opts["tables"], exclude_tables=opts["exclude_tables"],
            mode=opts["mode"], source=opts["source"],
        )
        try:
            plan = plan_etl(options)
            if opts["dry_run"]:
                self.stdout.write(json.dumps(plan.as_dict(), indent=2) if opts["json"] else plan.describe())
                return
            result = run_etl(options, reporter=ProgressBar(self.stderr._out), plan=plan)
        except EtlError as exc:
            raise CommandError(str(exc)) from None
        if opts["json"]:
            self.stdout.write(json.dumps(result.manifest, indent=2, default=str))
        else:
            self.stdout.write(result.summary())
