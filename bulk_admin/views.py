"""The admin import steps: upload → mapping → (validation) → preview → commit → result.

Each view gets its ModelAdmin through ``as_view(model_admin=...)``, checks
``has_bulk_import_permission`` itself, and loads the job by id, model and owner.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

from django.contrib import messages
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.text import capfirst
from django.utils.translation import gettext as _, ngettext
from django.views import View
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from bulk_admin import jobs
from bulk_admin.exceptions import BulkAdminError
from bulk_admin.forms import CommitForm, MappingForm, UploadForm
from bulk_admin.hints import Hint
from bulk_admin.mapping import importable_fields, is_required, propose_mapping
from bulk_admin.models import ImportJob
from bulk_admin.reading import ReadingOptions
from bulk_admin.sinks import choose_sink
from bulk_admin.sources import detect_format, open_source

ERRORS_PER_PAGE = 100
SAMPLE_VALUES = 3


class BulkImportView(View):
    """Base of the step views: permission check, job lookup, admin context, templates."""

    model_admin: Any = None
    step = ""
    title = ""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not self.model_admin.has_bulk_import_permission(request):
            raise PermissionDenied
        request.current_app = self.model_admin.admin_site.name
        return super().dispatch(request, *args, **kwargs)

    @property
    def opts(self) -> Any:
        return self.model_admin.model._meta

    def url(self, step: str, job: ImportJob | None = None, **kwargs: Any) -> str:
        name = "%s:%s_%s_bulk_import%s" % (
            self.model_admin.admin_site.name,
            self.opts.app_label,
            self.opts.model_name,
            "_" + step if step else "",
        )
        if job is not None:
            kwargs["job_id"] = job.pk
        return reverse(name, kwargs=kwargs or None)

    def get_job(self, job_id: Any) -> ImportJob:
        """Return the job ``job_id`` of this model and this user (any user's for a superuser)."""
        content_type = ContentType.objects.get_for_model(
            self.model_admin.model, for_concrete_model=False
        )
        queryset = ImportJob.objects.select_related("content_type").filter(
            pk=job_id, content_type=content_type
        )
        user = self.request.user
        if not user.is_authenticated:  # only staff pass the admin and the permission check
            raise PermissionDenied
        if not user.is_superuser:
            queryset = queryset.filter(created_by=user)
        job = queryset.first()
        if job is None:
            raise Http404(_("No such import."))
        return job

    def current_options(self, job: ImportJob) -> jobs.JobOptions:
        """Return the job's options with what the admin decides taken from it now.

        The importable fields and the row scope come from the current admin and this
        request, not from the upload's snapshot, so tightening the admin applies at once.
        """
        stored = jobs.job_options(job)
        current = self.model_admin.get_bulk_import_options(
            self.request, on_conflict=stored.on_conflict
        )
        return stored.with_request_parts(current)

    def forbidden_columns(self, job: ImportJob, options: jobs.JobOptions) -> list[str]:
        """Return the headers whose mapped field this user may not set any more."""
        model = self.model_admin.model
        names = {f.attname: f.name for f in model._meta.concrete_fields}
        allowed = set(options.fields)
        return [
            header
            for header, path in (job.mapping or {}).items()
            if path and names.get(path.partition("__")[0], path.partition("__")[0]) not in allowed
        ]

    def get_template_names(self) -> list[str]:
        opts = self.opts
        return [
            "admin/%s/%s/bulk_import_%s.html" % (opts.app_label, opts.model_name, self.step),
            "admin/%s/bulk_import_%s.html" % (opts.app_label, self.step),
            "admin/bulk_admin/%s.html" % self.step,
        ]

    def render(self, context: dict[str, Any], status: int = 200) -> TemplateResponse:
        admin_site = self.model_admin.admin_site
        media = self.model_admin.media
        if "form" in context and context["form"] is not None:
            media = media + context["form"].media
        base = {
            **admin_site.each_context(self.request),
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "title": self.title,
            "subtitle": None,
            "media": media,
            "step": self.step,
            "steps": _steps(self.step),
            "upload_url": self.url(""),
            "changelist_url": reverse(
                "%s:%s_%s_changelist"
                % (admin_site.name, self.opts.app_label, self.opts.model_name)
            ),
        }
        base.update(context)
        return TemplateResponse(self.request, self.get_template_names(), base, status=status)

    def redirect_for(self, job: ImportJob) -> HttpResponseRedirect | None:
        """Return where a job in its current state belongs, if not on this step's page."""
        status = job.status
        Status = ImportJob.Status
        if status in (Status.VALIDATING, Status.IMPORTING) and self.step != "progress":
            return HttpResponseRedirect(self.url("progress", job))
        if status == Status.VALIDATED and self.step not in ("preview", "mapping"):
            return HttpResponseRedirect(self.url("preview", job))
        if job.is_finished and job.phase == "commit" and self.step != "result":
            return HttpResponseRedirect(self.url("result", job))
        return None


def _steps(current: str) -> list[dict[str, Any]]:
    names = [
        ("upload", _("Upload")),
        ("mapping", _("Map columns")),
        ("preview", _("Preview")),
        ("result", _("Import")),
    ]
    order = {"upload": 0, "mapping": 1, "progress": 2, "preview": 2, "result": 3}
    position = order.get(current, 0)
    return [
        {"name": name, "label": label, "done": index < position, "current": index == position}
        for index, (name, label) in enumerate(names)
    ]


# --- 1. upload ---------------------------------------------------------------------------


@method_decorator(csrf_exempt, name="dispatch")
class UploadView(BulkImportView):
    """Take the file, store it as an ImportJob and read its header.

    CSRF is checked by hand, after the size check: the middleware's check would read the
    whole request body (the upload) before a too-large file could be refused.
    """

    step = "upload"

    @property
    def title(self) -> str:  # type: ignore[override]
        return _("Import %(name)s (fast)") % {"name": self.opts.verbose_name_plural}

    def get_form(self, data: Any = None, files: Any = None) -> UploadForm:
        request = self.request
        return UploadForm(
            data,
            files,
            policies=self.model_admin.get_bulk_import_policies(request),
            max_size=self.model_admin.get_bulk_import_max_file_size(request),
        )

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self.render(self.context(self.get_form()))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        max_size = self.model_admin.get_bulk_import_max_file_size(request)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        # Some slack for the multipart envelope and the other fields.
        if max_size and length > max_size + 64 * 1024:
            form = self.get_form()
            from django.template.defaultfilters import filesizeformat

            form.errors["file"] = form.error_class(
                [
                    _("The file is larger than %(max)s, the most this site accepts.")
                    % {"max": filesizeformat(max_size)}
                ]
            )
            return self.render(self.context(form), status=413)
        return csrf_protect(self._post)(request)

    def _post(self, request: HttpRequest) -> HttpResponse:
        form = self.get_form(request.POST, request.FILES)
        if not form.is_valid():
            return self.render(self.context(form))
        upload = form.cleaned_data["file"]
        try:
            file_format = detect_format(upload.file, upload.name)
        except BulkAdminError as exc:
            form.add_error("file", str(exc))
            return self.render(self.context(form))
        try:
            options = self.model_admin.get_bulk_import_options(
                request, on_conflict=form.cleaned_data["on_conflict"]
            )
        except BulkAdminError as exc:
            form.add_error(None, str(exc))
            return self.render(self.context(form))
        options = replace(
            options,
            encoding=form.cleaned_data.get("encoding") or "auto",
            delimiter=form.cleaned_data.get("delimiter") or "auto",
            sheet=form.cleaned_data.get("sheet") or None,
            reading=form.cleaned_data.get("reading") or {},
        )
        user = request.user
        if not user.is_authenticated:
            raise PermissionDenied
        job = ImportJob(
            created_by=user,
            content_type=ContentType.objects.get_for_model(
                self.model_admin.model, for_concrete_model=False
            ),
            admin_site=self.model_admin.admin_site.name,
            original_name=upload.name[:255],
            file_size=upload.size,
            format=file_format,
            options=options.to_json(),
        )
        job.file.save("upload", upload, save=False)
        try:
            headers, samples, detected = _inspect(job)
        except BulkAdminError as exc:
            job.file.delete(save=False)
            form.add_error("file" if "sheet" not in str(exc).lower() else None, str(exc))
            return self.render(self.context(form))
        job.headers = headers
        job.detected = detected
        job.options = replace(options, samples=tuple(tuple(row) for row in samples)).to_json()
        job.save()
        return HttpResponseRedirect(self.url("mapping", job))

    def context(self, form: UploadForm) -> dict[str, Any]:
        return {"form": form, "recent_jobs": self._recent_jobs()}

    def _recent_jobs(self) -> list[ImportJob]:
        content_type = ContentType.objects.get_for_model(
            self.model_admin.model, for_concrete_model=False
        )
        user = self.request.user
        if not user.is_authenticated:
            raise PermissionDenied
        return list(
            ImportJob.objects.filter(content_type=content_type, created_by=user).order_by(
                "-created_at"
            )[:5]
        )


def _inspect(job: ImportJob) -> tuple[list[str], list[list[str]], dict[str, Any]]:
    """Read the header and a few rows of the job's file, in bounded memory.

    A workbook is read by bulk_admin.peek, which parses only the start of the sheet and the
    shared strings it uses: python-calamine loads the whole sheet, and openpyxl every shared
    string, before giving a first row. The whole file is read by the task.
    """
    from bulk_admin.conversion import display_value
    from bulk_admin.sources import XlsxSource

    options = jobs.job_options(job)
    with job.file.open("rb") as file:
        source = (
            XlsxSource(file, sheet=options.sheet, peek=SAMPLE_VALUES + 1)
            if job.format == "xlsx"
            else open_source(
                file,
                name=job.original_name,
                format=job.format,
                encoding=options.encoding,
                delimiter=options.delimiter,
                sheet=options.sheet,
            )
        )
        with source:
            if not source.headers:
                raise BulkAdminError(_("The file has no header row: its first row is empty."))
            samples = []
            for _number, cells in source.rows():
                samples.append([display_value(cell) or "" for cell in cells])
                if len(samples) >= SAMPLE_VALUES:
                    break
            return source.headers, samples, source.info.detected()


# --- 2. mapping --------------------------------------------------------------------------


class MappingView(BulkImportView):
    step = "mapping"
    title = ""

    def job_fields(self, job: ImportJob) -> dict[str, Any]:
        """Return the fields the job may set, as the admin decides now for this user."""
        return importable_fields(self.model_admin.model, self.current_options(job).fields)

    def get_form(self, job: ImportJob, data: Any = None) -> MappingForm:
        fields = self.job_fields(job)
        options = jobs.job_options(job)
        return MappingForm(
            data,
            model=self.model_admin.model,
            headers=job.headers,
            fields=fields,
            initial_mapping=self._initial_mapping(job, fields),
            samples=[list(row) for row in options.samples],
            aliases=dict(options.aliases),
            fk_lookups=dict(options.fk_lookups),
        )

    def _initial_mapping(self, job: ImportJob, fields: Any) -> dict[str, str]:
        if job.mapping:
            return dict(job.mapping)
        from_admin: dict[str, str] | None
        try:
            from_admin = self.model_admin.get_bulk_import_initial_mapping(
                self.request, job.headers
            )
        except BulkAdminError:
            from_admin = None
        if from_admin is not None:
            return from_admin
        # The last mapping used for the same model and the same headers.
        previous = (
            ImportJob.objects.filter(content_type=job.content_type, headers=job.headers)
            .filter(Q(created_by=self.request.user) | Q(created_by__isnull=True))
            .exclude(pk=job.pk)
            .exclude(mapping={})
            .order_by("-created_at")
            .only("mapping")
            .first()
        )
        if previous is not None:
            self.reused_mapping = True
            return {
                header: path for header, path in previous.mapping.items() if header in job.headers
            }
        return propose_mapping(
            job.headers,
            self.model_admin.model,
            fields=fields,
            aliases=dict(jobs.job_options(job).aliases),
            fk_lookups=dict(jobs.job_options(job).fk_lookups),
        )

    def context(self, job: ImportJob, form: MappingForm) -> dict[str, Any]:
        fields = self.job_fields(job)
        required = [f for f in self.model_admin.model._meta.concrete_fields if is_required(f)]
        return {
            "job": job,
            "form": form,
            "title": _("Map the columns of %(file)s") % {"file": job.original_name},
            "required_fields": [
                capfirst(str(f.verbose_name)) for f in required if f.name in fields
            ],
            "reused_mapping": getattr(self, "reused_mapping", False),
            "delimiter_label": _delimiter_label(job.detected.get("delimiter")),
            "status_url": self.url("status", job),
            "cancel_url": self.url("cancel", job),
        }

    def get(self, request: HttpRequest, job_id: Any) -> HttpResponse:
        job = self.get_job(job_id)
        redirect = self.redirect_for(job)
        if redirect is not None:
            return redirect
        return self.render(self.context(job, self.get_form(job)))

    def post(self, request: HttpRequest, job_id: Any) -> HttpResponse:
        job = self.get_job(job_id)
        form = self.get_form(job, request.POST)
        if not form.is_valid():
            return self.render(self.context(job, form))
        try:
            keys = self.model_admin.get_bulk_import_keys(request, job.headers)
            options = self.current_options(job)
        except BulkAdminError as exc:
            form.add_error(None, str(exc))
            return self.render(self.context(job, form))
        options = replace(options, keys=tuple(keys) if keys else None)
        jobs.start_validation(job, options, form.cleaned_data["mapping"])
        return HttpResponseRedirect(self.url("progress", job))


def _delimiter_label(delimiter: str | None) -> str:
    if not delimiter:
        return ""
    return {"\t": _("tab"), ",": _("comma"), ";": _("semicolon"), "|": _("pipe")}.get(
        delimiter, delimiter
    )


# --- validation and commit progress ------------------------------------------------------


class ProgressView(BulkImportView):
    step = "progress"

    def get(self, request: HttpRequest, job_id: Any) -> HttpResponse:
        job = self.get_job(job_id)
        if job.status == ImportJob.Status.VALIDATED:
            return HttpResponseRedirect(self.url("preview", job))
        if job.is_finished and job.phase == "commit":
            return HttpResponseRedirect(self.url("result", job))
        if job.status == ImportJob.Status.UPLOADED:
            return HttpResponseRedirect(self.url("mapping", job))
        validating = job.phase == "validate"
        return self.render(
            {
                "job": job,
                "title": _("Checking %(file)s") % {"file": job.original_name}
                if validating
                else _("Importing %(file)s") % {"file": job.original_name},
                "progress": jobs.get_progress(job),
                "status_url": self.url("status", job),
                "cancel_url": self.url("cancel", job),
            }
        )


class StatusView(BulkImportView):
    """JSON for the progress bar: rows done, total, rate, time left, where to go next."""

    step = "status"

    def get(self, request: HttpRequest, job_id: Any) -> JsonResponse:
        job = self.get_job(job_id)
        data = jobs.get_progress(job)
        redirect = None
        if job.status == ImportJob.Status.VALIDATED:
            redirect = self.url("preview", job)
        elif job.is_finished and job.phase == "commit":
            redirect = self.url("result", job)
        data["redirect"] = redirect
        return JsonResponse(data)


class CancelView(BulkImportView):
    step = "cancel"
    http_method_names = ["post"]

    def post(self, request: HttpRequest, job_id: Any) -> HttpResponse:
        job = self.get_job(job_id)
        outcome = jobs.request_cancel(job)
        if outcome == "requested":
            # A live worker sees the flag before its commit and rolls back.
            self.model_admin.message_user(request, _("Cancelling the import…"))
            return HttpResponseRedirect(self.url("progress", job))
        if outcome == ImportJob.Status.CANCELLED:
            self.model_admin.message_user(
                request, _("The import was cancelled; nothing was written.")
            )
        return HttpResponseRedirect(_changelist(self))


def _changelist(view: BulkImportView) -> str:
    return reverse(
        "%s:%s_%s_changelist"
        % (view.model_admin.admin_site.name, view.opts.app_label, view.opts.model_name)
    )


# --- 3. preview --------------------------------------------------------------------------


class PreviewView(BulkImportView):
    step = "preview"

    def get(self, request: HttpRequest, job_id: Any) -> HttpResponse:
        job = self.get_job(job_id)
        if job.status != ImportJob.Status.VALIDATED:
            redirect = self.redirect_for(job)
            if redirect is not None:
                return redirect
            return HttpResponseRedirect(self.url("mapping", job))
        return self.render(
            self.context(job, CommitForm(initial={"preview": jobs.preview_token(job)}))
        )

    def context(self, job: ImportJob, form: CommitForm) -> dict[str, Any]:
        paginator = Paginator(job.errors.order_by("row", "id"), ERRORS_PER_PAGE)
        page = paginator.get_page(self.request.GET.get("page"))
        try:
            method = choose_sink("auto", _database_for(self.model_admin.model)).method
        except BulkAdminError:
            method = job.method
        sample_headers: list[str] = []
        for row in job.sample:
            for key in row:
                if key != "__row__" and key not in sample_headers:
                    sample_headers.append(key)
        return {
            "job": job,
            "form": form,
            "title": _("Preview of %(file)s") % {"file": job.original_name},
            "errors_page": page,
            "page_range": paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1),
            "errors_truncated": job.error_count < job.invalid and job.error_count > 0,
            "sample_headers": sample_headers,
            "sample_rows": [
                (row.get("__row__", ""), [row.get(header, "") for header in sample_headers])
                for row in job.sample
            ],
            "method": method,
            "method_display": "COPY" if method == "copy" else "bulk_create",
            "valid_rows": job.created + job.updated,
            "can_commit": job.invalid == 0 and (job.created + job.updated) > 0,
            "can_commit_valid": job.invalid > 0 and (job.created + job.updated) > 0,
            "commit_url": self.url("commit", job),
            "mapping_url": self.url("mapping", job),
            "cancel_url": self.url("cancel", job),
            "rejects_csv_url": self.url("rejects", job, fmt="csv"),
            "rejects_xlsx_url": self.url("rejects", job, fmt="xlsx"),
            "status_url": self.url("status", job),
            "hints": list(enumerate((job.detected or {}).get("hints") or [])),
            "reading": _reading_labels((job.detected or {}).get("reading") or {}),
            "recheck_url": self.url("recheck", job),
        }


