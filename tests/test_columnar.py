"""bulk_admin/conversion/columnar.py: column-wise, with the per-cell path's values and errors.

Hypothesis feeds the same generated cells through ``Plan.convert_cells`` (the per-cell
reference) and ``ColumnarPlan.convert`` for every field kind of the test models, and
compares the values, the errors (row, column, field, value, message) and the counts.
"""

import datetime
import json

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st

from bulk_admin.conversion import Plan
from bulk_admin.conversion.columnar import ColumnarChunk, copy_arrays, copy_csv
from bulk_admin.conversion.columns import _CellColumn, _VectorColumn
from bulk_admin.conversion.kinds import _JSON
from bulk_admin.mapping import build_mapping
from bulk_admin.reading import ReadingOptions
from bulk_admin.sinks.copy import _copy_formatter
from tests.testapp.models import Author, Book, Event, Host, Item, Review

# (model, field path) for every kind the package converts; the per-cell-only kinds too.
FIELDS = [
    (Book, "isbn"),  # CharField(max_length=13), required
    (Book, "title"),
    (Book, "price"),  # DecimalField(8, 2), null
    (Book, "published"),  # DateField, null
    (Book, "in_stock"),  # BooleanField, default
    (Book, "pages"),  # PositiveIntegerField, null
    (Book, "rating"),  # FloatField, null
    (Book, "genre"),  # CharField with choices, blank
    (Book, "website"),  # URLField: URLValidator, certain URLs column-wise
    (Book, "metadata"),  # JSONField, null: certain objects and arrays column-wise
    (Book, "notes"),  # TextField, blank
    (Author, "email"),  # EmailField, blank
    (Author, "born"),
    (Event, "starts"),  # DateTimeField with USE_TZ (Europe/Paris)
    (Event, "duration"),
    (Event, "at"),
    (Event, "attendees"),  # IntegerField, default 0
    (Event, "ref"),  # UUIDField, null
    (Review, "stars"),  # SmallIntegerField, required
    (Item, "nickname"),  # CharField, null
    (Item, "quantity"),
    (Item, "active"),
    (Item, "restocked"),  # DateTimeField, null
    (Item, "opens"),  # TimeField, null
    (Host, "slug"),  # SlugField: validate_slug
    (Host, "address"),  # GenericIPAddressField: certain IPv4 addresses column-wise
    (Host, "ipv4"),
    (Host, "ipv6"),  # protocol="IPv6": per cell
    (Host, "site"),  # URLField(max_length=300)
]

