"""Field kinds of the column-wise conversion: the pattern of a certain cell, its Arrow cast.

A :class:`_Kind` says, for one field kind, which text cells convert certainly (a strict
pattern), how Arrow casts them to the kind's storage type, how a typed (XLSX) cell is taken
as it is, and how stored values become the per-cell path's Python values.
"""

from __future__ import annotations

import datetime
import decimal
import itertools
import json
import math
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
from django.db import models

from bulk_admin.conversion import moments
from bulk_admin.conversion.base import FALSE_VALUES, INTEGER_TYPES, TRUE_VALUES
from bulk_admin.conversion.text import EXCEL_FLOAT_FORMAT, _excel_float

if TYPE_CHECKING:
    from bulk_admin.reading import ReadingOptions

# Every character str.strip() removes (str.isspace): a cell made only of these is empty.
_PY_SPACE_CHARACTERS = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000"
)
# Text that the per-cell path keeps as it is: not blank (NUL characters are excluded apart).
_HAS_CONTENT = "[^%s]" % "".join("\\x{%x}" % ord(char) for char in _PY_SPACE_CHARACTERS)
_INTEGER = r"^-?[0-9]{1,18}$"
_FLOAT = r"^-?[0-9]{1,15}(?:\.[0-9]{1,15})?$"
_DATE = r"^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}$"
# A strict subset of what Django's EmailValidator accepts (dot-atoms, a dotted domain with
# an alphabetic top-level label); every other address is checked by the validator itself.
_EMAIL = (
    r"^[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
# A strict subset of what Django's URLValidator accepts: a default scheme, a dotted ASCII
# host name with an alphabetic top-level label, a port, a path of printable ASCII. With at
# most 253 characters in all (limits.py), the host name is within the validator's limit.
# Letters are listed in both cases: RE2's (?i) folds Unicode too ("httpſ" would match "https",
# which the validator refuses).
_URL = (
    r"^(?:[Hh][Tt][Tt][Pp][Ss]?|[Ff][Tt][Pp][Ss]?)://"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
    r"(?::[0-9]{1,5})?(?:/[!-~]*)?$"
)
_URL_LENGTH = 253
# What ipaddress.IPv4Address accepts: four decimal bytes, no leading zeros.
_IPV4_BYTE = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_IPV4 = r"^%s(?:\.%s){3}$" % (_IPV4_BYTE, _IPV4_BYTE)
_SLUG = r"^[-a-zA-Z0-9_]+$"
# A UUID as its 8-4-4-4-12 hexadecimal groups (any case): uuid.UUID reads it, and its text
# is the lower-case form str(uuid) gives.
_UUID = r"^[0-9A-Fa-f]{8}-(?:[0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}$"


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
        # The certain cells of a kind without a pattern (booleans): these words.
        self.words: pa.Array | None = None


def _as_is(array: pa.Array) -> pa.Array:
    return array


def _cast_integer(array: pa.Array) -> pa.Array:
    return pc.cast(array, pa.int64())


def _cast_float(array: pa.Array) -> pa.Array:
    return pc.cast(array, pa.float64())


def _boolean_kind(true_words: Sequence[str] = (), false_words: Sequence[str] = ()) -> _Kind:
    """The boolean kind, with the extra words of ``--true``/``--false`` if any.

    A certain cell is one of the words as given, in upper case or capitalized (ASCII words
    only: Arrow's lower case is Python's casefold for them), as the per-cell path reads them.
    """
    trues = TRUE_VALUES | {word.strip().casefold() for word in true_words}
    falses = FALSE_VALUES | {word.strip().casefold() for word in false_words}
    certain = sorted(
        {
            variant
            for word in trues | falses
            if word.isascii()
            for variant in (word, word.upper(), word.capitalize())
        }
    )
    true_set = pa.array(sorted(trues), pa.string())

    def cast(array: pa.Array) -> pa.Array:
        return pc.is_in(pc.utf8_lower(array), value_set=true_set)

    kind = _Kind("", pa.bool_(), cast, native=_native_boolean)
    kind.words = pa.array(certain, pa.string())
    return kind


_cast_date = moments.real_dates


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
    if kind.native is moments.native_datetime:
        return moments.native_datetimes(cells, classes)
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


def _uuids(values: list[Any]) -> list[Any]:
    return [None if value is None else uuid.UUID(value) for value in values]


def _uuid_text(value: Any) -> Any:
    return None if value is None else str(value)


# Field kind: pattern, cast, Python values, text of a Python value, typed cells.
_MOMENT_KINDS: dict[str, tuple[str, Any, Any, Any, Any]] = {
    "DateTimeField": (
        moments._DATETIME,
        moments.cast_datetime,
        moments.datetime_values,
        moments.datetime_text,
        moments.native_datetime,
    ),
    "TimeField": (
        moments._TIME,
        moments.cast_time,
        moments.time_values,
        moments.time_text,
        moments.native_time,
    ),
    "DurationField": (
        moments._DURATION,
        moments.cast_duration,
        moments.duration_values,
        moments.duration_text,
        None,
    ),
}


def _kind_for(field: models.Field, reading: ReadingOptions | None = None) -> _Kind | None:  # type: ignore[type-arg]
    kind = field.get_internal_type()
    if kind == "JSONField":
        plain = getattr(field, "encoder", None) is None and getattr(field, "decoder", None) is None
        if not plain or field.choices:
            return None
        # Kept as the file's text for COPY; parsed only when Python values are asked for.
        return _Kind(_JSON, pa.string(), _as_is, to_python=_json_values, to_storage=_json_text)
    if kind in _TEXT_KINDS or kind == "GenericIPAddressField":
        # An IP address field's validator keeps certain only IPv4 addresses (limits.py).
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
        if reading is None:
            return _boolean_kind()
        return _boolean_kind(reading.true_values, reading.false_values)
    if kind == "DateField":
        return _Kind(_DATE, pa.date32(), _cast_date, native=_native_date)
    if kind in _MOMENT_KINDS:
        # Kept as the text COPY is given for the per-cell path's values (moments.py).
        pattern, cast, to_python, to_storage, native = _MOMENT_KINDS[kind]
        return _Kind(
            pattern, pa.string(), cast, to_python=to_python, to_storage=to_storage, native=native
        )
    if kind == "UUIDField":
        return _Kind(_UUID, pa.string(), pc.utf8_lower, to_python=_uuids, to_storage=_uuid_text)
    return None
