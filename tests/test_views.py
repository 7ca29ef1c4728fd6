"""The admin import steps, through Django's test client."""

import csv
import io
import uuid

import openpyxl
import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from bulk_admin import jobs
from bulk_admin.models import ImportJob
from tests.testapp.models import Book

pytestmark = pytest.mark.django_db

HEADER = ["ISBN", "Title", "Author", "Price", "Publication date", "In stock"]
GOOD_ROWS = [
    [
        "9780441478125",
        "The Left Hand of Darkness",
        "Ursula K. Le Guin",
        "9.99",
        "1969-03-01",
        "yes",
    ],
    ["9780552166591", "Guards! Guards!", "Terry Pratchett", "8.50", "1989-11-01", "no"],
]
BAD_ROWS = [
    ["9780446675505", "Parable of the Sower", "Nobody Known", "12.00", "1993-10-01", "yes"],
    ["9780000000001", "<b>Bad</b>", "Terry Pratchett", "<i>lots</i>", "1993-13-45", "maybe"],
]


def csv_upload(rows, name="books.csv"):
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return SimpleUploadedFile(name, buffer.getvalue().encode(), content_type="text/csv")


def xlsx_upload(rows, name="books.xlsx"):
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return SimpleUploadedFile(name, buffer.getvalue())


def url(step="", job=None, **kwargs):
    name = "admin:testapp_book_bulk_import" + ("_" + step if step else "")
    if job is not None:
        kwargs["job_id"] = job.pk
    return reverse(name, kwargs=kwargs or None)


@pytest.fixture(autouse=True)
def media(upload_media):
    """Uploads go to a folder of this test's."""


def upload(client, file, **data):
    data.setdefault("on_conflict", "error")
    data.setdefault("encoding", "auto")
    data.setdefault("delimiter", "auto")
    return client.post(url(), {"file": file, **data})


