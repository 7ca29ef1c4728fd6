"""``manage.py bulk_import``: every point of the command's contract (issue 2).

Most tests run the command in-process (the ``bulk_import`` fixture of conftest.py); a few
run ``python -m django bulk_import`` as a real subprocess to check the exit status and the
single stderr line from outside.
"""

import datetime
import json
import os
import sqlite3
import subprocess
import sys
import zipfile
from contextlib import closing
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.testapp.models import Author, Book, Event, Review

ROOT = Path(__file__).resolve().parent.parent
JSON_KEYS = {
    "model",
    "dry_run",
    "method",
    "rows",
    "created",
    "updated",
    "skipped",
    "invalid",
    "errors",
    "mapping",
}
ERROR_KEYS = {"row", "column", "field", "value", "message"}
PAST = datetime.datetime(2020, 1, 1, 12, 0, tzinfo=datetime.timezone.utc)


def expected_method():
    return "copy" if connection.vendor == "postgresql" else "bulk_create"


def snapshot(model):
    """Every row of ``model``'s table, every column, in primary key order."""
    return list(model.objects.order_by("pk").values())


def check_report(data):
    """The shape every ``--json`` report has, whatever happened."""
    assert set(data) == JSON_KEYS
    written = data["created"] + data["updated"] + data["skipped"]
    if getattr(data, "exit_code", None) == 1 and not data["dry_run"]:
        # Invalid rows stopped a real run: nothing was written, and the counts say so.
        assert written == 0, data
        assert data["invalid"] > 0
    else:
        assert data["rows"] == written + data["invalid"]
    assert isinstance(data["dry_run"], bool)
    assert data["method"] == expected_method()
    for error in data["errors"]:
        assert set(error) == ERROR_KEYS
        assert error["message"]
    return data


def counts(data):
    return {key: data[key] for key in ("rows", "created", "updated", "skipped", "invalid")}


def assert_one_error_line(run, *fragments):
    """Exit 2: exactly one line on stderr, no traceback, naming the problem."""
    assert run.code == 2, (run.code, run.stdout, run.stderr)
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert "Traceback" not in run.stderr
    assert run.stdout == ""
    for fragment in fragments:
        assert fragment.lower() in lines[0].lower(), lines[0]
    return lines[0]


@pytest.fixture
def existing_book(db):
    book = Book.objects.create(isbn="111", title="Old title", pages=100, notes="keep me")
    Book.objects.filter(pk=book.pk).update(created=PAST, modified=PAST)
    book.refresh_from_db()
    return book


class CommandRunner:
    """Run ``bulk_import`` in-process: ``cmd(...)`` adds ``--json``, ``cmd.text(...)`` doesn't."""

    def __init__(self, run):
        self.text = run

    def __call__(self, *args):
        return self.text(*args, "--json")


@pytest.fixture
def cmd(bulk_import):
    return CommandRunner(bulk_import)


# --- a plain import, and the JSON report ---------------------------------------------------------


@pytest.mark.django_db
def test_import_creates_rows_and_reports_json(cmd, make_csv):
    path = make_csv(
        [
            ["isbn", "title", "price", "published"],
            ["1001", "Dune", "9.99", "1965-08-01"],
            ["1002", "Emma", "", ""],
        ]
    )
    run = cmd("testapp.Book", path)
    assert run.code == 0, run.stderr
    data = check_report(run.json)
    assert data == {
        "model": "testapp.Book",
        "dry_run": False,
        "method": expected_method(),
        "rows": 2,
        "created": 2,
        "updated": 0,
        "skipped": 0,
        "invalid": 0,
        "errors": [],
        "mapping": {"isbn": "isbn", "title": "title", "price": "price", "published": "published"},
    }
    dune = Book.objects.get(isbn="1001")
    assert dune.title == "Dune"
    assert dune.price == Decimal("9.99")
    assert dune.published == datetime.date(1965, 8, 1)
    emma = Book.objects.get(isbn="1002")
    assert emma.price is None and emma.published is None
    # Defaults and auto_now(_add) are filled on every path.
    assert emma.in_stock is True and emma.uid is not None
    assert emma.created is not None and emma.modified is not None
    assert dune.uid != emma.uid


@pytest.mark.django_db
def test_json_output_is_exactly_one_object(cmd, make_csv):
    path = make_csv([["isbn", "title"], ["1", "A"], ["2", ""]])
    run = cmd("testapp.Book", path)
    assert run.code == 1
    # json.loads refuses anything but one JSON value; it must be an object.
    data = json.loads(run.stdout)
    assert isinstance(data, dict)
    assert len(run.stdout.strip().splitlines()) == 1
    check_report(run.json)


@pytest.mark.django_db
def test_text_output_without_json(cmd, make_csv):
    path = make_csv([["isbn", "title"], ["1", "A"]])
    run = cmd.text("testapp.Book", path)
    assert run.code == 0
    assert "1 created" in run.stdout
    with pytest.raises(json.JSONDecodeError):
        json.loads(run.stdout)


# --- exit status 0 and 1 -------------------------------------------------------------------------


