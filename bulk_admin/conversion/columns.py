"""The column-wise converter of one mapped column: Arrow kernels, per cell where uncertain.

:func:`compile_column` decides, for one mapped column, whether Arrow kernels convert it (a
:class:`_VectorColumn`: a strict pattern picks the cells whose value is certain, the others go
through the per-cell converter) or the per-cell converter does it all (:class:`_CellColumn`).
The field kinds are in :mod:`~bulk_admin.conversion.kinds`, the checks of their validators in
:mod:`~bulk_admin.conversion.limits`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
from django.core.exceptions import ValidationError
from django.db import models

from bulk_admin.conversion.base import _messages
from bulk_admin.conversion.kinds import (
    _HAS_CONTENT,
    _INTEGER_KINDS,
    _PY_SPACE_CHARACTERS,
    _Kind,
    _kind_for,
    _native_array,
    _native_decimal,
)
from bulk_admin.conversion.limits import _Checks
from bulk_admin.results import BadCell

if TYPE_CHECKING:
    from bulk_admin.conversion.plan import _Column
    from bulk_admin.reading import ReadingOptions


class _Empty:
    """The empty-cell rule of a column when it is one value for every row."""

    def __init__(self, column: _Column, field: models.Field, custom: bool):  # type: ignore[type-arg]
        self.constant = False
        self.value: Any = None
        self.message: str | None = None
        if custom or (field.has_default() and callable(field.default)):
            return
        try:
            self.value = column.empty()
        except ValidationError as error:
            self.message = _messages(error)
        self.constant = True


# A column's values: an Arrow array of the kind's storage type, or a Python list when Arrow
# cannot hold them as one type (JSON, a per-cell converter's own values).
Values = Any


_is_bad_cell = BadCell.__instancecheck__  # one C call per cell


class _VectorColumn:
    """One mapped column converted with Arrow kernels, per-cell for the uncertain cells."""

    def __init__(
        self,
        column: _Column,
        kind: _Kind,
        checks: _Checks,
        empty: _Empty,
        nulls: frozenset[str] = frozenset(),
        reading: ReadingOptions | None = None,
    ):
        self.column = column
        self.kind = kind
        self.checks = checks
        self.empty = empty
        # The null markers (--null): a cell that is one, once stripped, is an empty cell.
        self.nulls = pa.array(sorted(nulls), pa.string()) if nulls else None
        # Separators (--decimal-separator, --thousands-separator) of a number column.
        self.numbers = reading if reading is not None and reading.reads_numbers else None

    def convert(self, cells: list[Any]) -> tuple[Values, dict[int, str]]:
        """Return the column's values and ``{index in chunk: message}``."""
        if any(map(_is_bad_cell, cells)):
            # An Excel error or NUL cell is a str to Arrow: the per-cell path refuses it.
            return _per_cell(self.column, cells, range(len(cells)), self.kind)
        try:
            text = pa.array(cells, type=pa.string())
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            # Typed cells (XLSX): the per-cell path knows what each type means.
            if self.kind.native is None:
                return _per_cell(self.column, cells, range(len(cells)), self.kind)
            return self._typed(cells)
        kind = self.kind
        # The text the per-cell converter parses: numbers with their separators as a dot and
        # nothing (ReadingOptions.number_text); blank cells and markers are read as given.
        source = text if self.numbers is None else _number_text(text, self.numbers)
        if kind.pattern:
            certain = pc.match_substring_regex(source, kind.pattern)
        else:
            certain = pc.is_in(text, value_set=kind.words)
        certain = pc.fill_null(certain, False)
        if kind.pattern is _HAS_CONTENT:
            certain = pc.and_(
                certain, pc.invert(pc.fill_null(pc.match_substring(text, "\x00"), True))
            )
        marker = None
        if self.nulls is not None:
            stripped = pc.utf8_trim(text, characters=_PY_SPACE_CHARACTERS)
            marker = pc.fill_null(pc.is_in(stripped, value_set=self.nulls), False)
            certain = pc.and_(certain, pc.invert(marker))
        values = kind.cast(pc.if_else(certain, source, pa.scalar(None, pa.string())))
        certain = pc.and_(certain, pc.is_valid(values))
        failing = self.checks.failing(values)
        if failing is not None:
            certain = pc.and_(certain, pc.invert(failing))
        values = pc.if_else(certain, values, pa.scalar(None, kind.storage))
        errors: dict[int, str] = {}
        uncertain = pc.invert(certain)
        if self.empty.constant:
            blank = pc.fill_null(pc.equal(text, ""), True)
            if marker is not None:
                blank = pc.or_(blank, marker)
            if self.empty.message is not None:
                for index in pc.indices_nonzero(blank).to_pylist():
                    errors[index] = self.empty.message
            elif self.empty.value is not None:
                stored = _stored(self.empty.value, kind)
                if stored is None:
                    # A default the kind's storage does not give back exactly (a text for a
                    # date-time field, another time zone): blank cells go per cell.
                    return self._with_per_cell(values, errors, cells, uncertain)
                values = pc.if_else(blank, stored, values)
            uncertain = pc.and_(uncertain, pc.invert(blank))
        return self._with_per_cell(values, errors, cells, uncertain)

    def _typed(self, cells: list[Any]) -> tuple[Values, dict[int, str]]:
        """Convert a column of typed cells: the certain ones with Arrow, the others per cell."""
        kind = self.kind
        assert kind.native is not None
        native = kind.native
        values = _native_array(cells, kind)
        if values is None:
            values = pa.array(
                [None if cell is None else native(cell) for cell in cells], type=kind.storage
            )
        certain = pc.is_valid(values)
        if kind.native is _native_decimal:
            # A native value given as text (a decimal) must still be one the field holds.
            certain = pc.and_(
                certain, pc.fill_null(pc.match_substring_regex(values, kind.pattern), False)
            )
        failing = self.checks.failing(values)
        if failing is not None:
            certain = pc.and_(certain, pc.invert(pc.fill_null(failing, False)))
        values = pc.if_else(certain, values, pa.scalar(None, kind.storage))
        return self._with_per_cell(values, {}, cells, pc.invert(certain))

    def _with_per_cell(
        self, values: pa.Array, errors: dict[int, str], cells: list[Any], uncertain: pa.Array
    ) -> tuple[Values, dict[int, str]]:
        """Put the per-cell conversion of the ``uncertain`` cells into ``values``."""
        indices = pc.indices_nonzero(uncertain).to_pylist()
        if not indices:
            return values, errors
        found, more = _per_cell(self.column, cells, indices, self.kind)
        errors.update(more)
        if isinstance(found, list):
            merged = _python(values, self.kind)
            for index, value in zip(indices, found, strict=True):
                merged[index] = value
            return merged, errors
        mask = pa.array(_mask(len(cells), indices), pa.bool_())
        return pc.replace_with_mask(values, mask, found), errors


