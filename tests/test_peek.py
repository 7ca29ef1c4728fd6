"""The upload step's XLSX reader (bulk_admin.peek): the first rows, as the task's readers give
them, reading only the start of the sheet and of the shared strings."""

import datetime
import re
import zipfile

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from bulk_admin.exceptions import SourceError
from bulk_admin.sources import XlsxSource
from tests.test_sources import SHEET, TYPED_ROWS, normalized, rewrite_member


def rows_of(path, count, **options):
    with open(path, "rb") as file, XlsxSource(file, peek=count, **options) as source:
        return source.info, list(source.rows())


def full(path, count, reader="openpyxl"):
    with open(path, "rb") as file, XlsxSource(file, reader=reader) as source:
        return source.info, list(source.rows())[: count - 1]


def workbook_of(tmp_path, rows, name="book.xlsx", shared=True):
    """Write ``rows``; with ``shared``, text in a shared strings part, as Excel writes it
    (openpyxl writes inline strings)."""
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(list(row))
    path = tmp_path / name
    book.save(path)
    return with_shared_strings(path) if shared else path


_INLINE = re.compile(
    rb'<c r="([A-Z]+\d+)"( s="\d+")? t="inlineStr"(?: ?/>|><is>'
    rb'(?:<t( xml:space="preserve")?>(.*?)</t>|<t(?: xml:space="preserve")? ?/>)</is></c>)',
    re.DOTALL,
)


