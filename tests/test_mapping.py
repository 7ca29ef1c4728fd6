"""Stage 2, map: bulk_admin/mapping.py — which column feeds which field."""

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from bulk_admin.exceptions import MappingError
from bulk_admin.mapping import (
    build_mapping,
    importable_fields,
    is_required,
    normalize,
    parse_map_options,
    propose_mapping,
    resolve_path,
    suggest_fields,
)
from bulk_admin.sources import open_source
from tests.testapp.models import Author, Book, Event, Review

DATA = Path(__file__).parent / "data"


def mapping_error(*args, **kwargs):
    """Return the message of the MappingError ``build_mapping(*args, **kwargs)`` raises."""
    with pytest.raises(MappingError) as excinfo:
        build_mapping(*args, **kwargs)
    message = str(excinfo.value)
    assert message[0].isupper() or message[0] == "“", message
    assert message.endswith((".", "?")), message
    return message


# --- normalising headers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I.S.B.N.", "isbn"),
        ("  In_Stock ", "instock"),
        ("Publication-Date", "publicationdate"),
        ("publication date", "publicationdate"),
        ("Price (€)", "price"),
        ("ÉDITEUR", "éditeur"),
        ("Straße", "strasse"),
        ("", ""),
    ],
)
def test_normalize(text, expected):
    assert normalize(text) == expected


# --- proposals --------------------------------------------------------------------------------


def test_proposal_ignores_case_spaces_underscores_and_punctuation():
    headers = [
        "I.S.B.N.",
        "  TITLE ",
        "Publication-Date",
        "in stock",
        "Page_s",
        "WEB SITE",
        "meta data",
    ]
    assert propose_mapping(headers, Book) == {
        "I.S.B.N.": "isbn",
        "  TITLE ": "title",
        "Publication-Date": "published",
        "in stock": "in_stock",
        "Page_s": "pages",
        "WEB SITE": "website",
        "meta data": "metadata",
    }


def test_proposal_by_verbose_name():
    # Book.isbn is "ISBN", Book.published is "publication date".
    assert propose_mapping(["Isbn", "Publication Date", "published"], Book) == {
        "Isbn": "isbn",
        "Publication Date": "published",
    }


def test_proposal_skips_unknown_and_empty_headers():
    assert propose_mapping(["isbn", "", "Colour", "title"], Book) == {
        "isbn": "isbn",
        "title": "title",
    }


def test_each_field_is_proposed_for_its_first_column_only():
    assert propose_mapping(["Title", "title", "TITLE"], Book) == {"Title": "title"}
    assert propose_mapping(["in stock", "in-stock"], Book) == {"in stock": "in_stock"}


def test_proposal_of_foreign_keys():
    assert propose_mapping(["author"], Book) == {"author": "author"}
    assert propose_mapping(["author_id"], Book) == {"author_id": "author"}
    # A unique field of the related model: "Author name" looks the author up by name.
    assert propose_mapping(["Author name"], Book) == {"Author name": "author__name"}
    assert propose_mapping(["author-id"], Book) == {"author-id": "author"}
    # Author.email is not unique: it cannot identify an author, so it is not proposed.
    assert propose_mapping(["Author e-mail"], Book) == {}


def test_proposal_of_a_foreign_key_to_a_to_field():
    assert propose_mapping(["Book", "Reviewer", "STARS", "text"], Review) == {
        "Book": "book",
        "Reviewer": "reviewer",
        "STARS": "stars",
        "text": "text",
    }
    assert propose_mapping(["Book ISBN"], Review) == {"Book ISBN": "book__isbn"}


def test_proposal_with_aliases():
    aliases = {"Code": "isbn", "Name of the book": "title", "Writer": "author__name"}
    assert propose_mapping(
        ["CODE", "name of the book", "writer", "pages"], Book, aliases=aliases
    ) == {
        "CODE": "isbn",
        "name of the book": "title",
        "writer": "author__name",
        "pages": "pages",
    }


