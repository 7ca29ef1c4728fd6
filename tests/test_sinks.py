"""The writers: PostgreSQL COPY (straight and staged) and batched bulk_create.

COPY tests carry ``@pytest.mark.postgres`` and run on both PostgreSQL legs (psycopg2 and
psycopg 3); nothing here depends on the driver. The bulk_create tests run on every database.
"""

import csv
import datetime
import io
import json
import math
import uuid
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from bulk_admin.exceptions import DatabaseRejected
from bulk_admin.importer import import_file
from tests.testapp.models import Author, Book, Event, Review

# Every character COPY's text format treats specially, and a few it must leave alone.
AWKWARD_TEXTS = [
    "tab\there",
    "two\tt\tabs\t",
    "new\nline",
    "carriage\rreturn",
    "windows\r\nline end",
    "\n\nleading newlines",
    "back\\slash",
    "trailing backslash\\",
    "\\",
    "\\\\",
    "\\N",
    "\\n is not a newline",
    "\\t is not a tab",
    "C:\\new\\table\\Nope",
    "a\\.b",
    "\\.",
    "ends with dot\n\\.",
    "vertical\x0btab and form\x0cfeed and bell\x07",
    "unicode: é ü ß 日本語 Ελληνικά עברית 🎉",
    "line\u2028separator",
    "  spaces kept  ",
    "\"quoted\" and 'single'",
    "delimiter, comma; semicolon | pipe",
]
AWKWARD_JSON = [
    {"path": "C:\\dir\\file.txt", "quote": 'say "hi"'},
    {"escapes": "\\n\\t\\N", "real": "a\nb\tc\rd", "unicode": "é🎉\u2028"},
    ["\\", "\\\\", "\\N", None, 1.5, True],
    "just a string with \\ backslash",
    "",
    {},
    [],
    0,
]
COMPARED_FIELDS = [
    "isbn",
    "title",
    "author_id",
    "price",
    "published",
    "in_stock",
    "pages",
    "rating",
    "genre",
    "website",
    "metadata",
    "uid",
    "notes",
]


def book_rows(with_json=True):
    """A header and rows mixing the awkward texts into every text-like column."""
    header = ["isbn", "title", "notes", "metadata", "price", "published", "in_stock", "uid"]
    rows = [header]
    for number, text in enumerate(AWKWARD_TEXTS):
        metadata = json.dumps(AWKWARD_JSON[number % len(AWKWARD_JSON)]) if with_json else ""
        rows.append(
            [
                "isbn-%03d" % number,
                text,
                text + "|" + text,
                metadata,
                "%d.%02d" % (number, number),
                "2024-01-%02d" % (number % 28 + 1),
                "yes" if number % 2 else "no",
                str(uuid.UUID(int=number + 1)),
            ]
        )
    # Empty cells: NULL for nullable fields, "" for blank text.
    rows.append(["isbn-empty", "Empty cells", "", "", "", "", "", str(uuid.UUID(int=999))])
    return rows


def quoted_csv(make_csv, rows):
    """Write ``rows`` with every cell quoted, as Excel does for cells holding a line end.

    (Python's csv module before 3.12 leaves a cell holding a lone CR unquoted.)
    """
    buffer = io.StringIO()
    csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(rows)
    return make_csv(None, raw=buffer.getvalue())


def table(model, fields):
    return list(model.objects.order_by(*fields[:1]).values_list(*fields))


def run_both_sinks(make_csv, model, rows, fields, **options):
    """Import ``rows`` through COPY and through bulk_create; return both tables."""
    path = quoted_csv(make_csv, rows)
    tables = {}
    for sink in ("copy", "bulk_create"):
        result = import_file(model, path, sink=sink, **options)
        assert result.method == sink
        assert (result.invalid, result.errors) == (0, []), result.errors
        assert result.created == len(rows) - 1
        tables[sink] = table(model, fields)
        model.objects.all().delete()
    return tables


# --- COPY: escaping ------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db
def test_copy_escapes_text_exactly_as_bulk_create_writes_it(make_csv):
    rows = book_rows()
    tables = run_both_sinks(make_csv, Book, rows, COMPARED_FIELDS)
    assert tables["copy"] == tables["bulk_create"]
    written = {row[0]: row for row in tables["copy"]}
    for number, text in enumerate(AWKWARD_TEXTS):
        row = written["isbn-%03d" % number]
        assert row[1] == text  # title
        assert row[12] == text + "|" + text  # notes
        assert row[10] == AWKWARD_JSON[number % len(AWKWARD_JSON)]  # metadata


