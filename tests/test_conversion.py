"""Stage 3, convert: bulk_admin/conversion/ — every kind of field, empty cells, foreign keys."""

import datetime
import decimal
import uuid
import zoneinfo
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from bulk_admin.conversion import Plan, build_converter, display_value, empty_rule
from bulk_admin.mapping import build_mapping
from bulk_admin.results import RowError
from bulk_admin.sources import open_source
from tests.testapp.models import Author, Book, Event, Review

DATA = Path(__file__).parent / "data"

PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def converter(model, name):
    return build_converter(model._meta.get_field(name))


def converted(model, name, value):
    return converter(model, name)(value)


def refused(model, name, value):
    """Return the messages of the ValidationError converting ``value`` raises."""
    with pytest.raises(ValidationError) as excinfo:
        converter(model, name)(value)
    return excinfo.value.messages


def assert_sentence(message):
    assert message[0].isupper() or message[0] == "“", message
    assert message.endswith("."), message


def make_plan(model, mapping, **options):
    """A plan for ``{header: field path}``; required fields need not be mapped."""
    return Plan(
        build_mapping(list(mapping), model, mapping, require=False), using="default", **options
    )


def run(model, mapping, *rows, **options):
    """Convert ``rows`` (numbered from 2, as under a header) and return ``(plan, chunk)``."""
    plan = make_plan(model, mapping, **options)
    chunk = plan.convert([(number, list(cells)) for number, cells in enumerate(rows, start=2)])
    return plan, chunk


def as_dicts(plan, chunk):
    return [dict(zip(plan.attnames, values, strict=True)) for _number, values in chunk.rows]


# --- integers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("3", 3),
        (3, 3),
        (3.0, 3),
        ("6001.0", 6001),
        (" 7 ", 7),
        ("1e3", 1000),
        ("0", 0),
        # Excel shows 15 digits: a formula's 434.99999999999994 is the 435 the user sees.
        (4.35 * 100, 435),
        (1.1 * 1.1 * 100, 121),
    ],
)
def test_integer(value, expected):
    result = converted(Book, "pages", value)
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("3.5", "“3.5” value must be an integer."),
        (3.5, "“3.5” value must be an integer."),
        ("abc", "“abc” value must be an integer."),
        (True, "“True” value must be an integer."),
        ("NaN", "“NaN” value must be an integer."),
        ("inf", "“inf” value must be an integer."),
        (float("nan"), "“nan” value must be an integer."),
        ("-1", "Ensure this value is greater than or equal to 0."),
    ],
)
def test_integer_refused(value, message):
    assert refused(Book, "pages", value) == [message]


def test_negative_integers_where_allowed():
    assert converted(Event, "attendees", "-5") == -5


def test_integer_out_of_the_database_range_is_refused():
    low, high = connection.ops.integer_field_range("SmallIntegerField")
    assert refused(Review, "stars", str(high + 1)) == [
        f"Ensure this value is less than or equal to {high}."
    ]
    assert converted(Review, "stars", high) == high
    _low, big = connection.ops.integer_field_range("PositiveIntegerField")
    assert refused(Book, "pages", float(big) * 10) == [
        f"Ensure this value is less than or equal to {big}."
    ]


# --- decimals and floats ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (19.99, "19.99"),
        ("19.99", "19.99"),
        (" 19.99 ", "19.99"),
        (5, "5"),
        (decimal.Decimal("1.10"), "1.10"),
        ("1e2", "1E+2"),
        ("-0.5", "-0.5"),
        # A formula cell: the file holds 3.3000000000000003, Excel shows 3.3.
        (3 * 1.1, "3.3"),
        (0.1 * 3, "0.3"),
        (123456.78, "123456.78"),
    ],
)
def test_decimal(value, expected):
    result = converted(Book, "price", value)
    assert isinstance(result, decimal.Decimal)
    assert str(result) == expected


