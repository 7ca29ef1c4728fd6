"""The streaming XLSX reader (bulk_admin.sources.xlsx_stream): the common layout read by
regular expressions gives exactly what expat's path gives, which gives what python-calamine and
openpyxl give; anything else in the part sends the whole part to expat; memory stays flat."""

import datetime
import tracemalloc
import zipfile

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from bulk_admin.exceptions import SourceError
from bulk_admin.peek import _shared_string_items
from bulk_admin.results import BadCell
from bulk_admin.sources import XlsxSource, xlsx_stream, xlsx_strings
from bulk_admin.workbook import Workbook
from tests.test_peek import with_shared_strings
from tests.test_sources import SHEET, normalized, read_error, rewrite_member

HEAD = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
TAIL = b"</sheetData></worksheet>"


def records(path, reader="stream"):
    with open(path, "rb") as file, XlsxSource(file, reader=reader) as source:
        return source.info.headers, list(source.rows())


@pytest.fixture
def paths(monkeypatch):
    """Count the blocks each path reads."""
    seen = {"common": 0, "expat": 0}
    common, raw = xlsx_stream._read_rows, xlsx_stream._raw_rows

    def counted_common(*args):
        seen["common"] += 1
        return common(*args)

    def counted_raw(*args):
        seen["expat"] += 1
        return raw(*args)

    monkeypatch.setattr(xlsx_stream, "_read_rows", counted_common)
    monkeypatch.setattr(xlsx_stream, "_raw_rows", counted_raw)
    return seen


def trimmed(cells):
    return [cell.strip() if isinstance(cell, str) else cell for cell in cells]


def expat_only(monkeypatch):
    def other(*args):
        raise xlsx_stream._OtherLayout

    monkeypatch.setattr(xlsx_stream, "_common_layout", other)
    monkeypatch.setattr(xlsx_strings, "_plain_strings", other)


def outcome(path, monkeypatch, expat=False):
    """The records read, or the message of the SourceError the reading ends in."""
    with monkeypatch.context() as patch:
        if expat:
            expat_only(patch)
        try:
            return records(path)
        except SourceError as error:
            return str(error)


def sheet_of(tmp_path, xml, name="hand.xlsx"):
    """A workbook whose sheet part is ``xml``."""
    book = openpyxl.Workbook()
    book.active.append(["x"])
    path = tmp_path / name
    book.save(path)
    return rewrite_member(path, SHEET, lambda _old: xml)


TEXT = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00\r"), max_size=12
).filter(lambda text: not any(ord(c) < 32 and c not in "\t\n" for c in text))
CELL = st.one_of(
    st.none(),
    TEXT,
    st.sampled_from(["Tom & Jerry", "<b>", "a\nb", "  spaced  ", "=1+1", "&amp;", "ü ✓"]),
    st.booleans(),
    st.integers(min_value=-(10**15), max_value=10**15),
    st.floats(allow_nan=False, allow_infinity=False),
    st.dates(min_value=datetime.date(1900, 3, 1)),
    st.datetimes(min_value=datetime.datetime(1900, 3, 1)).map(
        lambda value: value.replace(microsecond=0)
    ),
    st.integers(min_value=0, max_value=10**8).map(
        lambda seconds: datetime.timedelta(seconds=seconds)
    ),
)


@given(
    rows=st.lists(st.lists(CELL, min_size=1, max_size=6), min_size=1, max_size=12),
    shared=st.booleans(),
)
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_the_common_layout_gives_what_expat_and_the_other_readers_give(
    tmp_path_factory, monkeypatch, rows, shared
):
    seen = {"expat": 0}
    raw = xlsx_stream._raw_rows

    def counted_raw(*args):
        seen["expat"] += 1
        return raw(*args)

    book = openpyxl.Workbook()
    book.active.append(["a", "b", "c", "d", "e", "f"])
    for row in rows:
        book.active.append(row)
    path = tmp_path_factory.mktemp("stream") / "book.xlsx"
    book.save(path)
    if shared:
        path = with_shared_strings(path)
    with monkeypatch.context() as patch:
        patch.setattr(xlsx_stream, "_raw_rows", counted_raw)
        streamed = records(path)
    assert seen["expat"] == 0  # everything openpyxl writes is in the common layout
    for reader in ("calamine", "openpyxl"):
        headers, rows_read = records(path, reader)
        expected = streamed
        if reader == "calamine":
            # calamine trims the ends of a text written without xml:space="preserve" (openpyxl
            # writes "\n" so); expat, openpyxl and the stream keep them.
            expected = trimmed(streamed[0]), [(n, trimmed(cells)) for n, cells in streamed[1]]
            headers, rows_read = trimmed(headers), [(n, trimmed(cells)) for n, cells in rows_read]
        assert headers == expected[0]
        assert normalized(rows_read) == normalized(expected[1])
    with monkeypatch.context() as patch:
        expat_only(patch)
        assert records(path) == streamed  # the same types too: 2 and 2.0 differ here


