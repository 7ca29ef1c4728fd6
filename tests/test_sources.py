"""Stage 1, read: bulk_admin/sources/ — CSV and XLSX files, awkward ones above all."""

import codecs
import datetime
import io
import re
import sys
import time
import tracemalloc
import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.styles import Font, PatternFill

from bulk_admin.exceptions import SourceError
from bulk_admin.results import BadCell
from bulk_admin.sources import (
    CsvSource,
    XlsxSource,
    detect_encoding,
    detect_format,
    open_source,
    sniff_delimiter,
)

DATA = Path(__file__).parent / "data"
SHEET = "xl/worksheets/sheet1.xml"


def read(file, **options):
    """Open ``file`` (a path or bytes) and return ``(info, rows)``, closing the source."""
    if isinstance(file, bytes):
        file = io.BytesIO(file)
    with open_source(file, **options) as source:
        return source.info, list(source.rows())


def read_error(file, **options):
    with pytest.raises(SourceError) as excinfo:
        read(file, **options)
    return str(excinfo.value)


def assert_sentence(message):
    """A message for a user: one capitalised sentence ending with a full stop."""
    assert message[0].isupper(), message
    assert message.rstrip().endswith((".", "?")), message
    assert "Traceback" not in message and "Error(" not in message


@pytest.fixture(params=["calamine", "openpyxl", "stream"])
def reader(request, settings):
    """Run the test with each XLSX reader."""
    settings.BULK_ADMIN_XLSX_READER = request.param
    return request.param


def rewrite_member(path, member, change):
    """Rewrite one member of the zip archive at ``path`` with ``change(bytes) -> bytes``."""
    with zipfile.ZipFile(path) as archive:
        members = [(info.filename, archive.read(info.filename)) for info in archive.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, change(data) if name == member else data)
    return path


def blank(cell):
    return cell is None or cell == ""


def normalized(rows):
    """Rows without the differences that do not matter: None/"" and trailing empties."""
    result = []
    for number, cells in rows:
        cells = ["" if cell is None else cell for cell in cells]
        while cells and blank(cells[-1]):
            cells.pop()
        result.append((number, cells))
    return result


# --- encodings --------------------------------------------------------------------------------


def test_an_accent_on_the_last_line_of_a_long_file_is_detected():
    path = DATA / "cp1252_accent_last_line.csv"
    # The premise: the accent lies beyond any sample a sniffer would read first.
    assert path.stat().st_size > 64 * 1024
    assert max(path.read_bytes().find(byte) for byte in (b"\xe9", b"\x80")) > 64 * 1024
    info, rows = read(path)
    assert info.encoding == "cp1252"
    assert rows[0] == (2, ["1000000000001", "Plain ASCII title number 1"])
    assert rows[-1] == (1602, ["9999999999999", "Café crème € l’été"])
    assert len(rows) == 1601


def test_bytes_cp1252_leaves_undefined_fall_back_to_latin_1():
    info, rows = read(DATA / "latin1_not_cp1252.csv")
    assert info.encoding == "latin-1"
    assert rows == [(2, ["1", "Olé\x81"])]


def test_utf8_bom_is_not_part_of_the_first_header():
    info, rows = read(DATA / "utf8_bom.csv")
    assert info.encoding == "utf-8-sig"
    assert info.headers == ["isbn", "title"]
    assert rows == [(2, ["1", "Crème brûlée"])]


def test_excel_unicode_text_is_utf16_with_tabs():
    # Excel's "Save as Unicode Text": UTF-16 LE with a BOM, tab-delimited, CRLF.
    info, rows = read(DATA / "utf16_excel_unicode_text.txt")
    assert info.encoding == "utf-16"
    assert info.delimiter == "\t"
    assert info.headers == ["isbn", "title", "price"]
    assert rows == [(2, ["1", "Crème brûlée, 2nd ed.", "19.99"]), (3, ["2", "日本語", "5"])]


def test_utf16_big_endian_is_detected():
    data = "isbn,title\n1,Été\n".encode("utf-16-be")
    info, rows = read(codecs.BOM_UTF16_BE + data)
    assert info.encoding == "utf-16"
    assert rows == [(2, ["1", "Été"])]


