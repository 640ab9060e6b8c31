"""Reading published outputs for a load: a consistent snapshot, CSV records as bytes, and the row digest.

The outputs are CSV written by pandas (``etl.store``): comma separated, ``\\n`` line ends, minimal
quoting (a field is quoted only when it holds a comma, a quote or a line break), NULL as an empty
unquoted field. PostgreSQL's ``COPY ... (FORMAT csv)`` reads exactly that dialect, so the loader
streams the file bytes unchanged. Note what the outputs can hold: pandas writes an empty string as an
empty unquoted field, i.e. as NULL, so an output never distinguishes "" from NULL except in the rare
``""`` field (an empty string that PostgreSQL loads as an empty string); the round trip is exact for
what the outputs contain.

Row digest (order independent, duplicate sensitive): ``count:sum`` where ``sum`` adds, over all rows,
the first 8 bytes of md5(canonical CSV record) read as a signed big-endian 64-bit integer. The
canonical record is the line the ETL writes: minimal quoting, ``""`` for an empty string, booleans
``true``/``false``, dates ``YYYY-MM-DD``, numerics in PostgreSQL's own text form. The same number is
computed from the file while it streams (hashlib releases the GIL and PostgreSQL is busy parsing the
COPY data meanwhile, so this costs no wall time) and from the loaded rows by one SQL aggregate
(``etl.sync.postgres.digest_sql``); equality proves that the target holds the output's values.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from ..catalog import Table
from ..store import MANIFEST
from .errors import SyncError

BLOCK = 1 << 20
NUMERIC_TYPES = ("numeric", "decimal")
_NEEDS_QUOTES = re.compile(rb'[,"\r\n]')


class OutputSnapshot:
    """The output folder as it was when opened: manifest and every CSV read through one directory handle.

    The ETL publishes a new folder by swapping directories and deleting the old one. Opening the
    directory once and every selected file right away keeps all reads on one published version even if
    a new one is swapped in meanwhile.
    """

    def __init__(self, output_dir: str | Path) -> None:
        self.path = Path(output_dir)
        try:
            self._dir = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            raise SyncError(f"The output folder {self.path} does not exist; run the ETL first.") from None
        self._files: dict[str, int] = {}
        try:
            with open(MANIFEST, "rb", opener=self._opener) as fh:
                self.manifest: dict = json.loads(fh.read())
        except FileNotFoundError:
            self.close()
            raise SyncError(f"The output folder {self.path} has no {MANIFEST}; run the ETL first.") from None
        except ValueError:
            self.close()
            raise SyncError(f"{self.path / MANIFEST} is not valid JSON; run the ETL again.") from None

    def _opener(self, name: str, flags: int) -> int:
        return os.open(name, flags, dir_fd=self._dir)

    def open_tables(self, names: list[str]) -> None:
        """Open every named CSV now (missing files raise SyncError naming them)."""
        missing = []
        for name in names:
            if name in self._files:
                continue
            try:
                self._files[name] = os.open(f"{name}.csv", os.O_RDONLY, dir_fd=self._dir)
            except FileNotFoundError:
                missing.append(name)
        if missing:
            raise SyncError(f"The outputs in {self.path} have no file for {', '.join(missing)} although the "
                            f"manifest lists it (or a new ETL run replaced the folder meanwhile); run the sync again "
                            f"after the ETL finished.")

    def range_reader(self, name: str, spans: list[tuple[int, int, str]]) -> RangeReader:
        """A reader of the given byte ranges of the table's file (its own descriptor: positions are not shared)."""
        self.open_tables([name])
        return RangeReader(os.dup(self._files[name]), spans, name)

    def reader(self, name: str) -> TableReader:
        """A reader from the file's start; it shares the file position with other readers of the same table,
        so read one table's readers one after the other."""
        self.open_tables([name])
        return TableReader(os.dup(self._files[name]))

    def close(self) -> None:
        for fd in self._files.values():
            os.close(fd)
        self._files = {}
        if self._dir >= 0:
            os.close(self._dir)
            self._dir = -1

    def __enter__(self) -> OutputSnapshot:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass
class StreamStats:
    """What one pass over a file saw: its header, bytes read and (once read to the end) sha256 of all bytes."""

    bytes: int = 0
    sha256: str = ""
    header: list[str] = field(default_factory=list)


