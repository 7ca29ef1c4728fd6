"""What the report says is what happened (issue 7): counts of a failed run, Excel error cells,
NUL characters, hostile numbers, whitespace-only cells, exit 2 through CommandError."""

import io
import time
from decimal import Decimal

import openpyxl
import pytest
from django.core.management import CommandError, call_command

from bulk_admin.importer import import_file
from tests.fuzz.xlsx import Cell, workbook_bytes
from tests.testapp.models import Book, Event

EXCEL_ERRORS = ["#DIV/0!", "#N/A", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!"]


def snapshot(model):
    return list(model.objects.order_by("pk").values_list())


@pytest.fixture(params=["calamine", "openpyxl", "stream"])
def reader(request, settings):
    settings.BULK_ADMIN_XLSX_READER = request.param
    return request.param


# --- counts ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_failed_real_run_reports_nothing_written(bulk_import, make_csv):
    rows = [["isbn", "title"]] + [["%d" % n, "T"] for n in range(1, 200)] + [["bad", ""]]
    run = bulk_import("testapp.Book", make_csv(rows), "--json")
    assert run.code == 1
    data = run.json
    assert (data["rows"], data["created"], data["updated"], data["skipped"], data["invalid"]) == (
        200,
        0,
        0,
        0,
        1,
    )
    assert Book.objects.count() == 0


@pytest.mark.django_db
def test_dry_run_and_skip_invalid_report_what_is_or_would_be_written(bulk_import, make_csv):
    path = make_csv([["isbn", "title"], ["1", "A"], ["2", ""], ["3", "C"]])
    dry = bulk_import("testapp.Book", path, "--json", "--dry-run").json
    assert (dry["created"], dry["invalid"]) == (2, 1)
    skipping = bulk_import("testapp.Book", path, "--json", "--skip-invalid")
    assert skipping.code == 0
    data = skipping.json
    assert (data["created"], data["invalid"]) == (2, 1)
    assert data["rows"] == data["created"] + data["updated"] + data["skipped"] + data["invalid"]
    assert Book.objects.count() == 2


@pytest.mark.django_db
def test_the_python_api_reports_nothing_written_too(make_csv):
    result = import_file(Book, make_csv([["isbn", "title"], ["1", "A"], ["2", ""]]))
    assert (result.committed, result.created, result.invalid) == (False, 0, 1)
    dry = import_file(Book, make_csv([["isbn", "title"], ["1", "A"], ["2", ""]]), dry_run=True)
    assert (dry.created, dry.invalid) == (1, 1)


# --- Excel error cells -----------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("error", EXCEL_ERRORS)
@pytest.mark.parametrize("as_formula", [False, True])
def test_an_excel_error_cell_is_a_row_error(bulk_import, tmp_path, reader, error, as_formula):
    before = snapshot(Book)
    cell = Cell(error, "e", formula="1/0" if as_formula else None)
    path = tmp_path / "errors.xlsx"
    path.write_bytes(
        workbook_bytes(
            [["isbn", "title", "price"], ["1", "A", cell], ["2", "B", Cell("3.5", "n")]]
        )
    )
    run = bulk_import("testapp.Book", path, "--json")
    assert run.code == 1, run.stderr
    (only,) = run.json["errors"]
    assert (only["row"], only["column"], only["field"], only["value"]) == (
        2,
        "price",
        "price",
        error,
    )
    assert only["message"] == "The cell holds the Excel error %s." % error
    assert snapshot(Book) == before
    skipped = bulk_import("testapp.Book", path, "--json", "--skip-invalid")
    assert skipped.code == 0
    assert list(Book.objects.values_list("isbn", "price")) == [("2", Decimal("3.50"))]


@pytest.mark.django_db
def test_an_error_cell_of_a_workbook_saved_by_openpyxl(bulk_import, tmp_path, reader):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["isbn", "title", "notes"])
    sheet.append(["1", "A", "fine"])
    sheet.append(["2", "B", "#N/A"])
    sheet["C3"].data_type = "e"  # an error cell, as Excel writes one: t="e"
    path = tmp_path / "saved.xlsx"
    workbook.save(path)
    run = bulk_import("testapp.Book", path, "--json")
    assert run.code == 1
    (only,) = run.json["errors"]
    assert (only["row"], only["column"]) == (3, "notes")
    assert "#N/A" in only["message"]


@pytest.mark.django_db
def test_error_text_typed_as_text_is_text(bulk_import, tmp_path, reader):
    # "#N/A" typed into a text cell is what the user wrote, not an error.
    path = tmp_path / "text.xlsx"
    path.write_bytes(workbook_bytes([["isbn", "title"], ["1", "#N/A"]]))
    assert bulk_import("testapp.Book", path, "--json").code == 0
    assert Book.objects.get().title == "#N/A"


# --- NUL ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_nul_character_in_a_csv_cell_is_a_row_error(bulk_import, make_csv):
    path = make_csv(None, raw=b"isbn,title,pages\n1,a\x00b,3\n2,fine,4\n3,also fine,\x00\n")
    run = bulk_import("testapp.Book", path, "--json")
    assert run.code == 1, run.stderr
    errors = [(e["row"], e["column"], e["value"], e["message"]) for e in run.json["errors"]]
    message = "The cell contains a NUL character, which the database cannot store."
    assert errors == [(2, "title", "a\u2400b", message), (4, "pages", "\u2400", message)]
    run = bulk_import("testapp.Book", path, "--json", "--skip-invalid")
    assert run.code == 0
    assert list(Book.objects.values_list("isbn", "title")) == [("2", "fine")]