def with_shared_strings(path):
    with zipfile.ZipFile(path) as archive:
        members = {info.filename: archive.read(info.filename) for info in archive.infolist()}
    strings = {}

    def shared(match):
        text = match.group(4) or b""
        number = strings.setdefault(text, len(strings))
        return b'<c r="%s"%s t="s"><v>%d</v></c>' % (match.group(1), match.group(2) or b"", number)

    members[SHEET] = _INLINE.sub(shared, members[SHEET])
    assert b"inlineStr" not in members[SHEET]
    items = b"".join(b'<si><t xml:space="preserve">%s</t></si>' % text for text in strings)
    members["xl/sharedStrings.xml"] = (
        b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/'
        b'spreadsheetml/2006/main" count="%d" uniqueCount="%d">%s</sst>'
        % (len(strings), len(strings), items)
    )
    members["[Content_Types].xml"] = members["[Content_Types].xml"].replace(
        b"</Types>",
        b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
        b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
    )
    rels = "xl/_rels/workbook.xml.rels"
    members[rels] = members[rels].replace(
        b"</Relationships>",
        b'<Relationship Id="rIdShared" Type="http://schemas.openxmlformats.org/officeDocument/'
        b'2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


@pytest.mark.parametrize("shared", [True, False], ids=["shared strings", "inline strings"])
@pytest.mark.parametrize("reader", ["openpyxl", "calamine"])
def test_peek_gives_the_rows_the_readers_give(tmp_path, reader, shared):
    rows = [
        *TYPED_ROWS,
        [],
        ["  spaced  ", "Ünïcødé ✓", -0.0, 1e15, "=1+1", 0, 1, datetime.timedelta(hours=36)],
        [None, None, None, None, None, None, None, "last"],
        [1.5, "x" * 300, 10**12, datetime.datetime(1999, 12, 31, 23, 59, 59), None, True],
    ]
    path = workbook_of(tmp_path, rows, shared=shared)
    peeked_info, peeked = rows_of(path, 20)
    info, whole = full(path, 20, reader)
    assert peeked_info.headers == info.headers
    assert normalized(peeked) == normalized(whole)


def test_peek_stops_after_the_rows_asked_for(tmp_path):
    path = workbook_of(tmp_path, [["isbn", "title"], *[[str(i), "T%d" % i] for i in range(50)]])
    info, rows = rows_of(path, 4)
    assert info.headers == ["isbn", "title"]
    assert rows == [(2, ["0", "T0"]), (3, ["1", "T1"]), (4, ["2", "T2"])]


def test_peek_reads_only_the_start_of_the_sheet_and_of_the_shared_strings(tmp_path):
    # Both parts are damaged past the first rows: the full readers refuse the file, the
    # upload step reads what it shows without reaching the damage.
    path = workbook_of(tmp_path, [["isbn", "title"], *[[str(i), "T%d" % i] for i in range(50)]])

    def break_sheet(xml):
        cut = xml.index(b'<row r="30"')
        return xml[:cut] + b"<row r='oops' <<< not xml"

    def break_strings(xml):
        cut = xml.index(b'<si><t xml:space="preserve">T40</t></si>')
        return xml[:cut] + b"<si><<< not xml"

    rewrite_member(path, SHEET, break_sheet)
    rewrite_member(path, "xl/sharedStrings.xml", break_strings)
    info, rows = rows_of(path, 4)
    assert rows[0] == (2, ["0", "T0"])
    with pytest.raises(SourceError):
        full(path, 100)


def test_peek_fills_rows_left_out_and_keeps_their_numbers(tmp_path):
    book = openpyxl.Workbook()
    book.active["A1"], book.active["B1"] = "isbn", "title"
    book.active["B4"] = "only B"
    path = tmp_path / "gaps.xlsx"
    book.save(path)
    assert rows_of(path, 10)[1] == [(4, [None, "only B"])]


def test_peek_reads_rich_text_and_error_cells(tmp_path):
    path = workbook_of(tmp_path, [["a", "b"], ["x", 1]], shared=False)

    def inline(xml):
        xml = xml.replace(
            b'<c r="A2" t="inlineStr"><is><t>x</t></is></c>',
            b'<c r="A2" t="inlineStr"><is><r><t>in</t></r><r><t>l</t></r></is></c>',
        )
        return xml.replace(b'<c r="B2" t="n"><v>1</v></c>', b'<c r="B2" t="e"><v>#DIV/0!</v></c>')

    rewrite_member(path, SHEET, inline)
    assert rows_of(path, 3)[1] == [(2, ["inl", "#DIV/0!"])]


def test_peek_dates_of_a_1904_workbook(tmp_path):
    path = workbook_of(tmp_path, [["when"], [datetime.date(2024, 5, 1)]])
    with zipfile.ZipFile(path) as archive:
        sheet = archive.read(SHEET)
    serial = sheet.split(b'<c r="A2"')[1].split(b"<v>")[1].split(b"</v>")[0]
    shifted = str(float(serial) - 1462).encode()  # the same day counted from 1904

    rewrite_member(
        path, SHEET, lambda xml: xml.replace(b"<v>" + serial + b"</v>", b"<v>" + shifted + b"</v>")
    )
    rewrite_member(
        path,
        "xl/workbook.xml",
        lambda xml: (
            xml.replace(b"<workbookPr", b'<workbookPr date1904="1"', 1)
            if b"<workbookPr" in xml
            else xml.replace(b"<sheets>", b'<workbookPr date1904="1"/><sheets>', 1)
        ),
    )
    assert rows_of(path, 2)[1] == [(2, [datetime.date(2024, 5, 1)])]


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda xml: xml.replace(b'<row r="2"', b'<row r="99999999"'), "beyond Excel's last row"),
        (lambda xml: xml.replace(b'<row r="2"', b'<row r="x"'), "row number “x”"),
        (lambda xml: xml.replace(b'r="A2"', b'r="AAAA2"'), "cell reference"),
        (lambda xml: xml.replace(b'r="B2"', b'r="ZZZ2"'), "last column XFD"),
        (lambda xml: xml.replace(b"<sheetData>", b"<sheetData><<"), "not valid XML"),
    ],
)
def test_peek_refuses_what_no_spreadsheet_writes(tmp_path, change, message):
    path = workbook_of(tmp_path, [["a", "b"], ["x", "y"]])
    rewrite_member(path, SHEET, change)
    with pytest.raises(SourceError, match=message):
        rows_of(path, 3)


@pytest.mark.django_db
def test_the_upload_step_reads_no_whole_sheet(tmp_path, monkeypatch, staff_client, upload_media):
    # The whole-sheet readers are the task's: the upload request must not open one.
    from bulk_admin import sources
    from bulk_admin.models import ImportJob
    from tests.test_views import url

    def refuse(*args):
        raise AssertionError("a whole-sheet reader was opened in the upload request")

    monkeypatch.setattr(sources.XlsxSource, "_open_openpyxl", refuse)
    monkeypatch.setattr(sources.XlsxSource, "_open_calamine", refuse)
    path = workbook_of(tmp_path, [["ISBN", "Title"], ["1", "A"], ["2", "B"]])
    with open(path, "rb") as file:
        response = staff_client.post(
            url(), {"file": file, "on_conflict": "error", "encoding": "auto", "delimiter": "auto"}
        )
    assert response.status_code == 302, response.content.decode()[:500]
    job = ImportJob.objects.get()
    assert job.headers == ["ISBN", "Title"]
    assert job.options["samples"][:2] == [["1", "A"], ["2", "B"]]


