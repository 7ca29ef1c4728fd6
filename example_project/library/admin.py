from django.contrib import admin

from .models import Author, Book

# Both admins share this base class, so the fast import is one line away:
#     from bulk_admin.admin import BulkImportModelAdmin as LibraryModelAdmin
LibraryModelAdmin = admin.ModelAdmin


@admin.register(Author)
class AuthorAdmin(LibraryModelAdmin):
    list_display = ["name", "email", "country"]
    list_filter = ["country"]
    search_fields = ["name", "email"]


@admin.register(Book)
class BookAdmin(LibraryModelAdmin):
    list_display = ["isbn", "title", "author", "price", "published", "in_stock", "pages"]
    list_filter = ["in_stock"]
    list_select_related = ["author"]
    search_fields = ["isbn", "title", "author__name"]
    autocomplete_fields = ["author"]
