"""System checks for the ``BULK_ADMIN_*`` settings (ids ``bulk_admin.E001`` ...)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register

_POSITIVE_INTEGERS = (
    "CHUNK_SIZE",
    "BATCH_SIZE",
    "MAX_COLUMNS",
    "MAX_CELL_SIZE",
)
_NON_NEGATIVE_INTEGERS = ("MAX_FILE_SIZE", "MAX_ROWS", "MAX_XLSX_UNCOMPRESSED", "MAX_ERRORS")
_READERS = ("auto", "calamine", "openpyxl")


@register(Tags.compatibility)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors: list[Error] = []
    for name in _POSITIVE_INTEGERS + _NON_NEGATIVE_INTEGERS:
        setting = "BULK_ADMIN_" + name
        if not hasattr(settings, setting):
            continue
        value = getattr(settings, setting)
        minimum = 1 if name in _POSITIVE_INTEGERS else 0
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            errors.append(
                Error(
                    "%s must be an integer of at least %d, not %r." % (setting, minimum, value),
                    hint="Set %s to a whole number, or remove it to use the default." % setting,
                    id="bulk_admin.E001",
                )
            )
    reader = getattr(settings, "BULK_ADMIN_XLSX_READER", "auto")
    if reader not in _READERS:
        errors.append(
            Error(
                "BULK_ADMIN_XLSX_READER must be one of %s, not %r." % (", ".join(_READERS), reader),
                id="bulk_admin.E002",
            )
        )
    elif reader == "calamine":
        try:
            import python_calamine  # noqa: F401
        except ImportError:
            errors.append(
                Error(
                    "BULK_ADMIN_XLSX_READER is 'calamine' but python-calamine is not installed.",
                    hint="pip install python-calamine, or set the reader to 'auto'.",
                    id="bulk_admin.E003",
                )
            )
    return errors
