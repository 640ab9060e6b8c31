"""Sync moves only what changed: compare the outputs' per-game digests with what the target last received.

The target keeps, per table and per game, the rows and digest of the outputs last committed
(``hockeyops_sync_state``, written in the load's own transaction). A table whose file digest equals the
recorded one is skipped; a game-scoped table whose games partly changed is loaded as a games load of just
those games (their rows deleted and inserted; every other game's rows keep their physical identity), each
changed game's bytes read straight from its offset in the file. A table with no recorded state, a row count
that differs from the recorded one (changed outside hockeyops), or rows outside any game that changed is
loaded whole, as before.
"""
from __future__ import annotations

import psycopg

from ..catalog import TABLES_BY_NAME
from ..store import NO_GAME
from .plan import SyncOptions, SyncPlan
from .target import NO_GAME_ROWS, WHOLE_TABLE, count_rows, read_state


def plan_delta(conn: psycopg.Connection, plan: SyncPlan, manifest: dict, options: SyncOptions) -> None:
    """Mark unchanged tables as skipped and turn tables with a few changed games into games loads (in place)."""
    if options.games or options.full_refresh:
        return
    names = [t.name for t in plan.tables if not t.skip]
    state = read_state(conn, names)
    for tp in plan.tables:
        recorded = state.get(tp.name, {})
        whole = recorded.get(WHOLE_TABLE)
        if tp.skip or whole is None or count_rows(conn, tp.name) != whole[0]:
            continue
        if whole[1] == tp.sha256:
            tp.skip, tp.load_rows, tp.unchanged = "unchanged since the last sync", 0, True
            continue
        digests = manifest.get("tables", {}).get(tp.name, {}).get("game_digests")
        if digests is None or not TABLES_BY_NAME[tp.name].game_scoped:
            continue
        if (digests.get(NO_GAME) or [None, None])[1] != recorded.get(NO_GAME_ROWS, (None, None))[1]:
            continue  # rows without a game differ: a games load cannot reach them, load the table whole
        before = {g: v for g, v in recorded.items() if g >= 0}
        games = {int(g): v for g, v in digests.items() if g != NO_GAME}
        changed = sorted(g for g, v in games.items() if before.get(g, (None, None))[1] != v[1])
        removed = sorted(g for g in before if g not in games)
        if not changed and not removed:
            continue  # the digests agree but the file does not: load it whole
        tp.strategy, tp.games = "games", sorted(set(changed) | set(removed))
        tp.load_rows = sum(int(games[g][0]) for g in changed)
        tp.unchanged_games = len(games) - len(changed)
        spans = [(games[g][2], games[g][3], games[g][1]) for g in changed]
        tp.spans = spans if all(off is not None for off, _, _ in spans) else None