def test_decimal_from_a_float_cell_is_exact():
    assert converted(Book, "price", 19.99) == decimal.Decimal("19.99")
    assert converted(Book, "price", 19.99) != decimal.Decimal(19.99)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1234567.89", "Ensure that there are no more than 8 digits in total."),
        ("12345678", "Ensure that there are no more than 6 digits before the decimal point."),
        ("1.005", "Ensure that there are no more than 2 decimal places."),
        (1.005, "Ensure that there are no more than 2 decimal places."),
        ("abc", "“abc” value must be a decimal number."),
        ("19,99", "“19,99” value must be a decimal number."),
        ("NaN", "“NaN” value must be a decimal number."),
        ("Infinity", "“Infinity” value must be a decimal number."),
        (True, "“True” value must be a decimal number."),
    ],
)
def test_decimal_refused(value, message):
    assert refused(Book, "price", value) == [message]


@pytest.mark.parametrize(
    ("value", "expected"), [("1.5", 1.5), (2, 2.0), (2.25, 2.25), ("-1e3", -1000.0)]
)
def test_float(value, expected):
    result = converted(Book, "rating", value)
    assert result == expected
    assert type(result) is float


@pytest.mark.parametrize("value", ["abc", "nan", "inf", "-Infinity", float("inf"), True])
def test_float_refused(value):
    # inf and NaN are no spreadsheet numbers, and MySQL cannot store them.
    (message,) = refused(Book, "rating", value)
    assert message.endswith("value must be a float.")


@pytest.mark.parametrize(
    "value", ["1e400", "-1e400", "1e999999999", "1E-999999999", "9" * 100_000]
)
def test_float_out_of_range_is_refused(value):
    # Overflow to infinity, or underflow to a zero the text did not say.
    (message,) = refused(Book, "rating", value)
    assert message.endswith("is outside the range of numbers a float column can hold.")


# --- booleans ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "true",
        "TRUE",
        "True",
        "yes",
        "YES",
        "Yes",
        "y",
        "1",
        "t",
        "on",
        "x",
        " true ",
        1,
        1.0,
        True,
    ],
)
def test_boolean_true(value):
    assert converted(Book, "in_stock", value) is True


@pytest.mark.parametrize(
    "value", ["false", "FALSE", "False", "no", "NO", "n", "0", "f", "off", 0, 0.0, False]
)
def test_boolean_false(value):
    assert converted(Book, "in_stock", value) is False


@pytest.mark.parametrize(
    ("value", "shown"), [("maybe", "maybe"), (2, "2"), ("2", "2"), (0.5, "0.5")]
)
def test_boolean_refused(value, shown):
    assert refused(Book, "in_stock", value) == [f"“{shown}” value must be either True or False."]


# --- dates, times, durations ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-02-29", datetime.date(2024, 2, 29)),
        ("2024-1-5", datetime.date(2024, 1, 5)),
        (" 2024-05-01 ", datetime.date(2024, 5, 1)),
        ("12/31/2023", datetime.date(2023, 12, 31)),  # DATE_INPUT_FORMATS
        (datetime.date(2024, 5, 1), datetime.date(2024, 5, 1)),  # an Excel date cell
        (datetime.datetime(2024, 5, 1, 18, 30), datetime.date(2024, 5, 1)),
        # An aware datetime is a day in the current time zone: 23:30 UTC is tomorrow in Paris.
        (
            datetime.datetime(2024, 5, 1, 23, 30, tzinfo=datetime.timezone.utc),
            datetime.date(2024, 5, 2),
        ),
    ],
)
def test_date(value, expected):
    result = converted(Book, "published", value)
    assert result == expected
    assert type(result) is datetime.date


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "2024-02-30",
            "“2024-02-30” value has the correct format (YYYY-MM-DD) but it is an invalid date.",
        ),
        (
            "31/12/2023",
            "“31/12/2023” value has an invalid date format. It must be in YYYY-MM-DD format.",
        ),
        (
            "yesterday",
            "“yesterday” value has an invalid date format. It must be in YYYY-MM-DD format.",
        ),
        (45000, "“45000” value has an invalid date format. It must be in YYYY-MM-DD format."),
    ],
)
def test_date_refused(value, message):
    assert refused(Book, "published", value) == [message]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-07-01 12:00", datetime.datetime(2024, 7, 1, 12, 0, tzinfo=PARIS)),
        ("2024-01-15 08:00:30", datetime.datetime(2024, 1, 15, 8, 0, 30, tzinfo=PARIS)),
        ("2024-07-01", datetime.datetime(2024, 7, 1, tzinfo=PARIS)),
        (datetime.datetime(2024, 7, 1, 12, 0), datetime.datetime(2024, 7, 1, 12, 0, tzinfo=PARIS)),
        (datetime.date(2024, 1, 1), datetime.datetime(2024, 1, 1, tzinfo=PARIS)),
    ],
)
def test_naive_datetimes_are_in_the_current_time_zone(value, expected):
    result = converted(Event, "starts", value)
    assert result == expected
    assert result.utcoffset() == expected.utcoffset()
    assert timezone.is_aware(result)


