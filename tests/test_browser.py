"""The admin import, as staff do it, in a real headless Chromium driven by Playwright.

Debian's ``chromium`` is used (``BULK_ADMIN_CHROMIUM``, default ``/usr/bin/chromium``);
``playwright install`` is never needed. The tests skip only when that browser is missing.
A screenshot of every step goes to ``test-artifacts/screenshots/<leg>/<flow>/`` (ignored
by git).

Playwright's sync API keeps an asyncio loop in this thread, so Django's "async unsafe" check
is switched off for this module (``DJANGO_ALLOW_ASYNC_UNSAFE``) to let the test and
pytest-django's fixtures use the ORM while the browser runs.
"""

import csv
import datetime
import io
import os
import shutil
import time
from decimal import Decimal
from pathlib import Path

import django
import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.db import connection
from django.urls import reverse

from bulk_admin.models import ImportJob
from tests.testapp.models import Author, Book

CHROMIUM = os.environ.get("BULK_ADMIN_CHROMIUM") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
TIMEOUT = 20_000  # ms, for any one wait

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM}"),
]

AUTHORS = ["Ursula K. Le Guin", "Terry Pratchett", "Octavia E. Butler"]
HEADER = ["ISBN", "Title", "Author", "Price", "Publication date", "Remarks"]
ROWS = 3000
# The change list's result count ("3 books") sits in <p class="paginator"> up to Django 5.2
# and in <nav class="paginator" aria-labelledby="pagination"> from Django 6.0 on.
CHANGELIST_PAGINATOR = "nav.paginator" if django.VERSION >= (6, 0) else "p.paginator"


def leg():
    """The test leg's name, as scripts/test.sh names it."""
    vendor = connection.vendor
    if vendor == "postgresql":
        from django.db.backends.postgresql.psycopg_any import is_psycopg3

        return "postgres-psycopg3" if is_psycopg3 else "postgres-psycopg2"
    name = {"mysql": "mariadb"}.get(vendor, vendor)
    if django.VERSION >= (6, 0):  # The django6-sqlite and django6-postgres legs.
        name = "django6-" + {"postgres-psycopg3": "postgres"}.get(name, name)
    return name


def expect_changelist_count(page, text):
    """The change list says ``text`` ("3 books") in this Django version's paginator markup."""
    from playwright.sync_api import expect

    expect(page.locator(CHANGELIST_PAGINATOR)).to_contain_text(text)
    if django.VERSION >= (6, 0):
        expect(page.get_by_role("navigation", name="Pagination books")).to_contain_text(text)
    else:
        expect(page.locator("nav.paginator")).to_have_count(0)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=[
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                ],
            )
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser, transactional_db, live_server, settings, tmp_path):
    """A fresh browser tab; closed before the database is flushed."""
    from playwright.sync_api import expect

    settings.MEDIA_ROOT = str(tmp_path / "media")
    expect.set_options(timeout=TIMEOUT)
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}, accept_downloads=True
    )
    tab = context.new_page()
    tab.set_default_timeout(TIMEOUT)
    yield tab
    context.close()


@pytest.fixture
def staff(django_user_model):
    """A staff user with add and change permission on books, and the authors of the files."""
    user = django_user_model.objects.create_user("staff", password="import-pw-1", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="testapp",
            codename__in=["add_book", "change_book", "view_book"],
        )
    )
    for name in AUTHORS:
        Author.objects.create(name=name)
    return user


@pytest.fixture
def shoot(page, request):
    """``shoot("step")`` saves a full-page screenshot as <leg>/<flow>/NN-step.png."""
    flow = request.node.name.removeprefix("test_")
    folder = ARTIFACTS / leg() / flow
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    count = [0]

    def take(step):
        count[0] += 1
        page.screenshot(path=str(folder / ("%02d-%s.png" % (count[0], step))), full_page=True)

    return take


