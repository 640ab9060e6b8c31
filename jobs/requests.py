"""One typed request per stage (ETL, schema, sync): what every entry point builds and what a Run freezes.

The admin pages, Job options, the HTTP API and the management commands each have one parser that turns
their own input into one of these; values are checked here, by the shared list splitter and game-id parser of
``etl.selection``. ``from_dict`` is strict: an unknown key is an error naming it (a misspelled Job option never
silently widens a run). Errors are ``RequestError`` with the request field they are about, so each entry point
can show them next to its own field (see ``OUTSIDE_NAMES``).

The inside vocabulary is the same for every stage: ``tables`` (names, globs and modes), ``exclude_tables``
(names and globs), ``games`` and ``exclude_games`` (game ids).
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

from etl.errors import EtlError
from etl.schema import SchemaOptions
from etl.selection import TableSelection, parse_game_ids, split_terms

MAX_GAMES = 10_000  # ids in one list: more than a league has; bounds what a Run's frozen plan can hold
MAX_TERMS = 500  # table terms in one list
_INTERVAL = re.compile(r"^\d+(\.\d+)?\s*(ms|s|min|h)?$")
_ROLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,62}$")

# The outside vocabulary: request field -> the name each entry point uses for it (documented in the README).
OUTSIDE_NAMES: dict[str, dict[str, dict[str, str]]] = {
    "etl": {
        "games": {"cli": "--games", "api": "game_ids", "admin": "games"},
        "exclude_games": {"cli": "--exclude-games", "api": "exclude_game_ids", "admin": "exclude_games"},
        "tables": {"cli": "--tables", "api": "tables", "admin": "tables"},
        "exclude_tables": {"cli": "--exclude-tables", "api": "exclude_tables", "admin": "exclude_tables"},
        "mode": {"cli": "--mode", "api": "mode", "admin": "mode"},
        "source": {"cli": "--source", "api": "source", "admin": "source"},
    },
    "schema": {
        "tables": {"cli": "--tables/--mode/--pattern", "api": "tables", "admin": "tables"},
        "exclude_tables": {"cli": "--exclude", "api": "exclude_tables", "admin": "exclude_tables"},
        "allow_destructive": {"cli": "--allow-destructive", "api": "allow_destructive",
                              "admin": "allow_destructive"},
    },
    "sync": {
        "tables": {"cli": "--tables/--mode/--pattern", "api": "tables", "admin": "tables"},
        "exclude_tables": {"cli": "--exclude", "api": "exclude_tables", "admin": "exclude_tables"},
        "games": {"cli": "--games", "api": "game_ids", "admin": "games"},
        "allow_shrink": {"cli": "--allow-shrink", "api": "allow_shrink", "admin": "allow_shrink"},
        "full_refresh": {"cli": "--full-refresh", "api": "full_refresh", "admin": "full_refresh"},
    },
}


class RequestError(EtlError):
    """A request that cannot be carried out; ``field`` is the request field it is about ("" for the whole)."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.message, self.field = message, field


def _terms(value: Any, field: str) -> tuple[str, ...]:
    if value is not None and not isinstance(value, str | list | tuple):
        raise RequestError("expected a list of table names, globs or modes.", field)
    if isinstance(value, list | tuple) and not all(isinstance(v, str) for v in value):
        raise RequestError("expected a list of table names, globs or modes.", field)
    terms = tuple(split_terms(value))
    if len(terms) > MAX_TERMS:
        raise RequestError(f"{len(terms)} terms is more than the {MAX_TERMS} one list may hold.", field)
    return terms


def _games(value: Any, field: str) -> tuple[int, ...]:
    if isinstance(value, list | tuple) and len(value) > MAX_GAMES:
        raise RequestError(f"{len(value)} game ids is more than the {MAX_GAMES:,} one list may hold.", field)
    try:
        games = tuple(parse_game_ids(value))
    except EtlError as exc:
        raise RequestError(str(exc), field) from None
    if len(games) > MAX_GAMES:
        raise RequestError(f"{len(games)} game ids is more than the {MAX_GAMES:,} one list may hold.", field)
    return games