@pytest.mark.parametrize(
    ("value", "wall", "offset"),
    [
        (
            "2024-07-01T12:00:00+05:30",
            datetime.datetime(2024, 7, 1, 12),
            datetime.timedelta(hours=5, minutes=30),
        ),
        (
            "2024-07-01 12:00-04:00",
            datetime.datetime(2024, 7, 1, 12),
            datetime.timedelta(hours=-4),
        ),
        ("2024-07-01T12:00:00Z", datetime.datetime(2024, 7, 1, 12), datetime.timedelta(0)),
        # An explicit offset makes a time of the DST gap unambiguous.
        (
            "2024-03-31T02:30:00+01:00",
            datetime.datetime(2024, 3, 31, 2, 30),
            datetime.timedelta(hours=1),
        ),
    ],
)
def test_explicit_offsets_are_kept(value, wall, offset):
    result = converted(Event, "starts", value)
    assert result.utcoffset() == offset
    assert result.replace(tzinfo=None) == wall


def test_the_active_time_zone_is_used():
    with timezone.override("Asia/Kolkata"):
        result = converted(Event, "starts", "2024-07-01 12:00")
    assert result.utcoffset() == datetime.timedelta(hours=5, minutes=30)


@pytest.mark.parametrize(
    "value",
    [
        "2024-03-31 02:30",  # does not exist: clocks jump from 02:00 to 03:00
        "2024-10-27 02:30",  # happens twice: clocks go back from 03:00 to 02:00
        datetime.datetime(2024, 3, 31, 2, 30),
    ],
)
def test_dst_gap_and_fold_are_refused(value):
    assert refused(Event, "starts", value) == [
        f"“{value}” does not exist or is ambiguous in the time zone Europe/Paris."
    ]


def test_times_next_to_a_dst_change_are_fine():
    assert converted(Event, "starts", "2024-03-31 01:59").utcoffset() == datetime.timedelta(
        hours=1
    )
    assert converted(Event, "starts", "2024-03-31 03:00").utcoffset() == datetime.timedelta(
        hours=2
    )


def test_datetimes_without_time_zone_support(settings):
    settings.USE_TZ = False
    assert converted(Event, "starts", "2024-03-31 02:30") == datetime.datetime(2024, 3, 31, 2, 30)
    aware = converted(Event, "starts", "2024-07-01T10:00:00Z")
    assert aware == datetime.datetime(2024, 7, 1, 12, 0)  # in Paris
    assert timezone.is_naive(aware)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "bad",
            "“bad” value has an invalid format. "
            "It must be in YYYY-MM-DD HH:MM[:ss[.uuuuuu]][TZ] format.",
        ),
        (
            "2024-13-01 00:00",
            "“2024-13-01 00:00” value has the correct format (YYYY-MM-DD HH:MM[:ss[.uuuuuu]][TZ]) "
            "but it is an invalid date/time.",
        ),
    ],
)
def test_datetime_refused(value, message):
    assert refused(Event, "starts", value) == [message]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12:30", datetime.time(12, 30)),
        ("12:30:15", datetime.time(12, 30, 15)),
        (datetime.time(8, 0), datetime.time(8, 0)),
        (datetime.datetime(2024, 1, 1, 9, 15), datetime.time(9, 15)),
    ],
)
def test_time(value, expected):
    assert converted(Event, "at", value) == expected


def test_time_refused():
    assert refused(Event, "at", "25:00") == [
        "“25:00” value has the correct format (HH:MM[:ss[.uuuuuu]]) but it is an invalid time."
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1:30:00", datetime.timedelta(hours=1, minutes=30)),
        ("P1DT2H", datetime.timedelta(days=1, hours=2)),
        ("3 days, 1:00:00", datetime.timedelta(days=3, hours=1)),
        ("90", datetime.timedelta(seconds=90)),
        (datetime.time(1, 30), datetime.timedelta(hours=1, minutes=30)),  # an Excel time cell
        (datetime.timedelta(hours=36), datetime.timedelta(hours=36)),  # an Excel [h]:mm cell
    ],
)
def test_duration(value, expected):
    assert converted(Event, "duration", value) == expected


