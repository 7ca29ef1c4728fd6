"""The job lifecycle (bulk_admin.jobs) and the admin's rules, through Django's test client.

Each test runs on every leg; the worker is run_job itself, as a task backend calls it.
"""

import csv
import datetime
import io

import openpyxl
import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.core.cache.backends.base import BaseCache
from django.core.management import call_command
from django.utils import timezone

from bulk_admin import jobs, signals, tasks
from bulk_admin.models import ImportJob
from tests.test_views import GOOD_ROWS, HEADER, start, url, validate
from tests.testapp.models import Book

pytestmark = pytest.mark.django_db


THREE = [
    ["9780000000011", "One", "Ursula K. Le Guin", "1.00", "2001-01-01", "yes"],
    ["9780000000012", "Two", "Ursula K. Le Guin", "2.00", "2001-01-01", "yes"],
    ["9780000000013", "Three", "Ursula K. Le Guin", "3.00", "2001-01-01", "yes"],
]


@pytest.fixture(autouse=True)
def media(upload_media):
    """Uploads go to a folder of this test's."""


@pytest.fixture
def book_admin():
    return admin.site.get_model_admin(Book)


def queued_commit(client, rows=THREE):
    """A validated job moved to importing, as the commit view leaves it for a worker."""
    job = validate(client, start(client, [HEADER, *rows]))
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.IMPORTING, phase="commit", claim=""
    )
    jobs.clear_progress(job)
    job.refresh_from_db()
    return job


# --- exactly once ---------------------------------------------------------------------------


def test_a_task_delivered_twice_imports_once(staff_client, authors):
    job = queued_commit(staff_client)
    assert jobs.run_job(str(job.pk), commit=True) == "succeeded"
    assert jobs.run_job(str(job.pk), commit=True) == "succeeded"
    assert Book.objects.count() == 3
    job.refresh_from_db()
    assert job.created == 3 and job.claim == ""


def test_a_job_claimed_by_another_worker_is_left_alone(staff_client, authors):
    job = queued_commit(staff_client)
    ImportJob.objects.filter(pk=job.pk).update(claim="other-worker", heartbeat_at=timezone.now())
    assert jobs.run_job(str(job.pk), commit=True) == "importing"
    assert Book.objects.count() == 0


def test_a_failing_receiver_does_not_fail_a_written_import(
    staff_client, authors, django_capture_on_commit_callbacks, caplog
):
    def broken(**kwargs):
        raise RuntimeError("receiver bug")

    signals.import_finished.connect(broken)
    try:
        job = queued_commit(staff_client)
        with django_capture_on_commit_callbacks(execute=True):
            status = jobs.run_job(str(job.pk), commit=True)
    finally:
        signals.import_finished.disconnect(broken)
    job.refresh_from_db()
    assert status == "succeeded" and job.status == "succeeded"
    assert "a receiver of import_finished failed" in job.message
    assert "receiver bug" in caplog.text
    assert Book.objects.count() == 3
    # Retrying is refused: the job is finished, nothing is imported twice.
    assert staff_client.post(url("commit", job)).status_code == 302
    assert Book.objects.count() == 3


def test_rows_and_status_commit_together(staff_client, authors, monkeypatch):
    job = queued_commit(staff_client)
    from django.contrib.admin.models import LogEntry

    def fail(*args, **kwargs):
        raise RuntimeError("storing the result failed")

    monkeypatch.setattr(LogEntry.objects, "create", fail)
    assert jobs.run_job(str(job.pk), commit=True) == "failed"
    job.refresh_from_db()
    assert "nothing was written" in job.message
    assert Book.objects.count() == 0  # not "failed but written"


@pytest.mark.django_db(transaction=True)
def test_a_job_deleted_while_it_runs_stays_deleted(staff_client, authors, book_admin, monkeypatch):
    import threading

    from django.db import connections

    job = queued_commit(staff_client)

    def delete_job(chunk):
        # Deleted from the history page meanwhile: another connection.
        def delete():
            try:
                ImportJob.objects.filter(pk=job.pk).delete()
            finally:
                connections.close_all()

        thread = threading.Thread(target=delete)
        thread.start()
        thread.join()

    monkeypatch.setattr(book_admin, "bulk_import_chunk_hooks", [delete_job])
    assert jobs.run_job(str(job.pk), commit=True) == ""
    assert not ImportJob.objects.filter(pk=job.pk).exists()
    assert Book.objects.count() == 0


