"""The XY tables, from the tracker's location exports in the game folder (empty for a game without them).

- ``shots/<id>_<n>.csv`` (``link_event_index, X, Y``): one point per shot -> ``fact_shot_xy``.
- ``xy/event_locations/<id>_<n>.csv`` (``link_event_index, Player, X, Y, X2, Y2, X3, Y3``): up to three points
  per player (jersey) of a linked event -> ``fact_player_xy_long``; rows whose Player is ``p`` are the puck's
  path -> ``fact_puck_xy_long`` (one row per point) and ``fact_puck_xy_wide`` (one row per event).

``link_event_index`` is the events sheet's ``linked_event_index``; a location belongs to the first event of that
linked group (for shots: its shot or goal event). Files of another layout (older exports) are ignored.
"""
from __future__ import annotations

import re

import pandas as pd

from ..codes import jersey, to_number
from .tracking import period_key

SHOT_XY = ["shot_id", "game_id", "team_id", "team_venue", "period", "period_id", "running_video_time", "player_id",
           "goalie_player_id", "is_goal", "shot_result", "shot_x", "shot_y"]
PLAYER_XY = ["player_xy_id", "game_id", "event_id", "player_id", "player_name", "team_id", "team_venue",
             "player_role", "is_event_team", "point_number", "x", "y"]
PUCK_LONG = ["puck_xy_id", "game_id", "event_id", "point_number", "x", "y"]
PUCK_WIDE = ["event_id", "game_id", "period", "event_type", "event_detail", "point_count"]
PUCK = "p"  # the Player value of the puck's rows in the location exports
_POINT = re.compile(r"^([XY])(\d*)$")


def empty() -> dict[str, pd.DataFrame]:
    return {"fact_shot_xy": pd.DataFrame(columns=SHOT_XY), "fact_player_xy_long": pd.DataFrame(columns=PLAYER_XY),
            "fact_puck_xy_long": pd.DataFrame(columns=PUCK_LONG), "fact_puck_xy_wide": pd.DataFrame(columns=PUCK_WIDE)}


def _points(df: pd.DataFrame) -> list[tuple[int, str, str]]:
    """(point number, x column, y column) of a location export, in order."""
    xs = {int(m[2] or 1): c for c in df.columns if (m := _POINT.match(str(c))) and m[1] == "X"}
    ys = {int(m[2] or 1): c for c in df.columns if (m := _POINT.match(str(c))) and m[1] == "Y"}
    return [(n, xs[n], ys[n]) for n in sorted(xs) if n in ys]


def _long(df: pd.DataFrame, keep: list[str]) -> pd.DataFrame:
    parts = [df[keep].assign(point_number=n, x=to_number(df[x])[0], y=to_number(df[y])[0]) for n, x, y in _points(df)]
    if not parts:
        return pd.DataFrame(columns=keep + ["point_number", "x", "y"])
    out = pd.concat(parts, ignore_index=True)
    return out[out["x"].notna() & out["y"].notna()]


def _event_of_link(first: pd.DataFrame, prefer: pd.Series | None = None) -> pd.Series:
    """Event key per linked_event_index: the first event of the group (``prefer``: among those it marks)."""
    f = first[first["linked_event_index"].notna()]
    if prefer is not None:
        marked = f[prefer.reindex(f.index).fillna(False).astype(bool)]
        f = pd.concat([marked, f])
    f = f.reset_index().drop_duplicates("linked_event_index")
    return pd.Series(f["event_index"].to_numpy(), index=f["linked_event_index"].astype("int64").to_numpy())


