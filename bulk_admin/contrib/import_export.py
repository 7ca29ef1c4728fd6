"""Run django-import-export resources on bulk_admin's fast path.

A project that imports with django-import-export keeps its ``ModelResource`` classes; this
module reads one and returns the bulk_admin import options that behave the same::

    from bulk_admin.contrib.import_export import options_from_resource
    from bulk_admin.importer import import_file

    result = import_file(Book, "books.csv", **options_from_resource(BookResource))

What carries over: the resource's import fields and column names, ``import_id_fields`` (rows
with a known key are updated), ``skip_unchanged``, ``force_init_instance``, ``using_db``, the
widgets' parsing rules, ``ForeignKeyWidget`` lookups (made set-based) and ``Field(default=...)``.
What cannot run in bulk (per-row hooks, many-to-many columns, a custom ``Field.save``) makes
:func:`analyse_resource` raise :class:`UnsupportedResource`, whose message names the hook and
the batch hook of bulk_admin to move it to. ``docs/import-export.md`` has the whole story.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field as dataclass_field
from typing import IO, Any

from django.core.exceptions import ImproperlyConfigured, ObjectDoesNotExist, ValidationError
from django.db import DatabaseError, models
from django.utils.translation import gettext as _
from import_export import fields as ie_fields, widgets as ie_widgets
from import_export.instance_loaders import CachedInstanceLoader, ModelInstanceLoader
from import_export.resources import ModelResource

from bulk_admin.conversion import Chunk, Converter, display_value, empty_rule
from bulk_admin.exceptions import BulkAdminError, MappingError, SourceError
from bulk_admin.importer import Importer, ImportOptions, ProgressCallback
from bulk_admin.keys import _unique_sets
from bulk_admin.results import FileInfo, ImportResult
from bulk_admin.sources.base import Row, Source, _check_width, _clean_header, _is_blank, _Limits

__all__ = [
    "CODE_OPTIONS",
    "TABLIB_MAX_SIZE",
    "ResourceAnalysis",
    "SkipUnchanged",
    "UnsupportedResource",
    "analyse_resource",
    "import_with_format",
    "open_with_format",
    "options_from_resource",
    "resource_for_admin",
]

CODE_OPTIONS: tuple[str, ...] = ("converters", "empty_cells", "chunk_hooks", "header_hook")
"""Options of :func:`options_from_resource` that hold code; the others are JSON-serialisable."""

TABLIB_MAX_SIZE = 16 * 1024 * 1024
"""Largest file :func:`open_with_format` reads: tablib holds the whole file, several times
its size, in memory."""

_LOOKUP_BATCH = 900

# Resource methods that import-export calls per row (or with the whole dataset or result)
# and that bulk_admin cannot call; the value says where the same work goes instead.
_HOOKS: dict[str, str] = {
    "import_data": "chunk",
    "import_data_inner": "chunk",
    "before_import": "chunk",
    "after_import": "signal",
    "before_import_row": "chunk",
    "after_import_row": "signal",
    "import_row": "chunk",
    "get_or_init_instance": "lookup",
    "get_instance": "lookup",
    "get_queryset": "lookup",
    "init_instance": "chunk",
    "after_init_instance": "chunk",
    "after_import_instance": "chunk",
    "import_instance": "chunk",
    "import_obj": "chunk",
    "import_field": "converter",
    "skip_row": "skip",
    "for_delete": "delete",
    "validate_instance": "reject",
    "before_save_instance": "chunk",
    "save_instance": "chunk",
    "do_instance_save": "chunk",
    "after_save_instance": "signal",
    "save_m2m": "signal",
}
# Called by import-export only in its bulk mode (``use_bulk = True``).
_BULK_HOOKS: dict[str, str] = {"bulk_create": "chunk", "bulk_update": "chunk"}

# Widgets whose ``clean()`` is a pure function of the cell: called per cell, as import-export does.
_STANDARD_WIDGETS = (
    ie_widgets.IntegerWidget,
    ie_widgets.DecimalWidget,
    ie_widgets.FloatWidget,
    ie_widgets.BooleanWidget,
    ie_widgets.DateWidget,
    ie_widgets.DateTimeWidget,
    ie_widgets.TimeWidget,
    ie_widgets.DurationWidget,
    ie_widgets.JSONWidget,
    ie_widgets.SimpleArrayWidget,
)
# Methods that decide how a ForeignKeyWidget finds the related row.
_FK_METHODS = ("clean", "get_queryset", "get_lookup_kwargs", "get_instance_by_lookup_fields")


class UnsupportedResource(BulkAdminError):
    """The resource does something that bulk imports cannot do; the message says what to change."""


def _advice(kind: str) -> str:
    if kind == "signal":
        return _(
            "Do that work once per import in a receiver of the bulk_admin.signals.import_finished "
            "signal, which is sent with the import's result after the rows are written."
        )
    if kind == "converter":
        return _(
            "Convert that column with a converter (the converters option: {field name: "
            "function(cell)}) or change whole chunks of rows in a chunk hook (the chunk_hooks "
            "option, or bulk_import_chunk_hooks on the admin)."
        )
    if kind == "skip":
        return _(
            "Skip rows in a chunk hook (the chunk_hooks option, or bulk_import_chunk_hooks on the "
            "admin) with chunk.skip(row_number), deciding for a whole chunk of rows at once."
        )
    if kind == "reject":
        return _(
            "Reject rows in a chunk hook (the chunk_hooks option, or bulk_import_chunk_hooks on "
            "the admin) with chunk.reject(row_number, message), checking a whole chunk at once."
        )
    if kind == "lookup":
        return _(
            "The fast path finds the rows to update by import_id_fields, in SQL, among all rows "
            "of the table; refuse the rows you must not touch in a chunk hook with "
            "chunk.reject(row_number, message)."
        )
    if kind == "delete":
        return _("The fast path never deletes rows; delete them before or after the import.")
    return _(
        "Do that work on whole chunks of converted rows in a chunk hook (the chunk_hooks option, "
        "or bulk_import_chunk_hooks on the admin): it may change values, reject rows "
        "(chunk.reject) or skip them (chunk.skip) before they are written."
    )


def _overrides(klass: type, name: str, base: type) -> bool:
    """Return True if ``klass`` gets ``name`` from a class that ``base`` does not inherit."""
    for owner in klass.__mro__:
        if name in vars(owner):
            return owner not in base.__mro__
    return False


# --- reading a resource --------------------------------------------------------------------


@dataclass(frozen=True)
class _Column:
    column: str
    name: str
    field: models.Field  # type: ignore[type-arg]
    path: str
    lookup: str | None = None
    converter: Converter | None = None
    empty: Callable[[], Any] | None = None
    per_cell: bool = False


@dataclass
class ResourceAnalysis:
    """What :func:`analyse_resource` found in a resource, and the options it implies."""

    resource: Any
    model: type[models.Model]
    columns: list[_Column] = dataclass_field(default_factory=list)
    many_to_many: dict[str, str] = dataclass_field(default_factory=dict)
    """``{column name: resource field}`` of many-to-many fields (refused when in the file)."""
    keys: list[str] = dataclass_field(default_factory=list)
    key_columns: list[str] = dataclass_field(default_factory=list)
    default_keys: bool = True
    """True when ``import_id_fields`` is the default ``["id"]``, which a file may lack."""
    create_only: bool = False
    skip_unchanged: bool = False
    database: str | None = None

    @property
    def per_cell_columns(self) -> list[str]:
        """Return the columns whose widget (or Field) ``clean()`` is called once per cell."""
        return [column.column for column in self.columns if column.per_cell]

    def for_headers(self, headers: Sequence[str] | None) -> dict[str, Any]:
        """Return ``mapping``, ``keys`` and ``on_conflict`` for a file with ``headers``.

        Columns of the resource that the file lacks are left out, as import-export ignores
        them. Raise UnsupportedResource for a many-to-many column in the file, MappingError
        when the file lacks a column of ``import_id_fields`` other than the default ``id``.
        """
        present = None if headers is None else set(headers)
        if present is not None:
            for column, name in self.many_to_many.items():
                if column in present:
                    raise UnsupportedResource(
                        _(
                            "The column “%(column)s” sets the many-to-many field “%(field)s”, "
                            "which bulk imports cannot write. Remove the column from the file "
                            "(and import the relation separately), or use import-export's "
                            "own Import for this file."
                        )
                        % {"column": column, "field": name}
                    )
        mapping = {
            column.column: column.path
            for column in self.columns
            if present is None or column.column in present
        }
        options: dict[str, Any] = {"mapping": mapping, "keys": None, "on_conflict": "error"}
        if self.create_only or not self.keys:
            return options
        missing = [
            column for column in self.key_columns if present is not None and column not in present
        ]
        if not missing:
            options["keys"] = list(self.keys)
            options["on_conflict"] = "update"
        elif not self.default_keys:
            raise MappingError(
                _(
                    "The file has no column %(columns)s, which import_id_fields needs to find "
                    "the rows to update."
                )
                % {"columns": ", ".join("“%s”" % column for column in missing)}
            )
        return options


def _model_field(model: type[models.Model], attribute: str) -> models.Field | None:  # type: ignore[type-arg]
    try:
        found = model._meta.get_field(attribute)
    except Exception:
        found = None
    if found is None:
        for candidate in model._meta.concrete_fields:
            if candidate.attname == attribute:
                return candidate
        return None
    return found  # type: ignore[return-value]


def _instance(resource: Any) -> Any:
    if isinstance(resource, type):
        if not issubclass(resource, ModelResource):
            raise UnsupportedResource(
                _(
                    "%(resource)s is not a ModelResource; only model resources can be "
                    "imported in bulk."
                )
                % {"resource": resource.__name__}
            )
        return resource()
    if not isinstance(resource, ModelResource):
        raise UnsupportedResource(
            _("%(resource)s is not a ModelResource; only model resources can be imported in bulk.")
            % {"resource": type(resource).__name__}
        )
    return resource


def _restricts_rows(resource: Any, model: type[models.Model]) -> bool:
    """Return True if ``get_queryset()`` hides rows from the instance loader."""
    if not _overrides(type(resource), "get_queryset", ModelResource):
        return False
    try:
        query = resource.get_queryset()
        return bool(query.model is not model or query.query.where or query.query.is_sliced)
    except Exception:
        return True


def analyse_resource(resource: Any) -> ResourceAnalysis:
    """Read a ``ModelResource`` (class or instance); raise UnsupportedResource if not bulk-able.

    Checks every overridden per-row hook, the instance loader, ``Model.clean()`` under
    ``clean_model_instances`` and each import field, and builds the columns' field paths,
    converters and empty-cell values.
    """
    resource = _instance(resource)
    klass = type(resource)
    meta = resource._meta
    model = meta.model
    if model is None:
        raise UnsupportedResource(
            _("%(resource)s has no Meta.model.") % {"resource": klass.__name__}
        )
    hooks = dict(_HOOKS)
    if meta.use_bulk:
        hooks.update(_BULK_HOOKS)
    for name, kind in hooks.items():
        if name == "get_queryset" and not _restricts_rows(resource, model):
            continue  # select_related() and the like, for exports
        if _overrides(klass, name, ModelResource):
            raise UnsupportedResource(
                _(
                    "%(resource)s overrides %(hook)s(), which the fast path cannot call: it never "
                    "builds a model instance or a dataset per row and writes rows in batches. It "
                    "refuses the resource rather than skip the hook. %(advice)s"
                )
                % {"resource": klass.__name__, "hook": name, "advice": _advice(kind)}
            )
    loader = meta.instance_loader_class
    if loader not in (None, ModelInstanceLoader, CachedInstanceLoader):
        raise UnsupportedResource(
            _(
                "%(resource)s uses the instance loader %(loader)s; the fast path finds existing "
                "rows by import_id_fields in SQL. %(advice)s"
            )
            % {"resource": klass.__name__, "loader": loader.__name__, "advice": _advice("lookup")}
        )
    if meta.clean_model_instances and _overrides(model, "clean", models.Model):
        raise UnsupportedResource(
            _(
                "%(resource)s sets clean_model_instances, so import-export calls "
                "%(model)s.clean() for every row; the fast path validates each field but never "
                "builds instances. %(advice)s"
            )
            % {"resource": klass.__name__, "model": model.__name__, "advice": _advice("reject")}
        )
    analysis = ResourceAnalysis(
        resource=resource,
        model=model,
        create_only=bool(meta.force_init_instance),
        skip_unchanged=bool(meta.skip_unchanged and not meta.skip_diff),
        database=meta.using_db,
    )
    written: dict[str, str] = {}
    by_name: dict[str, _Column] = {}
    for resource_field in resource.get_import_fields():
        name = resource.get_field_name(resource_field)
        column = _read_field(klass.__name__, model, name, resource_field, analysis)
        if column is None:
            continue
        if column.column in written:
            raise UnsupportedResource(
                _(
                    "%(resource)s reads the column “%(column)s” into two fields, “%(first)s” and "
                    "“%(second)s”; a bulk import maps each column to one field. Declare one of "
                    "them with another column_name."
                )
                % {
                    "resource": klass.__name__,
                    "column": column.column,
                    "first": written[column.column],
                    "second": name,
                }
            )
        written[column.column] = name
        by_name[name] = column
        analysis.columns.append(column)
    id_fields = list(resource.get_import_id_fields())
    analysis.default_keys = id_fields == ["id"]
    for name in id_fields:
        column = by_name.get(name)
        if column is None:
            if analysis.default_keys:
                # The default key of a resource that leaves out ``id``: every row is created.
                analysis.keys = []
                analysis.key_columns = []
                break
            raise UnsupportedResource(
                _(
                    "%(resource)s declares “%(field)s” in import_id_fields, but it is not one of "
                    "its import fields."
                )
                % {"resource": klass.__name__, "field": name}
            )
        analysis.keys.append(column.field.name)
        analysis.key_columns.append(column.column)
    if analysis.keys and not analysis.create_only:
        unique = {tuple(sorted(names)) for names in _unique_sets(model)}
        if tuple(sorted(analysis.keys)) not in unique:
            raise UnsupportedResource(
                _(
                    "%(resource)s updates rows by import_id_fields %(fields)s, which the database "
                    "does not keep unique; bulk updates need a unique field or a unique "
                    "constraint on exactly those fields."
                )
                % {"resource": klass.__name__, "fields": ", ".join(id_fields)}
            )
    return analysis


def _read_field(
    resource_name: str,
    model: type[models.Model],
    name: str,
    resource_field: Any,
    analysis: ResourceAnalysis,
) -> _Column | None:
    if resource_field.readonly or not resource_field.attribute:
        return None  # import-export never imports these
    column_name = str(resource_field.column_name)
    widget = resource_field.widget
    if isinstance(widget, ie_widgets.ManyToManyWidget):
        analysis.many_to_many[column_name] = name
        return None
    if _overrides(type(resource_field), "save", ie_fields.Field):
        raise UnsupportedResource(
            _(
                "The field “%(field)s” of %(resource)s is a %(class)s with its own save(), which "
                "import-export calls for every row. %(advice)s"
            )
            % {
                "field": name,
                "resource": resource_name,
                "class": type(resource_field).__name__,
                "advice": _advice("chunk"),
            }
        )
    attribute = resource_field.attribute
    model_field = None if "__" in attribute else _model_field(model, attribute)
    if model_field is not None and model_field.many_to_many:
        analysis.many_to_many[column_name] = name
        return None
    if (
        model_field is None
        or not getattr(model_field, "concrete", False)
        or getattr(model_field, "generated", False)
    ):
        raise UnsupportedResource(
            _(
                "The field “%(field)s” of %(resource)s sets the attribute “%(attribute)s”, "
                "which is not a column of %(model)s; a bulk import writes columns only. %(advice)s"
            )
            % {
                "field": name,
                "resource": resource_name,
                "attribute": attribute,
                "model": model._meta.label,
                "advice": _advice("chunk"),
            }
        )
    empty = _empty_value(resource_field, model_field)
    custom_clean = _overrides(type(resource_field), "clean", ie_fields.Field)
    if model_field.is_relation:
        lookup = None if custom_clean else _set_based_lookup(widget, model_field)
        if lookup is not None:
            target = model_field.target_field  # type: ignore[attr-defined]
            path = (
                model_field.name
                if lookup == target.name
                else "%s__%s" % (model_field.name, lookup)
            )
            return _Column(column_name, name, model_field, path, lookup=lookup, empty=empty)
        converter = _cell_converter(resource_field, model_field, relation=True)
        return _Column(
            column_name,
            name,
            model_field,
            model_field.name,
            converter=converter,
            empty=empty,
            per_cell=True,
        )
    if not custom_clean and type(widget) in (ie_widgets.Widget, ie_widgets.CharWidget):
        # Identity (or force_str): the field's own conversion gives what save() would store.
        return _Column(column_name, name, model_field, model_field.name, empty=empty)
    converter = _cell_converter(resource_field, model_field, relation=False)
    per_cell = (
        custom_clean
        or not isinstance(widget, _STANDARD_WIDGETS)
        or _overrides(type(widget), "clean", _standard_base(widget))
    )
    return _Column(
        column_name,
        name,
        model_field,
        model_field.name,
        converter=converter,
        empty=empty,
        per_cell=per_cell,
    )


def _standard_base(widget: Any) -> Any:
    for base in _STANDARD_WIDGETS:
        if isinstance(widget, base):
            return base
    return ie_widgets.Widget


def _set_based_lookup(widget: Any, model_field: models.Field) -> str | None:  # type: ignore[type-arg]
    """Return the related field a plain ForeignKeyWidget matches; None to run it per cell."""
    if not isinstance(widget, ie_widgets.ForeignKeyWidget) or widget.use_natural_foreign_keys:
        return None
    base = (
        ie_widgets.CachedForeignKeyWidget
        if isinstance(widget, ie_widgets.CachedForeignKeyWidget)
        else ie_widgets.ForeignKeyWidget
    )
    if any(_overrides(type(widget), method, base) for method in _FK_METHODS):
        return None
    related: Any = model_field.related_model
    if related is None or isinstance(related, str) or widget.model is not related:
        return None
    if widget.field == "pk":
        return str(related._meta.pk.name)
    if "__" in widget.field:
        return None
    try:
        lookup = related._meta.get_field(widget.field)
    except Exception:
        return None
    if not getattr(lookup, "concrete", False) or lookup.is_relation:
        return None
    if not (lookup.primary_key or lookup.unique):
        return None  # import-export's get() fails on duplicates only; a set lookup needs unique
    return str(lookup.name)


def _empty_value(resource_field: Any, model_field: models.Field) -> Callable[[], Any] | None:  # type: ignore[type-arg]
    """Return the value import-export writes for an empty cell where bulk_admin's differs."""
    default = resource_field.default
    if default is not models.NOT_PROVIDED:
        if callable(default):
            return default  # type: ignore[no-any-return]
        return lambda: default
    widget = resource_field.widget
    if (
        type(widget) is ie_widgets.CharWidget
        and widget.allow_blank
        and model_field.null
        and model_field.blank
    ):
        # CharWidget turns an empty cell into "", not NULL.
        return lambda: ""
    return None