class RecheckView(BulkImportView):
    """Check the file again with a reading option the preview proposed (one click).

    The option is looked up by its number among the job's own hints, never taken from the
    request.
    """

    step = "preview"
    http_method_names = ["post"]

    def post(self, request: HttpRequest, job_id: Any) -> HttpResponse:
        job = self.get_job(job_id)
        hints = (job.detected or {}).get("hints") or []
        try:
            chosen = hints[int(request.POST.get("hint", ""))]
        except (ValueError, IndexError, TypeError):
            self.model_admin.message_user(
                request, _("That proposal is no longer on the preview."), messages.WARNING
            )
            return HttpResponseRedirect(self.url("preview", job))
        try:
            options = self.current_options(job)
            hint = Hint(
                option=chosen["option"],
                value=chosen["value"],
                cells=chosen["cells"],
                columns=tuple(chosen["columns"]),
                message=chosen["message"],
            )
            reading = hint.options(ReadingOptions.from_dict(options.reading))
        except (BulkAdminError, KeyError, TypeError) as exc:
            self.model_admin.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(self.url("preview", job))
        if not jobs.start_validation(
            job, replace(options, reading=reading.as_dict()), job.mapping
        ):
            return HttpResponseRedirect(self.url("preview", job))
        return HttpResponseRedirect(self.url("progress", job))


