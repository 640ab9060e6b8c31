"""Housekeeping run by beat: fail runs whose worker vanished, re-send runs no worker picked up."""
from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from jobs.models import Run

from . import locking
from .runs import send

S = Run.Status


def reap_runs(lost_after: float | None = None, requeue_after: float | None = None) -> dict:
    """Mark running Runs without a recent heartbeat as failed ("worker lost"); re-queue stuck ones."""
    now = timezone.now()
    lost_after = settings.HOCKEYOPS_WORKER_LOST_SECONDS if lost_after is None else lost_after
    requeue_after = settings.HOCKEYOPS_REQUEUE_AFTER_SECONDS if requeue_after is None else requeue_after
    lost, requeued = [], []
    stale = Run.objects.filter(status=S.RUNNING, heartbeat_at__lt=now - timedelta(seconds=lost_after))
    for run in stale:
        reason = (f"no heartbeat from {run.worker_host or 'the worker'} since {run.heartbeat_at:%Y-%m-%d %H:%M:%S} "
                  "UTC")
        cutoff = timezone.now() - timedelta(seconds=lost_after)

        def still_silent(_leases, run_id=run.pk, cutoff=cutoff) -> bool:
            return Run.objects.filter(pk=run_id, heartbeat_at__lt=cutoff).exists()

        if locking.declare_lost(run, reason, still_silent):
            lost.append(run.pk)
    old = now - timedelta(seconds=requeue_after)
    stuck = Run.objects.filter(status=S.QUEUED, created_at__lt=old).filter(
        Q(waiting_for__isnull=True) | Q(waiting_for__status__in=Run.TERMINAL))  # lost, or its holder has finished
    for run in stuck:
        send(run.pk)
        requeued.append(run.pk)
    return {"lost": lost, "requeued": requeued}