@pytest.mark.django_db
def test_invalid_rows_exit_1_and_leave_the_table_untouched(cmd, make_csv, existing_book):
    before = snapshot(Book)
    path = make_csv(
        [
            ["isbn", "title", "pages"],
            ["2001", "Good", "10"],
            ["2002", "Bad pages", "many"],
            ["2003", "Good too", "30"],
        ]
    )
    run = cmd("testapp.Book", path)
    assert run.code == 1
    data = check_report(run.json)
    # Nothing was written, and the counts say so (issue 7): not "created": 2.
    assert counts(data) == {"rows": 3, "created": 0, "updated": 0, "skipped": 0, "invalid": 1}
    assert data["errors"] == [
        {
            "row": 3,
            "column": "pages",
            "field": "pages",
            "value": "many",
            "message": data["errors"][0]["message"],
        }
    ]
    assert "must be an integer" in data["errors"][0]["message"]
    assert snapshot(Book) == before


@pytest.mark.django_db
def test_invalid_rows_in_text_mode_go_to_stderr(cmd, make_csv):
    path = make_csv([["isbn", "title", "pages"], ["1", "A", "x"]])
    run = cmd.text("testapp.Book", path)
    assert run.code == 1
    assert "row 2, column pages" in run.stderr
    assert Book.objects.count() == 0


@pytest.mark.django_db
def test_skip_invalid_writes_the_valid_rows_and_exits_0(cmd, make_csv):
    path = make_csv(
        [
            ["isbn", "title", "pages"],
            ["2001", "Good", "10"],
            ["2002", "Bad pages", "-5"],
            ["2003", "", "30"],
            ["2004", "Good too", "40"],
        ]
    )
    run = cmd("testapp.Book", path, "--skip-invalid")
    assert run.code == 0, run.stderr
    data = check_report(run.json)
    assert counts(data) == {"rows": 4, "created": 2, "updated": 0, "skipped": 0, "invalid": 2}
    assert [(e["row"], e["column"]) for e in data["errors"]] == [(3, "pages"), (4, "title")]
    assert sorted(Book.objects.values_list("isbn", flat=True)) == ["2001", "2004"]


@pytest.mark.django_db
def test_dry_run_without_invalid_rows_exits_0_and_writes_nothing(cmd, make_csv, existing_book):
    before = snapshot(Book)
    path = make_csv([["isbn", "title"], ["3001", "A"], ["3002", "B"]])
    run = cmd("testapp.Book", path, "--dry-run")
    assert run.code == 0, run.stderr
    data = check_report(run.json)
    assert data["dry_run"] is True
    assert counts(data) == {"rows": 2, "created": 2, "updated": 0, "skipped": 0, "invalid": 0}
    assert snapshot(Book) == before


@pytest.mark.django_db
def test_dry_run_with_invalid_rows_exits_1(cmd, make_csv):
    path = make_csv([["isbn", "title"], ["3001", "A"], ["3002", ""]])
    run = cmd("testapp.Book", path, "--dry-run")
    assert run.code == 1
    assert check_report(run.json)["invalid"] == 1
    assert Book.objects.count() == 0


@pytest.mark.django_db
def test_dry_run_with_skip_invalid_exits_0(cmd, make_csv):
    path = make_csv([["isbn", "title"], ["3001", "A"], ["3002", ""]])
    run = cmd("testapp.Book", path, "--dry-run", "--skip-invalid")
    assert run.code == 0
    assert counts(check_report(run.json))["invalid"] == 1
    assert Book.objects.count() == 0


# --- exit status 2: cannot run at all ------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "model, fragment",
    [
        ("testapp.Nope", "testapp.Nope"),
        ("Book", "app_label.ModelName"),
        ("nope.Book", "nope.Book"),
        ("testapp.Book.extra", "testapp.Book.extra"),
    ],
)
def test_unknown_model_exits_2(cmd, make_csv, model, fragment):
    path = make_csv([["isbn", "title"], ["1", "A"]])
    assert_one_error_line(cmd(model, path), "unknown model", fragment)


@pytest.mark.django_db
def test_missing_file_exits_2(cmd, tmp_path):
    missing = tmp_path / "nowhere.csv"
    assert_one_error_line(cmd("testapp.Book", missing), str(missing))


@pytest.mark.django_db
def test_directory_exits_2(cmd, tmp_path):
    assert_one_error_line(cmd("testapp.Book", tmp_path), "directory")


@pytest.mark.django_db
@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads every file")
def test_unreadable_file_exits_2(cmd, make_csv):
    path = make_csv([["isbn", "title"], ["1", "A"]])
    path.chmod(0)
    try:
        assert_one_error_line(cmd("testapp.Book", path), "cannot be opened")
    finally:
        path.chmod(0o644)


@pytest.mark.django_db
def test_image_named_csv_exits_2(cmd, make_csv):
    png = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
    path = make_csv(None, name="photo.csv", raw=png)
    assert_one_error_line(cmd("testapp.Book", path), "PNG")


@pytest.mark.django_db
def test_empty_file_exits_2(cmd, make_csv):
    path = make_csv(None, name="empty.csv", raw=b"")
    assert_one_error_line(cmd("testapp.Book", path), "empty")


@pytest.mark.django_db
def test_binary_file_named_csv_exits_2(cmd, make_csv):
    # A file of control characters is refused at once; a NUL in one cell is a row error
    # (tests/test_sources.py).
    path = make_csv(None, name="data.csv", raw=b"isbn,title\n" + bytes(range(32)) * 20 + b"\n")
    assert_one_error_line(cmd("testapp.Book", path), "binary")


