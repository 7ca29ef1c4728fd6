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

from bulk_admin.conversion.base import (
    FALSE_VALUES,
    INTEGER_TYPES,
    TRUE_VALUES,
    ConvertedRow,
    Converter,
    display_value,
)
from bulk_admin.conversion.converters import build_converter, empty_rule
from bulk_admin.conversion.plan import Chunk, Plan, lookup_related, missing_related

__all__ = [
    "FALSE_VALUES",
    "INTEGER_TYPES",
    "TRUE_VALUES",
    "Chunk",
    "ConvertedRow",
    "Converter",
    "Plan",
    "build_converter",
    "display_value",
    "empty_rule",
    "lookup_related",
    "missing_related",
]