def _bool(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise RequestError("expected true or false.", field)
    return value


def _choice(value: Any, field: str, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise RequestError(f"'{value}' is not one of {', '.join(choices)}.", field)
    return value


def _interval(value: Any, field: str) -> str:
    if not isinstance(value, str) or not _INTERVAL.match(value.strip()):
        raise RequestError(f"'{value}' is not a duration such as 10s, 500ms or 2min.", field)
    return value.strip()


def _seconds(value: Any, field: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 86_400:
        raise RequestError("expected a number of seconds from 0 to 86400.", field)
    return float(value)


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise RequestError("expected text.", field)
    return value.strip()


def _check_selection(tables: tuple[str, ...], exclude: tuple[str, ...]) -> None:
    """Each term through the shared grammar; the error names the field holding the bad term."""
    for field_name, terms in (("tables", tables), ("exclude_tables", exclude)):
        try:
            TableSelection(terms).check()
        except EtlError as exc:
            raise RequestError(str(exc), field_name) from None
    try:
        TableSelection(tables, exclude).resolve()
    except EtlError as exc:
        raise RequestError(str(exc), "tables") from None


class _Request:
    """Shared behaviour: strict ``from_dict``, ``as_dict`` with lists, per-field cleaning in ``_clean``."""

    stage: ClassVar[str] = ""

    @classmethod
    def from_dict(cls, data: dict | None):
        """The request from stored or parsed values; unknown keys and bad values are RequestErrors."""
        data = dict(data or {})
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(data) - known)
        if unknown:
            raise RequestError(f"unknown {cls.stage} option{'s' if len(unknown) > 1 else ''} "
                               f"{', '.join(repr(k) for k in unknown)}; the options are {', '.join(sorted(known))}.",
                               unknown[0])
        defaults = cls()
        values = {name: cls._clean(name, data[name] if data.get(name) is not None else getattr(defaults, name))
                  for name in known}
        request = cls(**values)
        request.validate()
        return request

    @classmethod
    def _clean(cls, name: str, value: Any) -> Any:
        raise NotImplementedError

    def validate(self) -> None:
        _check_selection(self.tables, self.exclude_tables)  # type: ignore[attr-defined]

    def as_dict(self) -> dict:
        data = asdict(self)  # type: ignore[call-overload]
        return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}


@dataclass(frozen=True)
class EtlRequest(_Request):
    """Build tables from the league's inputs: which games and tables, how, from where."""

    stage: ClassVar[str] = "etl"
    MODES: ClassVar[tuple[str, ...]] = ("full", "incremental")
    SOURCES: ClassVar[tuple[str, ...]] = ("excel", "staging")

    games: tuple[int, ...] = ()  # rebuild these games (empty: all); every other game is kept
    exclude_games: tuple[int, ...] = ()
    tables: tuple[str, ...] = ()
    exclude_tables: tuple[str, ...] = ()
    mode: str = "full"
    source: str = "excel"
    data_dir: str = ""  # "" = the HOCKEYOPS_DATA_DIR setting
    output_dir: str = ""  # "" = the HOCKEYOPS_OUTPUT_DIR setting

    @classmethod
    def _clean(cls, name: str, value: Any) -> Any:
        if name in ("games", "exclude_games"):
            return _games(value, name)
        if name in ("tables", "exclude_tables"):
            return _terms(value, name)
        if name == "mode":
            return _choice(value, name, cls.MODES)
        if name == "source":
            return _choice(value, name, cls.SOURCES)
        return _text(value, name)


@dataclass(frozen=True)
class SchemaRequest(_Request):
    """Plan and apply the warehouse schema: which tables, what the DDL contains, whether data may be dropped."""

    stage: ClassVar[str] = "schema"

    tables: tuple[str, ...] = ()
    exclude_tables: tuple[str, ...] = ()
    pk: bool = True
    fk: bool = True
    indexes: bool = True
    comments: bool = True
    rls: bool = False
    rls_role: str = "anon"
    allow_destructive: bool = False
    lock_timeout: str = "10s"  # how long one statement may wait for a table lock
    lock_wait: float | None = None  # seconds to wait for another writer (None: until cancelled)

    @classmethod
    def _clean(cls, name: str, value: Any) -> Any:
        if name in ("tables", "exclude_tables"):
            return _terms(value, name)
        if name == "rls_role":
            role = _text(value, name) or "anon"
            if not _ROLE.match(role):
                raise RequestError(f"'{role}' is not a valid role name for the read policy.", name)
            return role
        if name == "lock_timeout":
            return _interval(value, name)
        if name == "lock_wait":
            return _seconds(value, name)
        return _bool(value, name)

    def validate(self) -> None:
        super().validate()
        if self.fk and not self.pk:
            raise RequestError("Foreign keys reference primary keys: turn foreign keys off too (--no-fk with --no-pk, "
                               "or untick Foreign keys).", "fk")

    def options(self):
        """The library's SchemaOptions for this request."""
        return SchemaOptions(tables=self.tables, exclude_tables=self.exclude_tables, pk=self.pk, fk=self.fk,
                             indexes=self.indexes, comments=self.comments, rls=self.rls, rls_role=self.rls_role)


@dataclass(frozen=True)
class SyncRequest(_Request):
    """Load published tables into the target: which tables and games, how to commit, what may shrink."""

    stage: ClassVar[str] = "sync"

    tables: tuple[str, ...] = ()
    exclude_tables: tuple[str, ...] = ()
    games: tuple[int, ...] = ()  # replace only these games' rows of game-scoped tables (empty: whole tables)
    per_table_commit: bool = False
    verify: bool = True
    allow_shrink: bool = False  # allow removing a game's rows or shrinking a table beyond max_shrink
    full_refresh: bool = False  # load every selected table whole, even what the target already holds
    max_shrink: float | None = None  # fraction; None = the HOCKEYOPS_SYNC_MAX_SHRINK setting
    lock_timeout: str = "30s"
    lock_wait: float | None = None
    resume_from: tuple[str, ...] = ()  # skip tables these earlier sync ids committed from the same files
    output_dir: str = ""  # "" = the HOCKEYOPS_OUTPUT_DIR setting (or the ETL stage's outputs)

    @classmethod
    def _clean(cls, name: str, value: Any) -> Any:
        if name in ("tables", "exclude_tables", "resume_from"):
            return _terms(value, name)
        if name == "games":
            return _games(value, name)
        if name in ("lock_timeout",):
            return _interval(value, name)
        if name == "lock_wait":
            return _seconds(value, name)
        if name == "max_shrink":
            if value is None:
                return None
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise RequestError("expected a fraction from 0 to 1, e.g. 0.1 for 10%.", name)
            return float(value)
        if name == "output_dir":
            return _text(value, name)
        return _bool(value, name)


REQUESTS: dict[str, type[_Request]] = {"etl": EtlRequest, "schema": SchemaRequest, "sync": SyncRequest}


def as_request(stage: str, value: _Request | dict | None) -> _Request:
    """A stage's request from a request object or its dict form (None: the defaults)."""
    cls = REQUESTS[stage]
    if isinstance(value, cls):
        return value
    return cls.from_dict(value if isinstance(value, dict) else {})
