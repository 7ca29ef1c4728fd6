"""Propose reading options from the errors of a check: ``NA`` as empty, a date format, commas.

A :class:`HintCollector` looks at each row error as it is found, keeping only counters (it
works in bounded memory whatever the number of errors), and :meth:`~HintCollector.hints`
returns what a reading option would fix, with counts. Nothing is applied: the admin's preview
offers each hint as one click that checks the file again with that option, and the command
prints them on stderr.
"""

from __future__ import annotations

import datetime
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.utils.formats import get_format, number_format
from django.utils.translation import gettext as _, ngettext

from bulk_admin.reading import KNOWN_NULL_MARKERS, ReadingOptions
from bulk_admin.results import RowError

# Date formats met in real files, tried on the values a column refused.
DATE_FORMATS = (
    "%d/%m/%Y", "%m/%d/%Y", "%Y/%m/%d", "%d.%m.%Y", "%d-%m-%Y", "%Y.%m.%d", "%d/%m/%y",
    "%m/%d/%y", "%d.%m.%y", "%Y%m%d",
)  # fmt: skip
DATETIME_FORMATS = tuple(
    date + time for date in DATE_FORMATS[:6] for time in (" %H:%M", " %H:%M:%S")
)
_DATE_KINDS = {"DateField": DATE_FORMATS, "DateTimeField": DATETIME_FORMATS + DATE_FORMATS}
_NUMBER_KINDS = {
    "DecimalField", "FloatField", "IntegerField", "BigIntegerField", "SmallIntegerField",
    "PositiveIntegerField", "PositiveBigIntegerField", "PositiveSmallIntegerField",
}  # fmt: skip
_TEXT_KINDS = {"CharField", "TextField", "SlugField", "EmailField", "URLField"}
# 1.234,56 / 1234,5 (comma decimals, dots or spaces grouping); 1,234.56 (comma grouping).
_COMMA_DECIMAL = re.compile(r"^[+-]?\d{1,3}(?:([.\u00a0\u202f ' ])\d{3})*,\d+$|^[+-]?\d+,\d+$")
_DOT_GROUPED = re.compile(r"^[+-]?\d{1,3}(?:\.\d{3})+$")
_COMMA_GROUPED = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_SPACE_GROUPED = re.compile(r"^[+-]?\d{1,3}(?:[\u00a0\u202f ]\d{3})+(?:[.,]\d+)?$")
# Enough values to tell a format; a column of millions of errors is not parsed a million times.
_SAMPLES_PER_COLUMN = 500


@dataclass(frozen=True)
class Hint:
    """One proposal: the reading ``option`` (a ReadingOptions field) set to ``value``."""

    option: str
    value: Any
    cells: int
    columns: tuple[str, ...]
    message: str

    def options(self, current: ReadingOptions | None = None) -> ReadingOptions:
        """Return ``current`` with this hint applied."""
        data = (current or ReadingOptions()).as_dict()
        if self.option in ("null_values", "date_formats", "datetime_formats"):
            data[self.option] = [*data.get(self.option, []), self.value]
        else:
            data.update(self.value if isinstance(self.value, dict) else {self.option: self.value})
        return ReadingOptions.from_dict(data)

    def command_option(self) -> str:
        if self.option == "null_values":
            return "--null %s" % _quote(self.value)
        if self.option == "date_formats":
            return "--date-format %s" % _quote(self.value)
        if self.option == "datetime_formats":
            return "--datetime-format %s" % _quote(self.value)
        parts = []
        for name, value in self.value.items():
            parts.append("--%s %s" % (name.replace("_", "-"), _quote(value)))
        return " ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "option": self.option,
            "value": self.value,
            "cells": self.cells,
            "columns": list(self.columns),
            "message": self.message,
        }


def _quote(value: str) -> str:
    """Return ``value`` as a shell word."""
    if re.fullmatch(r"[\w./%,:-]+", value):
        return value
    return "'%s'" % value.replace("'", "'\\''")


