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

import array
import datetime
import itertools
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, overload
from xml.etree import ElementTree

from django.utils.translation import gettext as _

from bulk_admin.exceptions import SourceError
from bulk_admin.peek import (
    _date_styles,
    _excel_date,
    _raw_rows,
    _row_number,
    _shared_string_items,
    _typed,
)
from bulk_admin.sources.base import excel_error_cell
from bulk_admin.workbook import (
    EXCEL_MAX_COLUMNS,
    XML_ERRORS,
    Workbook,
    _damaged,
    beyond_limits,
    column_number,
)

_SHEET_DATA = re.compile(rb"<(\w+:)?sheetData\s*(/?)>")
_SST = re.compile(rb"<(\w+:)?sst(?:\s[^>]*?)?(/?)>")
_PLAIN_ITEM = re.compile(rb'<si><t(?: xml:space="preserve")?>([^<]*)</t></si>')
_ENCODING = re.compile(rb"<\?xml[^>]*\bencoding\s*=\s*[\"']([^\"']*)[\"']")
# Groups: the row's attributes, "/" of an empty row.
_ROW_TAG = re.compile(rb"\s*<row(\s[^>]*?)?(/?)>")
_ROW_FIRST = re.compile(rb'\s+r="([0-9]{1,7})"')
# Groups: column letters, the other attributes (ending in "/" for an empty cell), a formula
# element, an empty value ("<v/>", "<v></v>"), a value, an inline text, the closing tag. Few
# groups: each one costs the regular expression engine more than the bytes it scans.
_CELL = re.compile(
    rb'<c r="([A-Z]{1,3})[0-9]{1,7}"([^>]*)>'
    rb"(?:(<f(?:\s[^<>]*)?>[^<]*</f>|<f(?:\s[^<>]*)?/>)?"
    rb"(?:(<v></v>|<v\s*/>)|<v>([^<]+)</v>"
    rb'|<is><t(?: xml:space="preserve")?>([^<]+)</t></is>)?(</c>))?'
)
_ENTITY_BYTES = re.compile(rb"&(?:#[0-9]{1,7}|#x[0-9a-fA-F]{1,6}|amp|lt|gt|quot|apos);")
_MAIN_NAMESPACE = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_BOM = b"\xef\xbb\xbf"
# What comes before <sheetData> (the sheet's properties, views, columns) is read whole.
_MAX_PROLOG = 4 * 1024 * 1024
_ATTRIBUTE = re.compile(
    rb"""\s+([A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?)\s*=\s*(?:"([^"<&]*)"|'([^'<&]*)')"""
)
_ENTITY = re.compile(r"&(?:#([0-9]{1,7})|#x([0-9a-fA-F]{1,6})|(amp|lt|gt|quot|apos));")
_CONTROL_BYTES = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}
_PIECE = 64 * 1024
# A row longer than this without its end is not in the common layout.
_MAX_PENDING = 64 * 1024 * 1024


class _OtherLayout(Exception):
    """The part holds something the regular expressions do not read: expat reads it."""


def stream_records(workbook: Workbook, sheet: str) -> Iterator[list[Any]]:
    """Yield every record of ``sheet``, row 1 first, rows the file leaves out as ``[]``."""
    part = workbook.part_of(sheet) or ""
    if not workbook.has_part(part):
        raise _damaged(_("the part of sheet “%(sheet)s” is missing") % {"sheet": sheet})
    strings = _shared_strings(workbook)
    cells = _Cells(strings, _date_styles(workbook), workbook.date1904())
    try:
        yield from _fast_then_expat(
            lambda: _common_layout(workbook, part, cells),
            lambda: _raw_rows(workbook, part, None),
            cells.record,
        )
    finally:
        if isinstance(strings, _SpilledStrings):
            strings.close()


# Above this many unpacked bytes, a shared-strings part is kept as one UTF-8 buffer; above
# the second, in a temporary file.
_COMPACT_STRINGS = 8 * 1024 * 1024
_SPILLED_STRINGS = 48 * 1024 * 1024


