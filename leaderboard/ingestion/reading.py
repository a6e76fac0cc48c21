"""Opening an export: undo gzip or zip, tell JSON from CSV, and stream its documents or rows.

Everything here streams: a file of any size or shape is read with flat memory, one document or row
at a time, and none may grow past its limits (a JSON document's are in ``json_documents``, a CSV
row's below); one that does is refused, saying where. Parsers get either JSON documents (one API
page, each element of a JSON array, or each line of JSON Lines) or CSV rows, each with the place it
came from, so a problem can say where it is.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import lzma
import struct
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from functools import partial
from itertools import chain
from operator import itemgetter
from pathlib import Path

from . import json_documents
from .rows import ImportRefused, Problem

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"

# CSV cells can be long (JSON blobs in some exports); the default 128 KiB limit refuses real files.
CSV_FIELD_LIMIT = 16 * 1024 * 1024
csv.field_size_limit(CSV_FIELD_LIMIT)
# The longest CSV row, in characters: room for a long cell and the rest of its row. csv.reader reads
# a row whole however long its line, or however many lines its quoted cells run over.
MAX_CSV_ROW = 2 * CSV_FIELD_LIMIT

# Errors a decompressor raises for a corrupt or truncated archive (a bad CRC, a cut-off stream, a
# broken header, an encrypted member or an unknown compression method).
_ARCHIVE_ERRORS = (OSError, EOFError, ValueError, struct.error, zlib.error, lzma.LZMAError, zipfile.BadZipFile,
                   RuntimeError, NotImplementedError)


class _Limited(io.RawIOBase):
    """Refuses to read past ``limit`` bytes, so a small zip cannot expand into an endless import."""

    def __init__(self, raw, limit: int, name: str, *, archive: str = ""):
        self._raw, self._left, self._name, self._limit, self._archive = raw, limit, name, limit, archive

    def readable(self):
        return True

    def tell(self):
        return self._limit - self._left

    def readinto(self, buffer):
        try:
            data = self._raw.read(min(len(buffer), self._left + 1))
        except _ARCHIVE_ERRORS as exc:
            if not self._archive:
                raise  # the disk, not the file
            raise ImportRefused(Problem(self._name, "", f"is not a readable {self._archive} file ({exc})")) from exc
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
                yield io.BufferedReader(_Limited(inner, limit, name, archive="gzip"), buffer_size=1 << 20)
        elif magic == ZIP_MAGIC:
            with _zip_member(raw, name) as inner:
                yield io.BufferedReader(_Limited(inner, limit, name, archive="zip"), buffer_size=1 << 20)
        else:
            yield io.BufferedReader(_Limited(raw, limit, name), buffer_size=1 << 20)


@contextmanager
def _zip_member(raw, name: str):
    try:
        archive = zipfile.ZipFile(raw)
    except _ARCHIVE_ERRORS as exc:
        raise ImportRefused(Problem(name, "", f"is not a readable zip file ({exc})")) from exc
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir() and not m.filename.startswith("__MACOSX")]
        if len(members) != 1:
            raise ImportRefused(
                Problem(name, "", f"a zip must hold exactly one export file, this one holds {len(members)}")
            )
        try:
            inner = archive.open(members[0])
        except _ARCHIVE_ERRORS as exc:
            raise ImportRefused(Problem(name, "", f"is not a readable zip file ({exc})")) from exc
        with inner:
            yield inner


def _skip_bom(stream: io.BufferedReader) -> int:
    """Reads past a UTF-8 byte-order mark; returns how many bytes that was."""
    if stream.peek(3)[:3] == codecs.BOM_UTF8:
        stream.read(3)
        return 3
    return 0


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
        """(where, document) pairs: a single page, each element of an array, or each JSON line.

        ImportRefused, saying where, for malformed JSON and for a document past the limits above.
        """
        with self._open() as stream:
            skipped = _skip_bom(stream)
            if _first_meaningful_byte(stream) == b"[":
                yield from self._array_documents(stream, skipped)
            else:
                yield from self._line_documents(stream)

    def _array_documents(self, stream, skipped: int) -> Iterator[tuple[str, object]]:
        chunks = iter(partial(stream.read, json_documents.CHUNK_BYTES), b"")
        try:
            for index, doc in enumerate(json_documents.values(chunks, elements=True)):
                yield f"[{index}]", doc
                del doc  # not kept alive while the next element is built
        except json_documents.Unreadable as failure:
            where = f"{self.name} [{failure.index}]"
            raise ImportRefused(self._json_problem(failure, where, skipped=skipped, line=1, single=False)) from None

    def _line_documents(self, stream) -> Iterator[tuple[str, object]]:
        """JSON Lines, or one document when the first line is not a whole one (pretty-printed)."""
        fast = min(json_documents.FAST_LINE_BYTES, json_documents.MAX_DOCUMENT_BYTES)
        number, first = 0, True
        while True:
            offset = stream.tell()  # where the line starts, in bytes from the start of the file
            head = stream.readline(fast + 1)
            if not head:
                return
            number += 1
            whole = len(head) <= fast
            if whole and head.isspace():
                continue
            try:
                # A long line is built as it is read, never held whole.
                doc = json_documents.line_value(head) if whole else json_documents.built_value(chain(json_documents.pieces(head), _rest_of_line(stream)))
            except json_documents.Unreadable as failure:
                if first and failure.syntax:
                    # A single (pretty-printed) document: the rest of the file completes the first line.
                    yield "$", self._single_document(offset, number)
                    return
                raise ImportRefused(self._line_problem(failure, stream, number, offset)) from None
            first = False
            yield f"line {number}", doc
            del doc  # not kept alive while the next line is built

    def _single_document(self, offset: int, number: int) -> object:
        """The one document that starts ``offset`` bytes into the file, on line ``number``."""
        with closing(self._bytes_after(offset)) as chunks:
            try:
                return json_documents.built_value(chunks)
            except json_documents.Unreadable as failure:
                problem = self._json_problem(failure, self.name, skipped=offset, line=number, single=True)
                raise ImportRefused(problem) from None

    def _json_problem(self, failure: json_documents.Unreadable, where: str, *, skipped: int, line: int, single: bool) -> Problem:
        """The problem of what the builder read from the file's bytes after the first ``skipped``, which
        start on line ``line``: the ``single`` document of the file, or an array of them. A syntax error
        is found to the byte by reading those bytes again."""
        if failure.truncated:
            end = skipped + failure.fed
            return Problem(where, "", f"the file ends in the middle of a JSON document (byte {end:,})")
        if not failure.syntax:
            return Problem(where, "", f"{failure.message} (near byte {skipped + failure.fed:,})")
        with closing(self._bytes_after(skipped)) as chunks:
            byte, error_line, column = json_documents.locate(chunks, failure.accepted)
        error_line += line - 1
        if single:  # its line and column say where
            return Problem(
                f"{where} line {error_line} column {column}", "",
                f"malformed JSON: {failure.message} (byte {skipped + byte:,})",
            )
        return Problem(
            where, "", f"malformed JSON at line {error_line} column {column} (byte {skipped + byte:,}): {failure.message}"
        )

    def _line_problem(self, failure: json_documents.Unreadable, stream, number: int, offset: int) -> Problem:
        where = f"{self.name} line {number}"
        if failure.truncated:
            if stream.peek(1):
                return Problem(where, "", "malformed JSON: the line ends in the middle of a JSON document")
            return Problem(where, "", f"the file ends in the middle of a JSON document (byte {stream.tell():,})")
        if not failure.syntax:
            return Problem(where, "", failure.message)
        column = failure.column
        if failure.built:
            with closing(self._bytes_after(offset)) as chunks:
                column = json_documents.locate(chunks, failure.accepted)[2]
        if column is None:
            return Problem(where, "", f"malformed JSON: {failure.message}")
        return Problem(where, "", f"malformed JSON at column {column}: {failure.message}")

    def _bytes_after(self, skipped: int) -> Iterator[bytes]:
        """The file's bytes again, from ``skipped`` on, as the parser was given them."""
        with self._open() as stream:
            while skipped > 0:
                data = stream.read(min(skipped, json_documents.CHUNK_BYTES))
                if not data:
                    return
                skipped -= len(data)
            yield from iter(partial(stream.read, json_documents.CHUNK_BYTES), b"")

    def first_document(self) -> object | None:
        return next(self.leading_documents(1), None)

    def leading_documents(self, limit: int) -> Iterator[object]:
        """Up to ``limit`` documents from the start, one at a time (a page can be large).

        ImportRefused where the file turns out malformed before then: detection, which stops at the
        first document a format claims, then says what is wrong with the JSON.
        """
        for count, (_where, doc) in enumerate(self.documents(), start=1):
            yield doc
            if count >= limit:
                return

    # --- CSV ----------------------------------------------------------------------------------

    def header(self) -> list[str]:
        with self._open() as stream:
            text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
            lines = _CsvLines(text, self.name)
            try:
                for row in csv.reader(lines):
                    if any(cell.strip() for cell in row):
                        return [normalize_column(cell) for cell in row]
                    lines.row_size = 0
            except csv.Error as exc:
                raise ImportRefused(_csv_problem(self.name, lines.number, exc)) from exc
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
        """(line number, header, cells) for each data row, refusing a malformed or non-UTF-8 file,
        a row with more cells than the header has columns, and a cell or row past the limits."""
        with self._open() as stream:
            text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="strict", newline="")
            lines = _CsvLines(text, self.name)
            reader = csv.reader(lines)
            try:
                header = None
                for row in reader:
                    lines.row_size = 0
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
                raise ImportRefused(_csv_problem(self.name, lines.number, exc)) from exc


