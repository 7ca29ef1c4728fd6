"""PostgreSQL ``COPY`` sink: streamed into the table, or staged and checked in SQL."""

from __future__ import annotations

import contextlib
import io
import json
import queue
import threading
import uuid
from typing import Any

from django.db import models

from bulk_admin.conversion import INTEGER_TYPES, Chunk, ConvertedRow
from bulk_admin.keys import Key, key_error, scope_error
from bulk_admin.results import RowError
from bulk_admin.sinks.base import _AUTO_FIELDS, Sink, _quote, _quote_column

ROW_COLUMN = "bulk_admin_row"
_PERMISSION_BATCH = 1000

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
        return lambda value: (
            "%d days %d seconds %d microseconds"
            % (
                value.days,
                value.seconds,
                value.microseconds,
            )
        )
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


class CopySink(Sink):
    """PostgreSQL ``COPY FROM STDIN`` (psycopg2 and psycopg 3), straight or staged.

    Rows are copied chunk by chunk, so that the foreign-key lookups of the next chunk can
    run on the same connection between two ``COPY`` statements (a connection feeding a
    ``COPY`` cannot run another query).
    """

    method = "copy"

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

    # The checks below run once, on the whole staging table.

    def _match(self, key: Key, left: str, right: str) -> str:
        return " AND ".join(
            "%s.%s = %s.%s"
            % (
                left,
                _quote_column(self.connection, field),
                right,
                _quote_column(self.connection, field),
            )
            for field in key.fields
        )

    def _not_null(self, key: Key, alias: str) -> str:
        return " AND ".join(
            "%s.%s IS NOT NULL" % (alias, _quote_column(self.connection, field))
            for field in key.fields
        )

    def _key_columns(self, key: Key, alias: str) -> str:
        return ", ".join(
            "%s.%s" % (alias, _quote_column(self.connection, field)) for field in key.fields
        )

    def _repeats_sql(self, key: Key, select: str) -> str:
        row = _quote(self.connection, ROW_COLUMN)
        return (
            "SELECT %(select)s FROM (SELECT s.ctid AS tid, s.%(row)s AS row_number, %(cols)s, "
            "first_value(s.%(row)s) OVER w AS first_row, row_number() OVER w AS n "
            "FROM %(stage)s s WHERE %(not_null)s "
            "WINDOW w AS (PARTITION BY %(cols)s ORDER BY s.%(row)s)) r "
            "WHERE r.n > 1"
        ) % {
            "select": select,
            "row": row,
            "cols": self._key_columns(key, "s"),
            "stage": self.stage,
            "not_null": self._not_null(key, "s"),
        }

    def finish(self, write: bool) -> list[RowError]:
        if self.stream:
            self._close_stream(None)
            return []
        if not self.staged:
            return []
        errors: list[RowError] = []
        with self.connection.cursor() as cursor:
            if self.policy != "error" and (
                self.scope is not None or self.row_permission is not None
            ):
                errors = self._out_of_scope(cursor)
            if self.policy == "skip":
                for key in self.keys:
                    cursor.execute(
                        "DELETE FROM %s s USING %s t WHERE %s"
                        % (self.stage, self.table, self._match(key, "s", "t"))
                    )
                    self.skipped += cursor.rowcount
                    cursor.execute(
                        "DELETE FROM %s WHERE ctid IN (%s)"
                        % (self.stage, self._repeats_sql(key, "r.tid"))
                    )
                    self.skipped += cursor.rowcount
                self.created = self.staged_rows - self.skipped
            elif self.policy == "error":
                errors = self._taken_key_errors(cursor)
                self.invalid_rows = {error.row for error in errors if error.row is not None}
                self.created = self.staged_rows - len(self.invalid_rows)
            else:
                key = self.keys[0]
                cursor.execute(
                    "SELECT count(*) FROM %(stage)s s WHERE NOT (%(not_null)s)"
                    % {"stage": self.stage, "not_null": self._not_null(key, "s")}
                )
                null_keys = cursor.fetchone()[0]
                cursor.execute(
                    "SELECT count(*) FROM (SELECT DISTINCT %(cols)s FROM %(stage)s s "
                    "WHERE %(not_null)s "
                    "AND NOT EXISTS (SELECT 1 FROM %(table)s t WHERE %(match)s)) d"
                    % {
                        "cols": self._key_columns(key, "s"),
                        "stage": self.stage,
                        "not_null": self._not_null(key, "s"),
                        "table": self.table,
                        "match": self._match(key, "s", "t"),
                    }
                )
                self._keyed_created = cursor.fetchone()[0]
                self.created = null_keys + self._keyed_created
                self.updated = self.staged_rows - self.created
        return errors

    def _out_of_scope(self, cursor: Any) -> list[RowError]:
        """Take out the staged rows whose key belongs to a row the user may not change."""
        errors: list[RowError] = []
        row = _quote(self.connection, ROW_COLUMN)
        pk = _quote_column(self.connection, self.model._meta.pk)
        keys = self.keys[:1] if self.policy == "update" else self.keys
        # Either SQL Django compiles from the admin's queryset (its values stay parameters)
        # or a list of primary keys the admin's has_change_permission refused.
        conditions: list[tuple[str, Any]] = []
        if self.scope is not None:
            scope_sql, params = self.scope.values("pk").query.sql_with_params()
            conditions.append(("t.%s NOT IN (%s)" % (pk, scope_sql), params))
        if self.row_permission is not None:
            denied = self._denied_rows(cursor, keys, pk)
            if denied:
                conditions.append(("t.%s = ANY(%%s)" % pk, [denied]))
        for condition, params in conditions:
            for key in keys:
                cursor.execute(
                    "DELETE FROM %s s USING %s t WHERE %s AND %s RETURNING s.%s, %s"
                    % (
                        self.stage,
                        self.table,
                        self._match(key, "s", "t"),
                        condition,
                        row,
                        self._key_columns(key, "s"),
                    ),
                    params,
                )
                for found in cursor.fetchall():
                    errors.append(scope_error(key, found[1:], found[0]))
        self.staged_rows -= len(errors)
        return errors

    def _denied_rows(self, cursor: Any, keys: list[Key], pk: str) -> list[Any]:
        assert self.row_permission is not None
        matched: set[Any] = set()
        for key in keys:
            cursor.execute(
                "SELECT DISTINCT t.%s FROM %s s JOIN %s t ON %s"
                % (pk, self.stage, self.table, self._match(key, "s", "t"))
            )
            matched.update(found[0] for found in cursor.fetchall())
        ordered = sorted(matched)
        manager = self.model._base_manager.db_manager(self.using)
        denied: set[Any] = set()
        for start in range(0, len(ordered), _PERMISSION_BATCH):
            batch = list(manager.filter(pk__in=ordered[start : start + _PERMISSION_BATCH]))
            denied.update(self.row_permission(batch))
        return sorted(denied)

    def _taken_key_errors(self, cursor: Any) -> list[RowError]:
        errors: list[RowError] = []
        row = _quote(self.connection, ROW_COLUMN)
        for key in self.keys:
            cursor.execute(
                "SELECT s.%s, %s FROM %s s JOIN %s t ON %s"
                % (
                    row,
                    self._key_columns(key, "s"),
                    self.stage,
                    self.table,
                    self._match(key, "s", "t"),
                )
            )
            for found in cursor.fetchall():
                errors.append(key_error(self.model, key, found[1:], found[0], None))
            cursor.execute(
                self._repeats_sql(
                    key, "r.row_number, r.first_row, %s" % self._key_columns(key, "r")
                )
            )
            for found in cursor.fetchall():
                errors.append(key_error(self.model, key, found[2:], found[0], found[1]))
        return errors

    def commit(self) -> None:
        if self.staged:
            self._move_staged_rows()
        self.reset_sequences()

    def _move_staged_rows(self) -> None:
        columns = ", ".join(self.columns)
        selected = ", ".join("s.%s" % column for column in self.columns)
        row = _quote(self.connection, ROW_COLUMN)
        key = self.keys[0]
        order = self._key_columns(key, "s")
        with self.connection.cursor() as cursor:
            if self.invalid_rows:
                cursor.execute(
                    "DELETE FROM %s WHERE %s = ANY(%%s)" % (self.stage, row),
                    [sorted(self.invalid_rows)],
                )
            if self.policy != "update":
                # Rows sorted by the key go into the key's index much faster than in file
                # order, and two imports at once take the keys' locks in the same order.
                conflict = " ON CONFLICT DO NOTHING" if self.policy == "skip" else ""
                cursor.execute(
                    "INSERT INTO %s (%s) SELECT %s FROM %s s ORDER BY %s%s"
                    % (self.table, columns, selected, self.stage, order, conflict)
                )
                if self.policy == "skip":
                    # The database's answer, not the count made before: an import running
                    # at the same time may have created some of these keys since.
                    self.skipped += self.created - cursor.rowcount
                    self.created = cursor.rowcount
                return
            targets = ", ".join(_quote_column(self.connection, field) for field in key.fields)
            update_columns = [
                _quote_column(self.connection, field)
                for field in [*self.plan.mapped_fields, *self.plan.auto_now_fields]
                if field not in key.fields and not field.primary_key
            ]
            if update_columns:
                action = "DO UPDATE SET " + ", ".join(
                    "%s = EXCLUDED.%s" % (c, c) for c in update_columns
                )
            else:
                action = "DO NOTHING"
            # The last occurrence of a key in the file wins; one statement may not touch a
            # row twice.
            # RETURNING tells a created row (xmax = 0) from an updated one: the counts are
            # the database's answer, true even while another import runs.
            cursor.execute(
                "WITH moved AS (INSERT INTO %(table)s (%(columns)s) SELECT %(selected)s FROM ("
                "SELECT DISTINCT ON (%(order)s) * FROM %(stage)s s WHERE %(not_null)s "
                "ORDER BY %(order)s, s.%(row)s DESC) s ORDER BY %(order)s "
                "ON CONFLICT (%(targets)s) %(action)s RETURNING (xmax = 0) AS created) "
                "SELECT count(*) FILTER (WHERE created), count(*) FROM moved"
                % {
                    "table": self.table,
                    "columns": columns,
                    "selected": selected,
                    "order": order,
                    "stage": self.stage,
                    "not_null": self._not_null(key, "s"),
                    "row": row,
                    "targets": targets,
                    "action": action,
                }
            )
            created, moved = cursor.fetchone()
            null_keys = self.created - self._keyed_created
            self.created = created + null_keys
            # Rows repeating a key in the file count as updates of the row written once.
            self.updated = self.staged_rows - len(self.invalid_rows) - self.created
            # Rows without a key are created. An auto-incremented primary key left empty is
            # numbered by the database, past the explicit ids just written.
            new_columns = [
                column
                for field, column in zip(self.plan.fields, self.columns, strict=True)
                if not (field in key.fields and isinstance(field, _AUTO_FIELDS))
            ]
            if len(new_columns) < len(self.columns):
                self.reset_sequences()
            cursor.execute(
                "INSERT INTO %s (%s) SELECT %s FROM %s s WHERE NOT (%s)"
                % (
                    self.table,
                    ", ".join(new_columns),
                    ", ".join("s.%s" % column for column in new_columns),
                    self.stage,
                    self._not_null(key, "s"),
                )
            )


