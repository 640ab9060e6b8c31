"""The target side of a sync: connecting, checking tables against the catalog, row counts, digests, history.

Table and column names reach SQL only as quoted identifiers taken from the catalog (``psycopg.sql``).
"""
from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from ..catalog import TABLES_BY_NAME, Table
from ..schema.introspect import normalize_type
from .errors import SyncError

HISTORY_TABLE = "hockeyops_sync_history"
STATE_TABLE = "hockeyops_sync_state"  # what each table (and each game of it) last received: the delta's base
WHOLE_TABLE = -1  # game_id of a state row that describes the whole table
NO_GAME_ROWS = -2  # game_id of the state row of a table's rows without a game (manifest key "")


@dataclass
class LiveTable:
    name: str
    columns: dict[str, tuple[str, bool]] = field(default_factory=dict)  # name -> (type, nullable)
    primary_key: tuple[str, ...] = ()


def connect(url: str, application_name: str, read_only: bool = False) -> psycopg.Connection:
    """An autocommit connection; errors name the problem, never the URL."""
    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=15, application_name=application_name[:63])
    except psycopg.Error as exc:
        text = str(exc).replace(url, "<target url>").strip().splitlines()
        raise SyncError(f"Could not connect to the target database: {text[0] if text else 'unknown error'}") from None
    conn.execute("SET DateStyle = 'ISO, YMD'")  # dates render as the outputs write them (row digest)
    if read_only:
        conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
    return conn


_INSPECT = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
       COALESCE((SELECT ARRAY(SELECT k.attname::text FROM unnest(con.conkey) WITH ORDINALITY u(num, ord)
                              JOIN pg_catalog.pg_attribute k ON k.attrelid = c.oid AND k.attnum = u.num
                              ORDER BY u.ord)
                 FROM pg_catalog.pg_constraint con WHERE con.conrelid = c.oid AND con.contype = 'p'), '{}')
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND c.relname = ANY(%s)
ORDER BY c.relname, a.attnum
"""


def inspect_tables(conn: psycopg.Connection, names: Sequence[str]) -> dict[str, LiveTable]:
    """Columns, types, nullability and primary key of the named tables in the target's current schema."""
    live: dict[str, LiveTable] = {}
    for table, column, type_, nullable, pk in conn.execute(_INSPECT, (list(names),)).fetchall():
        entry = live.setdefault(table, LiveTable(table, primary_key=tuple(pk)))
        entry.columns[column] = (type_, nullable)
    return live


def validate(names: Sequence[str], live: dict[str, LiveTable], target_name: str = "") -> None:
    """Every table and catalog column exists in the target with the catalog's type; SyncError otherwise.

    A column the target lacks is never stripped from the load: the schema stage has to add it first.
    """
    fix = f"run the schema stage first (python manage.py schema apply --target {target_name or 'NAME'})"
    problems: list[str] = []
    for name in names:
        table = TABLES_BY_NAME[name]
        got = live.get(name)
        if got is None:
            problems.append(f"table {name} does not exist")
            continue
        lacking = [c.name for c in table.columns if c.name not in got.columns]
        if lacking:
            problems.append(f"{name} lacks column{'s' if len(lacking) > 1 else ''} {', '.join(lacking)}")
        for col in table.columns:
            if col.name in got.columns and normalize_type(got.columns[col.name][0]) != normalize_type(col.type):
                problems.append(f"{name}.{col.name} is {got.columns[col.name][0]}, the catalog says {col.type}")
    if problems:
        raise SyncError(f"The target does not match the catalog: {'; '.join(problems)}. Nothing was changed; {fix}.")


def _ident(name: str) -> sql.Identifier:
    return sql.Identifier(name)


def columns_sql(table: Table) -> sql.Composable:
    return sql.SQL(", ").join(_ident(c) for c in table.column_names)


def count_rows(conn: psycopg.Connection, name: str, games: Sequence[int] | None = None) -> int:
    query = sql.SQL("SELECT count(*) FROM {}").format(_ident(name))
    if games is not None:
        query += sql.SQL(" WHERE game_id = ANY(%s)")
        return conn.execute(query, (list(games),)).fetchone()[0]
    return conn.execute(query).fetchone()[0]


