"""One writer per place: a database lease row per place a Run writes, held for the whole run.

A place is a target database, keyed by its identity (host, port and database, hashed: two target names for one
database are one place), or an ETL output folder (two runs for different targets share one folder). A Run takes
every place its stages write, all or none, in a fixed order.

A lease records its holder's process (``host:pid:start``) and a heartbeat. A lease whose holder is gone (its
heartbeat older than ``HOCKEYOPS_LEASE_STALE_SECONDS``, or its process no longer alive on this host) is taken
over by the next Run that wants the place; the holder's Run is marked "worker lost" and its task revoked.

Fencing: the lease row's id is the fencing token. A Run publishes (output swap) only inside ``fence``, which
locks its lease row in the publishing transaction: a Run whose lease was taken over cannot publish, and a
reclaim waits for a publish under way. The heartbeat notices a lost lease and the Run stops, saying so.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from etl.errors import EtlError
from hockeyops.celery import app
from jobs.models import Run, RunStep, TargetLease

from .paths import log_path
from .reporting import write_log
from .runs import transition

LOST: set[int] = set()  # Runs of this process whose lease was taken over (set by the heartbeat)


class LeaseLost(EtlError):
    """The Run's lease was taken over (it was declared lost): it must not publish or write any more."""


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


# ---- places

def database_place(url: str) -> str:
    """``db:<hash>`` of a target URL's server and database (host resolved, default port): one per database."""
    if url.lower().startswith(("http://", "https://")):
        parts = urlsplit(url)
        identity = f"rest:{(parts.hostname or '').lower()}:{parts.port or 443}"
    else:
        try:
            info = psycopg.conninfo.conninfo_to_dict(url)
        except psycopg.Error:
            info = {}
        host = str(info.get("host") or "/var/run/postgresql")
        if not host.startswith("/"):
            with contextlib.suppress(OSError):
                host = socket.gethostbyname(host)
        identity = f"pg:{host}:{info.get('port') or 5432}/{info.get('dbname') or info.get('user') or 'postgres'}"
    return "db:" + hashlib.sha256(identity.encode()).hexdigest()[:24]


def output_place(folder: str | Path) -> str:
    return f"output:{Path(folder).resolve()}"


def places_of(run: Run, resolve_url: Callable[[str], str]) -> list[str]:
    """The places a Run's stages write: the target database (schema, sync, or an ETL from staging) and the output
    folder (the ETL publishes it; a sync reads it and must not see it change)."""
    plan = run.plan
    places = set()
    etl = plan.get("etl")
    writes_target = "schema" in plan["stages"] or "sync" in plan["stages"] or (
        etl is not None and etl["options"].get("source") == "staging")
    if writes_target:
        places.add(database_place(resolve_url(run.target_name)))
    if etl is not None:
        places.add(output_place(etl["options"]["output_dir"]))
    if "sync" in plan:
        places.add(output_place(plan["sync"]["output_dir"]))
    return sorted(places)


# ---- taking and losing leases

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


def declare_lost(run: Run, reason: str, still_gone: Callable[[list[TargetLease]], bool] | None = None) -> bool:
    """Fail a Run whose worker is gone ("worker lost"), revoke its task and drop its leases. True if it was active.

    Each lease row is locked first, so a publish under way finishes before the lease goes, and the holder is
    checked again once the lock is held (``still_gone``; default: every lease's holder is gone).
    """
    message = (f"worker lost: {reason}; its leases were taken over. Nothing it had not published or committed "
               "by then was kept. Use Retry to finish the work.")
    still_gone = still_gone or (lambda leases: all(holder_gone(lease) for lease in leases))
    with transaction.atomic():
        leases = list(TargetLease.objects.select_for_update().filter(run=run))
        if leases and not still_gone(leases):
            return False  # it beat while we waited for the lock
        changed = transition(run.pk, [Run.Status.RUNNING, Run.Status.QUEUED], Run.Status.FAILED,
                             error_summary=message)
        TargetLease.objects.filter(run=run).delete()
    if changed:
        RunStep.objects.filter(run=run, status=RunStep.Status.RUNNING).update(status=RunStep.Status.FAILED)
        write_log(run, "error", run.current_stage, message, log_path(run.pk))
        revoke(run)
    return changed


