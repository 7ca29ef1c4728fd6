"""Check an XLSX archive before a native reader sees it.

python-calamine is fast because it is native code, and for the same reason a hostile file can
take the whole process down with it: a shared-strings part declaring two billion strings makes
it ask for 48 GB and abort, two cells at ``A1`` and ``XFD1048576`` make it allocate the whole
17-billion-cell range, a far row number makes openpyxl produce billions of empty rows. None of
that can be caught once it has started, so this module reads the parts those readers trust
(the workbook, its relationships, the shared strings and the chosen sheet) with cheap,
streamed byte scans first, and refuses what no spreadsheet program writes.

The sheet scan also finds the cells that hold an Excel error (``#DIV/0!``, ``#N/A``...): both
readers give them as ordinary values (calamine as an empty string), and an error must never be
imported as "no value".
"""

from __future__ import annotations

import functools
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO
from xml.etree import ElementTree

from django.utils.translation import gettext as _

from bulk_admin.conf import conf
from bulk_admin.exceptions import SourceError

# Excel's own limits: no spreadsheet program writes a cell beyond them.
EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_COLUMNS = 16_384
# An Excel error cell holds one of these; anything else in a t="e" cell is shown as it is.
EXCEL_ERRORS = ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A")
# The most error cells remembered for one sheet (their positions are kept in memory).
MAX_ERROR_CELLS = 100_000
# Parts parsed whole (workbook, relationships) are small in every real file.
_MAX_SMALL_PART = 16 * 1024 * 1024
_BLOCK = 256 * 1024  # inflated bytes per read: the stream holds about two of them
# A shared string takes at least "<si><t/></si>" in the part: 13 bytes. A declared count above
# what the part can hold is a lie that a reader would trust to reserve memory.
_MIN_SHARED_STRING_BYTES = 13
_SHARED_STRINGS_SLACK = 100_000

# What zipfile raises for a damaged archive: its own error, and those of the layers below it
# (a bad deflate stream is zlib.error, a cut header struct.error).
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    struct.error,
    OSError,
    ValueError,
    EOFError,
    NotImplementedError,
    KeyError,
    IndexError,
    OverflowError,
)

# What expat raises for a part it cannot read: malformed XML, and an XML declaration naming an
# encoding Python does not know (LookupError) or cannot decode with (UnicodeError, a ValueError).
XML_ERRORS = (ElementTree.ParseError, LookupError, ValueError)

_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"

# The common layout (Excel, LibreOffice, openpyxl, XlsxWriter: no prefix, the reference first,
# double quotes) is scanned with patterns that start with a literal, which the regex engine
# finds at C speed; a chunk where the counts show another layout is scanned with the general
# patterns (element prefixes such as <x:row>, either quote, attributes in any order).
_ROW_FAST = re.compile(rb'<row r="(\d+)"')
_ROW_ANY = re.compile(rb"<(?:\w+:)?row\s[^>]*?\br\s*=\s*[\"'](\d+)")
# A cell element whose reference is not its first attribute, or that has none.
_OTHER_LAYOUT = re.compile(rb'<c(?! r=")[\s/>]')
_PREFIXED = re.compile(rb":(?:c|row)[\s/>]")
_CELL_ANY = re.compile(rb"<(?:\w+:)?c\s[^>]*?\br\s*=\s*[\"']([A-Za-z]+)(\d+)")
_CELL_WITHOUT_REF = re.compile(rb"<(?:\w+:)?c(?=[\s/>])(?![^>]*\br\s*=)[^>]*>")
_ERROR_MARK = re.compile(rb"\bt\s*=\s*[\"']e[\"']")
_ERROR_CELL = re.compile(rb"<(?:\w+:)?c\s([^>]*?\bt\s*=\s*[\"']e[\"'][^>]*?)(/?)>")
_ERROR_REF = re.compile(rb"\br\s*=\s*[\"']([A-Za-z]{1,3})(\d{1,7})[\"']")
_CELL_END = re.compile(rb"</(?:\w+:)?c>")
_VALUE = re.compile(rb"<(?:\w+:)?v(?:\s[^>]*)?>([^<]*)</(?:\w+:)?v>")
_SST_TAG = re.compile(rb"<(?:\w+:)?sst\b([^>]*)>")
_COUNT_ATTRIBUTE = re.compile(rb"\b(uniqueCount|count)\s*=\s*[\"'](\d{1,30})[\"']")
_SHARED_STRING = re.compile(rb"<(?:\w+:)?si[\s>/]")