def _shared_strings(workbook: Workbook) -> Sequence[str]:
    """Return the workbook's shared strings, kept as the part's size asks."""
    part = workbook.shared_strings_part()
    if part is None:
        return []
    items = _string_items(workbook, part)
    size = workbook.unpacked_size(part)
    if size > _SPILLED_STRINGS:
        return _SpilledStrings(items)
    if size > _COMPACT_STRINGS:
        return _StringTable(items)
    return list(items)


def _string_items(workbook: Workbook, part: str) -> Iterator[str]:
    """Yield the shared strings: plain items by a pattern, the whole part by expat otherwise."""
    yield from _fast_then_expat(
        lambda: _plain_strings(workbook, part), lambda: _shared_string_items(workbook), str
    )


def _fast_then_expat(
    fast: Callable[[], Iterator[Any]],
    expat: Callable[[], Iterator[Any]],
    finish: Callable[[Any], Any],
) -> Iterator[Any]:
    """Yield what ``fast()`` yields; if it raises _OtherLayout, go on with ``expat()``.

    The items ``fast()`` gave are skipped in ``expat()`` (both give the same items), and each
    other one goes through ``finish``.
    """
    given = 0
    try:
        for item in fast():
            yield item
            given += 1
        return
    except _OtherLayout:
        pass
    yield from map(finish, itertools.islice(expat(), given, None))


def _plain_strings(workbook: Workbook, part: str) -> Iterator[str]:
    """Yield the items of a shared-strings part that holds only plain ``<si><t>`` items."""
    pending = b""
    ended = False
    for block in _contents(workbook, part, _SST, b"</sst>", set()):
        if ended:
            if block.strip():
                raise _OtherLayout
            continue
        data = pending + block if pending else block
        end = data.find(b"</sst>")
        if end != -1:
            if data[end + 6 :].strip():
                raise _OtherLayout  # something after the root: expat reads to the end
            items = _plain_items(data[:end])
            ended = True
            continue
        cut = data.rfind(b"</si>")
        if cut == -1:
            if len(data) > _MAX_PENDING:
                raise _OtherLayout
            pending = data
            continue
        pending = data[cut + 5 :]
        yield from _plain_items(data[: cut + 5])
    if not ended:
        raise _OtherLayout
    yield from items


def _plain_items(chunk: bytes) -> list[str]:
    texts = _PLAIN_ITEM.findall(chunk)
    if chunk.count(b"<") != 4 * len(texts):
        raise _OtherLayout  # rich text, phonetic hints, empty items, comments...
    try:
        _check_chunk(chunk)
        return [_text(text) if b"&" in text or b"\r" in text else text.decode() for text in texts]
    except UnicodeDecodeError:
        raise _OtherLayout from None


class _Strings(Sequence[str]):
    """A sequence of strings stored otherwise than a list: subclasses give ``_get``."""

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...

    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        count = len(self)
        if index < 0:
            index += count
        if not 0 <= index < count:
            raise IndexError("string index out of range")
        return self._get(index)

    def _get(self, index: int) -> str:
        raise NotImplementedError


class _StringTable(_Strings):
    """Strings kept as one UTF-8 buffer and the offset where each ends (4 bytes a string).

    A list of a million distinct strings costs about 75 bytes each besides their text.
    """

    _ends: array.array[int]

    def __init__(self, texts: Iterable[str]):
        buffer = bytearray()
        ends = array.array("I")  # 8 bytes an offset only past 4 GiB of text
        for text in texts:
            buffer += text.encode()
            try:
                ends.append(len(buffer))
            except OverflowError:
                ends = array.array("q", ends)
                ends.append(len(buffer))
        self._buffer = bytes(buffer)
        self._ends = ends

    def __len__(self) -> int:
        return len(self._ends)

    def _get(self, index: int) -> str:
        start = self._ends[index - 1] if index else 0
        return self._buffer[start : self._ends[index]].decode()