def log_in_and_open_upload(page, shoot):
    """Log in through the login form, open the books, click Import (fast)."""
    from playwright.sync_api import expect

    page.goto(reverse("admin:index"))
    page.wait_for_url("**" + reverse("admin:login") + "?next=**")
    page.fill("#id_username", "staff")
    page.fill("#id_password", "import-pw-1")
    shoot("login")
    page.click("input[type=submit]")
    page.wait_for_url("**" + reverse("admin:index"))
    page.locator("#content-main").get_by_role("link", name="Books", exact=True).click()
    page.wait_for_url("**" + reverse("admin:testapp_book_changelist"))
    button = page.get_by_role("link", name="Import (fast)")
    expect(button).to_be_visible()
    shoot("changelist")
    button.click()
    page.wait_for_url("**" + reverse("admin:testapp_book_bulk_import"))
    expect(page.locator("h1")).to_have_text("Import books (fast)")
    expect(page.locator("div.breadcrumbs")).to_contain_text("Books")


def upload(page, path):
    page.set_input_files("input[type=file]", str(path))
    page.get_by_role("button", name="Upload and map columns").click()
    page.wait_for_url("**/mapping/")


def check_the_file(page):
    page.get_by_role("button", name="Check the file").click()
    page.wait_for_url("**/preview/")


def counts(page, selector=".bulk-import-summary"):
    return {
        name: page.locator(f"{selector} td.count-{name}").inner_text()
        for name in ("rows", "created", "updated", "skipped", "invalid")
    }


