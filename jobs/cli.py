"""Command-line helpers shared by management commands: a progress bar reporter."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TextIO

from django.core.management.base import CommandError
from django.db import transaction

from jobs.models import Run
from jobs.requests import OUTSIDE_NAMES, REQUESTS, RequestError
from jobs.services.execute import execute_run
from jobs.services.plans import PlanError, build_plan
from jobs.services.redact import redact
from jobs.services.runs import create_run


class ProgressBar:
    """Reporter that draws a one-line progress bar on a terminal stream and prints log lines."""

    def __init__(self, stream: TextIO | None = None, width: int = 30, quiet: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.width = width
        self.quiet = quiet
        self.started = time.perf_counter()
        self._last = 0.0

    def progress(self, done: int, total: int, unit: str, rows: int) -> None:
        if self.quiet:
            return
        now = time.perf_counter()
        if done < total and now - self._last < 0.1:
            return
        self._last = now
        frac = done / total if total else 1.0
        filled = int(self.width * frac)
        bar = "#" * filled + "-" * (self.width - filled)
        elapsed = now - self.started
        self.stream.write(f"\r[{bar}] {done}/{total} {frac:4.0%} {rows:>9,} rows {elapsed:6.1f}s  {unit[:28]:<28}")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()

    def log(self, level: str, message: str) -> None:
        if level in ("warning", "error") or not self.quiet:
            self.stream.write(f"\r{level.upper():8} {redact(message)}\n")
            self.stream.flush()


class EchoReporter:
    """Log lines to a command's stderr: warnings always, info with -v 2 or when it says a lock is awaited."""

    def __init__(self, write, verbosity: int) -> None:
        self.write, self.verbosity = write, verbosity

    def progress(self, done: int, total: int, unit: str, rows: int) -> None:
        pass

    def log(self, level: str, message: str) -> None:
        if self.verbosity >= 2 or level != "info" or "waiting for" in message or message.startswith("Got the"):
            self.write(message)


def cli_request(stage: str, values: dict):
    """The stage's request from command-line values; a bad value is a CommandError naming the flag."""

    try:
        return REQUESTS[stage].from_dict(values)
    except RequestError as exc:
        flag = OUTSIDE_NAMES[stage].get(exc.field, {}).get("cli") or (
            "--" + exc.field.replace("_", "-") if exc.field else "")
        raise CommandError(f"{flag}: {exc.message}" if flag else exc.message) from None


def run_here(stages: list[str], echo, **plan_options):
    """Plan, record and execute a Run in this process (trigger cli): the CLI's audit trail equals the admin's.

    Raises CommandError with the planner's sentence when the request cannot be planned.
    """

    try:
        plan = build_plan(stages, **plan_options)
    except PlanError as exc:
        raise CommandError(str(exc)) from None
    with transaction.atomic():
        run = create_run(plan, Run.Trigger.CLI, enqueue=False)
    execute_run(run.pk, echo=echo)
    run.refresh_from_db()
    return run


def print_run(run, write) -> None:
    """A Run's summary: status, timing, steps and the ETL's table row counts."""
    duration = f"{run.duration:.2f}s" if run.duration is not None else "-"
    write(f"Run #{run.pk} ({run.trigger}) {run.status} in {duration}: {run.rows:,} rows, "
          f"{run.percent:.0f}% of {run.units_total} units")
    if run.error_summary:
        write(f"  {run.error_summary}")
    manifest = next((a for a in run.artifacts.all() if a.name == "manifest.json"), None)
    if manifest is not None:
        data = json.loads(Path(manifest.path).read_text())
        tables = data.get("tables", {})
        width = max((len(n) for n in tables), default=0)
        for name in sorted(tables):
            info = tables[name]
            note = " (kept from earlier outputs)" if info.get("carried_over") else ""
            write(f"  {name:<{width}}  {info.get('rows', 0):>9,} rows{note}")