@functools.lru_cache(maxsize=64)
def _beyond(number: int) -> re.Pattern[bytes]:
    """Return a pattern for the cells, in the common layout, beyond column Z or row ``number``.

    "Beyond row ``number``" is approximate, to keep the pattern cheap: it matches a row
    number with more digits, or with as many digits and a higher first digit (or a leading
    zero); :func:`row_bound` is then the highest row a cell it misses can have. In a real
    file every cell lies in a row already seen, so in a sheet of 26 columns or fewer the
    pattern matches nothing and costs one pass at C speed. Group 1 is the letters of a wide
    column and group 2 its row, group 3 the digits of a far row.
    """
    digits = str(number)
    first = int(digits[0])
    higher = "0" + "".join(str(d) for d in range(first + 1, 10))
    rest = len(digits) - 1
    return re.compile(
        rb'<c r="(?:([A-Za-z]{2,})(\d+)|[A-Za-z](\d{%d,}|[%s]\d{%d}))"'
        % (len(digits) + 1, higher.encode(), rest)
    )


def row_bound(number: int) -> int:
    """Return the highest row a cell missed by ``_beyond(number)`` can lie in."""
    digits = str(number)
    bound: int = (int(digits[0]) + 1) * 10 ** (len(digits) - 1) - 1
    return max(number, bound)


@dataclass(frozen=True, slots=True)
class SheetScan:
    """What the scan of one sheet found: its extent and its error cells."""

    name: str
    part: str
    max_row: int = 0
    max_column: int = 0
    """An upper bound: 26 when no cell lies beyond column Z."""
    cells_without_reference: bool = False
    errors: dict[tuple[int, int], str] = field(default_factory=dict)
    """``{(row number, 0-based column): error text}`` of the cells holding an Excel error."""

    @property
    def area(self) -> int:
        """Return at most how many cells a reader holding the sheet's range would allocate."""
        return row_bound(self.max_row) * self.max_column


def column_number(letters: bytes | str) -> int:
    """Return the 1-based number of a column given by its letters (``A`` = 1, ``XFD`` = 16384)."""
    number = 0
    for letter in letters.upper() if isinstance(letters, str) else letters.decode().upper():
        number = number * 26 + ord(letter) - 64
    return number


def _damaged(reason: str) -> SourceError:
    return SourceError(
        _("The file is not a valid XLSX workbook (%(reason)s).") % {"reason": reason}
    )