def test_aliases_win_over_field_names():
    assert propose_mapping(["notes"], Book, aliases={"Notes": "title"}) == {"notes": "title"}


def test_proposal_with_fk_lookups():
    assert propose_mapping(["Author", "isbn"], Book, fk_lookups={"author": "name"}) == {
        "Author": "author__name",
        "isbn": "isbn",
    }


def test_proposal_within_the_allowed_fields():
    fields = importable_fields(Book, exclude=["notes", "author"])
    assert propose_mapping(["isbn", "notes", "author", "Author name"], Book, fields=fields) == {
        "isbn": "isbn"
    }


# --- importable fields ------------------------------------------------------------------------


def test_importable_fields_are_the_concrete_fields_in_model_order():
    assert list(importable_fields(Book)) == [field.name for field in Book._meta.concrete_fields]
    assert list(importable_fields(Book, include=["title", "isbn"])) == ["isbn", "title"]
    assert "notes" not in importable_fields(Book, exclude=["notes"])
    # Reverse relations are not fields of the model's table.
    assert "book" not in importable_fields(Author)
    assert "review" not in importable_fields(Book)


@pytest.mark.parametrize(
    ("include", "message"),
    [
        (
            ["isbn", "colour"],
            "bulk_import_fields names colour, which is not a concrete field of testapp.Book.",
        ),
        (
            ["colour", "review", "isbn"],
            "bulk_import_fields names colour, review, "
            "which are not concrete fields of testapp.Book.",
        ),
    ],
)
def test_unknown_included_fields_are_a_configuration_error(include, message):
    with pytest.raises(ImproperlyConfigured) as excinfo:
        importable_fields(Book, include=include)
    assert str(excinfo.value) == message


@pytest.mark.parametrize(
    ("model", "required"),
    [
        (Book, ["isbn", "title"]),
        (Author, ["name"]),
        (Event, ["name", "starts"]),
        (Review, ["book", "reviewer", "stars"]),
    ],
)
def test_required_fields(model, required):
    assert [field.name for field in model._meta.concrete_fields if is_required(field)] == required


# --- field paths ------------------------------------------------------------------------------


def test_resolve_a_plain_field():
    target = resolve_path(Book, "pages")
    assert target.field is Book._meta.get_field("pages")
    assert target.lookup is None
    assert not target.is_relation
    assert target.label == "Pages"


@pytest.mark.parametrize("path", ["author", "author_id", "author__id"])
def test_a_bare_foreign_key_looks_up_the_related_primary_key(path):
    target = resolve_path(Book, path)
    assert target.field is Book._meta.get_field("author")
    assert target.lookup is Author._meta.get_field("id")
    assert target.is_relation
    assert target.path == ("author__id" if path == "author__id" else "author")


def test_a_foreign_key_by_a_unique_field():
    target = resolve_path(Book, "author__name")
    assert target.path == "author__name"
    assert target.lookup is Author._meta.get_field("name")
    assert target.label == "Author (name)"


def test_a_bare_foreign_key_with_to_field_looks_up_that_field():
    target = resolve_path(Review, "book")
    assert target.lookup is Book._meta.get_field("isbn")
    assert target.label == "Book"
    assert resolve_path(Review, "book__id").label == "Book (ID)"


@pytest.mark.parametrize(
    ("model", "path", "message"),
    [
        (Book, "colour", "Book has no field “colour” that can be imported."),
        (Author, "book", "Author has no field “book” that can be imported."),
        (Author, "book_set", "Author has no field “book_set” that can be imported."),
        (
            Book,
            "title__name",
            "“title” is not a foreign key, so “title__name” cannot look anything up.",
        ),
        (
            Book,
            "author__email",
            "“author__email” cannot identify one author: email is not unique. "
            "Use a unique field of author: id, name.",
        ),
        (
            Review,
            "book__title",
            "“book__title” cannot identify one book: title is not unique. "
            "Use a unique field of book: id, isbn.",
        ),
        (
            Book,
            "author__nope",
            "Author has no field “nope” to look up “author__nope” by; "
            "its unique fields are: id, name.",
        ),
        (
            Book,
            "author__name__x",
            "Author has no field “name__x” to look up “author__name__x” by; "
            "its unique fields are: id, name.",
        ),
        (
            Review,
            "book__author",
            "Book has no field “author” to look up “book__author” by; "
            "its unique fields are: id, isbn.",
        ),
    ],
)
def test_bad_paths(model, path, message):
    with pytest.raises(MappingError) as excinfo:
        resolve_path(model, path)
    assert str(excinfo.value) == message


