"""The fast path driven by django-import-export resources gives import-export's tables.

Each equivalence test imports the same file twice from the same starting table: once with
import-export's ``resource.import_data(dataset, dry_run=False)`` (the dataset read by its
own format classes, as its admin does), once with
``import_file(model, path, **options_from_resource(Resource))``, and compares the two
resulting tables row by row, and the rows each rejected.
"""

import datetime
import json
from decimal import Decimal

import pytest
from django.contrib import admin
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.utils import timezone
from import_export import fields, resources, widgets
from import_export.admin import ImportExportModelAdmin
from import_export.formats import base_formats

from bulk_admin.contrib.import_export import (
    CODE_OPTIONS,
    SkipUnchanged,
    UnsupportedResource,
    analyse_resource,
    import_with_format,
    open_with_format,
    options_from_resource,
    resource_for_admin,
)
from bulk_admin.exceptions import MappingError, SourceError
from bulk_admin.importer import import_file
from tests.testapp.models import Author, Book, Item, Shelf, Tag

pytestmark = pytest.mark.django_db

COLUMNS = ("sku", "name", "nickname", "active", "quantity", "price", "data", "opens")
ITEM_FIELDS = (*COLUMNS, "released", "restocked", "shelf")
SNAPSHOT = (*COLUMNS, "released", "restocked", "shelf_id")


class ItemResource(resources.ModelResource):
    released = fields.Field(
        attribute="released", column_name="Released", widget=widgets.DateWidget("%d/%m/%Y")
    )
    restocked = fields.Field(
        attribute="restocked",
        column_name="Restocked",
        widget=widgets.DateTimeWidget("%d/%m/%Y %H:%M"),
    )
    shelf = fields.Field(
        attribute="shelf", column_name="Shelf", widget=widgets.ForeignKeyWidget(Shelf, "code")
    )

    class Meta:
        model = Item
        fields = ITEM_FIELDS
        import_id_fields = ("sku",)


HEADER = [*COLUMNS, "Released", "Restocked", "Shelf"]
ROWS = [
    [
        "S1",
        "Alpha",
        "Al",
        "1",
        "3",
        "19.99",
        '{"a": 1}',
        "10:30:00",
        "05/01/2024",
        "05/01/2024 10:30",
        "A1",
    ],
    ["S2", "Beta", "", "0", "", "", "", "", "", "", ""],
    ["S3", "Gamma", "Gam", "TRUE", "7", "5", "[1, 2]", "08:00", "31/12/2023", "", "B2"],
    ["S4", "Delta", "", "yes", "0", "0.5", "", "", "", "", "A1"],
    ["S5", "Epsilon", "", "null", "-2", "1e2", "", "", "", "", ""],
]


@pytest.fixture(autouse=True)
def shelves(db):
    return [
        Shelf.objects.create(code="A1", label="Top"),
        Shelf.objects.create(code="B2", label="Bottom"),
        Shelf.objects.create(code="C3", label="Dup"),
        Shelf.objects.create(code="D4", label="Dup"),
    ]


def snapshot(fields=SNAPSHOT):
    return list(Item.objects.order_by("sku").values_list(*fields))


def ie_dataset(path):
    data = path.read_bytes()
    if path.suffix == ".xlsx":
        return base_formats.XLSX().create_dataset(data)
    if path.suffix == ".json":
        return base_formats.JSON().create_dataset(data.decode("utf-8-sig"))
    if path.suffix == ".tsv":
        return base_formats.TSV().create_dataset(data.decode("utf-8-sig"))
    return base_formats.CSV().create_dataset(data.decode("utf-8-sig"))


def ie_rejected(result):
    """Spreadsheet row numbers (header = 1) of the rows import-export refused."""
    numbers = {row.number for row in result.invalid_rows}
    numbers |= {number for number, _errors in result.row_errors()}
    return sorted(number + 1 for number in numbers)


def bulk_rejected(result):
    return sorted({error.row for error in result.errors})


