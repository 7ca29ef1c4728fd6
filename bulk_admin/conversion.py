"""Stage 3, convert: cells to typed values with the model fields' own rules.

One converter per mapped column is compiled once per import. It follows the semantics of
the field's ``to_python`` and validators (max_length, choices, decimal places, ranges, email,
URL, null/blank) and also accepts what spreadsheets produce: typed date cells, ``3.0`` for an
integer, a number in a text column. ``full_clean()`` and ``save()`` are never called.

A :class:`Plan` turns a chunk of source rows into complete rows for the sinks: mapped values
converted, foreign keys resolved with one query per related model per chunk, and defaults,
callable defaults and ``auto_now``/``auto_now_add`` filled in.
"""

from __future__ import annotations

import datetime
import decimal
import json
import math
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field as dataclass_field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connections, models
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime, parse_duration, parse_time
from django.utils.formats import get_format
from django.utils.translation import gettext as _

from bulk_admin.conf import conf
from bulk_admin.mapping import ColumnMapping, FileMapping, Target
from bulk_admin.reading import ReadingOptions
from bulk_admin.results import BadCell, RowError
from bulk_admin.sources import Row

Converter = Callable[[Any], Any]
ConvertedRow = tuple[int, list[Any]]

_PLAIN = ReadingOptions()
# The internal types of Django's integer fields, auto fields included.
INTEGER_TYPES = frozenset(
    {
        "IntegerField",
        "BigIntegerField",
        "SmallIntegerField",
        "PositiveIntegerField",
        "PositiveBigIntegerField",
        "PositiveSmallIntegerField",
        "AutoField",
        "BigAutoField",
        "SmallAutoField",
    }
)
TRUE_VALUES = frozenset({"true", "t", "yes", "y", "1", "on", "x"})
FALSE_VALUES = frozenset({"false", "f", "no", "n", "0", "off"})
_MAX_SHOWN_VALUE = 200
# IN lists are split so that no backend's parameter limit (SQLite: 999) is reached.
_LOOKUP_BATCH = 900


class _Empty(Exception):
    """Internal: the cell is empty; the column's empty rule applies."""


def _invalid(field: models.Field, code: str, value: Any) -> ValidationError:  # type: ignore[type-arg]
    message = field.error_messages.get(code) or field.error_messages["invalid"]
    return ValidationError(message, code=code, params={"value": value})


def display_value(cell: Any) -> str | None:
    """Return ``cell`` as the user saw it, shortened for reports."""
    if cell is None:
        return None
    if isinstance(cell, float) and cell.is_integer():
        text = str(int(cell))
    elif isinstance(cell, (datetime.date, datetime.time)):
        text = cell.isoformat()
    else:
        text = str(cell)
    if len(text) > _MAX_SHOWN_VALUE:
        text = text[: _MAX_SHOWN_VALUE - 1] + "…"
    if "\x00" in text:
        # Shown as the symbol for NUL: no database text column stores the character itself.
        text = text.replace("\x00", "\u2400")
    return text


# --- converters per kind of field --------------------------------------------------------


def _number_text(value: float | int) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return _excel_float(value) if isinstance(value, float) else str(value)


def _excel_float(value: float) -> str:
    """Return a number cell as Excel shows it: 15 significant digits at most.

    Excel computes and shows 15 digits; the file holds the full double, so a price
    computed as ``=10*1.1`` is stored as 11.000000000000002 and shown as 11.
    """
    return format(value, ".15g")


def _text_converter(field: models.Field, reading: ReadingOptions = _PLAIN) -> Converter:  # type: ignore[type-arg]
    def convert(value: Any) -> str:
        if isinstance(value, str):
            text = value
        elif isinstance(value, bool):
            text = "TRUE" if value else "FALSE"
        elif isinstance(value, (int, float)):
            # Spreadsheets store 12345 as 12345.0; the user typed 12345.
            text = _number_text(value)
        elif isinstance(value, (datetime.date, datetime.time)):
            text = value.isoformat()
        else:
            text = str(value)
        if "\x00" in text:
            raise ValidationError(
                _("The cell contains a NUL character, which the database cannot store.")
            )
        return text

    return convert


# Integer fields hold at most 20 digits on every database; a number far past that is
# refused before Python builds it (int("1e999999999") would need gigabytes and minutes).
_MAX_INTEGER_EXPONENT = 40