def start(client, rows, **data):
    """Upload and return the job (at the mapping step)."""
    response = upload(client, csv_upload(rows), **data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return ImportJob.objects.latest("created_at")


def mapping_data(job, mapping):
    return {
        "column_%d" % index: mapping.get(header, "") for index, header in enumerate(job.headers)
    }


def validate(client, job, mapping=None):
    if mapping is None:
        response = client.get(url("mapping", job))
        form = response.context_data["form"]
        mapping = {
            header: form["column_%d" % i].value() or "" for i, header in enumerate(job.headers)
        }
    response = client.post(url("mapping", job), mapping_data(job, mapping))
    assert response.status_code == 302, response.context_data["form"].errors
    job.refresh_from_db()
    return job


def test_changelist_shows_button_to_importers(staff_client):
    response = staff_client.get(reverse("admin:testapp_book_changelist"))
    assert url() in response.content.decode()
    assert "Import (fast)" in response.content.decode()


def test_changelist_hides_button_without_add_permission(client, django_user_model):
    user = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_book"))
    client.force_login(user)
    response = client.get(reverse("admin:testapp_book_changelist"))
    assert response.status_code == 200
    assert url() not in response.content.decode()


def test_model_without_mixin_has_no_button(admin_client):
    response = admin_client.get(reverse("admin:testapp_event_changelist"))
    assert "Import (fast)" not in response.content.decode()


def test_anonymous_is_sent_to_login(client):
    response = client.get(url())
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def test_staff_without_permission_gets_403(client, django_user_model):
    user = django_user_model.objects.create_user("nope", password="pw", is_staff=True)
    client.force_login(user)
    assert client.get(url()).status_code == 403
    assert client.post(url(), {}).status_code == 403


def test_upload_page_uses_admin_look(staff_client):
    response = staff_client.get(url())
    assert response.status_code == 200
    context = response.context_data
    assert context["opts"] is Book._meta
    assert "site_header" in context  # each_context
    assert "admin/bulk_admin/upload.html" in [t.name for t in response.templates]
    # update needs change permission: offered here
    assert [c[0] for c in context["form"].fields["on_conflict"].choices] == [
        "error",
        "skip",
        "update",
    ]


def test_update_policy_needs_change_permission(client, staff):
    staff.user_permissions.remove(Permission.objects.get(codename="change_book"))
    client.force_login(staff)
    response = client.get(url())
    assert [c[0] for c in response.context_data["form"].fields["on_conflict"].choices] == [
        "error",
        "skip",
    ]
    response = upload(client, csv_upload([HEADER, *GOOD_ROWS]), on_conflict="update")
    assert response.status_code == 200
    assert "on_conflict" in response.context_data["form"].errors


def test_full_flow_csv(staff_client, staff, authors):
    job = start(staff_client, [HEADER, *GOOD_ROWS])
    assert job.created_by == staff
    assert job.headers == HEADER
    assert job.detected["delimiter"] == ","
    # The stored file name is chosen by the job, not the user.
    assert job.file.name == "bulk_admin/%s/upload.csv" % job.pk

    response = staff_client.get(url("mapping", job))
    assert response.status_code == 200
    form = response.context_data["form"]
    assert form["column_2"].value() == "author__name"  # proposed via the fk lookup
    assert form["column_0"].value() == "isbn"

    job = validate(staff_client, job)
    assert job.status == ImportJob.Status.VALIDATED
    assert Book.objects.count() == 0  # preview writes nothing

    response = staff_client.get(url("preview", job))
    assert response.status_code == 200
    context = response.context_data
    assert (job.rows, job.created, job.invalid) == (2, 2, 0)
    assert context["can_commit"]
    assert context["sample_rows"][0][0] == "2"

    response = staff_client.post(url("commit", job))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportJob.Status.SUCCEEDED, job.message
    assert Book.objects.count() == 2
    assert Book.objects.get(isbn="9780441478125").author.name == "Ursula K. Le Guin"

    response = staff_client.get(url("progress", job))
    assert response.status_code == 302 and response["Location"] == url("result", job)
    response = staff_client.get(url("result", job))
    assert response.status_code == 200
    assert "2 rows written" in response.content.decode()
    # One LogEntry for the whole import.
    assert LogEntry.objects.filter(user=staff).count() == 1


def test_commit_is_post_only_and_idempotent(staff_client, authors):
    job = validate(staff_client, start(staff_client, [HEADER, *GOOD_ROWS]))
    assert staff_client.get(url("commit", job)).status_code == 405
    staff_client.post(url("commit", job))
    staff_client.post(url("commit", job))  # a double submit
    assert Book.objects.count() == 2
    job.refresh_from_db()
    assert job.status == ImportJob.Status.SUCCEEDED


def test_invalid_rows_are_shown_and_block_commit(staff_client, authors):
    job = validate(staff_client, start(staff_client, [HEADER, *GOOD_ROWS, *BAD_ROWS]))
    assert (job.rows, job.invalid) == (4, 2)
    response = staff_client.get(url("preview", job))
    page = response.content.decode()
    assert not response.context_data["can_commit"]
    assert response.context_data["can_commit_valid"]
    errors = list(response.context_data["errors_page"])
    assert {(e.row, e.column) for e in errors} >= {(4, "Author"), (5, "Price"), (5, "In stock")}
    # The bad price is shown where it is, escaped: never as markup.
    assert "&lt;i&gt;lots&lt;/i&gt;" in page
    assert "<i>lots</i>" not in page
    # Commit without choosing "valid rows only" is refused; the table is untouched.
    response = staff_client.post(url("commit", job))
    assert response.status_code == 302 and response["Location"] == url("preview", job)
    assert Book.objects.count() == 0
    # With the choice, the valid rows are written.
    staff_client.post(url("commit", job), {"skip_invalid": "on"})
    job.refresh_from_db()
    assert job.status == ImportJob.Status.SUCCEEDED
    assert Book.objects.count() == 2
    assert job.invalid == 2


def test_rejects_download_csv_and_xlsx(staff_client, authors):
    job = validate(staff_client, start(staff_client, [HEADER, *GOOD_ROWS, *BAD_ROWS]))
    response = staff_client.get(url("rejects", job, fmt="csv"))
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [*HEADER, "Errors"]
    assert [row[0] for row in rows[1:]] == ["9780446675505", "9780000000001"]
    assert "Nobody Known" in rows[1][-1]
    assert "Price" in rows[2][-1] and "In stock" in rows[2][-1]

    response = staff_client.get(url("rejects", job, fmt="xlsx"))
    assert response.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    values = list(workbook.active.iter_rows(values_only=True))
    assert values[0][-1] == "Errors"
    assert len(values) == 3

    # The fixed file goes through.
    fixed = [rows[0][:-1], *[row[:-1] for row in rows[1:]]]
    fixed[1][2] = "Octavia E. Butler"
    fixed[2][3:6] = ["7.00", "1993-12-01", "no"]
    job2 = validate(staff_client, start(staff_client, fixed))
    assert job2.invalid == 0 and job2.created == 2


def test_xlsx_upload(staff_client, authors):
    import datetime

    rows = [
        HEADER,
        [
            "9780441478125",
            "The Left Hand",
            "Ursula K. Le Guin",
            9.99,
            datetime.date(1969, 3, 1),
            True,
        ],
    ]
    response = upload(staff_client, xlsx_upload(rows))
    assert response.status_code == 302
    job = ImportJob.objects.latest("created_at")
    assert job.format == "xlsx" and job.file.name.endswith(".xlsx")
    job = validate(staff_client, job)
    assert job.created == 1, list(job.errors.values_list("message", flat=True))
    staff_client.post(url("commit", job))
    book = Book.objects.get()
    assert str(book.price) == "9.99" and book.published == datetime.date(1969, 3, 1)


def test_unreadable_file_gives_form_error(staff_client):
    png = SimpleUploadedFile("books.csv", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    response = upload(staff_client, png)
    assert response.status_code == 200
    assert "PNG image" in str(response.context_data["form"].errors)
    assert ImportJob.objects.count() == 0


def test_unknown_sheet_gives_form_error(staff_client):
    response = upload(staff_client, xlsx_upload([HEADER, GOOD_ROWS[0]]), sheet="Nope")
    assert response.status_code == 200
    assert "no sheet" in str(response.context_data["form"].errors)


def test_too_large_file_refused_before_reading(staff_client, settings):
    settings.BULK_ADMIN_MAX_FILE_SIZE = 100
    big = csv_upload([HEADER, *GOOD_ROWS * 2000])
    response = upload(staff_client, big)
    assert response.status_code == 413
    assert "larger than" in str(response.context_data["form"].errors)
    assert ImportJob.objects.count() == 0


def test_upload_checks_csrf(client, staff):
    client = type(client)(enforce_csrf_checks=True)
    client.force_login(staff)
    response = upload(client, csv_upload([HEADER, *GOOD_ROWS]))
    assert response.status_code == 403
    assert ImportJob.objects.count() == 0


def test_mapping_refuses_unmapped_required_field(staff_client):
    job = start(staff_client, [HEADER, *GOOD_ROWS])
    response = staff_client.post(url("mapping", job), mapping_data(job, {"ISBN": "isbn"}))
    assert response.status_code == 200
    assert "title" in str(response.context_data["form"].non_field_errors())
    job.refresh_from_db()
    assert job.status == ImportJob.Status.UPLOADED


def test_mapping_refuses_field_mapped_twice(staff_client):
    job = start(staff_client, [HEADER, *GOOD_ROWS])
    response = staff_client.post(
        url("mapping", job),
        mapping_data(job, {"ISBN": "isbn", "Title": "title", "Author": "title"}),
    )
    assert "both set title" in str(response.context_data["form"].non_field_errors())


def test_mapping_choice_outside_allow_list_is_refused(staff_client):
    job = start(staff_client, [HEADER, *GOOD_ROWS])
    response = staff_client.post(
        url("mapping", job),
        mapping_data(job, {"ISBN": "isbn", "Title": "title", "Author": "author__email"}),
    )
    assert response.status_code == 200
    assert "column_2" in response.context_data["form"].errors


def test_last_mapping_is_offered_again(staff_client, authors):
    job = start(staff_client, [HEADER, *GOOD_ROWS])
    validate(
        staff_client,
        job,
        {"ISBN": "isbn", "Title": "notes", "Author": "author__name", "Price": "title"},
    )
    job2 = start(staff_client, [HEADER, *GOOD_ROWS])
    response = staff_client.get(url("mapping", job2))
    assert response.context_data["reused_mapping"]
    assert response.context_data["form"]["column_1"].value() == "notes"


def test_other_users_job_is_404(client, staff, django_user_model, admin_user):
    other = django_user_model.objects.create_user("other", password="pw", is_staff=True)
    other.user_permissions.add(*staff.user_permissions.all())
    client.force_login(staff)
    job = start(client, [HEADER, *GOOD_ROWS])
    client.force_login(other)
    for step in ("mapping", "preview", "progress", "status", "result"):
        assert client.get(url(step, job)).status_code == 404, step
    assert client.post(url("commit", job)).status_code == 404
    assert client.post(url("cancel", job)).status_code == 404
    assert client.get(url("rejects", job, fmt="csv")).status_code == 404
    # A superuser may see it.
    client.force_login(admin_user)
    assert client.get(url("mapping", job)).status_code == 200


def test_unknown_job_is_404(staff_client):
    assert staff_client.get(url("mapping", None, job_id=uuid.uuid4())).status_code == 404


def test_job_of_another_model_is_404(admin_client):
    admin_client.post(
        reverse("admin:testapp_author_bulk_import"),
        {"file": csv_upload([["name"], ["A"]]), "on_conflict": "error"},
    )
    job = ImportJob.objects.get()
    assert admin_client.get(url("mapping", job)).status_code == 404


def test_status_json(staff_client, authors):
    job = validate(staff_client, start(staff_client, [HEADER, *GOOD_ROWS]))
    data = staff_client.get(url("status", job)).json()
    assert data["status"] == "validated"
    assert data["redirect"] == url("preview", job)
    assert data["rows"] == 2


def test_cancelled_import_leaves_table_as_it_was(staff_client, authors, settings):
    settings.BULK_ADMIN_CHUNK_SIZE = 1
    job = validate(staff_client, start(staff_client, [HEADER, *GOOD_ROWS]))
    # The flag set by the cancel button before the worker reached the job.
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.IMPORTING, phase="commit")
    job.refresh_from_db()
    jobs.request_cancel(job)
    assert jobs.run_job(str(job.pk), commit=True) == ImportJob.Status.CANCELLED
    assert Book.objects.count() == 0


def test_cancel_during_import_rolls_back(staff_client, authors, settings):
    settings.BULK_ADMIN_CHUNK_SIZE = 1
    job = validate(staff_client, start(staff_client, [HEADER, *GOOD_ROWS]))
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.IMPORTING, phase="commit")
    job.refresh_from_db()
    from django.core.cache import cache

    original_set = cache.set

    def set_and_cancel(key, value, *args, **kwargs):
        original_set(key, value, *args, **kwargs)
        if key == jobs.progress_key(job.pk) and value["rows"] >= 1:
            original_set(jobs.cancel_key(job.pk), True)

    cache.set = set_and_cancel
    try:
        status = jobs.run_job(str(job.pk), commit=True)
    finally:
        cache.set = original_set
    assert status == ImportJob.Status.CANCELLED
    assert Book.objects.count() == 0