class _SpilledStrings(_Strings):
    """Strings kept in a temporary file, in groups of ``_GROUP``, with only the groups' offsets
    in memory (8 bytes a group) and the groups read last.

    Each string is its UTF-8 length (4 bytes) and text. A group is read whole with one
    ``os.pread``: the strings a sheet uses first are numbered first, so a row's strings lie
    in the groups its neighbours just read.
    """

    def __init__(self, texts: Iterable[str]):
        # Closed by close(), when the stream ends.
        self._file = tempfile.TemporaryFile(prefix="bulk_admin-strings-")  # noqa: SIM115
        self._starts = array.array("Q")
        self._count = 0
        written = 0
        pending = bytearray()
        for text in texts:
            if not self._count % _GROUP:
                self._starts.append(written + len(pending))
            data = text.encode()
            pending += len(data).to_bytes(4, "little")
            pending += data
            self._count += 1
            if len(pending) >= _WRITE_BLOCK:
                self._file.write(pending)
                written += len(pending)
                pending = bytearray()
        self._file.write(pending)
        self._file.flush()
        self._size = written + len(pending)
        self._groups: dict[int, list[str]] = {}

    def __len__(self) -> int:
        return self._count

    def _get(self, index: int) -> str:
        group, offset = divmod(index, _GROUP)
        texts = self._groups.get(group)
        if texts is None:
            texts = self._read_group(group)
            if len(self._groups) >= _GROUPS_KEPT:
                self._groups.clear()
            self._groups[group] = texts
        return texts[offset]

    def _read_group(self, group: int) -> list[str]:
        starts = self._starts
        start = starts[group]
        end = starts[group + 1] if group + 1 < len(starts) else self._size
        data = os.pread(self._file.fileno(), end - start, start)
        texts = []
        position = 0
        while position < len(data):
            length = int.from_bytes(data[position : position + 4], "little")
            position += 4
            texts.append(data[position : position + length].decode())
            position += length
        return texts

    def close(self) -> None:
        self._file.close()


_GROUP = 16
_GROUPS_KEPT = 1024
_WRITE_BLOCK = 1024 * 1024


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


