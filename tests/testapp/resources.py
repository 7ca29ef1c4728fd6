from import_export import fields, resources, widgets

from .models import Item, Shelf


class ItemAdminResource(resources.ModelResource):
    released = fields.Field(
        attribute="released", column_name="Released", widget=widgets.DateWidget("%d/%m/%Y")
    )
    shelf = fields.Field(
        attribute="shelf", column_name="Shelf", widget=widgets.ForeignKeyWidget(Shelf, "code")
    )

    class Meta:
        model = Item
        fields = ("sku", "name", "quantity", "price", "released", "shelf")
        import_id_fields = ("sku",)


class RowHookResource(ItemAdminResource):
    def before_import_row(self, row, **kwargs):
        row["name"] = row["name"].upper()