def test_duration_refused():
    assert refused(Event, "duration", "soon") == [
        "“soon” value has an invalid format. It must be in [DD] [[HH:]MM:]ss[.uuuuuu] format."
    ]


# --- JSON, UUID, choices, validators, text ----------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('{"a": [1, 2]}', {"a": [1, 2]}),
        ("[1, 2]", [1, 2]),
        ('"text"', "text"),
        ("3", 3),
        ("true", True),
        (3.5, 3.5),  # a number cell is a JSON number
    ],
)
def test_json(value, expected):
    assert converted(Book, "metadata", value) == expected


@pytest.mark.parametrize("value", ["not json", "{bad", "{'a': 1}"])
def test_json_refused(value):
    assert refused(Book, "metadata", value) == [f"“{value}” is not valid JSON."]


@pytest.mark.parametrize(
    "value",
    [
        "12345678-1234-5678-1234-567812345678",
        "12345678123456781234567812345678",
        "{12345678-1234-5678-1234-567812345678}",
        " 12345678-1234-5678-1234-567812345678 ",
        "12345678-1234-5678-1234-567812345678".upper(),
    ],
)
def test_uuid(value):
    assert converted(Book, "uid", value) == uuid.UUID("12345678-1234-5678-1234-567812345678")


@pytest.mark.parametrize("value", ["nope", "1234567812345678123456781234567"])
def test_uuid_refused(value):
    assert refused(Book, "uid", value) == [f"“{value}” is not a valid UUID."]


def test_choices_take_the_stored_value():
    assert converted(Book, "genre", "fiction") == "fiction"


@pytest.mark.parametrize("value", ["poetry", "Fiction", " fiction"])
def test_choices_refuse_other_values(value):
    assert refused(Book, "genre", value) == [f"Value {value!r} is not a valid choice."]


def test_email_validator():
    assert converted(Author, "email", "ursula@example.com") == "ursula@example.com"
    assert refused(Author, "email", "not-an-email") == ["Enter a valid email address."]


@pytest.mark.parametrize("value", ["https://example.com/book?id=1", "ftp://example.org"])
def test_url_validator_accepts(value):
    assert converted(Book, "website", value) == value


@pytest.mark.parametrize("value", ["example.com", "javascript:alert(1)", "http://"])
def test_url_validator_refuses(value):
    assert refused(Book, "website", value) == ["Enter a valid URL."]


def test_max_length():
    assert converted(Book, "isbn", "1234567890123") == "1234567890123"
    assert refused(Book, "isbn", "12345678901234") == [
        "Ensure this value has at most 13 characters (it has 14)."
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (12345.0, "12345"),  # a number cell into a text field: what the user typed
        (12345, "12345"),
        (9780000000001.0, "9780000000001"),
        (1.5, "1.5"),
        (3 * 1.1, "3.3"),
        (-0.0, "0"),
        (True, "TRUE"),
        (datetime.date(2024, 5, 1), "2024-05-01"),
        (datetime.time(9, 15), "09:15:00"),
        ("  spaced  ", "  spaced  "),
        ("Ünïcødé ✓ 📚", "Ünïcødé ✓ 📚"),
    ],
)
def test_text(value, expected):
    result = converted(Book, "notes", value)
    assert result == expected
    assert type(result) is str


@pytest.mark.parametrize("value", ["a\x00b", "\x00"])
def test_nul_characters_are_refused(value):
    assert refused(Book, "notes", value) == [
        "The cell contains a NUL character, which the database cannot store."
    ]
    assert refused(Book, "title", value) == [
        "The cell contains a NUL character, which the database cannot store."
    ]


def test_display_value():
    assert display_value(None) is None
    assert display_value(12345.0) == "12345"
    assert display_value(1.5) == "1.5"
    assert display_value(datetime.date(2024, 5, 1)) == "2024-05-01"
    assert display_value("x" * 500) == "x" * 199 + "…"
    assert len(display_value("x" * 500)) == 200