class _Repeated:
    """One value for every row of a chunk (a constant default, ``auto_now_add``)."""

    __slots__ = ("count", "value")

    def __init__(self, value: Any, count: int):
        self.value = value
        self.count = count


def _mask(size: int, indices: list[int]) -> list[bool]:
    mask = [False] * size
    for index in indices:
        mask[index] = True
    return mask


def _python(values: Values, kind: _Kind | None) -> list[Any]:
    """Return ``values`` as the Python values of the per-cell path."""
    if isinstance(values, list):
        return values
    if isinstance(values, _Repeated):
        return [values.value] * values.count
    found = values.to_pylist()
    if kind is not None and kind.to_python is not None:
        return kind.to_python(found)
    return found  # type: ignore[no-any-return]


def _per_cell(
    column: _Column, cells: list[Any], indices: Sequence[int], kind: _Kind | None
) -> tuple[Values, dict[int, str]]:
    """Convert ``cells[indices]`` exactly as :meth:`Plan.convert` does.

    Return Arrow values of the kind's storage type when they fit it, else the Python list.
    """
    errors: dict[int, str] = {}
    found: list[Any] = []
    convert, empty = column.convert, column.empty
    for index in indices:
        cell = cells[index]
        try:
            if cell is None or (cell.__class__ is str and not cell.strip()):
                value = empty()
            elif cell.__class__ is BadCell:
                raise ValidationError(cell.message)
            else:
                value = convert(cell)
        except ValidationError as error:
            errors[index] = _messages(error)
            value = None
        found.append(value)
    if kind is None:
        return found, errors
    try:
        stored = found if kind.to_storage is None else [kind.to_storage(v) for v in found]
        array = pa.array(stored, type=kind.storage)
    except _NOT_STORED:
        return found, errors
    if kind.to_python is None:
        if array.to_pylist() != found:
            return found, errors  # e.g. a float where an int was expected by a custom converter
    elif not all(map(_same, kind.to_python(array.to_pylist()), found)):
        return found, errors  # e.g. a fold or a time zone the text does not keep
    return array, errors


