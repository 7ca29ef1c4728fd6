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


class StampWidget(widgets.CharWidget):
    """Appends a stamp given to the resource, as a resource taking arguments would."""

    def __init__(self, stamp):
        super().__init__()
        self.stamp = stamp

    def clean(self, value, row=None, **kwargs):
        return "%s (%s)" % (value, self.stamp)


class StampedItemResource(ItemAdminResource):
    """A resource built with ``get_import_resource_kwargs(request)``: the importing user."""

    def __init__(self, importer=None, **kwargs):
        super().__init__(**kwargs)
        stamp = getattr(importer, "username", "nobody")
        self.fields["name"] = fields.Field(
            attribute="name", column_name="name", widget=StampWidget(stamp)
        )