# --- converters ----------------------------------------------------------------------------


class _OneCell(Mapping[str, Any]):
    """The ``row`` a widget sees: its own column only.

    bulk_admin converts cell by cell; a widget that reads other columns of the row stops the
    import with a message instead of reading nothing.
    """

    def __init__(self, column: str, value: Any, field_name: str):
        self.column = column
        self.value = value
        self.field_name = field_name

    def __getitem__(self, key: str) -> Any:
        if key == self.column:
            return self.value
        raise UnsupportedResource(
            _(
                "The widget of the field “%(field)s” reads the column “%(column)s” of the row; "
                "the fast path converts each cell on its own. %(advice)s"
            )
            % {"field": self.field_name, "column": key, "advice": _advice("chunk")}
        )

    def __iter__(self) -> Iterator[str]:
        return iter((self.column,))

    def __len__(self) -> int:
        return 1


def _as_openpyxl(value: Any) -> Any:
    """Return a typed XLSX cell as openpyxl (import-export's reader) gives it.

    python-calamine gives ``12345.0`` and ``date`` where openpyxl gives ``12345`` and a
    ``datetime``; widgets (``DateTimeWidget`` among them) tell the two apart.
    """
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return int(value)
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return datetime.datetime(value.year, value.month, value.day)
    return value