def test_utf8_character_cut_by_the_read_block_is_still_utf8(tmp_path):
    # "é" is two bytes; put them on both sides of the 1 MiB block boundary.
    prefix = b"isbn,title\n1,"
    filler = b"a" * (1024 * 1024 - len(prefix) - 1)
    path = tmp_path / "cut.csv"
    path.write_bytes(prefix + filler + "é\n".encode())
    assert path.read_bytes()[1024 * 1024 - 1 : 1024 * 1024 + 1] == "é".encode()
    with path.open("rb") as file:
        assert detect_encoding(file) == "utf-8"
        assert file.tell() == 0
    info, rows = read(path)
    assert info.encoding == "utf-8"
    assert rows[0][1][1].endswith("aé")


def test_detect_encoding_of_small_files():
    assert detect_encoding(io.BytesIO(b"a,b\n1,2\n")) == "utf-8"
    assert detect_encoding(io.BytesIO("a,b\n1,é\n".encode())) == "utf-8"
    assert detect_encoding(io.BytesIO(b"\xef\xbb\xbfa,b\n")) == "utf-8-sig"
    assert detect_encoding(io.BytesIO("a,b\n1,é\n".encode("cp1252"))) == "cp1252"
    # A UTF-8 sequence cut at the very end of the file is not UTF-8.
    assert detect_encoding(io.BytesIO(b"a,b\n1,\xc3")) == "cp1252"


def test_an_explicit_encoding_is_used():
    info, rows = read(DATA / "cp1252_accent_last_line.csv", encoding="latin-1")
    assert info.encoding == "iso8859-1"
    # latin-1 reads the cp1252 euro sign as a C1 control character: the user's choice wins.
    assert rows[-1][1][1] == "Café crème \x80 l\x92été"


def test_an_unknown_encoding_is_refused():
    message = read_error(DATA / "crlf.csv", encoding="klingon")
    assert message == "Unknown encoding “klingon”."


def test_a_wrong_encoding_names_the_row_of_the_bad_byte():
    # The bad byte is far beyond the part the text layer decodes ahead of the CSV reader.
    message = read_error(DATA / "cp1252_accent_last_line.csv", encoding="utf-8")
    assert message == (
        "Row 1602 is not valid utf-8 text (invalid continuation byte). Choose the file's encoding."
    )


def test_a_wrong_encoding_near_the_start_names_the_row_too():
    data = 'isbn,title\n1,A\n2,"Two\nlines"\n3,Café\n'.encode("cp1252")
    message = read_error(data, encoding="utf-8")
    # The quoted two-line record is one row: the bad byte is on row 4.
    assert message == (
        "Row 4 is not valid utf-8 text (invalid continuation byte). Choose the file's encoding."
    )


def test_a_wrong_encoding_in_the_header_is_row_1():
    message = read_error("isbn,tïtle\n1,A\n".encode("latin-1"), encoding="utf-8")
    assert message.startswith("Row 1 is not valid utf-8 text")


# --- line ends and delimiters -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["crlf.csv", "cr_only.csv"])
def test_line_ends(name):
    info, rows = read(DATA / name)
    assert info.headers == ["isbn", "title"]
    assert rows == [(2, ["1", "A"]), (3, ["2", "B"])]


@pytest.mark.parametrize(
    ("name", "delimiter", "title"),
    [
        ("semicolon.csv", ";", "A, with a comma"),
        ("tab.tsv", "\t", "A, with a comma; and a semicolon"),
        ("pipe.csv", "|", "A, with a comma\t and a tab"),
    ],
)
def test_delimiter_is_sniffed(name, delimiter, title):
    info, rows = read(DATA / name)
    assert info.delimiter == delimiter
    assert info.headers == ["isbn", "title", "price"]
    assert rows == [(2, ["1", title, "19.99"]), (3, ["2", "B", "5"])]


@pytest.mark.parametrize("given", ["\t", "\\t", "tab", "TAB"])
def test_tab_delimiter_can_be_given(given):
    info, rows = read(DATA / "tab.tsv", delimiter=given)
    assert info.delimiter == "\t"
    assert rows[0] == (2, ["1", "A, with a comma; and a semicolon", "19.99"])


def test_a_given_delimiter_wins_over_the_sniffed_one():
    info, rows = read(DATA / "semicolon.csv", delimiter=",")
    assert info.headers == ["isbn;title;price"]
    assert rows[0] == (2, ["1;A", " with a comma;19.99"])


def test_a_delimiter_of_several_characters_is_refused():
    message = read_error(DATA / "crlf.csv", delimiter=";;")
    assert message == "The delimiter must be one character, not “;;”."