SPACES = st.sampled_from(["", " ", "\t", "\xa0", "\u2003", "\x1c", "\n"])
NUMBER_TEXT = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.decimals(allow_nan=True, allow_infinity=True, places=None).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.builds(
        lambda whole, places: "%s.%s" % (whole, places),
        st.integers(min_value=-(10**8), max_value=10**8),
        st.text("0123456789", min_size=0, max_size=4),
    ),
)
DATE_TEXT = st.one_of(
    st.dates().map(lambda day: day.isoformat()),
    st.builds(
        lambda y, m, d: "%04d-%02d-%02d" % (y, m, d),
        st.integers(0, 9999),
        st.integers(0, 13),
        st.integers(0, 32),
    ),
    st.datetimes().map(lambda moment: moment.isoformat(sep=" ")),
)
WORDS = st.sampled_from(
    ["true", "False", "YES", "no", "1", "0", "on", "Off", "x", "T", "maybe", "2", "-1", "07"]
)
EMAILS = st.one_of(
    st.emails().map(str),
    st.sampled_from(["a@b", "a..b@example.com", "x@localhost", "ann@example.com", "@x.org"]),
)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=False)
    | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=8,
)
JSON_TEXT = st.builds(
    lambda value, ascii, separators: json.dumps(value, ensure_ascii=ascii, separators=separators),
    JSON_VALUES,
    st.booleans(),
    st.sampled_from([(", ", ": "), (",", ":"), (" , ", " : "), (",\n", ":\t")]),
)
CLOCK_TEXT = st.one_of(
    st.times().map(lambda moment: moment.isoformat()),
    st.times().map(lambda moment: moment.isoformat(timespec="minutes")),
    st.builds(
        lambda h, m, s, f: "%02d:%02d:%02d.%s" % (h, m, s, f),
        st.integers(0, 25),
        st.integers(0, 61),
        st.integers(0, 61),
        st.text("0123456789", min_size=1, max_size=8),
    ),
    st.sampled_from(["24:00", "9:05", "10:00:00Z", "10:00:00+01:00", "10:00,5", "1:2:3"]),
)
MOMENT_TEXT = st.one_of(
    st.builds(
        lambda moment, sep, spec: moment.isoformat(sep=sep, timespec=spec),
        st.datetimes(),
        st.sampled_from([" ", "T"]),
        st.sampled_from(["auto", "minutes", "seconds", "milliseconds", "microseconds"]),
    ),
    # Around the changes of time in Paris (2:00 to 3:00 does not exist, 2:00 to 3:00 twice).
    st.builds(
        lambda day, minute: "%s %02d:%02d" % (day, 1 + minute // 60, minute % 60),
        st.sampled_from(["2024-03-31", "2024-10-27", "2055-03-28", "2055-10-31", "1890-06-01"]),
        st.integers(0, 179),
    ),
    st.datetimes(timezones=st.just(datetime.timezone(datetime.timedelta(hours=5)))).map(
        lambda moment: moment.isoformat()
    ),
    st.builds(lambda day, clock: day + " " + clock, DATE_TEXT, CLOCK_TEXT),
    st.sampled_from(["9999-12-31 23:59", "0001-01-01 00:00", "1000-01-01 00:00:00.1"]),
)
DURATION_TEXT = st.one_of(
    st.timedeltas().map(str),
    st.builds(
        lambda d, h, m, s, f: "%s%s:%s:%s%s" % (d, h, m, s, f),
        st.sampled_from(["", "0 ", "1 ", "-1 ", "12345 ", "999999 ", "1000000 ", "3 days, "]),
        st.integers(0, 120).map(str),
        st.integers(0, 99).map(lambda value: "%02d" % value),
        st.integers(0, 99).map(lambda value: "%02d" % value),
        st.sampled_from(["", ".5", ".000001", ".1234567", ",5", ".000000"]),
    ),
    st.sampled_from(["04:05", "3600", "P1DT2H", "-00:00:01", "1 day, 0:00:00"]),
)
IDENTITY_TEXT = st.one_of(
    st.uuids().map(str),
    st.uuids().map(lambda value: str(value).upper()),
    st.uuids().map(lambda value: value.hex),
    st.uuids().map(lambda value: "{%s}" % value),
    st.ip_addresses().map(str),
    st.sampled_from(["01.2.3.4", "256.1.1.1", "1.2.3", "::ffff:1.2.3.4", "fe80::1%eth0"]),
    st.from_regex(r"\A[-a-zA-Z0-9_]{1,60}\Z"),
    st.builds(
        lambda scheme, host, port, path: scheme + "://" + host + port + path,
        st.sampled_from(["http", "https", "HTTPS", "ftp", "ftps", "mailto", "file", "h", "httpſ"]),
        st.one_of(
            st.from_regex(r"\A[a-z0-9-]{1,64}(\.[a-z0-9-]{1,64}){0,3}\.[a-z0-9-]{1,8}\Z"),
            st.sampled_from(
                ["localhost", "127.0.0.1", "[::1]", "xn--bcher-kva.example", "é.fr", "\u212a.org"]
            ),
        ),
        st.sampled_from(["", ":80", ":99999", ":123456", ":"]),
        st.one_of(st.just(""), st.text(max_size=12).map(lambda text: "/" + text)),
    ),
    st.builds(
        lambda label: "http://" + ".".join([label] * 5) + ".com",
        st.text("ab", min_size=60, max_size=63),
    ),
)
CELL_TEXT = st.one_of(
    JSON_TEXT,
    CLOCK_TEXT,
    MOMENT_TEXT,
    DURATION_TEXT,
    IDENTITY_TEXT,
    NUMBER_TEXT,
    DATE_TEXT,
    WORDS,
    EMAILS,
    st.text(max_size=20),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    st.sampled_from(["fiction", "poetry", "history", '{"a": 1}', "[1, 2]", "null", "\x00"]),
)
CELL = st.one_of(
    st.none(),
    SPACES,
    st.builds(lambda before, text, after: before + text + after, SPACES, CELL_TEXT, SPACES),
    CELL_TEXT,  # as a clean file has it: mostly certain cells
)


def make_plan(model, name, **options):
    mapping = {"col": name}
    return Plan(build_mapping(["col"], model, mapping, require=False), using="default", **options)


def csv_formatters(plan):
    return [_copy_formatter(field, str) for field in plan.fields]


def count_calls(plan):
    """The cells given to the per-cell converter of the plan's first column, from now on."""
    column = plan.columnar.columns[0].column
    calls = []
    convert = column.convert
    column.convert = lambda value: calls.append(value) or convert(value)
    return calls


def compare(plan, cells):
    rows = [(number, [cell]) for number, cell in enumerate(cells, start=2)]
    try:
        expected = plan.convert_cells(rows)
    except (OverflowError, ValueError) as error:
        # A per-cell converter bug (a huge duration overflows timedelta): the same failure.
        with pytest.raises(type(error)):
            plan.columnar.convert(rows)
        return
    got = plan.columnar.convert(rows)
    width = len(plan.mapped_fields)  # unmapped fields may hold callable defaults (uuid4)
    assert [(n, values[:width]) for n, values in got.rows] == [
        (n, values[:width]) for n, values in expected.rows
    ]
    # Same types too: Decimal("1.50") == 1.5 would hide a float.
    assert [[type(v) for v in values[:width]] for _n, values in got.rows] == [
        [type(v) for v in values[:width]] for _n, values in expected.rows
    ]
    # And the same time zone and fold: equal date-times may differ in both.
    assert [[_zone_and_fold(v) for v in values[:width]] for _n, values in got.rows] == [
        [_zone_and_fold(v) for v in values[:width]] for _n, values in expected.rows
    ]
    assert [e.as_dict() for e in got.errors] == [e.as_dict() for e in expected.errors]
    assert got.invalid == expected.invalid


def _zone_and_fold(value):
    return getattr(value, "tzinfo", None), getattr(value, "fold", 0)


@pytest.mark.parametrize(("model", "name"), FIELDS, ids=[f"{m.__name__}.{n}" for m, n in FIELDS])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cells=st.lists(CELL, min_size=1, max_size=30))
@example(cells=["12.5", "012", " 3", "2024-02-30", "0000-01-01", "1e3", "", None, "\x00"])
def test_columnar_matches_per_cell(model, name, cells):
    compare(make_plan(model, name), cells)