def _out_of_range(field: models.Field, value: Any, negative: bool) -> ValidationError:  # type: ignore[type-arg]
    """Return the error of a number too large for any integer column of ``field``."""
    from django.core import validators as django_validators

    probe = -(10**_MAX_INTEGER_EXPONENT) if negative else 10**_MAX_INTEGER_EXPONENT
    for validator in field.validators:
        if isinstance(
            validator, (django_validators.MaxValueValidator, django_validators.MinValueValidator)
        ):
            try:
                validator(probe)
            except ValidationError as error:
                return error
    return _invalid(field, "invalid", value)


def _integer_converter(field: models.Field, reading: ReadingOptions = _PLAIN) -> Converter:  # type: ignore[type-arg]
    numbers = reading.reads_numbers

    def convert(value: Any) -> int:
        if isinstance(value, bool):
            raise _invalid(field, "invalid", value)
        if isinstance(value, int):
            return value
        if isinstance(value, float):
            if not math.isfinite(value):
                raise _invalid(field, "invalid", _number_text(value))
            if value.is_integer():
                if abs(value) >= 10.0**_MAX_INTEGER_EXPONENT:
                    raise _out_of_range(field, _number_text(value), value < 0)
                return int(value)
            shown = decimal.Decimal(_excel_float(value))
            if shown.is_finite() and shown == shown.to_integral_value():
                return int(shown)
            raise _invalid(field, "invalid", _number_text(value))
        text = str(value).strip()
        if numbers:
            text = reading.number_text(text)
        if len(text) <= _MAX_INTEGER_EXPONENT:
            try:
                return int(text)
            except ValueError:
                pass
        # "6001.0" as exported by spreadsheets from a number cell; parsing a Decimal takes
        # time linear in the text, whatever its exponent.
        try:
            number = decimal.Decimal(text)
        except decimal.InvalidOperation:
            raise _invalid(field, "invalid", value) from None
        if not number.is_finite():
            raise _invalid(field, "invalid", value)
        if number.adjusted() >= _MAX_INTEGER_EXPONENT:
            raise _out_of_range(field, value, number < 0)
        if number == number.to_integral_value():
            return int(number)
        raise _invalid(field, "invalid", value)

    return convert


def _decimal_converter(field: models.Field, reading: ReadingOptions = _PLAIN) -> Converter:  # type: ignore[type-arg]
    numbers = reading.reads_numbers

    def convert(value: Any) -> decimal.Decimal:
        if isinstance(value, decimal.Decimal):
            number = value
        elif isinstance(value, bool):
            raise _invalid(field, "invalid", value)
        elif isinstance(value, int):
            number = decimal.Decimal(value)
        elif isinstance(value, float):
            # 19.99, not 19.989999999...; 11, not 11.000000000000002 (see _excel_float).
            number = decimal.Decimal(_excel_float(value))
        else:
            try:
                text = str(value).strip()
                number = decimal.Decimal(reading.number_text(text) if numbers else text)
            except decimal.InvalidOperation:
                raise _invalid(field, "invalid", value) from None
        if not number.is_finite():
            raise _invalid(field, "invalid", value)
        return number

    return convert


def _float_converter(field: models.Field, reading: ReadingOptions = _PLAIN) -> Converter:  # type: ignore[type-arg]
    numbers = reading.reads_numbers

    def convert(value: Any) -> float:
        if isinstance(value, bool):
            raise _invalid(field, "invalid", value)
        text = None if isinstance(value, (int, float)) else str(value).strip()
        if numbers and text is not None:
            text = reading.number_text(text)
        try:
            number = float(value) if text is None else float(text)
        except (ValueError, OverflowError):
            raise _invalid(field, "invalid", value) from None
        # inf and NaN are not numbers a spreadsheet holds, and MySQL cannot store them.
        if not math.isfinite(number):
            if text is not None and text.lstrip("+-")[:1].isdigit():
                raise _float_range(value)
            raise _invalid(field, "invalid", value)
        if number == 0.0 and text is not None and any(c in "123456789" for c in _mantissa(text)):
            raise _float_range(value)  # "1e-999999" is not zero; it cannot be stored
        return number

    return convert


