"""XY tables from the real games' location exports, and fact_video / fact_game_status from the real folders."""
from __future__ import annotations

import pandas as pd

from tests.conftest import read_csv


def test_shot_and_player_locations_join_their_events(real_dir, real_outputs):
    shots_csv = pd.concat([pd.read_csv(p) for p in sorted(real_dir.glob("games/*/shots/*_*.csv"))
                           if "link_event_index" in pd.read_csv(p, nrows=0).columns])
    xy = read_csv(real_outputs / "fact_shot_xy.csv")
    assert len(xy) == len(shots_csv) > 0
    shots = read_csv(real_outputs / "fact_shots.csv").set_index("shot_id")
    assert set(xy["shot_id"]) <= set(shots.index)
    assert (xy.set_index("shot_id")["team_id"] == shots.loc[xy["shot_id"], "team_id"]).all()
    assert sorted(xy["shot_x"].astype(float)) == sorted(shots_csv["X"].astype(float))
    located = pd.concat([pd.read_csv(p) for p in sorted(real_dir.glob("games/*/xy/event_locations/*_*.csv"))])
    people = read_csv(real_outputs / "fact_player_xy_long.csv")
    assert len(people) > 0 and people["player_id"].notna().all() and people["event_id"].str.startswith("EV").all()
    players = read_csv(real_outputs / "fact_event_players.csv")
    linked = people.merge(players, on=["event_id", "player_id"])
    assert set(linked["player_xy_id"]) == set(people["player_xy_id"])
    puck = read_csv(real_outputs / "fact_puck_xy_long.csv")
    assert len(puck) == sum(int(pd.notna(r.X)) + int(pd.notna(r.X2)) + int(pd.notna(r.X3)) for r in located.itertuples()
                            if str(r.Player).lower() == "p")
    wide = read_csv(real_outputs / "fact_puck_xy_wide.csv")
    assert set(wide["event_id"]) == set(puck["event_id"]) and wide["event_type"].notna().all()


def test_video_and_game_status_of_the_real_games(real_dir, real_outputs):
    video = read_csv(real_outputs / "fact_video.csv")
    folders = {int(p.parent.name) for p in real_dir.glob("games/*/*_video_times.xlsx")}
    assert set(video["game_id"].astype(int)) == folders
    assert video["video_url"].str.startswith("https://").all() and (video["video_type"] == "Full_Ice").all()
    status = read_csv(real_outputs / "fact_game_status.csv").set_index("game_id")
    schedule = read_csv(real_outputs / "dim_schedule.csv").set_index("game_id")
    assert set(status.index) == set(schedule.index)
    for gid in folders:
        assert status.at[str(gid), "tracking_status"] == "COMPLETE"
    assert (status.drop(index=[str(g) for g in folders])["tracking_status"] == "NO_FILE").all()
