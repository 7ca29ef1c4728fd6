"""Stage 1, read: open an upload and yield its rows lazily.

A source gives the header (row 1) and then ``(row_number, cells)`` pairs, where
``row_number`` is the number the user sees in the spreadsheet. Fully blank rows are not
yielded but keep their number. Every problem with the file itself ends in a
:class:`~bulk_admin.exceptions.SourceError` whose message a spreadsheet user can act on.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime
import io
import os
import warnings
from collections.abc import Iterator
from typing import IO, Any, Literal

from django.utils.text import capfirst
from django.utils.translation import gettext as _

from bulk_admin.conf import conf
from bulk_admin.exceptions import SourceError
from bulk_admin.results import BadCell, FileInfo
from bulk_admin.workbook import Workbook

Row = tuple[int, list[Any]]
FileLike = IO[bytes]
FormatName = Literal["auto", "csv", "xlsx"]

DELIMITERS = (",", ";", "\t", "|")
_SAMPLE_SIZE = 64 * 1024
_READ_SIZE = 1024 * 1024
# Bytes that start files people rename to .csv by mistake.
_BINARY_SIGNATURES = {
    b"\x89PNG": "PNG image",
    b"\xff\xd8\xff": "JPEG image",
    b"GIF8": "GIF image",
    b"%PDF": "PDF document",
    b"\xd0\xcf\x11\xe0": "legacy Excel (.xls) or other OLE document",
}
_UNSUPPORTED_EXTENSIONS = {
    ".xls": "legacy Excel (.xls)",
    ".ods": "OpenDocument spreadsheet (.ods)",
    ".numbers": "Apple Numbers",
    ".json": "JSON",
    ".xml": "XML",
    ".parquet": "Parquet",
}


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


class _Limits:
    """The row, column and cell limits, read from the settings once per file."""

    def __init__(self, *, all_text: bool):
        self.max_rows = conf.MAX_ROWS
        self.max_columns = conf.MAX_COLUMNS
        self.max_cell = conf.MAX_CELL_SIZE
        self.all_text = all_text

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
            longest = max((len(cell) for cell in cells if cell.__class__ is str), default=0)
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


# --- CSV ---------------------------------------------------------------------------------


def detect_encoding(file: FileLike) -> str:
    """Return ``utf-8-sig``, ``utf-8``, ``utf-16`` or a legacy 8-bit encoding for ``file``.

    The whole file is checked with an incremental decoder (a fast, constant-memory pass),
    because a single accented byte may stand on the last line of a long file.
    """
    file.seek(0)
    head = file.read(3)
    file.seek(0)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # Excel's "Unicode Text": UTF-16 with a byte order mark, which the codec reads.
        return "utf-16"
    decoder = codecs.getincrementaldecoder("utf-8")()
    seen_cp1252_gaps = False
    is_utf8 = True
    while True:
        block = file.read(_READ_SIZE)
        if not block:
            break
        if is_utf8:
            try:
                decoder.decode(block)
            except UnicodeDecodeError:
                is_utf8 = False
        if not is_utf8 and any(
            byte in block for byte in (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")
        ):
            seen_cp1252_gaps = True
            break
    if is_utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            is_utf8 = False
    file.seek(0)
    if is_utf8:
        return "utf-8-sig" if head == codecs.BOM_UTF8 else "utf-8"
    # cp1252 is what Excel writes on Western Windows; it leaves five bytes undefined,
    # and a file using them can only be latin-1.
    return "latin-1" if seen_cp1252_gaps else "cp1252"


def sniff_delimiter(sample: str) -> str:
    """Return the delimiter among ``, ; tab |`` that splits ``sample`` most consistently."""
    lines = sample.splitlines()
    if len(sample) >= _SAMPLE_SIZE and len(lines) > 1:
        lines = lines[:-1]  # the last line of a sample may be cut
    lines = [line for line in lines[:50] if line.strip()]
    if not lines:
        return ","
    best, best_score = ",", (0, 0, 0)
    for delimiter in DELIMITERS:
        try:
            counts = [
                len(r) for r in csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter)
            ]
        except csv.Error:
            continue
        if not counts or counts[0] < 2:
            continue
        header_width = counts[0]
        consistent = sum(1 for count in counts if count == header_width)
        score = (consistent, header_width, -DELIMITERS.index(delimiter))
        if score > best_score:
            best, best_score = delimiter, score
    return best


# Stands for NUL inside the csv module: a noncharacter, which no text file means to hold.
_NUL_STAND_IN = "\ufffe"
# Control characters that text never holds; tab, line ends and form feed are left out.
_BINARY_CHARACTERS = [chr(code) for code in range(32) if chr(code) not in "\t\n\r\x0b\x0c"]


def _nul_cell(cell: str) -> BadCell:
    return BadCell(
        cell.replace(_NUL_STAND_IN, "\x00"),
        _("The cell contains a NUL character, which the database cannot store."),
    )


def _looks_binary(sample: str) -> bool:
    """Return True if ``sample`` is not text: many control characters, as binary files have.

    A NUL in a cell or two is a row error of those cells; a file that is mostly control
    characters (an image, an executable, UTF-16 without a byte order mark read as 8-bit
    text, where every other byte is NUL) is refused at once.
    """
    controls = sum(sample.count(character) for character in _BINARY_CHARACTERS)
    return controls > 8 and controls * 100 > len(sample)


def text_encoding(name: str) -> str:
    """Return the codec name for ``name``, or raise SourceError if it cannot decode text.

    ``hex``, ``base64``, ``zlib`` and ``rot13`` are codecs of Python but not text encodings;
    ``undefined`` refuses everything.
    """
    try:
        codec = codecs.lookup(name)
    except (LookupError, TypeError, ValueError):
        raise SourceError(_("Unknown encoding “%(encoding)s”.") % {"encoding": name}) from None
    # CodecInfo has said whether a codec decodes bytes to text since Python 3.4; decoding
    # nothing tells nothing (b"".decode("hex") succeeds). "undefined" refuses all input.
    try:
        text = getattr(codec, "_is_text_encoding", True) and codec.name != "undefined"
        codecs.getincrementaldecoder(codec.name)()
    except (LookupError, TypeError, ValueError, UnicodeError, AttributeError):
        text = False
    if not text:
        raise SourceError(
            _("“%(encoding)s” is not a text encoding; choose one such as utf-8 or cp1252.")
            % {"encoding": name}
        ) from None
    return codec.name


class CsvSource(Source):
    """Read a delimited text file, streamed through a text wrapper."""

    _all_text = True  # every CSV cell is a string: the cell-size check takes one C pass

    def __init__(self, file: FileLike, *, encoding: str = "auto", delimiter: str = "auto"):
        self._file = file
        if encoding in ("", "auto", None):
            encoding = detect_encoding(file)
        else:
            encoding = text_encoding(encoding)
        may_hold_nul = _may_hold_nul(file, encoding)
        file.seek(0)
        self._text = io.TextIOWrapper(file, encoding=encoding, errors="strict", newline="")
        try:
            sample = self._text.read(_SAMPLE_SIZE)
        except UnicodeError as exc:
            raise _decode_error(file, encoding, delimiter, exc) from None
        if _looks_binary(sample):
            raise SourceError(_("The file is not a text (CSV) file: it contains binary data."))
        if delimiter in ("", "auto", None):
            delimiter = sniff_delimiter(sample)
        elif delimiter in ("\\t", "tab", "TAB"):
            delimiter = "\t"
        elif len(delimiter) != 1:
            raise SourceError(
                _("The delimiter must be one character, not “%(delimiter)s”.")
                % {"delimiter": delimiter}
            )
        if delimiter in ('"', "\r", "\n"):
            # Python 3.13's csv module refuses these outright; earlier ones misread the file.
            raise SourceError(
                _(
                    "The quote character and line breaks cannot separate columns; choose "
                    "another delimiter, such as a comma or a semicolon."
                )
            )
        self._text.seek(0)
        # The csv module's own cell limit would fail with an unclear message; our own
        # limit is checked per row instead.
        csv.field_size_limit(max(conf.MAX_CELL_SIZE + 1, 131072))
        self._nul = False
        # Most files hold no NUL: the csv module then reads the text wrapper's lines itself,
        # without a Python generator per line.
        lines = self._lines() if may_hold_nul else self._text
        self._reader = csv.reader(lines, delimiter=delimiter, strict=False)
        self._delimiter = delimiter
        self._record = 0
        header: list[str] = []
        for cells in self._records():
            header = _clean_header(cells)
            break
        self.info = FileInfo(format="csv", headers=header, encoding=encoding, delimiter=delimiter)
        _check_width(header)

    def rows(self) -> Iterator[Row]:
        """Yield ``(row_number, cells)`` for each data row, skipping fully blank rows.

        :meth:`Source.rows` with the limits inlined: this loop runs once per row of files
        of millions of rows.
        """
        limits = _Limits(all_text=True)
        max_rows, max_columns, max_cell = limits.max_rows, limits.max_columns, limits.max_cell
        read = 0
        for cells in self._records():
            if not cells:
                continue
            first = cells[0]
            if (not first or first.isspace()) and _is_blank(cells):
                continue
            read += 1
            if (
                (max_rows and read > max_rows)
                or len(cells) > max_columns
                or max(map(len, cells)) > max_cell
            ):
                limits.check(self._record, cells, read)
            yield self._record, cells

    def _lines(self) -> Iterator[str]:
        # The csv module reads a record's lines as it needs them, so a NUL seen here belongs
        # to the record being read. NUL is replaced by a noncharacter on the way in (the csv
        # module of Python 3.10 refuses NUL) and turned back in _records.
        for line in self._text:
            if "\x00" in line:
                self._nul = True
                line = line.replace("\x00", _NUL_STAND_IN)
            yield line

    def _records(self) -> Iterator[list[str]]:
        try:
            for cells in self._reader:
                self._record += 1
                if self._nul:
                    self._nul = False
                    cells = [_nul_cell(cell) if _NUL_STAND_IN in cell else cell for cell in cells]
                yield cells
        except (UnicodeError, csv.Error) as exc:
            raise self._read_error(exc) from None

    def _read_error(self, exc: UnicodeError | csv.Error) -> SourceError:
        if isinstance(exc, UnicodeError):
            return _decode_error(self._file, self._text.encoding, self._delimiter, exc)
        if "field limit" in str(exc):
            return SourceError(
                _(
                    "Row %(row)d holds a cell of more than %(max)d characters, "
                    "the most this site accepts in one cell."
                )
                % {"row": self._record + 1, "max": conf.MAX_CELL_SIZE}
            )
        return SourceError(
            _("Row %(row)d cannot be read as CSV: %(error)s")
            % {"row": self._record + 1, "error": exc}
        )

    def close(self) -> None:
        with contextlib.suppress(ValueError):
            self._text.detach()


# Encodings in which the byte 0 is the NUL character and nothing else.
_SINGLE_NUL_BYTE = frozenset({"utf-8", "utf-8-sig", "ascii", "iso8859-1", "cp1252", "iso8859-15"})


def _may_hold_nul(file: FileLike, encoding: str) -> bool:
    """Return False if the text of ``file`` certainly holds no NUL character."""
    if codecs.lookup(encoding).name not in _SINGLE_NUL_BYTE:
        return True
    file.seek(0)
    try:
        while True:
            block = file.read(_READ_SIZE)
            if not block:
                return False
            if b"\x00" in block:
                return True
    finally:
        file.seek(0)


def _decode_error(file: FileLike, encoding: str, delimiter: str, exc: UnicodeError) -> SourceError:
    """Return the error for a byte ``encoding`` cannot decode, naming the row holding it.

    The text layer decodes ahead of the CSV reader, so the row being read when the error
    is raised is not the row of the bad byte: the file is decoded again, streamed, up to
    that byte, and the CSV records before it are counted.
    """
    row = None
    if not isinstance(exc, UnicodeDecodeError):
        # A codec that fails without saying where (utf-16 without a byte order mark...).
        return SourceError(
            _(
                "The file cannot be read as %(encoding)s text (%(error)s). "
                "Choose the file's encoding."
            )
            % {"encoding": encoding, "error": " ".join(str(exc).split())[:200]}
        )
    try:
        file.seek(0)
        decoder = codecs.getincrementaldecoder(encoding)()
        offset = 0
        while True:
            block = file.read(_READ_SIZE)
            if not block:
                break
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(block)
            except UnicodeError as error:
                if not isinstance(error, UnicodeDecodeError):
                    raise ValueError from None
                offset += error.start - pending
                break
            offset += len(block)
        file.seek(0)
        last = ""

        def lines() -> Iterator[str]:
            nonlocal last
            prefix = io.TextIOWrapper(
                io.BufferedReader(_Prefix(file, offset)), encoding=encoding, newline=""
            )
            for line in prefix:
                last = line
                yield line
            prefix.detach()

        if len(delimiter or "") != 1:
            delimiter = ","
        records = sum(1 for _cells in csv.reader(lines(), delimiter=delimiter, strict=False))
        row = records + 1 if not last or last[-1] in "\r\n" else records
    except (csv.Error, OSError, ValueError, UnicodeError, LookupError):
        row = None
    if row is None:
        return SourceError(
            _("The file is not valid %(encoding)s text (%(error)s). Choose the file's encoding.")
            % {"encoding": encoding, "error": exc.reason}
        )
    return SourceError(
        _("Row %(row)d is not valid %(encoding)s text (%(error)s). Choose the file's encoding.")
        % {"row": row, "encoding": encoding, "error": exc.reason}
    )


class _Prefix(io.RawIOBase):
    """The first ``size`` bytes of a file, as a raw stream."""

    def __init__(self, file: FileLike, size: int):
        self._file = file
        self._left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._file.read(min(len(buffer), self._left))
        self._left -= len(data)
        buffer[: len(data)] = data
        return len(data)


def _check_width(header: list[str]) -> None:
    if len(header) > conf.MAX_COLUMNS:
        raise SourceError(
            _("The file has %(count)d columns; the most this site accepts is %(max)d.")
            % {"count": len(header), "max": conf.MAX_COLUMNS}
        )


# --- XLSX --------------------------------------------------------------------------------


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


def excel_error_cell(text: str) -> BadCell:
    """Return the cell for an Excel error such as ``#DIV/0!``: a row error, never empty."""
    return BadCell(text, _("The cell holds the Excel error %(error)s.") % {"error": text})


