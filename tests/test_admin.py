"""The mixin: buttons, templates, URLs, permissions hooks and system checks."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.core.checks import run_checks
from django.urls import reverse

from bulk_admin.admin import BulkImportMixin, BulkImportModelAdmin
from bulk_admin.checks import check_model_admins
from tests.testapp.models import Book, Event

pytestmark = pytest.mark.django_db


def test_urls_are_named_per_model():
    assert reverse("admin:testapp_book_bulk_import") == "/admin/testapp/book/bulk-import/"
    assert (
        reverse("other:testapp_author_bulk_import") == "/other-admin/testapp/author/bulk-import/"
    )


def test_import_export_and_fast_buttons_side_by_side(admin_client):
    response = admin_client.get(reverse("other:testapp_author_changelist"))
    page = response.content.decode()
    assert response.status_code == 200
    assert reverse("other:testapp_author_bulk_import") in page  # ours
    assert reverse("other:testapp_author_import") in page  # import-export's Import
    assert reverse("other:testapp_author_export") in page  # and Export
    # Import-export's own import page still works.
    assert admin_client.get(reverse("other:testapp_author_import")).status_code == 200
    # And ours too, in the custom site (current_app resolves its URLs).
    response = admin_client.get(reverse("other:testapp_author_bulk_import"))
    assert response.status_code == 200
    assert reverse("other:testapp_author_changelist") in response.content.decode()


def test_own_change_list_template_with_one_include(admin_client):
    response = admin_client.get(reverse("other:testapp_book_changelist"))
    page = response.content.decode()
    assert "own-tool" in page
    assert reverse("other:testapp_book_bulk_import") in page
    assert reverse("other:testapp_book_add") in page  # "Add" stays


def test_per_model_template_override(admin_client, tmp_path, settings):
    template_dir = tmp_path / "templates" / "admin" / "testapp" / "book"
    template_dir.mkdir(parents=True)
    (template_dir / "bulk_import_upload.html").write_text(
        '{% extends "admin/bulk_admin/upload.html" %}{% block bulk_import_content %}OVERRIDDEN'
        "{{ block.super }}{% endblock %}"
    )
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [str(tmp_path / "templates")]}]
    response = admin_client.get(reverse("admin:testapp_book_bulk_import"))
    assert "OVERRIDDEN" in response.content.decode()


def test_has_bulk_import_permission_can_be_overridden(client, django_user_model, monkeypatch):
    user = django_user_model.objects.create_user("u", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="add_book"))
    client.force_login(user)
    assert client.get(reverse("admin:testapp_book_bulk_import")).status_code == 200
    book_admin = admin.site._registry[Book]
    monkeypatch.setattr(
        type(book_admin), "has_bulk_import_permission", lambda self, request: False
    )
    assert client.get(reverse("admin:testapp_book_bulk_import")).status_code == 403
    response = client.get(reverse("admin:testapp_book_changelist"))
    assert reverse("admin:testapp_book_bulk_import") not in response.content.decode()


def test_options_stored_with_a_job_come_from_the_admin():
    book_admin = admin.site._registry[Book]
    options = book_admin.get_bulk_import_options(None)
    assert options["fk_lookups"] == {"author": "name"}
    assert options["aliases"] == {"Writer": "author__name"}
    assert "isbn" in options["fields"]


def test_bulk_import_model_admin_keeps_the_model_admin_pages(admin_client):
    # Registered on a site of its own, the class serves Django's pages and ours.
    site = admin.AdminSite(name="solo")
    site.register(Event, BulkImportModelAdmin)
    model_admin = site._registry[Event]
    assert model_admin.check() == []
    names = {pattern.name for pattern in model_admin.get_urls()}
    assert {"testapp_event_bulk_import", "testapp_event_changelist", "testapp_event_add"} <= names
    # Ours come first: the change view's catch-all would swallow them otherwise.
    assert model_admin.get_urls()[0].name == "testapp_event_bulk_import"
    assert isinstance(model_admin, BulkImportMixin)


def test_checks_pass_for_the_test_project():
    assert [e for e in run_checks() if e.id.startswith("bulk_admin")] == []


@pytest.mark.parametrize(
    ("attributes", "check_id", "text"),
    [
        ({"bulk_import_policies": ("merge",)}, "bulk_admin.E005", "merge"),
        ({"bulk_import_fk_lookups": {"author": "email"}}, "bulk_admin.E006", "not unique"),
        ({"bulk_import_fk_lookups": {"title": "name"}}, "bulk_admin.E006", "not a foreign key"),
        ({"bulk_import_aliases": {"Writer": "writer"}}, "bulk_admin.E006", "writer"),
        ({"bulk_import_fields": ["isbn", "colour"]}, "bulk_admin.E007", "colour"),
        ({"bulk_import_keys": ["nope"]}, "bulk_admin.E007", "nope"),
    ],
)
def test_checks_catch_bad_admin_attributes(attributes, check_id, text):
    site = admin.AdminSite(name="checks")
    site.register(Book, type("BadAdmin", (BulkImportMixin, admin.ModelAdmin), attributes))
    try:
        errors = [e for e in check_model_admins() if e.obj.__name__ == "BadAdmin"]
    finally:
        from django.contrib.admin.sites import all_sites

        all_sites.discard(site)
    assert [e.id for e in errors] == [check_id]
    assert text in errors[0].msg


def test_cache_check(settings):
    from bulk_admin.checks import check_cache

    settings.BULK_ADMIN_CACHE = "missing"
    assert [e.id for e in check_cache()] == ["bulk_admin.E004"]


def test_event_admin_without_mixin_has_no_urls():
    from django.urls import NoReverseMatch

    assert Event in admin.site._registry
    with pytest.raises(NoReverseMatch):
        reverse("admin:testapp_event_bulk_import")
