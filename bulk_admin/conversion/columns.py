"""Column kinds of the column-wise conversion: patterns, Arrow casts and checks per field.

:func:`compile_column` decides, for one mapped column, whether Arrow kernels convert it (a
:class:`_VectorColumn`: a strict pattern picks the cells whose value is certain, the others go
through the per-cell converter) or the per-cell converter does it all (:class:`_CellColumn`).
"""

from __future__ import annotations

import datetime
import decimal
import itertools
import json
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
from django.core import validators as django_validators
from django.core.exceptions import ValidationError
from django.db import models

from bulk_admin.conversion.base import (
    FALSE_VALUES,
    INTEGER_TYPES,
    TRUE_VALUES,
    _messages,
)
from bulk_admin.conversion.text import EXCEL_FLOAT_FORMAT, _excel_float
from bulk_admin.results import BadCell

if TYPE_CHECKING:
    from bulk_admin.conversion.plan import _Column
    from bulk_admin.reading import ReadingOptions

# Every character str.strip() removes (str.isspace): a cell made only of these is empty.
_PY_SPACE = (
    "\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}"
    "\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}"
)
# Text that the per-cell path keeps as it is: not blank (NUL characters are excluded apart).
_HAS_CONTENT = "[^%s]" % _PY_SPACE
_INTEGER = r"^-?[0-9]{1,18}$"
_FLOAT = r"^-?[0-9]{1,15}(?:\.[0-9]{1,15})?$"
_DATE = r"^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}$"
# A strict subset of what Django's EmailValidator accepts (dot-atoms, a dotted domain with
# an alphabetic top-level label); every other address is checked by the validator itself.
_EMAIL = (
    r"^[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)


# JSON whose stored value is certain: an object or array (a top-level null would be SQL
# NULL) of strings without \\u escapes, integers and literals, nested three levels deep.
# PostgreSQL's jsonb stores such text exactly as it stores json.dumps(json.loads(text));
# a float is not certain: jsonb keeps "1.10", json.dumps(1.1) writes "1.1".
def _json_pattern() -> str:
    space = r"[ \t\n\r]*"
    string = r'"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt])*"'
    scalar = r"(?:%s|-?(?:0|[1-9][0-9]{0,17})|true|false|null)" % string
    value = scalar
    for _level in range(3):
        member = "%s%s:%s%s" % (string, space, space, value)
        obj = r"\{%s(?:%s(?:%s,%s%s)*)?%s\}" % (space, member, space, space, member, space)
        arr = r"\[%s(?:%s(?:%s,%s%s)*)?%s\]" % (space, value, space, space, value, space)
        top = "(?:%s|%s)" % (obj, arr)
        value = "(?:%s|%s)" % (scalar, top)
    return "^%s%s%s$" % (space, top, space)


_JSON = _json_pattern()
_TEXT_KINDS = frozenset({"CharField", "TextField", "SlugField", "EmailField"})
_INTEGER_KINDS = INTEGER_TYPES
_BOOLEAN_WORDS = frozenset(
    word for base in TRUE_VALUES | FALSE_VALUES for word in (base, base.upper(), base.capitalize())
)
_MISSING = object()


def _decimal_pattern(field: models.DecimalField) -> str:  # type: ignore[type-arg]
    whole = (field.max_digits or 0) - (field.decimal_places or 0)
    places = field.decimal_places or 0
    integer = "0" if whole <= 0 else "[0-9]{1,%d}" % whole
    if places <= 0:
        return "^-?%s$" % integer
    return r"^-?%s(?:\.[0-9]{1,%d})?$" % (integer, places)


class _Kind:
    """How one field kind is converted column-wise: pattern, Arrow type, Python values."""

    def __init__(
        self,
        pattern: str,
        storage: pa.DataType,
        cast: Callable[[pa.Array], pa.Array],
        to_python: Callable[[list[Any]], list[Any]] | None = None,
        to_storage: Callable[[Any], Any] | None = None,
        native: Callable[[Any], Any] | None = None,
    ):
        self.pattern = pattern
        self.storage = storage
        self.cast = cast
        self.to_python = to_python
        self.to_storage = to_storage
        # For a typed (XLSX) cell: the value the per-cell converter certainly gives, or None.
        self.native = native


def _as_is(array: pa.Array) -> pa.Array:
    return array


def _cast_integer(array: pa.Array) -> pa.Array:
    return pc.cast(array, pa.int64())


def _cast_float(array: pa.Array) -> pa.Array:
    return pc.cast(array, pa.float64())


def _cast_boolean(array: pa.Array) -> pa.Array:
    return pc.is_in(pc.utf8_lower(array), value_set=pa.array(sorted(TRUE_VALUES)))


def _cast_date(array: pa.Array) -> pa.Array:
    parsed = pc.cast(
        pc.strptime(array, format="%Y-%m-%d", unit="s", error_is_null=True), pa.date32()
    )
    # Arrow's strptime rolls 2024-02-30 over to March: keep only dates that print back as
    # given (a date's cast to text is ISO 8601, and far cheaper than strftime).
    same = pc.fill_null(pc.equal(pc.cast(parsed, pa.string()), array), False)
    return pc.if_else(same, parsed, None)


# Typed cells whose per-cell conversion is certain: an int (not a bool) or an integral float
# within what int64 and a float's mantissa hold for an integer field, a finite float for a
# float field, a bool for a boolean one, a date (not a datetime) for a date one.
def _native_integer(cell: Any) -> Any:
    if cell.__class__ is int:
        return cell if -(2**63) <= cell < 2**63 else None
    if cell.__class__ is float and cell.is_integer() and abs(cell) <= 2.0**53:
        return int(cell)
    return None


def _native_float(cell: Any) -> Any:
    return cell if cell.__class__ is float and math.isfinite(cell) else None


def _native_boolean(cell: Any) -> Any:
    return cell if cell.__class__ is bool else None


def _native_date(cell: Any) -> Any:
    return cell if cell.__class__ is datetime.date else None


def _native_decimal(cell: Any) -> Any:
    # The per-cell converter's text for a number cell, which the kind's pattern then checks
    # (an exponent, "nan" or "inf" fails it and goes per cell).
    if cell.__class__ is float:
        return _excel_float(cell)
    if cell.__class__ is int:
        return str(cell)
    return None


# The class of the typed cells each native function keeps as they are (a float if finite).
_NATIVE_CLASSES: dict[Callable[[Any], Any], type] = {
    _native_integer: int,
    _native_float: float,
    _native_boolean: bool,
    _native_date: datetime.date,
}
_NONE = type(None)
_EXCEL_FORMATS = itertools.repeat(EXCEL_FLOAT_FORMAT)  # format()'s second argument, forever


def _native_array(cells: list[Any], kind: _Kind) -> pa.Array | None:
    """The column's native values in one conversion in C, when its cells are all of the one
    class its native function keeps as they are (or empty), or all floats of a decimal
    column (the text Excel shows, as _native_decimal gives it); None otherwise."""
    classes = set(map(type, cells))
    classes.discard(_NONE)
    if kind.native is _native_decimal and classes == {float}:
        numbers = pa.array(cells, pa.float64())
        shown = pa.array(
            list(map(format, pc.fill_null(numbers, math.nan).to_pylist(), _EXCEL_FORMATS)),
            pa.string(),
        )
        return pc.if_else(pc.is_valid(numbers), shown, pa.scalar(None, pa.string()))
    wanted = _NATIVE_CLASSES.get(kind.native)  # type: ignore[arg-type]
    if wanted is None:
        return None
    if classes != {wanted}:
        return None  # bools among ints, datetimes among dates, floats among ints...
    try:
        values = pa.array(cells, type=kind.storage)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError, ValueError):
        return None  # an int beyond int64: per cell
    if wanted is float:
        values = pc.if_else(pc.is_finite(values), values, pa.scalar(None, kind.storage))
    return values