def _ods_bytes(tmp_path):
    path = tmp_path / "build.ods"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<office:document-content/>")
        archive.writestr("META-INF/manifest.xml", "<manifest/>")
    return path.read_bytes()


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["sheet.ods", "sheet.xlsx", "sheet.csv"])
def test_ods_exits_2_as_unsupported(cmd, make_csv, tmp_path, name):
    path = make_csv(None, name=name, raw=_ods_bytes(tmp_path))
    assert_one_error_line(cmd("testapp.Book", path), "not supported")


@pytest.mark.django_db
def test_legacy_xls_exits_2(cmd, make_csv):
    path = make_csv(None, name="old.xls", raw=b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512)
    assert_one_error_line(cmd("testapp.Book", path), ".xls")


@pytest.mark.django_db
def test_damaged_xlsx_exits_2(cmd, make_csv):
    path = make_csv(None, name="broken.xlsx", raw=b"PK\x03\x04" + b"garbage" * 100)
    assert_one_error_line(cmd("testapp.Book", path), "XLSX")


@pytest.mark.django_db
def test_unknown_sheet_exits_2(cmd, make_xlsx):
    path = make_xlsx([["isbn", "title"], ["1", "A"]], sheet="Books")
    line = assert_one_error_line(cmd("testapp.Book", path, "--sheet", "Nope"), "Nope")
    assert "Books" in line  # the sheets there are
    assert Book.objects.count() == 0


@pytest.mark.django_db
def test_unknown_encoding_exits_2(cmd, make_csv):
    path = make_csv([["isbn", "title"], ["1", "A"]])
    assert_one_error_line(cmd("testapp.Book", path, "--encoding", "klingon-8"), "klingon-8")


@pytest.mark.django_db
def test_wrong_encoding_exits_2(cmd, make_csv):
    path = make_csv([["isbn", "title"], ["1", "Café"]], encoding="cp1252")
    assert_one_error_line(cmd("testapp.Book", path, "--encoding", "utf-8"), "utf-8")
    assert Book.objects.count() == 0


@pytest.mark.django_db
def test_encoding_error_after_the_sample_exits_2_and_writes_nothing(cmd, make_csv, settings):
    # The bad byte stands far beyond what is read to sniff the file: the error comes after
    # earlier chunks were written, and must still end in one line and an untouched table.
    settings.BULK_ADMIN_CHUNK_SIZE = 500
    lines = ["isbn,title"] + ["%d,Title %d %s" % (n, n, "x" * 40) for n in range(3_000)]
    raw = ("\n".join(lines) + "\n").encode() + b"99999,Caf\xe9\n"
    assert len(raw) > 2 * 64 * 1024
    path = make_csv(None, raw=raw)
    assert_one_error_line(cmd("testapp.Book", path, "--encoding", "utf-8"), "row 3002")
    assert Book.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "options, fragment",
    [
        (["--on-conflict", "bogus"], "bogus"),
        (["--batch-size", "0"], "batch-size"),
        (["--batch-size", "-3"], "batch-size"),
        (["--batch-size", "many"], "many"),
        (["--format", "ods"], "ods"),
        (["--delimiter", ";;"], "delimiter"),
        (["--database", "nowhere"], "nowhere"),
        (["--sheet", "Sheet1"], "sheet"),
        (["--map", "no equals sign"], "no equals sign"),
        (["--key", "nope"], "nope"),
        (["--no-such-option"], "--no-such-option"),
    ],
)
def test_bad_option_exits_2(cmd, make_csv, options, fragment):
    path = make_csv([["isbn", "title"], ["1", "A"]])
    assert_one_error_line(cmd("testapp.Book", path, *options), fragment)
    assert Book.objects.count() == 0


@pytest.mark.django_db
def test_missing_arguments_exit_2(cmd):
    run = cmd.text("testapp.Book")
    assert_one_error_line(run)


@pytest.mark.django_db
def test_mapping_to_an_unknown_field_exits_2(cmd, make_csv):
    path = make_csv([["isbn", "title", "Colour"], ["1", "A", "red"]])
    assert_one_error_line(
        cmd(
            "testapp.Book",
            path,
            "--map",
            "isbn=isbn",
            "--map",
            "title=title",
            "--map",
            "Colour=colour",
        ),
        "colour",
    )


@pytest.mark.django_db
def test_mapping_an_unknown_header_exits_2(cmd, make_csv):
    path = make_csv([["isbn", "title"], ["1", "A"]])
    assert_one_error_line(
        cmd("testapp.Book", path, "--map", "isbn=isbn", "--map", "Titel=title"), "Titel"
    )


@pytest.mark.django_db
def test_unknown_related_field_exits_2(cmd, make_csv):
    path = make_csv([["isbn", "title", "writer"], ["1", "A", "x"]])
    assert_one_error_line(
        cmd(
            "testapp.Book",
            path,
            "--map",
            "isbn=isbn",
            "--map",
            "title=title",
            "--map",
            "writer=author__nope",
        ),
        "nope",
    )


@pytest.mark.django_db
def test_required_field_unmapped_exits_2(cmd, make_csv):
    path = make_csv([["isbn", "pages"], ["1", "3"]])
    assert_one_error_line(cmd("testapp.Book", path), "title")
    assert Book.objects.count() == 0