def revoke(run: Run) -> None:
    """Terminate the Celery task of a Run declared lost (it may only be paused, not dead)."""
    if run.celery_task_id and not settings.CELERY_TASK_ALWAYS_EAGER:
        with contextlib.suppress(Exception):  # the broker may be down too; the fence still stops the Run
            app.control.revoke(run.celery_task_id, terminate=True, signal="SIGTERM")


def _take(run: Run, place: str) -> Run | None:
    """Take one place; returns the Run holding it instead, or None when taken (or already ours)."""
    for _ in range(5):
        try:
            with transaction.atomic():
                TargetLease.objects.create(place=place, target_name=run.target_name, run=run,
                                           holder=process_token(), heartbeat_at=timezone.now())
            return None
        except IntegrityError:
            lease = TargetLease.objects.filter(place=place).select_related("run").first()
            if lease is None:
                continue
            if lease.run_id == run.pk:
                return None
            if lease.run.status in Run.TERMINAL:
                TargetLease.objects.filter(pk=lease.pk, run_id=lease.run_id).delete()  # left by a finished run
                continue
            reason = holder_gone(lease)
            if reason and declare_lost(lease.run, f"Run #{lease.run_id} held target '{lease.target_name}', but "
                                                  f"{reason}"):
                continue
            return lease.run
    return TargetLease.objects.get(place=place).run


def try_acquire(run: Run, places: list[str]) -> Run | None:
    """Take every place (in order) or none; returns a Run holding one of them, or None when all are held."""
    taken = []
    for place in sorted(places):
        holder_run = _take(run, place)
        if holder_run is not None:
            TargetLease.objects.filter(run=run, place__in=taken).delete()
            return holder_run
        taken.append(place)
    return None


def acquire(run: Run, places: list[str], policy: str, still_wanted: Callable[[], bool],
            on_wait: Callable[[Run], None], poll: float = 0.5) -> bool:
    """Wait for (``queue``) or give up on (``skip``) busy places; True once every lease is held."""
    while True:
        holder_run = try_acquire(run, places)
        if holder_run is None:
            return True
        if policy == "skip" or not still_wanted():
            return False
        on_wait(holder_run)
        time.sleep(poll)


def beat(run_id: int, places: int) -> bool:
    """The holder is alive: touch its leases' heartbeat. False when one of its ``places`` leases is gone."""
    return TargetLease.objects.filter(run_id=run_id).update(heartbeat_at=timezone.now()) >= places


def check(run_id: int) -> None:
    """LeaseLost when the heartbeat found this Run's lease taken over."""
    if run_id in LOST:
        raise LeaseLost(f"Run #{run_id} lost its lease: it was declared lost (no heartbeat) and another run may "
                        "have taken over; it stopped without publishing anything more.")


@contextlib.contextmanager
def fence(run_id: int, place: str) -> Iterator[None]:
    """Hold the Run's lease row on ``place`` locked for the block (the publish): LeaseLost when it is gone."""
    with transaction.atomic():
        if not TargetLease.objects.select_for_update().filter(run_id=run_id, place=place).exists():
            LOST.add(run_id)
            check(run_id)
        yield


@contextlib.contextmanager
def fence_all(run_id: int, places: int) -> Iterator[None]:
    """Hold every lease row of the Run locked for the block (a target commit): LeaseLost when one is gone."""
    with transaction.atomic():
        if len(list(TargetLease.objects.select_for_update().filter(run_id=run_id))) < places:
            LOST.add(run_id)
            check(run_id)
        yield


def holder(places: list[str]) -> Run | None:
    """A Run holding one of ``places``, if any (without taking it)."""
    lease = TargetLease.objects.filter(place__in=places).select_related("run").first()
    return lease.run if lease else None


def waiting_message(target_name: str, holder_run: Run) -> str:
    """'Waiting for Run #N (…)': who holds the place, for a waiting CLI or log."""
    lease = TargetLease.objects.filter(run=holder_run).first()
    parts = [f"{', '.join(holder_run.stages) or 'run'} {holder_run.status}", f"trigger {holder_run.trigger}"]
    if holder_run.requested_by_id:
        parts.append(f"by {holder_run.requested_by}")
    if lease is not None:
        beat_at = lease.heartbeat_at or lease.acquired_at
        parts.append(f"last heartbeat {(timezone.now() - beat_at).total_seconds():.0f} s ago from {lease.holder}")
    return f"Target '{target_name}' is busy: waiting for Run #{holder_run.pk} ({'; '.join(parts)})."


def release(run: Run) -> None:
    TargetLease.objects.filter(run=run).delete()
    LOST.discard(run.pk)
