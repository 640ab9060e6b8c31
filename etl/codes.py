"""Value normalisation shared by builders: codes, jerseys, numbers, text."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

_SPACES = re.compile(r"\s+")
_SEPARATORS = re.compile(r"[-_]+")


def clean_text(series: pd.Series) -> pd.Series:
    """Strip stray whitespace; blank strings become missing."""
    s = series.astype("string").str.strip()
    return s.mask(s == "")


def normalize_code(series: pd.Series) -> pd.Series:
    """Tracker codes: trim, drop inner spaces, read '-' and '_' alike (written as '_')."""
    s = clean_text(series)
    s = s.str.replace(_SPACES, "", regex=True).str.replace(_SEPARATORS, "_", regex=True)
    return s.str.strip("_").mask(lambda x: x == "")


def normalize_label(series: pd.Series) -> pd.Series:
    """Free-text vocabulary (shift start/stop types): trim and collapse inner whitespace."""
    s = clean_text(series)
    return s.str.replace(_SPACES, " ", regex=True)


def code_key(series: pd.Series) -> pd.Series:
    """Case-insensitive comparison key of a normalised code."""
    return normalize_code(series).str.lower()


def to_number(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Numeric values and a mask of cells that held text which is not a number."""
    if pd.api.types.is_numeric_dtype(series):
        return series.astype("float64"), pd.Series(False, index=series.index)
    text = clean_text(series)
    num = pd.to_numeric(text, errors="coerce")
    bad = text.notna() & num.isna()
    return num.astype("float64"), bad


def jersey(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Jersey numbers as text ('27.0' -> '27'); mask of cells that are not numbers."""
    num, bad = to_number(series)
    values = num.to_numpy()
    whole = ~np.isnan(values) & (np.floor(values) == values)
    text = np.full(len(values), None, dtype=object)
    if whole.any():
        text[whole] = values[whole].astype("int64").astype(str)
    out = pd.Series(text, index=series.index, dtype="string")
    bad = bad | pd.Series(~np.isnan(values) & ~whole, index=series.index)
    return out, bad


def yes_no(series: pd.Series) -> pd.Series:
    """Y/N, yes/no, true/false, 1/0 -> nullable boolean."""
    s = clean_text(series.astype("string")).str.lower()
    mapping = {"y": True, "yes": True, "true": True, "1": True, "1.0": True,
               "n": False, "no": False, "false": False, "0": False, "0.0": False}
    return s.map(mapping).astype("boolean")