def _common_layout(workbook: Workbook, part: str, cells: _Cells) -> Iterator[list[Any]]:
    """Yield the records of a part in the common layout; raise _OtherLayout on anything else.

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
            yield from _expanded(records)
            position = cut + 6
        if end != -1:
            records, next_row = _read_rows(data[position:end], cells, next_row)
            yield from _expanded(records)
            return
        cut = data.rfind(b"</row>", position)
        if cut == -1:
            if len(data) - position > _MAX_PENDING:
                raise _OtherLayout
            pending = data[position:]
            continue
        pending = data[cut + 6 :]
        records, next_row = _read_rows(data[position:cut], cells, next_row)
        yield from _expanded(records)
    # A part that ends before </sheetData>: expat reads it, and says how it is damaged.
    raise _OtherLayout


def _expanded(records: list[Any]) -> Iterator[list[Any]]:
    """Yield ``records``, a count of empty rows as that many empty records."""
    for record in records:
        if record.__class__ is int:
            for _empty in range(record):
                yield []
        else:
            yield record


def _contents(
    workbook: Workbook,
    part: str,
    opening: re.Pattern[bytes],
    closing: bytes,
    prefixes: set[bytes],
) -> Iterator[bytes]:
    """Yield the bytes of ``part`` after its ``opening`` tag, block by block.

    An element that closes itself gives ``closing`` alone. _OtherLayout unless everything up
    to the tag is what the common writers put there: UTF-8, the main namespace as the only
    default one, no comment, DOCTYPE (a DTD can give attributes defaults), processing
    instruction, CDATA or entity. The prefixes declared there are added to ``prefixes``.
    """
    data = b""
    blocks = workbook.blocks(part)
    for block in blocks:
        data += block
        tag = opening.search(data)
        if tag is None:
            if len(data) > _MAX_PROLOG:
                raise _OtherLayout
            continue
        _check_prolog(data[: tag.end()], prefixes)
        if tag.group(1):
            raise _OtherLayout
        if tag.group(2):
            yield closing  # <sheetData/>, <sst/>: no items
            return
        yield data[tag.end() :]
        yield from blocks
        return
    raise _OtherLayout


def _check_prolog(prolog: bytes, prefixes: set[bytes]) -> None:
    """Parse everything up to the opening tag with expat; _OtherLayout unless it is plain.

    Plain: UTF-8, well formed, no comment, DOCTYPE, processing instruction, CDATA or entity,
    the opening tag in the main namespace as the root (``<sst>``) or a child of the root
    ``<worksheet>`` (``<sheetData>``), no row or string item before it. The prefixes declared
    on the root go to ``prefixes``: the ones cell attributes may use.
    """
    text = prolog[len(_BOM) :] if prolog.startswith(_BOM) else prolog
    if text.startswith(b"<?xml"):
        declared = _ENCODING.match(text[: text.find(b"?>") + 2])
        if declared is not None and declared.group(1).lower() not in (b"utf-8", b"utf8"):
            raise _OtherLayout
        text = text[text.find(b"?>") + 2 :]
    if any(mark in text for mark in (b"<!", b"<?", b"]]>", b"&")):
        raise _OtherLayout
    parser: Any = ElementTree.XMLPullParser(events=("start", "end", "start-ns"))
    depth = 0
    tags: list[tuple[int, str]] = []
    namespaces: list[tuple[int, str, str]] = []
    try:
        parser.feed(prolog)
        for event, item in parser.read_events():
            if event == "start-ns":
                namespaces.append((depth, *item))
            elif event == "start":
                tags.append((depth, item.tag))
                depth += 1
            else:
                depth -= 1
    except XML_ERRORS:
        raise _OtherLayout from None
    main = "{%s}" % _MAIN_NAMESPACE.decode()
    root = tags[0][1] if tags else ""
    last_depth, last = tags[-1] if tags else (0, "")
    if last == main + "sst":
        plain = len(tags) == 1
    else:
        plain = root == main + "worksheet" and last == main + "sheetData" and last_depth == 1
    if not plain or any(tag in (main + "row", main + "si") for _depth, tag in tags[:-1]):
        raise _OtherLayout
    on_root = {prefix: uri for depth_, prefix, uri in namespaces if depth_ == 0}
    if on_root.get("") != _MAIN_NAMESPACE.decode() or any(
        depth_ > 0 and prefix == "" for depth_, prefix, _uri in namespaces
    ):
        raise _OtherLayout  # Strict OOXML, another vocabulary, a default redeclared
    if len(set(on_root.values())) != len(on_root):
        raise _OtherLayout  # two prefixes for one namespace: one name could be written twice
    prefixes.update(prefix.encode() for prefix in on_root if prefix)


def _read_rows(chunk: bytes, cells: _Cells, next_row: int) -> tuple[list[Any], int]:
    """Read the rows of ``chunk`` (complete rows, the last one's ``</row>`` cut off)."""
    try:
        return _rows_of(chunk, cells, next_row)
    except (UnicodeDecodeError, ValueError, SourceError):
        # Not UTF-8, a cell that is not what its type says, a row out of order or beyond
        # Excel's limits (maybe only in a comment): expat's path reads the part again row by
        # row, and says which error, if any, is on which row.
        raise _OtherLayout from None


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


def _rows_of(chunk: bytes, cells: _Cells, next_row: int) -> tuple[list[Any], int]:
    _check_chunk(chunk)
    records: list[Any] = []  # records, and counts of the empty rows between them
    expected = 0  # the "<" of everything read, to compare with the chunk's own count
    strings = cells.strings
    dates = cells.dates
    cell_attributes = cells.cell_attributes
    row_attributes = cells.row_attributes
    formula_attributes = cells.formula_attributes
    prefixes = cells.prefixes
    day_numbers = cells.day_numbers
    columns = _COLUMNS
    pieces = chunk.split(b"</row>")
    expected += len(pieces) - 1
    for piece in pieces:
        position = 0
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
                    rest = attributes[first.end() :]
                    if rest not in row_attributes:
                        if b"r" in _attributes(rest, prefixes):
                            raise _OtherLayout  # r twice: expat refuses the part
                        if len(row_attributes) < 10_000:
                            row_attributes.add(rest)
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
            record: list[Any] = []
            width = 0
            records.append(record)
            for letters, attributes, formula, no_value, value, inline, closed in _CELL.findall(
                piece, position
            ):
                known = cell_attributes.get(attributes)
                if known is None:
                    known = _cell_attributes(attributes, prefixes)
                    if len(cell_attributes) < 10_000:
                        cell_attributes[attributes] = known
                style, kind, self_closed = known
                if self_closed or not closed:
                    # <c .../>; or contents the pattern does not know, whose "<" then make the
                    # count differ, and expat reads the part.
                    expected += 1
                    continue
                expected += 2
                if formula:
                    expected += formula.count(b"<")
                    head = formula[2 : formula.index(b">")]
                    if head not in formula_attributes:
                        _attributes(head[:-1] if head.endswith(b"/") else head, prefixes)
                        if len(formula_attributes) < 10_000:
                            formula_attributes.add(head)
                # The common cells first: a value, an inline text. Each adds the "<" it holds.
                if value:
                    expected += 2
                    if kind == b"s" and value.isdigit():
                        index = int(value)
                        cell: Any = strings[index] if index < len(strings) else ""
                    elif kind == b"n":
                        try:
                            number_value = float(value)
                        except ValueError:
                            # Not a number: what the expat path refuses.
                            cell = cells.typed("n", _text(value), style)
                        else:
                            if style in dates:
                                duration = dates[style]
                                if not duration and number_value in day_numbers:
                                    cell = day_numbers[number_value]
                                else:
                                    cell = _excel_date(number_value, duration, cells.epoch_1904)
                                    if (
                                        cell.__class__ is datetime.date
                                        and len(day_numbers) < 100_000
                                    ):
                                        day_numbers[number_value] = cell
                            elif (
                                number_value.is_integer()
                                and b"." not in value
                                and b"e" not in value
                                and b"E" not in value
                            ):
                                cell = int(value)
                            else:
                                cell = number_value
                    elif kind == b"b" and (value == b"1" or value == b"0"):
                        cell = value == b"1"
                    elif kind == b"str":
                        cell = _text(value) if b"&" in value or b"\r" in value else value.decode()
                    else:
                        cell = cells.typed(kind.decode(), _text(value), style)
                elif inline:
                    expected += 4
                    if kind != b"inlineStr":
                        cell = cells.typed(kind.decode(), _text(inline), style)
                    elif b"&" in inline or b"\r" in inline:
                        cell = _text(inline)
                    else:
                        cell = inline.decode()
                elif no_value:
                    # <v/> or <v></v>: an empty value (an empty text, a number cell left out).
                    expected += no_value.count(b"<")
                    cell = cells.typed(kind.decode(), "", style)  # None: counts in the width
                else:
                    continue  # <c ...></c>
                column = columns.get(letters)
                if column is None:
                    column = column_number(letters) - 1
                    if column >= EXCEL_MAX_COLUMNS:
                        raise beyond_limits()
                    columns[letters] = column
                if column == width:
                    record.append(cell)
                    width += 1
                elif column > width:
                    record.extend([None] * (column - width))
                    record.append(cell)
                    width = column + 1
                else:
                    record[column] = cell
            break  # a row's cells run to the end of its piece
    if chunk.count(b"<") != expected:
        raise _OtherLayout
    return records, next_row


_COLUMNS: dict[bytes, int] = {}


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
