"""SQL on the staging table of a keyed ``COPY``: the key and scope checks, then the move.

Each function takes the ``CopySink`` whose rows are staged and settles its counters. The
checks run once, on the whole staging table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bulk_admin.keys import Key, key_error, scope_error
from bulk_admin.results import RowError
from bulk_admin.sinks.base import _AUTO_FIELDS, _quote, _quote_column

if TYPE_CHECKING:
    from bulk_admin.sinks.copy import CopySink

ROW_COLUMN = "bulk_admin_row"
_PERMISSION_BATCH = 1000


def _match(sink: CopySink, key: Key, left: str, right: str) -> str:
    return " AND ".join(
        "%s.%s = %s.%s"
        % (
            left,
            _quote_column(sink.connection, field),
            right,
            _quote_column(sink.connection, field),
        )
        for field in key.fields
    )


def _not_null(sink: CopySink, key: Key, alias: str) -> str:
    return " AND ".join(
        "%s.%s IS NOT NULL" % (alias, _quote_column(sink.connection, field))
        for field in key.fields
    )


def _key_columns(sink: CopySink, key: Key, alias: str) -> str:
    return ", ".join(
        "%s.%s" % (alias, _quote_column(sink.connection, field)) for field in key.fields
    )


def _repeats_sql(sink: CopySink, key: Key, select: str) -> str:
    row = _quote(sink.connection, ROW_COLUMN)
    return (
        "SELECT %(select)s FROM (SELECT s.ctid AS tid, s.%(row)s AS row_number, %(cols)s, "
        "first_value(s.%(row)s) OVER w AS first_row, row_number() OVER w AS n "
        "FROM %(stage)s s WHERE %(not_null)s "
        "WINDOW w AS (PARTITION BY %(cols)s ORDER BY s.%(row)s)) r "
        "WHERE r.n > 1"
    ) % {
        "select": select,
        "row": row,
        "cols": _key_columns(sink, key, "s"),
        "stage": sink.stage,
        "not_null": _not_null(sink, key, "s"),
    }


def _check_staged_rows(sink: CopySink) -> list[RowError]:
    """Return the errors of the staged rows and settle the counters, as the policy asks."""
    errors: list[RowError] = []
    with sink.connection.cursor() as cursor:
        if sink.policy != "error" and (sink.scope is not None or sink.row_permission is not None):
            errors = _out_of_scope(sink, cursor)
        if sink.policy == "skip":
            for key in sink.keys:
                cursor.execute(
                    "DELETE FROM %s s USING %s t WHERE %s"
                    % (sink.stage, sink.table, _match(sink, key, "s", "t"))
                )
                sink.skipped += cursor.rowcount
                cursor.execute(
                    "DELETE FROM %s WHERE ctid IN (%s)"
                    % (sink.stage, _repeats_sql(sink, key, "r.tid"))
                )
                sink.skipped += cursor.rowcount
            sink.created = sink.staged_rows - sink.skipped
        elif sink.policy == "error":
            errors = _taken_key_errors(sink, cursor)
            sink.invalid_rows = {error.row for error in errors if error.row is not None}
            sink.created = sink.staged_rows - len(sink.invalid_rows)
        else:
            key = sink.keys[0]
            cursor.execute(
                "SELECT count(*) FROM %(stage)s s WHERE NOT (%(not_null)s)"
                % {"stage": sink.stage, "not_null": _not_null(sink, key, "s")}
            )
            null_keys = cursor.fetchone()[0]
            cursor.execute(
                "SELECT count(*) FROM (SELECT DISTINCT %(cols)s FROM %(stage)s s "
                "WHERE %(not_null)s "
                "AND NOT EXISTS (SELECT 1 FROM %(table)s t WHERE %(match)s)) d"
                % {
                    "cols": _key_columns(sink, key, "s"),
                    "stage": sink.stage,
                    "not_null": _not_null(sink, key, "s"),
                    "table": sink.table,
                    "match": _match(sink, key, "s", "t"),
                }
            )
            sink._keyed_created = cursor.fetchone()[0]
            sink.created = null_keys + sink._keyed_created
            sink.updated = sink.staged_rows - sink.created
    return errors


def _out_of_scope(sink: CopySink, cursor: Any) -> list[RowError]:
    """Take out the staged rows whose key belongs to a row the user may not change."""
    errors: list[RowError] = []
    row = _quote(sink.connection, ROW_COLUMN)
    pk = _quote_column(sink.connection, sink.model._meta.pk)
    keys = sink.keys[:1] if sink.policy == "update" else sink.keys
    # Either SQL Django compiles from the admin's queryset (its values stay parameters)
    # or a list of primary keys the admin's has_change_permission refused.
    conditions: list[tuple[str, Any]] = []
    if sink.scope is not None:
        scope_sql, params = sink.scope.values("pk").query.sql_with_params()
        conditions.append(("t.%s NOT IN (%s)" % (pk, scope_sql), params))
    if sink.row_permission is not None:
        denied = _denied_rows(sink, cursor, keys, pk)
        if denied:
            conditions.append(("t.%s = ANY(%%s)" % pk, [denied]))
    for condition, params in conditions:
        for key in keys:
            cursor.execute(
                "DELETE FROM %s s USING %s t WHERE %s AND %s RETURNING s.%s, %s"
                % (
                    sink.stage,
                    sink.table,
                    _match(sink, key, "s", "t"),
                    condition,
                    row,
                    _key_columns(sink, key, "s"),
                ),
                params,
            )
            for found in cursor.fetchall():
                errors.append(scope_error(key, found[1:], found[0]))
    sink.staged_rows -= len(errors)
    return errors


def _denied_rows(sink: CopySink, cursor: Any, keys: list[Key], pk: str) -> list[Any]:
    assert sink.row_permission is not None
    matched: set[Any] = set()
    for key in keys:
        cursor.execute(
            "SELECT DISTINCT t.%s FROM %s s JOIN %s t ON %s"
            % (pk, sink.stage, sink.table, _match(sink, key, "s", "t"))
        )
        matched.update(found[0] for found in cursor.fetchall())
    ordered = sorted(matched)
    manager = sink.model._base_manager.db_manager(sink.using)
    denied: set[Any] = set()
    for start in range(0, len(ordered), _PERMISSION_BATCH):
        batch = list(manager.filter(pk__in=ordered[start : start + _PERMISSION_BATCH]))
        denied.update(sink.row_permission(batch))
    return sorted(denied)


def _taken_key_errors(sink: CopySink, cursor: Any) -> list[RowError]:
    errors: list[RowError] = []
    row = _quote(sink.connection, ROW_COLUMN)
    for key in sink.keys:
        cursor.execute(
            "SELECT s.%s, %s FROM %s s JOIN %s t ON %s"
            % (
                row,
                _key_columns(sink, key, "s"),
                sink.stage,
                sink.table,
                _match(sink, key, "s", "t"),
            )
        )
        for found in cursor.fetchall():
            errors.append(key_error(sink.model, key, found[1:], found[0], None))
        cursor.execute(
            _repeats_sql(sink, key, "r.row_number, r.first_row, %s" % _key_columns(sink, key, "r"))
        )
        for found in cursor.fetchall():
            errors.append(key_error(sink.model, key, found[2:], found[0], found[1]))
    return errors


def _move_staged_rows(sink: CopySink) -> None:
    columns = ", ".join(sink.columns)
    selected = ", ".join("s.%s" % column for column in sink.columns)
    row = _quote(sink.connection, ROW_COLUMN)
    key = sink.keys[0]
    order = _key_columns(sink, key, "s")
    with sink.connection.cursor() as cursor:
        if sink.invalid_rows:
            cursor.execute(
                "DELETE FROM %s WHERE %s = ANY(%%s)" % (sink.stage, row),
                [sorted(sink.invalid_rows)],
            )
        if sink.policy != "update":
            # Rows sorted by the key go into the key's index much faster than in file
            # order, and two imports at once take the keys' locks in the same order.
            conflict = " ON CONFLICT DO NOTHING" if sink.policy == "skip" else ""
            cursor.execute(
                "INSERT INTO %s (%s) SELECT %s FROM %s s ORDER BY %s%s"
                % (sink.table, columns, selected, sink.stage, order, conflict)
            )
            if sink.policy == "skip":
                # The database's answer, not the count made before: an import running
                # at the same time may have created some of these keys since.
                sink.skipped += sink.created - cursor.rowcount
                sink.created = cursor.rowcount
            return
        targets = ", ".join(_quote_column(sink.connection, field) for field in key.fields)
        update_columns = [
            _quote_column(sink.connection, field)
            for field in [*sink.plan.mapped_fields, *sink.plan.auto_now_fields]
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
                "table": sink.table,
                "columns": columns,
                "selected": selected,
                "order": order,
                "stage": sink.stage,
                "not_null": _not_null(sink, key, "s"),
                "row": row,
                "targets": targets,
                "action": action,
            }
        )
        created, moved = cursor.fetchone()
        null_keys = sink.created - sink._keyed_created
        sink.created = created + null_keys
        # Rows repeating a key in the file count as updates of the row written once.
        sink.updated = sink.staged_rows - len(sink.invalid_rows) - sink.created
        # Rows without a key are created. An auto-incremented primary key left empty is
        # numbered by the database, past the explicit ids just written.
        new_columns = [
            column
            for field, column in zip(sink.plan.fields, sink.columns, strict=True)
            if not (field in key.fields and isinstance(field, _AUTO_FIELDS))
        ]
        if len(new_columns) < len(sink.columns):
            sink.reset_sequences()
        cursor.execute(
            "INSERT INTO %s (%s) SELECT %s FROM %s s WHERE NOT (%s)"
            % (
                sink.table,
                ", ".join(new_columns),
                ", ".join("s.%s" % column for column in new_columns),
                sink.stage,
                _not_null(sink, key, "s"),
            )
        )