def run_both(
    resource_class, path, *, seed=None, fields=SNAPSHOT, ie_kwargs=None, importer=None, **options
):
    """Import ``path`` both ways from the same table; return both results and tables."""

    def reset():
        Item.objects.all().delete()
        if seed is not None:
            seed()

    reset()
    ie_result = resource_class().import_data(ie_dataset(path), dry_run=False, **(ie_kwargs or {}))
    ie_rows = snapshot(fields)
    reset()
    importer = importer or import_file
    result = importer(Item, path, **options_from_resource(resource_class), **options)
    return ie_result, ie_rows, result, snapshot(fields)


# --- equivalence ----------------------------------------------------------------------------


def test_creates_csv(make_csv):
    ie_result, ie_rows, result, rows = run_both(ItemResource, make_csv([HEADER, *ROWS]))
    assert not ie_result.has_errors() and not ie_result.has_validation_errors()
    assert result.committed and result.errors == []
    assert result.method == ("copy" if connection.vendor == "postgresql" else "bulk_create")
    assert rows == ie_rows
    assert result.created == ie_result.totals["new"] == 5
    by_sku = {row[0]: row for row in rows}
    # import-export's rules, kept: "yes" and "null" are not true, an empty CharWidget cell
    # is "", an empty integer takes the field default, the widget's date formats apply.
    assert by_sku["S4"][3] is False and by_sku["S5"][3] is False
    assert by_sku["S2"][2] == "" and by_sku["S2"][4] == 0
    assert by_sku["S1"][8] == datetime.date(2024, 1, 5)
    assert by_sku["S1"][9] == timezone.make_aware(datetime.datetime(2024, 1, 5, 10, 30))
    assert by_sku["S5"][5] == Decimal("100")


def test_creates_xlsx_with_typed_cells(make_xlsx):
    typed = [
        [
            "S1",
            "Alpha",
            "Al",
            True,
            3,
            19.99,
            '{"a": 1}',
            datetime.time(10, 30),
            datetime.date(2024, 1, 5),
            datetime.datetime(2024, 1, 5, 10, 30),
            "A1",
        ],
        ["S2", "Beta", None, False, None, None, None, None, None, None, None],
        ["S3", "Gamma", "Gam", "TRUE", 7.0, 5, "[1, 2]", "08:00", "31/12/2023", None, "B2"],
        ["S4", "Delta", 12345, 1, 0, 0.5, None, None, None, "05/01/2024 10:30", "A1"],
    ]
    ie_result, ie_rows, result, rows = run_both(ItemResource, make_xlsx([HEADER, *typed]))
    assert not ie_result.has_errors() and not ie_result.has_validation_errors()
    assert result.errors == []
    assert rows == ie_rows
    assert len(rows) == 4


def test_updates_by_import_id_fields(make_csv):
    def seed():
        Item.objects.create(sku="S1", name="Old", quantity=1, price=Decimal("1.00"))
        Item.objects.create(sku="S3", name="Old Gamma", nickname="keep", active=True)
        Item.objects.create(sku="S9", name="Untouched")

    # S3 twice: the last occurrence wins, as with import-export's row-by-row saves.
    rows = [*ROWS, ["S3", "Gamma again", "G", "0", "8", "6", "", "", "", "", ""]]
    ie_result, ie_rows, result, table = run_both(
        ItemResource, make_csv([HEADER, *rows]), seed=seed
    )
    assert table == ie_rows
    assert (result.created, result.updated) == (
        ie_result.totals["new"],
        ie_result.totals["update"],
    )
    assert (result.created, result.updated) == (3, 3)
    assert {row[0]: row[1] for row in table}["S3"] == "Gamma again"
    assert {row[0]: row[1] for row in table}["S9"] == "Untouched"


