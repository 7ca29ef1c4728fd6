"""System checks for the ``BULK_ADMIN_*`` settings (ids ``bulk_admin.E001`` ...)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register

from bulk_admin.sources.xlsx import READERS

_POSITIVE_INTEGERS = (
    "CHUNK_SIZE",
    "BATCH_SIZE",
    "MAX_COLUMNS",
    "MAX_CELL_SIZE",
    "PREFETCH_LIMIT",
)
_NON_NEGATIVE_INTEGERS = (
    "MAX_FILE_SIZE",
    "MAX_ROWS",
    "MAX_XLSX_UNCOMPRESSED",
    "XLSX_MAX_CALAMINE_CELLS",
    "UPLOAD_RETENTION_DAYS",
    "MAX_ERRORS",
    "MAX_STORED_ERRORS",
)


@register(Tags.compatibility)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors: list[Error] = []
    for name in _POSITIVE_INTEGERS + _NON_NEGATIVE_INTEGERS:
        setting = "BULK_ADMIN_" + name
        if not hasattr(settings, setting):
            continue
        value = getattr(settings, setting)
        minimum = 1 if name in _POSITIVE_INTEGERS else 0
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            errors.append(
                Error(
                    "%s must be an integer of at least %d, not %r." % (setting, minimum, value),
                    hint="Set %s to a whole number, or remove it to use the default." % setting,
                    id="bulk_admin.E001",
                )
            )
    reader = getattr(settings, "BULK_ADMIN_XLSX_READER", "auto")
    if reader not in READERS:
        errors.append(
            Error(
                "BULK_ADMIN_XLSX_READER must be one of %s, not %r." % (", ".join(READERS), reader),
                id="bulk_admin.E002",
            )
        )
    elif reader == "calamine":
        try:
            import python_calamine  # noqa: F401
        except ImportError:
            errors.append(
                Error(
                    "BULK_ADMIN_XLSX_READER is 'calamine' but python-calamine is not installed.",
                    hint="pip install python-calamine, or set the reader to 'auto'.",
                    id="bulk_admin.E003",
                )
            )
    return errors


@register(Tags.caches)
def check_cache(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    alias = getattr(settings, "BULK_ADMIN_CACHE", "default")
    if alias not in getattr(settings, "CACHES", {"default": {}}):
        return [
            Error(
                "BULK_ADMIN_CACHE names the cache %r, which is not in CACHES." % alias,
                hint="Add it to CACHES or set BULK_ADMIN_CACHE to an existing alias.",
                id="bulk_admin.E004",
            )
        ]
    return []


@register(Tags.compatibility)
def check_tasks(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """Check that the admin's tasks can be enqueued on ``BULK_ADMIN_TASK_BACKEND``'s queue."""
    from bulk_admin.conf import conf

    alias, queue = conf.TASK_BACKEND, conf.TASK_QUEUE
    backends = getattr(settings, "TASKS", None)
    if backends is None:  # the Tasks framework's default: an immediate backend, "default"
        backends = {"default": {}}
    if alias not in backends:
        return [
            Error(
                "BULK_ADMIN_TASK_BACKEND names the task backend %r, which is not in TASKS."
                % alias,
                hint="Add it to TASKS or set BULK_ADMIN_TASK_BACKEND to an existing alias.",
                id="bulk_admin.E008",
            )
        ]
    # The Tasks framework's rule: QUEUES defaults to ["default"]; an empty list takes any.
    queues = backends[alias].get("QUEUES", ["default"])
    if queues and queue not in queues:
        return [
            Error(
                "BULK_ADMIN_TASK_QUEUE is %r, which is not one of the QUEUES of the task "
                "backend %r (%s)." % (queue, alias, ", ".join(map(repr, queues))),
                hint="Set BULK_ADMIN_TASK_QUEUE to one of them, or add %r to QUEUES." % queue,
                id="bulk_admin.E009",
            )
        ]
    return []


@register(Tags.admin)
def check_model_admins(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """Check the ``bulk_import_*`` attributes of every admin using the mixin."""
    from django.apps import apps

    if not apps.is_installed("django.contrib.admin"):
        # The engine and bulk_import work without the admin; there is no admin to check.
        return []
    from django.contrib.admin.sites import all_sites

    from bulk_admin.admin import BulkImportMixin
    from bulk_admin.exceptions import MappingError
    from bulk_admin.keys import POLICIES
    from bulk_admin.mapping import resolve_path

    errors: list[Error] = []
    for site in all_sites:
        for model, model_admin in site._registry.items():
            if not isinstance(model_admin, BulkImportMixin):
                continue
            name = type(model_admin).__name__
            unknown = [p for p in model_admin.bulk_import_policies if p not in POLICIES]
            if unknown or not model_admin.bulk_import_policies:
                errors.append(
                    Error(
                        "%s.bulk_import_policies must list some of %s; %r is not valid."
                        % (name, ", ".join(POLICIES), list(model_admin.bulk_import_policies)),
                        obj=type(model_admin),
                        id="bulk_admin.E005",
                    )
                )
            paths = {
                **dict(model_admin.bulk_import_aliases or {}),
                **{
                    "fk_lookups[%s]" % fk: "%s__%s" % (fk, lookup)
                    for fk, lookup in (model_admin.bulk_import_fk_lookups or {}).items()
                },
            }
            for where, path in paths.items():
                try:
                    resolve_path(model, path)
                except MappingError as exc:
                    errors.append(
                        Error(
                            "%s.bulk_import_%s: %s"
                            % (
                                name,
                                "fk_lookups" if where.startswith("fk_lookups") else "aliases",
                                exc,
                            ),
                            obj=type(model_admin),
                            id="bulk_admin.E006",
                        )
                    )
            names = {f.name for f in model._meta.concrete_fields}
            for attribute in ("bulk_import_fields", "bulk_import_exclude", "bulk_import_keys"):
                value = getattr(model_admin, attribute) or ()
                missing = [field for field in value if field not in names]
                if missing:
                    errors.append(
                        Error(
                            "%s.%s names %s, not concrete fields of %s."
                            % (name, attribute, ", ".join(missing), model._meta.label),
                            obj=type(model_admin),
                            id="bulk_admin.E007",
                        )
                    )
    return errors
