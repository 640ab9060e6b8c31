"""Collects input problems for qa_data_issues, each located by file, sheet, row and column."""
from __future__ import annotations

import hashlib

import pandas as pd

from .catalog import get_table


class IssueLog:
    """Issues of one unit (the master or one game); keys are deterministic."""

    def __init__(self, game_id: int | None = None, limit_per_check: int = 50) -> None:
        self.game_id = game_id
        self.limit = limit_per_check
        self.rows: list[dict] = []
        self._counts: dict[tuple[str, str], int] = {}

    def add(self, file: str, problem: str, action: str, *, sheet: str | None = None,
            row: int | None = None, column: str | None = None) -> None:
        key = (sheet or "", problem)
        self._counts[key] = self._counts.get(key, 0) + 1
        if self._counts[key] > self.limit:
            return
        ident = "|".join(str(v) for v in (self.game_id, file, sheet, row, column, problem))
        self.rows.append(dict(
            issue_id=hashlib.sha1(ident.encode()).hexdigest()[:16], game_id=self.game_id, file=file,
            sheet=sheet, row=row, column_name=column, problem=problem, action=action,
        ))

    def add_cells(self, file: str, sheet: str, column: str, rows: pd.Series, problem: str,
                  action: str) -> None:
        """One issue per Excel row number in ``rows``."""
        for row in rows.tolist():
            self.add(file, problem, action, sheet=sheet, row=int(row), column=column)

    def finish(self) -> None:
        """Add a summary line for checks that hit the per-check limit."""
        for (sheet, problem), count in self._counts.items():
            if count > self.limit:
                self.rows.append(dict(
                    issue_id=hashlib.sha1(f"{self.game_id}|{sheet}|{problem}|more".encode()).hexdigest()[:16],
                    game_id=self.game_id, file=None, sheet=sheet or None, row=None, column_name=None,
                    problem=f"{count - self.limit} more rows with: {problem}", action="see the rows above",
                ))
        self._counts = {k: min(v, self.limit) for k, v in self._counts.items()}

    def frame(self) -> pd.DataFrame:
        columns = get_table("qa_data_issues").column_names
        df = pd.DataFrame(self.rows, columns=columns)
        return df.drop_duplicates("issue_id")