@pytest.mark.parametrize(
    "widget_class", [widgets.ForeignKeyWidget, widgets.CachedForeignKeyWidget]
)
def test_foreign_key_by_natural_key(make_csv, widget_class):
    class BookResource(resources.ModelResource):
        author = fields.Field(
            attribute="author", column_name="Author", widget=widget_class(Author, "name")
        )

        class Meta:
            model = Book
            fields = ("isbn", "title", "author", "published")
            import_id_fields = ("isbn",)

    Author.objects.create(name="Ursula K. Le Guin")
    Author.objects.create(name="Terry Pratchett")
    path = make_csv(
        [
            ["isbn", "title", "Author", "published"],
            ["111", "The Dispossessed", "Ursula K. Le Guin", "1974-05-01"],
            ["222", "Mort", "Terry Pratchett", ""],
            ["333", "Anonymous", "", "2001-01-01"],
        ]
    )
    assert options_from_resource(BookResource)["mapping"]["Author"] == "author__name"
    snap = ("isbn", "title", "author__name", "published")
    ie_result = BookResource().import_data(ie_dataset(path), dry_run=False)
    ie_rows = list(Book.objects.order_by("isbn").values_list(*snap))
    Book.objects.all().delete()
    result = import_file(Book, path, **options_from_resource(BookResource))
    assert not ie_result.has_errors() and result.errors == []
    assert list(Book.objects.order_by("isbn").values_list(*snap)) == ie_rows
    assert ie_rows[0][2] == "Ursula K. Le Guin" and ie_rows[2][2] is None


def test_foreign_key_by_a_field_that_is_not_unique_runs_per_cell(make_csv):
    class ItemByLabel(ItemResource):
        shelf = fields.Field(
            attribute="shelf", column_name="Shelf", widget=widgets.ForeignKeyWidget(Shelf, "label")
        )

    analysis = analyse_resource(ItemByLabel)
    assert analysis.per_cell_columns == ["Shelf"]
    rows = [HEADER, ["S1", "A", "", "1", "1", "", "", "", "", "", "Top"]]
    ie_result, ie_rows, result, table = run_both(ItemByLabel, make_csv(rows))
    assert table == ie_rows and table[0][-1] == Shelf.objects.get(code="A1").pk
    bad = [
        *rows,
        ["S2", "B", "", "1", "1", "", "", "", "", "", "Dup"],
        ["S3", "C", "", "", "", "", "", "", "", "", "Nope"],
    ]
    ie_result, ie_rows, result, table = run_both(ItemByLabel, make_csv(bad, name="bad.csv"))
    assert ie_rejected(ie_result) == bulk_rejected(result) == [3, 4]
    assert table == ie_rows == []


def test_default_resource_with_foreign_key_ids(make_csv, shelves):
    class PlainItemResource(resources.ModelResource):
        class Meta:
            model = Item

    path = make_csv(
        [
            ["sku", "name", "shelf", "price", "released"],
            ["P1", "One", str(shelves[1].pk), "2.50", "2024-02-29"],
            ["P2", "Two", "", "", ""],
        ]
    )
    options = options_from_resource(PlainItemResource)
    assert options["keys"] == ["id"] and options["on_conflict"] == "update"
    ie_result, ie_rows, result, table = run_both(PlainItemResource, path)
    assert not ie_result.has_errors() and result.errors == []
    assert table == ie_rows and len(table) == 2


def test_updates_by_id_column(make_csv, shelves):
    class PlainItemResource(resources.ModelResource):
        class Meta:
            model = Item
            fields = ("id", "sku", "name")

    def seed():
        Item.objects.create(id=101, sku="K1", name="One")
        Item.objects.create(id=102, sku="K2", name="Two")

    path = make_csv([["id", "sku", "name"], ["101", "K1", "One, renamed"], ["250", "K5", "Five"]])
    snap = ("id", "sku", "name")
    ie_result, ie_rows, result, table = run_both(PlainItemResource, path, seed=seed, fields=snap)
    assert (
        table == ie_rows == [(101, "K1", "One, renamed"), (102, "K2", "Two"), (250, "K5", "Five")]
    )
    assert (result.created, result.updated) == (1, 1)
    # The sequence moved past the explicit id, as import-export's after_import does.
    assert Item.objects.create(sku="K6", name="Six").pk > 250