def test_cancel_button_before_commit(staff_client, authors):
    job = validate(staff_client, start(staff_client, [HEADER, *GOOD_ROWS]))
    assert staff_client.get(url("cancel", job)).status_code == 405
    response = staff_client.post(url("cancel", job))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportJob.Status.CANCELLED
    assert staff_client.post(url("commit", job)).status_code == 302
    assert Book.objects.count() == 0


def test_errors_paginate(staff_client, authors):
    rows = [HEADER] + [
        ["97800000%05d" % i, "T", "Nobody", "1", "2000-01-01", "yes"] for i in range(250)
    ]
    job = validate(staff_client, start(staff_client, rows))
    assert job.invalid == 250
    response = staff_client.get(url("preview", job) + "?page=3")
    page = response.context_data["errors_page"]
    assert page.number == 3 and len(page.object_list) == 50
    assert page.object_list[0].row == 202


def test_import_history_admin(admin_client, authors):
    job = validate(admin_client, start(admin_client, [HEADER, *GOOD_ROWS]))
    response = admin_client.get(
        reverse("admin:bulk_admin_importjob_changelist") + "?status=validated"
    )
    assert response.status_code == 200
    assert job.original_name in response.content.decode()
    response = admin_client.get(reverse("admin:bulk_admin_importjob_change", args=[job.pk]))
    assert response.status_code == 200
    assert "isbn" in response.content.decode()


