"""Value objects shared by every stage: row errors and the import report."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from django.utils.translation import gettext as _, ngettext


class BadCell(str):
    """A cell a source could read but whose value must never be imported.

    It is the text the cell showed (an Excel error such as ``#DIV/0!``, a text holding a NUL
    character), so reports and the rejected-rows download show what the user saw; the
    conversion stage turns it into a row error with ``message``, whatever the column's field.
    """

    message: str

    def __new__(cls, value: str, message: str) -> BadCell:
        cell = super().__new__(cls, value)
        cell.message = message
        return cell

    def __reduce__(self) -> tuple[type[BadCell], tuple[str, str]]:
        return (BadCell, (str(self), self.message))


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem with one cell (or one row, when ``column`` is ``None``).

    ``row`` is the spreadsheet row number the user sees (the header is row 1).
    """

    row: int | None
    column: str | None
    field: str | None
    value: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "column": self.column,
            "field": self.field,
            "value": self.value,
            "message": self.message,
        }

    @property
    def sort_key(self) -> tuple[int, str]:
        return (self.row or 0, self.column or "")


@dataclass(frozen=True, slots=True)
class FileInfo:
    """What a source found out about a file: its header and how it was read."""

    format: str
    headers: list[str]
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None

    def detected(self) -> dict[str, Any]:
        data: dict[str, Any] = {"format": self.format}
        if self.encoding is not None:
            data["encoding"] = self.encoding
        if self.delimiter is not None:
            data["delimiter"] = self.delimiter
        if self.sheet is not None:
            data["sheet"] = self.sheet
        return data


@dataclass(frozen=True)
class ImportResult:
    """The report of one import (or dry run), the same for the API, admin and command.

    The counts say what was written: a real run that wrote nothing because rows are invalid
    reports ``created == updated == skipped == 0``; a dry run reports what a real run would
    write. ``rows == created + updated + skipped + invalid`` holds for every run that wrote
    (``committed``), every dry run without invalid rows, and every run with
    ``skip_invalid``. ``errors`` may be
    shorter than the number of problems when ``max_errors`` capped it
    (``errors_truncated`` says so); the counts are exact.
    """

    model: str
    dry_run: bool
    method: str
    rows: int
    created: int
    updated: int
    skipped: int
    invalid: int
    errors: list[RowError]
    mapping: dict[str, str]
    committed: bool
    file: FileInfo | None = None
    errors_truncated: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    hints: list[Any] = field(default_factory=list)
    """:class:`~bulk_admin.hints.Hint` proposals of reading options that would read refused
    cells (``NA`` as empty, a date format, decimal commas), the most cells first."""
    reading: dict[str, Any] = field(default_factory=dict)
    """The reading options the file was read with (:class:`~bulk_admin.reading.ReadingOptions`)."""

    @property
    def duration(self) -> float:
        return self.timings.get("total", 0.0)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.duration if self.duration else 0.0

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON object of ``bulk_import --json``."""
        return {
            "model": self.model,
            "dry_run": self.dry_run,
            "method": self.method,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "skipped": self.skipped,
            "invalid": self.invalid,
            "errors": [error.as_dict() for error in self.errors],
            "mapping": dict(self.mapping),
        }


def format_summary(result: ImportResult) -> str:
    """Return a one-line, translated summary of ``result`` for messages and logs."""
    parts = [
        ngettext("%(count)d row read", "%(count)d rows read", result.rows)
        % {"count": result.rows},
        ngettext("%(count)d created", "%(count)d created", result.created)
        % {"count": result.created},
        ngettext("%(count)d updated", "%(count)d updated", result.updated)
        % {"count": result.updated},
        ngettext("%(count)d skipped", "%(count)d skipped", result.skipped)
        % {"count": result.skipped},
        ngettext("%(count)d invalid", "%(count)d invalid", result.invalid)
        % {"count": result.invalid},
    ]
    if result.dry_run:
        prefix = _("Dry run, nothing written")
    elif result.committed:
        prefix = _("Imported")
    else:
        prefix = _("Nothing written")
    summary = "%s: %s" % (prefix, ", ".join(parts))
    if result.duration:
        summary += " " + _("in %(seconds).1f s (%(rate)d rows/s, %(method)s).") % {
            "seconds": result.duration,
            "rate": result.rows_per_second,
            "method": result.method,
        }
    else:
        summary += "."
    return summary


class ErrorSpool:
    """Errors of a run in the order found, in a temporary file (JSON lines), not in memory.

    Give :meth:`write` as ``ImportOptions.on_errors``; ``limit`` keeps at most that many.
    """

    def __init__(self, limit: int | None = None) -> None:
        self._file: IO[str] | None = None
        self.limit = limit
        self.count = 0
        self.truncated = False

    def write(self, errors: list[RowError]) -> None:
        if self.limit is not None and self.count + len(errors) > self.limit:
            errors = errors[: max(self.limit - self.count, 0)]
            self.truncated = True
        if not errors:
            return
        if self._file is None:
            self._file = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 (closed by close())
        for error in errors:
            self._file.write(json.dumps(error.as_dict(), ensure_ascii=False) + "\n")
        self.count += len(errors)

    def read(self) -> Iterator[RowError]:
        if self._file is None:
            return
        self._file.seek(0)
        for line in self._file:
            yield RowError(**json.loads(line))

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