def _reading_labels(reading: Mapping[str, Any]) -> list[tuple[str, str]]:
    labels = {
        "null_values": _("Empty markers"),
        "date_formats": _("Date formats"),
        "datetime_formats": _("Date and time formats"),
        "decimal_separator": _("Decimal separator"),
        "thousands_separator": _("Thousands separator"),
        "true_values": _("Words for true"),
        "false_values": _("Words for false"),
    }
    shown = []
    for name, value in reading.items():
        text = ", ".join(value) if isinstance(value, list) else "“%s”" % value
        shown.append((str(labels.get(name, name)), text))
    return shown


def _database_for(model: Any) -> str:
    from django.db import router

    return router.db_for_write(model)


# --- 4. commit ---------------------------------------------------------------------------


class CommitView(BulkImportView):
    """Start the import: POST only, CSRF-protected, idempotent."""

    step = "commit"
    http_method_names = ["post"]

    def post(self, request: HttpRequest, job_id: Any) -> HttpResponse:
        job = self.get_job(job_id)
        form = CommitForm(request.POST)
        skip_invalid = form.is_valid() and form.cleaned_data["skip_invalid"]
        if job.status != ImportJob.Status.VALIDATED:
            # A second click, or a stale page: show where the job is instead of importing twice.
            return self.redirect_for(job) or HttpResponseRedirect(self.url("progress", job))
        token = form.cleaned_data.get("preview") if form.is_valid() else ""
        if token and token != jobs.preview_token(job):
            # Clicked in a tab showing an earlier check (the file was mapped again since).
            self.model_admin.message_user(
                request,
                _("This preview was out of date; here is the current one. Nothing was written."),
                level="warning",
            )
            return HttpResponseRedirect(self.url("preview", job))
        if job.invalid and not skip_invalid:
            self.model_admin.message_user(
                request,
                _("The file has invalid rows. Fix them, or choose to write the valid rows only."),
                level="error",
            )
            return HttpResponseRedirect(self.url("preview", job))
        stored = jobs.job_options(job)
        if stored.on_conflict == "update" and not self.model_admin.has_change_permission(request):
            raise PermissionDenied
        try:
            options = self.current_options(job)
        except BulkAdminError as exc:
            self.model_admin.message_user(request, str(exc), level="error")
            return HttpResponseRedirect(self.url("preview", job))
        forbidden = self.forbidden_columns(job, options)
        if forbidden:
            self.model_admin.message_user(
                request,
                _(
                    "You may no longer set the fields of these columns: %(columns)s. "
                    "Map the columns again."
                )
                % {"columns": ", ".join(forbidden)},
                level="error",
            )
            return HttpResponseRedirect(self.url("mapping", job))
        # Compare-and-swap on the status: only one request can start the import.
        jobs.start_commit(job, replace(options, skip_invalid=skip_invalid))
        return HttpResponseRedirect(self.url("progress", job))