def _decimals(values: list[Any]) -> list[Any]:
    return [None if value is None else decimal.Decimal(value) for value in values]


def _decimal_text(value: Any) -> Any:
    return None if value is None else str(value)


def _json_values(values: list[Any]) -> list[Any]:
    return [None if value is None else json.loads(value) for value in values]


def _json_text(value: Any) -> Any:
    if value is None:
        return None
    text = json.dumps(value)
    if json.loads(text) != value:
        # NaN never equals itself: keep the per-cell path's own object for such a column.
        raise ValueError("not stored exactly as JSON text")
    return text


def _kind_for(field: models.Field) -> _Kind | None:  # type: ignore[type-arg]
    kind = field.get_internal_type()
    if kind == "JSONField":
        plain = getattr(field, "encoder", None) is None and getattr(field, "decoder", None) is None
        if not plain or field.choices:
            return None
        # Kept as the file's text for COPY; parsed only when Python values are asked for.
        return _Kind(_JSON, pa.string(), _as_is, to_python=_json_values, to_storage=_json_text)
    if kind in _TEXT_KINDS:
        return _Kind(_HAS_CONTENT, pa.string(), _as_is)
    if kind in _INTEGER_KINDS:
        return _Kind(_INTEGER, pa.int64(), _cast_integer, native=_native_integer)
    if kind == "DecimalField":
        assert isinstance(field, models.DecimalField)
        # Kept as the validated text: PostgreSQL reads it, Decimal() is built only on demand.
        return _Kind(
            _decimal_pattern(field),
            pa.string(),
            _as_is,
            to_python=_decimals,
            to_storage=_decimal_text,
            native=_native_decimal,
        )
    if kind == "FloatField":
        return _Kind(_FLOAT, pa.float64(), _cast_float, native=_native_float)
    if kind in ("BooleanField", "NullBooleanField"):
        return _Kind("", pa.bool_(), _cast_boolean, native=_native_boolean)
    if kind == "DateField":
        return _Kind(_DATE, pa.date32(), _cast_date, native=_native_date)
    return None


