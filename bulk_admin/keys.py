"""Keys: which fields identify a row, and what happens when a row's key is taken.

A key is a unique field, a unique constraint or the primary key whose fields are all
mapped (or the ``--key`` fields). A row's key is *taken* when a row of the table has it
already or an earlier row of the file had it. The policy decides:

``error``
    the row is invalid;
``skip``
    the row is skipped (the first occurrence in the file wins);
``update``
    the existing row's mapped fields are updated (the last occurrence in the file wins).

:class:`KeyChecker` applies the policy in Python, chunk by chunk, for the ``bulk_create``
sink. The ``COPY`` sink applies the same rules in SQL on its staging table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, Literal

from django.db import connections, models
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from bulk_admin.conversion import Chunk, ConvertedRow, Plan, display_value
from bulk_admin.conversion.base import PLAIN_TYPES
from bulk_admin.exceptions import OptionError
from bulk_admin.results import RowError

Policy = Literal["error", "skip", "update"]
POLICIES: tuple[str, ...] = ("error", "skip", "update")
_LOOKUP_BATCH = 900
# Key fields whose values the database takes and returns unchanged, with their Python type:
# text and integers (a float or boolean key is looked up through the ORM).
_PLAIN_KEYS: dict[type, type] = {
    **{field: kind for field, kind in PLAIN_TYPES.items() if kind in (str, int)},
    models.AutoField: int,
    models.BigAutoField: int,
    models.SmallAutoField: int,
}


@dataclass(frozen=True)
class Key:
    """Fields that identify a row, and their positions in the plan's rows."""

    fields: tuple[models.Field, ...]  # type: ignore[type-arg]
    positions: tuple[int, ...]
    headers: tuple[str, ...]
    unique: bool

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(field.name for field in self.fields)

    @property
    def attnames(self) -> tuple[str, ...]:
        return tuple(field.attname for field in self.fields)

    def value(self, values: Sequence[Any]) -> tuple[Any, ...] | None:
        """Return the key of a row, or None when part of it is NULL (NULLs never clash)."""
        positions = self.positions
        if len(positions) == 1:  # the usual key, and called for every row
            value = values[positions[0]]
            return None if value is None else (value,)
        key = tuple(values[position] for position in positions)
        return None if None in key else key

    def describe(self, key: Sequence[Any]) -> str:
        return _(" and ").join(
            "%s “%s”" % (field.verbose_name, display_value(value))
            for field, value in zip(self.fields, key, strict=True)
        )


def _unique_sets(model: type[models.Model]) -> list[tuple[str, ...]]:
    """Return the field-name sets the database keeps unique, primary key first."""
    opts = model._meta
    sets: list[tuple[str, ...]] = [(opts.pk.name,)]
    for field in opts.concrete_fields:
        if field.unique and not field.primary_key:
            sets.append((field.name,))
    for names in opts.unique_together:
        sets.append(tuple(names))
    for constraint in opts.total_unique_constraints:
        sets.append(tuple(constraint.fields))
    unique: list[tuple[str, ...]] = []
    for names in sets:
        if names not in unique:
            unique.append(names)
    return unique


def resolve_keys(plan: Plan, names: Sequence[str] | None, policy: str) -> list[Key]:
    """Return the keys checked for ``plan``: the ``names`` given, or the default ones.

    Raise OptionError for an unknown or unmapped key field, an unknown policy, or an
    ``update`` key that the database does not keep unique.
    """
    if policy not in POLICIES:
        raise OptionError(
            _("Unknown conflict policy “%(policy)s”; use error, skip or update.")
            % {"policy": policy}
        )
    model = plan.model
    mapped = {field.name: position for position, field in enumerate(plan.mapped_fields)}
    headers = {column.mapping.target.field.name: column.mapping.header for column in plan.columns}
    unique_sets = _unique_sets(model)

    def make(field_names: Sequence[str]) -> Key:
        fields = tuple(model._meta.get_field(name) for name in field_names)
        return Key(
            fields=fields,  # type: ignore[arg-type]
            positions=tuple(mapped[name] for name in field_names),
            headers=tuple(headers[name] for name in field_names),
            unique=tuple(sorted(field_names)) in {tuple(sorted(s)) for s in unique_sets},
        )

    if names:
        resolved: list[str] = []
        for name in names:
            field: models.Field | models.ForeignObjectRel | None  # type: ignore[type-arg]
            try:
                field = model._meta.get_field(name)
            except Exception:
                field = next((f for f in model._meta.concrete_fields if f.attname == name), None)
            if field is None or not getattr(field, "concrete", False):
                raise OptionError(
                    _("%(model)s has no field “%(field)s” to use as a key.")
                    % {"model": capfirst(str(model._meta.verbose_name)), "field": name}
                )
            if field.name not in mapped:
                raise OptionError(
                    _("The key field “%(field)s” is not mapped to any column of the file.")
                    % {"field": field.name}
                )
            if field.name not in resolved:
                resolved.append(field.name)
        key = make(resolved)
        if policy == "update" and not key.unique:
            raise OptionError(
                _(
                    "Rows can only be updated by a key the database keeps unique; "
                    "%(fields)s is not a unique field or unique constraint of %(model)s."
                )
                % {"fields": ", ".join(resolved), "model": model._meta.verbose_name}
            )
        return [key]
    return [make(names_) for names_ in unique_sets if all(name in mapped for name in names_)]


