"""JSON documents built from bytes within limits: one document at a time, never deeper, larger or
of more values than a real export's, and with where the bytes stopped making sense when they do.

The parser (ijson's C backend) reports events; documents are built from them here, one container a
level, so memory follows the document being built and nothing else. ``reading`` decides what the
documents of a file are (a page, the elements of an array, the lines of JSON Lines).
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterable, Iterator
from decimal import Decimal
from itertools import chain

import ijson

# A document past one of these limits is refused, saying where: it could only be a corrupt or crafted
# file, and reading on would cost memory no import should (a 40 KB file of nested brackets once took
# 885 MB, a 300 MB one-line document 1.5 GB).

# The most of a file held at once: one JSON document (a page, an element of a JSON array, a JSON
# line), in bytes. Real pages are a few MB at most; a page is also what an API lets you shrink.
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024
# The most values in one JSON document, counted as the parser reports them: each key, string, number,
# true, false and null once, each object and array twice (its start and its end). Python objects take
# far more room than their text (an empty object: 2 bytes of text, 64 of memory; the number 1.5: 3
# and 104), so bytes alone would let 64 MiB of "[{},{},...]" take 1.5 GB. A million values is a page
# of 10 to 25 MB, several times the largest real one (a day of 10,000 people in the ingestion
# benchmark's JSON lines holds 250,000); built, it takes about 55 MB, and 120 MB in the worst shape.
MAX_DOCUMENT_VALUES = 1_000_000
# The deepest a JSON document may nest. Real exports nest fewer than 10 levels. Documents are built
# without recursion and without a path per level (ijson's items() kept one, which made memory grow
# with the square of the depth), but whatever walks a document later may recurse.
MAX_JSON_DEPTH = 64
# JSON lines up to this size are read by the json module, three times faster than building them from
# parser events (the million-row JSON Lines benchmark has 3 MB lines); the worst shape of this many
# bytes takes about 100 MB. Longer lines go through the builder, which is bounded as it goes.
FAST_LINE_BYTES = 4 * 1024 * 1024
# The longest single string or number in JSON: ids, names and models are short. The parser starts a
# token that spans chunks over with each chunk, so an endless one costs time with the square of its
# length (a 64 MiB string took 16 s to refuse). Lines the json module reads can hold no longer one.
MAX_JSON_TOKEN_BYTES = FAST_LINE_BYTES
# How much of the file the JSON parser is given at a time.
CHUNK_BYTES = 64 * 1024


class Unreadable(Exception):
    """Why JSON could not be read. ``syntax``: the parser refused a byte of the chunk that came after
    the first ``accepted`` bytes (``locate`` finds which); ``truncated``: the input ended inside a
    document; otherwise a limit was passed, with ``fed`` bytes given to the parser so far."""

    def __init__(self, message: str, *, index: int = 0, fed: int = 0, accepted: int = 0, built: bool = False,
                 syntax: bool = False, truncated: bool = False, column: int | None = None):
        super().__init__(message)
        self.message, self.index, self.fed, self.accepted, self.built = message, index, fed, accepted, built
        self.syntax, self.truncated, self.column = syntax, truncated, column


def _too_deep() -> str:
    return f"is nested more than {MAX_JSON_DEPTH} levels deep, deeper than any export"


def _too_large() -> str:
    return f"is a JSON document larger than {MAX_DOCUMENT_BYTES:,} bytes, the most one document may hold"


def _too_long_token() -> str:
    return f"holds a string or number longer than {MAX_JSON_TOKEN_BYTES:,} bytes, longer than any export's"


def _too_many() -> str:
    return f"is a JSON document of more than {MAX_DOCUMENT_VALUES:,} values, the most one document may hold"


# The parser's refusals: its own, and a number past Python's 4,300-digit limit for int(), which
# ijson's C backend raises as a ValueError, or as a SystemError around one (after which the events it
# reported must not be read: the last may be half made).
_PARSER_ERRORS = (ijson.JSONError, ValueError, SystemError)


def _reason(exc: Exception) -> str:
    if not isinstance(exc, ijson.JSONError):
        return "a number too long to read"
    text = exc.args[0] if exc.args else ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    first_line = str(text).strip().splitlines()[:1]
    return first_line[0].strip() if first_line else "not JSON"


def pieces(data: bytes) -> Iterator[bytes]:
    """``data`` in parser-sized chunks: the builder checks its limits between chunks."""
    for start in range(0, len(data), CHUNK_BYTES):
        yield data[start:start + CHUNK_BYTES]


def values(chunks: Iterable[bytes], *, elements: bool) -> Iterator[object]:
    """The one JSON value in ``chunks`` or, with ``elements``, each element of the array it holds.

    Built from the parser's events (no per-level prefixes), one container a level, refusing with
    Unreadable a document nested deeper than MAX_JSON_DEPTH, larger than MAX_DOCUMENT_BYTES or of
    more than MAX_DOCUMENT_VALUES values, as soon as the chunk that shows it has been read. Sizes
    are counted in whole chunks, from the chunk where a document starts (or the last one ended):
    that also bounds a single endless string, which the parser holds until it ends.
    """
    events = ijson.sendable_list()
    parser = ijson.basic_parse_coro(events, use_float=False)
    stack: list = []  # the open containers of the current document, innermost last
    top = None  # stack[-1], or None between documents
    in_map = False  # top is a dict
    key = None
    inside = False  # elements: within the outer array
    index = -1  # the document being read (or the last one read, between documents)
    fed = accepted = 0  # bytes given to the parser; before the current chunk
    started = counted = seen = 0  # `accepted` when the last document ended; events so far, and then
    quiet = 0  # bytes given in a row without an event: a string or number still being read
    done: list = []
    for chunk in chain(chunks, (None,)):
        accepted = fed
        try:
            if chunk is None:
                parser.close()
            else:
                fed += len(chunk)
                parser.send(chunk)
        except _PARSER_ERRORS as exc:
            if isinstance(exc, ijson.JSONError):
                index = _failing_index(events, len(stack), inside, index, elements)
            else:  # the events it reported may hold a broken one: never read them
                index += not stack
            raise Unreadable(
                _reason(exc), index=index, fed=fed, accepted=accepted, built=True, syntax=True,
                truncated=chunk is None,
            ) from None
        for event, value in events:
            if event == "map_key":
                key = value
            elif event == "start_map" or event == "start_array":
                container = {} if event == "start_map" else []
                if in_map:
                    top[key] = container
                elif top is not None:
                    top.append(container)
                elif elements and not inside:
                    inside = True
                    continue
                else:  # a document begins
                    index += 1
                if len(stack) == MAX_JSON_DEPTH:
                    raise Unreadable(_too_deep(), index=index, fed=fed)
                stack.append(container)
                top, in_map = container, event == "start_map"
            elif event == "end_map" or event == "end_array":
                if not stack:  # the outer array
                    inside = False
                    continue
                finished = stack.pop()
                if stack:
                    top = stack[-1]
                    in_map = type(top) is dict
                else:
                    top, in_map = None, False
                    started = _ended(started, accepted, fed, index)
                    seen = counted
                    done.append(finished)
                    finished = container = None  # the document is the caller's once yielded
            elif in_map:
                top[key] = value
            elif top is not None:
                top.append(value)
            else:  # a document that is a single value
                index += 1
                started = _ended(started, accepted, fed, index)
                seen = counted
                done.append(value)
        if events:
            counted += len(events)
            quiet = 0
            del events[:]
        elif chunk and not chunk.isspace():
            quiet += len(chunk)
            if quiet > MAX_JSON_TOKEN_BYTES:
                raise Unreadable(_too_long_token(), index=index + (not stack), fed=fed)
        if fed - started > MAX_DOCUMENT_BYTES:
            raise Unreadable(_too_large(), index=index + (not stack), fed=fed)
        if counted - seen > MAX_DOCUMENT_VALUES:
            raise Unreadable(_too_many(), index=index + (not stack), fed=fed)
        if done:
            yield from done
            done.clear()


def _failing_index(events: list, depth: int, inside: bool, index: int, elements: bool) -> int:
    """The document the parser stopped in, given the events it reported before it stopped."""
    for event, _value in events:
        if event == "start_map" or event == "start_array":
            if not depth:
                if elements and not inside:
                    inside = True
                    continue
                index += 1
            depth += 1
        elif event == "end_map" or event == "end_array":
            if not depth:
                inside = False
                continue
            depth -= 1
        elif event != "map_key" and not depth:
            index += 1
    return index if depth else index + 1  # between documents: the one that did not begin


def _ended(started: int, accepted: int, fed: int, index: int) -> int:
    """Where the next document's bytes are counted from, once document ``index`` has ended."""
    if fed - started > MAX_DOCUMENT_BYTES:
        raise Unreadable(_too_large(), index=index, fed=fed)
    return accepted