@pytest.mark.parametrize("delimiter", ['"', "\n", "\r"])
def test_the_quote_character_or_a_line_break_as_delimiter_is_refused(delimiter):
    # Python 3.13's csv module raises ValueError for these; every version gets the message.
    message = read_error(DATA / "crlf.csv", delimiter=delimiter)
    assert message.startswith("The quote character and line breaks cannot separate columns")


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        ("title\nHello; world\nFoo; bar\n", ","),  # one column: nothing to split
        ("isbn,title,notes\n1,A,x;y;z\n2,B,u;v\n", ","),
        ("isbn;price\n1;19,99\n2;5,00\n", ";"),  # decimal commas
        ("a\tb\tc\n1\t2\t3\n", "\t"),
        ("a|b\n1|2\n", "|"),
        ('a,b\n"x;y;z",2\n', ","),
        ("", ","),
    ],
)
def test_sniff_delimiter(sample, expected):
    assert sniff_delimiter(sample) == expected


# --- records and row numbers ------------------------------------------------------------------


def test_quoted_fields_keep_delimiters_quotes_and_newlines():
    info, rows = read(DATA / "quoted.csv")
    assert info.headers == ["isbn", "title", "notes"]
    # A quoted multi-line record is one row: the rows after it are numbered as in Excel.
    assert rows == [
        (2, ["1", "Hello, world", 'He said "hi"']),
        (3, ["2", "Two\nlines", "a,b"]),
        (4, ["3", "C", "three\nline\nnote"]),
        (5, ["4", "D", ""]),
    ]


def test_blank_rows_are_skipped_but_keep_their_number():
    info, rows = read(DATA / "blank_rows_inside.csv")
    assert rows == [(2, ["1", "A"]), (5, ["4", "D"])]


def test_trailing_empty_rows_are_not_rows():
    info, rows = read(DATA / "trailing_empty_rows.csv")
    assert rows == [(2, ["1", "A"]), (3, ["2", "B"])]


def test_a_header_only_file_has_no_rows():
    info, rows = read(DATA / "header_only.csv")
    assert info.headers == ["isbn", "title"]
    assert rows == []


def test_duplicate_headers_are_kept_for_the_mapping_to_refuse():
    info, rows = read(DATA / "duplicate_headers.csv")
    assert info.headers == ["isbn", "title", "title"]
    assert rows == [(2, ["1", "A", "B"])]


def test_headers_are_stripped_and_trailing_empty_headers_dropped():
    info, rows = read(b" isbn , title ,,\n1,A,,\n")
    assert info.headers == ["isbn", "title"]
    assert rows == [(2, ["1", "A", "", ""])]


def test_short_and_long_rows_keep_their_own_cells():
    info, rows = read(b"a,b,c\n1\n1,2,3,4\n")
    assert rows == [(2, ["1"]), (3, ["1", "2", "3", "4"])]


# --- files that are not what they claim -------------------------------------------------------


def test_an_empty_file_is_refused():
    message = read_error(DATA / "empty.csv")
    assert message == "The file is empty."


def test_a_file_whose_first_row_is_blank_has_no_header():
    message = read_error(DATA / "blank_first_row.csv")
    assert message == "The file has no header row: its first row is empty."


def test_a_png_renamed_csv_is_refused():
    message = read_error(DATA / "png_renamed.csv")
    assert message == "The file is a PNG image, not a CSV or XLSX spreadsheet."


def test_a_png_is_refused_even_when_csv_is_forced():
    message = read_error(DATA / "png_renamed.csv", format="csv")
    assert message == "The file is a PNG image, not a CSV or XLSX spreadsheet."


@pytest.mark.parametrize("name", ["sheet.ods", "sheet.xlsx", "sheet.csv", None])
def test_an_ods_file_is_refused_whatever_its_name(name, tmp_path):
    path = tmp_path / (name or "upload")
    path.write_bytes((DATA / "sheet.ods").read_bytes())
    with path.open("rb") as file:
        message = read_error(file, name=name)
    assert message == (
        "OpenDocument spreadsheets (.ods) are not supported. Save the file as XLSX or CSV."
    )


def test_a_legacy_xls_file_is_refused():
    message = read_error(DATA / "legacy.xls")
    assert message == (
        "The file is a legacy Excel (.xls) or other OLE document, not a CSV or XLSX spreadsheet."
    )


def test_an_xls_name_is_refused_even_on_text():
    message = read_error(DATA / "text_named.xls")
    assert message == "Legacy Excel (.xls) files are not supported. Save the file as XLSX or CSV."
    assert_sentence(message)