def test_a_live_worker_sees_the_cancel_before_its_commit(
    staff_client, authors, book_admin, monkeypatch
):
    job = queued_commit(staff_client)

    def cancel(chunk):
        # The cancel button, while this worker runs: the flag goes on the job row.
        assert jobs.request_cancel(ImportJob.objects.get(pk=job.pk)) == "requested"

    monkeypatch.setattr(book_admin, "bulk_import_chunk_hooks", [cancel])
    assert jobs.run_job(str(job.pk), commit=True) == "cancelled"
    assert Book.objects.count() == 0


def test_cancel_ends_a_queued_job_at_once(staff_client, authors):
    job = queued_commit(staff_client)
    response = staff_client.post(url("cancel", job))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == "cancelled"
    assert jobs.run_job(str(job.pk), commit=True) == "cancelled"  # the task, delivered late
    assert Book.objects.count() == 0


def test_a_job_whose_worker_stopped_is_failed(staff_client, authors, settings):
    settings.BULK_ADMIN_HEARTBEAT_TIMEOUT = 30
    job = queued_commit(staff_client)
    old = timezone.now() - datetime.timedelta(seconds=31)
    ImportJob.objects.filter(pk=job.pk).update(claim="dead-worker", heartbeat_at=old)
    data = staff_client.get(url("status", job)).json()
    assert data["status"] == "failed" and data["finished"]
    assert "worker stopped" in data["message"]
    assert data["redirect"] == url("result", job)
    # The late worker, if it ever came back, would find the job no longer its own.
    assert jobs.run_job(str(job.pk), commit=True) == "failed"


def test_reap_command(staff_client, authors, settings, capsys):
    settings.BULK_ADMIN_HEARTBEAT_TIMEOUT = 30
    job = queued_commit(staff_client)
    fresh = queued_commit(staff_client, rows=GOOD_ROWS)
    old = timezone.now() - datetime.timedelta(minutes=5)
    ImportJob.objects.filter(pk=job.pk).update(claim="dead", heartbeat_at=old)
    ImportJob.objects.filter(pk=fresh.pk).update(claim="alive", heartbeat_at=timezone.now())
    call_command("bulk_import_reap")
    assert "1 stale" in capsys.readouterr().out
    assert ImportJob.objects.get(pk=job.pk).status == "failed"
    assert ImportJob.objects.get(pk=fresh.pk).status == "importing"


def test_a_failed_enqueue_fails_the_job_and_allows_a_retry(staff_client, authors, monkeypatch):
    job = start(staff_client, [HEADER, *THREE])
    real = tasks.enqueue

    def broker_down(task, job_id):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks, "enqueue", broker_down)
    validate(staff_client, job)
    job.refresh_from_db()
    assert job.status == "failed"
    assert "could not be started" in job.message
    monkeypatch.setattr(tasks, "enqueue", real)
    job = validate(staff_client, job)  # the retry
    assert job.status == "validated"


def test_heartbeat_carries_progress_on_the_row(staff_client, authors):
    job = queued_commit(staff_client)
    ImportJob.objects.filter(pk=job.pk).update(claim="t")
    beat = jobs.Heartbeat(job.pk, "t", total=3)
    beat.latest = {"rows": 2, "total": 3, "invalid": 0, "stage": "reading"}
    beat.beat()
    job.refresh_from_db()
    assert job.heartbeat_at is not None and job.progress["rows"] == 2
    data = staff_client.get(url("status", job)).json()
    assert (data["rows"], data["total"], data["state"]) == (2, 3, "running")


class DownCache(BaseCache):
    """A cache whose server is unreachable."""

    def __init__(self, location, params):
        super().__init__(params)

    def _down(self, *args, **kwargs):
        raise ConnectionError("cache down")

    get = set = add = delete = get_many = set_many = delete_many = clear = _down


def test_a_cache_outage_only_degrades_progress(staff_client, authors, settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "down": {"BACKEND": "tests.test_jobs.DownCache"},
    }
    settings.BULK_ADMIN_CACHE = "down"
    job = validate(staff_client, start(staff_client, [HEADER, *THREE]))
    assert job.status == "validated"
    assert staff_client.get(url("status", job)).json()["status"] == "validated"
    staff_client.post(url("commit", job))
    job.refresh_from_db()
    assert job.status == "succeeded", job.message
    assert Book.objects.count() == 3


def test_queued_job_progress_page_polls(staff_client, authors):
    job = queued_commit(staff_client)
    response = staff_client.get(url("progress", job))
    content = response.content.decode()
    assert 'data-status-url="%s"' % url("status", job) in content
    assert "Waiting for a worker" in content
    assert staff_client.get(url("status", job)).json()["state"] == "queued"


# --- the admin decides what is importable -------------------------------------------------