class _Feed:
    """A file object for psycopg2's ``copy_expert``, fed chunk by chunk from another thread.

    At most two chunks wait in the queue, so memory stays bounded while PostgreSQL is slower
    than the conversion.
    """

    def __init__(self) -> None:
        self.queue: queue.Queue[bytes | None | BaseException] = queue.Queue(maxsize=2)
        self.buffer = memoryview(b"")
        self.done = False
        self.error: BaseException | None = None
        self.finished = threading.Event()

    def run(self, cursor: Any, sql: str) -> None:
        try:
            cursor.copy_expert(sql, self)
        except BaseException as error:  # reported by close(), in the importer's thread
            self.error = error
        finally:
            self.finished.set()

    def put(self, data: bytes) -> None:
        while not self.finished.is_set():
            try:
                self.queue.put(data, timeout=0.1)
                return
            except queue.Full:
                continue
        # The COPY has ended early: the server refused a row. close() raises its error.

    def close(self, aborted: bool) -> None:
        self.put(_ABORT if aborted else None)  # type: ignore[arg-type]

    def read(self, size: int = -1) -> bytes:
        while not self.buffer and not self.done:
            item = self.queue.get()
            if item is None:
                self.done = True
            elif isinstance(item, BaseException):
                raise item
            else:
                self.buffer = memoryview(item)
        if size < 0:
            size = len(self.buffer)
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return bytes(data)


_ABORT = RuntimeError("bulk_admin import aborted")