def xy_tables(gid: int, frames: dict[str, list[pd.DataFrame]], first: pd.DataFrame, event_ids: pd.Series,
              shots: pd.DataFrame, event_players: pd.DataFrame, names: pd.Series) -> dict[str, pd.DataFrame]:
    """The four XY tables of one game from its location exports (``frames``: kind -> files' frames)."""
    out = empty()
    if "linked_event_index" not in first or not any(frames.values()):
        return out
    link = lambda df: to_number(df["link_event_index"])[0]  # noqa: E731 - one-line column reader
    shot_files = [df for df in frames.get("shots", []) if {"link_event_index", "X", "Y"} <= set(df.columns)]
    if shot_files:
        s = pd.concat(shot_files, ignore_index=True)
        event = link(s).map(_event_of_link(first, first["is_shot"] | first["is_goal"]))
        s = s.assign(event_id=event.map(event_ids)).dropna(subset=["event_id"]).drop_duplicates("event_id")
        shot = shots.set_index("event_id").reindex(s["event_id"])
        video = pd.Series(first["running_video_time"].to_numpy(), index=event_ids.reindex(first.index).to_numpy())
        out["fact_shot_xy"] = pd.DataFrame({
            "shot_id": s["event_id"].to_numpy(), "game_id": gid, "team_id": shot["team_id"].to_numpy(),
            "team_venue": shot["venue"].to_numpy(), "period": shot["period"].to_numpy(),
            "period_id": period_key(shot["period"]).to_numpy(),
            "running_video_time": video.reindex(s["event_id"]).to_numpy(),
            "player_id": shot["player_id"].to_numpy(), "goalie_player_id": shot["goalie_player_id"].to_numpy(),
            "is_goal": shot["is_goal"].to_numpy(), "shot_result": shot["event_detail"].to_numpy(),
            "shot_x": to_number(s["X"])[0].to_numpy(), "shot_y": to_number(s["Y"])[0].to_numpy()})
    located = [df for df in frames.get("players", []) if {"link_event_index", "Player", "X", "Y"} <= set(df.columns)]
    located = pd.concat(located, ignore_index=True) if located else pd.DataFrame(columns=["Player"])
    is_puck = located["Player"].astype("string").str.strip().str.lower().eq(PUCK).fillna(False)
    if (~is_puck).any():
        p = located[~is_puck]
        p = p.assign(event_id=link(p).map(_event_of_link(first)).map(event_ids), jersey=jersey(p["Player"])[0])
        p = _long(p.dropna(subset=["event_id"]), ["event_id", "jersey"])
        ep = event_players.drop_duplicates(["event_id", "jersey"]).set_index(["event_id", "jersey"])
        who = ep.reindex(pd.MultiIndex.from_arrays([p["event_id"], p["jersey"]]))
        p = p.assign(player_id=who["player_id"].to_numpy(), team_id=who["team_id"].to_numpy(),
                     team_venue=who["venue"].to_numpy(), player_role=who["player_role"].to_numpy(),
                     is_event_team=(who["side"] == "event").to_numpy())
        p["player_name"] = p["player_id"].map(names)
        p["player_xy_id"] = p["event_id"] + "_J" + p["jersey"].fillna("") + "_" + p["point_number"].astype(str)
        out["fact_player_xy_long"] = p.assign(game_id=gid).drop_duplicates("player_xy_id")[PLAYER_XY]
    if is_puck.any():
        k = located[is_puck]
        k = _long(k.assign(event_id=link(k).map(_event_of_link(first)).map(event_ids)).dropna(subset=["event_id"]),
                  ["event_id"])
        k["puck_xy_id"] = k["event_id"] + "_" + k["point_number"].astype(str)
        out["fact_puck_xy_long"] = k.assign(game_id=gid).drop_duplicates("puck_xy_id")[PUCK_LONG]
        key = pd.Series(first.index, index=event_ids.reindex(first.index).to_numpy())
        wide = k.groupby("event_id").size().rename("point_count").reset_index()
        ev = first.loc[key.reindex(wide["event_id"]).to_numpy()]
        out["fact_puck_xy_wide"] = wide.assign(game_id=gid, period=ev["period"].to_numpy(),
                                               event_type=ev["event_type"].to_numpy(),
                                               event_detail=ev["event_detail"].to_numpy())[PUCK_WIDE]
    return out