def _render(column: str, type_: str) -> sql.Composable:
    """SQL for one column in the outputs' canonical CSV form (see etl.sync.stream)."""
    col = _ident(column)
    base = type_.split("(")[0].strip()
    if base == "boolean":
        return sql.SQL("CASE WHEN {c} THEN 'true' WHEN NOT {c} THEN 'false' ELSE '' END").format(c=col)
    if base in ("integer", "bigint", "smallint", "numeric", "decimal", "date"):
        return sql.SQL("COALESCE({}::text, '')").format(col)
    text = sql.SQL("{}::text").format(col)
    return sql.SQL("CASE WHEN {t} IS NULL THEN '' WHEN {t} = '' THEN '\"\"' "
                   "WHEN strpos({t}, ',') + strpos({t}, '\"') + strpos({t}, {cr}) + strpos({t}, {lf}) > 0 "
                   "THEN '\"' || replace({t}, '\"', '\"\"') || '\"' ELSE {t} END").format(
        t=text, cr=sql.Literal("\r"), lf=sql.Literal("\n"))


_CONCAT_CHUNK = 90  # columns per concat_ws call (PostgreSQL allows 100 arguments, the separator included)


def digest_sql(table: Table, relation: str | None = None, games: bool = False) -> sql.Composed:
    """``SELECT count, sum`` of the row digest over ``relation`` (default: the table; ``games``: WHERE game_id)."""
    # concat_ws takes at most 100 arguments: wider tables join chunks of columns (every rendered column is non-NULL
    # text, so the chunks join to the same record)
    rendered = [_render(c.name, c.type) for c in table.columns]
    chunks = [sql.SQL("concat_ws(',', {})").format(sql.SQL(", ").join(rendered[i:i + _CONCAT_CHUNK]))
              for i in range(0, len(rendered), _CONCAT_CHUNK)]
    record = chunks[0] if len(chunks) == 1 else sql.SQL("concat_ws(',', {})").format(sql.SQL(", ").join(chunks))
    query = sql.SQL("SELECT count(*), COALESCE(sum(('x' || left(md5(convert_to({}, 'UTF8')), 16))::bit(64)::bigint), 0)"
                    " FROM {}").format(record, _ident(relation or table.name))
    if games:
        query += sql.SQL(" WHERE game_id = ANY(%s)")
    return query


def row_digest(conn: psycopg.Connection, table: Table, games: Sequence[int] | None = None,
               relation: str | None = None) -> tuple[int, str]:
    """(row count, digest ``count:sum``) of the table's rows (only ``games`` when given); needs DateStyle ISO."""
    query = digest_sql(table, relation, games is not None)
    count, total = conn.execute(query, (list(games),) if games is not None else None).fetchone()
    return int(count), f"{count}:{int(total)}"


def duplicate_key(conn: psycopg.Connection, table: Table, relation: str | None = None) -> tuple | None:
    """One primary-key value that occurs twice (None when the key is unique)."""
    pk = sql.SQL(", ").join(_ident(c) for c in table.primary_key)
    query = sql.SQL("SELECT {} FROM {} GROUP BY {} HAVING count(*) > 1 LIMIT 1").format(
        pk, _ident(relation or table.name), pk)
    return conn.execute(query).fetchone()


def null_in_required(conn: psycopg.Connection, table: Table, columns: Sequence[str],
                     relation: str | None = None) -> str | None:
    """The first of ``columns`` holding a NULL (None when none does)."""
    if not columns:
        return None
    checks = sql.SQL(", ").join(sql.SQL("bool_or({} IS NULL)").format(_ident(c)) for c in columns)
    row = conn.execute(sql.SQL("SELECT {} FROM {}").format(checks, _ident(relation or table.name))).fetchone()
    return next((c for c, bad in zip(columns, row, strict=True) if bad), None)


# ------------------------------------------------------------------------------------------------ history

def ensure_history(conn: psycopg.Connection) -> None:
    """The sync history table (RLS on, no policy: only its owner and superusers read it)."""
    if conn.execute("SELECT to_regclass(%s)", (HISTORY_TABLE,)).fetchone()[0] is not None:
        return
    t = _ident(HISTORY_TABLE)
    conn.execute(sql.SQL(
        "CREATE TABLE IF NOT EXISTS {} (\n"
        "    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
        "    sync_id text NOT NULL,\n"
        "    table_name text NOT NULL,\n"
        "    strategy text NOT NULL,\n"
        "    games jsonb NOT NULL DEFAULT '[]',\n"
        "    outputs_created_at text,\n"
        "    sha256 text NOT NULL,\n"
        "    rows bigint NOT NULL,\n"
        "    replaced_rows bigint NOT NULL,\n"
        "    digest text NOT NULL,\n"
        "    loaded_at timestamp with time zone NOT NULL DEFAULT clock_timestamp(),\n"
        "    verified boolean,\n"
        "    verified_rows bigint,\n"
        "    verified_digest text,\n"
        "    synced_by text NOT NULL DEFAULT current_user\n"
        ")").format(t))
    conn.execute(sql.SQL("ALTER TABLE {} ENABLE ROW LEVEL SECURITY").format(t))
    conn.execute(sql.SQL("COMMENT ON TABLE {} IS {}").format(
        t, sql.Literal("hockeyops sync loads: one row per table per committed load (written in the load's "
                       "transaction), with the verification of the committed rows.")))


