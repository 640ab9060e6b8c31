"""Output store: CSV per table plus manifest.json, published atomically.

A run writes into a fresh folder next to the output folder and swaps it in with one rename
(an atomic exchange where the kernel supports it); the manifest is written last. A failed or
cancelled run removes its folder and leaves the previous outputs untouched.
"""
from __future__ import annotations

import csv
import ctypes
import ctypes.util
import hashlib
import io
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from .catalog import Table, get_table
from .errors import BuilderError
from .excel_source import file_hash as file_digest

MANIFEST = "manifest.json"
CSV_OPTIONS = dict(index=False, header=False, na_rep="", lineterminator="\n")


def conform(df: pd.DataFrame, table: Table) -> pd.DataFrame:
    """Columns exactly as declared, in order, with values formatted per declared type."""
    declared = table.column_names
    got = list(df.columns)
    if set(got) != set(declared) or len(got) != len(declared):
        missing = [c for c in declared if c not in got]
        extra = [c for c in got if c not in declared]
        raise BuilderError(f"builder for {table.name} returned other columns than the catalog declares "
                           f"(missing {missing}, extra {extra})")
    columns = {}
    for col in table.columns:
        columns[col.name] = _as_type(df[col.name], col.type)
    out = pd.DataFrame(columns, index=df.index)
    if len(out):
        nulls = [c for c in table.primary_key if out[c].isna().any()]
        if nulls:
            raise BuilderError(f"{table.name}: primary key column {nulls[0]} has empty values")
        dup = out.duplicated(list(table.primary_key))
        if dup.any():
            first = out.loc[dup, list(table.primary_key)].iloc[0].tolist()
            raise BuilderError(f"{table.name}: duplicate primary key {first}")
    return out


def _as_type(s: pd.Series, type_: str) -> pd.Series:
    """Values formatted for the declared Postgres type (skipping work when already in shape)."""
    if type_ in ("integer", "bigint", "smallint"):
        if s.dtype == "Int64" or (s.dtype.kind in "iu"):
            return s
        if s.dtype.kind == "b":
            return s.astype("Int64")
        return pd.to_numeric(s, errors="coerce").round().astype("Int64")
    if type_ == "numeric":
        return pd.to_numeric(s, errors="coerce").astype("float64").round(4) + 0.0  # + 0.0: no "-0.0" in the CSV
    if type_ == "boolean":
        if s.dtype.kind == "b":
            return pd.Series(np.where(s.to_numpy(), "true", "false"), index=s.index, dtype="object")
        return s.astype("boolean").map({True: "true", False: "false"}).astype("string")
    if type_ == "date":
        return pd.to_datetime(s, errors="coerce").dt.strftime("%Y-%m-%d").astype("string")
    if isinstance(s.dtype, pd.StringDtype) or s.dtype == "str":
        return s
    return s.astype("string")


def render_csv(df: pd.DataFrame, table: Table) -> tuple[str, int]:
    """Conformed rows sorted by primary key, as CSV text without header."""
    out = conform(df, table).sort_values(list(table.primary_key), kind="stable")
    return out.to_csv(**CSV_OPTIONS), len(out)


class TableWriter:
    """Appends conformed frames to one CSV file, counting rows.

    Game-scoped tables also get per-game digests for the manifest (``game_digests``: game id -> [rows, sha256,
    byte offset, byte length]): a sync compares them with what the target last received and loads only the
    games that changed, reading each one's bytes straight from its offset. Rows written without a game (a
    master-built table, the master's own issues) make the digests come from a pass over the finished file
    instead (rows and a digest per game, no offsets).
    """

    def __init__(self, folder: Path, table: Table) -> None:
        self.table = table
        self.path = folder / f"{table.name}.csv"
        self._fh = open(self.path, "wb")
        header = (",".join(table.column_names) + "\n").encode("utf-8")
        self._fh.write(header)
        self._offset = len(header)
        self.rows = 0
        self.games: dict[int, list] = {}
        self._untracked = 0

    def write(self, df: pd.DataFrame) -> int:
        if df is None or df.empty:
            return 0
        text, rows = render_csv(df, self.table)
        self.write_text(text, rows)
        return rows

    def write_text(self, text: str, rows: int, game_id: int | None = None) -> None:
        """Append CSV text rendered by ``render_csv`` (e.g. in a worker process), one game's rows when given."""
        self.write_bytes(text.encode("utf-8"), rows, game_id)

    def write_bytes(self, data: bytes, rows: int, game_id: int | None = None, digest: str | None = None) -> None:
        """Append CSV bytes (``digest``: their sha256, when the caller knows it from a previous manifest)."""
        if game_id is not None and rows and game_id not in self.games:
            self.games[game_id] = [rows, digest or hashlib.sha256(data).hexdigest(), self._offset, len(data)]
        elif rows:
            self._untracked += rows
        self._fh.write(data)
        self._offset += len(data)
        self.rows += rows

    def write_rows(self, rows: list[list[str]], game_id: int | None = None) -> None:
        """Copy raw CSV rows (from a previous output) unchanged."""
        if not rows:
            return
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(rows)
        self.write_text(buffer.getvalue(), len(rows), game_id)

    def close(self) -> dict:
        self._fh.close()
        info = {"rows": self.rows, "sha256": file_digest(self.path), "bytes": self.path.stat().st_size,
                "columns": self.table.column_names}
        if self.table.game_scoped:
            games = self.games if not self._untracked else _digests_by_game(self.path)
            info["game_digests"] = {str(g): v for g, v in sorted(games.items(), key=lambda kv: str(kv[0]))}
        return info


