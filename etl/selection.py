"""One selection grammar for ETL, schema and sync.

Terms (dbt-like): a table name (``fact_events``), a glob (``fact_player*``) or a mode/tag
(``all``, ``dims``, ``facts``, ``qa``, ``basic``, ``tracking``). Exclusions take names and globs.
Games are ids plus excluded ids. Everything resolves to sorted, concrete lists before work starts;
an unknown name or a pattern that matches nothing is an error naming it.
"""
from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

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


# The one list splitter and the one game-id parser: every entry point (admin, Job, API, CLI) goes through them.
MAX_GAME_ID = 2**31 - 1  # game ids are PostgreSQL integers


def split_terms(values: str | Iterable[object] | None) -> list[str]:
    """Terms from a string or a list of strings, each split on commas and whitespace, empty parts dropped.

    ``"fact_goals, qa"``, ``["fact_goals", "qa"]`` and ``["fact_goals,qa"]`` all give ``["fact_goals", "qa"]``.
    """
    if values is None:
        return []
    if isinstance(values, str | int):
        values = [values]
    out: list[str] = []
    for value in values:
        out.extend(part for part in str(value).replace(",", " ").split() if part)
    return out


def parse_game_ids(values: str | int | Iterable[object] | None, what: str = "game") -> list[int]:
    """Game ids (integers or digit strings, lists split like ``split_terms``), in the order given, deduplicated.

    Only whole numbers are game ids: ``18969.0``, ``1e4``, ``²`` or ``-3`` are errors naming the value.
    """
    out: list[int] = []
    items = [values] if isinstance(values, int | str) else list(values or ())
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int | str):
            raise SelectionError(f"{item!r} is not a {what} number.")
        parts = [item] if isinstance(item, int) else split_terms(item)
        for part in parts:
            text = str(part)
            if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_GAME_ID)) or int(text) > MAX_GAME_ID:
                raise SelectionError(f"'{text}' is not a {what} number (a whole number such as 18969).")
            number = int(text)
            if number not in out:
                out.append(number)
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
    hint = f" Did you mean {', '.join(close)}?" if close else f" Modes are {', '.join(MODES)}."
    raise SelectionError(f"There is no table or mode called '{term}'.{hint}")


@dataclass(frozen=True)
class TableSelection:
    """What the user asked for (terms), before resolution."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    @classmethod
    def from_terms(cls, tables: str | Iterable[str] | None = None,
                   exclude: str | Iterable[str] | None = None) -> TableSelection:
        """Include terms (names, globs, modes) and exclusions (names, globs), split by ``split_terms``."""
        return cls(tuple(split_terms(tables)), tuple(split_terms(exclude)))

    def check(self, tables: Sequence[Table] = TABLES) -> None:
        """SelectionError naming the first term that selects no table (without resolving the whole selection)."""
        for term in (*self.include, *self.exclude):
            match_term(term, tables)

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
    def from_terms(cls, games: str | Iterable[object] | None = None,
                   exclude: str | Iterable[object] | None = None) -> GameSelection:
        return cls(tuple(parse_game_ids(games)), tuple(parse_game_ids(exclude)))

    def resolve(self, available: Iterable[int]) -> list[int]:
        """Sorted game ids; a requested game that is not available is an error naming it, and so is a selection
        that leaves no game (every chosen game also excluded, or everything excluded)."""
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
        chosen = [g for g in pool if g not in set(self.exclude)]
        if pool and not chosen:
            both = sorted(set(self.include) & set(self.exclude))
            if both:
                listed = ", ".join(str(g) for g in both)
                raise SelectionError(f"The games selection leaves no game: {listed} "
                                     f"{'is' if len(both) == 1 else 'are'} both chosen and excluded.")
            raise SelectionError("The games selection leaves no game: every tracked game is excluded.")
        return chosen