def test_empty_ids_create_rows(make_csv):
    """An export re-imported with new rows whose id is left empty (import-export's workflow)."""

    class PlainItemResource(resources.ModelResource):
        class Meta:
            model = Item
            fields = ("id", "sku", "name")

    def seed():
        Item.objects.create(id=101, sku="K1", name="One")

    path = make_csv(
        [
            ["id", "sku", "name"],
            ["101", "K1", "One, renamed"],
            ["", "K7", "Seven"],
            ["300", "K3", "x"],
        ]
    )
    ie_result, ie_rows, result, table = run_both(
        PlainItemResource, path, seed=seed, fields=("sku", "name")
    )
    assert not ie_result.has_errors() and result.errors == []
    assert table == ie_rows == [("K1", "One, renamed"), ("K3", "x"), ("K7", "Seven")]
    assert (result.created, result.updated) == (2, 1)
    ids = dict(Item.objects.values_list("sku", "id"))
    assert ids["K1"] == 101 and ids["K3"] == 300 and ids["K7"] not in (101, 300)
    assert Item.objects.create(sku="K8", name="Eight").pk > max(ids.values())


def test_skip_unchanged(make_csv, shelves):
    class SkippingResource(ItemResource):
        class Meta(ItemResource.Meta):
            skip_unchanged = True

    before = timezone.now() - datetime.timedelta(days=3)

    def seed():
        Item.objects.create(
            sku="S1",
            name="Alpha",
            nickname="Al",
            active=True,
            quantity=3,
            price=Decimal("19.99"),
            data={"a": 1},
            opens=datetime.time(10, 30),
            released=datetime.date(2024, 1, 5),
            restocked=timezone.make_aware(datetime.datetime(2024, 1, 5, 10, 30)),
            shelf=shelves[0],
        )
        Item.objects.create(sku="S2", name="Beta changes", active=False)
        Item.objects.update(modified=before)

    ie_result, ie_rows, result, table = run_both(
        SkippingResource,
        make_csv([HEADER, *ROWS[:3]]),
        seed=seed,
        fields=(*SNAPSHOT, "modified"),
    )
    assert [row[:-1] for row in table] == [row[:-1] for row in ie_rows]
    unchanged = {row[0]: row[-1] == before for row in table}
    assert unchanged == {row[0]: row[-1] == before for row in ie_rows}
    assert unchanged == {"S1": True, "S2": False, "S3": False}
    assert (
        (result.created, result.updated, result.skipped)
        == (
            ie_result.totals["new"],
            ie_result.totals["update"],
            ie_result.totals["skip"],
        )
        == (1, 1, 1)
    )


def test_errors_reject_the_same_rows_all_or_nothing(make_csv):
    rows = [
        HEADER,
        ["E1", "Good", "", "1", "1", "1.00", "", "", "01/01/2024", "", "A1"],
        ["E2", "Bad date", "", "1", "1", "", "", "", "31/02/2024", "", ""],
        ["E3", "Bad decimal", "", "1", "1", "abc", "", "", "", "", ""],
        ["E4", "Bad shelf", "", "1", "1", "", "", "", "", "", "ZZ"],
        ["E5", "Bad JSON", "", "1", "1", "", "{oops", "", "", "", ""],
        ["E6", "Bad integer", "", "1", "many", "", "", "", "", "", ""],
        ["E7", "Bad time", "", "1", "1", "", "", "25:99", "", "", ""],
    ]
    ie_result, ie_rows, result, table = run_both(
        ItemResource, make_csv(rows), ie_kwargs={"rollback_on_validation_errors": True}
    )
    assert ie_rejected(ie_result) == bulk_rejected(result) == [3, 4, 5, 6, 7, 8]
    assert table == ie_rows == []
    assert not result.committed


def test_validation_errors_with_the_valid_rows_written(make_csv):
    rows = [
        HEADER,
        ["V1", "Good", "", "1", "1", "1.00", "", "", "01/01/2024", "", "A1"],
        ["V2", "Bad date", "", "1", "1", "", "", "", "2024-01-01", "", ""],
        ["V3", "Good too", "", "0", "", "", "", "", "", "", "B2"],
        ["V4", "Bad JSON", "", "1", "1", "", "{oops", "", "", "", ""],
    ]
    # import-export writes the valid rows unless told to roll back: skip_invalid here.
    ie_result, ie_rows, result, table = run_both(ItemResource, make_csv(rows), skip_invalid=True)
    assert ie_rejected(ie_result) == bulk_rejected(result) == [3, 5]
    assert table == ie_rows and [row[0] for row in table] == ["V1", "V3"]


