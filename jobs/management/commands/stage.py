"""python manage.py stage --target NAME --data-dir DIR: copy the raw workbooks into the target's stage_* tables."""
from __future__ import annotations

import json

from django.conf import settings
from django.core.management.base import CommandError

from etl.errors import EtlError
from etl.staging import stage_inputs
from jobs.cli import EchoReporter
from jobs.management.base import HockeyopsCommand

from .sync import resolve_target


class Command(HockeyopsCommand):
    help = (
        "Load the master sheets and each game's events and shifts sheets into the target's stage_* tables, so "
        "that `etl --source staging --target NAME` can read them instead of the Excel files. A game's rows are "
        "replaced atomically; unchanged workbooks (same sha256) are skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("--target", default="embedded", help="Target name (default: embedded).")
        parser.add_argument("--data-dir", default=str(settings.HOCKEYOPS_DATA_DIR),
                            help="Folder with BLB_TABLES.xlsx and games/<id>/<id>_tracking.xlsx.")
        parser.add_argument("--games", nargs="*", default=None,
                            help="Only these games (default: every game; staged games no longer there are removed).")
        parser.add_argument("--force", action="store_true", help="Re-stage workbooks even when unchanged.")
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")

    def handle(self, *args, **opts):
        url, key = resolve_target(opts["target"])
        if key is not None:
            raise CommandError(f"Target {opts['target']} is a Supabase REST target; staging needs a PostgreSQL URL.")
        reporter = EchoReporter(self.stderr.write, opts["verbosity"])
        try:
            result = stage_inputs(url, opts["data_dir"], opts["games"] or None, target_name=opts["target"],
                                  force=opts["force"], reporter=reporter)
        except EtlError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(json.dumps(result.as_dict(), indent=2) if opts["json"] else result.summary())