def test_a_day_number_is_a_date_or_a_duration_by_its_own_style(tmp_path):
    # 61 is 1900-03-01 in a date style and 61 days in a duration style, in any order.
    book = openpyxl.Workbook()
    rows = [
        ["when", "how long"],
        [datetime.date(1900, 3, 1), datetime.timedelta(days=61)],
        [datetime.date(1900, 3, 1), datetime.timedelta(days=61)],
        [datetime.timedelta(days=61), datetime.date(1900, 3, 1)],
    ]
    for row in rows:
        book.active.append(row)
    path = tmp_path / "days.xlsx"
    book.save(path)
    _headers, read = records(path)
    assert [cells for _number, cells in read] == rows[1:]


def test_an_openpyxl_workbook_is_read_by_the_common_layout_path(tmp_path, paths):
    book = openpyxl.Workbook()
    for number in range(3000):
        book.active.append([number, "title %d" % number, number / 8, datetime.date(2024, 1, 2)])
    path = tmp_path / "book.xlsx"
    book.save(path)
    headers, rows = records(with_shared_strings(path))
    assert headers == ["0", "title 0", "0", "2024-01-02"]
    assert rows[-1] == (3000, [2999, "title 2999", 2999 / 8, datetime.date(2024, 1, 2)])
    assert paths["common"] >= 1 and paths["expat"] == 0


def test_the_layouts_of_other_writers(tmp_path, paths):
    xml = (
        HEAD + b'<row r="1" spans="1:4" ht="15"><c r="A1" s="0" t="s"><v>0</v></c>'
        b'<c r="B1" t="str"><f>A1&amp;"!"</f><v>Tom &amp; Jerry&#10;&#x41;</v></c>'
        b'<c r="C1" t="e"><f>1/0</f><v>#DIV/0!</v></c><c r="D1" t="b"><v>1</v></c></row>'
        b'<row r="3"/><row r="4"><c r="B4" s="1"/><c r="C4"><v>  </v></c>'
        b'<c r="D4" t="inlineStr"><is><t xml:space="preserve"> x </t></is></c></row>' + TAIL
    )
    path = sheet_of(tmp_path, xml)
    with zipfile.ZipFile(path) as archive:
        assert b"sharedStrings" not in archive.read("[Content_Types].xml")
    with open(path, "rb") as file, XlsxSource(file, reader="stream") as source:
        assert source.info.headers[:2] == ["", "Tom & Jerry\nA"]  # no shared strings part
        error = source.info.headers[2]
        assert isinstance(error, BadCell) or error == "#DIV/0!"
        assert list(source.rows()) == [(4, [None, None, None, " x "])]
    assert paths == {"common": 1, "expat": 0}


@pytest.mark.parametrize(
    "odd",
    [
        b"<!-- a comment -->",
        b'<c r="B2" t="inlineStr"><is><r><t>rich</t></r><r><t> text</t></r></is></c>',
        b'<c r="B2"><v>5</v><extLst/></c>',
        b"<c><v>5</v></c>",
        b"<c r='B2'><v>5</v></c>",
    ],
    ids=["comment", "rich-inline-text", "unknown-child", "no-reference", "single-quotes"],
)
def test_anything_else_sends_the_part_to_expat_with_the_same_rows(
    tmp_path, monkeypatch, paths, odd
):
    rows = b"".join(
        b'<row r="%d"><c r="A%d"><v>%d</v></c>%s</row>'
        % (number, number, number, odd if number == 2 else b"")
        for number in range(1, 5)
    )
    path = sheet_of(tmp_path, HEAD + rows + TAIL)
    streamed = records(path)
    assert paths["common"] == 1 and paths["expat"] == 1
    assert streamed[1][0][1][0] == 2
    assert streamed[1][0][1][1:] in ([5], ["rich text"], [])
    with monkeypatch.context() as patch:
        expat_only(patch)
        assert records(path) == streamed