def _cell_error(exc: Exception, model_field: models.Field, cell: Any) -> ValidationError:  # type: ignore[type-arg]
    if isinstance(exc, ObjectDoesNotExist):
        related = model_field.related_model
        name = (
            related._meta.verbose_name
            if related is not None and not isinstance(related, str)
            else ""
        )
        return ValidationError(
            _("No %(model)s matches “%(value)s”.") % {"model": name, "value": display_value(cell)}
        )
    if isinstance(exc, ArithmeticError) or not str(exc):
        # decimal.InvalidOperation has no readable message.
        return ValidationError(
            model_field.error_messages["invalid"],
            code="invalid",
            params={"value": display_value(cell)},
        )
    return ValidationError(str(exc))


def _cell_converter(
    resource_field: Any,
    model_field: models.Field,  # type: ignore[type-arg]
    *,
    relation: bool,
) -> Converter:
    """Return a converter running the resource field's own ``clean()`` on one cell."""
    column = str(resource_field.column_name)
    empty = empty_rule(model_field)
    target_attname = model_field.target_field.attname if relation else None  # type: ignore[attr-defined]
    to_python = model_field.to_python

    def convert(cell: Any) -> Any:
        value = _as_openpyxl(cell)
        try:
            result = resource_field.clean(_OneCell(column, value, resource_field.attribute))
        except (BulkAdminError, DatabaseError, ValidationError):
            raise
        except Exception as exc:  # import-export reports any exception of a row as its error
            raise _cell_error(exc, model_field, cell) from None
        if result is None or (
            result == "" and not isinstance(model_field, (models.CharField, models.TextField))
        ):
            return empty()
        if relation:
            return getattr(result, target_attname) if isinstance(result, models.Model) else result  # type: ignore[arg-type]
        return to_python(result)

    return convert


