"""Live database → tables, columns, types, constraints, indexes, comments, RLS and policies (pg_catalog).

Only the current schema (``current_schema()``, normally ``public``) is read; that is where the
unqualified DDL creates the tables.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from .ddl import HISTORY_TABLE
from .options import SchemaError

_ALIASES = {
    "int": "integer", "int4": "integer", "int2": "smallint", "int8": "bigint", "serial": "integer",
    "bigserial": "bigint", "bool": "boolean", "float8": "double precision", "float": "double precision",
    "float4": "real", "decimal": "numeric", "varchar": "character varying", "char": "character",
}


def normalize_type(type_name: str) -> str:
    """A type name as ``format_type`` spells it (``int4`` → ``integer``, ``varchar(5)`` → ``character varying(5)``)."""
    t = re.sub(r"\s+", " ", type_name.strip().lower())
    if t.endswith("[]"):
        return normalize_type(t[:-2]) + "[]"
    t = re.sub(r"\s*\(\s*", "(", t)
    t = re.sub(r"\s*,\s*", ",", t)
    t = re.sub(r"\s*\)", ")", t)
    m = re.fullmatch(r"(timestamp|time)(tz)?(\(\d+\))?( with time zone| without time zone)?", t)
    if m:
        zone = " with time zone" if m[2] else (m[4] or " without time zone")
        return f"{m[1]}{m[3] or ''}{zone}"
    base, paren, rest = t.partition("(")
    return _ALIASES.get(base, base) + paren + rest


@dataclass
class LiveColumn:
    name: str
    type: str
    nullable: bool
    comment: str | None


@dataclass
class LiveConstraint:
    name: str
    kind: str  # p primary key, f foreign key, u unique, c check, x exclusion
    columns: tuple[str, ...]
    ref_table: str | None = None
    ref_columns: tuple[str, ...] = ()
    deferrable: bool = False
    deferred: bool = False


@dataclass
class LiveIndex:
    name: str
    columns: tuple[str, ...]  # empty for expression indexes
    unique: bool
    partial: bool
    constraint: str | None  # the constraint that owns it (primary key, unique), if any


@dataclass
class LivePolicy:
    name: str
    command: str  # SELECT, INSERT, UPDATE, DELETE or ALL
    roles: tuple[str, ...]
    using: str | None
    check: str | None
    permissive: bool


@dataclass
class LiveTable:
    name: str
    oid: int
    comment: str | None
    rls_enabled: bool
    columns: dict[str, LiveColumn] = field(default_factory=dict)
    constraints: dict[str, LiveConstraint] = field(default_factory=dict)
    indexes: dict[str, LiveIndex] = field(default_factory=dict)
    policies: dict[str, LivePolicy] = field(default_factory=dict)

    @property
    def primary_key(self) -> LiveConstraint | None:
        return next((c for c in self.constraints.values() if c.kind == "p"), None)

    def foreign_keys(self) -> list[LiveConstraint]:
        return [c for c in self.constraints.values() if c.kind == "f"]


@dataclass
class LiveSchema:
    schema: str
    server_version: int
    tables: dict[str, LiveTable]
    roles: set[str]
    managed: set[str]  # tables recorded in hockeyops_schema_history
    history: bool  # the history table exists


def connect(url: str, application_name: str, read_only: bool = False) -> psycopg.Connection:
    """An autocommit connection; the error names the problem, never the URL."""
    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=15, application_name=application_name[:63])
    except psycopg.Error as exc:
        raise SchemaError(f"Could not connect to the target database: {_clean(str(exc), url)}") from None
    if read_only:
        conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
    return conn


def _clean(message: str, url: str) -> str:
    text = message.replace(url, "<target url>").strip()
    return text.splitlines()[0] if text else "unknown error"


_TABLES = """
SELECT c.oid, c.relname, c.relrowsecurity, obj_description(c.oid, 'pg_class')
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
ORDER BY c.relname
"""
_COLUMNS = """
SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
       col_description(a.attrelid, a.attnum)
FROM pg_catalog.pg_attribute a
WHERE a.attrelid = ANY(%(oids)s) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum
"""
_CONSTRAINTS = """
SELECT con.conrelid, con.conname, con.contype, con.condeferrable, con.condeferred,
       ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(num, ord)
             JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num ORDER BY k.ord),
       ref.relname,
       ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(num, ord)
             JOIN pg_catalog.pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num ORDER BY k.ord)
FROM pg_catalog.pg_constraint con LEFT JOIN pg_catalog.pg_class ref ON ref.oid = con.confrelid
WHERE con.conrelid = ANY(%(oids)s) AND con.contype IN ('p', 'f', 'u', 'c', 'x')
ORDER BY con.conrelid, con.conname
"""
_INDEXES = """
SELECT i.indrelid, ic.relname, i.indisunique, i.indpred IS NOT NULL,
       CASE WHEN i.indexprs IS NULL THEN
         ARRAY(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(num, ord)
               JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.num
               WHERE k.ord <= i.indnkeyatts ORDER BY k.ord)
       ELSE ARRAY[]::text[] END,
       (SELECT con.conname FROM pg_catalog.pg_constraint con
        WHERE con.conindid = i.indexrelid AND con.conrelid = i.indrelid LIMIT 1)
FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
WHERE i.indrelid = ANY(%(oids)s)
ORDER BY i.indrelid, ic.relname
"""
_POLICIES = """
SELECT p.polrelid, p.polname,
       CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                     WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
       ARRAY(SELECT CASE WHEN r = 0 THEN 'public' ELSE pg_get_userbyid(r)::text END
             FROM unnest(p.polroles) r ORDER BY 1),
       pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid), p.polpermissive
FROM pg_catalog.pg_policy p
WHERE p.polrelid = ANY(%(oids)s)
ORDER BY p.polrelid, p.polname
"""


def introspect(conn: psycopg.Connection, roles: Iterable[str] = ()) -> LiveSchema:
    """Everything the planner compares, for every table of the current schema."""
    schema, version = conn.execute("SELECT current_schema(), current_setting('server_version_num')::int").fetchone()
    if schema is None:
        raise SchemaError("The target has no current schema (search_path names no existing schema).")
    tables: dict[str, LiveTable] = {}
    by_oid: dict[int, LiveTable] = {}
    for oid, name, rls, comment in conn.execute(_TABLES).fetchall():
        by_oid[oid] = tables[name] = LiveTable(name, oid, comment, rls)
    oids = {"oids": list(by_oid)}
    for oid, name, type_, nullable, comment in conn.execute(_COLUMNS, oids).fetchall():
        by_oid[oid].columns[name] = LiveColumn(name, type_, nullable, comment)
    for oid, name, kind, deferrable, deferred, cols, ref, ref_cols in conn.execute(_CONSTRAINTS, oids).fetchall():
        by_oid[oid].constraints[name] = LiveConstraint(name, kind, tuple(cols), ref, tuple(ref_cols or ()),
                                                       deferrable, deferred)
    for oid, name, unique, partial, cols, constraint in conn.execute(_INDEXES, oids).fetchall():
        by_oid[oid].indexes[name] = LiveIndex(name, tuple(cols), unique, partial, constraint)
    for oid, name, cmd, pol_roles, using, check, permissive in conn.execute(_POLICIES, oids).fetchall():
        by_oid[oid].policies[name] = LivePolicy(name, cmd, tuple(pol_roles), using, check, permissive)
    wanted = sorted(set(roles))
    found = {r for (r,) in conn.execute("SELECT rolname FROM pg_catalog.pg_roles WHERE rolname = ANY(%s)",
                                        (wanted,)).fetchall()} if wanted else set()
    history = HISTORY_TABLE in tables
    managed: set[str] = set()
    if history:
        query = sql.SQL("SELECT DISTINCT jsonb_array_elements_text(tables) FROM {}").format(
            sql.Identifier(HISTORY_TABLE))
        managed = {name for (name,) in conn.execute(query).fetchall()}
    return LiveSchema(schema, version, tables, found, managed, history)


def row_count(conn: psycopg.Connection, table: str) -> int:
    return conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()[0]


def value_count(conn: psycopg.Connection, table: str, column: str, nulls: bool = False) -> int:
    """Rows of ``table`` whose ``column`` is not null (``nulls``: is null)."""
    test = sql.SQL("IS NULL" if nulls else "IS NOT NULL")
    query = sql.SQL("SELECT count(*) FROM {} WHERE {} {}").format(sql.Identifier(table), sql.Identifier(column), test)
    return conn.execute(query).fetchone()[0]


def dependent_views(conn: psycopg.Connection, table_oid: int, column: str | None = None) -> list[str]:
    """Views (and materialized views) that read ``table`` (or one of its columns)."""
    query = """
        SELECT DISTINCT v.relname FROM pg_catalog.pg_depend d
        JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid AND d.classid = 'pg_catalog.pg_rewrite'::regclass
        JOIN pg_catalog.pg_class v ON v.oid = r.ev_class
        WHERE d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid = %(oid)s AND v.oid <> %(oid)s
          AND (%(col)s::text IS NULL OR d.refobjsubid = (SELECT attnum FROM pg_catalog.pg_attribute
                                                         WHERE attrelid = %(oid)s AND attname = %(col)s))
        ORDER BY 1
    """
    return [name for (name,) in conn.execute(query, {"oid": table_oid, "col": column}).fetchall()]


def live_views(conn: psycopg.Connection) -> dict[str, str | None]:
    """Views of the current schema by name, with their comments."""
    query = """
        SELECT c.relname, obj_description(c.oid, 'pg_class') FROM pg_catalog.pg_class c
        WHERE c.relkind = 'v' AND c.relnamespace = current_schema()::regnamespace ORDER BY 1
    """
    return {name: comment for name, comment in conn.execute(query).fetchall()}


def can_select(conn: psycopg.Connection, role: str, table_oid: int) -> bool:
    query = "SELECT has_table_privilege(%s::name, %s::oid, 'SELECT')"
    return bool(conn.execute(query, (role, table_oid)).fetchone()[0])