def built_value(chunks: Iterable[bytes]) -> object:
    [value] = values(chunks, elements=False)
    return value


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")  # json accepts NaN and Infinity; yajl and the spec do not


def line_value(line: bytes) -> object:
    """The JSON value of one line (of at most FAST_LINE_BYTES), or Unreadable."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Unreadable("is not UTF-8 text", syntax=True, column=exc.start + 1) from None
    try:
        value = json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant)
    except RecursionError:
        raise Unreadable(_too_deep()) from None
    except json.JSONDecodeError as exc:
        truncated = exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string")
        raise Unreadable(exc.msg, syntax=True, truncated=truncated, column=exc.colno) from None
    except ValueError as exc:  # NaN or Infinity, or a number past int()'s digit limit
        raise Unreadable(str(exc).split(":")[0], syntax=True) from None
    # Every value takes a byte at least, and every level an opening bracket: most lines need no walk.
    if len(line) > MAX_DOCUMENT_VALUES or line.count(b"[") + line.count(b"{") > MAX_JSON_DEPTH:
        _check_shape(value)
    return value


def _check_shape(document) -> None:
    """Refuses what the json module read that the builder would have refused: a document nested
    deeper than MAX_JSON_DEPTH, or of more than MAX_DOCUMENT_VALUES values counted as it counts them.
    Walked a level at a time, without recursion."""
    level = [document] if type(document) is dict or type(document) is list else []
    counted, depth = 1, 0
    while level:
        depth += 1
        if depth > MAX_JSON_DEPTH:
            raise Unreadable(_too_deep())
        below = []
        for container in level:
            if type(container) is dict:
                counted += 1 + 2 * len(container)
                container = container.values()
            else:
                counted += 1 + len(container)
            for value in container:
                if type(value) is dict or type(value) is list:
                    below.append(value)
        if counted > MAX_DOCUMENT_VALUES:
            raise Unreadable(_too_many())
        level = below


def locate(chunks: Iterable[bytes], accepted: int) -> tuple[int, int, int]:
    """(byte, line, column), counted from 1, of the first byte of ``chunks`` a JSON parser refuses.

    The parser took the first ``accepted`` bytes without complaint: those go in whole, the rest a
    byte at a time (one chunk at most). The column counts characters.
    """
    events = ijson.sendable_list()
    parser = ijson.basic_parse_coro(events, use_float=False)
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    position, line, column = 0, 1, 1
    for chunk in chain(chunks, (None,)):
        if chunk is None:
            parts: Iterable[bytes | None] = (None,)
        elif position + len(chunk) <= accepted:
            parts = (chunk,)
        else:
            whole = max(0, accepted - position)
            parts = chain((chunk[:whole],), (chunk[i:i + 1] for i in range(whole, len(chunk))))
        for piece in parts:
            if not piece and piece is not None:
                continue  # the parser takes an empty chunk for the end
            try:
                if piece is None:
                    parser.close()
                    return position, line, column
                parser.send(piece)
            except _PARSER_ERRORS:
                return position + 1, line, column
            del events[:]
            position += len(piece)
            newline = piece.rfind(b"\n")
            if newline >= 0:
                line += piece.count(b"\n")
                decoder.reset()
                column = 1
                piece = piece[newline + 1:]
            column += len(decoder.decode(piece))
    return position, line, column
