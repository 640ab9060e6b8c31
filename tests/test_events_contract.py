"""The dashboard contract's columns of fact_events, fact_event_players and fact_shot_xy (issues 12 and 13).

Hand-checked rows on the real games, and invariants every league's outputs keep (``check_event_columns``, also
run on the sample league by tests/test_etl_sample.py).
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from etl.analytics import weights
from etl.catalog import get_table
from tests.conftest import REAL_DIR, read_csv

CONTRACT = REAL_DIR.parent / "dashboard-contract.json"
TABLES = ("fact_events", "fact_event_players", "fact_shot_xy")


def test_the_catalog_declares_every_contract_column_of_the_three_tables():
    if not CONTRACT.exists():
        pytest.skip(f"dashboard contract not found at {CONTRACT} (../shared is absent)")
    contract = json.loads(CONTRACT.read_text())["tables"]
    for name in TABLES:
        missing = set(contract[name]["columns"]) - set(get_table(name).column_names)
        assert not missing, (name, sorted(missing))


def _num(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s, errors="coerce")


def check_event_columns(out: Path) -> pd.DataFrame:
    """Invariants of the contract columns in the outputs ``out``; returns fact_events (strings) for more checks."""
    ev = read_csv(out / "fact_events.csv")
    players = read_csv(out / "fact_event_players.csv")
    issues = read_csv(out / "qa_data_issues.csv")
    # times: start and end on the countdown clock, duration = start - end >= 0, minutes and seconds as typed
    start, end = _num(ev["time_start_total_seconds"]), _num(ev["time_end_total_seconds"])
    timed = start.notna()
    assert (end[timed] <= start[timed]).all() and (_num(ev["duration"])[timed] == (start - end)[timed]).all()
    inverted = ev["event_index"].isin(issues.loc[issues["kind"] == "inverted_event_time", "problem"]
                                      .str.extract(r"^event (\d+) ")[0])
    typed = timed & ~inverted
    assert (_num(ev["event_start_min"]) * 60 + _num(ev["event_start_sec"]))[typed].equals(start[typed])
    ended = ev["event_end_min"].notna() & ~inverted
    assert (_num(ev["event_end_min"]) * 60 + _num(ev["event_end_sec"]))[ended].equals(end[ended])
    assert (end[timed & ev["event_end_min"].isna()] == start[timed & ev["event_end_min"].isna()]).all()
    assert _num(ev["running_video_time"])[timed].notna().all()  # no clock and no video time: empty
    # keys and copies
    assert (ev["period_id"] == "P" + ev["period"].str.zfill(2)).all()
    assert set(ev["period_id"]) <= set(read_csv(out / "dim_period.csv")["period_id"])
    assert ev["shift_key"].equals(ev["shift_id"]) and ev["event_team_zone"].equals(ev["zone_id"])
    for col, prefix in (("linked_event_key", "LV"), ("sequence_key", "SQ"), ("play_key", "PL")):
        keys = ev[col].dropna()
        assert keys.str.fullmatch(prefix + r"\d{10}").all() and (keys.str[2:7] == ev.loc[keys.index, "game_id"]).all()
    both = ev["play_key"].notna()
    assert both.equals(ev["sequence_key"].notna())
    assert (_num(ev.loc[both, "play_key"].str[7:]) // 100 == _num(ev.loc[both, "sequence_key"].str[7:])).all()
    in_order = ev.assign(n=_num(ev["sequence_key"].str[7:]), row=_num(ev["source_row"])).dropna(subset=["n"])
    assert all(g.sort_values("row")["n"].is_monotonic_increasing for _, g in in_order.groupby("game_id"))
    # flags
    assert (ev["is_save"] == ev["event_detail"].fillna("").str.startswith("Save").astype(int).astype(str)).all()
    assert (ev["is_rebound"] == (ev["event_type"] == "Rebound").astype(int).astype(str)).all()
    assert set(ev["is_highlight"]) <= {"0", "1"}
    # strength: home first, the own-team-first strength_id read from the event team's side
    label = ev["strength"].notna() & ~ev["strength"].isin(["ENH", "ENA"])
    swapped = ev["strength_id"].str.split("v").str[::-1].str.join("v")
    expect = ev["strength_id"].where(ev["team_venue"] == "home", swapped)
    assert (ev.loc[label & ev["team_venue"].notna(), "strength"] == expect[label & ev["team_venue"].notna()]).all()
    # players: the role vocabulary, player 1 and the id lists
    assert set(players["player_role"]) <= set(read_csv(out / "dim_player_role.csv")["player_role"])
    assert (players["player_role"] == players["side"] + "_player_" + players["role_number"]).all()
    p1 = players[players["player_role"] == "event_player_1"].drop_duplicates("event_id").set_index("event_id")
    has_p1 = ev["player_role"].notna()
    assert (ev.loc[has_p1, "player_role"] == "event_player_1").all()
    assert set(ev.loc[has_p1, "event_id"]) <= set(p1.index)
    linked = players.dropna(subset=["player_id"])
    for side, col in (("event", "event_player_ids"), ("opp", "opp_player_ids")):
        lists = linked[linked["side"] == side].groupby("event_id")["player_id"].agg(lambda s: ",".join(sorted(set(s))))
        assert ev.set_index("event_id")[col].dropna().equals(lists.reindex(ev["event_id"]).dropna().rename(col)
                                                            .rename_axis("event_id"))
    # shooters: player 1 of a shot or goal event, the shooter of fact_shots
    shooters = ev.dropna(subset=["shooter_player_id"]).set_index("event_id")
    assert (shooters["shooter_player_id"] == p1.loc[shooters.index, "player_id"]).all()
    shots = read_csv(out / "fact_shots.csv").dropna(subset=["player_id"]).set_index("event_id")
    assert (shooters["shooter_player_id"].reindex(shots.index) == shots["player_id"]).all()
    all_shots = set(read_csv(out / "fact_shots.csv")["event_id"]) | set(ev.loc[ev["is_goal"] == "true", "event_id"])
    assert set(shooters.index) <= all_shots
    # goalie and danger only on shots on goal and goals
    on_net = ev["event_id"].isin(read_csv(out / "fact_shot_xg.csv").query("is_on_goal == 'true'")["event_id"])
    assert not ev.loc[~on_net, ["goalie_player_id", "goalie_name", "danger_level"]].notna().any().any()
    assert set(ev["danger_level"].dropna()) <= {"high", "medium", "low"}
    # rushes: controlled entries, each followed by a rush shot of fact_shot_xg
    rush = ev[ev["is_rush"] == "1"]
    assert (rush["event_detail"] == "Zone_Entry").all()
    assert rush["event_detail_2"].str.lower().isin(weights.CONTROLLED_ENTRY_DETAILS).all()
    xg = read_csv(out / "fact_shot_xg.csv")
    assert len(rush) <= (xg["is_rush"] == "1").sum() and (len(rush) > 0) == ((xg["is_rush"] == "1").sum() > 0)
    # fact_shot_xy: the shot's xG, period key and video time
    xy = read_csv(out / "fact_shot_xy.csv")
    if len(xy):
        assert (xy["xg"] == xg.set_index("shot_id").loc[xy["shot_id"], "xg"].to_numpy()).all()
        assert (xy["period_id"] == "P" + xy["period"].str.zfill(2)).all()
        assert (xy["running_video_time"] == ev.set_index("event_id").loc[xy["shot_id"], "running_video_time"]
                .to_numpy()).all()
    return ev


def test_contract_columns_on_the_real_games(real_outputs):
    ev = check_event_columns(real_outputs).set_index("event_id")
    # 18969 events sheet rows 3-5 (event 1001): opening faceoff at 18:00, #53 P100192 and #21 P100025 of the home
    # team against #70 P100001
    row = ev.loc["EV1896901001"]
    assert (row["period_id"], row["time_start_total_seconds"], row["duration"], row["running_video_time"]) == \
        ("P01", "1080", "0", "0.0")
    assert (row["event_player_ids"], row["opp_player_ids"], row["player_role"], row["player_team"]) == \
        ("P100025,P100192", "P100001", "event_player_1", "Platinum")
    assert (row["player_name"], row["event_player_2_name_x"]) == ("Chris Premo", "Andrew Marshall")
    # rows 304-309 (event 1157): an away ZoneEntry-Rush from 12:48 to 12:44 (video 312 s), three skaters a side ...
    row = ev.loc["EV1896901157"]
    assert (row["time_start_total_seconds"], row["time_end_total_seconds"], row["duration"]) == ("768", "764", "4")
    assert (row["event_start_min"], row["event_start_sec"], row["event_end_min"], row["event_end_sec"]) == \
        ("12", "48", "12", "44")
    assert (row["event_player_ids"], row["opp_player_ids"]) == ("P100001,P100064,P100132", "P100025,P100030,P100192")
    assert (row["is_rush"], row["event_team_zone"], row["running_video_time"]) == ("1", "o", "312.0")
    # ... rows 310-312 (event 1158): #70 P100001's wrist shot on net at 12:44, saved by #99 P100202 (opp player 1),
    # linked group 9028: the entry before it is a rush; medium danger (offensive zone, no tip or rebound)
    row = ev.loc["EV1896901158"]
    assert (row["shooter_player_id"], row["goalie_player_id"], row["goalie_name"]) == \
        ("P100001", "P100202", "Francis Forte")
    assert (row["danger_level"], row["linked_event_key"], row["is_rush"]) == ("medium", "LV1896909028", "0")
    assert ev.loc["EV1896901159", "is_save"] == "1"  # row 313: Save_Rebound
    assert ev.loc["EV1896901160", "is_rebound"] == "1"  # row 316: Rebound
    # rows 386-388 (event 1190): home goal by #45 P100117 on #39 P100016 (rows 384-385 are its shot, typed
    # without the shooter's row)
    row = ev.loc["EV1896901190"]
    assert (row["is_goal"], row["shooter_player_id"], row["goalie_player_id"], row["linked_event_key"]) == \
        ("true", "P100117", "P100016", "LV1896909032")
    # 18981 row 616 (event 1320, DeadIce): typed 3:35 to 5:05, the wrong way round: swapped and reported
    row = ev.loc["EV1898101320"]
    assert (row["time_start_total_seconds"], row["time_end_total_seconds"], row["duration"]) == ("305", "215", "90")
    assert (row["event_start_min"], row["event_start_sec"]) == ("3", "35")
    # the real games' shifts: an empty net late in third periods (ENA), otherwise skater counts
    assert {"5v5", "5v4", "4v5", "ENA"} <= set(ev["strength"].dropna())
    # the XY export's puck path starts events 1008 and 1032 of 18969 (xy/event_locations/18969_1.csv)
    assert ev[["puck_x_start", "puck_y_start"]].dropna().index.tolist() == ["EV1896901008", "EV1896901032"]


def test_sequences_and_plays_follow_the_contract_rules():
    from etl.builders.game import _sequences

    types = ["gamestart", "faceoff", "pass", "zone_entry_exit", "shot", "stoppage", "penalty", "possession",
             "faceoff", "turnover", "pass", "goal", "intermission", "gameend"]
    details = [None, "faceoff_gamestart", "pass_completed", "zone_entry", "shot_onnetsaved", None, None, None,
               None, "turnover_giveaway", None, "goal_scored", None, None]
    first = pd.DataFrame({"type_key": types, "detail_key": details, "seq": range(len(types))},
                         index=pd.Index(range(1000, 1000 + len(types))))
    sequence, play = _sequences(first)
    # a faceoff opens a sequence; a stoppage closes it; the penalty after the whistle opens (and closes) one of
    # its own, as does the possession after it until the faceoff; a zone entry or a turnover starts a new play
    assert sequence.tolist() == [pd.NA, 1, 1, 1, 1, 1, 2, 3, 4, 4, 4, 4, pd.NA, pd.NA]
    assert play.tolist() == [pd.NA, 1, 1, 1, 2, 2, 1, 1, 1, 1, 2, 2, pd.NA, pd.NA]
