"""The column-wise typing of a piece's cells (bulk_admin.sources.xlsx_typing._columnwise) gives
exactly what typing them one by one gives, or leaves the piece to it."""

import pytest
from hypothesis import given, settings, strategies as st

from bulk_admin.sources import xlsx_cells, xlsx_rows, xlsx_stream, xlsx_typing
from bulk_admin.sources.xlsx_cells import _Cells, _OtherLayout

STRINGS = ["zero", "one", "Tom & Jerry"]
# Style 1 is a date format, style 2 a duration format.
DATES = {1: False, 2: True}

TYPES = [
    b"",
    b' t="n"',
    b' t="s"',
    b' t="b"',
    b' t="str"',
    b' t="inlineStr"',
    b' t="e"',
    b' t="d"',
]
STYLES = [b"", b' s="0"', b' s="1"', b' s="2"']
TEXTS = [
    b"0",
    b"1",
    b"2",
    b"12",
    b"-3",
    b" 7",
    b"1_0",
    b"1.5",
    b"1.0",
    b"1e3",
    b"1E3",
    b"nan",
    b"inf",
    b"61",
    b"28678",
    b"45293.5",
    b"0.25",
    b"99999999999999999999",
    b"9" * 400,
    b"abc",
    b"#DIV/0!",
    b"Tom &amp; Jerry",
    b"a\r\nb",
    b"2024-05-01",
    b"caf\xc3\xa9",
]
NUMBERS = [b"0", b"1", b"12", b"-3", b"1.5", b"1.0", b"1e3", b"61", b"28678", b"45293.5"]
# What each type's cells usually hold.
TYPICAL = {
    b"": NUMBERS,
    b' t="n"': NUMBERS,
    b' t="s"': [b"0", b"1", b"2"],
    b' t="b"': [b"0", b"1"],
}


def value_of(text):
    return b"<v>%s</v>" % text


def inline_of(text):
    return b"<is><t>%s</t></is>" % text


VALUES = st.sampled_from(TEXTS).map(value_of)
INLINE = st.sampled_from(TEXTS).map(inline_of)
CONTENTS = st.one_of(
    VALUES,
    INLINE,
    st.sampled_from([b"<v/>", b"<v></v>", b"", b"<f>1+1</f><v>2</v>", b'<f t="shared" si="0"/>']),
)


@st.composite
def cells_of_a_row(draw, number, tags):
    """The cells of row ``number``: in the writers' layout with one tag per column (``tags``),
    or, without ``tags``, anything: gaps, columns twice or out of order, any tag and content."""
    if tags is not None:
        columns = list(range(draw(st.integers(min_value=0, max_value=len(tags)))))
    else:
        columns = draw(st.lists(st.integers(min_value=0, max_value=6), max_size=5))
    cells = []
    for column in columns:
        letters = b"ABCDEFG"[column : column + 1]
        if tags is not None:
            style, kind = tags[column]
            texts = st.sampled_from(TYPICAL.get(kind, TEXTS)) if draw(st.booleans()) else None
            if kind == b' t="inlineStr"':
                contents = draw(INLINE if texts is None else texts.map(inline_of))
            else:
                contents = draw(VALUES if texts is None else texts.map(value_of))
        else:
            style, kind = draw(st.sampled_from(STYLES)), draw(st.sampled_from(TYPES))
            if draw(st.integers(min_value=0, max_value=9)) == 0:
                cells.append(b'<c r="%s%d"%s%s/>' % (letters, number, style, kind))
                continue
            contents = draw(CONTENTS)
        cells.append(b'<c r="%s%d"%s%s>%s</c>' % (letters, number, style, kind, contents))
    return b"".join(cells)


@st.composite
def pieces(draw):
    """A piece of rows, most of them in the writers' layout, some maybe anyhow."""
    tags = draw(
        st.lists(
            st.tuples(st.sampled_from(STYLES), st.sampled_from(TYPES)), min_size=1, max_size=6
        )
    )
    rows = []
    number = 0
    for _row in range(draw(st.integers(min_value=1, max_value=8))):
        number += draw(st.sampled_from([1, 1, 1, 2]))
        regular = draw(st.integers(min_value=0, max_value=5)) > 0
        cells = draw(cells_of_a_row(number, tags if regular else None))
        rows.append(b'<row r="%d">%s' % (number, cells))
    # A piece ends where its last row's </row> was cut off.
    return b"</row>".join(rows)