@given(cells=st.lists(CELL, min_size=1, max_size=30))
@settings(max_examples=50, deadline=None)
def test_custom_converter_and_empty_rule_keep_the_per_cell_path(cells):
    plan = make_plan(
        Book,
        "title",
        converters={"title": lambda value: value.upper()},
        empty_cells={"title": lambda: "untitled"},
    )
    assert isinstance(plan.columnar.columns[0], _CellColumn)
    compare(plan, cells)


def test_known_kinds_are_vectorised_and_unknown_ones_are_not():
    kinds = {
        name: type(make_plan(model, name).columnar.columns[0]).__name__ for model, name in FIELDS
    }
    vectorised = {name for name, kind in kinds.items() if kind == _VectorColumn.__name__}
    assert vectorised == {
        "isbn",
        "title",
        "price",
        "published",
        "in_stock",
        "pages",
        "rating",
        "genre",
        "metadata",
        "notes",
        "email",
        "born",
        "attendees",
        "stars",
        "nickname",
        "quantity",
        "active",
        "website",
        "starts",
        "duration",
        "at",
        "ref",
        "restocked",
        "opens",
        "slug",
        "address",
        "ipv4",
        "site",
    }


# Cells of each newly vectorised kind that Arrow converts without the per-cell converter.
CERTAIN = [
    (Event, "starts", ["2024-03-01 10:00", "2024-07-01T23:59:59.5", "1999-12-31 00:00:00"]),
    (Item, "restocked", ["2024-10-27 04:00:00.123456", "2055-07-01 12:00"]),
    (Item, "opens", ["09:30", "23:59:59", "00:00:00.000001"]),
    (Item, "restocked", [datetime.datetime(2024, 3, 1, 10), datetime.datetime(2055, 7, 1, 9, 5)]),
    (Item, "opens", [datetime.time(9, 30), datetime.time(23, 59, 59, 1)]),
    (Event, "duration", ["01:30:00", "2 03:04:05.5", "0 00:00:00"]),
    (
        Event,
        "ref",
        ["0f8fad5b-d9cb-469f-a165-70867728950e", "0F8FAD5B-D9CB-469F-A165-70867728950E"],
    ),
    (Host, "slug", ["a-b_c", "x1"]),
    (Host, "address", ["192.168.0.1", "8.8.8.8"]),
    (Host, "ipv4", ["10.0.0.255"]),
    (Book, "website", ["https://example.com", "http://a.b.example.org:8080/path?q=1#x"]),
]


