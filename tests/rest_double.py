"""TEST DOUBLE of the few PostgREST calls the Supabase REST sync transport makes. Not PostgREST.

No PostgREST server can be installed here, so the REST transport is tested against this small
``http.server`` on 127.0.0.1 (ephemeral port) that implements, on top of PostgreSQL via psycopg:

- ``POST /rest/v1/<table>?on_conflict=<cols>[&columns=<cols>]`` with a JSON array body and
  ``Prefer: resolution=merge-duplicates|ignore-duplicates, return=minimal``: one transaction per request,
  ``INSERT ... SELECT ... FROM json_populate_recordset(NULL::<table>, body) ON CONFLICT (<cols>) DO UPDATE``
  (or ``DO NOTHING``), answering ``201`` with an empty body;
- PostgREST-shaped errors (``{"code", "message", "details", "hint"}``): 401 without the service key, 404
  ``PGRST205`` for an unknown table, 400 ``PGRST204`` for an unknown column, 409 for constraint violations,
  400 for other database errors;
- fault injection for retry tests (``fail_next``: the next N requests answer a given status).

It is deliberately small: no GET/PATCH/DELETE, no RPC, no JWT validation beyond comparing the key.
"""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import psycopg
from psycopg import sql


class RestDouble:
    """Start with ``RestDouble(database_url, key).start()``; ``url`` is the project URL to give the client."""

    def __init__(self, database_url: str, service_key: str = "test-service-key") -> None:
        self.database_url = database_url
        self.service_key = service_key
        self.requests: list[dict] = []  # method, path, query, prefer, rows, status
        self._faults: list[int] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def fail_next(self, count: int, status: int = 503) -> None:
        with self._lock:
            self._faults.extend([status] * count)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def start(self) -> RestDouble:
        double = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server naming)
                double._handle(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True, name="rest-double").start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # ------------------------------------------------------------------------------------------------ handling

    def _handle(self, req: BaseHTTPRequestHandler) -> None:
        url = urlparse(req.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        prefer = {p.split("=")[0].strip(): p.split("=", 1)[1].strip()
                  for p in req.headers.get("Prefer", "").split(",") if "=" in p}
        body = req.rfile.read(int(req.headers.get("Content-Length") or 0))
        entry = {"method": "POST", "path": url.path, "query": query, "prefer": prefer, "rows": None, "status": 0}
        with self._lock:
            self.requests.append(entry)
            fault = self._faults.pop(0) if self._faults else None
        if fault is not None:
            return self._reply(req, entry, fault, {"code": str(fault), "message": "injected fault", "details": None,
                                                   "hint": None})
        if req.headers.get("apikey") != self.service_key or \
                req.headers.get("Authorization") != f"Bearer {self.service_key}":
            return self._reply(req, entry, 401, {"code": "PGRST301", "message": "invalid service key"})
        parts = url.path.strip("/").split("/")
        if len(parts) != 3 or parts[:2] != ["rest", "v1"]:
            return self._reply(req, entry, 404, {"code": "PGRST125", "message": f"invalid path {url.path}"})
        try:
            rows = json.loads(body or b"[]")
        except ValueError:
            return self._reply(req, entry, 400, {"code": "PGRST102", "message": "invalid JSON body"})
        rows = rows if isinstance(rows, list) else [rows]
        entry["rows"] = len(rows)
        status, error = self._upsert(parts[2], rows, query, prefer)
        self._reply(req, entry, status, error)

    def _upsert(self, table: str, rows: list[dict], query: dict, prefer: dict) -> tuple[int, dict | None]:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            found = conn.execute(
                "SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_catalog.pg_attribute a "
                "JOIN pg_catalog.pg_class c ON c.oid = a.attrelid JOIN pg_catalog.pg_namespace n ON n.oid = "
                "c.relnamespace WHERE n.nspname = 'public' AND c.relname = %s AND a.attnum > 0 AND NOT "
                "a.attisdropped", (table,)).fetchone()[0]
            if not found:
                return 404, {"code": "PGRST205", "message": f"Could not find the table 'public.{table}' in the "
                                                            f"schema cache"}
            columns = query.get("columns", "").replace('"', "").split(",") if query.get("columns") else \
                sorted({k for r in rows for k in r})
            for col in columns:
                if col not in found:
                    return 400, {"code": "PGRST204", "message": f"Could not find the '{col}' column of '{table}' "
                                                                f"in the schema cache"}
            conflict = [c for c in query.get("on_conflict", "").split(",") if c]
            cols = sql.SQL(", ").join(map(sql.Identifier, columns))
            statement = sql.SQL("INSERT INTO {t} ({c}) SELECT {c} FROM json_populate_recordset(NULL::{t}, %s::json)")
            statement = statement.format(t=sql.Identifier(table), c=cols)
            if conflict:
                target = sql.SQL(", ").join(map(sql.Identifier, conflict))
                if prefer.get("resolution") == "ignore-duplicates" or set(columns) <= set(conflict):
                    statement += sql.SQL(" ON CONFLICT ({}) DO NOTHING").format(target)
                else:
                    updates = sql.SQL(", ").join(sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c))
                                                 for c in columns if c not in conflict)
                    statement += sql.SQL(" ON CONFLICT ({}) DO UPDATE SET {}").format(target, updates)
            try:
                with conn.transaction():
                    conn.execute(statement, (json.dumps(rows),))
            except psycopg.Error as exc:
                status = 409 if isinstance(exc, psycopg.errors.IntegrityError) else 400
                return status, {"code": exc.sqlstate, "message": exc.diag.message_primary,
                                "details": exc.diag.message_detail}
        return 201, None

    @staticmethod
    def _reply(req: BaseHTTPRequestHandler, entry: dict, status: int, error: dict | None) -> None:
        entry["status"] = status
        payload = b"" if error is None else json.dumps({"details": None, "hint": None, **error}).encode()
        req.send_response(status)
        req.send_header("Content-Type", "application/json")
        req.send_header("Content-Length", str(len(payload)))
        req.end_headers()
        if payload:
            req.wfile.write(payload)
