"""Cells of a piece of rows typed: one by one (:func:`_cellwise`, the reference), or column
by column (:func:`_columnwise`): the rows transposed in C, each column's cells grouped by their
tag (style and type), each group typed by one ``map`` (``int``, ``float``, a shared string's
index, a date's day number), and the records the columns transposed back. Where the column
way cannot decide (an empty ``<v/>``, a value not of its type's form, columns out of order), it
gives None and the piece is typed cell by cell; ``tests/test_xlsx_cells.py`` compares the two on
generated pieces.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from bulk_admin.sources.xlsx_cells import _COLUMNS, _Cells, _column_of, _text
from bulk_admin.workbook import EXCEL_MAX_COLUMNS, beyond_limits


def _cellwise(
    found_rows: list[list[tuple[bytes, ...]]], cells: _Cells
) -> tuple[list[list[Any]], int]:
    """Type the cells one by one: each row's record, and the count of the "<" read."""
    expected = 0
    strings = cells.strings
    dates = cells.dates
    cell_attributes = cells.cell_attributes
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
                            cell = cells.excel_date(number_value, dates[style])
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
                column = _column_of(letters)
                if column is None:
                    raise beyond_limits()
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
        column = _column_of(cell[0])
        if column is None or column >= most or (columns and column <= columns[-1]):
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
            if dates[style]:  # a duration
                return [cells.excel_date(number, True) for number in floats]
            found = list(map(cells.day_numbers.get, floats))  # the days met, in C
            if None in found:
                for position, day in enumerate(found):
                    if day is None:
                        found[position] = cells.excel_date(floats[position], False)
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