def fields_of(model_admin, client, update=False):
    request = client.get(url()).wsgi_request
    return set(model_admin.get_bulk_import_fields(request, update=update))


def test_importable_fields_follow_the_admin_form(staff_client, book_admin, monkeypatch):
    assert "created" not in fields_of(book_admin, staff_client)  # editable=False
    assert {"isbn", "title", "notes"} <= fields_of(book_admin, staff_client)
    monkeypatch.setattr(book_admin, "fields", ["isbn", "title", "author", "price"])
    monkeypatch.setattr(book_admin, "readonly_fields", ["price"])
    assert fields_of(book_admin, staff_client) == {"isbn", "title", "author"}
    monkeypatch.setattr(book_admin, "fields", None)
    monkeypatch.setattr(book_admin, "exclude", ["notes", "metadata"])
    assert {"notes", "metadata", "price"}.isdisjoint(fields_of(book_admin, staff_client))
    monkeypatch.setattr(book_admin, "bulk_import_fields", ["isbn", "title", "notes"])
    assert fields_of(book_admin, staff_client) == {"isbn", "title"}  # narrowed
    monkeypatch.setattr(book_admin, "bulk_import_use_admin_fields", False)
    assert fields_of(book_admin, staff_client) == {"isbn", "title", "notes"}  # explicit


def test_updates_need_fields_editable_on_the_change_form(staff_client, book_admin, monkeypatch):
    def readonly(request, obj=None):
        return ["price", "isbn"] if obj is not None else []

    monkeypatch.setattr(book_admin, "get_readonly_fields", readonly)
    assert {"price", "isbn"} <= fields_of(book_admin, staff_client)
    on_update = fields_of(book_admin, staff_client, update=True)
    assert "price" not in on_update
    assert "isbn" in on_update  # a unique key matches rows, it is never changed


def test_a_forbidden_field_cannot_be_mapped(staff_client, book_admin, monkeypatch, authors):
    monkeypatch.setattr(book_admin, "readonly_fields", ["price"])
    job = start(staff_client, [HEADER, *THREE])
    response = staff_client.post(
        url("mapping", job),
        {"column_0": "isbn", "column_1": "title", "column_3": "price"},
    )
    assert response.status_code == 200
    assert response.context_data["form"].errors
    assert Book.objects.count() == 0


def test_fields_are_checked_again_at_commit(staff_client, book_admin, monkeypatch, authors):
    job = validate(staff_client, start(staff_client, [HEADER, *THREE]))
    assert job.status == "validated"
    monkeypatch.setattr(book_admin, "readonly_fields", ["price"])  # the admin tightened
    response = staff_client.post(url("commit", job))
    assert response.status_code == 302 and response["Location"] == url("mapping", job)
    assert Book.objects.count() == 0
    job.refresh_from_db()
    assert job.status == "validated"


# --- row-level scope ---------------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["update", "skip"])
def test_rows_outside_get_queryset_are_never_matched(
    staff_client, book_admin, monkeypatch, authors, policy
):
    theirs = Book.objects.create(isbn="9780000000011", title="Theirs", price=99)
    mine = Book.objects.create(isbn="9780000000012", title="Mine old", price=1)

    def get_queryset(request):
        return Book.objects.exclude(title="Theirs")

    monkeypatch.setattr(book_admin, "get_queryset", get_queryset)
    job = validate(staff_client, start(staff_client, [HEADER, *THREE], on_conflict=policy))
    assert job.invalid == 1, job.message
    error = job.errors.get()
    assert error.row == 2 and "may not change" in error.message
    staff_client.post(url("commit", job), {"skip_invalid": "on"})
    job.refresh_from_db()
    assert job.status == "succeeded", job.message
    theirs.refresh_from_db()
    mine.refresh_from_db()
    assert (theirs.title, theirs.price) == ("Theirs", 99)
    assert mine.title == ("Two" if policy == "update" else "Mine old")
    assert Book.objects.count() == 3


# --- downloads ---------------------------------------------------------------------------------


HOSTILE = [
    ["=1+1", '=HYPERLINK("http://x")', "Nobody", "+1", "-2", "@SUM(A1)"],
    ["\tx", "\rtitle", "Nobody", "bell\x07ring", "2001-01-01", "yes"],
]


def test_rejects_never_carry_formulas(staff_client, authors):
    job = validate(staff_client, start(staff_client, [HEADER, *HOSTILE]))
    assert job.invalid == 2
    response = staff_client.get(url("rejects", job, fmt="csv"))
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), row
    assert rows[1][0] == "'=1+1"

    response = staff_client.get(url("rejects", job, fmt="xlsx"))
    assert response.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    cells = [cell for row in workbook.active.iter_rows() for cell in row]
    assert all(cell.data_type != "f" for cell in cells)
    assert workbook.active["A2"].value == "=1+1"  # shown as text


