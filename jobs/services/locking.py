"""One writer per target: a database lease row per target name, held for the whole run."""
from __future__ import annotations

import time
from collections.abc import Callable

from django.db import IntegrityError, transaction

from jobs.models import Run, TargetLease


def try_acquire(run: Run) -> Run | None:
    """Take the target for ``run``; returns the Run holding it instead, or None when acquired."""
    for _ in range(3):
        try:
            with transaction.atomic():
                TargetLease.objects.create(target_name=run.target_name, run=run)
            return None
        except IntegrityError:
            lease = TargetLease.objects.filter(target_name=run.target_name).select_related("run").first()
            if lease is None:
                continue
            if lease.run_id == run.pk:
                return None
            if lease.run.status in Run.TERMINAL:
                TargetLease.objects.filter(pk=lease.pk, run_id=lease.run_id).delete()  # stale
                continue
            return lease.run
    return TargetLease.objects.get(target_name=run.target_name).run


def acquire(run: Run, policy: str, still_wanted: Callable[[], bool], on_wait: Callable[[Run], None],
            poll: float = 0.5) -> bool:
    """Wait for (``queue``) or give up on (``skip``) a busy target; True once the lease is held."""
    while True:
        holder = try_acquire(run)
        if holder is None:
            return True
        if policy == "skip" or not still_wanted():
            return False
        on_wait(holder)
        time.sleep(poll)


def holder(target_name: str) -> Run | None:
    """The Run holding the target's lease, if any (without taking it)."""
    lease = TargetLease.objects.filter(target_name=target_name).select_related("run").first()
    return lease.run if lease else None


def release(run: Run) -> None:
    TargetLease.objects.filter(run=run).delete()
