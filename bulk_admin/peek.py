"""Read the first rows of an XLSX sheet in memory and time that do not grow with the file.

The admin's upload step shows the header and a few values of each column; the whole file is
read later, by the task. openpyxl's streaming reader still loads every shared string before
the first row (a 32 MB workbook of distinct titles costs the web process 130 MB and half a
minute), and python-calamine loads the whole sheet. This reader parses only the start of the
sheet's part (expat, incrementally, stopping after the rows asked for), then only the shared
strings those rows use (strings are numbered in the order they first appear, so they are
near the start of their part), and the cell styles to give dates as dates.

The archive itself is checked first by :class:`bulk_admin.workbook.Workbook` (ZIP damage,
unpacked size, the workbook's parts); nothing here allocates according to what the file
declares.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from typing import Any, Protocol
from xml.etree import ElementTree

from django.utils.translation import gettext as _

from bulk_admin.workbook import (
    _MAIN_NS,
    EXCEL_MAX_COLUMNS,
    EXCEL_MAX_ROWS,
    XML_ERRORS,
    Workbook,
    _damaged,
    beyond_limits,
    column_number,
)

_N = "{%s}" % _MAIN_NS
_REF = re.compile(r"([A-Za-z]{1,3})(\d{1,7})$")
# Number formats Excel shows as dates or times without a format code in the file.
_BUILTIN_DATE_FORMATS = frozenset([*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)])
_MIDNIGHT = datetime.time()


def peek_rows(workbook: Workbook, sheet: str, count: int) -> list[list[Any]]:
    """Return the first ``count`` records of ``sheet`` (row 1 first, empty rows included).

    Cells are typed as the XLSX readers give them: text, int or float, bool, a date (a
    datetime when it has a time), and an Excel error as its text (``#DIV/0!``).
    """
    part = workbook.part_of(sheet) or ""
    if not workbook.has_part(part):
        raise _damaged(_("the part of sheet “%(sheet)s” is missing") % {"sheet": sheet})
    raw = list(_raw_rows(workbook, part, count))
    wanted = {text for row in raw for kind, text, _style in row.values() if kind == "s"}
    strings = _shared_strings(workbook, wanted)
    dates = _date_styles(workbook)
    epoch_1904 = workbook.date1904()
    records = []
    for row in raw:
        width = max(row, default=-1) + 1
        cells: list[Any] = [None] * width
        for column, (kind, value, style) in row.items():
            cells[column] = _typed(kind, value, style, strings, dates, epoch_1904)
        records.append(cells)
    return records


_PIECE = 64 * 1024


def _events(workbook: Workbook, part: str) -> Iterator[tuple[str, Any]]:
    """Yield the start and end events of ``part``, parsed as far as they are read.

    The part is fed in small pieces, so that a reader stopping early parses little more
    than it needs; damage is reported only once the events before it are consumed.
    """
    parser: Any = ElementTree.XMLPullParser(events=("start", "end"))
    try:
        for block in workbook.blocks(part):
            for start in range(0, len(block), _PIECE):
                parser.feed(block[start : start + _PIECE])  # most errors are queued as events
                yield from parser.read_events()
        parser.close()  # a part that ends too early (a reader that reads it all gets here)
        yield from parser.read_events()
    except XML_ERRORS as exc:
        raise _damaged(
            _("its part %(part)s is not valid XML: %(error)s") % {"part": part, "error": exc}
        ) from None


def _raw_rows(
    workbook: Workbook, part: str, count: int | None
) -> Iterator[dict[int, tuple[str, str, int]]]:
    """Yield the first ``count`` rows (all if None) as {column: (type, text, style)}.

    Rows the file leaves out are yielded as empty rows.
    """
    if count is None:
        count = EXCEL_MAX_ROWS  # no sheet holds more; _row_number refuses a row beyond it
    produced = 0
    next_row = 1
    row: dict[int, tuple[str, str, int]] = {}
    column = 0
    cell_kind = ""
    cell_style = 0
    texts: list[str] = []
    inline = False
    sheet_data: Any = None
    for event, element in _events(workbook, part):
        tag = element.tag
        if sheet_data is None and tag != _N + "sheetData":
            continue  # rows elsewhere (before it) are not the sheet's
        if event == "start":
            if tag == _N + "sheetData":
                sheet_data = element
            elif tag == _N + "row":
                number = _row_number(element.get("r"), next_row)
                while next_row < number and produced < count:
                    yield {}  # rows the file leaves out are empty
                    produced += 1
                    next_row += 1
                if produced >= count:
                    return
                row, column = {}, 0
            elif tag == _N + "c":
                column = _column(element.get("r"), column)
                cell_kind = element.get("t") or "n"
                try:
                    cell_style = int(element.get("s") or 0)
                except ValueError:
                    cell_style = 0
                texts, inline = [], False
            elif tag == _N + "is":
                inline = True
        elif tag == _N + "v" or (tag == _N + "t" and inline):
            texts.append(element.text or "")
        elif tag == _N + "c":
            if texts:
                row[column] = (cell_kind, "".join(texts), cell_style)
            column += 1
            element.clear()
        elif tag == _N + "sheetData":
            return  # rows elsewhere (in an extension) are not the sheet's
        elif tag == _N + "row":
            yield row
            produced += 1
            next_row += 1
            element.clear()
            if sheet_data is not None:
                sheet_data.clear()  # the rows read: the parser keeps no element per row
            if produced >= count:
                return
    # A sheet shorter than ``count`` rows: what it has.


def _row_number(text: str | None, expected: int) -> int:
    if text is None:
        return expected
    try:
        number = int(text)
    except ValueError:
        raise _damaged(
            _("the row number “%(row)s” is not a number or out of order") % {"row": text}
        ) from None
    if number > EXCEL_MAX_ROWS:
        raise beyond_limits()
    if number < expected:
        raise _damaged(
            _("the row number “%(row)s” is not a number or out of order") % {"row": text}
        )
    return number


def _column(ref: str | None, expected: int) -> int:
    if ref is None:
        return expected
    match = _REF.match(ref)
    if match is None:
        raise _damaged(_("a cell reference “%(ref)s” is not valid") % {"ref": ref[:20]})
    number = column_number(match.group(1)) - 1
    if number >= EXCEL_MAX_COLUMNS:
        raise beyond_limits()
    return number


def _shared_strings(workbook: Workbook, wanted: set[str]) -> dict[int, str]:
    """Return the shared strings numbered in ``wanted``, reading their part up to the last."""
    indexes: set[int] = set()
    for text in wanted:
        try:
            indexes.add(int(text))
        except ValueError:
            raise _damaged(_("a shared string number is not a number")) from None
    part = workbook.shared_strings_part()
    if not indexes or part is None:
        return {}
    last = max(indexes)
    found: dict[int, str] = {}
    for index, text in enumerate(_shared_string_items(workbook)):
        if index in indexes:
            found[index] = text
        if index >= last:
            break
    return found


def _shared_string_items(workbook: Workbook) -> Iterator[str]:
    """Yield the workbook's shared strings in their order, read as far as they are asked."""
    part = workbook.shared_strings_part()
    if part is None:
        return
    depth_phonetic = 0
    texts: list[str] = []
    table: Any = None
    for event, element in _events(workbook, part):
        tag = element.tag
        if tag == _N + "rPh":  # phonetic hints: not part of the text
            depth_phonetic += 1 if event == "start" else -1
        elif event == "start":
            if tag == _N + "si":
                texts = []
            elif tag == _N + "sst":
                table = element
        elif tag == _N + "t" and not depth_phonetic:
            texts.append(element.text or "")
        elif tag == _N + "si":
            yield "".join(texts)
            if table is not None:
                table.clear()  # the items read: the parser keeps no element per string
            element.clear()


def _date_styles(workbook: Workbook) -> dict[int, bool]:
    """Return {style number: is a duration} of the styles that show a date, time or duration."""
    styles = workbook.small_part("xl/styles.xml")
    if styles is None:
        return {}
    custom: dict[int, str | None] = {}
    for number_format in styles.iter(_N + "numFmt"):
        try:
            custom[int(number_format.get("numFmtId") or -1)] = number_format.get("formatCode")
        except ValueError:
            continue
    dates: dict[int, bool] = {}
    cell_formats = styles.find(_N + "cellXfs")
    if cell_formats is None:
        return dates
    for position, xf in enumerate(cell_formats.iter(_N + "xf")):
        try:
            format_id = int(xf.get("numFmtId") or 0)
        except ValueError:
            continue
        code = custom.get(format_id)
        if code is not None and is_date_format(code):
            dates[position] = is_duration_format(code)
        elif code is None and format_id in _BUILTIN_DATE_FORMATS:
            dates[position] = format_id == 46  # [h]:mm:ss

    return dates


# What a format code shows literally: quoted text, an escaped character, the character after
# "_" (a space as wide as it) or "*" (repeated to fill the cell), and [bracketed] parts (a
# colour, a condition, a locale) other than elapsed time.
_LITERALS = re.compile(r'"[^"]*"|\\.|[_*].|\[(?![hms]+\])[^\]]*\]', re.IGNORECASE)
_DATE_CODES = re.compile(r"[dmyhs]", re.IGNORECASE)
_ELAPSED = re.compile(r"\[(?:h+|m+|s+)\]", re.IGNORECASE)


def is_date_format(code: str) -> bool:
    """Return whether a number format code shows a number as a date, a time or a duration.

    Excel's rule: a day, month, year, hour or second code outside the literal parts.
    """
    return _DATE_CODES.search(_LITERALS.sub("", code)) is not None


def is_duration_format(code: str) -> bool:
    """Return whether a number format code shows elapsed time (``[h]:mm:ss``)."""
    return _ELAPSED.search(_LITERALS.sub("", code)) is not None


class SharedStrings(Protocol):
    """The shared strings by number: a dict of some, or all of them (the streaming reader)."""

    def get(self, index: int, default: str, /) -> str: ...


def _typed(
    kind: str,
    text: str,
    style: int,
    strings: SharedStrings,
    dates: dict[int, bool],
    epoch_1904: bool,
) -> Any:
    if kind == "s":
        return strings.get(int(text), "")
    if kind in ("inlineStr", "str", "e", "d"):
        return text
    if kind == "b":
        return text.strip() in ("1", "true")
    try:
        number = float(text)
    except ValueError:
        return text
    if style in dates:
        return _excel_date(number, dates[style], epoch_1904)
    if number.is_integer() and not any(mark in text for mark in ".eE"):
        return int(text)
    return number


_EPOCH_1900 = datetime.date(1899, 12, 30).toordinal()


def _excel_date(number: float, duration: bool, epoch_1904: bool) -> Any:
    """Return a date-styled number cell as a date, datetime or timedelta (openpyxl's rules)."""
    if not duration and not epoch_1904 and number.is_integer() and 61 <= number < 2958466:
        # A whole day after 1900-02-28 (Excel's day 60 is its 1900-02-29, a day that never
        # was): the common case, without building a datetime.
        return datetime.date.fromordinal(_EPOCH_1900 + int(number))
    from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel

    epoch = CALENDAR_MAC_1904 if epoch_1904 else CALENDAR_WINDOWS_1900
    try:
        value = from_excel(number, epoch, timedelta=duration)
    except (OverflowError, ValueError):
        return number
    if isinstance(value, datetime.datetime) and value.time() == _MIDNIGHT:
        return value.date()
    return value
