#!/usr/bin/env python
"""The bulk_admin benchmark: how fast, and in how much memory, files get into PostgreSQL.

    python bench/benchmark.py                 # the full run (1M rows, medians of 3)
    python bench/benchmark.py --quick         # a smoke run (50k rows, one repetition)
    python bench/benchmark.py --rows 200000   # another size
    python bench/benchmark.py --profile 200000  # cProfile of the COPY path, no timings

It generates its data deterministically into ``bench/data/`` (kept between runs), creates the
database ``bulk_admin_bench`` with the tables of ``bench/books/models.py``, then measures, in
one run and alternating between the methods, the median of 3 repetitions of:

``\\copy``         psql's ``\\copy`` of the same rows pre-converted to COPY text (author ids
                   resolved, booleans ``t``/``f``, ``auto_now_add`` filled) into the same
                   indexed table: the floor.
``copy``           ``bulk_import`` through COPY, end to end (reading, conversion, validation,
                   foreign keys by name, duplicate-key checks, writing) on the 1M-row CSV.
``bulk_create``    ``bulk_import`` with ``sink="bulk_create"`` on PostgreSQL (200k rows).
``import-export``  django-import-export's ``import_data(dataset, dry_run=False)`` with default
                   settings (10k rows); for information also with ``use_bulk = True``, and the
                   same resource run by bulk_admin (``bulk_admin.contrib.import_export``).
``csv 100k`` / ``xlsx 100k``  the same 100k rows as CSV and as XLSX through ``bulk_import``
                   (the default reader; for information also python-calamine, openpyxl, and
                   the same workbook with a shared-strings table as Excel writes it), with
                   psycopg 3 and, as ``csv_small_pg2`` / ``xlsx_pg2``, with psycopg2.
``copy 10k``       a 10k-row ``bulk_import``, for the memory comparison.

Every measured import runs in a fresh subprocess whose peak RSS comes from ``os.wait4``
(that process's own ``ru_maxrss``). Before every run the table is truncated, vacuumed and
analyzed, and a CHECKPOINT flushes the previous run's writes, so every method starts from the
same state: an empty ``Book`` table with its indexes and 10,000 authors.

Environment: ``BENCH_PGHOST``, ``BENCH_PGPORT``, ``BENCH_PGUSER``, ``BENCH_PGPASSWORD``,
``BENCH_PGDATABASE`` (default 127.0.0.1, 5432, postgres, no password, bulk_admin_bench).
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
DATA = BENCH_DIR / "data"
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

SETTINGS = "bench.settings"
MODEL = "bench_books.Book"
BOOK_TABLE = "bench_books_book"
AUTHOR_TABLE = "bench_books_author"
ORDER_MODEL = "bench_books.Order"
ORDER_TABLE = "bench_books_order"
CUSTOMER_TABLE = "bench_books_customer"
CUSTOMERS = 10_000
# The psycopg2 runs need an interpreter without psycopg 3, which Django prefers whenever it is
# installed: the test script's .venv-psycopg2 (scripts/test.sh makes it).
PSYCOPG2_PYTHON = os.environ.get(
    "BENCH_PSYCOPG2_PYTHON",
    str(Path(__file__).resolve().parent.parent / ".venv-psycopg2/bin/python"),
)

GENERATOR_VERSION = 1
SEED = 20_240_601
AUTHORS = 10_000
CREATED_AT = "2024-01-01 00:00:00+00"

HEADER = ["isbn", "title", "author", "price", "published", "in_stock", "pages", "notes"]
# The file names the author; bulk_import looks the foreign key up by Author.name.
MAPPING = {
    "isbn": "isbn",
    "title": "title",
    "author": "author__name",
    "price": "price",
    "published": "published",
    "in_stock": "in_stock",
    "pages": "pages",
    "notes": "notes",
}
COPY_COLUMNS = [
    "isbn",
    "title",
    "author_id",
    "price",
    "published",
    "in_stock",
    "pages",
    "notes",
    "created_at",
]
# Order-independent fingerprint of the imported data (ids and created_at excluded).
CHECKSUM_SQL = (
    "SELECT count(*), coalesce(sum(hashtextextended(concat_ws('|', isbn, title, author_id, "
    "price, published, in_stock, coalesce(pages::text, 'NULL'), notes), 0)), 0)::text "
    "FROM " + BOOK_TABLE
)
ORDER_HEADER = ["number", "customer", "ordered", "total", "details"]
ORDER_MAPPING = {
    "number": "number",
    "customer": "customer__email",
    "ordered": "ordered",
    "total": "total",
    "details": "details",
}
ORDER_COPY_COLUMNS = ["number", "customer_id", "ordered", "total", "details"]
ORDER_CHECKSUM_SQL = (
    "SELECT count(*), coalesce(sum(hashtextextended(concat_ws('|', number, customer_id, "
    "ordered, total, details::text), 0)), 0)::text FROM " + ORDER_TABLE
)
TABLES = {
    "books": (BOOK_TABLE, COPY_COLUMNS, CHECKSUM_SQL),
    "orders": (ORDER_TABLE, ORDER_COPY_COLUMNS, ORDER_CHECKSUM_SQL),
}

DB = {
    "host": os.environ.get("BENCH_PGHOST", "127.0.0.1"),
    "port": os.environ.get("BENCH_PGPORT", "5432"),
    "user": os.environ.get("BENCH_PGUSER", "postgres"),
    "password": os.environ.get("BENCH_PGPASSWORD", ""),
    "dbname": os.environ.get("BENCH_PGDATABASE", "bulk_admin_bench"),
}


# --- data ----------------------------------------------------------------------------------

WORDS = [
    "river",
    "stone",
    "garden",
    "winter",
    "silent",
    "night",
    "city",
    "light",
    "shadow",
    "empire",
    "secret",
    "history",
    "house",
    "ocean",
    "glass",
    "iron",
    "paper",
    "letter",
    "journey",
    "north",
    "south",
    "kingdom",
    "mirror",
    "crown",
    "storm",
    "fire",
    "water",
    "memory",
    "forest",
    "machine",
    "island",
    "road",
    "summer",
    "autumn",
    "spring",
    "daughter",
    "son",
    "mother",
    "father",
    "war",
    "peace",
    "heart",
    "song",
    "dream",
    "clock",
    "tower",
    "bridge",
    "market",
    "harbor",
    "valley",
    "mountain",
    "desert",
    "star",
    "moon",
    "sun",
    "wolf",
    "raven",
    "fox",
    "horse",
    "garden",
    "science",
    "theory",
    "practical",
    "guide",
    "complete",
    "modern",
    "ancient",
    "lost",
    "found",
    "last",
    "first",
    "little",
    "great",
    "hidden",
    "golden",
    "broken",
    "quiet",
    "wild",
    "red",
    "blue",
    "green",
    "black",
    "white",
    "old",
    "new",
    "short",
    "long",
    "strange",
    "curious",
    "simple",
    "hard",
]
SYLLABLES = [
    "an",
    "be",
    "ca",
    "de",
    "el",
    "fa",
    "go",
    "ha",
    "id",
    "jo",
    "ka",
    "li",
    "mo",
    "na",
    "or",
    "pe",
    "qui",
    "ra",
    "so",
    "ta",
    "ul",
    "vi",
    "wa",
    "xe",
    "yo",
    "za",
    "bri",
    "cla",
    "dro",
    "fle",
    "gri",
    "kra",
    "lor",
    "mar",
    "nel",
    "pra",
    "ros",
    "sal",
    "tor",
    "ven",
    "wil",
]


def author_names() -> list[str]:
    """Return the AUTHORS unique author names, always the same."""
    rng = random.Random(SEED - 1)
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < AUTHORS:
        first = "".join(rng.choices(SYLLABLES, k=rng.randint(2, 3))).capitalize()
        last = "".join(rng.choices(SYLLABLES, k=rng.randint(2, 4))).capitalize()
        name = f"{first} {last}"
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


@dataclass(frozen=True, slots=True)
class BookRow:
    isbn: str
    title: str
    author: int  # index into author_names(); the author's id is index + 1
    cents: int
    published: datetime.date
    in_stock: bool
    pages: int | None
    notes: str

    @property
    def price(self) -> str:
        return f"{self.cents // 100}.{self.cents % 100:02d}"


def book_rows(count: int):
    """Yield ``count`` rows; the first K rows are the same whatever ``count`` is.

    ISBNs are unique and in no particular order (a permutation of the row number), as in a
    real export.
    """
    rng = random.Random(SEED)
    words = WORDS
    epoch = datetime.date(1950, 1, 1)
    for i in range(count):
        isbn = "978" + format((i * 387_420_489 + 7_654_321) % 10**10, "010d")
        title = " ".join(rng.choices(words, k=rng.randint(2, 7))).capitalize()
        roll = rng.random()
        if roll < 0.05:
            title += ", " + rng.choice(words)  # a delimiter inside a quoted cell
        elif roll < 0.06:
            title = f'"{title}" revisited'  # quotes inside a quoted cell
        notes = ""
        if rng.random() < 0.7:
            notes = " ".join(rng.choices(words, k=rng.randint(3, 25))).capitalize() + "."
        yield BookRow(
            isbn=isbn,
            title=title,
            author=rng.randrange(AUTHORS),
            cents=rng.randint(100, 99_999),
            published=epoch + datetime.timedelta(days=rng.randrange(27_000)),
            in_stock=rng.random() < 0.8,
            pages=None if rng.random() < 0.1 else rng.randint(20, 1500),
            notes=notes,
        )


def _copy_text(value: str) -> str:
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def _atomic_write(path: Path, write) -> None:
    temporary = path.with_name(path.name + ".tmp")
    write(temporary)
    temporary.replace(path)


def write_csv(path: Path, count: int, copy_path: Path | None = None) -> None:
    """Write ``count`` rows as CSV (and, with ``copy_path``, as COPY text), streamed."""

    def write(temporary: Path) -> None:
        copy_temporary = copy_path.with_name(copy_path.name + ".tmp") if copy_path else None
        with open(temporary, "w", newline="", encoding="utf-8") as out:
            # Closed in the finally below; a second with-block would need a null context.
            copy_out = open(copy_temporary, "w", encoding="utf-8") if copy_temporary else None  # noqa: SIM115
            try:
                writer = csv.writer(out)
                writer.writerow(HEADER)
                names = author_names()
                for row in book_rows(count):
                    writer.writerow(
                        [
                            row.isbn,
                            row.title,
                            names[row.author],
                            row.price,
                            row.published.isoformat(),
                            "true" if row.in_stock else "false",
                            "" if row.pages is None else row.pages,
                            row.notes,
                        ]
                    )
                    if copy_out is not None:
                        copy_out.write(
                            "\t".join(
                                [
                                    row.isbn,
                                    _copy_text(row.title),
                                    str(row.author + 1),
                                    row.price,
                                    row.published.isoformat(),
                                    "t" if row.in_stock else "f",
                                    "\\N" if row.pages is None else str(row.pages),
                                    _copy_text(row.notes),
                                    CREATED_AT,
                                ]
                            )
                            + "\n"
                        )
            finally:
                if copy_out is not None:
                    copy_out.close()
        if copy_temporary is not None:
            copy_temporary.replace(copy_path)

    _atomic_write(path, write)


def write_xlsx(path: Path, count: int) -> None:
    """Write ``count`` rows as an XLSX sheet with typed cells (openpyxl write-only mode)."""
    import decimal

    import openpyxl

    def write(temporary: Path) -> None:
        workbook = openpyxl.Workbook(write_only=True)
        sheet = workbook.create_sheet("Books")
        sheet.append(HEADER)
        names = author_names()
        for row in book_rows(count):
            sheet.append(
                [
                    row.isbn,  # text, as ISBNs are in a real sheet
                    row.title,
                    names[row.author],
                    decimal.Decimal(row.price),  # a number cell
                    row.published,  # a date cell
                    row.in_stock,  # a boolean cell
                    row.pages,  # a number cell or empty
                    row.notes or None,
                ]
            )
        workbook.save(temporary)

    _atomic_write(path, write)


_INLINE_CELL = re.compile(
    rb'<c r="([A-Z]+[0-9]+)"( s="[0-9]+")? t="inlineStr"'
    rb'(?: ?/>|><is><t(?: xml:space="preserve")?>(.*?)</t></is></c>)',
    re.DOTALL,
)


# Where a workbook declares its shared-strings part: (closing tag, declaration before it).
_SHARED_STRINGS_DECLARED = {
    "[Content_Types].xml": (
        b"</Types>",
        b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
        b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>',
    ),
    "xl/_rels/workbook.xml.rels": (
        b"</Relationships>",
        b'<Relationship Id="rIdShared" Type="http://schemas.openxmlformats.org/'
        b'officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>',
    ),
}


def write_xlsx_shared(source: Path, path: Path) -> None:
    """Write the workbook ``source`` again with its texts in a shared-strings table.

    That is how Excel saves a workbook; openpyxl writes every text inline. The sheet is
    rewritten a block of rows at a time; the table holds each distinct text once, numbered
    in the order of first use, as Excel numbers them.
    """
    import zipfile

    sheet = "xl/worksheets/sheet1.xml"

    def write(temporary: Path) -> None:
        numbers: dict[bytes, int] = {}

        def shared(match: re.Match[bytes]) -> bytes:
            number = numbers.setdefault(match.group(3) or b"", len(numbers))
            return b'<c r="%s"%s t="s"><v>%d</v></c>' % (
                match.group(1),
                match.group(2) or b"",
                number,
            )

        with (
            zipfile.ZipFile(source) as old,
            zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as new,
        ):
            for info in old.infolist():
                if info.filename == sheet:
                    with old.open(info) as inner, new.open(sheet, "w", force_zip64=True) as outer:
                        pending = b""
                        while block := inner.read(1 << 22):
                            data = pending + block
                            cut = data.rfind(b"</row>") + 6
                            outer.write(_INLINE_CELL.sub(shared, data[:cut]))
                            pending = data[cut:]
                        outer.write(_INLINE_CELL.sub(shared, pending))
                    continue
                data = old.read(info)
                if info.filename in _SHARED_STRINGS_DECLARED:
                    closing, declaration = _SHARED_STRINGS_DECLARED[info.filename]
                    data = data.replace(closing, declaration + closing)
                new.writestr(info, data)
            with new.open("xl/sharedStrings.xml", "w", force_zip64=True) as table:
                table.write(
                    b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.'
                    b'openxmlformats.org/spreadsheetml/2006/main" uniqueCount="%d">' % len(numbers)
                )
                for text in numbers:  # in the order of their numbers
                    table.write(b'<si><t xml:space="preserve">%s</t></si>' % text)
                table.write(b"</sst>")

    _atomic_write(path, write)


def _in_own_process(function: Any, *args: Any) -> None:
    """Run ``function`` in a process of its own (spawned, not forked).

    Its memory must not stay in this process: a measured child is forked from it, and Linux
    counts the pages a forked child starts with in its peak RSS (``ru_maxrss``).
    """
    import multiprocessing

    process = multiprocessing.get_context("spawn").Process(target=function, args=args)
    process.start()
    process.join()
    if process.exitcode:
        raise SystemExit(f"{function.__name__} failed (exit code {process.exitcode})")


def customer_emails() -> list[str]:
    """Return the CUSTOMERS unique e-mail addresses, always the same."""
    rng = random.Random(SEED - 2)
    emails: list[str] = []
    seen: set[str] = set()
    while len(emails) < CUSTOMERS:
        local = ".".join(rng.choices(SYLLABLES, k=rng.randint(2, 4)))
        email = f"{local}{rng.randint(1, 999)}@{rng.choice(WORDS)}.example.com"
        if email not in seen:
            seen.add(email)
            emails.append(email)
    return emails


def write_orders_csv(path: Path, count: int, copy_path: Path | None = None) -> None:
    """Write ``count`` orders as CSV (and, with ``copy_path``, as COPY text), streamed.

    Order numbers are unique and in no particular order; the customer is given by e-mail.
    """

    def write(temporary: Path) -> None:
        copy_temporary = copy_path.with_name(copy_path.name + ".tmp") if copy_path else None
        rng = random.Random(SEED + 1)
        emails = customer_emails()
        epoch = datetime.date(2015, 1, 1)
        channels = ["web", "shop", "phone", "partner"]
        with open(temporary, "w", newline="", encoding="utf-8") as out:
            # Closed in the finally below, as in write_csv.
            copy_out = open(copy_temporary, "w", encoding="utf-8") if copy_temporary else None  # noqa: SIM115
            try:
                writer = csv.writer(out)
                writer.writerow(ORDER_HEADER)
                for i in range(count):
                    number = (i * 387_420_489 + 7_654_321) % 2_000_000_000
                    customer = rng.randrange(CUSTOMERS)
                    cents = rng.randint(100, 9_999_999)
                    total = f"{cents // 100}.{cents % 100:02d}"
                    ordered = (epoch + datetime.timedelta(days=rng.randrange(3_650))).isoformat()
                    details = json.dumps(
                        {"channel": rng.choice(channels), "items": rng.randint(1, 20)},
                        separators=(", ", ": "),
                    )
                    writer.writerow([number, emails[customer], ordered, total, details])
                    if copy_out is not None:
                        copy_out.write(
                            f"{number}\t{customer + 1}\t{ordered}\t{total}\t"
                            f"{_copy_text(details)}\n"
                        )
            finally:
                if copy_out is not None:
                    copy_out.close()
        if copy_temporary is not None:
            copy_temporary.replace(copy_path)

    _atomic_write(path, write)


def data_path(rows: int, kind: str, table: str = "books") -> Path:
    return DATA / f"{table}_{rows}.{kind}"


def ensure_data(sizes: dict[str, int], regenerate: bool = False) -> None:
    """Generate the files the run needs, unless they exist from the same generator."""
    DATA.mkdir(parents=True, exist_ok=True)
    manifest_path = DATA / "manifest.json"
    manifest: dict[str, Any] = {}
    if manifest_path.exists() and not regenerate:
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("version") != GENERATOR_VERSION or manifest.get("seed") != SEED:
            manifest = {}
    files: dict[str, int] = manifest.get("files", {})

    def needed(path: Path) -> bool:
        return (
            regenerate
            or path.name not in files
            or not path.exists()
            or path.stat().st_size != files[path.name]
        )

    def done(*paths: Path) -> None:
        for path in paths:
            files[path.name] = path.stat().st_size
        manifest_path.write_text(
            json.dumps({"version": GENERATOR_VERSION, "seed": SEED, "files": files}, indent=1)
        )

    main = sizes["main"]
    csv_path, copy_path = data_path(main, "csv"), data_path(main, "copy")
    if needed(csv_path) or needed(copy_path):
        print(f"generating {csv_path.name} and {copy_path.name} ...", flush=True)
        started = time.perf_counter()
        write_csv(csv_path, main, copy_path)
        done(csv_path, copy_path)
        print(f"  {time.perf_counter() - started:.1f} s", flush=True)
    orders_csv, orders_copy = data_path(main, "csv", "orders"), data_path(main, "copy", "orders")
    if needed(orders_csv) or needed(orders_copy):
        print(f"generating {orders_csv.name} and {orders_copy.name} ...", flush=True)
        started = time.perf_counter()
        write_orders_csv(orders_csv, main, orders_copy)
        done(orders_csv, orders_copy)
        print(f"  {time.perf_counter() - started:.1f} s", flush=True)
    orders_small = data_path(sizes["bulk_create"], "csv", "orders")
    if needed(orders_small):
        print(f"generating {orders_small.name} ...", flush=True)
        write_orders_csv(orders_small, sizes["bulk_create"])
        done(orders_small)
    for rows in sorted(
        {sizes[name] for name in ("bulk_create", "xlsx", "small", "import_export")}
    ):
        path = data_path(rows, "csv")
        if needed(path):
            print(f"generating {path.name} ...", flush=True)
            write_csv(path, rows)
            done(path)
    xlsx = data_path(sizes["xlsx"], "xlsx")
    if needed(xlsx):
        print(f"generating {xlsx.name} (openpyxl write-only) ...", flush=True)
        started = time.perf_counter()
        write_xlsx(xlsx, sizes["xlsx"])
        done(xlsx)
        print(f"  {time.perf_counter() - started:.1f} s", flush=True)
    shared = data_path(sizes["xlsx"], "xlsx", "books_shared")
    if needed(shared):
        print(f"generating {shared.name} (its texts in a shared-strings table) ...", flush=True)
        started = time.perf_counter()
        _in_own_process(write_xlsx_shared, xlsx, shared)
        done(shared)
        print(f"  {time.perf_counter() - started:.1f} s", flush=True)


# --- database --------------------------------------------------------------------------------


def connect(dbname: str | None = None):
    import psycopg

    params = dict(DB)
    if dbname:
        params["dbname"] = dbname
    if not params["password"]:
        del params["password"]
    return psycopg.connect(autocommit=True, **params)


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = SETTINGS
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def prepare_database() -> None:
    """Create the database and tables; load the authors (ids 1..AUTHORS)."""
    with connect("postgres") as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [DB["dbname"]]
        ).fetchone()
        if not exists:
            conn.execute('CREATE DATABASE "%s"' % DB["dbname"].replace('"', '""'))
    subprocess.run(
        [sys.executable, "-m", "django", "migrate", "--noinput", "-v", "0"],
        env=child_env(),
        check=True,
        cwd=REPO,
    )
    names = author_names()
    with connect() as conn:
        conn.execute(
            f"TRUNCATE {BOOK_TABLE}, {AUTHOR_TABLE}, {ORDER_TABLE}, {CUSTOMER_TABLE} "
            "RESTART IDENTITY"
        )
        with (
            conn.cursor() as cursor,
            cursor.copy(f"COPY {AUTHOR_TABLE} (id, name) FROM STDIN") as copy,
        ):
            for index, name in enumerate(names):
                copy.write_row((index + 1, name))
        conn.execute(
            f"SELECT setval(pg_get_serial_sequence('{AUTHOR_TABLE}', 'id'), {len(names)})"
        )
        conn.execute(f"VACUUM ANALYZE {AUTHOR_TABLE}")
        emails = customer_emails()
        with (
            conn.cursor() as cursor,
            cursor.copy(f"COPY {CUSTOMER_TABLE} (id, email, name) FROM STDIN") as copy,
        ):
            for index, email in enumerate(emails):
                copy.write_row((index + 1, email, email.split("@")[0].replace(".", " ").title()))
        conn.execute(
            f"SELECT setval(pg_get_serial_sequence('{CUSTOMER_TABLE}', 'id'), {len(emails)})"
        )
        conn.execute(f"VACUUM ANALYZE {CUSTOMER_TABLE}")


def reset_table(conn) -> None:
    """The same starting state for every run: empty, vacuumed tables, nothing dirty."""
    conn.execute(f"TRUNCATE {BOOK_TABLE}, {ORDER_TABLE} RESTART IDENTITY")
    for table in (BOOK_TABLE, AUTHOR_TABLE, ORDER_TABLE, CUSTOMER_TABLE):
        conn.execute(f"VACUUM ANALYZE {table}")
    conn.execute("CHECKPOINT")


def server_info(conn) -> dict[str, str]:
    names = [
        "server_version",
        "shared_buffers",
        "max_wal_size",
        "work_mem",
        "maintenance_work_mem",
        "synchronous_commit",
        "fsync",
        "autovacuum",
        "wal_level",
    ]
    rows = conn.execute(
        "SELECT name, current_setting(name) FROM unnest(%s::text[]) AS name", [names]
    ).fetchall()
    return dict(rows)


# --- one measured run ------------------------------------------------------------------------


@dataclass
class Method:
    key: str
    label: str
    rows: int
    path: Path
    env: dict[str, str] = field(default_factory=dict)
    table: str = "books"
    driver: str = "psycopg"  # the child's PostgreSQL driver: psycopg (3) or psycopg2

    @property
    def is_psql(self) -> bool:
        return self.key.startswith("psql")


@dataclass
class Run:
    seconds: float  # the import itself (psql: the whole process)
    process_seconds: float
    peak_rss_mb: float
    client_cpu: float
    server_cpu: float | None
    detail: dict[str, Any]
    machine_cpu: float = 0.0  # busy CPU seconds of the whole machine during the run
    idle_load: float = 0.0  # cores busy just before the run
    waited: float = 0.0

    @property
    def other_cpu(self) -> float:
        """CPU used during the run by neither the client nor its server backend.

        This is other work on the machine (another program, a test suite) plus PostgreSQL's
        own background processes (WAL writer, checkpointer), which the loads cause too.
        """
        return self.machine_cpu - self.client_cpu - (self.server_cpu or 0.0)


def _spawn(command: list[str], env: dict[str, str]) -> tuple[int, float, Any, str, str]:
    """Run ``command``; return its exit status, wall time, own rusage, stdout and stderr."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env, cwd=REPO)
        # wait4 gives this child's own rusage; RUSAGE_CHILDREN would give the maximum
        # over every child waited for so far.
        _pid, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return process.returncode, wall, usage, out.read().decode(), err.read().decode()


