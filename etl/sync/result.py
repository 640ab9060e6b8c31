"""What a sync did, per table and overall (rows, bytes, seconds, throughput, checks and verification)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..text import plural

MB = 1_000_000


def _rate(amount: float, seconds: float) -> float:
    return amount / seconds if seconds > 0 else 0.0


class Throughput:
    """rows/s and MB/s of anything with ``rows``, ``bytes`` and ``seconds``."""

    @property
    def rows_per_second(self) -> float:
        return _rate(self.rows, self.seconds)

    @property
    def mb_per_second(self) -> float:
        return _rate(self.bytes / MB, self.seconds)


@dataclass
class TableResult(Throughput):
    """One table's load. ``seconds`` covers streaming, checks and (per-table mode) the commit."""

    name: str
    strategy: str  # full | games
    rows: int = 0
    bytes: int = 0
    seconds: float = 0.0
    replaced_rows: int = 0  # rows of the target deleted or changed by the load
    method: str = ""  # replace (DELETE + COPY), merge (stage, then delete/update/insert what differs), games
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    sha256: str = ""
    digest: str = ""  # row digest of the rows read from the file (see etl.sync.stream)
    games: list[int] = field(default_factory=list)
    committed: bool = False
    skipped: str = ""  # why the table was not loaded (e.g. committed by an earlier attempt)
    verified: bool | None = None  # None: not verified
    verified_rows: int | None = None
    verified_digest: str | None = None
    history_id: int | None = None  # row in the target's hockeyops_sync_history
    per_game: dict[str, dict[str, int]] = field(default_factory=dict)  # game -> inserted/deleted (games method)
    started_at: float | None = None  # wall clock (epoch seconds) when the load began
    batches: int = 0  # REST transport
    retries: int = 0  # REST transport

    def as_dict(self) -> dict:
        data = asdict(self)
        data.update(rows_per_second=round(self.rows_per_second, 1), mb_per_second=round(self.mb_per_second, 3))
        return data


@dataclass
class SyncResult(Throughput):
    """The whole sync: ``seconds`` is load plus publish (commit); verification is timed separately."""

    sync_id: str
    target: str
    transport: str  # postgres | supabase-rest
    atomic: bool
    tables: list[TableResult] = field(default_factory=list)
    seconds: float = 0.0
    publish_seconds: float = 0.0
    verify_seconds: float = 0.0
    lock_waited: float = 0.0
    lock_holder: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def loaded(self) -> list[TableResult]:
        return [t for t in self.tables if not t.skipped]

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.loaded)

    @property
    def bytes(self) -> int:
        return sum(t.bytes for t in self.loaded)

    @property
    def committed(self) -> list[str]:
        return [t.name for t in self.tables if t.committed]

    def table(self, name: str) -> TableResult:
        return next(t for t in self.tables if t.name == name)

    def summary(self) -> str:
        verified = [t for t in self.loaded if t.verified is not None]
        text = (f"Synced {plural(len(self.loaded), 'table')} ({plural(self.rows, 'row')}, "
                f"{self.bytes / MB:.1f} MB) to target "
                f"{self.target} via {self.transport} in {self.seconds:.2f}s ({self.rows_per_second:,.0f} rows/s, "
                f"{self.mb_per_second:.1f} MB/s)")
        if verified:
            ok = sum(1 for t in verified if t.verified)
            text += f"; verified {ok}/{plural(len(verified), 'table')} in {self.verify_seconds:.2f}s"
        skipped = [t.name for t in self.tables if t.skipped]
        if skipped:
            text += f"; skipped {len(skipped)} already committed"
        if not self.atomic:
            text += "; NOT atomic"
        return text + "."

    def as_dict(self) -> dict:
        return {
            "sync_id": self.sync_id, "target": self.target, "transport": self.transport, "atomic": self.atomic,
            "seconds": round(self.seconds, 3), "publish_seconds": round(self.publish_seconds, 3),
            "verify_seconds": round(self.verify_seconds, 3), "rows": self.rows, "bytes": self.bytes,
            "rows_per_second": round(self.rows_per_second, 1), "mb_per_second": round(self.mb_per_second, 3),
            "lock_waited": round(self.lock_waited, 3), "lock_holder": self.lock_holder, "notes": self.notes,
            "tables": [t.as_dict() for t in self.tables],
        }