def _with_error_cells(cells: list[Any], errors: list[tuple[int, str]]) -> list[Any]:
    cells = list(cells)
    for column, text in errors:
        if column >= len(cells):
            cells.extend([None] * (column + 1 - len(cells)))
        cells[column] = excel_error_cell(text)
    return cells


class XlsxSource(Source):
    """Read one sheet of an XLSX workbook, keeping typed cells typed.

    python-calamine is used when installed (about six times faster than openpyxl, see
    docs/performance.md); openpyxl's read-only mode otherwise. Formulas give their cached
    values, never their text.
    """

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
        try:
            name = _choose_sheet(workbook.sheet_names(), sheet)
            scan = workbook.scan(name)
        finally:
            workbook.close()
        reader = reader or conf.XLSX_READER
        if reader == "auto":
            try:
                import python_calamine  # noqa: F401
            except ImportError:
                reader = "openpyxl"
            else:
                reader = "calamine"
        if reader == "calamine" and (
            scan.area > conf.XLSX_MAX_CALAMINE_CELLS or scan.cells_without_reference
        ):
            # python-calamine holds the sheet's whole range in memory; openpyxl streams it.
            reader = "openpyxl"
        self._file = file
        self._workbook: Any = None
        self._error_cells: dict[int, list[tuple[int, str]]] = {}
        for (row, column), text in scan.errors.items():
            self._error_cells.setdefault(row, []).append((column, text))
        if reader == "calamine":
            self._iter = self._open_calamine(file, name)
        elif reader == "openpyxl":
            self._iter = self._open_openpyxl(file, name)
        else:
            raise SourceError(_("Unknown XLSX reader “%(reader)s”.") % {"reader": reader})
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

    def close(self) -> None:
        if self._workbook is not None and hasattr(self._workbook, "close"):
            # Closing is best effort: the data was read already.
            with contextlib.suppress(Exception):
                self._workbook.close()