# --- empty cells ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "name", "expected"),
    [
        (Book, "pages", None),
        (Book, "price", None),
        (Book, "published", None),
        (Book, "rating", None),
        (Book, "metadata", None),
        (Book, "author", None),
        (Book, "genre", ""),
        (Book, "website", ""),
        (Book, "notes", ""),
        (Author, "email", ""),
        (Book, "in_stock", True),  # the default
        (Event, "attendees", 0),
    ],
)
def test_empty_cell_rule(model, name, expected):
    assert empty_rule(model._meta.get_field(name))() == expected


def test_empty_cell_with_a_callable_default_calls_it_each_time():
    empty = empty_rule(Book._meta.get_field("uid"))
    first, second = empty(), empty()
    assert isinstance(first, uuid.UUID)
    assert first != second


@pytest.mark.parametrize(
    ("model", "name"), [(Book, "title"), (Book, "isbn"), (Event, "starts"), (Review, "book")]
)
def test_empty_cell_of_a_required_field_is_refused(model, name):
    with pytest.raises(ValidationError) as excinfo:
        empty_rule(model._meta.get_field(name))()
    assert excinfo.value.messages == ["This field cannot be blank."]


def test_empty_cells_in_a_plan():
    headers = ["isbn", "title", "pages", "genre", "in_stock", "uid", "price"]
    mapping = {header: header for header in headers}
    plan, chunk = run(
        Book,
        mapping,
        ["1", "A", "", "", "", "", None],
        ["2", "B", "   ", " ", None, "\t"],  # whitespace is empty; a short row too
        ["3", "", "", "", "", "", ""],
    )
    rows = as_dicts(plan, chunk)
    assert [row["isbn"] for row in rows] == ["1", "2"]
    for row in rows:
        assert row["pages"] is None
        assert row["genre"] == ""
        assert row["in_stock"] is True
        assert row["price"] is None
        assert isinstance(row["uid"], uuid.UUID)
    assert rows[0]["uid"] != rows[1]["uid"]
    assert chunk.invalid == 1
    assert chunk.errors == [
        RowError(
            row=4, column="title", field="title", value="", message="This field cannot be blank."
        )
    ]


# --- the plan: whole rows ---------------------------------------------------------------------


def test_unmapped_fields_are_filled():
    now = datetime.datetime(2024, 5, 1, 10, 0, tzinfo=datetime.timezone.utc)
    plan, chunk = run(Book, {"isbn": "isbn", "title": "title"}, ["1", "A"], ["2", "B"], now=now)
    first, second = as_dicts(plan, chunk)
    assert "id" not in first  # the database numbers the rows
    assert first["created"] == first["modified"] == now
    assert first["in_stock"] is True
    assert first["author_id"] is None
    assert first["pages"] is None
    assert first["notes"] == ""
    assert first["genre"] == ""
    assert isinstance(first["uid"], uuid.UUID)
    assert first["uid"] != second["uid"]
    assert [field.name for field in plan.mapped_fields] == ["isbn", "title"]
    assert set(plan.attnames) == {f.attname for f in Book._meta.concrete_fields} - {"id"}


def test_every_bad_cell_of_a_row_is_reported_with_row_column_and_value():
    mapping = {
        "ISBN": "isbn",
        "Title": "title",
        "Pages": "pages",
        "Price": "price",
        "Published": "published",
    }
    plan, chunk = run(
        Book,
        mapping,
        ["1", "Fine", "12", "9.50", "2024-05-01"],
        ["2", "Bad", "twelve", "1.005", "2024-02-30"],
        ["3", "Also fine", 7.0, 19.99, datetime.date(2024, 1, 1)],
    )
    assert [number for number, _values in chunk.rows] == [2, 4]
    assert chunk.invalid == 1
    assert chunk.errors == [
        RowError(3, "Pages", "pages", "twelve", "“twelve” value must be an integer."),
        RowError(
            3, "Price", "price", "1.005", "Ensure that there are no more than 2 decimal places."
        ),
        RowError(
            3,
            "Published",
            "published",
            "2024-02-30",
            "“2024-02-30” value has the correct format (YYYY-MM-DD) but it is an invalid date.",
        ),
    ]
    for error in chunk.errors:
        assert_sentence(error.message)
    third = as_dicts(plan, chunk)[1]
    assert (third["pages"], third["price"], third["published"]) == (
        7,
        decimal.Decimal("19.99"),
        datetime.date(2024, 1, 1),
    )


