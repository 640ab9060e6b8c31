"""What a schema generate/plan/apply covers: the table selection and the content switches."""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from ..catalog import TABLES, Table, catalog_version
from ..errors import EtlError
from ..selection import TableSelection, split_terms

_ROLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,62}$")


class SchemaError(EtlError):
    """A schema request that cannot be carried out; the message says why."""


@dataclass(frozen=True)
class SchemaOptions:
    """Selection terms (the shared grammar) plus what the DDL contains."""

    tables: tuple[str, ...] = ()  # names, globs and modes (the shared grammar); empty means every table
    exclude_tables: tuple[str, ...] = ()  # names and globs
    pk: bool = True
    fk: bool = True
    indexes: bool = True
    comments: bool = True
    rls: bool = False
    rls_role: str = "anon"
    drop: bool = False

    def __post_init__(self) -> None:
        for name in ("tables", "exclude_tables"):
            object.__setattr__(self, name, tuple(split_terms(getattr(self, name))))
        if not _ROLE.match(self.rls_role or ""):
            raise SchemaError(f"'{self.rls_role}' is not a valid role name for the read policy.")
        if self.fk and not self.pk:
            raise SchemaError("Foreign keys reference primary keys: turn foreign keys off too (--no-fk with --no-pk).")

    def selection(self) -> TableSelection:
        return TableSelection.from_terms(self.tables, self.exclude_tables)

    def resolve(self, tables: Sequence[Table] = TABLES) -> list[Table]:
        """The selected tables of ``tables``, sorted by name."""
        by_name = {t.name: t for t in tables}
        return [by_name[n] for n in self.selection().resolve(tables)]

    def covers_everything(self, tables: Sequence[Table] = TABLES) -> bool:
        """True when the selection is the whole catalog (only then may a plan drop tables left out of it)."""
        return len(self.resolve(tables)) == len(tables)

    def as_dict(self) -> dict:
        data = asdict(self)
        for key in ("tables", "exclude_tables"):
            data[key] = list(data[key])
        return data

    def describe(self) -> str:
        """One line for script headers and logs, e.g. ``selection=all pk fk indexes comments``."""
        parts = ["selection=" + ",".join(self.tables or ["all"])]
        if self.exclude_tables:
            parts.append("exclude=" + ",".join(self.exclude_tables))
        for flag in ("pk", "fk", "indexes", "comments"):
            parts.append(flag if getattr(self, flag) else f"no-{flag}")
        parts.append(f"rls(role={self.rls_role})" if self.rls else "no-rls")
        parts.append("drop" if self.drop else "no-drop")
        return " ".join(parts)


def catalog_version_of(tables: Sequence[Table] = TABLES) -> str:
    """``etl.catalog.catalog_version()`` computed over ``tables`` (equal to it for the real catalog)."""
    return catalog_version(list(tables))
