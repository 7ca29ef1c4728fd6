"""COPY text format: the escapes and one formatter per field type."""

from __future__ import annotations

import json
from typing import Any

from django.db import models

from bulk_admin.conversion import INTEGER_TYPES
from bulk_admin.conversion.moments import duration_text

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _text(value: Any) -> str:
    text = str(value)
    # Four substring tests in C are cheaper than a regular expression for every cell.
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        return text.translate(_ESCAPES)
    return text


def _copy_formatter(field: models.Field, text: Any = _text) -> Any:  # type: ignore[type-arg]
    """Return a function writing a non-NULL value of ``field`` in COPY text format.

    ``text`` escapes text values; COPY's CSV format (``text=str``) needs no escapes.
    """
    kind = field.get_internal_type()
    if kind in ("BooleanField", "NullBooleanField"):
        return lambda value: "t" if value else "f"
    if kind in ("DateField", "DateTimeField", "TimeField"):
        return lambda value: value.isoformat()
    if kind == "DurationField":
        return duration_text
    if kind == "JSONField":
        encoder = getattr(field, "encoder", None)
        return lambda value: text(json.dumps(value, cls=encoder))
    if kind == "BinaryField":
        return lambda value: text("\\x" + bytes(value).hex())
    if kind in INTEGER_TYPES or kind in ("DecimalField", "FloatField", "UUIDField"):
        return str
    if field.is_relation:
        # A concrete relation field is a foreign key: write its target field's value.
        assert isinstance(field, models.ForeignObject)
        return _copy_formatter(field.target_field, text)
    return text
