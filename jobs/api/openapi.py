"""The OpenAPI 3 document served at /api/openapi.json."""
from __future__ import annotations

from jobs.api.serializers import ETL_MODES, HISTORY_LIMIT, JOB_STATUSES, SOURCES

STRINGS = {"oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}],
           "description": "Table names, globs (fact_player*) or modes (all, dims, facts, qa, basic, tracking); "
                          "a string is split on commas and spaces."}
GAMES = {"type": "array", "items": {"oneOf": [{"type": "integer", "minimum": 0, "maximum": 2147483647},
                                              {"type": "string", "pattern": "^[0-9]+$"}]}}
TARGET = {"type": "string", "default": "embedded", "description": "Target name (admin Targets or "
                                                                  "HOCKEYOPS_TARGET_<NAME>_URL)."}
SCHEMA_OPTIONS = {
    "tables": STRINGS, "modes": STRINGS, "patterns": STRINGS, "exclude": STRINGS, "exclude_tables": STRINGS,
    "pk": {"type": "boolean"}, "fk": {"type": "boolean"}, "indexes": {"type": "boolean"},
    "comments": {"type": "boolean"}, "rls": {"type": "boolean"}, "rls_role": {"type": "string"},
}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict:
    text = {400: "Invalid request: the message names the field and the problem", 401: "Missing or invalid token",
            403: "The token's user lacks the permission", 404: "Unknown id", 409: "The target is not ready",
            405: "Method not allowed"}
    return {str(c): _json(_ref("Error"), text[c]) for c in codes}


def _body(schema: dict) -> dict:
    return {"required": False, "content": {"application/json": {"schema": schema}}}


def _op(summary: str, responses: dict, body: dict | None = None, secured: bool = True, params=None) -> dict:
    op: dict = {"summary": summary, "responses": responses}
    if body is not None:
        op["requestBody"] = _body(body)
    if params:
        op["parameters"] = params
    if not secured:
        op["security"] = []
    return op


