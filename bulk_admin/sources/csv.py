"""The CSV reader: encoding and delimiter detection, NUL cells, streamed rows."""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
from collections.abc import Iterator
from typing import Any

from django.utils.translation import gettext as _

from bulk_admin.conf import conf
from bulk_admin.exceptions import SourceError
from bulk_admin.results import BadCell, FileInfo
from bulk_admin.sources.base import (
    FileLike,
    Row,
    Source,
    _check_width,
    _clean_header,
    _is_blank,
    _Limits,
)

DELIMITERS = (",", ";", "\t", "|")
_SAMPLE_SIZE = 64 * 1024
_READ_SIZE = 1024 * 1024


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