class Workbook:
    """The parts of an XLSX archive that its readers trust, checked.

    Open it with the upload's binary file; :meth:`sheet_names` lists the sheets in the
    workbook's order and :meth:`scan` checks one of them. The file's position is restored.
    """

    def __init__(self, file: IO[bytes], *, check_shared_strings: bool = True):
        self._file = file
        file.seek(0)
        try:
            self._zip = zipfile.ZipFile(file)
            infos = self._zip.infolist()
        except _ZIP_ERRORS:
            raise SourceError(
                _("The file is not a valid XLSX workbook (the archive is damaged).")
            ) from None
        self._by_name = {info.filename.lower(): info for info in infos}
        names = set(self._by_name)
        if "[content_types].xml" not in names or not any(n.startswith("xl/") for n in names):
            if "content.xml" in names and "mimetype" in names:
                raise SourceError(
                    _(
                        "OpenDocument spreadsheets (.ods) are not supported. "
                        "Save the file as XLSX or CSV."
                    )
                )
            raise SourceError(_("The file is a ZIP archive but not an XLSX workbook."))
        total = sum(info.file_size for info in infos)
        limit = conf.MAX_XLSX_UNCOMPRESSED
        if limit and total > limit:
            raise SourceError(
                _(
                    "The workbook would unpack to %(size)d MB, more than the %(max)d MB this "
                    "site accepts. Save it as CSV instead."
                )
                % {"size": total // (1024 * 1024), "max": limit // (1024 * 1024)}
            )
        self._sheets = self._read_sheets()
        if check_shared_strings:
            # For the native readers, which reserve memory for the declared count; the
            # bounded reader of bulk_admin.peek reserves nothing and skips this full pass.
            self._check_shared_strings()

    def close(self) -> None:
        self._zip.close()
        self._file.seek(0)

    def sheet_names(self) -> list[str]:
        return [name for name, _part in self._sheets]

    def part_of(self, sheet: str) -> str | None:
        for name, part in self._sheets:
            if name == sheet:
                return part
        return None

    def has_part(self, part: str) -> bool:
        return part.lower() in self._by_name

    def unpacked_size(self, part: str) -> int:
        """Return the size ``part`` declares once inflated (0 if it is missing).

        The archive was checked against ``BULK_ADMIN_MAX_XLSX_UNCOMPRESSED`` with these sizes,
        and zipfile refuses a part that inflates to more than it declares.
        """
        info = self._by_name.get(part.lower())
        return info.file_size if info is not None else 0

    def shared_strings_part(self) -> str | None:
        """Return the name of the shared strings part, or None."""
        for name, info in self._by_name.items():
            if name.endswith("sharedstrings.xml"):
                return info.filename
        return None

    def date1904(self) -> bool:
        """Return True if the workbook counts dates from 1904 (old Excel for Mac files)."""
        workbook = self._small_part("xl/workbook.xml")
        properties = None if workbook is None else workbook.find("{%s}workbookPr" % _MAIN_NS)
        return properties is not None and properties.get("date1904") in ("1", "true")

    def blocks(self, part: str) -> Iterator[bytes]:
        """Yield the inflated bytes of ``part``, block by block (damage is a SourceError)."""
        return self._blocks(part)

    def small_part(self, part: str) -> ElementTree.Element | None:
        """Return the parsed ``part`` (at most 16 MB), or None when the archive has none."""
        return self._small_part(part)

    # --- reading parts ----------------------------------------------------------------------

    def _blocks(self, part: str) -> Iterator[bytes]:
        """Yield the inflated bytes of ``part`` block by block; a lying archive is damaged."""
        info = self._by_name.get(part.lower())
        if info is None:
            return
        try:
            with self._zip.open(info) as stream:
                while True:
                    block = stream.read(_BLOCK)
                    if not block:
                        return
                    yield block
        except _ZIP_ERRORS as exc:
            # zipfile checks every part's CRC and declared size as it inflates it.
            raise _damaged(str(exc) or exc.__class__.__name__) from None

    def _small_part(self, part: str) -> ElementTree.Element | None:
        info = self._by_name.get(part.lower())
        if info is None:
            return None
        if info.file_size > _MAX_SMALL_PART:
            raise _damaged(_("its part %(part)s is too large") % {"part": info.filename})
        data = b"".join(self._blocks(part))
        try:
            # expat refuses entity expansion attacks ("billion laughs") by itself.
            return ElementTree.fromstring(data)
        except XML_ERRORS as exc:
            raise _damaged(
                _("its part %(part)s is not valid XML: %(error)s")
                % {"part": info.filename, "error": exc}
            ) from None

    def _read_sheets(self) -> list[tuple[str, str]]:
        workbook = self._small_part("xl/workbook.xml")
        if workbook is None:
            raise _damaged(_("it has no xl/workbook.xml part"))
        rels = self._small_part("xl/_rels/workbook.xml.rels")
        targets: dict[str, str] = {}
        if rels is not None:
            for rel in rels.iter("{%s}Relationship" % _PKG_REL_NS):
                target = rel.get("Target") or ""
                if target.startswith("/"):
                    path = posixpath.normpath(target.lstrip("/"))
                else:
                    path = posixpath.normpath(posixpath.join("xl", target))
                targets[rel.get("Id") or ""] = path
        sheets = []
        for sheet in workbook.iter("{%s}sheet" % _MAIN_NS):
            name = sheet.get("name") or ""
            rel_id = sheet.get("{%s}id" % _REL_NS) or ""
            sheets.append((name, targets.get(rel_id, "")))
        return sheets

    def _check_shared_strings(self) -> None:
        for name, info in self._by_name.items():
            if not name.endswith("sharedstrings.xml"):
                continue
            declared: int | None = None
            found = 0
            tail = b""
            for block in self._blocks(name):
                data = tail + block
                if declared is None:
                    tag = _SST_TAG.search(data)
                    if tag is not None:
                        counts = [int(v) for _k, v in _COUNT_ATTRIBUTE.findall(tag.group(1))]
                        declared = max(counts, default=0)
                # A "<si" split by the block boundary is found in the next round.
                found += len(_SHARED_STRING.findall(data, 0, max(len(data) - 8, 0)))
                tail = data[max(len(data) - 8, 0) :]
            found += len(_SHARED_STRING.findall(tail))
            # uniqueCount is the number of <si> items; readers reserve memory for it.
            bound = max(found, info.file_size // _MIN_SHARED_STRING_BYTES)
            if declared is not None and declared > bound + _SHARED_STRINGS_SLACK:
                raise _damaged(
                    _("its shared strings part declares %(declared)d strings but holds %(found)d")
                    % {"declared": declared, "found": found}
                )

    # --- the sheet scan ---------------------------------------------------------------------

    def scan(self, sheet: str) -> SheetScan:
        """Check the sheet named ``sheet`` and return what its readers need to know.

        Raise SourceError for a cell or row beyond Excel's limits, or for more error cells
        than can be remembered.
        """
        part = self.part_of(sheet) or ""
        if part.lower() not in self._by_name:
            raise _damaged(_("the part of sheet “%(sheet)s” is missing") % {"sheet": sheet})
        max_row = 0
        max_column = 0
        without_reference = False
        errors: dict[tuple[int, int], str] = {}
        tail = b""
        for block in self._blocks(part):
            data = tail + block
            # Scan up to the last complete row; the rest waits for the next block.
            cut = data.rfind(b"row>")
            if cut == -1 and len(data) < 64 * _BLOCK:
                tail = data
                continue
            end = len(data) if cut == -1 else cut + 4
            chunk, tail = data[:end], data[end:]
            max_row, max_column, without_reference = self._scan_chunk(
                chunk, max_row, max_column, without_reference, errors
            )
        if tail:
            max_row, max_column, without_reference = self._scan_chunk(
                tail, max_row, max_column, without_reference, errors
            )
        return SheetScan(
            name=sheet,
            part=part,
            max_row=max_row,
            max_column=max_column,
            cells_without_reference=without_reference,
            errors=errors,
        )

    def _scan_chunk(
        self,
        chunk: bytes,
        max_row: int,
        max_column: int,
        without_reference: bool,
        errors: dict[tuple[int, int], str],
    ) -> tuple[int, int, bool]:
        # Each step is one pass over the chunk in C; Python only sees the rare matches.
        rows = _ROW_FAST.findall(chunk)
        if rows:
            if len(max(rows, key=len)) > 7:
                raise self._beyond_limits()
            max_row = max(max_row, max(map(int, rows)))
        if _OTHER_LAYOUT.search(chunk) or _PREFIXED.search(chunk):
            # Another layout, or cells without a reference (their place is their order).
            max_column = max(max_column, 26)
            for number in _ROW_ANY.findall(chunk):
                max_row = max(max_row, self._row(number))
            for letters, number in set(_CELL_ANY.findall(chunk)):
                max_column = max(max_column, self._column(letters))
                max_row = max(max_row, self._row(number))
            if not without_reference and _CELL_WITHOUT_REF.search(chunk):
                without_reference = True
        elif rows or b'<c r="' in chunk:
            # Column letters are not read one by one: any cell counts as up to column Z.
            max_column = max(max_column, 26)
            pattern = _beyond(max_row)
            if pattern.search(chunk):
                for letters, wide_row, far_row in set(pattern.findall(chunk)):
                    if letters:
                        max_column = max(max_column, self._column(letters))
                    max_row = max(max_row, self._row(wide_row or far_row))
        if max_row > EXCEL_MAX_ROWS or max_column > EXCEL_MAX_COLUMNS:
            raise self._beyond_limits()
        if (b'"e"' in chunk or b"'e'" in chunk) and _ERROR_MARK.search(chunk):
            self._find_errors(chunk, errors)
        return max_row, max_column, without_reference

    def _row(self, digits: bytes) -> int:
        if len(digits.lstrip(b"0")) > 7:
            raise self._beyond_limits()
        return int(digits)

    def _column(self, letters: bytes) -> int:
        if len(letters) > 3:
            raise self._beyond_limits()
        return column_number(letters)

    def _find_errors(self, chunk: bytes, errors: dict[tuple[int, int], str]) -> None:
        for match in _ERROR_CELL.finditer(chunk):
            attributes = match.group(1)
            reference = _ERROR_REF.search(attributes)
            if reference is None:
                continue  # a cell without a reference: the reader's own value stands
            row = int(reference.group(2))
            column = column_number(reference.group(1)) - 1
            text = ""
            if not match.group(2):  # not a self-closing <c .../>
                end = _CELL_END.search(chunk, match.end())
                inner = chunk[match.end() : end.start() if end is not None else len(chunk)]
                value = _VALUE.search(inner)
                if value is not None:
                    text = value.group(1).decode("utf-8", "replace").strip()
            errors[(row, column)] = text or "#VALUE!"
            if len(errors) > MAX_ERROR_CELLS:
                raise SourceError(
                    _(
                        "The sheet holds more than %(max)d cells with an Excel error (such as "
                        "#DIV/0! or #N/A). Fix the formulas, or save the sheet as values."
                    )
                    % {"max": MAX_ERROR_CELLS}
                )

    def _beyond_limits(self) -> SourceError:
        return beyond_limits()


def beyond_limits() -> SourceError:
    """The refusal of a cell or row beyond what any spreadsheet program writes."""
    return _damaged(
        _("it places a cell beyond Excel's last row %(rows)d or last column XFD")
        % {"rows": EXCEL_MAX_ROWS}
    )
