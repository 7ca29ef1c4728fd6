"""The importer: one transaction, all-or-nothing, progress, cancelling, signals, hooks.

These run on every database leg, through the sink each database uses by default.
"""

import datetime
import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from bulk_admin import signals
from bulk_admin.exceptions import ImportCancelled, MappingError, OptionError
from bulk_admin.importer import Importer, ImportOptions, Progress, import_file
from tests.testapp.models import Author, Book, Event, Review

# A statement writing to a table of the test app (the staging table is not one).
WRITE = re.compile(r"\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+[`\"]?testapp_", re.IGNORECASE)
PAST = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)


def snapshot(*models):
    return {model: list(model.objects.order_by("pk").values()) for model in models}


@pytest.fixture
def finished():
    """The ``(sender, result, using, in_atomic_block)`` of each import_finished signal."""
    store = []

    def receiver(sender, result, using, **kwargs):
        store.append((sender, result, using, connection.in_atomic_block))

    signals.import_finished.connect(receiver)
    yield store
    signals.import_finished.disconnect(receiver)


@pytest.fixture
def library(db):
    """Authors, books and reviews that an import must leave exactly as they were."""
    authors = [Author.objects.create(name=name) for name in ("Ann", "Bob", "Cy")]
    for n in range(5):
        Book.objects.create(
            isbn="old-%d" % n, title="Old %d" % n, author=authors[n % 3], pages=n, notes="n%d" % n
        )
    Book.objects.update(created=PAST, modified=PAST)
    Review.objects.create(book_id="old-0", reviewer="ann", stars=2, text="fine")
    return authors


def book_file(make_csv, count, *, bad_row=None, start=0, existing=()):
    """A CSV of ``count`` new books (plus ``existing`` isbns); ``bad_row`` gets bad pages."""
    rows = [["isbn", "title", "author__name", "pages"]]
    for isbn in existing:
        rows.append([isbn, "Updated " + isbn, "Bob", "77"])
    for n in range(start, start + count):
        rows.append(["new-%d" % n, "New %d" % n, ("Ann", "Bob", "Cy")[n % 3], str(n)])
    if bad_row is not None:
        rows[bad_row - 1][3] = "not a number"
    return make_csv(rows)


# --- all or nothing ------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("policy", ["error", "skip", "update"])
def test_bad_row_in_the_last_chunk_leaves_every_table_as_it_was(make_csv, library, policy):
    before = snapshot(Author, Book, Review)
    existing = ("old-1", "old-3") if policy != "error" else ()
    path = book_file(make_csv, 10, existing=existing, bad_row=2 + len(existing) + 9)
    result = import_file(Book, path, chunk_size=2, batch_size=1, on_conflict=policy)
    assert result.invalid == 1 and not result.committed
    assert [(e.row, e.column) for e in result.errors] == [(2 + len(existing) + 9, "pages")]
    assert snapshot(Author, Book, Review) == before


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("policy", ["error", "update"])
def test_all_or_nothing_outside_any_transaction(make_csv, library, policy):
    before = snapshot(Author, Book, Review)
    existing = ("old-2",) if policy == "update" else ()
    path = book_file(make_csv, 7, existing=existing, bad_row=2 + len(existing) + 6)
    assert not connection.in_atomic_block
    result = import_file(Book, path, chunk_size=3, on_conflict=policy)
    assert (result.invalid, result.committed) == (1, False)
    assert snapshot(Author, Book, Review) == before


@pytest.mark.django_db
def test_key_conflict_and_a_value_the_database_refuses_in_one_chunk(make_csv, library):
    # The taken key makes the import fail as a whole: nothing may be written, so the
    # database never sees the negative stars and the report names the taken key.
    before = snapshot(Book, Review)
    rows = [
        ["book", "reviewer", "stars"],
        ["old-1", "new", "3"],
        ["old-0", "ann", "4"],
        ["old-2", "zed", "-1"],
    ]
    result = import_file(Review, make_csv(rows), chunk_size=10)
    assert (result.invalid, result.committed) == (1, False)
    assert [e.row for e in result.errors] == [3]
    assert snapshot(Book, Review) == before


