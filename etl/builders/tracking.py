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

from ..catalog import REUSED_INDEX_OFFSET
from ..codes import clean_text, code_key, jersey, normalize_code, normalize_label, to_number
from ..issues import IssueLog
from .vocab import canonicalize

_ROLE = r"^(event|opp)_(?:team_)?player_(\d+)$"  # the sheet writes event_team_player_N; event_player_N too
SLOTS = ("forward_1", "forward_2", "forward_3", "defense_1", "defense_2", "xtra", "goalie")
# role_abrev_binary_ is '1' on the event team's rows; trackers leave the opponents' rows blank. A blank
# reads as "opponent" only in a workbook that uses the column: at least this share of its player rows
# carry the '1' (event-team rows are well over half of all player rows in a tracked game).
BINARY_IN_USE_SHARE = 0.25
# A row whose derived event_index (formula) is blank takes the tracker's typed event_index_ plus this offset,
# so typed numbers never collide with derived ones (the tracker numbers events from 1 to a few hundred).
TYPED_INDEX_OFFSET = 1000


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    if name in df.columns:
        return df[name]
    return pd.Series(pd.NA, index=df.index, dtype="object")


def _num(df: pd.DataFrame, name: str, issues: IssueLog, file: str, sheet: str) -> pd.Series:
    num, bad = to_number(_col(df, name))
    if bad.any():
        issues.add_cells(file, sheet, name, df.loc[bad, "source_row"], "text where a number is expected",
                         "value ignored", kind="not_a_number")
    return num


MAX_PERIOD = 9  # regulation's 3 periods plus overtimes; a larger period number is a typing error
MAX_CLOCK_MINUTES = 60  # no period runs longer; a clock beyond it (or below zero) is a typing error
# running_video_time where the workbook has none: the old ETL's estimate (benchsight derived_columns.py), which
# assumes 20-minute periods and 15-minute intermissions on the video, as the dashboard contract says.
VIDEO_PERIOD_SECONDS = 1200
VIDEO_INTERMISSION_SECONDS = 900


def running_video_time(period: pd.Series, clock_seconds: pd.Series, workbook: pd.Series | None = None) -> pd.Series:
    """Seconds into the game video: the workbook's running_video_time where present, else
    (period - 1) x 1200 + (1200 - clock) + (period - 1) x 900 (the old ETL's estimate)."""
    p = pd.to_numeric(period, errors="coerce")
    est = ((p - 1) * VIDEO_PERIOD_SECONDS + (VIDEO_PERIOD_SECONDS - pd.to_numeric(clock_seconds, errors="coerce"))
           + (p - 1) * VIDEO_INTERMISSION_SECONDS)
    if workbook is None:
        return est
    return pd.to_numeric(workbook, errors="coerce").where(lambda v: v.notna(), est)


def period_key(period: pd.Series) -> pd.Series:
    """dim_period's key of each period number: P01..P09 (NA where the period is)."""
    num = pd.to_numeric(period, errors="coerce").astype("Int64")
    return ("P" + num.astype("string").str.zfill(2)).where(num.notna())


def _bounded(values: pd.Series, lo: float, hi: float, df: pd.DataFrame, column: str, issues: IssueLog, file: str,
             sheet: str, what: str) -> pd.Series:
    """``values`` with those outside [lo, hi] read as blank, each reported (kind ``impossible_value``)."""
    bad = _flag((values < lo) | (values > hi))
    if bad.any():
        issues.add_cells(file, sheet, column, df.loc[bad, "source_row"], f"{what} outside {lo:g}–{hi:g}",
                         "read as blank", kind="impossible_value")
        values = values.mask(bad)
    return values


def _time(df: pd.DataFrame, column: str, issues: IssueLog, file: str, sheet: str) -> pd.Series:
    """Minutes or seconds of a countdown clock: a number, within what a period can show."""
    hi = MAX_CLOCK_MINUTES if column.rstrip("_").endswith("min") else 59
    return _bounded(_num(df, column, issues, file, sheet), 0, hi, df, column, issues, file, sheet, "a clock value")


