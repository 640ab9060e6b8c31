"""Catalog → DDL: the desired objects (keys, indexes, policies) and the statements that create them.

Every statement is rendered to text without a connection, from quoted identifiers and literals
(``psycopg.sql``); types are taken verbatim from the catalog. The same builders serve the generated
script and the planner, so both always say the same thing.

Foreign keys are derived, not declared: a column whose name is the single-column primary key of
exactly one dimension table references that dimension (``player_id`` → ``dim_player``,
``game_id`` → ``dim_schedule``, ...). They are DEFERRABLE INITIALLY DEFERRED so loads may write
tables in any order within a transaction, and only link tables that are both selected.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from psycopg import sql

from ..catalog import TABLES, VIEWS, Column, Table, View
from .options import SchemaError, SchemaOptions, catalog_version_of

HISTORY_TABLE = "hockeyops_schema_history"
INDEXED_COLUMNS = ("game_id", "player_id", "team_id")
_MAX_IDENT = 63
_TYPE = re.compile(r"^[a-z][a-z0-9_ ]*(\(\d+(,\s*\d+)?\))?( with(out)? time zone)?(\[\])?$")


def _ident(*parts: str) -> sql.Composable:
    return sql.Identifier(*parts)


def _text(composed: sql.Composable) -> str:
    return composed.as_string(None)


def object_name(*parts: str) -> str:
    """``parts`` joined with ``_``; names longer than PostgreSQL's 63 bytes get a short hash suffix."""
    name = "_".join(parts)
    if len(name.encode()) <= _MAX_IDENT:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name.encode()[:_MAX_IDENT - 9].decode(errors='ignore')}_{digest}"


def pk_name(table: str) -> str:
    return object_name(table, "pkey")


def policy_name(role: str) -> str:
    return object_name("hockeyops_read", role)


def column_type(column: Column) -> sql.Composable:
    """The catalog's type as SQL; anything that does not look like a type name is refused."""
    if not _TYPE.match(column.type):
        raise SchemaError(f"The catalog type '{column.type}' of column {column.name} is not a PostgreSQL type name.")
    return sql.SQL(column.type)


@dataclass(frozen=True, order=True)
class ForeignKey:
    table: str
    column: str
    ref_table: str
    ref_column: str

    @property
    def name(self) -> str:
        return object_name("fk", self.table, self.column)


@dataclass(frozen=True, order=True)
class Index:
    table: str
    column: str

    @property
    def name(self) -> str:
        return object_name("ix", self.table, self.column)


def key_owners(tables: Sequence[Table] = TABLES) -> dict[str, str]:
    """Column name → the one dimension table whose single-column primary key it is."""
    dims = [t for t in tables if t.category == "dim" and len(t.primary_key) == 1]
    counts = Counter(t.primary_key[0] for t in dims)
    return {t.primary_key[0]: t.name for t in dims if counts[t.primary_key[0]] == 1}


def foreign_keys(selected: Sequence[Table], all_tables: Sequence[Table] | None = None) -> list[ForeignKey]:
    """Derived foreign keys between tables of ``selected`` (owners looked up in ``all_tables``)."""
    owners = key_owners(all_tables if all_tables is not None else selected)
    chosen = {t.name for t in selected}
    out = []
    for table in selected:
        for column in table.columns:
            ref = owners.get(column.name)
            if ref and ref != table.name and ref in chosen:
                out.append(ForeignKey(table.name, column.name, ref, column.name))
    return sorted(out)


def indexes(selected: Sequence[Table], pk: bool = True) -> list[Index]:
    """Indexes on game_id/player_id/team_id, except where the primary key already leads with the column."""
    out = []
    for table in selected:
        for column in table.column_names:
            if column in INDEXED_COLUMNS and not (pk and table.primary_key[0] == column):
                out.append(Index(table.name, column))
    return sorted(out)


# ------------------------------------------------------------------------------------------ statements

def create_table(table: Table, pk: bool = True) -> str:
    lines = [sql.SQL("    {} {}{}").format(_ident(c.name), column_type(c), sql.SQL("" if c.nullable else " NOT NULL"))
             for c in table.columns]
    if pk:
        lines.append(sql.SQL("    CONSTRAINT {} PRIMARY KEY ({})").format(
            _ident(pk_name(table.name)), sql.SQL(", ").join(map(_ident, table.primary_key))))
    return _text(sql.SQL("CREATE TABLE {} (\n{}\n)").format(_ident(table.name), sql.SQL(",\n").join(lines)))


def add_column(table: str, column: Column) -> str:
    return _text(sql.SQL("ALTER TABLE {} ADD COLUMN {} {}").format(_ident(table), _ident(column.name),
                                                                   column_type(column)))


def set_not_null(table: str, column: str, not_null: bool = True) -> str:
    verb = "SET NOT NULL" if not_null else "DROP NOT NULL"
    return _text(sql.SQL("ALTER TABLE {} ALTER COLUMN {} " + verb).format(_ident(table), _ident(column)))