def test_attributes_expat_ignores_are_ignored_by_the_common_layout_too(
    tmp_path, monkeypatch, paths
):
    xml = (
        HEAD + b'<row r="1"><c r="A1" t="n" cm="1" vm="2"><v>5</v></c>'
        b'<c r="B1" s=\'0\' ph="1" t="n" ><v>6</v></c><c r="C1"  s="x"><v>7</v></c></row>' + TAIL
    )
    path = sheet_of(tmp_path, xml)
    streamed = records(path)
    assert streamed == (["5", "6", "7"], [])
    assert paths == {"common": 1, "expat": 0}
    with monkeypatch.context() as patch:
        expat_only(patch)
        assert records(path) == streamed


def test_a_block_in_another_layout_after_many_rows_keeps_every_row_once(tmp_path, paths):
    book = openpyxl.Workbook()
    for number in range(60_000):
        book.active.append([number, "t%d" % number])
    path = tmp_path / "long.xlsx"
    book.save(path)
    rewrite_member(
        path, SHEET, lambda xml: xml.replace(b"</sheetData>", b"<!-- end --></sheetData>")
    )
    headers, rows = records(path)
    assert headers == ["0", "t0"]
    assert [number for number, _cells in rows] == list(range(2, 60_001))
    assert [cells[0] for _number, cells in rows] == list(range(1, 60_000))
    assert paths["common"] > 1 and paths["expat"] == 1  # blocks before the comment, then expat


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        (
            b'<row r="1"><c r="A1"><v>1</v></c></row><row r="1"><c r="A1"><v>2</v></c></row>',
            "The file is not a valid XLSX workbook (the row number “1” is not a number or out "
            "of order).",
        ),
        (
            b'<row r="1"><c r="XFE1"><v>1</v></c></row>',
            "The file is not a valid XLSX workbook (it places a cell beyond Excel's last row "
            "1048576 or last column XFD).",
        ),
        (
            b'<row r="1048577"><c r="A1048577"><v>1</v></c></row>',
            "The file is not a valid XLSX workbook (it places a cell beyond Excel's last row "
            "1048576 or last column XFD).",
        ),
        (
            b'<row r="1"><c r="A1" t="n"><v>abc</v></c></row>',
            "Row 1 of the workbook cannot be read: a number cell holds “abc”, which is not a "
            "number",
        ),
        (b'<row r="1"><c r="A1" t="str"><v>&nbsp;</v></c></row>', "not valid XML"),
        (b'<row r="1"><c r="A1" t="str"><v>a\x01b</v></c></row>', "not valid XML"),
    ],
    ids=["row-order", "far-column", "far-row", "bad-number", "unknown-entity", "control-char"],
)
def test_what_no_spreadsheet_writes_ends_in_a_message(tmp_path, settings, xml, message):
    settings.BULK_ADMIN_XLSX_READER = "stream"
    path = sheet_of(tmp_path, HEAD + xml + TAIL)
    assert message in read_error(path)


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        (b'<c r="B%d" t="n"><v>abc</v></c>', "a number cell holds “abc”, which is not a number"),
        (b'<c r="B%d" t="s"><v>x</v></c>', "a shared string cell holds “x”, which is not a"),
    ],
    ids=["number", "shared-string"],
)
def test_a_bad_cell_far_down_names_its_own_row(tmp_path, settings, cell, message):
    settings.BULK_ADMIN_XLSX_READER = "stream"
    rows = b"".join(
        b'<row r="%d"><c r="A%d"><v>%d</v></c>%s</row>'
        % (number, number, number, cell % number if number == 4000 else b"")
        for number in range(1, 5001)
    )
    path = sheet_of(tmp_path, HEAD + rows + TAIL)
    error = read_error(path)
    assert error.startswith("Row 4000 of the workbook cannot be read: " + message), error