def record_load(conn: psycopg.Connection, sync_id: str, name: str, strategy: str, games: Sequence[int],
                outputs_created_at: str, sha256: str, rows: int, replaced: int, digest: str,
                synced_by: str = "") -> int:
    """One row of the sync history; ``synced_by`` names the person (empty: the database role, current_user)."""
    query = sql.SQL("INSERT INTO {} (sync_id, table_name, strategy, games, outputs_created_at, sha256, rows, "
                    "replaced_rows, digest, synced_by) VALUES (%s, %s, %s, %s::jsonb, %s, %s, %s, %s, %s, "
                    "coalesce(nullif(%s, ''), current_user)) RETURNING id").format(_ident(HISTORY_TABLE))
    return conn.execute(query, (sync_id, name, strategy, json.dumps(list(games)), outputs_created_at, sha256, rows,
                                replaced, digest, synced_by)).fetchone()[0]


def record_verification(conn: psycopg.Connection, history_id: int, ok: bool, rows: int, digest: str) -> None:
    query = sql.SQL("UPDATE {} SET verified = %s, verified_rows = %s, verified_digest = %s WHERE id = %s").format(
        _ident(HISTORY_TABLE))
    conn.execute(query, (ok, rows, digest, history_id))


def ensure_state(conn: psycopg.Connection) -> None:
    """The sync state table: per table and game, the rows and digest of the outputs last committed."""
    if conn.execute("SELECT to_regclass(%s)", (STATE_TABLE,)).fetchone()[0] is not None:
        return
    t = _ident(STATE_TABLE)
    conn.execute(sql.SQL(
        "CREATE TABLE IF NOT EXISTS {} (\n"
        "    table_name text NOT NULL,\n"
        "    game_id integer NOT NULL,\n"
        "    rows bigint NOT NULL,\n"
        "    sha256 text NOT NULL,\n"
        "    sync_id text NOT NULL,\n"
        "    synced_at timestamp with time zone NOT NULL DEFAULT clock_timestamp(),\n"
        "    PRIMARY KEY (table_name, game_id)\n"
        ")").format(t))
    conn.execute(sql.SQL("ALTER TABLE {} ENABLE ROW LEVEL SECURITY").format(t))
    conn.execute(sql.SQL("COMMENT ON TABLE {} IS {}").format(
        t, sql.Literal(f"hockeyops sync state: per table (game_id {WHOLE_TABLE}) and per game, the rows and digest "
                       "of the outputs last committed; a sync loads only what differs.")))


def read_state(conn: psycopg.Connection, names: Sequence[str]) -> dict[str, dict[int, tuple[int, str]]]:
    """table -> {game_id (WHOLE_TABLE for the table): (rows, sha256)} as last committed (empty when unknown)."""
    if conn.execute("SELECT to_regclass(%s)", (STATE_TABLE,)).fetchone()[0] is None:
        return {}
    query = sql.SQL("SELECT table_name, game_id, rows, sha256 FROM {} WHERE table_name = ANY(%s)").format(
        _ident(STATE_TABLE))
    out: dict[str, dict[int, tuple[int, str]]] = {}
    for name, game, rows, digest in conn.execute(query, (list(names),)).fetchall():
        out.setdefault(name, {})[game] = (rows, digest)
    return out


def write_state(conn: psycopg.Connection, name: str, sync_id: str, table_rows: int, table_sha: str,
                digests: dict[str, list] | None, games: Sequence[int] | None, whole: bool = True) -> None:
    """Record what the table now holds: each game's digest (``games``: only these games were loaded or removed;
    None: the whole table was) and, when the table now equals the file (``whole``), the whole table's row."""
    t = _ident(STATE_TABLE)
    digests = digests or {}
    if games is None:
        conn.execute(sql.SQL("DELETE FROM {} WHERE table_name = %s").format(t), (name,))
        scope = list(digests)
    else:
        conn.execute(sql.SQL("DELETE FROM {} WHERE table_name = %s AND game_id = ANY(%s)").format(t),
                     (name, [*games, WHOLE_TABLE]))
        scope = [str(g) for g in games if str(g) in digests]
    rows = [(name, WHOLE_TABLE, table_rows, table_sha, sync_id)] if whole else []
    rows += [(name, int(g) if g else NO_GAME_ROWS, int(digests[g][0]), str(digests[g][1]), sync_id) for g in scope]
    with conn.cursor() as cur:
        cur.executemany(sql.SQL("INSERT INTO {} (table_name, game_id, rows, sha256, sync_id) "
                                "VALUES (%s, %s, %s, %s, %s)").format(t), rows)