@pytest.mark.django_db
def test_skip_invalid_writes_valid_rows_and_reports_the_rest(make_csv, library):
    path = book_file(make_csv, 6, bad_row=4)
    result = import_file(Book, path, chunk_size=2, skip_invalid=True)
    assert (result.rows, result.created, result.invalid, result.committed) == (6, 5, 1, True)
    assert result.errors[0].row == 4 and result.errors[0].value == "not a number"
    assert Book.objects.filter(isbn__startswith="new-").count() == 5
    assert not Book.objects.filter(isbn="new-2").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("policy", ["error", "skip", "update"])
def test_dry_run_writes_nothing_and_counts_like_the_commit(make_csv, library, policy):
    before = snapshot(Author, Book, Review)
    path = book_file(make_csv, 5, existing=("old-1",), bad_row=4)
    with CaptureQueriesContext(connection) as queries:
        dry = import_file(
            Book, path, chunk_size=2, on_conflict=policy, skip_invalid=True, dry_run=True
        )
    assert dry.dry_run and not dry.committed
    assert snapshot(Author, Book, Review) == before
    writes = [q["sql"] for q in queries.captured_queries if WRITE.match(q["sql"])]
    assert writes == []
    real = import_file(Book, path, chunk_size=2, on_conflict=policy, skip_invalid=True)
    assert real.committed
    for name in (
        "rows",
        "created",
        "updated",
        "skipped",
        "invalid",
        "errors",
        "mapping",
        "method",
    ):
        assert getattr(dry, name) == getattr(real, name), name
    assert dry.rows == dry.created + dry.updated + dry.skipped + dry.invalid


# --- progress and cancelling ---------------------------------------------------------------------


@pytest.mark.django_db
def test_progress_is_reported_per_chunk_with_growing_counts(make_csv, library):
    path = book_file(make_csv, 10, bad_row=5)
    seen = []
    result = import_file(Book, path, chunk_size=3, skip_invalid=True, progress=seen.append)
    reading = [p for p in seen if p.stage == "reading"]
    assert all(isinstance(p, Progress) for p in seen)
    assert [(p.rows, p.invalid) for p in reading] == [(3, 0), (6, 1), (9, 1), (10, 1)]
    assert [p.stage for p in seen] == ["reading"] * 4 + ["writing"]
    assert seen[-1].rows == 10
    elapsed = [p.elapsed for p in seen]
    assert elapsed == sorted(elapsed)
    assert result.created == 9


@pytest.mark.django_db
def test_progress_without_a_write(make_csv, library):
    seen = []
    import_file(Book, book_file(make_csv, 4), chunk_size=2, dry_run=True, progress=seen.append)
    assert [(p.stage, p.rows) for p in seen] == [("reading", 2), ("reading", 4)]


@pytest.mark.django_db
@pytest.mark.parametrize("stage", ["reading", "writing"])
def test_cancelling_from_the_progress_callback_rolls_everything_back(
    make_csv, library, finished, stage
):
    before = snapshot(Author, Book, Review)
    received = []

    def progress(report):
        received.append(report)
        if report.stage == stage and report.rows >= 6:
            raise ImportCancelled("Stopped by the user.")

    path = book_file(make_csv, 10, existing=("old-1", "old-4"))
    with pytest.raises(ImportCancelled, match="Stopped by the user"):
        import_file(Book, path, chunk_size=3, on_conflict="update", progress=progress)
    assert received[-1].stage == stage
    assert snapshot(Author, Book, Review) == before
    assert finished == []


@pytest.mark.django_db(transaction=True)
def test_cancelling_rolls_back_committed_looking_chunks(make_csv, library):
    before = snapshot(Author, Book, Review)

    def progress(report):
        if report.rows >= 9:
            raise ImportCancelled("cancelled")

    with pytest.raises(ImportCancelled):
        import_file(Book, book_file(make_csv, 12), chunk_size=3, batch_size=2, progress=progress)
    assert snapshot(Author, Book, Review) == before