def change_type(table: str, column: Column) -> str:
    return _text(sql.SQL("ALTER TABLE {} ALTER COLUMN {} TYPE {} USING {}::{}").format(
        _ident(table), _ident(column.name), column_type(column), _ident(column.name), column_type(column)))


def drop_column(table: str, column: str) -> str:
    return _text(sql.SQL("ALTER TABLE {} DROP COLUMN {}").format(_ident(table), _ident(column)))


def add_primary_key(table: Table) -> str:
    return _text(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} PRIMARY KEY ({})").format(
        _ident(table.name), _ident(pk_name(table.name)), sql.SQL(", ").join(map(_ident, table.primary_key))))


def add_foreign_key(fk: ForeignKey) -> str:
    return _text(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({}) "
                         "DEFERRABLE INITIALLY DEFERRED").format(
        _ident(fk.table), _ident(fk.name), _ident(fk.column), _ident(fk.ref_table), _ident(fk.ref_column)))


def drop_constraint(table: str, name: str, if_exists: bool = False) -> str:
    guard = " IF EXISTS" if if_exists else ""
    return _text(sql.SQL("ALTER TABLE" + guard + " {} DROP CONSTRAINT" + guard + " {}").format(
        _ident(table), _ident(name)))


def create_index(ix: Index) -> str:
    return _text(sql.SQL("CREATE INDEX {} ON {} ({})").format(_ident(ix.name), _ident(ix.table), _ident(ix.column)))


def drop_index(name: str) -> str:
    return _text(sql.SQL("DROP INDEX {}").format(_ident(name)))


def comment_table(table: str, text: str | None) -> str:
    return _text(sql.SQL("COMMENT ON TABLE {} IS {}").format(_ident(table), sql.Literal(text or None)))


def comment_column(table: str, column: str, text: str | None) -> str:
    return _text(sql.SQL("COMMENT ON COLUMN {} IS {}").format(_ident(table, column), sql.Literal(text or None)))


def table_comments(table: Table) -> list[str]:
    return [comment_table(table.name, table.description)] + [
        comment_column(table.name, c.name, c.description) for c in table.columns]


def ensure_role(role: str) -> str:
    """Create ``role`` (NOLOGIN) unless it exists; Supabase already has anon and authenticated."""
    return _text(sql.SQL("DO $hockeyops$ BEGIN IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = {}) "
                         "THEN CREATE ROLE {} NOLOGIN; END IF; END $hockeyops$").format(
        sql.Literal(role), _ident(role)))


def enable_rls(table: str) -> str:
    return _text(sql.SQL("ALTER TABLE {} ENABLE ROW LEVEL SECURITY").format(_ident(table)))


def grant_select(table: str, role: str) -> str:
    return _text(sql.SQL("GRANT SELECT ON {} TO {}").format(_ident(table), _ident(role)))


def create_policy(table: str, role: str) -> str:
    return _text(sql.SQL("CREATE POLICY {} ON {} FOR SELECT TO {} USING (true)").format(
        _ident(policy_name(role)), _ident(table), _ident(role)))


def drop_policy(table: str, name: str) -> str:
    return _text(sql.SQL("DROP POLICY {} ON {}").format(_ident(name), _ident(table)))


def rls_statements(table: str, role: str) -> list[str]:
    return [enable_rls(table), grant_select(table, role), create_policy(table, role)]


def drop_table(table: str, if_exists: bool = False) -> str:
    """Never CASCADE: a view or a foreign key from another table makes the drop fail instead."""
    return _text(sql.SQL("DROP TABLE" + (" IF EXISTS" if if_exists else "") + " {}").format(_ident(table)))


VIEW_MARK = "[hockeyops view "  # comment suffix of the views hockeyops manages: [hockeyops view <digest>]


def views_over(names: set[str], views: Sequence[View] = VIEWS) -> list[View]:
    """The catalog views whose tables are all among ``names``."""
    return [v for v in views if set(v.reads) <= names]


def view_digest(comment: str | None) -> str | None:
    """The digest recorded in a managed view's comment (None for a view hockeyops did not create)."""
    if not comment or VIEW_MARK not in comment:
        return None
    return comment.rsplit(VIEW_MARK, 1)[1].rstrip("]")


def create_view(view: View, role: str | None = None) -> list[str]:
    """CREATE VIEW, its comment (description plus digest) and, with a read role, its grant."""
    out = [_text(sql.SQL("CREATE VIEW {} AS {}").format(_ident(view.name), sql.SQL(view.select))),
           _text(sql.SQL("COMMENT ON VIEW {} IS {}").format(
               _ident(view.name), sql.Literal(f"{view.description} {VIEW_MARK}{view.digest}]")))]
    if role:
        out.append(grant_select(view.name, role))
    return out