def test_update_policy_through_admin(staff_client, authors):
    Book.objects.create(isbn="9780441478125", title="Old title")
    job = validate(staff_client, start(staff_client, [HEADER, *GOOD_ROWS], on_conflict="update"))
    assert (job.created, job.updated) == (1, 1)
    staff_client.post(url("commit", job))
    assert Book.objects.get(isbn="9780441478125").title == "The Left Hand of Darkness"


# --- an ImportExportModelAdmin whose resource drives the fast import ----------------------


def item_url(step="", job=None, **kwargs):
    name = "other:testapp_item_bulk_import" + ("_" + step if step else "")
    if job is not None:
        kwargs["job_id"] = job.pk
    return reverse(name, kwargs=kwargs or None)


def test_resource_drives_mapping_and_conversion(admin_client):
    from tests.testapp.models import Item, Shelf

    Shelf.objects.create(code="A1")
    Item.objects.create(sku="S1", name="Old", quantity=1)
    response = admin_client.get(item_url())
    assert response.context_data["form"].fields["on_conflict"].initial == "update"
    rows = [
        ["sku", "name", "quantity", "price", "Released", "Shelf", "Unknown"],
        ["S1", "Alpha", "3", "1.50", "05/01/2024", "A1", "x"],
        ["S2", "Beta", "4", "", "31/12/2023", "", "y"],
    ]
    response = admin_client.post(item_url(), {"file": csv_upload(rows), "on_conflict": "update"})
    assert response.status_code == 302
    job = ImportJob.objects.latest("created_at")
    response = admin_client.get(item_url("mapping", job))
    form = response.context_data["form"]
    proposed = {job.headers[i]: form["column_%d" % i].value() for i in range(len(job.headers))}
    assert proposed == {
        "sku": "sku",
        "name": "name",
        "quantity": "quantity",
        "price": "price",
        "Released": "released",
        "Shelf": "shelf__code",
        "Unknown": "",
    }
    response = admin_client.post(item_url("mapping", job), mapping_data(job, proposed))
    job.refresh_from_db()
    assert job.status == ImportJob.Status.VALIDATED, job.message
    assert (job.created, job.updated, job.invalid) == (1, 1, 0), list(
        job.errors.values_list("message")
    )
    admin_client.post(item_url("commit", job))
    job.refresh_from_db()
    assert job.status == ImportJob.Status.SUCCEEDED, job.message
    first = Item.objects.get(sku="S1")
    assert (first.name, first.quantity, str(first.released), first.shelf.code) == (
        "Alpha",
        3,
        "2024-01-05",
        "A1",
    )
    assert str(Item.objects.get(sku="S2").released) == "2023-12-31"