@pytest.mark.postgres
@pytest.mark.django_db
def test_copy_writes_null_and_empty_string_apart(make_csv):
    rows = book_rows()
    tables = run_both_sinks(make_csv, Book, rows, COMPARED_FIELDS)
    assert tables["copy"] == tables["bulk_create"]
    import_file(Book, quoted_csv(make_csv, rows), sink="copy")
    empty = Book.objects.get(isbn="isbn-empty")
    assert empty.notes == ""  # blank text: an empty string, not NULL
    assert empty.metadata is None and empty.price is None and empty.published is None
    assert Book.objects.filter(notes__isnull=True).count() == 0
    assert Book.objects.filter(metadata__isnull=True).count() == 1
    # The literal text \N is text, never NULL.
    literal = Book.objects.get(title="\\N")
    assert literal.notes == "\\N|\\N"
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM testapp_book WHERE title = %s", ["\\N"])
        assert cursor.fetchone()[0] == 1
        cursor.execute("SELECT count(*) FROM testapp_book WHERE metadata IS NULL")
        assert cursor.fetchone()[0] == 1


@pytest.mark.postgres
@pytest.mark.django_db
def test_copy_of_every_field_kind_equals_bulk_create(make_csv, authors):
    header = [
        "isbn",
        "title",
        "author__name",
        "price",
        "published",
        "in_stock",
        "pages",
        "rating",
        "genre",
        "website",
        "metadata",
        "uid",
        "notes",
    ]
    rows = [
        header,
        [
            "1",
            "All kinds",
            "Terry Pratchett",
            "123456.78",
            "1999-12-31",
            "true",
            "512",
            "4.25",
            "fiction",
            "https://example.com/a?b=c&d=e",
            '{"a": [1, 2.5, null, "x"], "b": {"c": false}}',
            "12345678-1234-5678-1234-567812345678",
            "Notes\twith\ttabs",
        ],
        ["2", "Tiny", "", "0.01", "0001-01-01", "0", "0", "-0.5", "", "", "null", "", ""],
        [
            "3",
            "Huge",
            "Octavia E. Butler",
            "999999.99",
            "9999-12-31",
            "Y",
            "2147483647",
            "1e300",
            "science",
            "",
            "[]",
            "",
            "x" * 100_000,
        ],
    ]
    fields = COMPARED_FIELDS[:-2] + ["notes"]  # uid is random when empty
    tables = run_both_sinks(make_csv, Book, rows, fields)
    assert tables["copy"] == tables["bulk_create"]
    first = tables["copy"][0]
    assert first[2] == authors[1].pk
    assert first[3] == Decimal("123456.78")
    assert first[10] == {"a": [1, 2.5, None, "x"], "b": {"c": False}}


@pytest.mark.postgres
@pytest.mark.django_db
def test_copy_of_events_durations_times_and_aware_datetimes(make_csv):
    rows = [
        ["name", "starts", "duration", "at", "attendees", "ref"],
        [
            "Winter",
            "2024-01-15 09:30",
            "1 02:03:04.5",
            "23:59:59.999999",
            "12",
            str(uuid.UUID(int=7)),
        ],
        ["Summer", "2024-07-15T09:30:00+05:30", "-1 day, 0:00:01", "00:00", "-3", ""],
        ["Spring", "2024-03-31 03:30", "P3DT4H", "", "", ""],
    ]
    fields = ["name", "starts", "duration", "at", "attendees", "ref"]
    tables = run_both_sinks(make_csv, Event, rows, fields)
    assert tables["copy"] == tables["bulk_create"]
    by_name = {row[0]: row for row in tables["copy"]}
    utc = datetime.timezone.utc
    assert by_name["Winter"][1] == datetime.datetime(2024, 1, 15, 8, 30, tzinfo=utc)
    assert by_name["Summer"][1] == datetime.datetime(2024, 7, 15, 4, 0, tzinfo=utc)
    assert by_name["Winter"][2] == datetime.timedelta(days=1, hours=2, minutes=3, seconds=4.5)
    assert by_name["Summer"][2] == datetime.timedelta(days=-1, seconds=1)
    assert by_name["Summer"][4] == -3
    assert by_name["Spring"][4] == 0  # the model default


# --- COPY: straight or staged --------------------------------------------------------------------


def copy_statements(queries):
    return [q["sql"] for q in queries.captured_queries]