def test_an_xls_name_does_not_matter_when_csv_is_forced():
    info, rows = read(DATA / "text_named.xls", format="csv")
    assert rows == [(2, ["1", "A"])]


def test_binary_data_in_a_text_file_is_refused():
    message = read_error(b"isbn,title\n1," + bytes(range(1, 9)) * 50 + b"\n")
    assert message == "The file is not a text (CSV) file: it contains binary data."


def test_detect_format():
    assert detect_format(io.BytesIO(b"a,b\n"), "x.csv") == "csv"
    assert detect_format(io.BytesIO(b"a,b\n"), None) == "csv"
    assert detect_format(io.BytesIO(b"a,b\n"), "x.TXT") == "csv"
    assert detect_format(io.BytesIO(b"PK\x03\x04rest"), "x.csv") == "xlsx"
    with pytest.raises(SourceError, match="JSON files are not supported"):
        detect_format(io.BytesIO(b"[1]"), "data.json")


def test_an_unknown_format_is_refused():
    assert (
        read_error(DATA / "crlf.csv", format="json") == "Unknown format “json”; use csv or xlsx."
    )


def test_a_sheet_cannot_be_chosen_in_a_csv_file():
    message = read_error(DATA / "crlf.csv", sheet="Books")
    assert message == "A sheet can only be chosen in an XLSX workbook."


def test_csv_forced_as_xlsx_is_a_damaged_archive():
    message = read_error(DATA / "crlf.csv", format="xlsx")
    assert message == "The file is not a valid XLSX workbook (the archive is damaged)."


def test_a_missing_path_is_refused(tmp_path):
    path = tmp_path / "nowhere.csv"
    assert read_error(path) == f"No file at “{path}”."


def test_a_directory_is_refused(tmp_path):
    assert read_error(str(tmp_path)) == f"“{tmp_path}” is a directory, not a file."


def test_a_path_given_as_str_or_pathlike_reads_the_same():
    assert read(str(DATA / "crlf.csv")) == read(DATA / "crlf.csv")


def test_a_file_object_given_by_the_caller_is_left_open():
    file = io.BytesIO((DATA / "crlf.csv").read_bytes())
    read(file)
    assert not file.closed
    file.seek(0)
    assert file.read(4) == b"isbn"


def test_a_path_opened_by_the_source_is_closed(monkeypatch):
    opened = []
    real_open = open

    def spy(*args, **kwargs):
        handle = real_open(*args, **kwargs)
        opened.append(handle)
        return handle

    monkeypatch.setattr("builtins.open", spy)
    read(DATA / "crlf.csv")
    with pytest.raises(SourceError):
        read(DATA / "empty.csv")
    assert len(opened) == 2
    assert all(handle.closed for handle in opened)


# --- limits -----------------------------------------------------------------------------------


@pytest.fixture
def big_cell_csv(tmp_path):
    """A CSV with one cell of 1.5 MB, more than the csv module's default 128 KiB field limit."""
    path = tmp_path / "big_cell.csv"
    path.write_bytes(b"isbn,notes\n1," + b"x" * (1536 * 1024) + b"\n2,small\n")
    return path


def test_a_cell_of_1_5_mb_is_read_whole(big_cell_csv):
    info, rows = read(big_cell_csv)
    assert len(rows[0][1][1]) == 1536 * 1024
    assert rows[1] == (3, ["2", "small"])


def test_a_cell_over_the_limit_is_refused_with_a_clear_message(big_cell_csv, settings):
    settings.BULK_ADMIN_MAX_CELL_SIZE = 1024 * 1024
    message = read_error(big_cell_csv)
    assert message == (
        "Row 2 holds a cell of more than 1048576 characters, "
        "the most this site accepts in one cell."
    )


def test_a_cell_over_a_small_limit_names_its_row_and_column(settings):
    settings.BULK_ADMIN_MAX_CELL_SIZE = 100
    message = read_error(b"isbn,notes\n1,short\n2," + b"y" * 1000 + b"\n")
    assert message == (
        "Row 3, column 2 holds 1000 characters; the most this site accepts in one cell is 100."
    )


def test_rows_over_the_limit_are_refused(settings):
    settings.BULK_ADMIN_MAX_ROWS = 2
    data = b"isbn,title\n1,A\n\n\n2,B\n"
    # Blank rows do not count.
    assert len(read(data)[1]) == 2
    message = read_error(data + b"3,C\n")
    assert message == "The file has more than 2 data rows, the most this site accepts."


