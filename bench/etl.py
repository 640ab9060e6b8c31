"""ETL benchmark: the ETL against reading its inputs, like for like, and per-game cost as the league grows.

Usage: python bench/etl.py [--sizes 50 200 800] [--repeat 3] [--workers 2]

1. Real inputs (../shared): the full ETL next to pandas + calamine reading *every sheet* of the same workbooks
   (the master and each game's), both in a fresh child process with the same number of worker processes
   (games read / built in a pool of --workers forked processes). Wall time and CPU seconds (the process and its
   children) are medians of --repeat runs. Targets: ETL wall <= 1.0x the read, CPU <= 1.5x.
2. Generated leagues of --sizes games: per-game ETL time (median of --repeat runs), ratio of the largest to the
   smallest size (target <= 1.3x), peak memory of the main and worker processes.
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
me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({{"seconds": sec, "cpu": me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime,
                  "rows": r.rows, "games": len(r.game_status), "rss_main_mb": me.ru_maxrss / 1024,
                  "rss_worker_mb": kids.ru_maxrss / 1024}}))
"""

READ_CHILD = r"""
import json, multiprocessing as mp, resource, sys, time
sys.path.insert(0, {root!r})
import pandas as pd
from etl.excel_source import discover_games, find_master

def read_all(path):
    frames = pd.read_excel(path, sheet_name=None, engine="calamine")  # every sheet
    return sum(len(df) for df in frames.values())

data = {data!r}
t = time.perf_counter()
read_all(find_master(__import__("pathlib").Path(data)))
paths = [g.path for g in discover_games(__import__("pathlib").Path(data)).values()]
with mp.get_context("fork").Pool({workers}) as pool:
    rows = sum(pool.map(read_all, paths))
sec = time.perf_counter() - t
me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({{"seconds": sec, "cpu": me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime}}))
"""


def run_child(data: Path, out: Path, workers: int, code: str = CHILD) -> dict:
    source = code.format(root=str(ROOT), data=str(data), out=str(out), workers=workers)
    proc = subprocess.run([sys.executable, "-c", source], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def league(n: int, seed: int = 11) -> Path:
    from samples.league import generate_league

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
        reads, runs = [], []
        for _ in range(args.repeat):  # alternated, so that a change of machine load hits both alike
            reads.append(run_child(REAL, out, args.workers, READ_CHILD))
            runs.append(run_child(REAL, out, args.workers))
        read_s, read_cpu = (statistics.median(r[k] for r in reads) for k in ("seconds", "cpu"))
        etl_s, etl_cpu = (statistics.median(r[k] for r in runs) for k in ("seconds", "cpu"))
        print(f"real inputs ({runs[0]['games']} games, {runs[0]['rows']:,} rows out), {args.workers} worker processes "
              f"each, median of {args.repeat}:")
        print(f"  baseline: pandas + calamine reading every sheet: {read_s:6.3f} s wall, {read_cpu:6.3f} s CPU")
        print(f"  full ETL (read what it needs, build, publish)  : {etl_s:6.3f} s wall, {etl_cpu:6.3f} s CPU   "
              f"(peak RSS main {runs[0]['rss_main_mb']:.0f} MB, workers {runs[0]['rss_worker_mb']:.0f} MB)")
        print(f"  ratio ETL / read: wall {etl_s / read_s:5.2f}x (target <= 1.0x), CPU {etl_cpu / read_cpu:5.2f}x "
              f"(target <= 1.5x)")
    else:
        print(f"real inputs not found at {REAL}; skipped")

    rows = []
    for n in args.sizes:
        data = league(n)
        runs = [run_child(data, out, args.workers) for _ in range(args.repeat)]
        per_game = statistics.median(r["seconds"] for r in runs) / n
        r = runs[0]
        rows.append((n, per_game))
        print(f"  {n:4d} games: {per_game * n:7.2f} s median of {args.repeat}  {1000 * per_game:7.1f} ms/game  "
              f"{r['rows']:>10,} rows  peak RSS main {max(x['rss_main_mb'] for x in runs):.0f} MB, worker "
              f"{max(x['rss_worker_mb'] for x in runs):.0f} MB", flush=True)
    if len(rows) >= 2:
        (n0, first), (n1, last) = rows[0], rows[-1]
        print(f"per-game time at {n1} vs {n0} games: {last / first:.2f}x (target <= 1.3x)")


if __name__ == "__main__":
    main()
