"""ImportJob: one upload and everything done with it, step after step.

The upload is kept in Django's default storage, so that the mapping, preview and commit
steps may run in other requests, processes or servers. Each step looks the job up by its
id, its model and its owner; nothing about a job is ever taken from a form's hidden field.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _


def upload_path(job: ImportJob, filename: str) -> str:
    """Return where an upload is stored: chosen by the job's id, never by the user's file name."""
    extension = "xlsx" if job.format == "xlsx" else "csv"
    return "bulk_admin/%s/upload.%s" % (job.pk, extension)


class ImportJob(models.Model):
    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Uploaded")
        VALIDATING = "validating", _("Validating")
        VALIDATED = "validated", _("Validated")
        IMPORTING = "importing", _("Importing")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    content_type = models.ForeignKey(
        ContentType, on_delete=models.CASCADE, related_name="+", verbose_name=_("model")
    )
    admin_site = models.CharField(_("admin site"), max_length=100, default="admin")
    file = models.FileField(_("file"), upload_to=upload_path, max_length=255)
    original_name = models.CharField(_("file name"), max_length=255, blank=True)
    file_size = models.BigIntegerField(_("file size"), default=0)
    format = models.CharField(_("format"), max_length=10, blank=True)
    options = models.JSONField(_("options"), default=dict, blank=True)
    detected = models.JSONField(_("detected"), default=dict, blank=True)
    headers = models.JSONField(_("headers"), default=list, blank=True)
    mapping = models.JSONField(_("mapping"), default=dict, blank=True)
    sample = models.JSONField(_("sample rows"), default=list, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.UPLOADED
    )
    phase = models.CharField(
        _("phase"),
        max_length=10,
        choices=[("validate", _("Validation")), ("commit", _("Commit"))],
        default="validate",
    )
    method = models.CharField(_("method"), max_length=20, blank=True)
    message = models.TextField(_("message"), blank=True)
    rows = models.BigIntegerField(_("rows"), default=0)
    created = models.BigIntegerField(_("created"), default=0)
    updated = models.BigIntegerField(_("updated"), default=0)
    skipped = models.BigIntegerField(_("skipped"), default=0)
    invalid = models.BigIntegerField(_("invalid"), default=0)
    error_count = models.BigIntegerField(_("errors"), default=0)
    dry_run_rows = models.BigIntegerField(_("rows in the preview"), default=0)
    task_id = models.CharField(_("task id"), max_length=255, blank=True)
    claim = models.CharField(_("worker claim"), max_length=64, blank=True, editable=False)
    """The token of the worker running the job's current step; empty while it is queued."""
    heartbeat_at = models.DateTimeField(_("last heartbeat"), null=True, blank=True)
    progress = models.JSONField(_("progress"), default=dict, blank=True)
    cancel_requested = models.BooleanField(_("cancel requested"), default=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    duration = models.FloatField(_("duration (s)"), null=True, blank=True)

    class Meta:
        verbose_name = _("import job")
        verbose_name_plural = _("import jobs")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["content_type", "created_by", "-created_at"])]

    def __str__(self) -> str:
        return "%s → %s (%s)" % (
            self.original_name or self.pk,
            self.model_label,
            self.get_status_display(),
        )

    @property
    def model_label(self) -> str:
        model = self.content_type.model_class()
        return (
            model._meta.label if model is not None else "%s.%s" % self.content_type.natural_key()
        )

    @property
    def is_running(self) -> bool:
        return self.status in (self.Status.VALIDATING, self.Status.IMPORTING)

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED, self.Status.CANCELLED)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.duration if self.duration else 0.0

    @property
    def is_queued(self) -> bool:
        """True while the job's step waits for a worker to claim it."""
        return self.is_running and not self.claim


@receiver(post_delete, sender="bulk_admin.ImportJob")
def _delete_upload(sender: Any, instance: ImportJob, using: str, **kwargs: Any) -> None:
    """Delete a job's stored upload with the job, once the deletion is committed."""
    name = instance.file.name
    if name:
        storage = instance.file.storage
        transaction.on_commit(lambda: storage.delete(name), using=using)


class ImportJobError(models.Model):
    """One problem found in a job's file; kept in a table so the preview paginates fast."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="errors")
    row = models.BigIntegerField(_("row"), null=True)
    column = models.CharField(_("column"), max_length=255, blank=True)
    field = models.CharField(_("field"), max_length=255, blank=True)
    value = models.TextField(_("value"), blank=True)
    message = models.TextField(_("message"))

    class Meta:
        verbose_name = _("import error")
        verbose_name_plural = _("import errors")
        ordering = ["row", "id"]
        indexes = [models.Index(fields=["job", "row"])]

    def __str__(self) -> str:
        return "%s, %s: %s" % (self.row, self.column, self.message)