@pytest.mark.parametrize(
    ("model", "name", "cells"), CERTAIN, ids=["%s-%d" % (c[1], i) for i, c in enumerate(CERTAIN)]
)
def test_certain_cells_skip_the_per_cell_converter(model, name, cells):
    plan = make_plan(model, name)
    calls = count_calls(plan)
    compare(plan, cells)
    assert calls == cells  # the reference run only: the column-wise one called nothing


TEXT_STORED = [
    (Event, "starts"),
    (Item, "restocked"),
    (Item, "opens"),
    (Event, "duration"),
    (Event, "ref"),
]


@pytest.mark.parametrize(("model", "name"), TEXT_STORED, ids=[n for _m, n in TEXT_STORED])
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cells=st.lists(CELL, min_size=1, max_size=30))
@example(cells=["2024-03-01 10:00", "1890-06-01 12:00", "2024-07-01T10:00:00.5", "x"])
def test_text_kept_for_copy_is_what_copy_gets_from_the_per_cell_values(model, name, cells):
    """Date-times, times, durations and UUIDs are kept as text for COPY: the text the COPY
    sink's formatter writes for the per-cell path's values, byte for byte."""
    plan = make_plan(model, name)
    rows = [(number, [cell]) for number, cell in enumerate(cells, start=2)]
    got = plan.columnar.convert(rows)
    expected = plan.convert_cells(rows)
    formatters = csv_formatters(plan)
    assert isinstance(got, ColumnarChunk) and got.columns is not None
    assert copy_csv(copy_arrays(got, formatters)[:1]) == copy_csv(
        copy_arrays(expected, formatters)[:1]
    )


# What an XLSX reader gives besides text: typed cells, mixed with text cells.
TYPED_CELL = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=-3, max_value=3),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-1e6, max_value=1e6).map(round).map(float),
    # Prices as a spreadsheet stores them: 2 places, or a sum's binary noise (0.1 + 0.2).
    st.floats(min_value=-1e9, max_value=1e9).map(lambda value: round(value, 2)),
    st.builds(lambda a, b: a + b, st.sampled_from([0.1, 0.2, 1.1, 556.69, 10.0]), st.floats(0, 9)),
    st.dates(),
    st.datetimes(),
    st.datetimes(timezones=st.just(datetime.timezone.utc)),
    st.decimals(allow_nan=False, places=2, min_value=-1000, max_value=1000),
    st.times(),
    st.timedeltas(),
    st.uuids(),
    CELL,
)


