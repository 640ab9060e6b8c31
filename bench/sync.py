"""Sync benchmark: etl.sync (COPY + checks + publish) next to psql \\copy of the same CSV files, same run.

Usage: python bench/sync.py [--url postgresql://postgres@127.0.0.1:5432/postgres] [--rounds 3] [--rows 500000]

Cases: the shared real outputs (ETL over ../shared/benchsight/raw; every catalog table) and a synthetic
``fact_events`` of --rows rows (the real events repeated under new keys, so every foreign key holds).
The headline scenarios are like for like: psql (one process: TRUNCATE, then one ``\\copy`` per table in load
order) and the sync (--full-refresh: DELETE + COPY, checks, one commit) start from the same state (empty tables,
or a table of other keys) and write every row; both are timed as wall time of the whole operation. Scenarios
where the sync writes less than psql (the target already holds the rows; nothing changed since the last sync)
are printed after them, labelled as flattering. Figures are medians over the rounds; verification (after a
commit) is timed on its own.
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


def psql_copy(url: str, out: Path, tables: list[str], before: Path | None = None) -> float:
    r"""Wall seconds of one psql process that TRUNCATEs the tables and \copy-s each file (in load order) into
    them; with ``before``, the tables first get those files' rows (untimed): what the target held."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(map(sql.Identifier, tables))))
    if before is not None:
        _psql(url, before, tables)
    started = time.perf_counter()
    _psql(url, out, tables, truncate=True)
    return time.perf_counter() - started


def _psql(url: str, out: Path, tables: list[str], truncate: bool = False) -> None:
    script = "\\set ON_ERROR_STOP 1\n"
    if truncate:
        script += "TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + ";\n"
    script += "".join(f"\\copy \"{t}\" FROM '{out / (t + '.csv')}' WITH (FORMAT csv, HEADER true)\n" for t in tables)
    subprocess.run(["psql", "-X", "-q", "-d", url], input=script, text=True, capture_output=True, check=True)


def empty(url: str, tables: list[str]) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(map(sql.Identifier, tables))))
        for state in ("hockeyops_sync_state", "hockeyops_sync_history"):
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(state)))


def run_case(url: str, out: Path, tables: list[str], rounds: int, before: Path | None = None,
             primed: bool = False, **sync_options) -> dict:
    r"""Per round: psql (TRUNCATE + \copy of ``out``, timed), then the same starting state for the sync (empty
    tables, or ``before``'s rows) and the sync of ``out`` (timed, wall). Medians."""
    from etl.sync import SyncOptions, load_order, sync_tables

    ordered = load_order(tables)
    manifest = json.loads((out / "manifest.json").read_text())["tables"]
    rows = sum(manifest[t]["rows"] for t in ordered)
    size = sum((out / f"{t}.csv").stat().st_size for t in ordered)
    psql_s, sync_s, verify_s, publish_s = [], [], [], []
    options = {"full_refresh": True, "allow_shrink": True, **sync_options}
    for _ in range(rounds):
        psql_s.append(psql_copy(url, out, ordered, before))
        empty(url, ordered)
        if before is not None:
            _psql(url, before, ordered)
        if primed:  # the target received these outputs from a sync before: its state records them
            sync_tables(url, out, SyncOptions(tables=tuple(ordered), verify=False, full_refresh=True,
                                              allow_shrink=True), target_name="bench")
        started = time.perf_counter()
        result = sync_tables(url, out, SyncOptions(tables=tuple(ordered), verify=False, **options),
                             target_name="bench")
        sync_s.append(time.perf_counter() - started)
        publish_s.append(result.publish_seconds)
        verified = sync_tables(url, out, SyncOptions(tables=tuple(ordered), **{**options, "full_refresh": True}),
                               target_name="bench")  # what verification costs, measured on its own
        verify_s.append(verified.verify_seconds)
    return {"tables": ordered, "rows": rows, "bytes": size, "psql": statistics.median(psql_s),
            "sync": statistics.median(sync_s), "verify": statistics.median(verify_s),
            "publish": statistics.median(publish_s)}


def report(title: str, case: dict) -> None:
    print(f"\n== {title}: {len(case['tables'])} tables, {case['rows']:,} rows, {case['bytes'] / MB:.1f} MB")
    s, p = case["sync"], case["psql"]
    print(f"  sync (connect, lock, COPY, checks, one commit): {s:7.3f}s  {case['rows'] / s:>10,.0f} rows/s  "
          f"{case['bytes'] / MB / s:6.1f} MB/s   (of which commit {case['publish']:.3f}s)")
    print(f"  psql (one process: TRUNCATE, \\copy per table):  {p:7.3f}s  {case['rows'] / p:>10,.0f} rows/s  "
          f"{case['bytes'] / MB / p:6.1f} MB/s")
    print(f"  ratio sync/psql throughput: {p / s:.2f}x   (verification after a commit, on its own: "
          f"{case['verify']:.3f}s)")


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
        from etl.sync import embedded_pg

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
        synth_out = make_synthetic(real_out, work / "synthetic", args.rows)
        other_keys = make_variant(synth_out, work / "keys", "keys")
        print("\nHEADLINE (like for like: both start from the same state and write every row)")
        report("A. real outputs into tables the target does not hold yet",
               run_case(url, real_out, tables, args.rounds))
        report(f"A. synthetic fact_events ({args.rows:,} rows) into an empty table",
               run_case(url, synth_out, ["fact_events"], args.rounds))
        synth = run_case(url, synth_out, ["fact_events"], args.rounds, before=other_keys)
        report(f"B. synthetic fact_events ({args.rows:,} rows) replacing a table of other keys", synth)
        print("\nLABELLED, NOT LIKE FOR LIKE (the sync writes less than psql, which always rewrites everything)")
        report(f"C. flattering: the target already holds the same {args.rows:,} rows (merge, 0 rows change)",
               run_case(url, synth_out, ["fact_events"], args.rounds, before=synth_out))
        report("D. flattering: nothing changed since the last sync (the delta skips every table)",
               run_case(url, real_out, tables, args.rounds, primed=True, full_refresh=False))
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