def test_custom_widgets_are_called_per_cell(make_csv):
    class UpperWidget(widgets.CharWidget):
        def clean(self, value, row=None, **kwargs):
            return super().clean(value, row, **kwargs).upper()

    class CentsWidget(widgets.DecimalWidget):
        def clean(self, value, row=None, **kwargs):
            number = super().clean(value, row, **kwargs)
            return None if number is None else number / 100

    class CustomResource(ItemResource):
        name = fields.Field(attribute="name", column_name="name", widget=UpperWidget())
        price = fields.Field(attribute="price", column_name="price", widget=CentsWidget())

    assert analyse_resource(CustomResource).per_cell_columns == ["name", "price"]
    rows = [
        ["sku", "name", "price"],
        ["C1", "Alpha", "1999"],
        ["C2", "beta", ""],
        ["C3", "x", "5"],
    ]
    ie_result, ie_rows, result, table = run_both(CustomResource, make_csv(rows))
    assert table == ie_rows
    assert [(row[1], row[5]) for row in table] == [
        ("ALPHA", Decimal("19.99")),
        ("BETA", None),
        ("X", Decimal("0.05")),
    ]


def test_field_default_applies_to_empty_cells(make_csv):
    class DefaultsResource(ItemResource):
        nickname = fields.Field(attribute="nickname", column_name="nickname", default="n/a")
        quantity = fields.Field(
            attribute="quantity",
            column_name="quantity",
            widget=widgets.IntegerWidget(),
            default=42,
        )

    ie_result, ie_rows, result, table = run_both(DefaultsResource, make_csv([HEADER, *ROWS]))
    assert table == ie_rows
    assert {row[0]: (row[2], row[4]) for row in table}["S2"] == ("n/a", 42)


def test_missing_resource_columns_are_ignored(make_csv):
    path = make_csv([["sku", "name", "Shelf"], ["M1", "Mini", "B2"]])
    ie_result, ie_rows, result, table = run_both(ItemResource, path)
    assert table == ie_rows and len(table) == 1
    assert result.mapping == {"sku": "sku", "name": "name", "Shelf": "shelf__code"}


def test_required_text_is_validated_unlike_import_export(make_csv):
    """A known difference: bulk_admin validates fields as clean_model_instances would."""
    path = make_csv([["sku", "name"], ["R1", ""]])
    ie_result, ie_rows, result, table = run_both(ItemResource, path, skip_invalid=True)
    assert [row[:2] for row in ie_rows] == [("R1", "")]
    assert table == [] and bulk_rejected(result) == [2]


def test_tsv_is_read_natively(tmp_path):
    path = tmp_path / "items.tsv"
    path.write_text("\n".join("\t".join(row) for row in [HEADER, *ROWS]) + "\n", encoding="utf-8")
    ie_result, ie_rows, result, table = run_both(ItemResource, path)
    assert result.file.delimiter == "\t"
    assert table == ie_rows and len(table) == 5


def test_json_through_import_export_formats(tmp_path):
    path = tmp_path / "items.json"
    path.write_text(json.dumps([dict(zip(HEADER, row, strict=True)) for row in ROWS]))
    ie_result, ie_rows, result, table = run_both(
        ItemResource, path, importer=import_with_format, format="json"
    )
    assert result.file.format == "json"
    assert table == ie_rows and len(table) == 5


def test_formats_read_whole_have_a_size_limit(tmp_path):
    path = tmp_path / "items.json"
    path.write_text(json.dumps([{"sku": "X%d" % n, "name": "x" * 50} for n in range(100)]))
    with pytest.raises(SourceError, match="larger than 1 MB"):
        open_with_format(path, "json", max_size=1024)
    with pytest.raises(SourceError, match="Unknown format"):
        open_with_format(path, "numbers")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(SourceError, match="cannot be read as JSON"):
        open_with_format(broken, base_formats.JSON)


