"""Sync benchmark: etl.sync (COPY + checks + publish) next to psql \\copy of the same CSV files, same run.

Usage: python bench/sync.py [--url postgresql://postgres@127.0.0.1:5432/postgres] [--rounds 3] [--rows 500000]

Cases: the shared real outputs (ETL over ../shared/benchsight/raw; every catalog table) and a synthetic
``fact_events`` of --rows rows (the real events repeated under new keys, so every foreign key holds).
Each round runs psql first (TRUNCATE, then one ``\\copy`` per table in load order, each its own
transaction, as timed by psql's ``\\timing``) and then the sync, which replaces those rows (DELETE + COPY,
checks, one commit). Figures are medians over the rounds; sync seconds include the publish (commit, where
the deferred foreign keys are checked) and exclude the verification, which is printed separately.
Per-table sync figures come from a per-table-commit run so that each includes its own commit, as psql's do.
Finally a rename-swap prototype (new table, COPY, indexes, foreign keys, rename) is timed on the synthetic
table for comparison; the sync does not use it (see etl/sync/postgres.py). A throw-away database
``sync_bench_<random>`` is created and dropped. Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/queue.py would shadow the standard library's queue module (psycopg needs it)
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))
REAL = ROOT.parent / "shared" / "benchsight" / "raw"
MB = 1_000_000


def make_synthetic(real_out: Path, dest: Path, rows: int) -> Path:
    """A copy of the real outputs whose fact_events has ``rows`` rows (manifest updated)."""
    shutil.copytree(real_out, dest)
    with open(real_out / "fact_events.csv", newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        body = list(reader)
    pos_id, pos_game = header.index("event_id"), header.index("game_id")
    path = dest / "fact_events.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        for n in range(rows):
            row = list(body[n % len(body)])
            row[pos_id] = f"EV{row[pos_game]}{n:07d}"
            writer.writerow(row)
    manifest = json.loads((dest / "manifest.json").read_text())
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    manifest["tables"]["fact_events"].update(rows=rows, sha256=digest, bytes=path.stat().st_size)
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return dest


def make_variant(out: Path, dest: Path, change: str) -> Path:
    """A copy of ``out`` whose fact_events has new keys (``keys``) or a changed value in every row (``values``)."""
    shutil.copytree(out, dest)
    with open(out / "fact_events.csv", newline="", encoding="utf-8") as src, \
            open(dest / "fact_events.csv", "w", newline="", encoding="utf-8") as dst:
        reader, writer = csv.reader(src), csv.writer(dst, lineterminator="\n")
        header = next(reader)
        writer.writerow(header)
        pos = header.index("event_id" if change == "keys" else "source_row")
        for row in reader:
            row[pos] = "EX" + row[pos][2:] if change == "keys" else str(int(row[pos]) + 1)
            writer.writerow(row)
    return dest


def psql_copy(url: str, out: Path, tables: list[str]) -> tuple[float, dict[str, float]]:
    """TRUNCATE, then psql \\copy per table; (total seconds from \\timing, per-table seconds)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(map(sql.Identifier, tables))))
    script = "\\timing on\n" + "".join(
        f"\\copy \"{t}\" FROM '{out / (t + '.csv')}' WITH (FORMAT csv, HEADER true)\n" for t in tables)
    proc = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url], input=script, text=True,
                          capture_output=True, check=True)
    times = [float(m) / 1000 for m in re.findall(r"Time: ([\d.]+) ms", proc.stdout)]
    per_table = dict(zip(tables, times[-len(tables):], strict=True))
    return sum(per_table.values()), per_table


