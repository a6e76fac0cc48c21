"""Opening an export: undo gzip or zip, tell JSON from CSV, and stream its documents or rows.

Everything here streams: a file of any size is read with flat memory. Parsers get either JSON
documents (one API page, each element of a JSON array, or each line of JSON Lines) or CSV rows,
each with the place it came from, so a problem can say where it is.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from operator import itemgetter
from pathlib import Path

import ijson

from .rows import ImportRefused, Problem

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"

# CSV cells can be long (JSON blobs in some exports); the default 128 KiB limit refuses real files.
csv.field_size_limit(16 * 1024 * 1024)


class _Limited(io.RawIOBase):
    """Refuses to read past ``limit`` bytes, so a small zip cannot expand into an endless import."""

    def __init__(self, raw, limit: int, name: str):
        self._raw, self._left, self._name, self._limit = raw, limit, name, limit

    def readable(self):
        return True

    def readinto(self, buffer):
        data = self._raw.read(min(len(buffer), self._left + 1))
        if len(data) > self._left:
            raise ImportRefused(
                Problem(self._name, "", f"expands to more than {self._limit:,} bytes, the import size limit")
            )
        self._left -= len(data)
        buffer[: len(data)] = data
        return len(data)


@contextmanager
def open_binary(path: Path, *, name: str, limit: int, on_open=None) -> Iterator[io.BufferedReader]:
    """The export's bytes, decompressed when it is gzip or a zip holding one file."""
    with open(path, "rb") as raw:
        if on_open:
            on_open(raw)
        magic = raw.read(4)
        raw.seek(0)
        if magic.startswith(GZIP_MAGIC):
            with gzip.open(raw) as inner:
                yield io.BufferedReader(_Limited(inner, limit, name), buffer_size=1 << 20)
        elif magic == ZIP_MAGIC:
            with zipfile.ZipFile(raw) as archive:
                members = [m for m in archive.infolist() if not m.is_dir() and not m.filename.startswith("__MACOSX")]
                if len(members) != 1:
                    raise ImportRefused(
                        Problem(name, "", f"a zip must hold exactly one export file, this one holds {len(members)}")
                    )
                with archive.open(members[0]) as inner:
                    yield io.BufferedReader(_Limited(inner, limit, name), buffer_size=1 << 20)
        else:
            yield io.BufferedReader(_Limited(raw, limit, name), buffer_size=1 << 20)


def _first_meaningful_byte(stream: io.BufferedReader) -> bytes:
    head = stream.peek(4096)[:4096]
    if head.startswith(codecs.BOM_UTF8):
        head = head[len(codecs.BOM_UTF8):]
    stripped = head.lstrip()
    return stripped[:1]


