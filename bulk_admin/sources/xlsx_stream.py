"""The streaming XLSX reader: typed rows parsed as the sheet's part is unpacked.

python-calamine loads a whole sheet before giving its first row, and openpyxl's read-only
mode spends about 20 µs of Python on each cell. This reader parses the part block by block as
the archive unpacks it, so its memory holds one block of the sheet and the shared strings:

- what comes before ``<sheetData>`` is parsed by expat and must be plain (the main namespace
  on the root ``<worksheet>``, no comment, DOCTYPE, entity or row);
- after it, cells in the layout the common writers use (Excel, LibreOffice, openpyxl,
  XlsxWriter: no namespace prefix, the reference first, a ``<v>`` value or an inline
  ``<is><t>`` text) are read by one regular expression per row, in C;
- every ``<`` of a piece (about 64 KiB of rows) must belong to a cell or row read that way
  (one count per piece), and the piece must hold nothing expat would read otherwise or
  refuse (a namespace declaration, CDATA, an undefined entity, bytes that are not UTF-8 or
  not XML characters, attributes written twice); a part holding anything else is read again
  from its start by expat, as :mod:`bulk_admin.peek` reads the first rows, and the rows
  already given are skipped. So is a part with a row out of order or beyond Excel's limits:
  expat's path says where, or finds it was only in a comment.

Both paths give the cells :func:`bulk_admin.peek.peek_rows` gives (text, int or float, bool,
a date, a datetime when it has a time), and an Excel error cell as a row error;
``tests/test_xlsx_stream.py`` compares them. Nothing is allocated according to what the file
declares, not even for a far row number.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Generator, Iterator
from typing import Any, cast

from django.utils.translation import gettext as _

from bulk_admin.exceptions import SourceError
from bulk_admin.peek import _date_styles, _raw_rows
from bulk_admin.sources.batches import Records, lists
from bulk_admin.sources.xlsx_cells import _Cells, _OtherLayout
from bulk_admin.sources.xlsx_parts import _MAX_PENDING, _Batch, _contents
from bulk_admin.sources.xlsx_rows import _rows_of
from bulk_admin.sources.xlsx_strings import _shared_strings, _SpilledStrings
from bulk_admin.workbook import Workbook, _damaged

_SHEET_DATA = re.compile(rb"<(\w+:)?sheetData\s*(/?)>")
_PIECE = 64 * 1024
# Records read by expat are handed over this many at a time.
_EXPAT_BATCH = 1024


def stream_records(workbook: Workbook, sheet: str) -> Records:
    """Return the records of ``sheet``, row 1 first, rows the file leaves out as ``[]``;
    also a piece's list at a time (:class:`~bulk_admin.sources.batches.Records`)."""
    return Records(_record_lists(workbook, sheet))


def _record_lists(workbook: Workbook, sheet: str) -> Iterator[list[Any]]:
    part = workbook.part_of(sheet) or ""
    if not workbook.has_part(part):
        raise _damaged(_("the part of sheet “%(sheet)s” is missing") % {"sheet": sheet})
    strings = _shared_strings(workbook)
    cells = _Cells(strings, _date_styles(workbook), workbook.date1904())
    try:
        given = 0
        try:
            for piece in _common_layout(workbook, part, cells):
                # Counts of empty rows stay counts: a far row number costs no memory.
                yield (
                    piece.records if isinstance(piece, _WithEmptyRows) else cast(list[Any], piece)
                )
                given += len(piece)
        except _OtherLayout:
            # The rest through expat, which gives the same records (those given skipped).
            rest = map(
                cells.record, itertools.islice(_raw_rows(workbook, part, None), given, None)
            )
            yield from lists(rest, _EXPAT_BATCH)
    finally:
        if isinstance(strings, _SpilledStrings):
            strings.close()


def starts_in_common_layout(workbook: Workbook, sheet: str) -> bool:
    """Whether the fast path reads the start of ``sheet``: all before ``<sheetData>`` and the
    first piece of rows (the reader ``auto`` reads a sheet in another layout, such as the
    namespace prefixes of the .NET Open XML SDK, with python-calamine: expat is slower)."""
    part = workbook.part_of(sheet) or ""
    if not workbook.has_part(part):
        return True  # the stream says so
    # No shared strings are read for this: an index beyond the table is an empty text.
    cells = _Cells([], _date_styles(workbook), workbook.date1904())
    records = _common_layout(workbook, part, cells)
    try:
        next(records, None)
    except _OtherLayout:
        return False
    except SourceError:
        return True  # a damaged part: the stream says how
    finally:
        records.close()
    return True


def _common_layout(workbook: Workbook, part: str, cells: _Cells) -> Generator[_Batch, None, None]:
    """Yield the records of a part in the common layout, a piece's at a time; raise
    _OtherLayout on anything else.

    A piece's records are given only once all of the piece has been read.
    """
    pending = b""
    next_row = 1
    for block in _contents(workbook, part, _SHEET_DATA, b"</sheetData>", cells.prefixes):
        data = pending + block if pending else block
        end = data.find(b"</sheetData>")
        limit = len(data) if end == -1 else end
        position = 0
        while True:  # rows of about _PIECE bytes at a time: what is held is that much
            cut = data.find(b"</row>", position + _PIECE, limit)
            if cut == -1:
                break
            records, next_row = _read_rows(data[position:cut], cells, next_row)
            yield _expanded(records)
            position = cut + 6
        if end != -1:
            records, next_row = _read_rows(data[position:end], cells, next_row, False)
            yield _expanded(records)
            return
        cut = data.rfind(b"</row>", position)
        if cut == -1:
            if len(data) - position > _MAX_PENDING:
                raise _OtherLayout
            pending = data[position:]
            continue
        pending = data[cut + 6 :]
        records, next_row = _read_rows(data[position:cut], cells, next_row)
        yield _expanded(records)
    # A part that ends before </sheetData>: expat reads it, and says how it is damaged.
    raise _OtherLayout


def _expanded(records: list[Any]) -> _Batch:
    """Return ``records``, a count of empty rows as that many empty records."""
    if not any(map(_is_count, records)):
        return records  # no row left out: the list itself
    return _WithEmptyRows(records)


class _WithEmptyRows:
    """Records and counts of the empty rows between them, iterated as that many empty records:
    a far row number costs no memory."""

    def __init__(self, records: list[Any]):
        self.records = records

    def __len__(self) -> int:
        return sum(record if record.__class__ is int else 1 for record in self.records)

    def __iter__(self) -> Iterator[list[Any]]:
        for record in self.records:
            if record.__class__ is int:
                for _empty in range(record):
                    yield []
            else:
                yield record


_is_count = int.__instancecheck__  # one C call per record


def _read_rows(
    chunk: bytes, cells: _Cells, next_row: int, open_end: bool = True
) -> tuple[list[Any], int]:
    """Read the rows of ``chunk``: complete rows, the last one's ``</row>`` cut off unless
    ``open_end`` is false (the chunk ends at ``</sheetData>``)."""
    try:
        return _rows_of(chunk, cells, next_row, open_end)
    except (UnicodeDecodeError, ValueError, SourceError):
        # Not UTF-8, a cell that is not what its type says, a row out of order or beyond
        # Excel's limits (maybe only in a comment): expat's path reads the part again row by
        # row, and says which error, if any, is on which row.
        raise _OtherLayout from None
