from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BulkAdminConfig(AppConfig):
    name = "bulk_admin"
    verbose_name = _("Bulk import")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from bulk_admin import checks  # noqa: F401  (registers the checks)