def test_a_missing_file_is_a_clear_404(staff_client, authors):
    job = validate(staff_client, start(staff_client, [HEADER, *HOSTILE]))
    job.file.storage.delete(job.file.name)
    for fmt in ("csv", "xlsx", "original"):
        response = staff_client.get(url("rejects", job, fmt=fmt))
        assert response.status_code == 404


def test_deleting_a_job_deletes_its_file(staff_client, django_capture_on_commit_callbacks):
    job = start(staff_client, [HEADER, *THREE])
    storage, name = job.file.storage, job.file.name
    assert storage.exists(name)
    with django_capture_on_commit_callbacks(execute=True):
        job.delete()
    assert not storage.exists(name)


def test_cleanup_command_deletes_old_uploads(staff_client, settings, capsys):
    settings.BULK_ADMIN_UPLOAD_RETENTION_DAYS = 7
    old = start(staff_client, [HEADER, *THREE])
    new = start(staff_client, [HEADER, *THREE])
    ImportJob.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=8)
    )
    storage = old.file.storage
    call_command("bulk_import_cleanup")
    assert "1 upload" in capsys.readouterr().out
    assert not storage.exists(old.file.name)
    assert storage.exists(new.file.name)
    assert ImportJob.objects.get(pk=old.pk).file.name == ""


# --- psycopg 3's streamed COPY ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_lost_connection_never_reruns_the_streamed_copy(make_csv, authors):
    """The connection dies mid-COPY: a clear error, no second run on a new connection."""
    import threading

    from django.db import connection, connections

    from bulk_admin.exceptions import BulkAdminError
    from bulk_admin.importer import import_file

    if connection.vendor != "postgresql" or connection.Database.__name__ != "psycopg":
        pytest.skip("the streamed COPY needs psycopg 3")
    rows = [["isbn", "title"], *[["s-%d" % n, "T"] for n in range(50)]]
    reports = []

    def kill_connection(progress):
        reports.append(progress.rows)
        if len(reports) == 2:
            pid = connection.connection.info.backend_pid

            def terminate():
                try:
                    with connections["default"].cursor() as cursor:
                        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
                finally:
                    connections.close_all()

            thread = threading.Thread(target=terminate)
            thread.start()
            thread.join()

    try:
        with pytest.raises(BulkAdminError):
            import_file(Book, make_csv(rows), chunk_size=5, progress=kill_connection)
    finally:
        connection.close()
    assert reports == list(range(5, 55, 5))  # read once: no second run from the start
    assert Book.objects.count() == 0


# --- smaller points ---------------------------------------------------------------------------


def test_a_commit_from_a_stale_preview_is_refused(staff_client, authors):
    job = validate(staff_client, start(staff_client, [HEADER, *THREE]))
    old_token = staff_client.get(url("preview", job)).context_data["form"]["preview"].value()
    # Another tab maps the file again (the notes column, say) and checks it.
    validate(
        staff_client, job, mapping=dict.fromkeys(HEADER, "") | {"ISBN": "isbn", "Title": "title"}
    )
    response = staff_client.post(url("commit", job), {"preview": old_token})
    assert response.status_code == 302 and response["Location"] == url("preview", job)
    assert Book.objects.count() == 0
    token = staff_client.get(url("preview", job)).context_data["form"]["preview"].value()
    staff_client.post(url("commit", job), {"preview": token})
    assert Book.objects.count() == 3