class Export:
    """A readable export file. ``kind`` is "json" or "csv"; iterate with ``documents()`` or ``rows()``.

    Each call re-opens the file, so detection can peek and the parser can then read from the start.
    """

    def __init__(self, path: Path, *, name: str, limit: int):
        self.path, self.name, self.limit = Path(path), name, limit
        self.size = self.path.stat().st_size
        self._raw = None
        with self._open() as stream:
            first = _first_meaningful_byte(stream)
        if not first:
            raise ImportRefused(Problem(name, "", "the file is empty"))
        self.kind = "json" if first in (b"{", b"[") else "csv"

    def _open(self):
        return open_binary(self.path, name=self.name, limit=self.limit, on_open=self._remember)

    def _remember(self, raw) -> None:
        self._raw = raw

    def fraction_read(self) -> float:
        """How far through the stored (possibly compressed) file the last read has got, 0 to 1."""
        if self._raw is None or self._raw.closed or not self.size:
            return 0.0
        return min(1.0, self._raw.tell() / self.size)

    # --- JSON ---------------------------------------------------------------------------------

    def documents(self) -> Iterator[tuple[str, object]]:
        """(where, document) pairs: a single page, each element of an array, or each JSON line."""
        with self._open() as stream:
            if _first_meaningful_byte(stream) == b"[":
                yield from self._array_documents(stream)
                return
            text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="strict")
            first_line, first_number = text.readline(), 1
            while first_line and not first_line.strip():
                first_line, first_number = text.readline(), first_number + 1
            try:
                first_doc = json.loads(first_line, parse_float=Decimal)
            except ValueError:
                first_doc = None
            if first_doc is None:
                # A single (pretty-printed) document: the rest of the file completes the first line.
                rest = text.read()
                try:
                    yield "$", json.loads(first_line + rest, parse_float=Decimal)
                except ValueError as exc:
                    raise ImportRefused(self._json_problem(exc)) from exc
                return
            yield f"line {first_number}", first_doc
            for number, line in enumerate(text, start=first_number + 1):
                if not line.strip():
                    continue
                try:
                    doc = json.loads(line, parse_float=Decimal)
                except ValueError as exc:
                    raise ImportRefused(Problem(f"{self.name} line {number}", "", f"malformed JSON: {exc}")) from exc
                yield f"line {number}", doc

    def _array_documents(self, stream) -> Iterator[tuple[str, object]]:
        if stream.peek(3)[:3] == codecs.BOM_UTF8:
            stream.read(3)
        index = -1
        try:
            for index, doc in enumerate(ijson.items(stream, "item", use_float=False)):
                yield f"[{index}]", doc
        except ijson.JSONError as exc:
            where = f"{self.name} [{index + 1}]" if index >= 0 else self.name
            raise ImportRefused(Problem(where, "", f"malformed JSON: {exc}")) from exc

    def _json_problem(self, exc: ValueError) -> Problem:
        if isinstance(exc, json.JSONDecodeError):
            return Problem(f"{self.name} line {exc.lineno} column {exc.colno}", "", f"malformed JSON: {exc.msg}")
        return Problem(self.name, "", f"malformed JSON: {exc}")

    def first_document(self) -> object | None:
        return next(self.leading_documents(1), None)

    def leading_documents(self, limit: int) -> Iterator[object]:
        """Up to ``limit`` documents from the start, one at a time (a page can be large), stopping
        quietly where the file turns out malformed: detection judges what it could read."""
        try:
            for count, (_where, doc) in enumerate(self.documents(), start=1):
                yield doc
                if count >= limit:
                    return
        except ImportRefused:
            return

    # --- CSV ----------------------------------------------------------------------------------

    def header(self) -> list[str]:
        with self._open() as stream:
            text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
            for row in csv.reader(text):
                if any(cell.strip() for cell in row):
                    return [normalize_column(cell) for cell in row]
        return []

    def require_columns(self, *required: str) -> list[str]:
        """The normalized header, or ImportRefused naming the required columns it lacks."""
        header = self.header()
        missing = [column for column in required if column not in header]
        if missing:
            plural = "s" if len(missing) > 1 else ""
            raise ImportRefused(Problem(f"{self.name} line 1", ", ".join(missing), f"required column{plural} missing"))
        return header

    def rows(self) -> Iterator[tuple[str, dict[str, str]]]:
        """(where, {normalized column: cell}) for each data row; blank lines are skipped.

        Columns are matched case-insensitively with surrounding spaces ignored; a byte-order mark
        and CRLF line ends are fine.
        """
        for line, header, row in self._table():
            yield f"line {line}", dict(zip(header, row, strict=False))

    def records(self, columns: Sequence[str]) -> Iterator[tuple[int, tuple[str, ...]]]:
        """(line number, the cells of ``columns`` in that order) for each data row, as ``rows()``
        reads them but without a dict per row: for the formats that run to millions of rows. A
        column the file lacks, or a row cut short, reads as empty."""
        header = self.header()
        width = len(header) + 1  # one empty cell past the header stands for every missing column
        indexes = [header.index(column) if column in header else len(header) for column in columns]
        pick = itemgetter(*indexes) if len(indexes) > 1 else lambda row: (row[indexes[0]],)
        padding = [""] * width
        for line, _header, row in self._table():
            if len(row) < width:
                row += padding[len(row):]
            yield line, pick(row)

    def _table(self) -> Iterator[tuple[int, list[str], list[str]]]:
        """(line number, header, cells) for each data row, refusing a malformed or non-UTF-8 file
        and a row with more cells than the header has columns."""
        with self._open() as stream:
            text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="strict", newline="")
            reader = csv.reader(text)
            try:
                header = None
                for row in reader:
                    if header is None:
                        if any(cell.strip() for cell in row):
                            header = [normalize_column(cell) for cell in row]
                        continue
                    if not "".join(row).strip():  # blank, or only empty cells (",,,,")
                        continue
                    if len(row) > len(header) and any(cell.strip() for cell in row[len(header):]):
                        raise ImportRefused(Problem(
                            f"{self.name} line {reader.line_num}", "",
                            f"{len(row)} cells but the header has {len(header)} columns",
                        ))
                    yield reader.line_num, header, row
            except UnicodeDecodeError as exc:
                raise ImportRefused(
                    Problem(f"{self.name} line {reader.line_num + 1}", "", "is not UTF-8 text")
                ) from exc
            except csv.Error as exc:
                raise ImportRefused(Problem(f"{self.name} line {reader.line_num}", "", f"malformed CSV: {exc}")) from exc


def normalize_column(name: str) -> str:
    return " ".join(name.strip().lower().split())