class _Checks:
    """The field's validators and choices as Arrow kernels, or None if one is unknown."""

    def __init__(self) -> None:
        self.max_length: int | None = None
        self.min_length: int | None = None
        self.max_value: Any = None
        self.min_value: Any = None
        self.email = False
        self.choices: pa.Array | None = None

    @classmethod
    def build(cls, field: models.Field, storage: pa.DataType) -> _Checks | None:  # type: ignore[type-arg]
        checks = cls()
        for validator in field.validators:
            kind = type(validator)
            limit = getattr(validator, "limit_value", None)
            if callable(limit):
                return None
            if kind is django_validators.MaxLengthValidator:
                checks.max_length = limit
            elif kind is django_validators.MinLengthValidator:
                checks.min_length = limit
            elif kind is django_validators.MaxValueValidator:
                checks.max_value = _tighter(checks.max_value, limit, min)
            elif kind is django_validators.MinValueValidator:
                checks.min_value = _tighter(checks.min_value, limit, max)
            elif kind is django_validators.ProhibitNullCharactersValidator:
                continue  # NUL characters never pass the patterns
            elif kind is django_validators.DecimalValidator:
                continue  # the pattern allows only digits and places the field holds
            elif kind is django_validators.EmailValidator and _is_default_email(validator):
                checks.email = True
            else:
                return None
        if (checks.max_value is not None or checks.min_value is not None) and not (
            pa.types.is_integer(storage) or pa.types.is_floating(storage)
        ):
            return None  # limits on decimals or dates: checked per cell
        if field.choices:
            keys = [key for key, _label in field.flatchoices]
            try:
                checks.choices = pa.array(keys, type=storage)
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
                return None
        return checks

    def failing(self, values: pa.Array) -> pa.Array | None:
        """Return a mask of the values failing a check (null values never fail)."""
        masks = []
        if self.max_length is not None or self.min_length is not None:
            length = pc.utf8_length(values)
            if self.max_length is not None:
                masks.append(pc.greater(length, self.max_length))
            if self.min_length is not None:
                masks.append(pc.less(length, self.min_length))
        if self.max_value is not None:
            masks.append(pc.greater(values, pa.scalar(self.max_value, type=values.type)))
        if self.min_value is not None:
            masks.append(pc.less(values, pa.scalar(self.min_value, type=values.type)))
        if self.email:
            masks.append(pc.invert(pc.match_substring_regex(values, _EMAIL)))
        if self.choices is not None:
            masks.append(pc.invert(pc.is_in(values, value_set=self.choices)))
        if not masks:
            return None
        mask = masks[0]
        for other in masks[1:]:
            mask = pc.or_(mask, other)
        return pc.fill_null(mask, False)


