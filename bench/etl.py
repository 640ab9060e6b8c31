"""ETL benchmark: real inputs vs pandas read time, and generated leagues of 50/200/800 games.

Usage: python bench/etl.py [--sizes 50 200 800] [--repeat 3]
Prints figures; asserts nothing. Generated leagues are cached in var/bench/.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
REAL = ROOT.parent / "shared" / "benchsight" / "raw"
CACHE = ROOT / "var" / "bench"

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
from etl.pipeline import EtlOptions, run_etl
t = time.perf_counter()
r = run_etl(EtlOptions(data_dir={data!r}, output_dir={out!r}, workers={workers}))
sec = time.perf_counter() - t
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({{"seconds": sec, "rows": r.rows, "games": len(r.game_status), "rss_main_mb": own,
                  "rss_worker_mb": kids}}))
"""


def read_time(data: Path) -> float:
    """Time pandas (calamine) needs just to read the sheets the ETL reads."""
    import pandas as pd

    from etl.excel_source import MASTER_OPTIONAL, MASTER_REQUIRED, discover_games, find_master

    t = time.perf_counter()
    pd.read_excel(find_master(data), sheet_name=list(MASTER_REQUIRED) + list(MASTER_OPTIONAL), engine="calamine")
    for game in discover_games(data).values():
        pd.read_excel(game.path, sheet_name=["events", "shifts"], engine="calamine")
    return time.perf_counter() - t


def run_child(data: Path, out: Path, workers: int) -> dict:
    code = CHILD.format(root=str(ROOT), data=str(data), out=str(out), workers=workers)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def league(n: int, seed: int = 11) -> Path:
    from etl.sample_league import generate_league

    path = CACHE / f"league_{n}_{seed}"
    if not (path / "BLB_TABLES.xlsx").exists():
        t = time.perf_counter()
        generate_league(path, games=n, seed=seed)
        print(f"  generated {n} games in {time.perf_counter() - t:.1f}s ({path})", flush=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", nargs="*", type=int, default=[50, 200, 800])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    args = parser.parse_args()
    out = CACHE / "out"
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}, workers={args.workers}")

    if (REAL / "BLB_TABLES.xlsx").exists():
        reads = [read_time(REAL) for _ in range(args.repeat)]
        runs = [run_child(REAL, out, args.workers) for _ in range(args.repeat)]
        read_s = statistics.median(reads)
        etl_s = statistics.median(r["seconds"] for r in runs)
        print(f"real inputs ({runs[0]['games']} games, {runs[0]['rows']:,} rows out), median of {args.repeat}:")
        print(f"  pandas read only : {read_s:6.3f} s")
        print(f"  full ETL         : {etl_s:6.3f} s   (peak RSS main {runs[0]['rss_main_mb']:.0f} MB)")
        print(f"  ratio ETL/read   : {etl_s / read_s:6.2f}x   (target <= 2.0x)")
    else:
        print(f"real inputs not found at {REAL}; skipped")

    rows = []
    for n in args.sizes:
        data = league(n)
        r = run_child(data, out, args.workers)
        rows.append((n, r))
        print(f"  {n:4d} games: {r['seconds']:7.2f} s  {1000 * r['seconds'] / n:7.1f} ms/game  "
              f"{r['rows']:>10,} rows  peak RSS main {r['rss_main_mb']:.0f} MB, worker {r['rss_worker_mb']:.0f} MB",
              flush=True)
    if len(rows) >= 2:
        first, last = rows[0], rows[-1]
        ratio = (last[1]["seconds"] / last[0]) / (first[1]["seconds"] / first[0])
        print(f"per-game time at {last[0]} vs {first[0]} games: {ratio:.2f}x (target <= 1.3x)")


if __name__ == "__main__":
    main()