def _mantissa(text: str) -> str:
    return text.lower().partition("e")[0]


def _float_range(value: Any) -> ValidationError:
    return ValidationError(
        _("“%(value)s” is outside the range of numbers a float column can hold.")
        % {"value": display_value(value)},
        code="invalid",
    )


def _boolean_converter(field: models.Field, reading: ReadingOptions = _PLAIN) -> Converter:  # type: ignore[type-arg]
    code = "invalid_nullable" if field.null else "invalid"
    true_values = TRUE_VALUES | {word.strip().casefold() for word in reading.true_values}
    false_values = FALSE_VALUES | {word.strip().casefold() for word in reading.false_values}

    def convert(value: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)):
            if value in (0, 1):
                return bool(value)
            raise _invalid(field, code, _number_text(value))
        text = str(value).strip().casefold()
        if text in true_values:
            return True
        if text in false_values:
            return False
        raise _invalid(field, code, value)

    return convert


def _parse_with_formats(
    text: str, formats_name: str, formats: Sequence[str] = ()
) -> datetime.datetime | None:
    """Parse ``text`` with ``formats``, or the active language's ``formats_name`` formats."""
    for fmt in formats or get_format(formats_name):
        try:
            return datetime.datetime.strptime(text, fmt)
        except (ValueError, TypeError):
            continue
    return None


def _date_converter(field: models.Field, reading: ReadingOptions = _PLAIN) -> Converter:  # type: ignore[type-arg]
    def convert(value: Any) -> datetime.date:
        if isinstance(value, datetime.datetime):
            if timezone.is_aware(value):
                try:
                    return timezone.localtime(value).date()
                except OverflowError:
                    raise _date_range(value) from None
            return value.date()
        if isinstance(value, datetime.date):
            return value
        text = str(value).strip()
        try:
            parsed = parse_date(text)
        except ValueError:
            raise _invalid(field, "invalid_date", value) from None
        if parsed is not None:
            return parsed
        fallback = _parse_with_formats(text, "DATE_INPUT_FORMATS", reading.date_formats)
        if fallback is not None:
            return fallback.date()
        raise _invalid(field, "invalid", value)

    return convert


def _date_range(original: Any) -> ValidationError:
    return ValidationError(
        _("“%(value)s” is outside the range of dates the database can store.")
        % {"value": display_value(original)},
        code="invalid",
    )


def _aware(value: datetime.datetime, field: models.Field, original: Any) -> datetime.datetime:  # type: ignore[type-arg]
    try:
        value = _zoned(value, field, original)
        if value.year in (1, 9999) and value.tzinfo is not None:
            # Stored in UTC: 0001-01-01 00:00 in Paris is in year 0, which no Python date holds.
            value.astimezone(datetime.timezone.utc)
    except OverflowError:
        raise _date_range(original) from None
    return value


def _zoned(value: datetime.datetime, field: models.Field, original: Any) -> datetime.datetime:  # type: ignore[type-arg]
    if settings.USE_TZ and timezone.is_naive(value):
        zone = timezone.get_current_timezone()
        # A wall-clock time that does not exist or is ambiguous at a DST change: zoneinfo
        # raises nothing, it would silently shift the first and pick one of the second.
        if zone.utcoffset(value) != zone.utcoffset(value.replace(fold=1 - value.fold)):
            raise ValidationError(
                _("“%(value)s” does not exist or is ambiguous in the time zone %(zone)s.")
                % {"value": original, "zone": timezone.get_current_timezone_name()}
            )
        return timezone.make_aware(value, zone)
    if not settings.USE_TZ and timezone.is_aware(value):
        return timezone.make_naive(value)
    return value


def _datetime_converter(field: models.Field, reading: ReadingOptions = _PLAIN) -> Converter:  # type: ignore[type-arg]
    def convert(value: Any) -> datetime.datetime:
        if isinstance(value, datetime.datetime):
            return _aware(value, field, value)
        if isinstance(value, datetime.date):
            return _aware(datetime.datetime(value.year, value.month, value.day), field, value)
        text = str(value).strip()
        try:
            parsed = parse_datetime(text)
        except ValueError:
            raise _invalid(field, "invalid_datetime", value) from None
        if parsed is None:
            try:
                day = parse_date(text)
            except ValueError:
                raise _invalid(field, "invalid_date", value) from None
            if day is not None:
                parsed = datetime.datetime(day.year, day.month, day.day)
        if parsed is None:
            parsed = _parse_with_formats(text, "DATETIME_INPUT_FORMATS", reading.datetime_formats)
        if parsed is None and reading.date_formats:
            parsed = _parse_with_formats(text, "DATE_INPUT_FORMATS", reading.date_formats)
        if parsed is None:
            raise _invalid(field, "invalid", value)
        return _aware(parsed, field, value)

    return convert


