"""python manage.py schema generate|plan|apply: the warehouse DDL from the catalog, and migrating a target to it."""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError

from etl.errors import EtlError
from etl.schema import catalog_version_of, plan_schema, render_script
from etl.selection import MODES
from jobs.cli import EchoReporter, cli_request, print_run, run_here
from jobs.management.base import HockeyopsCommand
from jobs.models import Run
from jobs.services.targets import resolve_url


def _selection_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("table selection (the same grammar as the ETL)")
    group.add_argument("--mode", action="append", default=[], choices=list(MODES),
                       help="Tables by mode; repeatable (default: all).")
    group.add_argument("--tables", nargs="*", default=[], help="Table names.")
    group.add_argument("--pattern", action="append", default=[], help="Glob such as 'fact_player*'; repeatable.")
    group.add_argument("--exclude", nargs="*", default=[], help="Names or globs to leave out.")


def _content_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("content")
    bool_opt = argparse.BooleanOptionalAction
    group.add_argument("--pk", action=bool_opt, default=True, help="Primary keys (default: on).")
    group.add_argument("--fk", action=bool_opt, default=True,
                       help="Deferrable foreign keys between the selected tables (default: on).")
    group.add_argument("--indexes", action=bool_opt, default=True,
                       help="Indexes on game_id, player_id and team_id columns (default: on).")
    group.add_argument("--comments", action=bool_opt, default=True,
                       help="Table and column comments from the catalog (default: on).")
    group.add_argument("--rls", action=bool_opt, default=False,
                       help="Supabase row-level security with a read policy (default: off).")
    group.add_argument("--rls-role", default="anon", help="Role the read policy is for (default: anon).")


class Command(HockeyopsCommand):
    help = (
        "Warehouse schema from the table catalog. `generate` writes the SQL script (default "
        "sql/reset_supabase.sql); `plan --target NAME` compares the catalog with the target's live schema and "
        "lists the operations (never writes); `apply --target NAME` runs them in one transaction."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{generate,plan,apply}")
        gen = sub.add_parser("generate", help="Write the SQL script for an empty database.")
        plan = sub.add_parser("plan", help="Show what apply would change in a target; writes nothing.")
        apply = sub.add_parser("apply", help="Change a target's schema to match the catalog, all or nothing.")
        for p in (gen, plan, apply):
            _selection_args(p)
            _content_args(p)
        gen.add_argument("--drop", action="store_true", help="Drop the selected tables first (never CASCADE).")
        gen.add_argument("--output", default=str(Path(settings.BASE_DIR) / "sql" / "reset_supabase.sql"),
                         help="Script file to write (default: sql/reset_supabase.sql).")
        for p in (plan, apply):
            p.add_argument("--target", default="embedded", help="Target name (default: embedded).")
            p.add_argument("--json", action="store_true", help="Print the plan as JSON.")
        plan.add_argument("--sql", action="store_true", help="Print each operation's statements.")
        plan.add_argument("--exit-code", action="store_true",
                          help="Exit with status 2 when there are operations, 0 when there are none.")
        apply.add_argument("--allow-destructive", action="store_true",
                           help="Allow operations that drop data (drop column, drop table, narrowing types).")
        apply.add_argument("--lock-timeout", default="10s",
                           help="How long a statement may wait for a table lock (PostgreSQL interval, default 10s).")
        apply.add_argument("--lock-wait", type=float, default=600.0,
                           help="Seconds to wait for another writer on the target (default 600).")

    def handle(self, *args, **opts):
        request = cli_request("schema", self._values(opts))
        try:
            if opts["action"] == "generate":
                return self._generate(replace(request.options(), drop=opts["drop"]), opts)
            if opts["action"] == "apply":
                return self._apply(opts, request)
            return self._plan(self._target_url(opts["target"]), request.options(), opts)
        except EtlError as exc:
            raise CommandError(str(exc)) from None

    @staticmethod
    def _values(opts) -> dict:
        """The schema request's values from the flags (--mode and --pattern are table terms too)."""
        values = {"tables": [*opts["mode"], *opts["tables"], *opts["pattern"]], "exclude_tables": opts["exclude"],
                  **{k: opts[k] for k in ("pk", "fk", "indexes", "comments", "rls", "rls_role")}}
        if opts["action"] == "apply":
            values.update({k: opts[k] for k in ("allow_destructive", "lock_timeout", "lock_wait")})
        return values

    def _generate(self, options, opts):
        text = render_script(options)
        path = Path(opts["output"])
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        count = len(options.resolve())
        self.stdout.write(f"Wrote {path}: {count} tables, catalog {catalog_version_of()}, {options.describe()}.")

    def _target_url(self, name: str) -> str:
        try:
            return resolve_url(name)
        except ValueError as exc:
            raise CommandError(str(exc)) from None

    def _plan(self, url, options, opts):
        plan = plan_schema(url, options)
        if opts["json"]:
            self.stdout.write(json.dumps(plan.as_dict(), indent=2))
        else:
            self.stdout.write(f"Schema plan for target {opts['target']}:")
            self.stdout.write(plan.describe(with_sql=opts["sql"]))
        if opts["exit_code"]:
            self.stdout.flush()
            sys.exit(2 if plan.operations else 0)

    def _apply(self, opts, request):
        """Apply through a Run (trigger cli), so the CLI leaves the same audit trail as the admin."""
        run = run_here(["schema"], EchoReporter(self.stderr.write, opts["verbosity"]), schema=request,
                       target=opts["target"])
        if opts["json"]:
            artifact = run.artifacts.filter(name="schema_plan.json").first()
            plan_data = json.loads(Path(artifact.path).read_text()) if artifact else {}
            self.stdout.write(json.dumps({"run": run.pk, "status": run.status, "plan": plan_data,
                                          "error": run.error_summary}, indent=2))
        else:
            for line in run.logs.filter(stage="schema").values_list("message", flat=True):
                self.stdout.write(line)
            print_run(run, self.stdout.write)
        if run.status != Run.Status.SUCCEEDED:
            raise CommandError(f"Run #{run.pk} {run.status}: {run.error_summary}")