@pytest.mark.postgres
@pytest.mark.django_db
def test_copy_without_a_key_goes_straight_into_the_table(make_csv):
    rows = [["name", "starts"], ["Same", "2024-01-01 10:00"], ["Same", "2024-01-01 10:00"]]
    with CaptureQueriesContext(connection) as queries:
        result = import_file(Event, make_csv(rows))
    assert (result.method, result.created) == ("copy", 2)
    sql = " ".join(copy_statements(queries))
    assert "TEMPORARY" not in sql.upper()
    assert "INSERT" not in sql.upper()
    assert Event.objects.filter(name="Same").count() == 2


@pytest.mark.postgres
@pytest.mark.django_db
def test_copy_with_a_key_goes_through_a_staging_table(make_csv, settings):
    settings.BULK_ADMIN_STREAM_COPY = False  # else a clean file streams straight in
    rows = [["isbn", "title"], ["2", "B"], ["1", "A"]]
    with CaptureQueriesContext(connection) as queries:
        result = import_file(Book, make_csv(rows))
    assert (result.method, result.created) == ("copy", 2)
    statements = copy_statements(queries)
    assert any("CREATE TEMPORARY TABLE" in sql for sql in statements)
    inserts = [sql for sql in statements if sql.startswith("INSERT INTO")]
    assert len(inserts) == 1
    assert "ORDER BY" in inserts[0] and "ON CONFLICT" not in inserts[0]
    assert dict(Book.objects.values_list("isbn", "title")) == {"1": "A", "2": "B"}
    # The staging table is temporary and gone at the end of the transaction; the table
    # keeps its indexes and constraints.
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_indexes WHERE tablename = 'testapp_book'")
        assert cursor.fetchone()[0] >= 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_staging_table_is_dropped_after_commit(make_csv):
    import_file(Book, make_csv([["isbn", "title"], ["1", "A"]]))
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_class WHERE relname LIKE 'bulk_admin_stage_%%'")
        assert cursor.fetchone()[0] == 0
    assert Book.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize("sink", ["copy", "bulk_create"])
def test_on_conflict_skip_through_staging(make_csv, sink):
    Book.objects.create(isbn="1", title="Existing", notes="kept")
    rows = [["isbn", "title"], ["1", "Ignored"], ["2", "First"], ["2", "Second"], ["3", "Third"]]
    with CaptureQueriesContext(connection) as queries:
        result = import_file(Book, make_csv(rows), on_conflict="skip", sink=sink)
    assert (result.created, result.updated, result.skipped, result.invalid) == (2, 0, 2, 0)
    assert dict(Book.objects.values_list("isbn", "title")) == {
        "1": "Existing",
        "2": "First",
        "3": "Third",
    }
    assert Book.objects.get(isbn="1").notes == "kept"
    if sink == "copy":
        inserts = [sql for sql in copy_statements(queries) if sql.startswith("INSERT INTO")]
        assert len(inserts) == 1 and "ON CONFLICT DO NOTHING" in inserts[0]


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize("sink", ["copy", "bulk_create"])
def test_on_conflict_update_through_staging(make_csv, sink):
    existing = Book.objects.create(isbn="1", title="Existing", notes="kept", pages=10)
    Book.objects.filter(pk=existing.pk).update(
        created=datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc),
        modified=datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc),
    )
    rows = [
        ["isbn", "title", "pages"],
        ["2", "First", "1"],
        ["1", "Updated once", "2"],
        ["2", "Second", ""],
        ["1", "Updated twice", "3"],
    ]
    with CaptureQueriesContext(connection) as queries:
        result = import_file(Book, make_csv(rows), on_conflict="update", sink=sink)
    assert (result.created, result.updated, result.skipped, result.invalid) == (1, 3, 0, 0)
    books = {b.isbn: b for b in Book.objects.all()}
    assert (books["1"].title, books["1"].pages, books["1"].notes) == ("Updated twice", 3, "kept")
    assert (books["2"].title, books["2"].pages) == ("Second", None)
    assert books["1"].pk == existing.pk
    assert books["1"].created.year == 2000
    assert books["1"].modified.year > 2000
    if sink == "copy":
        inserts = [sql for sql in copy_statements(queries) if "INSERT INTO" in sql]
        assert any('ON CONFLICT ("isbn") DO UPDATE' in sql for sql in inserts)


@pytest.mark.postgres
@pytest.mark.django_db
def test_on_conflict_error_found_in_the_staging_table(make_csv):
    Book.objects.create(isbn="1", title="Existing")
    rows = [["isbn", "title"], ["1", "Taken"], ["2", "First"], ["3", "Other"], ["2", "Repeat"]]
    result = import_file(Book, make_csv(rows), sink="copy", skip_invalid=True, chunk_size=2)
    assert (result.created, result.invalid) == (2, 2)
    assert [(e.row, e.column, e.value) for e in result.errors] == [
        (2, "isbn", "1"),
        (5, "isbn", "2"),
    ]
    assert "already exists" in result.errors[0].message
    assert "row 3" in result.errors[1].message
    assert dict(Book.objects.values_list("isbn", "title")) == {
        "1": "Existing",
        "2": "First",
        "3": "Other",
    }