def test_resource_with_row_hook_is_refused_on_upload(admin_client, monkeypatch):
    from tests.testapp.admin import ItemImportExportAdmin
    from tests.testapp.resources import RowHookResource

    monkeypatch.setattr(ItemImportExportAdmin, "resource_classes", [RowHookResource])
    rows = [["sku", "name"], ["S1", "Alpha"]]
    response = admin_client.post(item_url(), {"file": csv_upload(rows), "on_conflict": "error"})
    assert response.status_code == 200
    assert "before_import_row" in str(response.context_data["form"].non_field_errors())
    assert ImportJob.objects.count() == 0


def test_resource_kwargs_from_the_request_reach_the_worker(admin_client, monkeypatch):
    from tests.testapp.admin import ItemImportExportAdmin
    from tests.testapp.models import Item
    from tests.testapp.resources import StampedItemResource

    monkeypatch.setattr(ItemImportExportAdmin, "resource_classes", [StampedItemResource])
    monkeypatch.setattr(
        ItemImportExportAdmin,
        "get_import_resource_kwargs",
        lambda self, request, **kwargs: {"importer": request.user},
        raising=False,
    )
    rows = [["sku", "name"], ["S1", "Alpha"]]
    admin_client.post(item_url(), {"file": csv_upload(rows), "on_conflict": "update"})
    job = ImportJob.objects.latest("created_at")
    assert job.options["resource_kwargs"]  # signed, for the worker: never a form field
    admin_client.post(item_url("mapping", job), mapping_data(job, {"sku": "sku", "name": "name"}))
    job.refresh_from_db()
    assert job.status == ImportJob.Status.VALIDATED, job.message
    admin_client.post(item_url("commit", job), {"preview": jobs.preview_token(job)})
    job.refresh_from_db()
    assert job.status == ImportJob.Status.SUCCEEDED, job.message
    assert Item.objects.get(sku="S1").name == "Alpha (admin)"