def test_rows_are_streamed_up_to_the_row_limit(settings):
    settings.BULK_ADMIN_MAX_ROWS = 2
    with open_source(io.BytesIO(b"a\n1\n2\n3\n")) as source:
        rows = source.rows()
        assert next(rows) == (2, ["1"])
        assert next(rows) == (3, ["2"])
        with pytest.raises(SourceError):
            next(rows)


def test_a_header_over_the_column_limit_is_refused(settings):
    settings.BULK_ADMIN_MAX_COLUMNS = 5
    message = read_error(b"a,b,c,d,e,f\n1,2,3,4,5,6\n")
    assert message == "The file has 6 columns; the most this site accepts is 5."


def test_a_data_row_over_the_column_limit_is_refused(settings):
    settings.BULK_ADMIN_MAX_COLUMNS = 5
    data = b"a,b,c\n1,2,3\n1,2,3,4,5,6,7,8\n"
    message = read_error(data)
    assert message == "Row 3 has 8 columns; the most this site accepts is 5."


def test_empty_cells_at_the_end_of_a_row_do_not_count_against_the_column_limit(settings):
    settings.BULK_ADMIN_MAX_COLUMNS = 5
    info, rows = read(b"a,b,c\n1,2,3,,,,,,,,\n")
    assert rows == [(2, ["1", "2", "3", "", "", "", "", "", "", "", ""])]


# --- XLSX -------------------------------------------------------------------------------------


TYPED_ROWS = [
    ["isbn", "title", "price", "published", "starts", "in_stock", "pages", "at"],
    [
        9780000000001,
        "Dune",
        19.99,
        datetime.date(1965, 8, 1),
        datetime.datetime(2024, 5, 1, 18, 30),
        True,
        412,
        datetime.time(9, 15),
    ],
    ["978-0-00-000000-2", "Emma", 5, datetime.date(1915, 12, 23), None, False, None, None],
]


def test_xlsx_cells_keep_their_types(make_xlsx, reader):
    info, rows = read(make_xlsx(TYPED_ROWS))
    assert info.format == "xlsx"
    assert info.sheet == "Sheet1"
    assert info.headers == TYPED_ROWS[0]
    number, cells = rows[0]
    assert number == 2
    assert cells == TYPED_ROWS[1]
    assert isinstance(cells[2], float)
    assert type(cells[3]) is datetime.date
    assert type(cells[4]) is datetime.datetime
    assert cells[5] is True
    assert type(cells[7]) is datetime.time
    assert normalized(rows[1:]) == [
        (3, ["978-0-00-000000-2", "Emma", 5, datetime.date(1915, 12, 23), "", False])
    ]


def test_a_midnight_datetime_cell_is_a_date_for_both_readers(make_xlsx, reader):
    rows = read(make_xlsx([["when"], [datetime.datetime(2024, 5, 1)]]))[1]
    assert rows == [(2, [datetime.date(2024, 5, 1)])]
    assert type(rows[0][1][0]) is datetime.date


def test_both_xlsx_readers_give_the_same_rows(tmp_path, settings):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in TYPED_ROWS:
        sheet.append(row)
    sheet.append([])
    sheet.append(
        ["  spaced  ", "Ünïcødé ✓", -0.0, 1e15, "=1+1", 0, 1, datetime.timedelta(hours=36)]
    )
    sheet.append([None, None, None, None, None, None, None, "last"])
    path = tmp_path / "both.xlsx"
    workbook.save(path)
    results = {}
    for name in ("calamine", "openpyxl"):
        settings.BULK_ADMIN_XLSX_READER = name
        info, rows = read(path)
        results[name] = (info.headers, normalized(rows))
    assert results["calamine"] == results["openpyxl"]
    headers, rows = results["calamine"]
    assert [number for number, _cells in rows] == [2, 3, 5, 6]
    assert rows[3] == (6, ["", "", "", "", "", "", "", "last"])


def test_formulas_give_their_cached_values(tmp_path, reader):
    workbook = openpyxl.Workbook()
    workbook.active.append(["a", "double", "label"])
    workbook.active.append([3, "=A2*2", '="n"&A2'])
    path = tmp_path / "formulas.xlsx"
    workbook.save(path)

    def cache(xml):
        # openpyxl writes formulas without a cached value; Excel stores <f> and <v>.
        xml = xml.replace(b'<c r="B2"><f>A2*2</f><v /></c>', b'<c r="B2"><f>A2*2</f><v>6</v></c>')
        xml = xml.replace(
            b'<c r="C2"><f>"n"&amp;A2</f><v /></c>',
            b'<c r="C2" t="str"><f>"n"&amp;A2</f><v>n3</v></c>',
        )
        assert xml.count(b"<v>") == 3
        return xml

    rewrite_member(path, SHEET, cache)
    assert read(path)[1] == [(2, [3, 6, "n3"])]


