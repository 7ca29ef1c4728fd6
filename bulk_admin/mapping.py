"""Stage 2, map: which column of the file feeds which field of the model.

A *field path* is a concrete field name (``title``), a foreign key by its related primary
key (``author`` or ``author_id``), or a foreign key by a unique field of the related model
(``author__name``). Mappings are validated before any row is read.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from django.db import models
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from bulk_admin.exceptions import MappingError

IGNORE = ""
_NORMALIZE = re.compile(r"[\W_]+", re.UNICODE)


def normalize(text: str) -> str:
    """Return ``text`` without case, spaces, underscores and punctuation."""
    return _NORMALIZE.sub("", str(text)).casefold()


@dataclass(frozen=True, slots=True)
class Target:
    """A resolved field path: the model field written, and how its value is looked up."""

    path: str
    field: models.Field  # type: ignore[type-arg]
    lookup: models.Field | None = None  # type: ignore[type-arg]
    """For a foreign key: the related model's field the file's values are matched against."""

    @property
    def is_relation(self) -> bool:
        return self.field.is_relation

    @property
    def label(self) -> str:
        name = capfirst(str(self.field.verbose_name))
        if self.lookup is not None and not (
            isinstance(self.field, models.ForeignObject) and self.lookup is self.field.target_field
        ):
            return "%s (%s)" % (name, self.lookup.verbose_name)
        return name


@dataclass(frozen=True, slots=True)
class ColumnMapping:
    index: int
    header: str
    target: Target


@dataclass(frozen=True)
class FileMapping:
    """The validated mapping of one file to one model."""

    model: type[models.Model]
    columns: tuple[ColumnMapping, ...]

    def as_dict(self) -> dict[str, str]:
        return {column.header: column.target.path for column in self.columns}

    @property
    def fields(self) -> list[models.Field]:  # type: ignore[type-arg]
        return [column.target.field for column in self.columns]


def importable_fields(
    model: type[models.Model],
    include: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
) -> dict[str, models.Field]:  # type: ignore[type-arg]
    """Return ``{name: field}`` of the concrete fields a file may write, in model order."""
    fields: dict[str, models.Field] = {}  # type: ignore[type-arg]
    for field in model._meta.concrete_fields:
        if getattr(field, "generated", False):
            continue
        if include is not None and field.name not in include:
            continue
        if exclude is not None and field.name in exclude:
            continue
        fields[field.name] = field
    if include is not None:
        unknown = sorted(set(include) - {f.name for f in model._meta.concrete_fields})
        if unknown:
            from django.core.exceptions import ImproperlyConfigured

            raise ImproperlyConfigured(
                "bulk_import_fields names %s, which %s of %s."
                % (
                    ", ".join(unknown),
                    "is not a concrete field" if len(unknown) == 1 else "are not concrete fields",
                    model._meta.label,
                )
            )
    return fields


def resolve_path(
    model: type[models.Model],
    path: str,
    fields: Mapping[str, models.Field] | None = None,  # type: ignore[type-arg]
) -> Target:
    """Return the :class:`Target` of ``path`` or raise MappingError naming the problem."""
    allowed = importable_fields(model) if fields is None else fields
    name, _sep, lookup_name = path.partition("__")
    field = allowed.get(name)
    if field is None:
        # ``author_id`` means ``author``.
        for candidate in allowed.values():
            if candidate.is_relation and candidate.attname == name:
                field = candidate
                break
    if field is None:
        raise MappingError(
            _("%(model)s has no field “%(field)s” that can be imported.")
            % {"model": capfirst(str(model._meta.verbose_name)), "field": path}
        )
    if not lookup_name:
        if field.is_relation:
            if field.many_to_many or field.one_to_many:
                raise MappingError(
                    _(
                        "The field “%(field)s” is a many-to-many relation, "
                        "which cannot be imported."
                    )
                    % {"field": path}
                )
            # A concrete relation that is not many-to-many is a foreign key.
            assert isinstance(field, models.ForeignObject)
            return Target(path=field.name, field=field, lookup=field.target_field)
        return Target(path=field.name, field=field)
    if not field.is_relation or field.related_model is None:
        raise MappingError(
            _("“%(field)s” is not a foreign key, so “%(path)s” cannot look anything up.")
            % {"field": field.name, "path": path}
        )
    related = field.related_model
    assert not isinstance(related, str)
    try:
        lookup = related._meta.get_field(lookup_name)
    except Exception:
        lookup = None
    unique_names = ", ".join(
        f.name
        for f in related._meta.concrete_fields
        if (f.primary_key or f.unique) and not f.is_relation
    )
    if (
        lookup is None
        or not isinstance(lookup, models.Field)
        or not lookup.concrete
        or lookup.is_relation
    ):
        raise MappingError(
            _(
                "%(model)s has no field “%(field)s” to look up “%(path)s” by; "
                "its unique fields are: %(fields)s."
            )
            % {
                "model": capfirst(str(related._meta.verbose_name)),
                "field": lookup_name,
                "path": path,
                "fields": unique_names,
            }
        )
    if not (lookup.primary_key or lookup.unique):
        raise MappingError(
            _(
                "“%(path)s” cannot identify one %(model)s: %(field)s is not unique. "
                "Use a unique field of %(model)s: %(fields)s."
            )
            % {
                "path": path,
                "model": related._meta.verbose_name,
                "field": lookup_name,
                "fields": unique_names,
            }
        )
    return Target(path="%s__%s" % (field.name, lookup.name), field=field, lookup=lookup)


def is_required(field: models.Field) -> bool:  # type: ignore[type-arg]
    """Return True if a file must give ``field`` a value (no default, NULL or blank)."""
    if field.primary_key and (isinstance(field, models.AutoField) or field.has_default()):
        return False
    if isinstance(field, (models.AutoField, models.BigAutoField, models.SmallAutoField)):
        return False
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return False
    if (
        field.has_default()
        or getattr(field, "db_default", models.NOT_PROVIDED) is not models.NOT_PROVIDED
    ):
        return False
    return not (field.null or field.blank)


def propose_mapping(
    headers: Sequence[str],
    model: type[models.Model],
    *,
    fields: Mapping[str, models.Field] | None = None,  # type: ignore[type-arg]
    aliases: Mapping[str, str] | None = None,
    fk_lookups: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Return ``{header: field path}`` for the headers that match a field.

    Headers match field names, verbose names, ``attname`` s and the ``aliases``
    (``{alias: field path}``), ignoring case, spaces, underscores and punctuation.
    ``fk_lookups`` (``{fk name: related field}``) makes a matched foreign key look up by
    that related field. Each field is proposed once, for its first matching column.
    """
    allowed = importable_fields(model) if fields is None else fields
    fk_lookups = fk_lookups or {}
    names: dict[str, str] = {}
    for alias, path in (aliases or {}).items():
        names.setdefault(normalize(alias), path)
    for name, field in allowed.items():
        path = name
        if field.is_relation and name in fk_lookups:
            path = "%s__%s" % (name, fk_lookups[name])
        for candidate in (name, str(field.verbose_name), field.attname):
            names.setdefault(normalize(candidate), path)
        if (
            field.is_relation
            and field.related_model is not None
            and not isinstance(field.related_model, str)
        ):
            # "author name" or "Author e-mail" naming a unique field of the related model.
            for related_field in field.related_model._meta.concrete_fields:
                if related_field.unique and not related_field.is_relation:
                    for label in (related_field.name, str(related_field.verbose_name)):
                        names.setdefault(
                            normalize(name + label), "%s__%s" % (name, related_field.name)
                        )
                        names.setdefault(
                            normalize(str(field.verbose_name) + label),
                            "%s__%s" % (name, related_field.name),
                        )
    proposal: dict[str, str] = {}
    used: set[str] = set()
    for header in headers:
        if not header or header in proposal:
            continue
        proposed = names.get(normalize(header))
        if proposed is None:
            continue
        field_name = proposed.split("__")[0]
        if field_name in used:
            continue
        used.add(field_name)
        proposal[header] = proposed
    return proposal