@pytest.mark.django_db
def test_required_field_unmapped_exits_2_even_when_every_row_is_an_update(
    cmd, make_csv, existing_book
):
    before = snapshot(Book)
    path = make_csv([["isbn", "pages"], [existing_book.isbn, "250"]])
    run = cmd("testapp.Book", path, "--on-conflict", "update", "--key", "isbn")
    assert_one_error_line(run, "title")
    assert snapshot(Book) == before


@pytest.mark.django_db
def test_unmapped_key_field_exits_2(cmd, make_csv):
    path = make_csv([["isbn", "title"], ["1", "A"]])
    assert_one_error_line(cmd("testapp.Book", path, "--key", "pages"), "pages")


@pytest.mark.django_db
def test_update_by_a_key_that_is_not_unique_exits_2(cmd, make_csv):
    path = make_csv([["isbn", "title"], ["1", "A"]])
    assert_one_error_line(
        cmd("testapp.Book", path, "--on-conflict", "update", "--key", "title"), "unique"
    )


@pytest.mark.django_db
def test_value_the_database_refuses_exits_2_and_writes_nothing(cmd, make_csv):
    Book.objects.create(isbn="b1", title="B1")
    before = snapshot(Review)
    # SmallIntegerField takes -1; the CHECK constraint stars_not_negative does not.
    path = make_csv([["book", "reviewer", "stars"], ["b1", "ann", "4"], ["b1", "bob", "-1"]])
    assert_one_error_line(
        cmd("testapp.Review", path, "--on-conflict", "skip"), "nothing was written"
    )
    assert snapshot(Review) == before


# --- row numbers ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_row_numbers_count_blank_rows_and_multiline_records_as_one(cmd, make_csv):
    raw = (
        "isbn,title,pages\n"  # row 1
        "1,One,1\n"  # row 2
        "\n"  # row 3: blank, keeps its number, not counted
        ",,\n"  # row 4: blank too
        '2,"Two\nlines, and a comma",2\n'  # row 5: one record over two lines
        "3,Three,three\n"  # row 6: invalid
        '4,"Four\r\nstill four",x\n'  # row 7: invalid, multi-line
        "5,Five,5\n"  # row 8
        "\n\n"  # trailing blank rows
    )
    path = make_csv(None, raw=raw)
    run = cmd("testapp.Book", path)
    assert run.code == 1
    data = check_report(run.json)
    assert counts(data) == {"rows": 5, "created": 0, "updated": 0, "skipped": 0, "invalid": 2}
    assert [(e["row"], e["column"], e["value"]) for e in data["errors"]] == [
        (6, "pages", "three"),
        (7, "pages", "x"),
    ]


@pytest.mark.django_db
def test_row_numbers_of_an_xlsx_sheet(cmd, make_xlsx):
    path = make_xlsx(
        [
            ["isbn", "title", "pages"],
            ["1", "One", 1],
            [None, None, None],
            ["2", "Two", "two"],
            [],
            ["3", "Three", 3.5],
        ]
    )
    run = cmd("testapp.Book", path)
    assert run.code == 1
    data = check_report(run.json)
    assert counts(data) == {"rows": 3, "created": 0, "updated": 0, "skipped": 0, "invalid": 2}
    assert [(e["row"], e["value"]) for e in data["errors"]] == [(4, "two"), (6, "3.5")]


@pytest.mark.django_db
def test_errors_carry_row_column_field_value_message(cmd, make_csv, authors):
    path = make_csv(
        [
            ["ISBN", "Title", "Author Name", "Price"],
            ["1", "A", "Nobody", "1.5"],
            ["2", "", "Terry Pratchett", "cheap"],
        ]
    )
    run = cmd("testapp.Book", path, "--skip-invalid")
    data = check_report(run.json)
    errors = {(e["row"], e["column"]): e for e in data["errors"]}
    assert errors[(2, "Author Name")]["field"] == "author__name"
    assert errors[(2, "Author Name")]["value"] == "Nobody"
    assert "Nobody" in errors[(2, "Author Name")]["message"]
    assert errors[(3, "Title")] == {
        "row": 3,
        "column": "Title",
        "field": "title",
        "value": "",
        "message": errors[(3, "Title")]["message"],
    }
    assert errors[(3, "Price")]["field"] == "price"
    assert errors[(3, "Price")]["value"] == "cheap"
    # Two errors in one row make one invalid row.
    assert counts(data) == {"rows": 2, "created": 0, "updated": 0, "skipped": 0, "invalid": 2}


# --- mapping -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_every_repeated_map_counts(cmd, make_csv):
    path = make_csv(
        [
            ["Code", "Name of the book", "Number of pages", "isbn"],
            ["1", "A", "12", "ignored"],
        ]
    )
    run = cmd(
        "testapp.Book",
        path,
        "--map",
        "Code=isbn",
        "--map",
        "Name of the book=title",
        "--map",
        "Number of pages=pages",
    )
    assert run.code == 0, run.stderr
    data = check_report(run.json)
    assert data["mapping"] == {
        "Code": "isbn",
        "Name of the book": "title",
        "Number of pages": "pages",
    }
    book = Book.objects.get()
    assert (book.isbn, book.title, book.pages) == ("1", "A", 12)


@pytest.mark.django_db
def test_map_header_containing_an_equals_sign(cmd, make_csv):
    path = make_csv([["isbn", "a=b"], ["1", "A"]])
    run = cmd("testapp.Book", path, "--map", "isbn=isbn", "--map", "a=b=title")
    assert run.code == 0, run.stderr
    assert run.json["mapping"] == {"isbn": "isbn", "a=b": "title"}


