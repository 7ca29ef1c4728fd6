#!/usr/bin/env python
"""What the admin's upload request costs the web process, and a check's errors its worker.

    python bench/upload_memory.py [--sizes 12 32] [--errors 20000 200000]

For each size (MB) an XLSX of the example project's books is written once
(bench/data/upload_<MB>mb.xlsx). Then, each in a fresh child process of its own:

``upload``
    the admin's upload step, through Django's test client logged in as a superuser
    (``POST`` of the file to the example project's **Import (fast)** page, which stores the
    file, scans the workbook and reads the header and a few rows), checked to answer with
    the redirect to the mapping page;
``whole sheet``
    python-calamine reading the whole sheet, as the upload request did before it read only
    what the mapping page needs (the task reads the whole file, in the worker).

``check``
    (``--errors N``) the check of an authors CSV of N rows whose every e-mail is invalid,
    through the mapping step with the immediate task backend (the worker is the request):
    N errors go to the job's error table, through a spool, so the peak should not grow
    with N.

Memory is the growth of the child's peak RSS during that one step: the peak (VmHWM) is
reset after Django and a warm-up upload of a small file are loaded, and read after the step.
The example project runs on a throwaway SQLite database and media folder.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
DATA = BENCH_DIR / "data"
ROWS_PER_MB = 24_600  # about, for the columns below


def write_xlsx(path: Path, megabytes: int) -> None:
    from openpyxl import Workbook

    rows = megabytes * ROWS_PER_MB
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Books")
    sheet.append(["ISBN", "Title", "Author", "Price", "Published", "In stock", "Pages"])
    start = datetime.date(1950, 1, 1)
    for i in range(rows):
        sheet.append(
            [
                "978%010d" % i,
                "Title number %d of the upload benchmark" % i,
                "Author %d" % (i % 500),
                round(5 + (i % 4000) / 100, 2),
                start + datetime.timedelta(days=i % 25_000),
                i % 3 != 0,
                100 + i % 900,
            ]
        )
    partial = path.with_suffix(".partial")
    book.save(partial)
    partial.rename(path)


def _memory() -> dict[str, int]:
    """Return VmRSS and VmHWM of this process, in kB."""
    values = {}
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(("VmRSS:", "VmHWM:")):
                name, amount = line.split(":")
                values[name] = int(amount.split()[0])
    return values


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # resets VmHWM to the current RSS (Linux 4.0+)


def child(mode: str, path: Path) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="bulk_admin_upload_bench_"))
    os.environ["BULK_ADMIN_EXAMPLE_DB"] = str(folder / "db.sqlite3")
    os.environ["BULK_ADMIN_EXAMPLE_MEDIA"] = str(folder / "media")
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("WORKER", None)
    sys.path.insert(0, str(ROOT / "example_project"))
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "demo_site.settings"
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.test import Client
    from django.test.client import ClientHandler
    from django.urls import reverse
    from openpyxl import Workbook

    settings.ALLOWED_HOSTS = ["testserver"]
    settings.DEBUG = False  # as deployed: DEBUG keeps every query (the error inserts) in memory
    call_command("migrate", verbosity=0)
    user = User.objects.create_superuser("bench", password="bench-pw")
    client = Client()
    client.force_login(user)
    url = reverse("admin:library_book_bulk_import")

    handler = ClientHandler(enforce_csrf_checks=False)

    def upload(file_path: Path, target: str = url) -> None:
        # The request body is streamed from a file, as a web server hands it to Django: the
        # test client would build it in memory (twice the file) and hide what Django does.
        body = folder / "body"
        boundary = b"BulkAdminBenchBoundary"
        with open(body, "wb") as out, open(file_path, "rb") as data:
            for name, value in (("on_conflict", b"error"), ("encoding", b"auto")):
                out.write(b"--%s\r\nContent-Disposition: form-data; " % boundary)
                out.write(b'name="%s"\r\n\r\n%s\r\n' % (name.encode(), value))
            out.write(b"--%s\r\nContent-Disposition: form-data; " % boundary)
            out.write(b'name="delimiter"\r\n\r\nauto\r\n')
            out.write(b'--%s\r\nContent-Disposition: form-data; name="file"; ' % boundary)
            out.write(b'filename="%s"\r\n' % file_path.name.encode())
            out.write(b"Content-Type: application/octet-stream\r\n\r\n")
            shutil.copyfileobj(data, out)
            out.write(b"\r\n--%s--\r\n" % boundary)
        with open(body, "rb") as stream:
            environ = client._base_environ(
                PATH_INFO=target,
                REQUEST_METHOD="POST",
                CONTENT_TYPE="multipart/form-data; boundary=%s" % boundary.decode(),
                CONTENT_LENGTH=str(body.stat().st_size),
            )
            environ["wsgi.input"] = stream
            response = handler(environ)
        body.unlink()
        assert response.status_code == 302 and "/mapping/" in response["Location"], (
            response.status_code,
            response.content[:500],
        )

    # Warm up: the code, templates and readers of an upload, with a small file.
    small = folder / "small.xlsx"
    book = Workbook()
    book.active.append(["ISBN", "Title"])
    book.active.append(["1", "A"])
    book.save(small)
    upload(small)

    def check(file_path: Path) -> int:
        from bulk_admin.models import ImportJob

        upload(file_path, reverse("admin:library_author_bulk_import"))
        job = ImportJob.objects.latest("created_at")
        target = reverse("admin:library_author_bulk_import_mapping", kwargs={"job_id": job.pk})
        response = client.post(target, {"column_0": "name", "column_1": "email"})
        assert response.status_code == 302, response.content[:500]
        job.refresh_from_db()
        assert job.status == ImportJob.Status.VALIDATED, job.message
        return job.error_count

    if mode == "check":
        few = folder / "few.csv"
        write_authors(few, 3)
        assert check(few) == 3
    if mode == "whole":
        from python_calamine import CalamineWorkbook

        with open(small, "rb") as file:
            CalamineWorkbook.from_filelike(file).get_sheet_by_index(0).to_python()
    before = _memory()
    _reset_peak()
    started = time.perf_counter()
    rows = 0
    if mode == "upload":
        upload(path)
    elif mode == "check":
        rows = check(path)
    else:
        from python_calamine import CalamineWorkbook

        with open(path, "rb") as file:
            rows = len(CalamineWorkbook.from_filelike(file).get_sheet_by_index(0).to_python())
    seconds = time.perf_counter() - started
    after = _memory()
    return {
        "seconds": seconds,
        "peak_growth_mb": (after["VmHWM"] - before["VmRSS"]) / 1024,
        "rows": rows,
    }


def measure(mode: str, path: Path) -> dict[str, float]:
    output = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=None, metavar="MB")
    parser.add_argument("--errors", type=int, nargs="*", default=[], metavar="ROWS")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], Path(args.child[1]))))
        return
    DATA.mkdir(exist_ok=True)
    if args.errors:
        check_table(args.errors)
    sizes = args.sizes if args.sizes is not None else ([] if args.errors else [12, 32])
    if not sizes:
        return
    columns = ["XLSX", "rows", "upload request: peak RSS growth", "s"]
    columns += ["whole sheet read: peak RSS growth", "s"]
    print("| %s |" % " | ".join(columns))
    print("| --- | --- | --- | --- | --- | --- |")
    for megabytes in sizes:
        path = DATA / ("upload_%dmb.xlsx" % megabytes)
        if not path.exists():
            print("writing %s…" % path, file=sys.stderr)
            write_xlsx(path, megabytes)
        upload = measure("upload", path)
        whole = measure("whole", path)
        print(
            "| %.1f MB | %d | %.0f MB | %.1f | %.0f MB | %.1f |"
            % (
                path.stat().st_size / 1e6,
                whole["rows"] - 1,
                upload["peak_growth_mb"],
                upload["seconds"],
                whole["peak_growth_mb"],
                whole["seconds"],
            ),
            flush=True,
        )


def write_authors(path: Path, rows: int) -> None:
    with open(path, "w", encoding="utf-8") as file:
        file.write("Name,E-mail\n")
        for i in range(rows):
            file.write("Author %d,not an address %d\n" % (i, i))


def check_table(sizes: list[int]) -> None:
    print("\n| invalid rows | errors stored | check: peak RSS growth | s |")
    print("| --- | --- | --- | --- |")
    for rows in sizes:
        path = DATA / ("authors_invalid_%d.csv" % rows)
        if not path.exists():
            write_authors(path, rows)
        check = measure("check", path)
        print(
            "| %d | %d | %.0f MB | %.1f |"
            % (rows, check["rows"], check["peak_growth_mb"], check["seconds"]),
            flush=True,
        )


if __name__ == "__main__":
    main()
