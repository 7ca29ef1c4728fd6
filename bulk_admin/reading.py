"""How the cells of a file are read: null markers, date formats, number separators, booleans.

Real files write "no value" as ``NA`` or ``-``, dates as ``31/12/2024`` and numbers as
``1.234,56``. :class:`ReadingOptions` says how to read them; it travels from the command, the
Python API and the admin's reading options to the conversion stage, and is JSON-serialisable
so that a job can keep it. Nothing here guesses: the defaults read what Django's own forms
read, and ``bulk_admin.hints`` only *proposes* options for the user to choose.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from django.utils.translation import gettext as _

from bulk_admin.exceptions import OptionError

# Markers that real exports write for "no value" (R, pandas, databases, spreadsheets). They are
# only ever proposed: a text column keeps "NA" (Namibia) unless the user chose --null NA.
KNOWN_NULL_MARKERS = ("NA", "N/A", "n/a", "NULL", "null", "None", "NaN", "nan", "-", "#N/A")


@dataclass(frozen=True, slots=True)
class ReadingOptions:
    """Options for reading cells; the defaults change nothing."""

    null_values: tuple[str, ...] = ()
    """Cells equal to one of these (after trimming) are empty, in every column."""
    date_formats: tuple[str, ...] = ()
    """``strptime`` formats tried in order after ISO 8601, in place of the language's
    ``DATE_INPUT_FORMATS``."""
    datetime_formats: tuple[str, ...] = ()
    """The same for date-and-time columns, in place of ``DATETIME_INPUT_FORMATS``."""
    decimal_separator: str | None = None
    """The character between the units and the decimals of numbers (``,`` in ``1.234,56``)."""
    thousands_separator: str | None = None
    """The character grouping digits, removed from numbers (``.`` in ``1.234,56``)."""
    true_values: tuple[str, ...] = ()
    """Words read as True beside true/yes/1/on/x (case ignored)."""
    false_values: tuple[str, ...] = ()
    """Words read as False beside false/no/0/off (case ignored)."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> ReadingOptions:
        """Return the options of ``data`` (the output of :meth:`as_dict`), checked."""
        data = dict(data or {})
        known = {field.name for field in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise OptionError(
                _("Unknown reading option(s): %(names)s.") % {"names": ", ".join(unknown)}
            )
        values: dict[str, Any] = {}
        for name, value in data.items():
            if name in ("decimal_separator", "thousands_separator"):
                values[name] = value or None
            else:
                values[name] = _strings(value)
        options = cls(**values)
        options.check()
        return options

    def as_dict(self) -> dict[str, Any]:
        """Return the options as JSON-serialisable data, leaving out the defaults."""
        return {
            name: list(value) if isinstance(value, tuple) else value
            for name, value in asdict(self).items()
            if value not in ((), None)
        }

    def __bool__(self) -> bool:
        return bool(self.as_dict())

    def check(self) -> None:
        """Raise OptionError for options that cannot be used."""
        for name, label in (
            ("decimal_separator", "--decimal-separator"),
            ("thousands_separator", "--thousands-separator"),
        ):
            value = getattr(self, name)
            if value is not None and (len(value) != 1 or value.isdigit() or value in "+-eE"):
                raise OptionError(
                    _("%(option)s must be one character that is not a digit, not “%(value)s”.")
                    % {"option": label, "value": value}
                )
        if self.decimal_separator and self.decimal_separator == self.thousands_separator:
            raise OptionError(_("The decimal and thousands separators must differ."))
        for name in ("date_formats", "datetime_formats"):
            for fmt in getattr(self, name):
                if "%" not in fmt:
                    raise OptionError(
                        _("“%(format)s” is not a date format; write one such as %%d/%%m/%%Y.")
                        % {"format": fmt}
                    )
        both = {word.casefold() for word in self.true_values} & {
            word.casefold() for word in self.false_values
        }
        if both:
            raise OptionError(
                _("“%(word)s” cannot mean both true and false.") % {"word": sorted(both)[0]}
            )
        if any(not value.strip() for value in self.null_values):
            raise OptionError(_("A null marker cannot be empty: empty cells are empty already."))

    @property
    def nulls(self) -> frozenset[str]:
        return frozenset(value.strip() for value in self.null_values)

    def number_text(self, text: str) -> str:
        """Return ``text`` with the thousands separator removed and the decimal one a dot."""
        thousands = self.thousands_separator
        if thousands is not None:
            text = text.replace(thousands, "")
            if thousands == " ":  # spreadsheets group with no-break spaces too
                text = text.replace("\u00a0", "").replace("\u202f", "")
        decimal = self.decimal_separator
        if decimal is not None and decimal != ".":
            text = text.replace(decimal, ".")
        return text

    @property
    def reads_numbers(self) -> bool:
        return self.decimal_separator is not None or self.thousands_separator is not None


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Iterable):
        return tuple(str(item) for item in value)
    raise OptionError(
        _("A reading option must be a list of texts, not %(value)r.") % {"value": value}
    )
