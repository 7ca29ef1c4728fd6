"""The XLSX reader: the streaming reader, python-calamine or openpyxl; Excel error cells,
bounded memory."""

from __future__ import annotations

import contextlib
import datetime
import warnings
from collections.abc import Iterator
from typing import Any

from django.utils.translation import gettext as _

from bulk_admin.conf import conf
from bulk_admin.exceptions import SourceError
from bulk_admin.results import FileInfo
from bulk_admin.sources.base import (
    FileLike,
    Source,
    _check_width,
    _clean_header,
    excel_error_cell,
)
from bulk_admin.sources.batches import Records
from bulk_admin.sources.xlsx_stream import starts_in_common_layout, stream_records
from bulk_admin.workbook import Workbook


def _choose_sheet(names: list[str], sheet: str | int | None) -> str:
    if sheet is None or sheet == "":
        if not names:
            raise SourceError(_("The workbook has no sheet."))
        return names[0]
    if isinstance(sheet, str) and sheet in names:
        return sheet
    if isinstance(sheet, int) or sheet.isdigit():
        index = int(sheet)
        # Sheet numbers are 1-based for users, like Excel's tab order.
        if 1 <= index <= len(names):
            return names[index - 1]
    raise SourceError(
        _("The workbook has no sheet “%(sheet)s”. Its sheets are: %(names)s.")
        % {"sheet": sheet, "names": ", ".join(names)}
    )


def _openpyxl_rows(worksheet: Any) -> Iterator[list[Any]]:
    """Yield the rows of an openpyxl worksheet with the cell types python-calamine gives.

    openpyxl reads every date cell as a datetime; calamine gives a date when the time is
    midnight. Both readers must give the same rows (a date cell imported into a text field
    reads "2024-05-01", not "2024-05-01T00:00:00").
    """
    midnight = datetime.time()
    for values in worksheet.iter_rows(values_only=True):
        row = list(values)
        for index, cell in enumerate(row):
            if cell.__class__ is datetime.datetime and cell.time() == midnight:
                row[index] = cell.date()
        yield row


def _is_panic(exc: BaseException) -> bool:
    # pyo3 raises a Rust panic as pyo3_runtime.PanicException, a BaseException subclass
    # that no module exports, so ``except Exception`` lets it through.
    return type(exc).__name__ == "PanicException"


def _reader_error(exc: BaseException, row: int | None) -> SourceError:
    """Return the message for an XLSX reader's failure, or re-raise what is no failure."""
    if not isinstance(exc, Exception) and not _is_panic(exc):
        raise exc  # KeyboardInterrupt, SystemExit, GeneratorExit
    if isinstance(exc, MemoryError):
        reason = _("it needs more memory than this site has")
    else:
        reason = " ".join(str(exc).split())[:300] or exc.__class__.__name__
    if row is None:
        return SourceError(_("The XLSX workbook cannot be read: %(error)s") % {"error": reason})
    return SourceError(
        _("Row %(row)d of the workbook cannot be read: %(error)s") % {"row": row, "error": reason}
    )


def _with_error_cells(cells: list[Any], errors: list[tuple[int, str]]) -> list[Any]:
    cells = list(cells)
    for column, text in errors:
        if column >= len(cells):
            cells.extend([None] * (column + 1 - len(cells)))
        cells[column] = excel_error_cell(text)
    return cells


READERS = ("auto", "calamine", "openpyxl", "stream")
# About the fewest bytes of sheet XML a cell with a value takes (<c r="A1"><v>1</v></c> is
# 22). A sheet part larger than this many times BULK_ADMIN_XLSX_MAX_CALAMINE_CELLS goes to
# the streaming reader without a scan: it holds more cells than calamine may take, or texts
# long enough to make calamine's copy of them large anyway.
_MIN_CELL_BYTES = 20


def _chosen_reader(reader: str) -> str:
    """Return the reader ``reader`` names; "auto" stays "auto" only if python-calamine is
    installed (it then depends on the sheet: :meth:`XlsxSource.__init__`)."""
    if reader == "auto":
        try:
            import python_calamine  # noqa: F401
        except ImportError:
            return "stream"
        return "auto"
    if reader not in READERS:
        raise SourceError(_("Unknown XLSX reader “%(reader)s”.") % {"reader": reader})
    return reader