@pytest.mark.django_db
def test_automatic_mapping_ignores_case_spaces_underscores_punctuation(cmd, make_csv):
    path = make_csv(
        [
            ["I.S.B.N.", "  TITLE ", "Publication-Date", "in stock", "Page_s", "Unrelated column"],
            ["42", "A", "2001-02-03", "no", "7", "whatever"],
        ]
    )
    run = cmd("testapp.Book", path)
    assert run.code == 0, run.stderr
    data = check_report(run.json)
    assert data["mapping"] == {
        "I.S.B.N.": "isbn",
        "TITLE": "title",
        "Publication-Date": "published",
        "in stock": "in_stock",
        "Page_s": "pages",
    }
    book = Book.objects.get()
    assert (book.isbn, book.title, book.published, book.in_stock, book.pages) == (
        "42",
        "A",
        datetime.date(2001, 2, 3),
        False,
        7,
    )


@pytest.mark.django_db
def test_foreign_key_by_a_field_of_the_related_model(cmd, make_csv, authors):
    path = make_csv(
        [
            ["isbn", "title", "writer"],
            ["1", "A", "Terry Pratchett"],
            ["2", "B", "Octavia E. Butler"],
            ["3", "C", ""],
        ]
    )
    run = cmd(
        "testapp.Book",
        path,
        "--map",
        "isbn=isbn",
        "--map",
        "title=title",
        "--map",
        "writer=author__name",
    )
    assert run.code == 0, run.stderr
    assert run.json["mapping"]["writer"] == "author__name"
    by_isbn = {book.isbn: book.author_id for book in Book.objects.all()}
    assert by_isbn == {"1": authors[1].pk, "2": authors[2].pk, "3": None}


@pytest.mark.django_db
def test_bare_foreign_key_means_the_related_primary_key(cmd, make_csv, authors):
    path = make_csv(
        [["isbn", "title", "author"], ["1", "A", str(authors[0].pk)], ["2", "B", "999999"]]
    )
    run = cmd("testapp.Book", path, "--skip-invalid")
    data = check_report(run.json)
    assert data["mapping"]["author"] == "author"
    assert [(e["row"], e["column"], e["value"]) for e in data["errors"]] == [
        (3, "author", "999999")
    ]
    assert Book.objects.get().author == authors[0]


# --- conflicts -----------------------------------------------------------------------------------

CONFLICT_ROWS = [
    ["isbn", "title"],
    ["111", "Existing again"],  # row 2: the table has it
    ["222", "First 222"],  # row 3
    ["222", "Second 222"],  # row 4: repeats row 3
    ["333", "Only 333"],  # row 5
    ["222", "Third 222"],  # row 6: repeats row 3 again
]


@pytest.mark.django_db
def test_on_conflict_error_is_the_default(cmd, make_csv, existing_book):
    before = snapshot(Book)
    run = cmd("testapp.Book", make_csv(CONFLICT_ROWS))
    assert run.code == 1
    data = check_report(run.json)
    assert counts(data) == {"rows": 5, "created": 0, "updated": 0, "skipped": 0, "invalid": 3}
    errors = {e["row"]: e for e in data["errors"]}
    assert sorted(errors) == [2, 4, 6]
    assert "already exists" in errors[2]["message"]
    assert "row 3" in errors[4]["message"] and "row 3" in errors[6]["message"]
    assert errors[4]["column"] == "isbn" and errors[4]["value"] == "222"
    assert snapshot(Book) == before


@pytest.mark.django_db
def test_on_conflict_error_with_skip_invalid_writes_the_first_occurrence(
    cmd, make_csv, existing_book
):
    run = cmd("testapp.Book", make_csv(CONFLICT_ROWS), "--skip-invalid")
    assert run.code == 0
    assert counts(check_report(run.json))["created"] == 2
    titles = dict(Book.objects.values_list("isbn", "title"))
    assert titles == {"111": "Old title", "222": "First 222", "333": "Only 333"}


@pytest.mark.django_db
def test_on_conflict_skip_keeps_the_first_occurrence(cmd, make_csv, existing_book):
    run = cmd("testapp.Book", make_csv(CONFLICT_ROWS), "--on-conflict", "skip")
    assert run.code == 0, run.stderr
    data = check_report(run.json)
    assert counts(data) == {"rows": 5, "created": 2, "updated": 0, "skipped": 3, "invalid": 0}
    assert data["errors"] == []
    titles = dict(Book.objects.values_list("isbn", "title"))
    assert titles == {"111": "Old title", "222": "First 222", "333": "Only 333"}
    assert snapshot(Book)[0] == _as_values(existing_book)


@pytest.mark.django_db
def test_on_conflict_update_keeps_the_last_occurrence_and_unmapped_fields(
    cmd, make_csv, existing_book
):
    run = cmd("testapp.Book", make_csv(CONFLICT_ROWS), "--on-conflict", "update")
    assert run.code == 0, run.stderr
    data = check_report(run.json)
    assert counts(data) == {"rows": 5, "created": 2, "updated": 3, "skipped": 0, "invalid": 0}
    titles = dict(Book.objects.values_list("isbn", "title"))
    assert titles == {"111": "Existing again", "222": "Third 222", "333": "Only 333"}
    assert Book.objects.count() == 3
    updated = Book.objects.get(isbn="111")
    assert updated.pk == existing_book.pk
    # Unmapped fields are kept; auto_now is refreshed, auto_now_add kept.
    assert (updated.pages, updated.notes, updated.uid) == (100, "keep me", existing_book.uid)
    assert updated.created == PAST
    assert updated.modified > PAST
    assert updated.modified >= timezone.now() - datetime.timedelta(minutes=5)