def run_case(url: str, out: Path, tables: list[str], rounds: int, per_table: bool, before: Path | None = None) -> dict:
    """psql \\copy of ``out`` (timed), then the sync of ``out`` over what psql loaded (or over ``before``)."""
    from etl.catalog import TABLES_BY_NAME
    from etl.sync import SyncOptions, load_order, sync_tables

    ordered = load_order(tables)
    manifest = json.loads((out / "manifest.json").read_text())["tables"]
    rows = sum(manifest[t]["rows"] for t in ordered)
    size = sum((out / f"{t}.csv").stat().st_size for t in ordered)
    psql_s, sync_s, verify_s, publish_s = [], [], [], []
    psql_t: dict[str, list[float]] = {t: [] for t in ordered}
    sync_t: dict[str, list[float]] = {t: [] for t in ordered}
    for _ in range(rounds):
        total, each = psql_copy(url, out, ordered)
        psql_s.append(total)
        for t, s in each.items():
            psql_t[t].append(s)
        if before is not None:
            psql_copy(url, before, ordered)
        result = sync_tables(url, out, SyncOptions(tables=tuple(ordered)), target_name="bench")
        sync_s.append(result.seconds)
        verify_s.append(result.verify_seconds)
        publish_s.append(result.publish_seconds)
        if per_table:
            psql_copy(url, out, ordered)
            result = sync_tables(url, out, SyncOptions(tables=tuple(ordered), per_table_commit=True, verify=False),
                                 target_name="bench")
        for t in result.tables:
            sync_t[t.name].append(t.seconds)
    assert all(t in TABLES_BY_NAME for t in ordered)
    return {"tables": ordered, "rows": rows, "bytes": size, "psql": statistics.median(psql_s),
            "sync": statistics.median(sync_s), "verify": statistics.median(verify_s),
            "publish": statistics.median(publish_s),
            "psql_t": {t: statistics.median(v) for t, v in psql_t.items()},
            "sync_t": {t: statistics.median(v) for t, v in sync_t.items()},
            "rows_t": {t: manifest[t]["rows"] for t in ordered},
            "bytes_t": {t: (out / f"{t}.csv").stat().st_size for t in ordered}}


def report(title: str, case: dict, per_table: bool) -> None:
    print(f"\n== {title}: {len(case['tables'])} tables, {case['rows']:,} rows, {case['bytes'] / MB:.1f} MB")
    head = (f"  {'table':<32} {'rows':>9} {'MB':>7} | {'sync rows/s':>12} {'MB/s':>6} | {'psql rows/s':>12} "
            f"{'MB/s':>6} | ratio")
    if per_table:
        print(head)
        for t in case["tables"]:
            r, b, s, p = case["rows_t"][t], case["bytes_t"][t], case["sync_t"][t], case["psql_t"][t]
            print(f"  {t:<32} {r:>9,} {b / MB:>7.2f} | {r / s:>12,.0f} {b / MB / s:>6.1f} | {r / p:>12,.0f} "
                  f"{b / MB / p:>6.1f} | {p / s:5.2f}x")
    s, p = case["sync"], case["psql"]
    print(f"  overall sync (load + publish, one transaction): {s:7.3f}s  {case['rows'] / s:>10,.0f} rows/s  "
          f"{case['bytes'] / MB / s:6.1f} MB/s   (of which commit {case['publish']:.3f}s)")
    print(f"  overall psql \\copy (same files, same tables):   {p:7.3f}s  {case['rows'] / p:>10,.0f} rows/s  "
          f"{case['bytes'] / MB / p:6.1f} MB/s")
    print(f"  ratio sync/psql throughput: {p / s:.2f}x   (verification after the commit: {case['verify']:.3f}s; "
          f"including it: {p / (s + case['verify']):.2f}x)")