def committed_by(conn: psycopg.Connection, sync_ids: Sequence[str]) -> dict[str, str]:
    """table -> sha256 of the file last committed by any of ``sync_ids`` (empty without a history table)."""
    if not sync_ids or conn.execute("SELECT to_regclass(%s)", (HISTORY_TABLE,)).fetchone()[0] is None:
        return {}
    query = sql.SQL("SELECT DISTINCT ON (table_name) table_name, sha256 FROM {} WHERE sync_id = ANY(%s) "
                    "ORDER BY table_name, id DESC").format(_ident(HISTORY_TABLE))
    return dict(conn.execute(query, (list(sync_ids),)).fetchall())


def history(url: str, limit: int = 50) -> list[dict]:
    """The latest rows of hockeyops_sync_history (empty when the table does not exist)."""
    keys = ("id", "sync_id", "table_name", "strategy", "games", "rows", "replaced_rows", "sha256", "digest",
            "loaded_at", "verified", "verified_rows", "verified_digest", "synced_by")
    with connect(url, "hockeyops sync history", read_only=True) as conn:
        if conn.execute("SELECT to_regclass(%s)", (HISTORY_TABLE,)).fetchone()[0] is None:
            return []
        query = sql.SQL("SELECT {} FROM {} ORDER BY id DESC LIMIT %s").format(
            sql.SQL(", ").join(map(_ident, keys)), _ident(HISTORY_TABLE))
        return [dict(zip(keys, row, strict=True)) for row in conn.execute(query, (limit,)).fetchall()]


# ------------------------------------------------------------------------------------------------ merge

_INTEGER = re.compile(rb"^-?\d{1,18}$")


def has_rows(conn: psycopg.Connection, name: str) -> bool:
    return bool(conn.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(_ident(name))).fetchone()[0])


def keys_present(conn: psycopg.Connection, table: Table, keys: list[tuple[bytes, ...]]) -> tuple[int, int]:
    """(keys looked up, keys the target holds) for sampled primary-key values (index lookups only)."""
    cols = [table.column(c) for c in table.primary_key]
    usable = [k for k in keys if all(v and (c.type != "integer" or _INTEGER.match(v)) for c, v in zip(cols, k,
                                                                                                       strict=True))]
    if not usable or any(c.type not in ("integer", "text") for c in cols):
        return 0, 0
    aliases = [sql.Identifier(f"k{i}") for i in range(len(cols))]
    match = sql.SQL(" AND ").join(sql.SQL("t.{} = u.{}::{}").format(_ident(c.name), a, sql.SQL(c.type))
                                  for c, a in zip(cols, aliases, strict=True))
    query = sql.SQL("SELECT count(*) FROM unnest({}) AS u({}) WHERE EXISTS (SELECT 1 FROM {} AS t WHERE {})").format(
        sql.SQL(", ").join(sql.SQL("%s::text[]") for _ in cols), sql.SQL(", ").join(aliases), _ident(table.name), match)
    arrays = [[k[i].decode("utf-8") for k in usable] for i in range(len(cols))]
    return len(usable), conn.execute(query, arrays).fetchone()[0]


def _match(table: Table, left: str, right: str) -> sql.Composable:
    return sql.SQL(" AND ").join(sql.SQL("{}.{} = {}.{}").format(_ident(left), _ident(c), _ident(right), _ident(c))
                                 for c in table.primary_key)


def _compared(table: Table, alias: str, columns: list[str]) -> sql.Composable:
    """Values compared exactly: numerics as text (1.0 and 1.00 are equal numbers but different outputs)."""
    parts = []
    for name in columns:
        ref = sql.SQL("{}.{}").format(_ident(alias), _ident(name))
        parts.append(sql.SQL("{}::text").format(ref) if table.column(name).type == "numeric" else ref)
    return sql.SQL("ROW({})").format(sql.SQL(", ").join(parts))