# --- what cannot run in bulk ---------------------------------------------------------------


ROW_HOOKS = [
    ("before_import_row", "chunk hook"),
    ("after_import_row", "import_finished"),
    ("before_save_instance", "chunk hook"),
    ("after_save_instance", "import_finished"),
    ("save_instance", "chunk hook"),
    ("do_instance_save", "chunk hook"),
    ("import_row", "chunk hook"),
    ("import_instance", "chunk hook"),
    ("import_field", "converter"),
    ("skip_row", "chunk.skip"),
    ("validate_instance", "chunk.reject"),
    ("before_import", "chunk hook"),
    ("after_import", "import_finished"),
    ("get_queryset", "import_id_fields"),
    ("for_delete", "never deletes"),
    ("save_m2m", "import_finished"),
]


@pytest.mark.parametrize(("hook", "advice"), ROW_HOOKS)
def test_per_row_hooks_are_refused(hook, advice):
    resource_class = type("HookedResource", (ItemResource,), {hook: lambda self, *a, **k: None})
    with pytest.raises(UnsupportedResource) as info:
        options_from_resource(resource_class)
    assert "overrides %s()" % hook in str(info.value)
    assert advice in str(info.value)


def test_export_only_methods_are_fine():
    class Exporting(ItemResource):
        def dehydrate_name(self, item):
            return item.name.upper()

        def before_export(self, queryset, **kwargs):
            pass

    assert options_from_resource(Exporting)["mapping"]["name"] == "name"


def test_get_queryset_is_refused_only_when_it_hides_rows():
    class Related(ItemResource):
        def get_queryset(self):
            return Item.objects.select_related("shelf").order_by("sku")

    options_from_resource(Related)

    class Filtered(ItemResource):
        def get_queryset(self):
            return Item.objects.filter(active=True)

    with pytest.raises(UnsupportedResource, match="overrides get_queryset()"):
        options_from_resource(Filtered)


def test_bulk_hooks_are_refused_only_in_bulk_mode():
    attrs = {"bulk_create": lambda self, *a, **k: None}
    options_from_resource(type("NotBulk", (ItemResource,), attrs))
    meta = type("Meta", (ItemResource.Meta,), {"use_bulk": True})
    with pytest.raises(UnsupportedResource, match="bulk_create"):
        options_from_resource(type("Bulk", (ItemResource,), {**attrs, "Meta": meta}))


def test_many_to_many_column_is_refused_only_when_in_the_file(make_csv):
    class TaggedResource(ItemResource):
        class Meta(ItemResource.Meta):
            fields = (*ITEM_FIELDS, "tags")

    assert analyse_resource(TaggedResource).many_to_many == {"tags": "tags"}
    Tag.objects.create(name="new")
    result = import_file(
        Item, make_csv([["sku", "name"], ["T1", "x"]]), **options_from_resource(TaggedResource)
    )
    assert result.created == 1
    with pytest.raises(UnsupportedResource, match="many-to-many"):
        import_file(
            Item,
            make_csv([["sku", "name", "tags"], ["T2", "y", "1"]], name="t.csv"),
            **options_from_resource(TaggedResource),
        )
    with pytest.raises(UnsupportedResource, match="many-to-many"):
        options_from_resource(TaggedResource, headers=["sku", "tags"])


def test_custom_field_save_and_foreign_attributes_are_refused():
    class SavingField(fields.Field):
        def save(self, instance, row, is_m2m=False, **kwargs):
            pass

    class SavingResource(ItemResource):
        name = SavingField(attribute="name", column_name="name")

    with pytest.raises(UnsupportedResource, match="its own save()"):
        options_from_resource(SavingResource)

    class PropertyResource(ItemResource):
        label = fields.Field(attribute="label_text", column_name="Label")

        class Meta(ItemResource.Meta):
            fields = (*ITEM_FIELDS, "label")

    with pytest.raises(UnsupportedResource, match="“label_text”, which is not a column"):
        options_from_resource(PropertyResource)