# --- skip_unchanged ------------------------------------------------------------------------


class SkipUnchanged:
    """Chunk hook: skip rows whose values equal the stored row's, as ``skip_unchanged`` does.

    One query per chunk fetches the stored rows with the chunk's keys; a row whose mapped
    values all equal the stored ones is counted as skipped and not written, so its
    ``auto_now`` fields keep their value.
    """

    def __init__(self, keys: Sequence[str]):
        self.keys = tuple(keys)

    def __call__(self, chunk: Chunk) -> None:
        plan = chunk.plan
        if plan is None or not chunk.rows:
            return
        fields = plan.mapped_fields
        names = [field.name for field in fields]
        if not all(key in names for key in self.keys):
            return  # the file has no key column: every row is new
        key_positions = [names.index(key) for key in self.keys]
        key_attnames = [fields[position].attname for position in key_positions]
        attnames = [field.attname for field in fields]
        wanted: dict[tuple[Any, ...], list[int]] = {}
        for row_number, values in chunk.rows:
            key = tuple(values[position] for position in key_positions)
            if None not in key:
                wanted.setdefault(key, []).append(row_number)
        if not wanted:
            return
        manager = plan.model._base_manager.db_manager(plan.using)
        stored: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        firsts = list({key[0] for key in wanted})
        width = len(key_attnames)
        for start in range(0, len(firsts), _LOOKUP_BATCH):
            query = manager.filter(
                **{key_attnames[0] + "__in": firsts[start : start + _LOOKUP_BATCH]}
            )
            for found in query.values_list(*key_attnames, *attnames):
                stored[tuple(found[:width])] = tuple(found[width:])
        unchanged = []
        for row_number, values in chunk.rows:
            key = tuple(values[position] for position in key_positions)
            current = stored.get(key)
            if current is not None and all(
                new == old for new, old in zip(values[: len(fields)], current, strict=True)
            ):
                unchanged.append(row_number)
        if unchanged:
            chunk.skip(*unchanged)