def test_bad_dates_file_reports_each_bad_date():
    with open_source(DATA / "bad_dates.csv") as source:
        plan = make_plan(Book, {header: header for header in source.headers})
        chunk = plan.convert(list(source.rows()))
    assert [number for number, _values in chunk.rows] == [5]
    assert [(error.row, error.column, error.value) for error in chunk.errors] == [
        (2, "published", "2024-02-30"),
        (3, "published", "31/12/2023"),
        (4, "published", "yesterday"),
    ]


def test_a_long_bad_value_is_shortened_in_the_report():
    plan, chunk = run(Book, {"pages": "pages"}, ["9" * 50 + "x" * 500])
    (error,) = chunk.errors
    assert len(error.value) == 200
    assert error.value.endswith("…")


def test_a_converter_override_replaces_the_conversion_but_not_the_validators():
    def thousands(value):
        return int(str(value).replace(" ", ""))

    plan, chunk = run(Book, {"pages": "pages"}, ["1 200"], ["-3"], converters={"pages": thousands})
    assert [values for _number, values in chunk.rows][0][0] == 1200
    assert [(error.row, error.message) for error in chunk.errors] == [
        (3, "Ensure this value is greater than or equal to 0.")
    ]


def test_both_xlsx_readers_convert_to_the_same_values(make_xlsx, settings):
    rows = [
        ["isbn", "title", "price", "published", "in_stock", "pages", "notes", "rating"],
        [
            9780000000001,
            "Dune",
            19.99,
            datetime.date(1965, 8, 1),
            True,
            412.0,
            datetime.date(2024, 5, 1),
            4,
        ],
        ["978-2", "Emma", 3 * 1.1, datetime.datetime(1999, 12, 23), "no", None, 12345, 1.5],
        ["978-3", "Ulysses", None, None, None, 730, "=1+1", None],
    ]
    path = make_xlsx(rows)
    results = {}
    for reader in ("calamine", "openpyxl", "stream"):
        settings.BULK_ADMIN_XLSX_READER = reader
        with open_source(path) as source:
            plan = make_plan(Book, {header: header for header in source.headers})
            chunk = plan.convert(list(source.rows()))
        assert chunk.errors == []
        results[reader] = [
            {key: value for key, value in row.items() if key not in ("uid", "created", "modified")}
            for row in as_dicts(plan, chunk)
        ]
    assert results["calamine"] == results["openpyxl"] == results["stream"]
    first, second, third = results["calamine"]
    assert first["isbn"] == "9780000000001"
    assert first["notes"] == "2024-05-01"
    assert first["pages"] == 412
    assert second["price"] == decimal.Decimal("3.3")
    assert second["published"] == datetime.date(1999, 12, 23)
    assert second["notes"] == "12345"
    assert third["notes"] == ""


# --- foreign keys -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_foreign_key_by_a_unique_field(authors):
    plan, chunk = run(
        Book,
        {"isbn": "isbn", "Writer": "author__name"},
        ["1", "Terry Pratchett"],
        ["2", "Octavia E. Butler"],
        ["3", ""],
        ["4", "Nobody"],
    )
    assert [(number, values[1]) for number, values in chunk.rows] == [
        (2, authors[1].pk),
        (3, authors[2].pk),
        (4, None),
    ]
    assert chunk.invalid == 1
    assert chunk.errors == [
        RowError(5, "Writer", "author__name", "Nobody", "No author with name “Nobody” exists.")
    ]


@pytest.mark.django_db
def test_foreign_keys_are_resolved_with_one_query_per_chunk(authors, django_assert_num_queries):
    names = [author.name for author in authors]
    rows = [[str(number), names[number % 3]] for number in range(500)]
    rows.append(["x", "Unknown Writer"])
    plan = make_plan(Book, {"isbn": "isbn", "author": "author__name"})
    numbered = [(number, cells) for number, cells in enumerate(rows, start=2)]
    with django_assert_num_queries(1):
        chunk = plan.convert(numbered)
    assert len(chunk.rows) == 500
    assert {values[1] for _number, values in chunk.rows} == {author.pk for author in authors}
    assert [(error.row, error.value) for error in chunk.errors] == [(502, "Unknown Writer")]


