"""What the converters share: their types, the boolean words, the shown value of a cell."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from bulk_admin.reading import ReadingOptions

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


def _messages(error: ValidationError) -> str:
    return " ".join(str(message) for message in error.messages)


# Django's fields whose values of this Python type every backend Django ships takes and
# returns unchanged (``get_db_prep_save`` and the lookups change nothing): the sinks and the
# key checks pass such values to the database as they are.
PLAIN_TYPES: dict[type, type] = {
    models.CharField: str,
    models.TextField: str,
    models.EmailField: str,
    models.SlugField: str,
    models.URLField: str,
    models.IntegerField: int,
    models.BigIntegerField: int,
    models.SmallIntegerField: int,
    models.PositiveIntegerField: int,
    models.PositiveBigIntegerField: int,
    models.PositiveSmallIntegerField: int,
    models.BooleanField: bool,
    models.FloatField: float,
}
