"""``manage.py bulk_import_cleanup``: delete uploads older than the retention period."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from bulk_admin.conf import conf
from bulk_admin.jobs import RUNNING, reap_stale
from bulk_admin.models import ImportJob


class Command(BaseCommand):
    help = (
        "Delete the stored uploads of import jobs created more than "
        "BULK_ADMIN_UPLOAD_RETENTION_DAYS days ago (running jobs excepted), and with "
        "--delete-jobs the jobs themselves. Stale jobs are reaped first."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days", type=float, default=None, help="Override BULK_ADMIN_UPLOAD_RETENTION_DAYS."
        )
        parser.add_argument(
            "--delete-jobs", action="store_true", help="Delete the old jobs, not only their files."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days = conf.UPLOAD_RETENTION_DAYS if options["days"] is None else options["days"]
        reap_stale()
        if days <= 0:
            self.stdout.write("Retention is unlimited; nothing deleted.")
            return
        before = timezone.now() - datetime.timedelta(days=days)
        old = ImportJob.objects.filter(created_at__lt=before).exclude(status__in=RUNNING)
        if options["delete_jobs"]:
            count = 0
            for job in old.iterator():
                job.delete()  # its file goes with it
                count += 1
            self.stdout.write(self.style.SUCCESS("%d import job(s) deleted." % count))
            return
        files = 0
        for job in old.exclude(file="").iterator():
            job.file.delete(save=False)
            ImportJob.objects.filter(pk=job.pk).update(file="")
            files += 1
        self.stdout.write(self.style.SUCCESS("%d upload(s) deleted." % files))
