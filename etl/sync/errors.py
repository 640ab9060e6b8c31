"""Errors of the sync stage; every message says what happened to the target.

Every ``SyncError`` has a ``table`` attribute: the catalog table whose load failed (None when the error is not
about one table). ``ShrinkRefused`` and ``MissingReferences`` are refusals raised before anything is written.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import EtlError

if TYPE_CHECKING:
    from .result import SyncResult


class SyncError(EtlError):
    """A sync request that cannot be carried out, or a load the target rejected (nothing was changed).

    ``table``: the failing table when the error is about one table's load (a statement of that table's load,
    or the commit rejecting that table's rows, mapped back from the constraint), else None.
    """

    def __init__(self, message: str = "", *, table: str | None = None) -> None:
        super().__init__(message)
        self.table = table


class SyncFailed(SyncError):
    """A load failed after some tables were committed (per-table commits or the REST transport).

    ``result`` lists what was committed, so a retry can redo only the rest.
    """

    def __init__(self, message: str, result: SyncResult, *, table: str | None = None) -> None:
        super().__init__(message, table=table)
        self.result = result


class VerificationFailed(SyncError):
    """The committed rows differ from the outputs (row count or digest); ``result`` holds both sides."""

    def __init__(self, message: str, result: SyncResult) -> None:
        super().__init__(message)
        self.result = result


class ShrinkRefused(SyncError):
    """The sync would remove a game's rows entirely or shrink a table beyond ``max_shrink``; nothing was written.

    ``tables``: one dict per shrinking table, in load order: ``name``, ``rows_now``, ``rows_after``,
    ``shrink`` (fraction of ``rows_now`` removed, negative when the table grows), ``games_lost`` (sorted ids).
    ``max_shrink``: the bound that was applied. Allowed with ``SyncOptions(allow_shrink=True)``.
    """

    def __init__(self, message: str, tables: list[dict], max_shrink: float) -> None:
        super().__init__(message)
        self.tables = tables
        self.max_shrink = max_shrink


class MissingReferences(SyncError):
    """Rows of the selection reference keys that neither the selection nor the target provides, and the target
    enforces that foreign key (the commit would fail); nothing was written.

    ``refs``: one dict per reference (``MissingRef.as_dict()``): ``table``, ``column``, ``ref_table``, ``reason``
    (absent | empty | keys), ``missing_keys``, ``examples``, ``enforced``.
    """

    def __init__(self, message: str, refs: list[dict]) -> None:
        super().__init__(message)
        self.refs = refs
