"""Progress reporting and cancellation hooks passed into every pipeline entry point."""
from __future__ import annotations

import threading
from contextlib import AbstractContextManager, nullcontext
from typing import Protocol

from .errors import Cancelled


class Reporter(Protocol):
    """Receives progress and log events; implementations must be cheap (called per unit)."""

    def progress(self, done: int, total: int, unit: str, rows: int) -> None: ...

    def log(self, level: str, message: str) -> None: ...


class NullReporter:
    """Discards everything."""

    def progress(self, done: int, total: int, unit: str, rows: int) -> None:
        pass

    def log(self, level: str, message: str) -> None:
        pass


def report_step(reporter: Reporter, unit: str, rows: int, seconds: float, **figures) -> None:
    """Tell a reporter that implements ``step(unit, rows, seconds, **figures)`` what one unit did, measured where
    the work happened (the figures its log line gives); other reporters ignore it."""
    step = getattr(reporter, "step", None)
    if step is not None:
        step(unit, rows, seconds, **figures)


class CancelToken:
    """Checked between units of work; ``check`` raises Cancelled once cancelled."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self.cancelled:
            raise Cancelled("The run was cancelled; the previous outputs were left as they were.")

    def fence(self) -> AbstractContextManager:
        """Held across a commit to a published place (a target transaction): a caller's fence raises when this
        work may no longer write (its lease was taken over). The plain token has none."""
        return nullcontext()
