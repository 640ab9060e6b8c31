"""Reporter and cancel token that write a Run's progress, steps and logs to the database."""
from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from etl.progress import CancelToken, Reporter
from jobs.models import Run, RunLog, RunStep

from .redact import redact


class RunProgress:
    """Progress of a whole Run across its stages: units and rows of finished stages plus the current one."""

    def __init__(self, planned: dict[str, int]) -> None:
        self.planned = dict(planned)  # stage -> planned units
        self.done_units = 0
        self.done_rows = 0

    def overall(self, stage: str, done: int, total: int, rows: int) -> tuple[int, int, int]:
        """(units done, units total, rows) for the Run while ``stage`` reports (done, total, rows)."""
        self.planned[stage] = max(total, 1)
        later = list(self.planned)[list(self.planned).index(stage) + 1:]
        return (self.done_units + done, self.done_units + total + sum(self.planned[s] for s in later),
                self.done_rows + rows)

    def finish(self, stage: str, rows: int) -> None:
        self.done_units += self.planned.get(stage, 0)
        self.done_rows += rows


class RunReporter:
    """Turns etl progress/log callbacks into Run fields, step rows and log lines (bounded write rate)."""

    def __init__(self, run: Run, stage: str, log_path: Path, echo: Reporter | None = None,
                 overall: RunProgress | None = None) -> None:
        self.run = run
        self.overall = overall or RunProgress({stage: 1})
        self.echo = echo
        self.stage = stage
        self.log_path = log_path
        self.interval = settings.HOCKEYOPS_PROGRESS_INTERVAL
        self.started = time.monotonic()
        self._last_write = 0.0
        self._last_unit_at = time.monotonic()
        self._last_rows = 0
        self._logged = RunLog.objects.filter(run=run).count()
        self._measured: set[str] = set()

    def step(self, unit: str, rows: int, seconds: float, **figures) -> None:
        """A unit finished with figures measured where the work happened (the same ones its log line gives):
        its step gets exactly these rows and seconds; later ``progress`` events only move the Run."""
        seconds = max(float(seconds), 0.0)
        started = figures.pop("started", None)  # wall clock of the unit's start, when the work knows it
        begin = (datetime.fromtimestamp(started, tz=UTC) if started else
                 timezone.now() - timedelta(seconds=seconds))
        RunStep.objects.filter(run=self.run, stage=self.stage, unit=unit).update(
            status=RunStep.Status.SUCCEEDED, rows=rows, duration=round(seconds, 3),
            rows_per_sec=round(rows / seconds, 1) if seconds > 0 and rows else None, figures=figures,
            started_at=begin, finished_at=begin + timedelta(seconds=seconds))
        self._measured.add(unit)

    def progress(self, done: int, total: int, unit: str, rows: int) -> None:
        if self.echo:
            self.echo.progress(done, total, unit, rows)
        now = time.monotonic()
        if unit not in self._measured:  # no figures from the work itself: the time since the previous unit
            delta, seconds = rows - self._last_rows, now - self._last_unit_at
            finished = timezone.now()
            RunStep.objects.filter(run=self.run, stage=self.stage, unit=unit).update(
                status=RunStep.Status.SUCCEEDED, rows=delta, duration=round(seconds, 3),
                rows_per_sec=round(delta / seconds, 1) if seconds > 0 and delta else None,
                started_at=finished - timedelta(seconds=seconds), finished_at=finished)
        self._last_unit_at, self._last_rows = now, rows
        if done < total and now - self._last_write < self.interval:
            return
        self._last_write = now
        elapsed = now - self.started
        run_done, run_total, run_rows = self.overall.overall(self.stage, done, total, rows)
        Run.objects.filter(pk=self.run.pk).update(
            current_stage=self.stage, current_unit=unit[:100], units_done=run_done, units_total=run_total,
            percent=round(100.0 * run_done / run_total, 1) if run_total else 100.0, rows=run_rows,
            rows_per_sec=round(rows / elapsed, 1) if elapsed > 0 else 0, heartbeat_at=timezone.now())

    def failed(self, unit: str, detail: str) -> None:
        """The stage failed at ``unit`` (e.g. the table a sync could not commit): that step is marked failed."""
        RunStep.objects.filter(run=self.run, stage=self.stage, unit=unit).exclude(
            status=RunStep.Status.SUCCEEDED).update(status=RunStep.Status.FAILED, detail=redact(detail)[:2000],
                                                    finished_at=timezone.now())

    def finish(self) -> None:
        """The stage is done: later stages report on top of its units and rows."""
        self.overall.finish(self.stage, self._last_rows)

    def log(self, level: str, message: str) -> None:
        if self.echo:
            self.echo.log(level, message)
        in_db = self._logged < settings.HOCKEYOPS_RUN_LOG_DB_LIMIT
        write_log(self.run, level, self.stage, message, self.log_path, db=in_db)
        self._logged += 1


def write_log(run: Run, level: str, stage: str, message: str, log_path: Path, db: bool = True) -> None:
    """Append to the run's full log file and (within the bound) to the database.

    A log file that cannot be written (a full disk) never fails the run: the line still goes to the database.
    """
    at = timezone.now()
    message = redact(message)
    try:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "a", encoding="utf-8") as fh:
            fh.write(f"{at.isoformat(timespec='milliseconds')} {level.upper():7} [{stage or '-'}] {message}\n")
    except OSError as exc:
        db = True
        message += f" (not in run.log: {exc.strerror or exc})"
    if db:
        RunLog.objects.create(run=run, at=at, level=level, stage=stage, message=message)


class RunCancelToken(CancelToken):
    """Cancelled when someone asks the Run to stop (checked against the database at most twice a second)."""

    def __init__(self, run_id: int, interval: float = 0.5, also: Callable[[], None] | None = None,
                 fencing: Callable[[], AbstractContextManager] | None = None) -> None:
        super().__init__()
        self.run_id = run_id
        self.interval = interval
        self.also = also  # a further check between units (the lease fence: raises when the lease is lost)
        self.fencing = fencing  # held across commits to a target (locks the Run's leases)
        self._checked = 0.0

    def fence(self) -> AbstractContextManager:
        return self.fencing() if self.fencing is not None else super().fence()

    def check(self) -> None:
        if self.also is not None:
            self.also()
        now = time.monotonic()
        if not self.cancelled and now - self._checked >= self.interval:
            self._checked = now
            if Run.objects.filter(pk=self.run_id, cancel_requested=True).exists():
                self.cancel()
        super().check()
