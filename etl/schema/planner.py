"""Catalog vs live database → the ordered operations that make the database match (never writes).

What is compared, for the selected tables: tables, columns (type, NOT NULL), primary keys, the
derived foreign keys and indexes (ours, by name; an equivalent object under another name counts),
comments, and with RLS the read policy, grant and role. Objects the catalog does not describe (your
views, policies, grants, other indexes) are left alone. Tables are dropped only when the selection is
the whole catalog and the table was created by hockeyops (recorded in hockeyops_schema_history).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import psycopg

from ..catalog import TABLES, VIEWS_BY_NAME, Column, Table
from ..progress import CancelToken, NullReporter, Reporter
from ..text import plural
from . import ddl
from .introspect import (
    LiveSchema,
    LiveTable,
    can_select,
    connect,
    dependent_views,
    introspect,
    live_views,
    normalize_type,
    row_count,
    value_count,
)
from .options import SchemaError, SchemaOptions, catalog_version_of

# Execution order; within a kind, table order (sorted) is kept.
KINDS = ("create role", "drop view", "create table", "add column", "drop foreign key", "drop primary key", "drop index",
         "change type", "drop not null", "set not null", "drop column", "add primary key", "add foreign key",
         "add index", "set comments", "row-level security", "drop table", "create view")
# Changes after which a view reading the table is dropped first and re-created last (same transaction).
_VIEW_BREAKING = ("drop column", "change type", "drop table")
# Type changes that cannot lose or reject data.
_WIDENING = {("smallint", "integer"), ("smallint", "bigint"), ("integer", "bigint"), ("smallint", "numeric"),
             ("integer", "numeric"), ("bigint", "numeric"), ("real", "double precision"),
             ("character varying", "text"), ("date", "timestamp without time zone"),
             ("date", "timestamp with time zone")}


@dataclass(frozen=True)
class Operation:
    """One change: its statements run in order; ``destructive`` ones need --allow-destructive."""

    kind: str
    table: str
    column: str | None
    statements: tuple[str, ...]
    destructive: bool = False
    rows_affected: int | None = None
    description: str = ""

    @property
    def sql(self) -> str:
        return "\n".join(f"{s};" for s in self.statements)

    def as_dict(self) -> dict:
        return {"kind": self.kind, "table": self.table, "column": self.column, "destructive": self.destructive,
                "rows_affected": self.rows_affected, "description": self.description,
                "statements": list(self.statements)}

    def line(self) -> str:
        mark = "destructive" if self.destructive else "safe"
        if self.rows_affected is not None and self.destructive:
            mark += f", {self.rows_affected} row{'s' if self.rows_affected != 1 else ''}"
        return f"{self.description}  [{mark}]"


@dataclass
class Plan:
    """What apply would do to a target, computed against its live schema."""

    catalog_version: str
    options: SchemaOptions
    tables: list[str]
    operations: list[Operation] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.operations

    @property
    def destructive(self) -> list[Operation]:
        return [op for op in self.operations if op.destructive]

    def as_dict(self) -> dict:
        return {"catalog_version": self.catalog_version, "options": self.options.as_dict(), "tables": self.tables,
                "operations": [op.as_dict() for op in self.operations]}

    def summary(self) -> str:
        if self.empty:
            return f"No changes: the database matches the catalog for the {plural(len(self.tables), 'selected table')}."
        n, bad = len(self.operations), len(self.destructive)
        text = f"{plural(n, 'operation')}: {n - bad} safe, {bad} destructive"
        return text + (" (applying them needs destructive changes allowed)." if bad else ".")

    def describe(self, with_sql: bool = False) -> str:
        lines = [f"Catalog {self.catalog_version}, {plural(len(self.tables), 'table')}, {self.options.describe()}"]
        for i, op in enumerate(self.operations, 1):
            lines.append(f"{i:>4}. {op.line()}")
            if with_sql:
                lines.extend("        " + s for s in op.sql.splitlines())
        lines.append(self.summary())
        return "\n".join(lines)


def plan_schema(url: str, options: SchemaOptions, *, tables: Sequence[Table] = TABLES,
                reporter: Reporter | None = None, cancel: CancelToken | None = None) -> Plan:
    """Connect read-only to ``url`` and compute the plan; nothing is written."""
    reporter = reporter or NullReporter()
    options.resolve(tables)  # selection errors before connecting
    with connect(url, "hockeyops schema plan", read_only=True) as conn:
        if cancel:
            cancel.check()
        try:
            plan = diff(conn, options, tables)
        except psycopg.Error as exc:
            raise SchemaError(f"Could not read the target's schema: {(exc.diag.message_primary or str(exc)).strip()}") \
                from None
    reporter.log("info", plan.summary())
    return plan


def diff(conn: psycopg.Connection, options: SchemaOptions, tables: Sequence[Table] = TABLES) -> Plan:
    """The plan for the database behind ``conn`` (used by apply inside its transaction)."""
    selected = options.resolve(tables)
    live = introspect(conn, roles=[options.rls_role] if options.rls else [])
    return _Differ(conn, options, tables, selected, live).run()


class _Differ:
    def __init__(self, conn: psycopg.Connection, options: SchemaOptions, tables: Sequence[Table],
                 selected: list[Table], live: LiveSchema) -> None:
        self.conn, self.options, self.tables, self.selected, self.live = conn, options, tables, selected, live
        self.ops: list[Operation] = []
        self.new_tables: set[str] = set()
        self.dropped_columns: set[tuple[str, str]] = set()
        self.dropped_constraints: set[tuple[str, str]] = set()
        self.drop_tables: list[str] = []

    def add(self, kind: str, table: str, column: str | None, statements: list[str], description: str,
            destructive: bool = False, rows: int | None = None) -> None:
        self.ops.append(Operation(kind, table, column, tuple(statements), destructive, rows, description))

    def run(self) -> Plan:
        opts = self.options
        if opts.covers_everything(self.tables):
            catalog = {t.name for t in self.tables}
            self.drop_tables = sorted((self.live.managed & set(self.live.tables)) - catalog - {ddl.HISTORY_TABLE})
        if opts.rls and opts.rls_role not in self.live.roles:
            self.add("create role", "", None, [ddl.ensure_role(opts.rls_role)],
                     f"create role {opts.rls_role} (NOLOGIN) for the read policy")
        for table in self.selected:
            live = self.live.tables.get(table.name)
            if live is None:
                self._create(table)
            else:
                self._columns(table, live)
                self._primary_key(table, live)
                self._comments(table, live)
        self._foreign_keys()
        self._indexes()
        if opts.rls:
            for table in self.selected:
                self._rls(table.name, self.live.tables.get(table.name))
        for name in self.drop_tables:
            self._drop_table(name)
        self._views()
        order = {kind: i for i, kind in enumerate(KINDS)}
        ops = sorted(self.ops, key=lambda op: order[op.kind])
        return Plan(catalog_version_of(self.tables), opts, [t.name for t in self.selected], ops)

    # -- tables and columns
    def _create(self, table: Table) -> None:
        self.new_tables.add(table.name)
        statements = [ddl.create_table(table, self.options.pk)]
        if self.options.comments:
            statements += ddl.table_comments(table)
        pk = f", primary key {', '.join(table.primary_key)}" if self.options.pk else ""
        self.add("create table", table.name, None, statements,
                 f"create table {table.name} ({len(table.columns)} columns{pk})")

    def _columns(self, table: Table, live: LiveTable) -> None:
        live_pk = live.primary_key
        for col in table.columns:
            have = live.columns.get(col.name)
            if have is None:
                self._add_column(table, col)
                continue
            want, got = normalize_type(col.type), normalize_type(have.type)
            if want != got:
                self._change_type(table.name, live, col, got, want)
            if not col.nullable and have.nullable:
                nulls = value_count(self.conn, table.name, col.name, nulls=True)
                note = f"; {nulls} rows are null, so it will fail until they are filled" if nulls else ""
                self.add("set not null", table.name, col.name, [ddl.set_not_null(table.name, col.name)],
                         f"set NOT NULL on {table.name}.{col.name}{note}", rows=nulls)
            elif col.nullable and not have.nullable:
                in_pk = live_pk is not None and col.name in live_pk.columns
                if not in_pk or (self.options.pk and live_pk.columns != table.primary_key):
                    self.add("drop not null", table.name, col.name,
                             [ddl.set_not_null(table.name, col.name, False)],
                             f"drop NOT NULL on {table.name}.{col.name}")
        for name in live.columns:
            if name not in table.column_names:
                self.dropped_columns.add((table.name, name))
                rows = value_count(self.conn, table.name, name)
                views = [v for v in dependent_views(self.conn, live.oid, name) if v not in VIEWS_BY_NAME]
                note = f"; used by view {', '.join(views)}, so it will fail until they are changed" if views else ""
                self.add("drop column", table.name, name, [ddl.drop_column(table.name, name)],
                         f"drop column {table.name}.{name} ({rows} rows have a value){note}",
                         destructive=True, rows=rows)

    def _add_column(self, table: Table, col: Column) -> None:
        statements = [ddl.add_column(table.name, col)]
        note = ""
        if not col.nullable:
            statements.append(ddl.set_not_null(table.name, col.name))
            rows = row_count(self.conn, table.name)
            note = " NOT NULL" + (f" (will fail: the table has {rows} rows)" if rows else "")
        if self.options.comments:
            statements.append(ddl.comment_column(table.name, col.name, col.description))
        self.add("add column", table.name, col.name, statements, f"add column {table.name}.{col.name} {col.type}{note}")

    def _change_type(self, table: str, live: LiveTable, col: Column, got: str, want: str) -> None:
        safe = want == "text" or (got, want) in _WIDENING
        rows = None if safe else value_count(self.conn, table, col.name)
        views = [v for v in dependent_views(self.conn, live.oid, col.name) if v not in VIEWS_BY_NAME]
        note = f"; used by view {', '.join(views)}: PostgreSQL refuses until they are changed" if views else ""
        self.add("change type", table, col.name, [ddl.change_type(table, col)],
                 f"change type of {table}.{col.name} from {got} to {want}{note}", destructive=not safe, rows=rows)

    # -- keys and indexes
    def _primary_key(self, table: Table, live: LiveTable) -> None:
        if not self.options.pk:
            return
        have = live.primary_key
        if have is not None and have.columns == table.primary_key:
            return
        if have is not None:
            for other in self.live.tables.values():
                for fk in other.foreign_keys():
                    if fk.ref_table == table.name and self._ours(other.name, fk.name, fk.columns):
                        self._drop_fk(other.name, fk.name, f"it references the old primary key of {table.name}")
            self.dropped_constraints.add((table.name, have.name))
            self.add("drop primary key", table.name, None, [ddl.drop_constraint(table.name, have.name)],
                     f"drop primary key {have.name} ({', '.join(have.columns)}) of {table.name}")
        self.add("add primary key", table.name, None, [ddl.add_primary_key(table)],
                 f"add primary key ({', '.join(table.primary_key)}) to {table.name}")

    @staticmethod
    def _ours(table: str, name: str, columns: tuple[str, ...]) -> bool:
        return len(columns) == 1 and name == ddl.ForeignKey(table, columns[0], "", "").name

    def _drop_fk(self, table: str, name: str, why: str) -> None:
        if (table, name) in self.dropped_constraints or table in self.drop_tables:
            return
        self.dropped_constraints.add((table, name))
        self.add("drop foreign key", table, None, [ddl.drop_constraint(table, name)],
                 f"drop foreign key {name} of {table}: {why}")

    def _foreign_keys(self) -> None:
        for table in self.live.tables.values():  # ours that would block a drop
            for fk in table.foreign_keys():
                if not self._ours(table.name, fk.name, fk.columns):
                    continue
                if (table.name, fk.columns[0]) in self.dropped_columns:
                    self._drop_fk(table.name, fk.name, f"column {fk.columns[0]} is dropped")
                elif fk.ref_table in self.drop_tables or any(
                        (fk.ref_table, c) in self.dropped_columns for c in fk.ref_columns):
                    self._drop_fk(table.name, fk.name, f"{fk.ref_table} or its key is dropped")
        if not self.options.fk:
            return
        for want in ddl.foreign_keys(self.selected, self.tables):
            live = self.live.tables.get(want.table)
            if live is not None and want.table not in self.new_tables and want.ref_table not in self.new_tables:
                have = live.constraints.get(want.name)
                if have is not None and (want.table, want.name) not in self.dropped_constraints:
                    if (have.kind == "f" and have.columns == (want.column,) and have.ref_table == want.ref_table
                            and have.ref_columns == (want.ref_column,) and have.deferrable and have.deferred):
                        continue
                    self._drop_fk(want.table, want.name, "its definition changed")
                elif any(fk.columns == (want.column,) and fk.ref_table == want.ref_table
                         and fk.ref_columns == (want.ref_column,)
                         and (want.table, fk.name) not in self.dropped_constraints for fk in live.foreign_keys()):
                    continue
            self.add("add foreign key", want.table, want.column, [ddl.add_foreign_key(want)],
                     f"add foreign key {want.table}.{want.column} -> {want.ref_table}.{want.ref_column} (deferrable)")

    def _indexes(self) -> None:
        if not self.options.indexes:
            return
        for want in ddl.indexes(self.selected, self.options.pk):
            live = self.live.tables.get(want.table)
            if live is not None and want.table not in self.new_tables:
                have = live.indexes.get(want.name)
                if have is not None:
                    if have.columns == (want.column,) and not have.partial and not have.unique:
                        continue
                    self.add("drop index", want.table, want.column, [ddl.drop_index(want.name)],
                             f"drop index {want.name}: its definition changed")
                elif any(ix.columns[:1] == (want.column,) and not ix.partial for ix in live.indexes.values()):
                    continue
            self.add("add index", want.table, want.column, [ddl.create_index(want)],
                     f"add index {want.name} on {want.table} ({want.column})")

    # -- comments and row-level security
    def _comments(self, table: Table, live: LiveTable) -> None:
        if not self.options.comments:
            return
        statements = []
        if (live.comment or None) != (table.description or None):
            statements.append(ddl.comment_table(table.name, table.description))
        for col in table.columns:
            have = live.columns.get(col.name)
            if have is not None and (have.comment or None) != (col.description or None):
                statements.append(ddl.comment_column(table.name, col.name, col.description))
        if statements:
            self.add("set comments", table.name, None, statements,
                     f"set {len(statements)} comment{'s' if len(statements) != 1 else ''} on {table.name}")

    def _rls(self, table: str, live: LiveTable | None) -> None:
        role = self.options.rls_role
        if live is None:
            statements, what = ddl.rls_statements(table, role), ["enable", "grant SELECT", "read policy"]
        else:
            statements, what = [], []
            if not live.rls_enabled:
                statements.append(ddl.enable_rls(table))
                what.append("enable")
            if role not in self.live.roles or not can_select(self.conn, role, live.oid):
                statements.append(ddl.grant_select(table, role))
                what.append("grant SELECT")
            name = ddl.policy_name(role)
            policy = live.policies.get(name)
            if policy is None or (policy.command, policy.roles, policy.using, policy.check, policy.permissive) != (
                    "SELECT", (role,), "true", None, True):
                if policy is not None:
                    statements.append(ddl.drop_policy(table, name))
                statements.append(ddl.create_policy(table, role))
                what.append("read policy" if policy is None else "replace read policy")
        if statements:
            self.add("row-level security", table, None, statements,
                     f"row-level security on {table} for {role}: {', '.join(what)}")

    # -- views
    def _views(self) -> None:
        """Create missing catalog views, replace changed ones, re-create those over a changing table and drop
        managed views the catalog no longer has (whole-catalog selections only)."""
        live = live_views(self.conn)
        available = {t.name for t in self.selected} | (set(self.live.tables) - set(self.drop_tables))
        breaking = {op.table for op in self.ops if op.kind in _VIEW_BREAKING}
        role = self.options.rls_role if self.options.rls else None
        for view in ddl.views_over(available):
            comment = live.get(view.name, False)
            if comment is False:
                self.add("create view", view.name, None, ddl.create_view(view, role),
                         f"create view {view.name} (reads {', '.join(view.reads)})")
                continue
            digest = ddl.view_digest(comment)
            why = ("its definition changed" if digest != view.digest
                   else next((f"{t} changes" for t in view.reads if t in breaking), ""))
            if role and not why and not can_select(self.conn, role, self._oid(view.name)):
                self.add("row-level security", view.name, None, [ddl.grant_select(view.name, role)],
                         f"grant SELECT on view {view.name} to {role}")
            if why:
                self.add("drop view", view.name, None, [ddl.drop_view(view.name)],
                         f"drop view {view.name} to re-create it: {why}")
                self.add("create view", view.name, None, ddl.create_view(view, role),
                         f"re-create view {view.name} (reads {', '.join(view.reads)})")
        if self.options.covers_everything(self.tables):
            for name, comment in sorted(live.items()):
                if name not in VIEWS_BY_NAME and ddl.view_digest(comment) is not None:
                    self.add("drop view", name, None, [ddl.drop_view(name)],
                             f"drop view {name}, no longer in the catalog")

    def _oid(self, name: str) -> int:
        return self.conn.execute("SELECT to_regclass(%s)::oid", (name,)).fetchone()[0]

    def _drop_table(self, name: str) -> None:
        live = self.live.tables[name]
        rows = row_count(self.conn, name)
        views = dependent_views(self.conn, live.oid)
        note = f"; used by view {', '.join(views)}, so it will fail until they are dropped" if views else ""
        self.add("drop table", name, None, [ddl.drop_table(name)],
                 f"drop table {name}, no longer in the catalog ({rows} rows){note}", destructive=True, rows=rows)