@pytest.mark.django_db
def test_on_conflict_update_sets_empty_cells_of_mapped_columns(cmd, make_csv, existing_book):
    path = make_csv([["isbn", "title", "pages"], ["111", "New", ""]])
    run = cmd("testapp.Book", path, "--on-conflict", "update")
    assert run.code == 0, run.stderr
    book = Book.objects.get()
    assert (book.title, book.pages, book.notes) == ("New", None, "keep me")


@pytest.mark.django_db
def test_key_option_single_field(cmd, make_csv, existing_book):
    path = make_csv([["isbn", "title"], ["111", "Updated by isbn"]])
    run = cmd("testapp.Book", path, "--on-conflict", "update", "--key", "isbn")
    assert run.code == 0, run.stderr
    assert counts(run.json) == {"rows": 1, "created": 0, "updated": 1, "skipped": 0, "invalid": 0}
    assert Book.objects.get().title == "Updated by isbn"


@pytest.mark.django_db
def test_key_option_on_a_non_unique_field_for_skip(cmd, make_csv, existing_book):
    path = make_csv([["isbn", "title"], ["500", "Old title"], ["501", "Fresh"], ["502", "Fresh"]])
    run = cmd("testapp.Book", path, "--on-conflict", "skip", "--key", "title")
    assert run.code == 0, run.stderr
    assert counts(run.json) == {"rows": 3, "created": 1, "updated": 0, "skipped": 2, "invalid": 0}
    assert sorted(Book.objects.values_list("isbn", flat=True)) == ["111", "501"]


def _reviews_setup():
    for isbn in ("9780000000001", "9780000000002"):
        Book.objects.create(isbn=isbn, title="Book " + isbn[-1])
    Review.objects.create(book_id="9780000000001", reviewer="ann", stars=3, text="kept text")


@pytest.mark.django_db
def test_composite_key_by_repeated_key_option(cmd, make_csv):
    _reviews_setup()
    path = make_csv(
        [
            ["book", "reviewer", "stars"],
            ["9780000000001", "ann", "5"],  # updates the existing review
            ["9780000000001", "bob", "4"],  # new: same book, other reviewer
            ["9780000000002", "ann", "2"],  # new: same reviewer, other book
            ["9780000000002", "ann", "1"],  # repeats the row above: last wins
        ]
    )
    run = cmd(
        "testapp.Review", path, "--on-conflict", "update", "--key", "book", "--key", "reviewer"
    )
    assert run.code == 0, run.stderr
    data = check_report(run.json)
    assert counts(data) == {"rows": 4, "created": 2, "updated": 2, "skipped": 0, "invalid": 0}
    reviews = {(r.book_id, r.reviewer): (r.stars, r.text) for r in Review.objects.all()}
    assert reviews == {
        ("9780000000001", "ann"): (5, "kept text"),
        ("9780000000001", "bob"): (4, ""),
        ("9780000000002", "ann"): (1, ""),
    }


@pytest.mark.django_db
def test_composite_key_is_found_without_key_option(cmd, make_csv):
    _reviews_setup()
    path = make_csv(
        [
            ["book", "reviewer", "stars"],
            ["9780000000001", "ann", "5"],
            ["9780000000001", "bob", "4"],
            ["9780000000001", "bob", "2"],
        ]
    )
    run = cmd("testapp.Review", path)
    assert run.code == 1
    data = check_report(run.json)
    assert [e["row"] for e in data["errors"]] == [2, 4]
    run = cmd("testapp.Review", path, "--on-conflict", "skip")
    assert run.code == 0
    assert counts(run.json) == {"rows": 3, "created": 1, "updated": 0, "skipped": 2, "invalid": 0}
    reviews = {(r.book_id, r.reviewer): r.stars for r in Review.objects.all()}
    assert reviews == {("9780000000001", "ann"): 3, ("9780000000001", "bob"): 4}


@pytest.mark.django_db
def test_composite_key_with_one_key_field_unmapped_exits_2(cmd, make_csv):
    path = make_csv([["book", "stars", "text"], ["9780000000001", "5", "x"]])
    # The required reviewer is missing, and so is the key field.
    run = cmd(
        "testapp.Review",
        path,
        "--map",
        "book=book",
        "--map",
        "stars=stars",
        "--key",
        "book",
        "--key",
        "reviewer",
    )
    assert_one_error_line(run, "reviewer")


@pytest.mark.django_db
def test_model_without_a_key_gets_every_row(cmd, make_csv):
    rows = [
        ["name", "starts"],
        ["Meetup", "2024-05-01 18:00"],
        ["Meetup", "2024-05-01 18:00"],
        ["Meetup", "2024-05-01 18:00"],
    ]
    Event.objects.create(
        name="Meetup", starts=datetime.datetime(2024, 5, 1, 16, tzinfo=datetime.timezone.utc)
    )
    for policy in ("error", "skip", "update"):
        run = cmd("testapp.Event", make_csv(rows), "--on-conflict", policy)
        assert run.code == 0, (policy, run.stderr)
        assert counts(run.json) == {
            "rows": 3,
            "created": 3,
            "updated": 0,
            "skipped": 0,
            "invalid": 0,
        }
    assert Event.objects.count() == 10
    # Naive datetimes are in the current time zone (Europe/Paris: UTC+2 in May).
    assert set(Event.objects.values_list("starts", flat=True)) == {
        datetime.datetime(2024, 5, 1, 16, tzinfo=datetime.timezone.utc)
    }