@pytest.mark.parametrize(("model", "name"), FIELDS, ids=[f"{m.__name__}.{n}" for m, n in FIELDS])
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cells=st.lists(TYPED_CELL, min_size=1, max_size=30))
@example(cells=[1.0, 2, True, 0, 2.0**53, 2.0**53 + 2, 2**63, -(2**63), 1.5, None, "7"])
@example(cells=[datetime.date(2024, 2, 29), datetime.datetime(2024, 1, 1), None, "2024-01-02"])
@example(cells=[556.6900000000001, 0.1 + 0.2, 1e20, 1e-7, -0.0, 123456.789, 1.005, 12, -3, 10**9])
def test_typed_cells_match_per_cell(model, name, cells):
    compare(make_plan(model, name), cells)


# A column whose typed cells are all of one class, as a clean sheet gives: converted by Arrow
# in one call (bulk_admin.conversion.kinds._native_array).
ONE_CLASS = st.one_of(
    *(
        st.lists(st.one_of(st.none(), cells), min_size=1, max_size=30)
        for cells in (
            st.integers(min_value=-(2**64), max_value=2**64),
            st.integers(min_value=-(2**63), max_value=2**63 - 1),
            st.floats(allow_nan=True, allow_infinity=True),
            st.booleans(),
            st.dates(),
            st.datetimes(),
            st.times(),
        )
    )
)


@pytest.mark.parametrize(("model", "name"), FIELDS, ids=[f"{m.__name__}.{n}" for m, n in FIELDS])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cells=ONE_CLASS)
@example(cells=[2**63 - 1, -(2**63), None, 0])
@example(cells=[2**63, 1])
@example(cells=[float("inf"), float("nan"), -0.0, 1.5, None])
@example(cells=[None, None])
@example(
    cells=[
        datetime.datetime(2024, 3, 1, 10, 0, 0, 500000),
        datetime.datetime(2024, 3, 31, 2, 30),  # does not exist in Paris
        datetime.datetime(2024, 10, 27, 2, 30),  # twice in Paris
        datetime.datetime(2055, 7, 1, 12, 0),
        datetime.datetime(1850, 1, 1),  # local mean time: +00:09:21
        datetime.datetime(9999, 12, 31, 23, 0),
        None,
    ]
)
@example(cells=[datetime.datetime(2024, 10, 27, 2, 30, fold=1), datetime.datetime(2024, 1, 1)])
def test_typed_columns_of_one_class_match_per_cell(model, name, cells):
    compare(make_plan(model, name), cells)


def test_typed_xlsx_cells_take_the_per_cell_path():
    import datetime
    import decimal

    compare(make_plan(Book, "price"), [decimal.Decimal("1.5"), 2, 3.25, "4.00", None])
    compare(make_plan(Book, "published"), [datetime.date(2024, 1, 2), "2024-01-03", 5.0])


def test_errors_keep_spreadsheet_row_numbers():
    plan = make_plan(Book, "pages")
    rows = [(2, ["1"]), (5, ["x"]), (9, ["-3"]), (10, ["4"])]
    chunk = plan.columnar.convert(rows)
    assert [(e.row, e.column, e.field, e.value) for e in chunk.errors] == [
        (5, "col", "pages", "x"),
        (9, "col", "pages", "-3"),
    ]
    assert [n for n, _values in chunk.rows] == [2, 10]


@pytest.mark.django_db
@pytest.mark.parametrize("prefetch", [False, True], ids=["per-chunk", "prefetched"])
def test_foreign_keys_resolved_like_the_per_cell_path(prefetch):
    ann = Author.objects.create(name="Ann")
    Author.objects.create(name="Bob")
    mapping = {"isbn": "isbn", "author": "author__name"}
    plan = Plan(build_mapping(list(mapping), Book, mapping, require=False), using="default")
    if prefetch:
        assert plan.prefetch_relations(100)
    rows = [
        (2, ["1", "Ann"]),
        (3, ["2", "Nobody"]),
        (4, ["", "Nobody"]),  # invalid isbn: no lookup error on top
        (5, ["4", ""]),
        (6, ["5", " Bob "]),
        (7, ["6", "ann"]),  # found on MariaDB only (case-insensitive collation)
        (8, ["7", "Ann"]),
    ]
    expected = plan.convert_cells(rows)
    got = plan.columnar.convert(rows)
    assert [(n, v[:2]) for n, v in got.rows] == [(n, v[:2]) for n, v in expected.rows]
    assert sorted(e.as_dict().items() for e in got.errors) == sorted(
        e.as_dict().items() for e in expected.errors
    )
    assert got.invalid == expected.invalid
    assert got.rows[0][1][1] == ann.pk