def write_csv(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as file:
        csv.writer(file).writerows(rows)
    return path


def bad_rows():
    """ROWS rows, each with one problem: an unknown author, a bad price or a bad date."""
    rows = []
    for i in range(ROWS):
        author, price, date = AUTHORS[i % 3], "%d.50" % (i % 90 + 1), "2001-02-03"
        if i % 3 == 0:
            author = "Nobody %d" % i
        elif i % 3 == 1:
            price = "lots"
        else:
            date = "2001-13-45"
        rows.append(["978%010d" % i, "Book %d" % i, author, price, date, "remark %d" % i])
    return rows


def test_csv_import_with_rejects_and_progress(page, shoot, staff, tmp_path, settings, monkeypatch):
    from playwright.sync_api import expect

    # Small chunks, so that a check or an import reports its progress many times; and,
    # when "on", a pause per chunk, so that the bar is seen moving on any machine.
    settings.BULK_ADMIN_CHUNK_SIZE = 100
    slow = {"on": False}

    def pause(chunk):
        if slow["on"]:
            time.sleep(0.07)

    monkeypatch.setattr(admin.site.get_model_admin(Book), "bulk_import_chunk_hooks", [pause])

    log_in_and_open_upload(page, shoot)

    # 1. Upload a file whose every row has a problem.
    bad = write_csv(tmp_path / "books.csv", [HEADER, *bad_rows()])
    page.set_input_files("input[type=file]", str(bad))
    shoot("upload")
    page.get_by_role("button", name="Upload and map columns").click()
    page.wait_for_url("**/mapping/")

    # 2. The proposed mapping; "Remarks" matches no field: map it to the notes.
    expect(page.locator("h1")).to_have_text("Map the columns of books.csv")
    expect(page.locator(".bulk-import-detected")).to_contain_text("comma")
    expect(page.get_by_label("ISBN", exact=True)).to_have_value("isbn")
    expect(page.get_by_label("Author", exact=True)).to_have_value("author__name")
    remarks = page.get_by_label("Remarks", exact=True)
    expect(remarks).to_have_value("")
    remarks.select_option("notes")
    shoot("mapping")
    # Checking the file shows its progress on this page, then the preview.
    slow["on"] = True
    page.get_by_role("button", name="Check the file").click()
    checking = page.locator(".bulk-import-live")
    expect(checking).to_be_visible()
    expect(checking.locator("h2")).to_have_text("Checking every row; nothing is written yet")
    page.wait_for_function(
        "() => Number(document.querySelector('.bulk-import-live .rows').textContent) > 0"
    )
    shoot("checking")
    page.wait_for_url("**/preview/")
    slow["on"] = False

    # 3. The preview: every row invalid, the errors by row and column.
    expect(page.locator("h1")).to_have_text("Preview of books.csv")
    assert counts(page) == {
        "rows": str(ROWS),
        "created": "0",
        "updated": "0",
        "skipped": "0",
        "invalid": str(ROWS),
    }
    errors = page.locator("table.bulk-import-error-table tbody tr")
    expect(errors).to_have_count(100)  # one page
    first = [
        [cell.strip() for cell in errors.nth(i).locator("td").all_inner_texts()] for i in range(3)
    ]
    assert [row[:3] for row in first] == [
        ["2", "Author", "Nobody 0"],
        ["3", "Price", "lots"],
        ["4", "Publication date", "2001-13-45"],
    ]
    assert all(row[3] for row in first), first  # a message for each
    expect(page.locator(".bulk-import-commit")).to_contain_text("There is nothing to import.")
    shoot("preview-errors")
    page.locator(".bulk-import-errors .paginator").get_by_role(
        "link", name="2", exact=True
    ).click()
    page.wait_for_url("**/preview/?page=2")
    expect(errors.first.locator("td").first).to_have_text("102")

    # 4. Download the invalid rows, fix them where the Errors column points, drop that column.
    with page.expect_download() as download_info:
        page.locator("a.bulk-import-rejects-csv").click()
    download = download_info.value
    assert download.suggested_filename == "books-rejected.csv"
    rejects_path = tmp_path / "rejects.csv"
    download.save_as(rejects_path)
    rejected = list(csv.reader(io.StringIO(rejects_path.read_text(encoding="utf-8-sig"))))
    assert rejected[0] == [*HEADER, "Errors"]
    assert len(rejected) == ROWS + 1
    fixed = [rejected[0][:-1]]
    for row in rejected[1:]:
        *cells, problems = row
        assert problems, row
        if "Author" in problems:
            cells[2] = AUTHORS[0]
        if "Price" in problems:
            cells[3] = "12.50"
        if "Publication date" in problems:
            cells[4] = "2001-12-31"
        fixed.append(cells)
    fixed_path = write_csv(tmp_path / "books-fixed.csv", fixed)

    # 5. Upload the fixed file: the mapping used last time is filled in again.
    page.get_by_role("link", name="Upload another file").click()
    page.wait_for_url("**" + reverse("admin:testapp_book_bulk_import"))
    expect(page.locator(".bulk-import-recent")).to_contain_text("books.csv")
    upload(page, fixed_path)
    expect(page.locator(".bulk-import-detected")).to_contain_text("last time")
    expect(page.get_by_label("Remarks", exact=True)).to_have_value("notes")
    shoot("mapping-again")
    check_the_file(page)
    assert counts(page) == {
        "rows": str(ROWS),
        "created": str(ROWS),
        "updated": "0",
        "skipped": "0",
        "invalid": "0",
    }
    expect(page.locator(".bulk-import-errors")).to_have_count(0)
    expect(page.locator(".bulk-import-sample")).to_contain_text("remark 0")
    shoot("preview-clean")

    # 6. Import, and watch the bar. Its values are kept in sessionStorage, which outlives
    # the navigation to the result page; what the status endpoint answered is kept too.
    polls = []

    def record_status(route):
        response = route.fetch()
        polls.append(response.json())
        route.fulfill(response=response)

    page.route("**/status/", record_status)
    page.evaluate(
        """() => {
            const bar = document.querySelector(".bulk-import-live .bulk-import-bar");
            sessionStorage.setItem("barValues", "[]");
            new MutationObserver(() => {
                const values = JSON.parse(sessionStorage.getItem("barValues"));
                values.push(bar.value);
                sessionStorage.setItem("barValues", JSON.stringify(values));
            }).observe(bar, {attributes: true, attributeFilter: ["value"]});
        }"""
    )
    live = page.locator(".bulk-import-live")
    expect(live).to_be_hidden()
    slow["on"] = True
    page.get_by_role("button", name="Import %d rows" % ROWS).click()
    expect(live).to_be_visible()
    expect(live.locator("h2")).to_have_text("Writing the rows")
    page.wait_for_function(
        """() => {
            const bar = document.querySelector(".bulk-import-live .bulk-import-bar");
            return bar.value > 0 && bar.value < 100;
        }"""
    )
    expect(live.locator(".total")).to_have_text(str(ROWS))
    expect(live.locator(".bulk-import-message")).to_be_hidden()  # no empty error box
    shoot("progress")
    page.wait_for_url("**/result/")
    slow["on"] = False
    page.unroute("**/status/")
    shown = page.evaluate("() => JSON.parse(sessionStorage.getItem('barValues'))")
    # The bar rose step by step, through what the status endpoint reported while the
    # import ran; the page went to the result when the commit request came back.
    assert len({value for value in shown if 0 < value < 100}) >= 2, shown
    assert shown == sorted(shown), shown
    running = [poll["percent"] for poll in polls if poll["status"] == "importing"]
    assert set(shown) <= set(running), (shown, running)
    assert polls[-1]["status"] in ("importing", "succeeded"), polls[-1]

    # 7. The result.
    expect(page.locator("h1")).to_have_text("Imported books-fixed.csv")
    expect(page.locator(".bulk-import-result h2")).to_have_text("%d rows written" % ROWS)
    assert counts(page, ".bulk-import-result") == {
        "rows": str(ROWS),
        "created": str(ROWS),
        "updated": "0",
        "skipped": "0",
        "invalid": "0",
    }
    shoot("result")

    # 8. The rows are in the changelist.
    page.get_by_role("link", name="Go to the books").click()
    page.wait_for_url("**" + reverse("admin:testapp_book_changelist"))
    expect_changelist_count(page, "%d books" % ROWS)
    last = "978%010d" % (ROWS - 1)
    expect(page.locator("#result_list")).to_contain_text(last)
    expect(page.locator("#result_list")).to_contain_text("Book %d" % (ROWS - 1))
    shoot("changelist-after")

    assert Book.objects.count() == ROWS
    book = Book.objects.select_related("author").get(isbn="978%010d" % 3)  # was "Nobody 3"
    assert (book.author.name, book.price, book.notes) == (AUTHORS[0], Decimal("4.50"), "remark 3")
    book = Book.objects.select_related("author").get(isbn="978%010d" % 4)  # was "lots"
    assert (book.author.name, book.price, book.notes) == (AUTHORS[1], Decimal("12.50"), "remark 4")
    assert Book.objects.get(isbn="978%010d" % 5).published == datetime.date(2001, 12, 31)
    job = ImportJob.objects.get(original_name="books-fixed.csv")
    assert (job.status, job.created, job.created_by) == (ImportJob.Status.SUCCEEDED, ROWS, staff)


def test_xlsx_import(page, shoot, staff, tmp_path):
    import openpyxl
    from playwright.sync_api import expect

    workbook = openpyxl.Workbook()
    workbook.active.title = "Read me"
    workbook.active.append(["Books to import are on the next sheet."])
    sheet = workbook.create_sheet("Books")
    sheet.append(["ISBN", "Title", "Writer", "Price", "Publication date", "In stock"])
    sheet.append(
        [
            "9780441478125",
            "The Left Hand of Darkness",
            AUTHORS[0],
            9.99,
            datetime.date(1969, 3, 1),
            True,
        ]
    )
    sheet.append(
        ["9780552166591", "Guards! Guards!", AUTHORS[1], 8.5, datetime.date(1989, 11, 1), False]
    )
    sheet.append(
        ["9780446675505", "Parable of the Sower", AUTHORS[2], 12, datetime.date(1993, 10, 1), True]
    )
    path = tmp_path / "books.xlsx"
    workbook.save(path)

    log_in_and_open_upload(page, shoot)
    page.set_input_files("input[type=file]", str(path))
    page.get_by_text("Reading options").click()
    page.get_by_label("Sheet").fill("Books")
    shoot("upload")
    page.get_by_role("button", name="Upload and map columns").click()
    page.wait_for_url("**/mapping/")
    expect(page.locator(".bulk-import-detected")).to_contain_text("XLSX")
    expect(page.locator(".bulk-import-detected")).to_contain_text("Books")
    expect(page.get_by_label("Writer", exact=True)).to_have_value("author__name")  # an alias
    expect(page.get_by_label("In stock", exact=True)).to_have_value("in_stock")
    shoot("mapping")
    check_the_file(page)

    assert counts(page) == {
        "rows": "3",
        "created": "3",
        "updated": "0",
        "skipped": "0",
        "invalid": "0",
    }
    expect(page.locator(".bulk-import-sample")).to_contain_text("Guards! Guards!")
    shoot("preview")
    page.get_by_role("button", name="Import 3 rows").click()
    page.wait_for_url("**/result/")
    expect(page.locator(".bulk-import-result h2")).to_have_text("3 rows written")
    shoot("result")

    page.get_by_role("link", name="Go to the books").click()
    page.wait_for_url("**" + reverse("admin:testapp_book_changelist"))
    result_list = page.locator("#result_list")
    for title in ("The Left Hand of Darkness", "Guards! Guards!", "Parable of the Sower"):
        expect(result_list).to_contain_text(title)
    expect_changelist_count(page, "3 books")
    shoot("changelist-after")

    book = Book.objects.get(isbn="9780552166591")
    assert (book.price, book.published, book.in_stock) == (
        Decimal("8.50"),
        datetime.date(1989, 11, 1),
        False,
    )


# --- with a real worker process ----------------------------------------------------------


WORKER_ROWS = 2000
# How long a page may wait for the worker: generous, for a CI machine busy with other work.
WORKER_WAIT = 180_000


@pytest.fixture
def worker(settings, tmp_path):
    """``start()`` runs django-tasks-db's ``db_worker`` in a process of its own, on this
    test's database and media; the process is killed at the end (``.kill()`` earlier)."""
    import signal
    import subprocess
    import sys

    settings.BULK_ADMIN_TASK_BACKEND = "worker"
    root = Path(__file__).resolve().parent.parent
    database = connection.settings_dict["NAME"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "PYTHONPATH": str(root),
        "BULK_ADMIN_TEST_MEDIA": settings.MEDIA_ROOT,
        "BULK_ADMIN_TEST_SQLITE_NAME": database,
        "PGDATABASE": database,
        "BULK_ADMIN_TEST_MARIADB_NAME": database,
        "BULK_ADMIN_TEST_CHUNK_SIZE": "100",
        "BULK_ADMIN_TEST_CHUNK_PAUSE": "0.15",
        "BULK_ADMIN_TEST_HEARTBEAT_INTERVAL": "0.3",
    }
    if connection.vendor == "sqlite":
        # SQLite has one writer: the heartbeat waits while the import writes, so the
        # progress of an import reaches the page only through a cache both processes share
        # (docs/admin.md). The other legs keep the per-process cache: the heartbeat alone.
        cache_dir = str(tmp_path / "cache")
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                "LOCATION": cache_dir,
            }
        }
        env["BULK_ADMIN_TEST_CACHE_DIR"] = cache_dir
    processes = []

    class Worker:
        log = tmp_path / "worker.log"

        def start(self):
            with open(self.log, "ab") as log:
                processes.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "django", "db_worker", "--backend", "worker"]
                        + ["--interval", "0.1", "--no-startup-delay"],
                        cwd=root,
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )

        def kill(self):
            for process in processes:
                process.send_signal(signal.SIGKILL)
                process.wait(timeout=10)

        def output(self):
            return self.log.read_text(errors="replace")

    yield Worker()
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def good_rows(count, start=0):
    return [
        ["978%010d" % i, "Book %d" % i, AUTHORS[i % 3], "9.50", "2001-02-03", "remark %d" % i]
        for i in range(start, start + count)
    ]