class TableReader:
    """Streams one CSV file as blocks of whole records (header split off), hashing as it goes."""

    def __init__(self, fd: int) -> None:
        self._fh = os.fdopen(fd, "rb")
        self._fh.seek(0)
        self._sha = hashlib.sha256()
        self.stats = StreamStats()

    def header(self) -> list[str]:
        line = self._fh.readline()
        self._sha.update(line)
        self.stats.bytes += len(line)
        self.stats.header = line.rstrip(b"\r\n").decode("utf-8").split(",")
        return self.stats.header

    def blocks(self, size: int = BLOCK) -> Iterator[tuple[bytes, list[bytes]]]:
        """(raw bytes, records) per block: the raw bytes end with a line end and hold exactly the records.

        Records carry no line end; a record may span lines inside a quoted field.
        """
        tail = b""
        pending: bytes | None = None
        while True:
            block = self._fh.read(size)
            if not block:
                break
            self._sha.update(block)
            self.stats.bytes += len(block)
            data = tail + block if tail else block
            cut = data.rfind(b"\n")
            if cut < 0:
                tail = data
                continue
            tail = data[cut + 1:]
            carried = pending is not None
            records, pending = _records(data[:cut].split(b"\n"), pending)
            if records:
                whole = not carried and pending is None
                yield (data[:cut + 1] if whole else b"\n".join(records) + b"\n"), records
        if tail or pending is not None:
            records, pending = _records([tail] if tail else [], pending)
            if pending is not None:
                raise SyncError("The CSV file ends inside a quoted field; the outputs are damaged, run the ETL again.")
            if records:
                yield b"\n".join(records) + b"\n", records
        self.stats.sha256 = self._sha.hexdigest()

    def close(self) -> None:
        self._fh.close()


class RangeReader:
    """Reads byte ranges of one CSV (each a game's contiguous rows) as blocks of whole records, checking each
    range against the sha256 the manifest records for it (the bytes loaded are the published ones)."""

    def __init__(self, fd: int, spans: list[tuple[int, int, str]], name: str) -> None:
        self._fd, self.spans, self.name = fd, spans, name
        self.stats = StreamStats()

    def blocks(self, size: int = BLOCK) -> Iterator[tuple[bytes, list[bytes]]]:
        for offset, length, digest in self.spans:
            data = os.pread(self._fd, length, offset)
            if len(data) != length or hashlib.sha256(data).hexdigest() != digest:
                raise SyncError(f"{self.name}.csv differs from what the manifest records for one of its games; the "
                                f"outputs changed while the sync read them. Run the sync again.")
            self.stats.bytes += length
            records, pending = _records(data.rstrip(b"\n").split(b"\n"), None)
            if pending is not None:
                raise SyncError(f"{self.name}.csv: a game's rows end inside a quoted field; run the ETL again.")
            yield data, records

    def close(self) -> None:
        os.close(self._fd)


def _records(lines: list[bytes], pending: bytes | None) -> tuple[list[bytes], bytes | None]:
    """Join lines into records: a line with an odd number of quotes opens (or closes) a multi-line field."""
    out: list[bytes] = []
    for line in lines:
        if pending is not None:
            pending += b"\n" + line
            if line.count(b'"') % 2:
                out.append(pending)
                pending = None
        elif b'"' in line and line.count(b'"') % 2:
            pending = line
        else:
            out.append(line)
    return out, pending


def parse_record(record: bytes) -> list[bytes | None]:
    """Fields of one CSV record; None for an empty unquoted field (NULL), b"" for a quoted empty one."""
    if b'"' not in record:
        return [f if f else None for f in record.split(b",")]
    fields: list[bytes | None] = []
    i, n = 0, len(record)
    while True:
        if i < n and record[i:i + 1] == b'"':
            buf = bytearray()
            i += 1
            while True:
                j = record.find(b'"', i)
                if j < 0:
                    raise SyncError("A CSV record has an unterminated quoted field.")
                buf += record[i:j]
                if record[j + 1:j + 2] == b'"':
                    buf += b'"'
                    i = j + 2
                    continue
                i = j + 1
                break
            fields.append(bytes(buf))
            if i < n and record[i:i + 1] != b",":
                raise SyncError("A CSV record has text after a closing quote.")
        else:
            j = record.find(b",", i)
            j = n if j < 0 else j
            value = record[i:j]
            fields.append(value if value else None)
            i = j
        if i >= n:
            return fields
        i += 1  # the comma
        if i == n:
            fields.append(None)
            return fields


def render_field(value: bytes | None) -> bytes:
    """One field in the outputs' canonical CSV form."""
    if value is None:
        return b""
    if value == b"":
        return b'""'
    if _NEEDS_QUOTES.search(value):
        return b'"' + value.replace(b'"', b'""') + b'"'
    return value