def merge_statements(table: Table, stage: str) -> tuple[sql.Composed, sql.Composed | None, sql.Composed]:
    """DELETE keys the stage lacks, UPDATE rows whose values differ, INSERT keys the target lacks."""
    t, s = _ident(table.name), _ident(stage)
    delete = sql.SQL("DELETE FROM {} AS t WHERE NOT EXISTS (SELECT 1 FROM {} AS s WHERE {})").format(
        t, s, _match(table, "s", "t"))
    rest = [c for c in table.column_names if c not in table.primary_key]
    update = None
    if rest:
        update = sql.SQL("UPDATE {} AS t SET {} FROM {} AS s WHERE {} AND {} IS DISTINCT FROM {}").format(
            t, sql.SQL(", ").join(sql.SQL("{0} = s.{0}").format(_ident(c)) for c in rest), s,
            _match(table, "t", "s"), _compared(table, "t", rest), _compared(table, "s", rest))
    insert = sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} AS s WHERE NOT EXISTS (SELECT 1 FROM {} AS t WHERE {})"
                     ).format(t, columns_sql(table), sql.SQL(", ").join(sql.SQL("s.{}").format(_ident(c))
                                                                        for c in table.column_names),
                              s, t, _match(table, "t", "s"))
    return delete, update, insert


# ------------------------------------------------------------------------------------------------ guard

def game_counts(conn: psycopg.Connection, name: str) -> dict[int | None, int]:
    """game_id -> rows of a game-scoped table (None: rows without a game)."""
    query = sql.SQL("SELECT game_id, count(*) FROM {} GROUP BY game_id").format(_ident(name))
    return {g: int(n) for g, n in conn.execute(query).fetchall()}


_FOREIGN_KEYS = """
SELECT con.conname, src.relname, a.attname, ref.relname, fa.attname
FROM pg_catalog.pg_constraint con
JOIN pg_catalog.pg_class src ON src.oid = con.conrelid
JOIN pg_catalog.pg_namespace n ON n.oid = src.relnamespace
JOIN pg_catalog.pg_class ref ON ref.oid = con.confrelid
JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1]
JOIN pg_catalog.pg_attribute fa ON fa.attrelid = con.confrelid AND fa.attnum = con.confkey[1]
WHERE con.contype = 'f' AND n.nspname = current_schema() AND cardinality(con.conkey) = 1
"""


@dataclass(frozen=True)
class LiveForeignKey:
    name: str
    table: str
    column: str
    ref_table: str
    ref_column: str


def foreign_key_constraints(conn: psycopg.Connection) -> list[LiveForeignKey]:
    """Single-column foreign key constraints of the target's current schema (deferred or not, validated or not:
    each is checked for the rows a load writes)."""
    return [LiveForeignKey(*row) for row in conn.execute(_FOREIGN_KEYS).fetchall()]


def relation_exists(conn: psycopg.Connection, name: str) -> bool:
    query = ("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = "
             "c.relnamespace WHERE n.nspname = current_schema() AND c.relname = %s AND c.relkind IN ('r', 'p'))")
    return bool(conn.execute(query, (name,)).fetchone()[0])


def absent_keys(conn: psycopg.Connection, table: str, column: str, type_: str, values: Sequence[str]) -> list[str]:
    """The ``values`` (text) that no row of ``table`` holds in ``column`` (one query over ``unnest``; sorted).

    Integer columns ignore values that are not integers (the COPY rejects those rows anyway).
    """
    if type_ in ("integer", "bigint", "smallint"):
        values = [v for v in values if _INTEGER.match(v.encode())]
    if not values:
        return []
    query = sql.SQL("SELECT u.k FROM unnest(%s::text[]) AS u(k) WHERE NOT EXISTS "
                    "(SELECT 1 FROM {} AS t WHERE t.{} = u.k::{}) ORDER BY 1").format(
        _ident(table), _ident(column), sql.SQL(type_))
    return [k for (k,) in conn.execute(query, (list(values),)).fetchall()]


def referenced_keys(conn: psycopg.Connection, table: str, column: str, keep: Sequence[str]) -> list[str]:
    """Distinct values of ``table.column`` (as text, sorted) that are not among ``keep``: the keys a table still
    references that a load keeping only ``keep`` would remove."""
    query = sql.SQL("SELECT DISTINCT t.{c}::text FROM {t} AS t WHERE t.{c} IS NOT NULL AND "
                    "NOT (t.{c}::text = ANY(%s::text[])) ORDER BY 1").format(t=_ident(table), c=_ident(column))
    return [k for (k,) in conn.execute(query, (list(keep),)).fetchall()]