def wait_for_step(page, pattern, worker):
    """Wait for the page to reach ``pattern`` by itself; on a timeout, say where the jobs are."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_url(pattern, timeout=WORKER_WAIT)
    except PlaywrightTimeout:
        jobs = list(
            ImportJob.objects.values("status", "phase", "message", "progress", "heartbeat_at")
        )
        raise AssertionError(
            "the page stayed on %s; jobs: %r; worker output:\n%s"
            % (page.url, jobs, worker.output()[-6000:])
        ) from None


def wait_for_rows(page):
    page.wait_for_function(
        "() => Number(document.querySelector('div.bulk-import-progress .rows')?.textContent) > 0"
    )


def record_states(page):
    """Record the ``state`` of every status poll the page makes."""
    states = []

    def record(route):
        response = route.fetch()
        states.append(response.json()["state"])
        route.fulfill(response=response)

    page.route("**/status/", record)
    return states


def squeeze(states):
    return [state for i, state in enumerate(states) if i == 0 or states[i - 1] != state]


def test_a_real_worker_moves_the_page_on_by_itself(page, shoot, staff, tmp_path, worker):
    from playwright.sync_api import expect

    log_in_and_open_upload(page, shoot)
    upload(page, write_csv(tmp_path / "books.csv", [HEADER, *good_rows(WORKER_ROWS)]))
    page.get_by_label("Remarks", exact=True).select_option("notes")

    # 1. Check the file: no worker yet, the job waits in the queue, and the page says so.
    states = record_states(page)
    page.get_by_role("button", name="Check the file").click()
    page.wait_for_url("**/progress/")
    state = page.locator(".bulk-import-state")
    expect(state).to_have_text("Waiting for a worker to start the job…")
    shoot("queued")
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.VALIDATING and job.claim == ""

    # 2. The worker starts: the page shows it running, then goes to the preview by itself.
    worker.start()
    wait_for_rows(page)
    expect(state).to_have_text("")
    shoot("checking")
    wait_for_step(page, "**/preview/", worker)
    assert counts(page)["created"] == str(WORKER_ROWS), worker.output()
    assert squeeze(states)[-3:] == ["queued", "running", "finished"], states
    states.clear()

    # 3. Import: the same, up to the result page.
    page.get_by_role("button", name="Import %d rows" % WORKER_ROWS).click()
    page.wait_for_url("**/progress/")
    wait_for_rows(page)
    shoot("importing")
    wait_for_step(page, "**/result/", worker)
    assert "running" in states and states[-1] == "finished", states
    expect(page.locator(".bulk-import-result h2")).to_have_text("%d rows written" % WORKER_ROWS)
    shoot("result")
    assert Book.objects.count() == WORKER_ROWS
    job.refresh_from_db()
    assert (job.status, job.created, job.claim) == (ImportJob.Status.SUCCEEDED, WORKER_ROWS, "")


def test_a_killed_worker_leaves_the_table_and_fails_the_job(
    page, shoot, staff, tmp_path, worker, settings
):
    from playwright.sync_api import expect

    settings.BULK_ADMIN_HEARTBEAT_TIMEOUT = 3
    Book.objects.create(isbn="9999999999999", title="Already there")
    log_in_and_open_upload(page, shoot)
    upload(page, write_csv(tmp_path / "books.csv", [HEADER, *good_rows(WORKER_ROWS)]))
    worker.start()
    page.get_by_role("button", name="Check the file").click()
    wait_for_step(page, "**/preview/", worker)
    states = record_states(page)
    page.get_by_role("button", name="Import %d rows" % WORKER_ROWS).click()
    page.wait_for_url("**/progress/")
    page.wait_for_function("() => true")  # let the route record the polls
    deadline = time.monotonic() + 20
    while "running" not in states and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert states[-1] == "running", states
    worker.kill()  # mid-import
    shoot("killed")
    # No heartbeat any more: the page itself finds the job failed, and says why.
    wait_for_step(page, "**/result/", worker)
    expect(page.locator("#content")).to_contain_text("worker stopped")
    shoot("result")
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.FAILED
    assert list(Book.objects.values_list("title", flat=True)) == ["Already there"]


def test_two_overlapping_imports_report_what_each_wrote(page, staff, tmp_path, worker, browser):
    """Two users' skip imports of overlapping files, run at once by two workers."""
    from django.contrib.auth.models import User

    other = User.objects.create_user("other", password="import-pw-2", is_staff=True)
    other.user_permissions.set(staff.user_permissions.all())
    first = write_csv(tmp_path / "first.csv", [HEADER, *good_rows(600, 0)])
    second = write_csv(tmp_path / "second.csv", [HEADER, *good_rows(600, 300)])
    tabs = []
    for name, password, path in (
        ("staff", "import-pw-1", first),
        ("other", "import-pw-2", second),
    ):
        context = browser.new_context(base_url=page.context.pages[0].url or None)
        tab = page if not tabs else context.new_page()
        if tabs:
            tab.goto(page.url.split("/admin/")[0] + reverse("admin:login"))
        else:
            tab.goto(reverse("admin:login"))
        tab.fill("#id_username", name)
        tab.fill("#id_password", password)
        tab.click("input[type=submit]")
        tab.wait_for_url("**/admin/")
        tab.goto(tab.url.split("/admin/")[0] + reverse("admin:testapp_book_bulk_import"))
        tab.set_input_files("input[type=file]", str(path))
        tab.get_by_label("Skip rows whose key already exists (keep the existing row)").check()
        tab.get_by_role("button", name="Upload and map columns").click()
        tab.wait_for_url("**/mapping/")
        tab.get_by_role("button", name="Check the file").click()
        tabs.append(tab)
    worker.start()
    worker.start()
    for tab in tabs:
        wait_for_step(tab, "**/preview/", worker)
    # Both click Import at once; two workers write at the same time.
    for tab in tabs:
        tab.locator(".bulk-import-commit input[type=submit]").first.click()
    for tab in tabs:
        wait_for_step(tab, "**/result/", worker)
    # PostgreSQL counts from ON CONFLICT's answer; SQLite and MariaDB (bulk_create) hold the
    # table's import lock, so the second import checks its keys once the first committed.
    done = {job.original_name: job for job in ImportJob.objects.all()}
    assert {job.status for job in done.values()} == {ImportJob.Status.SUCCEEDED}, [
        job.message for job in done.values()
    ]
    assert Book.objects.count() == 900
    created = done["first.csv"].created + done["second.csv"].created
    skipped = done["first.csv"].skipped + done["second.csv"].skipped
    assert (created, skipped) == (900, 300), [job.message for job in done.values()]


