"""How much of the dashboard contract the catalog covers: columns and views present / wanted.

    python bench/contract_coverage.py [path/to/dashboard-contract.json] [--missing]

A contract column is present when the catalog table of that name has a column of that name; a view
when the catalog declares it. Tables the tracker app writes (stage_*, tracker_videos) are not the
warehouse's. "Part 1" leaves out the model-based analytics of issue 13 (xG, game score, GAR/WAR,
ratings, micro-stats, rush, line combos, WOWY, quality of competition, shift quality, scoring
chances, save types, high danger); "overall" counts every column.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from etl.catalog import TABLES_BY_NAME, VIEWS_BY_NAME  # noqa: E402

DEFAULT = Path(__file__).resolve().parent.parent.parent / "shared" / "benchsight" / "dashboard-contract.json"
TRACKER_TABLES = re.compile(r"^(stage_|tracker_)")
# Whole tables of the analytics part (micro-stats, line combos, WOWY, quality of competition).
ANALYTICS_TABLES = {"fact_line_combos", "fact_wowy", "fact_player_qoc_summary", "fact_player_micro_stats"}
ANALYTICS_COLUMNS = re.compile(
    r"(^|_)(xg|game_score|gar|war|rating|ratings|rush|rushes|combo|wowy|qoc|opp_rating|own_rating|danger|hd|"
    r"scoring_chances|performance_index|goals_saved_above_avg|goals_above_expected|shifts_tracked|rating_diff)"
    r"(_|$)|^saves_(butterfly|pad|glove|blocker|chest|stick|scramble)$|^(forechecks|backchecks|crash_net|cycles|"
    r"dekes|drives_\w+|give_and_go|loose_puck_wins|puck_battles\w*|screens|cutbacks|poke_checks|stick_checks|"
    r"second_touch|breakouts|dump_ins|delays|def_involvement|primary_def_events|support_def_events|"
    r"zone_ent_denials|bad_giveaways|puck_recoveries|odd_man_rushes|breakaway_goals|plays_successful|"
    r"plays_unsuccessful|play_success_rate|avg_adjusted_rating|avg_game_score)$")


def is_analytics(table: str, column: str) -> bool:
    """Column of the second part (issue 13): a model-based metric."""
    return table in ANALYTICS_TABLES or bool(ANALYTICS_COLUMNS.search(column))


def coverage(contract: dict) -> dict:
    """Present/wanted counts and the missing names, for part 1 and overall."""
    out = {"part1": [0, 0, []], "overall": [0, 0, []], "tables": {}}
    for table, spec in sorted(contract["tables"].items()):
        if TRACKER_TABLES.match(table):
            continue
        ours = TABLES_BY_NAME.get(table)
        have = set(ours.column_names) if ours else set()
        row = [0, 0]
        for column in spec["columns"]:
            present = column in have
            for part in ("overall",) + (() if is_analytics(table, column) else ("part1",)):
                out[part][0] += present
                out[part][1] += 1
                if not present:
                    out[part][2].append(f"{table}.{column}")
            if not is_analytics(table, column):
                row[0] += present
                row[1] += 1
        out["tables"][table] = row
    views = contract["views"]
    read = [v for v, spec in views.items() if spec.get("read_by_dashboard")]
    for key, names in (("views_read", read), ("views_all", list(views))):
        out[key] = [sum(v in VIEWS_BY_NAME for v in names), len(names), [v for v in names if v not in VIEWS_BY_NAME]]
    cols = [(v, c) for v in read for c in views[v].get("dashboard_reads_columns", [])
            if not is_analytics(v, c)]
    have_cols = [(v, c) for v, c in cols if v in VIEWS_BY_NAME and c in VIEWS_BY_NAME[v].columns]
    out["view_columns"] = [len(have_cols), len(cols), sorted(f"{v}.{c}" for v, c in set(cols) - set(have_cols))]
    return out


def main(argv: list[str]) -> int:
    args = [a for a in argv if not a.startswith("--")]
    path = Path(args[0]) if args else DEFAULT
    if not path.exists():
        print(f"The contract file {path} does not exist; pass its path.")
        return 2
    result = coverage(json.loads(path.read_text()))
    for table, (have, want) in result["tables"].items():
        print(f"  {table:<36} {have:>4} / {want:<4} part-1 columns")

    def line(label: str, key: str) -> None:
        have, want, missing = result[key]
        print(f"{label}: {have} / {want} ({100 * have / want:.1f}%)" if want else f"{label}: 0 / 0")
        if "--missing" in argv and missing:
            print("    missing: " + ", ".join(missing))

    line("columns, part 1 (without the issue-13 analytics)", "part1")
    line("columns, overall", "overall")
    line("views the dashboard reads", "views_read")
    line("columns the dashboard reads from those views (part 1)", "view_columns")
    line("views, all deployed and queried", "views_all")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