def machine_cpu() -> float:
    """Busy CPU seconds of the whole machine since boot (all cores), from /proc/stat."""
    try:
        values = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except OSError:
        return 0.0
    return (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


def wait_for_idle(max_wait: float, threshold: float) -> tuple[float, float]:
    """Wait until the rest of the machine uses less than ``threshold`` cores.

    Other work on a 2-core machine (a test suite, a build) takes CPU from both the client
    and the server, so runs start only on a quiet machine; after ``max_wait`` seconds the
    run starts anyway. Return the load seen last (in cores) and the time waited.
    """
    started = time.monotonic()
    while True:
        before = machine_cpu()
        time.sleep(1.0)
        load = machine_cpu() - before
        waited = time.monotonic() - started
        if load < threshold or waited >= max_wait:
            return load, waited


PSQL_APPLICATION = "bulk_admin_bench_copy"


class BackendWatcher(threading.Thread):
    """Follow the CPU time of psql's server backend, found by its application_name.

    The backend is gone once psql exits, so its /proc entry is read every 50 ms while it
    lives; the last reading misses at most the final 50 ms.
    """

    def __init__(self, application: str):
        super().__init__(daemon=True)
        self.application = application
        self.cpu: float | None = None
        self._done = threading.Event()

    def run(self) -> None:
        with connect() as conn:
            pid = None
            while pid is None and not self._done.is_set():
                found = conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE application_name = %s",
                    [self.application],
                ).fetchone()
                if found:
                    pid = found[0]
                else:
                    time.sleep(0.01)
        while pid is not None:
            cpu = _backend_cpu(pid)
            if cpu is None:
                return
            self.cpu = cpu
            if self._done.wait(0.05):
                # psql has exited; one last reading if the backend is still winding down.
                self.cpu = _backend_cpu(pid) or self.cpu
                return

    def stop(self) -> None:
        self._done.set()
        self.join(timeout=5)