@pytest.mark.postgres
@pytest.mark.django_db
def test_composite_key_update_through_staging(make_csv):
    Book.objects.create(isbn="b1", title="B1")
    Review.objects.create(book_id="b1", reviewer="ann", stars=1, text="kept")
    rows = [
        ["book", "reviewer", "stars"],
        ["b1", "ann", "4"],
        ["b1", "bob", "2"],
        ["b1", "ann", "5"],
    ]
    result = import_file(Review, make_csv(rows), sink="copy", on_conflict="update", chunk_size=1)
    assert (result.created, result.updated) == (1, 2)
    reviews = {r.reviewer: (r.stars, r.text) for r in Review.objects.all()}
    assert reviews == {"ann": (5, "kept"), "bob": (2, "")}


# --- sequences -----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, reset_sequences=True)
@pytest.mark.parametrize("sink", ["copy", "bulk_create"])
@pytest.mark.parametrize(
    "model, rows",
    [
        (Author, [["id", "name"], ["1", "One"], ["2", "Two"], ["5", "Five"]]),
        (
            Event,
            [
                ["id", "name", "starts"],
                ["1", "One", "2024-01-01"],
                ["2", "Two", "2024-01-01"],
                ["5", "Five", "2024-01-01"],
            ],
        ),
    ],
)
def test_create_works_after_explicit_ids(make_csv, sink, model, rows):
    if sink == "copy" and connection.vendor != "postgresql":
        pytest.skip("COPY needs PostgreSQL")
    result = import_file(model, make_csv(rows), sink=sink)
    assert (result.created, result.committed) == (3, True)
    extra = (
        {"starts": datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)}
        if model is Event
        else {}
    )
    created = [model.objects.create(name="Next %d" % n, **extra) for n in range(3)]
    assert all(obj.pk > 5 for obj in created)
    assert model.objects.count() == 6


@pytest.mark.django_db(transaction=True, reset_sequences=True)
@pytest.mark.parametrize("sink", ["copy", "bulk_create"])
def test_create_works_after_updating_by_explicit_ids(make_csv, sink):
    if sink == "copy" and connection.vendor != "postgresql":
        pytest.skip("COPY needs PostgreSQL")
    Author.objects.create(name="First")  # id 1
    rows = [["id", "name"], ["1", "Renamed"], ["2", "Two"], ["3", "Three"]]
    result = import_file(Author, make_csv(rows), sink=sink, on_conflict="update")
    assert (result.created, result.updated) == (2, 1)
    assert Author.objects.create(name="Four").pk == 4


# --- the database refuses ------------------------------------------------------------------------


