"""A piece of the sheet's part (about 64 KiB of whole rows) read into records.

:mod:`bulk_admin.sources.xlsx_stream` cuts the part into pieces; :func:`_rows_of` reads one.
Row tags numbered without a gap, each right after the last ``</row>``, are read by one pattern
over the piece (:func:`_rows_in_order`), others one by one (:func:`_row_tags`); the cells by
:data:`~bulk_admin.sources.xlsx_cells._PLAIN_CELL` when every ``<`` of the piece is a plain
cell's, by :data:`~bulk_admin.sources.xlsx_cells._CELL` otherwise, then typed by
:mod:`bulk_admin.sources.xlsx_typing`. Anything else raises :class:`_OtherLayout`, and expat
reads the part.
"""

from __future__ import annotations

import itertools
import operator
import re
from typing import Any

from bulk_admin.peek import _row_number
from bulk_admin.sources.xlsx_cells import (
    _CELL,
    _PLAIN_CELL,
    _attributes,
    _Cells,
    _check_chunk,
    _OtherLayout,
)
from bulk_admin.sources.xlsx_typing import _cellwise, _columnwise
from bulk_admin.workbook import EXCEL_MAX_ROWS

# Groups: the row's attributes, "/" of an empty row.
_ROW_TAG = re.compile(rb"\s*<row(\s[^>]*?)?(/?)>")
_ROW_FIRST = re.compile(rb'\s+r="([0-9]{1,7})"')


def _rows_of(
    chunk: bytes, cells: _Cells, next_row: int, open_end: bool = True
) -> tuple[list[Any], int]:
    """Read the rows of ``chunk``: whole rows, the last one's ``</row>`` cut off unless
    ``open_end`` is false (the chunk ends at ``</sheetData>``)."""
    _check_chunk(chunk)
    total = chunk.count(b"<")
    pieces = chunk.split(b"</row>")
    in_order = _rows_in_order(chunk, pieces, cells, next_row, open_end)
    if in_order is not None:
        rows, expected, next_row = in_order
        # Plain cells only (a value or an inline text): their "<" are all the piece has.
        plain = _columnwise(list(map(_PLAIN_CELL.findall, rows)), cells, plain=True)
        if plain is not None and expected + plain[1] == total:
            return plain[0], next_row
        records: list[Any] = []
        slots: list[int] | None = None
        found_rows = list(map(_CELL.findall, rows))
    else:
        records, slots, found_rows, expected, next_row = _row_tags(
            pieces, cells, next_row, open_end
        )
    row_records, count = _columnwise(found_rows, cells) or _cellwise(found_rows, cells)
    expected += count
    if slots is None:
        records = row_records
    else:
        for slot, record in zip(slots, row_records, strict=True):
            records[slot] = record
    if total != expected:
        raise _OtherLayout
    return records, next_row


# What the row tags of a piece give: its records (None where a row with cells goes), the
# places of those rows in it, their cells as _CELL finds them, the count of the "<" read,
# the number of the next row.
_Rows = tuple[list[Any], list[int], list[list[tuple[bytes, ...]]], int, int]
_ROW_IN_ORDER = re.compile(rb'<row r="([0-9]{1,7})"([^>]*)>')


def _rows_in_order(
    chunk: bytes, pieces: list[bytes], cells: _Cells, next_row: int, open_end: bool
) -> tuple[list[bytes], int, int] | None:
    """Read the row tags of a piece in C if they are the common writers': each ``<row r="N"
    ...>`` right after the last ``</row>``, numbered from ``next_row`` without a gap, none
    empty (``<row .../>``): each row's piece, the count of the "<" of the tags, the number
    of the next row. None for anything else, which :func:`_row_tags` reads."""
    pieces = list(pieces)  # the caller's stay whole for _row_tags
    ends = len(pieces) - 1
    if not open_end and pieces.pop().strip():
        return None  # something after the last </row>
    count = len(pieces)
    if not count or not pieces[0].lstrip().startswith(b'<row r="'):
        return None
    tags = _ROW_IN_ORDER.findall(chunk)
    if (
        len(tags) != count
        or chunk.count(b"<row") != count
        or chunk.count(b'</row><row r="') != count - 1
    ):
        return None
    digits, rests = zip(*tags, strict=True)
    numbers = list(map(int, digits))
    last = next_row + count - 1
    if numbers[0] != next_row or numbers[-1] != last or last > EXCEL_MAX_ROWS:
        return None
    if not all(map(operator.lt, numbers, itertools.islice(numbers, 1, None))):
        return None
    row_attributes = cells.row_attributes
    for rest in set(rests):
        if rest not in row_attributes:
            if rest.endswith(b"/"):
                return None  # <row r="N" .../>
            cells.row(rest)
    # A row's tag holds no cell: findall from the start of its piece finds its cells.
    return pieces, count + ends, last + 1


def _row_tags(pieces: list[bytes], cells: _Cells, next_row: int, open_end: bool) -> _Rows:
    """Read the row tags of a piece (split at ``</row>``) one by one: gaps, empty rows, any
    attributes."""
    records: list[Any] = []  # records, and counts of the empty rows between them
    expected = 0  # the "<" of everything read, to compare with the chunk's own count
    prefixes = cells.prefixes
    slots: list[int] = []  # where the record of each row with cells goes in ``records``
    found_rows: list[list[tuple[bytes, ...]]] = []  # each such row's cells, as _CELL finds them
    last = len(pieces) - 1
    expected += last
    for index, piece in enumerate(pieces):
        position = 0
        open_row = False
        while True:
            tag = _ROW_TAG.match(piece, position)
            if tag is None:
                break  # what is left must hold no "<": the count below tells
            expected += 1
            position = tag.end()
            attributes, self_closed = tag.groups()
            number = next_row
            if attributes:
                first = _ROW_FIRST.match(attributes)
                if first is not None:  # r first, as every common writer puts it
                    cells.row(attributes[first.end() :])
                    number = _row_number(first.group(1).decode(), next_row)
                else:
                    given_number = _attributes(attributes, prefixes).get(b"r")
                    if given_number is not None:
                        number = _row_number(given_number.decode(), next_row)
            if next_row < number:
                records.append(number - next_row)  # rows the file leaves out: a count
                next_row = number
            next_row += 1
            if self_closed:
                records.append([])  # <row .../>
                continue
            slots.append(len(records))
            records.append(None)
            found_rows.append(_CELL.findall(piece, position))
            open_row = True
            break  # a row's cells run to the end of its piece
        if open_row != (index < last or open_end):
            raise _OtherLayout  # a </row> that closes no row, or a row </sheetData> closes
    return records, slots, found_rows, expected, next_row