def test_widget_reading_other_columns_stops_the_import(make_csv):
    class RowWidget(widgets.CharWidget):
        def clean(self, value, row=None, **kwargs):
            return "%s-%s" % (value, row["sku"])

    class RowResource(ItemResource):
        name = fields.Field(attribute="name", column_name="name", widget=RowWidget())

    with pytest.raises(UnsupportedResource, match="reads the column “sku”"):
        import_file(Item, make_csv([HEADER, *ROWS]), **options_from_resource(RowResource))
    assert Item.objects.count() == 0


def test_model_clean_under_clean_model_instances_is_refused():
    class ShelfResource(resources.ModelResource):
        class Meta:
            model = Shelf
            clean_model_instances = True

    with pytest.raises(UnsupportedResource, match=r"Shelf.clean\(\)"):
        options_from_resource(ShelfResource)

    class CleanItems(ItemResource):
        class Meta(ItemResource.Meta):
            clean_model_instances = True

    options_from_resource(CleanItems)  # Item has no clean() of its own


def test_keys_the_database_does_not_keep_unique_are_refused():
    class ByName(ItemResource):
        class Meta(ItemResource.Meta):
            import_id_fields = ("name",)

    with pytest.raises(UnsupportedResource, match="does not keep unique"):
        options_from_resource(ByName)

    class CreateOnly(ByName):
        class Meta(ByName.Meta):
            force_init_instance = True

    assert options_from_resource(CreateOnly)["on_conflict"] == "error"


def test_non_model_resources_are_refused():
    class Plain(resources.Resource):
        pass

    with pytest.raises(UnsupportedResource, match="not a ModelResource"):
        options_from_resource(Plain)


# --- the options ---------------------------------------------------------------------------


def test_options_for_a_header():
    options = options_from_resource(ItemResource(), headers=["sku", "name", "Shelf", "other"])
    assert options["mapping"] == {"sku": "sku", "name": "name", "Shelf": "shelf__code"}
    assert options["keys"] == ["sku"] and options["on_conflict"] == "update"
    assert options["fk_lookups"] == {"shelf": "code"}
    assert "header_hook" not in options
    assert set(options["converters"]) == {
        "active",
        "quantity",
        "price",
        "data",
        "opens",
        "released",
        "restocked",
    }
    assert set(options["empty_cells"]) == {"nickname", "active", "quantity"}
    json.dumps({key: value for key, value in options.items() if key not in CODE_OPTIONS})
    with pytest.raises(MappingError, match="no column “sku”"):
        options_from_resource(ItemResource, headers=["name"])


def test_options_without_a_header_adapt_to_the_file():
    options = options_from_resource(ItemResource)
    assert set(options["mapping"]) == set(HEADER)
    assert options["header_hook"](["sku", "price"]) == {
        "mapping": {"sku": "sku", "price": "price"},
        "keys": ["sku"],
        "on_conflict": "update",
    }
    assert not any(isinstance(hook, SkipUnchanged) for hook in options["chunk_hooks"])


def test_default_id_key_absent_from_the_file_creates_rows():
    class PlainItemResource(resources.ModelResource):
        class Meta:
            model = Item

    options = options_from_resource(PlainItemResource, headers=["sku", "name"])
    assert options["keys"] is None and options["on_conflict"] == "error"


# --- admin ----------------------------------------------------------------------------------


def test_resource_for_admin():
    class WithResources(ImportExportModelAdmin):
        resource_classes = [ItemResource]

    class WithoutResources(ImportExportModelAdmin):
        pass

    class Dynamic(ImportExportModelAdmin):
        def get_import_resource_classes(self, request):
            return [ItemResource]

    class WrongModel(ImportExportModelAdmin):
        resource_classes = [ItemResource]

    site = admin.AdminSite(name="resource_for_admin")
    assert resource_for_admin(WithResources(Item, site), None) is ItemResource
    assert resource_for_admin(Dynamic(Item, site), None) is ItemResource
    assert resource_for_admin(WithoutResources(Item, site), None) is None
    assert resource_for_admin(admin.ModelAdmin(Item, site), None) is None
    with pytest.raises(ImproperlyConfigured, match="first resource class ItemResource"):
        resource_for_admin(WrongModel(Book, site), None)