def canonical_numeric(value: bytes) -> bytes:
    """A numeric as PostgreSQL prints it after reading it (``1e-05`` → ``0.00001``, ``-0.0`` → ``0.0``)."""
    try:
        number = Decimal(value.decode())
    except (InvalidOperation, UnicodeDecodeError):
        return value
    if number.is_nan():
        return b"NaN"
    if number.is_infinite():
        return b"-Infinity" if number < 0 else b"Infinity"
    text = format(number, "f")
    if number == 0 and text.startswith("-"):
        text = text[1:]
    return text.encode()


class RecordDigest:
    """Accumulates the row digest of records in the outputs' canonical form (see the module docstring)."""

    def __init__(self, table: Table) -> None:
        self.numeric = [i for i, c in enumerate(table.columns) if c.type in NUMERIC_TYPES]
        self.rows = 0
        self.sum = 0

    def add(self, records: list[bytes]) -> None:
        md5, from_bytes = hashlib.md5, int.from_bytes
        if not self.numeric:
            self.sum += sum(from_bytes(md5(r if b'"' not in r else self._canonical(r)).digest()[:8], "big",
                                       signed=True) for r in records)
        else:
            self.sum += sum(from_bytes(md5(self._canonical(r)).digest()[:8], "big", signed=True) for r in records)
        self.rows += len(records)

    def _canonical(self, record: bytes) -> bytes:
        fields = parse_record(record)
        for i in self.numeric:
            if i < len(fields) and fields[i]:
                fields[i] = canonical_numeric(fields[i])
        return b",".join(render_field(f) for f in fields)

    @property
    def digest(self) -> str:
        return f"{self.rows}:{self.sum}"


def game_filter(header: list[str], games: list[int]):
    """A predicate keeping records whose game_id is one of ``games``."""
    pos = header.index("game_id")
    wanted = {str(g).encode() for g in games}

    def keep(record: bytes) -> bool:
        if b'"' in record:
            fields = parse_record(record)
            return pos < len(fields) and fields[pos] in wanted
        parts = record.split(b",", pos + 1)
        return pos < len(parts) and parts[pos] in wanted

    return keep


def count_game_rows(snap: OutputSnapshot, name: str, games: list[int]) -> int:
    """Rows of ``name`` whose game_id is one of ``games``."""
    reader = snap.reader(name)
    try:
        keep = game_filter(reader.header(), games)
        return sum(1 for _, records in reader.blocks() for r in records if keep(r))
    finally:
        reader.close()


def sample_keys(snap: OutputSnapshot, name: str, key_columns: list[str], probes: int = 64,
                per_probe: int = 16) -> list[tuple[bytes, ...]]:
    """Primary-key values of up to ``probes * per_probe`` records spread over the file (cheap: a few reads).

    Used only to estimate how many of the file's keys the target already holds; records with quotes are
    skipped, so a key read from the middle of a multi-line field can only make the estimate lower.
    """
    snap.open_tables([name])
    fd = snap._files[name]
    size = os.fstat(fd).st_size
    head = os.pread(fd, 65536, 0)
    start = head.find(b"\n") + 1
    if start <= 0:
        return []
    header = head[:start - 1].decode("utf-8").split(",")
    positions = [header.index(c) for c in key_columns]
    keys: list[tuple[bytes, ...]] = []
    span = max(size - start, 1)
    for k in range(probes):
        offset = start + span * k // probes
        chunk = os.pread(fd, 8192, offset)
        lines = chunk.split(b"\n")[0 if offset == start else 1:-1]
        for line in lines[:per_probe]:
            if b'"' in line:
                continue
            fields = line.split(b",")
            if len(fields) == len(header):
                keys.append(tuple(fields[p] for p in positions))
        if offset + 8192 >= size:
            break
    return list(dict.fromkeys(keys))


def distinct_values(snap: OutputSnapshot, name: str, columns: list[str],
                    games: list[int] | None = None) -> dict[str, set[str]]:
    """Distinct non-empty values of ``columns`` in the file (only rows of ``games`` when given), one pass."""
    out: dict[str, set[str]] = {c: set() for c in columns}
    if not columns:
        return out
    reader = snap.reader(name)
    try:
        header = reader.header()
        positions = [(c, header.index(c)) for c in columns]
        keep = game_filter(header, games) if games else None
        seen: dict[str, set[bytes]] = {c: set() for c in columns}
        for _, records in reader.blocks():
            for record in records:
                if keep is not None and not keep(record):
                    continue
                fields = parse_record(record) if b'"' in record else record.split(b",")
                for column, pos in positions:
                    value = fields[pos] if pos < len(fields) else None
                    if value:
                        seen[column].add(value)
        for column, values in seen.items():
            out[column] = {v.decode("utf-8") for v in values}
    finally:
        reader.close()
    return out