NO_GAME = ""  # game_digests key of the rows that belong to no game (the master's own issues)


def _digests_by_game(path: Path) -> dict[int | str, list]:
    """[rows, digest, None, None] per game of a finished CSV whose games' rows are not contiguous, and under
    ``NO_GAME`` for rows without a game."""
    sums: dict[int | str, list] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        pos = next(reader).index("game_id")
        for row in reader:
            value = row[pos]
            key = int(value) if value.isascii() and value.isdigit() else NO_GAME
            entry = sums.setdefault(key, [0, hashlib.sha256()])
            entry[0] += 1
            entry[1].update(("\x1f".join(row) + "\n").encode("utf-8"))
    return {g: [n, h.hexdigest(), None, None] for g, (n, h) in sums.items()}


def read_previous_groups(path: Path, key: str = "game_id") -> Iterator[tuple[str, list[list[str]]]]:
    """Stream a previous CSV as (game_id, rows) groups; rows of one game are contiguous."""
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        pos = header.index(key)
        current, rows = None, []
        for row in reader:
            if row[pos] != current and rows:
                yield current, rows
                rows = []
            current = row[pos]
            rows.append(row)
        if rows:
            yield current, rows


def process_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _rename_exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE); False if unsupported."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    res = fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return res == 0


class OutputStore:
    """The published output folder and a staging folder for one run."""

    def __init__(self, output_dir: Path) -> None:
        self.output_dir = Path(output_dir).resolve()
        self.staging: Path | None = None
        self.writers: dict[str, TableWriter] = {}

    # -- reading what is published
    def manifest(self) -> dict | None:
        path = self.output_dir / MANIFEST
        if not path.exists():
            return None
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return None

    def manifest_digest(self) -> str:
        """sha256 of the published manifest ("" when there is none): identifies one published version."""
        path = self.output_dir / MANIFEST
        return file_digest(path) if path.exists() else ""

    def table_path(self, name: str) -> Path:
        return self.output_dir / f"{name}.csv"

    def read_table(self, name: str) -> pd.DataFrame | None:
        path = self.table_path(name)
        if not path.exists():
            return None
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])

    # -- writing a new version
    def begin(self) -> Path:
        self.output_dir.parent.mkdir(parents=True, exist_ok=True)
        self._remove_leftovers()
        self.staging = self.output_dir.parent / f".{self.output_dir.name}.new-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.staging.mkdir()
        return self.staging

    def _remove_leftovers(self) -> None:
        """Staging and swapped-out folders left by runs that were killed (their process is gone)."""
        for prefix in (f".{self.output_dir.name}.new-", f".{self.output_dir.name}.old-"):
            for folder in self.output_dir.parent.glob(f"{prefix}*"):
                pid = folder.name[len(prefix):].split("-", 1)[0]
                if not pid.isdigit() or not process_alive(int(pid)):
                    shutil.rmtree(folder, ignore_errors=True)

    def writer(self, name: str) -> TableWriter:
        if name not in self.writers:
            assert self.staging is not None, "begin() first"
            self.writers[name] = TableWriter(self.staging, get_table(name))
        return self.writers[name]

    def read_staged(self, name: str, columns) -> pd.DataFrame:
        """The rows written so far into table ``name`` of the version being written (``columns`` of them);
        empty with those columns when nothing was written."""
        writer = self.writers.get(name)
        if writer is None:
            return pd.DataFrame(columns=list(columns))
        writer._fh.flush()
        return pd.read_csv(writer.path, usecols=list(columns), dtype={"player_id": str, "season_id": str,
                                                                         "game_type": str})

    def discard(self, name: str) -> None:
        """Drop table ``name`` from the version being written (it was only an input of another table)."""
        writer = self.writers.pop(name, None)
        if writer is not None:
            writer._fh.close()
            writer.path.unlink(missing_ok=True)

    def carry_over(self, name: str) -> bool:
        """Keep a table from the published outputs as it is (hard link, else copy)."""
        src = self.table_path(name)
        if not src.exists() or self.staging is None:
            return False
        dst = self.staging / src.name
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)
        return True

    def publish(self, manifest: dict) -> dict:
        """Close writers, write the manifest last, then swap the staging folder in."""
        assert self.staging is not None
        tables = manifest.setdefault("tables", {})
        for name, writer in self.writers.items():
            tables[name] = {**tables.get(name, {}), **writer.close()}
        self.writers = {}
        manifest_path = self.staging / MANIFEST
        tmp = manifest_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str))
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, manifest_path)
        if self.output_dir.exists():
            if _rename_exchange(self.staging, self.output_dir):
                old = self.staging
            else:
                old = self.output_dir.parent / f".{self.output_dir.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}"
                os.replace(self.output_dir, old)
                os.replace(self.staging, self.output_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(self.staging, self.output_dir)
        self.staging = None
        return manifest

    def abort(self) -> None:
        """Drop the staging folder; the published outputs stay as they were."""
        for writer in self.writers.values():
            try:
                writer._fh.close()
            except OSError:
                pass
        self.writers = {}
        if self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)
            self.staging = None
