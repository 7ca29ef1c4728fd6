"""UUID, JSON and generic converters; ``build_converter`` picks one per field, adds its checks."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _

from bulk_admin.conversion.base import _PLAIN, Converter, _invalid, display_value
from bulk_admin.conversion.dates import (
    _date_converter,
    _datetime_converter,
    _duration_converter,
    _time_converter,
)
from bulk_admin.conversion.numbers import (
    _boolean_converter,
    _decimal_converter,
    _float_converter,
    _integer_converter,
)
from bulk_admin.conversion.text import _text_converter
from bulk_admin.reading import ReadingOptions


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
