"""Analytics stage cost per game: ``etl.game_build.build_one`` (read + build one game) on the real games with and
without the analytics stage (``etl.analytics.build_analytics``), medians of --repeat runs, plus the rendering of
the analytics tables (CSV of the ten analytics tables of ``etl/catalog_analytics``).

Usage: python bench/analytics.py [--repeat 3]

Times are CPU seconds of this process (``time.process_time``: the build is single-threaded, and CPU time is
steadier than wall time on a machine shared with other work); the last line adds the wall-clock means.
"Without" replaces build_analytics by a stub (the core tables then lack their model columns: only the build is
timed, not rendered). Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/ itself off the path: its queue.py would shadow the standard library's (psycopg imports it)
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
REAL = ROOT.parent / "shared" / "benchsight" / "raw"


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    import etl.builders.game as game_module
    from etl.builders.master import build_master
    from etl.catalog import get_table
    from etl.catalog_analytics import _TABLES
    from etl.game_build import build_one
    from etl.issues import IssueLog
    from etl.pipeline import EtlOptions, plan_etl
    from etl.store import render_csv

    options = EtlOptions(data_dir=str(REAL), output_dir=str(ROOT / "var" / "bench" / "analytics-out"))
    plan = plan_etl(options)
    source = options.open_source()
    frames, _ = source.read_master()
    _, league = build_master(frames, plan.master_file, IssueLog(None))
    real = game_module.build_analytics
    stub = lambda *a, **k: {}  # noqa: E731
    analytics_names = [t[0] for t in _TABLES]
    if plan.games:
        build_one(source, plan.games[0], league)  # warm-up (lazy imports, regex caches)
    print(f"analytics stage cost per game, CPU s, median of {args.repeat} runs (read + build one game)")
    print(f"{'game':>6} {'with s':>8} {'without s':>9} {'analytics s':>11} {'share':>6} {'render s':>8}")
    totals = [0.0, 0.0, 0.0]
    walls = {"with": 0.0, "without": 0.0}
    for gp in plan.games:
        timing = {}
        for label, fn in (("with", real), ("without", stub)):
            runs, wall = [], []
            for _ in range(args.repeat):
                game_module.build_analytics = fn
                t, w = time.process_time(), time.perf_counter()
                result, _ = build_one(source, gp, league)
                runs.append(time.process_time() - t)
                wall.append(time.perf_counter() - w)
            timing[label] = statistics.median(runs)
            walls[label] += statistics.median(wall)
        game_module.build_analytics = real
        result, _ = build_one(source, gp, league)
        renders = []
        for _ in range(args.repeat):
            t = time.process_time()
            for name in analytics_names:
                render_csv(result.tables[name], get_table(name))
            renders.append(time.process_time() - t)
        render = statistics.median(renders)
        cost = timing["with"] - timing["without"]
        totals = [totals[0] + timing["with"], totals[1] + timing["without"], totals[2] + render]
        print(f"{gp.game_id:>6} {timing['with']:8.3f} {timing['without']:9.3f} {cost:11.3f} "
              f"{cost / timing['with']:6.0%} {render:8.3f}")
    n = len(plan.games)
    print(f"{'mean':>6} {totals[0] / n:8.3f} {totals[1] / n:9.3f} {(totals[0] - totals[1]) / n:11.3f} "
          f"{(totals[0] - totals[1]) / totals[0]:6.0%} {totals[2] / n:8.3f}")
    print(f"wall-clock means: with {walls['with'] / n:.3f} s, without {walls['without'] / n:.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
