"""PostgreSQL ``COPY`` sink: streamed into the table, or staged and checked in SQL.

The COPY text format is in ``copy_format``, psycopg2's streamed feed in ``copy_feed`` and the
SQL on the staging table in ``staging``.
"""

from __future__ import annotations

import contextlib
import io
import threading
import uuid
from typing import Any

from bulk_admin.conversion import Chunk, ConvertedRow
from bulk_admin.results import RowError
from bulk_admin.sinks.base import Sink, _quote, _quote_column
from bulk_admin.sinks.copy_feed import _Feed
from bulk_admin.sinks.copy_format import _copy_formatter
from bulk_admin.sinks.staging import ROW_COLUMN, _check_staged_rows, _move_staged_rows

# Still imported from here: ROW_COLUMN (by bulk_admin.sinks), _copy_formatter (by the tests).
__all__ = ["ROW_COLUMN", "CopySink", "_copy_formatter"]


class CopySink(Sink):
    """PostgreSQL ``COPY FROM STDIN`` (psycopg2 and psycopg 3), straight or staged.

    Rows are copied chunk by chunk, so that the foreign-key lookups of the next chunk can
    run on the same connection between two ``COPY`` statements (a connection feeding a
    ``COPY`` cannot run another query).
    """

    method = "copy"
    # Update policy: the staged keys not yet in the table (counted by finish(), for commit()).
    _keyed_created: int

    def begin(self) -> None:
        connection = self.connection
        # Streamed: one COPY into the table for the whole file (see Importer._can_stream).
        self.staged = bool(self.keys) and not self.stream
        self._open_copy: Any = None
        self.formatters = [_copy_formatter(field) for field in self.plan.fields]
        self.table = _quote(connection, self.model._meta.db_table)
        self.columns = [_quote_column(connection, field) for field in self.plan.fields]
        self.staged_rows = 0
        self.invalid_rows: set[int] = set()
        if self.staged:
            self.stage = _quote(connection, "bulk_admin_stage_%s" % uuid.uuid4().hex[:12])
            row_column = _quote(connection, ROW_COLUMN)
            with connection.cursor() as cursor:
                # Same column types as the table, without its indexes or constraints.
                cursor.execute(
                    "CREATE TEMPORARY TABLE %s ON COMMIT DROP AS SELECT %s FROM %s WITH NO DATA"
                    % (self.stage, ", ".join(self.columns), self.table)
                )
                cursor.execute("ALTER TABLE %s ADD COLUMN %s integer" % (self.stage, row_column))
            self.copy_sql = "COPY %s (%s) FROM STDIN" % (
                self.stage,
                ", ".join([*self.columns, row_column]),
            )
        else:
            self.copy_sql = "COPY %s (%s) FROM STDIN" % (self.table, ", ".join(self.columns))
        # Column-wise chunks are written as CSV by Arrow, in native code (issue 9).
        self.csv = self.plan.columnar is not None
        if self.csv:
            self.copy_sql += " (FORMAT csv)"
            self.csv_formatters = [_copy_formatter(field, str) for field in self.plan.fields]

    def _data(self, chunk: Chunk) -> str | bytes:
        if not self.csv:
            return self._lines(chunk.rows)
        from bulk_admin.conversion.columnar import chunk_row_numbers, copy_arrays, copy_csv

        numbers = chunk_row_numbers(chunk) if self.staged else None
        return copy_csv(copy_arrays(chunk, self.csv_formatters), numbers)

    def _lines(self, rows: list[ConvertedRow]) -> str:
        formatters = self.formatters
        staged = self.staged
        lines = []
        for row_number, values in rows:
            cells = [
                "\\N" if value is None else fmt(value)
                for fmt, value in zip(formatters, values, strict=True)
            ]
            if staged:
                cells.append(str(row_number))
            lines.append("\t".join(cells))
        lines.append("")
        return "\n".join(lines)

    def add(self, chunk: Chunk, write: bool) -> None:
        count = len(chunk)
        if not count:
            return
        if self.stream:
            self.created += count
            if write:
                self._stream(self._data(chunk))
            return
        if self.staged:
            self._copy(self._data(chunk))
            self.staged_rows += count
            return
        # No key to check: every valid row is created.
        self.created += count
        if write:
            self._copy(self._data(chunk))

    def _copy(self, data: str | bytes) -> None:
        # The raw cursor bypasses Django's error wrapping: driver errors must still
        # arrive as django.db errors (the importer reports those as DatabaseRejected).
        with self.connection.cursor() as cursor, self.connection.wrap_database_errors:
            raw = cursor.cursor
            if hasattr(raw, "copy_expert"):  # psycopg2
                raw.copy_expert(
                    self.copy_sql,
                    io.BytesIO(data) if isinstance(data, bytes) else io.StringIO(data),
                )
            else:  # psycopg 3
                with raw.copy(self.copy_sql) as copy:
                    copy.write(data)

    def _stream(self, data: str | bytes) -> None:
        # One COPY stays open across chunks: PostgreSQL updates the indexes on one core
        # while Python converts the next chunk on the other, as with psql's \copy.
        with self.connection.wrap_database_errors:
            if self._open_copy is None:
                cursor = self.connection.cursor()
                if hasattr(cursor.cursor, "copy_expert"):
                    # psycopg2 pulls COPY data from a file object: a thread runs copy_expert
                    # on a feed that the chunks are put into (issue 9).
                    feed = _Feed()
                    thread = threading.Thread(
                        target=feed.run, args=(cursor.cursor, self.copy_sql), daemon=True
                    )
                    thread.start()
                    self._open_copy = (cursor, feed, thread)
                else:
                    context = cursor.cursor.copy(self.copy_sql)
                    self._open_copy = (cursor, context, context.__enter__())
            if isinstance(self._open_copy[1], _Feed):
                self._open_copy[1].put(data.encode() if isinstance(data, str) else data)
            else:
                self._open_copy[2].write(data)

    def _close_stream(self, error: BaseException | None) -> None:
        if self._open_copy is None:
            return
        if isinstance(self._open_copy[1], _Feed):
            cursor, feed, thread = self._open_copy
            self._open_copy = None
            try:
                feed.close(aborted=error is not None)
                thread.join()
                if feed.error is not None and error is None:
                    with self.connection.wrap_database_errors:
                        raise feed.error
            finally:
                cursor.close()
            return
        cursor, context, _copy = self._open_copy
        self._open_copy = None
        try:
            with self.connection.wrap_database_errors:
                if error is None:
                    context.__exit__(None, None, None)
                else:
                    context.__exit__(type(error), error, error.__traceback__)
        finally:
            cursor.close()

    def abort(self) -> None:
        if self._open_copy is not None:
            # Ends the COPY with an error message to the server; the rollback follows.
            with contextlib.suppress(Exception):
                self._close_stream(RuntimeError("bulk_admin import aborted"))

    def finish(self, write: bool) -> list[RowError]:
        if self.stream:
            self._close_stream(None)
            return []
        if not self.staged:
            return []
        return _check_staged_rows(self)

    def commit(self) -> None:
        if self.staged:
            _move_staged_rows(self)
        self.reset_sequences()
