"""The text converter: a number or date cell in a text column reads as the spreadsheet shows it."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _

from bulk_admin.conversion.base import _PLAIN, Converter
from bulk_admin.reading import ReadingOptions


def _number_text(value: float | int) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return _excel_float(value) if isinstance(value, float) else str(value)


def _excel_float(value: float) -> str:
    """Return a number cell as Excel shows it: 15 significant digits at most.

    Excel computes and shows 15 digits; the file holds the full double, so a price
    computed as ``=10*1.1`` is stored as 11.000000000000002 and shown as 11.
    """
    return format(value, EXCEL_FLOAT_FORMAT)


EXCEL_FLOAT_FORMAT = ".15g"


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