def _period(df: pd.DataFrame, column: str, issues: IssueLog, file: str, sheet: str) -> pd.Series:
    return _bounded(_num(df, column, issues, file, sheet), 1, MAX_PERIOD, df, column, issues, file, sheet,
                    "a period number")


def _prefer(derived: pd.Series, entered: pd.Series, issues: IssueLog, file: str, sheet: str,
            rows: pd.Series, names: tuple[str, str], compare: pd.Series | None = None,
            entered_cmp: pd.Series | None = None) -> pd.Series:
    """Derived value where present, else the tracker input; record disagreements (NA-safe)."""
    a = derived if compare is None else compare
    b = entered if entered_cmp is None else entered_cmp
    both = (a.notna() & b.notna()).to_numpy(dtype=bool)
    differ = both & (a.astype("string").fillna("") != b.astype("string").fillna("")).to_numpy(dtype=bool)
    if differ.any():
        issues.add_cells(file, sheet, names[0], rows[differ],
                         f"'{names[0]}' disagrees with the tracker input '{names[1]}'",
                         f"used '{names[0]}'", kind="derived_input_conflict")
    return derived.where(derived.notna(), entered)


def _flag(mask: pd.Series) -> pd.Series:
    """A boolean mask with missing values read as False (comparisons on NA give NA, never True)."""
    return mask.fillna(False).astype(bool)


def _typed(df: pd.DataFrame, name: str) -> pd.Series:
    """Cells that hold something (after trimming), as a plain boolean mask."""
    return _flag(clean_text(_col(df, name)).notna())


def _left_out(issues: IssueLog, file: str, rows: pd.Series, column: str, problem: str) -> None:
    """One uncapped issue per player row left out of fact_event_players (the row accounting)."""
    issues.add_cells(file, "events", column, rows, problem, "row left out", kind="blank_input", uncapped=True)


def _side_from_binary(df: pd.DataFrame, player_row: pd.Series) -> pd.Series:
    """Side as typed in role_abrev_binary_: '1' = event team; blank or '0' = opponent; 'x' = no player.

    A blank means the opponent only in a workbook that uses the column (see BINARY_IN_USE_SHARE);
    elsewhere a blank says nothing and the side stays unknown.
    """
    binary = clean_text(_col(df, "role_abrev_binary_").astype("string")).str.lower()
    binary = binary.replace({"1.0": "1", "0.0": "0"})
    is_event = _flag(binary == "1")
    players = int(player_row.sum())
    if players == 0 or is_event[player_row].sum() < BINARY_IN_USE_SHARE * players:
        return pd.Series(pd.NA, index=df.index, dtype="string")
    is_opp = _flag(binary.isna() | (binary == "0")) & player_row
    side = pd.Series(pd.NA, index=df.index, dtype="string")
    side[is_event & player_row] = "event"
    side[is_opp] = "opp"
    return side