@pytest.mark.django_db
def test_a_nul_in_an_unmapped_column_does_not_matter(bulk_import, make_csv):
    path = make_csv(None, raw=b"isbn,title,junk\n1,A,\x00\x00\n")
    assert (
        bulk_import(
            "testapp.Book", path, "--json", "--map", "isbn=isbn", "--map", "title=title"
        ).code
        == 0
    )


@pytest.mark.django_db
def test_utf16_without_a_byte_order_mark_is_still_refused_as_binary(bulk_import, make_csv):
    path = make_csv(None, raw="isbn,title\n1,A\n2,B\n".encode("utf-16-le"))
    run = bulk_import("testapp.Book", path)
    assert run.code == 2
    assert "binary data" in run.stderr


# --- hostile numbers ---------------------------------------------------------------------


HOSTILE = ["1e999999999", "9" * 100_000, "1E-999999999", "-1e999999999"]


@pytest.mark.django_db
@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("column", ["id", "attendees"])
def test_hostile_integers_are_row_errors_at_once(bulk_import, make_csv, value, column):
    started = time.process_time()
    row = {"id": "1", "name": "x", "starts": "2024-01-01", "attendees": "1", column: value}
    path = make_csv([list(row), list(row.values())])
    run = bulk_import("testapp.Event", path, "--json")
    assert run.code == 1
    (only,) = run.json["errors"]
    assert only["column"] == column
    assert (
        "must be an integer" in only["message"]
        or "less than or equal" in only["message"]
        or ("greater than or equal" in only["message"])
    )
    # Not a timing goal: a bound that an int() of a billion digits could never meet.
    assert time.process_time() - started < 5


@pytest.mark.django_db
@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("column", ["price", "rating"])
def test_hostile_decimals_and_floats_are_row_errors(bulk_import, make_csv, value, column):
    path = make_csv([["isbn", "title", column], ["1", "A", value]])
    run = bulk_import("testapp.Book", path, "--json")
    assert run.code == 1
    assert [e["column"] for e in run.json["errors"]] == [column]


# --- dates out of range ------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["0001-01-01 00:00", "9999-12-31T23:59:59-05:00", "0001-01-01"])
def test_a_datetime_outside_the_storable_range_is_a_row_error(bulk_import, make_csv, value):
    path = make_csv([["name", "starts"], ["x", value], ["y", "2024-01-01 10:00"]])
    run = bulk_import("testapp.Event", path, "--json")
    assert run.code == 1, run.stderr
    (only,) = run.json["errors"]
    assert (only["row"], only["column"]) == (2, "starts")
    assert "outside the range of dates" in only["message"]
    assert Event.objects.count() == 0


@pytest.mark.django_db
def test_a_storable_far_datetime_is_imported(bulk_import, make_csv):
    path = make_csv([["name", "starts"], ["x", "0001-01-02 00:00"], ["y", "9999-12-30 10:00"]])
    assert bulk_import("testapp.Event", path, "--json").code == 0
    # Years read back in Python: MariaDB without time zone tables cannot extract them in SQL.
    assert sorted(starts.year for starts in Event.objects.values_list("starts", flat=True)) == [
        1,
        9999,
    ]


@pytest.mark.django_db
def test_a_duration_too_long_to_store_is_a_row_error(bulk_import, make_csv):
    path = make_csv([["name", "starts", "duration"], ["x", "2024-01-01", "999999999 days"]])
    run = bulk_import("testapp.Event", path, "--json")
    assert run.code == 1
    assert run.json["errors"][0]["column"] == "duration"


# --- whitespace, exit 2 ------------------------------------------------------------------


@pytest.mark.django_db
def test_a_cell_of_whitespace_only_is_empty(bulk_import, make_csv):
    path = make_csv([["isbn", "title", "pages", "notes"], ["1", "A", "  \t ", "   "]])
    assert bulk_import("testapp.Book", path, "--json").code == 0
    book = Book.objects.get()
    assert (book.pages, book.notes) == (None, "")


@pytest.mark.django_db
def test_exit_2_is_a_command_error_with_returncode_2(make_csv):
    path = make_csv(None, raw=b"")
    with pytest.raises(CommandError) as excinfo:
        call_command("bulk_import", "testapp.Book", str(path), stdout=io.StringIO())
    assert excinfo.value.returncode == 2
    assert str(excinfo.value) == "The file is empty."
    with pytest.raises(CommandError) as excinfo:
        call_command("bulk_import", "testapp.Book", str(path), "--on-conflict", "maybe")
    assert excinfo.value.returncode == 2


@pytest.mark.django_db
def test_auto_now_fields_without_time_zone_support(bulk_import, make_csv, settings):
    # Found by the fuzzer: with USE_TZ = False the plan's clock is naive already.
    settings.USE_TZ = False
    run = bulk_import("testapp.Book", make_csv([["isbn", "title"], ["1", "A"]]), "--json")
    assert run.code == 0, run.stderr
    book = Book.objects.get()
    assert book.created is not None and book.created.tzinfo is None