@pytest.mark.parametrize("path", ["common", "expat"])
def test_memory_does_not_grow_with_the_sheet(tmp_path, monkeypatch, path):
    # Blocks of 64 KiB instead of 256 KiB, so that a short sheet is already many blocks long.
    monkeypatch.setattr("bulk_admin.workbook._BLOCK", 64 * 1024)
    monkeypatch.setattr(xlsx_stream, "_PIECE", 16 * 1024)
    if path == "expat":
        expat_only(monkeypatch)  # which once kept an element per row read

    def peak(rows):
        book = openpyxl.Workbook(write_only=True)
        sheet = book.create_sheet("Data")
        for number in range(rows):
            sheet.append([number, "title %d" % number, number * 1.5])
        path = tmp_path / f"{rows}.xlsx"
        book.save(path)
        with open(path, "rb") as file, XlsxSource(file, reader="stream") as source:
            tracemalloc.start()
            try:
                count = sum(1 for _row in source.rows())
                _current, top = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
        assert count == rows - 1
        return top

    # 10,000 rows are about 11 blocks, 40,000 about 45: the peak is that of a block or two.
    small, large = peak(10_000), peak(40_000)
    assert large < 1.25 * small, (small, large)
    assert large < (1 if path == "common" else 2) * 1024 * 1024, large


@pytest.fixture
def small_book(tmp_path):
    book = openpyxl.Workbook()
    for row in (["a"], [1], [2]):
        book.active.append(row)
    path = tmp_path / "small.xlsx"
    book.save(path)
    with zipfile.ZipFile(path) as archive:
        return path, archive.getinfo(SHEET).file_size


def reader_of(path):
    with open(path, "rb") as file, XlsxSource(file, reader="calamine") as source:
        return source.reader, list(source.rows())


def test_a_sheet_part_too_large_for_calamine_is_streamed_without_a_scan(
    small_book, settings, monkeypatch
):
    path, size = small_book
    settings.BULK_ADMIN_XLSX_MAX_CALAMINE_CELLS = size // 20 - 1
    monkeypatch.setattr("bulk_admin.workbook.Workbook.scan", None)  # would fail if called
    assert reader_of(path) == ("stream", [(2, [1]), (3, [2])])


def test_a_sheet_whose_range_is_too_large_for_calamine_is_streamed(small_book, settings):
    path, size = small_book
    # The part is small, but its range counts 26 columns (up to Z) for each of 3 rows.
    settings.BULK_ADMIN_XLSX_MAX_CALAMINE_CELLS = 3 * 26 - 1
    assert size < 20 * (3 * 26 - 1)
    assert reader_of(path) == ("stream", [(2, [1]), (3, [2])])
    settings.BULK_ADMIN_XLSX_MAX_CALAMINE_CELLS = 3 * 26
    assert reader_of(path) == ("calamine", [(2, [1.0]), (3, [2.0])])


def shared_book(tmp_path, rows, rich=False):
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    path = tmp_path / "shared.xlsx"
    book.save(path)
    path = with_shared_strings(path)
    if rich:  # one item of rich text, as Excel writes a cell with two fonts
        rewrite_member(
            path,
            "xl/sharedStrings.xml",
            lambda xml: xml.replace(
                b'<si><t xml:space="preserve">title 7</t></si>',
                b"<si><r><t>title </t></r><r><rPr><b/></rPr><t>7</t></r></si>",
            ),
        )
    return path


@pytest.mark.parametrize("rich", [False, True], ids=["plain", "rich-text-item"])
@pytest.mark.parametrize("kept", ["list", "buffer", "file"])
def test_shared_strings_are_the_same_however_they_are_kept(
    tmp_path, monkeypatch, settings, kept, rich
):
    settings.BULK_ADMIN_XLSX_READER = "stream"
    rows = [["isbn", "title"]] + [
        ["978-%d" % number, "title %d" % number, "Tom & Jerry ü"] for number in range(3000)
    ]
    path = shared_book(tmp_path, rows, rich)
    expected = [(number, cells) for number, cells in enumerate(rows[1:], start=2)]
    if kept != "list":
        monkeypatch.setattr(xlsx_strings, "_COMPACT_STRINGS", 0)
    if kept == "file":
        monkeypatch.setattr(xlsx_strings, "_SPILLED_STRINGS", 0)
        monkeypatch.setattr(xlsx_strings, "_WRITE_BLOCK", 100)  # many writes
        monkeypatch.setattr(xlsx_strings, "_GROUPS_KEPT", 3)  # groups read again
    with open(path, "rb") as file:
        workbook = Workbook(file)
        strings = xlsx_strings._shared_strings(workbook)
        kind = {"list": "list", "buffer": "_StringTable", "file": "_SpilledStrings"}[kept]
        assert type(strings).__name__ == kind
        assert list(strings) == list(_shared_string_items(workbook))
        assert [strings[index] for index in (-1, 0, 17, 16, 15, 3)] == [
            list(strings)[index] for index in (-1, 0, 17, 16, 15, 3)
        ]
        if kept != "list":  # what the column-wise typing takes: many at once
            wanted = list(range(len(strings)))[::-7] + [0, 17, 0]
            assert strings.take(wanted) == [list(strings)[index] for index in wanted]
            assert strings.take([]) == []
        if kept == "file":
            strings.close()
        workbook.close()
    assert records(path) == (rows[0], expected)


