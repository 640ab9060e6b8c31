"""What the Run page shows beside its ledger: published row counts against the previous Run with sparklines of
the last Runs, what a sync changed per table (and game), and the steps as a timeline."""
from __future__ import annotations

from django.utils.safestring import SafeString

from jobs.models import Run, RunStep

from .pictures import Bar, gantt, sparkline

HISTORY_RUNS = 10  # sparklines cover this many Runs with ETL figures, this one included


def etl_runs_before(run: Run, limit: int) -> list[Run]:
    """The latest succeeded Runs with ETL figures up to ``run`` (newest first), this one included."""
    qs = (Run.objects.filter(status=Run.Status.SUCCEEDED, figures__has_key="etl", pk__lte=run.pk)
          .only("pk", "figures", "finished_at").order_by("-pk"))
    return list(qs[:limit])


def table_counts(run: Run) -> list[dict]:
    """Per published table: rows now, in the previous Run, the difference, and a sparkline of the last Runs."""
    tables = (run.figures or {}).get("etl", {}).get("tables")
    if not tables:
        return []
    history = [r for r in etl_runs_before(run, HISTORY_RUNS) if r.pk != run.pk]
    previous = history[0].figures["etl"]["tables"] if history else {}
    series = [r.figures["etl"]["tables"] for r in reversed(history)] + [tables]
    rows = []
    for name, count in sorted(tables.items()):
        before = previous.get(name)
        values = [s.get(name) for s in series]
        rows.append({"name": name, "rows": count, "previous": before,
                     "diff": None if before is None else count - before,
                     "spark": sparkline(values, label=f"{name}: " + ", ".join(
                         "–" if v is None else f"{v:,}" for v in values))})
    return rows


def previous_etl_run(run: Run) -> Run | None:
    history = [r for r in etl_runs_before(run, 2) if r.pk != run.pk]
    return history[0] if history else None


def sync_changes(run: Run) -> list[dict]:
    """Per table the sync loaded: rows inserted, updated and deleted in the target, per game where scoped."""
    tables = (run.figures or {}).get("sync", {}).get("tables", {})
    out = []
    for name, t in sorted(tables.items()):
        games = [{"game": g, **v} for g, v in sorted(t.get("per_game", {}).items(), key=lambda kv: int(kv[0]))]
        out.append({"name": name, **t, "per_game_rows": games})
    return out


def timeline(run: Run, steps: list[RunStep]) -> SafeString:
    """The Run's steps as a Gantt chart (steps that did not run are listed without a bar)."""
    bars = [Bar(f"{s.stage} · {s.unit}", s.stage, s.status, s.started_at, s.finished_at,
                f"{s.rows:,} {'operations' if s.stage == 'schema' else 'rows'}") for s in steps]
    return gantt(bars)