def suggest_fields(header: str, choices: Iterable[str], n: int = 3) -> list[str]:
    """Return field paths close to ``header`` (for "did you mean" hints)."""
    normalized = {normalize(choice): choice for choice in choices}
    matches = difflib.get_close_matches(normalize(header), list(normalized), n=n, cutoff=0.6)
    return [normalized[match] for match in matches]


def build_mapping(
    headers: Sequence[str],
    model: type[models.Model],
    explicit: Mapping[str, str] | None = None,
    *,
    fields: Mapping[str, models.Field] | None = None,  # type: ignore[type-arg]
    aliases: Mapping[str, str] | None = None,
    fk_lookups: Mapping[str, str] | None = None,
    require: bool = True,
) -> FileMapping:
    """Validate a mapping of ``headers`` to ``model`` and return it.

    ``explicit`` (``{header: field path}``; ``""`` ignores a column) is used as given;
    without it the proposal of :func:`propose_mapping` is used. Raise MappingError when a
    header is unknown or ambiguous, a field is unknown or mapped twice, or (``require``)
    a required field is left unmapped.
    """
    allowed = importable_fields(model) if fields is None else fields
    if explicit is None:
        chosen = propose_mapping(
            headers, model, fields=allowed, aliases=aliases, fk_lookups=fk_lookups
        )
    else:
        chosen = dict(explicit)
    positions: dict[str, list[int]] = {}
    for index, header in enumerate(headers):
        positions.setdefault(header, []).append(index)
    columns: list[ColumnMapping] = []
    written: dict[str, str] = {}
    for header, path in chosen.items():
        if not path:
            continue
        if header not in positions:
            # "in_stock" or "IN STOCK" names the column "In stock", when only one matches.
            same = [h for h in positions if h and normalize(h) == normalize(header)]
            if len(same) == 1:
                header = same[0]
        if header not in positions:
            hint = suggest_fields(header, [h for h in headers if h])
            message = _("The file has no column “%(header)s”.") % {"header": header}
            if hint:
                message += " " + _("Did you mean “%(hint)s”?") % {"hint": hint[0]}
            raise MappingError(message)
        if len(positions[header]) > 1:
            raise MappingError(
                _(
                    "The column “%(header)s” appears %(count)d times in the header; "
                    "rename the copies."
                )
                % {"header": header, "count": len(positions[header])}
            )
        try:
            target = resolve_path(model, path, allowed)
        except MappingError as exc:
            message = str(exc)
            name = path.partition("__")[0]
            known = name in allowed or any(
                f.is_relation and f.attname == name for f in allowed.values()
            )
            # "Did you mean" only for a misspelt field, not for a wrong lookup of a known one.
            hint = [] if known else suggest_fields(path, allowed)
            if hint:
                message += " " + _("Did you mean “%(hint)s”?") % {"hint": hint[0]}
            raise MappingError(message) from None
        if target.field.name in written:
            raise MappingError(
                _("The columns “%(first)s” and “%(second)s” both set %(field)s; map only one.")
                % {
                    "first": written[target.field.name],
                    "second": header,
                    "field": target.field.name,
                }
            )
        written[target.field.name] = header
        columns.append(ColumnMapping(index=positions[header][0], header=header, target=target))
    columns.sort(key=lambda column: column.index)
    if require:
        missing = [
            field
            for field in model._meta.concrete_fields
            if is_required(field) and field.name not in written
        ]
        if missing:
            raise MappingError(
                _("No column is mapped to the required field(s): %(fields)s.")
                % {"fields": ", ".join(f.name for f in missing)}
            )
    return FileMapping(model=model, columns=tuple(columns))


def parse_map_options(values: Iterable[str]) -> dict[str, str]:
    """Parse ``HEADER=FIELD`` strings (``--map``); the last ``=`` separates the two."""
    mapping: dict[str, str] = {}
    for value in values:
        header, sep, field = value.rpartition("=")
        if not sep or not header.strip():
            raise MappingError(_("“%(value)s” is not HEADER=FIELD.") % {"value": value})
        # Headers are read without surrounding spaces, so "Title = title" means "Title".
        mapping[header.strip()] = field.strip()
    return mapping