def _tighter(current: Any, limit: Any, pick: Callable[[Any, Any], Any]) -> Any:
    return limit if current is None else pick(current, limit)


def _is_default_email(validator: Any) -> bool:
    default = django_validators.validate_email
    return bool(
        validator.user_regex.pattern == default.user_regex.pattern
        and validator.domain_regex.pattern == default.domain_regex.pattern
        and list(validator.domain_allowlist) == list(default.domain_allowlist)
    )


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

    def __init__(self, column: _Column, kind: _Kind, checks: _Checks, empty: _Empty):
        self.column = column
        self.kind = kind
        self.checks = checks
        self.empty = empty

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
        if kind.pattern:
            certain = pc.match_substring_regex(text, kind.pattern)
        else:
            certain = pc.is_in(text, value_set=pa.array(sorted(_BOOLEAN_WORDS)))
        certain = pc.fill_null(certain, False)
        if kind.pattern is _HAS_CONTENT:
            certain = pc.and_(
                certain, pc.invert(pc.fill_null(pc.match_substring(text, "\x00"), True))
            )
        values = kind.cast(pc.if_else(certain, text, pa.scalar(None, pa.string())))
        certain = pc.and_(certain, pc.is_valid(values))
        failing = self.checks.failing(values)
        if failing is not None:
            certain = pc.and_(certain, pc.invert(failing))
        values = pc.if_else(certain, values, pa.scalar(None, kind.storage))
        errors: dict[int, str] = {}
        uncertain = pc.invert(certain)
        if self.empty.constant:
            blank = pc.fill_null(pc.equal(text, ""), True)
            if self.empty.message is not None:
                for index in pc.indices_nonzero(blank).to_pylist():
                    errors[index] = self.empty.message
            elif self.empty.value is not None:
                value = self.empty.value
                if kind.to_storage is not None:
                    value = kind.to_storage(value)
                values = pc.if_else(blank, pa.scalar(value, type=kind.storage), values)
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
        if kind.storage == pa.string() and kind.pattern:
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
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError, ValueError):
        return found, errors
    if kind.to_python is None and array.to_pylist() != found:
        return found, errors  # e.g. a float where an int was expected by a custom converter
    return array, errors


class _CellColumn:
    """A column the module does not know: the per-cell converter on every cell."""

    kind = None

    def __init__(self, column: _Column):
        self.column = column

    def convert(self, cells: list[Any]) -> tuple[Values, dict[int, str]]:
        return _per_cell(self.column, cells, range(len(cells)), None)


def _read_as_is(field: models.Field, reading: ReadingOptions) -> bool:  # type: ignore[type-arg]
    """Return True if ``reading`` leaves the certain cells of ``field`` as they are.

    Null markers may stand in any column, separators change numbers, extra words change
    booleans: such columns keep the per-cell path. Date formats apply only after ISO 8601,
    which the certain cells are.
    """
    if reading.nulls:
        return False
    kind = field.get_internal_type()
    if reading.reads_numbers and (
        kind in _INTEGER_KINDS or kind in ("DecimalField", "FloatField")
    ):
        return False
    return not (
        (reading.true_values or reading.false_values)
        and kind in ("BooleanField", "NullBooleanField")
    )


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
    kind = None if custom_converter else _kind_for(field)
    if reading is not None and not _read_as_is(field, reading):
        kind = None
    if kind is None or field.get_internal_type() == "GenericIPAddressField":
        return _CellColumn(column)
    checks = _Checks.build(field, kind.storage)
    if checks is None:
        return _CellColumn(column)
    return _VectorColumn(column, kind, checks, _Empty(column, target.field, custom_empty))