class HintCollector:
    """Count, per column, the refused values that a reading option would read."""

    def __init__(self, fields_by_path: dict[str, models.Field], reading: ReadingOptions):  # type: ignore[type-arg]
        self._kinds = {path: field.get_internal_type() for path, field in fields_by_path.items()}
        self._reading = reading
        self._markers: Counter[str] = Counter()
        self._marker_columns: dict[str, set[str]] = defaultdict(set)
        self._formats: dict[str, Counter[str]] = defaultdict(Counter)
        self._format_kind: dict[str, str] = {}
        self._dates_seen: Counter[str] = Counter()
        self._numbers: dict[str, Counter[str]] = defaultdict(Counter)
        self._numbers_seen: Counter[str] = Counter()
        self._refused: Counter[str] = Counter()

    def add(self, errors: Iterable[RowError]) -> None:
        nulls = self._reading.nulls
        for error in errors:
            value = (error.value or "").strip()
            kind = self._kinds.get(error.field or "")
            if not value or kind is None or kind in _TEXT_KINDS:
                continue  # a text column never drops a value because of a marker
            column = error.column or ""
            if value in KNOWN_NULL_MARKERS and value not in nulls:
                self._markers[value] += 1
                self._marker_columns[value].add(column)
                continue
            self._refused[column] += 1
            if kind in _DATE_KINDS and self._dates_seen[column] < _SAMPLES_PER_COLUMN:
                self._dates_seen[column] += 1
                self._format_kind[column] = kind
                for fmt in _DATE_KINDS[kind]:
                    if _parses(value, fmt):
                        self._formats[column][fmt] += 1
            elif kind in _NUMBER_KINDS and self._numbers_seen[column] < _SAMPLES_PER_COLUMN:
                self._numbers_seen[column] += 1
                style = _number_style(value)
                if style is not None:
                    self._numbers[column][style] += 1

    def hints(self) -> list[Hint]:
        """Return the proposals, the most cells first."""
        hints = []
        for marker, cells in self._markers.most_common():
            columns = tuple(sorted(self._marker_columns[marker]))
            hints.append(
                Hint(
                    option="null_values",
                    value=marker,
                    cells=cells,
                    columns=columns,
                    message=ngettext(
                        "%(cells)s cell %(where)s holds “%(marker)s”: "
                        "treat “%(marker)s” as empty?",
                        "%(cells)s cells %(where)s hold “%(marker)s”: "
                        "treat “%(marker)s” as empty?",
                        cells,
                    )
                    % {"cells": _count(cells), "where": _where(columns), "marker": marker},
                )
            )
        hints.extend(self._format_hints())
        hints.extend(self._number_hints())
        return sorted(hints, key=lambda hint: -hint.cells)

    def _format_hints(self) -> list[Hint]:
        chosen: dict[tuple[str, str], list[str]] = defaultdict(list)
        counts: Counter[tuple[str, str]] = Counter()
        order = _language_order()
        for column, found in self._formats.items():
            seen = self._dates_seen[column]
            # A format that reads every refused value, the language's day/month order first.
            complete = [fmt for fmt, count in found.items() if count == seen]
            if not complete:
                continue
            fmt = sorted(
                complete, key=lambda f: (order(f), _DATE_KINDS[self._format_kind[column]].index(f))
            )[0]
            option = "datetime_formats" if "%H" in fmt else "date_formats"
            chosen[(option, fmt)].append(column)
            counts[(option, fmt)] += self._refused[column]
        hints = []
        for (option, fmt), columns in chosen.items():
            example = _example(fmt)
            hints.append(
                Hint(
                    option=option,
                    value=fmt,
                    cells=counts[(option, fmt)],
                    columns=tuple(sorted(columns)),
                    message=ngettext(
                        "%(cells)s cell %(where)s holds a date written like “%(example)s”: "
                        "read it with the format %(format)s?",
                        "%(cells)s cells %(where)s hold dates written like “%(example)s”: "
                        "read them with the format %(format)s?",
                        counts[(option, fmt)],
                    )
                    % {
                        "cells": _count(counts[(option, fmt)]),
                        "where": _where(columns),
                        "example": example,
                        "format": fmt,
                    },
                )
            )
        return hints

    def _number_hints(self) -> list[Hint]:
        by_style: dict[str, list[str]] = defaultdict(list)
        cells: Counter[str] = Counter()
        for column, styles in self._numbers.items():
            if sum(styles.values()) < self._numbers_seen[column]:
                continue  # some refused values are no numbers of a known style at all
            # The one style whose separators read every refused value of the column.
            style = next((s for s in _COVERS if set(styles) <= _COVERS[s]), None)
            if style is None:
                continue
            by_style[style].append(column)
            cells[style] += self._refused[column]
        # One proposal where one set of separators reads every column (1.234 and 1.234,56).
        for wider in _COVERS:
            for narrower in list(by_style):
                if narrower != wider and wider in by_style and narrower in _COVERS[wider]:
                    by_style[wider].extend(by_style.pop(narrower))
                    cells[wider] += cells.pop(narrower)
        hints = []
        for style, columns in by_style.items():
            value = _SEPARATORS[style]
            shown = ", ".join(
                "%s “%s”" % (_SEPARATOR_NAMES[name](), separator)
                for name, separator in value.items()
            )
            hints.append(
                Hint(
                    option="separators",
                    value=value,
                    cells=cells[style],
                    columns=tuple(sorted(columns)),
                    message=ngettext(
                        "%(cells)s cell %(where)s holds a number written like “%(example)s”: "
                        "read it with %(separators)s?",
                        "%(cells)s cells %(where)s hold numbers written like “%(example)s”: "
                        "read them with %(separators)s?",
                        cells[style],
                    )
                    % {
                        "cells": _count(cells[style]),
                        "where": _where(columns),
                        "example": _SEPARATOR_EXAMPLES[style],
                        "separators": shown,
                    },
                )
            )
        return hints


