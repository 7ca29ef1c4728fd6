"""Run an ImportJob's validation (a dry run) or commit, outside any request.

Called by the tasks in :mod:`bulk_admin.tasks`; it never sees a request. Progress and
the cancel flag live in Django's cache (``BULK_ADMIN_CACHE``), because the import's own
transaction hides its database writes from other connections until it ends. Background
workers in another process therefore need a cache shared between processes (Redis,
Memcached, the database or file-based cache).
"""

from __future__ import annotations

import decimal
import logging
import time
from collections.abc import Callable
from typing import Any

from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.cache import caches
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bulk_admin.conf import conf
from bulk_admin.conversion import Chunk, display_value
from bulk_admin.exceptions import BulkAdminError, ImportCancelled
from bulk_admin.importer import Importer, ImportOptions, Progress
from bulk_admin.models import ImportJob, ImportJobError
from bulk_admin.results import ImportResult, format_summary

logger = logging.getLogger("bulk_admin")

SAMPLE_ROWS = 10
_PROGRESS_INTERVAL = 0.3


def _cache() -> Any:
    return caches[conf.CACHE]


def progress_key(job_id: Any) -> str:
    return "bulk_admin:progress:%s" % job_id


def cancel_key(job_id: Any) -> str:
    return "bulk_admin:cancel:%s" % job_id


def get_progress(job: ImportJob) -> dict[str, Any]:
    """Return the live progress of ``job``: rows done, total, rate and time left."""
    data = _cache().get(progress_key(job.pk)) or {}
    rows = int(data.get("rows", 0))
    elapsed = float(data.get("elapsed", 0.0))
    total = data.get("total")
    rate = rows / elapsed if elapsed > 0 else 0.0
    left = (total - rows) / rate if total and rate else None
    percent = min(100.0, 100.0 * rows / total) if total else None
    if job.is_finished or job.status == ImportJob.Status.VALIDATED:
        rows = job.rows if job.status != ImportJob.Status.VALIDATED else job.dry_run_rows
        percent = 100.0
        left = 0.0
        total = rows
    return {
        "status": job.status,
        "status_display": str(job.get_status_display()),
        "stage": data.get("stage", ""),
        "rows": rows,
        "total": total,
        "invalid": int(data.get("invalid", 0)),
        "percent": percent,
        "rate": round(rate, 1),
        "seconds_left": round(left, 1) if left is not None else None,
        "finished": not job.is_running,
        "message": job.message,
    }


def clear_progress(job: ImportJob) -> None:
    """Forget the progress and cancel flag of an earlier run of ``job``."""
    _cache().delete_many([progress_key(job.pk), cancel_key(job.pk)])


def request_cancel(job: ImportJob) -> bool:
    """Ask a running job to stop; return False when it is not running any more."""
    if job.is_finished:
        return False
    _cache().set(cancel_key(job.pk), True, timeout=24 * 3600)
    return True


def find_model_admin(job: ImportJob) -> Any:
    """Return the ModelAdmin that created ``job`` (for its hooks), or None."""
    from django.contrib.admin.sites import all_sites

    model = job.content_type.model_class()
    for site in all_sites:
        if site.name == job.admin_site and model in site._registry:
            return site._registry[model]
    return None


def build_options(job: ImportJob, *, dry_run: bool) -> ImportOptions:
    """Return the ImportOptions of ``job``: stored options plus the admin's code hooks."""
    stored = dict(job.options)
    options = ImportOptions(
        mapping=dict(job.mapping),
        on_conflict=stored.get("on_conflict", "error"),
        keys=stored.get("keys") or None,
        skip_invalid=bool(stored.get("skip_invalid", False)),
        dry_run=dry_run,
        batch_size=stored.get("batch_size"),
        format=job.format or "auto",
        encoding=stored.get("encoding") or "auto",
        delimiter=stored.get("delimiter") or "auto",
        sheet=stored.get("sheet") or None,
        fields=stored.get("fields"),
        exclude=stored.get("exclude"),
        aliases=stored.get("aliases"),
        fk_lookups=stored.get("fk_lookups"),
        max_errors=conf.MAX_STORED_ERRORS,
    )
    model_admin = find_model_admin(job)
    if model_admin is not None and hasattr(model_admin, "get_bulk_import_hooks"):
        hooks = model_admin.get_bulk_import_hooks()
        options.converters = hooks.get("converters") or None
        options.empty_cells = hooks.get("empty_cells") or None
        options.chunk_hooks = list(hooks.get("chunk_hooks") or ())
    return options


def _sampler(importer: Importer, sample: list[dict[str, str]]) -> Callable[[Chunk], None]:
    """Return a chunk hook keeping the first rows as they will be written, for the preview.

    Only the mapped fields are shown (defaults such as a random UUID would differ from what
    the commit writes), foreign keys as their related object, decimals with their places.
    More rows than shown are kept: rows found invalid later (taken keys) are dropped then.
    """

    def capture(chunk: Chunk) -> None:
        plan = importer.plan
        if len(sample) >= SAMPLE_ROWS * 2 or plan is None:
            return
        rows = chunk.rows[: SAMPLE_ROWS * 2 - len(sample)]
        related: dict[int, dict[Any, str]] = {}
        for position, field in enumerate(plan.mapped_fields):
            if isinstance(field, models.ForeignObject):
                model = field.related_model
                assert not isinstance(model, str)
                target = field.target_field.attname
                keys = {values[position] for _row, values in rows if values[position] is not None}
                objects = model._base_manager.db_manager(importer.using).filter(
                    **{target + "__in": keys}
                )
                related[position] = {getattr(obj, target): str(obj) for obj in objects}
        for row_number, values in rows:
            shown = {"__row__": str(row_number)}
            for position, field in enumerate(plan.mapped_fields):
                value = values[position]
                if value is None:
                    text = ""
                elif position in related:
                    text = related[position].get(value, str(value))
                elif isinstance(value, decimal.Decimal) and isinstance(field, models.DecimalField):
                    places = decimal.Decimal(1).scaleb(-(field.decimal_places or 0))
                    text = str(value.quantize(places))
                else:
                    text = str(display_value(value))
                shown[str(field.verbose_name)] = text
            sample.append(shown)

    return capture


