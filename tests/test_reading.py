"""Real files (issue 11): null markers, the user's date and number formats, hints.

The files are shaped like the public data sets that failed (R's nycflights13 with ``NA``,
Vega's seattle-weather with ``2012/01/01``, palmerpenguins, a European Excel export with
``;``, decimal commas and ``31/12/2024``), written here: the data sets are not shipped.
"""

import datetime
import json
from decimal import Decimal

import pytest
from django.utils import translation

from bulk_admin.exceptions import OptionError
from bulk_admin.hints import HintCollector
from bulk_admin.importer import import_file
from bulk_admin.reading import ReadingOptions
from bulk_admin.results import RowError
from tests.testapp.models import Book, Item

pytestmark = pytest.mark.django_db

PLANES = [
    ["isbn", "title", "pages", "rating", "published"],
    ["N10156", "EMBRAER", "55", "NA", "2004-01-01"],
    ["N102UW", "AIRBUS INDUSTRIE", "NA", "NA", "NA"],
    ["N103US", "AIRBUS", "182", "4.5", "1999-06-30"],
]


def hints_of(run):
    return [line for line in run.stderr.splitlines() if line.startswith("hint: ")]


def test_r_exports_write_na_and_fail_without_the_option(bulk_import, make_csv):
    run = bulk_import("testapp.Book", make_csv(PLANES), "--json")
    assert run.code == 1
    data = run.json
    assert data["invalid"] == 2
    assert {(e["row"], e["column"]) for e in data["errors"]} == {
        (2, "rating"),
        (3, "pages"),
        (3, "rating"),
        (3, "published"),
    }
    # The hint counts the cells and the columns, and names the option.
    (hint,) = hints_of(run)
    assert hint == "hint: 4 cells in 3 columns hold “NA”: treat “NA” as empty? (--null NA)"


def test_null_option_reads_the_marker_as_empty_in_every_column(bulk_import, make_csv):
    run = bulk_import("testapp.Book", make_csv(PLANES), "--json", "--null", "NA")
    assert run.code == 0, run.stderr
    assert run.json["created"] == 3
    books = {b.isbn: b for b in Book.objects.all()}
    assert (books["N102UW"].pages, books["N102UW"].rating, books["N102UW"].published) == (
        None,
        None,
        None,
    )
    assert books["N10156"].rating is None


def test_a_text_column_keeps_na_unless_the_user_chose_it(bulk_import, make_csv):
    rows = [["isbn", "title"], ["1", "NA"], ["2", "N/A"]]
    assert bulk_import("testapp.Book", make_csv(rows), "--json").code == 0
    assert sorted(Book.objects.values_list("title", flat=True)) == ["N/A", "NA"]


def test_a_null_marker_in_a_required_column_is_a_blank_error(bulk_import, make_csv):
    rows = [["isbn", "title"], ["1", "NA"]]
    run = bulk_import("testapp.Book", make_csv(rows), "--json", "--null", "NA")
    assert run.code == 1
    assert run.json["errors"][0]["column"] == "title"
    assert "blank" in run.json["errors"][0]["message"]


def test_several_markers(bulk_import, make_csv):
    rows = [["isbn", "title", "pages"], ["1", "A", "-"], ["2", "B", " NULL "], ["3", "C", "7"]]
    run = bulk_import("testapp.Book", make_csv(rows), "--json", "--null", "-", "--null", "NULL")
    assert run.code == 0, run.stderr
    assert sorted(Book.objects.values_list("pages", flat=True), key=str) == [7, None, None]


def test_slash_dates_get_a_hint_and_import_with_the_format(bulk_import, make_csv):
    rows = [["isbn", "title", "published"], ["1", "A", "2012/01/01"], ["2", "B", "2012/01/02"]]
    path = make_csv(rows)
    run = bulk_import("testapp.Book", path, "--json")
    assert run.code == 1
    assert hints_of(run) == [
        "hint: 2 cells in 1 column hold dates written like “2024/12/31”: read them with the "
        "format %Y/%m/%d? (--date-format %Y/%m/%d)"
    ]
    run = bulk_import("testapp.Book", path, "--json", "--date-format", "%Y/%m/%d")
    assert run.code == 0, run.stderr
    assert sorted(Book.objects.values_list("published", flat=True)) == [
        datetime.date(2012, 1, 1),
        datetime.date(2012, 1, 2),
    ]