class KeyChecker:
    """Apply the conflict policy in Python, chunk by chunk (the ``bulk_create`` path).

    Existing keys are looked up with one query per key per chunk; keys seen earlier in
    the file are remembered (memory grows with the number of distinct keys).
    """

    def __init__(
        self,
        plan: Plan,
        keys: list[Key],
        policy: str,
        using: str,
        *,
        scope: Any = None,
        row_permission: Any = None,
    ):
        self.plan = plan
        # Returns the primary keys of matched rows the user may not change.
        self.row_permission = row_permission if policy != "error" else None
        # Rows a skip or update may match; a key of a row outside it is an error.
        self.scope = scope if policy != "error" else None
        self.policy = policy
        # Updates are matched on one key only: the database updates by one conflict target.
        self.keys = keys[:1] if policy == "update" else keys
        self.using = using
        self.seen: list[dict[tuple[Any, ...], int]] = [{} for _key in self.keys]
        self.skipped = 0
        # "ABC" repeats "abc" where the database compares text case-insensitively.
        self.fold = _folds_case(using)

    def check(self, chunk: Chunk) -> tuple[list[ConvertedRow], list[ConvertedRow]]:
        """Return the chunk's rows to create and rows to update; record errors and skips."""
        if not self.keys:
            return chunk.rows, []
        existing = [self._existing(key, chunk.rows) for key in self.keys]
        outside: list[set[tuple[Any, ...]]] = [set() for _key in self.keys]
        if self.scope is not None:
            outside = [
                found - self._existing(key, chunk.rows, self.scope) if found else set()
                for key, found in zip(self.keys, existing, strict=True)
            ]
        if self.row_permission is not None:
            for index, key in enumerate(self.keys):
                matched = existing[index] - outside[index]
                if matched:
                    outside[index] |= self._denied(key, matched)
        creates: list[ConvertedRow] = []
        updates: list[ConvertedRow] = []
        for row in chunk.rows:
            row_number, values = row
            action = "create"
            errors: list[RowError] = []
            for index, key in enumerate(self.keys):
                value = key.value(values)
                if value is None:
                    continue
                seen = self.seen[index]
                seen_value = _fold(value) if self.fold else value
                first = seen.get(seen_value)
                taken = first is not None or value in existing[index]
                # A key counts as seen from the first row holding it, even when that row
                # turns out invalid, or is skipped for a later key: the COPY sink's
                # staging checks decide alike, key by key, so both sinks agree.
                if not (taken and self.policy == "skip"):
                    seen.setdefault(seen_value, row_number)
                if value in outside[index]:
                    errors.append(scope_error(key, value, row_number))
                    break
                if taken:
                    if self.policy == "update":
                        action = "update"
                    elif self.policy == "skip":
                        action = "skip"
                        break
                    else:
                        errors.append(self._error(key, value, row_number, first))
            if errors:
                chunk.errors.extend(errors)
                chunk.invalid += 1
                continue
            if action == "skip":
                self.skipped += 1
                continue
            (updates if action == "update" else creates).append(row)
        return creates, updates

    def _existing(
        self, key: Key, rows: list[ConvertedRow], queryset: Any = None
    ) -> set[tuple[Any, ...]]:
        values = {
            value for _row, row_values in rows if (value := key.value(row_values)) is not None
        }
        if not values:
            return set()
        manager = (
            self.plan.model._base_manager.db_manager(self.using)
            if queryset is None
            else queryset.using(self.using)
        )
        found: set[tuple[Any, ...]] = set()
        attnames = key.attnames
        ordered = list(values)
        plain = queryset is None and self._plain_sql(key, ordered)
        for start in range(0, len(ordered), _LOOKUP_BATCH):
            batch = ordered[start : start + _LOOKUP_BATCH]
            # Filter on the first field, compare whole keys here: portable to every backend.
            firsts = {value[0] for value in batch}
            if plain:
                found.update(self._select_plain(key, firsts))
                continue
            query = manager.filter(**{attnames[0] + "__in": firsts})
            found.update(tuple(row) for row in query.values_list(*attnames))
        if self.plan.using and _folds_case(self.using):
            folded = {_fold(value) for value in found}
            return {value for value in values if value in found or _fold(value) in folded}
        return found & values

    def _plain_sql(self, key: Key, values: list[tuple[Any, ...]]) -> bool:
        """Whether ``values`` may be looked up with a plain ``SELECT … WHERE … IN``.

        True for keys of text and integer columns of the model's own table, holding values of
        their Python type: the database takes and returns them as they are, so the ORM's
        per-value preparation (the most of a lookup's cost) changes nothing.
        """
        model = self.plan.model
        for index, field in enumerate(key.fields):
            kind = _PLAIN_KEYS.get(type(field))
            if kind is None or field.model is not model._meta.concrete_model:
                return False
            if set(map(type, map(itemgetter(index), values))) != {kind}:  # one pass in C
                return False
        return True

    def _select_plain(self, key: Key, firsts: set[Any]) -> list[tuple[Any, ...]]:
        connection = connections[self.using]
        quote = connection.ops.quote_name
        sql = "SELECT %s FROM %s WHERE %s IN (%s)" % (
            ", ".join(quote(str(field.column)) for field in key.fields),
            quote(self.plan.model._meta.db_table),
            quote(str(key.fields[0].column)),
            ", ".join(["%s"] * len(firsts)),
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, list(firsts))
            return [tuple(row) for row in cursor.fetchall()]

    def _denied(self, key: Key, values: set[tuple[Any, ...]]) -> set[tuple[Any, ...]]:
        """Return the keys among ``values`` whose existing row the user may not change."""
        assert self.row_permission is not None
        fold = _fold if self.fold else (lambda value: value)
        wanted = {fold(value): value for value in values}
        manager = self.plan.model._base_manager.db_manager(self.using)
        attnames = key.attnames
        ordered = sorted({value[0] for value in values}, key=str)
        denied: set[tuple[Any, ...]] = set()
        for start in range(0, len(ordered), _LOOKUP_BATCH):
            objects = [
                obj
                for obj in manager.filter(
                    **{attnames[0] + "__in": ordered[start : start + _LOOKUP_BATCH]}
                )
                if fold(tuple(getattr(obj, name) for name in attnames)) in wanted
            ]
            refused = set(self.row_permission(objects)) if objects else set()
            for obj in objects:
                if obj.pk in refused:
                    denied.add(wanted[fold(tuple(getattr(obj, name) for name in attnames))])
        return denied

    def _error(self, key: Key, value: tuple[Any, ...], row: int, first: int | None) -> RowError:
        return key_error(self.plan.model, key, value, row, first)


def key_error(
    model: type[models.Model], key: Key, value: Sequence[Any], row: int, first: int | None
) -> RowError:
    """Return the error of a row whose key is taken.

    ``first`` is the earlier row of the file with the same key, or None for the table.
    """
    if first is not None:
        message = _("Duplicate %(key)s: row %(first)d of the file has the same.") % {
            "key": key.describe(value),
            "first": first,
        }
    else:
        message = _("A %(model)s with %(key)s already exists.") % {
            "model": model._meta.verbose_name,
            "key": key.describe(value),
        }
    return RowError(
        row=row,
        column=key.headers[0],
        field=key.fields[0].name,
        value=display_value(value[0]),
        message=message,
    )


def scope_error(key: Key, value: Sequence[Any], row: int) -> RowError:
    """Return the error of a row whose key belongs to a row the user may not change."""
    return RowError(
        row=row,
        column=key.headers[0],
        field=key.fields[0].name,
        value=display_value(value[0]),
        message=_("A row with this %(field)s exists that you may not change.")
        % {"field": key.fields[0].verbose_name},
    )


def _folds_case(using: str) -> bool:
    from django.db import connections

    return connections[using].vendor == "mysql"


def _fold(value: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(v.casefold() if isinstance(v, str) else v for v in value)