def _time_converter(field: models.Field, reading: ReadingOptions = _PLAIN) -> Converter:  # type: ignore[type-arg]
    def convert(value: Any) -> datetime.time:
        if isinstance(value, datetime.datetime):
            return value.time()
        if isinstance(value, datetime.time):
            return value
        text = str(value).strip()
        try:
            parsed = parse_time(text)
        except ValueError:
            raise _invalid(field, "invalid_time", value) from None
        if parsed is None:
            raise _invalid(field, "invalid", value)
        return parsed

    return convert


def _duration_converter(field: models.Field, reading: ReadingOptions = _PLAIN) -> Converter:  # type: ignore[type-arg]
    def convert(value: Any) -> datetime.timedelta:
        if isinstance(value, datetime.timedelta):
            return _duration_in_range(value, value)
        if isinstance(value, datetime.time):
            return datetime.timedelta(
                hours=value.hour,
                minutes=value.minute,
                seconds=value.second,
                microseconds=value.microsecond,
            )
        try:
            parsed = parse_duration(str(value).strip())
        except (OverflowError, ValueError):
            parsed = None
        if parsed is None:
            raise _invalid(field, "invalid", value)
        return _duration_in_range(parsed, value)

    return convert


# Durations are stored as a 64-bit count of microseconds outside PostgreSQL.
_MAX_DURATION_MICROSECONDS = 2**63 - 1