# --- building a mapping -----------------------------------------------------------------------


def test_automatic_mapping():
    headers = ["Colour", "Title", "ISBN", "Author name", "Pages"]
    mapping = build_mapping(headers, Book)
    assert mapping.as_dict() == {
        "Title": "title",
        "ISBN": "isbn",
        "Author name": "author__name",
        "Pages": "pages",
    }
    # Columns are in file order, with their position in the row.
    assert [(column.index, column.header) for column in mapping.columns] == [
        (1, "Title"),
        (2, "ISBN"),
        (3, "Author name"),
        (4, "Pages"),
    ]
    assert [field.name for field in mapping.fields] == ["title", "isbn", "author", "pages"]
    assert mapping.model is Book


def test_explicit_mapping_is_used_as_given():
    headers = ["Code", "Name", "title", "Writer"]
    mapping = build_mapping(
        headers, Book, {"Writer": "author__name", "Code": "isbn", "Name": "title", "title": ""}
    )
    assert mapping.as_dict() == {"Code": "isbn", "Name": "title", "Writer": "author__name"}
    assert [column.index for column in mapping.columns] == [0, 1, 3]


def test_an_empty_explicit_mapping_maps_nothing():
    assert build_mapping(["isbn", "title"], Book, {}, require=False).columns == ()


def test_an_unknown_header_is_refused_with_a_hint():
    message = mapping_error(["isbn", "title"], Book, {"isbn": "isbn", "Titel": "title"})
    assert message == "The file has no column “Titel”. Did you mean “title”?"


def test_an_unknown_header_without_a_close_match():
    message = mapping_error(
        ["isbn", "title"], Book, {"isbn": "isbn", "title": "title", "Colour": "notes"}
    )
    assert message == "The file has no column “Colour”."


def test_an_unknown_field_is_refused_with_a_hint():
    message = mapping_error(["isbn", "Name"], Book, {"isbn": "isbn", "Name": "titel"})
    assert message == "Book has no field “titel” that can be imported. Did you mean “title”?"


def test_an_unknown_field_without_a_close_match():
    message = mapping_error(["isbn", "Colour"], Book, {"isbn": "isbn", "Colour": "colour"})
    assert message == "Book has no field “colour” that can be imported."


def test_a_field_outside_the_allowed_fields_is_unknown():
    fields = importable_fields(Book, exclude=["notes"])
    message = mapping_error(
        ["isbn", "title", "n"],
        Book,
        {"isbn": "isbn", "title": "title", "n": "notes"},
        fields=fields,
    )
    assert message == "Book has no field “notes” that can be imported."


def test_a_wrong_lookup_of_a_known_foreign_key_gets_no_misleading_hint():
    message = mapping_error(
        ["isbn", "title", "w"], Book, {"isbn": "isbn", "title": "title", "w": "author__email"}
    )
    assert message == (
        "“author__email” cannot identify one author: email is not unique. "
        "Use a unique field of author: id, name."
    )
    assert "Did you mean" not in message


def test_a_misspelt_foreign_key_gets_a_hint():
    message = mapping_error(
        ["isbn", "title", "w"], Book, {"isbn": "isbn", "title": "title", "w": "autor__name"}
    )
    assert (
        message == "Book has no field “autor__name” that can be imported. Did you mean “author”?"
    )