def test_formulas_without_a_cached_value_are_empty(make_xlsx, reader):
    rows = read(make_xlsx([["a", "b"], [3, "=A2*2"]]))[1]
    assert normalized(rows) == [(2, [3])]


@pytest.mark.parametrize("ref", ["A1:A1", "A1", "B2:C3", "A1:XFD1048576"])
def test_a_lying_dimension_does_not_matter(make_xlsx, reader, ref):
    path = make_xlsx([["a", "b", "c"], [1, 2, 3], [4, 5, 6], [7, 8, 9]])
    rewrite_member(
        path,
        SHEET,
        lambda xml: re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="%s"' % ref.encode(), xml),
    )
    with zipfile.ZipFile(path) as archive:
        assert b'<dimension ref="%s"' % ref.encode() in archive.read(SHEET)
    info, rows = read(path)
    assert info.headers == ["a", "b", "c"]
    assert rows == [(2, [1, 2, 3]), (3, [4, 5, 6]), (4, [7, 8, 9])]


def test_empty_styled_rows_at_the_end_are_not_rows(tmp_path, reader):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["isbn", "title"])
    sheet.append(["1", "A"])
    sheet.append(["2", "B"])
    for row in range(4, 40):
        sheet.cell(row=row, column=1).font = Font(bold=True)
        sheet.cell(row=row, column=2).fill = PatternFill("solid", fgColor="FFFF00")
    sheet.row_dimensions[60].height = 30
    path = tmp_path / "styled.xlsx"
    workbook.save(path)
    with zipfile.ZipFile(path) as archive:
        assert b'<row r="39">' in archive.read(SHEET)
    assert read(path)[1] == [(2, ["1", "A"]), (3, ["2", "B"])]


def test_xlsx_blank_rows_keep_their_number(make_xlsx, reader):
    rows = read(make_xlsx([["isbn"], ["1"], [], [None], ["4"]]))[1]
    assert rows == [(2, ["1"]), (5, ["4"])]


def test_an_empty_first_column_keeps_column_positions(tmp_path, reader):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet["B1"], sheet["C1"] = "isbn", "title"
    sheet["B2"], sheet["C2"] = "1", "A"
    sheet["C3"] = "only C"
    path = tmp_path / "offset.xlsx"
    workbook.save(path)
    info, rows = read(path)
    assert info.headers == ["", "isbn", "title"]
    assert normalized(rows) == [(2, ["", "1", "A"]), (3, ["", "", "only C"])]


def test_an_empty_first_row_is_not_a_header(tmp_path, reader):
    workbook = openpyxl.Workbook()
    workbook.active["A2"] = "isbn"
    workbook.active["A3"] = "1"
    path = tmp_path / "low.xlsx"
    workbook.save(path)
    assert read_error(path) == "The file has no header row: its first row is empty."


def test_an_empty_workbook_has_no_header(make_xlsx, reader):
    assert read_error(make_xlsx([])) == "The file has no header row: its first row is empty."


def test_numeric_xlsx_headers_read_as_typed(make_xlsx, reader):
    info, rows = read(make_xlsx([["isbn", 2024, 1.5], ["1", 2, 3]]))
    assert info.headers == ["isbn", "2024", "1.5"]


def test_an_xlsx_cell_over_the_limit_names_its_row_and_column(tmp_path, settings, reader):
    settings.BULK_ADMIN_MAX_CELL_SIZE = 100
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet["B1"], sheet["C1"] = "isbn", "notes"
    sheet["B2"], sheet["C2"] = "1", "n" * 150
    path = tmp_path / "long.xlsx"
    workbook.save(path)
    # Column C is the third column for both readers, whatever the empty column A.
    assert read_error(path) == (
        "Row 2, column 3 holds 150 characters; the most this site accepts in one cell is 100."
    )


def test_xlsx_rows_over_the_limit_are_refused(make_xlsx, settings, reader):
    settings.BULK_ADMIN_MAX_ROWS = 1
    message = read_error(make_xlsx([["a"], [1], [2]]))
    assert message == "The file has more than 1 data rows, the most this site accepts."


# --- sheets -----------------------------------------------------------------------------------