def test_rows_are_built_on_demand_and_then_written():
    plan = make_plan(Book, "pages")
    chunk = plan.columnar.convert([(2, ["1"]), (3, ["2"])])
    assert isinstance(chunk, ColumnarChunk) and chunk.columns is not None
    arrays = copy_arrays(chunk, csv_formatters(plan))
    assert isinstance(arrays[0], pa.Array)
    chunk.rows[0][1][0] = 7  # a chunk hook changing a value
    assert chunk.columns is None
    text = copy_csv(copy_arrays(chunk, csv_formatters(plan))).decode()
    assert text.splitlines()[0].startswith('"7",')  # COPY reads a quoted number too


def test_copy_csv_tells_null_from_empty_text():
    plan = make_plan(Book, "notes")
    chunk = plan.columnar.convert([(2, ['a,"b"\nc']), (3, [""])])
    data = copy_csv([copy_arrays(chunk, csv_formatters(plan))[0], pa.array([None, 1])])
    # Quoted "" is an empty text, an unquoted empty field is NULL (COPY ... FORMAT csv).
    assert data.decode() == '"a,""b""\nc",\n"",1\n'


@pytest.mark.postgres
@pytest.mark.django_db
@settings(max_examples=200, deadline=None)
@given(text=JSON_TEXT)
def test_certain_json_text_is_stored_as_the_per_cell_path_stores_it(text):
    """The column-wise path writes a certain JSON cell as it is; the per-cell path writes
    json.dumps(json.loads(cell)). PostgreSQL's jsonb must store the same value for both."""
    import pyarrow.compute as pc
    from django.db import connection

    if not pc.match_substring_regex(pa.array([text]), _JSON)[0].as_py():
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT %s::jsonb::text, %s::jsonb::text", [text, json.dumps(json.loads(text))]
        )
        as_is, per_cell = cursor.fetchone()
    assert as_is == per_cell


def test_certain_json_patterns():
    certain = ['{"channel": "web", "items": 4}', "[]", ' {"a": [1, {"b": null}]}\n', '{"": "é"}']
    uncertain = ["null", "1", '"text"', '{"a": 1.5}', '{"a": "\\u00e9"}', '{"a": 01}', "{'a': 1}"]
    import pyarrow.compute as pc

    matches = pc.match_substring_regex(pa.array(certain + uncertain), _JSON).to_pylist()
    assert matches == [True] * len(certain) + [False] * len(uncertain)


READINGS = [
    ReadingOptions(null_values=("NA", "-")),
    ReadingOptions(decimal_separator=",", thousands_separator="."),
    ReadingOptions(decimal_separator=",", thousands_separator=" "),
    ReadingOptions(true_values=("ja",), false_values=("nein",)),
    ReadingOptions(date_formats=("%d/%m/%Y",)),
]