def _duration_in_range(duration: datetime.timedelta, original: Any) -> datetime.timedelta:
    if abs(duration // datetime.timedelta(microseconds=1)) > _MAX_DURATION_MICROSECONDS:
        raise ValidationError(
            _("“%(value)s” is longer than the database can store.")
            % {"value": display_value(original)},
            code="invalid",
        )
    return duration


def _uuid_converter(field: models.Field, reading: ReadingOptions = _PLAIN) -> Converter:  # type: ignore[type-arg]
    def convert(value: Any) -> uuid.UUID:
        if isinstance(value, uuid.UUID):
            return value
        try:
            return uuid.UUID(str(value).strip())
        except ValueError:
            raise _invalid(field, "invalid", value) from None

    return convert


def _json_converter(field: models.Field, reading: ReadingOptions = _PLAIN) -> Converter:  # type: ignore[type-arg]
    decoder = getattr(field, "decoder", None)

    def convert(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value, cls=decoder)
        except ValueError:
            raise ValidationError(
                _("“%(value)s” is not valid JSON.") % {"value": display_value(value)}
            ) from None

    return convert


def _generic_converter(field: models.Field, reading: ReadingOptions = _PLAIN) -> Converter:  # type: ignore[type-arg]
    return field.to_python


_BY_TYPE: dict[str, Callable[[models.Field, ReadingOptions], Converter]] = {  # type: ignore[type-arg]
    "CharField": _text_converter,
    "TextField": _text_converter,
    "SlugField": _text_converter,
    "EmailField": _text_converter,
    "URLField": _text_converter,
    "FilePathField": _text_converter,
    "GenericIPAddressField": _text_converter,
    "IntegerField": _integer_converter,
    "BigIntegerField": _integer_converter,
    "SmallIntegerField": _integer_converter,
    "PositiveIntegerField": _integer_converter,
    "PositiveBigIntegerField": _integer_converter,
    "PositiveSmallIntegerField": _integer_converter,
    "AutoField": _integer_converter,
    "BigAutoField": _integer_converter,
    "SmallAutoField": _integer_converter,
    "DecimalField": _decimal_converter,
    "FloatField": _float_converter,
    "BooleanField": _boolean_converter,
    "NullBooleanField": _boolean_converter,
    "DateField": _date_converter,
    "DateTimeField": _datetime_converter,
    "TimeField": _time_converter,
    "DurationField": _duration_converter,
    "UUIDField": _uuid_converter,
    "JSONField": _json_converter,
}


def _is_text(field: models.Field) -> bool:  # type: ignore[type-arg]
    return _BY_TYPE.get(field.get_internal_type()) is _text_converter


def build_converter(
    field: models.Field,  # type: ignore[type-arg]
    base: Converter | None = None,
    reading: ReadingOptions = _PLAIN,
) -> Converter:
    """Return a function converting one non-empty cell for ``field``.

    It returns the Python value or raises ValidationError; validators and choices of
    ``field`` run on the result. ``base`` replaces the built-in conversion; ``reading`` says
    how dates, numbers and booleans are written.
    """
    factory = _BY_TYPE.get(field.get_internal_type(), _generic_converter)
    if base is None:
        base = factory(field, reading)
    validators = list(field.validators)
    choices = None
    if field.choices:
        choices = {key for key, _label in field.flatchoices}
    is_text = factory is _text_converter
    if is_text and field.get_internal_type() == "GenericIPAddressField":
        base = _chain(base, field.to_python)
    if not validators and choices is None:
        return base
    inline = _inline_validators(validators)
    empty_values = field.empty_values

    def convert(value: Any) -> Any:
        result = base(value)
        if choices is not None and result not in choices:
            raise ValidationError(
                field.error_messages["invalid_choice"],
                code="invalid_choice",
                params={"value": result},
            )
        if inline is not None:
            if inline(result):
                # A limit is crossed: Django's validators raise the field's own message.
                field.run_validators(result)
        elif result or result not in empty_values:
            # The validators directly; run_validators (which maps codes to the field's
            # messages) only once one fails.
            try:
                for validator in validators:
                    validator(result)
            except ValidationError:
                field.run_validators(result)
                raise
        return result

    return convert


def _longer_than(limit: Any) -> Callable[[Any], bool]:
    return lambda value: len(value) > limit


def _shorter_than(limit: Any) -> Callable[[Any], bool]:
    return lambda value: len(value) < limit


def _above(limit: Any) -> Callable[[Any], bool]:
    return lambda value: bool(value > limit)


def _below(limit: Any) -> Callable[[Any], bool]:
    return lambda value: bool(value < limit)


def _inline_validators(validators: list[Any]) -> Callable[[Any], bool] | None:
    """Return a cheap "may fail" test equivalent to ``validators``, or None if there is none.

    max_length and min/max value validators (what most fields carry) become plain
    comparisons, evaluated for every cell of a file of millions; the validators themselves
    run only for a value that crosses a limit, to raise their translated message.
    """
    from django.core import validators as django_validators

    tests: list[Callable[[Any], bool]] = []
    for validator in validators:
        limit = getattr(validator, "limit_value", None)
        if limit is None or callable(limit):
            return None
        kind = type(validator)
        if kind is django_validators.MaxLengthValidator:
            tests.append(_longer_than(limit))
        elif kind is django_validators.MinLengthValidator:
            tests.append(_shorter_than(limit))
        elif kind is django_validators.MaxValueValidator:
            tests.append(_above(limit))
        elif kind is django_validators.MinValueValidator:
            tests.append(_below(limit))
        else:
            return None
    if len(tests) == 1:
        return tests[0]
    if len(tests) == 2:
        first, second = tests
        return lambda value: first(value) or second(value)
    return lambda value: any(test(value) for test in tests)


def _with_null_markers(
    convert: Converter, empty: Callable[[], Any], nulls: frozenset[str]
) -> Converter:
    """Return ``convert`` reading a cell equal to a null marker as an empty cell."""

    def read(value: Any) -> Any:
        if value.__class__ is str and value.strip() in nulls:
            return empty()
        return convert(value)

    return read


def _chain(first: Converter, second: Converter) -> Converter:
    def convert(value: Any) -> Any:
        return second(first(value))

    return convert


def empty_rule(field: models.Field) -> Callable[[], Any]:  # type: ignore[type-arg]
    """Return a function giving the value of an empty cell, or raising ValidationError.

    Empty means NULL for nullable fields, ``""`` for text fields that may be blank, and the
    field's default for a field that has one.
    """
    if field.null:
        return lambda: None
    if field.has_default():
        return field.get_default
    if field.blank and (_is_text(field) or field.empty_strings_allowed):
        return lambda: ""

    def refuse() -> Any:
        raise ValidationError(field.error_messages["blank"], code="blank")

    return refuse


def _messages(error: ValidationError) -> str:
    return " ".join(str(message) for message in error.messages)


# --- the plan ----------------------------------------------------------------------------


@dataclass(slots=True)
class _Column:
    position: int  # in the written row
    mapping: ColumnMapping
    convert: Converter
    empty: Callable[[], Any]


@dataclass(slots=True)
class _Fill:
    position: int
    field: models.Field  # type: ignore[type-arg]
    value: Any = None
    call: Callable[[], Any] | None = None


@dataclass(slots=True)
class _Relation:
    position: int
    column: ColumnMapping


@dataclass
class Chunk:
    """Converted rows of one chunk, and the errors found in it so far."""

    rows: list[ConvertedRow] = dataclass_field(default_factory=list)
    errors: list[RowError] = dataclass_field(default_factory=list)
    invalid: int = 0
    skipped: int = 0
    plan: Plan | None = None
    """The plan that converted the rows: ``plan.fields`` names the values of each row."""

    def __len__(self) -> int:
        return len(self.rows)

    def reject(
        self,
        row_number: int,
        message: str,
        *,
        column: str | None = None,
        field: str | None = None,
        value: Any = None,
    ) -> None:
        """Move row ``row_number`` out of the valid rows, reporting ``message`` for it."""
        before = len(self.rows)
        self.rows = [row for row in self.rows if row[0] != row_number]
        if len(self.rows) != before:
            self.invalid += 1
        self.errors.append(
            RowError(
                row=row_number,
                column=column,
                field=field,
                value=display_value(value),
                message=message,
            )
        )

    def skip(self, *row_numbers: int) -> None:
        """Move rows ``row_numbers`` out of the valid rows unwritten; count them skipped."""
        skipped = set(row_numbers)
        before = len(self.rows)
        self.rows = [row for row in self.rows if row[0] not in skipped]
        self.skipped += before - len(self.rows)


class Plan:
    """Compiled conversion of one mapping; turns source rows into complete rows.

    ``fields`` lists the model fields of every written row, in order: the mapped fields,
    then the fields filled from defaults and ``auto_now``/``auto_now_add``. An unmapped
    auto-incremented primary key is left to the database.
    """

    def __init__(
        self,
        mapping: FileMapping,
        *,
        using: str,
        now: datetime.datetime | None = None,
        converters: Mapping[str, Converter] | None = None,
        empty_cells: Mapping[str, Callable[[], Any]] | None = None,
        reading: ReadingOptions | None = None,
        columnar: bool = True,
    ):
        self.mapping = mapping
        self.model = mapping.model
        self.using = using
        self.now = now or timezone.now()
        self.columns: list[_Column] = []
        self.relations: list[_Relation] = []
        self.prefetched: dict[int, dict[Any, Any]] = {}
        # {position: {lookup value: key}} found by earlier chunks (see related_keys).
        self._related_found: dict[int, dict[Any, Any]] = {}
        self.fields: list[models.Field] = []  # type: ignore[type-arg]
        self.mapped_fields: list[models.Field] = []  # type: ignore[type-arg]
        self.auto_now_fields: list[models.Field] = []  # type: ignore[type-arg]
        self.reading = reading = reading or _PLAIN
        nulls = reading.nulls
        fills: list[_Fill] = []
        for column in mapping.columns:
            target = column.target
            value_field = target.lookup if target.lookup is not None else target.field
            position = len(self.fields)
            self.fields.append(target.field)
            self.mapped_fields.append(target.field)
            empty = (empty_cells or {}).get(target.field.name) or empty_rule(target.field)
            convert = build_converter(
                value_field, (converters or {}).get(target.field.name), reading
            )
            if nulls:
                convert = _with_null_markers(convert, empty, nulls)
            self.columns.append(
                _Column(position=position, mapping=column, convert=convert, empty=empty)
            )
            if target.is_relation:
                self.relations.append(_Relation(position=position, column=column))
        mapped = {field.name for field in self.fields}
        for field in self.model._meta.concrete_fields:
            if field.name in mapped or getattr(field, "generated", False):
                continue
            auto_now = getattr(field, "auto_now", False)
            auto_now_add = getattr(field, "auto_now_add", False)
            if auto_now or auto_now_add:
                now = (
                    self.now
                    if timezone.is_naive(self.now)
                    or field.get_internal_type() != "DateTimeField"
                    or settings.USE_TZ
                    else timezone.make_naive(self.now)
                )
                value: Any = now
                if field.get_internal_type() == "DateField":
                    value = timezone.localdate(self.now) if settings.USE_TZ else self.now.date()
                elif field.get_internal_type() == "TimeField":
                    value = (timezone.localtime(self.now) if settings.USE_TZ else self.now).time()
                fill = _Fill(position=len(self.fields), field=field, value=value)
                if auto_now:
                    self.auto_now_fields.append(field)
            elif field.primary_key and not field.has_default():
                continue  # the database numbers the rows
            elif field.has_default():
                if callable(field.default):
                    fill = _Fill(position=len(self.fields), field=field, call=field.get_default)
                else:
                    fill = _Fill(position=len(self.fields), field=field, value=field.get_default())
            elif getattr(field, "db_default", models.NOT_PROVIDED) is not models.NOT_PROVIDED:
                continue  # the database fills it
            elif field.null:
                fill = _Fill(position=len(self.fields), field=field, value=None)
            else:
                fill = _Fill(position=len(self.fields), field=field, value=field.get_default())
            self.fields.append(field)
            fills.append(fill)
        self._constant_fills = [(f.position, f.value) for f in fills if f.call is None]
        self._callable_fills = [(f.position, f.call) for f in fills if f.call is not None]
        self.width = len(self.fields)
        self.columnar: Any = None
        if columnar:
            from bulk_admin.columnar import ColumnarPlan

            self.columnar = ColumnarPlan(self, converters=converters, empty_cells=empty_cells)

    @property
    def attnames(self) -> list[str]:
        return [field.attname for field in self.fields]

    @property
    def writes_primary_key(self) -> bool:
        return any(field.primary_key for field in self.mapped_fields)

    def convert(self, rows: Sequence[Row]) -> Chunk:
        """Convert ``rows`` and resolve their foreign keys; return the chunk."""
        if self.columnar is not None:
            return self.columnar.convert(rows)  # type: ignore[no-any-return]
        return self.convert_cells(rows)

    def convert_cells(self, rows: Sequence[Row]) -> Chunk:
        """Convert ``rows`` cell by cell (the reference the column-wise path matches)."""
        chunk = Chunk(plan=self)
        width = self.width
        template = [None] * width
        for position, value in self._constant_fills:
            template[position] = value
        callable_fills = self._callable_fills
        columns = self.columns
        ok_rows = chunk.rows
        for row_number, cells in rows:
            values = list(template)
            row_errors: list[RowError] | None = None
            ncells = len(cells)
            for column in columns:
                index = column.mapping.index
                cell = cells[index] if index < ncells else None
                try:
                    if cell is None or (cell.__class__ is str and not cell.strip()):
                        values[column.position] = column.empty()
                    elif cell.__class__ is BadCell:
                        raise ValidationError(cell.message)
                    else:
                        values[column.position] = column.convert(cell)
                except ValidationError as error:
                    if row_errors is None:
                        row_errors = []
                    row_errors.append(
                        RowError(
                            row=row_number,
                            column=column.mapping.header,
                            field=column.mapping.target.path,
                            value=display_value(cell),
                            message=_messages(error),
                        )
                    )
            if row_errors is not None:
                chunk.errors.extend(row_errors)
                chunk.invalid += 1
                continue
            for position, call in callable_fills:
                values[position] = call()
            ok_rows.append((row_number, values))
        if self.relations and chunk.rows:
            self._resolve_relations(chunk)
        return chunk

    def prefetch_relations(self, limit: int) -> bool:
        """Load every relation's ``{lookup value: key}`` once, if each related table is small.

        Return False (and load nothing) when a related table has more than ``limit`` rows.
        After a prefetch, converting a chunk runs no query: what a streamed ``COPY``, which
        holds the connection, needs.
        """
        loaded: dict[int, dict[Any, Any]] = {}
        for relation in self.relations:
            target = relation.column.target
            related = target.field.related_model
            assert target.lookup is not None
            assert related is not None and not isinstance(related, str)
            manager = related._base_manager.db_manager(self.using)
            if manager.count() > limit:
                return False
            field = target.field
            assert isinstance(field, models.ForeignObject)
            loaded[relation.position] = dict(
                manager.values_list(target.lookup.attname, field.target_field.attname)
            )
        self.prefetched = loaded
        return True

    def related_keys(self, position: int, target: Target, wanted: Iterable[Any]) -> dict[Any, Any]:
        """Return ``{lookup value: key}`` covering the ``wanted`` values that exist.

        Prefetched keys, or the keys found by earlier chunks of this import plus one lookup of
        the values not seen yet: the names of a related table repeat from chunk to chunk
        (issue 9). Values not found are looked up again by the next chunk that holds them;
        at most ``BULK_ADMIN_PREFETCH_LIMIT`` keys per relation are remembered.
        """
        if position in self.prefetched:
            return self.prefetched[position]
        known = self._related_found.setdefault(position, {})
        new = [value for value in wanted if value not in known]
        if not new:
            return known
        found = lookup_related(target, new, self.using)
        if len(known) + len(found) > conf.PREFETCH_LIMIT:
            return {**known, **found}
        known.update(found)
        return known

    def _resolve_relations(self, chunk: Chunk) -> None:
        """Replace looked-up values by related keys; one query per relation per chunk."""
        connection = connections[self.using]
        fold = connection.vendor == "mysql"  # MySQL collations compare case-insensitively
        bad_rows: dict[int, list[RowError]] = {}
        for relation in self.relations:
            target: Target = relation.column.target
            assert target.lookup is not None
            position = relation.position
            if position in self.prefetched:
                found = self.prefetched[position]
            else:
                wanted = {
                    values[position] for _row, values in chunk.rows if values[position] is not None
                }
                if not wanted:
                    continue
                found = self.related_keys(position, target, wanted)
            folded = {}
            if fold:
                folded = {
                    (key.casefold() if isinstance(key, str) else key): value
                    for key, value in found.items()
                }
            for row_number, values in chunk.rows:
                key = values[position]
                if key is None:
                    continue
                try:
                    values[position] = found[key]
                except KeyError:
                    folded_key = key.casefold() if fold and isinstance(key, str) else None
                    if folded_key is not None and folded_key in folded:
                        values[position] = folded[folded_key]
                        continue
                    bad_rows.setdefault(row_number, []).append(
                        missing_related(relation.column, row_number, key)
                    )
        if bad_rows:
            chunk.rows = [(row, values) for row, values in chunk.rows if row not in bad_rows]
            for errors in bad_rows.values():
                chunk.errors.extend(errors)
            chunk.invalid += len(bad_rows)


def missing_related(column: ColumnMapping, row: int, key: Any) -> RowError:
    """Return the error of a row whose foreign key ``key`` names no related row."""
    target = column.target
    assert target.lookup is not None
    return RowError(
        row=row,
        column=column.header,
        field=target.path,
        value=display_value(key),
        message=_("No %(model)s with %(field)s “%(value)s” exists.")
        % {
            "model": target.field.related_model._meta.verbose_name,  # type: ignore[union-attr]
            "field": target.lookup.verbose_name,
            "value": display_value(key),
        },
    )


def lookup_related(target: Target, values: Iterable[Any], using: str) -> dict[Any, Any]:
    """Return ``{lookup value: foreign key value}`` for the related rows that exist."""
    assert target.lookup is not None
    # Only a foreign key has a lookup (see mapping.resolve_path).
    assert isinstance(target.field, models.ForeignObject)
    related = target.field.related_model
    key_attname = target.field.target_field.attname
    lookup_attname = target.lookup.attname
    manager = related._base_manager.db_manager(using)
    found: dict[Any, Any] = {}
    values = list(values)
    for start in range(0, len(values), _LOOKUP_BATCH):
        batch = values[start : start + _LOOKUP_BATCH]
        query = manager.filter(**{lookup_attname + "__in": batch})
        if key_attname == lookup_attname:
            found.update((value, value) for value in query.values_list(lookup_attname, flat=True))
        else:
            found.update(query.values_list(lookup_attname, key_attname))
    return found
