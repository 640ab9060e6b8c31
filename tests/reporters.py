"""Test helpers: a reporter that keeps every event in memory."""
from __future__ import annotations


class ListReporter:
    """Keeps every event in memory (tests, dry runs)."""

    def __init__(self) -> None:
        self.events: list[tuple] = []
        self.logs: list[tuple[str, str]] = []
        self.steps: list[tuple] = []

    def progress(self, done: int, total: int, unit: str, rows: int) -> None:
        self.events.append((done, total, unit, rows))

    def log(self, level: str, message: str) -> None:
        self.logs.append((level, message))

    def step(self, unit: str, rows: int, seconds: float, **figures) -> None:
        self.steps.append((unit, rows, seconds, figures))