_NOT_STORED = (
    pa.ArrowInvalid,
    pa.ArrowTypeError,
    OverflowError,
    TypeError,
    ValueError,
    AttributeError,
)


def _same(got: Any, expected: Any) -> bool:
    """Whether ``got`` is exactly ``expected``: its type, value, time zone and fold."""
    return bool(
        got.__class__ is expected.__class__
        and got == expected
        and getattr(got, "tzinfo", None) is getattr(expected, "tzinfo", None)
        and getattr(got, "fold", 0) == getattr(expected, "fold", 0)
    )


def _stored(value: Any, kind: _Kind) -> pa.Scalar | None:
    """``value`` as a scalar of the kind's storage, or None if it would not come back
    exactly as the per-cell path's value."""
    try:
        stored = value if kind.to_storage is None else kind.to_storage(value)
        scalar = pa.scalar(stored, type=kind.storage)
    except _NOT_STORED:
        return None
    back = _python(pa.array([scalar.as_py()], kind.storage), kind)[0]
    return scalar if _same(back, value) else None


class _CellColumn:
    """A column the module does not know: the per-cell converter on every cell."""

    kind = None

    def __init__(self, column: _Column):
        self.column = column

    def convert(self, cells: list[Any]) -> tuple[Values, dict[int, str]]:
        return _per_cell(self.column, cells, range(len(cells)), None)


def _number_text(text: pa.Array, reading: ReadingOptions) -> pa.Array:
    """``reading.number_text`` of every cell of ``text``, in C."""
    thousands = reading.thousands_separator
    if thousands is not None:
        text = pc.replace_substring(text, thousands, "")
        if thousands == " ":  # spreadsheets group with no-break spaces too
            text = pc.replace_substring(text, "\u00a0", "")
            text = pc.replace_substring(text, "\u202f", "")
    decimal = reading.decimal_separator
    if decimal is not None and decimal != ".":
        text = pc.replace_substring(text, decimal, ".")
    return text


_NUMBER_KINDS = _INTEGER_KINDS | {"DecimalField", "FloatField"}


def compile_column(
    column: _Column,
    *,
    custom_converter: bool,
    custom_empty: bool,
    reading: ReadingOptions | None = None,
) -> _VectorColumn | _CellColumn:
    """Return the column-wise converter of one plan column."""
    target = column.mapping.target
    field = target.lookup if target.lookup is not None else target.field
    # Reading options apply column-wise: separators and null markers in _VectorColumn, extra
    # boolean words in the kind; date formats apply only after ISO 8601, which certain
    # cells are.
    kind = None if custom_converter else _kind_for(field, reading)
    if kind is None or (field.choices and kind.to_python is not None):
        # Choices of a kind kept as text (decimals, date-times, UUIDs) are values of another
        # type than the text: the per-cell path compares them.
        return _CellColumn(column)
    checks = _Checks.build(field, kind.storage)
    if checks is None:
        return _CellColumn(column)
    empty = _Empty(column, target.field, custom_empty)
    nulls = reading.nulls if reading is not None else frozenset()
    numbers = field.get_internal_type() in _NUMBER_KINDS
    return _VectorColumn(column, kind, checks, empty, nulls, reading if numbers else None)