# --- the import_finished signal ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_import_finished_is_sent_once_per_committed_import(make_csv, library, finished):
    result = import_file(Book, book_file(make_csv, 7), chunk_size=2)
    assert len(finished) == 1
    sender, sent, using, in_atomic = finished[0]
    assert (sender, sent, using) == (Book, result, "default")
    assert sent.committed and sent.created == 7
    # Sent after the transaction committed.
    assert in_atomic is False


@pytest.mark.django_db
def test_import_finished_is_not_sent_without_a_commit(make_csv, library, finished):
    import_file(Book, book_file(make_csv, 3), dry_run=True)
    import_file(Book, book_file(make_csv, 3, bad_row=3))
    import_file(Book, book_file(make_csv, 3, bad_row=3), dry_run=True, skip_invalid=True)
    assert finished == []
    import_file(Book, book_file(make_csv, 3, bad_row=3), skip_invalid=True)
    assert len(finished) == 1 and finished[0][1].created == 2


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_max_errors_caps_the_list_but_not_the_counts(make_csv, library):
    rows = [["isbn", "title", "pages"]] + [
        ["e%d" % n, "T", "bad" if n % 2 else "1"] for n in range(40)
    ]
    result = import_file(Book, make_csv(rows), chunk_size=7, max_errors=5)
    # Nothing was written: a failed real run reports no created rows (issue 7).
    assert (result.rows, result.invalid, result.created) == (40, 20, 0)
    assert len(result.errors) == 5 and result.errors_truncated
    assert [e.row for e in result.errors] == [3, 5, 7, 9, 11]
    uncapped = import_file(Book, make_csv(rows), chunk_size=7)
    assert len(uncapped.errors) == 20 and not uncapped.errors_truncated


@pytest.mark.django_db
def test_max_errors_from_settings(make_csv, library, settings):
    settings.BULK_ADMIN_MAX_ERRORS = 3
    rows = [["isbn", "title", "pages"]] + [["e%d" % n, "T", "bad"] for n in range(10)]
    result = import_file(Book, make_csv(rows))
    assert (result.invalid, len(result.errors), result.errors_truncated) == (10, 3, True)
    # max_errors=0 keeps every error whatever the setting.
    assert len(import_file(Book, make_csv(rows), max_errors=0).errors) == 10


@pytest.mark.django_db
def test_errors_are_sorted_by_row_then_column(make_csv, library):
    rows = [
        ["isbn", "title", "pages", "price"],
        ["a", "", "x", "y"],
        ["old-1", "T", "1", "1"],
        ["b", "T", "-1", "1"],
        ["a", "T", "1", "1"],
    ]
    result = import_file(Book, make_csv(rows), chunk_size=2)
    assert [(e.row, e.column) for e in result.errors] == [
        (2, "pages"),
        (2, "price"),
        (2, "title"),
        (3, "isbn"),
        (4, "pages"),
    ]
    # Row 5 repeats row 2's isbn, but row 2 was invalid and never took it.
    assert result.invalid == 3 and result.created == 0
    assert import_file(Book, make_csv(rows), chunk_size=2, dry_run=True).created == 1


# --- hooks and converters ------------------------------------------------------------------------


@pytest.mark.django_db
def test_chunk_hooks_change_and_reject_rows(make_csv, library):
    calls = []

    def upper_titles(chunk):
        calls.append([row for row, _values in chunk.rows])
        position = chunk.plan.fields.index(Book._meta.get_field("title"))
        for _row, values in chunk.rows:
            values[position] = values[position].upper()

    def no_thirteen(chunk):
        position = chunk.plan.fields.index(Book._meta.get_field("pages"))
        for row, values in list(chunk.rows):
            if values[position] == 13:
                chunk.reject(row, "Unlucky page count.", column="pages", field="pages", value=13)

    path = book_file(make_csv, 15, bad_row=3)
    result = import_file(
        Book, path, chunk_size=4, skip_invalid=True, chunk_hooks=[upper_titles, no_thirteen]
    )
    # Hooks see the converted, valid rows of each chunk; row 3 failed conversion before.
    assert calls == [[2, 4, 5], [6, 7, 8, 9], [10, 11, 12, 13], [14, 15, 16]]
    assert (result.rows, result.created, result.invalid) == (15, 13, 2)
    assert [(e.row, e.column, e.field, e.value, e.message) for e in result.errors] == [
        (3, "pages", "pages", "not a number", result.errors[0].message),
        (15, "pages", "pages", "13", "Unlucky page count."),
    ]
    titles = set(Book.objects.filter(isbn__startswith="new-").values_list("title", flat=True))
    assert titles == {"NEW %d" % n for n in range(15) if n not in (1, 13)}