@pytest.fixture
def three_sheets(make_xlsx):
    return make_xlsx(
        [["name"], ["first"]],
        sheet="Summary",
        extra_sheets={"Books": [["name"], ["second"]], "2": [["name"], ["third"]]},
    )


@pytest.mark.parametrize(
    ("sheet", "name", "value"),
    [
        (None, "Summary", "first"),
        ("", "Summary", "first"),
        ("Books", "Books", "second"),
        (1, "Summary", "first"),
        (2, "Books", "second"),
        ("1", "Summary", "first"),
        # A sheet's name wins over a sheet's number.
        ("2", "2", "third"),
        (3, "2", "third"),
    ],
)
def test_a_sheet_is_chosen_by_name_or_1_based_number(three_sheets, reader, sheet, name, value):
    info, rows = read(three_sheets, sheet=sheet)
    assert info.sheet == name
    assert rows == [(2, [value])]


@pytest.mark.parametrize("sheet", ["Nope", 0, 4, "books", -1])
def test_an_unknown_sheet_is_refused_with_the_list_of_sheets(three_sheets, reader, sheet):
    message = read_error(three_sheets, sheet=sheet)
    assert message == f"The workbook has no sheet “{sheet}”. Its sheets are: Summary, Books, 2."


# --- broken and hostile workbooks -------------------------------------------------------------


