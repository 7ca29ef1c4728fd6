"""Converters of dates, date-times (with ``USE_TZ``), times and durations."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime, parse_duration, parse_time
from django.utils.formats import get_format
from django.utils.translation import gettext as _

from bulk_admin.conversion.base import _PLAIN, Converter, _invalid, display_value
from bulk_admin.reading import ReadingOptions


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
