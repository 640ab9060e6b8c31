"""Fanned-out ETL: per-game Celery tasks build parts (``etl.parts``) while the Run's own task builds every game
no task has claimed yet, then waits for the rest. The task side is ``build_part_for_task``."""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from etl.parts import build_game_part, claim_part, part_ready, prepare_parts
from etl.pipeline import EtlOptions, EtlPlan
from etl.text import plural
from jobs.models import Run

from . import dispatch
from .reporting import RunCancelToken, RunReporter
from .targets import resolve_url

PARTS_QUEUE = "parts"  # per-game tasks: their own queue so new Runs do not wait behind them
# How long the Run waits for a game another worker claimed: far above one game's build time (seconds, even for
# the largest real workbook), so only a worker that died mid-build gets here; the Run then builds the game itself.
PART_WAIT_SECONDS = 600


def link_parts(src: Path, dst: Path) -> None:
    """Reuse the parts a retried Run's parent built (hard links; copies across file systems)."""
    if not src.is_dir():
        return
    for part in src.glob("*.pkl"):
        target = dst / part.name
        if not target.exists():
            try:
                os.link(part, target)
            except OSError:
                shutil.copyfile(part, target)


def fan_out(run: Run, options: EtlOptions, plan: EtlPlan, parts: Path, games: list[int],
             reporter: RunReporter, cancel: RunCancelToken) -> None:
    """Per-game Celery tasks build parts; this task builds whatever no other worker has claimed yet."""
    build_game_part_task = dispatch.task(dispatch.BUILD_GAME_PART)
    prepare_parts(options, plan, parts)
    plan_data = plan.as_dict()
    opts = options.public()  # no secrets in task arguments
    games = [gid for gid in games if not part_ready(parts, plan, gid)]  # parts kept from a retried run
    sent = [build_game_part_task.apply_async(args=[run.pk, opts, plan_data, gid, str(parts)], queue=PARTS_QUEUE)
            for gid in games]
    reporter.log("info", f"Fanned out {plural(len(games), 'game')} to per-game tasks.")
    try:
        for gid in games:
            cancel.check()
            if part_ready(parts, plan, gid):
                continue
            if claim_part(parts, gid):
                build_game_part(options, plan, gid, parts)
                continue
            deadline = time.monotonic() + PART_WAIT_SECONDS
            while not part_ready(parts, plan, gid) and time.monotonic() < deadline:
                cancel.check()
                time.sleep(0.2)
    finally:
        for res in sent:
            res.revoke()


def build_part_for_task(run_id: int, options: dict, plan: dict, game_id: int, parts_dir: str) -> str:
    """One game of a fanned-out ETL, in a per-game task; skipped when the Run stopped or the game is claimed."""
    if not Run.objects.filter(pk=run_id, status=Run.Status.RUNNING, cancel_requested=False).exists():
        return "not running"
    etl_plan = EtlPlan.from_dict(plan)
    if part_ready(parts_dir, etl_plan, game_id):
        return "already built"
    if not claim_part(parts_dir, game_id):
        return "claimed elsewhere"
    etl_options = EtlOptions(**options)
    if etl_options.source == "staging":  # the URL never travels in task arguments
        etl_options.staging_url = resolve_url(Run.objects.get(pk=run_id).target_name)
    return build_game_part(etl_options, etl_plan, game_id, parts_dir)["status"]
