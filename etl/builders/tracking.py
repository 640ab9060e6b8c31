"""Normalise one game's tracking sheets into canonical per-row frames.

Workbooks differ in which columns carry the facts: some were saved without computed formula
values (derived columns empty, tracker inputs present), others come from a tracker version whose
inputs are sparse (derived columns hold the values). Every field is taken from the derived column
where present, else derived from the inputs; where both exist they are cross-checked and
disagreements go to qa_data_issues.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..codes import clean_text, code_key, jersey, normalize_code, normalize_label, to_number
from ..issues import IssueLog
from .vocab import canonicalize

_ROLE = r"^(event|opp)_team_player_(\d+)$"
SLOTS = ("forward_1", "forward_2", "forward_3", "defense_1", "defense_2", "xtra", "goalie")


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    if name in df.columns:
        return df[name]
    return pd.Series(pd.NA, index=df.index, dtype="object")


def _num(df: pd.DataFrame, name: str, issues: IssueLog, file: str, sheet: str) -> pd.Series:
    num, bad = to_number(_col(df, name))
    if bad.any():
        issues.add_cells(file, sheet, name, df.loc[bad, "source_row"], "text where a number is expected",
                         "value ignored")
    return num


def _prefer(derived: pd.Series, entered: pd.Series, issues: IssueLog, file: str, sheet: str,
            rows: pd.Series, names: tuple[str, str], compare: pd.Series | None = None,
            entered_cmp: pd.Series | None = None) -> pd.Series:
    """Derived value where present, else the tracker input; record disagreements."""
    a = derived if compare is None else compare
    b = entered if entered_cmp is None else entered_cmp
    both = a.notna() & b.notna()
    differ = both & (a.astype("string") != b.astype("string"))
    if differ.any():
        issues.add_cells(file, sheet, names[0], rows[differ],
                         f"'{names[0]}' disagrees with the tracker input '{names[1]}'",
                         f"used '{names[0]}'")
    return derived.where(derived.notna(), entered)


def normalize_events(raw: pd.DataFrame, file: str, issues: IssueLog) -> pd.DataFrame:
    """One canonical row per player row of the events sheet (blank rows dropped)."""
    sheet = "events"
    df = raw.copy()
    df["source_row"] = np.arange(len(df)) + 2
    idx_derived = _num(df, "event_index", issues, file, sheet)
    idx_input = _num(df, "event_index_", issues, file, sheet)
    event_index = idx_derived.where(idx_derived.notna(), idx_input + 1000)
    keep = event_index.notna()
    df, event_index = df[keep], event_index[keep]
    rows = df["source_row"]
    out = pd.DataFrame({"source_row": rows, "event_index": event_index.astype("int64")}, index=df.index)

    def code(derived: str, entered: str, normalize=normalize_code) -> pd.Series:
        d, e = normalize(_col(df, derived)), normalize(_col(df, entered))
        return _prefer(d, e, issues, file, sheet, rows, (derived, entered),
                       compare=d.str.lower(), entered_cmp=e.str.lower())

    out["event_type"] = canonicalize(code("Type", "event_type_"), "dim_event_type")
    out["event_detail"] = canonicalize(code("event_detail", "event_detail_"), "dim_event_detail")
    out["event_detail_2"] = code("event_detail_2", "event_detail_2_")
    out["zone"] = code("event_team_zone", "event_team_zone_", normalize=lambda s: clean_text(s).str.lower())
    out["successful"] = code("event_successful", "event_successful_",
                             normalize=lambda s: clean_text(s).str.lower())
    for target, derived, entered in (("play_detail1", "play_detail1", "play_detail1_"),
                                     ("play_detail2", "play_detail_2", "play_detail2_")):
        d, e = normalize_code(_col(df, derived)), normalize_code(_col(df, entered))
        out[target] = canonicalize(d.where(d.notna(), e), "dim_play_detail")

    # event team venue as the workbook sees it: 'home' / 'away'
    venue_word = clean_text(_col(df, "team_venue")).str.lower().map({"home": "home", "away": "away",
                                                                      "h": "home", "a": "away"})
    venue_input = clean_text(_col(df, "team_")).str.lower().map({"h": "home", "a": "away",
                                                                  "home": "home", "away": "away"})
    out["wb_venue"] = _prefer(venue_word, venue_input, issues, file, sheet, rows, ("team_venue", "team_"))

    # per-event forward fill of attributes typed only on the first row
    filled = ["event_type", "event_detail", "event_detail_2", "zone", "successful", "wb_venue"]
    out[filled] = out.groupby("event_index", sort=False)[filled].ffill()

    # time: derived where present, else the sparse inputs carried forward
    t_min = _num(df, "event_start_min", issues, file, sheet)
    t_sec = _num(df, "event_start_sec", issues, file, sheet)
    i_min = _num(df, "event_start_min_", issues, file, sheet).ffill()
    i_sec = _num(df, "event_start_sec_", issues, file, sheet).ffill()
    minutes = t_min.where(t_min.notna(), i_min)
    seconds = t_sec.where(t_sec.notna(), i_sec)
    out["clock_seconds"] = (minutes * 60 + seconds).round().astype("Int64")

    period = _num(df, "period", issues, file, sheet)
    if period.isna().all():
        # periods advance on Intermission events
        is_int = out["event_type"].str.lower().eq("intermission").fillna(False)
        ev_int = is_int.groupby(out["event_index"]).any().sort_index()
        counts = ev_int.cumsum().shift(fill_value=0)
        period = out["event_index"].map(counts + 1).astype("float64")
    period = period.ffill().bfill()
    out["period"] = period.round().astype("Int64")

    # players: jersey, side and role number
    # the jersey column repeats the tracker's input where typed; a workbook saved without formula results
    # may carry it only in player_game_number_
    jerseys = {}
    for column in ("player_game_number", "player_game_number_"):
        number, bad = jersey(_col(df, column))
        if bad.any():
            issues.add_cells(file, sheet, column, rows[bad], "jersey is not a number", "player left unlinked")
        jerseys[column] = number
    out["jersey"] = _prefer(jerseys["player_game_number"], jerseys["player_game_number_"], issues, file, sheet,
                            rows, ("player_game_number", "player_game_number_"))
    role = clean_text(_col(df, "player_role")).str.lower().str.extract(_ROLE)
    side_derived = role[0].astype("string")
    num_derived = pd.to_numeric(role[1], errors="coerce").astype("Int64")
    binary = clean_text(_col(df, "role_abrev_binary_").astype("string"))
    has_binary_input = binary.notna().any()
    side_input = pd.Series(pd.NA, index=df.index, dtype="string")
    if has_binary_input:
        side_input = binary.isin(["1", "1.0"]).map({True: "event", False: "opp"}).astype("string")
        side_input = side_input.where(binary.str.lower() != "x").where(out["jersey"].notna())
    side = _prefer(side_derived, side_input, issues, file, sheet, rows, ("player_role", "role_abrev_binary_"))
    out["side"] = side.where(out["jersey"].notna() | side_derived.notna())
    order = out.groupby(["event_index", "side"], sort=False).cumcount() + 1
    out["role_number"] = num_derived.where(num_derived.notna(), order.where(out["side"].notna()).astype("Int64"))
    out["wb_player_id"] = clean_text(_col(df, "player_id"))
    out["wb_game_id"] = _num(df, "game_id", issues, file, sheet)
    out["wb_home"] = clean_text(_col(df, "home_team"))
    out["wb_away"] = clean_text(_col(df, "away_team"))
    out["type_key"] = code_key(out["event_type"])
    out["detail_key"] = code_key(out["event_detail"])
    return out.reset_index(drop=True)


def normalize_shifts(raw: pd.DataFrame, file: str, issues: IssueLog, period_seconds: int) -> pd.DataFrame:
    """One canonical row per shift with jerseys per venue slot (as the workbook labels venues)."""
    sheet = "shifts"
    df = raw.copy()
    df["source_row"] = np.arange(len(df)) + 2
    period = _num(df, "Period" if "Period" in df.columns else "period", issues, file, sheet)
    s_min = _num(df, "shift_start_min", issues, file, sheet)
    s_sec = _num(df, "shift_start_sec", issues, file, sheet)
    e_min = _num(df, "shift_end_min", issues, file, sheet)
    e_sec = _num(df, "shift_end_sec", issues, file, sheet)
    keep = period.notna() & s_min.notna() & e_min.notna()
    df = df[keep]
    idx = _num(df, "shift_index", issues, file, sheet)
    out = pd.DataFrame({
        "source_row": df["source_row"],
        "shift_index": idx.where(idx.notna(), pd.Series(np.arange(1, len(df) + 1), index=df.index)),
        "period": period[keep],
        "start_clock": (s_min[keep] * 60 + s_sec[keep].fillna(0)).round(),
        "end_clock": (e_min[keep] * 60 + e_sec[keep].fillna(0)).round(),
        "start_type": normalize_label(_col(df, "shift_start_type")),
        "stop_type": normalize_label(_col(df, "shift_stop_type")),
    }, index=df.index)
    dup_index = out["shift_index"].duplicated()
    if dup_index.any():
        issues.add_cells(file, sheet, "shift_index", out.loc[dup_index, "source_row"], "duplicate shift_index",
                         "later row skipped")
        out, df = out[~dup_index], df[~dup_index]
    for venue in ("home", "away"):
        seen: list[pd.Series] = []
        for slot in SLOTS:
            column = f"{venue}_{slot}"
            number, bad = jersey(_col(df, column))
            if bad.any():
                issues.add_cells(file, sheet, column, out.loc[bad, "source_row"], "jersey is not a number",
                                 "slot left empty")
            for other in seen:
                dup = number.notna() & (number == other)
                if dup.any():
                    issues.add_cells(file, sheet, column, out.loc[dup.fillna(False), "source_row"],
                                     "the same jersey is in two slots of one side", "second slot left empty")
                    number = number.mask(dup.fillna(False))
            seen.append(number)
            out[column] = number
    out["duration"] = out["start_clock"] - out["end_clock"]
    bad_len = out["duration"] < 0
    if bad_len.any():
        issues.add_cells(file, sheet, "shift_end_min", out.loc[bad_len, "source_row"],
                         "shift ends before it starts", "duration left empty")
        out.loc[bad_len, "duration"] = np.nan
    out["start_elapsed"] = (out["period"] - 1) * period_seconds + (period_seconds - out["start_clock"])
    out["end_elapsed"] = (out["period"] - 1) * period_seconds + (period_seconds - out["end_clock"])
    return out.sort_values("shift_index").reset_index(drop=True)