# --- the options ---------------------------------------------------------------------------


def _no_value() -> None:
    return None


def options_from_resource(resource: Any, headers: Sequence[str] | None = None) -> dict[str, Any]:
    """Return keyword arguments for :class:`~bulk_admin.importer.ImportOptions` that import
    like ``resource`` (a ``ModelResource`` class or instance).

    Without ``headers`` the options map every import column of the resource, and a
    ``header_hook`` narrows the mapping (and the conflict policy) to the columns the file
    has, once its header is read. With ``headers`` the options are made for that header and
    have no ``header_hook``: what the admin's mapping step needs to propose a mapping.

    Raise :class:`UnsupportedResource` when the resource cannot run in bulk. The options in
    :data:`CODE_OPTIONS` hold functions; the others are JSON-serialisable.
    """
    analysis = analyse_resource(resource)
    options: dict[str, Any] = {
        "fields": list(dict.fromkeys(column.field.name for column in analysis.columns)),
        "aliases": {column.column: column.path for column in analysis.columns},
        "fk_lookups": {
            column.field.name: column.lookup
            for column in analysis.columns
            if column.lookup is not None
        },
        "converters": {
            column.field.name: column.converter
            for column in analysis.columns
            if column.converter is not None
        },
        "empty_cells": {
            column.field.name: column.empty
            for column in analysis.columns
            if column.empty is not None
        },
        "chunk_hooks": [],
    }
    pk = analysis.model._meta.pk
    auto = (models.AutoField, models.BigAutoField, models.SmallAutoField)
    if analysis.keys == [pk.name] and isinstance(pk, auto) and not analysis.create_only:
        # import-export creates a row for an empty id cell; the database numbers it.
        options["empty_cells"].setdefault(pk.name, _no_value)
    if analysis.skip_unchanged and analysis.keys and not analysis.create_only:
        options["chunk_hooks"].append(SkipUnchanged(analysis.keys))
    if analysis.database:
        options["database"] = analysis.database
    options.update(analysis.for_headers(headers))
    if headers is None:
        options["header_hook"] = analysis.for_headers
    return options