NS = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
ROOT = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
ROWS = b'<row r="1"><c r="A1"><v>1</v></c></row><row r="2"><c r="A2"><v>19.99</v></c></row>'
STYLES_DATE_1 = (
    b'<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b'<cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="14"/></cellXfs></styleSheet>'
)
STYLES_DATE_0 = (
    b'<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b'<cellXfs count="1"><xf numFmtId="14"/></cellXfs></styleSheet>'
)


@pytest.mark.parametrize(
    "xml",
    [
        # What comes before <sheetData>.
        b'<!-- <sheetData><row r="2"><c r="A2"><v>0.01</v></c></row></sheetData> -->'
        + ROOT
        + b"<sheetData>"
        + ROWS
        + TAIL,
        b'<!DOCTYPE worksheet [<!ATTLIST c t CDATA "b">]>' + ROOT + b"<sheetData>" + ROWS + TAIL,
        b'\xef\xbb\xbf<?xml version="1.0" encoding="ISO-8859-1"?>'
        + ROOT
        + b'<sheetData><row r="1"><c r="A1" t="str"><v>caf\xc3\xa9</v></c></row>'
        + TAIL,
        b'<worksheet xmlns="http://purl.oclc.org/ooxml/spreadsheetml/main"><sheetData>'
        + ROWS
        + TAIL,
        b"<?pi x?>" + ROOT + b"<sheetData>" + ROWS + TAIL,
        # Inside it.
        HEAD + b'<row r="1"><c r="A1" xmlns="urn:other"><v>1</v></c><c r="B1"><v>2</v></c>'
        b"</row>" + TAIL,
        HEAD + b'<row foo=\' r="9"\'><c r="A1"><v>1</v></c></row>' + TAIL,
        HEAD + b'<row spans="1:1" r="1" r="3"><c r="A1"><v>1</v></c></row>' + TAIL,
        HEAD + b'<row r="1" garbage><c r="A1"><v>1</v></c></row>' + TAIL,
        HEAD + b'<row r="1"><c r="A1"><c r="B1"><v>5</v></c></c></row>' + TAIL,
        HEAD + b'<row r="1" a="<"><c r="A1"><v>1</v></c><c r="B1"></row>' + TAIL,
        HEAD + b'<row r="1"><c r="A1" t="inlineStr"><is><tx>a</t></is></c></row>' + TAIL,
        HEAD + b'<row r="1"><c r="A1" foo:bar="x"><v>1</v></c></row>' + TAIL,
        HEAD + b'<row r="1"><c r="A1" t="str"><v>a]]>b</v></c></row>' + TAIL,
        HEAD + b'<row r="1"><c r="A1"><v>1</v></c>&bogus;<c r="B1"><v>2</v></c></row>' + TAIL,
        HEAD + b'<row r="1"><c r="A1" t="b"><v>&#49;</v></c><c r="B1" t="b"><v>1\xc2\xa0</v>'
        b"</c></row>" + TAIL,
        HEAD + b'<row r="1"><c r="A1" t="b"><v>\xff</v></c></row>' + TAIL,
        HEAD + b'<row r="1"><c r="A1" t="s"><v>+1</v></c></row>' + TAIL,
        HEAD + b'<row r="1"><c r="A1" t="s"><v>1_0</v></c></row>' + TAIL,
        HEAD + b'<row r="1"><c r="A1" t="inlineStr"><is><t>h</t></is></c></row>'
        b'<row r="2"><c r="A2" s="\xd9\xa1"><v>45293</v></c></row>' + TAIL,
        # After it.
        HEAD + ROWS + b'</sheetData><extLst><row r="3"><c r="A3"><v>9</v></c></row></extLst>'
        b"</worksheet>",
        # Second review.
        b"<worksheet foo=' xmlns=\"" + NS + b"\"'><sheetData>" + ROWS + TAIL,
        b'<worksheet xmlns="' + NS + b'" foo=\' xmlns:q="urn:q"\'><sheetData>'
        b'<row r="1"><c r="A1" q:a="1"><v>1</v></c></row>' + TAIL,
        ROOT + b'<sheetPr><row r="1"><c r="A1" t="inlineStr"><is><t>EVIL</t></is></c></row>'
        b'</sheetPr><sheetData><row r="3"><c r="A3"><v>3</v></c></row>' + TAIL,
        HEAD + b'<row r="3"><c r="A3"><v>1</v></c></row><!-- </row><row r="2"> -->'
        b'<row r="4"><c r="A4"><v>4</v></c></row>' + TAIL,
        HEAD + b'<row r="1"><c r="A1"><v>1</v></c></row>'
        b'<!-- <row r="2"><c r="XFE2"><v>1</v></c></row> -->' + TAIL,
        HEAD + b'<row r="1"><c r="A1"><f a="1" a="2">1+1</f><v>2</v></c></row>' + TAIL,
        HEAD + b'<row r="1"><c r="A1" 1x="1"><v>1</v></c></row>' + TAIL,
        HEAD + b'<row r="1"><c r="A1" / ><c r="B1"><v>1</v></c></row>' + TAIL,
        HEAD + b'<row r="1"><c r="A1" t="str"><v>a\xef\xbf\xbeb</v></c></row>' + TAIL,
        b'<worksheet xmlns="' + NS + b'" a="1" a="2"><sheetData>' + ROWS + TAIL,
        b'<?xml version="1.0" standalone="maybe"?>' + ROOT + b"<sheetData>" + ROWS + TAIL,
        ROOT + b'<sheetPr xmlns:q="urn:q"/><sheetData><row r="1"><c r="A1" q:a="1"><v>1</v>'
        b"</c></row>" + TAIL,
        b'<worksheet xmlns="' + NS + b'" xmlns:p="urn:x" xmlns:q="urn:x"><sheetData>'
        b'<row r="1"><c r="A1" p:a="1" q:a="2"><v>1</v></c></row>' + TAIL,
        # Third review: rows whose tags do not balance.
        HEAD + b'<row r="1"><c r="A1"><v>1</v></c></row><row r="2"/></row>'
        b'<row r="3"><c r="A3"><v>3</v></c></row>' + TAIL,
        HEAD + b'<row r="1"><c r="A1"><v>1</v></c></row></row>'
        b'<row r="3"><c r="A3"><v>3</v></c></row>' + TAIL,
        HEAD + b'<row r="1"><c r="A1"><v>1</v></c></row><row r="3"><c r="A3"><v>3</v></c>' + TAIL,
        HEAD + b'<row r="1"><c r="A1"><v>1</v></c></row><row r="4">' + TAIL,
    ],
    ids=[
        "comment-before",
        "doctype",
        "bom-and-latin-1",
        "strict-namespace",
        "processing-instruction",
        "inner-namespace",
        "r-inside-another-value",
        "row-attribute-twice",
        "row-attribute-garbage",
        "nested-cell",
        "lt-in-row-attribute",
        "tx-element",
        "unbound-prefix",
        "cdata-end",
        "entity-between-cells",
        "boolean-entity-and-nbsp",
        "boolean-not-utf8",
        "shared-index-sign",
        "shared-index-underscore",
        "arabic-indic-style",
        "rows-after-sheetdata",
        "xmlns-inside-an-attribute",
        "prefix-inside-an-attribute",
        "rows-before-sheetdata",
        "comment-with-a-row-out-of-order",
        "comment-with-a-far-cell",
        "formula-attribute-twice",
        "attribute-name-with-a-digit-first",
        "slash-space-close",
        "u+fffe",
        "root-attribute-twice",
        "standalone-maybe",
        "prefix-on-another-element",
        "two-prefixes-one-namespace",
        "row-end-after-an-empty-row",
        "row-end-twice",
        "row-ended-by-sheetdata",
        "row-open-at-the-end",
    ],
)
def test_the_common_layout_never_reads_a_part_otherwise_than_expat(tmp_path, monkeypatch, xml):
    path = sheet_of(tmp_path, xml)
    rewrite_member(path, "xl/styles.xml", lambda _old: STYLES_DATE_1)
    assert outcome(path, monkeypatch) == outcome(path, monkeypatch, expat=True)


