"""Rows of the sheet's part in the common layout: cells read by regular expressions.

:mod:`bulk_admin.sources.xlsx_stream` cuts the part into pieces of about 64 KiB of whole rows;
:func:`read_rows` reads one. Its row tags are read one by one; its cells are found by one
regular expression per row and then typed column-wise: grouped by their tag's attributes
(style and type), each group's values become Python values in one pass in C (``int``,
``float``, a shared string's index, a date's day number), and each row's record is a slice of
them. A piece that holds anything that way does not read (a formula, an empty ``<v/>``, a
value that is not what its type says, columns out of order) is read cell by cell, as it was
before; and a piece that one does not read either raises :class:`_OtherLayout`, and expat
reads the part. The two ways give the same records: ``tests/test_xlsx_stream.py`` compares
them on generated pieces.
"""

from __future__ import annotations

import datetime
import itertools
import operator
import re
from collections.abc import Sequence
from typing import Any

from django.utils.translation import gettext as _

from bulk_admin.peek import _excel_date, _row_number, _typed
from bulk_admin.sources.base import excel_error_cell
from bulk_admin.workbook import EXCEL_MAX_COLUMNS, EXCEL_MAX_ROWS, beyond_limits, column_number

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


def _rows_of(
    chunk: bytes, cells: _Cells, next_row: int, open_end: bool = True
) -> tuple[list[Any], int]:
    """Read the rows of ``chunk``: whole rows, the last one's ``</row>`` cut off unless
    ``open_end`` is false (the chunk ends at ``</sheetData>``)."""
    _check_chunk(chunk)
    total = chunk.count(b"<")
    in_order = _rows_in_order(chunk, cells, next_row, open_end)
    if in_order is not None:
        pieces, expected, next_row = in_order
        # Plain cells only (a value or an inline text): their "<" are all the piece has.
        plain = _columnwise(list(map(_PLAIN_CELL.findall, pieces)), cells, plain=True)
        if plain is not None and expected + plain[1] == total:
            return plain[0], next_row
        records: list[Any] = []
        slots: list[int] | None = None
        found_rows = list(map(_CELL.findall, pieces))
    else:
        records, slots, found_rows, expected, next_row = _row_tags(
            chunk, cells, next_row, open_end
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
    chunk: bytes, cells: _Cells, next_row: int, open_end: bool
) -> tuple[list[bytes], int, int] | None:
    """Read the row tags of a piece in C if they are the common writers': each ``<row r="N"
    ...>`` right after the last ``</row>``, numbered from ``next_row`` without a gap, none
    empty (``<row .../>``): each row's piece, the count of the "<" of the tags, the number
    of the next row. None for anything else, which :func:`_row_tags` reads."""
    pieces = chunk.split(b"</row>")
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
            if b"r" in _attributes(rest, cells.prefixes):
                raise _OtherLayout  # r twice: expat refuses the part
            if len(row_attributes) < 10_000:
                row_attributes.add(rest)
    # A row's tag holds no cell: findall from the start of its piece finds its cells.
    return pieces, count + ends, last + 1


def _row_tags(chunk: bytes, cells: _Cells, next_row: int, open_end: bool) -> _Rows:
    """Read the row tags of a piece one by one: gaps, empty rows, any attributes."""
    records: list[Any] = []  # records, and counts of the empty rows between them
    expected = 0  # the "<" of everything read, to compare with the chunk's own count
    row_attributes = cells.row_attributes
    prefixes = cells.prefixes
    slots: list[int] = []  # where the record of each row with cells goes in ``records``
    found_rows: list[list[tuple[bytes, ...]]] = []  # each such row's cells, as _CELL finds them
    pieces = chunk.split(b"</row>")
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
            slots.append(len(records))
            records.append(None)
            found_rows.append(_CELL.findall(piece, position))
            open_row = True
            break  # a row's cells run to the end of its piece
        if open_row != (index < last or open_end):
            raise _OtherLayout  # a </row> that closes no row, or a row </sheetData> closes
    return records, slots, found_rows, expected, next_row


def _cellwise(
    found_rows: list[list[tuple[bytes, ...]]], cells: _Cells
) -> tuple[list[list[Any]], int]:
    """Type the cells one by one: each row's record, and the count of the "<" read."""
    expected = 0
    strings = cells.strings
    dates = cells.dates
    cell_attributes = cells.cell_attributes
    day_numbers = cells.day_numbers
    columns = _COLUMNS
    records: list[list[Any]] = []
    for found in found_rows:
        record: list[Any] = []
        width = 0
        records.append(record)
        for letters, attributes, formula, no_value, value, inline, closed in found:
            style, kind, self_closed = cell_attributes.get(attributes) or cells.tag(attributes)
            if self_closed or not closed:
                # <c .../>; or contents the pattern does not know, whose "<" then make the
                # count differ, and expat reads the part.
                expected += 1
                continue
            expected += 2
            if formula:
                expected += formula.count(b"<")
                cells.formula(formula)
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
                                if cell.__class__ is datetime.date and len(day_numbers) < 100_000:
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
    return records, expected


