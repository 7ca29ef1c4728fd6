from django.contrib import admin

from bulk_admin.admin import BulkImportMixin

from .models import Author, Book


@admin.register(Author)
class AuthorAdmin(BulkImportMixin, admin.ModelAdmin):
    list_display = ["name", "email", "country"]
    list_filter = ["country"]
    search_fields = ["name", "email"]


@admin.register(Book)
class BookAdmin(BulkImportMixin, admin.ModelAdmin):
    list_display = ["isbn", "title", "author", "price", "published", "in_stock", "pages"]
    list_filter = ["in_stock"]
    list_select_related = ["author"]
    search_fields = ["isbn", "title", "author__name"]
    autocomplete_fields = ["author"]
    # Files name authors by name, not by id.
    bulk_import_fk_lookups = {"author": "name"}
    bulk_import_aliases = {"Writer": "author__name", "Publication date": "published"}