def test_a_truncated_xlsx_is_a_damaged_archive(make_xlsx, reader):
    data = make_xlsx(TYPED_ROWS).read_bytes()
    message = read_error(data[: len(data) // 2], name="cut.xlsx")
    assert message == "The file is not a valid XLSX workbook (the archive is damaged)."


def test_a_zip_that_is_not_a_workbook_is_refused(tmp_path):
    path = tmp_path / "archive.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert read_error(path) == "The file is a ZIP archive but not an XLSX workbook."


@pytest.mark.parametrize(
    "change",
    [
        lambda xml: xml[: len(xml) // 2],
        lambda xml: b"not xml at all",
        lambda xml: xml.replace(b'<c r="A3" t="n"><v>2</v>', b'<c r="A3" t="n"><v>abc</v>'),
    ],
    ids=["truncated-xml", "not-xml", "bad-number"],
)
def test_a_corrupt_sheet_is_a_clear_error(make_xlsx, reader, change):
    path = make_xlsx([["a", "b"]] + [[i, "x" * 10] for i in range(1, 60)])
    rewrite_member(path, SHEET, change)
    message = read_error(path)
    assert re.match(
        r"(The XLSX workbook cannot be read: |Row \d+ of the workbook cannot be read: "
        r"|The file is not a valid XLSX workbook \(its part xl/worksheets/sheet1.xml )",
        message,
    )


def test_an_unknown_xlsx_reader_is_refused(make_xlsx, settings):
    settings.BULK_ADMIN_XLSX_READER = "pandas"
    assert read_error(make_xlsx(TYPED_ROWS)) == "Unknown XLSX reader “pandas”."


def test_the_auto_reader_streams_the_common_writers_layout(make_xlsx, settings):
    settings.BULK_ADMIN_XLSX_READER = "auto"
    with make_xlsx(TYPED_ROWS).open("rb") as file:
        assert XlsxSource(file).reader == "stream"


@pytest.mark.parametrize(
    "rows",
    [
        # The .NET Open XML SDK's layout: every element with a prefix.
        b'<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<x:sheetData><x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>name</x:t></x:is>'
        b'</x:c></x:row><x:row r="2"><x:c r="A2"><x:v>5</x:v></x:c></x:row></x:sheetData>'
        b"</x:worksheet>",
        # Attributes in single quotes.
        b"<worksheet xmlns='http://schemas.openxmlformats.org/spreadsheetml/2006/main'>"
        b"<sheetData><row r='1'><c r='A1' t='inlineStr'><is><t>name</t></is></c></row>"
        b"<row r='2'><c r='A2'><v>5</v></c></row></sheetData></worksheet>",
    ],
    ids=["prefixed", "single-quotes"],
)
def test_the_auto_reader_gives_another_layout_to_calamine(tmp_path, settings, rows):
    pytest.importorskip("python_calamine")
    settings.BULK_ADMIN_XLSX_READER = "auto"
    book = openpyxl.Workbook()
    book.active.append(["x"])
    path = tmp_path / "other.xlsx"
    book.save(path)
    rewrite_member(path, SHEET, lambda _old: rows)
    with path.open("rb") as file, XlsxSource(file) as source:
        assert source.reader == "calamine"
        assert source.headers == ["name"]
        assert normalized(list(source.rows())) == normalized([(2, [5])])


def test_the_auto_reader_falls_back_to_the_stream(make_xlsx, settings, monkeypatch):
    settings.BULK_ADMIN_XLSX_READER = "auto"
    monkeypatch.setitem(sys.modules, "python_calamine", None)  # import fails
    with make_xlsx(TYPED_ROWS).open("rb") as file:
        source = XlsxSource(file)
        assert source.reader == "stream"
        assert list(source.rows())[0][1] == TYPED_ROWS[1]


def _bomb(path, megabytes):
    """A valid workbook whose sheet inflates to ``megabytes`` MiB of spaces."""
    workbook = openpyxl.Workbook()
    workbook.active.append(["a"])
    workbook.save(path)
    with zipfile.ZipFile(path) as archive:
        members = [(info.filename, archive.read(info.filename)) for info in archive.infolist()]
    block = b" " * (1024 * 1024)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, data in members:
            if name != SHEET:
                archive.writestr(name, data)
                continue
            cut = data.index(b"<sheetData>")
            with archive.open(name, "w") as member:
                member.write(data[:cut])
                for _ in range(megabytes):
                    member.write(block)
                member.write(data[cut:])
    return path


def test_a_zip_bomb_is_refused_fast_in_bounded_memory(tmp_path, settings, reader):
    settings.BULK_ADMIN_MAX_XLSX_UNCOMPRESSED = 16 * 1024 * 1024
    path = _bomb(tmp_path / "bomb.xlsx", 64)
    assert path.stat().st_size < 1024 * 1024
    tracemalloc.start()
    started = time.monotonic()
    try:
        message = read_error(path)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 1
    assert peak < 4 * 1024 * 1024
    assert message == (
        "The workbook would unpack to 64 MB, more than the 16 MB this site accepts. "
        "Save it as CSV instead."
    )


def test_a_workbook_under_the_unpacked_limit_is_read(tmp_path, settings, reader):
    settings.BULK_ADMIN_MAX_XLSX_UNCOMPRESSED = 16 * 1024 * 1024
    path = _bomb(tmp_path / "fine.xlsx", 2)
    info, rows = read(path)
    assert info.headers == ["a"]


def test_a_zip_lying_about_its_unpacked_size_is_refused_fast(tmp_path, reader):
    path = _bomb(tmp_path / "liar.xlsx", 64)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        real = archive.getinfo(SHEET).file_size
    # Declare 5000 bytes where there are 64 MiB, in the local header and the directory.
    real_bytes = real.to_bytes(4, "little")
    assert data.count(real_bytes) == 2
    data = data.replace(real_bytes, (5000).to_bytes(4, "little"))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        assert archive.getinfo(SHEET).file_size == 5000
    started = time.monotonic()
    message = read_error(bytes(data), name="liar.xlsx")
    assert time.monotonic() - started < 2
    # zipfile checks the declared size and the CRC as the sheet is scanned.
    assert message == (
        "The file is not a valid XLSX workbook (Bad CRC-32 for file 'xl/worksheets/sheet1.xml')."
    )


# --- messages ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "empty.csv",
        "blank_first_row.csv",
        "png_renamed.csv",
        "sheet.ods",
        "legacy.xls",
        "text_named.xls",
    ],
)
def test_every_file_error_is_a_sentence(name):
    assert_sentence(read_error(DATA / name))


def test_csv_source_reports_its_detection():
    with (DATA / "semicolon.csv").open("rb") as file:
        source = CsvSource(file)
        assert source.info.detected() == {"format": "csv", "encoding": "utf-8", "delimiter": ";"}
        source.close()
        # Closing detaches the text layer: the caller's file stays usable.
        assert not file.closed


@pytest.mark.parametrize(
    "encoding", ["utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16"], ids=lambda e: e
)
def test_a_nul_cell_is_found_in_every_encoding(encoding):
    # Files without a NUL byte skip the per-line NUL check; UTF-16 always keeps it.
    data = "isbn,title\n1,Été\n2,a\x00b\n".encode(encoding)
    info, rows = read(data, encoding=encoding)
    assert [row for row, _cells in rows] == [2, 3]
    assert type(rows[0][1][1]) is str and rows[0][1][1] == "Été"
    assert isinstance(rows[1][1][1], BadCell) and rows[1][1][1] == "a\x00b"