def resource_for_admin(model_admin: Any, request: Any) -> type | None:
    """Return the resource class whose mapping ``model_admin``'s fast import should use, or None.

    The contract, for ``BulkImportMixin``:

    * ``model_admin`` is any ModelAdmin; ``request`` is the current request, or None where
      the import runs without one (a task worker). It is passed on unchanged to
      ``get_import_resource_classes(request)`` (import-export 4) or, failing that,
      ``get_resource_classes(request)``.
    * The first class is returned, the one import-export's own **Import** preselects, when
      the admin declares resources: ``resource_classes``, the deprecated ``resource_class``,
      or an overridden ``get_resource_classes`` / ``get_import_resource_classes``.
    * None is returned for an admin without import-export, and for one that relies on the
      resource import-export would generate from the model; bulk_admin's own mapping
      proposal (names, verbose names, aliases) then applies.
    * ``ImproperlyConfigured`` is raised if the resource is for another model.

    The caller builds options with ``options_from_resource(cls(**kwargs), headers)``, where
    ``kwargs`` come from ``model_admin.get_import_resource_kwargs(request)`` when the admin
    has it, and shows an :class:`UnsupportedResource` message to the user as it would any
    other ``BulkAdminError``.
    """
    getter = getattr(model_admin, "get_import_resource_classes", None)
    if getter is None:
        getter = getattr(model_admin, "get_resource_classes", None)
    if getter is None:
        return None
    from import_export.mixins import BaseImportExportMixin, BaseImportMixin

    klass = type(model_admin)
    declared = (
        getattr(model_admin, "resource_classes", None)
        or getattr(model_admin, "resource_class", None)
        or _overrides(klass, "get_resource_classes", BaseImportExportMixin)
        or _overrides(klass, "get_import_resource_classes", BaseImportMixin)
    )
    if not declared:
        return None
    classes = getter(request)
    if not classes:
        return None
    resource_class: type = classes[0]
    resource_model = getattr(getattr(resource_class, "_meta", None), "model", None)
    if resource_model is not None and resource_model is not model_admin.model:
        raise ImproperlyConfigured(
            "%s imports %s, but its first resource class %s is for %s. Put the resource of %s "
            "first in resource_classes."
            % (
                type(model_admin).__name__,
                model_admin.model._meta.label,
                resource_class.__name__,
                resource_model._meta.label,
                model_admin.model._meta.label,
            )
        )
    return resource_class