@pytest.mark.django_db
def test_a_rejected_row_stops_an_all_or_nothing_import(make_csv, library):
    before = snapshot(Book)

    def reject_last(chunk):
        for row, _values in list(chunk.rows):
            if row == 9:
                chunk.reject(row, "No.")

    result = import_file(Book, book_file(make_csv, 8), chunk_size=3, chunk_hooks=[reject_last])
    assert (result.invalid, result.committed) == (1, False)
    assert result.errors[0].column is None and result.errors[0].message == "No."
    assert snapshot(Book) == before


@pytest.mark.django_db
def test_converters_replace_the_conversion_but_validators_still_run(make_csv, library):
    def euros(value):
        text = str(value).replace("€", "").replace(" ", "").replace(",", ".")
        if not text:
            raise ValidationError("“%(value)s” is no price.", params={"value": value})
        return Decimal(text)

    rows = [
        ["isbn", "title", "price"],
        ["p1", "A", "12,50 €"],
        ["p2", "B", "€"],
        ["p3", "C", "1234567,00 €"],  # over max_digits=8, decimal_places=2
        ["p4", "D", ""],  # empty cells keep the field's own rule: NULL
    ]
    result = import_file(Book, make_csv(rows), skip_invalid=True, converters={"price": euros})
    assert result.created == 2
    errors = {e.row: e for e in result.errors}
    assert sorted(errors) == [3, 4]
    assert errors[3].message == "“€” is no price."
    assert "8 digits" in errors[4].message
    prices = dict(Book.objects.filter(isbn__startswith="p").values_list("isbn", "price"))
    assert prices == {"p1": Decimal("12.50"), "p4": None}


@pytest.mark.django_db
def test_converter_for_a_foreign_key_lookup(make_csv, library):
    rows = [["isbn", "title", "author__name"], ["c1", "A", "  ann  "], ["c2", "B", "bob"]]
    result = import_file(
        Book, make_csv(rows), converters={"author": lambda value: value.strip().title()}
    )
    assert result.created == 2, result.errors
    assert dict(Book.objects.filter(isbn__startswith="c").values_list("isbn", "author__name")) == {
        "c1": "Ann",
        "c2": "Bob",
    }


# --- foreign keys --------------------------------------------------------------------------------


