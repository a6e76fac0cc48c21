"""Reading an export: JSON documents and CSV rows with flat memory, and a located refusal for
anything malformed, truncated or past a limit, whatever its shape."""

import gzip
import json
import tracemalloc
import zipfile
from decimal import Decimal

import pytest

from leaderboard.ingestion import detect_format, json_documents, reading
from leaderboard.ingestion.reading import Export
from leaderboard.ingestion.rows import ImportRefused


def write(tmp_path, content, name="export.json"):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def documents(path):
    return list(Export(path, name=path.name, limit=10**10).documents())


def refusal(path) -> str:
    with pytest.raises(ImportRefused) as refused:
        documents(path)
    [problem] = refused.value.problems
    return str(problem)


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def peak_memory(read) -> int:
    tracemalloc.start()
    try:
        read()
    finally:
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak


# --- The shapes every API format accepts -------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "places"),
    [
        (json.dumps({"data": [{"id": 1, "cost": 0.25}], "has_more": False}, indent=2), ["$"]),
        ("[" + json.dumps({"data": []}) + ",\n" + json.dumps({"data": [1]}) + "]", ["[0]", "[1]"]),
        ('{"data": []}\n\n{"data": [1]}\n', ["line 1", "line 3"]),
        ('\ufeff\n{"data": []}\r\n', ["line 2"]),
        ("\ufeff[1, 2]", ["[0]", "[1]"]),
    ],
)
def test_it_reads_one_page_an_array_of_pages_or_json_lines(tmp_path, content, places):
    assert [where for where, _doc in documents(write(tmp_path, content))] == places


def test_it_reads_decimals_as_decimals_and_whole_numbers_as_ints(tmp_path):
    for content in (json.dumps({"data": [{"id": 1, "cost": 0.25}]}, indent=2), '[{"data": [{"id": 1, "cost": 0.25}]}]',
                    '{"data": [{"id": 1, "cost": 0.25}]}\n'):
        [(_where, doc)] = documents(write(tmp_path, content))
        assert doc == {"data": [{"id": 1, "cost": Decimal("0.25")}]}
        assert type(doc["data"][0]["id"]) is int


def test_it_reads_gzip_and_zip(tmp_path):
    content = b'[{"data": []}]'
    gz = write(tmp_path, gzip.compress(content), name="export.json.gz")
    with zipfile.ZipFile(tmp_path / "export.zip", "w") as archive:
        archive.writestr("export.json", content)
    assert documents(gz) == documents(tmp_path / "export.zip") == [("[0]", {"data": []})]


def test_it_reads_a_long_json_line_without_the_fast_path(tmp_path, monkeypatch):
    monkeypatch.setattr(json_documents, "FAST_LINE_BYTES", 64)
    monkeypatch.setattr(json_documents, "CHUNK_BYTES", 16)
    pages = [{"data": [{"id": n, "name": "x" * 40}]} for n in range(3)]
    content = "".join(json.dumps(page) + "\n" for page in pages)
    assert documents(write(tmp_path, content)) == [(f"line {n + 1}", page) for n, page in enumerate(pages)]


# --- Malformed and truncated JSON, located ----------------------------------------------------


def test_it_locates_malformed_json_in_a_single_document_by_line_and_column(tmp_path):
    content = '\ufeff\n{\n  "data": [1, 2,\n     x]\n}\n'
    assert refusal(write(tmp_path, content)).startswith("export.json line 4 column 6: malformed JSON")


def test_it_locates_malformed_json_in_an_array_by_index(tmp_path):
    message = refusal(write(tmp_path, '[{"data": []},\n {"data": [tru]}]'))
    assert message.startswith("export.json [1]: malformed JSON at line 2 column 15 (byte 30)")