def test_style_0_with_a_date_format_gives_dates(tmp_path, monkeypatch):
    path = sheet_of(
        tmp_path,
        HEAD
        + b'<row r="1"><c r="A1" t="inlineStr"><is><t>when</t></is></c></row>'
        + b'<row r="2"><c r="A2"><v>45293</v></c></row>'
        + TAIL,
    )
    rewrite_member(path, "xl/styles.xml", lambda _old: STYLES_DATE_0)
    expected = (["when"], [(2, [datetime.date(2024, 1, 2)])])
    assert outcome(path, monkeypatch) == outcome(path, monkeypatch, expat=True) == expected


def test_a_comment_before_the_shared_strings_is_read_by_expat(tmp_path, monkeypatch):
    path = shared_book(tmp_path, [["h"], ["good"]])
    rewrite_member(
        path,
        "xl/sharedStrings.xml",
        lambda xml: xml.replace(
            b"<sst ", b"<!--<sst><si><t>HEAD</t></si><si><t>evil</t></si></sst>--><sst ", 1
        ),
    )
    assert outcome(path, monkeypatch) == (["h"], [(2, ["good"])])


def test_closing_a_source_read_halfway_closes_the_strings_file(tmp_path, monkeypatch, settings):
    settings.BULK_ADMIN_XLSX_READER = "stream"
    monkeypatch.setattr(xlsx_strings, "_SPILLED_STRINGS", 0)
    path = shared_book(tmp_path, [["h"], *[["text %d" % n] for n in range(100)]])
    opened = []
    real = xlsx_strings.tempfile.TemporaryFile

    def spy(*args, **kwargs):
        opened.append(real(*args, **kwargs))
        return opened[-1]

    monkeypatch.setattr(xlsx_strings.tempfile, "TemporaryFile", spy)
    with open(path, "rb") as file:
        source = XlsxSource(file)
        next(iter(source.rows()))
        source.close()
    assert len(opened) == 1 and opened[0].closed