def test_resource_kwargs_that_cannot_be_stored_are_refused_on_upload(admin_client, monkeypatch):
    from tests.testapp.admin import ItemImportExportAdmin

    monkeypatch.setattr(
        ItemImportExportAdmin,
        "get_import_resource_kwargs",
        lambda self, request, **kwargs: {"callback": lambda: None},
        raising=False,
    )
    rows = [["sku", "name"], ["S1", "Alpha"]]
    response = admin_client.post(item_url(), {"file": csv_upload(rows), "on_conflict": "error"})
    assert response.status_code == 200
    errors = str(response.context_data["form"].non_field_errors())
    assert "cannot be stored for the worker" in errors
    assert ImportJob.objects.count() == 0


# --- reading options (issue 11) ----------------------------------------------------------------


def test_the_preview_proposes_a_null_marker_and_one_click_checks_again(staff_client, authors):
    rows = [["ISBN", "Title", "Pages"], ["1", "A", "NA"], ["2", "B", "12"], ["3", "C", "NA"]]
    job = validate(staff_client, start(staff_client, rows))
    assert job.invalid == 2
    page = staff_client.get(url("preview", job)).content.decode()
    assert "2 cells in 1 column hold “NA”: treat “NA” as empty?" in page
    # The option is chosen by its number among the job's own proposals.
    response = staff_client.post(url("recheck", job), {"hint": "0"})
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportJob.Status.VALIDATED
    assert (job.invalid, job.created) == (0, 3)
    assert job.options["reading"] == {"null_values": ["NA"]}
    page = staff_client.get(url("preview", job)).content.decode()
    assert "Reading options:" in page and "Empty markers NA" in page
    staff_client.post(url("commit", job), {"preview": jobs.preview_token(job)})
    assert sorted(Book.objects.values_list("pages", flat=True), key=str) == [12, None, None]


def test_a_proposal_that_is_not_there_is_refused_politely(staff_client, authors):
    job = validate(staff_client, start(staff_client, [["ISBN", "Title"], ["1", "A"]]))
    for value in ("7", "x", ""):
        response = staff_client.post(url("recheck", job), {"hint": value})
        assert response.status_code == 302 and response["Location"] == url("preview", job)
    assert staff_client.get(url("recheck", job)).status_code == 405


def test_reading_options_on_the_upload_form(staff_client, authors):
    rows = [["ISBN", "Title", "Price", "Publication date"], ["1", "A", "1.234,50", "31/12/2024"]]
    job = validate(
        staff_client,
        start(
            staff_client,
            rows,
            decimal_separator=",",
            thousands_separator=".",
            date_formats="%d/%m/%Y",
        ),
    )
    assert (job.invalid, job.created) == (0, 1)
    assert job.options["reading"] == {
        "date_formats": ["%d/%m/%Y"],
        "decimal_separator": ",",
        "thousands_separator": ".",
    }
    response = upload(
        staff_client, csv_upload(rows), decimal_separator=",", thousands_separator=","
    )
    assert response.status_code == 200
    assert "The decimal and thousands separators must differ." in response.content.decode()