def test_it_locates_malformed_json_lines_by_line(tmp_path):
    message = refusal(write(tmp_path, '{"data": []}\n{"data": [}\n{"data": []}\n'))
    assert message.startswith("export.json line 2: malformed JSON at column 11")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"data": [', "export.json: the file ends in the middle of a JSON document (byte 10)"),
        ('{\n  "data": [1, 2', "export.json: the file ends in the middle of a JSON document (byte 17)"),
        ('[{"data": []}, {"data": [', "export.json [1]: the file ends in the middle of a JSON document (byte 25)"),
        ('{"data": []}\n{"data": [', "export.json line 2: the file ends in the middle of a JSON document (byte 23)"),
    ],
)
def test_it_says_a_truncated_file_is_truncated(tmp_path, content, expected):
    assert refusal(write(tmp_path, content)) == expected


def test_it_says_a_json_line_that_stops_short_does(tmp_path):
    message = refusal(write(tmp_path, '{"data": []}\n{"data": [\n{"data": []}\n'))
    assert message == "export.json line 2: malformed JSON: the line ends in the middle of a JSON document"


@pytest.mark.parametrize("content", ['[{"cost": NaN}]', '{"cost": Infinity}\n', '{"cost": [NaN]}\n{}\n'])
def test_it_refuses_nan_and_infinity_which_json_has_not(tmp_path, content):
    assert "malformed JSON" in refusal(write(tmp_path, content))


@pytest.mark.parametrize("layout", ["array", "line", "document"])
def test_it_refuses_a_number_too_long_to_read_as_malformed(tmp_path, layout):
    number = "1" * 5000
    content = {"array": f"[{number}]", "line": f'{{"n": {number}}}\n', "document": f'{{\n"n": {number}\n}}'}[layout]
    assert "malformed JSON" in refusal(write(tmp_path, content))


def test_detection_says_what_is_wrong_with_broken_json_rather_than_that_it_knows_no_format(tmp_path):
    path = write(tmp_path, '{"data": [{"starting_at": "2026-10-01T00:00:00Z", "results": [')
    with pytest.raises(ImportRefused) as refused:
        detect_format(Export(path, name=path.name, limit=10**9))
    assert "ends in the middle of a JSON document" in str(refused.value)
    assert "not a usage export" not in str(refused.value)


def test_detection_still_recognises_a_file_broken_after_its_first_pages(tmp_path, samples):
    pages = (samples / "openai" / "usage_completions_pages.json").read_text().rstrip().removesuffix("]")
    path = write(tmp_path, pages + ', {"object": "page", "data": [')
    assert detect_format(Export(path, name=path.name, limit=10**9)).name == "openai_usage"


# --- Limits: nesting, size, values ----------------------------------------------------------------


@pytest.mark.parametrize("depth", [20_000, 200_000])
def test_it_refuses_deeply_nested_arrays_at_once_and_with_flat_memory(tmp_path, depth):
    path = write(tmp_path, nested(depth))  # 40 KB took 885 MB, 400 KB 22 GB
    message = ""

    def read():
        nonlocal message
        message = refusal(path)

    assert peak_memory(read) < 50 * 1024 * 1024
    assert message.startswith(f"export.json [0]: is nested more than {json_documents.MAX_JSON_DEPTH} levels deep")


def test_detection_refuses_the_deep_file_saying_where(tmp_path):
    path = write(tmp_path, nested(20_000))
    with pytest.raises(ImportRefused, match=r"export.json \[0\]: is nested more than 64 levels deep"):
        detect_format(Export(path, name=path.name, limit=10**9))


@pytest.mark.parametrize(
    ("content", "where"),
    [
        (b'{"a":' * 20_000 + b"1" + b"}" * 20_000, "export.json line 1"),  # a JSON line
        (b'{\n"a":' + b'{"a":' * 100 + b"1" + b"}" * 101, "export.json"),  # one pretty-printed document
        (b'{"a": 1}\n' + b'{"a":' * 70 + b"1" + b"}" * 70 + b"\n", "export.json line 2"),
    ],
)
def test_it_refuses_deeply_nested_objects_in_every_layout(tmp_path, content, where):
    assert refusal(write(tmp_path, content)).startswith(f"{where}: is nested more than 64 levels deep")