def test_whole_flow_in_french(page, shoot, staff, tmp_path, settings, monkeypatch):
    """With LANGUAGE_CODE="fr" every step speaks French, and the JS keeps it French."""
    from playwright.sync_api import expect

    settings.LANGUAGE_CODE = "fr"
    # Slow chunks, so that the live panel is seen while the import runs.
    settings.BULK_ADMIN_CHUNK_SIZE = 1
    slow = {"on": False}

    def pause(chunk):
        if slow["on"]:
            time.sleep(0.6)

    monkeypatch.setattr(admin.site.get_model_admin(Book), "bulk_import_chunk_hooks", [pause])
    rows = [
        ["9780441478125", "The Left Hand of Darkness", AUTHORS[0], "9.99", "1969-03-01", ""],
        ["9780552166591", "Guards! Guards!", AUTHORS[1], "8.50", "1989-11-01", ""],
        ["9780446675505", "Parable of the Sower", "Nobody Known", "12.00", "1993-10-01", ""],
    ]
    path = write_csv(tmp_path / "livres.csv", [HEADER, *rows])

    # Login page and change list: Django's own French, and the import button.
    page.goto(reverse("admin:index"))
    page.wait_for_url("**" + reverse("admin:login") + "?next=**")
    expect(page.locator("label[for=id_username]")).to_contain_text("Nom d’utilisateur")
    page.fill("#id_username", "staff")
    page.fill("#id_password", "import-pw-1")
    page.click("input[type=submit]")
    page.wait_for_url("**" + reverse("admin:index"))
    page.goto(reverse("admin:testapp_book_changelist"))
    button = page.get_by_role("link", name="Importer (rapide)")
    expect(button).to_be_visible()
    shoot("changelist")

    # 1. Upload.
    button.click()
    page.wait_for_url("**" + reverse("admin:testapp_book_bulk_import"))
    expect(page.locator("h1")).to_have_text("Importer des books (rapide)")
    expect(page.locator("div.breadcrumbs")).to_contain_text("Accueil")
    expect(page.get_by_text("Options de lecture")).to_be_visible()
    page.set_input_files("input[type=file]", str(path))
    shoot("upload")
    page.get_by_role("button", name="Envoyer et associer les colonnes").click()

    # 2. Mapping.
    page.wait_for_url("**/mapping/")
    expect(page.locator("h1")).to_have_text("Associer les colonnes de livres.csv")
    expect(page.locator(".bulk-import-detected")).to_contain_text("virgule")
    expect(page.get_by_role("columnheader", name="Colonne du fichier")).to_be_visible()
    expect(page.get_by_role("columnheader", name="Premières valeurs")).to_be_visible()
    shoot("mapping")
    page.get_by_role("button", name="Vérifier le fichier").click()

    # 3. Preview, with the invalid row's message in French.
    page.wait_for_url("**/preview/")
    expect(page.locator("h1")).to_have_text("Aperçu de livres.csv")
    expect(page.get_by_text("Ce que fera l’importation")).to_be_visible()
    expect(page.locator("#content")).to_contain_text("1 ligne non valide")
    expect(page.locator("table.bulk-import-error-table")).to_contain_text("Nobody Known")
    expect(page.locator("table.bulk-import-error-table")).to_contain_text("Aucun")
    expect(page.get_by_text("N’écrire que les lignes valides")).to_be_visible()
    shoot("preview")
    page.get_by_label(
        "N’écrire que les lignes valides et laisser de côté les lignes non valides"
    ).check()
    slow["on"] = True
    page.get_by_role("button", name="Importer les 2 lignes valides").click()

    # 4. The live panel while the rows are written: its text stays French after the JS
    # has updated the counts.
    live = page.locator(".bulk-import-live")
    expect(live).to_be_visible()
    expect(live).to_contain_text("Écriture des lignes")
    expect(live).to_contain_text("lignes/s")
    shoot("importing")
    # The counts and the time left come from the JS, in the page's words.
    expect(live.locator(".rows")).not_to_have_text("0")
    assert " rows" not in live.inner_text() and " left" not in live.inner_text()

    # 5. Result.
    page.wait_for_url("**/result/")
    slow["on"] = False
    expect(page.locator("h1")).to_have_text("livres.csv importé")
    expect(page.locator(".bulk-import-result h2")).to_have_text("2 lignes écrites")
    expect(page.locator("div.bulk-import-result")).to_contain_text("Non valides, laissées de côté")
    expect(page.get_by_role("link", name="Importer un autre fichier")).to_be_visible()
    shoot("result")
    page.get_by_role("link", name="Aller aux books").click()
    page.wait_for_url("**" + reverse("admin:testapp_book_changelist"))
    assert Book.objects.count() == 2