def read(piece, monkeypatch, columnwise):
    cells = _Cells(STRINGS, DATES, False)
    with monkeypatch.context() as patch:
        if not columnwise:
            patch.setattr(xlsx_rows, "_columnwise", lambda *args, **kwargs: None)
        try:
            return repr(xlsx_stream._read_rows(piece, cells, 1))  # repr: 2 and 2.0 differ
        except _OtherLayout:
            return "read by expat"


@given(piece=pieces())
@settings(max_examples=500, deadline=None)
def test_column_wise_typing_gives_what_cell_by_cell_typing_gives(piece):
    with pytest.MonkeyPatch.context() as monkeypatch:
        assert read(piece, monkeypatch, True) == read(piece, monkeypatch, False)


def test_the_common_writers_rows_are_typed_column_wise(monkeypatch):
    rows = []
    for number in range(2, 200):
        rows.append(
            b'<row r="%d" spans="1:5"><c r="A%d" t="inlineStr"><is><t>isbn %d</t></is></c>'
            b'<c r="B%d" t="s"><v>%d</v></c><c r="C%d" s="1" t="n"><v>%d</v></c>'
            b'<c r="D%d" t="n"><v>%s</v></c><c r="E%d" t="b"><v>%d</v></c>'
            % (
                number,
                number,
                number,
                number,
                number % 3,
                number,
                45000 + number,
                number,
                b"19.99" if number % 2 else b"7",
                number,
                number % 2,
            )
        )
        if number % 5 == 0:  # a row whose last cells are empty ends early
            rows[-1] = rows[-1].split(b'<c r="D')[0]
    piece = b"</row>".join(rows)
    cells = _Cells(STRINGS, DATES, False)
    found = xlsx_cells._CELL.findall
    found_rows = [found(row) for row in piece.split(b"</row>")]
    assert xlsx_typing._columnwise(found_rows, cells) is not None
    assert read(piece, monkeypatch, True) == read(piece, monkeypatch, False)


@pytest.mark.parametrize(
    "row",
    [
        b'<c r="A2"><v>1</v></c><c r="C2" s="1"/><c r="D2"><v>2</v></c>',  # a styled empty cell
        b'<c r="A2"><v>1</v></c><c r="B2"></c><c r="C2"><v>2</v></c>',  # a cell with nothing
        b'<c r="B2"><v>1</v></c><c r="A2"><v>2</v></c>',  # out of order
        b'<c r="A2"><v>1</v></c><c r="A2"><v>2</v></c>',  # a column twice
        b'<c r="A2" t="s"><v>7</v></c>',  # a shared string beyond the table
    ],
    ids=["styled-empty", "empty", "out-of-order", "twice", "shared-beyond"],
)
def test_rows_other_than_a_to_the_last_keep_their_cells_where_they_are(row, monkeypatch):
    piece = b'<row r="1"><c r="A1"><v>0</v></c></row><row r="2">' + row
    assert read(piece, monkeypatch, True) == read(piece, monkeypatch, False)


def test_a_far_cell_does_not_widen_the_other_rows(monkeypatch):
    # A row reaching column XFD is typed cell by cell: padded, it would make each of the
    # piece's rows 16,384 cells wide (seconds and 140 MB for a piece, found by a review).
    rows = [
        b'<row r="%d"><c r="A%d"><v>0</v></c><c r="B%d"><v>1</v></c>' % (number, number, number)
        + (b'<c r="XFD%d"><v>1</v></c>' % number if number == 50 else b"")
        for number in range(1, 101)
    ]
    piece = b"</row>".join(rows)
    cells = _Cells(STRINGS, DATES, False)
    padded = []
    real = xlsx_typing._with_gaps_padded

    def counted(*args):
        padded.append(real(*args))
        return padded[-1]

    monkeypatch.setattr(xlsx_typing, "_with_gaps_padded", counted)
    records, _next_row = xlsx_stream._read_rows(piece, cells, 1)
    assert padded == [None]
    assert records[49] == [0, 1] + [None] * 16_381 + [1]
    assert read(piece, monkeypatch, True) == read(piece, monkeypatch, False)