class _CsvLines:
    """The lines of a CSV file, for csv.reader: refuses a row longer than MAX_CSV_ROW characters
    before reading it all (the reader resets ``row_size`` after each row)."""

    __slots__ = ("_readline", "name", "number", "row_size")

    def __init__(self, text: io.TextIOWrapper, name: str):
        self._readline, self.name, self.number, self.row_size = text.readline, name, 0, 0

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = self._readline(MAX_CSV_ROW + 1)
        if not line:
            raise StopIteration
        self.number += 1
        self.row_size += len(line)
        if self.row_size > MAX_CSV_ROW:
            raise ImportRefused(Problem(
                f"{self.name} line {self.number}", "",
                f"a row longer than {MAX_CSV_ROW:,} characters, the most one row may hold",
            ))
        return line


def _csv_problem(name: str, line: int, exc: csv.Error) -> Problem:
    if "field larger than field limit" in str(exc):
        return Problem(f"{name} line {line}", "", f"a cell is longer than {CSV_FIELD_LIMIT:,} bytes")
    return Problem(f"{name} line {line}", "", f"malformed CSV: {exc}")


def normalize_column(name: str) -> str:
    return " ".join(name.strip().lower().split())


def _rest_of_line(stream: io.BufferedReader) -> Iterator[bytes]:
    while piece := stream.readline(json_documents.CHUNK_BYTES):
        yield piece
        if piece.endswith(b"\n"):
            return
