"""Vocabulary dimensions: the tracker's standard codes plus every code seen in tracking.

Keys are the normalised codes themselves, so a new game or a new code never renumbers anything.
"""
from __future__ import annotations

import re

import pandas as pd

STANDARD: dict[str, tuple[str, ...]] = {
    "dim_event_type": (
        "Faceoff", "Shot", "Pass", "Goal", "Turnover", "Zone_Entry_Exit", "Penalty", "PenaltyShot_Shootout",
        "Stoppage", "LoosePuck", "Save", "Rebound", "Play", "Possession", "DeadIce", "Intermission",
        "GameStart", "GameEnd", "Timeout", "Clockstop", "Penalty_Delayed",
    ),
    "dim_event_detail": (
        "Pass_Completed", "Pass_Missed", "Pass_Deflected", "Pass_Intercepted", "Turnover_Giveaway",
        "Turnover_Takeaway", "Zone_Entry", "Zone_Exit", "Zone_Keepin", "Zone_EntryFailed", "Zone_ExitFailed",
        "Zone_KeepinFailed", "Penalty_Major", "Penalty_Minor", "Penalty_Offsetting", "Stoppage_Play",
        "Stoppage_Period", "Stoppage_Other", "Stoppage_GameEnd", "Save_Rebound", "Save_Freeze", "Save_Played",
        "Shot_OnNetSaved", "Shot_Missed", "Shot_MissedPost", "Shot_Blocked", "Shot_BlockedSameTeam",
        "Shot_Deflected", "Shot_DeflectedOnNetSaved", "Shot_TippedOnNetSaved", "Shot_OnNetGoal",
        "Shot_TippedGoal", "Shot_DeflectedGoal", "Shot_Goal", "Goal_Scored", "Goal_Shootout",
        "Goal_PenaltyShot", "Faceoff_GameStart", "Faceoff_PeriodStart", "Faceoff_AfterStoppage",
        "Faceoff_AfterGoal", "Faceoff_AfterPenalty", "Rebound_TeamRecovered", "Rebound_OppTeamRecovered",
        "Rebound_ShotGenerated", "LoosePuck_Battle", "Play_Offensive", "Play_Defensive",
    ),
    "dim_event_detail_2": (),
    "dim_play_detail": ("AssistPrimary", "AssistSecondary"),
    "dim_shift_start_type": (
        "GameStart", "PeriodStart", "OtherFaceoff", "FaceoffAfterGoal", "FaceoffAfterPenalty", "Intermission",
        "DeadIce/Stoppage", "OnTheFly",
    ),
    "dim_shift_stop_type": (),
}


def _readable(code: str) -> str:
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", code).replace("_", " ")


def vocab_table(name: str, seen: set[str], previous: pd.DataFrame | None = None) -> pd.DataFrame:
    """Standard codes, codes from earlier outputs (incremental) and codes seen now; sorted by code."""
    standard = set(STANDARD.get(name, ()))
    codes = set(standard) | set(seen)
    if previous is not None and "code" in previous.columns:
        codes |= set(previous["code"].dropna())
    # collapse case variants onto the standard spelling
    std_by_key = {c.lower(): c for c in standard}
    canon = {std_by_key.get(c.lower(), c) for c in codes}
    rows = sorted(canon)
    return pd.DataFrame({"code": rows, "name": [_readable(c) for c in rows],
                         "is_standard": [c in standard for c in rows]})


def strength_table(seen: set[str], previous: pd.DataFrame | None = None) -> pd.DataFrame:
    codes = {"5v5", "5v4", "4v5", "4v4", "3v3", "6v5", "5v6"} | set(seen)
    if previous is not None and "strength_id" in previous.columns:
        codes |= set(previous["strength_id"].dropna())
    parsed = []
    for code in sorted(codes):
        m = re.fullmatch(r"(\d+)v(\d+)", code)
        if m:
            parsed.append((code, int(m.group(1)), int(m.group(2))))
    return pd.DataFrame(parsed, columns=["strength_id", "skaters_for", "skaters_against"])


_STD_KEYS = {name: {c.lower(): c for c in codes} for name, codes in STANDARD.items()}


def canonicalize(codes: pd.Series, dim: str) -> pd.Series:
    """Normalised codes with case variants mapped onto the standard spelling."""
    keys = _STD_KEYS.get(dim, {})
    if not keys:
        return codes
    mapped = codes.str.lower().map(keys)
    return mapped.where(mapped.notna(), codes).astype("string")