# --- formats only tablib reads -------------------------------------------------------------


class DatasetSource(Source):
    """A file read whole by an import-export format class (tablib), served as a source."""

    def __init__(self, dataset: Any, format_name: str):
        headers = _clean_header(list(dataset.headers or []))
        self.info = FileInfo(format=format_name, headers=headers)
        _check_width(headers)
        self._dataset = dataset

    def rows(self) -> Iterator[Row]:
        read = 0
        limits = _Limits(all_text=False)
        for index, cells in enumerate(self._dataset, start=2):
            values = list(cells)
            if not values or _is_blank(values):
                continue
            read += 1
            limits.check(index, values, read)
            yield index, values


def _format_class(format: Any) -> Any:
    if not isinstance(format, str):
        return format
    from import_export.formats import base_formats

    classes = {
        "xls": base_formats.XLS,
        "ods": base_formats.ODS,
        "json": base_formats.JSON,
        "yaml": base_formats.YAML,
        "yml": base_formats.YAML,
        "tsv": base_formats.TSV,
        "html": base_formats.HTML,
        "csv": base_formats.CSV,
        "xlsx": base_formats.XLSX,
    }
    try:
        return classes[format.lower().lstrip(".")]
    except KeyError:
        raise SourceError(_("Unknown format “%(format)s”.") % {"format": format}) from None