def test_the_history_user_filter_lists_only_visible_users(client, staff, django_user_model):

    django_user_model.objects.create_user("bystander", password="pw", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_importjob"))
    client.force_login(staff)
    start(client, [HEADER, *THREE])
    response = client.get("/admin/bulk_admin/importjob/")
    assert response.status_code == 200
    assert "bystander" not in response.content.decode()


@pytest.mark.parametrize("policy", ["update", "skip"])
def test_an_overridden_has_change_permission_is_asked_per_row(
    staff_client, book_admin, monkeypatch, authors, policy
):
    locked = Book.objects.create(isbn="9780000000011", title="Locked", price=99)
    mine = Book.objects.create(isbn="9780000000012", title="Mine old", price=1)
    asked = []

    def has_change_permission(request, obj=None):
        if obj is not None:
            asked.append(obj.pk)
            return obj.title != "Locked"
        return True

    monkeypatch.setattr(book_admin, "has_change_permission", has_change_permission)
    job = validate(staff_client, start(staff_client, [HEADER, *THREE], on_conflict=policy))
    assert job.invalid == 1, job.message
    assert "may not change" in job.errors.get(row=2).message
    staff_client.post(url("commit", job), {"skip_invalid": "on"})
    job.refresh_from_db()
    assert job.status == "succeeded", job.message
    locked.refresh_from_db()
    mine.refresh_from_db()
    assert (locked.title, locked.price) == ("Locked", 99)
    assert mine.title == ("Two" if policy == "update" else "Mine old")
    assert set(asked) - {None} == {locked.pk, mine.pk}  # None: the change form's fields


# --- errors in bounded memory -------------------------------------------------------------


def test_a_check_stores_every_error_though_it_holds_few(staff_client, authors, monkeypatch):
    # The worker holds ERRORS_IN_MEMORY errors; the error table gets all of them, through
    # the spool, as they were found.
    monkeypatch.setattr(jobs, "ERRORS_IN_MEMORY", 10)
    rows = [["97800000%05d" % i, "T%d" % i, "Ursula K. Le Guin", "x", "", ""] for i in range(300)]
    job = validate(staff_client, start(staff_client, [HEADER, *rows]))
    assert job.invalid == 300
    assert job.errors.count() == job.error_count == 300
    assert set(job.errors.values_list("column", flat=True)) == {"Price"}
    assert job.errors.order_by("row", "id").first().row == 2
    assert job.sample == []  # no valid row to show


def test_the_stored_errors_keep_their_limit(staff_client, authors, settings):
    settings.BULK_ADMIN_MAX_STORED_ERRORS = 25
    rows = [["97800000%05d" % i, "T%d" % i, "Ursula K. Le Guin", "x", "", ""] for i in range(40)]
    job = validate(staff_client, start(staff_client, [HEADER, *rows]))
    assert job.invalid == 40
    assert job.errors.count() == job.error_count == 25
    page = staff_client.get(url("preview", job)).content.decode()
    assert "Only the first 25 errors are kept." in page


# --- rows in another database than the jobs ----------------------------------------------


@pytest.fixture
def rows_elsewhere(monkeypatch):
    """A router sends the test app's models to "other"; the jobs stay in "default"."""
    from django.db import router

    from tests.routers import TestAppElsewhere

    monkeypatch.setattr(router, "routers", [TestAppElsewhere()])


@pytest.mark.django_db(databases=["default", "other"])
def test_an_import_into_another_database_than_the_jobs(staff_client, rows_elsewhere):
    from tests.testapp.models import Author

    Author.objects.create(name="Ursula K. Le Guin")  # in "other", through the router
    Book.objects.create(isbn="9780000000011", title="Already there")
    job = validate(staff_client, start(staff_client, [HEADER, *THREE], on_conflict="update"))
    assert job.status == ImportJob.Status.VALIDATED, job.message
    assert (job.created, job.updated, job.invalid) == (2, 1, 0)
    staff_client.post(url("commit", job), {"preview": jobs.preview_token(job)})
    job.refresh_from_db()
    assert (job.status, job.created, job.updated) == (ImportJob.Status.SUCCEEDED, 2, 1)
    # The rows are in "other" only; the job, in "default", says what was written there.
    assert sorted(Book.objects.using("other").values_list("title", flat=True)) == [
        "One",
        "Three",
        "Two",
    ]
    assert not Book.objects.using("default").exists()
    assert ImportJob.objects.using("default").filter(pk=job.pk).exists()
    assert not ImportJob.objects.using("other").exists()


@pytest.mark.django_db(databases=["default", "other"])
def test_with_rows_in_another_database_the_status_says_what_was_written(
    staff_client, rows_elsewhere, book_admin, monkeypatch
):
    # The rows commit first (docs/admin.md, "One transaction"): a cancel read after that is
    # too late, and the job's status must say what was written either way.
    from tests.testapp.models import Author

    Author.objects.create(name="Ursula K. Le Guin")
    job = queued_commit(staff_client)

    def cancel_meanwhile(chunk):
        ImportJob.objects.filter(pk=job.pk).update(cancel_requested=True)

    monkeypatch.setattr(book_admin, "bulk_import_chunk_hooks", [cancel_meanwhile])
    jobs.run_job(str(job.pk), commit=True)
    job.refresh_from_db()
    written = Book.objects.using("other").count()
    assert (job.status, written) in {
        (ImportJob.Status.SUCCEEDED, 3),  # the rows were committed before the cancel was read
        (ImportJob.Status.CANCELLED, 0),  # or the heartbeat saw it first: nothing written
    }, (job.status, written, job.message)