def _event_keys(df: pd.DataFrame, index: pd.Series, attrs: pd.DataFrame, issues: IssueLog,
                file: str) -> tuple[pd.Series, pd.Series]:
    """Event key per row and a mask of rows in a restarted numbering block.

    Rows are grouped into blocks: contiguous runs of one event number. A number's later block
    *continues* the event it repeats when its attributes (type, detail, clock, period on its first
    row), where both have them, agree: the tracker added rows to that event further down
    (``split_event_rows``).
    Otherwise the tracker restarted its numbering and the block is its own event, keyed by its
    number plus REUSED_INDEX_OFFSET per earlier event of that number (``reused_event_index``).
    """
    rows = df["source_row"]
    key = index.copy()
    restarted = pd.Series(False, index=df.index)
    values = index.to_numpy()
    starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]]) if len(values) else np.array([], dtype=int)
    if not pd.Series(values[starts]).duplicated().any():
        return key, restarted  # every number is one contiguous block: nothing to do
    block = pd.Series(np.cumsum(np.r_[True, values[1:] != values[:-1]]), index=df.index)
    # a block's attributes are those of its first row (where the tracker types them)
    firsts = attrs.iloc[starts].set_axis(block.iloc[starts].to_numpy())
    firsts["index"] = values[starts]
    firsts["row"] = rows.to_numpy()[starts]
    ends = np.r_[starts[1:], len(values)] - 1
    firsts["last"] = rows.to_numpy()[ends]
    repeated = firsts[firsts["index"].duplicated(keep=False)]
    offset = REUSED_INDEX_OFFSET
    while offset <= index.max():  # keep later blocks clear of every tracked number
        offset *= 10
    number_col = "event_index_" if "event_index_" in df.columns else "event_index"
    shown = _col(df, number_col)
    for value, blocks in repeated.groupby("index", sort=False):
        events: list[pd.Series] = []  # events of this number so far, with their attributes
        for block_id, b in blocks.iterrows():
            if events and _continues(b, events[-1]):
                issues.add(file, f"rows of event {_shown(shown, rows, b['row'])} are not together: row {b['row']} "
                           f"continues the event of row {events[-1]['row']}", "merged into that event",
                           kind="split_event_rows", sheet="events", row=int(b["row"]), column=number_col)
                in_block = (block == block_id).to_numpy()
                key[in_block] = events[-1]["key"]
                restarted[in_block] = events[-1]["restarted"]
                continue
            b = b.copy()
            b["key"] = value + offset * len(events)
            b["restarted"] = bool(events)
            if events:
                in_block = (block == block_id).to_numpy()
                key[in_block] = b["key"]
                restarted[in_block] = True
                issues.add(file, f"event number {_shown(shown, rows, b['row'])} is used again from row {b['row']} "
                           f"(first used at row {events[0]['row']}): the tracker restarted its numbering",
                           f"rows {b['row']}-{b['last']} kept as a separate event (event_index {int(b['key'])})",
                           kind="reused_event_index", sheet="events", row=int(b["row"]), column=number_col)
            events.append(b)
    return key, restarted


def _shown(shown: pd.Series, rows: pd.Series, row: int) -> str:
    """The event number as the sheet shows it on Excel row ``row``."""
    value = shown[(rows == row).to_numpy()]
    num = pd.to_numeric(value, errors="coerce").dropna()
    return str(int(num.iloc[0])) if len(num) else "?"


def _continues(block: pd.Series, event: pd.Series) -> bool:
    """Whether a later block of an event number carries nothing that contradicts that event."""
    for name in ("event_type", "event_detail", "clock", "period"):
        a, b = block[name], event[name]
        if pd.notna(a) and pd.notna(b) and str(a).lower() != str(b).lower():
            return False
    return True


