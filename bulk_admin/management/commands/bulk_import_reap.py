"""``manage.py bulk_import_reap``: fail the import jobs whose worker stopped."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from bulk_admin.jobs import reap_stale


class Command(BaseCommand):
    help = (
        "Mark as failed every running import job whose heartbeat is older than "
        "BULK_ADMIN_HEARTBEAT_TIMEOUT (its worker stopped). Safe to run at any time, "
        "for instance from cron."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        count = reap_stale()
        self.stdout.write(self.style.SUCCESS("%d stale import job(s) marked as failed." % count))