@pytest.mark.django_db
def test_explicit_primary_key_is_a_key(cmd, make_csv):
    author = Author.objects.create(name="Someone")
    path = make_csv([["id", "name"], [str(author.pk), "Renamed"], [str(author.pk + 10), "New"]])
    run = cmd("testapp.Author", path, "--on-conflict", "update")
    assert run.code == 0, run.stderr
    assert counts(run.json) == {"rows": 2, "created": 1, "updated": 1, "skipped": 0, "invalid": 0}
    assert dict(Author.objects.values_list("pk", "name")) == {
        author.pk: "Renamed",
        author.pk + 10: "New",
    }


# --- dry run counts equal the real run's ---------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("policy", ["error", "skip", "update"])
@pytest.mark.parametrize("skip_invalid", [False, True])
def test_dry_run_counts_equal_the_real_run(cmd, make_csv, existing_book, policy, skip_invalid):
    path = make_csv(
        [
            ["isbn", "title", "price"],
            ["111", "Existing", "1"],
            ["222", "New", "2"],
            ["222", "New again", "3"],
            ["333", "Bad price", "cheap"],
            ["444", "Fine", ""],
            ["", "No isbn", "4"],
        ]
    )
    extra = ["--on-conflict", policy] + (["--skip-invalid"] if skip_invalid else [])
    before = snapshot(Book)
    dry = cmd("testapp.Book", path, "--dry-run", *extra)
    assert snapshot(Book) == before
    real = cmd("testapp.Book", path, *extra)
    dry_data, real_data = check_report(dry.json), check_report(real.json)
    assert dry_data["dry_run"] is True and real_data["dry_run"] is False
    dry_data.pop("dry_run")
    real_data.pop("dry_run")
    assert dry.code == real.code == (0 if skip_invalid else 1)
    if not skip_invalid:
        # The real run wrote nothing and says so; the dry run says what a real run would
        # write once the invalid rows are fixed or skipped (issue 7).
        assert (real_data["created"], real_data["updated"], real_data["skipped"]) == (0, 0, 0)
        for key in ("created", "updated", "skipped"):
            real_data[key] = dry_data[key]
    assert dry_data == real_data
    if skip_invalid:
        assert Book.objects.count() == 1 + real_data["created"]
    else:
        assert snapshot(Book) == before


# --- reading options -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_sheet_by_name(cmd, make_xlsx):
    path = make_xlsx(
        [["isbn", "title"], ["1", "From the first sheet"]],
        sheet="Summary",
        extra_sheets={"Books": [["ISBN", "Title", "Pages"], [9781, "Typed number", 320.0]]},
    )
    run = cmd("testapp.Book", path, "--sheet", "Books")
    assert run.code == 0, run.stderr
    assert run.json["mapping"] == {"ISBN": "isbn", "Title": "title", "Pages": "pages"}
    book = Book.objects.get()
    assert (book.isbn, book.title, book.pages) == ("9781", "Typed number", 320)


@pytest.mark.django_db
def test_first_sheet_by_default(cmd, make_xlsx):
    path = make_xlsx(
        [["isbn", "title"], ["1", "From the first sheet"]],
        sheet="Summary",
        extra_sheets={"Books": [["isbn", "title"], ["2", "Second"]]},
    )
    run = cmd("testapp.Book", path)
    assert run.code == 0, run.stderr
    assert Book.objects.get().title == "From the first sheet"


@pytest.mark.django_db
def test_encoding_cp1252(cmd, make_csv):
    path = make_csv([["isbn", "title"], ["1", "Café – 5 €"]], encoding="cp1252")
    run = cmd("testapp.Book", path, "--encoding", "cp1252")
    assert run.code == 0, run.stderr
    assert Book.objects.get().title == "Café – 5 €"


@pytest.mark.django_db
def test_cp1252_is_detected(cmd, make_csv):
    path = make_csv([["isbn", "title"], ["1", "Café – 5 €"]], encoding="cp1252")
    run = cmd("testapp.Book", path)
    assert run.code == 0, run.stderr
    assert Book.objects.get().title == "Café – 5 €"


@pytest.mark.django_db
def test_delimiter_option(cmd, make_csv):
    path = make_csv(
        [["isbn", "title", "price"], ["1", "Hello, world", "1,5"], ["2", "A|B", "2"]],
        delimiter=";",
    )
    run = cmd("testapp.Book", path, "--delimiter", ";", "--skip-invalid")
    data = check_report(run.json)
    assert data["mapping"] == {"isbn": "isbn", "title": "title", "price": "price"}
    assert [(e["row"], e["value"]) for e in data["errors"]] == [(2, "1,5")]
    assert Book.objects.get().title == "A|B"


@pytest.mark.django_db
def test_wrong_delimiter_option_finds_no_columns(cmd, make_csv):
    path = make_csv([["isbn", "title"], ["1", "A"]], delimiter=";")
    # With "," the single header "isbn;title" maps to nothing: the required fields are missing.
    assert_one_error_line(cmd("testapp.Book", path, "--delimiter", ","), "isbn")