def sinks_here():
    return ["copy", "bulk_create"] if connection.vendor == "postgresql" else ["bulk_create"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("policy", ["error", "skip", "update"])
def test_check_constraint_rejected_by_the_database_leaves_every_table_untouched(make_csv, policy):
    for isbn in ("b1", "b2", "b3"):
        Book.objects.create(isbn=isbn, title=isbn.upper())
    Review.objects.create(book_id="b1", reviewer="ann", stars=3, text="kept")
    Author.objects.create(name="Bystander")
    before = {
        model: list(model.objects.order_by("pk").values()) for model in (Author, Book, Review)
    }
    # SmallIntegerField accepts -1, so conversion lets it through; the CHECK constraint
    # stars_not_negative does not. It stands in the last chunk.
    rows = [["book", "reviewer", "stars"]]
    rows += [["b%d" % (n % 3 + 1), "reader %d" % n, str(n % 5)] for n in range(12)]
    if policy != "error":  # an existing key would make an invalid row, and no write
        rows.append(["b1", "ann", "4"])
    rows.append(["b2", "zed", "-1"])
    for sink in sinks_here():
        with pytest.raises(DatabaseRejected) as caught:
            import_file(
                Review, make_csv(rows), sink=sink, on_conflict=policy, chunk_size=4, batch_size=3
            )
        message = str(caught.value)
        assert "stars_not_negative" in message or "constraint" in message.lower(), message
        assert "nothing was written" in message
        assert "\n" not in message
        for model, rows_before in before.items():
            assert list(model.objects.order_by("pk").values()) == rows_before, (sink, model)


@pytest.mark.django_db(transaction=True)
def test_not_null_rejected_on_the_straight_path(make_csv):
    Event.objects.create(
        name="Before", starts=datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
    )
    before = list(Event.objects.values())

    def break_last_row(chunk):
        # A hook may set values the database refuses; conversion cannot catch those.
        if chunk.rows and chunk.rows[-1][0] == 9:
            position = chunk.plan.fields.index(Event._meta.get_field("starts"))
            chunk.rows[-1][1][position] = None

    rows = [["name", "starts"]] + [["E%d" % n, "2024-02-01"] for n in range(8)]
    for sink in sinks_here():
        with pytest.raises(DatabaseRejected) as caught:
            import_file(
                Event, make_csv(rows), sink=sink, chunk_size=3, chunk_hooks=[break_last_row]
            )
        assert "nothing was written" in str(caught.value)
        assert list(Event.objects.values()) == before


# --- two keys in one row: both sinks decide alike -----------------------------------------------

TWO_KEYS = [
    ["id", "name"],
    ["101", "x"],  # 2
    ["102", "x"],  # 3: name taken by row 2
    ["102", "y"],  # 4: id seen on row 3, although row 3 is not written
    ["103", "Existing"],  # 5: name taken by the table
    ["104", "Existing"],  # 6
    ["104", "z"],  # 7: id seen on row 6
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "policy, created, skipped, invalid, names",
    [
        ("skip", 1, 5, 0, ["Existing", "x"]),
        ("error", 1, 0, 5, ["Existing", "x"]),
    ],
)
def test_rows_with_two_keys_are_judged_alike_by_every_sink(
    make_csv, policy, created, skipped, invalid, names
):
    Author.objects.create(id=1, name="Existing")
    for sink in sinks_here():
        result = import_file(
            Author,
            make_csv(TWO_KEYS),
            sink=sink,
            on_conflict=policy,
            skip_invalid=True,
            chunk_size=2,
        )
        assert (result.created, result.skipped, result.invalid) == (created, skipped, invalid), (
            sink
        )
        assert sorted(Author.objects.values_list("name", flat=True)) == names, sink
        if policy == "error":
            assert sorted({e.row for e in result.errors}) == [3, 4, 5, 6, 7]
        Author.objects.exclude(id=1).delete()


# --- bulk_create: batches ------------------------------------------------------------------------


def inserts_into(queries, table):
    return [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith("INSERT") and table in q["sql"]
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "rows, batch_size, chunk_size, statements",
    [
        (25, 10, 100, 3),  # 10 + 10 + 5
        (25, 10, 7, 4),  # chunks of 7, 7, 7, 4 rows, each in one batch
        (25, 1, 100, 25),
        (25, 50, 100, 1),
        (0, 10, 100, 0),
    ],
)
def test_bulk_create_honours_the_batch_size(make_csv, rows, batch_size, chunk_size, statements):
    data = [["name", "starts"]] + [["E%d" % n, "2024-02-01 10:00"] for n in range(rows)]
    with CaptureQueriesContext(connection) as queries:
        result = import_file(
            Event, make_csv(data), sink="bulk_create", batch_size=batch_size, chunk_size=chunk_size
        )
    assert result.created == rows
    assert len(inserts_into(queries, "testapp_event")) == statements
    assert Event.objects.count() == rows


@pytest.mark.django_db
def test_bulk_create_batch_size_from_settings(make_csv, settings):
    settings.BULK_ADMIN_BATCH_SIZE = 4
    data = [["name", "starts"]] + [["E%d" % n, "2024-02-01 10:00"] for n in range(10)]
    with CaptureQueriesContext(connection) as queries:
        import_file(Event, make_csv(data), sink="bulk_create")
    assert len(inserts_into(queries, "testapp_event")) == math.ceil(10 / 4)


@pytest.mark.django_db
def test_bulk_create_updates_in_batches(make_csv):
    for n in range(6):
        Book.objects.create(isbn=str(n), title="Old %d" % n, notes="kept")
    data = [["isbn", "title"]] + [[str(n), "New %d" % n] for n in range(10)]
    with CaptureQueriesContext(connection) as queries:
        result = import_file(
            Book, make_csv(data), sink="bulk_create", on_conflict="update", batch_size=4
        )
    assert (result.created, result.updated) == (4, 6)
    # 4 new rows in one batch, 6 updates in two.
    assert len(inserts_into(queries, "testapp_book")) == 3
    assert sorted(Book.objects.values_list("title", flat=True)) == [
        "New %d" % n for n in range(10)
    ]
    assert set(Book.objects.values_list("notes", flat=True)) == {"kept", ""}


@pytest.mark.django_db
def test_bulk_create_dry_run_writes_nothing(make_csv):
    data = [["name", "starts"]] + [["E%d" % n, "2024-02-01 10:00"] for n in range(5)]
    with CaptureQueriesContext(connection) as queries:
        result = import_file(Event, make_csv(data), sink="bulk_create", dry_run=True)
    assert (result.created, result.committed, result.dry_run) == (5, False, True)
    assert inserts_into(queries, "testapp_event") == []
    assert Event.objects.count() == 0


@pytest.mark.django_db
def test_bulk_create_keeps_awkward_text(make_csv):
    result = import_file(Book, quoted_csv(make_csv, book_rows()), sink="bulk_create")
    assert result.invalid == 0, result.errors
    titles = set(Book.objects.values_list("title", flat=True))
    assert set(AWKWARD_TEXTS) <= titles


@pytest.mark.django_db
def test_copy_sink_refused_off_postgresql(make_csv):
    if connection.vendor == "postgresql":
        pytest.skip("COPY is available")
    from bulk_admin.exceptions import OptionError

    with pytest.raises(OptionError, match="PostgreSQL"):
        import_file(Event, make_csv([["name", "starts"]]), sink="copy")


@pytest.mark.django_db
def test_method_is_reported(make_csv):
    result = import_file(Event, make_csv([["name", "starts"], ["A", "2024-01-01"]]))
    assert result.method == ("copy" if connection.vendor == "postgresql" else "bulk_create")


@pytest.mark.postgres
@pytest.mark.django_db
def test_clean_file_streams_in_one_copy_into_the_table(make_csv):
    rows = [["isbn", "title"], *[[str(n), "T%d" % n] for n in range(25)]]
    with CaptureQueriesContext(connection) as queries:
        result = import_file(Book, make_csv(rows), chunk_size=10)
    assert (result.method, result.created, result.committed) == ("copy", 25, True)
    statements = " ".join(q["sql"] for q in queries.captured_queries)
    assert "CREATE TEMPORARY TABLE" not in statements and "INSERT INTO" not in statements
    assert Book.objects.count() == 25


# --- bulk_create: rows inserted without model instances ------------------------------------------

BOOK_KINDS = [
    ["isbn", "title", "author__name", "price", "published", "in_stock", "pages", "rating"]
    + ["genre", "website", "metadata", "notes"],
    ["1", "All kinds", "Terry Pratchett", "123456.78", "1999-12-31", "true", "512", "4.25"]
    + ["fiction", "https://example.com/a?b=c", '{"a": [1, 2.5, null], "b": {"c": false}}', "t\tn"],
    ["2", "Tiny", "", "0.01", "0001-01-01", "0", "0", "-0.5", "", "", "null", ""],
    ["3", "Huge", "Octavia E. Butler", "999999.99", "9999-12-31", "Y", "2147483647", "1e300"]
    + ["science", "", "[]", "x" * 10_000],
    ["4", "Empty", "", "", "", "", "", "", "", "", "", ""],
]
EVENT_KINDS = [
    ["name", "starts", "duration", "at", "attendees", "ref"],
    ["Winter", "2024-01-15 09:30", "1 02:03:04.5", "23:59:59.999999", "12", str(uuid.UUID(int=7))],
    ["Summer", "2024-07-15T09:30:00+05:30", "-1 day, 0:00:01", "00:00", "-3", ""],
    ["Spring", "2024-03-31 03:30", "P3DT4H", "", "", ""],
]


def both_writes(monkeypatch, write):
    """Run ``write()`` with the direct INSERT, then with Django's bulk_create of instances."""
    from bulk_admin.sinks import bulk_create as module

    results = {"direct": write()}
    monkeypatch.setattr(module, "direct_insert_allowed", lambda plan: False)
    results["instances"] = write()
    monkeypatch.undo()
    return results


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("model", "rows", "fields"),
    [
        (Book, BOOK_KINDS, COMPARED_FIELDS[:-2] + ["notes", "in_stock"]),
        (Event, EVENT_KINDS, ["name", "starts", "duration", "at", "attendees", "ref"]),
    ],
    ids=["book", "event"],
)
def test_direct_insert_stores_what_bulk_create_stores(
    make_csv, authors, monkeypatch, model, rows, fields
):
    path = quoted_csv(make_csv, rows)

    def write():
        model.objects.all().delete()
        result = import_file(model, path, sink="bulk_create")
        assert (result.created, result.invalid) == (len(rows) - 1, 0), result.errors
        return table(model, fields)

    tables = both_writes(monkeypatch, write)
    assert tables["direct"] == tables["instances"]
    assert len(tables["direct"]) == len(rows) - 1