def measure(method: Method) -> Run:
    if method.is_psql:
        table, columns, _checksum = TABLES[method.table]
        command = [
            "psql",
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            DB["host"],
            "-p",
            DB["port"],
            "-U",
            DB["user"],
            "-d",
            DB["dbname"],
            "-c",
            "\\copy %s (%s) FROM '%s'" % (table, ", ".join(columns), method.path),
        ]
        env = dict(os.environ)
        if DB["password"]:
            env["PGPASSWORD"] = DB["password"]
    else:
        python = PSYCOPG2_PYTHON if method.driver == "psycopg2" else sys.executable
        command = [python, str(Path(__file__).resolve()), "--child", method.key, str(method.path)]
        env = child_env(**method.env)
    watcher = None
    if method.is_psql:
        env["PGAPPNAME"] = PSQL_APPLICATION
        watcher = BackendWatcher(PSQL_APPLICATION)
        watcher.start()
    busy_before = machine_cpu()
    status, wall, usage, out, err = _spawn(command, env)
    busy = machine_cpu() - busy_before
    if watcher is not None:
        watcher.stop()
    if status != 0:
        raise SystemExit(f"{method.label} failed (exit {status}):\n{err[-4000:]}\n{out[-2000:]}")
    detail: dict[str, Any] = {}
    seconds = wall
    server_cpu = watcher.cpu if watcher is not None else None
    if not method.is_psql:
        detail = json.loads(out.strip().splitlines()[-1])
        seconds = detail.pop("seconds")
        server_cpu = detail.pop("server_cpu", None)
    return Run(
        seconds=seconds,
        process_seconds=wall,
        peak_rss_mb=usage.ru_maxrss / 1024,
        client_cpu=usage.ru_utime + usage.ru_stime,
        server_cpu=server_cpu,
        detail=detail,
        machine_cpu=busy,
    )