class XlsxSource(Source):
    """Read one sheet of an XLSX workbook, keeping typed cells typed.

    The streaming reader (:mod:`bulk_admin.sources.xlsx_stream`), whose memory does not grow
    with the sheet, reads every sheet in the common writers' layout; python-calamine, when
    installed, a sheet in another layout whose range is small enough to hold in memory
    (``BULK_ADMIN_XLSX_MAX_CALAMINE_CELLS``). Either on request, and openpyxl's read-only
    mode. Formulas give their cached values, never their text.
    """

    _iter: Iterator[list[Any]]  # the records: a Records of the stream, or another reader's

    def __init__(
        self,
        file: FileLike,
        *,
        sheet: str | int | None = None,
        reader: str | None = None,
        peek: int | None = None,
    ):
        if peek is not None:
            self._peek(file, sheet, peek)
            return
        # The archive and the chosen sheet are checked before a native reader sees them:
        # a hostile file must end in a message, not in an aborted process (bulk_admin.workbook).
        workbook = Workbook(file)
        self._file = file
        self._workbook: Any = None
        self._error_cells: dict[int, list[tuple[int, str]]] = {}
        try:
            name = _choose_sheet(workbook.sheet_names(), sheet)
            reader = _chosen_reader(reader or conf.XLSX_READER)
            if reader == "auto":
                # The streaming reader when its fast path reads the sheet's start (the common
                # writers' layout): as fast as calamine, in flat memory. Otherwise calamine.
                reader = "stream" if starts_in_common_layout(workbook, name) else "calamine"
            if reader == "calamine" and (
                workbook.unpacked_size(workbook.part_of(name) or "")
                > conf.XLSX_MAX_CALAMINE_CELLS * _MIN_CELL_BYTES
            ):
                reader = "stream"
            if reader != "stream":
                scan = workbook.scan(name)
                if reader == "calamine" and (
                    scan.area > conf.XLSX_MAX_CALAMINE_CELLS or scan.cells_without_reference
                ):
                    # python-calamine holds the sheet's whole range in memory; this streams it.
                    reader = "stream"
                else:
                    for (row, column), text in scan.errors.items():
                        self._error_cells.setdefault(row, []).append((column, text))
            if reader == "stream":
                # The stream reads the archive this object opened, and reports error cells
                # and cells beyond Excel's limits itself.
                self._workbook = workbook
                self._iter = stream_records(workbook, name)
        finally:
            if self._workbook is not workbook:
                workbook.close()
        if reader == "calamine":
            self._iter = self._open_calamine(file, name)
        elif reader == "openpyxl":
            self._iter = self._open_openpyxl(file, name)
        self.reader = reader
        self._read_header(name)

    def _read_header(self, sheet: str) -> None:
        header: list[str] = []
        self._record = 0
        for cells in self._records():
            header = _clean_header(cells)
            break
        self.info = FileInfo(format="xlsx", headers=header, sheet=sheet)
        _check_width(header)

    def _peek(self, file: FileLike, sheet: str | int | None, count: int) -> None:
        """Read only the first ``count`` records, header included (bulk_admin.peek)."""
        from bulk_admin.peek import peek_rows

        workbook = Workbook(file, check_shared_strings=False)
        try:
            name = _choose_sheet(workbook.sheet_names(), sheet)
            records = peek_rows(workbook, name, count)
        finally:
            workbook.close()
        self._file = file
        self._workbook = None
        self._error_cells = {}
        self._iter = iter(records)
        self.reader = "peek"
        self._read_header(name)

    def _open_calamine(self, file: FileLike, name: str) -> Iterator[list[Any]]:
        import python_calamine

        try:
            workbook = python_calamine.CalamineWorkbook.from_filelike(file)
            data = workbook.get_sheet_by_name(name)
        except BaseException as exc:  # calamine's own errors, plain ones, and Rust panics
            raise _reader_error(exc, None) from None
        self._workbook = workbook
        # iter_rows() yields the empty rows above the used range but starts each row at its
        # first used column (python-calamine issue #177); columns must start at column A.
        start_column = (data.start or (0, 0))[1]
        width = data.width
        iterator = iter(data.iter_rows())
        if not start_column:
            return iterator

        def rows() -> Iterator[list[Any]]:
            padding = [""] * start_column
            for row in iterator:
                yield padding + row if len(row) == width else row

        return rows()

    def _open_openpyxl(self, file: FileLike, name: str) -> Iterator[list[Any]]:
        import openpyxl

        try:
            with warnings.catch_warnings():
                # openpyxl warns about what it does not read (styles, extensions); the
                # values are what matters here.
                warnings.simplefilter("ignore", UserWarning)
                workbook = openpyxl.load_workbook(file, read_only=True, data_only=True)
            worksheet = workbook[name]
            # A <dimension> written by another program may lie about the sheet's size.
            worksheet.reset_dimensions()
        except BaseException as exc:
            raise _reader_error(exc, None) from None
        self._workbook = workbook
        return _openpyxl_rows(worksheet)

    def _records(self) -> Iterator[list[Any]]:
        if isinstance(self._iter, Records) and self._record:
            # After the header, the stream's lists: no Python call per record.
            for batch in self._read_batches(self._iter):
                for cells in batch:
                    if cells.__class__ is int:
                        self._record += cells  # rows left out, which rows() would skip
                        continue
                    self._record += 1
                    yield cells
            return
        error_cells = self._error_cells
        try:
            for cells in self._iter:
                self._record += 1
                if error_cells and self._record in error_cells:
                    cells = _with_error_cells(cells, error_cells[self._record])
                yield cells
        except SourceError:
            raise
        except BaseException as exc:
            raise _reader_error(exc, self._record + 1) from None

    def _record_batches(self) -> Iterator[list[Any]] | None:
        if not isinstance(self._iter, Records):
            return None  # calamine and openpyxl give a record at a time
        return self._read_batches(self._iter)

    def _read_batches(self, records: Records) -> Iterator[list[Any]]:
        try:
            yield from records.batches()
        except SourceError:
            raise
        except BaseException as exc:
            raise _reader_error(exc, self._record + 1) from None

    def close(self) -> None:
        if hasattr(self._iter, "close"):
            # A generator not read to its end: its finally clauses run now (the streaming
            # reader's temporary file of shared strings).
            self._iter.close()
        if self._workbook is not None and hasattr(self._workbook, "close"):
            # Closing is best effort: the data was read already.
            with contextlib.suppress(Exception):
                self._workbook.close()
