"""fact_video: the game's videos, from ``<id>_video_times.xlsx`` next to its tracking workbook.

Leagues write the sheet in two shapes: one row per video with ``Video_Type`` and ``Url_1``..``Url_4``
(the tracker's export), or a minimal ``video_url`` with ``start_offset_seconds``. Headers are read
case-insensitively; a row without any URL is no video.
"""
from __future__ import annotations

import pandas as pd

from ..codes import clean_text, to_number

COLUMNS = ["video_key", "game_id", "season_id", "video_type", "video_type_id", "video_url", "video_description",
           "period_1_start", "period_2_start", "period_3_start"]
URL_HEADERS = ("url_1", "url", "video_url", "youtube_url")
DEFAULT_TYPE = "Full_Ice"
# dim_video_type keys of the old warehouse (VT0001 = Full_Ice).
VIDEO_TYPE_IDS = {"full_ice": "VT0001", "broadcast": "VT0002", "highlights": "VT0003", "goalie": "VT0004",
                  "overhead": "VT0005", "other": "VT0006"}
PERIOD_START_HEADERS = {1: ("period_1_start", "p1_start", "start_offset_seconds", "video_start_offset"),
                        2: ("period_2_start", "p2_start"), 3: ("period_3_start", "p3_start")}


def _column(df: pd.DataFrame, names: tuple[str, ...]) -> pd.Series:
    lower = {str(c).strip().lower(): c for c in df.columns}
    for name in names:
        if name in lower:
            return clean_text(df[lower[name]].astype("string"))
    return pd.Series(pd.NA, index=df.index, dtype="string")


def video_table(gid: int, raw: pd.DataFrame | None, season_id: str | None) -> pd.DataFrame:
    """fact_video rows of one game (none without a video sheet)."""
    if raw is None or raw.empty:
        return pd.DataFrame(columns=COLUMNS)
    url = _column(raw, URL_HEADERS)
    rows = raw[url.notna()]
    url = url[url.notna()]
    if rows.empty:
        return pd.DataFrame(columns=COLUMNS)
    vtype = _column(rows, ("video_type",)).fillna(DEFAULT_TYPE)
    key = _column(rows, ("key", "video_key"))
    key = key.fillna("V" + str(gid) + vtype.str.replace("_", "").str[:4].str.upper())
    dup = key.duplicated(keep=False)
    key = key.where(~dup, key + "_" + (pd.Series(range(1, len(key) + 1), index=key.index)).astype("string"))
    out = pd.DataFrame({
        "video_key": key, "game_id": gid, "season_id": season_id, "video_type": vtype,
        "video_type_id": vtype.str.lower().map(VIDEO_TYPE_IDS).fillna(VIDEO_TYPE_IDS["other"]),
        "video_url": url, "video_description": _column(rows, ("description", "video_description", "notes")),
    })
    for period, headers in PERIOD_START_HEADERS.items():
        out[f"period_{period}_start"] = to_number(_column(rows, headers))[0]
    return out[COLUMNS].reset_index(drop=True)


def schedule_video(raw: pd.DataFrame | None) -> dict:
    """dim_schedule's video columns from a game's video sheet: Url_1 of its first video row, the first Url_2
    and the first video row's start offset (None where the sheet has none)."""
    out = {"video_url_1": None, "video_url_2": None, "video_start_offset": None}
    if raw is None or raw.empty:
        return out
    url = _column(raw, URL_HEADERS)
    rows = raw[url.notna()]
    if rows.empty:
        return out
    out["video_url_1"] = str(url[url.notna()].iloc[0])
    second = _column(rows, ("url_2",)).dropna()
    out["video_url_2"] = str(second.iloc[0]) if len(second) else None
    start = to_number(_column(rows.iloc[:1], PERIOD_START_HEADERS[1]))[0].dropna()
    out["video_start_offset"] = float(start.iloc[0]) if len(start) else None
    return out