def open_with_format(
    file: str | os.PathLike[str] | IO[bytes],
    format: Any,
    *,
    max_size: int | None = None,
    encoding: str = "utf-8-sig",
) -> DatasetSource:
    """Read ``file`` whole with an import-export format class (or its name) and return a source.

    For the formats bulk_admin does not stream (XLS, ODS, JSON, YAML). Files over
    ``max_size`` bytes (:data:`TABLIB_MAX_SIZE` by default; 0 for no limit) are refused
    with a SourceError, since tablib holds the whole file in memory, several times over.
    """
    format_class = _format_class(format)
    # import-export declares ODS a text format, but it is a ZIP archive.
    binary = format_class().is_binary() or format_class.__name__ == "ODS"
    instance = format_class()
    title = str(getattr(format_class, "__name__", format)).upper()
    limit = TABLIB_MAX_SIZE if max_size is None else max_size
    if isinstance(file, (str, os.PathLike)):
        try:
            with open(file, "rb") as handle:
                data = handle.read(limit + 1) if limit else handle.read()
        except OSError as exc:
            raise SourceError(
                _("The file “%(path)s” cannot be opened: %(error)s")
                % {"path": os.fspath(file), "error": exc.strerror}
            ) from None
    else:
        file.seek(0)
        data = file.read(limit + 1) if limit else file.read()
    if limit and len(data) > limit:
        raise SourceError(
            _(
                "The %(format)s file is larger than %(max)d MB, the most read in this format, "
                "which must be held in memory whole. Save it as CSV or XLSX: those are read as "
                "a stream, whatever their size."
            )
            % {"format": title, "max": max(limit // (1024 * 1024), 1)}
        )
    if not data:
        raise SourceError(_("The file is empty."))
    try:
        dataset = instance.create_dataset(data if binary else data.decode(encoding))
    except ImportError as exc:
        raise SourceError(
            _("Reading %(format)s files needs the package “%(package)s”, which is not installed.")
            % {"format": title, "package": exc.name or exc}
        ) from None
    except Exception as exc:
        raise SourceError(
            _("The file cannot be read as %(format)s: %(error)s") % {"format": title, "error": exc}
        ) from None
    source = DatasetSource(dataset, title.lower())
    if not source.headers:
        raise SourceError(_("The file has no header row: its first row is empty."))
    return source


class _FormatImporter(Importer):
    def __init__(self, *args: Any, format: Any, max_size: int | None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.format_class = format
        self.max_size = max_size

    def open(self) -> Source:
        return open_with_format(self.file, self.format_class, max_size=self.max_size)


def import_with_format(
    model: str | type[models.Model],
    file: str | os.PathLike[str] | IO[bytes],
    format: Any,
    *,
    max_size: int | None = None,
    name: str | None = None,
    progress: ProgressCallback | None = None,
    **options: Any,
) -> ImportResult:
    """Import a file that only import-export's formats read (XLS, ODS, JSON, YAML).

    Like :func:`bulk_admin.importer.import_file`, with the file read whole through
    :func:`open_with_format` first (so at most ``max_size`` bytes).
    """
    importer = _FormatImporter(
        model,
        file,
        ImportOptions(**options),
        name=name,
        progress=progress,
        format=format,
        max_size=max_size,
    )
    return importer.run()