def drop_view(name: str, if_exists: bool = False) -> str:
    """Never CASCADE: a view of the user's on top of ours makes the drop fail instead."""
    return _text(sql.SQL("DROP VIEW" + (" IF EXISTS" if if_exists else "") + " {}").format(_ident(name)))


def history_statements() -> list[str]:
    """The history table (RLS on, no policy: only its owner and superusers read it)."""
    t = _ident(HISTORY_TABLE)
    return [
        _text(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (\n"
            "    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
            "    applied_at timestamp with time zone NOT NULL DEFAULT now(),\n"
            "    source text NOT NULL,\n"
            "    catalog_version text NOT NULL,\n"
            "    options jsonb NOT NULL,\n"
            "    tables jsonb NOT NULL,\n"
            "    plan jsonb NOT NULL,\n"
            "    applied_by text NOT NULL DEFAULT current_user\n"
            ")").format(t)),
        enable_rls(HISTORY_TABLE),
        comment_table(HISTORY_TABLE, "hockeyops schema changes applied to this database (written after commit)."),
    ]


def history_insert(source: str, version: str, options: SchemaOptions, tables: Sequence[str],
                   plan: list | None = None) -> str:
    return _text(sql.SQL("INSERT INTO {} (source, catalog_version, options, tables, plan) "
                         "VALUES ({}, {}, {}::jsonb, {}::jsonb, {}::jsonb)").format(
        _ident(HISTORY_TABLE), sql.Literal(source), sql.Literal(version),
        sql.Literal(json.dumps(options.as_dict(), sort_keys=True)), sql.Literal(json.dumps(sorted(tables))),
        sql.Literal(json.dumps(plan or [], sort_keys=True))))


# ------------------------------------------------------------------------------------------ the script

def script_sections(options: SchemaOptions, tables: Sequence[Table] = TABLES) -> list[tuple[str, list[str]]]:
    """The script as ordered (section title, statements) pairs, for an empty database (or --drop)."""
    selected = options.resolve(tables)
    names = {t.name for t in selected}
    sections: list[tuple[str, list[str]]] = []
    if options.drop:
        touching = [fk for fk in foreign_keys(tables) if fk.table in names or fk.ref_table in names]
        reading = [v for v in VIEWS if set(v.reads) & names]
        sections.append(("Drop the catalog views on these tables, the derived foreign keys that touch them, then "
                         "the tables (never CASCADE)",
                         [drop_view(v.name, if_exists=True) for v in reading]
                         + [drop_constraint(fk.table, fk.name, if_exists=True) for fk in touching]
                         + [drop_table(t.name, if_exists=True) for t in selected]))
    sections.append(("Tables" + (" with primary keys" if options.pk else ""),
                     [create_table(t, options.pk) for t in selected]))
    if options.comments:
        sections.append(("Comments from the catalog", [s for t in selected for s in table_comments(t)]))
    if options.fk:
        sections.append(("Foreign keys between the selected tables (deferrable)",
                         [add_foreign_key(fk) for fk in foreign_keys(selected, tables)]))
    if options.indexes:
        sections.append(("Indexes on " + ", ".join(INDEXED_COLUMNS),
                         [create_index(ix) for ix in indexes(selected, options.pk)]))
    if options.rls:
        sections.append((f"Row-level security: read-only policy for role {options.rls_role}",
                         [ensure_role(options.rls_role)]
                         + [s for t in selected for s in rls_statements(t.name, options.rls_role)]))
    role = options.rls_role if options.rls else None
    sections.append(("Views the dashboard reads (catalog views over the selected tables)",
                     [s for v in views_over(names) for s in create_view(v, role)]))
    sections.append(("Record this script in the schema history",
                     history_statements() + [history_insert("script", catalog_version_of(tables), options,
                                                            sorted(names))]))
    return [(title, stmts) for title, stmts in sections if stmts]


def render_script(options: SchemaOptions, tables: Sequence[Table] = TABLES) -> str:
    """The complete, deterministic script text: same catalog and options give the same bytes."""
    sections = script_sections(options, tables)
    count = len(options.resolve(tables))
    out = [
        "-- hockeyops warehouse schema, generated by `python manage.py schema generate`: do not edit by hand.",
        f"-- catalog version: {catalog_version_of(tables)}",
        f"-- tables: {count}",
        f"-- options: {options.describe()}",
        "--",
        "-- Runs as one transaction: psql -v ON_ERROR_STOP=1 -1 -f <this file> <database url>,",
        "-- or paste it into the Supabase SQL editor (a multi-statement script runs there as one transaction).",
        "-- It is meant for an empty database (or generate it with --drop); to change an existing database",
        "-- use `python manage.py schema plan` and `schema apply`, which keep dependent views and policies.",
    ]
    for title, statements in sections:
        out += ["", f"-- {title}"]
        out += [f"{stmt};" for stmt in statements]
    return "\n".join(out) + "\n"