def _columnwise(
    found_rows: list[list[tuple[bytes, ...]]], cells: _Cells, plain: bool = False
) -> tuple[list[list[Any]], int] | None:
    """Type the cells column by column, as :func:`_cellwise` would; None where it must decide.

    The rows whose last cell has a value and stands in the column its position says (most
    rows of most sheets; the columns of the others are checked below: A, B, C... without a
    gap) are transposed in C, the shorter ones padded; each column's cells are typed by one
    ``map`` per distinct tag (style and type), and the records are the columns transposed
    back, each cut to its row's length. The other rows are read by :func:`_cellwise`. None
    (the piece is read cell by cell) for an empty ``<v/>``, a cell neither ``<c .../>`` nor
    closed by ``</c>``, a cell without a value in the middle of a row, a value of a kind or
    form the groups do not type. ``plain``: the cells are _PLAIN_CELL's.
    """
    sizes = list(map(len, found_rows))
    widest = max(sizes, default=0)
    if widest > EXCEL_MAX_COLUMNS:
        return None
    letters = _letters(widest)
    value, inline = (2, 3) if plain else (4, 5)
    regular = [
        bool(found)
        and found[-1][0] == letters[len(found) - 1]
        and bool(found[-1][value] or found[-1][inline])
        for found in found_rows
    ]
    every_row = False not in regular
    pad = _PLAIN_PAD if plain else _PAD
    if not every_row:
        # A row with gaps (cells left out) but its columns in order: padded where they are.
        found_rows = list(found_rows)  # the caller's stays as _cellwise may need it
        # No wider than twice the most cells a row has: one far cell (in column XFD) would
        # make every row of the piece that wide.
        most = 2 * widest
        for index in [index for index, keep in enumerate(regular) if not keep]:
            dense = _with_gaps_padded(found_rows[index], pad, value, inline, most)
            if dense is not None:
                found_rows[index] = dense
                regular[index] = True
                sizes[index] = len(dense)
        every_row = False not in regular
        widest = max(sizes, default=0)
        letters = _letters(widest)
    rows = found_rows if every_row else list(itertools.compress(found_rows, regular))
    expected = 0
    columns: list[list[Any]] = []
    for column, at in enumerate(itertools.zip_longest(*rows, fillvalue=pad)):
        fields = tuple(zip(*at, strict=True))
        if plain:
            empty, closed = (b"",) * len(at), (b"</c>",) * len(at)
            fields = (fields[0], fields[1], empty, empty, fields[2], fields[3], closed)
        if fields[0].count(letters[column]) + fields[0].count(b"") != len(at):
            return None  # not the column this position holds in a row without a gap
        read = _column(fields, cells)
        if read is None:
            return None
        columns.append(read[0])
        expected += read[1]
    row_sizes = sizes if every_row else list(itertools.compress(sizes, regular))
    typed_rows = zip(*columns, strict=True)
    if row_sizes.count(widest) == len(row_sizes):
        records = list(map(list, typed_rows))
    else:
        records = list(map(list, map(itertools.islice, typed_rows, row_sizes)))
    if every_row:
        return records, expected
    others = [found for found, keep in zip(found_rows, regular, strict=True) if not keep]
    if plain:
        others = [[_full(cell) for cell in found] for found in others]
    other_records, count = _cellwise(others, cells)
    given, other = iter(records), iter(other_records)
    merged = [next(given) if keep else next(other) for keep in regular]
    return merged, expected + count


# What pads a row shorter than the widest: no letters, attributes no tag holds (a NUL, which
# _check_chunk refuses), nothing else.
_PAD_ATTRIBUTES = b"\x00"
_PAD = (b"", _PAD_ATTRIBUTES, b"", b"", b"", b"", b"")
_PLAIN_PAD = (b"", _PAD_ATTRIBUTES, b"", b"")


def _with_gaps_padded(
    found: list[tuple[bytes, ...]], pad: tuple[bytes, ...], value: int, inline: int, most: int
) -> list[tuple[bytes, ...]] | None:
    """The cells of a row with a pad at each column it leaves out; None unless its columns
    increase, its last cell has a value and it ends within ``most`` columns."""
    if not found or not (found[-1][value] or found[-1][inline]):
        return None
    columns: list[int] = []
    for cell in found:
        column = _COLUMNS.get(cell[0])
        if column is None:
            column = column_number(cell[0]) - 1
            if column >= EXCEL_MAX_COLUMNS:
                return None
            _COLUMNS[cell[0]] = column
        if column >= most or (columns and column <= columns[-1]):
            return None
        columns.append(column)
    dense = [pad] * (columns[-1] + 1)
    for column, cell in zip(columns, found, strict=True):
        dense[column] = cell
    return dense


def _full(cell: tuple[bytes, ...]) -> tuple[bytes, ...]:
    """A _PLAIN_CELL cell as _CELL's groups."""
    letters, attributes, value, inline = cell
    return (letters, attributes, b"", b"", value, inline, b"</c>")


