"""What every reader shares: the ``Source`` base class, row types, header and limit checks.

A source gives the header (row 1) and then ``(row_number, cells)`` pairs, where
``row_number`` is the number the user sees in the spreadsheet. Fully blank rows are not
yielded but keep their number. Every problem with the file itself ends in a
:class:`~bulk_admin.exceptions.SourceError` whose message a spreadsheet user can act on.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Iterable, Iterator
from typing import IO, Any, Literal

from django.utils.translation import gettext as _

from bulk_admin.conf import conf
from bulk_admin.exceptions import SourceError
from bulk_admin.results import BadCell, FileInfo
from bulk_admin.sources.batches import lists

Row = tuple[int, list[Any]]
FileLike = IO[bytes]
FormatName = Literal["auto", "csv", "xlsx"]


class Source:
    """Base class of the file readers.

    Subclasses set ``info`` (a :class:`FileInfo`) once the header is read and
    implement :meth:`rows`. A source may be iterated once.
    """

    info: FileInfo

    @property
    def headers(self) -> list[str]:
        return self.info.headers

    # Subclasses that read records themselves set these and implement _records().
    _record = 0
    _all_text = False

    def _records(self) -> Iterator[list[Any]]:
        """Yield every record after the header, counting them in ``self._record``."""
        raise NotImplementedError

    def rows(self) -> Iterator[Row]:
        """Yield ``(row_number, cells)`` for each data row, skipping fully blank rows."""
        read = 0
        limits = _Limits(all_text=self._all_text)
        for cells in self._records():
            if not cells or _is_blank(cells):
                continue
            read += 1
            limits.check(self._record, cells, read)
            yield self._record, cells

    def _record_batches(self) -> Iterator[list[Any]] | None:
        """Lists of the records after the header (an int in one: that many empty records),
        counted in ``self._record`` by :meth:`row_batches`; None if the source reads a record
        at a time."""
        return None

    def row_batches(self, size: int = 4096) -> Iterator[list[Row]]:
        """Yield the rows :meth:`rows` yields, a list at a time (what the importer reads).

        The same rows, numbers and errors. A list whose records hold no blank row and cross
        no limit (most of a file) is checked with no Python per row.
        """
        batches = self._record_batches()
        if batches is None:
            yield from lists(self.rows(), size)
            return
        limits = _Limits(all_text=self._all_text)
        for records in batches:
            first = self._record + 1
            if _without_blank_rows(records) and limits.holds(records):
                self._record += len(records)
                limits.read += len(records)
                yield list(zip(range(first, first + len(records)), records, strict=True))
                continue
            yield from lists(self._checked(records, limits), len(records))

    def _checked(self, records: list[Any], limits: _Limits) -> Iterator[Row]:
        """The rows of ``records`` checked one by one, as :meth:`rows` reads them."""
        for cells in records:
            if cells.__class__ is int:
                self._record += cells
                continue
            self._record += 1
            if not cells or _is_blank(cells):
                continue
            limits.read += 1
            limits.check(self._record, cells, limits.read)
            yield self._record, cells

    def close(self) -> None:
        """Release the file; called by the importer whatever happens."""

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _is_blank(cells: list[Any]) -> bool:
    for cell in cells:
        if cell is None:
            continue
        if isinstance(cell, str):
            if cell.strip():
                return False
        else:
            return False
    return True


_is_count = int.__instancecheck__
_first = operator.itemgetter(0)


def _without_blank_rows(records: list[Any]) -> bool:
    """Whether every record of ``records`` is a row with a first cell that is not blank (one
    C pass each; the rows of a list that fails this are checked one by one)."""
    if [] in records or any(map(_is_count, records)):
        return False
    firsts = list(map(_first, records))
    return not (None in firsts or "" in firsts or any(map(str.isspace, filter(_is_text, firsts))))


def excel_error_cell(text: str) -> BadCell:
    """Return the cell for an Excel error such as ``#DIV/0!``: a row error, never empty."""
    return BadCell(text, _("The cell holds the Excel error %(error)s.") % {"error": text})


def _clean_header(cells: list[Any]) -> list[str]:
    headers = []
    for cell in cells:
        if cell is None:
            headers.append("")
        elif isinstance(cell, float) and cell.is_integer():
            headers.append(str(int(cell)))
        else:
            headers.append(str(cell).strip())
    while headers and not headers[-1]:
        headers.pop()
    return headers


_is_text = str.__instancecheck__  # one C call per cell


class _Limits:
    """The row, column and cell limits, read from the settings once per file."""

    def __init__(self, *, all_text: bool):
        self.max_rows = conf.MAX_ROWS
        self.max_columns = conf.MAX_COLUMNS
        self.max_cell = conf.MAX_CELL_SIZE
        self.all_text = all_text
        self.read = 0  # the rows read so far (row_batches counts them here)

    def holds(self, records: list[list[Any]]) -> bool:
        """Whether none of ``records``, read after ``self.read`` rows, can cross a limit."""
        if self.max_rows and self.read + len(records) > self.max_rows:
            return False
        if max(map(len, records), default=0) > self.max_columns:
            return False
        cells: Iterable[Any] = itertools.chain.from_iterable(records)
        if not self.all_text:
            cells = filter(_is_text, cells)
        return max(map(len, cells), default=0) <= self.max_cell

    def check(self, row_number: int, cells: list[Any], rows_read: int) -> None:
        if self.max_rows and rows_read > self.max_rows:
            raise SourceError(
                _("The file has more than %(max)d data rows, the most this site accepts.")
                % {"max": self.max_rows}
            )
        if len(cells) > self.max_columns:
            # Empty (maybe styled) cells at the end of a row do not count.
            width = len(cells)
            while width and _is_blank(cells[width - 1 : width]):
                width -= 1
            if width > self.max_columns:
                raise SourceError(
                    _("Row %(row)d has %(count)d columns; the most this site accepts is %(max)d.")
                    % {"row": row_number, "count": width, "max": self.max_columns}
                )
        # One C-level pass per row: this runs for every row of a file of millions.
        if self.all_text:
            longest = max(map(len, cells), default=0)
        else:
            longest = max(map(len, filter(_is_text, cells)), default=0)
        if longest > self.max_cell:
            for index, cell in enumerate(cells):
                if isinstance(cell, str) and len(cell) > self.max_cell:
                    raise SourceError(
                        _(
                            "Row %(row)d, column %(column)d holds %(size)d characters; "
                            "the most this site accepts in one cell is %(max)d."
                        )
                        % {
                            "row": row_number,
                            "column": index + 1,
                            "size": len(cell),
                            "max": self.max_cell,
                        }
                    )


def _check_width(header: list[str]) -> None:
    if len(header) > conf.MAX_COLUMNS:
        raise SourceError(
            _("The file has %(count)d columns; the most this site accepts is %(max)d.")
            % {"count": len(header), "max": conf.MAX_COLUMNS}
        )