def _jerseys(df: pd.DataFrame, rows: pd.Series, role_typed: pd.Series, issues: IssueLog, file: str,
             sheet: str) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Jersey per row, a mask of rows that name a player (a jersey typed or a player role) and the
    column the jersey was read from.

    The jersey column repeats the tracker's input where typed; a workbook saved without formula
    results may carry it only in player_game_number_. A 0 in the formula column alone (formulas
    past the data render 0) is no jersey.
    """
    jerseys = {}
    for column in ("player_game_number", "player_game_number_"):
        number, bad = jersey(_col(df, column))
        if bad.any():
            issues.add_cells(file, sheet, column, rows[bad], "jersey is not a number", "player left unlinked",
                             kind="not_a_number")
        jerseys[column] = number
    derived, entered = jerseys["player_game_number"], jerseys["player_game_number_"]
    placeholder = _flag(derived == "0") & entered.isna() & ~role_typed
    derived = derived.mask(placeholder)
    value = _prefer(derived, entered, issues, file, sheet, rows, ("player_game_number", "player_game_number_"))
    typed = (_typed(df, "player_game_number") & ~placeholder) | _typed(df, "player_game_number_")
    column = pd.Series(np.where(_flag(derived.notna()), "player_game_number", "player_game_number_"), index=df.index)
    return value, typed | role_typed, column


def normalize_events(raw: pd.DataFrame, file: str, issues: IssueLog) -> pd.DataFrame:
    """One canonical row per row of the events sheet that has an event number.

    Player rows (a jersey typed or a player role) that cannot be kept are reported one by one
    (kind ``blank_input``): without an event number they are dropped here, without a side they are
    kept with an empty side for the game builder to leave out. Columns of note: ``event_index``
    (the event key, see ``_event_keys``), ``seq`` (event order in the sheet) and ``player_row``.
    """
    sheet = "events"
    df = raw.copy()
    df["source_row"] = np.arange(len(df)) + 2
    rows_all = df["source_row"]
    role_all = clean_text(_col(df, "player_role")).str.lower().str.extract(_ROLE)
    jersey_all, player_all, jersey_col = _jerseys(df, rows_all, _flag(role_all[0].notna()), issues, file, sheet)
    idx_derived = _num(df, "event_index", issues, file, sheet)
    idx_input = _num(df, "event_index_", issues, file, sheet)
    event_index = idx_derived.where(idx_derived.notna(), idx_input + TYPED_INDEX_OFFSET)
    keep = _flag(event_index.notna())
    dropped = player_all & ~keep
    if dropped.any():
        _left_out(issues, file, rows_all[dropped], "event_index_",
                  "player row without an event number (event_index_ and event_index are blank)")
    df, event_index = df[keep], event_index[keep]
    role, player_row, jersey_value = role_all[keep], player_all[keep], jersey_all[keep]
    jersey_col = jersey_col[keep]
    rows = df["source_row"]
    out = pd.DataFrame({"source_row": rows}, index=df.index)

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

    # time: derived where present, else the sparse inputs carried forward
    t_min = _time(df, "event_start_min", issues, file, sheet)
    t_sec = _time(df, "event_start_sec", issues, file, sheet)
    typed_min = _time(df, "event_start_min_", issues, file, sheet)
    typed_sec = _time(df, "event_start_sec_", issues, file, sheet)
    i_min, i_sec = typed_min.ffill(), typed_sec.ffill()
    minutes = t_min.where(t_min.notna(), i_min)
    seconds = t_sec.where(t_sec.notna(), i_sec)
    out["clock_seconds"] = (minutes * 60 + seconds).round().astype("Int64")
    out["start_min"], out["start_sec"] = minutes.round().astype("Int64"), seconds.round().astype("Int64")
    # the end is typed only on events that last (never carried forward: a blank end is no end)
    e_min, e_sec = _time(df, "event_end_min", issues, file, sheet), _time(df, "event_end_sec", issues, file, sheet)
    typed_e_min = _time(df, "event_end_min_", issues, file, sheet)
    typed_e_sec = _time(df, "event_end_sec_", issues, file, sheet)
    out["end_min"] = e_min.where(e_min.notna(), typed_e_min).round().astype("Int64")
    out["end_sec"] = e_sec.where(e_min.notna(), typed_e_sec).fillna(0).where(out["end_min"].notna()).round() \
        .astype("Int64")
    out["running_video_time"] = _num(df, "running_video_time", issues, file, sheet)
    out["is_highlight"] = _num(df, "is_highlight", issues, file, sheet).fillna(0).clip(0, 1).astype("int64")
    period = _period(df, "period", issues, file, sheet)

    # event keys: contiguous blocks of one number; a restarted numbering becomes its own event
    own_clock = (t_min * 60 + t_sec).where(t_min.notna(), typed_min * 60 + typed_sec.fillna(0))
    attrs = pd.DataFrame({"event_type": out["event_type"], "event_detail": out["event_detail"],
                          "clock": own_clock, "period": period}, index=df.index)
    key, restarted = _event_keys(df, event_index, attrs, issues, file)
    out["event_index"] = key.astype("int64")
    first_row = rows.groupby(out["event_index"]).transform("min")
    out["seq"] = first_row.rank(method="dense").astype("int64")
    # the linked group the XY exports refer to (link_event_index); blank when the sheet has no such column
    out["linked_event_index"] = to_number(_col(df, "linked_event_index"))[0]

    # per-event forward fill of attributes typed only on the first row
    filled = ["event_type", "event_detail", "event_detail_2", "zone", "successful", "wb_venue"]
    out[filled] = out.groupby("event_index", sort=False)[filled].ffill()

    if period.isna().all():
        # periods advance on Intermission events, in sheet order
        is_int = _flag(out["event_type"].str.lower().eq("intermission"))
        ev_int = is_int.groupby(out["seq"]).any().sort_index()
        counts = ev_int.cumsum().shift(fill_value=0)
        period = out["seq"].map(counts + 1).astype("float64")
    period = period.ffill().bfill()
    out["period"] = period.round().astype("Int64")

    # players: jersey, side and role number
    out["jersey"] = jersey_value
    out["jersey_column"] = jersey_col
    out["player_row"] = player_row
    side_derived = role[0].astype("string")
    num_derived = pd.to_numeric(role[1], errors="coerce").astype("Int64")
    side_input = _side_from_binary(df, player_row)
    # where player_role and role_abrev_binary_ disagree the game builder settles the side by the rosters
    out["side_derived"], out["side_input"] = side_derived.where(player_row), side_input.where(player_row)
    out["side"] = side_derived.where(side_derived.notna(), side_input).where(player_row)
    no_side = player_row & out["side"].isna()
    if no_side.any():
        _left_out(issues, file, rows[no_side], "role_abrev_binary_",
                  "player row without a side (player_role and role_abrev_binary_ are blank or unreadable)")
    has_side = _flag(out["side"].notna())
    order = out.groupby(["event_index", "side"], sort=False).cumcount() + 1
    order = order.where(has_side).astype("Int64")
    # a restarted block's formula roles count on from the earlier event of its number: renumber them
    out["role_number"] = num_derived.where(num_derived.notna() & ~restarted, order)
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
    period = _period(df, "Period" if "Period" in df.columns else "period", issues, file, sheet)
    s_min = _time(df, "shift_start_min", issues, file, sheet)
    s_sec = _time(df, "shift_start_sec", issues, file, sheet)
    e_min = _time(df, "shift_end_min", issues, file, sheet)
    e_sec = _time(df, "shift_end_sec", issues, file, sheet)
    keep = _flag(period.notna() & s_min.notna() & e_min.notna())
    slots = [c for c in (f"{v}_{slot}" for v in ("home", "away") for slot in SLOTS) if c in df.columns]
    dropped = ~keep & _flag(df[slots].notna().any(axis=1))
    if dropped.any():  # players on the ice without a period or times cannot be placed on the clock
        # (rows without players, such as Intermission, carry no time by design)
        issues.add_cells(file, sheet, "Period" if "Period" in df.columns else "shift_start_min",
                         df.loc[dropped, "source_row"], "a shift row without its period, start or end time",
                         "row left out", kind="blank_input")
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
        "wb_game_id": to_number(_col(df, "game_id"))[0],
        "wb_video_time": _num(df, "running_video_time", issues, file, sheet),
    }, index=df.index)
    dup_index = out["shift_index"].duplicated()
    if dup_index.any():
        issues.add_cells(file, sheet, "shift_index", out.loc[dup_index, "source_row"], "duplicate shift_index",
                         "later row skipped", kind="duplicate_shift_index")
        out, df = out[~dup_index], df[~dup_index]
    for venue in ("home", "away"):
        seen: list[pd.Series] = []
        for slot in SLOTS:
            column = f"{venue}_{slot}"
            number, bad = jersey(_col(df, column))
            if bad.any():
                issues.add_cells(file, sheet, column, out.loc[bad, "source_row"], "jersey is not a number",
                                 "slot left empty", kind="not_a_number")
            for other in seen:
                dup = _flag(number == other)
                if dup.any():
                    issues.add_cells(file, sheet, column, out.loc[dup, "source_row"],
                                     "the same jersey is in two slots of one side", "second slot left empty",
                                     kind="duplicate_slot")
                    number = number.mask(dup)
            seen.append(number)
            out[column] = number
    out["duration"] = out["start_clock"] - out["end_clock"]
    bad_len = out["duration"] < 0
    if bad_len.any():
        issues.add_cells(file, sheet, "shift_end_min", out.loc[bad_len, "source_row"],
                         "shift ends before it starts", "duration left empty", kind="bad_shift_time")
        out.loc[bad_len, "duration"] = np.nan
    out["start_elapsed"] = (out["period"] - 1) * period_seconds + (period_seconds - out["start_clock"])
    out["end_elapsed"] = (out["period"] - 1) * period_seconds + (period_seconds - out["end_clock"])
    return out.sort_values("shift_index").reset_index(drop=True)
