"""Stage 1, read: open an upload and yield its rows lazily.

One module per reader (``csv``, ``xlsx``) beside what they share (``base``); this module
recognises a file's format and opens the right one. A source gives the header (row 1) and
then ``(row_number, cells)`` pairs, where ``row_number`` is the number the user sees in the
spreadsheet. Every problem with the file itself ends in a
:class:`~bulk_admin.exceptions.SourceError` whose message a spreadsheet user can act on.
"""

from __future__ import annotations

import os

from django.utils.text import capfirst
from django.utils.translation import gettext as _

from bulk_admin.exceptions import SourceError
from bulk_admin.sources.base import FileLike, FormatName, Row, Source, excel_error_cell
from bulk_admin.sources.csv import (
    DELIMITERS,
    CsvSource,
    detect_encoding,
    sniff_delimiter,
    text_encoding,
)
from bulk_admin.sources.xlsx import XlsxSource

__all__ = [
    "DELIMITERS",
    "CsvSource",
    "FileLike",
    "FormatName",
    "Row",
    "Source",
    "XlsxSource",
    "detect_encoding",
    "detect_format",
    "excel_error_cell",
    "open_source",
    "sniff_delimiter",
    "text_encoding",
]

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
