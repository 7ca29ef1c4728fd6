"""``bulk_create`` sink: batched inserts on any database (SQLite, MariaDB/MySQL, PostgreSQL).

Keys are checked in Python (``KeyChecker``), then the rows are written in batches. When every
field of the plan is one whose saving Django does not customise (no ``pre_save`` of its own
beyond ``auto_now``, no SQL placeholder), the converted rows go straight into a multi-row
``INSERT … VALUES (…), (…)`` built from the backend's own ``insert_statement`` and
``on_conflict_suffix_sql``, each value adapted by its field's ``get_db_prep_save``: what
``QuerySet.bulk_create`` sends, without a model instance per row or the ORM's SQL compiler
(issue 9). Other models (multi-table inheritance, custom ``pre_save``, placeholders), and
PostgreSQL, where Django's own statement is faster, go through ``bulk_create`` itself.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from itertools import chain
from typing import Any

from django.db import connections, models
from django.db.models.constants import OnConflict

from bulk_admin.conversion import Chunk, ConvertedRow, Plan
from bulk_admin.conversion.base import PLAIN_TYPES
from bulk_admin.keys import KeyChecker
from bulk_admin.sinks.base import Sink, _quote, _quote_column

# ``pre_save`` methods that only read the attribute or fill ``auto_now``/``auto_now_add``,
# which the plan fills when they are not mapped (with the import's one timestamp, as COPY
# does; a mapped one keeps bulk_create).
_PLAIN_PRE_SAVE = {
    models.Field.pre_save,
    models.DateField.pre_save,
    models.DateTimeField.pre_save,
    models.TimeField.pre_save,
}


def direct_insert_allowed(plan: Plan) -> bool:
    """Whether the plan's rows may be inserted without model instances."""
    meta = plan.model._meta
    if connections[plan.using].vendor == "postgresql":
        # Django's own bulk_create sends PostgreSQL one array per column (UNNEST), which was
        # faster than a VALUES list of one parameter per value (docs/performance.md).
        return False
    concrete = meta.concrete_model
    if any(parent._meta.concrete_model is not concrete for parent in meta.get_parent_list()):
        return False  # multi-table inheritance: bulk_create refuses it, with its message
    if not plan.fields:
        return False  # nothing to write: bulk_create writes the backend's "DEFAULT VALUES"
    if any(
        getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
        for field in plan.mapped_fields
    ):
        return False  # a mapped auto_now field: bulk_create's pre_save puts "now" in it
    return all(
        type(field).pre_save in _PLAIN_PRE_SAVE and not hasattr(field, "get_placeholder")
        for field in plan.fields
    )


# Django's own fields whose ``get_db_prep_save`` depends on nothing but the value (and the
# connection): a value met again is adapted once. Foreign keys count when their target does.
_PURE_PREP = {
    models.DateField,
    models.DateTimeField,
    models.TimeField,
    models.DecimalField,
    models.DurationField,
    models.UUIDField,
    models.AutoField,
    models.BigAutoField,
    models.SmallAutoField,
    *PLAIN_TYPES,
}
# Values remembered by equality: equal values of these exact types are written alike
# (not so Decimal("1.0") and Decimal("1.00"), or one instant in two time zones: those are
# remembered only when the same object comes again, as a constant default or timestamp).
_EQUAL_IS_SAME = (int, str, datetime.date)
_REMEMBERED = 10_000


def _is_pure(field: models.Field) -> bool:  # type: ignore[type-arg]
    if type(field) in (models.ForeignKey, models.OneToOneField):
        assert isinstance(field, models.ForeignKey)
        return _is_pure(field.target_field)
    return type(field) in _PURE_PREP


