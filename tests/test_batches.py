"""Rows a list at a time (Source.row_batches, sources/batches.py): the rows of rows(), exactly.

The importer reads a source's rows a list at a time; for the streaming XLSX reader, a piece
of the sheet's XML at a time, checked for blank rows and limits with no Python per row. This
compares them with ``rows()`` (the reference, one row at a time) on generated workbooks:
blank and whitespace rows, rows the sheet leaves out, far rows, expat instead of the fast
path, and the row, column and cell limits.
"""

import io

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from bulk_admin.exceptions import SourceError
from bulk_admin.sources import open_source, xlsx_stream
from bulk_admin.sources.batches import Records
from bulk_admin.sources.csv import CsvSource

CELL = st.one_of(
    st.none(),
    st.sampled_from(["", " ", "\t", "\xa0", "x", "long text " * 3]),
    st.integers(-5, 5),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]), max_size=6),
    st.floats(allow_nan=False, allow_infinity=False),
)
# A row: its cells, or None for a row the sheet leaves out (no <row> at all). Most rows
# start with a value, as most files' rows do: lists of such rows are read with no Python
# per row, and must still cross the limits where rows() does.
ROW = st.one_of(
    st.builds(lambda first, rest: [first, *rest], st.integers(1, 9), st.lists(CELL, max_size=4)),
    st.builds(lambda first, rest: [first, *rest], st.integers(1, 9), st.lists(CELL, max_size=4)),
    st.none(),
    st.lists(CELL, max_size=5),
)
GAP = st.sampled_from([1] * 12 + [2, 40, 2000])


def workbook(rows, gaps):
    """An XLSX file of a header and ``rows``, the n-th row ``gaps[n]`` rows after the last."""
    book = openpyxl.Workbook()
    sheet = book.active
    for column, name in enumerate(["a", "b", "c", "d", "e"], start=1):
        sheet.cell(row=1, column=column, value=name)
    number = 1
    for cells, gap in zip(rows, gaps, strict=False):
        number += gap
        for column, value in enumerate(cells or [], start=1):
            if value is not None:
                sheet.cell(row=number, column=column, value=value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def read(data, batches, size=7, name="file.xlsx"):
    """The rows read, or the rows read before a SourceError and its message."""
    rows = []
    try:
        with open_source(io.BytesIO(data), name=name) as source:
            if batches:
                for batch in source.row_batches(size):
                    rows.extend(batch)
            else:
                rows.extend(source.rows())
    except SourceError as error:
        return rows, str(error)
    return rows


LIMITS = st.fixed_dictionaries(
    {
        "BULK_ADMIN_MAX_ROWS": st.sampled_from([0, 3, 30]),
        "BULK_ADMIN_MAX_COLUMNS": st.sampled_from([1000, 3]),
        "BULK_ADMIN_MAX_CELL_SIZE": st.sampled_from([16 * 1024 * 1024, 12]),
    }
)


@pytest.mark.parametrize("path", ["common", "expat"])
@hypothesis_settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rows=st.lists(ROW, max_size=60),
    gaps=st.lists(GAP, min_size=60, max_size=60),
    limits=LIMITS,
    piece=st.sampled_from([64, 1024, 256 * 1024]),
)
def test_row_batches_give_the_rows_of_rows(settings, monkeypatch, path, rows, gaps, limits, piece):
    settings.BULK_ADMIN_XLSX_READER = "stream"
    for name, value in limits.items():
        setattr(settings, name, value)
    monkeypatch.setattr(xlsx_stream, "_PIECE", piece)
    if path == "expat":
        monkeypatch.setattr(xlsx_stream, "_EXPAT_BATCH", 5)

        def other(*args):
            raise xlsx_stream._OtherLayout

        monkeypatch.setattr(xlsx_stream, "_common_layout", other)
    data = workbook(rows, gaps)
    assert read(data, batches=True) == read(data, batches=False)


@pytest.mark.parametrize("reader", ["calamine", "openpyxl"])
def test_other_readers_give_their_rows_a_list_at_a_time(settings, reader):
    pytest.importorskip("python_calamine")
    settings.BULK_ADMIN_XLSX_READER = reader
    data = workbook([[1, "a"], [None], [" "], [2, "b"]] * 5, [1, 3] * 10)
    assert read(data, batches=True, size=3) == read(data, batches=False)
    assert len(read(data, batches=False)) == 10


@pytest.mark.parametrize("size", [1, 2, 100])
def test_rows_before_an_error_are_given_first(settings, size):
    settings.BULK_ADMIN_MAX_CELL_SIZE = 5
    data = b"a,b\n1,x\n2,y\n3,toolong\n4,z\n"
    expected = ([(2, ["1", "x"]), (3, ["2", "y"])], read(data, False, name="f.csv")[1])
    assert read(data, batches=False, name="f.csv") == expected
    assert read(data, batches=True, size=size, name="f.csv") == expected


def test_csv_rows_a_list_at_a_time():
    text = "a,b\n" + "1,x\n\n ,\n2,y\n" * 3
    source = CsvSource(io.BytesIO(text.encode()))
    batches = list(source.row_batches(2))
    assert [len(batch) for batch in batches] == [2, 2, 2]
    assert [number for batch in batches for number, _cells in batch] == [2, 5, 6, 9, 10, 13]


def test_records_iterated_then_a_list_at_a_time():
    records = Records(iter([[["h"], 2, ["a"]], [0, ["b"], 1], [["c"]]]))
    assert next(records) == ["h"]
    assert next(records) == []  # the first of two rows left out
    assert list(records.batches()) == [[1, ["a"]], [0, ["b"], 1], [["c"]]]
    flat = Records(iter([[["h"], 2, ["a"]], [0, ["b"], 1], [["c"]]]))
    assert list(flat) == [["h"], [], [], ["a"], ["b"], [], ["c"]]


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("BULK_ADMIN_MAX_ROWS", 3, "The file has more than 3 data rows"),
        ("BULK_ADMIN_MAX_COLUMNS", 5, "Row 4 has 6 columns"),
        ("BULK_ADMIN_MAX_CELL_SIZE", 5, "Row 5, column 2 holds 6 characters"),
    ],
)
def test_a_clean_list_still_crosses_the_limits(settings, setting, value, message):
    settings.BULK_ADMIN_XLSX_READER = "stream"
    setattr(settings, setting, value)
    rows = [[1, "a"], [2, "b"], [3, "c", "d", "e", "f", "g"], [4, "eeeeee"], [5, "f"]]
    data = workbook(rows, [1] * 5)
    assert read(data, batches=True, size=100) == read(data, batches=False)
    assert read(data, batches=False)[1].startswith(message)