@pytest.mark.django_db
def test_format_option_reads_an_xlsx_with_another_name(cmd, make_xlsx):
    path = make_xlsx([["isbn", "title"], ["1", "A"]], name="export.dat")
    run = cmd("testapp.Book", path, "--format", "xlsx")
    assert run.code == 0, run.stderr
    assert Book.objects.get().title == "A"


@pytest.mark.django_db
def test_batch_size_is_honoured(cmd, make_csv):
    rows = [["isbn", "title"]] + [[str(n), "Title %d" % n] for n in range(10)]
    with CaptureQueriesContext(connection) as queries:
        run = cmd("testapp.Book", make_csv(rows), "--batch-size", "3", "--sink", "bulk_create")
    assert run.code == 0, run.stderr
    inserts = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith("INSERT")
    ]
    assert len(inserts) == 4  # 3 + 3 + 3 + 1
    assert Book.objects.count() == 10


@pytest.mark.django_db
def test_database_option(cmd, make_csv):
    path = make_csv([["isbn", "title"], ["1", "A"]])
    run = cmd("testapp.Book", path, "--database", "default")
    assert run.code == 0, run.stderr
    assert Book.objects.using("default").count() == 1


@pytest.mark.django_db
def test_header_only_file_imports_zero_rows(cmd, make_csv, make_xlsx):
    for path in (make_csv([["isbn", "title"]]), make_xlsx([["isbn", "title"]])):
        run = cmd("testapp.Book", path)
        assert run.code == 0, run.stderr
        data = check_report(run.json)
        assert counts(data) == {"rows": 0, "created": 0, "updated": 0, "skipped": 0, "invalid": 0}
        assert data["mapping"] == {"isbn": "isbn", "title": "title"}
    assert Book.objects.count() == 0


@pytest.mark.django_db
def test_header_and_blank_rows_only(cmd, make_csv):
    path = make_csv(None, raw="isbn,title\n\n,\n\n")
    run = cmd("testapp.Book", path, "--on-conflict", "update")
    assert run.code == 0, run.stderr
    assert counts(run.json)["rows"] == 0


# --- from outside: a real process ----------------------------------------------------------------


def _subprocess(*args, env=None):
    full_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "PYTHONPATH": str(ROOT),
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "django", *map(str, args)],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["testapp.Nope", "{csv}"], "testapp.Nope"),
        (["testapp.Book", "{missing}"], "nowhere.csv"),
        (["testapp.Book", "{csv}", "--on-conflict", "bogus"], "bogus"),
    ],
)
def test_process_that_cannot_run_exits_2_with_one_line(tmp_path, args, fragment):
    csv_path = tmp_path / "books.csv"
    csv_path.write_text("isbn,title\n1,A\n")
    args = [a.format(csv=csv_path, missing=tmp_path / "nowhere.csv") for a in args]
    done = _subprocess("bulk_import", *args, "--json")
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert fragment in lines[0]
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


@pytest.mark.skipif(
    os.environ.get("BULK_ADMIN_TEST_DB", "sqlite") != "sqlite", reason="SQLite leg only"
)
def test_process_imports_into_a_database_file(tmp_path):
    env = {"BULK_ADMIN_TEST_SQLITE_NAME": str(tmp_path / "db.sqlite3")}
    migrated = _subprocess("migrate", "testapp", "--noinput", env=env)
    assert migrated.returncode == 0, migrated.stderr

    good = tmp_path / "books.csv"
    good.write_text("isbn,title\n1,A\n2,B\n")
    done = _subprocess("bulk_import", "testapp.Book", good, "--json", env=env)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert set(data) == JSON_KEYS
    assert (data["method"], data["rows"], data["created"]) == ("bulk_create", 2, 2)

    bad = tmp_path / "more.csv"
    bad.write_text("isbn,title\n3,C\n1,Again\n")
    done = _subprocess("bulk_import", "testapp.Book", bad, "--json", env=env)
    assert done.returncode == 1, done.stderr
    data = json.loads(done.stdout)
    assert (data["rows"], data["created"], data["invalid"]) == (2, 0, 1)
    assert data["errors"][0]["row"] == 3

    assert data["errors"][0]["message"] == "A book with ISBN “1” already exists."

    # The first process committed; the second wrote nothing.
    with closing(sqlite3.connect(env["BULK_ADMIN_TEST_SQLITE_NAME"])) as db:
        rows = db.execute("SELECT isbn, title FROM testapp_book ORDER BY isbn").fetchall()
    assert rows == [("1", "A"), ("2", "B")]


# --- helpers -------------------------------------------------------------------------------------


def _as_values(book):
    return {f.attname: getattr(book, f.attname) for f in Book._meta.concrete_fields}


@pytest.mark.django_db
def test_map_header_matches_ignoring_case_and_punctuation(make_csv, bulk_import):
    path = make_csv([["ISBN", "Title", "In stock"], ["9780441478125", "A", "no"]])
    run = bulk_import(
        "testapp.Book",
        path,
        "--map",
        "isbn=isbn",
        "--map",
        "TITLE=title",
        "--map",
        "in_stock=in_stock",
        "--json",
    )
    assert run.code == 0, run.stderr
    assert run.json["mapping"] == {"ISBN": "isbn", "Title": "title", "In stock": "in_stock"}
