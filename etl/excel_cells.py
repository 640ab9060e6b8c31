"""Workbook cells and frames from cells, by pandas' own rules (used by staging, so that a staged workbook gives
the very frames the Excel source reads).

pandas has no public API that parses cell values already read from a workbook with ``read_excel``'s rules
(header row, type inference, empty cells), so this is the one module that uses pandas' calamine reader class
(``pandas.io.excel._calamine``), with the pandas version pinned; tests/test_staging.py asserts that staged and
Excel frames are equal.
"""
from __future__ import annotations

import inspect
from pathlib import Path

import pandas as pd
from pandas.io.excel._calamine import CalamineReader

from .errors import InputError
from .excel_source import clean_headers, drop_empty_tail

# The arguments read_excel passes to the reader's parse(), with read_excel's defaults.
_PARSE_ARGS = ("header", "names", "index_col", "usecols", "dtype", "converters", "true_values", "false_values",
               "skiprows", "nrows", "na_values", "keep_default_na", "na_filter", "verbose", "parse_dates",
               "date_format", "thousands", "decimal", "comment", "skipfooter", "dtype_backend")
_READ_EXCEL_DEFAULTS = {k: p.default for k, p in inspect.signature(pd.read_excel).parameters.items()
                        if k in _PARSE_ARGS}


class _StagedReader(CalamineReader):
    """pandas' calamine reader over staged cell values instead of a workbook file."""

    def __init__(self, sheets: dict[str, list[list]]) -> None:  # no file: skip the base initialiser
        self._staged = sheets

    @property
    def sheet_names(self) -> list[str]:
        return list(self._staged)

    def get_sheet_by_name(self, name: str):
        self.raise_if_bad_sheet_by_name(name)
        return name

    def get_sheet_data(self, sheet, file_rows_needed: int | None = None) -> list[list]:
        rows = self._staged[sheet]
        return [list(r) for r in (rows if file_rows_needed is None else rows[:file_rows_needed])]

    def close(self) -> None:
        pass


def frames_from_cells(sheets: dict[str, list[list]], relpath: str) -> dict[str, pd.DataFrame]:
    """Frames exactly as ``read_excel(path, sheet_name=[...], engine="calamine")`` gives for these cells,
    with the Excel source's header cleaning and empty-tail trimming."""
    try:
        frames = _StagedReader(sheets).parse(sheet_name=list(sheets), **_READ_EXCEL_DEFAULTS)
    except Exception as exc:  # the same wrapping as the Excel source's _read_sheets
        raise InputError(relpath, f"the workbook could not be read ({exc}).") from None
    return {name: drop_empty_tail(clean_headers(df)) for name, df in frames.items()}


def read_cells(path: Path, relpath: str, sheets: list[str]) -> dict[str, list[list]]:
    """The raw cell values of ``sheets`` (what staging stores), as pandas' calamine reader returns them."""
    try:
        reader = CalamineReader(str(path))
    except Exception as exc:
        raise InputError(relpath, f"the workbook could not be read ({exc}).") from None
    try:
        return {name: reader.get_sheet_data(reader.get_sheet_by_name(name)) for name in sheets}
    except Exception as exc:
        raise InputError(relpath, f"the workbook could not be read ({exc}).") from None
    finally:
        reader.close()
