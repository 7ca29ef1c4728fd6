"""The admin side: ``BulkImportMixin`` for a ModelAdmin, and the import history.

::

    from django.contrib import admin
    from bulk_admin.admin import BulkImportMixin

    @admin.register(Book)
    class BookAdmin(BulkImportMixin, admin.ModelAdmin):
        bulk_import_fk_lookups = {"author": "name"}
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from bulk_admin import views
from bulk_admin.conf import conf
from bulk_admin.exceptions import BulkAdminError
from bulk_admin.jobs import JobOptions, dump_resource_kwargs, dump_scope
from bulk_admin.keys import POLICIES
from bulk_admin.mapping import importable_fields
from bulk_admin.models import ImportJob

if TYPE_CHECKING:
    _AdminBase = admin.ModelAdmin[Any]
else:
    _AdminBase = object

CHANGE_LIST_TEMPLATE = "admin/bulk_admin/change_list.html"


class BulkImportMixin(_AdminBase):
    """Add an **Import (fast)** button and the import steps to a ModelAdmin."""

    change_list_template: ClassVar[str | None] = CHANGE_LIST_TEMPLATE

    bulk_import_fields: Sequence[str] | None = None
    """Names of the fields a file may set, narrowing those the admin's form lets the user edit.

    With ``bulk_import_use_admin_fields = False`` these names are the importable fields,
    whatever the admin's form says: the developer's deliberate choice.
    """

    bulk_import_use_admin_fields: bool = True
    """Limit the importable fields to those this user may edit in the admin's forms.

    The add form's editable fields (``get_fields``/``get_fieldsets``, ``exclude``, minus
    ``get_readonly_fields`` and non-editable fields), and for updates the change form's too.
    """

    bulk_import_exclude: Sequence[str] | None = None
    """Names of fields a file may never set."""

    bulk_import_aliases: dict[str, str] | None = None
    """Other headers for fields: ``{"E-mail address": "email", "Writer": "author__name"}``."""

    bulk_import_fk_lookups: dict[str, str] | None = None
    """Foreign keys matched by a unique field of the related model: ``{"customer": "email"}``."""

    bulk_import_keys: Sequence[str] | None = None
    """Fields identifying a row for the conflict policies; the model's unique fields when None."""

    bulk_import_policies: Sequence[str] = POLICIES
    """Conflict policies offered (``error``, ``skip``, ``update``); the first is the default."""

    bulk_import_batch_size: int | None = None
    """Rows per ``bulk_create`` batch; ``BULK_ADMIN_BATCH_SIZE`` when None."""

    bulk_import_max_file_size: int | None = None
    """Largest upload in bytes; ``BULK_ADMIN_MAX_FILE_SIZE`` when None."""

    bulk_import_chunk_hooks: Sequence[Callable[[Any], None]] = ()
    """Functions called with each converted chunk of rows (see the importer's ``chunk_hooks``)."""

    bulk_import_converters: dict[str, Callable[[Any], Any]] | None = None
    """``{field name: function}`` replacing the built-in conversion of a field's cells."""

    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name
        wrap = self.admin_site.admin_view

        def view(view_class: type[views.BulkImportView], **extra: Any) -> Any:
            return wrap(view_class.as_view(model_admin=self, **extra))

        steps: list[tuple[str, str, type[views.BulkImportView]]] = [
            ("mapping", "mapping/", views.MappingView),
            ("progress", "progress/", views.ProgressView),
            ("status", "status/", views.StatusView),
            ("preview", "preview/", views.PreviewView),
            ("commit", "commit/", views.CommitView),
            ("recheck", "recheck/", views.RecheckView),
            ("cancel", "cancel/", views.CancelView),
            ("result", "result/", views.ResultView),
            ("rejects", "rejects.<str:fmt>", views.RejectsView),
        ]
        patterns = [
            path("bulk-import/", view(views.UploadView), name="%s_%s_bulk_import" % info),
            *(
                path(
                    "bulk-import/<uuid:job_id>/" + route,
                    view(view_class),
                    name="%s_%s_bulk_import_%s" % (*info, step),
                )
                for step, route, view_class in steps
            ),
        ]
        # Ours first: ModelAdmin's list ends with a catch-all "<path:object_id>/".
        return [*patterns, *super().get_urls()]

    def has_bulk_import_permission(self, request: HttpRequest) -> bool:
        """Return True if the user may import into this model (add permission by default)."""
        return self.has_add_permission(request)

    def get_bulk_import_policies(self, request: HttpRequest) -> list[str]:
        """Return the conflict policies the user may choose; ``update`` needs change rights."""
        policies = [policy for policy in self.bulk_import_policies if policy in POLICIES]
        if "update" in policies and not self.has_change_permission(request):
            policies.remove("update")
        if "update" in policies and self._resource_updates(request):
            # A django-import-export resource with import_id_fields updates rows by default.
            policies.remove("update")
            policies.insert(0, "update")
        return policies or ["error"]

    def _resource_updates(self, request: HttpRequest) -> bool:
        try:
            resource = self.get_bulk_import_resource(request)
            if resource is None:
                return False
            from bulk_admin.contrib.import_export import options_from_resource

            on_conflict: str = options_from_resource(resource)["on_conflict"]
            return on_conflict == "update"
        except BulkAdminError:
            return False  # reported on upload, where the options are built

    def get_bulk_import_max_file_size(self, request: HttpRequest) -> int:
        """Return the largest upload accepted, in bytes (0: no limit)."""
        if self.bulk_import_max_file_size is not None:
            return self.bulk_import_max_file_size
        return conf.MAX_FILE_SIZE

    def get_bulk_import_fields(
        self, request: HttpRequest, *, update: bool = False
    ) -> dict[str, Any]:
        """Return ``{name: field}`` of the fields this user's file may set.

        By default the fields the admin's add form lets the user edit; with ``update`` the
        fields must also be editable on the change form (its hooks get an unsaved instance
        as ``obj``), except unique fields, which only match rows and are never changed.
        ``bulk_import_fields`` narrows the set, ``bulk_import_exclude`` removes from it.
        """
        fields = importable_fields(self.model, self.bulk_import_fields, self.bulk_import_exclude)
        if not self.bulk_import_use_admin_fields:
            return fields
        allowed = self._admin_form_fields(request, None)
        if update:
            on_change = self._admin_form_fields(request, self.model())
            allowed = {
                name
                for name in allowed
                if name in on_change or fields.get(name) is not None and _is_key(fields[name])
            }
        return {name: field for name, field in fields.items() if name in allowed}

    def _admin_form_fields(self, request: HttpRequest, obj: Any) -> set[str]:
        # The form the admin would render for this user: it applies get_fieldsets,
        # get_exclude, get_readonly_fields, editable=False and the change permission.
        # Only the field names are used: a warning about a form field's rendering is not ours.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The default scheme will be changed")
            form_class = self.get_form(request, obj, change=obj is not None)
        return set(form_class.base_fields)

    def get_bulk_import_resource(self, request: HttpRequest | None) -> Any:
        """Return the django-import-export resource whose mapping drives the import, or None.

        Used when the admin also has ``resource_classes`` (``ImportExportModelAdmin``): the
        resource's columns, ``import_id_fields``, widgets and options carry over.
        """
        if not (
            hasattr(self, "get_import_resource_classes") or hasattr(self, "get_resource_classes")
        ):
            return None
        from bulk_admin.contrib.import_export import resource_for_admin

        resource_class = resource_for_admin(self, request)
        if resource_class is None:
            return None
        return resource_class(**self.get_bulk_import_resource_kwargs(request))

    def get_bulk_import_resource_kwargs(self, request: HttpRequest | None) -> dict[str, Any]:
        """Return the keyword arguments of the resource: import-export's own hook's, if any.

        Built in the request and carried to the worker with the job (signed and pickled):
        the values must be picklable (a user, a model instance, plain data), not the request.
        """
        if hasattr(self, "get_import_resource_kwargs"):
            return dict(self.get_import_resource_kwargs(request) or {})
        return {}

    def get_bulk_import_options(
        self, request: HttpRequest, *, on_conflict: str = "error"
    ) -> JobOptions:
        """Return the options of an import by this user with the ``on_conflict`` policy.

        Called at upload and again at each step, in the request: the steps (possibly in a
        worker process) use these, never form data or request hooks. Raise a BulkAdminError
        (shown on the page) when the import cannot be offered.
        """
        update = on_conflict == "update"
        options = JobOptions(
            fields=tuple(self.get_bulk_import_fields(request, update=update)),
            aliases=dict(self.bulk_import_aliases or {}),
            fk_lookups=dict(self.bulk_import_fk_lookups or {}),
            keys=tuple(self.bulk_import_keys) if self.bulk_import_keys else None,
            batch_size=self.bulk_import_batch_size,
            on_conflict=on_conflict,
            scope=dump_scope(self.get_queryset(request)) if on_conflict != "error" else None,
        )
        resource = self.get_bulk_import_resource(request)
        if resource is not None:
            from bulk_admin.contrib.import_export import options_from_resource

            derived = options_from_resource(resource)
            allowed = set(options.fields)
            options = replace(
                options,
                fields=tuple(name for name in derived["fields"] if name in allowed),
                aliases={**derived["aliases"], **options.aliases},
                fk_lookups={**derived["fk_lookups"], **options.fk_lookups},
                resource="%s.%s" % (type(resource).__module__, type(resource).__qualname__),
                resource_kwargs=dump_resource_kwargs(
                    self.get_bulk_import_resource_kwargs(request)
                ),
            )
        return options

    def get_bulk_import_initial_mapping(
        self, request: HttpRequest, headers: Sequence[str]
    ) -> dict[str, str] | None:
        """Return the mapping proposed for ``headers``, or None for the automatic proposal."""
        resource = self.get_bulk_import_resource(request)
        if resource is None:
            return None
        from bulk_admin.contrib.import_export import options_from_resource

        return dict(options_from_resource(resource, headers)["mapping"])

    def get_bulk_import_keys(
        self, request: HttpRequest, headers: Sequence[str]
    ) -> list[str] | None:
        """Return the key fields for a file with ``headers`` (None: the model's unique fields)."""
        if self.bulk_import_keys:
            return list(self.bulk_import_keys)
        resource = self.get_bulk_import_resource(request)
        if resource is None:
            return None
        from bulk_admin.contrib.import_export import options_from_resource

        keys = options_from_resource(resource, headers)["keys"]
        return list(keys) if keys else None

    def get_bulk_import_hooks(
        self,
        resource_class: type | None = None,
        resource_kwargs: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Return the code hooks of an import: ``converters``, ``empty_cells``, ``chunk_hooks``.

        Called where the import runs (a worker, maybe), without a request: ``resource_class``
        is the django-import-export resource chosen in the upload's request, if any;
        ``resource_kwargs`` the arguments ``get_bulk_import_resource_kwargs(request)`` gave
        for it in that request.
        """
        hooks: dict[str, Any] = {"converters": {}, "empty_cells": {}, "chunk_hooks": []}
        if resource_class is not None:
            from bulk_admin.contrib.import_export import options_from_resource

            derived = options_from_resource(resource_class(**dict(resource_kwargs or {})))
            hooks["converters"].update(derived["converters"])
            hooks["empty_cells"].update(derived["empty_cells"])
            hooks["chunk_hooks"].extend(derived["chunk_hooks"])
        hooks["converters"].update(self.bulk_import_converters or {})
        hooks["chunk_hooks"].extend(self.bulk_import_chunk_hooks)
        return hooks

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = dict(extra_context or {})
        extra_context["has_bulk_import_permission"] = self.has_bulk_import_permission(request)
        if self.change_list_template == CHANGE_LIST_TEMPLATE:
            # Keep the button of whatever template the next class in the MRO renders.
            parent = getattr(super(), "change_list_template", None)
            if parent and parent != CHANGE_LIST_TEMPLATE:
                extra_context.setdefault("bulk_import_parent_template", parent)
        return super().changelist_view(request, extra_context)


def _is_key(field: Any) -> bool:
    return bool(field.primary_key or field.unique)


class BulkImportModelAdmin(BulkImportMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """A ModelAdmin with the **Import (fast)** button."""


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The import history: every upload, its options, mapping, counts and errors."""

    list_display = [
        "created_at",
        "original_name",
        "content_type",
        "created_by",
        "status",
        "rows",
        "created",
        "updated",
        "skipped",
        "invalid",
        "duration",
    ]
    # No date_hierarchy: on MySQL it needs the server's time zone tables.
    # Only the users whose imports this user sees: never a list of every account.
    list_filter = [
        "content_type",
        "status",
        ("created_by", admin.RelatedOnlyFieldListFilter),
        "method",
        "created_at",
    ]
    search_fields = ["original_name", "message"]
    readonly_fields = [
        "id",
        "created_by",
        "content_type",
        "admin_site",
        "download",
        "original_name",
        "file_size",
        "format",
        "status",
        "method",
        "message",
        "options",
        "detected",
        "headers",
        "mapping",
        "rows",
        "created",
        "updated",
        "skipped",
        "invalid",
        "error_count",
        "error_table",
        "created_at",
        "started_at",
        "finished_at",
        "duration",
    ]
    fieldsets = [
        (
            None,
            {"fields": ["id", "status", "message", "content_type", "created_by", "admin_site"]},
        ),
        (
            _("File"),
            {
                "fields": [
                    "download",
                    "original_name",
                    "file_size",
                    "format",
                    "detected",
                    "headers",
                ]
            },
        ),
        (_("Import"), {"fields": ["options", "mapping", "method"]}),
        (
            _("Counts"),
            {
                "fields": [
                    "rows",
                    "created",
                    "updated",
                    "skipped",
                    "invalid",
                    "error_count",
                    "error_table",
                ]
            },
        ),
        (_("Timings"), {"fields": ["created_at", "started_at", "finished_at", "duration"]}),
    ]
    error_table_size = 100

    def get_queryset(self, request: HttpRequest) -> Any:
        queryset = super().get_queryset(request).select_related("content_type", "created_by")
        if request.user.is_superuser:
            return queryset
        return queryset.filter(created_by=request.user)

    @admin.display(description=_("first errors"))
    def error_table(self, job: ImportJob) -> str:
        errors = list(job.errors.order_by("row", "id")[: self.error_table_size])
        if not errors:
            return "-"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
            ((e.row if e.row is not None else "", e.column, e.value, e.message) for e in errors),
        )
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            _("Row"),
            _("Column"),
            _("Value"),
            _("Problem"),
            rows,
        )

    @admin.display(description=_("file"))
    def download(self, job: ImportJob) -> str:
        model = job.content_type.model_class()
        if not job.file or model is None:
            return "-"
        url = (
            reverse(
                "%s:%s_%s_bulk_import_rejects"
                % (job.admin_site, model._meta.app_label, model._meta.model_name),
                kwargs={"job_id": job.pk, "fmt": "original"},
            )
            if self._has_import_urls(job, model)
            else None
        )
        if url is None:
            return job.original_name
        return format_html('<a href="{}">{}</a>', url, job.original_name or _("download"))

    def _has_import_urls(self, job: ImportJob, model: Any) -> bool:
        from django.urls import NoReverseMatch

        try:
            reverse(
                "%s:%s_%s_bulk_import"
                % (job.admin_site, model._meta.app_label, model._meta.model_name)
            )
        except NoReverseMatch:
            return False
        return True

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
