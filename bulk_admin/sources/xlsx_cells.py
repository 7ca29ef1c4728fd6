"""Cells of the sheet's part in the common layout: the patterns, tags, texts and checks.

What :mod:`bulk_admin.sources.xlsx_rows` (a piece's rows) and
:mod:`bulk_admin.sources.xlsx_typing` (their cells typed) share: the cell patterns, the
attributes of a tag read as expat reads them, a value's text decoded as expat decodes it, the
checks of a piece, and :class:`_OtherLayout`, which sends the part to expat.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence
from typing import Any

from django.utils.translation import gettext as _

from bulk_admin.peek import _excel_date, _typed
from bulk_admin.sources.base import excel_error_cell
from bulk_admin.workbook import EXCEL_MAX_COLUMNS, column_number

# Groups: column letters, the other attributes (ending in "/" for an empty cell), a formula
# element, an empty value ("<v/>", "<v></v>"), a value, an inline text, the closing tag. Few
# groups: each one costs the regular expression engine more than the bytes it scans.
_CELL = re.compile(
    rb'<c r="([A-Z]{1,3})[0-9]{1,7}"([^>]*)>'
    rb"(?:(<f(?:\s[^<>]*)?>[^<]*</f>|<f(?:\s[^<>]*)?/>)?"
    rb"(?:(<v></v>|<v\s*/>)|<v>([^<]+)</v>"
    rb'|<is><t(?: xml:space="preserve")?>([^<]+)</t></is>)?(</c>))?'
)
# The cells most sheets hold only: a value, or an inline text. Groups: column letters, the
# other attributes, the value, the inline text. About 40% faster than _CELL.
_PLAIN_CELL = re.compile(
    rb'<c r="([A-Z]{1,3})[0-9]{1,7}"([^>]*)>'
    rb'<(?:v>([^<]+)</v>|is><t(?: xml:space="preserve")?>([^<]+)</t></is>)</c>'
)
_ENTITY_BYTES = re.compile(rb"&(?:#[0-9]{1,7}|#x[0-9a-fA-F]{1,6}|amp|lt|gt|quot|apos);")

_ATTRIBUTE = re.compile(
    rb"""\s+([A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?)\s*=\s*(?:"([^"<&]*)"|'([^'<&]*)')"""
)
_ENTITY = re.compile(r"&(?:#([0-9]{1,7})|#x([0-9a-fA-F]{1,6})|(amp|lt|gt|quot|apos));")
_CONTROL_BYTES = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


class _OtherLayout(Exception):
    """The part holds something the regular expressions do not read: expat reads it."""


class _Cells:
    """Typed cells from their type, text and style, as :func:`bulk_admin.peek._typed` does."""

    def __init__(self, strings: Sequence[str], dates: dict[int, bool], epoch_1904: bool):
        self.strings = strings
        self.dates = dates
        self.epoch_1904 = epoch_1904
        self._shared = _SharedStrings(strings)
        # The dates of date-styled (not duration-styled) day numbers met: a sheet holds few
        # distinct days, and building a date is most of the cost of such a cell.
        self.day_numbers: dict[float, datetime.date] = {}
        # Caches of this workbook's tag attributes (whose prefixes it declares), read once.
        self.cell_attributes: dict[bytes, tuple[int, bytes, bool]] = {}
        self.row_attributes: set[bytes] = set()
        self.formula_attributes: set[bytes] = set()
        self.prefixes: set[bytes] = {b"xml"}

    def typed(self, kind: str, text: str, style: int) -> Any:
        if kind == "e":
            return excel_error_cell(text.strip() or "#VALUE!")
        if kind == "n":
            if not text.strip():
                return None
            _check_number(text)
        elif kind == "s" and not text.strip().isdigit():
            raise ValueError(
                _("a shared string cell holds “%(value)s”, which is not a string's number")
                % {"value": text[:50]}
            )
        return _typed(kind, text, style, self._shared, self.dates, self.epoch_1904)

    def tag(self, attributes: bytes) -> tuple[int, bytes, bool]:
        """The style, type and self-closing of a cell tag's attributes, read once each."""
        known = _cell_attributes(attributes, self.prefixes)
        if len(self.cell_attributes) < 10_000:
            self.cell_attributes[attributes] = known
        return known

    def row(self, rest: bytes) -> None:
        """Check a row tag's attributes after its ``r`` as expat's path reads them, once each."""
        if rest not in self.row_attributes:
            if b"r" in _attributes(rest, self.prefixes):
                raise _OtherLayout  # r twice: expat refuses the part
            if len(self.row_attributes) < 10_000:
                self.row_attributes.add(rest)

    def excel_date(self, number: float, duration: bool) -> Any:
        """A date-styled number cell's value; a date is built once per day number."""
        if not duration:
            day = self.day_numbers.get(number)
            if day is not None:
                return day
        value = _excel_date(number, duration, self.epoch_1904)
        if value.__class__ is datetime.date and len(self.day_numbers) < 100_000:
            self.day_numbers[number] = value
        return value

    def formula(self, formula: bytes) -> None:
        """Check a formula element's attributes as expat's path reads them, once each."""
        head = formula[2 : formula.index(b">")]
        if head not in self.formula_attributes:
            _attributes(head[:-1] if head.endswith(b"/") else head, self.prefixes)
            if len(self.formula_attributes) < 10_000:
                self.formula_attributes.add(head)

    def record(self, row: dict[int, tuple[str, str, int]]) -> list[Any]:
        record: list[Any] = [None] * (max(row, default=-1) + 1)
        for column, (kind, text, style) in row.items():
            record[column] = self.typed(kind, text, style)
        return record