# --- choosing a source -------------------------------------------------------------------


def detect_format(file: FileLike, name: str | None = None) -> str:
    """Return ``"csv"`` or ``"xlsx"`` for ``file``, or raise a SourceError."""
    file.seek(0)
    head = file.read(8)
    file.seek(0)
    if not head:
        raise SourceError(_("The file is empty."))
    extension = os.path.splitext(name or "")[1].lower()
    if head.startswith(b"PK\x03\x04"):
        if extension == ".ods":
            raise SourceError(
                _(
                    "OpenDocument spreadsheets (.ods) are not supported. "
                    "Save the file as XLSX or CSV."
                )
            )
        return "xlsx"
    for signature, kind in _BINARY_SIGNATURES.items():
        if head.startswith(signature):
            raise SourceError(
                _("The file is a %(kind)s, not a CSV or XLSX spreadsheet.") % {"kind": kind}
            )
    if extension in _UNSUPPORTED_EXTENSIONS:
        raise SourceError(
            _("%(kind)s files are not supported. Save the file as XLSX or CSV.")
            % {"kind": capfirst(_UNSUPPORTED_EXTENSIONS[extension])}
        )
    return "csv"


def open_source(
    file: FileLike | str | os.PathLike[str],
    *,
    name: str | None = None,
    format: str = "auto",
    encoding: str = "auto",
    delimiter: str = "auto",
    sheet: str | int | None = None,
) -> Source:
    """Open ``file`` (a path or a binary file object) and return its source.

    ``name`` is the original file name, used to recognise formats by extension.
    """
    if isinstance(file, (str, os.PathLike)):
        path = os.fspath(file)
        name = name or path
        try:
            handle: FileLike = open(path, "rb")  # noqa: SIM115 (closed by the source)
        except FileNotFoundError:
            raise SourceError(_("No file at “%(path)s”.") % {"path": path}) from None
        except IsADirectoryError:
            raise SourceError(
                _("“%(path)s” is a directory, not a file.") % {"path": path}
            ) from None
        except OSError as exc:
            raise SourceError(
                _("The file “%(path)s” cannot be opened: %(error)s")
                % {"path": path, "error": exc.strerror}
            ) from None
        owned = True
    else:
        handle = file
        owned = False
    try:
        if format in ("auto", "", None):
            format = detect_format(handle, name)
        elif format not in ("csv", "xlsx"):
            raise SourceError(
                _("Unknown format “%(format)s”; use csv or xlsx.") % {"format": format}
            )
        else:
            detect_format(handle, None) if format == "csv" else None
        source: Source
        if format == "xlsx":
            source = XlsxSource(handle, sheet=sheet)
        else:
            if sheet not in (None, ""):
                raise SourceError(_("A sheet can only be chosen in an XLSX workbook."))
            source = CsvSource(handle, encoding=encoding, delimiter=delimiter)
    except BaseException:
        if owned:
            handle.close()
        raise
    if owned:
        _close = source.close

        def close() -> None:
            _close()
            handle.close()

        source.close = close  # type: ignore[method-assign]
    if not source.headers:
        source.close()
        raise SourceError(_("The file has no header row: its first row is empty."))
    return source