_SEPARATORS = {
    "comma-decimal-dot-grouping": {"decimal_separator": ",", "thousands_separator": "."},
    "comma-decimal": {"decimal_separator": ","},
    "comma-decimal-space-grouping": {"decimal_separator": ",", "thousands_separator": " "},
    "comma-grouping": {"thousands_separator": ","},
    "dot-grouping": {"thousands_separator": "."},
    "space-grouping": {"thousands_separator": " "},
}
# Which styles a style's separators read too, the widest first.
_COVERS = {
    "comma-decimal-dot-grouping": {"comma-decimal-dot-grouping", "comma-decimal", "dot-grouping"},
    "comma-decimal-space-grouping": {
        "comma-decimal-space-grouping",
        "comma-decimal",
        "space-grouping",
    },
    "comma-grouping": {"comma-grouping"},
    "comma-decimal": {"comma-decimal"},
    "dot-grouping": {"dot-grouping"},
    "space-grouping": {"space-grouping"},
}
_SEPARATOR_EXAMPLES = {
    "comma-decimal-dot-grouping": "1.234,56",
    "comma-decimal": "1234,56",
    "comma-decimal-space-grouping": "1 234,56",
    "comma-grouping": "1,234.56",
    "dot-grouping": "1.234",
    "space-grouping": "1 234",
}
_SEPARATOR_NAMES = {
    "decimal_separator": lambda: _("the decimal separator"),
    "thousands_separator": lambda: _("the thousands separator"),
}


def _number_style(value: str) -> str | None:
    match = _COMMA_DECIMAL.match(value)
    if match:
        grouping = match.group(1)
        if grouping is None:
            return "comma-decimal" if "." not in value else "comma-decimal-dot-grouping"
        return "comma-decimal-dot-grouping" if grouping == "." else "comma-decimal-space-grouping"
    if _COMMA_GROUPED.match(value):
        return "comma-grouping"
    if _DOT_GROUPED.match(value):
        return "dot-grouping"
    if _SPACE_GROUPED.match(value):
        return "space-grouping" if "," not in value else "comma-decimal-space-grouping"
    return None


def _parses(value: str, fmt: str) -> bool:
    try:
        datetime.datetime.strptime(value, fmt)
    except ValueError:
        return False
    return True


def _language_order() -> Any:
    """Return a sort key putting the active language's day/month order first."""
    formats = [str(fmt) for fmt in get_format("DATE_INPUT_FORMATS")]
    dayfirst = next(
        (fmt.index("%d") < fmt.index("%m") for fmt in formats if "%d" in fmt and "%m" in fmt),
        False,
    )

    def key(fmt: str) -> int:
        if "%d" not in fmt or "%m" not in fmt:
            return 0
        return 0 if (fmt.index("%d") < fmt.index("%m")) == dayfirst else 1

    return key


def _example(fmt: str) -> str:
    return datetime.datetime(2024, 12, 31, 14, 30, 5).strftime(fmt)


def _where(columns: Iterable[str]) -> str:
    count = len(list(columns))
    return ngettext("in %(count)d column", "in %(count)d columns", count) % {"count": count}


def _count(cells: int) -> str:
    return number_format(cells, force_grouping=True)