ID = [{"name": "run_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}}]


def document(server: str = "") -> dict:
    """The OpenAPI 3.0 document (``server`` is the absolute base URL, e.g. https://ops.example.org)."""
    job = _json(_ref("Job"), "The job (a Run)")
    schemas = {
        "Error": {"type": "object", "required": ["error", "field"], "properties": {
            "error": {"type": "string"}, "field": {"type": "string", "description": "The field at fault, or ''"}}},
        "Job": {"type": "object", "required": [
            "job_id", "status", "progress", "current_step", "tables_created", "errors", "created_at",
            "started_at", "completed_at", "run_url", "plan"], "properties": {
            "job_id": {"type": "integer"},
            "status": {"type": "string", "enum": JOB_STATUSES,
                       "description": "succeeded is reported as completed, skipped as failed"},
            "run_status": {"type": "string", "description": "The Run's own status"},
            "progress": {"type": "integer", "minimum": 0, "maximum": 100},
            "current_step": {"type": "string"},
            "tables_created": {"type": "array", "items": {"type": "string"}},
            "errors": {"type": "array", "items": {"type": "string"}},
            "created_at": {"type": "string", "format": "date-time"},
            "started_at": {"type": "string", "format": "date-time", "nullable": True},
            "completed_at": {"type": "string", "format": "date-time", "nullable": True},
            "trigger": {"type": "string"}, "target": {"type": "string"},
            "stages": {"type": "array", "items": {"type": "string"}},
            "run_url": {"type": "string", "description": "The Run's admin page"},
            "plan": {"type": "object", "description": "The frozen plan (requested and resolved options)"}}},
        "EtlTrigger": {"type": "object", "additionalProperties": False, "properties": {
            "mode": {"type": "string", "enum": ETL_MODES, "default": "full",
                     "description": "single needs game_ids (only those games are built)"},
            "game_ids": GAMES, "exclude_game_ids": GAMES, "tables": STRINGS, "exclude_tables": STRINGS,
            "source": {"type": "string", "enum": list(SOURCES), "default": "excel",
                       "description": "supabase is the old word for staging"},
            "options": {"type": "object", "additionalProperties": False, "properties": {
                "regenerate_schema": {"type": "boolean", "description": "add the schema stage"},
                "upload_to_supabase": {"type": "boolean", "description": "add the sync stage"},
                "wipe": {"type": "boolean", "description": "full rebuild"},
                "allow_shrink": {"type": "boolean", "description": "let the sync stage remove games or shrink tables "
                                                                   "beyond the allowed share"}}},
            "target": TARGET}},
        "SchemaOptions": {"type": "object", "additionalProperties": False, "properties": SCHEMA_OPTIONS},
        "LoadSchema": {"type": "object", "additionalProperties": False, "properties": {
            **SCHEMA_OPTIONS, "target": TARGET, "allow_destructive": {"type": "boolean", "default": False}}},
        "SchemaFile": {"type": "object", "required": ["file", "size", "sha256", "tables"], "properties": {
            "file": {"type": "string"}, "size": {"type": "integer"}, "sha256": {"type": "string"},
            "tables": {"type": "array", "items": {"type": "string"}}, "options": {"type": "object"},
            "generated_at": {"type": "string", "format": "date-time"}, "download_url": {"type": "string"}}},
        "Sync": {"type": "object", "additionalProperties": False, "properties": {
            "full_refresh": {"type": "boolean", "default": False, "description": "load every table whole (otherwise "
                             "only tables and games that changed since the target's last sync)"},
            "allow_shrink": {"type": "boolean", "default": False, "description": "allow removing a game's rows or "
                             "shrinking a table beyond HOCKEYOPS_SYNC_MAX_SHRINK (refused otherwise)"},
            "tables": STRINGS, "mode": STRINGS, "pattern": STRINGS, "patterns": STRINGS, "exclude_tables": STRINGS,
            "game_ids": GAMES, "target": TARGET, "dry_run": {"type": "boolean", "default": False},
            "per_table_commit": {"type": "boolean", "default": False},
            "verify": {"type": "boolean", "default": True}}},
        "SyncDryRun": {"type": "object", "required": ["dry_run", "target", "plan", "summary"], "properties": {
            "dry_run": {"type": "boolean"}, "target": {"type": "string"}, "plan": {"type": "object"},
            "summary": {"type": "string"}}},
        "Cancel": {"type": "object", "required": ["outcome", "job"], "properties": {
            "outcome": {"type": "string", "enum": ["cancelled", "cancelling", "finished"]}, "job": _ref("Job")}},
        "History": {"type": "object", "required": ["jobs", "count"], "properties": {
            "jobs": {"type": "array", "items": _ref("Job")}, "count": {"type": "integer"}}},
        "Health": {"type": "object", "required": ["status", "database", "broker", "targets"], "properties": {
            "status": {"type": "string", "enum": ["ok", "degraded"]}, "database": {"type": "object"},
            "broker": {"type": "object"},
            "targets": {"type": "object", "additionalProperties": {"type": "object"}}}},
    }
    paths = {
        "/api/etl/trigger": {"post": _op("Queue an ETL Run (with schema/sync stages when asked)",
                                         {"202": job, **_errors(400, 401, 403)}, _ref("EtlTrigger"))},
        "/api/etl/status/{run_id}": {"get": _op("A job's status", {"200": job, **_errors(401, 403, 404)},
                                                params=ID)},
        "/api/etl/history": {"get": _op("Latest jobs, newest first", {
            "200": _json(_ref("History"), "Jobs"), **_errors(400, 401, 403)}, params=[
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": HISTORY_LIMIT}},
            {"name": "status", "in": "query", "schema": {"type": "string", "enum": JOB_STATUSES}}])},
        "/api/etl/cancel/{run_id}": {"post": _op("Cancel a job", {
            "200": _json(_ref("Cancel"), "What happened"), **_errors(401, 403, 404)}, params=ID)},
        "/api/upload/generate-schema": {"post": _op(
            "Generate the SQL script and keep it as the latest schema file (no Run)",
            {"200": _json(_ref("SchemaFile"), "The file written"), **_errors(400, 401, 403)},
            _ref("SchemaOptions"))},
        "/api/upload/schema-file": {"get": _op("Download the latest generated SQL", {
            "200": {"description": "The SQL script", "content": {"application/sql": {"schema": {"type": "string"}}}},
            **_errors(401, 403, 404)})},
        "/api/upload/load-schema": {"post": _op("Plan and apply the schema on a target (a Run)",
                                                {"202": job, **_errors(400, 401, 403)}, _ref("LoadSchema"))},
        "/api/upload/to-supabase": {"post": _op("Sync published tables to a target (a Run), or plan it (dry_run)", {
            "200": _json(_ref("SyncDryRun"), "The dry-run plan (nothing written, no Run)"), "202": job,
            **_errors(400, 401, 403, 409)}, _ref("Sync"))},
        "/api/upload/status/{run_id}": {"get": _op("A job's status", {"200": job, **_errors(401, 403, 404)},
                                                   params=ID)},
        "/api/health": {"get": _op("Database, broker and target reachability (no URLs)", {
            "200": _json(_ref("Health"), "Healthy or degraded (cached for a few seconds)"),
            "503": _json(_ref("Health"), "Database down"), "429": _json(_ref("Error"), "Asked too often")},
            secured=False)},
    }
    doc = {
        "openapi": "3.0.3",
        "info": {"title": "hockeyops API", "version": "1.0.0",
                 "description": "The league's ETL API. Every mutating call creates a Run (trigger api)."},
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
    }
    if server:
        doc["servers"] = [{"url": server}]
    return doc