def test_a_required_field_left_unmapped_is_refused():
    assert (
        mapping_error(["isbn", "pages"], Book)
        == "No column is mapped to the required field(s): title."
    )
    message = mapping_error(["text"], Review)
    assert message == "No column is mapped to the required field(s): book, reviewer, stars."


def test_a_required_field_may_be_left_unmapped_when_not_required():
    mapping = build_mapping(["isbn"], Book, require=False)
    assert mapping.as_dict() == {"isbn": "isbn"}


def test_a_required_field_ignored_explicitly_is_refused():
    message = mapping_error(["isbn", "title"], Book, {"isbn": "isbn", "title": ""})
    assert message == "No column is mapped to the required field(s): title."


def test_a_duplicate_header_mapped_is_refused():
    with open_source(DATA / "duplicate_headers.csv") as source:
        headers = source.headers
    assert (
        mapping_error(headers, Book)
        == "The column “title” appears 2 times in the header; rename the copies."
    )
    message = mapping_error(headers, Book, {"isbn": "isbn", "title": "title"})
    assert message == "The column “title” appears 2 times in the header; rename the copies."


def test_a_duplicate_header_that_is_not_mapped_does_not_matter():
    mapping = build_mapping(["isbn", "title", "x", "x"], Book, {"isbn": "isbn", "title": "title"})
    assert mapping.as_dict() == {"isbn": "isbn", "title": "title"}


@pytest.mark.parametrize(
    ("explicit", "message"),
    [
        (
            {"isbn": "isbn", "t1": "title", "t2": "title"},
            "The columns “t1” and “t2” both set title; map only one.",
        ),
        (
            {"isbn": "isbn", "t1": "title", "a": "author", "b": "author__name"},
            "The columns “a” and “b” both set author; map only one.",
        ),
        (
            {"isbn": "isbn", "t1": "title", "a": "author_id", "b": "author"},
            "The columns “a” and “b” both set author; map only one.",
        ),
    ],
)
def test_two_columns_for_one_field_are_refused(explicit, message):
    assert mapping_error(["isbn", "t1", "t2", "a", "b"], Book, explicit) == message


def test_mapping_a_primary_key_and_auto_fields_explicitly():
    mapping = build_mapping(
        ["id", "isbn", "title", "c"],
        Book,
        {"id": "id", "isbn": "isbn", "title": "title", "c": "created"},
    )
    assert mapping.as_dict() == {"id": "id", "isbn": "isbn", "title": "title", "c": "created"}


# --- hints and --map options ------------------------------------------------------------------


def test_suggest_fields():
    assert suggest_fields("titel", ["title", "isbn", "notes"]) == ["title"]
    assert suggest_fields("Pubished", ["published", "pages"]) == ["published"]
    assert suggest_fields("xyz", ["title", "isbn"]) == []


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["isbn=isbn", "Name of the book=title"], {"isbn": "isbn", "Name of the book": "title"}),
        (["a=b=title"], {"a=b": "title"}),  # the last "=" separates
        (["Title = title"], {"Title": "title"}),  # headers are read stripped
        (["Writer=author__name"], {"Writer": "author__name"}),
        (["notes="], {"notes": ""}),  # an empty field ignores the column
        (["Price (€)=price"], {"Price (€)": "price"}),
        ([], {}),
    ],
)
def test_parse_map_options(values, expected):
    assert parse_map_options(values) == expected


@pytest.mark.parametrize("value", ["title", "=title", " =title", ""])
def test_parse_map_options_refuses_what_is_not_header_field(value):
    with pytest.raises(MappingError) as excinfo:
        parse_map_options([value])
    assert str(excinfo.value) == f"“{value}” is not HEADER=FIELD."


def test_parsed_map_options_build_a_mapping():
    explicit = parse_map_options(["Code = isbn", "Name=title", "Unused="])
    mapping = build_mapping(["Code", "Name", "Unused"], Book, explicit)
    assert mapping.as_dict() == {"Code": "isbn", "Name": "title"}
