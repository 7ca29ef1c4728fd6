"""Converters of the integer kinds, decimals, floats and booleans."""

from __future__ import annotations

import decimal
import math
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _

from bulk_admin.conversion.base import (
    _PLAIN,
    FALSE_VALUES,
    TRUE_VALUES,
    Converter,
    _invalid,
    display_value,
)
from bulk_admin.conversion.text import _excel_float, _number_text
from bulk_admin.reading import ReadingOptions

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
