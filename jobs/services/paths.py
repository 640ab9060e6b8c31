"""Where a Run keeps its files: working folder (per-game parts) and artifacts (log, manifest, plans)."""
from __future__ import annotations

from pathlib import Path

from django.conf import settings


def run_dir(run_id: int) -> Path:
    """Working folder of a Run (removed after success)."""
    return Path(settings.HOCKEYOPS_RUNS_DIR) / str(run_id)


def artifact_dir(run_id: int) -> Path:
    """Files a Run keeps for audit review."""
    return Path(settings.HOCKEYOPS_ARTIFACTS_DIR) / str(run_id)


def log_path(run_id: int) -> Path:
    """The Run's full log (the database keeps a bounded copy)."""
    return artifact_dir(run_id) / "run.log"