def test_it_reads_a_document_nested_as_deep_as_allowed(tmp_path):
    depth = json_documents.MAX_JSON_DEPTH
    line = b'{"a":' * (depth - 1) + b"[]" + b"}" * (depth - 1) + b"\n"
    pretty = b"\n" + line.replace(b":", b":\n")
    array = nested(depth + 1)  # the outer array holds the documents; it is not one of their levels
    for content in (array, line, pretty):
        assert len(documents(write(tmp_path, content))) == 1
    assert "nested more than 64" in refusal(write(tmp_path, nested(depth + 2)))


def test_it_refuses_a_json_line_longer_than_a_document_may_be_before_reading_it_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(json_documents, "MAX_DOCUMENT_BYTES", 100_000)
    path = write(tmp_path, b'{"daily": []}\n{"daily": [' + b'{"date": "2026-10-01"},' * 20_000 + b"{}]}\n")
    assert refusal(path).startswith("export.json line 2: is a JSON document larger than 100,000 bytes")


@pytest.mark.parametrize("layout", ["array", "document"])
def test_it_refuses_a_document_larger_than_the_limit(tmp_path, monkeypatch, layout):
    monkeypatch.setattr(json_documents, "MAX_DOCUMENT_BYTES", 100_000)
    monkeypatch.setattr(json_documents, "CHUNK_BYTES", 4096)
    page = b'{"data": [' + b'{"date": "2026-10-01"},\n' * 10_000 + b"{}]}"
    content = b"[" + page + b"]" if layout == "array" else b"{\n" + page[1:]
    where = "export.json [0]" if layout == "array" else "export.json"
    assert refusal(write(tmp_path, content)).startswith(f"{where}: is a JSON document larger than 100,000 bytes")


def test_the_document_limit_applies_to_each_element_not_the_whole_array(tmp_path, monkeypatch):
    monkeypatch.setattr(json_documents, "MAX_DOCUMENT_BYTES", 100_000)
    monkeypatch.setattr(json_documents, "CHUNK_BYTES", 4096)
    content = b"[" + b",\n".join([b'{"data": [' + b"1," * 1000 + b"1]}"] * 200) + b"]"
    assert len(documents(write(tmp_path, content))) == 200


@pytest.mark.parametrize(
    ("content", "where"),
    [
        (b"[[" + b"{}," * 1000 + b"{}]]", "export.json [0]"),
        (b'{"a": 1}\n{"a": [' + b"1.5," * 1000 + b"1]}\n", "export.json line 2"),  # the json module's
        (b'{"a": 1}\n{"a": [' + b"1.5," * 3000 + b"1]}\n", "export.json line 2"),  # the builder's
        (b'{\n"a": [' + b"[]," * 1000 + b"1]}\n", "export.json"),
    ],
)
def test_it_refuses_a_document_of_more_values_than_the_limit(tmp_path, monkeypatch, content, where):
    # An empty object is 2 bytes of text and 64 of memory: bytes alone would not bound a document.
    monkeypatch.setattr(json_documents, "MAX_DOCUMENT_VALUES", 1000)
    monkeypatch.setattr(json_documents, "FAST_LINE_BYTES", 10_000)
    monkeypatch.setattr(json_documents, "CHUNK_BYTES", 1024)
    message = refusal(write(tmp_path, content))
    assert message.startswith(f"{where}: is a JSON document of more than 1,000 values")


@pytest.mark.parametrize("layout", ["array", "line"])
def test_it_refuses_an_endless_string_before_holding_it(tmp_path, monkeypatch, layout):
    monkeypatch.setattr(json_documents, "MAX_JSON_TOKEN_BYTES", 100_000)
    monkeypatch.setattr(json_documents, "FAST_LINE_BYTES", 50_000)
    string = b'"' + b"a" * 300_000 + b'"'
    content = b"[" + string + b"]" if layout == "array" else b'{"a": ' + string + b"}\n"
    assert "holds a string or number longer than 100,000 bytes" in refusal(write(tmp_path, content))