def _preparer(field: models.Field, connection: Any) -> Callable[[Any], Any]:  # type: ignore[type-arg]
    """Return the function adapting a value of ``field`` as ``bulk_create`` does.

    Django's own (pure) fields are never given None: they write it as NULL.
    """
    prepare = field.get_db_prep_save
    if not _is_pure(field):
        return lambda value: prepare(value, connection)
    # A foreign key's few distinct keys, a date column, a constant default or timestamp.
    remembered: dict[tuple[type, Any], Any] = {}
    last: list[Any] = [_NOTHING, None]

    def prepared(value: Any) -> Any:
        kind = type(value)
        if kind in _EQUAL_IS_SAME:
            try:
                return remembered[kind, value]
            except KeyError:
                result = prepare(value, connection)
                if len(remembered) < _REMEMBERED:  # full: the values met first stay
                    remembered[kind, value] = result
                return result
        if value is last[0]:
            return last[1]
        result = prepare(value, connection)
        last[0], last[1] = value, result
        return result

    return prepared


_NOTHING = object()


class DirectInsert:
    """Multi-row ``INSERT`` statements of a plan's fields, from converted rows."""

    def __init__(self, plan: Plan, connection: Any, batch_size: int):
        self.connection = connection
        self.fields = list(plan.fields)
        # (position, adapter, the type written as it is or None, whether NULL is adapted too)
        # of every column: Django's own fields write None as NULL, another field may not.
        self.prepare = [
            (
                position,
                _preparer(field, connection),
                PLAIN_TYPES.get(type(field)),
                not _is_pure(field),
            )
            for position, field in enumerate(self.fields)
        ]
        self.table = _quote(connection, plan.model._meta.db_table)
        self.columns = ", ".join(_quote_column(connection, field) for field in self.fields)
        self.row_sql = "(%s)" % ", ".join(["%s"] * len(self.fields))
        # As bulk_create: the caller's batch size, within what the backend accepts.
        most = max(connection.ops.bulk_batch_size(self.fields, [None] * batch_size), 1)
        self.batch_size = min(batch_size, most)
        self._sql: dict[tuple[int, Any, tuple[str, ...], tuple[str, ...]], str] = {}

    def _statement(
        self,
        count: int,
        on_conflict: Any,
        update_columns: tuple[str, ...],
        unique_columns: tuple[str, ...],
    ) -> str:
        cache_key = (count, on_conflict, update_columns, unique_columns)
        sql = self._sql.get(cache_key)
        if sql is None:
            ops = self.connection.ops
            suffix = ops.on_conflict_suffix_sql(
                self.fields, on_conflict, list(update_columns), list(unique_columns)
            )
            sql = "%s %s (%s) VALUES %s%s" % (
                ops.insert_statement(on_conflict=on_conflict),
                self.table,
                self.columns,
                ", ".join([self.row_sql] * count),
                " " + suffix if suffix else "",
            )
            self._sql[cache_key] = sql
        return sql

    def write(
        self,
        rows: Sequence[ConvertedRow],
        *,
        on_conflict: Any = None,
        update_fields: Sequence[models.Field] = (),  # type: ignore[type-arg]
        unique_fields: Sequence[models.Field] = (),  # type: ignore[type-arg]
    ) -> list[ConvertedRow]:
        """Write ``rows``; return those left to ``bulk_create``: batches holding an expression."""
        update_columns = tuple(str(field.column) for field in update_fields)
        unique_columns = tuple(str(field.column) for field in unique_fields)
        left: list[ConvertedRow] = []
        with self.connection.cursor() as cursor:
            for start in range(0, len(rows), self.batch_size):
                batch = rows[start : start + self.batch_size]
                params = self._params([values for _row, values in batch])
                if params is None:
                    left.extend(batch)
                    continue
                cursor.execute(
                    self._statement(len(batch), on_conflict, update_columns, unique_columns),
                    params,
                )
        return left

    def _params(self, batch: list[list[Any]]) -> list[Any] | None:
        """Return the statement's parameters for ``batch``: every row's values, adapted.

        None if a value is an expression (a hook's or a default's ``Now()``), which only the
        ORM compiles.
        """
        columns: list[Any] = list(zip(*batch, strict=True))
        for position, prepare, same, adapt_null in self.prepare:
            column = columns[position]
            kinds = set(map(type, column))  # one pass in C over the column
            kinds.discard(type(None))
            if any(hasattr(kind, "resolve_expression") for kind in kinds):
                return None
            if same is not None and (not kinds or kinds == {same}):
                # A text, integer, boolean or float column holding only values of its type
                # (or NULL) is written as it is.
                continue
            if adapt_null:
                columns[position] = [prepare(value) for value in column]
            else:
                columns[position] = [None if value is None else prepare(value) for value in column]
        return list(chain.from_iterable(zip(*columns, strict=True)))


