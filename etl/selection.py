"""One selection grammar for ETL, schema and sync.

Terms (dbt-like): a table name (``fact_events``), a glob (``fact_player*``) or a mode/tag
(``all``, ``dims``, ``facts``, ``qa``, ``basic``, ``tracking``). Exclusions take names and globs.
Games are ids plus excluded ids. Everything resolves to sorted, concrete lists before work starts;
an unknown name or a pattern that matches nothing is an error naming it.
"""
from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .catalog import TABLES, TABLES_BY_NAME, Table
from .errors import SelectionError

MODES: dict[str, str] = {
    "all": "every table in the catalog",
    "dims": "dimension tables",
    "facts": "fact tables",
    "qa": "quality tables",
    "basic": "season/career aggregates from the official box score",
    "tracking": "facts derived from game tracking",
}


def _mode_tables(mode: str, tables: Sequence[Table]) -> list[str]:
    if mode == "all":
        return [t.name for t in tables]
    if mode in ("dims", "facts", "qa"):
        category = {"dims": "dim", "facts": "fact", "qa": "qa"}[mode]
        return [t.name for t in tables if t.category == category]
    return [t.name for t in tables if mode in t.tags]


def _split_terms(values: Iterable[str] | None) -> list[str]:
    """Accept repeated options and comma/space separated lists alike."""
    out: list[str] = []
    for value in values or ():
        for part in str(value).replace(",", " ").split():
            if part:
                out.append(part.strip())
    return out


def match_term(term: str, tables: Sequence[Table] = TABLES) -> list[str]:
    """Tables one term selects; SelectionError when it selects none."""
    names = [t.name for t in tables]
    if term in MODES:
        return _mode_tables(term, tables)
    if any(ch in term for ch in "*?["):
        hits = fnmatch.filter(names, term)
        if not hits:
            raise SelectionError(f"The pattern '{term}' matches no table in the catalog.")
        return hits
    if term in names:
        return [term]
    close = [n for n in names if term.lower() in n.lower()][:3]
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise SelectionError(f"There is no table called '{term}'.{hint}")


@dataclass(frozen=True)
class TableSelection:
    """What the user asked for (terms), before resolution."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    @classmethod
    def from_options(
        cls,
        tables: Iterable[str] | None = None,
        modes: Iterable[str] | None = None,
        patterns: Iterable[str] | None = None,
        exclude: Iterable[str] | None = None,
    ) -> TableSelection:
        include = _split_terms(modes) + _split_terms(tables) + _split_terms(patterns)
        for mode in _split_terms(modes):
            if mode not in MODES:
                raise SelectionError(f"Unknown mode '{mode}'; use one of {', '.join(MODES)}.")
        return cls(tuple(include), tuple(_split_terms(exclude)))

    def resolve(self, tables: Sequence[Table] = TABLES) -> list[str]:
        """Sorted table names; no include terms means every table."""
        chosen: set[str] = set()
        for term in self.include or ("all",):
            chosen.update(match_term(term, tables))
        for term in self.exclude:
            chosen.difference_update(match_term(term, tables))
        if not chosen:
            raise SelectionError("The selection leaves no table to work on.")
        return sorted(chosen)


def upstream_closure(names: Iterable[str]) -> list[str]:
    """The given tables plus everything they are built from, sorted."""
    seen: set[str] = set()
    stack = list(names)
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        stack.extend(TABLES_BY_NAME[name].upstream)
    return sorted(seen)


def why_built(selected: Sequence[str], build: Sequence[str]) -> dict[str, str]:
    """For each table in the build set: 'selected' or 'needed by X'."""
    reasons: dict[str, str] = {}
    for name in selected:
        reasons[name] = "selected"
    for name in selected:
        for dep in upstream_closure([name]):
            reasons.setdefault(dep, f"needed by {name}")
    return {name: reasons[name] for name in build}


@dataclass(frozen=True)
class GameSelection:
    """Game ids asked for (empty = all available) and ids to leave out."""

    include: tuple[int, ...] = ()
    exclude: tuple[int, ...] = ()

    @classmethod
    def from_options(
        cls, games: Iterable[str | int] | None = None, exclude: Iterable[str | int] | None = None
    ) -> GameSelection:
        return cls(tuple(_parse_games(games)), tuple(_parse_games(exclude)))

    def resolve(self, available: Iterable[int]) -> list[int]:
        """Sorted game ids; a requested game that is not available is an error naming it."""
        pool = sorted(set(available))
        if self.include:
            missing = sorted(set(self.include) - set(pool))
            if missing:
                listed = ", ".join(str(g) for g in missing)
                raise SelectionError(
                    f"Game {listed} has no tracking workbook in the data folder "
                    f"(expected games/<id>/<id>_tracking.xlsx)."
                    if len(missing) == 1
                    else f"Games {listed} have no tracking workbook in the data folder."
                )
            pool = sorted(set(self.include))
        return [g for g in pool if g not in set(self.exclude)]


def _parse_games(values: Iterable[str | int] | None) -> list[int]:
    out: list[int] = []
    for part in _split_terms(str(v) for v in (values or ())):
        try:
            out.append(int(float(part)))
        except ValueError:
            raise SelectionError(f"'{part}' is not a game number.") from None
    return out


@dataclass
class ResolvedSelection:
    """What a run works on: frozen into the Run's plan."""

    tables: list[str]
    build: list[str]
    games: list[int] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"tables": self.tables, "build": self.build, "games": self.games, "reasons": self.reasons}