def swap_prototype(url: str, out: Path, rounds: int) -> float:
    """New table + COPY + primary key, indexes, foreign keys + rename, in one transaction (not used by sync)."""
    import psycopg
    from psycopg import sql

    from etl.catalog import get_table
    from etl.schema.ddl import create_table, foreign_keys, indexes

    table = get_table("fact_events")
    times = []
    for i in range(rounds):
        started = time.perf_counter()
        with psycopg.connect(url) as conn:
            new = f"fact_events_new_{i}"
            conn.execute(create_table(table, pk=False).replace('"fact_events"', f'"{new}"', 1))
            with conn.cursor() as cur, cur.copy(sql.SQL("COPY {} FROM STDIN (FORMAT csv, HEADER true)").format(
                    sql.Identifier(new))) as copy, open(out / "fact_events.csv", "rb") as fh:
                while block := fh.read(1 << 20):
                    copy.write(block)
            conn.execute(sql.SQL("ALTER TABLE {} ADD PRIMARY KEY (event_id)").format(sql.Identifier(new)))
            for ix in indexes([table]):
                conn.execute(sql.SQL("CREATE INDEX ON {} ({})").format(sql.Identifier(new), sql.Identifier(ix.column)))
            from etl.catalog import TABLES
            for fk in foreign_keys([table], TABLES):
                conn.execute(sql.SQL("ALTER TABLE {} ADD FOREIGN KEY ({}) REFERENCES {} ({})").format(
                    sql.Identifier(new), sql.Identifier(fk.column), sql.Identifier(fk.ref_table),
                    sql.Identifier(fk.ref_column)))
            conn.execute("ALTER TABLE fact_events RENAME TO fact_events_old")
            conn.execute(sql.SQL("ALTER TABLE {} RENAME TO fact_events").format(sql.Identifier(new)))
            conn.execute("DROP TABLE fact_events_old")
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("HOCKEYOPS_TEST_PG_URL",
                                                        "postgresql://postgres@127.0.0.1:5432/postgres"),
                        help="Maintenance URL of the PostgreSQL server (a throw-away database is created there).")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rows", type=int, default=500_000, help="Rows of the synthetic table.")
    parser.add_argument("--outputs", help="Use these ETL outputs instead of running the ETL on the real inputs.")
    args = parser.parse_args()

    import psycopg

    from etl.pipeline import EtlOptions, run_etl
    from etl.schema import SchemaOptions, apply_schema

    admin = args.url
    try:
        psycopg.connect(admin, connect_timeout=3).close()
    except psycopg.Error:
        from etl import embedded_pg

        admin = embedded_pg.ensure_running(database="")
        print("127.0.0.1:5432 does not answer; using the embedded PostgreSQL")
    work = Path(tempfile.mkdtemp(prefix="sync_bench_"))
    name = f"sync_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
        server = conn.execute("SHOW server_version").fetchone()[0]
    url = psycopg.conninfo.make_conninfo(admin, dbname=name)
    try:
        if args.outputs:
            real_out = Path(args.outputs)
        elif (REAL / "BLB_TABLES.xlsx").exists():
            real_out = work / "real"
            run_etl(EtlOptions(data_dir=str(REAL), output_dir=str(real_out)))
        else:
            sys.exit(f"real inputs not found at {REAL}; pass --outputs DIR")
        apply_schema(url, SchemaOptions(), target_name="bench")
        psql_version = subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.strip()
        print(f"PostgreSQL {server}, {psql_version}, {os.cpu_count()} CPUs, {args.rounds} rounds (medians)")
        tables = sorted(json.loads((real_out / "manifest.json").read_text())["tables"])
        real = run_case(url, real_out, tables, args.rounds, per_table=True)
        report("shared real outputs", real, per_table=True)
        synth_out = make_synthetic(real_out, work / "synthetic", args.rows)
        scenarios = [("the target holds the same rows", None),
                     ("the target holds other keys (every row deleted and inserted)",
                      make_variant(synth_out, work / "keys", "keys")),
                     ("the target holds the same keys, a value differs in every row",
                      make_variant(synth_out, work / "values", "values"))]
        for what, before in scenarios:
            synth = run_case(url, synth_out, ["fact_events"], args.rounds, per_table=False, before=before)
            report(f"synthetic fact_events ({args.rows:,} rows), {what}", synth, per_table=False)
        swap = swap_prototype(url, synth_out, args.rounds)
        print(f"\n  rename-swap prototype on the synthetic table (not used; it would also have to re-create views, "
              f"grants, policies and referencing foreign keys): {swap:.3f}s, {args.rows / swap:,.0f} rows/s, "
              f"{synth['psql'] / swap:.2f}x psql")
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