def _progress(job: ImportJob, total: int | None) -> Callable[[Progress], None]:
    cache = _cache()
    key = progress_key(job.pk)
    last = [0.0]

    def report(progress: Progress) -> None:
        now = time.monotonic()
        if now - last[0] >= _PROGRESS_INTERVAL or progress.stage == "writing":
            last[0] = now
            cache.set(
                key,
                {
                    "rows": progress.rows,
                    "total": total,
                    "invalid": progress.invalid,
                    "stage": progress.stage,
                    "elapsed": progress.elapsed,
                },
                timeout=24 * 3600,
            )
        if cache.get(cancel_key(job.pk)):
            raise ImportCancelled(_("The import was cancelled; nothing was written."))

    return report


def run_job(job_id: str, *, commit: bool) -> str:
    """Validate (``commit=False``) or import (``commit=True``) the job; return its status.

    Every outcome ends in the job's status and message; nothing is raised.
    """
    job = ImportJob.objects.select_related("content_type").get(pk=job_id)
    model = job.content_type.model_class()
    expected = ImportJob.Status.IMPORTING if commit else ImportJob.Status.VALIDATING
    if job.status != expected:
        return job.status  # a duplicate task, or a job cancelled before it started
    if _cache().get(cancel_key(job.pk)):
        _finish(job, ImportJob.Status.CANCELLED, _("The import was cancelled before it started."))
        return job.status
    job.started_at = timezone.now()
    job.save(update_fields=["started_at"])
    total = job.dry_run_rows if commit and job.dry_run_rows else None
    sample: list[dict[str, str]] = []
    try:
        # A job whose model has been removed since fails as an unexpected error, below.
        assert model is not None
        options = build_options(job, dry_run=not commit)
        with job.file.open("rb") as file:
            importer = Importer(
                model, file, options, name=job.original_name, progress=_progress(job, total)
            )
            if not commit:
                options.chunk_hooks = [*options.chunk_hooks, _sampler(importer, sample)]
            result = importer.run()
    except ImportCancelled as exc:
        _finish(job, ImportJob.Status.CANCELLED, str(exc))
        return job.status
    except BulkAdminError as exc:
        _finish(job, ImportJob.Status.FAILED, str(exc))
        return job.status
    except Exception:
        logger.exception("bulk_admin: import job %s failed", job.pk)
        _finish(
            job,
            ImportJob.Status.FAILED,
            _(
                "The import failed because of an unexpected error; nothing was written. "
                "The server log has the details."
            ),
        )
        return job.status
    _store_result(job, result, commit=commit, sample=sample)
    return job.status


def _finish(job: ImportJob, status: str, message: str) -> None:
    job.status = status
    job.message = message
    job.finished_at = timezone.now()
    if job.started_at:
        job.duration = (job.finished_at - job.started_at).total_seconds()
    job.save(update_fields=["status", "message", "finished_at", "duration"])
    _cache().delete(cancel_key(job.pk))


@transaction.atomic
def _store_result(
    job: ImportJob, result: ImportResult, *, commit: bool, sample: list[dict[str, str]]
) -> None:
    job.method = result.method
    job.rows = result.rows
    job.created = result.created
    job.updated = result.updated
    job.skipped = result.skipped
    job.invalid = result.invalid
    job.error_count = len(result.errors)
    job.detected = result.file.detected() if result.file else {}
    job.finished_at = timezone.now()
    job.duration = result.duration
    if not commit:
        invalid_rows = {error.row for error in result.errors}
        job.dry_run_rows = result.rows
        job.sample = [row for row in sample if int(row["__row__"]) not in invalid_rows][
            :SAMPLE_ROWS
        ]
        job.status = ImportJob.Status.VALIDATED
        job.message = format_summary(result)
        job.errors.all().delete()
        ImportJobError.objects.bulk_create(
            (
                ImportJobError(
                    job=job,
                    row=error.row,
                    column=(error.column or "")[:255],
                    field=(error.field or "")[:255],
                    value=error.value or "",
                    message=error.message,
                )
                for error in result.errors
            ),
            batch_size=1000,
        )
    elif result.committed:
        job.status = ImportJob.Status.SUCCEEDED
        job.message = format_summary(result)
        if job.created_by_id is not None:
            LogEntry.objects.create(
                user_id=job.created_by_id,
                content_type=ContentType.objects.get_for_model(ImportJob),
                object_id=str(job.pk),
                object_repr=str(job)[:200],
                action_flag=ADDITION,
                change_message=job.message,
            )
    else:
        job.status = ImportJob.Status.FAILED
        job.message = _(
            "Nothing was written: %(count)d rows are invalid now (the file or the table changed "
            "since the preview). Validate again to see them."
        ) % {"count": result.invalid}
    job.save()
    _cache().delete(cancel_key(job.pk))
