"""python manage.py sync --target NAME: load the ETL outputs into a target (recorded as a Run; --dry-run plans only)."""
from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError

from etl.errors import EtlError
from etl.selection import MODES
from etl.sync import plan_sync, resolve_sync, transport_of
from jobs.cli import EchoReporter, cli_request, print_run, run_here
from jobs.management.base import HockeyopsCommand
from jobs.models import Run
from jobs.services.plans import sync_options
from jobs.services.targets import resolve_credentials


def resolve_target(name: str) -> tuple[str, str | None]:
    """(URL, service key or None) of target ``name``; the URL is a secret and is never printed."""
    try:
        return resolve_credentials(name)
    except ValueError as exc:
        raise CommandError(str(exc)) from None


class Command(HockeyopsCommand):
    help = (
        "Load the ETL outputs (CSV files + manifest.json) into a target. PostgreSQL targets load with COPY in one "
        "transaction under the target's writer lock (readers keep seeing the old rows until the commit) and are "
        "verified against the manifest afterwards; Supabase REST targets get batched upserts (not atomic)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--target", default="embedded", help="Target name (default: embedded).")
        parser.add_argument("--output-dir", default=str(settings.HOCKEYOPS_OUTPUT_DIR),
                            help="Folder with the ETL outputs (default: HOCKEYOPS_OUTPUT_DIR).")
        group = parser.add_argument_group("table selection (the same grammar as the ETL)")
        group.add_argument("--mode", action="append", default=[], choices=list(MODES),
                           help="Tables by mode; repeatable, union (default: all).")
        group.add_argument("--tables", nargs="*", default=[], help="Table names.")
        group.add_argument("--pattern", action="append", default=[], help="Glob such as 'fact_player*'; repeatable.")
        group.add_argument("--exclude", nargs="*", default=[], help="Names or globs to leave out.")
        parser.add_argument("--games", nargs="*", default=[],
                            help="Replace only these games' rows of game-scoped tables (other tables: full refresh).")
        parser.add_argument("--per-table-commit", action="store_true",
                            help="Commit each table on its own (very large loads) instead of all or nothing.")
        parser.add_argument("--resume-from", nargs="*", default=[],
                            help="Skip tables these earlier sync ids committed from the same files.")
        parser.add_argument("--full-refresh", action="store_true",
                            help="Load every selected table whole; otherwise only the tables and games that changed "
                                 "since the target's last sync are loaded.")
        parser.add_argument("--allow-shrink", action="store_true",
                            help="Allow a sync that removes a game's rows from the target or shrinks a table by "
                                 "more than --max-shrink (refused otherwise, naming the tables and games).")
        parser.add_argument("--max-shrink", type=float, default=None,
                            help="Largest share a table may shrink by without --allow-shrink "
                                 "(default HOCKEYOPS_SYNC_MAX_SHRINK, 0.10).")
        parser.add_argument("--no-verify", action="store_true", help="Skip the verification after the commit.")
        parser.add_argument("--lock-timeout", default="30s",
                            help="How long a statement may wait for a table lock (PostgreSQL interval, default 30s).")
        parser.add_argument("--lock-wait", type=float, default=600.0,
                            help="Seconds to wait for another writer on the target (default 600).")
        parser.add_argument("--dry-run", action="store_true",
                            help="Print each table's rows, strategy, rows now and after, the rows it would replace, "
                                 "and WARNING lines for shrinking tables and missing references; write nothing.")
        parser.add_argument("--json", action="store_true", help="Print the plan or the result as JSON.")

    def handle(self, *args, **opts):
        request = cli_request("sync", {
            "tables": [*opts["mode"], *opts["tables"], *opts["pattern"]], "exclude_tables": opts["exclude"],
            "games": opts["games"], "per_table_commit": opts["per_table_commit"], "verify": not opts["no_verify"],
            "allow_shrink": opts["allow_shrink"], "max_shrink": opts["max_shrink"],
            "full_refresh": opts["full_refresh"],
            "lock_timeout": opts["lock_timeout"], "lock_wait": opts["lock_wait"], "resume_from": opts["resume_from"],
            "output_dir": str(opts["output_dir"])})
        if opts["dry_run"]:
            try:
                options = sync_options(request, dry_run=True)
                url, _ = resolve_target(opts["target"])
                if transport_of(url) == "postgres":
                    plan = plan_sync(url, opts["output_dir"], options, target_name=opts["target"])
                else:
                    plan = resolve_sync(opts["output_dir"], options)
                    plan.target = opts["target"]
            except EtlError as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(json.dumps(plan.as_dict(), indent=2) if opts["json"] else plan.describe())
            return
        self._run(opts, request)

    def _run(self, opts, request) -> None:
        """The load itself goes through a Run (trigger cli): the same audit trail as the admin."""
        run = run_here(["sync"], EchoReporter(self.stderr.write, opts["verbosity"]), sync=request,
                       target=opts["target"])
        artifact = run.artifacts.filter(name="sync_result.json").first()
        result = json.loads(Path(artifact.path).read_text()) if artifact else {}
        if opts["json"]:
            self.stdout.write(json.dumps({"run": run.pk, "status": run.status, "error": run.error_summary,
                                          "result": result}, indent=2, default=str))
        else:
            for t in result.get("tables", []):
                state = t.get("skipped") or ("verified" if t.get("verified") else
                                             "committed" if t.get("committed") else "not committed")
                self.stdout.write(f"  {t['name']:<32} {t['rows']:>9} rows  {t.get('method') or t['strategy']:<7}  "
                                  f"{t['seconds']:6.2f}s  {t['rows_per_second']:>10,.0f} rows/s  {state}")
            print_run(run, self.stdout.write)
        if run.status != Run.Status.SUCCEEDED:
            raise CommandError(f"Run #{run.pk} {run.status}: {run.error_summary}")