@pytest.mark.parametrize("kind", ["_StringTable", "_SpilledStrings"])
def test_a_string_table_index_out_of_range_is_an_index_error(kind):
    texts = ["a", "", "ü ✓", *("t%d" % number for number in range(40))]
    table = getattr(xlsx_strings, kind)(texts)
    assert len(table) == len(texts)
    assert [table[index] for index in range(-len(texts), len(texts))] == texts + texts
    assert table[1:4] == texts[1:4]
    for index in (len(texts), -len(texts) - 1):
        with pytest.raises(IndexError):
            table[index]
    if kind == "_SpilledStrings":
        table.close()


@pytest.mark.parametrize(
    "strings",
    [
        b'<root xmlns="' + NS + b'"><si><t>z</t></si><sst><si><t>a</t></si><si><t>b</t></si>'
        b"</sst></root>",
        b'<root xmlns="' + NS + b'"><sst><si><t>a</t></si></sst><si><t>b</t></si></root>',
        b'<sst xmlns="' + NS + b'"><si><t>a</t></si><si><t>b</t></si></sst><junk/>',
        b"<sst foo=' xmlns=\"" + NS + b"\"'><si><t>a</t></si><si><t>b</t></si></sst>",
        b'<sst xmlns="' + NS + b'" count="2" count="2"><si><t>a</t></si><si><t>b</t></si></sst>',
    ],
    ids=["not-the-root", "items-after-it", "junk-after-it", "xmlns-inside-an-attribute", "twice"],
)
def test_a_strings_part_is_never_read_otherwise_than_expat(tmp_path, monkeypatch, strings):
    path = shared_book(tmp_path, [["h"], ["a"], ["b"]])
    rewrite_member(path, "xl/sharedStrings.xml", lambda _old: strings)
    assert outcome(path, monkeypatch) == outcome(path, monkeypatch, expat=True)


def test_a_far_row_costs_no_memory(tmp_path, settings):
    settings.BULK_ADMIN_XLSX_READER = "stream"
    path = sheet_of(
        tmp_path,
        HEAD
        + b'<row r="1"><c r="A1" t="inlineStr"><is><t>h</t></is></c></row>'
        + b'<row r="1048576"><c r="A1048576"><v>1</v></c></row>'
        + TAIL,
    )
    tracemalloc.start()
    try:
        with open(path, "rb") as file, XlsxSource(file) as source:
            rows = list(source.rows())
        _current, top = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rows == [(1048576, [1])]
    assert top < 2 * 1024 * 1024, top
