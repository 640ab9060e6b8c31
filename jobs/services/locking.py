"""One writer per target: a database lease row per target name, held for the whole run.

A lease records its holder's process (``host:pid:start``) and a heartbeat. A lease whose holder is gone (its
heartbeat older than ``HOCKEYOPS_LEASE_STALE_SECONDS``, or its process no longer alive on this host) is taken
over by the next Run that wants the target; the holder's Run is marked "worker lost", so a killed CLI or worker
never blocks a target for good.
"""
from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from jobs.models import Run, RunStep, TargetLease

from .paths import log_path
from .reporting import write_log
from .runs import transition


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot (/proc/<pid>/stat field 22), "" when unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[-1].split()[19]


def process_token(pid: int | None = None) -> str:
    """``host:pid:start`` of this (or another local) process: tells a restarted pid from the original."""
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}:{pid}:{_start_time(pid)}"


def holder_gone(lease: TargetLease, now=None) -> str:
    """Why the lease's holder is gone ("" when it may still be working)."""
    now = now or timezone.now()
    host, _, rest = (lease.holder or "").partition(":")
    pid, _, start = rest.partition(":")
    if host == socket.gethostname() and pid.isdigit() and start:
        if _start_time(int(pid)) != start:
            return f"its process {pid} on {host} is no longer running"
    stale = settings.HOCKEYOPS_LEASE_STALE_SECONDS
    beat = lease.heartbeat_at or lease.acquired_at
    if beat and now - beat > timedelta(seconds=stale):
        return f"it sent no heartbeat for {(now - beat).total_seconds():.0f} s (from {lease.holder or 'unknown'})"
    return ""


def _reclaim(lease: TargetLease, reason: str) -> bool:
    """Take the lease from a holder that is gone; its Run fails as "worker lost". True when the lease was freed."""
    run = lease.run
    message = (f"worker lost: Run #{run.pk} held target '{lease.target_name}', but {reason}; the lease was taken "
               "over by the next run. The previous outputs and the target were left as the last commit left them. "
               "Use Retry to finish the work.")
    if transition(run.pk, [Run.Status.RUNNING, Run.Status.QUEUED], Run.Status.FAILED, error_summary=message):
        RunStep.objects.filter(run=run, status=RunStep.Status.RUNNING).update(status=RunStep.Status.FAILED)
        write_log(run, "error", run.current_stage, message, log_path(run.pk))
    return TargetLease.objects.filter(pk=lease.pk, run_id=lease.run_id).delete()[0] == 1


def try_acquire(run: Run) -> Run | None:
    """Take the target for ``run``; returns the Run holding it instead, or None when acquired."""
    for _ in range(5):
        try:
            with transaction.atomic():
                TargetLease.objects.create(target_name=run.target_name, run=run, holder=process_token(),
                                           heartbeat_at=timezone.now())
            return None
        except IntegrityError:
            lease = TargetLease.objects.filter(target_name=run.target_name).select_related("run").first()
            if lease is None:
                continue
            if lease.run_id == run.pk:
                return None
            if lease.run.status in Run.TERMINAL:
                TargetLease.objects.filter(pk=lease.pk, run_id=lease.run_id).delete()  # left by a finished run
                continue
            reason = holder_gone(lease)
            if reason and _reclaim(lease, reason):
                continue
            return lease.run
    return TargetLease.objects.get(target_name=run.target_name).run


def beat(run: Run | int) -> None:
    """The holder is alive: touch its lease's heartbeat (called by the Run's heartbeat thread)."""
    run_id = run if isinstance(run, int) else run.pk
    TargetLease.objects.filter(run_id=run_id).update(heartbeat_at=timezone.now())


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


def waiting_message(target_name: str, holder_run: Run) -> str:
    """'Waiting for Run #N (…)': who holds the target, for a waiting CLI or log."""
    lease = TargetLease.objects.filter(target_name=target_name, run=holder_run).first()
    parts = [f"{', '.join(holder_run.stages) or 'run'} {holder_run.status}", f"trigger {holder_run.trigger}"]
    if holder_run.requested_by_id:
        parts.append(f"by {holder_run.requested_by}")
    if lease is not None:
        beat_at = lease.heartbeat_at or lease.acquired_at
        parts.append(f"last heartbeat {(timezone.now() - beat_at).total_seconds():.0f} s ago from {lease.holder}")
    return f"Target '{target_name}' is busy: waiting for Run #{holder_run.pk} ({'; '.join(parts)})."


def release(run: Run) -> None:
    TargetLease.objects.filter(run=run).delete()
