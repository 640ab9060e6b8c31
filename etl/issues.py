"""Collects input problems for qa_data_issues, each located by file, sheet, row and column.

Every issue carries a ``kind``: a short, stable code of the rule that found it (``KINDS`` lists
them with their meaning), so issues can be counted and filtered by rule.
"""
from __future__ import annotations

import hashlib

import pandas as pd

from .catalog import get_table

# kind -> what the rule reports. Codes are part of the output contract: add new ones, never rename.
KINDS: dict[str, str] = {
    # rows left out of the facts (each such row is one issue, never capped: see ``uncapped``)
    "blank_input": "a player row whose event number or side is blank in every column that could carry it",
    "duplicate_role": "the same player role twice in one event; the later row is left out",
    # values
    "not_a_number": "text where a number (or jersey) is expected",
    "derived_input_conflict": "a formula column disagrees with the tracker input it is computed from",
    "player_id_conflict": "the workbook's player_id disagrees with the official roster for that jersey",
    # players and rosters
    "jersey_other_side": "the jersey is only on the other team's roster of the game",
    "jersey_not_on_roster": "the jersey is on neither team's roster of the game",
    "venue_conflict": "fact_gameroster's team_venue disagrees with dim_schedule",
    "roster_team_not_in_game": "a fact_gameroster team is neither the home nor the away team of the game",
    "venue_swapped": "the workbook has home and away swapped against the schedule",
    # events and shifts
    "reused_event_index": "the tracker restarted its event numbering: a number is used by a second event",
    "split_event_rows": "rows of one event are not together in the sheet (merged into the event)",
    "duplicate_slot": "the same jersey in two line slots of one side",
    "duplicate_shift_index": "a shift number used twice",
    "bad_shift_time": "a shift that ends before it starts",
    "inverted_event_time": "an event whose end is later on the countdown clock than its start (start and end swapped)",
    # games
    "template_sheet": "events or shifts copied from another game's workbook (game left out)",
    "empty_workbook": "a workbook without tracked events (game left out)",
    "partial_game": "a sheet lacks some regulation periods",
    "no_period_goals": "the schedule has no usable per-period goals to verify a partial game",
    "no_workbook": "a game folder without a tracking workbook",
    "unreadable_workbook": "a workbook that cannot be read or lacks a sheet or column (game left out)",
    "build_error": "building the game failed on an unexpected value (game left out; the message names it)",
    "excel_error": "an Excel error value (#DIV/0!, #N/A, #VALUE!, ...) where a value was expected; read as blank",
    "impossible_value": "a value outside what a game can hold (period, clock, jersey); read as blank",
    "not_a_game_folder": "a folder under games/ whose name is not a game number, or that links outside the data",
    "game_not_scheduled": "a tracked game that is not in dim_schedule (game left out)",
    "odd_file_name": "the tracking workbook is not named <game_id>_tracking.xlsx",
    "untracked_metric": "no event of the game records an analytics metric (e.g. hits): its column is 0, not measured",
    # master workbook
    "missing_sheet": "an optional master sheet is missing",
    "missing_key": "a master row without its key",
    "duplicate_key": "a master key used twice",
    "placeholder_game": "a schedule row without known teams (test or placeholder game)",
    # bookkeeping
    "more_rows": "summary of further rows of a capped check",
}


class IssueLog:
    """Issues of one unit (the master or one game); keys are deterministic.

    A check reports at most ``limit_per_check`` rows plus one summary row, except issues added
    with ``uncapped=True``: rows left out of the facts are each reported, so that every player row
    of a sheet is accounted for by a fact row or by an issue.
    """

    def __init__(self, game_id: int | None = None, limit_per_check: int = 50) -> None:
        self.game_id = game_id
        self.limit = limit_per_check
        self.rows: list[dict] = []
        self._counts: dict[tuple[str, str, str], int] = {}
        self._files: dict[tuple[str, str, str], str] = {}

    def add(self, file: str, problem: str, action: str, *, kind: str, sheet: str | None = None,
            row: int | None = None, column: str | None = None, uncapped: bool = False) -> None:
        """Record one issue; ``kind`` must be one of ``KINDS``."""
        if kind not in KINDS:
            raise ValueError(f"unknown issue kind {kind!r}")
        key = (sheet or "", kind, problem)
        if not uncapped:
            self._counts[key] = self._counts.get(key, 0) + 1
            self._files.setdefault(key, file)
            if self._counts[key] > self.limit:
                return
        ident = "|".join(str(v) for v in (self.game_id, file, sheet, row, column, problem))
        self.rows.append(dict(
            issue_id=hashlib.sha1(ident.encode()).hexdigest()[:16], game_id=self.game_id, kind=kind, file=file,
            sheet=sheet, row=row, column_name=column, problem=problem, action=action,
        ))

    def add_cells(self, file: str, sheet: str, column: str, rows: pd.Series, problem: str,
                  action: str, *, kind: str, uncapped: bool = False) -> None:
        """One issue per Excel row number in ``rows``."""
        for row in rows.tolist():
            self.add(file, problem, action, kind=kind, sheet=sheet, row=int(row), column=column, uncapped=uncapped)

    def finish(self) -> None:
        """Add a summary line for checks that hit the per-check limit."""
        for (sheet, kind, problem), count in self._counts.items():
            if count > self.limit:
                self.rows.append(dict(
                    issue_id=hashlib.sha1(f"{self.game_id}|{sheet}|{problem}|more".encode()).hexdigest()[:16],
                    game_id=self.game_id, kind="more_rows", file=self._files.get((sheet, kind, problem)),
                    sheet=sheet or None, row=None,
                    column_name=None, problem=f"{count - self.limit} more rows with: {problem} ({kind})",
                    action="see the rows above",
                ))
        self._counts = {k: min(v, self.limit) for k, v in self._counts.items()}

    def frame(self) -> pd.DataFrame:
        columns = get_table("qa_data_issues").column_names
        df = pd.DataFrame(self.rows, columns=columns)
        return df.drop_duplicates("issue_id")
