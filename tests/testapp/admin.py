import os
import time

from django.contrib import admin
from import_export.admin import ImportExportModelAdmin

from bulk_admin.admin import BulkImportMixin

from .models import Author, Book, Event, Item, Review
from .resources import ItemAdminResource


@admin.register(Author)
class AuthorAdmin(BulkImportMixin, admin.ModelAdmin):
    list_display = ["name", "email"]


def pause_in_worker(chunk):
    """Slow a worker process down (tests/test_worker.py), so its progress can be watched."""
    time.sleep(float(os.environ["BULK_ADMIN_TEST_CHUNK_PAUSE"]))


@admin.register(Book)
class BookAdmin(BulkImportMixin, admin.ModelAdmin):
    list_display = ["isbn", "title", "author", "price", "published", "in_stock"]
    # Only in the worker process of tests/test_worker.py: a hook disables the streamed COPY.
    bulk_import_chunk_hooks = (
        [pause_in_worker] if os.environ.get("BULK_ADMIN_TEST_CHUNK_PAUSE") else []
    )
    bulk_import_fk_lookups = {"author": "name"}
    bulk_import_aliases = {"Writer": "author__name"}


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    """No mixin: nothing changes for this model."""


@admin.register(Review)
class ReviewAdmin(BulkImportMixin, admin.ModelAdmin):
    bulk_import_policies = ("skip", "error")


# A second admin site: the mixin beside django-import-export, and URLs of a custom site.
other_site = admin.AdminSite(name="other")


class AuthorImportExportAdmin(BulkImportMixin, ImportExportModelAdmin):
    pass


class BookOwnTemplateAdmin(BulkImportMixin, admin.ModelAdmin):
    """A project with its own changelist template adds the button with one include."""

    change_list_template = "testapp/book_change_list.html"


other_site.register(Author, AuthorImportExportAdmin)
other_site.register(Book, BookOwnTemplateAdmin)


class ItemImportExportAdmin(BulkImportMixin, ImportExportModelAdmin):
    """A django-import-export admin whose resource drives the fast import."""

    resource_classes = [ItemAdminResource]


other_site.register(Item, ItemImportExportAdmin)