def author_queries(queries):
    return [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith("SELECT") and "testapp_author" in q["sql"]
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("dry_run", [False, True])
def test_foreign_key_names_are_looked_up_once_per_import(make_csv, library, dry_run, settings):
    settings.BULK_ADMIN_STREAM_COPY = False  # the streamed COPY loads related keys at once
    Author.objects.create(name="Dee")
    rows = [["isbn", "title", "author__name"]]
    names = [
        "Ann",
        "Bob",
        "Ann",
        "Bob",
        "Bob",
        "Cy",
        "Ann",
        "Nobody",
        "Cy",
        "Ann",
        "Nobody",
        "Dee",
    ]
    rows += [["new-%d" % n, "New %d" % n, name] for n, name in enumerate(names)]
    with CaptureQueriesContext(connection) as queries:
        result = import_file(
            Book, make_csv(rows), chunk_size=4, skip_invalid=True, dry_run=dry_run
        )
    assert (result.created, result.invalid) == (10, 2), result.errors
    assert [error.row for error in result.errors] == [9, 12]
    # Chunk 1 asks for Ann and Bob; chunk 2 only for the names it adds (Cy, Nobody); chunk 3
    # for Nobody again (a name not found is not remembered) and Dee.
    lookups = author_queries(queries)
    assert len(lookups) == 3, lookups
    assert "Ann" not in lookups[1] and "Bob" not in lookups[1] and "Cy" in lookups[1]
    assert "Cy" not in lookups[2] and "Nobody" in lookups[2] and "Dee" in lookups[2]
    if not dry_run:
        authors = dict(
            Book.objects.filter(isbn__startswith="new-").values_list("isbn", "author__name")
        )
        expected = {"new-%d" % n: name for n, name in enumerate(names) if name != "Nobody"}
        assert authors == expected


@pytest.mark.django_db
def test_remembered_foreign_keys_are_bounded(make_csv, library, settings):
    settings.BULK_ADMIN_STREAM_COPY = False
    settings.BULK_ADMIN_PREFETCH_LIMIT = 2  # also the most keys a relation remembers
    rows = [["isbn", "title", "author__name"]]
    rows += [["new-%d" % n, "New %d" % n, ("Ann", "Bob", "Cy")[n % 3]] for n in range(9)]
    with CaptureQueriesContext(connection) as queries:
        result = import_file(Book, make_csv(rows), chunk_size=3)
    assert (result.created, result.invalid) == (9, 0), result.errors
    assert len(author_queries(queries)) == 3  # three names never fit: each chunk asks again
    assert Book.objects.filter(isbn__startswith="new-", author__name="Cy").count() == 3


@pytest.mark.django_db
def test_unknown_natural_keys_are_row_errors(make_csv, library):
    rows = [["isbn", "title", "author__name"], ["u1", "A", "Ann"], ["u2", "B", "Nobody"]]
    result = import_file(Book, make_csv(rows), skip_invalid=True)
    assert (result.created, result.invalid) == (1, 1)
    assert result.errors[0].row == 3
    assert result.errors[0].message == "No author with name “Nobody” exists."
    assert result.errors[0].field == "author__name"


@pytest.mark.django_db
def test_foreign_key_to_a_to_field(make_csv, library):
    # Review.book points at Book.isbn: a bare "book" column holds isbns.
    rows = [
        ["book", "reviewer", "stars"],
        ["old-1", "ann", "4"],
        ["old-9", "bob", "3"],
        ["old-2", "cy", "5"],
    ]
    result = import_file(Review, make_csv(rows), skip_invalid=True, chunk_size=2)
    assert (result.created, result.invalid) == (2, 1)
    assert result.mapping == {"book": "book", "reviewer": "reviewer", "stars": "stars"}
    assert result.errors[0].row == 3 and "old-9" in result.errors[0].message
    assert set(Review.objects.values_list("book_id", "reviewer")) == {
        ("old-0", "ann"),
        ("old-1", "ann"),
        ("old-2", "cy"),
    }
    # The same by an explicit path.
    rows = [["Book ISBN", "Who", "Stars"], ["old-3", "dee", "1"]]
    result = import_file(
        Review,
        make_csv(rows),
        mapping={"Book ISBN": "book__isbn", "Who": "reviewer", "Stars": "stars"},
    )
    assert result.created == 1
    assert Review.objects.get(reviewer="dee").book.title == "Old 3"


@pytest.mark.django_db
def test_foreign_key_by_a_non_unique_field_is_refused(make_csv, library):
    rows = [["book", "reviewer", "stars"], ["Old 1", "ann", "4"]]
    with pytest.raises(MappingError, match="not unique"):
        import_file(
            Review,
            make_csv(rows),
            mapping={"book": "book__title", "reviewer": "reviewer", "stars": "stars"},
        )


# --- composite keys ------------------------------------------------------------------------------


REVIEWS = [
    ["book", "reviewer", "stars", "text"],
    ["old-0", "ann", "5", "changed"],  # 2: the table has (old-0, ann)
    ["old-1", "ann", "1", "first"],  # 3
    ["old-0", "bob", "2", ""],  # 4
    ["old-1", "ann", "3", "second"],  # 5: repeats row 3, in another chunk
    ["old-1", "ann", "4", "third"],  # 6
]


@pytest.mark.django_db
def test_composite_key_update_last_wins_across_chunks(make_csv, library):
    result = import_file(
        Review, make_csv(REVIEWS), keys=["book", "reviewer"], on_conflict="update", chunk_size=2
    )
    assert (result.created, result.updated, result.skipped, result.invalid) == (2, 3, 0, 0)
    reviews = {(r.book_id, r.reviewer): (r.stars, r.text) for r in Review.objects.all()}
    assert reviews == {
        ("old-0", "ann"): (5, "changed"),
        ("old-1", "ann"): (4, "third"),
        ("old-0", "bob"): (2, ""),
    }


@pytest.mark.django_db
def test_composite_key_update_keeps_unmapped_fields(make_csv, library):
    rows = [["book", "reviewer", "stars"], ["old-0", "ann", "1"]]
    result = import_file(Review, make_csv(rows), keys=["book", "reviewer"], on_conflict="update")
    assert result.updated == 1
    review = Review.objects.get()
    assert (review.stars, review.text) == (1, "fine")


@pytest.mark.django_db
def test_composite_key_skip_first_wins_across_chunks(make_csv, library):
    result = import_file(Review, make_csv(REVIEWS), on_conflict="skip", chunk_size=2)
    assert (result.created, result.updated, result.skipped, result.invalid) == (2, 0, 3, 0)
    reviews = {(r.book_id, r.reviewer): (r.stars, r.text) for r in Review.objects.all()}
    assert reviews == {
        ("old-0", "ann"): (2, "fine"),
        ("old-1", "ann"): (1, "first"),
        ("old-0", "bob"): (2, ""),
    }


@pytest.mark.django_db
def test_composite_key_error_across_chunks(make_csv, library):
    before = snapshot(Review)
    result = import_file(Review, make_csv(REVIEWS), chunk_size=2)
    assert (result.created, result.invalid, result.committed) == (0, 3, False)
    messages = {e.row: e.message for e in result.errors}
    assert sorted(messages) == [2, 5, 6]
    assert "already exists" in messages[2]
    assert "row 3" in messages[5] and "row 3" in messages[6]
    assert snapshot(Review) == before


@pytest.mark.django_db
def test_update_by_a_partial_composite_key_is_refused(make_csv, library):
    with pytest.raises(OptionError, match="unique"):
        import_file(Review, make_csv(REVIEWS), keys=["reviewer"], on_conflict="update")


@pytest.mark.django_db
def test_unknown_policy_and_key_are_refused(make_csv, library):
    with pytest.raises(OptionError, match="bogus"):
        import_file(Book, book_file(make_csv, 1), on_conflict="bogus")
    with pytest.raises(OptionError, match="colour"):
        import_file(Book, book_file(make_csv, 1), keys=["colour"])


# --- the Importer object -------------------------------------------------------------------------


@pytest.mark.django_db
def test_importer_with_a_file_object_and_a_name(make_xlsx, library):
    path = make_xlsx([["isbn", "title"], ["x1", "From a stream"]], name="upload.bin")
    with open(path, "rb") as stream:
        importer = Importer("testapp.Book", stream, ImportOptions(), name="upload.xlsx")
        result = importer.run()
    assert result.created == 1
    assert result.file.format == "xlsx"
    assert Book.objects.get(isbn="x1").title == "From a stream"


@pytest.mark.django_db
def test_result_counts_add_up_and_timings_are_kept(make_csv, library):
    path = book_file(make_csv, 6, existing=("old-0",), bad_row=5)
    result = import_file(Book, path, on_conflict="skip", skip_invalid=True, chunk_size=2)
    assert result.rows == result.created + result.updated + result.skipped + result.invalid == 7
    assert (result.created, result.skipped, result.invalid) == (5, 1, 1)
    assert result.duration > 0 and result.rows_per_second > 0
    assert set(result.as_dict()) == {
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


@pytest.mark.django_db
def test_import_inside_an_outer_transaction(make_csv, library):
    # The import's transaction nests as a savepoint: a failed import leaves the outer
    # transaction usable and the work done before it in place.
    with transaction.atomic():
        Author.objects.create(name="Outer")
        result = import_file(Book, book_file(make_csv, 4, bad_row=5), chunk_size=2)
        assert not result.committed
        assert Author.objects.filter(name="Outer").exists()
        assert result.invalid == 1
        result = import_file(Book, book_file(make_csv, 4), chunk_size=2)
        assert result.committed
    assert Book.objects.filter(isbn__startswith="new-").count() == 4


@pytest.mark.django_db
def test_event_without_key_gets_every_row(make_csv, db):
    rows = [["name", "starts"]] + [["Same", "2024-06-01 10:00"]] * 5
    result = import_file(Event, make_csv(rows), chunk_size=2, on_conflict="skip")
    assert (result.created, result.skipped) == (5, 0)
    assert Event.objects.count() == 5


@pytest.mark.mariadb
@pytest.mark.django_db
@pytest.mark.parametrize("policy", ["error", "skip", "update"])
def test_keys_differing_in_case_repeat_where_the_database_ignores_case(make_csv, policy):
    # MariaDB's collation makes "ABC" the same key as "abc": a repeat inside the file,
    # like a row of the table differing in case, follows the policy (not a database error).
    Book.objects.create(isbn="X1", title="Existing")
    rows = [["isbn", "title"], ["abc", "A"], ["ABC", "B"], ["x1", "C"]]
    result = import_file(Book, make_csv(rows), on_conflict=policy, skip_invalid=True)
    titles = dict(Book.objects.values_list("isbn", "title"))
    if policy == "error":
        assert (result.created, result.invalid) == (1, 2)
        assert "row 2" in result.errors[0].message
        assert titles == {"X1": "Existing", "abc": "A"}
    elif policy == "skip":
        assert (result.created, result.skipped) == (1, 2)
        assert titles == {"X1": "Existing", "abc": "A"}
    else:
        assert (result.created, result.updated) == (1, 2)
        assert titles == {"X1": "C", "abc": "B"}


@pytest.mark.django_db
def test_streamed_copy_loads_related_keys_once(make_csv, library, settings):
    """On PostgreSQL (either driver), a clean file goes through one COPY; related keys are
    loaded up front."""
    if connection.vendor != "postgresql":
        pytest.skip("the streamed COPY needs PostgreSQL")
    path = book_file(make_csv, 10)
    with CaptureQueriesContext(connection) as queries:
        result = import_file(Book, path, chunk_size=4)
    assert (result.created, result.method) == (10, "copy")
    assert len(author_queries(queries)) == 2  # one count, one load of (name, id)
    settings.BULK_ADMIN_PREFETCH_LIMIT = 1  # too many authors to load: per-chunk lookups
    Book.objects.filter(isbn__startswith="new-").delete()
    with CaptureQueriesContext(connection) as queries:
        result = import_file(Book, path, chunk_size=4)
    assert result.created == 10
    assert len(author_queries(queries)) == 4  # the count, then one query per chunk


@pytest.mark.django_db
def test_streamed_copy_falls_back_to_every_check(make_csv, library):
    """A taken key stops the streamed COPY; the staged run reports it, the table is untouched."""
    before = sorted(Book.objects.values_list("isbn", "title"))
    path = book_file(make_csv, 10)
    rows = [["isbn", "title", "author__name"], *[["new-%d" % n, "T", "Ann"] for n in range(5)]]
    rows.append(["new-1", "again", "Bob"])
    result = import_file(Book, make_csv(rows, name="dup.csv"), chunk_size=2)
    assert (result.created, result.invalid, result.committed) == (0, 1, False)
    assert [(e.row, e.column) for e in result.errors] == [(7, "isbn")]
    assert sorted(Book.objects.values_list("isbn", "title")) == before
    result = import_file(Book, path, chunk_size=4)
    assert result.created == 10 and result.committed