@pytest.mark.django_db
def test_no_query_when_the_foreign_key_column_is_empty(django_assert_num_queries):
    plan = make_plan(Book, {"isbn": "isbn", "author": "author__name"})
    with django_assert_num_queries(0):
        chunk = plan.convert([(2, ["1", ""]), (3, ["2", None])])
    assert [values[1] for _number, values in chunk.rows] == [None, None]


@pytest.mark.django_db
def test_rows_with_conversion_errors_are_not_looked_up(authors, django_assert_num_queries):
    plan = make_plan(Book, {"pages": "pages", "author": "author__name"})
    with django_assert_num_queries(0):
        chunk = plan.convert([(2, ["many", "Terry Pratchett"])])
    assert chunk.rows == []
    assert [error.column for error in chunk.errors] == ["pages"]


@pytest.mark.django_db
def test_many_distinct_foreign_keys_are_looked_up_in_batches(django_assert_max_num_queries):
    Author.objects.bulk_create(Author(name=f"Author {number}") for number in range(1000))
    by_name = dict(Author.objects.values_list("name", "pk"))
    plan = make_plan(Book, {"author": "author__name"})
    rows = [(number + 2, [f"Author {number}"]) for number in range(1000)]
    # No backend's parameter limit (SQLite: 999) is reached; still one query per 900 values.
    with django_assert_max_num_queries(2):
        chunk = plan.convert(rows)
    assert chunk.errors == []
    assert [values[0] for _number, values in chunk.rows] == [
        by_name[f"Author {n}"] for n in range(1000)
    ]


@pytest.mark.django_db
def test_bare_foreign_key_is_the_related_primary_key(authors):
    pk = authors[0].pk
    plan, chunk = run(Book, {"author": "author"}, [str(pk)], [float(pk)], ["999999"], ["abc"])
    assert [values[0] for _number, values in chunk.rows] == [pk, pk]
    assert [(error.row, error.column, error.value, error.message) for error in chunk.errors] == [
        (5, "author", "abc", "“abc” value must be an integer."),
        (4, "author", "999999", "No author with ID “999999” exists."),
    ]


@pytest.mark.django_db
def test_foreign_key_to_a_to_field(authors):
    """Review.book points at Book.isbn: the bare column holds ISBNs, book__id holds ids."""
    book = Book.objects.create(isbn="9780000000001", title="Dune")
    plan, chunk = run(
        Review,
        {"book": "book", "reviewer": "reviewer", "stars": "stars"},
        ["9780000000001", "ann", "5"],
        [9780000000001.0, "bob", 4.0],  # a number cell holding the ISBN
        ["9780000000999", "cy", "1"],
    )
    assert [(number, values[0]) for number, values in chunk.rows] == [
        (2, "9780000000001"),
        (3, "9780000000001"),
    ]
    assert chunk.errors == [
        RowError(4, "book", "book", "9780000000999", "No book with ISBN “9780000000999” exists.")
    ]
    plan, chunk = run(Review, {"book": "book__id"}, [str(book.pk)], ["0"])
    assert [values[0] for _number, values in chunk.rows] == ["9780000000001"]
    assert [error.message for error in chunk.errors] == ["No book with ID “0” exists."]


@pytest.mark.django_db
def test_a_lookup_value_is_checked_by_the_related_field(authors, django_assert_num_queries):
    plan = make_plan(Book, {"author": "author__name"})
    with django_assert_num_queries(0):
        chunk = plan.convert([(2, ["N" * 150])])
    assert [error.message for error in chunk.errors] == [
        "Ensure this value has at most 100 characters (it has 150)."
    ]


@pytest.mark.django_db
def test_foreign_key_lookup_case(authors):
    plan, chunk = run(Book, {"author": "author__name"}, ["terry pratchett"])
    if connection.vendor == "mysql":
        # MySQL compares with a case-insensitive collation: the row it finds is the one meant.
        assert [values[0] for _number, values in chunk.rows] == [authors[1].pk]
    else:
        assert [error.message for error in chunk.errors] == [
            "No author with name “terry pratchett” exists."
        ]