@pytest.mark.django_db
@pytest.mark.parametrize("policy", ["skip", "update"])
def test_direct_insert_skips_and_updates_as_bulk_create_does(
    make_csv, authors, monkeypatch, policy
):
    fields = ["isbn", "title", "author_id", "price", "in_stock", "modified"]
    first = make_csv(
        [["isbn", "title", "price"], *[[str(n), "Old %d" % n, "1.00"] for n in range(6)]],
        name="first.csv",
    )
    second = make_csv(
        [
            ["isbn", "title", "author__name", "price", "in_stock"],
            *[[str(n), "New %d" % n, "Terry Pratchett", "2.50", "no"] for n in range(3, 9)],
            ["4", "Newer 4", "", "3.75", "yes"],  # the same key twice: the last row wins
        ],
        name="second.csv",
    )

    def write():
        Book.objects.all().delete()
        assert import_file(Book, first, sink="bulk_create").created == 6
        result = import_file(Book, second, sink="bulk_create", on_conflict=policy, keys=["isbn"])
        rows = table(Book, fields)
        return (result.created, result.updated, result.skipped), [row[:-1] for row in rows]

    results = both_writes(monkeypatch, write)
    assert results["direct"] == results["instances"]
    counts, rows = results["direct"]
    assert counts == ((3, 0, 4) if policy == "skip" else (3, 4, 0))
    titles = {row[0]: row[1] for row in rows}
    assert titles["4"] == ("Old 4" if policy == "skip" else "Newer 4")
    assert titles["8"] == "New 8"