# --- 5. result ---------------------------------------------------------------------------


class ResultView(BulkImportView):
    step = "result"

    def get(self, request: HttpRequest, job_id: Any) -> HttpResponse:
        job = self.get_job(job_id)
        if not (job.is_finished and job.phase == "commit"):
            return self.redirect_for(job) or HttpResponseRedirect(self.url("progress", job))
        job_url = None
        try:
            job_url = reverse(
                "%s:bulk_admin_importjob_change" % self.model_admin.admin_site.name, args=[job.pk]
            )
        except Exception:
            job_url = None
        if job.status == ImportJob.Status.SUCCEEDED:
            title = _("Imported %(file)s") % {"file": job.original_name}
        else:
            title = _("%(file)s was not imported") % {"file": job.original_name}
        return self.render(
            {
                "job": job,
                "title": title,
                "job_url": job_url,
                "method_display": "COPY" if job.method == "copy" else job.method,
                "summary": ngettext(
                    "%(count)d row written", "%(count)d rows written", job.created + job.updated
                )
                % {"count": job.created + job.updated},
            }
        )


# --- rejected rows -----------------------------------------------------------------------


class RejectsView(BulkImportView):
    """Download the invalid rows with an error column (CSV or XLSX), or the original file."""

    step = "rejects"

    def get(self, request: HttpRequest, job_id: Any, fmt: str) -> StreamingHttpResponse:
        job = self.get_job(job_id)
        if not job.file.name or not job.file.storage.exists(job.file.name):
            raise Http404(_("The uploaded file is no longer stored."))
        if fmt == "original":
            extension = "xlsx" if job.format == "xlsx" else "csv"
            return FileResponse(
                job.file.open("rb"),
                as_attachment=True,
                filename="upload-%s.%s" % (job.pk, extension),
            )
        if fmt not in ("csv", "xlsx"):
            raise Http404(_("Unknown format."))
        messages: dict[int, list[str]] = {}
        for row, column, message in job.errors.exclude(row=None).values_list(
            "row", "column", "message"
        ):
            assert row is not None  # excluded above
            text = "%s: %s" % (column, message) if column else message
            messages.setdefault(row, []).append(text)
        base = (job.original_name.rsplit(".", 1)[0] or "import")[:100]
        filename = "%s-rejected.%s" % (base, fmt)
        try:
            rows = _reject_rows(job, messages)
            header = next(rows)
        except BulkAdminError as exc:
            raise Http404(str(exc)) from None
        if fmt == "csv":
            return StreamingHttpResponse(
                _csv_lines(header, rows),
                content_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": 'attachment; filename="%s"' % _safe(filename)},
            )
        return _xlsx_response(header, rows, filename)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _reject_rows(job: ImportJob, messages: dict[int, list[str]]) -> Iterator[list[Any]]:
    options = jobs.job_options(job)
    handle = job.file.open("rb")
    source = open_source(
        handle,
        name=job.original_name,
        format=job.format,
        encoding=options.encoding,
        delimiter=options.delimiter,
        sheet=options.sheet,
    )
    try:
        yield [*source.headers, _("Errors")]
        width = len(source.headers)
        for number, cells in source.rows():
            problems = messages.get(number)
            if problems:
                cells = list(cells[:width]) + [""] * max(0, width - len(cells))
                yield [*cells, " | ".join(problems)]
    finally:
        source.close()
        handle.close()