def test_it_refuses_the_one_line_document_that_expands_from_a_small_gzip(tmp_path, monkeypatch):
    monkeypatch.setattr(json_documents, "MAX_DOCUMENT_BYTES", 1_000_000)
    row = b'{"date": "2026-10-01", "inputTokens": 10, "outputTokens": 20, "totalCost": 0.5},'
    content = gzip.compress(b'{"daily": [' + row * 100_000 + b"{}]}")  # 8 MB in 60 KB
    message = refusal(write(tmp_path, content, name="ccusage.json.gz"))
    assert message.startswith("ccusage.json.gz line 1: is a JSON document")


# --- Archives ---------------------------------------------------------------------------------


PAGES = json.dumps([{"data": [{"id": n, "tokens": n * 7919 % 10007}]} for n in range(2000)]).encode()


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (gzip.compress(PAGES)[:-2000], "cut.json.gz"),
        (gzip.compress(PAGES)[:5000] + b"\xff" * 100 + gzip.compress(PAGES)[5100:], "corrupt.json.gz"),
        (b"\x1f\x8b\x08\x00" + b"\x00" * 40, "junk.gz"),
        (b"PK\x03\x04" + b"\x00" * 40, "junk.zip"),
    ],
)
def test_it_refuses_a_broken_archive_as_a_file_that_cannot_be_read(tmp_path, content, name):
    with pytest.raises(ImportRefused, match=f"^{name}: is not a readable (gzip|zip) file"):
        documents(write(tmp_path, content, name=name))


# --- CSV --------------------------------------------------------------------------------------


def test_it_refuses_a_csv_header_cell_longer_than_the_cell_limit(tmp_path):
    path = write(tmp_path, "date," + "x" * (reading.CSV_FIELD_LIMIT + 1) + "\n2026-10-01,1\n", name="usage.csv")
    export = Export(path, name=path.name, limit=10**10)
    with pytest.raises(ImportRefused) as refused:
        export.header()
    assert str(refused.value) == "usage.csv line 1: a cell is longer than 16,777,216 bytes"
    with pytest.raises(ImportRefused, match="usage.csv line 1: a cell is longer than"):
        detect_format(export)


def test_it_refuses_a_csv_cell_longer_than_the_cell_limit_naming_its_line(tmp_path):
    path = write(tmp_path, "a,b\n1,2\n3," + "x" * (reading.CSV_FIELD_LIMIT + 1) + "\n", name="usage.csv")
    with pytest.raises(ImportRefused, match="usage.csv line 3: a cell is longer than 16,777,216 bytes"):
        list(Export(path, name=path.name, limit=10**10).rows())


@pytest.mark.parametrize("text", ["a,b\n1," + "x" * 3000 + "\n", 'a,b\n1,"' + "x\n" * 1500 + '"\n'],
                         ids=["one long line", "a quoted cell over many lines"])
def test_it_refuses_a_csv_row_longer_than_the_row_limit_before_reading_it_whole(tmp_path, monkeypatch, text):
    monkeypatch.setattr(reading, "MAX_CSV_ROW", 2000)
    path = write(tmp_path, text, name="usage.csv")
    with pytest.raises(ImportRefused, match=r"usage.csv line \d+: a row longer than 2,000 characters"):
        list(Export(path, name=path.name, limit=10**9).rows())


def test_it_reads_csv_with_a_nul_in_a_cell_for_the_parser_to_judge(tmp_path):
    path = write(tmp_path, "a,b\n1,x\x00y\n", name="usage.csv")
    assert list(Export(path, name=path.name, limit=10**9).rows()) == [("line 2", {"a": "1", "b": "x\x00y"})]