@pytest.mark.django_db
def test_direct_insert_adapts_values_of_another_type_as_bulk_create(make_csv, monkeypatch):
    """A converter hook may return 12.0 for an integer, 1 for a boolean, a lazy text."""
    from django.utils.functional import lazystr

    path = make_csv(
        [
            ["isbn", "title", "pages", "in_stock", "price"],
            ["1", "A", "12", "yes", "1.5"],
            ["2", "B", "", "no", "1.50"],
            ["3", "C", "7", "no", "1.5"],
        ]
    )
    hooks = {
        "pages": lambda value: float(value) if value else None,
        "in_stock": lambda value: 1 if value == "yes" else 0,
        "title": lazystr,
        # Equal decimals written with other digits: each is adapted as itself.
        "price": lambda value: Decimal(value) if value else None,
    }

    def write():
        Book.objects.all().delete()
        result = import_file(Book, path, sink="bulk_create", converters=hooks)
        assert (result.created, result.invalid) == (3, 0), result.errors
        return table(Book, ["isbn", "title", "pages", "in_stock", "price"])

    tables = both_writes(monkeypatch, write)
    assert tables["direct"] == tables["instances"]
    assert tables["direct"] == [
        ("1", "A", 12, True, Decimal("1.5")),
        ("2", "B", None, False, Decimal("1.5")),
        ("3", "C", 7, False, Decimal("1.5")),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("policy", ["error", "skip", "update"])
def test_keys_found_by_plain_sql_and_by_the_orm_agree(make_csv, policy):
    """Text keys holding str values are looked up with a plain SELECT; others with the ORM."""
    from django.utils.functional import lazystr

    for isbn in ("k1", "k2", "K3"):
        Book.objects.create(isbn=isbn, title="Old")
    rows = [["isbn", "title"], ["k1", "A"], ["k3", "B"], ["k4", "C"], ["k4", "D"], ["k2", "E"]]
    path = make_csv(rows)
    results = []
    for hooks in ({}, {"isbn": lazystr}):  # a lazy string: not a str, so the ORM path
        with transaction.atomic():
            result = import_file(
                Book,
                path,
                sink="bulk_create",
                on_conflict=policy,
                keys=["isbn"],
                skip_invalid=True,
                converters=hooks,
            )
            results.append(
                (
                    result.created,
                    result.updated,
                    result.skipped,
                    result.invalid,
                    [(error.row, error.message) for error in result.errors],
                    table(Book, ["isbn", "title"]),
                )
            )
            transaction.set_rollback(True)
    assert results[0] == results[1]
    created, updated, skipped, invalid = results[0][:4]
    taken = 2 if connection.vendor != "mysql" else 3  # MySQL: "k3" is "K3"
    assert updated + skipped + invalid == taken + 1  # and the second "k4"


@pytest.mark.django_db
def test_a_field_with_its_own_pre_save_goes_through_bulk_create(make_csv):
    from bulk_admin.conversion import Plan
    from bulk_admin.mapping import build_mapping
    from bulk_admin.sinks.bulk_create import direct_insert_allowed
    from tests.testapp.models import Label

    path = make_csv([["code", "text"], ["a", "quiet"], ["b", ""]])
    result = import_file(Label, path, sink="bulk_create")
    assert (result.created, result.invalid) == (2, 0), result.errors
    assert dict(Label.objects.values_list("code", "text")) == {"a": "QUIET", "b": ""}
    update = import_file(
        Label,
        make_csv([["code", "text"], ["a", "louder"]], name="u.csv"),
        sink="bulk_create",
        on_conflict="update",
        keys=["code"],
    )
    assert update.updated == 1
    assert Label.objects.get(code="a").text == "LOUDER"
    label = Plan(build_mapping(["code", "text"], Label), using="default")
    assert not direct_insert_allowed(label)
    events = Plan(build_mapping(["name", "starts"], Event), using="default")
    assert direct_insert_allowed(events) is (connection.vendor != "postgresql")


@pytest.mark.django_db
def test_mapped_auto_now_fields_get_now_as_bulk_create_gives_them(make_csv, monkeypatch):
    from bulk_admin.conversion import Plan
    from bulk_admin.mapping import build_mapping
    from bulk_admin.sinks.bulk_create import direct_insert_allowed

    path = make_csv(
        [["isbn", "title", "created", "modified"], ["1", "A", "2001-02-03", "2001-02-03"]]
    )
    mapped = Plan(build_mapping(["isbn", "title", "created"], Book), using="default")
    assert not direct_insert_allowed(mapped)
    before = datetime.datetime.now(datetime.timezone.utc)
    result = import_file(Book, path, sink="bulk_create")
    assert (result.created, result.invalid) == (1, 0), result.errors
    book = Book.objects.get()
    assert book.created >= before and book.modified >= before  # pre_save's "now"


@pytest.mark.django_db
def test_a_field_that_writes_none_its_own_way_is_adapted(make_csv, monkeypatch):
    from tests.testapp.models import Note

    path = make_csv([["code", "body"], ["a", ""], ["b", "text"]])

    def write():
        Note.objects.all().delete()
        assert import_file(Note, path, sink="bulk_create").created == 2
        return table(Note, ["code", "body"])

    tables = both_writes(monkeypatch, write)
    assert tables["direct"] == tables["instances"] == [("a", ""), ("b", "text")]


@pytest.mark.django_db
def test_a_batch_holding_an_expression_is_written_by_bulk_create(make_csv, monkeypatch):
    from django.db.models import Value

    path = make_csv([["isbn", "title", "in_stock"], ["1", "A", "yes"], ["2", "B", "no"]])
    hooks = {"in_stock": lambda value: Value(value == "yes")}  # compiled only by the ORM

    def write():
        Book.objects.all().delete()
        result = import_file(Book, path, sink="bulk_create", converters=hooks)
        assert (result.created, result.invalid) == (2, 0), result.errors
        return table(Book, ["isbn", "in_stock"])

    tables = both_writes(monkeypatch, write)
    assert tables["direct"] == tables["instances"] == [("1", True), ("2", False)]


@pytest.mark.django_db
def test_a_proxy_model_takes_the_direct_insert(make_csv):
    from bulk_admin.conversion import Plan
    from bulk_admin.mapping import build_mapping
    from bulk_admin.sinks.bulk_create import direct_insert_allowed
    from tests.testapp.models import Note, NoteProxy

    plan = Plan(build_mapping(["code"], NoteProxy), using="default")
    assert direct_insert_allowed(plan) is (connection.vendor != "postgresql")
    result = import_file(NoteProxy, make_csv([["code"], ["p1"]]), sink="bulk_create")
    assert result.created == 1 and Note.objects.get().code == "p1"


@pytest.mark.django_db
def test_a_foreign_key_to_the_imported_table_is_looked_up_by_every_chunk(make_csv):
    """An update renames a row that a later chunk names: that chunk must not find it."""
    from tests.testapp.models import Note

    first = Note.objects.create(code="A")
    second = Note.objects.create(code="B")
    rows = [["id", "code", "parent__code"]]
    rows += [[str(first.pk), "A", "B"], [str(second.pk), "B2", ""], [str(first.pk), "A", "B"]]
    # bulk_create writes chunk by chunk (COPY checks the whole file against the table as it was).
    result = import_file(
        Note,
        make_csv(rows),
        chunk_size=1,
        keys=["id"],
        on_conflict="update",
        skip_invalid=True,
        sink="bulk_create",
    )
    assert result.updated == 2, result.errors
    assert [(error.row, error.message) for error in result.errors] == [
        (4, "No note with code “B” exists.")
    ]
