"""Errors the pipeline raises; every message is a sentence a league volunteer can act on."""
from __future__ import annotations


class EtlError(Exception):
    """Base class: a problem the user can fix (bad input, bad request)."""


class InputError(EtlError):
    """A problem in an input file, located by file, sheet, row and column."""

    def __init__(
        self,
        file: str,
        problem: str,
        *,
        sheet: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.file, self.sheet, self.row, self.column, self.problem = file, sheet, row, column, problem
        where = [f"file {file}"]
        if sheet:
            where.append(f"sheet '{sheet}'")
        if row is not None:
            where.append(f"row {row}")
        if column:
            where.append(f"column '{column}'")
        super().__init__(f"{', '.join(where)}: {problem}")


class SelectionError(EtlError):
    """A selection names a table, pattern or game that does not exist."""


class BuilderError(EtlError):
    """A builder produced something other than the catalog declares (a bug, caught before publishing)."""


class Cancelled(EtlError):
    """The run was cancelled; nothing was published."""