def _csv_lines(header: list[Any], rows: Iterator[list[Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    # A BOM so that Excel opens the UTF-8 file with its accents intact.
    writer.writerow([neutralise(cell) for cell in header])
    yield "\ufeff" + buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([neutralise(cell) for cell in row])
        yield buffer.getvalue()


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def neutralise(cell: Any) -> Any:
    """Return a CSV cell that no spreadsheet runs as a formula (OWASP CSV injection).

    Text starting with ``= + - @``, a tab or a line break gets a leading apostrophe,
    which spreadsheets show as text; numbers, dates and other values pass unchanged.
    """
    if cell is None:
        return ""
    if isinstance(cell, str) and cell.startswith(_FORMULA_START):
        return "'" + cell
    return cell


def _xlsx_cells(sheet: Any, row: list[Any]) -> list[Any]:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    cells = []
    for value in row:
        if isinstance(value, str):
            # Control characters XML cannot carry become spaces; the cell stays text, so a
            # leading "=" is shown, never evaluated.
            cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub(" ", value))
            cell.data_type = "s"
        else:
            cell = WriteOnlyCell(sheet, value=value)
        cells.append(cell)
    return cells


def _xlsx_response(header: list[Any], rows: Iterator[list[Any]], filename: str) -> FileResponse:
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Rejected rows")[:31])
    sheet.append(_xlsx_cells(sheet, header))
    for row in rows:
        sheet.append(_xlsx_cells(sheet, row))
    output = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it)
    workbook.save(output)
    output.seek(0)
    return FileResponse(
        output,
        as_attachment=True,
        filename=filename,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
