"""The plan: compiled conversion of one mapping, chunks of converted rows, foreign keys."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field as dataclass_field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connections, models
from django.utils import timezone
from django.utils.translation import gettext as _

from bulk_admin.conf import conf
from bulk_admin.conversion.base import (
    _LOOKUP_BATCH,
    _PLAIN,
    ConvertedRow,
    Converter,
    _messages,
    display_value,
)
from bulk_admin.conversion.converters import _with_null_markers, build_converter, empty_rule
from bulk_admin.mapping import ColumnMapping, FileMapping, Target
from bulk_admin.reading import ReadingOptions
from bulk_admin.results import BadCell, RowError
from bulk_admin.sources import Row


@dataclass(slots=True)
class _Column:
    position: int  # in the written row
    mapping: ColumnMapping
    convert: Converter
    empty: Callable[[], Any]


@dataclass(slots=True)
class _Fill:
    position: int
    field: models.Field  # type: ignore[type-arg]
    value: Any = None
    call: Callable[[], Any] | None = None


@dataclass(slots=True)
class _Relation:
    position: int
    column: ColumnMapping


@dataclass
class Chunk:
    """Converted rows of one chunk, and the errors found in it so far."""

    rows: list[ConvertedRow] = dataclass_field(default_factory=list)
    errors: list[RowError] = dataclass_field(default_factory=list)
    invalid: int = 0
    skipped: int = 0
    plan: Plan | None = None
    """The plan that converted the rows: ``plan.fields`` names the values of each row."""

    def __len__(self) -> int:
        return len(self.rows)

    def reject(
        self,
        row_number: int,
        message: str,
        *,
        column: str | None = None,
        field: str | None = None,
        value: Any = None,
    ) -> None:
        """Move row ``row_number`` out of the valid rows, reporting ``message`` for it."""
        before = len(self.rows)
        self.rows = [row for row in self.rows if row[0] != row_number]
        if len(self.rows) != before:
            self.invalid += 1
        self.errors.append(
            RowError(
                row=row_number,
                column=column,
                field=field,
                value=display_value(value),
                message=message,
            )
        )

    def skip(self, *row_numbers: int) -> None:
        """Move rows ``row_numbers`` out of the valid rows unwritten; count them skipped."""
        skipped = set(row_numbers)
        before = len(self.rows)
        self.rows = [row for row in self.rows if row[0] not in skipped]
        self.skipped += before - len(self.rows)


class Plan:
    """Compiled conversion of one mapping; turns source rows into complete rows.

    ``fields`` lists the model fields of every written row, in order: the mapped fields,
    then the fields filled from defaults and ``auto_now``/``auto_now_add``. An unmapped
    auto-incremented primary key is left to the database.
    """

    def __init__(
        self,
        mapping: FileMapping,
        *,
        using: str,
        now: datetime.datetime | None = None,
        converters: Mapping[str, Converter] | None = None,
        empty_cells: Mapping[str, Callable[[], Any]] | None = None,
        reading: ReadingOptions | None = None,
        columnar: bool = True,
    ):
        self.mapping = mapping
        self.model = mapping.model
        self.using = using
        self.now = now or timezone.now()
        self.columns: list[_Column] = []
        self.relations: list[_Relation] = []
        self.prefetched: dict[int, dict[Any, Any]] = {}
        # {position: {lookup value: key}} found by earlier chunks (see related_keys).
        self._related_found: dict[int, dict[Any, Any]] = {}
        self.fields: list[models.Field] = []  # type: ignore[type-arg]
        self.mapped_fields: list[models.Field] = []  # type: ignore[type-arg]
        self.auto_now_fields: list[models.Field] = []  # type: ignore[type-arg]
        self.reading = reading = reading or _PLAIN
        nulls = reading.nulls
        fills: list[_Fill] = []
        for column in mapping.columns:
            target = column.target
            value_field = target.lookup if target.lookup is not None else target.field
            position = len(self.fields)
            self.fields.append(target.field)
            self.mapped_fields.append(target.field)
            empty = (empty_cells or {}).get(target.field.name) or empty_rule(target.field)
            convert = build_converter(
                value_field, (converters or {}).get(target.field.name), reading
            )
            if nulls:
                convert = _with_null_markers(convert, empty, nulls)
            self.columns.append(
                _Column(position=position, mapping=column, convert=convert, empty=empty)
            )
            if target.is_relation:
                self.relations.append(_Relation(position=position, column=column))
        mapped = {field.name for field in self.fields}
        for field in self.model._meta.concrete_fields:
            if field.name in mapped or getattr(field, "generated", False):
                continue
            auto_now = getattr(field, "auto_now", False)
            auto_now_add = getattr(field, "auto_now_add", False)
            if auto_now or auto_now_add:
                now = (
                    self.now
                    if timezone.is_naive(self.now)
                    or field.get_internal_type() != "DateTimeField"
                    or settings.USE_TZ
                    else timezone.make_naive(self.now)
                )
                value: Any = now
                if field.get_internal_type() == "DateField":
                    value = timezone.localdate(self.now) if settings.USE_TZ else self.now.date()
                elif field.get_internal_type() == "TimeField":
                    value = (timezone.localtime(self.now) if settings.USE_TZ else self.now).time()
                fill = _Fill(position=len(self.fields), field=field, value=value)
                if auto_now:
                    self.auto_now_fields.append(field)
            elif field.primary_key and not field.has_default():
                continue  # the database numbers the rows
            elif field.has_default():
                if callable(field.default):
                    fill = _Fill(position=len(self.fields), field=field, call=field.get_default)
                else:
                    fill = _Fill(position=len(self.fields), field=field, value=field.get_default())
            elif getattr(field, "db_default", models.NOT_PROVIDED) is not models.NOT_PROVIDED:
                continue  # the database fills it
            elif field.null:
                fill = _Fill(position=len(self.fields), field=field, value=None)
            else:
                fill = _Fill(position=len(self.fields), field=field, value=field.get_default())
            self.fields.append(field)
            fills.append(fill)
        self._constant_fills = [(f.position, f.value) for f in fills if f.call is None]
        self._callable_fills = [(f.position, f.call) for f in fills if f.call is not None]
        self.width = len(self.fields)
        self.columnar: Any = None
        if columnar:
            from bulk_admin.conversion.columnar import ColumnarPlan

            self.columnar = ColumnarPlan(self, converters=converters, empty_cells=empty_cells)

    @property
    def attnames(self) -> list[str]:
        return [field.attname for field in self.fields]

    @property
    def writes_primary_key(self) -> bool:
        return any(field.primary_key for field in self.mapped_fields)

    def convert(self, rows: Sequence[Row]) -> Chunk:
        """Convert ``rows`` and resolve their foreign keys; return the chunk."""
        if self.columnar is not None:
            return self.columnar.convert(rows)  # type: ignore[no-any-return]
        return self.convert_cells(rows)

    def convert_cells(self, rows: Sequence[Row]) -> Chunk:
        """Convert ``rows`` cell by cell (the reference the column-wise path matches)."""
        chunk = Chunk(plan=self)
        width = self.width
        template = [None] * width
        for position, value in self._constant_fills:
            template[position] = value
        callable_fills = self._callable_fills
        columns = self.columns
        ok_rows = chunk.rows
        for row_number, cells in rows:
            values = list(template)
            row_errors: list[RowError] | None = None
            ncells = len(cells)
            for column in columns:
                index = column.mapping.index
                cell = cells[index] if index < ncells else None
                try:
                    if cell is None or (cell.__class__ is str and not cell.strip()):
                        values[column.position] = column.empty()
                    elif cell.__class__ is BadCell:
                        raise ValidationError(cell.message)
                    else:
                        values[column.position] = column.convert(cell)
                except ValidationError as error:
                    if row_errors is None:
                        row_errors = []
                    row_errors.append(
                        RowError(
                            row=row_number,
                            column=column.mapping.header,
                            field=column.mapping.target.path,
                            value=display_value(cell),
                            message=_messages(error),
                        )
                    )
            if row_errors is not None:
                chunk.errors.extend(row_errors)
                chunk.invalid += 1
                continue
            for position, call in callable_fills:
                values[position] = call()
            ok_rows.append((row_number, values))
        if self.relations and chunk.rows:
            self._resolve_relations(chunk)
        return chunk

    def prefetch_relations(self, limit: int) -> bool:
        """Load every relation's ``{lookup value: key}`` once, if each related table is small.

        Return False (and load nothing) when a related table has more than ``limit`` rows.
        After a prefetch, converting a chunk runs no query: what a streamed ``COPY``, which
        holds the connection, needs.
        """
        loaded: dict[int, dict[Any, Any]] = {}
        for relation in self.relations:
            target = relation.column.target
            related = target.field.related_model
            assert target.lookup is not None
            assert related is not None and not isinstance(related, str)
            manager = related._base_manager.db_manager(self.using)
            if manager.count() > limit:
                return False
            field = target.field
            assert isinstance(field, models.ForeignObject)
            loaded[relation.position] = dict(
                manager.values_list(target.lookup.attname, field.target_field.attname)
            )
        self.prefetched = loaded
        return True

    def related_keys(self, position: int, target: Target, wanted: Iterable[Any]) -> dict[Any, Any]:
        """Return ``{lookup value: key}`` covering the ``wanted`` values that exist.

        Prefetched keys, or the keys found by earlier chunks of this import plus one lookup of
        the values not seen yet: the names of a related table repeat from chunk to chunk
        (issue 9). Values not found are looked up again by the next chunk that holds them;
        at most ``BULK_ADMIN_PREFETCH_LIMIT`` keys per relation are remembered.
        """
        if position in self.prefetched:
            return self.prefetched[position]
        related = target.field.related_model
        assert related is not None and not isinstance(related, str)
        if related._meta.concrete_model is self.model._meta.concrete_model:
            # A foreign key to the imported table itself: a chunk may rename or add the rows
            # a later chunk names, so every chunk looks its values up again.
            return lookup_related(target, wanted, self.using)
        known = self._related_found.setdefault(position, {})
        new = [value for value in wanted if value not in known]
        if not new:
            return known
        found = lookup_related(target, new, self.using)
        if len(known) + len(found) > conf.PREFETCH_LIMIT:
            return {**known, **found}
        known.update(found)
        return known

    def _resolve_relations(self, chunk: Chunk) -> None:
        """Replace looked-up values by related keys; one query per relation per chunk."""
        connection = connections[self.using]
        fold = connection.vendor == "mysql"  # MySQL collations compare case-insensitively
        bad_rows: dict[int, list[RowError]] = {}
        for relation in self.relations:
            target: Target = relation.column.target
            assert target.lookup is not None
            position = relation.position
            if position in self.prefetched:
                found = self.prefetched[position]
            else:
                wanted = {
                    values[position] for _row, values in chunk.rows if values[position] is not None
                }
                if not wanted:
                    continue
                found = self.related_keys(position, target, wanted)
            folded = {}
            if fold:
                folded = {
                    (key.casefold() if isinstance(key, str) else key): value
                    for key, value in found.items()
                }
            for row_number, values in chunk.rows:
                key = values[position]
                if key is None:
                    continue
                try:
                    values[position] = found[key]
                except KeyError:
                    folded_key = key.casefold() if fold and isinstance(key, str) else None
                    if folded_key is not None and folded_key in folded:
                        values[position] = folded[folded_key]
                        continue
                    bad_rows.setdefault(row_number, []).append(
                        missing_related(relation.column, row_number, key)
                    )
        if bad_rows:
            chunk.rows = [(row, values) for row, values in chunk.rows if row not in bad_rows]
            for errors in bad_rows.values():
                chunk.errors.extend(errors)
            chunk.invalid += len(bad_rows)


def missing_related(column: ColumnMapping, row: int, key: Any) -> RowError:
    """Return the error of a row whose foreign key ``key`` names no related row."""
    target = column.target
    assert target.lookup is not None
    return RowError(
        row=row,
        column=column.header,
        field=target.path,
        value=display_value(key),
        message=_("No %(model)s with %(field)s “%(value)s” exists.")
        % {
            "model": target.field.related_model._meta.verbose_name,  # type: ignore[union-attr]
            "field": target.lookup.verbose_name,
            "value": display_value(key),
        },
    )


def lookup_related(target: Target, values: Iterable[Any], using: str) -> dict[Any, Any]:
    """Return ``{lookup value: foreign key value}`` for the related rows that exist."""
    assert target.lookup is not None
    # Only a foreign key has a lookup (see mapping.resolve_path).
    assert isinstance(target.field, models.ForeignObject)
    related = target.field.related_model
    key_attname = target.field.target_field.attname
    lookup_attname = target.lookup.attname
    manager = related._base_manager.db_manager(using)
    found: dict[Any, Any] = {}
    values = list(values)
    for start in range(0, len(values), _LOOKUP_BATCH):
        batch = values[start : start + _LOOKUP_BATCH]
        query = manager.filter(**{lookup_attname + "__in": batch})
        if key_attname == lookup_attname:
            found.update((value, value) for value in query.values_list(lookup_attname, flat=True))
        else:
            found.update(query.values_list(lookup_attname, key_attname))
    return found