# --- hostile parts ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_members(tmp_path_factory):
    """The parts of a small workbook with shared strings, a date and a formula's value."""
    folder = tmp_path_factory.mktemp("peek")
    rows = [["isbn", "title", "when"], ["1", "A", datetime.date(2024, 1, 2)], ["2", "B", 3.5]]
    path = workbook_of(folder, rows)
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info.filename) for info in archive.infolist()}


def _mutated(data, edits):
    data = bytearray(data)
    for position, kind, byte in edits:
        if not data:
            break
        position %= len(data)
        if kind == 0:
            data[position] = byte
        elif kind == 1:
            data.insert(position, byte)
        elif kind == 2:
            del data[position]
        else:
            del data[position:]
    return bytes(data)


@given(
    part=st.sampled_from([SHEET, "xl/sharedStrings.xml", "xl/styles.xml", "xl/workbook.xml"]),
    edits=st.lists(
        st.tuples(st.integers(0, 10**6), st.integers(0, 3), st.integers(0, 255)),
        min_size=1,
        max_size=6,
    ),
)
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_damaged_parts_end_in_a_message(tmp_path, sample_members, part, edits):
    # Whatever a part holds, the upload step gives rows or a SourceError, never another
    # exception (issue 12's rule for this reader too).
    path = tmp_path / "mutated.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in sample_members.items():
            archive.writestr(name, _mutated(data, edits) if name == part else data)
    try:
        info, rows = rows_of(path, 4)
    except SourceError as exc:
        assert str(exc)
    else:
        assert len(rows) <= 3


@pytest.mark.parametrize("part", ["xl/workbook.xml", SHEET, "xl/sharedStrings.xml"])
def test_an_xml_declaration_with_an_unknown_encoding_is_a_damaged_part(tmp_path, part):
    # Found by test_damaged_parts_end_in_a_message: expat raises LookupError, not ParseError.
    from bulk_admin.sources import open_source

    path = workbook_of(tmp_path, [["isbn", "title"], ["1", "A"]])

    def declare(xml):
        body = xml.split(b"?>", 1)[1] if xml.startswith(b"<?xml") else xml
        return b'<?xml version="1.0" encoding="ATF-8"?>' + body

    rewrite_member(path, part, declare)
    with pytest.raises(SourceError, match="not a valid XLSX workbook"):
        rows_of(path, 3)
    if part == "xl/workbook.xml":  # the task's readers go through the same checks
        with open(path, "rb") as file, pytest.raises(SourceError):
            list(open_source(file, name="book.xlsx").rows())


FORMAT_CODES = [
    "yyyy-mm-dd",
    "yyyy-mm-dd h:mm:ss",
    "dd/mm/yyyy",
    "mmm",
    "h AM/PM",
    "d\\-m",
    "[$-409]d-mmm-yy;@",
    '[DBNum1][$-804]yyyy"年"m"月"d"日"',
    "[h]:mm:ss",
    "[mm]:ss",
    "[ss].00",
    "[hh]:mm",
    "[Blue][h]:mm",
    "General",
    "@",
    "0.00E+00",
    "0.0%",
    "# ?/?",
    "[Red]0.00",
    '0.00" days"',
    '#,##0 "mm"',
    "[$€-2] #,##0.00",
    '_(* #,##0_);_(* (#,##0);_(* "-"_);_(@_)',
    "[<=9999999]###-####;(###) ###-####",
]


@pytest.mark.parametrize("code", FORMAT_CODES)
def test_date_formats_are_told_as_openpyxl_tells_them(code):
    # The readers' own rule, without importing openpyxl (13 MB) into every import's process.
    from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format

    from bulk_admin.peek import is_date_format as ours, is_duration_format

    for each in [code, *BUILTIN_FORMATS.values()]:
        assert ours(each) == bool(is_date_format(each)), each
        assert is_duration_format(each) == bool(is_timedelta_format(each)), each