@pytest.mark.parametrize(
    "reading", READINGS, ids=["nulls", "separators", "spaces", "words", "dates"]
)
@pytest.mark.parametrize(
    ("model", "name"),
    [
        (Book, "isbn"),
        (Book, "price"),
        (Book, "pages"),
        (Book, "rating"),
        (Book, "in_stock"),
        (Book, "published"),
    ],
    ids=["isbn", "price", "pages", "rating", "in_stock", "published"],
)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cells=st.lists(
        st.one_of(
            CELL,
            st.sampled_from(["NA", " - ", "1.234,5", "1,5", "ja", "NEIN", "31/12/2024"]),
            st.sampled_from(["1 234,5", "1\xa0234", "12\u202f345,67", " 1 2 ", "1,2,3", ",5"]),
            st.builds(
                lambda number, sep: f"{number:,}".replace(",", sep),
                st.integers(-(10**9), 10**9),
                st.sampled_from([".", " ", "\xa0", ""]),
            ),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_reading_options_give_the_per_cell_values(reading, model, name, cells):
    compare(make_plan(model, name, reading=reading), cells)


def test_extra_boolean_words_are_read_column_wise():
    reading = ReadingOptions(true_values=("ja", "Oui"), false_values=("nein",))
    plan = make_plan(Book, "in_stock", reading=reading)
    calls = count_calls(plan)
    cells = ["ja", "JA", "Ja", "oui", "NEIN", "true", "no"]
    compare(plan, cells)
    assert calls == cells  # the reference run only
    uncertain = ["jA", " ja", "maybe"]
    compare(plan, uncertain)
    assert calls[len(cells) :] == uncertain + uncertain


def test_separators_are_applied_column_wise():
    reading = ReadingOptions(decimal_separator=",", thousands_separator=".")
    plan = make_plan(Book, "price", reading=reading)
    calls = count_calls(plan)
    cells = ["1.234,5", "12,00", "999.999,99"]
    compare(plan, cells)
    assert calls == cells  # the reference run only


@pytest.mark.parametrize(
    ("model", "name", "uncertain"),
    [(Book, "pages", ["n/a"]), (Book, "isbn", []), (Event, "starts", ["n/a"])],
)
def test_null_markers_are_found_column_wise(model, name, uncertain):
    plan = make_plan(model, name, reading=ReadingOptions(null_values=("NA", "-")))
    assert isinstance(plan.columnar.columns[0], _VectorColumn)
    calls = count_calls(plan)
    cells = ["NA", "-", "NA ", "n/a"]
    compare(plan, cells)
    # The reference run hands every cell to its converter (which looks for markers); the
    # column-wise one none of the markers, even padded: only an uncertain other cell.
    assert calls == [*cells, *uncertain]


UTC_NOON = datetime.datetime(2020, 1, 1, 12, tzinfo=datetime.timezone.utc)


@pytest.mark.parametrize(
    ("model", "name", "default"),
    [
        (Event, "starts", UTC_NOON),  # another time zone than the current one
        (Event, "starts", datetime.datetime(2020, 1, 1, 12)),  # naive, kept naive per cell
        (Event, "starts", "2020-01-01 00:00"),  # a text, given as it is
        (Book, "uid", "12345678-1234-5678-1234-567812345678"),  # a text, not a UUID
        (Event, "attendees", "5"),  # a text for an integer field
    ],
    ids=["aware", "naive", "text", "uuid-text", "integer-text"],
)
def test_a_constant_default_the_storage_would_change_goes_per_cell(model, name, default):
    field = model._meta.get_field(name)
    saved = field.default
    field.__dict__.pop("_get_default", None)
    field.default = default
    try:
        compare(make_plan(model, name), ["", None, "2024-03-01 10:00", "  "])
    finally:
        field.default = saved
        field.__dict__.pop("_get_default", None)


def test_an_offset_that_falls_in_a_second_fold_keeps_its_fold(settings):
    settings.USE_TZ = False  # the per-cell path makes it naive: 02:30, the second time
    compare(make_plan(Event, "starts"), ["2024-10-27T01:30:00+00:00", "2024-03-01 10:00"])


def test_choices_of_a_kind_kept_as_text_go_per_cell():
    field = Event._meta.get_field("ref")
    saved = field.choices
    field.choices = [("0f8fad5b-d9cb-469f-a165-70867728950e", "one")]
    try:
        plan = make_plan(Event, "ref")
        assert isinstance(plan.columnar.columns[0], _CellColumn)
        compare(plan, ["0f8fad5b-d9cb-469f-a165-70867728950e", "x"])
    finally:
        field.choices = saved


@pytest.mark.parametrize(("model", "name"), [(Host, "site"), (Book, "website")])
def test_urls_whose_letters_fold_in_unicode_go_per_cell(model, name):
    # "ſ" (long s) and "K" (Kelvin sign) fold to ASCII letters in Unicode case folding.
    compare(make_plan(model, name), ["httpſ://example.com", "ftpſ://a.org", "http://\u212a.org"])