def _column(fields: tuple[tuple[bytes, ...], ...], cells: _Cells) -> tuple[list[Any], int] | None:
    """Type one column of cells given as _CELL's groups; also count the "<" read."""
    _letters_read, attributes, formulas, no_values, values, inlines, closes = fields
    if any(no_values):
        return None
    expected = 0
    if any(formulas):
        for formula in set(formulas):
            if formula:
                expected += formula.count(b"<") * formulas.count(formula)
                cells.formula(formula)
    size = len(attributes)
    distinct = set(attributes)
    groups: dict[bytes, Sequence[int]]
    if len(distinct) == 1:
        groups = {attributes[0]: range(size)}
    elif len(distinct) <= 8:
        groups = {
            attribute: list(itertools.compress(range(size), map(attribute.__eq__, attributes)))
            for attribute in distinct
        }
    else:
        groups = {}
        for position, attribute in enumerate(attributes):
            group = groups.get(attribute)
            if group is None:
                groups[attribute] = group = []
            group.append(position)  # type: ignore[attr-defined]
    groups.pop(_PAD_ATTRIBUTES, None)  # the padding of shorter rows: None, read nothing
    cell_attributes = cells.cell_attributes
    whole = len(groups) == 1 and len(distinct) == 1
    typed_by_position: dict[int, Any] = {}
    for attribute, group in groups.items():
        style, kind, self_closed = cell_attributes.get(attribute) or cells.tag(attribute)
        selected = None if whole else group
        if self_closed:  # <c .../>, with nothing after it: None in its column
            if any(_picked(closes, selected)):
                return None
            expected += len(group)
            continue
        inline = kind == b"inlineStr"
        texts = list(_picked(inlines if inline else values, selected))
        if _picked(closes, selected).count(b"</c>") != len(group) or b"" in texts:
            return None  # not closed, <c ...></c>, or no value of the kind its type says
        if any(_picked(values if inline else inlines, selected)):
            return None
        expected += len(group) * (6 if inline else 4)
        group_values = _typed_group(kind, style, texts, cells)
        if group_values is None:
            return None
        if whole:
            return group_values, expected
        typed_by_position.update(zip(group, group_values, strict=True))
    return list(map(typed_by_position.get, range(size))), expected


def _picked(field: tuple[bytes, ...], group: Sequence[int] | None) -> Sequence[bytes]:
    return field if group is None else list(map(field.__getitem__, group))


_LETTERS: list[bytes] = []


def _letters(count: int) -> list[bytes]:
    """Return the letters of the first ``count`` columns (A, B, ..., Z, AA, ...)."""
    while len(_LETTERS) < count:
        number = len(_LETTERS) + 1
        name = b""
        while number:
            number, rest = divmod(number - 1, 26)
            name = bytes((65 + rest,)) + name
        _LETTERS.append(name)
    return _LETTERS


_BOOLEAN_TEXTS = frozenset((b"0", b"1"))


def _typed_group(kind: bytes, style: int, texts: list[bytes], cells: _Cells) -> list[Any] | None:
    """Type the texts of a group of cells of one type and style; None where a cell decides."""
    if kind == b"s":
        if not b"".join(texts).isdigit():
            return None
        numbers = list(map(int, texts))
        strings = cells.strings
        size = len(strings)
        if max(numbers) < size:
            take = getattr(strings, "take", None)  # a _StringTable's, in C
            return take(numbers) if take is not None else list(map(strings.__getitem__, numbers))
        return [strings[index] if index < size else "" for index in numbers]
    if kind == b"n":
        try:
            floats = list(map(float, texts))
        except ValueError:
            return None  # what _cellwise says is not a number
        dates = cells.dates
        if style in dates:
            epoch_1904 = cells.epoch_1904
            if dates[style]:  # a duration
                return [_excel_date(number, True, epoch_1904) for number in floats]
            day_numbers = cells.day_numbers
            found = list(map(day_numbers.get, floats))
            if None in found:
                for position, day in enumerate(found):
                    if day is None:
                        number = floats[position]
                        day = _excel_date(number, False, epoch_1904)
                        if day.__class__ is datetime.date and len(day_numbers) < 100_000:
                            day_numbers[number] = day
                        found[position] = day
            return found
        whole = list(map(float.is_integer, floats))
        if True not in whole:
            return floats
        joined = b"/".join(texts)
        if False not in whole and b"." not in joined and b"e" not in joined and b"E" not in joined:
            return list(map(int, texts))
        typed: list[Any] = floats
        for position in itertools.compress(range(len(texts)), whole):
            text = texts[position]
            if b"." not in text and b"e" not in text and b"E" not in text:
                typed[position] = int(text)
        return typed
    if kind == b"b":
        if not _BOOLEAN_TEXTS.issuperset(texts):
            return None
        return list(map(b"1".__eq__, texts))
    if kind == b"str" or kind == b"inlineStr":
        joined = b"".join(texts)
        if b"&" in joined or b"\r" in joined:
            return [_text(text) for text in texts]
        return list(map(bytes.decode, texts))
    return None  # an error cell, an ISO date ("d"), an unknown type: _cellwise decides


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
