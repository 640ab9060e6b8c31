"""Errors of the sync stage; every message says what happened to the target."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import EtlError

if TYPE_CHECKING:
    from .result import SyncResult


class SyncError(EtlError):
    """A sync request that cannot be carried out, or a load the target rejected (nothing was changed)."""


class SyncFailed(SyncError):
    """A load failed after some tables were committed (per-table commits or the REST transport).

    ``result`` lists what was committed, so a retry can redo only the rest.
    """

    def __init__(self, message: str, result: SyncResult) -> None:
        super().__init__(message)
        self.result = result


class VerificationFailed(SyncError):
    """The committed rows differ from the outputs (row count or digest); ``result`` holds both sides."""

    def __init__(self, message: str, result: SyncResult) -> None:
        super().__init__(message)
        self.result = result