EUROPEAN = (
    "Artikelnummer;Name;Menge;Preis;Erschienen;Aktiv\r\n"
    "A-1;Schraube;1.234;1.234,56;31/12/2024;ja\r\n"
    "A-2;Mutter;12;0,99;01/02/2024;nein\r\n"
).encode("cp1252")
EUROPEAN_MAP = [
    "--map", "Artikelnummer=sku", "--map", "Name=name", "--map", "Menge=quantity",
    "--map", "Preis=price", "--map", "Erschienen=released", "--map", "Aktiv=active",
]  # fmt: skip


def test_a_european_export_gets_hints(bulk_import, make_csv):
    run = bulk_import("testapp.Item", make_csv(None, raw=EUROPEAN), "--json", *EUROPEAN_MAP)
    assert run.code == 1
    hints = hints_of(run)
    assert any("--decimal-separator , --thousands-separator ." in hint for hint in hints), hints
    assert any("--date-format %d/%m/%Y" in hint for hint in hints), hints


def test_a_european_export_imports_with_the_options(bulk_import, make_csv):
    run = bulk_import(
        "testapp.Item",
        make_csv(None, raw=EUROPEAN),
        "--json",
        *EUROPEAN_MAP,
        "--decimal-separator", ",",
        "--thousands-separator", ".",
        "--date-format", "%d/%m/%Y",
        "--true", "ja",
        "--false", "nein",
    )  # fmt: skip
    assert run.code == 0, run.stderr
    items = {item.sku: item for item in Item.objects.all()}
    assert (items["A-1"].quantity, items["A-1"].price) == (1234, Decimal("1234.56"))
    assert items["A-1"].released == datetime.date(2024, 12, 31)
    assert items["A-2"].released == datetime.date(2024, 2, 1)  # day first, as the format says
    assert (items["A-1"].active, items["A-2"].active) == (True, False)


def test_ambiguous_dates_follow_the_language_in_hints():
    collector = HintCollector({"released": Item._meta.get_field("released")}, ReadingOptions())
    error = RowError(row=2, column="Date", field="released", value="01/02/2024", message="x")
    for language, expected in (("fr", "%d/%m/%Y"), ("en", "%m/%d/%Y")):
        with translation.override(language):
            collector = HintCollector(
                {"released": Item._meta.get_field("released")}, ReadingOptions()
            )
            collector.add([error])
            (hint,) = collector.hints()
            assert hint.value == expected


def test_reading_options_are_checked():
    with pytest.raises(OptionError):
        ReadingOptions.from_dict({"decimal_separator": ",", "thousands_separator": ","})
    with pytest.raises(OptionError):
        ReadingOptions.from_dict({"decimal_separator": ",,"})
    with pytest.raises(OptionError):
        ReadingOptions.from_dict({"date_formats": ["dd/mm/yyyy"]})
    with pytest.raises(OptionError):
        ReadingOptions.from_dict({"true_values": ["oui"], "false_values": ["OUI"]})
    with pytest.raises(OptionError):
        ReadingOptions.from_dict({"colour": "red"})
    options = ReadingOptions.from_dict({"null_values": ["NA"], "decimal_separator": ","})
    assert ReadingOptions.from_dict(json.loads(json.dumps(options.as_dict()))) == options


def test_a_bad_reading_option_exits_2(bulk_import, make_csv):
    run = bulk_import("testapp.Book", make_csv(PLANES), "--decimal-separator", "12")
    assert run.code == 2
    assert "--decimal-separator must be one character" in run.stderr


def test_the_python_api_takes_the_options(make_csv):
    result = import_file(Book, make_csv(PLANES), null_values=["NA"])
    assert (result.committed, result.created) == (True, 3)
    assert result.reading == {"null_values": ["NA"]}


def test_every_error_is_listed_in_bounded_memory(bulk_import, make_csv, settings):
    # 12,000 invalid rows: past the errors kept in memory, every error is still printed.
    rows = [["isbn", "title", "pages"]] + [["%d" % n, "T", "bad"] for n in range(12_000)]
    run = bulk_import("testapp.Book", make_csv(rows), "--json")
    assert run.code == 1
    data = run.json
    assert data["invalid"] == 12_000
    assert len(data["errors"]) == 12_000
    assert [e["row"] for e in data["errors"][:3]] == [2, 3, 4]
    result = import_file(Book, make_csv(rows), max_errors=100, on_errors=lambda errors: None)
    assert len(result.errors) == 100 and result.errors_truncated