# --- the child: one import in a fresh process -------------------------------------------------


def _backend_cpu(pid: int) -> float | None:
    """CPU seconds used so far by a PostgreSQL backend on this machine, when readable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def import_export_resource(use_bulk: bool = False):
    """The resource of the comparison: default settings (or ``use_bulk = True``)."""
    from import_export import fields, resources, widgets

    from bench.books.models import Author, Book

    class BookResource(resources.ModelResource):
        author = fields.Field(
            attribute="author",
            column_name="author",
            widget=widgets.ForeignKeyWidget(Author, "name"),
        )

        class Meta:
            model = Book
            import_id_fields = ["isbn"]
            fields = (
                "isbn",
                "title",
                "author",
                "price",
                "published",
                "in_stock",
                "pages",
                "notes",
            )

    if use_bulk:

        class BulkBookResource(BookResource):
            class Meta(BookResource.Meta):
                use_bulk = True

        return BulkBookResource()
    return BookResource()


def child(kind: str, path: str, profile: str | None = None) -> None:
    import django

    django.setup()
    from django.db import connection

    backend = None
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = cursor.fetchone()[0]
    else:
        _prepare_other_database(kind)
    server_before = _backend_cpu(backend) if backend else None
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    if kind in ("import_export", "import_export_bulk"):
        import tablib

        resource = import_export_resource(use_bulk=kind == "import_export_bulk")
        with open(path, encoding="utf-8", newline="") as file:
            dataset = tablib.Dataset().load(file.read(), format="csv")
        result = resource.import_data(dataset, dry_run=False)
        if result.has_errors() or result.has_validation_errors():
            rows = [row for row in result.rows if row.errors or row.validation_error]
            raise SystemExit(f"import-export reported errors: {rows[:3]!r}")
        detail: dict[str, Any] = {"totals": dict(result.totals), "rows": len(dataset)}
    else:
        from bulk_admin.importer import import_file

        model = MODEL
        if kind.startswith("orders"):
            model = ORDER_MODEL
            options = {"mapping": ORDER_MAPPING}
        elif kind == "resource":
            # The same resource on bulk_admin's path (bulk_admin.contrib.import_export).
            from bulk_admin.contrib.import_export import options_from_resource

            options = options_from_resource(import_export_resource())
        else:
            options = {"mapping": MAPPING}
        options["sink"] = "bulk_create" if kind.startswith("bulk_create") else "copy"
        if connection.vendor != "postgresql":
            options["sink"] = "bulk_create"
        result = import_file(model, path, **options)
        if not result.committed or result.invalid:
            errors = [error.as_dict() for error in result.errors[:3]]
            raise SystemExit(
                f"bulk_import wrote nothing: {result.invalid} invalid rows, e.g. {errors}"
            )
        detail = {
            "driver": connection.Database.__name__,
            "method": result.method,
            "rows": result.rows,
            "created": result.created,
            "timings": {name: round(value, 3) for name, value in result.timings.items()},
        }
    seconds = time.perf_counter() - started
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile)
    server_after = _backend_cpu(backend) if backend else None
    detail["seconds"] = seconds
    if server_before is not None and server_after is not None:
        detail["server_cpu"] = server_after - server_before
    print(json.dumps(detail))


def _prepare_other_database(kind: str) -> None:
    """SQLite and MariaDB runs: migrate, empty the tables, load the authors (not timed)."""
    from django.core.management import call_command

    from bench.books.models import Author, Book

    call_command("migrate", verbosity=0)
    Book.objects.all().delete()
    Author.objects.all().delete()
    Author.objects.bulk_create(
        [Author(id=index + 1, name=name) for index, name in enumerate(author_names())],
        batch_size=1000,
    )


# --- the run ---------------------------------------------------------------------------------


def plan_methods(sizes: dict[str, int]) -> list[Method]:
    main, xlsx = sizes["main"], sizes["xlsx"]
    return [
        Method("psql", "psql \\copy (floor)", main, data_path(main, "copy")),
        Method("copy", "bulk_import COPY, psycopg 3", main, data_path(main, "csv")),
        Method(
            "copy_pg2",
            "bulk_import COPY, psycopg2",
            main,
            data_path(main, "csv"),
            driver="psycopg2",
        ),
        Method(
            "psql_orders",
            "orders: psql \\copy (floor)",
            main,
            data_path(main, "copy", "orders"),
            table="orders",
        ),
        Method(
            "orders",
            "orders: COPY, psycopg 3",
            main,
            data_path(main, "csv", "orders"),
            table="orders",
        ),
        Method(
            "orders_pg2",
            "orders: COPY, psycopg2",
            main,
            data_path(main, "csv", "orders"),
            table="orders",
            driver="psycopg2",
        ),
        Method(
            "bulk_create",
            "bulk_import bulk_create",
            sizes["bulk_create"],
            data_path(sizes["bulk_create"], "csv"),
        ),
        Method(
            "bulk_create_sqlite",
            "bulk_create, SQLite",
            sizes["bulk_create"],
            data_path(sizes["bulk_create"], "csv"),
            env={"BENCH_DB": "sqlite"},
            table="other",
        ),
        Method(
            "bulk_create_mariadb",
            "bulk_create, MariaDB",
            sizes["bulk_create"],
            data_path(sizes["bulk_create"], "csv"),
            env={"BENCH_DB": "mariadb"},
            table="other",
        ),
        Method(
            "import_export",
            "django-import-export",
            sizes["import_export"],
            data_path(sizes["import_export"], "csv"),
        ),
        Method(
            "import_export_bulk",
            "  import-export, use_bulk",
            sizes["import_export"],
            data_path(sizes["import_export"], "csv"),
        ),
        Method(
            "resource",
            f"  same resource on bulk_admin {_short(xlsx)}",
            xlsx,
            data_path(xlsx, "csv"),
        ),
        Method("csv_small", f"bulk_import CSV {_short(xlsx)}", xlsx, data_path(xlsx, "csv")),
        Method("xlsx", f"bulk_import XLSX {_short(xlsx)}", xlsx, data_path(xlsx, "xlsx")),
        Method(
            "csv_small_pg2",
            f"bulk_import CSV {_short(xlsx)}, psycopg2",
            xlsx,
            data_path(xlsx, "csv"),
            driver="psycopg2",
        ),
        Method(
            "xlsx_pg2",
            f"bulk_import XLSX {_short(xlsx)}, psycopg2",
            xlsx,
            data_path(xlsx, "xlsx"),
            driver="psycopg2",
        ),
        Method(
            "xlsx_shared",
            "  XLSX, shared strings",
            xlsx,
            data_path(xlsx, "xlsx", "books_shared"),
        ),
        *(
            Method(
                key, label, xlsx, data_path(xlsx, "xlsx", table), env={"BENCH_XLSX_READER": reader}
            )
            for key, label, table, reader in (
                ("xlsx_openpyxl", "  XLSX, openpyxl reader", "books", "openpyxl"),
                ("xlsx_calamine", "  XLSX, python-calamine reader", "books", "calamine"),
                (
                    "xlsx_shared_calamine",
                    "  XLSX, shared strings, python-calamine",
                    "books_shared",
                    "calamine",
                ),
            )
        ),
        Method(
            "copy_small",
            f"bulk_import COPY {_short(sizes['small'])}",
            sizes["small"],
            data_path(sizes["small"], "csv"),
        ),
    ]


def _short(rows: int) -> str:
    if rows >= 1_000_000 and rows % 1_000_000 == 0:
        return f"{rows // 1_000_000}M"
    if rows >= 1000 and rows % 1000 == 0:
        return f"{rows // 1000}k"
    return str(rows)


def summarize(method: Method, runs: list[Run], floor: tuple[int, float] | None) -> dict[str, Any]:
    seconds = statistics.median(run.seconds for run in runs)
    summary: dict[str, Any] = {
        "key": method.key,
        "label": method.label,
        "rows": method.rows,
        "seconds": seconds,
        "seconds_all": [round(run.seconds, 3) for run in runs],
        "rows_per_s": method.rows / seconds,
        "peak_rss_mb": max(run.peak_rss_mb for run in runs),
        "process_seconds": statistics.median(run.process_seconds for run in runs),
        "client_cpu": statistics.median(run.client_cpu for run in runs),
        "server_cpu": (
            statistics.median(run.server_cpu for run in runs)
            if all(run.server_cpu is not None for run in runs)
            else None
        ),
        "other_cpu_all": [round(run.other_cpu, 2) for run in runs],
        "idle_load_all": [round(run.idle_load, 2) for run in runs],
        "detail": runs[-1].detail,
    }
    if floor:
        floor_rows, floor_seconds = floor
        summary["ratio"] = (seconds / method.rows) / (floor_seconds / floor_rows)
    return summary


def goals(results: dict[str, dict[str, Any]]) -> list[tuple[str, str, bool | None]]:
    found: list[tuple[str, str, bool | None]] = []

    def get(key: str) -> dict[str, Any] | None:
        return results.get(key)

    copy, ie = get("copy"), get("import_export")
    small = get("copy_small")
    for floor_key, key in (
        ("psql", "copy"),
        ("psql", "copy_pg2"),
        ("psql_orders", "orders"),
        ("psql_orders", "orders_pg2"),
    ):
        floor, measured = get(floor_key), get(key)
        if floor and measured:
            ratio = measured["seconds"] / floor["seconds"]
            found.append(
                (f"{measured['label']} ≤ 1.25× \\copy time", f"{ratio:.2f}×", ratio <= 1.25)
            )
    if copy and ie:
        ratio = copy["rows_per_s"] / ie["rows_per_s"]
        found.append(("≥ 100× django-import-export rows/s", f"{ratio:.0f}×", ratio >= 100))
    if copy:
        rss = copy["peak_rss_mb"]
        found.append(
            (
                f"peak RSS of the {_short(copy['rows'])}-row import < 150 MB",
                f"{rss:.0f} MB",
                rss < 150,
            )
        )
    if copy and small:
        ratio = copy["peak_rss_mb"] / small["peak_rss_mb"]
        found.append(
            (
                f"peak RSS {_short(copy['rows'])} ≈ {_short(small['rows'])} (≤ 1.25×)",
                f"{copy['peak_rss_mb']:.0f} vs {small['peak_rss_mb']:.0f} MB = {ratio:.2f}×",
                ratio <= 1.25,
            )
        )
    for xlsx_key, csv_key, driver in (
        ("xlsx", "csv_small", ""),
        ("xlsx_pg2", "csv_small_pg2", ", psycopg2"),
    ):
        xlsx, csv_small = get(xlsx_key), get(csv_key)
        if xlsx and csv_small:
            ratio = xlsx["seconds"] / csv_small["seconds"]
            found.append(
                (
                    f"XLSX {_short(xlsx['rows'])} ≤ 1.5× CSV {_short(csv_small['rows'])}{driver}",
                    f"{ratio:.2f}×",
                    ratio <= 1.5,
                )
            )
    return found


def format_table(results: list[dict[str, Any]], markdown: bool = False) -> str:
    header = [
        "method",
        "rows",
        "seconds (median)",
        "rows/s",
        "ratio to \\copy",
        "peak RSS MB",
        "client CPU s",
        "server CPU s",
        "other CPU s",
    ]
    lines = []
    body = []
    for item in results:
        body.append(
            [
                item["label"],
                f"{item['rows']:,}",
                f"{item['seconds']:.2f}",
                f"{item['rows_per_s']:,.0f}",
                f"{item['ratio']:.2f}×" if "ratio" in item else "",
                f"{item['peak_rss_mb']:.0f}",
                f"{item['client_cpu']:.1f}",
                f"{item['server_cpu']:.1f}" if item.get("server_cpu") is not None else "",
                f"{statistics.median(item['other_cpu_all']):.1f}",
            ]
        )
    if markdown:
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
        for row in body:
            lines.append("| " + " | ".join(cell.replace("\\", "\\\\") for cell in row) + " |")
        return "\n".join(lines)
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    lines.append(
        "  ".join(
            h.ljust(w) if i == 0 else h.rjust(w)
            for i, (h, w) in enumerate(zip(header, widths, strict=False))
        )
    )
    lines.append("  ".join("-" * w for w in widths))
    for row in body:
        lines.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=False))
            )
        )
    return "\n".join(lines)


def engine_version() -> dict[str, Any]:
    """The commit of the code measured, and whether bulk_admin/ differs from it."""

    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=REPO, capture_output=True, text=True, check=True
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "bulk_admin_modified": bool(git("status", "--porcelain", "--", "bulk_admin")),
    }


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    import django
    import import_export
    import openpyxl
    import psycopg

    try:
        import python_calamine

        calamine = getattr(python_calamine, "__version__", "installed")
    except ImportError:
        calamine = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "psycopg": psycopg.__version__,
        "django_import_export": import_export.__version__,
        "openpyxl": openpyxl.__version__,
        "python_calamine": calamine,
    }


def run_benchmark(args: argparse.Namespace) -> int:
    sizes = {
        "main": args.rows,
        "bulk_create": min(args.bulk_create_rows, args.rows),
        "import_export": min(args.import_export_rows, args.rows),
        "xlsx": min(args.xlsx_rows, args.rows),
        "small": min(args.small_rows, args.rows),
    }
    ensure_data(sizes, regenerate=args.regenerate)
    if args.generate_only:
        return 0
    prepare_database()
    methods = plan_methods(sizes)
    if args.methods is None or "bulk_create_mariadb" in args.methods:
        subprocess.run(
            [
                "mysql",
                "-h127.0.0.1",
                "-uroot",
                "-e",
                "CREATE DATABASE IF NOT EXISTS bulk_admin_bench",
            ],
            check=True,
        )
    if args.methods:
        wanted = set(args.methods.split(","))
        unknown = wanted - {method.key for method in methods}
        if unknown:
            raise SystemExit(f"unknown methods: {', '.join(sorted(unknown))}")
        methods = [method for method in methods if method.key in wanted]
    runs: dict[str, list[Run]] = {method.key: [] for method in methods}
    checksums: dict[str, tuple[int, str]] = {}
    with connect() as conn:
        info = {"machine": machine(), "postgresql": server_info(conn), "code": engine_version()}
        print(
            f"{info['machine']['cpu']}, {info['machine']['cores']} cores; "
            f"PostgreSQL {info['postgresql']['server_version']}; code at {info['code']['commit']}"
            + (" (bulk_admin/ modified)" if info["code"]["bulk_admin_modified"] else ""),
            flush=True,
        )
        for repetition in range(args.repeat):
            for method in methods:
                reset_table(conn)
                load, waited = (0.0, 0.0)
                if args.idle_wait:
                    load, waited = wait_for_idle(args.idle_wait, args.idle_threshold)
                run = measure(method)
                run.idle_load, run.waited = load, waited
                if method.table in TABLES:
                    table, _columns, checksum_sql = TABLES[method.table]
                    count = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                    if count != method.rows:
                        raise SystemExit(
                            f"{method.label}: {count} rows in the table, expected {method.rows}"
                        )
                    if repetition == 0:
                        checksums[method.key] = tuple(conn.execute(checksum_sql).fetchone())
                runs[method.key].append(run)
                print(
                    f"[{repetition + 1}/{args.repeat}] {method.label:<28} {method.rows:>9,} rows "
                    f"{run.seconds:8.2f} s  {method.rows / run.seconds:>9,.0f} rows/s  "
                    f"{run.peak_rss_mb:6.0f} MB  (process {run.process_seconds:.2f} s, "
                    f"client CPU {run.client_cpu:.1f} s"
                    + (
                        f", server CPU {run.server_cpu:.1f} s"
                        if run.server_cpu is not None
                        else ""
                    )
                    + f", other CPU {run.other_cpu:.1f} s"
                    + (
                        f"; waited {run.waited:.0f} s for a quiet machine"
                        if run.waited >= 2
                        else ""
                    )
                    + (
                        f"; started with {run.idle_load:.2f} cores busy"
                        if run.idle_load >= args.idle_threshold
                        else ""
                    )
                    + ")",
                    flush=True,
                )
        reset_table(conn)
    floors: dict[str, tuple[int, float]] = {}
    for key, table in (("psql", "books"), ("psql_orders", "orders")):
        if key in runs:
            floors[table] = (sizes["main"], statistics.median(run.seconds for run in runs[key]))
    results = [summarize(method, runs[method.key], floors.get(method.table)) for method in methods]
    by_key = {item["key"]: item for item in results}

    # The same rows must give the same table, whichever way they came in.
    notes = []
    for group in (
        ("psql", "copy", "copy_pg2"),
        ("psql_orders", "orders", "orders_pg2"),
        (
            "csv_small",
            "xlsx",
            "csv_small_pg2",
            "xlsx_pg2",
            "xlsx_openpyxl",
            "xlsx_calamine",
            "xlsx_shared",
            "xlsx_shared_calamine",
            "resource",
        ),
        ("copy_small", "import_export", "import_export_bulk"),
    ):
        present = [key for key in group if key in checksums]
        if len({by_key[key]["rows"] for key in present}) > 1:
            continue  # different row counts (a small run): nothing to compare
        if len(present) > 1 and len({checksums[key] for key in present}) > 1:
            notes.append(
                "data differs between "
                + ", ".join(present)
                + ": "
                + repr({key: checksums[key] for key in present})
            )

    print()
    print(format_table(results))
    print()
    evaluated = goals(by_key)
    for name, value, passed in evaluated:
        print(f"{'PASS' if passed else 'FAIL'}  {name}: {value}")
    for note in notes:
        print("WARNING", note)
    if not notes and checksums:
        print("checksums: each group of methods loading the same rows left identical data")

    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    report = {
        "when": stamp,
        "arguments": vars(args),
        "sizes": sizes,
        **info,
        "results": results,
        "goals": [{"goal": n, "value": v, "passed": p} for n, v, p in evaluated],
        "checksums": {key: list(value) for key, value in checksums.items()},
        "warnings": notes,
    }
    for name in (f"results-{stamp}.json", "results-latest.json"):
        (DATA / name).write_text(json.dumps(report, indent=1, default=str))
    (DATA / "results-latest.md").write_text(format_table(results, markdown=True) + "\n")
    print(f"\nwritten: {DATA / ('results-' + stamp + '.json')} and results-latest.md")
    return 0 if all(passed for _n, _v, passed in evaluated) and not notes else 1


def run_profile(args: argparse.Namespace) -> int:
    """cProfile of the COPY-path import of ``args.profile`` rows, printed and saved."""
    import pstats

    rows = args.profile
    ensure_data(
        {
            "main": args.rows,
            "bulk_create": rows,
            "import_export": rows,
            "xlsx": min(args.xlsx_rows, args.rows),
            "small": rows,
        }
    )
    prepare_database()
    output = DATA / f"profile_copy_{rows}.pstats"
    with connect() as conn:
        reset_table(conn)
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        "copy",
        str(data_path(rows, "csv")),
        "--profile-output",
        str(output),
    ]
    status, wall, usage, out, err = _spawn(command, child_env())
    if status != 0:
        raise SystemExit(err)
    detail = json.loads(out.strip().splitlines()[-1])
    print(
        f"COPY path, {rows:,} rows under cProfile: {detail['seconds']:.2f} s "
        f"(client CPU {usage.ru_utime + usage.ru_stime:.1f} s, "
        f"server CPU {detail.get('server_cpu', 0):.1f} s, "
        f"timings {detail['timings']})"
    )
    stats = pstats.Stats(str(output))
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(40)
    print(f"profile saved: {output} (python -m pstats {output})")
    with connect() as conn:
        reset_table(conn)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rows", type=int, default=None, help="rows of the main file (default 1,000,000)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 50k rows, one repetition, 2k rows for import-export",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="repetitions per method (default 3; the median is reported)",
    )
    parser.add_argument("--bulk-create-rows", type=int, default=200_000)
    parser.add_argument(
        "--import-export-rows", type=int, default=None, help="default 10,000 (2,000 with --quick)"
    )
    parser.add_argument("--xlsx-rows", type=int, default=100_000)
    parser.add_argument("--small-rows", type=int, default=10_000)
    parser.add_argument(
        "--methods",
        help="comma-separated subset of: psql, copy, copy_pg2, psql_orders, orders, "
        "orders_pg2, bulk_create, bulk_create_sqlite, bulk_create_mariadb, import_export, "
        "import_export_bulk, resource, csv_small, xlsx, csv_small_pg2, xlsx_pg2, "
        "xlsx_openpyxl, xlsx_calamine, "
        "xlsx_shared, xlsx_shared_calamine, copy_small",
    )
    parser.add_argument(
        "--idle-wait",
        type=float,
        default=None,
        metavar="SECONDS",
        help="before each run, wait up to SECONDS (default 600, 30 with --quick) for the "
        "machine to be quiet; 0: don't",
    )
    parser.add_argument(
        "--idle-threshold",
        type=float,
        default=0.3,
        metavar="CORES",
        help="quiet means fewer than CORES cores busy (default 0.3)",
    )
    parser.add_argument("--regenerate", action="store_true", help="write the data files again")
    parser.add_argument(
        "--generate-only", action="store_true", help="write the data files and stop"
    )
    parser.add_argument(
        "--profile",
        type=int,
        metavar="ROWS",
        help="profile the COPY path on ROWS rows instead of benchmarking",
    )
    parser.add_argument("--child", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--profile-output", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child, profile=args.profile_output)
        return 0
    if args.rows is None:
        args.rows = 50_000 if args.quick else 1_000_000
    if args.repeat is None:
        args.repeat = 1 if args.quick else 3
    if args.idle_wait is None:
        args.idle_wait = 30 if args.quick else 600
    if args.import_export_rows is None:
        args.import_export_rows = 2_000 if args.quick else 10_000
    if args.profile:
        return run_profile(args)
    return run_benchmark(args)


if __name__ == "__main__":
    sys.exit(main())
