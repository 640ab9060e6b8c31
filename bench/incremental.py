"""End-to-end incremental benchmark: change one game's workbook, run incremental ETL + sync, compare with the full
ETL + sync of the same league (same processes, same worker count, same target server).

Usage: .venv/bin/python bench/incremental.py [--games 200] [--workers 2]
Needs PostgreSQL (BENCH_PG_URL, default postgresql://postgres@127.0.0.1:5432); a throw-away database is created
and dropped. Generated leagues are cached in var/bench/. Prints the scenario, both timings, the ratio (target
<= 5%) and how many rows of other games the one-game update rewrote in the target (target 0); asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
PG_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432").rstrip("/")
CACHE = ROOT / "var" / "bench"
GAME_TABLES = ("fact_events", "fact_event_players", "fact_shifts", "fact_shift_players")


def league(n: int, seed: int = 11) -> Path:
    from samples.league import generate_league

    path = CACHE / f"league_{n}_{seed}"
    if not (path / "BLB_TABLES.xlsx").exists():
        generate_league(path, games=n, seed=seed)
    return path


def xmins(url: str) -> dict[tuple[str, int], set[str]]:
    import psycopg

    out: dict[tuple[str, int], set[str]] = {}
    with psycopg.connect(url) as conn:
        for table in GAME_TABLES:
            for game, xmin in conn.execute(f"SELECT game_id, xmin::text FROM {table}").fetchall():
                out.setdefault((table, game), set()).add(xmin)
    return out


def edit_one_game(data: Path) -> int:
    from openpyxl import load_workbook

    from etl.excel_source import discover_games

    games = discover_games(data)
    game = sorted(games)[len(games) // 2]
    book = load_workbook(games[game].path)
    sheet = book["shifts"]
    col = [c.value for c in sheet[1]].index("shift_stop_type") + 1
    sheet.cell(row=2, column=col, value=f"Away Icing {uuid.uuid4().hex[:4]}")
    book.save(games[game].path)
    return game


def main() -> None:
    import psycopg

    from etl.pipeline import EtlOptions, run_etl
    from etl.schema import SchemaOptions, apply_schema
    from etl.sync import SyncOptions, sync_tables

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", type=int, default=200)
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="hockeyops-incremental-"))
    data = tmp / "league"
    shutil.copytree(league(args.games), data)
    out = tmp / "out"
    name = f"incr_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{PG_URL}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{PG_URL}/{name}"
    try:
        apply_schema(url, SchemaOptions(), target_name="bench")
        t = time.perf_counter()
        full = run_etl(EtlOptions(data_dir=str(data), output_dir=str(out), workers=args.workers))
        full_etl = time.perf_counter() - t
        t = time.perf_counter()
        synced = sync_tables(url, out, SyncOptions(), target_name="bench")
        full_sync = time.perf_counter() - t
        before = xmins(url)
        game = edit_one_game(data)
        t = time.perf_counter()
        inc = run_etl(EtlOptions(data_dir=str(data), output_dir=str(out), workers=args.workers, mode="incremental"))
        inc_etl = time.perf_counter() - t
        t = time.perf_counter()
        delta = sync_tables(url, out, SyncOptions(), target_name="bench")
        inc_sync = time.perf_counter() - t
        after = xmins(url)
        rewritten = sum(len(after.get(k, set()) - xs) for k, xs in before.items() if k[1] != game)
        built = [g.game_id for g in inc.plan.games if g.action == "build"]
        full_total, inc_total = full_etl + full_sync, inc_etl + inc_sync
        print(f"scenario: generated league of {args.games} games ({full.rows:,} rows out); one game's workbook "
              f"changed (game {game}); {args.workers} ETL worker processes; PostgreSQL target on 127.0.0.1; "
              f"{os.cpu_count()} cores")
        print(f"baseline  full ETL {full_etl:7.2f} s + full sync {full_sync:6.2f} s ({synced.rows:,} rows) = "
              f"{full_total:7.2f} s")
        print(f"one game  incremental ETL {inc_etl:6.2f} s (built {built}) + sync {inc_sync:5.2f} s "
              f"({delta.rows:,} rows written, {sum(1 for x in delta.tables if x.skipped)} tables unchanged) = "
              f"{inc_total:6.2f} s")
        print(f"ratio     {inc_total / full_total:6.1%} of the full ETL + sync (target <= 5%)")
        print(f"other games' rows rewritten in the target: {rewritten} (target 0)")
    finally:
        with psycopg.connect(f"{PG_URL}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