class _SharedStrings:
    """The shared strings as the mapping :func:`bulk_admin.peek._typed` reads."""

    def __init__(self, strings: Sequence[str]):
        self._strings = strings

    def get(self, index: int, default: str) -> str:
        return self._strings[index] if 0 <= index < len(self._strings) else default


def _check_chunk(chunk: bytes) -> None:
    """_OtherLayout for what expat reads otherwise than the patterns, or refuses."""
    if (
        len(chunk.translate(None, _CONTROL_BYTES)) != len(chunk)
        or b"xmlns" in chunk
        or b"]]>" in chunk
    ):
        raise _OtherLayout  # characters XML forbids, a namespace declared inside, CDATA
    if not chunk.isascii():
        if b"\xef\xbf\xbe" in chunk or b"\xef\xbf\xbf" in chunk:
            raise _OtherLayout  # U+FFFE and U+FFFF, which XML does not allow either
        chunk.decode()  # not UTF-8: UnicodeDecodeError, and expat says where
    if b"&" in chunk and b"&" in _ENTITY_BYTES.sub(b"", chunk):
        raise _OtherLayout  # an entity XML does not define


_COLUMNS: dict[bytes, int] = {}


def _column_of(letters: bytes) -> int | None:
    """The 0-based column of ``letters``; None beyond Excel's last column (XFD)."""
    column = _COLUMNS.get(letters)
    if column is None:
        column = column_number(letters) - 1
        if column >= EXCEL_MAX_COLUMNS:
            return None
        _COLUMNS[letters] = column
    return column


def _attributes(text: bytes, prefixes: set[bytes]) -> dict[bytes, bytes]:
    """Read a tag's attributes as expat would; _OtherLayout for anything it reads otherwise.

    A name twice, a prefix not declared, a value with an entity or a quote of the other kind,
    anything that is no attribute: expat's path decides.
    """
    values: dict[bytes, bytes] = {}
    end = 0
    for match in _ATTRIBUTE.finditer(text):
        if match.start() != end:
            raise _OtherLayout
        end = match.end()
        name = match.group(1)
        prefix, colon, _local = name.partition(b":")
        if name in values or (colon and prefix not in prefixes):
            raise _OtherLayout
        values[name] = match.group(2) if match.group(2) is not None else match.group(3)
    if text[end:].strip():
        raise _OtherLayout
    return values


def _cell_attributes(attributes: bytes, prefixes: set[bytes]) -> tuple[int, bytes, bool]:
    """Read the style and type of a cell tag as expat's path does; _OtherLayout if odd."""
    self_closed = attributes.endswith(b"/")  # "/>", not "/ >", which XML refuses
    values = _attributes(attributes[:-1] if self_closed else attributes, prefixes)
    if b"r" in values:
        raise _OtherLayout  # r twice: expat refuses the part
    try:
        style = int((values.get(b"s") or b"0").decode())
    except ValueError:  # as expat's path: a style that is not a number is style 0
        style = 0
    return style, values.get(b"t") or b"n", self_closed


def _check_number(text: str) -> None:
    try:
        float(text)
    except ValueError:
        # As python-calamine and openpyxl do: the sheet is damaged at this row.
        raise ValueError(
            _("a number cell holds “%(value)s”, which is not a number") % {"value": text[:50]}
        ) from None


def _text(raw: bytes) -> str:
    """Decode a value's text as expat does: UTF-8, newlines as ``\\n``, then the entities."""
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        raise _OtherLayout from None
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "&" in text:
        # Every "&" of the chunk begins an entity XML defines (_check_chunk).
        text = _ENTITY.sub(_entity, text)
    return text


def _entity(match: re.Match[str]) -> str:
    decimal_code, hex_code, name = match.groups()
    if name:
        return _NAMED[name]
    code = int(decimal_code) if decimal_code else int(hex_code, 16)
    if code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD:
        return chr(code)
    if 0x10000 <= code <= 0x10FFFF:
        return chr(code)
    raise _OtherLayout
