"""Views are catalog objects: schema apply creates them, replaces a changed one, and drops and re-creates a view
over a changing column in the same transaction as the table change; user views are left alone."""
from __future__ import annotations

import dataclasses

import psycopg
import pytest

from etl.catalog import TABLES, VIEWS
from etl.schema import SchemaOptions, apply_schema, plan_schema
from etl.schema.ddl import render_script
from tests.conftest import drop_database, new_database

TARGET = "views"


@pytest.fixture()
def db(pg_admin):
    url = new_database(pg_admin, "views_t")
    yield url
    drop_database(pg_admin, url)


def _views(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {r[0] for r in conn.execute("SELECT viewname FROM pg_views WHERE schemaname = current_schema()")}


def _with_type(table: str, column: str, type_: str) -> list:
    """The catalog with one column's type changed (an older catalog the database was built from)."""
    out = []
    for t in TABLES:
        if t.name == table:
            cols = tuple(dataclasses.replace(c, type=type_) if c.name == column else c for c in t.columns)
            t = dataclasses.replace(t, columns=cols)
        out.append(t)
    return out


def test_apply_creates_every_view_and_then_has_nothing_to_do(db):
    result = apply_schema(db, SchemaOptions(), target_name=TARGET)
    assert sum(op.kind == "create view" for op in result.plan.operations) == len(VIEWS)
    assert {v.name for v in VIEWS} <= _views(db)
    assert plan_schema(db, SchemaOptions()).empty
    assert render_script(SchemaOptions()).count("CREATE VIEW") == len(VIEWS)


def test_a_changed_view_is_replaced(db):
    apply_schema(db, SchemaOptions(), target_name=TARGET)
    with psycopg.connect(db) as conn:
        conn.execute("COMMENT ON VIEW v_recent_games IS 'older definition [hockeyops view 000000000000]'")
    plan = plan_schema(db, SchemaOptions())
    assert [(op.kind, op.table) for op in plan.operations] == [("drop view", "v_recent_games"),
                                                               ("create view", "v_recent_games")]
    apply_schema(db, SchemaOptions(), target_name=TARGET)
    assert plan_schema(db, SchemaOptions()).empty


def test_a_view_over_a_changed_column_is_recreated_in_the_same_transaction(db):
    older = _with_type("dim_schedule", "home_total_goals", "bigint")
    apply_schema(db, SchemaOptions(), target_name=TARGET, tables=older)
    with psycopg.connect(db) as conn:  # a user's view on a table no catalog view reads of that column stays
        conn.execute("CREATE VIEW my_teams AS SELECT team_id FROM dim_team")
    plan = plan_schema(db, SchemaOptions())
    kinds = [(op.kind, op.table) for op in plan.operations]
    assert ("change type", "dim_schedule") in kinds
    reading = sorted(v.name for v in VIEWS if "dim_schedule" in v.reads)
    assert sorted(t for k, t in kinds if k == "drop view") == reading
    assert kinds.index(("drop view", reading[0])) < kinds.index(("change type", "dim_schedule")) \
        < kinds.index(("create view", reading[0]))
    apply_schema(db, SchemaOptions(), target_name=TARGET, allow_destructive=True)
    assert plan_schema(db, SchemaOptions()).empty
    assert {v.name for v in VIEWS} | {"my_teams"} <= _views(db)