class BulkCreateSink(Sink):
    """Batched inserts with ``ignore_conflicts`` or ``update_conflicts`` semantics."""

    method = "bulk_create"

    def begin(self) -> None:
        self.checker = KeyChecker(
            self.plan,
            self.keys,
            self.policy,
            self.using,
            scope=self.scope,
            row_permission=self.row_permission,
        )
        self.attnames = self.plan.attnames
        self.update_fields = self._update_fields()
        self.direct: DirectInsert | None = None
        if direct_insert_allowed(self.plan):
            self.direct = DirectInsert(self.plan, self.connection, self.batch_size)

    def _update_fields(self) -> list[str]:
        key_names = set(self.checker.keys[0].names) if self.checker.keys else set()
        names = [
            field.name
            for field in self.plan.mapped_fields
            if field.name not in key_names and not field.primary_key
        ]
        names += [field.name for field in self.plan.auto_now_fields if field.name not in names]
        return names

    def add(self, chunk: Chunk, write: bool) -> None:
        creates, updates = self.checker.check(chunk)
        self.created += len(creates)
        self.updated += len(updates)
        self.skipped = self.checker.skipped
        # The key check may have found invalid rows: all-or-nothing then writes nothing.
        if not write or (chunk.invalid and not self.skip_invalid):
            return
        manager = self.model._base_manager.db_manager(self.using)
        if creates:
            # Keys were checked, but a concurrent import may have taken one since.
            # Only PostgreSQL's ON CONFLICT DO NOTHING ignores key conflicts alone:
            # SQLite's INSERT OR IGNORE also drops rows failing a CHECK or NOT NULL
            # constraint, and MySQL's INSERT IGNORE stores adjusted values instead.
            ignore = self.policy == "skip" and self.connection.vendor == "postgresql"
            if self.direct is not None:
                creates = self.direct.write(
                    creates, on_conflict=OnConflict.IGNORE if ignore else None
                )
            if creates:
                manager.bulk_create(
                    self._instances(creates), batch_size=self.batch_size, ignore_conflicts=ignore
                )
        if updates:
            self._write_updates(manager, updates)

    def _write_updates(self, manager: Any, rows: list[ConvertedRow]) -> None:
        key = self.checker.keys[0]
        # One statement must not touch a row twice (PostgreSQL refuses): last wins.
        latest: dict[tuple[Any, ...], ConvertedRow] = {}
        for row in rows:
            latest[key.value(row[1])] = row  # type: ignore[index]
        unique = list(latest.values())
        with_target = self.connection.features.supports_update_conflicts_with_target
        if self.direct is not None:
            if not self.update_fields:
                unique = self.direct.write(unique, on_conflict=OnConflict.IGNORE)
            else:
                by_name = {field.name: field for field in self.plan.fields}
                unique = self.direct.write(
                    unique,
                    on_conflict=OnConflict.UPDATE,
                    update_fields=[by_name[name] for name in self.update_fields],
                    unique_fields=list(key.fields) if with_target else [],
                )
            if not unique:
                return
        instances = self._instances(unique)
        if not self.update_fields:
            manager.bulk_create(instances, batch_size=self.batch_size, ignore_conflicts=True)
            return
        kwargs: dict[str, Any] = {"update_conflicts": True, "update_fields": self.update_fields}
        if with_target:
            kwargs["unique_fields"] = list(key.names)
        manager.bulk_create(instances, batch_size=self.batch_size, **kwargs)

    def _instances(self, rows: list[ConvertedRow]) -> list[models.Model]:
        model = self.model
        attnames = self.attnames
        return [model(**dict(zip(attnames, values, strict=True))) for _row, values in rows]

    def commit(self) -> None:
        self.reset_sequences()
